#!/usr/bin/env bash
# Standalone check of the sipp scenarios, sipp against sipp (no gateway):
# each UAC file is run against the UAS file that plays the gateway's part, and
# the expected exit codes are asserted, including two negative checks (a UAC
# that gets the wrong final answer must fail; a UAS that gets no INVITE must
# see no INVITE). Ports 127.0.0.1:25080 (UAS) and :25060 (UAC).
#   interop/sipp/selftest.sh [-v]
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
OUT="$(mktemp -d /tmp/stox-sipp-selftest.XXXXXX)"
VERBOSE=${1:-}
UAS_PORT=25080
UAC_PORT=25060
pass=0
fail=0

common=(-i 127.0.0.1 -m 1 -nostdin -trace_err -trace_msg)

# pair NAME UAS_FILE UAC_FILE EXPECT_UAS EXPECT_UAC [extra UAS args...]
pair() {
    local name=$1 uas=$2 uac=$3 want_uas=$4 want_uac=$5
    shift 5
    local d="$OUT/$name"
    mkdir -p "$d"
    local t0=$SECONDS
    (cd "$d" && exec sipp -sf "$HERE/$uas" "${common[@]}" -p $UAS_PORT -timeout 20s \
        -message_file uas.msg -error_file uas.err "$@" >uas.out 2>&1) &
    local uas_pid=$!
    sleep 0.5
    (cd "$d" && exec sipp 127.0.0.1:$UAS_PORT -sf "$HERE/$uac" -s +15551230001 \
        "${common[@]}" -p $UAC_PORT -timeout 20s -timeout_error \
        -message_file uac.msg -error_file uac.err >uac.out 2>&1)
    local rc_uac=$?
    wait $uas_pid
    local rc_uas=$?
    if [[ $rc_uas == "$want_uas" && $rc_uac == "$want_uac" ]]; then
        printf 'PASS  %-34s uas=%s uac=%s (%ss)\n' "$name" "$rc_uas" "$rc_uac" $((SECONDS - t0))
        pass=$((pass + 1))
    else
        printf 'FAIL  %-34s uas=%s (want %s) uac=%s (want %s); logs in %s\n' \
            "$name" "$rc_uas" "$want_uas" "$rc_uac" "$want_uac" "$d"
        fail=$((fail + 1))
        [[ -n $VERBOSE ]] && tail -n 20 "$d"/*.err "$d"/*.out 2>/dev/null
    fi
}

# A UAS alone: gets no INVITE within the time limit -> sipp stops on its global
# timeout (exit 97) and its message log holds no INVITE (what e2e.py checks for
# out-forbidden).
alone() {
    local name=$1 uas=$2 want=$3
    local d="$OUT/$name"
    mkdir -p "$d"
    local t0=$SECONDS
    (cd "$d" && sipp -sf "$HERE/$uas" "${common[@]}" -p $UAS_PORT -timeout 2s \
        -message_file uas.msg -error_file uas.err >uas.out 2>&1)
    local rc=$?
    if grep -q '^INVITE ' "$d/uas.msg" 2>/dev/null; then rc="$rc+invite"; fi
    if [[ $rc == "$want" ]]; then
        printf 'PASS  %-34s uas=%s (%ss)\n' "$name" "$rc" $((SECONDS - t0))
        pass=$((pass + 1))
    else
        printf 'FAIL  %-34s uas=%s (want %s); logs in %s\n' "$name" "$rc" "$want" "$d"
        fail=$((fail + 1))
    fi
}

pair answer-hangup-by-uac uas_answer.xml uac_call.xml 0 0
pair answer-hangup-by-uas uas_answer_bye.xml uac_call_wait_bye.xml 0 0
pair ring-cancel uas_ring.xml uac_cancel.xml 0 0
pair busy uas_busy.xml uac_486.xml 0 0
pair decline uas_decline.xml uac_603.xml 0 0
pair reply-404 selftest/uas_reply_404.xml uac_404.xml 0 0
pair reply-480 selftest/uas_reply_480.xml uac_480.xml 0 0
# negative checks: a wrong final answer fails the UAC; no INVITE leaves the UAS with no call
pair neg-486-gets-603 uas_decline.xml uac_486.xml 0 1
pair neg-wait-bye-never-comes uas_answer.xml uac_call_wait_bye.xml 1 1
alone neg-uas-no-invite uas_answer.xml 97

echo "sipp selftest: $pass passed, $fail failed (logs: $OUT)"
((fail == 0))
