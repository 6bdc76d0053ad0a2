//! What the anchor counted on a call's two legs: plain data, so that the
//! call core can keep the latest report in the call (and so in the `Ended`
//! snapshot and the CDR) and the embedded relay can produce it. The
//! counting itself (`media::engine::stats`) needs the relay; these types
//! do not, so they exist without the `gateway` feature too.

use serde::{Deserialize, Serialize};

/// Counters of one leg, as metrics and the CDR read them. Every count is
/// since the leg's media started (cumulative), so a report that is missed
/// loses nothing but freshness.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LegStats {
    /// RTP and RTCP packets received from the leg.
    pub packets_in: u64,
    /// Their bytes (UDP payload).
    pub bytes_in: u64,
    /// Packets sent to the leg.
    pub packets_out: u64,
    /// Their bytes.
    pub bytes_out: u64,
    /// Packets dropped: from an unverified or foreign address, failed
    /// authentication, or nowhere to send them yet.
    pub dropped: u64,
    /// RTP packets the leg's first source should have sent but did not
    /// arrive (RFC 3550 §A.3: expected from the sequence numbers, minus
    /// received).
    pub lost: u64,
    /// Interarrival jitter of that source (RFC 3550 §6.4.1), milliseconds.
    pub jitter_ms: f64,
}

/// Both legs' counters: the latest report of a call's anchor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct MediaStats {
    /// The leg toward the XMPP client.
    pub xmpp: LegStats,
    /// The leg toward the SIP peer.
    pub sip: LegStats,
}
