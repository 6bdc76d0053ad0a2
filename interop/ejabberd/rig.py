"""A private ejabberd for the stox cluster tests (stdlib only).

    from ejabberd.rig import Ejabberd          # with interop/ on sys.path
    ej = Ejabberd(workdir)                      # domain_balancing: none (see README.md)
    ej.start()                                   # dies (exit 2) when it cannot start
    ...                                          # c2s 127.0.0.1:16222, component 127.0.0.1:16347
    ej.component_auths()                         # handshakes accepted so far (any domain)
    ej.stop()

Like e2e.py's Prosody class: the node runs in the foreground under e2e.Proc
(its own process group, SIGTERM then SIGKILL on stop), rendered by run.sh into
WORKDIR/ejabberd (config, Mnesia spool, logs/ejabberd.log). Users alice, bob
and carol (password = name) exist on host `test` once start() returns.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
INTEROP = HERE.parent
if str(INTEROP) not in sys.path:
    sys.path.insert(0, str(INTEROP))

import e2e  # noqa: E402  (Proc, port_open, wait_for, tail, say, stamp, die)

RUN_SH = HERE / "run.sh"
C2S_PORT = 16222
COMPONENT_PORT = 16347
DIST_PORT = 16369
DOMAIN = "sip.test"
SECRET = "s3cret"
BALANCING_TYPES = ("none", "random", "source", "destination", "bare_source", "bare_destination")

# ejabberd_service:handle_auth_success/4 logs this (info) for every accepted handshake:
#   "(tcp|<0.611.0>) Accepted external component handshake authentication for sip.test from 127.0.0.1"
AUTH_LINE = "Accepted external component handshake authentication for"


class Ejabberd:
    def __init__(self, workdir: Path, balancing: str = "none",
                 component_number: int | None = None, loglevel: str = "info",
                 c2s_port: int = C2S_PORT, component_port: int = COMPONENT_PORT,
                 dist_port: int = DIST_PORT, domain: str = DOMAIN, secret: str = SECRET):
        if balancing not in BALANCING_TYPES:
            raise ValueError(f"balancing must be one of {BALANCING_TYPES}")
        self.dir = Path(workdir) / "ejabberd"
        self.balancing = balancing
        self.component_number = component_number
        self.c2s_port = c2s_port
        self.component_port = component_port
        self.dist_port = dist_port
        self.domain = domain
        self.secret = secret
        self.env = dict(os.environ)
        self.env.update({
            "EJABBERD_BALANCING": balancing,
            "EJABBERD_LOGLEVEL": loglevel,
            "EJABBERD_C2S_PORT": str(c2s_port),
            "EJABBERD_COMPONENT_PORT": str(component_port),
            "EJABBERD_DIST_PORT": str(dist_port),
            "EJABBERD_DOMAIN": domain,
            "EJABBERD_SECRET": secret,
        })
        if component_number is not None:
            self.env["EJABBERD_COMPONENT_NUMBER"] = str(component_number)
        else:
            self.env.pop("EJABBERD_COMPONENT_NUMBER", None)
        self.proc: e2e.Proc | None = None

    # -- life cycle

    def start(self) -> None:
        busy = [p for p in (self.c2s_port, self.component_port, self.dist_port) if e2e.port_open(p)]
        if busy:
            e2e.die(f"ports {busy} are already in use (another ejabberd or cluster run?)")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc = e2e.Proc("ejabberd", [str(RUN_SH), str(self.dir), "foreground"],
                             self.dir / "ejabberd.out", env=self.env)
        atexit.register(self.stop)

        def up() -> bool:
            return e2e.port_open(self.c2s_port) and e2e.port_open(self.component_port)

        if not e2e.wait_for(lambda: up() or self.proc.poll() is not None
                            or "Failed to start ejabberd" in self.log_text(), 30):
            self.fail("did not open its ports in 30 s")
        if self.proc.poll() is not None or not up():
            self.fail(f"did not start (exit {self.proc.poll()})")
        r = self.ctl("users")
        if r.returncode != 0:
            self.fail(f"could not register users:\n{r.stdout}{r.stderr}")
        bal = self.balancing + (f", component_number {self.component_number}"
                                if self.component_number else "")
        e2e.say(f"{e2e.stamp()} ejabberd up: c2s 127.0.0.1:{self.c2s_port}, component "
                f"{self.domain} on 127.0.0.1:{self.component_port}, domain_balancing {bal} ({self.dir})")

    def ctl(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
        """run.sh DIR ARGS… (e.g. ctl("ctl", "connected_users"))."""
        return subprocess.run([str(RUN_SH), str(self.dir), *args], env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def fail(self, why: str) -> None:
        out = self.proc.text() if self.proc else ""
        self.stop()
        e2e.die(f"ejabberd {why}\n{e2e.tail(out, 30)}\n{e2e.tail(self.log_text(), 30)}")

    def stop(self) -> None:
        """SIGTERM to the node's process group (erl stops cleanly), SIGKILL after 10 s; returns
        once its ports are closed, so that the next start finds them free."""
        if not self.proc:
            return
        pgid = self.proc.p.pid
        self.proc.stop(grace=10)  # waits for ejabberdctl (the group leader) only
        ports = (self.c2s_port, self.component_port, self.dist_port)
        if not e2e.wait_for(lambda: not any(e2e.port_open(p) for p in ports), 10):
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            e2e.wait_for(lambda: not any(e2e.port_open(p) for p in ports), 5)
        self.proc = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- observation

    def log_path(self) -> Path:
        return self.dir / "logs" / "ejabberd.log"

    def log_text(self) -> str:
        try:
            return self.log_path().read_text(errors="replace")
        except OSError:
            return ""

    def component_auths(self) -> int:
        """Accepted XEP-0114 handshakes so far (each stox instance's connection counts once)."""
        return self.log_text().count(AUTH_LINE)
