#!/usr/bin/env bash
# The call store's cost under load: bench/load.sh three times at the same rate and
# duration — no store, SQLite (a file in the work dir), Postgres (a fresh database on
# the local server) — and one side-by-side table.
#
#   bench/store.sh                               # --rate 200 --duration 20 --hold-ms 1000
#   bench/store.sh --rate 300 --duration 30      # other arguments go to every load.sh run
#   bench/store.sh --order "postgres sqlite none"
#
# Builds once, then runs load.sh --no-build; each run's full summary goes to stderr and
# its JSON to the results directory (BENCH_STORE_OUT, default a temp dir, printed).
# Exits 1 if any run had failed calls or did not complete.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"

ORDER="none sqlite postgres"
ARGS=()
HAS_RATE=0
HAS_DURATION=0
while (($#)); do
    case "$1" in
        --order) ORDER="$2"; shift 2 ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        --rate) HAS_RATE=1; ARGS+=("$1" "$2"); shift 2 ;;
        --duration) HAS_DURATION=1; ARGS+=("$1" "$2"); shift 2 ;;
        *) ARGS+=("$1"); shift ;;
    esac
done
((HAS_RATE)) || ARGS+=(--rate 200)
((HAS_DURATION)) || ARGS+=(--duration 20)

OUT="${BENCH_STORE_OUT:-$(mktemp -d /tmp/stox-store-bench-XXXXXX)}"
mkdir -p "$OUT"
echo "store.sh: load.sh ${ARGS[*]} with --db each of: $ORDER (results in $OUT)" >&2

rc=0
build=()
for db in $ORDER; do
    echo "store.sh: === --db $db" >&2
    "$HERE/load.sh" "${ARGS[@]}" --db "$db" --json "$OUT/$db.json" "${build[@]}" >&2 || rc=1
    build=(--no-build --no-setup)
done

python3 - "$OUT" $ORDER <<'PY'
import json, math, os, sys

out, order = sys.argv[1], sys.argv[2:]
runs = {}
for db in order:
    try:
        d = json.load(open(os.path.join(out, f"{db}.json")))
        runs[db] = d["kv"]
        runs[db]["other_cpu"] = next((v for k, v in d["lines"] if k.startswith("CPU of everything else")), "n/a")
    except Exception:
        runs[db] = None


def f(v, fmt):
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, fmt)


rows = [
    ("calls completed / offered", lambda k: f"{k['completed']} / {k['created']}"),
    ("failed calls", lambda k: f"{k['failed']}"),
    ("set-up rate achieved (200s/s)", lambda k: f(k["answered_rate"], ".1f")),
    ("INVITE→200 p50 / p99", lambda k: f"{f(k['p50_ms'], '.0f')} / {f(k['p99_ms'], '.0f')} ms"),
    ("store writes per call", lambda k: f(k["store"].get("writes_per_call"), ".2f") if k["store"] else "—"),
    ("store transactions / errors", lambda k: f"{k['store']['batches']:.0f} / {k['store']['errors']:.0f}" if k["store"] else "—"),
    ("store backlog max / lag max", lambda k: f"{k['store']['backlog_max']:.0f} / {k['store']['lag_max_s']:.2f} s" if k["store"] else "—"),
    ("CDRs stored", lambda k: f"{k['store'].get('cdrs', 'n/a')}" if k["store"] else "—"),
    ("stox CPU, whole run", lambda k: f"{k['stox_cpu_s']:.2f} s = {k['stox_cpu_pct']:.0f} % of a core"),
    ("stox CPU per call", lambda k: f"{k['stox_us_per_call']:.0f} µs"),
    ("CPU of everything else (Postgres, other builds)", lambda k: k["other_cpu"].split(" (of")[0]),
]
head = ["", *[f"`{db}`" for db in order]]
print()
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for name, get in rows:
    cells = []
    for db in order:
        k = runs[db]
        try:
            cells.append(get(k) if k else "run failed")
        except Exception:
            cells.append("n/a")
    print(f"| {name} | " + " | ".join(cells) + " |")
PY
exit "$rc"
