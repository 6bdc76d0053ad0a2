#!/usr/bin/env python3
"""Two stox instances on one Postgres behind ejabberd: calls survive their instance (issue 5).

    interop/cluster.py            # the whole run, ~30 s
    interop/cluster.py --keep     # keep the work dir and the database

Starts a private ejabberd (interop/ejabberd, no domain_balancing: random
routing per stanza, see interop/ejabberd/README.md), creates a fresh Postgres
database (postgres://postgres@127.0.0.1:5432/stox_cluster_<rand>, local trust
auth, or STOX_PG; dropped at the end), then:

  1. gw1 (instance "gw1", SIP 127.0.0.1:17060) and gw2 ("gw2", 17160) both
     connect to ejabberd as sip.test (same secret) and see each other's lease;
  2. out: alice@test calls +15551230001 (JMI); ejabberd hands her propose to
     one instance at random, which calls the trunk (sipp UAS); that instance
     is the victim V, the other one the survivor S;
  3. in-sip and in-xmpp: two sipp UACs call +15550001000 (bob@test) and
     +15550002000 (carol@test) through V; bob and carol answer. All the while
     ejabberd spreads the users' stanzas over both connections, so S passes
     V's share on (Postgres NOTIFY): asserted from both logs;
  4. the three calls are answered and stored (Answered rows owned by V);
     V is killed with SIGKILL;
  5. S adopts them: each sipp gets S's re-INVITE (Contact = S's address) within
     lease_secs (5) + one renewal period (lease_secs / 3) and answers 200;
  6. the calls are hung up normally through S: in-sip: sipp's BYE to S ends
     bob's session (<success/>); out: alice's session-terminate (sent on
     SIGUSR1, after the adoption) reaches S, whose BYE sipp answers 200;
     in-xmpp: carol hangs up 1 s after the kill, BEFORE the adoption: S holds
     her session-terminate (its owner V is dead: no lease connections) until
     it owns the call, then sends the BYE (after its re-INVITE);
  7. `stox cdr --config S.toml --since 10m --json` lists each call once,
     instance S, with the right ended_by;
  8. S exits 0 on SIGTERM within 5 s; neither log has an ERROR line.

Prints PASS/FAIL per check, the adoption delays and the step timings; on a
failure the peers' ladders, sipp's errors and both stox logs' tails. Exits 1
on any failure, 2 when the rig cannot start. Only the standard library; the
XMPP peers are interop/peer/xmpp_peer.py in interop/.venv.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "ejabberd"))

import e2e  # noqa: E402
from e2e import Proc, bound_ports, die, say, stamp, tail, wait_for, indent  # noqa: E402
import rig  # noqa: E402  (interop/ejabberd/rig.py)

ROOT = HERE.parent
SIPP_DIR = HERE / "ejabberd" / "sipp"
DOMAIN = rig.DOMAIN
SECRET = rig.SECRET
LEASE_SECS = 5
RENEW_SECS = LEASE_SECS / 3  # the lease loop's period (src/runtime/durable.rs)
SLACK = 0.5  # scheduling, the re-INVITE's way to sipp
ADOPT_LIMIT = LEASE_SECS + RENEW_SECS + SLACK
ADOPT_EARLIEST = LEASE_SECS - RENEW_SECS - 0.2  # not before the victim's lease can have run out

# trunk: the port of the sipp UAS that answers this instance's outbound calls
GW = {"gw1": {"sip": 17060, "metrics": "127.0.0.1:19191", "trunk": 17080},
      "gw2": {"sip": 17160, "metrics": "127.0.0.1:19192", "trunk": 17180}}
RUN_LIMIT = 60.0
FORWARD_LINE = "stanza passed to its call's instance"
PEERS_LINE = "live instances sharing the store"
ADOPT_LINE = "instance's lease expired: adopting its calls"

STOX_CONFIG = """\
[xmpp]
domain = "{domain}"
server = "127.0.0.1:{component_port}"
secret = "{secret}"

[sip]
listen = ["udp:127.0.0.1:{sip_port}", "tcp:127.0.0.1:{sip_port}"]
timer_t1_ms = 100
trunk_ping_secs = 0

[database]
url = "{db_url}"
instance = "{instance}"
lease_secs = {lease}

[[trunk]]
name = "pbx"
uri = "sip:127.0.0.1:{trunk_port}"       # each instance its own sipp UAS (see Run.go)

[[number]]
did = "+15550001000"
jid = "bob@test"

