#!/usr/bin/env python3
"""A slow and then unreachable database does not stall call set-up (issue 5).

Runs the load rig (bench/load.sh: sipp → stox → Prosody → examples/xmpp_answerer) with a
fresh Postgres database behind bench/dbproxy.py, which adds latency to every chunk for the
whole run and stops forwarding for a few seconds in the middle (open connections held
silently, new ones refused: a partition). Then checks:

  - no call failed and every offered call completed;
  - INVITE→200 p99 < 1 s (set-up never waits on the database; a stalled path would show
    the outage's seconds);
  - the gap is visible: stox_store_lag_seconds > 1 s during the outage, and
    stox_store_errors_total or stox_store_backlog > 0;
  - the writes catch up: stox_store_backlog back to 0 within 10 s after the outage;
  - the CDRs in Postgres add up: `stox cdr --since … --json` has one row per completed call,
    distinct ids.

    interop/slowdb.py                       # 20 calls/s for 10 s, 1 s hold, +100 ms each way, 3 s outage
    interop/slowdb.py --latency-ms 200 --outage 4:3:reset --keep

Prints one PASS/FAIL line per check; exit 0 when all pass, 1 when one fails, 2 when the rig
could not run. Needs what bench/load.sh needs plus a local Postgres (127.0.0.1:5432, user
postgres, trust auth; BENCH_PG overrides).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=int, default=20)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--hold-ms", type=int, default=1000)
    ap.add_argument("--latency-ms", type=float, default=100.0,
                    help="added by the proxy per chunk in each direction (a round trip pays twice)")
    ap.add_argument("--outage", default="4:3:refuse", help="START_S:LENGTH_S[:hold|refuse|reset]")
    ap.add_argument("--p99-limit-ms", type=float, default=1000.0)
    ap.add_argument("--catch-up-s", type=float, default=10.0)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the work dir and the database")
    args = ap.parse_args()

    start, length = (float(x) for x in args.outage.split(":")[:2])
    fd, summary = tempfile.mkstemp(prefix="stox-slowdb-", suffix=".json")
    os.close(fd)
    cmd = [f"{ROOT}/bench/load.sh", "--rate", str(args.rate), "--duration", str(args.duration),
           "--hold-ms", str(args.hold_ms), "--db", "postgres", "--db-latency-ms", str(args.latency_ms),
           "--db-outage", args.outage, "--drain-secs", str(max(args.catch_up_s * 2, 20)), "--json", summary]
    if args.no_build:
        cmd.append("--no-build")
    if args.keep:
        cmd += ["--keep", "--keep-db"]
    print("slowdb: " + " ".join(cmd), flush=True)
    t = time.monotonic()
    rc = subprocess.call(cmd, cwd=ROOT)
    took = time.monotonic() - t
    try:
        with open(summary) as f:
            data = json.load(f)
    except Exception:
        data = None
    finally:
        os.unlink(summary)
    if rc == 2 or not data:
        print(f"slowdb: FAIL the load rig did not run (load.sh exit {rc})")
        return 2

    kv, store = data["kv"], data["kv"]["store"]
    outage = store.get("outage")
    results = []

    def check(ok, what, detail):
        results.append(ok)
        print(f"slowdb: {'PASS' if ok else 'FAIL'} {what}: {detail}")

    calls = args.rate * args.duration
    check(kv["failed"] == 0 and kv["completed"] == kv["created"] == calls, "no failed calls",
          f"{kv['completed']} completed, {kv['failed']} failed of {calls} offered (load.sh exit {rc})")
    check(kv["p99_ms"] < args.p99_limit_ms, f"INVITE->200 p99 < {args.p99_limit_ms:.0f} ms",
          f"p50 {kv['p50_ms']:.0f} ms, p99 {kv['p99_ms']:.0f} ms, max {kv['max_ms']:.0f} ms "
          f"(database +{args.latency_ms:.0f} ms per chunk each way, {length:.0f} s outage)")
    if outage is None:
        check(False, "outage ran", "the proxy was never taken down (see load.sh output)")
    else:
        check(outage["lag_max_s"] > 1.0, "the gap is visible: stox_store_lag_seconds > 1 s during the outage",
              f"max {outage['lag_max_s']:.2f} s (outage {outage['down_at_s']:.1f} s .. {outage['up_at_s']:.1f} s)")
        check(outage["errors"] > 0 or outage["backlog_max"] > 0,
              "stox_store_errors_total or stox_store_backlog > 0 during the outage",
              f"errors {outage['errors']:.0f}, backlog max {outage['backlog_max']:.0f}")
        z = outage["backlog_zero_after_up_s"]
        check(z is not None and z <= args.catch_up_s,
              f"the writes catch up: stox_store_backlog 0 within {args.catch_up_s:.0f} s after the outage",
              "never" if z is None else f"after {z:.1f} s (lag < 1 s after "
              f"{'never' if outage['lag_below_1s_after_up_s'] is None else format(outage['lag_below_1s_after_up_s'], '.1f') + ' s'})")
    n, distinct = store.get("cdrs"), store.get("cdrs_distinct")
    check(n == kv["completed"] and distinct == n, "CDRs in Postgres add up (stox cdr --json)",
          f"{n} rows, {distinct} distinct ids, for {kv['completed']} completed calls"
          + (f"; error: {store['cdr_error']}" if store.get("cdr_error") else ""))
    print(f"slowdb: store writes {store['writes']:.0f} ({store.get('writes_per_call', 0):.2f} per call) in "
          f"{store['batches']:.0f} transactions, {store['errors']:.0f} failed; backlog max {store['backlog_max']:.0f}; "
          f"lag max {store['lag_max_s']:.2f} s; run took {took:.0f} s")
    ok = all(results)
    print(f"slowdb: {'PASS' if ok else 'FAIL'} ({sum(results)}/{len(results)} checks)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
