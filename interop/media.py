#!/usr/bin/env python3
"""The end-to-end media proof (issue 6): audio both ways through stox, between a
real WebRTC stack and a real SIP phone.

    headless Chromium (StanzaJS over Prosody's WebSocket, user bob@test/browser)
        <-- Jingle / XEP-0114 -->  stox  <-- SIP -->  baresip (Debian)

The browser sends a 1000 Hz sine (Web Audio oscillator) and analyses what it
receives with Web Audio; baresip sends a 440 Hz sine (aufile, a sox-made WAV)
and records what it receives (sndfile), analysed here with a Goertzel filter.

    interop/media.py                                  # --mode passthrough --direction both
    interop/media.py --mode embedded --srtp sdes      # the gateway's own anchor, SDES toward baresip
    interop/media.py --mode rtpengine --srtp none     # a private rtpengine daemon as the anchor
    interop/media.py --direction in --seconds 8 --keep
    interop/media.py --mode rtpengine --hold          # baresip holds and resumes in each call
    interop/media.py --selftest                       # the pieces without stox (see selftest())

Directions: `out` = the browser calls +15551230001@sip.test (stox's trunk is
baresip, whose account is that number; it answers at once) and hangs up from
XMPP; `in` = baresip calls +15550001000 (the DID of bob@test), the browser
accepts and baresip hangs up from SIP.

In passthrough mode stox only translates signalling, so baresip speaks WebRTC's
media (ICE + DTLS-SRTP + rtcp-mux); with an anchor (embedded, rtpengine)
baresip is a plain SIP phone: RTP/AVP, or RTP/SAVP with SDES (--srtp sdes).

Prints one `ok`/`FAIL` line per check and a verdict; exits 1 if a check
failed (with the ladders and log tails), 2 if the rig could not start.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "media"))

from e2e import (DOMAIN, GATEWAY_SIP_PORT, ROOT, STOX_CONFIG, COMPONENT_PORT, SECRET,  # noqa: E402
                 Prosody, Stox, bound_ports, indent, port_open, say, stamp, tail, wait_for)
from baresip_ua import Baresip  # noqa: E402
from browser import Browser, BrowserError, WebServer  # noqa: E402
import tone  # noqa: E402

WS_PORT = 15280  # Prosody's HTTP/WebSocket listener
WEB_PORT = 15281  # the page's HTTP server
BARESIP_PORT = 15090  # stox's trunk (baresip also binds 15091 for TLS)
BARESIP_CTRL = 15093  # baresip's ctrl_tcp
SELFTEST_PORT = 15094  # a second baresip for --selftest (and 15095)
SELFTEST_CTRL = 15097
METRICS = "127.0.0.1:19095"
RTPENGINE_NG = 22223  # our private rtpengine's ng port (not 2223: others may run one)
MEDIA_PORTS = "40000-40999"  # the embedded anchor's ports
RTPENGINE_PORTS = (41000, 41999)

BROWSER_TONE = 1000
BARESIP_TONE = 440
OUT_NUMBER = "+15551230001"  # the browser calls this; baresip's account user
IN_DID = "+15550001000"  # baresip calls this; STOX_CONFIG maps it to bob@test
BROWSER_JID = "bob@test"  # in STOX_CONFIG's allow_outbound and the DID's user
DTMF_DIGITS = "15#"  # the browser's XEP-0181 digits in the embedded outbound call
MIN_TONE_SHARE = 0.6  # of --seconds, the time the expected tone must dominate


class Checks:
    def __init__(self):
        self.results: list[tuple[str, bool, str]] = []

    def add(self, name: str, ok: bool, detail: str) -> bool:
        self.results.append((name, ok, detail))
        say(f"{'ok  ' if ok else 'FAIL'}  {name:<44} {detail}")
        return ok

    @property
    def failed(self) -> int:
        return sum(1 for _, ok, _ in self.results if not ok)


# ----------------------------------------------------------------- set-up


def ensure_tools() -> None:
    """interop/media/setup.sh, every run: it installs what is missing (Chromium,
    baresip, sox, rtpengine, npm packages), rebuilds a stale page bundle, and
    fails loudly otherwise; with everything present it takes well under a second."""
    r = subprocess.run([str(HERE / "media" / "setup.sh")], capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stdout + r.stderr)
        sys.exit("media: interop/media/setup.sh failed")


def stox_config(workdir: Path, mode: str, srtp: str, rtpengine: str) -> Path:
    trunk_extra = ""
    if mode != "passthrough":
        trunk_extra = f'srtp = "{"sdes" if srtp == "sdes" else "none"}"'
    text = STOX_CONFIG.format(
        domain=DOMAIN, component_port=COMPONENT_PORT, secret=SECRET, sip_port=GATEWAY_SIP_PORT,
        dir=workdir, variant="media", metrics=METRICS, listen_extra="", sip_extra="",
        trunk_name="baresip", trunk_uri=f"sip:127.0.0.1:{BARESIP_PORT}", trunk_extra=trunk_extra)
    # a browser needs more than the 3 s the signalling scenarios ring
    text = text.replace("ring_timeout_secs = 3", "ring_timeout_secs = 20")
    # Always written: the default mode is embedded, so passthrough must be asked for.
    text += (f'\n[media]\nmode = "{mode}"\nbind = "127.0.0.1"\npublic_ip = "127.0.0.1"\n'
             f'port_range = "{MEDIA_PORTS}"\n')
    if mode == "rtpengine":
        text += f'rtpengine = "{rtpengine}"\n'
    path = workdir / "stox-media.toml"
    path.write_text(text)
    return path


class Rtpengine:
    """A private rtpengine-daemon (userspace only) on its own ng port."""

    def __init__(self, workdir: Path):
        self.dir = workdir / "rtpengine"
        self.proc = None

    def start(self) -> str | None:
        from e2e import Proc
        exe = shutil.which("rtpengine")
        if not exe:
            return "rtpengine not installed (interop/media/setup.sh installs rtpengine-daemon)"
        if RTPENGINE_NG in bound_ports("udp"):
            return f"udp port {RTPENGINE_NG} (rtpengine ng) is already bound"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc = Proc("rtpengine", [
            exe, "--config-file=none", "--foreground", "--log-stderr", "--log-level=6",
            "--table=-1", "--interface=127.0.0.1", f"--listen-ng=127.0.0.1:{RTPENGINE_NG}",
            f"--port-min={RTPENGINE_PORTS[0]}", f"--port-max={RTPENGINE_PORTS[1]}",
            f"--pidfile={self.dir / 'rtpengine.pid'}"], self.dir / "rtpengine.log")
        if not wait_for(lambda: RTPENGINE_NG in bound_ports("udp") or self.proc.poll() is not None, 10) \
                or self.proc.poll() is not None:
            return f"rtpengine did not start:\n{tail(self.proc.text(), 20)}"
        say(f"{stamp()} rtpengine up: ng udp:127.0.0.1:{RTPENGINE_NG} ({self.dir})")
        return None

    def log_text(self) -> str:
        return self.proc.text() if self.proc else ""

    def stop(self) -> None:
        if self.proc:
            self.proc.stop()


# ----------------------------------------------------------------- the calls


def tone_check(checks: Checks, name: str, report: dict | tone.ToneReport, expect: int, seconds: float,
               extra: str = "") -> bool:
    """The expected tone dominated for MIN_TONE_SHARE of the call's measured time."""
    need = MIN_TONE_SHARE * seconds
    if isinstance(report, tone.ToneReport):
        ok = report.on_tone_seconds >= need and report.dominant_hz is not None \
            and abs(report.dominant_hz - expect) <= 20
        return checks.add(name, ok, report.summary(expect) + extra)
    on = report["onToneSeconds"]
    dom = report["dominantHz"]
    ok = on >= need and dom is not None and abs(dom - expect) <= 25
    return checks.add(name, ok, f"{on:.1f}/{seconds:.0f} s on {expect} Hz (need {need:.1f}), "
                                f"dominant {dom} Hz, mean share {report['meanShare']:.2f}, "
                                f"rms {report['meanRms']:.3f}{extra}")


