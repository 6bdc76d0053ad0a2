#!/usr/bin/env python3
"""Several XMPP users taking many calls at once, for interop/restart.py.

One process, one asyncio loop, one slixmpp client per user. Each user has a
mode for every call the gateway proposes to it:

    accept  <ringing/>, then <accept/> (to its own bare JID) and <proceed/>;
            the gateway's session-initiate is acked and answered with
            session-accept (the same stanzas as `xmpp_peer.py answer --mode
            accept`, built by the same functions)
    ring    <ringing/> only; the call is never answered

Users listed with --hangup-on-signal send session-terminate <success/> on
every answered, still active session when the process gets SIGUSR1, and
record the IQ result. Everything each user saw is recorded per session id and
written as JSON to --state (atomically, whenever it changes, and at exit), so
the runner can wait for "50 answered, 10 ringing" and judge the outcome. The
peer itself judges nothing: it exits 0 on SIGTERM/SIGINT after writing the
final state, 1 if a client could not log in.

    restart_peer.py --state FILE --user bob@test/restart=accept \\
        --user carol@test/restart=accept --user dave@test/restart=ring \\
        --hangup-on-signal carol@test --expect-resource stox

Ladder lines on stdout: `HH:MM:SS.mmm  user  ->|<-|==  kind  summary`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from slixmpp import ClientXMPP, JID
from slixmpp.exceptions import IqError, IqTimeout

# The stanza builders and the ladder format of the single-call peer.
from xmpp_peer import (
    NS_HINTS, NS_JINGLE, NS_JMI, NS_RTP,
    answer_content, describe, has_transport, jingle_element, jmi_element, now, q,
    reason_element, reason_of, setup_call_client,
)

_xml_log = None


def ladder(user: str, direction: str, kind: str, summary: str = "") -> None:
    print(f"{now()}  {user:<6} {direction}  {kind:<28} {summary}".rstrip(), flush=True)


class State:
    """Every user's calls, by sid; written to a JSON file on change."""

    def __init__(self, path: Path):
        self.path = path
        self.users: dict[str, dict] = {}
        self.problems: list[str] = []
        self.hangup_signals: list[float] = []
        self.dirty = False

    def call(self, user: str, sid: str) -> dict:
        calls = self.users.setdefault(user, {"online": False, "calls": {}})["calls"]
        if sid not in calls:
            calls[sid] = {"events": [], "gateway": None, "ringing_sent": None, "proceed_sent": None,
                          "initiate": None, "accepted": None, "terminate": None, "retract": None,
                          "finish": None, "hangup": None, "problems": []}
        return calls[sid]

    def event(self, user: str, sid: str, what: str) -> dict:
        c = self.call(user, sid)
        c["events"].append([round(time.time(), 3), what])
        self.dirty = True
        return c

    def problem(self, user: str, what: str) -> None:
        self.problems.append(f"{user}: {what}")
        self.dirty = True

    def write(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"users": self.users, "problems": self.problems,
                                   "hangup_signals": self.hangup_signals,
                                   "written": round(time.time(), 3)}, indent=1))
        os.replace(tmp, self.path)
        self.dirty = False


