#!/usr/bin/env bash
# Fuzz smoke test: seeds the libFuzzer corpora from the shared interop corpus and
# runs every cargo-fuzz target (fuzz/) for a short while; fails on any crash,
# panic, timeout or out-of-memory.
#
#   scripts/fuzz-smoke.sh                          # 20 s per target (CI smoke)
#   FUZZ_SECONDS=3600 scripts/fuzz-smoke.sh        # the long run: one hour per target
#   FUZZ_SECONDS=3600 FUZZ_TARGETS=jingle_to_sdp scripts/fuzz-smoke.sh
#
# A crash leaves its input in fuzz/artifacts/<target>/; replay it with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run -a <target> fuzz/artifacts/<target>/crash-…
# The corpora (fuzz/corpus/<target>/) keep growing between runs; they are
# gitignored and re-seeded on every run.
#
# cargo-fuzz needs nightly-only rustc flags (-Zsanitizer=address, …). With only a
# stable toolchain installed, RUSTC_BOOTSTRAP=1 unlocks them.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS="${FUZZ_SECONDS:-20}"
FUZZ_TARGETS="${FUZZ_TARGETS:-sdp_to_jingle jingle_to_sdp sip_message}"
CORPUS="${STOX_CORPUS:-../shared/corpus}"
export RUSTC_BOOTSTRAP=1

if [[ ! -d "$CORPUS/sdp" || ! -d "$CORPUS/jingle" || ! -d "$CORPUS/sip" ]]; then
    echo "fuzz-smoke: shared corpus not found at $CORPUS (expected sdp/, jingle/ and sip/ in it;" \
        "set STOX_CORPUS to point elsewhere)" >&2
    exit 1
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz-smoke: installing cargo-fuzz (one-off, a few minutes)" >&2
    cargo install cargo-fuzz --locked
fi

# Seed corpora (copies, never committed: fuzz/corpus is gitignored).
mkdir -p fuzz/corpus/sdp_to_jingle fuzz/corpus/jingle_to_sdp fuzz/corpus/sip_message
cp "$CORPUS"/sdp/*.sdp fuzz/corpus/sdp_to_jingle/
if compgen -G "$CORPUS/torture/*.sdp" >/dev/null; then
    cp "$CORPUS"/torture/*.sdp fuzz/corpus/sdp_to_jingle/
fi
cp "$CORPUS"/jingle/*.xml fuzz/corpus/jingle_to_sdp/
cp "$CORPUS"/sip/*.sip "$CORPUS"/torture/*.sip fuzz/corpus/sip_message/

# -a: debug assertions (and overflow checks) on, in the optimised build.
cargo fuzz build -a

for target in $FUZZ_TARGETS; do
    echo "fuzz-smoke: $target for ${FUZZ_SECONDS}s" >&2
    cargo fuzz run -a "$target" -- \
        -max_total_time="$FUZZ_SECONDS" \
        -timeout=10 \
        -rss_limit_mb=2048 \
        -print_final_stats=1
done
echo "fuzz-smoke: no crash in $FUZZ_TARGETS (${FUZZ_SECONDS}s each)" >&2
