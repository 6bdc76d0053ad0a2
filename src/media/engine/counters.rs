//! Totals over every relay of the embedded anchor, as plain atomics: relays
//! add to them once a second and `/metrics` reads them at scrape time.

use crate::media::anchor::MediaLeg;
use std::sync::atomic::{AtomicU64, Ordering};

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
    /// RTP packets lost on their way from XMPP clients (RFC 3550 §A.3).
    pub xmpp_lost: AtomicU64,
    /// RTP packets lost on their way from SIP peers.
    pub sip_lost: AtomicU64,
    /// Interarrival jitter of the XMPP legs, sampled at each stats report.
    pub xmpp_jitter: JitterHistogram,
    /// Interarrival jitter of the SIP legs, likewise.
    pub sip_jitter: JitterHistogram,
}

impl MediaCounters {
    /// The jitter histogram of `leg`.
    pub fn jitter(&self, leg: MediaLeg) -> &JitterHistogram {
        match leg {
            MediaLeg::Xmpp => &self.xmpp_jitter,
            MediaLeg::Sip => &self.sip_jitter,
        }
    }

    /// The lost-packet counter of `leg`.
    pub fn lost(&self, leg: MediaLeg) -> &AtomicU64 {
        match leg {
            MediaLeg::Xmpp => &self.xmpp_lost,
            MediaLeg::Sip => &self.sip_lost,
        }
    }
}

/// Upper bounds (ms) of the jitter buckets; a last, unbounded one follows.
/// 20 ms is one packet time of most audio: jitter near it needs a deep
/// buffer, past 50 ms speech breaks up.
pub const JITTER_BUCKETS_MS: [f64; 9] = [1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 50.0, 100.0, 200.0];

/// A histogram of jitter samples (ms), as atomics: one sample per leg and
/// stats report (every `STATS_EVERY` of a leg that received media since
/// the last), so it weighs calls by their length. RFC 3550's jitter is a
/// running estimate over the last few packets, which is why one sample at
/// the end of a call would say little about the call.
#[derive(Debug, Default)]
pub struct JitterHistogram {
    /// Samples per bucket (not cumulative), the unbounded one last.
    buckets: [AtomicU64; JITTER_BUCKETS_MS.len() + 1],
    /// Samples.
    count: AtomicU64,
    /// Their sum, in microseconds (integers add atomically; f64 bits do not).
    sum_us: AtomicU64,
}

impl JitterHistogram {
    /// Adds one sample.
    pub fn observe(&self, jitter_ms: f64) {
        let ms = if jitter_ms.is_finite() {
            jitter_ms.max(0.0)
        } else {
            0.0
        };
        let i = JITTER_BUCKETS_MS
            .iter()
            .position(|le| ms <= *le)
            .unwrap_or(JITTER_BUCKETS_MS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        // Saturating float-to-int cast: an absurd sample cannot wrap the sum.
        self.sum_us
            .fetch_add((ms * 1000.0).round() as u64, Ordering::Relaxed);
    }

    /// (sum in ms, count, per-bucket counts with their upper bounds, the
    /// last `f64::MAX`), as the Prometheus encoder takes them.
    pub fn snapshot(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let buckets = JITTER_BUCKETS_MS
            .iter()
            .copied()
            .chain(std::iter::once(f64::MAX))
            .zip(&self.buckets)
            .map(|(le, n)| (le, n.load(Ordering::Relaxed)))
            .collect();
        (
            self.sum_us.load(Ordering::Relaxed) as f64 / 1000.0,
            self.count.load(Ordering::Relaxed),
            buckets,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_land_in_their_buckets() {
        let h = JitterHistogram::default();
        for ms in [0.4, 1.0, 7.5, 20.0, 999.0, f64::NAN] {
            h.observe(ms);
        }
        let (sum, count, buckets) = h.snapshot();
        assert_eq!(count, 6);
        assert!(
            (sum - (0.4 + 1.0 + 7.5 + 20.0 + 999.0)).abs() < 1e-9,
            "{sum}"
        );
        let n = |le: f64| buckets.iter().find(|(b, _)| *b == le).unwrap().1;
        // NaN counts as 0 ms.
        assert_eq!(
            (n(1.0), n(2.0), n(10.0), n(20.0), n(f64::MAX)),
            (3, 0, 1, 1, 1)
        );
    }
}
