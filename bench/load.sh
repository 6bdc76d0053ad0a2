#!/usr/bin/env bash
# Call load through the gateway: sipp (UAC) → stox → Prosody → automated XMPP
# answerer (examples/xmpp_answerer.rs, a second XEP-0114 component), and back.
#
#   bench/load.sh                          # 500 calls/s for 30 s, 1 s hold
#   bench/load.sh --rate 300 --duration 20 --hold-ms 1000
#   bench/load.sh --no-build --keep        # reuse binaries; keep the work dir
#   bench/load.sh --capture                # + loopback capture (root): gateway vs XMPP split
#
# Prints a summary (offered/completed calls/s, failed calls, INVITE→200 p50/p99,
# the gateway's setup histogram, CPU and memory of stox, Prosody, the answerer
# and sipp) and exits 1 if any call failed, 2 if the rig could not start.
# Ports (127.0.0.1, overridable via env): Prosody c2s 35222 and component
# 35347, stox SIP 35060/udp, sipp 35070, stox metrics 39090.
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
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
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

for p in "$C2S_PORT/tcp" "$COMPONENT_PORT/tcp" "$SIP_PORT/udp" "$UAC_PORT/udp" "${METRICS##*:}/tcp"; do
    port="${p%/*}"
    if ss -Hlnut "sport = :$port" | grep -q .; then die "port $port is in use"; fi
done

WORK="$(mktemp -d /tmp/stox-bench-XXXXXX)"
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
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
url = "sqlite://$WORK/stox.db"

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

log "load: $CALLS calls at $RATE/s, hold ${HOLD_MS} ms, -l $LIMIT (work dir $WORK)"
set +e
WORK="$WORK" HERE="$HERE" RATE="$RATE" CALLS="$CALLS" LIMIT="$LIMIT" HOLD_MS="$HOLD_MS" \
    SIP_PORT="$SIP_PORT" UAC_PORT="$UAC_PORT" DID="$DID" METRICS="$METRICS" \
    SNIFF_PID="$SNIFF_PID" STOX_PID="$STOX_PID" PROSODY_PID="$PROSODY_PID" ANS_PID="$ANS_PID" \
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
]
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
    json.dump({"lines": lines, "samples": samples, "answerer": ans, "per_s": per_s}, f)
sys.exit(0 if (failed == 0 and rc == 0 and ok == created == int(E["CALLS"])) else 1)
PY
RC=$?
set -e
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
