"""interop/media.py --selftest: the media harness proven without the gateway.

1. browser <-> browser: alice@test/browser calls bob@test/browser through Prosody
   (StanzaJS Jingle, Chrome's WebRTC both ends); each detects the other's tone
   with Web Audio; alice hangs up and bob sees session-terminate <success/>.
2. baresip <-> baresip, plain RTP and then SDES-SRTP (the SIP-side flavours of
   the anchor modes): one instance (the trunk's config) answers, a second dials
   it; each recording holds the other's tone; the dialler hangs up.

If both pass, a failure of the stox runs is the gateway's, not the harness's.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import media as m  # interop/media.py (its directory is on sys.path first)
import tone
from baresip_ua import Baresip
from browser import Browser, BrowserError, WebServer
from e2e import Prosody, port_open, say, stamp, wait_for


def browsers(checks: m.Checks, url: str, workdir: Path, seconds: float) -> list[Browser]:
    alice, bob = Browser("alice", url, workdir), Browser("bob", url, workdir)
    try:
        m.login(alice, "alice@test")
        m.login(bob, "bob@test")
    except BrowserError as e:
        checks.add("browsers: logged in over WebSocket", False, str(e))
        return [alice, bob]
    checks.add("browsers: logged in over WebSocket", True, "alice@test/browser, bob@test/browser")
    try:
        pending = bob.start("answer", {"tone": m.BARESIP_TONE, "timeoutMs": 15000})
        alice.rpc("call", "bob@test/browser", {"tone": m.BROWSER_TONE}, timeout=15)
        bob.wait(pending, 20)
        acc = alice.rpc("waitAccepted", 15000, timeout=20)
        if not checks.add("browsers: call answered", bool(acc["accepted"]), str(acc)):
            return [alice, bob]
        # both measure at once, over the same seconds of the call
        ia = alice.start("measure", {"expect": m.BARESIP_TONE, "seconds": seconds})
        ib = bob.start("measure", {"expect": m.BROWSER_TONE, "seconds": seconds})
        ra, rb = alice.wait(ia, seconds + 20), bob.wait(ib, seconds + 20)
        m.tone_check(checks, f"browsers: alice hears bob's {m.BARESIP_TONE} Hz", ra, m.BARESIP_TONE, seconds)
        say(f"      {m.stats_line(ra['stats'])}")
        m.tone_check(checks, f"browsers: bob hears alice's {m.BROWSER_TONE} Hz", rb, m.BROWSER_TONE, seconds)
        say(f"      {m.stats_line(rb['stats'])}")
        h = alice.rpc("hangup", 10000, timeout=15)
        t = bob.rpc("waitTerminated", 10000, timeout=15)
        checks.add("browsers: hang-up", h["acked"] and t["reason"] == "success",
                   f"alice's terminate {'acked' if h['acked'] else 'not acked'}; bob got {t['reason']}")
    except BrowserError as e:
        checks.add("browsers: call", False, str(e))
    return [alice, bob]


def phones(checks: m.Checks, workdir: Path, seconds: float, media: str) -> list[Baresip]:
    """Two baresips with the account flavour `media` ("rtp" or "sdes") call each other."""
    callee = Baresip(workdir, f"baresip-{media}", m.BARESIP_PORT, m.BARESIP_CTRL, m.OUT_NUMBER,
                     m.BARESIP_TONE, media)
    caller = Baresip(workdir, f"baresip-{media}-caller", m.SELFTEST_PORT, m.SELFTEST_CTRL, "caller",
                     m.BROWSER_TONE, media)
    for b in (callee, caller):
        why = b.start()
        if why:
            checks.add(f"baresip {media}: started", False, why)
            return [callee, caller]
    caller.dial(f"sip:{m.OUT_NUMBER}@127.0.0.1:{m.BARESIP_PORT}")
    est = caller.wait_event({"CALL_ESTABLISHED"}, 10) and callee.wait_event({"CALL_ESTABLISHED"}, 5)
    if not checks.add(f"baresip {media}: call answered", bool(est),
                      "auto-answer" if est else "not established"):
        return [callee, caller]
    if media == "sdes":
        # the media really is SRTP: both ends logged the negotiated crypto
        secured = all("SRTP is Enabled" in b.log_text() for b in (callee, caller))
        checks.add("baresip sdes: SRTP negotiated", secured,
                   "both logged 'SRTP is Enabled' (srtp-mand: RTP/SAVP + a=crypto)")
    time.sleep(seconds)
    caller.hangup()
    closed = callee.wait_event({"CALL_CLOSED"}, 5)
    checks.add(f"baresip {media}: hang-up", closed is not None, closed.get("param", "") if closed else "not closed")
    time.sleep(0.5)
    for who, b, expect in (("callee", callee, m.BROWSER_TONE), ("caller", caller, m.BARESIP_TONE)):
        m.recording_check(checks, f"baresip {media}: {who} records {expect} Hz", b, set(), expect, seconds)
    return [callee, caller]


def selftest(args) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="stox-media-selftest-"))
    say(f"{stamp()} media selftest: work dir {workdir}")
    t0 = time.monotonic()
    checks = m.Checks()
    os.environ["PROSODY_HTTP_PORT"] = str(m.WS_PORT)
    prosody = Prosody(workdir)
    web = None
    pieces = []
    try:
        prosody.start()
        checks.add("prosody: WebSocket listener", wait_for(lambda: port_open(m.WS_PORT), 10),
                   f"ws://127.0.0.1:{m.WS_PORT}/xmpp-websocket")
        web = WebServer(m.WEB_PORT)
        pieces += browsers(checks, web.url, workdir, args.seconds)
        for media in ("rtp", "sdes"):
            phones_ = phones(checks, workdir, args.seconds, media)
            pieces += phones_
            for p in phones_:  # the next pair binds the same ports
                p.stop()
    finally:
        if checks.failed or args.verbose:
            for p in pieces:
                if isinstance(p, Browser):
                    m.dump(f"browser {p.label} ladder", p.ladder())
                else:
                    m.dump(f"{p.name} events", p.ladder())
                    m.dump(f"{p.name} log", p.log_text(), 40)
        for p in pieces:
            p.stop()
        if web:
            web.stop()
        prosody.stop()
    failed = checks.failed
    say(f"{'PASS' if not failed else 'FAIL'}  media selftest: {len(checks.results) - failed}/"
        f"{len(checks.results)} checks ({time.monotonic() - t0:.0f} s)")
    if failed or args.keep:
        say(f"{stamp()} logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0
