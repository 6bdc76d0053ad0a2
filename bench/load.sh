#!/usr/bin/env bash
# Call load through the gateway: sipp (UAC) → stox → Prosody → automated XMPP
# answerer (examples/xmpp_answerer.rs, a second XEP-0114 component), and back.
#
#   bench/load.sh                          # 500 calls/s for 30 s, 1 s hold
#   bench/load.sh --rate 300 --duration 20 --hold-ms 1000
#   bench/load.sh --no-build --keep        # reuse binaries; keep the work dir
#   bench/load.sh --capture                # + loopback capture (root): gateway vs XMPP split
#   bench/load.sh --db none|sqlite|postgres|URL   # the call store (default: sqlite in the work dir)
#   bench/load.sh --db postgres --db-latency-ms 200 --db-outage 4:3   # via bench/dbproxy.py
#
# Prints a summary (offered/completed calls/s, failed calls, INVITE→200 p50/p99,
# the gateway's setup histogram, CPU and memory of stox, Prosody, the answerer
# and sipp; with a store, writes per call, backlog/lag/errors and the CDR count)
# and exits 1 if any call failed, 2 if the rig could not start.
# Ports (127.0.0.1, overridable via env): Prosody c2s 35222 and component
# 35347, stox SIP 35060/udp, sipp 35070, stox metrics 39090, dbproxy 35432
# (control 35433). `--db postgres` creates stox_bench_<random> on BENCH_PG
# (postgresql://postgres@127.0.0.1:5432) and drops it at the end.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"

RATE=500
DURATION=30
HOLD_MS=1000
CALLS=""
LIMIT=""
BUILD=1
SETUP=1
KEEP=0
CAPTURE=0
DB=sqlite
DB_PROXY=0
DB_LATENCY_MS=0
DB_OUTAGE=""
DRAIN_SECS=30
KEEP_DB=0
SUMMARY_JSON=""
while (($#)); do
    case "$1" in
        --rate) RATE="$2"; shift 2 ;;
        --duration) DURATION="$2"; shift 2 ;;
        --hold-ms) HOLD_MS="$2"; shift 2 ;;
        --calls) CALLS="$2"; shift 2 ;;
        --limit) LIMIT="$2"; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --no-setup) SETUP=0; shift ;;
        --keep) KEEP=1; shift ;;
        --capture) CAPTURE=1; shift ;;
        --db) DB="$2"; shift 2 ;;
        --db-proxy) DB_PROXY=1; shift ;;
        --db-latency-ms) DB_LATENCY_MS="$2"; DB_PROXY=1; shift 2 ;;
        --db-outage) DB_OUTAGE="$2"; DB_PROXY=1; shift 2 ;;   # START_S:LENGTH_S[:hold|refuse|reset]
        --drain-secs) DRAIN_SECS="$2"; shift 2 ;;
        --keep-db) KEEP_DB=1; shift ;;
        --json) SUMMARY_JSON="$2"; shift 2 ;;   # also write the summary (JSON) there
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "load.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
CALLS="${CALLS:-$((RATE * DURATION))}"
# Concurrent calls ≈ rate × (hold + setup); leave generous headroom.
LIMIT="${LIMIT:-$((RATE * (HOLD_MS / 1000 + 3) + 1000))}"

C2S_PORT="${BENCH_C2S_PORT:-35222}"
COMPONENT_PORT="${BENCH_COMPONENT_PORT:-35347}"
SIP_PORT="${BENCH_SIP_PORT:-35060}"
UAC_PORT="${BENCH_UAC_PORT:-35070}"
TRUNK_PORT="${BENCH_TRUNK_PORT:-35080}"
METRICS="127.0.0.1:${BENCH_METRICS_PORT:-39090}"
GW_DOMAIN="sip.test"
GW_SECRET="s3cret"
ANS_DOMAIN="answer.test"
ANS_SECRET="b3nch"
DID="+15550002000"
PROXY_PORT="${BENCH_DBPROXY_PORT:-35432}"
PROXY_CONTROL="${BENCH_DBPROXY_CONTROL_PORT:-35433}"
BENCH_PG="${BENCH_PG:-postgresql://postgres@127.0.0.1:5432}"

log() { echo "load.sh: $*" >&2; }
die() { log "$*"; exit 2; }

if ((SETUP)); then
    "$ROOT/interop/setup.sh" >/dev/null
fi
if ((BUILD)); then
    log "cargo build --release (stox + examples/xmpp_answerer)"
    (cd "$ROOT" && cargo build --release --quiet --bin stox --example xmpp_answerer)
