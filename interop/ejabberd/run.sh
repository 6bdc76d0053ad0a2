#!/usr/bin/env bash
# A private ejabberd for the stox cluster rig: its own config, spool (Mnesia),
# logs, Erlang node name and distribution port, on loopback; never the Debian
# system service (interop/ejabberd/setup.sh stops and disables that one).
#
#   interop/ejabberd/run.sh DIR start     # render config, start detached, wait until ready,
#                                         #   register alice/bob/carol (password = name)
#   interop/ejabberd/run.sh DIR foreground  # render config and exec ejabberd attached
#                                         #   (users: run `run.sh DIR users` once it is up)
#   interop/ejabberd/run.sh DIR users     # (re)register alice/bob/carol on a running node
#   interop/ejabberd/run.sh DIR status    # exit 0 when the node is up
#   interop/ejabberd/run.sh DIR stop      # stop it and wait until it is gone
#   interop/ejabberd/run.sh DIR ctl ARGS… # any ejabberdctl command against this node
#
# Ports (127.0.0.1): c2s 16222, component 16347 (domain sip.test, secret s3cret),
# Erlang distribution 16369 (no epmd involved). Overridable with
#   EJABBERD_C2S_PORT, EJABBERD_COMPONENT_PORT, EJABBERD_DIST_PORT,
#   EJABBERD_DOMAIN, EJABBERD_SECRET, EJABBERD_LOGLEVEL (info),
#   EJABBERD_BALANCING: none (no domain_balancing entry: ejabberd's default,
#     random per stanza) | random | source | destination | bare_source |
#     bare_destination (default none). A type without EJABBERD_COMPONENT_NUMBER makes
#     ejabberd 23.01 crash every component handshake (README.md); kept to show it, and
#   EJABBERD_COMPONENT_NUMBER: unset (default) or 2..1000 (see README.md: with a
#     number, a dropped connection's share of stanzas is lost until it returns).
# Log: DIR/logs/ejabberd.log (+ error.log); DIR/ejabberd.out for the VM's stdout.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
DIR="${1:?usage: run.sh DIR start|foreground|users|status|stop|ctl ARGS}"
CMD="${2:?usage: run.sh DIR start|foreground|users|status|stop|ctl ARGS}"
shift 2
mkdir -p "$DIR/spool" "$DIR/logs"
DIR="$(cd "$DIR" && pwd)"

C2S_PORT="${EJABBERD_C2S_PORT:-16222}"
COMPONENT_PORT="${EJABBERD_COMPONENT_PORT:-16347}"
DIST_PORT="${EJABBERD_DIST_PORT:-16369}"
DOMAIN="${EJABBERD_DOMAIN:-sip.test}"
SECRET="${EJABBERD_SECRET:-s3cret}"
BALANCING="${EJABBERD_BALANCING:-none}"
NODE="stoxrig${DIST_PORT}@localhost"

log() { echo "ejabberd/run.sh: $*" >&2; }

render() {
    local block=""
    case "$BALANCING" in
        none) block="# domain_balancing: not set (ejabberd's default: random per stanza)" ;;
        random|source|destination|bare_source|bare_destination)
            block="domain_balancing:
  \"$DOMAIN\":
    type: $BALANCING"
            if [[ -n "${EJABBERD_COMPONENT_NUMBER:-}" ]]; then
                block+="
    component_number: $EJABBERD_COMPONENT_NUMBER"
            fi
            ;;
        *) log "unknown EJABBERD_BALANCING=$BALANCING"; exit 2 ;;
    esac
    # The block is multi-line: substitute it with awk, the rest with sed.
    sed -e "s|@DIR@|$DIR|g" -e "s|@C2S_PORT@|$C2S_PORT|g" \
        -e "s|@COMPONENT_PORT@|$COMPONENT_PORT|g" -e "s|@DOMAIN@|$DOMAIN|g" \
        -e "s|@SECRET@|$SECRET|g" -e "s|@LOGLEVEL@|${EJABBERD_LOGLEVEL:-info}|g" \
        "$HERE/ejabberd.yml.in" \
        | BLOCK="$block" awk '$0 == "@BALANCING@" { print ENVIRON["BLOCK"]; next } { print }' \
        >"$DIR/ejabberd.yml"
    # ejabberdctl sources this after its "run as user ejabberd" check, so the
    # node runs as whoever calls run.sh (root on the throwaway test machines),
    # with files in DIR, its own cookie and a fixed distribution port (no epmd).
    cat >"$DIR/ejabberdctl.cfg" <<CFG
