#!/usr/bin/env bash
# Real-peer interop run: installs the harness (Prosody, sipp, slixmpp venv),
# builds the release binary and runs every scenario of interop/e2e.py against it.
#   scripts/interop.sh                        # everything
#   scripts/interop.sh --only out-busy        # extra arguments go to interop/e2e.py
#   STOX_BIN=/path/to/stox scripts/interop.sh # skip nothing, but test that binary
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> interop/setup.sh" >&2
interop/setup.sh
if [[ -z "${STOX_BIN:-}" ]]; then
    echo "==> cargo build --release" >&2
    cargo build --release
    export STOX_BIN="$PWD/target/release/stox"
fi
echo "==> interop/e2e.py $* (stox: $STOX_BIN)" >&2
exec python3 interop/e2e.py "$@"