fi
STOX="$ROOT/target/release/stox"
ANSWERER="$ROOT/target/release/examples/xmpp_answerer"
[[ -x $STOX && -x $ANSWERER ]] || die "missing $STOX or $ANSWERER (drop --no-build)"

case "$DB" in
    none|sqlite) ((DB_PROXY == 0)) || die "--db-proxy needs a Postgres store (--db postgres or a postgres:// URL)" ;;
    postgres) command -v psql >/dev/null || die "--db postgres needs psql" ;;
    postgres://*|postgresql://*) ;;
    *) die "--db: expected none, sqlite, postgres or a postgres:// URL, not $DB" ;;
esac
PORTS=("$C2S_PORT/tcp" "$COMPONENT_PORT/tcp" "$SIP_PORT/udp" "$UAC_PORT/udp" "${METRICS##*:}/tcp")
((DB_PROXY == 0)) || PORTS+=("$PROXY_PORT/tcp" "$PROXY_CONTROL/tcp")
for p in "${PORTS[@]}"; do
    port="${p%/*}"
    if ss -Hlnut "sport = :$port" | grep -q .; then die "port $port is in use"; fi
done

WORK="$(mktemp -d /tmp/stox-bench-XXXXXX)"
PIDS=()
PG_DB=""
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    # A process that does not end within 15 s of SIGTERM gets SIGKILL (noted: with a Postgres
    # store stox can hang in its shutdown; see BENCHMARKS.md "Durable calls").
    local end=$((SECONDS + 15))
    for pid in "${PIDS[@]}"; do
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < end)); do sleep 0.2; done
        if kill -0 "$pid" 2>/dev/null; then
            log "pid $pid ($(tr -d '\0' </proc/$pid/comm 2>/dev/null)) still running 15 s after SIGTERM: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ -n $PG_DB ]]; then
        if ((KEEP_DB)); then
            log "database kept: $BENCH_PG/$PG_DB"
        else
            psql "$BENCH_PG/postgres" -qAtc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 \
                || log "could not drop database $PG_DB"
        fi
    fi
    if ((KEEP)); then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# --- Prosody: interop's private instance plus the answerer's component, quiet logs.
PROSODY_C2S_PORT="$C2S_PORT" PROSODY_COMPONENT_PORT="$COMPONENT_PORT" \
    PROSODY_COMPONENT_SECRET="$GW_SECRET" PROSODY_LOGLEVEL=warn \
    "$ROOT/interop/prosody/prosody.sh" "$WORK/prosody" >/dev/null
CFG="$WORK/prosody/prosody.cfg.lua"
{
    # Prosody 0.12 leaves Nagle on for its sockets by default ("nagle = true"): a small
    # stanza it writes then waits for the peer's delayed ACK (~40 ms on Linux) whenever an
    # earlier one is still unacknowledged. A global option, so it goes first.
    echo '-- bench/load.sh: no Nagle delay on stanza writes (see bench/README.md).'
    echo "network_settings = { nagle = ${BENCH_PROSODY_NAGLE:-false} }"
    cat "$CFG"
    echo
    echo '-- bench/load.sh: the automated answerer (examples/xmpp_answerer.rs).'
    echo "Component \"$ANS_DOMAIN\""
    echo "    component_secret = \"$ANS_SECRET\""
} >"$CFG.new"
mv "$CFG.new" "$CFG"
prosody -F --config "$WORK/prosody/prosody.cfg.lua" >"$WORK/prosody.console.log" 2>&1 &
PROSODY_PID=$!
PIDS+=("$PROSODY_PID")

wait_until() { # seconds, command...
    local limit=$1; shift
    local end=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < end)) || return 1
        sleep 0.1
    done
}
wait_until 20 bash -c "ss -Hlnt 'sport = :$COMPONENT_PORT' | grep -q ." || die "Prosody did not listen (see $WORK/prosody.console.log)"

# --- the store: STORE_URL is what stox uses, DIRECT_URL what `stox cdr` reads afterwards.
DB_KIND="$DB"
case "$DB" in
    none) STORE_URL="none" ;;
    sqlite) STORE_URL="sqlite://$WORK/stox.db" ;;
    postgres)
        PG_DB="stox_bench_$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
        psql "$BENCH_PG/postgres" -qAtc "CREATE DATABASE $PG_DB" >/dev/null \
            || die "cannot create database $PG_DB on $BENCH_PG"
        STORE_URL="$BENCH_PG/$PG_DB" ;;
    *) STORE_URL="$DB"; DB_KIND=postgres ;;