EXEC_CMD=as_current_user
ERLANG_NODE=$NODE
ERL_DIST_PORT=$DIST_PORT
ERL_EPMD_ADDRESS=127.0.0.1
INET_DIST_INTERFACE=127.0.0.1
ERL_OPTIONS="-setcookie stoxrig -env ERL_CRASH_DUMP_BYTES 0"
EJABBERD_CONFIG_PATH=$DIR/ejabberd.yml
EJABBERD_PID_PATH=$DIR/ejabberd.pid
EJABBERD_BYPASS_WARNINGS=true
CONTRIB_MODULES_PATH=$DIR/contrib
CFG
    # inetrc (ERL_INETRC=config-dir/inetrc): resolve from files, as Debian's does.
    printf '{file, resolv, "/etc/resolv.conf"}.\n{lookup, [file, dns]}.\n' >"$DIR/inetrc"
}

ctl() {
    ejabberdctl --config-dir "$DIR" --ctl-config "$DIR/ejabberdctl.cfg" \
        --config "$DIR/ejabberd.yml" --spool "$DIR/spool" --logs "$DIR/logs" "$@"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

users() {
    local u
    for u in alice bob carol; do
        # "already registered" (exit 1 with conflict) is fine on a re-run.
        out="$(ctl register "$u" test "$u" 2>&1)" || grep -qi "already registered" <<<"$out" \
            || { log "register $u failed: $out"; return 1; }
    done
}

case "$CMD" in
    start)
        render
        if ctl status >/dev/null 2>&1; then log "node $NODE already running"; exit 1; fi
        for p in "$C2S_PORT" "$COMPONENT_PORT" "$DIST_PORT"; do
            if port_open "$p"; then log "port $p is already in use"; exit 1; fi
        done
        ctl start >"$DIR/ejabberd.out" 2>&1
        for _ in $(seq 1 150); do
            if port_open "$C2S_PORT" && port_open "$COMPONENT_PORT" && ctl status >/dev/null 2>&1; then
                users
                log "up: node $NODE, c2s 127.0.0.1:$C2S_PORT, component $DOMAIN on 127.0.0.1:$COMPONENT_PORT, balancing $BALANCING (${DIR})"
                exit 0
            fi
            if grep -q "Failed to start ejabberd\|\[critical\]" "$DIR/logs/ejabberd.log" 2>/dev/null; then
                log "failed to start:"; grep -h "critical\|error" "$DIR/logs/ejabberd.log" >&2 || true
                ctl stop >/dev/null 2>&1 || true
                exit 1
            fi
            sleep 0.2
        done
        log "not ready after 30 s"; tail -30 "$DIR/logs/ejabberd.log" >&2 || true; exit 1
        ;;
    foreground)
        render
        exec ejabberdctl --config-dir "$DIR" --ctl-config "$DIR/ejabberdctl.cfg" \
            --config "$DIR/ejabberd.yml" --spool "$DIR/spool" --logs "$DIR/logs" foreground
        ;;
    users) users ;;
    status) ctl status ;;
    stop)
        [[ -f "$DIR/ejabberdctl.cfg" ]] || exit 0
        ctl stop >/dev/null 2>&1 || true
        for _ in $(seq 1 100); do
            if ! ctl status >/dev/null 2>&1 && ! port_open "$DIST_PORT"; then exit 0; fi
            sleep 0.2
        done
        log "node $NODE did not stop in 20 s"; exit 1
        ;;
    ctl) ctl "$@" ;;
    *) log "unknown command $CMD"; exit 2 ;;
esac
