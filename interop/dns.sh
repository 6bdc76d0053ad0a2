#!/usr/bin/env bash
# RFC 3263 location against a real DNS server: installs dnsmasq (Debian
# dnsmasq-base) when missing, then runs tests/dns_real.rs, which starts
# dnsmasq on 127.0.0.1 (unprivileged port, our records only) and checks
#   - the resolver adapter orders targets as the NAPTR and SRV records say;
#   - a running stox with trunk uri = "sip:pbx.test" (two SRV targets, the
#     first refusing TCP) reaches the second.
# Those tests are #[ignore]d in a plain `cargo nextest run`; this script runs
# them. Without dnsmasq after the install it fails: it never skips.
#
#   interop/dns.sh
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "dns.sh: $*" >&2; }

have_dnsmasq() { command -v dnsmasq >/dev/null 2>&1 || [[ -x /usr/sbin/dnsmasq ]]; }

if ! have_dnsmasq; then
    # shellcheck source=apt.sh
    source interop/apt.sh
    log "installing dnsmasq-base"
    apt_retry update -qq
    apt_retry install -y -qq dnsmasq-base
fi
if ! have_dnsmasq; then
    log "dnsmasq is still missing after installing dnsmasq-base: cannot run the DNS tests"
    exit 1
fi

if cargo nextest --version >/dev/null 2>&1; then
    exec cargo nextest run --test dns_real --run-ignored all
else
    exec cargo test --test dns_real -- --include-ignored
fi
