#!/usr/bin/env python3
"""What ejabberd does with two XEP-0114 components on one domain (stdlib only).

    component_probe.py component --name A      # one component connection as sip.test;
                                               #   JSON lines on stdout (ready, recv, sent)
    component_probe.py probe                   # the experiment, for every balancing mode
    component_probe.py probe --modes bare_source,none --keep

`component`: connects to 127.0.0.1:16347, opens a jabber:component:accept
stream to sip.test, sends <handshake> = hex(sha1(stream id + secret)), and then
prints one JSON line per stanza it receives ({"ev": "recv", "name", "kind",
"type", "from", "to", "id"}), answers IQ get/set with a result, and sends
whatever XML stanzas arrive on its stdin, one per line.

`probe`: for each mode (ejabberd restarted with that `domain_balancing` for
sip.test), connects component A, then B, as sip.test, logs alice/phone,
alice/laptop, bob/phone and carol/phone in over c2s (SASL PLAIN, no TLS) and
  1. both up: each user sends a chat message to 4 bare JIDs +1555000k@sip.test,
     an IQ get to +1555000k@sip.test/stox and directed presence: who gets what;
  2. component-originated IQs: A and B each send an IQ set to every user from
     +15550001@sip.test/stox; the user's result goes back to… which one;
  3. kill -9 A: every 10 ms for 0.5 s each user sends a message (how long are
     stanzas still routed to the dead connection?), then a full burst: it
     must all reach B;
  4. A restarts (A2): who gets what now;
  5. SIGSTOP B (a hung instance whose TCP connection stays up): who gets what
     within 2 s ("LOST" there = not delivered yet); SIGCONT B: what it then
     receives late;
  6. a third connection C joins: who gets what;
  7. kill -9 B: do A2 and C get everything?
Prints a report; exits 1 when a check that must hold for stox fails (no
stanza lost while a connection is up; after the kill, the survivor gets all).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent

NS_STREAM = "http://etherx.jabber.org/streams"
NS_CLIENT = "jabber:client"
NS_COMPONENT = "jabber:component:accept"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_PROBE = "urn:stox:probe"


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class XmlStream:
    """An XMPP stream over a socket: the stream header and top-level stanzas as elements."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.restart()

    def restart(self) -> None:
        self.parser = ET.XMLPullParser(events=("start", "end"))
        self.depth = 0
        self.pending: list = []

    def send(self, data: str | bytes) -> None:
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def next(self, timeout: float | None = None):
        """("open", attrs) for the stream header, ("stanza", elem), or ("closed", None)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            while self.pending:
                return self.pending.pop(0)
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no stanza")
                self.sock.settimeout(left)
            else:
                self.sock.settimeout(None)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                raise TimeoutError("no stanza") from None
            except OSError:
                data = b""
            if not data:
                return ("closed", None)
            self.parser.feed(data)
            for ev, el in self.parser.read_events():
                if ev == "start":
                    self.depth += 1
                    if self.depth == 1:
                        self.pending.append(("open", dict(el.attrib)))
                else:
                    self.depth -= 1
                    if self.depth == 1:
                        self.pending.append(("stanza", el))
                    elif self.depth == 0:
                        self.pending.append(("closed", None))


def tostr(el: ET.Element) -> str:
    return ET.tostring(el, encoding="unicode")


def stanza_summary(el: ET.Element) -> dict:
    return {"kind": local(el.tag), "type": el.get("type", ""), "from": el.get("from", ""),
            "to": el.get("to", ""), "id": el.get("id", "")}


# ----------------------------------------------------------------- component


def component_main(args) -> int:
    out_lock = threading.Lock()

    def emit(**kw) -> None:
        line = json.dumps({"name": args.name, "t": time.time(), **kw})
        with out_lock:  # the stdin thread emits too
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    sock = socket.create_connection((args.host, args.port), timeout=10)
    st = XmlStream(sock)
    st.send(f"<?xml version='1.0'?><stream:stream xmlns='{NS_COMPONENT}' "
            f"xmlns:stream='{NS_STREAM}' to='{args.domain}'>")
    ev, attrs = st.next(10)
    if ev != "open":
        emit(ev="error", why=f"no stream header: {ev}")
        return 1
    stream_id = attrs.get("id", "")
    digest = hashlib.sha1((stream_id + args.secret).encode()).hexdigest()
    st.send(f"<handshake>{digest}</handshake>")
    ev, el = st.next(10)
    if ev != "stanza" or local(el.tag) != "handshake":
        emit(ev="error", why=f"handshake refused: {ev} {tostr(el) if el is not None else ''}")
        return 1
    emit(ev="ready", stream_id=stream_id)
    lock = threading.Lock()

    def stdin_sender() -> None:
        for line in sys.stdin:
            line = line.strip()
            if line:
                with lock:
                    st.send(line)
                emit(ev="sent", xml=line)

    threading.Thread(target=stdin_sender, daemon=True).start()
    while True:
        ev, el = st.next(None)
        if ev == "closed":
            emit(ev="closed")
            return 0
        if ev != "stanza":
            continue
        emit(ev="recv", **stanza_summary(el))
        if local(el.tag) == "iq" and el.get("type") in ("get", "set"):
            res = ET.Element("iq", {"type": "result", "id": el.get("id", ""),
                                    "from": el.get("to", ""), "to": el.get("from", "")})
            ET.SubElement(res, f"{{{NS_PROBE}}}answered", {"by": args.name})
            with lock:
                st.send(tostr(res))


class Component:
    """component_probe.py component as a child process (so kill -9 is a real process death)."""

    def __init__(self, name: str, port: int, domain: str, secret: str, logdir: Path):
        self.name = name
        self.events: "queue.Queue[dict]" = queue.Queue()
        self.all: list[dict] = []
        self.log = open(logdir / f"component-{name}.jsonl", "w")
        self.p = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "component", "--name", name,
             "--port", str(port), "--domain", domain, "--secret", secret],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.p.stdout:
            self.log.write(line)
            self.log.flush()
            try:
                ev = json.loads(line)
            except ValueError:
                ev = {"name": self.name, "ev": "stderr", "line": line.rstrip()}
            self.all.append(ev)
            self.events.put(ev)

    def wait_ready(self, timeout: float = 10) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(e.get("ev") == "ready" for e in self.all):
                return True
            if any(e.get("ev") == "error" for e in self.all) or self.p.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def send(self, xml: str) -> None:
        self.p.stdin.write(xml + "\n")
        self.p.stdin.flush()

    def received(self) -> list[dict]:
        return [e for e in self.all if e.get("ev") == "recv"]

    def signal(self, sig: int) -> None:
        try:
            os.killpg(self.p.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        self.signal(signal.SIGKILL)
        self.p.wait()


# ----------------------------------------------------------------- c2s client


class Client:
    """A minimal c2s client: SASL PLAIN without TLS, resource binding, presence."""

    def __init__(self, jid: str, password: str, port: int):
        self.bare, self.resource = jid.split("/", 1)
        user, self.host = self.bare.split("@", 1)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.st = XmlStream(self.sock)
        self.lock = threading.Lock()
        self.received: list[dict] = []
        self._open()
        self._expect_features()
        auth = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        self.st.send(f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{auth}</auth>")
        ev, el = self.st.next(10)
        if ev != "stanza" or local(el.tag) != "success":
            raise RuntimeError(f"{jid}: SASL failed: {tostr(el) if el is not None else ev}")
        self.st.restart()
        self._open()
        self._expect_features()
        self.st.send(f"<iq type='set' id='bind'><bind xmlns='{NS_BIND}'>"
                     f"<resource>{self.resource}</resource></bind></iq>")
        ev, el = self.st.next(10)
        if ev != "stanza" or el.get("type") != "result":
            raise RuntimeError(f"{jid}: bind failed: {tostr(el) if el is not None else ev}")
        self.jid = el.find(f".//{{{NS_BIND}}}jid").text
        self.st.send("<presence><priority>0</priority></presence>")
        threading.Thread(target=self._read, daemon=True).start()

    def _open(self) -> None:
        self.st.send(f"<?xml version='1.0'?><stream:stream xmlns='{NS_CLIENT}' "
                     f"xmlns:stream='{NS_STREAM}' to='{self.host}' version='1.0'>")
        ev, _ = self.st.next(10)
        if ev != "open":
            raise RuntimeError(f"no stream header from the server: {ev}")

    def _expect_features(self) -> None:
        ev, el = self.st.next(10)
        if ev != "stanza" or local(el.tag) != "features":
            raise RuntimeError(f"no stream features: {ev}")

    def _read(self) -> None:
        while True:
            try:
                ev, el = self.st.next(None)
            except OSError:
                return
            if ev == "closed":
                return
            if ev != "stanza":
                continue
            s = stanza_summary(el)
            by = el.find(f"{{{NS_PROBE}}}answered")
            s["answered_by"] = by.get("by") if by is not None else ""
            err = el.find("{jabber:client}error")
            if err is not None and len(err):
                s["error"] = local(err[0].tag)
            self.received.append(s)
            if local(el.tag) == "iq" and el.get("type") in ("get", "set"):
                res = ET.Element("iq", {"type": "result", "id": el.get("id", ""),
                                        "to": el.get("from", "")})
                self.send(res)

    def send(self, el: ET.Element) -> None:
        with self.lock:
            self.st.send(tostr(el))

    def close(self) -> None:
        try:
            self.st.send("</stream:stream>")
            self.sock.close()
        except OSError:
            pass


# ----------------------------------------------------------------- probe

USERS = ["alice@test/phone", "alice@test/laptop", "bob@test/phone", "carol@test/phone"]
NUMBERS = [f"+1555000{k}" for k in range(1, 5)]


class Probe:
    def __init__(self, domain: str):
        self.domain = domain
        self.seq = 0

    def next_id(self, tag: str) -> str:
        self.seq += 1
        return f"{tag}-{self.seq}"

    def burst(self, clients: list[Client], tag: str) -> dict[str, dict]:
        """Every client sends message/iq/presence to every number; returns id -> what was sent."""
        sent = {}
        for c in clients:
            for n in NUMBERS:
                bare = f"{n}@{self.domain}"
                for kind in ("message", "iq", "presence"):
                    sid = self.next_id(tag)
                    if kind == "message":
                        el = ET.Element("message", {"to": bare, "type": "chat", "id": sid})
                        ET.SubElement(el, "body").text = "probe"
                        to = bare
                    elif kind == "iq":
                        to = bare + "/stox"
                        el = ET.Element("iq", {"to": to, "type": "get", "id": sid})
                        ET.SubElement(el, "{http://jabber.org/protocol/disco#info}query")
                    else:
                        el = ET.Element("presence", {"to": bare, "id": sid})
                        to = bare
                    c.send(el)
                    sent[sid] = {"from": c.jid, "to": to, "kind": kind}
        return sent


CLIENTS: list = []


def where(sent: dict[str, dict], comps: list[Component], wait: float) -> dict[str, list[str]]:
    """id -> names of the components that received it (after `wait` seconds); a stanza
    that came back to its sender as an error counts as "bounced:CONDITION"."""
    time.sleep(wait)
    got = defaultdict(list)
    for c in comps:
        for e in c.received():
            if e["id"] in sent:
                got[e["id"]].append(c.name)
    for cl in CLIENTS:
        for e in list(cl.received):
            if e["id"] in sent and e["type"] == "error" and not got.get(e["id"]):
                got[e["id"]].append("bounced:" + e.get("error", "?"))
    return {sid: got.get(sid, []) for sid in sent}


def analyse(sent: dict[str, dict], got: dict[str, list[str]]) -> tuple[str, dict]:
    per_comp = Counter(n for names in got.values() for n in names if not n.startswith("bounced"))
    bounced = [sid for sid, names in got.items() if names and names[0].startswith("bounced")]
    lost = [sid for sid, names in got.items() if not names]
    dup = [sid for sid, names in got.items() if len(names) > 1]

    def consistent(key) -> bool:
        groups = defaultdict(set)
        for sid, names in got.items():
            if names and not names[0].startswith("bounced"):
                groups[key(sent[sid])].add(names[0])
        return all(len(v) == 1 for v in groups.values())

    facts = {
        "per_component": dict(sorted(per_comp.items())),
        "lost": len(lost), "bounced": len(bounced), "duplicated": len(dup), "total": len(sent),
        "consistent_by_bare_from": consistent(lambda s: s["from"].split("/")[0]),
        "consistent_by_full_from": consistent(lambda s: s["from"]),
        "consistent_by_bare_to": consistent(lambda s: s["to"].split("/")[0]),
        "consistent_by_full_to": consistent(lambda s: s["to"]),
        "single_component": len(per_comp) == 1,
    }
    by_user = defaultdict(Counter)
    for sid, names in got.items():
        by_user[sent[sid]["from"]][",".join(names) or "LOST"] += 1
    lines = [f"    {len(sent)} stanzas: " + ", ".join(f"{k} got {v}" for k, v in facts["per_component"].items())
             + (f", bounced to the sender {len(bounced)}" if bounced else "")
             + (f", LOST {len(lost)}" if lost else "") + (f", duplicated {len(dup)}" if dup else "")]
    for u, cnt in sorted(by_user.items()):
        lines.append(f"      from {u:<22} " + ", ".join(f"{k}:{v}" for k, v in sorted(cnt.items())))
    flags = [k for k in ("single_component", "consistent_by_bare_from", "consistent_by_full_from",
                         "consistent_by_bare_to", "consistent_by_full_to") if facts[k]]
    lines.append("      holds: " + (", ".join(flags) or "nothing (spread per stanza)"))
    return "\n".join(lines), facts


def run_mode(mode: str, number: int | None, workdir: Path, domain: str) -> tuple[list[str], list[str]]:
    sys.path.insert(0, str(HERE))
    from rig import Ejabberd, COMPONENT_PORT, C2S_PORT, SECRET  # noqa: E402

    label = mode + (f"+component_number={number}" if number else "")
    out = [f"== domain_balancing: {label}"]
    problems: list[str] = []
    ej = Ejabberd(workdir / label, balancing=mode, component_number=number)
    ej.start()
    logdir = ej.dir
    comps: list[Component] = []
    clients: list[Client] = []
    probe = Probe(domain)
    try:
        auths0 = ej.component_auths()
        a = Component("A", COMPONENT_PORT, domain, SECRET, logdir)
        comps.append(a)
        ok_a = a.wait_ready()
        time.sleep(0.3)  # A strictly first
        b = Component("B", COMPONENT_PORT, domain, SECRET, logdir)
        comps.append(b)
        ok_b = b.wait_ready()
        time.sleep(0.3)
        auths = ej.component_auths() - auths0
        out.append(f"  handshakes: A {'accepted' if ok_a else 'REFUSED'}, B {'accepted' if ok_b else 'REFUSED'}; "
                   f"ejabberd logged {auths} accepted component authentications for {domain}")
        if not (ok_a and ok_b):
            problems.append(f"{label}: component connections for {domain} refused (A {ok_a}, B {ok_b})")
            return out, problems
        clients = [Client(j, j.split("@")[0], C2S_PORT) for j in USERS]
        CLIENTS[:] = clients
        time.sleep(0.5)

        out.append("  1. both connected (A first), users -> +1555000k@sip.test (message, iq to /stox, presence)")
        sent = probe.burst(clients, "p1")
        text, f1 = analyse(sent, where(sent, comps, 1.5))
        out.append(text)
        if f1["lost"] or f1["bounced"]:
            problems.append(f"{label}: {f1['lost']} stanzas lost, {f1['bounced']} bounced with both components up")

        out.append("  2. IQ set from each component to each user; where does the user's result go?")
        ids = {}
        for c in (a, b):
            for u in clients:
                sid = probe.next_id(f"iq{c.name}")
                ids[sid] = (c.name, u.jid)
                c.send(f"<iq type='set' id='{sid}' from='+15550001@{domain}/stox' to='{u.jid}'>"
                       f"<ping xmlns='urn:xmpp:ping'/></iq>")
        time.sleep(1.5)
        res = Counter()
        for sid, (origin, ujid) in ids.items():
            back = [c.name for c in comps for e in c.received() if e["id"] == sid and e["type"] == "result"]
            res[(origin, ",".join(back) or "LOST")] += 1
        for (origin, back), n in sorted(res.items()):
            out.append(f"    sent by {origin}: result reached {back} x{n}")

        out.append("  3. kill -9 A; every 10 ms for 0.5 s each user sends one message; then a full burst")
        a.signal(signal.SIGKILL)
        t_kill = time.monotonic()
        sweep: dict[str, dict] = {}
        offsets: dict[str, float] = {}
        while time.monotonic() - t_kill < 0.5:
            for cl in clients:
                sid = probe.next_id("p3s")
                el = ET.Element("message", {"to": f"{NUMBERS[0]}@{domain}", "type": "chat", "id": sid})
                cl.send(el)
                sweep[sid] = {"from": cl.jid, "to": f"{NUMBERS[0]}@{domain}", "kind": "message"}
                offsets[sid] = time.monotonic() - t_kill
            time.sleep(0.01)
        got = where(sweep, comps, 1.0)
        lost_at = sorted(offsets[s_] for s_, n in got.items() if not n)
        ok_at = sorted(offsets[s_] for s_, n in got.items() if n)
        out.append(f"    sweep: {len(sweep)} messages over 0.5 s; lost {len(lost_at)}"
                   + (f", the last lost one sent {lost_at[-1] * 1000:.0f} ms after the kill" if lost_at else "")
                   + (f"; delivered {len(ok_at)} (to " + ",".join(sorted({n for v in got.values() for n in v}))
                      + ")" if ok_at else ""))
        sent1 = probe.burst(clients, "p3b")
        text, f3b = analyse(sent1, where(sent1, comps, 1.0))
        out.append(f"    burst {time.monotonic() - t_kill:.1f} s after the kill:\n" + text)
        late = [o for o in lost_at if o > 0.1]
        if late:
            problems.append(f"{label}: stanzas sent more than 100 ms after the kill were lost "
                            f"({len(late)}, up to {late[-1] * 1000:.0f} ms)")
        if f3b["per_component"] != {"B": f3b["total"]}:
            problems.append(f"{label}: 1.5 s after the kill the survivor B did not get everything: "
                            f"{f3b['per_component']}, lost {f3b['lost']}, bounced {f3b['bounced']}")

        out.append("  4. A restarts as A2 (B is now the older connection)")
        a2 = Component("A2", COMPONENT_PORT, domain, SECRET, logdir)
        comps.append(a2)
        if not a2.wait_ready():
            problems.append(f"{label}: A2 could not reconnect")
        time.sleep(0.3)
        sent = probe.burst(clients, "p4")
        text, f4 = analyse(sent, where(sent, comps, 1.5))
        out.append(text)
        if f4["lost"] or f4["bounced"]:
            problems.append(f"{label}: {f4['lost']} stanzas lost, {f4['bounced']} bounced after A2 reconnected")

        out.append("  5. SIGSTOP B (hung: its TCP connection stays open), users send; then SIGCONT B")
        b.signal(signal.SIGSTOP)
        time.sleep(0.2)
        sent = probe.burst(clients, "p5")
        text, f5 = analyse(sent, where(sent, comps, 2.0))
        out.append("    while B is stopped:\n" + text)
        b.signal(signal.SIGCONT)
        text, f5b = analyse(sent, where(sent, comps, 1.5))
        out.append("    after SIGCONT:\n" + text)

        out.append("  6. a third connection C joins (A2 and B still up)")
        c3 = Component("C", COMPONENT_PORT, domain, SECRET, logdir)
        comps.append(c3)
        out.append(f"    handshake: C {'accepted' if c3.wait_ready() else 'REFUSED'}")
        time.sleep(0.3)
        sent = probe.burst(clients, "p6")
        text, f6 = analyse(sent, where(sent, comps, 1.5))
        out.append(text)

        out.append("  7. kill -9 B (A2 and C still up); burst 1 s later")
        b.signal(signal.SIGKILL)
        time.sleep(1.0)
        sent = probe.burst(clients, "p7")
        text, f7 = analyse(sent, where(sent, comps, 1.5))
        out.append(text)
        if f7["lost"] or f7["bounced"]:
            problems.append(f"{label}: with A2 and C up after B's death, {f7['lost']} stanzas lost")
        return out, problems
    finally:
        for c in clients:
            c.close()
        for c in comps:
            c.stop()
        ej.stop()


def probe_main(args) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="stox-ejabberd-probe-"))
    report, problems = [], []
    for m in args.modes.split(","):
        mode, _, num = m.partition("+")
        lines, probs = run_mode(mode, int(num) if num else None, workdir, args.domain)
        print("\n".join(lines), flush=True)
        report += lines
        problems += probs
    (workdir / "report.txt").write_text("\n".join(report) + "\n")
    print(f"\nreport and logs: {workdir}")
    for p in problems:
        print(f"PROBLEM  {p}")
    return 1 if problems else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("component", help="one component connection; JSON lines on stdout")
    c.add_argument("--name", required=True)
    c.add_argument("--host", default="127.0.0.1")
    c.add_argument("--port", type=int, default=16347)
    c.add_argument("--domain", default="sip.test")
    c.add_argument("--secret", default="s3cret")
    p = sub.add_parser("probe", help="start ejabberd per mode and run the experiment")
    p.add_argument("--modes", default="none,random+2,source+2,destination+2,bare_source+2,"
                                      "bare_destination+2,bare_source",
                   help="comma-separated domain_balancing types; TYPE+N adds component_number N")
    p.add_argument("--domain", default="sip.test")
    args = ap.parse_args()
    if args.cmd == "component":
        return component_main(args)
    return probe_main(args)


if __name__ == "__main__":
    sys.exit(main())