def stats_line(st: dict | None) -> str:
    if not st:
        return "no stats"
    inb, outb, pair = st.get("inbound") or {}, st.get("outbound") or {}, st.get("selectedPair") or {}
    return (f"ICE {st.get('iceState') or st.get('iceConnectionState')}, DTLS {st.get('dtlsState')} "
            f"({st.get('srtpCipher')}); in {inb.get('packetsReceived')} pkts/{inb.get('bytesReceived')} B "
            f"{inb.get('codec')}, lost {inb.get('packetsLost')}; out {outb.get('packetsSent')} pkts "
            f"{outb.get('codec')}; pair {pair.get('local')} <-> {pair.get('remote')}")


def recording_check(checks: Checks, name: str, bs: Baresip, before: set[Path], expect: int,
                    seconds: float) -> None:
    new = sorted(bs.recordings() - before)
    if not new:
        checks.add(name, False, f"no new recording in {bs.dir}")
        return
    tone_check(checks, name, tone.analyse(new[-1], expect), expect, seconds, f" ({new[-1].name})")


# What baresip logs once its side of the media is encrypted, per account flavour.
SECURED_LOG = {"sdes": "SRTP is Enabled", "webrtc": "DTLS-SRTP complete"}


def secured_check(checks: Checks, name: str, bs: Baresip, since: int) -> None:
    """SDES / DTLS-SRTP toward baresip really was negotiated (not just offered) in
    this call: its log after offset `since` says so."""
    line = SECURED_LOG.get(bs.media)
    if line:
        ok = wait_for(lambda: line in bs.log_text()[since:], 5, step=0.2)
        checks.add(name, ok, f"baresip logged {line!r}" if ok else f"baresip never logged {line!r}")


