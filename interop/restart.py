#!/usr/bin/env python3
"""Restart test for stox (issue 5): kill -9 with calls up, restart, and check
that every call ends well on both sides and is counted once.

For each store (SQLite, then a fresh PostgreSQL database):

  1. the private Prosody of e2e.py; stox with `[database]` on that store,
     instance "gw1", ring_timeout_secs 120 and three DIDs:
     +15550001001 -> bob, +15550001002 -> carol, +15550001003 -> dave;
  2. one XMPP peer process (peer/restart_peer.py): bob and carol answer every
     JMI propose, dave only rings;
  3. three sipp UACs: 25 calls to bob's DID that hold for --hold s and then
     send BYE (sipp/uac_call_hold.xml), 25 to carol's that wait for the
     gateway's BYE (uac_call_hold_wait_bye.xml), 10 to dave's that expect 503
     (uac_503.xml);
  4. once 50 calls are answered and 10 ring (stox_calls_active = 60, and the
     peer agrees) and the store's write-behind queue is empty
     (stox_store_backlog = 0): kill -9, restart with the same config, wait for
     the link and "calls taken back from the store" (resumed=50 ended=10),
     then carol hangs up all her calls; bob's sipp sends its BYEs on its own;
  5. checks: every sipp run succeeded with 25/25/10 calls; bob saw 25
     session-terminate <success/> after the restart; carol's 25 terminates
     were acked; dave got a <connectivity-error/> retract (or terminate) for
     each of his 10 calls; `stox calls` lists no call; `stox cdr` has exactly
     60 rows with distinct ids (25 ended by sip, 25 by xmpp, 10 by the gateway
     with 503 and no answer time; answered rows answered after they started and
     ended after the restart).

    interop/restart.py                  # both stores
    interop/restart.py --store sqlite   # one (sqlite | postgres | both)
    interop/restart.py --keep           # keep the work dir even on success

One PASS/FAIL line per check with its time; on failure the stox log around the
restart, sipp's errors and the peer's problems and ladder. Exits 1 if a check
failed, 2 if the harness could not start. Only the standard library is used
(e2e.py's Prosody, Stox and Proc); PostgreSQL must accept `psql -h 127.0.0.1
-U postgres` (trust auth) for the postgres store.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import e2e  # noqa: E402  (the Prosody/Stox/Proc helpers of the scenario runner)
from e2e import (  # noqa: E402
    COMPONENT_PORT, C2S_PORT, DOMAIN, GATEWAY_SIP_PORT, HERE, METRICS, ROOT, SECRET, SIPP_DIR,
    TRUNK_PORT, VENV_PY, Proc, Prosody, Stox, bound_ports, indent, say, stamp, tail, wait_for,
)

PEER = HERE / "peer" / "restart_peer.py"
INSTANCE = "gw1"

# who is called, how many times, and how
BOB = {"name": "bob", "did": "+15550001001", "jid": "bob@test", "calls": 25, "port": 15071,
       "media": 26000, "scenario": "uac_call_hold.xml"}
CAROL = {"name": "carol", "did": "+15550001002", "jid": "carol@test", "calls": 25, "port": 15072,
         "media": 26100, "scenario": "uac_call_hold_wait_bye.xml"}
DAVE = {"name": "dave", "did": "+15550001003", "jid": "dave@test", "calls": 10, "port": 15073,
        "media": 26200, "scenario": "uac_503.xml"}
LINES = (BOB, CAROL, DAVE)
ANSWERED = BOB["calls"] + CAROL["calls"]
RINGING = DAVE["calls"]
TOTAL = ANSWERED + RINGING

CALL_RATE = 10  # calls per second, per sipp
SETUP_LIMIT = 30.0  # s for every call to be answered or ringing
BACKLOG_LIMIT = 15.0  # s for the store to catch up
RESTART_LIMIT = 20.0  # s from the new process to "calls taken back"
END_LIMIT = 30.0  # s after bob's BYEs are due for everything to end

STOX_CONFIG = """\
[xmpp]
domain = "{domain}"
server = "127.0.0.1:{component_port}"
secret = "{secret}"

