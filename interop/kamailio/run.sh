#!/usr/bin/env bash
# run.sh [--tls] [-d DIR] [-- extra kamailio args, e.g. -A WITH_SHA256]
#
# Runs the private Kamailio in the foreground (logs to stderr) until killed.
# Everything it writes goes under DIR (default: a new /tmp/stox-kamailio-XXXX):
# pid file, runtime dir (kamailio's ctl/fifo would go there), and with --tls the
# test PKI (DIR/certs, made by make-certs.sh).  No root needed.
#   plain: udp+tcp 127.0.0.1:25060        --tls: also tls 127.0.0.1:25061
# The caller stops it with SIGTERM to the printed pid (exec'd: it is this pid).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
TLS=0
DIR=""
while (($#)); do
    case "$1" in
        --tls) TLS=1; shift ;;
        -d) DIR="$2"; shift 2 ;;
        --) shift; break ;;
        *) echo "usage: run.sh [--tls] [-d DIR] [-- kamailio args]" >&2; exit 2 ;;
    esac
done
KAMAILIO="${KAMAILIO:-$(command -v kamailio || echo /usr/sbin/kamailio)}"
[[ -x $KAMAILIO ]] || { echo "run.sh: kamailio not installed (run interop/kamailio/setup.sh)" >&2; exit 2; }
if [[ -z $DIR ]]; then DIR="$(mktemp -d /tmp/stox-kamailio-XXXXXX)"; fi
mkdir -p "$DIR/run"
DIR="$(cd "$DIR" && pwd)"

args=(-DD -E -f "$HERE/kamailio.cfg" -Y "$DIR/run" -P "$DIR/kamailio.pid" -w "$DIR"
      -m "${KAM_SHM_MB:-64}" -M "${KAM_PKG_MB:-8}")
if ((TLS)); then
    "$HERE/make-certs.sh" "$DIR/certs"
    args=(-DD -E -f "$HERE/kamailio-tls.cfg" -Y "$DIR/run" -P "$DIR/kamailio.pid" -w "$DIR"
          -m "${KAM_SHM_MB:-64}" -M "${KAM_PKG_MB:-8}" -A "TLS_CFG=\"$DIR/certs/tls.cfg\"")
fi
echo "run.sh: kamailio pid $$, dir $DIR" >&2
exec "$KAMAILIO" "${args[@]}" "$@"
