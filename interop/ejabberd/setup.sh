#!/usr/bin/env bash
# Installs ejabberd (Debian 12: 23.01) for the cluster rig, idempotently, and
# makes sure the package's own system service is stopped and disabled: the rig
# runs a private instance (run.sh) with its own config, spool and log dirs on
# loopback ports 16222 (c2s) and 16347 (component), and the system instance
# would otherwise hold 5222/5269/5280 and an Erlang node name of its own.
# Runs as root on Debian 12 (or with sudo). Fails loudly when something is missing.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"

log() { echo "ejabberd/setup.sh: $*" >&2; }

# shellcheck source=../apt.sh
source "$HERE/../apt.sh"

if command -v ejabberdctl >/dev/null 2>&1 && [[ -x /usr/sbin/ejabberdctl ]] \
    && dpkg-query -W -f='${Status}' ejabberd 2>/dev/null | grep -q 'install ok installed'; then
    log "ejabberd present ($(dpkg-query -W -f='${Version}' ejabberd))"
else
    log "installing Debian package ejabberd"
    # Keep the postinst from starting the service where policy-rc.d is honoured.
    apt_retry update
    apt_retry install -y --no-install-recommends ejabberd
fi

# The package starts /etc/init.d/ejabberd (or the systemd unit) where an init
# system runs. Stop it and keep it from coming back; the rig never uses it.
if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    $SUDO systemctl disable --now ejabberd >/dev/null 2>&1 || true
fi
if [[ -x /etc/init.d/ejabberd ]]; then
    $SUDO /etc/init.d/ejabberd stop >/dev/null 2>&1 || true
    command -v update-rc.d >/dev/null 2>&1 && $SUDO update-rc.d ejabberd disable >/dev/null 2>&1 || true
fi
# Whatever is left of the system node (started by the postinst without an init
# system) is stopped through its own control script, by its node name.
if $SUDO ejabberdctl status >/dev/null 2>&1; then
    log "stopping the system ejabberd node"
    $SUDO ejabberdctl stop >/dev/null 2>&1 || true
    $SUDO ejabberdctl stopped >/dev/null 2>&1 || true
fi

for tool in ejabberdctl erl; do
    command -v "$tool" >/dev/null 2>&1 || { log "missing after install: $tool"; exit 1; }
done

ls -d /usr/lib/*/ejabberd-*/ebin/ejabberd.app >/dev/null 2>&1 || { log "ejabberd's Erlang application is missing"; exit 1; }
log "ready: ejabberd $(dpkg-query -W -f='${Version}' ejabberd)"