[sip]
listen = ["udp:127.0.0.1:{sip_port}", "tcp:127.0.0.1:{sip_port}"]
timer_t1_ms = 100          # shortens RFC 3261 timers for tests
trunk_ping_secs = 0

[database]
url = "{db_url}"
{database_extra}

[[trunk]]
name = "pbx"
uri = "sip:127.0.0.1:{trunk_port}"

{numbers}
[policy]
allow_outbound = []

[calls]
ring_timeout_secs = 120

[metrics]
listen = "{metrics}"
"""

# Where the instance name goes in the config; set once the store's keys are known.
DATABASE_EXTRA = f'instance = "{INSTANCE}"'


def write_config(path: Path, db_url: str) -> Path:
    numbers = "".join(f'[[number]]\ndid = "{l["did"]}"\njid = "{l["jid"]}"\n\n' for l in LINES)
    path.write_text(STOX_CONFIG.format(
        domain=DOMAIN, component_port=COMPONENT_PORT, secret=SECRET, sip_port=GATEWAY_SIP_PORT,
        db_url=db_url, database_extra=DATABASE_EXTRA, trunk_port=TRUNK_PORT, numbers=numbers,
        metrics=METRICS))
    return path


# ----------------------------------------------------------------- helpers


def metrics_body() -> str | None:
    try:
        with urllib.request.urlopen(f"http://{METRICS}/metrics", timeout=2) as r:
            return r.read().decode(errors="replace")
    except Exception:  # noqa: BLE001
        return None


def sample(body: str | None, name: str) -> float | None:
    """The value of `name` (no labels, or the first labelled series), None when absent."""
    if body is None:
        return None
    for line in body.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def plain(text: str) -> str:
    return ANSI.sub("", text)


def sipp_stats(stat_file: Path) -> dict[str, int] | None:
    """SuccessfulCall(C) and FailedCall(C) from the last line of sipp's -trace_stat CSV."""
    try:
        lines = [l for l in stat_file.read_text(errors="replace").splitlines() if l.strip()]
    except OSError:
        return None
    if len(lines) < 2:
        return None
    head = lines[0].split(";")
    last = lines[-1].split(";")
    out = {}
    for key in ("SuccessfulCall(C)", "FailedCall(C)", "TotalCallCreated"):
        if key in head and head.index(key) < len(last):
            try:
                out[key] = int(last[head.index(key)])
            except ValueError:
                pass
    return out


def sipp_times(msg_file: Path, first_line: str, sent: bool) -> list[float]:
    """Wall-clock times of the messages starting with first_line in a -trace_msg log."""
    out = []
    try:
        text = msg_file.read_text(errors="replace")
    except OSError:
        return out
    when, direction = None, None
    for line in text.splitlines():
        m = re.match(r"-+ (\d{4}-\d\d-\d\d\t?\s*\d\d:\d\d:\d\d\.\d+)", line)
        if m:
            stamp_ = re.sub(r"\s+", " ", m.group(1))
            try:
                when = time.mktime(time.strptime(stamp_.split(".")[0], "%Y-%m-%d %H:%M:%S")) \
                    + float("0." + stamp_.split(".")[1])
            except ValueError:
                when = None
            direction = None
            continue
        if when is not None and direction is None and "message" in line:
            direction = "sent" if " sent" in line else "received"
            continue
        if when is not None and direction and line.strip():
            if line.strip().startswith(first_line) and (direction == "sent") == sent:
                out.append(when)
            when = None
    return out


class Checks:
    def __init__(self, store: str):
        self.store = store
        self.results: list[tuple[str, bool]] = []
        self.t0 = time.monotonic()

    def add(self, name: str, ok: bool, detail: str = "", problems: list[str] | None = None) -> bool:
        dt = time.monotonic() - self.t0
        say(f"{'PASS' if ok else 'FAIL'}  {self.store:<8} {name:<34} {dt:5.1f}s  {detail}".rstrip())
        for p in problems or []:
            say(f"    - {p}")
        self.results.append((name, ok))
        return ok

    @property
    def ok(self) -> bool:
        return all(ok for _, ok in self.results)


# ----------------------------------------------------------------- one store