def port_range_of(mode: str) -> tuple[int, int] | None:
    if mode == "embedded":
        lo, hi = MEDIA_PORTS.split("-")
        return int(lo), int(hi)
    return RTPENGINE_PORTS if mode == "rtpengine" else None


def path_check(checks: Checks, name: str, mode: str, bs: Baresip, since: int, stats: dict | None) -> None:
    """Where the media went: in passthrough baresip receives from the browser's own
    socket (the pair Chrome selected); with an anchor both ends talk to the
    anchor's ports and not to each other."""
    heard = re.findall(r"receiving from (\S+):(\d+)", bs.log_text()[since:])
    pair = (stats or {}).get("selectedPair") or {}
    local = (pair.get("local") or " ").split()[0]  # "ip:port"
    remote = (pair.get("remote") or " ").split()[0]
    if not heard:
        checks.add(name, False, "baresip logged no incoming RTP source")
        return
    src = f"{heard[-1][0]}:{heard[-1][1]}"
    span = port_range_of(mode)
    if span is None:
        ok = src == local
        checks.add(name, ok, f"direct: baresip receives from {src}, the browser's socket is {local}")
        return
    lo, hi = span
    b_port = int(remote.rsplit(":", 1)[1]) if ":" in remote else -1
    ok = lo <= int(heard[-1][1]) <= hi and lo <= b_port <= hi
    checks.add(name, ok, f"anchored ({lo}-{hi}): baresip receives from {src}, the browser's peer is {remote}")


# What baresip 1.0.0 logs (at -v) per telephone-event it decodes from RTP (audio.c),
# and per SIP INFO application/dtmf-relay it receives (call.c).
INBAND_DTMF_LOG = re.compile(r"received event: '(.)' \(end=(\d)\)")
INFO_DTMF_LOG = re.compile(r"call: received DTMF: '(.)'")


