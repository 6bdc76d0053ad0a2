#!/usr/bin/env bash
# Standalone check of the private Kamailio (registrar + authenticating proxy)
# with sipp and sip_client.py, no gateway involved:
#   1. kamailio.cfg      (udp+tcp 127.0.0.1:25060): registration with digest,
#      wrong/unknown credentials refused, outbound call to a number via the
#      "PSTN" sipp UAS (:25080) with 407 auth, call between registered users,
#      inbound call from the trusted PSTN (:25080) to a registered user,
#      404 / 480 for unknown / unregistered users.
#   2. kamailio-tls.cfg  (+ tls 127.0.0.1:25061): openssl s_client handshake
#      verified against the test CA, then OPTIONS, REGISTER (digest) and a call
#      to the PSTN sipp UAS over TLS with sip_client.py (Debian's sipp has no
#      TLS), plus one sipp UDP registration on the same instance.
#   3. kamailio.cfg -A WITH_SHA256: REGISTER + call with SHA-256 digest
#      (sip_client.py; sipp only does MD5), and an MD5 sipp REGISTER refused.
# Ports used (127.0.0.1): 25060 udp/tcp, 25061 tls, 25070, 25071, 25080, 25090 udp.
#   interop/kamailio/selftest.sh [-v] [--keep]
# Exit 0 = all passed, 1 = a check failed, 2 = cannot start (tools, ports).
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
S="$HERE/sipp"
VERBOSE=""
KEEP=""
for a in "$@"; do
    case "$a" in -v) VERBOSE=1 ;; --keep) KEEP=1 ;; *) echo "usage: selftest.sh [-v] [--keep]" >&2; exit 2 ;; esac
done
OUT="$(mktemp -d /tmp/stox-kamailio-selftest.XXXXXX)"
pass=0
fail=0
KPID=""

for tool in kamailio sipp openssl python3 ss; do
    command -v "$tool" >/dev/null 2>&1 || { echo "selftest.sh: $tool missing (run interop/kamailio/setup.sh)" >&2; exit 2; }
done
busy=$(ss -Hlnut 2>/dev/null | awk '{print $5}' | grep -E '127\.0\.0\.1:(25060|25061|25070|25071|25080|25090)$|\*:(25060|25061|25070|25071|25080|25090)$|0\.0\.0\.0:(25060|25061|25070|25071|25080|25090)$' || true)
if [[ -n $busy ]]; then
    echo "selftest.sh: ports in use: $busy" >&2
    exit 2
fi

stop_kamailio() {
    if [[ -n $KPID ]]; then
        kill -TERM "$KPID" 2>/dev/null
        for _ in $(seq 1 50); do kill -0 "$KPID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$KPID" 2>/dev/null
        wait "$KPID" 2>/dev/null
        KPID=""
    fi
}
cleanup() {
    stop_kamailio
    if [[ -z $KEEP && $fail == 0 ]]; then rm -rf "$OUT"; else echo "selftest.sh: logs kept in $OUT" >&2; fi
}
trap cleanup EXIT

# start_kamailio NAME [run.sh args...]: waits for udp+tcp 25060 (and tls 25061 with --tls).
start_kamailio() {
    local name=$1
    shift
    mkdir -p "$OUT/$name"
    "$HERE/run.sh" -d "$OUT/$name" "$@" >"$OUT/$name/kamailio.log" 2>&1 &
    KPID=$!
    local want=2
    [[ " $* " == *" --tls "* ]] && want=3
    for _ in $(seq 1 100); do
        local n
        n=$(ss -Hlnut 2>/dev/null | awk '{print $5}' | grep -cE '^127\.0\.0\.1:2506[01]$')
        if ((n >= want)); then return 0; fi
        kill -0 "$KPID" 2>/dev/null || break
        sleep 0.1
    done
    echo "selftest.sh: kamailio ($name) did not start; log:" >&2
    tail -n 30 "$OUT/$name/kamailio.log" >&2
    exit 2
}

