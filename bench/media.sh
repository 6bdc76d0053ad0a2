#!/usr/bin/env bash
# Media relay benchmark (issue 6): the embedded anchor and rtpengine (userspace),
# plain RTP ⇄ RTP and DTLS-SRTP ⇄ RTP, at several call counts, in one run.
#
#   bench/media.sh                                   # 100 250 500 calls, 20 s windows
#   bench/media.sh --calls "100 300 600" --seconds 30
#   bench/media.sh --anchors embedded --kinds dtls --calls 500 --no-build
#   bench/media.sh --json results.jsonl              # also keep the raw JSON lines
#
# `none` (first, plain RTP only) is `load --direct`: no anchor, each leg sends
# straight to the other, the generator's and kernel's own latency floor.
# Each (calls, kind, anchor) gets a fresh anchor process: the embedded one is
# `media_bench anchor` (stox's MediaAnchors on stox's multi-thread runtime,
# behind a minimal ng shim), rtpengine is `interop/rtpengine.sh run` with
# --log-level=$RTPENGINE_LOG_LEVEL (default 4, warnings) and
# --num-threads=$RTPENGINE_NUM_THREADS (default 2, one per core, as tokio's
# worker count). `media_bench load` drives both over ng the same way and
# measures a window after a warm-up; this script prints a Markdown table.
# Ports (127.0.0.1): ng 22398 (rtpengine) / 22399 (embedded), media 20000-29999.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"

CALLS="100 250 500"
SECONDS_=20
WARMUP=3
ANCHORS="none embedded rtpengine"
KINDS="rtp dtls"
BUILD=1
JSON=""
while (($#)); do
    case "$1" in
        --calls) CALLS="$2"; shift 2 ;;
        --seconds) SECONDS_="$2"; shift 2 ;;
        --warmup) WARMUP="$2"; shift 2 ;;
        --anchors) ANCHORS="$2"; shift 2 ;;
        --kinds) KINDS="$2"; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --json) JSON="$2"; shift 2 ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) echo "media.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
NG_RTPENGINE="${BENCH_NG_RTPENGINE:-22398}"
NG_EMBEDDED="${BENCH_NG_EMBEDDED:-22399}"
PORT_MIN="${BENCH_MEDIA_MIN:-20000}"
PORT_MAX="${BENCH_MEDIA_MAX:-29999}"
export RTPENGINE_LOG_LEVEL="${RTPENGINE_LOG_LEVEL:-4}"
export RTPENGINE_NUM_THREADS="${RTPENGINE_NUM_THREADS:-2}"

log() { echo "media.sh: $*" >&2; }

WORK="$(mktemp -d /tmp/stox-media-bench-XXXXXX)"
TARGET="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
if ((BUILD)); then
    (cd "$ROOT" && cargo build --release --example media_bench)
fi
# A private copy: a later build in the shared target dir cannot swap it mid-run.
cp "$TARGET/release/examples/media_bench" "$WORK/media_bench"
if [[ $ANCHORS == *rtpengine* ]]; then
    "$ROOT/interop/rtpengine.sh" install
fi

ANCHOR_PID=""
stop_anchor() {
    if [[ -n $ANCHOR_PID ]] && kill -0 "$ANCHOR_PID" 2>/dev/null; then
        kill "$ANCHOR_PID" 2>/dev/null || true
        wait "$ANCHOR_PID" 2>/dev/null || true
    fi
    ANCHOR_PID=""
    "$ROOT/interop/rtpengine.sh" stop "$WORK/rtpengine" 2>/dev/null || true
}
trap stop_anchor EXIT

start_anchor() { # NAME → sets ANCHOR_PID and NG
    case "$1" in
        embedded)
            NG="127.0.0.1:$NG_EMBEDDED"
            "$WORK/media_bench" anchor --ng "$NG" --ports "$PORT_MIN-$PORT_MAX" \
                >>"$WORK/embedded.log" 2>&1 &
            ANCHOR_PID=$!
            sleep 0.3
            ;;
        rtpengine)
            NG="127.0.0.1:$NG_RTPENGINE"
            "$ROOT/interop/rtpengine.sh" run "$WORK/rtpengine" "$NG_RTPENGINE" "$PORT_MIN" "$PORT_MAX" 2>>"$WORK/rtpengine-run.log"
            ANCHOR_PID=$(cat "$WORK/rtpengine/rtpengine.pid")
            ;;
        none) NG=""; ANCHOR_PID="" ;; # load --direct: the generator's own floor
        *) log "unknown anchor $1"; exit 2 ;;
    esac
}

machine_state() { # load average, then the busiest processes over one second
    echo "loadavg $(cat /proc/loadavg); nproc $(nproc)"
    top -bn2 -d1 -o %CPU | awk '/^top -/{n++} n==2' | sed -n '3p;7,12p'
}

log "work dir $WORK"
machine_state | tee "$WORK/machine-before.txt" >&2
RESULTS="$WORK/results.jsonl"
: >"$RESULTS"
for n in $CALLS; do
    for kind in $KINDS; do
        for anchor in $ANCHORS; do
            [[ $anchor == none && $kind != rtp ]] && continue
            start_anchor "$anchor"
            log "$anchor $kind $n calls (anchor pid ${ANCHOR_PID:-none})"
            if [[ $anchor == none ]]; then
                target=(--direct)
            else
                target=(--ng "$NG" --pid "$ANCHOR_PID")
            fi
            if ! "$WORK/media_bench" load "${target[@]}" --calls "$n" \
                --seconds "$SECONDS_" --warmup "$WARMUP" --kind "$kind" --label "$anchor" \
                >>"$RESULTS" 2>>"$WORK/load.log"; then
                log "load failed ($anchor $kind $n): $(tail -n 3 "$WORK/load.log")"
            fi
            tail -n 1 "$WORK/load.log" >&2
            stop_anchor
        done
    done
done
machine_state | tee "$WORK/machine-after.txt" >&2
[[ -n $JSON ]] && cp "$RESULTS" "$JSON"

python3 - "$RESULTS" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
print()
print("| anchor | legs | calls (ok) | relayed pkt/s | anchor CPU, % of a core | CPU µs / relayed packet | calls at 50 % of a core | loss x→s / s→x | added latency p50 / p99 / max (µs) | generator CPU % | other CPU % | pacer lag max |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
legs = {"rtp": "RTP ⇄ RTP", "dtls": "DTLS-SRTP ⇄ RTP"}
for r in rows:
    l = r["latency_us"]
    print(f"| {r['anchor']} | {legs.get(r['kind'], r['kind'])} | {r['calls']} ({r['calls_ok']}) "
          f"| {r['relayed_pps']:.0f} | {r['anchor_cpu_pct']:.1f} | {r['anchor_us_per_packet']:.2f} "
          f"| {r['calls_at_50pct_core']:.0f} "
          f"| {r['xmpp_to_sip']['loss_pct']:.3f} % / {r['sip_to_xmpp']['loss_pct']:.3f} % "
          f"| {l['p50']:.0f} / {l['p99']:.0f} / {l['max']:.0f} "
          f"| {r['generator_cpu_pct']:.0f} | {r['other_cpu_pct']:.0f} | {r['pacer_lag_max_ms']:.1f} ms |")
PY
log "raw results: $RESULTS (logs in $WORK)"