esac
DIRECT_URL="$STORE_URL"
if ((DB_PROXY)); then
    # The proxy forwards to the server the URL names; stox connects to the proxy instead.
    read -r UP_HOSTPORT STORE_URL < <(python3 - "$DIRECT_URL" "$PROXY_PORT" <<'PY'
import sys
from urllib.parse import urlsplit, urlunsplit
u = urlsplit(sys.argv[1])
host, port = u.hostname or "127.0.0.1", u.port or 5432
auth = u.netloc.rsplit("@", 1)[0] + "@" if "@" in u.netloc else ""
print(f"{host}:{port}", urlunsplit(u._replace(netloc=f"{auth}127.0.0.1:{sys.argv[2]}")))
PY
)
    python3 "$HERE/dbproxy.py" --listen "127.0.0.1:$PROXY_PORT" --upstream "$UP_HOSTPORT" \
        --control "127.0.0.1:$PROXY_CONTROL" --latency-ms "$DB_LATENCY_MS" >"$WORK/dbproxy.log" 2>&1 &
    PIDS+=("$!")
    wait_until 10 grep -q ready "$WORK/dbproxy.log" || die "dbproxy did not start (see $WORK/dbproxy.log)"
fi

# --- stox
cat >"$WORK/stox.toml" <<EOF
[xmpp]
domain = "$GW_DOMAIN"
server = "127.0.0.1:$COMPONENT_PORT"
secret = "$GW_SECRET"

[sip]
listen = ["udp:127.0.0.1:$SIP_PORT"]
trunk_ping_secs = 0

[database]
url = "$STORE_URL"

# Inbound INVITEs are accepted only from a trunk's address: sipp runs on 127.0.0.1.
[[trunk]]
name = "bench"
uri = "sip:127.0.0.1:$TRUNK_PORT"

[[number]]
did = "$DID"
jid = "bench@$ANS_DOMAIN"

[metrics]
listen = "$METRICS"
EOF
sed "s|^url = .*|url = \"$DIRECT_URL\"|" "$WORK/stox.toml" >"$WORK/direct.toml"
RUST_LOG="${RUST_LOG:-warn}" "$STOX" run --config "$WORK/stox.toml" >"$WORK/stox.log" 2>&1 &
STOX_PID=$!
PIDS+=("$STOX_PID")
wait_until 20 bash -c "curl -fs http://$METRICS/metrics | grep -q '^stox_xmpp_connected 1'" \
    || die "stox did not connect to Prosody (see $WORK/stox.log)"

# --- the answerer
"$ANSWERER" --server "127.0.0.1:$COMPONENT_PORT" --domain "$ANS_DOMAIN" --secret "$ANS_SECRET" \
    >"$WORK/answerer.json" 2>"$WORK/answerer.log" &
ANS_PID=$!
PIDS+=("$ANS_PID")
wait_until 20 grep -q connected "$WORK/answerer.log" || die "answerer did not connect (see $WORK/answerer.log)"

# --- one smoke call first, so a broken rig fails fast and clearly
if ! (cd "$WORK" && sipp "127.0.0.1:$SIP_PORT" -sf "$HERE/uac_load.xml" -s "$DID" -i 127.0.0.1 \
        -p "$UAC_PORT" -m 1 -d 100 -nostdin -timeout 15s -timeout_error \
        -trace_err -error_file "$WORK/smoke_err.log" >"$WORK/smoke.out" 2>&1); then
    log "smoke call failed: $(tail -5 "$WORK/smoke_err.log" 2>/dev/null)"
    tail -20 "$WORK/stox.log" >&2
    KEEP=1
    exit 2
fi

SNIFF_PID=""
if ((CAPTURE)); then
    # Wire timestamps on loopback split setup time into gateway vs Prosody+answerer.
    python3 "$HERE/sniff.py" "$SIP_PORT" "$COMPONENT_PORT" "$WORK/sniff.json" >"$WORK/sniff.log" 2>&1 &
    SNIFF_PID=$!
    PIDS+=("$SNIFF_PID")
    wait_until 10 grep -q ready "$WORK/sniff.log" || die "capture did not start (see $WORK/sniff.log; needs root)"
fi

