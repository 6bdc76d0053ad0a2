#!/usr/bin/env python3
"""Two stox instances on one Postgres behind ejabberd: a call survives its instance (issue 5).

    interop/cluster.py                  # every scenario
    interop/cluster.py --only in-adopt-hangup-sip --keep
    interop/cluster.py --list

Starts a private ejabberd (interop/ejabberd, no domain_balancing: see
interop/ejabberd/README.md), creates a fresh Postgres database
(postgres://postgres@127.0.0.1:5432/stox_cluster_<rand>, local trust auth;
dropped at the end), and per scenario:

  1. gw1 alone (instance "gw1", SIP 127.0.0.1:17060) connects to ejabberd as
     sip.test; the call is set up through it (sipp <-> gw1 <-> an XMPP peer);
  2. once the call is answered and ACKed, gw2 (instance "gw2", SIP
     127.0.0.1:17160, same domain and secret) connects too;
  3. gw1 is killed with SIGKILL;
  4. gw2 must adopt the call: its re-INVITE with its own Contact reaches sipp
     within lease_secs (5) + a margin, sipp answers it, and the call is then
     hung up normally (from SIP or from XMPP) through gw2.

Prints PASS/FAIL per scenario with the re-INVITE's delay after the kill; on a
failure the peers' ladders, sipp's errors and both stox logs' tails. Exits 1
on any failure, 2 when the rig cannot start. Only the standard library; the
XMPP peers are interop/peer/xmpp_peer.py in interop/.venv.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import re
import secrets
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
ADOPT_MARGIN = 5.0  # seconds beyond lease_secs the re-INVITE may take (lease check period, start-up)
PG = os.environ.get("STOX_PG", "postgres://postgres@127.0.0.1:5432")

GW = {"gw1": {"sip": 17060, "metrics": "127.0.0.1:19191"},
      "gw2": {"sip": 17160, "metrics": "127.0.0.1:19192"}}
TRUNK_PORT = 17080
UAC_PORT = 17070
SCENARIO_LIMIT = 90.0

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
uri = "sip:127.0.0.1:{trunk_port}"

[[number]]
did = "+15550001000"
jid = "bob@test"

[policy]
allow_outbound = ["alice@test", "bob@test"]

[calls]
ring_timeout_secs = 10

[metrics]
listen = "{metrics}"
"""


# ----------------------------------------------------------------- Postgres