def dtmf_check(checks: Checks, browser: Browser, bs: Baresip, mark: int, log_mark: int,
               inband: bool) -> None:
    """Issue 7, XMPP -> SIP DTMF: the browser sends DTMF_DIGITS as XEP-0181
    session-infos (each must be answered with a result). With the embedded anchor
    (`inband`) stox injects them as RFC 4733 telephone-events into baresip's RTP (the
    trunk's dtmf = "auto", and baresip offers telephone-event); with rtpengine it
    sends SIP INFO application/dtmf-relay. baresip must report each digit exactly
    once, in order (ctrl_tcp CALL_DTMF_START; one per event, however many of the
    three end packets arrive), and only by the expected route."""
    try:
        sent = browser.rpc("dtmf", {"digits": DTMF_DIGITS, "duration": 150}, timeout=15)
    except BrowserError as e:
        checks.add("out: XEP-0181 DTMF acknowledged", False, str(e))
        return
    refused = [f"{r['code']}: {r['error']}" for r in sent if not r["ok"]]
    checks.add("out: XEP-0181 DTMF acknowledged", not refused and len(sent) == len(DTMF_DIGITS),
               f"{len(sent) - len(refused)}/{len(DTMF_DIGITS)} session-infos got a result"
               + (f"; errors {refused}" if refused else ""))

    def reported() -> str:
        return "".join(e.get("param", "?") for e in bs.events[mark:] if e.get("type") == "CALL_DTMF_START")

    wait_for(lambda: len(reported()) >= len(DTMF_DIGITS), 3, step=0.1)
    time.sleep(0.5)  # a duplicate would come within the end packets' 40 ms
    got = reported()
    log = bs.log_text()[log_mark:]
    # one start and one end per digit: the update packets and the three copies of the
    # end packet are one key press to baresip (libre's telev de-duplicates them)
    events = INBAND_DTMF_LOG.findall(log)
    starts = "".join(k for k, end in events if end == "0")
    ends = "".join(k for k, end in events if end == "1")
    info = "".join(INFO_DTMF_LOG.findall(log))
    if inband:
        ok = got == DTMF_DIGITS and starts == DTMF_DIGITS and ends == DTMF_DIGITS and not info
    else:
        ok = got == DTMF_DIGITS and info == DTMF_DIGITS and not events
    checks.add(f"out: baresip receives the digits {DTMF_DIGITS}", ok,
               f"CALL_DTMF_START {got!r}; in RTP (RFC 4733): starts {starts!r}, ends {ends!r}; "
               f"by SIP INFO {info!r} (expected {'RTP' if inband else 'INFO'})")


def hold_resume_check(checks: Checks, prefix: str, browser: Browser, bs: Baresip, seconds: float) -> None:
    """--hold: baresip holds (re-INVITE, a=sendonly) and resumes (a=sendrecv). Each
    re-INVITE's SDP goes to the anchor in dialog (rtpengine: an ng offer/answer
    pair); the browser's ICE and DTLS must carry on and it must hear baresip again."""
    replies = []
    for cmd in ("hold", "resume"):
        try:
            replies.append(f"{cmd}: {'ok' if bs.command(cmd).get('ok') else 'refused'}")
        except Exception as e:  # noqa: BLE001 - reported as the check's detail
            replies.append(f"{cmd}: {e}")
        time.sleep(1.5)
    try:
        m = browser.rpc("measure", {"expect": BARESIP_TONE, "seconds": seconds}, timeout=seconds + 20)
        tone_check(checks, f"{prefix}: browser hears baresip after hold/resume ({', '.join(replies)})",
                   m, BARESIP_TONE, seconds)
        say(f"      {stats_line(m['stats'])}")
    except BrowserError as e:
        checks.add(f"{prefix}: browser hears baresip after hold/resume", False, str(e))