result() { # result NAME OK(0/1) DETAIL DIR
    if [[ $2 == 0 ]]; then
        printf 'PASS  %-32s %s\n' "$1" "$3"
        pass=$((pass + 1))
    else
        printf 'FAIL  %-32s %s; logs in %s\n' "$1" "$3" "$4"
        fail=$((fail + 1))
        if [[ -n $VERBOSE ]]; then tail -n 25 "$4"/*.err "$4"/*.out 2>/dev/null; fi
    fi
}

common=(-i 127.0.0.1 -m 1 -nostdin -trace_err -trace_msg)

# sippr DIR ROLE [sipp args...]: one sipp run in DIR, logs ROLE.{msg,err,out}; returns its exit code
sippr() {
    local d=$1 role=$2
    shift 2
    mkdir -p "$d"
    (cd "$d" && exec sipp "$@" "${common[@]}" -message_file "$role.msg" -error_file "$role.err" >"$role.out" 2>&1)
}

K=127.0.0.1:25060
creds_stox=(-au stox -ap s3cret)
creds_phone=(-au phone -ap ph0ne)

t_register() { # NAME USER AUTHUSER PASS SCENARIO
    local d="$OUT/$RUN/$1"
    sippr "$d" uac $K -sf "$S/$5" -s "$2" -au "$3" -ap "$4" -p 25070 -timeout 10s -timeout_error
    local rc=$?
    local codes
    codes=$(grep -oE '^SIP/2.0 [0-9]{3}' "$d/uac.msg" 2>/dev/null | awk '{print $2}' | tr '\n' ' ')
    result "$RUN/$1" "$rc" "sipp=$rc replies: $codes" "$d"
}

# A call to a number: uas_pstn on 25080 + uac_invite_auth from stox.
t_out_pstn() { # [NAME FROMUSER]
    local name=${1:-out-pstn-auth} fromuser=${2:-stox}
    local d="$OUT/$RUN/$name"
    sippr "$d" uas -sf "$S/uas_pstn.xml" -p 25080 -timeout 20s -timeout_error &
    local u=$!
    sleep 0.5
    sippr "$d" uac $K -sf "$S/uac_invite_auth.xml" -s +15551230001 -key fromuser "$fromuser" "${creds_stox[@]}" \
        -p 25070 -timeout 20s -timeout_error
    local rc_uac=$?
    wait $u
    local rc_uas=$?
    local codes
    codes=$(grep -oE '^SIP/2.0 [0-9]{3}' "$d/uac.msg" 2>/dev/null | awk '{print $2}' | tr '\n' ' ')
    result "$RUN/$name" $((rc_uac || rc_uas)) "uac=$rc_uac uas=$rc_uas caller saw: $codes" "$d"
}

# A call to a registered user: register_hold (Contact :25090) + uas_user on :25090 + caller.
# CALLER is "stox" (uac_invite_auth with 407 auth, from :25070) or "pstn" (uac_pstn_inbound, from :25080, trusted).
t_to_user() { # NAME CALLEE CALLEE_AU CALLEE_AP CALLER
    local name=$1 callee=$2 au=$3 ap=$4 caller=$5
    local d="$OUT/$RUN/$name"
    sippr "$d" reg $K -sf "$S/register_hold.xml" -s "$callee" -au "$au" -ap "$ap" -key contact_port 25090 \
        -d 4000 -p 25071 -timeout 20s -timeout_error &
    local r=$!
    sippr "$d" uas -sf "$S/uas_user.xml" -p 25090 -timeout 20s -timeout_error &
    local u=$!
    sleep 1
    local rc_uac
    if [[ $caller == pstn ]]; then
        sippr "$d" uac $K -sf "$S/uac_pstn_inbound.xml" -s "$callee" -p 25080 -timeout 15s -timeout_error
        rc_uac=$?
    else
        sippr "$d" uac $K -sf "$S/uac_invite_auth.xml" -s "$callee" -key fromuser stox "${creds_stox[@]}" \
            -p 25070 -timeout 15s -timeout_error
        rc_uac=$?
    fi
    wait $u
    local rc_uas=$?
    wait $r
    local rc_reg=$?
    local codes
    codes=$(grep -oE '^SIP/2.0 [0-9]{3}' "$d/uac.msg" 2>/dev/null | awk '{print $2}' | tr '\n' ' ')
    result "$RUN/$name" $((rc_uac || rc_uas || rc_reg)) "uac=$rc_uac uas=$rc_uas register=$rc_reg caller saw: $codes" "$d"
}

t_reject() { # NAME CALLEE WANTCODE
    local d="$OUT/$RUN/$1"
    sippr "$d" uac $K -sf "$S/uac_invite_reject.xml" -s "$2" -key fromuser stox "${creds_stox[@]}" \
        -p 25070 -timeout 10s -timeout_error
    local rc=$?
    local last
    last=$(grep -oE '^SIP/2.0 [0-9]{3}' "$d/uac.msg" 2>/dev/null | tail -n 1 | awk '{print $2}')
    [[ $rc == 0 && $last == "$3" ]]
    result "$RUN/$1" $? "sipp=$rc final=$last (want $3)" "$d"
}

# An INVITE with a wrong password must be challenged again (407), never forwarded.
t_invite_bad_password() {
    local d="$OUT/$RUN/out-wrong-password"
    sippr "$d" uac $K -sf "$S/uac_invite_reject.xml" -s +15551230001 -key fromuser stox -au stox -ap wrong \
        -p 25070 -timeout 10s -timeout_error
    local rc=$?
    local n407
    n407=$(grep -cE '^SIP/2.0 407' "$d/uac.msg" 2>/dev/null)
    # sipp fails on the unexpected second 407: that is the expected outcome.
    [[ $rc != 0 && $n407 -ge 2 ]]
    result "$RUN/out-wrong-password" $? "sipp=$rc (want failure) 407s=$n407 (want 2)" "$d"
}

t_client() { # NAME sip_client args...  (with the PSTN sipp UAS on :25080 when a call: step is given)
    local name=$1
    shift
    local d="$OUT/$RUN/$name"
    mkdir -p "$d"
    local u=""
    if [[ " $* " == *" call:"* ]]; then
        sippr "$d" uas -sf "$S/uas_pstn.xml" -p 25080 -timeout 20s -timeout_error &
        u=$!
        sleep 0.5
    fi
    python3 "$HERE/sip_client.py" "$@" >"$d/client.out" 2>&1
    local rc=$?
    local rc_uas=0
    if [[ -n $u ]]; then wait $u; rc_uas=$?; fi
    result "$RUN/$name" $((rc || rc_uas)) "client=$rc${u:+ uas=$rc_uas}: $(grep -c '^sip_client: ok:' "$d/client.out") steps ok" "$d"
}

########## 1. plain (udp+tcp) ##########
RUN=plain
start_kamailio plain
t_register register-stox stox stox s3cret register_auth.xml
t_register register-phone phone phone ph0ne register_auth.xml
t_register register-wrong-password stox stox wrong register_wrong_password.xml
t_register register-unknown-user nobody nobody whatever register_wrong_password.xml
t_register register-other-users-aor phone stox s3cret register_wrong_password.xml
t_out_pstn
t_out_pstn out-pstn-callerid-from +15557654321
t_invite_bad_password
t_to_user call-registered-user phone phone ph0ne stox
t_to_user in-pstn-to-registered stox stox s3cret pstn
t_reject unknown-user-404 nobody 404
t_reject unregistered-user-480 phone 480
t_client tcp-register-call --transport tcp options register call:+15551230002 unregister
stop_kamailio

########## 2. TLS ##########
RUN=tls
start_kamailio tls --tls
CERTS="$OUT/tls/certs"
d="$OUT/tls/handshake"
mkdir -p "$d"
# -verify_return_error: fail unless the chain verifies to the test CA and the name matches.
printf 'OPTIONS sip:pbx.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:1;branch=z9hG4bKsclient1\r\nMax-Forwards: 70\r\nFrom: <sip:probe@pbx.test>;tag=1\r\nTo: <sip:pbx.test>\r\nCall-ID: sclient-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n' |
    timeout 10 openssl s_client -connect 127.0.0.1:25061 -servername pbx.test -CAfile "$CERTS/ca.pem" \
        -verify_hostname pbx.test -verify_return_error -ign_eof -quiet >"$d/s_client.out" 2>"$d/s_client.err" &
sc=$!
for _ in $(seq 1 30); do grep -q '^SIP/2.0' "$d/s_client.out" 2>/dev/null && break; sleep 0.1; done
sleep 0.3
kill $sc 2>/dev/null
wait $sc 2>/dev/null
grep -q '^SIP/2.0 200' "$d/s_client.out" && ! grep -qi 'verify error' "$d/s_client.err"
result tls/openssl-s_client-options $? "$(head -n 1 "$d/s_client.out" | tr -d '\r') ($(grep -m1 -o 'verify return:[0-9]' "$d/s_client.err" || echo 'verified'))" "$d"
t_client tls-register-call --transport tls --port 25061 --ca "$CERTS/ca.pem" options register register-bad call:+15551230003 unregister
t_register udp-register-on-tls-instance stox stox s3cret register_auth.xml
stop_kamailio

########## 3. SHA-256 digest ##########
RUN=sha256
start_kamailio sha256 -- -A WITH_SHA256
t_client sha256-register-call --algorithm SHA-256 options register register-bad call:+15551230004 unregister
# sipp 3.6 cannot answer a SHA-256 challenge at all ("authentication must use
# MD5 or AKAv1-MD5"): check the challenge says SHA-256 and sipp gives up.
d="$OUT/$RUN/sipp-gets-sha256-challenge"
sippr "$d" uac $K -sf "$S/register_auth.xml" -s stox "${creds_stox[@]}" -p 25070 -timeout 10s -timeout_error
rc=$?
grep -q 'algorithm=SHA-256' "$d/uac.msg" 2>/dev/null && [[ $rc != 0 ]]
result "$RUN/sipp-gets-sha256-challenge" $? "sipp=$rc (want failure): $(grep -o 'authentication must use.*' "$d/uac.err" 2>/dev/null | head -n 1)" "$d"
stop_kamailio

echo "selftest.sh: $pass passed, $fail failed"
((fail == 0))