class Database:
    def __init__(self):
        self.name = f"stox_cluster_{secrets.token_hex(4)}"
        self.url = f"{PG}/{self.name}"

    def psql(self, sql: str) -> subprocess.CompletedProcess:
        return subprocess.run(["psql", f"{PG}/postgres", "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
                              capture_output=True, text=True, timeout=30)

    def create(self) -> None:
        r = self.psql(f"CREATE DATABASE {self.name}")
        if r.returncode != 0:
            die(f"cannot create the database at {PG}: {r.stderr.strip()}")
        say(f"{stamp()} postgres: {self.url}")

    def drop(self) -> None:
        self.psql(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


# ----------------------------------------------------------------- gateways


class Gateway:
    def __init__(self, name: str, binary: Path, workdir: Path, ej: rig.Ejabberd, db: Database):
        self.name = name
        self.binary = binary
        self.workdir = workdir
        self.ej = ej
        self.db = db
        self.port = GW[name]["sip"]
        self.proc: Proc | None = None
        self.starts = 0

    def start(self) -> str | None:
        cfg = self.workdir / f"{self.name}.toml"
        cfg.write_text(STOX_CONFIG.format(
            domain=DOMAIN, component_port=self.ej.component_port, secret=SECRET, sip_port=self.port,
            db_url=self.db.url, instance=self.name, lease=LEASE_SECS, trunk_port=TRUNK_PORT,
            metrics=GW[self.name]["metrics"]))
        self.starts += 1
        log = self.workdir / f"{self.name}-{self.starts}.log"
        env = dict(os.environ)
        env.setdefault("RUST_LOG", "debug")
        auths = self.ej.component_auths()
        self.proc = Proc(self.name, [str(self.binary), "run", "--config", str(cfg)], log, env=env)

        def ready() -> bool:
            return (self.ej.component_auths() > auths and self.port in bound_ports("udp")
                    and self.port in bound_ports("tcp"))

        ok = wait_for(lambda: ready() or self.proc.poll() is not None, 20)
        if self.proc.poll() is not None:
            return f"{self.name} exited with {self.proc.poll()} during start-up:\n{tail(self.proc.text(), 20)}"
        if not ok:
            return f"{self.name} not ready after 20 s (component auth / SIP port {self.port})"
        say(f"{stamp()} {self.name} up: component {DOMAIN} on ejabberd, SIP 127.0.0.1:{self.port}; log {log}")
        return None

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
            self.proc = None

    def log_tail(self, n: int = 40) -> str:
        return tail(self.proc.text(), n) if self.proc else ""


# ----------------------------------------------------------------- scenarios


@dataclasses.dataclass
class Scenario:
    name: str
    asserts: str
    sipp: str  # file in interop/ejabberd/sipp
    role: str  # uas | uac
    peer_jid: str
    peer_args: list[str]


HANGUP_AFTER = "18"  # s after the answer: well after gw2's adoption (lease 5 s + start of gw2)


def scenarios() -> list[Scenario]:
    return [
        Scenario("in-adopt-hangup-sip",
                 "sipp calls +15550001000 through gw1, bob answers; gw2 joins, gw1 is killed; gw2's "
                 "re-INVITE (Contact 127.0.0.1:17160) reaches sipp within lease_secs + margin and is "
                 "answered; sipp's BYE to gw2 ends bob's session with <success/>",
                 "uac_adopt_bye.xml", "uac", "bob@test/phone",
                 ["answer", "--mode", "accept", "--delay", "0.5", "--expect-terminate", "success"]),
        Scenario("in-adopt-hangup-xmpp",
                 "as in-adopt-hangup-sip, but bob hangs up 18 s after answering (after the adoption): "
                 "his session-terminate reaches gw2 (ejabberd routes everything to the survivor), "
                 "which sends BYE to sipp",
                 "uac_adopt_wait_bye.xml", "uac", "bob@test/phone",
                 ["answer", "--mode", "accept", "--delay", "0.5", "--hangup-after", HANGUP_AFTER]),
        Scenario("out-adopt-hangup-xmpp",
                 "alice calls +15551230001 through gw1 (gw2 not yet connected), the trunk answers; gw2 "
                 "joins, gw1 is killed; gw2's re-INVITE reaches the trunk and is answered; alice hangs "
                 "up 18 s after the answer and the trunk gets gw2's BYE",
                 "uas_adopt.xml", "uas", "alice@test/phone",
                 ["call", f"+15551230001@{DOMAIN}", "--mode", "jmi", "--hangup-after", HANGUP_AFTER,
                  "--expect-answered"]),
    ]


def render_sipp(name: str, sdir: Path) -> Path:
    text = (SIPP_DIR / name).read_text()
    text = (text.replace("@GW2_HOST@", "127.0.0.1").replace("@GW2_PORT@", str(GW["gw2"]["sip"]))
            .replace("@ADOPT_MS@", "40000").replace("@BYE_MS@", "40000"))
    out = sdir / name
    out.write_text(text)
    return out


def sipp_argv(sc: Scenario, path: Path, sdir: Path) -> list[str]:
    base = ["sipp", "-sf", str(path), "-i", "127.0.0.1", "-m", "1", "-nostdin",
            "-trace_msg", "-message_file", str(sdir / f"{sc.role}.msg"),
            "-trace_err", "-error_file", str(sdir / f"{sc.role}.err"),
            "-timeout", "80s", "-timeout_error"]
    if sc.role == "uas":
        return base + ["-p", str(TRUNK_PORT)]
    return ["sipp", f"127.0.0.1:{GW['gw1']['sip']}", *base[1:], "-p", str(UAC_PORT), "-s", "+15550001000"]


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


def run_scenario(sc: Scenario, workdir: Path, gws: dict[str, Gateway]) -> tuple[bool, list[str], str]:
    problems: list[str] = []
    sdir = workdir / sc.name
    sdir.mkdir()
    # gw1 alone, so that the call is set up through it.
    gws["gw2"].stop()
    if not gws["gw1"].alive():
        why = gws["gw1"].start()
        if why:
            return False, [why], ""
    procs: list[tuple[str, Proc]] = []
    sipp_path = render_sipp(sc.sipp, sdir)
    peer = e2e.Peer(sc.peer_jid.split("@")[0], sc.peer_jid, sc.peer_args + ["--timeout", "80"])
    peer_argv = e2e.peer_argv(peer, sdir / "peer.xml")
    peer_argv[peer_argv.index("--server") + 1] = f"127.0.0.1:{rig.C2S_PORT}"
    detail = ""
    try:
        if sc.role == "uas":
            sipp = Proc("sipp-uas", sipp_argv(sc, sipp_path, sdir), sdir / "uas.out", cwd=sdir)
            procs.append(("sipp", sipp))
            wait_for(lambda: TRUNK_PORT in bound_ports("udp"), 5)
            p = Proc("peer", peer_argv, sdir / "peer.out")
            procs.append(("peer", p))
        else:
            p = Proc("peer", peer_argv, sdir / "peer.out")
            procs.append(("peer", p))
            if not e2e.wait_ready(p, 15):
                return False, ["the XMPP peer did not get ready"], p.text()
            sipp = Proc("sipp-uac", sipp_argv(sc, sipp_path, sdir), sdir / "uac.out", cwd=sdir)
            procs.append(("sipp", sipp))
        msg = sdir / f"{sc.role}.msg"

        def acked() -> bool:
            return any(first.startswith("ACK ") for _, _, first in sipp_messages(msg))

        if not wait_for(lambda: acked() or any(pr.poll() is not None for _, pr in procs), 20) or not acked():
            problems.append("the call was not answered and ACKed through gw1 within 20 s")
            raise RuntimeError
        say(f"{stamp()}   {sc.name}: call up through gw1; starting gw2")
        why = gws["gw2"].start()
        if why:
            problems.append(why)
            raise RuntimeError
        t_kill = gws["gw1"].kill9()
        say(f"{stamp()}   {sc.name}: gw1 killed (SIGKILL); waiting for gw2's re-INVITE")
        deadline = time.monotonic() + SCENARIO_LIMIT
        for label, pr in procs:
            rc = pr.wait(deadline)
            if rc is None:
                problems.append(f"{label} still running after {SCENARIO_LIMIT:.0f} s")
            elif rc != 0:
                problems.append(f"{label} exited with {rc}")
        reinv = [t for t, d, first in sipp_messages(msg)
                 if d == "received" and first.startswith("INVITE ") and t >= t_kill]
        if reinv:
            delay = reinv[0] - t_kill
            detail = f"re-INVITE {delay:.1f} s after the kill (lease_secs {LEASE_SECS})"
            if delay > LEASE_SECS + ADOPT_MARGIN:
                problems.append(f"{detail}: later than lease_secs + {ADOPT_MARGIN:.0f} s")
        else:
            problems.append("no re-INVITE reached sipp after the kill")
        if not gws["gw2"].alive():
            problems.append("gw2 is not running any more")
    except RuntimeError:
        pass
    finally:
        for _, pr in procs:
            pr.stop()
    if problems:
        for label, pr in procs:
            problems.append(f"--- {label} output:\n{indent(tail(pr.text(), 40))}")
        err = sdir / f"{sc.role}.err"
        if err.exists():
            problems.append(f"--- sipp errors:\n{indent(tail(err.read_text(errors='replace'), 20))}")
        for g in gws.values():
            problems.append(f"--- {g.name} log tail:\n{indent(g.log_tail(30))}")
    return not problems, problems, detail


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated scenario names")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the work dir and the database")
    args = ap.parse_args()
    all_sc = scenarios()
    if args.list:
        for sc in all_sc:
            print(f"{sc.name}\n    {sc.asserts}")
        return 0
    if args.only:
        want = set(args.only.split(","))
        all_sc = [sc for sc in all_sc if sc.name in want]
        if not all_sc:
            die(f"no scenario named {args.only}")
    for tool in ("sipp", "psql", "ejabberdctl"):
        if not shutil.which(tool):
            die(f"{tool} is missing: run interop/setup.sh and interop/ejabberd/setup.sh")
    if not e2e.VENV_PY.exists():
        die(f"{e2e.VENV_PY} is missing: run interop/setup.sh")
    binary = Path(os.environ.get("STOX_BIN", ROOT / "target" / "release" / "stox"))
    if not binary.exists():
        die(f"no stox binary at {binary} (cargo build --release)")
    busy = [p for g in GW.values() for p in (g["sip"],) if p in bound_ports("udp") | bound_ports("tcp")]
    busy += [p for p in (TRUNK_PORT, UAC_PORT) if p in bound_ports("udp")]
    if busy:
        die(f"ports {busy} are already in use")

    workdir = Path(tempfile.mkdtemp(prefix="stox-cluster-"))
    ej = rig.Ejabberd(workdir)  # no domain_balancing: the survivor gets everything at once
    db = Database()
    gws: dict[str, Gateway] = {}
    failed = 0
    try:
        ej.start()
        db.create()
        gws = {n: Gateway(n, binary, workdir, ej, db) for n in GW}
        for sc in all_sc:
            t0 = time.monotonic()
            ok, problems, detail = run_scenario(sc, workdir, gws)
            say(f"{'PASS' if ok else 'FAIL'}  {sc.name}  {time.monotonic() - t0:.1f}s"
                + (f"  ({detail})" if detail else ""))
            if not ok:
                failed += 1
                for p in problems:
                    say(indent(p))
    finally:
        for g in gws.values():
            g.stop()
        ej.stop()
        if not args.keep:
            db.drop()
    say(f"cluster: {len(all_sc) - failed} passed, {failed} failed; work dir {workdir}")
    if not failed and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
