#!/usr/bin/env bash
# The media matrix of the test command (issue 6): a real call with audio both
# ways between headless Chromium (StanzaJS over Prosody's WebSocket) and
# baresip, through stox, in every media mode:
#   passthrough            baresip speaks WebRTC media itself (ICE + DTLS-SRTP)
#   embedded, RTP / SDES   stox's own anchor: ICE-lite + DTLS-SRTP ⇄ RTP or SDES-SRTP
#   rtpengine, RTP / SDES  a private rtpengine daemon driven over ng
# each in both directions, plus an inbound call rung by XEP-0353 (JMI). The
# embedded and rtpengine RTP runs also hold and resume from baresip (--hold), and
# every anchored outbound call sends DTMF from the browser (XEP-0181) that
# baresip must receive (issue 7).
# Stops at the first failing run; interop/media.py prints why.
set -euo pipefail
cd "$(dirname "$0")/.."
run() {
    echo "==> media.py $*" >&2
    python3 interop/media.py "$@"
}
run --mode passthrough --direction both
run --mode embedded --srtp none --direction both --hold
run --mode embedded --srtp sdes --direction both
run --mode embedded --direction in --ring jmi
run --mode rtpengine --srtp none --direction both --hold
run --mode rtpengine --srtp sdes --direction both
