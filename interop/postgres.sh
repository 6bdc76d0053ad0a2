#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:${PGPORT:-5432} for the
# store tests and the durable-call runs (user postgres, trust auth, database
# `test`). Uses the one running when there is one; otherwise installs Debian's
# postgresql (apt-get, as root) and starts a private cluster in
# ${STOX_PG_DIR:-/tmp/stox-postgres}, owned by the postgres user, which stays up
# for the rest of the run. Idempotent.
#
#   interop/postgres.sh              # ensure 127.0.0.1:5432
#   PGPORT=5499 interop/postgres.sh  # another port (tests then need STOX_PG_URL)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PORT="${PGPORT:-5432}"
DIR="${STOX_PG_DIR:-/tmp/stox-postgres}"

ready() { pg_isready -q -h 127.0.0.1 -p "$PORT" 2>/dev/null; }
log() { echo "postgres.sh: $*" >&2; }

if command -v pg_isready >/dev/null && ready; then
    echo "postgres.sh: PostgreSQL answers on 127.0.0.1:$PORT" >&2
else
    # shellcheck source=interop/apt.sh
    source "$HERE/apt.sh"
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        log "installing postgresql (apt-get)"
        apt_retry update >&2
        apt_retry install -y --no-install-recommends postgresql postgresql-client >&2
    fi
    BIN="$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")"
    as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
    if [[ ! -f "$DIR/PG_VERSION" ]]; then
        mkdir -p "$DIR"
        [[ $(id -u) == 0 ]] && chown postgres:postgres "$DIR"
        as_pg "$BIN/initdb" -D "$DIR" -A trust -U postgres >&2
    fi
    echo "postgres.sh: starting a private cluster in $DIR on 127.0.0.1:$PORT" >&2
    as_pg "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w \
        -o "-h 127.0.0.1 -p $PORT -k $DIR" start >&2
    ready || { echo "postgres.sh: the server did not come up (see $DIR/server.log)" >&2; exit 1; }
fi
if ! psql -h 127.0.0.1 -p "$PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1; then
    psql -h 127.0.0.1 -p "$PORT" -U postgres -qc "CREATE DATABASE test" >&2
fi