def run_out(checks: Checks, browser: Browser, bs: Baresip, seconds: float, mode: str,
            hold: bool = False) -> None:
    """The browser calls the trunk's number; baresip answers; the browser hangs up."""
    mark, recs, log_mark = len(bs.events), bs.recordings(), len(bs.log_text())
    target = f"{OUT_NUMBER}@{DOMAIN}/stox"
    try:
        browser.rpc("call", target, {"tone": BROWSER_TONE}, timeout=15)
        acc = browser.rpc("waitAccepted", 20000, timeout=25)
    except BrowserError as e:
        checks.add("out: call answered", False, str(e))
        return
    est = bs.wait_event({"CALL_ESTABLISHED"}, 5, mark)
    if not checks.add("out: call answered", bool(acc["accepted"]) and est is not None,
                      f"session-accept {'yes' if acc['accepted'] else 'no (' + str(acc['terminated']) + ')'}; "
                      f"baresip {'established' if est else 'not established'}"):
        return
    secured_check(checks, f"out: baresip's media is {bs.media}", bs, log_mark)
    try:
        m = browser.rpc("measure", {"expect": BARESIP_TONE, "seconds": seconds}, timeout=seconds + 20)
        tone_check(checks, f"out: browser hears baresip's {BARESIP_TONE} Hz", m, BARESIP_TONE, seconds)
        say(f"      {stats_line(m['stats'])}")
        path_check(checks, "out: media path", mode, bs, log_mark, m["stats"])
    except BrowserError as e:
        checks.add(f"out: browser hears baresip's {BARESIP_TONE} Hz", False, str(e))
    if mode != "passthrough":
        # the embedded anchor injects RFC 4733 events; with rtpengine stox sends INFO
        dtmf_check(checks, browser, bs, mark, log_mark, inband=mode == "embedded")
    if hold:
        hold_resume_check(checks, "out", browser, bs, seconds)
    try:
        h = browser.rpc("hangup", 10000, timeout=15)
        closed = bs.wait_event({"CALL_CLOSED"}, 5, mark)
        checks.add("out: hang-up from XMPP", h["acked"] and closed is not None,
                   f"session-terminate {'acked' if h['acked'] else 'refused: ' + str(h['outcome'])}; "
                   f"baresip {'got BYE (' + closed.get('param', '') + ')' if closed else 'call not closed in 5 s'}")
    except BrowserError as e:
        checks.add("out: hang-up from XMPP", False, str(e))
    time.sleep(0.5)  # sndfile closes the WAV when the call is torn down
    recording_check(checks, f"out: baresip records the browser's {BROWSER_TONE} Hz", bs, recs,
                    BROWSER_TONE, seconds)


def run_in(checks: Checks, browser: Browser, bs: Baresip, seconds: float, mode: str,
           hold: bool = False) -> None:
    """baresip calls bob's DID; the browser accepts; baresip hangs up."""
    mark, recs, log_mark = len(bs.events), bs.recordings(), len(bs.log_text())
    pending = browser.start("answer", {"tone": BROWSER_TONE, "timeoutMs": 20000})
    r = bs.dial(f"sip:{IN_DID}@127.0.0.1:{GATEWAY_SIP_PORT}")
    if not r.get("ok"):
        checks.add("in: call answered", False, f"baresip refused to dial: {r}")
        return
    try:
        ans = browser.wait(pending, 25)
    except BrowserError as e:
        checks.add("in: call answered", False, str(e))
        return
    est = bs.wait_event({"CALL_ESTABLISHED"}, 10, mark)
    info = browser.rpc("info", timeout=5)
    how = "JMI propose + proceed" if info["proposes"] else "direct session-initiate (caps without JMI)"
    if not checks.add("in: call answered", est is not None,
                      f"browser accepted {ans['from']} via {how}; baresip "
                      f"{'established' if est else 'not established in 10 s'}"):
        return
    secured_check(checks, f"in: baresip's media is {bs.media}", bs, log_mark)
    try:
        m = browser.rpc("measure", {"expect": BARESIP_TONE, "seconds": seconds}, timeout=seconds + 20)
        tone_check(checks, f"in: browser hears baresip's {BARESIP_TONE} Hz", m, BARESIP_TONE, seconds)
        say(f"      {stats_line(m['stats'])}")
        path_check(checks, "in: media path", mode, bs, log_mark, m["stats"])
    except BrowserError as e:
        checks.add(f"in: browser hears baresip's {BARESIP_TONE} Hz", False, str(e))
    if hold:
        hold_resume_check(checks, "in", browser, bs, seconds)
    bs.hangup()
    closed = bs.wait_event({"CALL_CLOSED"}, 5, mark)
    try:
        t = browser.rpc("waitTerminated", 10000, timeout=15)
        reason = t["reason"]
    except BrowserError as e:
        reason = f"none ({e})"
    checks.add("in: hang-up from SIP", closed is not None and reason == "success",
               f"baresip {'closed' if closed else 'not closed'}; browser got session-terminate {reason}")
    time.sleep(0.5)
    recording_check(checks, f"in: baresip records the browser's {BROWSER_TONE} Hz", bs, recs,
                    BROWSER_TONE, seconds)


