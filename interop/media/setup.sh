#!/usr/bin/env bash
# Installs what interop/media.py needs, idempotently (root on Debian 12):
#   chromium         (Debian)  — the WebRTC stack, headless, driven by playwright-core
#   baresip-core     (Debian)  — the SIP phone: aufile, sndfile, srtp, ice, dtls_srtp, g711, ctrl_tcp
#   sox              (Debian)  — makes baresip's tone WAV
#   nodejs, npm      (Debian)  — when node is missing
#   rtpengine-daemon (Debian)  — the anchor of --mode rtpengine (userspace only)
#   prosody          (Debian)  — via interop/setup.sh's list; checked here
# then `npm ci` in web/ (stanza, playwright-core, esbuild, events; lockfile committed)
# and the page bundle web/dist/call.bundle.js. Fails loudly when a piece is missing after.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
WEB="$HERE/web"

log() { echo "media/setup.sh: $*" >&2; }

# shellcheck source=../apt.sh
source "$HERE/../apt.sh"

need=()
[[ -x /usr/bin/chromium ]] || need+=(chromium)
command -v baresip >/dev/null 2>&1 || need+=(baresip-core)
command -v sox >/dev/null 2>&1 || need+=(sox)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
command -v rtpengine >/dev/null 2>&1 || need+=(rtpengine-daemon)
command -v prosody >/dev/null 2>&1 || need+=(prosody)
if ((${#need[@]} > 0)); then
    log "installing Debian packages: ${need[*]}"
    apt_retry update
    apt_retry install -y --no-install-recommends "${need[@]}"
    # The daemon package starts a system rtpengine where an init system runs; the
    # driver runs its own on other ports, so that one is left alone.
else
    log "Debian packages present (chromium, baresip, sox, node, rtpengine, prosody)"
fi

# The baresip modules the rig loads (all in baresip-core 1.0.0).
for mod in aufile sndfile srtp ice dtls_srtp g711 aubridge ctrl_tcp menu account; do
    [[ -f /usr/lib/baresip/modules/$mod.so ]] || { log "baresip module $mod.so missing"; exit 1; }
done

cd "$WEB"
if [[ ! -d node_modules/stanza || ! -d node_modules/playwright-core || package-lock.json -nt node_modules ]]; then
    log "npm ci in $WEB"
    npm ci --no-audit --no-fund --loglevel=error
fi
if [[ ! -f dist/call.bundle.js || call.js -nt dist/call.bundle.js || package-lock.json -nt dist/call.bundle.js ]]; then
    log "bundling call.js (StanzaJS) into dist/call.bundle.js"
    npm run --silent build
fi

for tool in /usr/bin/chromium baresip sox node rtpengine prosody; do
    command -v "$tool" >/dev/null 2>&1 || { log "missing after install: $tool"; exit 1; }
done
[[ -s dist/call.bundle.js ]] || { log "no web/dist/call.bundle.js"; exit 1; }
log "ready: $(/usr/bin/chromium --version 2>/dev/null | head -1), baresip $(dpkg-query -W -f='${Version}' baresip-core), node $(node --version), stanza $(node -p 'require("stanza/package.json").version')"