class User(ClientXMPP):
    def __init__(self, jid: str, mode: str, args: argparse.Namespace, state: State):
        super().__init__(jid, JID(jid).user)
        self.label = JID(jid).user
        self.mode = mode
        self.args = args
        self.state = state
        setup_call_client(self)
        self.add_event_handler("failed_auth", lambda *_: self.state.problem(self.label, "authentication failed"))
        self.add_event_handler("disconnected", self._disconnected)
        self.online = asyncio.get_event_loop().create_future()
        self.peers: dict[str, JID] = {}  # sid -> the gateway's full JID for that call
        self.tasks: list[asyncio.Task] = []
        self.closing = False

    # -- plumbing

    def _log(self, direction: str, stanza):
        kind, summary = describe(stanza.xml)
        if not kind.startswith("stream:"):
            ladder(self.label, direction, kind, summary)
            if _xml_log:
                _xml_log.write(f"{now()} {self.label} {direction}\n{stanza}\n")
        return stanza

    def _log_in(self, stanza):
        return self._log("<-", stanza)

    def _log_out(self, stanza):
        return self._log("->", stanza)

    def note(self, what: str, summary: str = "") -> None:
        ladder(self.label, "==", what, summary)

    def _disconnected(self, *_):
        if not self.closing:
            self.state.problem(self.label, "disconnected from the server")

    def spawn(self, coro) -> None:
        async def run():
            try:
                await coro
            except Exception as exc:  # noqa: BLE001 - recorded, the runner judges
                self.state.problem(self.label, f"{type(exc).__name__}: {exc}")
        self.tasks.append(asyncio.ensure_future(run()))

    async def _session_start(self, _event):
        self.send_presence(ppriority=0)
        await asyncio.sleep(0.2)  # let the server register the presence
        self.state.users.setdefault(self.label, {"online": False, "calls": {}})["online"] = True
        self.state.dirty = True
        self.note("ready", f"{self.boundjid.full} online, mode {self.mode}")
        if not self.online.done():
            self.online.set_result(True)

    def from_gateway(self, frm: JID) -> bool:
        return frm.domain == self.args.peer_domain

    def send_jmi(self, to, action: str, sid: str) -> None:
        msg = self.make_message(mto=to, mtype="chat")
        msg["id"] = f"jm-{action}-{sid}"
        msg.append(jmi_element(action, sid))
        msg.append(ET.Element(q(NS_HINTS, "store")))
        msg.send()

    # -- JMI

    def _on_message(self, msg) -> None:
        if msg["type"] == "error":
            self.state.problem(self.label, f"message error from {msg['from']}: {msg}")
            return
        for child in msg.xml:
            if child.tag.startswith("{%s}" % NS_JMI):
                self.on_jmi(msg["from"], child.tag.split("}", 1)[1], child)

    def on_jmi(self, frm: JID, action: str, el: ET.Element) -> None:
        sid = el.get("id") or "?"
        if not self.from_gateway(frm):
            return  # our own <accept/> echoed to our bare JID
        c = self.state.event(self.label, sid, f"jmi:{action}")
        if action == "propose":
            if c["gateway"] is not None:
                c["problems"].append("second propose for the sid")
                return
            c["gateway"] = str(frm)
            if self.args.expect_resource and frm.resource != self.args.expect_resource:
                c["problems"].append(f"propose from {frm}, expected resource {self.args.expect_resource}")
            self.peers[sid] = frm
            self.send_jmi(frm, "ringing", sid)
            c["ringing_sent"] = time.time()
            if self.mode == "accept":
                self.send_jmi(JID(self.boundjid.bare), "accept", sid)
                self.send_jmi(frm, "proceed", sid)
                c["proceed_sent"] = time.time()
        elif action in ("retract", "finish"):
            c[action] = {"at": time.time(), "reason": reason_of(el), "from": str(frm)}
        else:
            c["problems"].append(f"unexpected JMI {action} from {frm}")

    # -- Jingle

    def _on_jingle(self, iq) -> None:
        if iq["type"] != "set":
            return
        jingle = iq.xml.find(q(NS_JINGLE, "jingle"))
        sid = jingle.get("sid") or "?"
        action = jingle.get("action") or "?"
        frm = iq["from"]
        calls = self.state.users.get(self.label, {}).get("calls", {})
        if sid not in calls or not self.from_gateway(frm):
            err = iq.reply(clear=True)
            err["type"] = "error"
            err["error"]["type"] = "cancel"
            err["error"]["condition"] = "item-not-found"
            err.send()
            self.state.problem(self.label, f"{action} from {frm} for unknown sid {sid}")
            return
        c = self.state.event(self.label, sid, f"jingle:{action}")
        iq.reply(clear=True).send()
        if action == "session-initiate":
            c["initiate"] = time.time()
            problems = self.check_offer(jingle)
            if problems:
                c["problems"].append("bad session-initiate: " + "; ".join(problems))
                return
            if self.mode != "accept" or c["proceed_sent"] is None:
                c["problems"].append("session-initiate for a call we did not proceed with")
                return
            self.peers[sid] = frm
            self.spawn(self.session_accept(sid, jingle, c))
        elif action == "session-terminate":
            c["terminate"] = {"at": time.time(), "reason": reason_of(jingle), "by": "gateway"}
        elif action in ("session-info", "transport-info"):
            pass
        else:
            c["problems"].append(f"unexpected {action}")

    @staticmethod
    def check_offer(jingle: ET.Element) -> list[str]:
        problems = []
        contents = jingle.findall(q(NS_JINGLE, "content"))
        if not contents:
            problems.append("no content")
        for content in contents:
            if content.find(f"{q(NS_RTP, 'description')}/{q(NS_RTP, 'payload-type')}") is None:
                problems.append(f"content {content.get('name')} has no RTP payload-type")
            if not has_transport(content):
                problems.append(f"content {content.get('name')} has no transport")
        if not jingle.get("initiator"):
            problems.append("no initiator attribute")
        return problems

    async def send_jingle(self, to, jingle: ET.Element) -> str:
        """'result', 'error:COND' or 'timeout'."""
        iq = self.make_iq_set(ito=to)
        iq.append(jingle)
        try:
            await iq.send(timeout=self.args.iq_timeout)
            return "result"
        except IqError as e:
            return f"error:{e.iq['error']['condition']}"
        except IqTimeout:
            return "timeout"

    async def session_accept(self, sid: str, offer: ET.Element, c: dict) -> None:
        j = jingle_element("session-accept", sid, responder=self.boundjid.full)
        for content in offer.findall(q(NS_JINGLE, "content")):
            j.append(answer_content(content))
        outcome = await self.send_jingle(self.peers[sid], j)
        self.state.event(self.label, sid, f"session-accept:{outcome}")
        if outcome == "result":
            c["accepted"] = time.time()
        else:
            c["problems"].append(f"session-accept answered {outcome}")

    async def hangup_all(self) -> None:
        """session-terminate <success/> on every answered session still up."""
        calls = self.state.users.get(self.label, {}).get("calls", {})
        live = [sid for sid, c in calls.items()
                if c["accepted"] and not c["terminate"] and not c["hangup"]]
        self.note("hangup", f"terminating {len(live)} session(s)")

        async def one(sid: str) -> None:
            c = calls[sid]
            c["hangup"] = {"sent": time.time(), "outcome": None, "at": None}
            j = jingle_element("session-terminate", sid)
            j.append(reason_element("success"))
            outcome = await self.send_jingle(self.peers[sid], j)
            c["hangup"].update(outcome=outcome, at=time.time())
            if outcome == "result":
                c["terminate"] = {"at": time.time(), "reason": "success", "by": "us"}
            self.state.event(self.label, sid, f"hangup:{outcome}")

        await asyncio.gather(*(one(sid) for sid in live))


