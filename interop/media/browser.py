"""The browser of interop/media.py: web/drive.js (playwright-core + Debian's Chromium)
as a child process, spoken to one JSON line at a time, and the tiny HTTP server
the page is loaded from (http://127.0.0.1:PORT/call.html: a real origin, from
which the page's WebSocket to Prosody is an ordinary cross-origin connection).
"""

from __future__ import annotations

import functools
import http.server
import itertools
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

WEB = Path(__file__).resolve().parent / "web"


class WebServer:
    """Serves interop/media/web on 127.0.0.1:port from a thread."""

    def __init__(self, port: int):
        handler = functools.partial(_QuietHandler, directory=str(WEB))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.url = f"http://127.0.0.1:{port}/call.html"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


class BrowserError(Exception):
    pass


class Browser:
    """One Chromium with one page (one XMPP user). rpc(op, *args) runs window.media[op](...args)."""

    def __init__(self, label: str, url: str, workdir: Path, loopback: bool = True):
        self.label = label
        self.log_path = workdir / f"browser-{label}.log"
        self.log = open(self.log_path, "w")
        self.profile = workdir / f"chromium-{label}"
        self.p = subprocess.Popen(
            ["node", str(WEB / "drive.js"), "--url", url, "--profile", str(self.profile)]
            + ([] if loopback else ["--no-loopback"]),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True, bufsize=1,
            cwd=WEB, start_new_session=True)
        self.ids = itertools.count(1)
        self.results: dict[int, dict] = {}
        self.console: list[str] = []
        self.ready: dict | None = None
        self.fatal: str | None = None
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.p.stdout:
            self.log.write(line)
            self.log.flush()
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            with self.cond:
                if "console" in msg:
                    self.console.append(msg["console"])
                elif msg.get("ready"):
                    self.ready = msg
                elif "fatal" in msg:
                    self.fatal = msg["fatal"]
                elif "id" in msg:
                    self.results[msg["id"]] = msg
                self.cond.notify_all()
        with self.cond:
            self.fatal = self.fatal or f"drive.js exited ({self.p.poll()})"
            self.cond.notify_all()

    def wait_ready(self, timeout: float = 30) -> None:
        with self.cond:
            self.cond.wait_for(lambda: self.ready or self.fatal, timeout)
            if not self.ready:
                raise BrowserError(f"{self.label}: page did not load: {self.fatal or 'timeout'}")

    def start(self, op: str, *args) -> int:
        """Starts window.media[op](...args); returns the id to wait() on."""
        i = next(self.ids)
        self.p.stdin.write(json.dumps({"id": i, "op": op, "args": list(args)}) + "\n")
        self.p.stdin.flush()
        return i

    def wait(self, i: int, timeout: float):
        with self.cond:
            self.cond.wait_for(lambda: i in self.results or self.fatal, timeout)
            msg = self.results.get(i)
        if msg is None:
            raise BrowserError(f"{self.label}: no answer in {timeout:.0f} s ({self.fatal or 'timeout'})")
        if not msg["ok"]:
            raise BrowserError(f"{self.label}: {msg['error']}")
        return msg["result"]

    def rpc(self, op: str, *args, timeout: float = 30):
        return self.wait(self.start(op, *args), timeout)

    def ladder(self) -> str:
        """The page's own event log (window.media.events()), or what we have if it is gone."""
        try:
            evs = self.rpc("events", timeout=5)
            return "\n".join(f"{e['t'] / 1000:7.3f}  {e['kind']}  "
                             + json.dumps({k: v for k, v in e.items() if k not in ('t', 'kind')})
                             for e in evs)
        except BrowserError:
            return "\n".join(self.console[-80:])

    def stop(self) -> None:
        if self.p.poll() is None:
            try:
                self.p.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.p.stdin.flush()
                self.p.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                # node and the Chromium it started share the session we gave node
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()
        self.log.close()


def wait_all(pairs, timeout: float) -> list:
    """Waits for several (browser, id) pairs within one deadline."""
    deadline = time.monotonic() + timeout
    return [b.wait(i, max(0.1, deadline - time.monotonic())) for b, i in pairs]
