//! Per-leg media counters: packets, bytes, loss and interarrival jitter.
//!
//! Loss and jitter follow RFC 3550 (§A.3 expected vs. received from the
//! extended highest sequence number; §6.4.1 jitter in timestamp units,
//! reported here in milliseconds) for the leg's first RTP source.

use std::time::Instant;

/// The counters' type lives in the pure `media::stats` (the call core
/// keeps them); it is re-exported here, where the relay fills it in.
pub use crate::media::stats::LegStats;

/// Sequence and jitter tracking of one RTP source.
#[derive(Debug, Clone, Default)]
pub struct SourceTracker {
    ssrc: Option<u32>,
    base_seq: u32,
    max_seq: u32,
    received: u64,
    last_transit: Option<f64>,
    jitter: f64,
    origin: Option<Instant>,
}

impl SourceTracker {
    /// Accounts one RTP packet of `clock` Hz; other sources than the first are ignored.
    pub fn record(&mut self, now: Instant, ssrc: u32, seq: u16, timestamp: u32, clock: u32) {
        match self.ssrc {
            None => {
                self.ssrc = Some(ssrc);
                self.base_seq = u32::from(seq);
                self.max_seq = u32::from(seq);
                self.origin = Some(now);
            }
            Some(s) if s != ssrc => return,
            Some(_) => {
                let max_low = (self.max_seq & 0xffff) as u16;
                let delta = seq.wrapping_sub(max_low);
                if delta != 0 && delta < 0x8000 {
                    let mut ext = (self.max_seq & !0xffff) | u32::from(seq);
                    if seq < max_low {
                        ext = ext.wrapping_add(0x1_0000);
                    }
                    self.max_seq = ext;
                }
            }
        }
        self.received += 1;
        if clock > 0 {
            let origin = self.origin.unwrap_or(now);
            let arrival = now.duration_since(origin).as_secs_f64() * f64::from(clock);
            let transit = arrival - f64::from(timestamp);
            if let Some(last) = self.last_transit {
                let d = (transit - last).abs();
                // Timestamps wrap and sources restart: ignore absurd jumps.
                if d < f64::from(clock) * 10.0 {
                    self.jitter += (d - self.jitter) / 16.0;
                }
            }
            self.last_transit = Some(transit);
        }
    }

    /// Packets expected but not received so far.
    pub fn lost(&self) -> u64 {
        if self.ssrc.is_none() {
            return 0;
        }
        let expected = u64::from(self.max_seq.wrapping_sub(self.base_seq)) + 1;
        expected.saturating_sub(self.received)
    }

    /// Jitter in timestamp units.
    pub fn jitter(&self) -> f64 {
        self.jitter
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn counts_gaps_as_loss_across_a_wrap() {
        let t0 = Instant::now();
        let mut s = SourceTracker::default();
        let mut ts = 0u32;
        for (i, seq) in [65530u16, 65531, 65533, 65535, 0, 1, 4].iter().enumerate() {
            s.record(t0 + Duration::from_millis(20 * i as u64), 9, *seq, ts, 8000);
            ts += 160;
        }
        // 65530..=4 is 11 packets; 7 arrived.
        assert_eq!(s.lost(), 4);
    }

    #[test]
    fn steady_packets_have_no_jitter_and_late_ones_do() {
        let t0 = Instant::now();
        let mut steady = SourceTracker::default();
        let mut late = SourceTracker::default();
        for i in 0..50u32 {
            let at = t0 + Duration::from_millis(20 * u64::from(i));
            steady.record(at, 1, i as u16, i * 160, 8000);
            let wobble = if i % 2 == 0 { 0 } else { 10 };
            late.record(
                at + Duration::from_millis(wobble),
                1,
                i as u16,
                i * 160,
                8000,
            );
        }
        assert!(steady.jitter() < 0.01, "{}", steady.jitter());
        // 10 ms at 8 kHz is 80 units between neighbours.
        assert!(late.jitter() > 40.0, "{}", late.jitter());
        assert_eq!(steady.lost(), 0);
    }
}
