"""baresip 1.0.0 (Debian) as the SIP phone/PBX of interop/media.py.

One instance = one config directory rendered from interop/media/baresip/config.in:
SIP on 127.0.0.1:PORT (baresip also binds PORT+1 for TLS, so instances need
ports at least 2 apart), RTP on loopback only, auto-answer, audio source a
sox-made sine WAV (aufile), everything received dumped to WAV by the sndfile
filter (`dump-<time>-dec.wav` in the directory), and the ctrl_tcp interface:
netstring-framed JSON commands ({"command": "dial", "params": URI}) and events
({"event": true, "type": "CALL_ESTABLISHED", ...}) on 127.0.0.1:CTRL_PORT.
"""

from __future__ import annotations

import json
import queue
import re
import socket
import subprocess
import threading
import time
from pathlib import Path

import sys

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from e2e import Proc, bound_ports, wait_for  # noqa: E402

TEMPLATE = Path(__file__).resolve().parent / "baresip" / "config.in"

# What each SIP-side media flavour means in the account line (baresip 1.0.0 params).
ACCOUNT_MEDIA = {
    # plain RTP/AVP, as a PBX behind the gateway's anchor sees it
    "rtp": "",
    # SDES: RTP/SAVP with a=crypto, mandatory (a call without SRTP fails)
    "sdes": ";mediaenc=srtp-mand",
    # WebRTC-style, for the passthrough mode: ICE + DTLS-SRTP (Chrome's offer as is)
    "webrtc": ";medianat=ice;mediaenc=dtls_srtp",
}


class Baresip:
    def __init__(self, workdir: Path, name: str, sip_port: int, ctrl_port: int, user: str,
                 tone_hz: int, media: str = "rtp"):
        self.dir = workdir / name
        self.name = name
        self.sip_port = sip_port
        self.ctrl_port = ctrl_port
        self.user = user
        self.tone_hz = tone_hz
        self.media = media
        self.proc: Proc | None = None
        self.sock: socket.socket | None = None
        self.events: list[dict] = []  # every event, time-stamped (monotonic)
        self.replies: "queue.Queue[dict]" = queue.Queue()
        self._token = 0

    # ------------------------------------------------------------ set-up

    def render(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tone = self.dir / f"tone-{self.tone_hz}.wav"
        # 8 kHz mono 16-bit, 120 s: longer than any call (aufile stops at the end).
        subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(tone),
                        "synth", "120", "sine", str(self.tone_hz), "vol", "0.5"], check=True)
        (self.dir / "config").write_text(TEMPLATE.read_text()
                                         .replace("@SIP_PORT@", str(self.sip_port))
                                         .replace("@CTRL_PORT@", str(self.ctrl_port))
                                         .replace("@TONE@", str(tone))
                                         .replace("@DIR@", str(self.dir))
                                         .replace("@RTCP_MUX@", "yes" if self.media == "webrtc" else "no"))
        # regint=0: no registration; answermode=auto: answer every call at once.
        (self.dir / "accounts").write_text(
            f"<sip:{self.user}@127.0.0.1:{self.sip_port}>;regint=0;answermode=auto;"
            f"audio_codecs=PCMU,PCMA{ACCOUNT_MEDIA[self.media]}\n")

    def start(self) -> str | None:
        """None when up (SIP bound, ctrl_tcp connected), else why not."""
        self.render()
        self.proc = Proc(self.name, ["baresip", "-f", str(self.dir), "-v"], self.dir / "baresip.log",
                         cwd=self.dir)
        ok = wait_for(lambda: self.proc.poll() is not None
                      or (self.sip_port in bound_ports("udp") and self.ctrl_port in bound_ports("tcp")), 10)
        if not ok or self.proc.poll() is not None:
            return f"{self.name} did not start (exit {self.proc.poll()})"
        self.sock = socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=5)
        self.sock.settimeout(None)
        threading.Thread(target=self._read, daemon=True).start()
        return None

    # ------------------------------------------------------------ ctrl_tcp

    def _read(self) -> None:
        buf = b""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while b":" in buf:  # netstring: LEN ":" JSON ","
                head, rest = buf.split(b":", 1)
                n = int(head)
                if len(rest) < n + 1:
                    break
                msg = json.loads(rest[:n])
                buf = rest[n + 1:]
                if msg.get("event"):
                    msg["at"] = time.monotonic()
                    self.events.append(msg)
                elif msg.get("response"):
                    self.replies.put(msg)

    def command(self, command: str, params: str = "", timeout: float = 5) -> dict:
        self._token += 1
        body = json.dumps({"command": command, "params": params, "token": str(self._token)}).encode()
        self.sock.sendall(str(len(body)).encode() + b":" + body + b",")
        return self.replies.get(timeout=timeout)

    def dial(self, uri: str) -> dict:
        return self.command("dial", uri)

    def hangup(self) -> dict:
        return self.command("hangup")

    def wait_event(self, kinds: set[str], timeout: float, since: int = 0) -> dict | None:
        """The first event of one of `kinds` at index >= since, waiting up to `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in self.events[since:]:
                if e.get("type") in kinds:
                    return e
            time.sleep(0.05)
        return None

    def ladder(self) -> str:
        t0 = self.events[0]["at"] if self.events else 0
        return "\n".join(f"{e['at'] - t0:7.3f}  {e.get('type')}  {e.get('param', '')}".rstrip()
                         for e in self.events)

    # ------------------------------------------------------------ results

    def recordings(self) -> set[Path]:
        return set(self.dir.glob("dump-*-dec.wav"))

    def log_text(self) -> str:
        # without the "[0:00:04] audio=64000/64000 (bit/s)" status line -v redraws every 100 ms
        text = self.proc.text() if self.proc else ""
        return re.sub(r"(\[\d+:\d\d:\d\d\] audio=\d+/\d+ \(bit/s\)\s*)+", "", text)

    def stop(self) -> None:
        if self.sock:
            try:
                self.sock.close()
            except OSError:
                pass
        if self.proc:
            self.proc.stop()