STORE_DESC="$DB_KIND"
[[ $DB_KIND == sqlite ]] && STORE_DESC="sqlite ($WORK/stox.db)"
[[ $DB_KIND == postgres ]] && STORE_DESC="postgres ($(echo "$DIRECT_URL" | sed -E 's|//[^@/]*@|//|'))"
((DB_PROXY)) && STORE_DESC="$STORE_DESC via dbproxy.py (+${DB_LATENCY_MS} ms per chunk each way${DB_OUTAGE:+, outage $DB_OUTAGE})"
log "load: $CALLS calls at $RATE/s, hold ${HOLD_MS} ms, -l $LIMIT, store $STORE_DESC (work dir $WORK)"
set +e
WORK="$WORK" HERE="$HERE" RATE="$RATE" CALLS="$CALLS" LIMIT="$LIMIT" HOLD_MS="$HOLD_MS" \
    SIP_PORT="$SIP_PORT" UAC_PORT="$UAC_PORT" DID="$DID" METRICS="$METRICS" \
    SNIFF_PID="$SNIFF_PID" STOX_PID="$STOX_PID" PROSODY_PID="$PROSODY_PID" ANS_PID="$ANS_PID" \
    DB_KIND="$DB_KIND" STORE_DESC="$STORE_DESC" DB_OUTAGE="$DB_OUTAGE" DRAIN_SECS="$DRAIN_SECS" \
    PROXY_CONTROL="$((DB_PROXY ? PROXY_CONTROL : 0))" STOX="$STOX" \
    python3 - <<'PY'
import csv, glob, json, os, subprocess, sys, threading, time, urllib.request

E = os.environ
WORK = E["WORK"]
TICK = os.sysconf("SC_CLK_TCK")
PIDS = {"stox": int(E["STOX_PID"]), "prosody": int(E["PROSODY_PID"]), "answerer": int(E["ANS_PID"])}


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14, 15)