[[number]]
did = "+15550002000"
jid = "carol@test"

[policy]
allow_outbound = ["alice@test", "bob@test", "carol@test"]

[calls]
ring_timeout_secs = 10

[metrics]
listen = "{metrics}"
"""


# ----------------------------------------------------------------- Postgres


class Database(e2e.ScratchDatabase):
    def __init__(self):
        super().__init__("stox_cluster")

    def create(self) -> None:
        try:
            super().create()
        except RuntimeError as err:
            die(str(err))
        say(f"{stamp()} postgres: {self.url}")


# ----------------------------------------------------------------- gateways


class Gateway:
    def __init__(self, name: str, binary: Path, workdir: Path, ej: rig.Ejabberd, db: Database):
        self.name = name
        self.binary = binary
        self.workdir = workdir
        self.ej = ej
        self.db = db
        self.port = GW[name]["sip"]
        self.config = workdir / f"{name}.toml"
        self.log = workdir / f"{name}.log"
        self.proc: Proc | None = None

    def start(self) -> Proc:
        self.config.write_text(STOX_CONFIG.format(
            domain=DOMAIN, component_port=self.ej.component_port, secret=SECRET, sip_port=self.port,
            db_url=self.db.url, instance=self.name, lease=LEASE_SECS, trunk_port=GW[self.name]["trunk"],
            metrics=GW[self.name]["metrics"]))
        env = dict(os.environ)
        env.setdefault("RUST_LOG", "info,stox=debug")
        env["NO_COLOR"] = "1"
        self.proc = Proc(self.name, [str(self.binary), "run", "--config", str(self.config)],
                         self.log, env=env)
        return self.proc

    def ready(self) -> bool:
        return ("XMPP component link up" in self.text() and self.port in bound_ports("udp")
                and self.port in bound_ports("tcp"))

    def sees_peer(self) -> bool:
        return any(PEERS_LINE in ln and "peers=1" in ln for ln in self.text().splitlines())

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> float:
        os.killpg(self.proc.p.pid, signal.SIGKILL)
        t = time.time()
        self.proc.p.wait()
        return t

    def stop(self) -> None:
        if self.proc:
            self.proc.stop(grace=5)

    def text(self) -> str:
        return self.proc.text() if self.proc else ""


# ----------------------------------------------------------------- calls


@dataclasses.dataclass
class Call:
    name: str
    what: str
    sipp: str  # scenario file in interop/ejabberd/sipp
    role: str  # uas | uac
    did: str  # the number sipp calls (uac), or the trunk's callee (uas)
    local_port: int
    peer_jid: str
    peer_args: list[str]
    hangup: str  # "sip": sipp sends BYE; "xmpp": the peer gets SIGUSR1 after the adoption;
    # "xmpp-early": SIGUSR1 1 s after the kill, before the adoption
    cdr: tuple[str, str]  # (direction, the CDR's user party)
    sipp_proc: Proc | None = None
    msg: Path | None = None  # sipp's -message_file
    peer_proc: Proc | None = None
    reinvite_at: float | None = None
    signalled: bool = False

    def msg_file(self, workdir: Path) -> Path:
        return self.msg or workdir / self.name / f"{self.role}.msg"


def calls() -> list[Call]:
    return [
        Call("out", "alice calls +15551230001 (JMI); the trunk (sipp UAS) answers; after the adoption "
             "alice hangs up and the trunk gets the survivor's BYE",
             "uas_adopt.xml", "uas", "+15551230001", 0, "alice@test/phone",
             ["--hangup-on-usr1", "call", f"+15551230001@{DOMAIN}", "--mode", "jmi", "--expect-answered"],
             "xmpp", ("outbound", "alice@test")),
        Call("in-sip", "sipp calls +15550001000, bob answers; after the adoption sipp's BYE to the "
             "survivor ends bob's session with <success/>",
             "uac_adopt_bye.xml", "uac", "+15550001000", 17070, "bob@test/phone",
             ["answer", "--mode", "accept", "--delay", "0.3", "--expect-terminate", "success"],
             "sip", ("inbound", "bob@test")),
        Call("in-xmpp", "sipp calls +15550002000, carol answers; 1 s after the kill, BEFORE the "
             "adoption, carol hangs up: the survivor holds her session-terminate until it owns the "
             "call, and sipp gets the re-INVITE, then the BYE",
             "uac_adopt_wait_bye.xml", "uac", "+15550002000", 17072, "carol@test/phone",
             # her session-terminate waits for the adoption (up to ~7 s after the kill)
             ["--hangup-on-usr1", "--iq-timeout", "15", "answer", "--mode", "accept", "--delay", "0.3"],
             "xmpp-early", ("inbound", "carol@test")),
    ]


def render_sipp(c: Call, sdir: Path, survivor: Gateway) -> Path:
    text = (SIPP_DIR / c.sipp).read_text()
    text = (text.replace("@GW2_HOST@", "127.0.0.1").replace("@GW2_PORT@", str(survivor.port))
            .replace("@ADOPT_MS@", "20000").replace("@BYE_MS@", "20000"))
    out = sdir / f"{c.local_port}-{c.sipp}"
    out.write_text(text)
    return out


def sipp_argv(c: Call, path: Path, sdir: Path, victim: Gateway | None) -> list[str]:
    base = ["sipp", "-sf", str(path), "-i", "127.0.0.1", "-p", str(c.local_port), "-m", "1",
            "-nostdin", "-trace_msg", "-message_file", str(sdir / f"{c.role}{c.local_port}.msg"),
            "-trace_err", "-error_file", str(sdir / f"{c.role}{c.local_port}.err"),
            "-timeout", f"{RUN_LIMIT:.0f}s", "-timeout_error"]
    if c.role == "uas":
        return base
    return base[:1] + [f"127.0.0.1:{victim.port}", "-s", c.did] + base[1:]


TS = re.compile(r"^-+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)$", re.M)


def sipp_messages(msg_file: Path) -> list[tuple[float, str, str]]:
    """(unix time, 'received'|'sent', first line) per message in a sipp -trace_msg file, whose
    entries start with "----…---- 2026-11-24 07:27:32.559604" then "UDP message sent (N bytes):"."""
    try:
        text = msg_file.read_text(errors="replace")
    except OSError:
        return []
    out = []
    parts = TS.split(text)
    for i in range(1, len(parts) - 1, 2):
        t = datetime.datetime.strptime(parts[i], "%Y-%m-%d %H:%M:%S.%f").timestamp()
        lines = [ln.strip() for ln in parts[i + 1].splitlines() if ln.strip()]
        if len(lines) < 2:
            continue
        direction = "received" if "message received" in lines[0] else "sent"
        out.append((t, direction, lines[1]))
    return out


def acked(c: Call, workdir: Path) -> bool:
    """The initial INVITE's ACK went by (sent by a UAC, received by a UAS)."""
    return any(first.startswith("ACK ") for _, _, first in sipp_messages(c.msg_file(workdir)))


