#!/usr/bin/env bash
# The project test command: formatting, lints, unit/integration/doc tests, the
# corpus report, the benchmarks (once each, criterion's test mode), DNS and
# real-peer interop runs and a short fuzz smoke run.
#
# Build cost on a cold target dir (2 cores): the test/dev-profile build is
# shared by nextest, the doc tests, the corpus report and the benchmarks; the
# only release build is the interop step's `cargo build --release`; fuzz/ builds
# the sans-IO core only (`stox` without its default `gateway` feature).
#
#   ./scripts/test.sh                    # everything; stops at the first failing step
#   STOX_KEEP_GOING=1 ./scripts/test.sh  # run every step, list the failures at the end
#   FUZZ_SECONDS=60 ./scripts/test.sh    # longer fuzz smoke (default 20 s per target)
#
# Needs the shared interop corpus next to the checkout (../shared/corpus, or
# STOX_CORPUS) and, for the store tests, the restart and the cluster runs,
# Postgres on 127.0.0.1:5432 (user postgres, trust; interop/postgres.sh starts
# one when none answers). Installs Prosody, sipp (Debian sip-tester), Kamailio, ejabberd and slixmpp
# on first use (interop/setup.sh), dnsmasq (interop/dns.sh), rtpengine (interop/rtpengine.sh) and cargo-fuzz (scripts/fuzz-smoke.sh); uses
# cargo-nextest when installed, plain `cargo test` otherwise. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

CORPUS="${STOX_CORPUS:-../shared/corpus}"
if [[ ! -d "$CORPUS/sdp" || ! -d "$CORPUS/jingle" ]]; then
    echo "test.sh: the shared interop corpus is missing: expected $CORPUS/sdp and $CORPUS/jingle" >&2
    echo "test.sh: (relative to $(pwd)); the tests and the fuzz seeds read it." >&2
    exit 1
fi

KEEP_GOING="${STOX_KEEP_GOING:-0}"
failed=()
timings=()
started=$SECONDS

# step NAME COMMAND...: runs COMMAND, records its wall time, stops on failure
# unless STOX_KEEP_GOING=1.
step() {
    local name=$1
    shift
    echo "==> $name: $*" >&2
    local t0=$SECONDS rc=0
    "$@" || rc=$?
    timings+=("$(printf '%5ds  %s' $((SECONDS - t0)) "$name")")
    if ((rc != 0)); then
        echo "==> $name FAILED (exit $rc)" >&2
        failed+=("$name")
        if [[ "$KEEP_GOING" != 1 ]]; then
            summary
            exit "$rc"
        fi
    fi
}

summary() {
    echo "==> step timings:" >&2
    printf '    %s\n' "${timings[@]}" >&2
    echo "==> total $((SECONDS - started))s" >&2
}

# Real peers first: Prosody, sipp and the slixmpp venv (apt-get/pip, idempotent);
# tests/xmpp_link.rs needs Prosody and the interop run needs all three.
step "interop setup" interop/setup.sh
# The store tests and the durable-call runs need PostgreSQL on 127.0.0.1:5432:
# the machine's, or a private one started here.
step "postgres" interop/postgres.sh
step "rustfmt" cargo fmt --all -- --check
step "rustfmt (fuzz)" cargo fmt --manifest-path fuzz/Cargo.toml -- --check
step "clippy" cargo clippy --all-targets -- -D warnings
step "clippy (fuzz)" cargo clippy --manifest-path fuzz/Cargo.toml -- -D warnings
# The library without the I/O `gateway` feature: what fuzz/ links.
step "clippy (sans-IO core)" cargo clippy --lib --no-default-features -- -D warnings
if cargo nextest --version >/dev/null 2>&1; then
    step "tests (nextest)" cargo nextest run
    # nextest does not run doc tests.
    step "doc tests" cargo test --doc
else
    # Plain cargo test also runs the doc tests.
    step "tests" cargo test
fi
if [[ -f tests/corpus.rs ]]; then
    step "corpus report" cargo test --test corpus -- --nocapture
fi
# The benchmarks in criterion's test mode (each benchmark run once, unoptimised):
# proves they compile and run, reusing the test build above. (`cargo bench
# --no-run` built the library, its unit tests and the binary a second time, in
# the release-based bench profile; the interop step's `cargo build --release`
# is now the only release build.)
# Figures are taken with `cargo bench --bench translate` (BENCHMARKS.md).
step "benches (test mode)" cargo test --bench '*'
step "dns (dnsmasq: NAPTR/SRV, fail-over)" interop/dns.sh
step "rtpengine (ng client against the daemon)" interop/rtpengine.sh test
step "interop (Prosody + sipp + slixmpp)" scripts/interop.sh
# Real audio both ways, Chromium ⇄ baresip, in every media mode (needs the
# release build the interop step made).
step "media (Chromium + baresip: passthrough, embedded, rtpengine)" interop/media.sh
step "restart (kill -9, SQLite and Postgres)" python3 interop/restart.py
step "cluster (ejabberd, two instances, Postgres)" python3 interop/cluster.py
step "slow database (latency, outage)" interop/slowdb.py
step "fuzz smoke" scripts/fuzz-smoke.sh

summary
if ((${#failed[@]} > 0)); then
    echo "==> FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "==> all checks passed" >&2
