#!/usr/bin/env bash
# Renders the private Prosody config into DIR, creates alice/bob/carol/dave
# (password = name) and, with "run", starts Prosody in the foreground.
#   interop/prosody/prosody.sh DIR            # render + create users
#   interop/prosody/prosody.sh DIR run        # ... then exec prosody -F
# Ports: c2s 127.0.0.1:15222, component 127.0.0.1:15347 (sip.test, secret s3cret).
# PROSODY_HTTP_PORT=N adds mod_websocket on ws://127.0.0.1:N/xmpp-websocket (off by default).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
DIR="${1:?usage: prosody.sh DIR [run]}"
mkdir -p "$DIR/data" "$DIR/certs"
DIR="$(cd "$DIR" && pwd)"
if [[ -n "${PROSODY_HTTP_PORT:-}" ]]; then
    WS_MODULES='"websocket";' HTTP_DISABLED='' HTTP_PORT="$PROSODY_HTTP_PORT"
else
    WS_MODULES='' HTTP_DISABLED='"http";' HTTP_PORT=''
fi
sed -e "s|@DIR@|$DIR|g" -e "s|@USER@|$(id -un)|g" -e "s|@GROUP@|$(id -gn)|g" \
    -e "s|@LOGLEVEL@|${PROSODY_LOGLEVEL:-debug}|g" \
    -e "s|@C2S_PORT@|${PROSODY_C2S_PORT:-15222}|g" \
    -e "s|@COMPONENT_PORT@|${PROSODY_COMPONENT_PORT:-15347}|g" \
    -e "s|@WEBSOCKET_MODULES@|$WS_MODULES|g" -e "s|@HTTP_DISABLED@|$HTTP_DISABLED|g" \
    -e "s|@HTTP_PORT@|$HTTP_PORT|g" \
    -e "s|@SECRET@|${PROSODY_COMPONENT_SECRET:-s3cret}|g" \
    "$HERE/prosody.cfg.lua.in" >"$DIR/prosody.cfg.lua"
for u in alice bob carol dave; do
    prosodyctl --config "$DIR/prosody.cfg.lua" register "$u" test "$u" >/dev/null
done
if [[ "${2:-}" == run ]]; then
    exec prosody -F --config "$DIR/prosody.cfg.lua"
fi
echo "$DIR/prosody.cfg.lua"
