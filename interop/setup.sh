#!/usr/bin/env bash
# Installs what the real-peer interop harness needs, idempotently:
#   prosody      (Debian)  — XMPP server hosting the gateway as a XEP-0114 component
#   sip-tester   (Debian)  — sipp, playing SIP phones and trunks
#   python3-venv (Debian)  — for interop/.venv
#   slixmpp      (PyPI)    — into interop/.venv, playing XMPP users (xmpp_peer.py)
#   sipvicious   (PyPI)    — into interop/.venv, the scanners the gateway must not answer usefully
#   kamailio     (Debian)  — via kamailio/setup.sh: the registrar/authenticating proxy trunk
#   ejabberd     (Debian)  — via ejabberd/setup.sh: two gateway instances on one domain (cluster.py)
#   chromium, baresip, sox, rtpengine, npm web deps — via media/setup.sh (media.py)
# Runs as root on Debian 12. Skips what is already present; fails loudly otherwise.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
VENV="$HERE/.venv"

log() { echo "setup.sh: $*" >&2; }

# shellcheck source=apt.sh
source "$HERE/apt.sh"

need=()
command -v prosody >/dev/null 2>&1 && command -v prosodyctl >/dev/null 2>&1 || need+=(prosody)
command -v sipp >/dev/null 2>&1 || need+=(sip-tester)
PY=/usr/bin/python3
[[ -x $PY ]] || PY="$(command -v python3 || true)"
if [[ -z $PY ]]; then
    need+=(python3)
fi
if [[ ! -x "$VENV/bin/python" ]] && ! { [[ -n $PY ]] && "$PY" -c 'import ensurepip, venv' >/dev/null 2>&1; }; then
    need+=(python3-venv)
fi

if ((${#need[@]} > 0)); then
    log "installing Debian packages: ${need[*]}"
    apt_retry update
    apt_retry install -y --no-install-recommends "${need[@]}"
else
    log "Debian packages present (prosody, sipp, python3-venv)"
fi
PY=/usr/bin/python3
[[ -x $PY ]] || PY="$(command -v python3)"

# The Debian package starts a system Prosody where an init system runs; the
# harness runs its own private instance on other ports, so that one is left alone.

if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c 'import slixmpp' >/dev/null 2>&1 \
    && [[ -x "$VENV/bin/sipvicious_svwar" ]]; then
    log "venv present with slixmpp $("$VENV/bin/python" -c 'import slixmpp; print(slixmpp.__version__)') and sipvicious"
else
    log "creating $VENV with slixmpp"
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
    "$VENV/bin/python" -c 'import slixmpp; print("setup.sh: slixmpp", slixmpp.__version__)' >&2
fi

# Kamailio (+ TLS modules, openssl): the real trunk/PBX the e2e's kamailio variants use.
"$HERE/kamailio/setup.sh"

# ejabberd (Debian 23.01, its system service stopped): the server of interop/cluster.py,
# which accepts several component connections for one domain (Prosody does not).
"$HERE/ejabberd/setup.sh"

# Chromium, baresip, sox, rtpengine and the StanzaJS page bundle: interop/media.py (issue 6).
"$HERE/media/setup.sh"

# Final check: never leave a half-installed harness behind silently.
for tool in prosody prosodyctl sipp kamailio ejabberdctl; do
    command -v "$tool" >/dev/null 2>&1 || { log "missing after install: $tool"; exit 1; }
done
log "ready: $(sipp -v 2>&1 | grep -o 'SIPp v[0-9.]*' | head -1), prosody $(dpkg-query -W -f='${Version}' prosody 2>/dev/null || echo '?')"