# ----------------------------------------------------------------- running


def login(browser: Browser, user: str, ipv4_only: bool = False, tell_gateway: bool = True) -> None:
    browser.wait_ready()
    browser.rpc("login", {"ws": f"ws://127.0.0.1:{WS_PORT}/xmpp-websocket", "jid": user,
                          "password": user.split("@")[0], "resource": "browser", "gateway": DOMAIN,
                          "ipv4Only": ipv4_only, "tellGateway": tell_gateway}, timeout=20)


def login_for_calls(browser: Browser, ipv4_only: bool, ring: str) -> None:
    """Logs the browser user in; with ring=direct waits until the gateway has asked
    its caps (then it rings with session-initiate), with ring=jmi tells it nothing."""
    login(browser, BROWSER_JID, ipv4_only, tell_gateway=ring == "direct")
    if ring == "direct":
        wait_for(lambda: browser.rpc("info", timeout=5)["discoFrom"], 5, step=0.3)


def dump(title: str, text: str, n: int = 80) -> None:
    say(f"  {title}:")
    say(indent(tail(text, n), "    | "))


class Rig:
    """Everything one run starts, so that it is all reported and stopped whatever happens."""

    def __init__(self, args, binary: Path, workdir: Path, bs_media: str):
        self.workdir = workdir
        self.prosody = Prosody(workdir)
        self.stox = Stox(binary, workdir, self.prosody)
        self.rtpengine = Rtpengine(workdir) if args.mode == "rtpengine" else None
        self.bs = Baresip(workdir, "baresip", BARESIP_PORT, BARESIP_CTRL, OUT_NUMBER, BARESIP_TONE, bs_media)
        self.web: WebServer | None = None
        self.browser: Browser | None = None

    def start(self, args) -> str | None:
        """None when Prosody (with WebSocket), baresip, stox (and rtpengine) are up."""
        os.environ["PROSODY_HTTP_PORT"] = str(WS_PORT)
        self.prosody.start()
        if not wait_for(lambda: port_open(WS_PORT), 10):
            return f"Prosody: nothing listens on {WS_PORT} (WebSocket)"
        self.web = WebServer(WEB_PORT)
        why = self.rtpengine.start() if self.rtpengine else None
        why = why or self.bs.start()
        return why or self.stox.start("media", stox_config(self.workdir, args.mode, args.srtp,
                                                           f"udp:127.0.0.1:{RTPENGINE_NG}"))

    def new_browser(self, label: str, ipv4_only: bool, ring: str) -> Browser:
        if self.browser:
            self.browser.stop()
        self.browser = Browser(label, self.web.url, self.workdir, loopback=not ipv4_only)
        login_for_calls(self.browser, ipv4_only, ring)
        return self.browser

    def report(self) -> None:
        if self.browser:
            dump("browser ladder", self.browser.ladder(), 120)
            try:
                sdp = self.browser.rpc("sdp", timeout=5) or {}
                dump("browser local SDP", sdp.get("local") or "", 60)
                dump("browser remote SDP", sdp.get("remote") or "", 60)
                dump("browser Jingle stanzas", "\n".join(self.browser.rpc("raw", timeout=5)), 40)
            except BrowserError:
                pass
        dump("baresip events", self.bs.ladder())
        dump("baresip log", self.bs.log_text(), 60)
        if self.stox.proc:
            dump("stox log", self.stox.log_since(0), 120)
        if self.rtpengine:
            dump("rtpengine log", self.rtpengine.log_text(), 40)
        dump("prosody log", self.prosody.log_text(), 30)

    def stop(self) -> None:
        for piece in (self.browser, self.bs, self.stox, self.rtpengine, self.web, self.prosody):
            if piece:
                piece.stop()


