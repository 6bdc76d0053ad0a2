#!/usr/bin/env bash
# rtpengine for the `rtpengine` media mode (issue 6): install, run a private
# daemon, test the ng client against it.
#
#   interop/rtpengine.sh                              # install rtpengine-daemon (Debian), idempotent
#   interop/rtpengine.sh run DIR [NG_PORT] [PORT_MIN] [PORT_MAX]
#                                                     # start a private daemon, wait for its ping; pid in DIR/rtpengine.pid
#   interop/rtpengine.sh stop DIR                     # stop the daemon started with DIR
#   interop/rtpengine.sh test                         # install, run on a scratch DIR, run tests/rtpengine.rs, stop
#   RTPENGINE_LOG_LEVEL (default 6) and RTPENGINE_NUM_THREADS (default: rtpengine's, one per core)
#   change `run`'s daemon (bench/media.sh runs it at log level 4 with 2 threads).
#
# The private daemon is userspace only (--table=-1: no kernel module, no
# iptables), on 127.0.0.1, reads no system config (--config-file=none), uses
# no redis, stays in the foreground and logs to DIR/rtpengine.log. The Debian
# package's system service is never used: its start is refused during install
# (policy-rc.d) and it is stopped and disabled if it runs anyway. Without the
# daemon after the install this fails: it never skips.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "rtpengine.sh: $*" >&2; }

NG_PORT_DEFAULT=22223
PORT_MIN_DEFAULT=35000
PORT_MAX_DEFAULT=35999

pkg_ok() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

install() {
    # shellcheck source=apt.sh
    source interop/apt.sh
    if pkg_ok rtpengine-daemon && command -v rtpengine >/dev/null 2>&1; then
        log "rtpengine-daemon present ($(rtpengine --version 2>&1 | head -n 1))"
    else
        log "installing rtpengine-daemon"
        if ! apt-cache show rtpengine-daemon >/dev/null 2>&1; then
            apt_retry update -qq
        fi
        # policy-rc.d 101 keeps the package's postinst from starting the system service.
        local prc=/usr/sbin/policy-rc.d made_prc="" rc=0
        if [[ ! -e $prc ]] && [[ -w /usr/sbin || -n $SUDO ]]; then
            printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$prc" >/dev/null && $SUDO chmod +x "$prc" && made_prc=1
        fi
        apt_retry install -y -qq --no-install-recommends rtpengine-daemon || {
            apt_retry update -qq && apt_retry install -y -qq --no-install-recommends rtpengine-daemon
        } || rc=$?
        [[ -n $made_prc ]] && $SUDO rm -f "$prc"
        ((rc == 0)) || { log "install failed"; exit 1; }
    fi
    # Never the system instance (it would take 127.0.0.1:2223 and ports 30000-40000).
    if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
        $SUDO systemctl disable --now rtpengine-daemon >/dev/null 2>&1 || true
    elif [[ -x /etc/init.d/rtpengine-daemon ]]; then
        local pidfile=/run/rtpengine/rtpengine-daemon.pid
        if [[ -s $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
            log "stopping the system rtpengine-daemon service"
            $SUDO /etc/init.d/rtpengine-daemon stop >/dev/null 2>&1 || true
        fi
        command -v update-rc.d >/dev/null 2>&1 && $SUDO update-rc.d rtpengine-daemon disable >/dev/null 2>&1 || true
    fi
    command -v rtpengine >/dev/null 2>&1 || { log "rtpengine is missing after installing rtpengine-daemon"; exit 1; }
}

# ng_ping PORT: one ng ping on 127.0.0.1:PORT; true when it answers pong.
ng_ping() {
    python3 - "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.3)
try:
    s.sendto(b"ping1 d7:command4:pinge", ("127.0.0.1", int(sys.argv[1])))
    data = s.recv(4096)
except OSError:
    sys.exit(1)
sys.exit(0 if data == b"ping1 d6:result4:ponge" else 1)
PY
}

run() {
    local dir=${1:?usage: rtpengine.sh run DIR [NG_PORT] [PORT_MIN] [PORT_MAX]}
    local ng=${2:-$NG_PORT_DEFAULT} min=${3:-$PORT_MIN_DEFAULT} max=${4:-$PORT_MAX_DEFAULT}
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if ng_ping "$ng"; then
        log "something already answers ng on 127.0.0.1:$ng"
        exit 1
    fi
    # setsid: the daemon outlives this script (run returns once it answers).
    setsid rtpengine \
        --config-file=none \
        --table=-1 \
        --interface=127.0.0.1 \
        --listen-ng="127.0.0.1:$ng" \
        --port-min="$min" --port-max="$max" \
        --foreground --log-stderr --log-level="${RTPENGINE_LOG_LEVEL:-6}" \
        ${RTPENGINE_NUM_THREADS:+--num-threads="$RTPENGINE_NUM_THREADS"} \
        --pidfile="$dir/rtpengine.pid" \
        --no-redis-required \
        --delete-delay=0 \
        >"$dir/rtpengine.log" 2>&1 </dev/null &
    local pid=$!
    echo "$pid" >"$dir/rtpengine.pid"
    local i
    for i in $(seq 1 100); do
        if ng_ping "$ng"; then
            log "rtpengine $pid answers ng on 127.0.0.1:$ng (media ports $min-$max, log $dir/rtpengine.log)"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            log "rtpengine exited at start:"
            tail -n 20 "$dir/rtpengine.log" >&2
            exit 1
        fi
        sleep 0.1
    done
    log "rtpengine $pid did not answer ng on 127.0.0.1:$ng within 10 s:"
    tail -n 20 "$dir/rtpengine.log" >&2
    kill "$pid" 2>/dev/null || true
    exit 1
}

stop() {
    local dir=${1:?usage: rtpengine.sh stop DIR}
    local pidfile=$dir/rtpengine.pid
    [[ -s $pidfile ]] || return 0
    local pid
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        local i
        for i in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

test_() {
    install
    local dir ng=${STOX_RTPENGINE_PORT:-22333}
    dir=$(mktemp -d /tmp/stox-rtpengine-XXXXXX)
    run "$dir" "$ng" 36000 36999
    # shellcheck disable=SC2064 # expand now: the trap runs after the locals are gone
    trap "stop '$dir'" EXIT
    local rc=0
    if cargo nextest --version >/dev/null 2>&1; then
        STOX_RTPENGINE="127.0.0.1:$ng" cargo nextest run --test rtpengine --run-ignored only || rc=$?
    else
        STOX_RTPENGINE="127.0.0.1:$ng" cargo test --test rtpengine -- --ignored || rc=$?
    fi
    stop "$dir"
    trap - EXIT
    if ((rc != 0)); then
        log "failed; the daemon's log ($dir/rtpengine.log, kept):"
        tail -n 40 "$dir/rtpengine.log" >&2
    else
        rm -rf "$dir"
    fi
    return "$rc"
}

case "${1:-install}" in
install) install ;;
run)
    shift
    run "$@"
    ;;
stop)
    shift
    stop "$@"
    ;;
test) test_ ;;
*)
    log "unknown command '$1' (install | run DIR [NG_PORT] [PORT_MIN] [PORT_MAX] | stop DIR | test)"
    exit 2
    ;;
esac