class Store:
    """The database of one run: a SQLite file or a fresh PostgreSQL database."""

    def __init__(self, kind: str, sdir: Path):
        self.kind = kind
        self.sdir = sdir
        self.pg: e2e.ScratchDatabase | None = None

    def create(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite://{self.sdir}/restart.db"
        self.pg = e2e.ScratchDatabase("stox_restart")
        self.pg.create()
        return self.pg.url

    def drop(self) -> None:
        if self.pg:
            self.pg.drop()
            self.pg = None


def run_store(kind: str, binary: Path, workdir: Path, prosody: Prosody, hold: float) -> bool:
    sdir = workdir / kind
    sdir.mkdir(parents=True)
    checks = Checks(kind)
    store = Store(kind, sdir)
    stox = Stox(binary, sdir, prosody)
    peer: Proc | None = None
    sipps: dict[str, Proc] = {}
    state_file = sdir / "peer-state.json"
    logs: dict[str, int] = {}
    try:
        try:
            db_url = store.create()
        except RuntimeError as exc:
            return checks.add("store", False, str(exc))
        cfg = write_config(sdir / "stox.toml", db_url)
        say(f"{stamp()} {kind}: database {db_url}, config {cfg}")
        # The schema, as an operator would create it before the first start.
        mig = subprocess.run([str(binary), "migrate", "--config", str(cfg)], capture_output=True,
                             text=True, timeout=60)
        if not checks.add("stox migrate", mig.returncode == 0,
                          f"exit {mig.returncode}", [] if mig.returncode == 0 else
                          [l for l in (mig.stdout + mig.stderr).strip().splitlines()[-10:]]):
            return False

        # -- 1, 2: the XMPP users, then the gateway
        peer = Proc("peer", [str(VENV_PY), str(PEER), "--server", f"127.0.0.1:{C2S_PORT}",
                             "--state", str(state_file), "--xml-log", str(sdir / "peer.xml"),
                             "--expect-resource", "stox", "--hangup-on-signal", CAROL["jid"],
                             "--user", f"{BOB['jid']}/restart=accept",
                             "--user", f"{CAROL['jid']}/restart=accept",
                             "--user", f"{DAVE['jid']}/restart=ring"],
                    sdir / "peer.ladder")
        if not wait_for(lambda: "all    ==  ready" in peer.text() or peer.poll() is not None, 20) \
                or peer.poll() is not None:
            checks.add("xmpp users online", False, "", [tail(peer.text(), 20)])
            return False
        why = stox.start(f"restart-{kind}", cfg)
        if why:
            checks.add("stox start", False, why, [tail(stox.log_since(0), 40)])
            return False
        logs["first"] = 0

        # -- 3: the calls
        t_calls = time.time()
        for line in LINES:
            ldir = sdir / f"sipp-{line['name']}"
            ldir.mkdir()
            n = str(line["calls"])
            argv = ["sipp", f"127.0.0.1:{GATEWAY_SIP_PORT}", "-sf", str(SIPP_DIR / line["scenario"]),
                    "-s", line["did"], "-i", "127.0.0.1", "-p", str(line["port"]),
                    "-mp", str(line["media"]), "-m", n, "-l", n, "-r", str(CALL_RATE), "-nostdin",
                    "-trace_msg", "-message_file", str(ldir / "uac.msg"),
                    "-trace_err", "-error_file", str(ldir / "uac.err"),
                    "-trace_stat", "-stf", str(ldir / "uac.csv"),
                    "-timeout", f"{int(hold + 120)}s", "-timeout_error"]
            if line is BOB:
                argv += ["-d", str(int(hold * 1000))]
            sipps[line["name"]] = Proc(f"sipp-{line['name']}", argv, ldir / "uac.out", cwd=ldir)

        # -- 4: every call up, the store caught up
        def peer_state() -> dict:
            try:
                return json.loads(state_file.read_text())
            except (OSError, ValueError):
                return {"users": {}, "problems": []}

        def counts() -> dict[str, int]:
            st = peer_state()["users"]
            calls = {u: st.get(u, {}).get("calls", {}) for u in ("bob", "carol", "dave")}
            return {
                "bob answered": sum(1 for c in calls["bob"].values() if c["accepted"]),
                "carol answered": sum(1 for c in calls["carol"].values() if c["accepted"]),
                "dave ringing": sum(1 for c in calls["dave"].values()
                                    if c["ringing_sent"] and not c["retract"] and not c["terminate"]),
            }

        want = {"bob answered": BOB["calls"], "carol answered": CAROL["calls"], "dave ringing": DAVE["calls"]}

        def all_up() -> bool:
            return (sample(metrics_body(), "stox_calls_active") == TOTAL and counts() == want) or \
                any(p.poll() is not None for p in sipps.values())

        up = wait_for(all_up, SETUP_LIMIT, 0.25) and all(p.poll() is None for p in sipps.values())
        active = sample(metrics_body(), "stox_calls_active")
        if not checks.add(f"{ANSWERED} answered + {RINGING} ringing", up,
                          f"stox_calls_active={active}, peer {counts()}",
                          [] if up else [f"sipp {n} exited early ({p.poll()})"
                                         for n, p in sipps.items() if p.poll() is not None]):
            report(stox, peer, sipps, sdir, logs)
            return False
        t_up = time.time()

        # The store must hold what a restart needs: 50 calls Active (the
        # Answered snapshot, written at the ACK) and 10 in set-up, with nothing
        # left in the write-behind queue. (The peer's view is not enough: an
        # acked session-accept precedes the 200 OK by the candidate wait.)
        seen = {"backlog": None, "stored": None}
        t_wait = time.monotonic()
        want_stored = {("bob", "Active"): BOB["calls"], ("carol", "Active"): CAROL["calls"],
                       ("dave", "set-up"): DAVE["calls"]}

        def caught_up() -> bool:
            seen["backlog"] = sample(metrics_body(), "stox_store_backlog")
            if seen["backlog"] is None:
                return time.monotonic() - t_wait > 3  # the metric does not exist in this binary
            if seen["backlog"] != 0:
                return False
            seen["stored"] = stored_calls(binary, cfg)
            return seen["stored"] == want_stored

        ok = wait_for(caught_up, BACKLOG_LIMIT, 0.3)
        if seen["backlog"] is None:
            checks.add("store caught up", False,
                       "the metric stox_store_backlog is absent: this stox has no store wired "
                       "into `stox run` (issue 5), so a restart cannot take calls back")
            report(stox, peer, sipps, sdir, logs)
            return False
        stored_txt = ", ".join(f"{u} {st}: {n}" for (u, st), n in sorted((seen["stored"] or {}).items()))
        if not checks.add("store caught up", ok,
                          f"stox_store_backlog={seen['backlog']}; stox calls: {stored_txt or 'none'}"):
            report(stox, peer, sipps, sdir, logs)
            return False

        # -- the crash and the restart
        first_proc = stox.proc
        os.kill(first_proc.p.pid, signal.SIGKILL)
        first_proc.p.wait()
        t_kill = time.time()
        say(f"{stamp()} {kind}: kill -9 {first_proc.p.pid} ({time.time() - t_up:.1f}s after all calls were up)")
        first_log = first_proc.log
        why = stox.start(f"restart-{kind}", cfg)
        if why:
            checks.add("restart", False, why, [tail(stox.log_since(0), 40)])
            logs["first_file"] = str(first_log)
            report(stox, peer, sipps, sdir, logs, first_log=first_log)
            return False
        logs["first_file"] = str(first_log)
        line_re = re.compile(r"calls taken back from the store")
        found = wait_for(lambda: line_re.search(plain(stox.log_since(0))) is not None
                         or not stox.alive(), RESTART_LIMIT, 0.1)
        t_ready = time.time()
        got = None
        for l in plain(stox.log_since(0)).splitlines():
            if line_re.search(l):
                m1, m2 = re.search(r"resumed=(\d+)", l), re.search(r"ended=(\d+)", l)
                got = (int(m1.group(1)) if m1 else None, int(m2.group(1)) if m2 else None, l.strip())
                break
        ok = found and got is not None and got[:2] == (ANSWERED, RINGING)
        checks.add("restart: calls taken back", ok,
                   f"{t_ready - t_kill:.1f}s after kill -9; " +
                   (f"resumed={got[0]} ended={got[1]} (want {ANSWERED}/{RINGING})" if got else
                    "no \"calls taken back from the store\" line" +
                    ("" if stox.alive() else f"; stox exited with {stox.proc.poll()}")),
                   [got[2]] if got and not ok else [])
        # bob's BYEs are due `hold` s after his ACKs: the restart must be over by then,
        # or the test would not be testing a restart while calls are held
        acks = sipp_times(sdir / "sipp-bob" / "uac.msg", "ACK ", sent=True)
        if acks:
            margin = min(acks) + hold - t_ready
            checks.add("restart before bob's BYEs", margin > 1.0,
                       f"first BYE due {margin:.1f}s after the restart"
                       + ("" if margin > 1.0 else f"; raise --hold (now {hold:.0f}s)"))

        # -- carol hangs up; bob's sipp sends BYE by itself
        os.kill(peer.p.pid, signal.SIGUSR1)
        t_hangup = time.time()
        say(f"{stamp()} {kind}: carol hangs up her {CAROL['calls']} calls; bob's BYEs are due in "
            f"{(min(acks) + hold - time.time()) if acks else hold:.1f}s")
        deadline = time.monotonic() + hold + END_LIMIT
        for name, p in sipps.items():
            p.wait(deadline)

        def xmpp_done() -> bool:
            st = peer_state()["users"]
            bob = st.get("bob", {}).get("calls", {}).values()
            carol = st.get("carol", {}).get("calls", {}).values()
            dave = st.get("dave", {}).get("calls", {}).values()
            return (sum(1 for c in bob if c["terminate"]) >= BOB["calls"]
                    and sum(1 for c in carol if c["hangup"] and c["hangup"]["outcome"]) >= CAROL["calls"]
                    and sum(1 for c in dave if c["retract"] or c["terminate"]) >= DAVE["calls"])

        wait_for(xmpp_done, 10, 0.2)
        time.sleep(0.5)  # stray stanzas after the last expected one
        peer.stop()
        final = peer_state()

        # -- 5: the checks
        for line in LINES:
            p = sipps[line["name"]]
            rc = p.poll()
            if rc is None:
                p.stop()
            stats = sipp_stats(sdir / f"sipp-{line['name']}" / "uac.csv") or {}
            good = stats.get("SuccessfulCall(C)")
            bad = stats.get("FailedCall(C)")
            ok = rc == 0 and good == line["calls"] and bad == 0
            extra = []
            if line is DAVE:
                # a 503'd call that was never answered must not get a BYE as well
                stray = sipp_times(sdir / "sipp-dave" / "uac.msg", "BYE ", sent=False)
                if stray:
                    ok = False
                    extra.append(f"{len(stray)} BYE(s) reached dave's callers after the 503")
            what = {"bob": "hangs up by BYE", "carol": "gets BYE", "dave": "gets 503"}[line["name"]]
            checks.add(f"sipp {line['name']}: {line['calls']} calls, {what}", ok,
                       f"exit {rc if rc is not None else 'none (killed)'}, successful {good}, failed {bad}",
                       [] if ok else extra + [
                           tail((sdir / f"sipp-{line['name']}" / "uac.err").read_text(errors="replace"), 12)
                           if (sdir / f"sipp-{line['name']}" / "uac.err").exists() else "no error log"])

        users = final.get("users", {})
        bob_calls = users.get("bob", {}).get("calls", {})
        carol_calls = users.get("carol", {}).get("calls", {})
        dave_calls = users.get("dave", {}).get("calls", {})
        byes = sipp_times(sdir / "sipp-bob" / "uac.msg", "BYE ", sent=True)
        first_bye = min(byes) if byes else None

        problems = per_call_problems(bob_calls)
        for sid, c in bob_calls.items():
            t = c["terminate"]
            if not t:
                problems.append(f"bob {sid}: no session-terminate")
            elif t["by"] != "gateway" or t["reason"] != "success":
                problems.append(f"bob {sid}: session-terminate by {t['by']} with reason {t['reason']}")
            elif t["at"] < t_kill or (first_bye is not None and t["at"] < first_bye - 0.05):
                problems.append(f"bob {sid}: session-terminate at {t['at']:.3f}, before the restart "
                                f"({t_kill:.3f}) or the first SIP BYE ({first_bye})")
            if c["retract"] or c["finish"]:
                problems.append(f"bob {sid}: unexpected {'retract' if c['retract'] else 'finish'}")
        n_ok = sum(1 for c in bob_calls.values() if c["terminate"] and c["terminate"]["reason"] == "success")
        checks.add(f"xmpp bob: {BOB['calls']} terminates <success/>",
                   not problems and len(bob_calls) == BOB["calls"] and n_ok == BOB["calls"],
                   f"{len(bob_calls)} calls, {n_ok} terminated with success after the BYE", problems[:10])

        problems = per_call_problems(carol_calls)
        for sid, c in carol_calls.items():
            h = c["hangup"]
            if not h:
                problems.append(f"carol {sid}: never hung up (the session was not active at the signal?)")
            elif h["outcome"] != "result":
                problems.append(f"carol {sid}: session-terminate answered {h['outcome']}")
            if [e for _, e in c["events"] if e == "jingle:session-terminate"]:
                problems.append(f"carol {sid}: the gateway sent session-terminate too")
            if c["retract"] or c["finish"]:
                problems.append(f"carol {sid}: unexpected {'retract' if c['retract'] else 'finish'}")
        n_ok = sum(1 for c in carol_calls.values() if c["hangup"] and c["hangup"]["outcome"] == "result")
        checks.add(f"xmpp carol: {CAROL['calls']} terminates acked",
                   not problems and len(carol_calls) == CAROL["calls"] and n_ok == CAROL["calls"],
                   f"{len(carol_calls)} calls, {n_ok} IQ results", problems[:10])

        problems = per_call_problems(dave_calls)
        for sid, c in dave_calls.items():
            end = c["retract"] or c["terminate"]
            if not end:
                problems.append(f"dave {sid}: neither retract nor session-terminate")
            elif end["reason"] != "connectivity-error":
                problems.append(f"dave {sid}: ended with reason {end['reason']}")
            elif end["at"] < t_kill:
                problems.append(f"dave {sid}: ended before the restart")
            if c["initiate"]:
                problems.append(f"dave {sid}: got a session-initiate without proceeding")
        n_ok = sum(1 for c in dave_calls.values()
                   if (c["retract"] or c["terminate"] or {}).get("reason") == "connectivity-error")
        checks.add(f"xmpp dave: {DAVE['calls']} ended <connectivity-error/>",
                   not problems and len(dave_calls) == DAVE["calls"] and n_ok == DAVE["calls"],
                   f"{len(dave_calls)} calls, {n_ok} retracted/terminated with connectivity-error",
                   problems[:10])
        if final.get("problems"):
            checks.add("xmpp peer: nothing unexpected", False, "", final["problems"][:10])

        # the gateway's own view
        time.sleep(0.5)
        active = sample(metrics_body(), "stox_calls_active")
        checks.add("metrics: no call active", active == 0, f"stox_calls_active={active}")
        calls_out = subprocess.run([str(binary), "calls", "--config", str(cfg), "--json"],
                                   capture_output=True, text=True, timeout=30)
        rows = json_lines(calls_out.stdout)
        checks.add("stox calls: none active", calls_out.returncode == 0 and rows == [],
                   f"exit {calls_out.returncode}, {len(rows) if rows is not None else 'unparsable'} row(s)",
                   [] if calls_out.returncode == 0 and rows == [] else
                   [tail(calls_out.stdout + calls_out.stderr, 10)])
        cdr_out = subprocess.run([str(binary), "cdr", "--config", str(cfg), "--since", "10m", "--json"],
                                 capture_output=True, text=True, timeout=30)
        (sdir / "cdr.jsonl").write_text(cdr_out.stdout)
        rows = json_lines(cdr_out.stdout)
        if cdr_out.returncode != 0 or rows is None:
            checks.add("cdr", False, f"exit {cdr_out.returncode}", [tail(cdr_out.stdout + cdr_out.stderr, 10)])
        else:
            check_cdrs(checks, rows, t_calls, t_kill)
        checks.add("stox still running", stox.alive())
        if not checks.ok:
            report(stox, peer, sipps, sdir, logs, first_log=first_log, t_hangup=t_hangup)
        return checks.ok
    finally:
        if peer:
            peer.stop()
        for p in sipps.values():
            p.stop()
        stox.stop()
        store.drop()


def stored_calls(binary: Path, cfg: Path) -> dict[tuple[str, str], int] | None:
    """`stox calls --json` counted by (user, state); a state other than
    Active/Accepted counts as "set-up". None when it cannot be read."""
    r = subprocess.run([str(binary), "calls", "--config", str(cfg), "--json"],
                       capture_output=True, text=True, timeout=30)
    rows = json_lines(r.stdout) if r.returncode == 0 else None
    if rows is None:
        return None
    out: dict[tuple[str, str], int] = {}
    for row in rows:
        user = str(row.get("xmpp_user") or row.get("callee") or "?").split("@")[0]
        state = row.get("state") if row.get("state") in ("Active", "Accepted") else "set-up"
        out[(user, state)] = out.get((user, state), 0) + 1
    return out


def per_call_problems(calls: dict) -> list[str]:
    return [f"{sid}: {p}" for sid, c in calls.items() for p in c["problems"]]


def json_lines(text: str) -> list | None:
    """JSON lines (one object per line) or one JSON array; None when unparsable."""
    text = text.strip()
    if not text:
        return []
    try:
        if text.startswith("["):
            return json.loads(text)
        return [json.loads(l) for l in text.splitlines() if l.strip()]
    except ValueError:
        return None


def check_cdrs(checks: Checks, rows: list[dict], t_calls: float, t_kill: float) -> None:
    problems = []
    ids = [r.get("id") for r in rows]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        problems.append(f"{len(ids) - len(set(ids))} duplicate id(s): {dup[:5]}")
    kill_ms = t_kill * 1000

    def line_of(r: dict) -> str | None:
        callee = str(r.get("callee") or "")
        for line in LINES:
            if line["did"] in callee or line["did"][1:] in callee or line["jid"] in callee:
                return line["name"]
        return None

    by_line: dict[str | None, list[dict]] = {}
    for r in rows:
        by_line.setdefault(line_of(r), []).append(r)
    want_end = {"bob": "sip", "carol": "xmpp", "dave": "gateway"}
    for line in LINES:
        got = by_line.get(line["name"], [])
        if len(got) != line["calls"]:
            problems.append(f"{len(got)} row(s) for {line['name']}'s DID, want {line['calls']}")
        for r in got:
            rid = r.get("id")
            if r.get("ended_by") != want_end[line["name"]]:
                problems.append(f"{line['name']} {rid}: ended_by {r.get('ended_by')!r}, want {want_end[line['name']]!r}")
            if r.get("instance") != INSTANCE:
                problems.append(f"{line['name']} {rid}: instance {r.get('instance')!r}")
            start, answer, end = r.get("start_ms"), r.get("answer_ms"), r.get("end_ms")
            if not isinstance(start, (int, float)) or start < t_calls * 1000 - 5000 or start > kill_ms:
                problems.append(f"{line['name']} {rid}: start_ms {start} not between the first call and the kill")
            if not isinstance(end, (int, float)) or end < kill_ms:
                problems.append(f"{line['name']} {rid}: end_ms {end} is not after the restart ({kill_ms:.0f})")
            if line is DAVE:
                if answer is not None:
                    problems.append(f"dave {rid}: answer_ms {answer} on a call never answered")
                if r.get("sip_status") != 503:
                    problems.append(f"dave {rid}: sip_status {r.get('sip_status')!r}, want 503")
                if r.get("jingle_reason") not in (None, "connectivity-error"):
                    problems.append(f"dave {rid}: jingle_reason {r.get('jingle_reason')!r}")
            else:
                if not isinstance(answer, (int, float)) or not isinstance(start, (int, float)) or answer < start:
                    problems.append(f"{line['name']} {rid}: answer_ms {answer} not >= start_ms {start}")
    if by_line.get(None):
        problems.append(f"{len(by_line[None])} row(s) for no known DID: {by_line[None][:2]}")
    summary = ", ".join(f"{k}: {v}" for k, v in sorted(
        count_by(rows, "ended_by").items(), key=lambda kv: str(kv[0])))
    checks.add(f"cdr: {TOTAL} rows, each call once", not problems and len(rows) == TOTAL,
               f"{len(rows)} rows, {len(set(ids))} ids; ended_by {summary}", problems[:15])


def count_by(rows: list[dict], key: str) -> dict:
    out: dict = {}
    for r in rows:
        out[r.get(key)] = out.get(r.get(key), 0) + 1
    return out


def report(stox: Stox, peer: Proc | None, sipps: dict[str, Proc], sdir: Path, logs: dict,
           first_log: Path | None = None, t_hangup: float | None = None) -> None:
    """The logs that explain a failure: stox around the restart, sipp, the peer."""
    if first_log is not None and first_log.exists():
        say("  stox log before kill -9 (last 30 lines):")
        say(indent(tail(plain(first_log.read_text(errors="replace")), 30), "    | "))
    if stox.proc is not None:
        text = plain(stox.log_since(0)).splitlines()
        say(f"  stox log ({stox.proc.log.name}, first 60 lines):")
        say(indent("\n".join(text[:60]), "    | "))
        bad = [l for l in text if " WARN " in l or " ERROR " in l]
        if bad:
            say(f"  stox warnings/errors ({len(bad)}; last 30):")
            say(indent("\n".join(bad[-30:]), "    | "))
    for name, p in sipps.items():
        err = sdir / f"sipp-{name}" / "uac.err"
        say(f"  sipp {name} errors:")
        say(indent(tail(err.read_text(errors="replace"), 15) if err.exists() else "(none)", "    | "))
    if peer is not None:
        say("  xmpp peer ladder (last 40 lines):")
        say(indent(tail(peer.text(), 40), "    | "))
    say(f"  artefacts: {sdir}")


# ----------------------------------------------------------------- main


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--store", choices=("sqlite", "postgres", "both"), default="both")
    p.add_argument("--stox", help="stox binary (default $STOX_BIN or target/release/stox)")
    p.add_argument("--hold", type=float, default=20.0,
                   help="seconds bob's callers hold before their BYE (must outlast the restart)")
    p.add_argument("--keep", action="store_true", help="keep the work dir even when all pass")
    args = p.parse_args()
    e2e.check_tools()
    stores = ["sqlite", "postgres"] if args.store == "both" else [args.store]
    if "postgres" in stores:
        r = subprocess.run(["psql", f"{e2e.PG_SERVER}/postgres", "-qAtc", "SELECT 1"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            e2e.die(f"PostgreSQL is not reachable at {e2e.PG_SERVER}: {r.stderr.strip()}")
    binary = Path(args.stox or os.environ.get("STOX_BIN") or ROOT / "target" / "release" / "stox")
    if not binary.is_absolute():
        binary = (Path.cwd() / binary).resolve()
    if not os.access(binary, os.X_OK):
        e2e.die(f"stox binary not found at {binary} (set STOX_BIN or run cargo build --release)")
    ports = [GATEWAY_SIP_PORT] + [l["port"] for l in LINES]
    busy = [p_ for p_ in ports if p_ in bound_ports("udp") or p_ in bound_ports("tcp")]
    if busy or e2e.port_open(int(METRICS.rsplit(":", 1)[1])):
        e2e.die(f"ports {busy or METRICS} are already bound by something else")

    workdir = Path(tempfile.mkdtemp(prefix="stox-restart-"))
    t0 = time.monotonic()
    say(f"{stamp()} restart: stores {', '.join(stores)}, stox {binary}, work dir {workdir}")
    prosody = Prosody(workdir)
    results = {}
    try:
        prosody.start()
        for kind in stores:
            results[kind] = run_store(kind, binary, workdir, prosody, args.hold)
    finally:
        prosody.stop()
    ok = all(results.values()) and len(results) == len(stores)
    if ok and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        say(f"{stamp()} logs kept in {workdir}")
    verdicts = ", ".join(f"{k} {'PASS' if v else 'FAIL'}" for k, v in results.items())
    say(f"restart: {verdicts} ({time.monotonic() - t0:.0f}s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