def reinvite(c: Call, workdir: Path, since: float) -> tuple[float | None, bool]:
    """(time sipp received the adopter's INVITE, whether its ACK arrived too)."""
    msgs = sipp_messages(c.msg_file(workdir))
    t_inv = next((t for t, d, first in msgs
                  if d == "received" and first.startswith(("INVITE ", "UPDATE ")) and t >= since), None)
    if t_inv is None:
        return None, False
    method_update = any(first.startswith("UPDATE ") for t, d, first in msgs if t == t_inv)
    ack = method_update or any(d == "received" and first.startswith("ACK ") and t >= t_inv
                               for t, d, first in msgs)
    return t_inv, ack


# ----------------------------------------------------------------- the run


class Run:
    def __init__(self, workdir: Path, gws: dict[str, Gateway], db: Database):
        self.workdir = workdir
        self.gws = gws
        self.db = db
        self.calls = calls()
        self.checks: list[tuple[bool, str]] = []
        self.timings: list[tuple[str, float]] = []
        self.t0 = time.monotonic()
        self.t_mark = self.t0
        self.started: list[Proc] = []  # every peer and sipp, for the clean-up

    def check(self, ok: bool, what: str) -> bool:
        self.checks.append((ok, what))
        say(f"{stamp()} {'ok  ' if ok else 'FAIL'}  {what}")
        return ok

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.timings.append((name, now - self.t_mark))
        self.t_mark = now

    def start_peer(self, c: Call) -> Proc:
        sdir = self.workdir / c.name
        sdir.mkdir(exist_ok=True)
        peer = e2e.Peer(c.peer_jid.split("@")[0], c.peer_jid, c.peer_args + ["--timeout", f"{RUN_LIMIT:.0f}"])
        argv = e2e.peer_argv(peer, sdir / "peer.xml")
        argv[argv.index("--server") + 1] = f"127.0.0.1:{rig.C2S_PORT}"
        c.peer_proc = Proc(f"peer-{c.name}", argv, sdir / "peer.out")
        self.started.append(c.peer_proc)
        return c.peer_proc

    def start_sipp(self, c: Call, victim: Gateway | None, survivor: Gateway) -> Proc:
        sdir = self.workdir / c.name
        sdir.mkdir(exist_ok=True)
        path = render_sipp(c, sdir, survivor)
        c.msg = sdir / f"{c.role}{c.local_port}.msg"
        c.sipp_proc = Proc(f"sipp-{c.name}", sipp_argv(c, path, sdir, victim),
                           sdir / f"{c.role}{c.local_port}.out", cwd=sdir)
        self.started.append(c.sipp_proc)
        return c.sipp_proc

    def procs(self) -> list[Proc]:
        return [p for c in self.calls for p in (c.sipp_proc, c.peer_proc) if p]

    def any_exited_badly(self) -> bool:
        return any(p.poll() not in (None, 0) for p in self.procs())

    def go(self) -> None:
        g1, g2 = self.gws["gw1"], self.gws["gw2"]
        # 1. both instances up, each seeing the other's live lease.
        for g in (g1, g2):
            g.start()
        up = wait_for(lambda: (g1.ready() and g2.ready()) or not g1.alive() or not g2.alive(), 20)
        if not self.check(up and g1.alive() and g2.alive(),
                          "gw1 and gw2 connected to ejabberd as sip.test and listening"):
            return
        if not self.check(wait_for(lambda: g1.sees_peer() and g2.sees_peer(), 10),
                          "each instance sees the other's live lease (stanza routing on)"):
            return
        self.lap("start gw1 + gw2")

        # 2. the outbound call lands on a random instance (whichever ejabberd hands alice's
        # propose to): that one dies later. Each instance has its own trunk UAS, rendered with
        # the other instance as the survivor; the one that gets no call is stopped.
        out, in_sip, in_xmpp = self.calls
        uas: dict[str, tuple[Proc, Path]] = {}
        for g, other in ((g1, g2), (g2, g1)):
            out.local_port = GW[g.name]["trunk"]
            uas[g.name] = (self.start_sipp(out, None, other), out.msg)
        wait_for(lambda: all(GW[n]["trunk"] in bound_ports("udp") for n in GW), 5)
        self.start_peer(out)
        took = lambda: [n for n, (_, m) in uas.items() if any(  # noqa: E731
            first.startswith("ACK ") for _, _, first in sipp_messages(m))]
        ok = wait_for(lambda: took() or any(p.poll() not in (None, 0) for p, _ in uas.values())
                      or out.peer_proc.poll() is not None, 15)
        if not self.check(ok and len(took()) == 1, f"out: alice's call answered by the trunk of {took()}, ACKed"):
            return
        owner = self.wait_owner("outbound")
        if not self.check(owner == took()[0], f"out: the call is stored, owned by {owner}"):
            return
        victim = self.gws[owner]
        survivor = g2 if victim is g1 else g1
        out.sipp_proc, out.msg = uas[victim.name]
        out.local_port = GW[victim.name]["trunk"]
        uas[survivor.name][0].stop()
        say(f"{stamp()} victim {victim.name} (ejabberd gave it alice's propose), survivor {survivor.name}")
        self.lap("outbound call up")

        # 3. two inbound calls through the victim.
        for c in (in_sip, in_xmpp):
            self.start_peer(c)
        if not self.check(all(e2e.wait_ready(c.peer_proc, 15) for c in (in_sip, in_xmpp)),
                          "bob and carol online"):
            return
        for c in (in_sip, in_xmpp):
            self.start_sipp(c, victim, survivor)
        ok = wait_for(lambda: all(acked(c, self.workdir) for c in (in_sip, in_xmpp)) or self.any_exited_badly(), 15)
        if not self.check(ok and all(acked(c, self.workdir) for c in self.calls),
                          f"in-sip, in-xmpp: sipp's calls through {victim.name} answered by bob and carol, ACKed"):
            return
        self.lap("inbound calls up")

        # 4. stored as answered, owned by the victim; stanzas were passed on.
        answered = lambda: self.db.query(  # noqa: E731
            f"SELECT count(*) FROM calls WHERE owner = '{victim.name}' AND answered_ms IS NOT NULL")
        ok = wait_for(lambda: answered() == [["3"]], 5)
        if not self.check(ok, f"3 answered calls owned by {victim.name} in Postgres (got {answered()})"):
            return
        fw = {g.name: g.text().count(FORWARD_LINE) for g in (g1, g2)}
        self.check(fw[survivor.name] > 0,
                   f"stanzas passed between the instances during set-up: {fw} "
                   f"(by {survivor.name} to {victim.name}: {fw[survivor.name]})")

        # 5. kill the victim; the survivor adopts.
        t_kill = victim.kill9()
        self.lap("checks before the kill")
        say(f"{stamp()} {victim.name} killed (SIGKILL); waiting for {survivor.name}'s target refreshes")
        time.sleep(1.0)
        for c in self.calls:
            if c.hangup == "xmpp-early":
                say(f"{stamp()} {c.name}: the XMPP user hangs up before the adoption")
                os.kill(c.peer_proc.p.pid, signal.SIGUSR1)
                c.signalled = True

        def refreshed() -> bool:
            return all(reinvite(c, self.workdir, t_kill)[1] for c in self.calls)

        wait_for(lambda: refreshed() or self.any_exited_badly(), ADOPT_LIMIT + 5)
        for c in self.calls:
            t_inv, ack = reinvite(c, self.workdir, t_kill)
            c.reinvite_at = t_inv
            if t_inv is None:
                self.check(False, f"{c.name}: no re-INVITE/UPDATE from {survivor.name} reached sipp")
                continue
            delay = t_inv - t_kill
            self.check(ADOPT_EARLIEST <= delay <= ADOPT_LIMIT and ack,
                       f"{c.name}: {survivor.name}'s target refresh (Contact :{survivor.port}) "
                       f"{delay:.2f} s after the kill (window {ADOPT_EARLIEST:.2f}..{ADOPT_LIMIT:.2f}: the "
                       f"victim's lease ({LEASE_SECS} s) ran from its last renewal, up to {RENEW_SECS:.2f} s "
                       f"before the kill; the survivor looks every {RENEW_SECS:.2f} s), "
                       f"answered 200{', ACKed' if ack else ', NO ACK'}")
        adopt_lines = [ln for ln in survivor.text().splitlines() if ADOPT_LINE in ln]
        self.check(len(adopt_lines) == 1 and "calls=3" in adopt_lines[0],
                   f"{survivor.name} adopted {victim.name}'s 3 calls in one go: "
                   f"{adopt_lines[0].strip() if adopt_lines else 'no adoption logged'}")
        self.lap("adoption")

        # 6. hang up: sipp's BYE (in-sip, by the scenario); the peers on SIGUSR1.
        for c in self.calls:
            if c.hangup == "xmpp" and c.reinvite_at is not None:
                os.kill(c.peer_proc.p.pid, signal.SIGUSR1)
                c.signalled = True
        deadline = time.monotonic() + 15
        for c in self.calls:
            for label, p in (("sipp", c.sipp_proc), ("peer", c.peer_proc)):
                rc = p.wait(deadline)
                last = tail(p.text(), 1).strip()
                self.check(rc == 0, f"{c.name}: {label} exited {rc}" + (f" ({last})" if label == "peer" else ""))
        self.lap("hang-ups")

        # 7. CDRs.
        self.check_cdrs(survivor)
        self.lap("CDRs")

        # 8. the survivor stops cleanly on SIGTERM; no ERROR in either log.
        t = time.monotonic()
        rc = survivor.proc.stop(grace=5)
        self.check(rc == 0, f"{survivor.name} exited {rc} {time.monotonic() - t:.1f} s after SIGTERM")
        errors = [f"{g.name}: {ln.strip()[:200]}" for g in (g1, g2) for ln in g.text().splitlines()
                  if " ERROR " in ln]
        self.check(not errors, "no ERROR in the gateways' logs" + "".join(f"\n    {e}" for e in errors))
        self.lap("stop")

    def wait_owner(self, direction: str) -> str | None:
        rows: list[list[str]] = []

        def found() -> bool:
            nonlocal rows
            rows = self.db.query(f"SELECT owner FROM calls WHERE direction = '{direction}'")
            return bool(rows)

        wait_for(found, 5)
        return rows[0][0] if rows else None

    def check_cdrs(self, survivor: Gateway) -> None:
        r = subprocess.run([str(survivor.binary), "cdr", "--config", str(survivor.config), "--since", "10m",
                            "--json"], capture_output=True, text=True, timeout=30)
        if not self.check(r.returncode == 0, f"stox cdr --config {survivor.config.name} --since 10m --json "
                          f"exited {r.returncode} {r.stderr.strip()[-200:]}"):
            return
        cdrs = [json.loads(ln) for ln in r.stdout.splitlines() if ln.strip()]
        (self.workdir / "cdrs.json").write_text(r.stdout)
        self.check(len(cdrs) == len(self.calls), f"{len(cdrs)} CDRs for {len(self.calls)} calls")
        for c in self.calls:
            direction, user = c.cdr
            party = "caller" if direction == "outbound" else "callee"
            mine = [x for x in cdrs if x.get("direction") == direction and x.get(party) == user]
            if not self.check(len(mine) == 1, f"{c.name}: one CDR ({direction}, {party} {user}): {len(mine)}"):
                continue
            x = mine[0]
            self.check(x.get("instance") == survivor.name and x.get("ended_by") == c.hangup.split("-")[0]
                       and x.get("answer_ms") is not None,
                       f"{c.name}: CDR instance={x.get('instance')} ended_by={x.get('ended_by')} "
                       f"answered={x.get('answer_ms') is not None} duration={x.get('duration_ms')} ms "
                       f"sip_status={x.get('sip_status')} jingle_reason={x.get('jingle_reason')}")

    def report_failure(self) -> None:
        for c in self.calls:
            for p in (c.peer_proc, c.sipp_proc):
                if p:
                    say(f"--- {p.label} output:\n{indent(tail(p.text(), 30))}")
            err = c.msg.with_suffix(".err") if c.msg else self.workdir / "none"
            if err.exists() and err.read_text(errors="replace").strip():
                say(f"--- sipp-{c.name} errors:\n{indent(tail(err.read_text(errors='replace'), 15))}")
        for g in self.gws.values():
            say(f"--- {g.name} log tail ({g.log}):\n{indent(tail(g.text(), 40))}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", action="store_true", help="keep the work dir and the database")
    ap.add_argument("--list", action="store_true", help="list the calls and exit")
    args = ap.parse_args()
    if args.list:
        for c in calls():
            print(f"{c.name}\n    {c.what}")
        return 0
    for tool in ("sipp", "psql", "ejabberdctl"):
        if not shutil.which(tool):
            die(f"{tool} is missing: run interop/setup.sh (it runs interop/ejabberd/setup.sh)")
    if not e2e.VENV_PY.exists():
        die(f"{e2e.VENV_PY} is missing: run interop/setup.sh")
    binary = Path(os.environ.get("STOX_BIN", ROOT / "target" / "release" / "stox"))
    if not binary.exists():
        die(f"no stox binary at {binary} (cargo build --release)")
    ports = [g[k] for g in GW.values() for k in ("sip", "trunk")] + [c.local_port for c in calls()]
    busy = [p for p in ports if p in bound_ports("udp") | bound_ports("tcp")]
    if busy:
        die(f"ports {busy} are already in use")

    workdir = Path(tempfile.mkdtemp(prefix="stox-cluster-"))
    ej = rig.Ejabberd(workdir)  # no domain_balancing: random per stanza, the survivor gets all at once
    db = Database()
    run: Run | None = None
    t0 = time.monotonic()
    try:
        ej.start()
        db.create()
        t_rig = time.monotonic() - t0
        gws = {n: Gateway(n, binary, workdir, ej, db) for n in GW}
        run = Run(workdir, gws, db)
        run.timings.append(("ejabberd + database", t_rig))
        try:
            run.go()
        except Exception as exc:  # noqa: BLE001 - report it as a failure with the logs
            run.check(False, f"harness error: {type(exc).__name__}: {exc}")
        failed = [w for ok, w in run.checks if not ok]
        if failed or not run.checks:
            run.report_failure()
    finally:
        if run:
            for p in run.started:
                p.stop()
            for g in run.gws.values():
                g.stop()
        ej.stop()
        if not args.keep:
            db.drop()
    passed = sum(ok for ok, _ in run.checks)
    say("timings: " + ", ".join(f"{n} {s:.1f}s" for n, s in run.timings)
        + f"; total {time.monotonic() - t0:.1f}s")
    ok = run.checks and passed == len(run.checks)
    say(f"{'PASS' if ok else 'FAIL'}  cluster: {passed}/{len(run.checks)} checks; work dir {workdir}")
    if ok and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