def run(args) -> int:
    binary = Path(args.stox or os.environ.get("STOX_BIN") or ROOT / "target" / "release" / "stox")
    if not os.access(binary, os.X_OK):
        say(f"media: stox binary not found at {binary} (set STOX_BIN or cargo build --release)")
        return 2
    busy = [p for p in (GATEWAY_SIP_PORT, BARESIP_PORT, BARESIP_PORT + 1, BARESIP_CTRL, WS_PORT, WEB_PORT)
            if p in bound_ports("udp") or p in bound_ports("tcp")]
    if busy:
        say(f"media: ports {busy} are already bound by something else")
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="stox-media-"))
    bs_media = "webrtc" if args.mode == "passthrough" else ("sdes" if args.srtp == "sdes" else "rtp")
    say(f"{stamp()} media: mode {args.mode}, baresip media {bs_media}, direction {args.direction} "
        f"(ringing {args.ring}), {args.seconds:.0f} s of audio; stox {binary}; work dir {workdir}")
    t_start = time.monotonic()
    checks = Checks()
    rig = Rig(args, binary, workdir, bs_media)
    # In passthrough baresip's ICE meets Chrome's directly. baresip 1.0.0 is IPv4-only
    # here and keeps the pair of the SDP's default address rather than Chrome's
    # nominated one, so the page shows it one IPv4 path: no IPv6 candidates either
    # way (call.js) and no loopback candidates (drive.js --no-loopback).
    ipv4_only = args.mode == "passthrough"
    started = False
    try:
        why = rig.start(args)
        if why:
            checks.add("rig: start-up", False, why)
        else:
            started = True
            browser = rig.new_browser("bob", ipv4_only, args.ring)
            say(f"{stamp()} browser up: {BROWSER_JID}/browser over ws://127.0.0.1:{WS_PORT}, "
                f"caps queried by {browser.rpc('info', timeout=5)['discoFrom'] or 'nobody'}")
            if args.direction in ("out", "both"):
                run_out(checks, browser, rig.bs, args.seconds, args.mode, args.hold)
            if args.direction in ("in", "both"):
                if args.direction == "both":  # a fresh page (and peer connection) for the second call
                    browser = rig.new_browser("bob-in", ipv4_only, args.ring)
                run_in(checks, browser, rig.bs, args.seconds, args.mode, args.hold)
            checks.add("rig: stox still running", rig.stox.alive(), "")
    except BrowserError as e:
        checks.add("rig: browser", False, str(e))
    finally:
        if checks.failed or args.verbose:
            rig.report()
        rig.stop()
    failed = checks.failed
    verdict = "PASS" if not failed and checks.results else "FAIL"
    say(f"{verdict}  media {args.mode}/{args.srtp}/{args.direction}: "
        f"{len(checks.results) - failed}/{len(checks.results)} checks ({time.monotonic() - t_start:.0f} s)")
    if failed or args.keep:
        say(f"{stamp()} logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    if not started:
        return 2
    return 1 if failed or not checks.results else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["passthrough", "embedded", "rtpengine"], default="passthrough")
    ap.add_argument("--srtp", choices=["none", "sdes"], default="none",
                    help="what the anchor speaks toward baresip (not with passthrough)")
    ap.add_argument("--direction", choices=["out", "in", "both"], default="both")
    ap.add_argument("--ring", choices=["direct", "jmi"], default="direct",
                    help="how the gateway rings the browser on `in`: direct (the page's caps, sent "
                         "to the gateway, show Jingle without JMI) or jmi (the gateway knows nothing "
                         "of the device and proposes; call.js answers with <proceed/>)")
    ap.add_argument("--seconds", type=float, default=5.0, help="audio analysed per call")
    ap.add_argument("--hold", action="store_true",
                    help="after the first measurement baresip holds and resumes (two re-INVITEs); "
                         "the browser must hear it again")
    ap.add_argument("--stox", help="the binary (default STOX_BIN or target/release/stox)")
    ap.add_argument("--selftest", action="store_true",
                    help="the pieces without stox: browser <-> browser, baresip <-> baresip")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    ap.add_argument("-v", "--verbose", action="store_true", help="print ladders and logs on success too")
    args = ap.parse_args()
    if args.mode == "passthrough" and args.srtp != "none":
        ap.error("--srtp sdes needs an anchor (--mode embedded|rtpengine): in passthrough the "
                 "browser's DTLS-SRTP goes to baresip unchanged")
    ensure_tools()
    if args.selftest:
        from media_selftest import selftest
        return selftest(args)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