async def amain(args: argparse.Namespace) -> int:
    global _xml_log
    if args.xml_log:
        _xml_log = open(args.xml_log, "a", encoding="utf-8")
    state = State(Path(args.state))
    users = []
    for spec in args.user:
        jid, _, mode = spec.partition("=")
        if mode not in ("accept", "ring"):
            print(f"restart_peer: --user {spec}: mode must be accept or ring", file=sys.stderr)
            return 2
        users.append(User(jid, mode, args, state))
    host, _, port = args.server.rpartition(":")
    for u in users:
        u.connect(host, int(port))
    try:
        await asyncio.wait_for(asyncio.gather(*(u.online for u in users)), args.login_timeout)
    except asyncio.TimeoutError:
        state.problem("peer", f"not every user online after {args.login_timeout}s")
        state.write()
        return 1
    state.write()
    print(f"{now()}  all    ==  ready                        {len(users)} user(s) online", flush=True)

    loop = asyncio.get_event_loop()
    stop = loop.create_future()
    hangers = [u for u in users if JID(u.boundjid.bare).bare in args.hangup_on_signal]

    def on_usr1() -> None:
        state.hangup_signals.append(round(time.time(), 3))
        for u in hangers:
            u.spawn(u.hangup_all())

    loop.add_signal_handler(signal.SIGUSR1, on_usr1)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(True))
    while not stop.done():
        if state.dirty:
            state.write()
        await asyncio.wait([stop], timeout=0.2)
    await asyncio.sleep(0.1)
    for u in users:
        u.closing = True
        for t in u.tasks:
            t.cancel()
    state.write()
    for u in users:
        try:
            await asyncio.wait_for(u.disconnect(wait=1.0), 3)
        except Exception:  # noqa: BLE001 - the state is written already
            pass
    print(f"{now()}  all    ==  stopped                      state in {args.state}", flush=True)
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--user", action="append", required=True, metavar="JID=accept|ring",
                   help="a full JID to log in as (password = local part) and what it does with calls")
    p.add_argument("--state", required=True, help="JSON file with every call seen")
    p.add_argument("--hangup-on-signal", action="append", default=[], metavar="BAREJID",
                   help="on SIGUSR1 this user terminates every answered session")
    p.add_argument("--server", default="127.0.0.1:15222", help="c2s host:port")
    p.add_argument("--peer-domain", default="sip.test", help="the gateway's domain")
    p.add_argument("--expect-resource", metavar="RES",
                   help="the gateway's proposes must come from a full JID with this resource")
    p.add_argument("--iq-timeout", type=float, default=10.0)
    p.add_argument("--login-timeout", type=float, default=15.0)
    p.add_argument("--xml-log", help="also write every stanza's XML to this file")
    p.add_argument("--debug", action="store_true", help="slixmpp debug logging on stderr")
    args = p.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.ERROR,
                        format="%(levelname)-8s %(message)s", stream=sys.stderr)
    if not args.debug:
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    return loop.run_until_complete(amain(args))


if __name__ == "__main__":
    sys.exit(main())
