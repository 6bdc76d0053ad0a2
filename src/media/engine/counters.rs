//! Totals over every relay of the embedded anchor, as plain atomics: relays
//! add to them once a second and `/metrics` reads them at scrape time.

use std::sync::atomic::AtomicU64;

/// Totals over every relay, read by `/metrics`.
#[derive(Debug, Default)]
pub struct MediaCounters {
    /// Relays running now.
    pub sessions: AtomicU64,
    /// Packets received from XMPP clients.
    pub xmpp_in: AtomicU64,
    /// Packets received from SIP peers.
    pub sip_in: AtomicU64,
    /// Packets sent to XMPP clients.
    pub xmpp_out: AtomicU64,
    /// Packets sent to SIP peers.
    pub sip_out: AtomicU64,
    /// Packets dropped (unverified or foreign source, failed authentication).
    pub dropped: AtomicU64,
    /// Calls whose media could not be set up (no ports, bad SDP).
    pub failures: AtomicU64,
}
