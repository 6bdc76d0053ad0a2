#!/usr/bin/env bash
# Installs what interop/kamailio needs, idempotently (Debian 12, as root or via sudo):
#   kamailio              (Debian 5.6) — registrar, usrloc, auth (pv_auth_check: no DB), tm, rr, ...
#   kamailio-tls-modules  — tls.so, for kamailio-tls.cfg
#   sip-tester            — sipp 3.6 (built without TLS; MD5 digest only)
#   openssl               — make-certs.sh and the s_client TLS check
#   python3               — sip_client.py (stdlib only)
# No database package is needed: the users and passwords are in kamailio.cfg.
# The Debian package ships a system service (/etc/kamailio/kamailio.cfg, port
# 5060); this harness never uses it.  If one is running it is stopped (it would
# not clash with the private ports 25060/25061, but nothing should answer on
# 5060 by surprise), and it is kept from starting at boot where an init system exists.
set -euo pipefail
log() { echo "kamailio/setup.sh: $*" >&2; }

# shellcheck source=../apt.sh
source "$(dirname "$0")/../apt.sh"

pkg_ok() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

need=()
for p in kamailio kamailio-tls-modules sip-tester openssl python3; do
    pkg_ok "$p" || need+=("$p")
done
if ((${#need[@]} > 0)); then
    log "installing Debian packages: ${need[*]}"
    # Update the lists only when a package is not known yet (or the install fails).
    if ! apt-cache show "${need[@]}" >/dev/null 2>&1; then
        apt_retry update
    fi
    # policy-rc.d 101 keeps the package's postinst from starting the system service.
    prc=/usr/sbin/policy-rc.d
    made_prc=""
    if [[ ! -e $prc ]] && [[ -w /usr/sbin || -n $SUDO ]]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$prc" >/dev/null && $SUDO chmod +x "$prc" && made_prc=1
    fi
    rc=0
    apt_retry install -y --no-install-recommends "${need[@]}" || {
        apt_retry update && apt_retry install -y --no-install-recommends "${need[@]}"
    } || rc=$?
    [[ -n $made_prc ]] && $SUDO rm -f "$prc"
    ((rc == 0)) || { log "install failed"; exit 1; }
else
    log "Debian packages present: kamailio kamailio-tls-modules sip-tester openssl python3"
fi

# Never run the system instance.
if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    $SUDO systemctl disable --now kamailio >/dev/null 2>&1 || true
elif [[ -x /etc/init.d/kamailio ]]; then
    if [[ -s /run/kamailio/kamailio.pid ]] && kill -0 "$(cat /run/kamailio/kamailio.pid)" 2>/dev/null; then
        log "stopping the system kamailio service"
        $SUDO service kamailio stop >/dev/null 2>&1 || $SUDO /etc/init.d/kamailio stop >/dev/null 2>&1 || true
    fi
    command -v update-rc.d >/dev/null 2>&1 && $SUDO update-rc.d kamailio disable >/dev/null 2>&1 || true
fi

# Final check: the modules the configs load must be there.
KAMAILIO="$(command -v kamailio || echo /usr/sbin/kamailio)"
[[ -x $KAMAILIO ]] || { log "missing after install: kamailio"; exit 1; }
moddir=$(dirname "$(dpkg -L kamailio | grep -m1 '/modules/tm.so$')")
for m in tm sl rr pv kex corex tmx maxfwd usrloc registrar textops siputils xlog sanity auth tls; do
    [[ -e $moddir/$m.so ]] || { log "missing module $m.so in $moddir"; exit 1; }
done
for tool in sipp openssl python3; do
    command -v "$tool" >/dev/null 2>&1 || { log "missing after install: $tool"; exit 1; }
done
log "ready: $("$KAMAILIO" -v | head -n 1 | sed 's/^version: //'), $(sipp -v 2>&1 | grep -o 'SIPp v[0-9.]*' | head -n 1)"