def machine_busy():
    """busy (non-idle, non-iowait) CPU ticks of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - v[4]


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def metrics():
    with urllib.request.urlopen(f"http://{E['METRICS']}/metrics", timeout=2) as r:
        return r.read().decode()


def setup_buckets(text):
    """cumulative (le, count) of stox_call_setup_seconds."""
    out = []
    for line in text.splitlines():
        if line.startswith("stox_call_setup_seconds_bucket{"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            out.append((float("inf") if le == "+Inf" else float(le), float(line.rsplit(" ", 1)[1])))
    return out


def gauge(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def hist_quantile(q, buckets):
    """Prometheus histogram_quantile: linear interpolation inside the bucket."""
    total = buckets[-1][1] if buckets else 0
    if total <= 0:
        return float("nan")
    rank = q * total
    prev_le, prev_c = 0.0, 0.0
    for le, c in buckets:
        if c >= rank:
            if le == float("inf"):
                return prev_le
            return prev_le + (le - prev_le) * (rank - prev_c) / max(c - prev_c, 1e-9)
        prev_le, prev_c = le, c
    return prev_le


def pct(sorted_v, p):
    if not sorted_v:
        return float("nan")
    i = max(1, min(len(sorted_v), int(-(-p / 100 * len(sorted_v) // 1))))
    return sorted_v[i - 1]


m0 = metrics()
t0_wall_ms = int(time.time() * 1000)
b0 = setup_buckets(m0)
rss0 = status_kb(PIDS["stox"], "VmRSS")
cpu0 = {k: cpu_ticks(p) for k, p in PIDS.items()}
busy0 = machine_busy()
t0 = time.monotonic()

cmd = ["sipp", f"127.0.0.1:{E['SIP_PORT']}", "-sf", f"{E['HERE']}/uac_load.xml", "-s", E["DID"],
       "-i", "127.0.0.1", "-p", E["UAC_PORT"], "-r", E["RATE"], "-rp", "1000", "-m", E["CALLS"],
       "-l", E["LIMIT"], "-d", E["HOLD_MS"], "-buff_size", "4194304", "-nostdin",
       "-timeout", f"{int(E['CALLS']) // max(int(E['RATE']), 1) + 120}s",
       "-trace_rtt", "-rtt_freq", "1", "-trace_stat", "-fd", "1", "-stf", f"{WORK}/sipp_stat.csv",
       "-trace_err", "-error_file", f"{WORK}/sipp_err.log", "-trace_screen", "-screen_file", f"{WORK}/sipp_screen.log"]
with open(f"{WORK}/sipp_cmd.txt", "w") as f:
    f.write(" ".join(cmd) + "\n")
sipp = subprocess.Popen(cmd, cwd=WORK, stdout=open(f"{WORK}/sipp.out", "w"), stderr=subprocess.STDOUT)

samples = []  # (t, active, rss_kb, cpu ticks per process)
stop = threading.Event()


def sampler():
    while not stop.is_set():
        try:
            m = metrics()
            samples.append((time.monotonic() - t0, gauge(m, "stox_calls_active"),
                            status_kb(PIDS["stox"], "VmRSS"),
                            {k: cpu_ticks(p) for k, p in PIDS.items()}))
        except Exception:
            pass
        stop.wait(1.0)


th = threading.Thread(target=sampler, daemon=True)
th.start()

# The store: sampled 4 times a second (backlog, lag, errors, writes), until it has drained.
STORE = E["DB_KIND"] != "none"
store_samples = []  # (t, backlog, lag_s, errors_total, writes_total)
store_stop = threading.Event()


def store_sampler():
    while not store_stop.is_set():
        try:
            m = metrics()
            store_samples.append((time.monotonic() - t0, gauge(m, "stox_store_backlog"),
                                  gauge(m, "stox_store_lag_seconds"), gauge(m, "stox_store_errors_total"),
                                  gauge(m, "stox_store_writes_total")))
        except Exception:
            pass
        store_stop.wait(0.25)


if STORE:
    sth = threading.Thread(target=store_sampler, daemon=True)
    sth.start()

# --db-outage START:LENGTH[:MODE]: the proxy stops forwarding START s into the run, for LENGTH s.
outage = {}


def proxy_ctl(*words):
    import socket
    with socket.create_connection(("127.0.0.1", int(E["PROXY_CONTROL"])), timeout=5) as c:
        c.sendall((" ".join(words) + "\n").encode())
        return json.loads(c.makefile().readline())


def outage_run(start, length, mode):
    time.sleep(max(start - (time.monotonic() - t0), 0))
    outage["down_at"] = time.monotonic() - t0
    outage["down"] = proxy_ctl("down", mode)
    time.sleep(length)
    outage["up_at"] = time.monotonic() - t0
    outage["up"] = proxy_ctl("up")


if E.get("DB_OUTAGE"):
    parts = E["DB_OUTAGE"].split(":")
    outage["mode"] = parts[2] if len(parts) > 2 else "hold"
    threading.Thread(target=outage_run, args=(float(parts[0]), float(parts[1]), outage["mode"]),
                     daemon=True).start()
sipp_cpu = 0
while sipp.poll() is None:
    try:
        sipp_cpu = cpu_ticks(sipp.pid)
    except OSError:
        pass
    time.sleep(0.2)
rc = sipp.returncode
wall = time.monotonic() - t0
busy1 = machine_busy()
cpu_at_end = {k: cpu_ticks(p) for k, p in PIDS.items()}
stop.set()
th.join()
time.sleep(0.5)  # the last BYE's session-terminate reaches the answerer
cpu1 = {k: cpu_ticks(p) for k, p in PIDS.items()}  # before the answerer exits
cap_ticks = cpu_ticks(int(E["SNIFF_PID"])) if E.get("SNIFF_PID") else None
m1 = metrics()
b1 = setup_buckets(m1)
hwm = status_kb(PIDS["stox"], "VmHWM")

# Let the store catch up (the last calls' End writes, or an outage's backlog), then read
# what it committed for this run and the CDRs it holds.
store = {}
if STORE:
    sipp_end = time.monotonic() - t0
    if outage and "up_at" not in outage:  # the outage outlasted the run: end it first
        while "up_at" not in outage and time.monotonic() - t0 < sipp_end + 120:
            time.sleep(0.1)
    deadline = time.monotonic() + float(E["DRAIN_SECS"])
    m2 = metrics()
    while gauge(m2, "stox_store_backlog") > 0 and time.monotonic() < deadline:
        time.sleep(0.1)
        m2 = metrics()
    drained_at = time.monotonic() - t0
    time.sleep(0.3)
    store_stop.set()
    sth.join()
    m2 = metrics()
    writes = gauge(m2, "stox_store_writes_total") - gauge(m0, "stox_store_writes_total")
    batches = gauge(m2, "stox_store_batches_total") - gauge(m0, "stox_store_batches_total")
    errors = gauge(m2, "stox_store_errors_total") - gauge(m0, "stox_store_errors_total")
    backlog_end = gauge(m2, "stox_store_backlog")
    ss = store_samples
    store = {
        "writes": writes, "batches": batches, "errors": errors,
        "backlog_max": max((x[1] for x in ss), default=0), "lag_max_s": max((x[2] for x in ss), default=0),
        "backlog_end": backlog_end, "drained": backlog_end == 0,
        "drain_after_sipp_s": drained_at - sipp_end,
    }
    if outage.get("up_at") is not None:
        down, up = outage["down_at"], outage["up_at"]
        during = [x for x in ss if down <= x[0] <= up + 0.25]
        store["outage"] = {"mode": outage["mode"], "down_at_s": down, "up_at_s": up,
                           "lag_max_s": max((x[2] for x in during), default=0),
                           "backlog_max": max((x[1] for x in during), default=0),
                           "errors": max((x[3] for x in ss), default=0) - min((x[3] for x in ss), default=0)}
        # Caught up: the first sample after "up" with an empty queue (or, under load that
        # never lets it empty, with the lag back under 1 s).
        after = [x for x in ss if x[0] > up]
        zero = next((x[0] for x in after if x[1] == 0), None)
        small = next((x[0] for x in after if x[2] < 1.0), None)
        store["outage"]["backlog_zero_after_up_s"] = None if zero is None else zero - up
        store["outage"]["lag_below_1s_after_up_s"] = None if small is None else small - up
    try:
        out = subprocess.run([E["STOX"], "cdr", "--config", f"{WORK}/direct.toml", "--since", "1h", "--json"],
                             capture_output=True, text=True, timeout=60)
        cdrs = [json.loads(l) for l in out.stdout.splitlines() if l.strip().startswith("{")]
        mine = [c for c in cdrs if c.get("end_ms", 0) >= t0_wall_ms]
        store["cdrs"] = len(mine)
        store["cdrs_distinct"] = len({c["id"] for c in mine})
        store["cdrs_answered"] = sum(1 for c in mine if c.get("answer_ms") is not None)
        if out.returncode != 0:
            store["cdr_error"] = out.stderr.strip()[-300:]
    except Exception as e:
        store["cdr_error"] = str(e)

# sipp's final counters
with open(f"{WORK}/sipp_stat.csv") as f:
    rows = list(csv.reader(f, delimiter=";"))
hdr, last = rows[0], rows[-1]
stat = dict(zip(hdr, last))
created = int(stat.get("TotalCallCreated", 0))
ok = int(stat.get("SuccessfulCall(C)", 0))
failed = int(stat.get("FailedCall(C)", 0))
retrans = int(stat.get("Retransmissions(C)", 0))
# per-period (1 s) successful calls, for "sustained"
per_s = [int(dict(zip(hdr, r)).get("SuccessfulCall(P)", 0)) for r in rows[1:]]
steady = per_s[2:-3] if len(per_s) > 6 else per_s
if store:
    store["writes_per_call"] = store["writes"] / max(ok, 1)

# INVITE→200 per call
rtt = []  # (t_200_ms, rt_ms)
for path in glob.glob(f"{WORK}/*_rtt.csv"):
    with open(path) as f:
        for line in f:
            parts = line.strip().split(";")
            if len(parts) >= 2 and parts[1].replace(".", "", 1).isdigit():
                rtt.append((float(parts[0]), float(parts[1])))
rts = sorted(r for _, r in rtt)
if len(rtt) > 1:
    invites = sorted(t - r for t, r in rtt)
    answers = sorted(t for t, _ in rtt)
    offered = (len(invites) - 1) / max((invites[-1] - invites[0]), 1e-9) * 1000  # Date_ms: ms since sipp started
    completed = (len(answers) - 1) / max((answers[-1] - answers[0]), 1e-9) * 1000
else:
    offered = completed = float("nan")

# the gateway's own setup histogram, for this run only
b = [(le, c1 - c0) for (le, c1), (_, c0) in zip(b1, b0)] if len(b0) == len(b1) else b1

# peak concurrency: stox's gauge sampled every second
peak_active = max((s[1] for s in samples), default=0)
steady_cpu = {}
if len(samples) > 4:
    # CPU over the sampled steady part (from 2 s in until the last sample before ramp-down)
    a, z = samples[2], samples[-3]
    dt = z[0] - a[0]
    steady_cpu = {k: (z[3][k] - a[3][k]) / TICK / dt for k in PIDS}

# The answerer and the capture print their results (JSON) when they get SIGTERM.
import signal
os.kill(PIDS["answerer"], signal.SIGTERM)
sniff = {}
if E.get("SNIFF_PID"):
    os.kill(int(E["SNIFF_PID"]), signal.SIGTERM)
    for _ in range(100):
        if os.path.exists(f"{WORK}/sniff.json"):
            break
        time.sleep(0.1)
    time.sleep(0.2)
    try:
        sniff = json.load(open(f"{WORK}/sniff.json"))
    except Exception:
        sniff = {}
for _ in range(50):
    if os.path.exists(f"{WORK}/answerer.json") and os.path.getsize(f"{WORK}/answerer.json"):
        break
    time.sleep(0.1)
try:
    ans = json.load(open(f"{WORK}/answerer.json")) if os.path.getsize(f"{WORK}/answerer.json") else {}
except Exception:
    ans = {}

cpu_s = {k: (cpu1[k] - cpu0[k]) / TICK for k in PIDS}
cpu_s["sipp"] = sipp_cpu / TICK
mb = lambda kb: kb / 1024
lines = [
    ("calls offered (sipp created)", f"{created}"),
    ("calls completed (INVITE..BYE 200)", f"{ok}"),
    ("calls failed", f"{failed}"),
    ("SIP retransmissions (sipp)", f"{retrans}"),
    ("target rate", f"{E['RATE']} calls/s"),
    ("offered rate (INVITE send times)", f"{offered:.1f} calls/s"),
    ("answered rate (200 receive times)", f"{completed:.1f} calls/s"),
    ("completed calls per 1 s period, min/median/max (steady)",
     f"{min(steady) if steady else 0} / {sorted(steady)[len(steady)//2] if steady else 0} / {max(steady) if steady else 0}"),
    ("INVITE->200 at sipp p50 / p99 / max", f"{pct(rts,50):.2f} / {pct(rts,99):.2f} / {pct(rts,100):.2f} ms  (n={len(rts)})"),
    ("stox_call_setup_seconds p50 / p99 (bucket-interpolated)",
     f"{hist_quantile(0.5, b)*1000:.2f} / {hist_quantile(0.99, b)*1000:.2f} ms"),
    ("answerer: proceed->session-initiate p50 / p99",
     f"{ans.get('turnaround_us',{}).get('p50',0)/1000:.2f} / {ans.get('turnaround_us',{}).get('p99',0)/1000:.2f} ms"),
    ("answerer: own handling per stanza p50 / p99",
     f"{ans.get('own_us',{}).get('p50',0)} / {ans.get('own_us',{}).get('p99',0)} us"),
]
if sniff:
    f3 = lambda d: f"{d['p50']:.2f} / {d['p99']:.2f} / {d['max']:.2f} ms  (>10 ms: {d['over_10ms']})" if d.get("p50") is not None else "n/a"
    lines += [
        ("wire: INVITE->200 total p50 / p99 / max", f3(sniff["total"]) + f"  (n={sniff['complete']})"),
        ("wire: gateway-added (3 hops in stox) p50 / p99 / max", f3(sniff["gateway"])),
        ("  INVITE->propose", f3(sniff["gw_invite"])),
        ("  proceed->session-initiate", f3(sniff["gw_proceed"])),
        ("  session-accept->200", f3(sniff["gw_accept"])),
        ("wire: Prosody + answerer (2 round trips) p50 / p99 / max", f3(sniff["xmpp"])),
    ]
lines += [
    ("wall time of the sipp run", f"{wall:.1f} s"),
    ("store", E["STORE_DESC"]),
]
if store:
    lines += [
        ("store writes committed / per completed call",
         f"{store['writes']:.0f} / {store['writes_per_call']:.2f}  ({store['batches']:.0f} transactions)"),
        ("store errors (failed transactions, retried)", f"{store['errors']:.0f}"),
        ("store backlog max / lag max (sampled every 0.25 s)",
         f"{store['backlog_max']:.0f} writes / {store['lag_max_s']:.2f} s"),
        ("store backlog after the run",
         f"0 after {store['drain_after_sipp_s']:.1f} s" if store["drained"]
         else f"{store['backlog_end']:.0f} still queued after {E['DRAIN_SECS']} s"),
    ]
    if "outage" in store:
        o = store["outage"]
        fmt = lambda v: "never" if v is None else f"{v:.1f} s"
        lines += [
            ("store outage (dbproxy " + o["mode"] + ")",
             f"{o['down_at_s']:.1f} s .. {o['up_at_s']:.1f} s into the run; lag max {o['lag_max_s']:.2f} s, "
             f"backlog max {o['backlog_max']:.0f}, errors {o['errors']:.0f}"),
            ("store after the outage: backlog 0 / lag < 1 s",
             f"{fmt(o['backlog_zero_after_up_s'])} / {fmt(o['lag_below_1s_after_up_s'])} after up"),
        ]
    if "cdrs" in store:
        lines.append(("CDRs of this run in the store (stox cdr)",
                      f"{store['cdrs']} ({store['cdrs_distinct']} distinct ids, {store['cdrs_answered']} answered)"
                      f" for {ok} completed calls"))
    if "cdr_error" in store:
        lines.append(("stox cdr error", store["cdr_error"]))
if cap_ticks is not None:
    cpu_s["capture"] = cap_ticks / TICK
for k in [k for k in ["stox", "prosody", "answerer", "sipp", "capture"] if k in cpu_s]:
    steady_txt = f", steady {steady_cpu[k]*100:.0f}%" if k in steady_cpu else ""
    lines.append((f"CPU {k} (whole run{', steady' if steady_txt else ''})",
                  f"{cpu_s[k]:.2f} s = {cpu_s[k]/wall*100:.0f}% of a core{steady_txt}"))
ours = sum(cpu_at_end[k] - cpu0[k] for k in PIDS) / TICK + cpu_s["sipp"] + cpu_s.get("capture", 0)
lines.append(("CPU of everything else on the machine (/proc/stat)",
              f"{max((busy1 - busy0) / TICK - ours, 0):.2f} s = {max((busy1 - busy0) / TICK - ours, 0)/wall*100:.0f}% of a core"
              f" (of {os.cpu_count()} cores)"))
lines += [
    ("stox CPU per call", f"{cpu_s['stox']/max(ok,1)*1e6:.0f} us"),
    ("Prosody CPU per call", f"{cpu_s['prosody']/max(ok,1)*1e6:.0f} us"),
    ("stox RSS before / peak (VmHWM)", f"{mb(rss0):.1f} / {mb(hwm):.1f} MiB"),
    ("peak concurrent calls (stox_calls_active)", f"{peak_active:.0f}"),
    ("stox memory per concurrent call", f"{(hwm-rss0)/max(peak_active,1):.1f} KiB" if peak_active else "n/a"),
    ("sipp exit code", f"{rc}"),
]
w = max(len(k) for k, _ in lines)
print()
print("stox call load — summary")
for k, v in lines:
    print(f"  {k.ljust(w)}  {v}")
print(f"  answerer counters: {json.dumps({k: v for k, v in ans.items() if not isinstance(v, dict)})}")
print(f"  sipp command: {open(f'{WORK}/sipp_cmd.txt').read().strip()}")
with open(f"{WORK}/summary.json", "w") as f:
    kv = {"db": E["DB_KIND"], "store_desc": E["STORE_DESC"], "rate": int(E["RATE"]), "created": created,
          "completed": ok, "failed": failed, "retransmissions": retrans, "offered_rate": offered,
          "answered_rate": completed, "p50_ms": pct(rts, 50), "p99_ms": pct(rts, 99), "max_ms": pct(rts, 100),
          "wall_s": wall, "stox_cpu_s": cpu_s["stox"], "stox_cpu_pct": cpu_s["stox"] / wall * 100,
          "stox_cpu_steady_pct": steady_cpu.get("stox", float("nan")) * 100,
          "stox_us_per_call": cpu_s["stox"] / max(ok, 1) * 1e6, "sipp_rc": rc, "store": store}
    json.dump({"lines": lines, "samples": samples, "answerer": ans, "per_s": per_s, "kv": kv,
               "store_samples": store_samples, "outage": outage}, f)
sys.exit(0 if (failed == 0 and rc == 0 and ok == created == int(E["CALLS"])) else 1)
PY
RC=$?
set -e
if [[ -n $SUMMARY_JSON && -f $WORK/summary.json ]]; then cp "$WORK/summary.json" "$SUMMARY_JSON"; fi
wait "$ANS_PID" 2>/dev/null || true
log "answerer: $(cat "$WORK/answerer.json" 2>/dev/null)"
if grep -qiE ' (WARN|ERROR) ' "$WORK/stox.log"; then
    log "stox warnings/errors: $(grep -ciE ' (WARN|ERROR) ' "$WORK/stox.log") (first 5 below)"
    grep -iE ' (WARN|ERROR) ' "$WORK/stox.log" | head -5 >&2
fi
if ((RC != 0)); then
    log "FAILED calls or sipp error (see $WORK/sipp_err.log, $WORK/sipp_screen.log)"
    KEEP=1
fi
exit "$RC"
