//! Issue 7, DTMF: RFC 4733 telephone-event packets the relay sends into the
//! SIP leg's RTP for digits the XMPP user typed (XEP-0181, `call::dtmf`).
//!
//! Sans-IO like the relay: digits queue here, [`DtmfSender::due`] says
//! which event packets are due at `now`, and the relay gives them the
//! stream's SSRC and next sequence number. One event at a time, in order:
//!
//! - every packet of an event carries the event's start as its RTP
//!   timestamp (§2.5.1.1); the first has the marker bit (§2.5.1.1);
//! - an update every [`UPDATE_EVERY`] with the duration so far (§2.5.1.2),
//!   the first one at once so the far end starts the tone without delay;
//! - the final packet (E bit, full duration) three times, [`END_REPEAT_GAP`]
//!   apart (§2.5.1.4: redundancy against loss, spaced so that one burst
//!   does not take all three);
//! - the next digit starts [`INTER_DIGIT_GAP`] after the last end packet,
//!   so that a receiver sees two presses, not one long one.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Interval of duration updates (RFC 4733 §2.5.1.2 suggests 50 ms).
pub const UPDATE_EVERY: Duration = Duration::from_millis(50);
/// Spacing of the three end packets.
pub const END_REPEAT_GAP: Duration = Duration::from_millis(20);
/// Silence between two events.
pub const INTER_DIGIT_GAP: Duration = Duration::from_millis(50);
/// How often the end packet is sent (§2.5.1.4).
pub const END_COPIES: u8 = 3;
/// Power level: −10 dBm0, the common default (§2.3.4).
pub const VOLUME: u8 = 10;

/// The RFC 4733 §3.2 event code of a DTMF key.
pub fn event_code(key: char) -> Option<u8> {
    match key.to_ascii_uppercase() {
        c @ '0'..='9' => Some(c as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        c @ 'A'..='D' => Some(12 + (c as u8 - b'A')),
        _ => None,
    }
}

/// One telephone-event packet, without the SSRC and sequence number the
/// relay assigns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPacket {
    /// The marker bit: set on the first packet of an event.
    pub marker: bool,
    /// The E bit: the event ended.
    pub end: bool,
    /// The event code (0-15).
    pub event: u8,
    /// The duration so far, in timestamp units.
    pub duration: u16,
    /// The event's start, in the stream's timestamp units.
    pub timestamp: u32,
}

impl EventPacket {
    /// The 4-byte payload (§2.3).
    pub fn payload(&self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            (u8::from(self.end) << 7) | (VOLUME & 0x3f),
            d[0],
            d[1],
        ]
    }

    /// The whole RTP packet with `pt`, `seq` and `ssrc`.
    pub fn rtp(&self, pt: u8, seq: u16, ssrc: u32) -> Vec<u8> {
        let mut p = Vec::with_capacity(16);
        p.push(0x80);
        p.push((u8::from(self.marker) << 7) | (pt & 0x7f));
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&self.timestamp.to_be_bytes());
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.extend_from_slice(&self.payload());
        p
    }
}

#[derive(Debug)]
struct Event {
    code: u8,
    timestamp: u32,
    start: Instant,
    total_ms: u32,
    clock: u32,
    /// Updates sent so far.
    updates: u32,
    /// End packets sent so far (0 while the tone lasts).
    ends: u8,
    /// When the first end packet went.
    ended_at: Option<Instant>,
}

impl Event {
    fn samples(&self, ms: u32) -> u16 {
        (u64::from(ms) * u64::from(self.clock) / 1000).min(u64::from(u16::MAX)) as u16
    }

    fn next_at(&self) -> Instant {
        match self.ended_at {
            Some(at) => at + END_REPEAT_GAP * u32::from(self.ends),
            None => self.start + UPDATE_EVERY * self.updates,
        }
    }
}

/// The digits waiting for, and the event being sent on, one stream.
#[derive(Debug, Default)]
pub struct DtmfSender {
    queue: VecDeque<(u8, u32)>,
    current: Option<Event>,
    not_before: Option<Instant>,
}

impl DtmfSender {
    /// Queues `key` for `duration_ms`; false for a key that is no DTMF.
    pub fn push(&mut self, key: char, duration_ms: u32) -> bool {
        match event_code(key) {
            Some(code) => {
                self.queue.push_back((code, duration_ms.max(1)));
                true
            }
            None => false,
        }
    }

    /// Whether anything is being sent or waits.
    pub fn is_idle(&self) -> bool {
        self.current.is_none() && self.queue.is_empty()
    }

    /// When [`DtmfSender::due`] has something next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.current {
            Some(e) => Some(e.next_at()),
            None if !self.queue.is_empty() => self.not_before,
            None => None,
        }
    }

    /// The packets due at `now`. `start` gives the RTP timestamp of an event
    /// starting at that instant, `clock` the telephone-event clock rate.
    pub fn due(
        &mut self,
        now: Instant,
        clock: u32,
        mut start: impl FnMut(Instant) -> u32,
    ) -> Vec<EventPacket> {
        let mut out = Vec::new();
        loop {
            if self.current.is_none() {
                if self.not_before.is_some_and(|t| now < t) {
                    break;
                }
                let Some((code, total_ms)) = self.queue.pop_front() else {
                    break;
                };
                // A late wake-up starts the event now, not in the past.
                let at = now;
                self.current = Some(Event {
                    code,
                    timestamp: start(at),
                    start: at,
                    total_ms,
                    clock: clock.max(1),
                    updates: 0,
                    ends: 0,
                    ended_at: None,
                });
            }
            let e = self.current.as_mut().expect("set above");
            let at = e.next_at();
            if now < at {
                break;
            }
            if e.ended_at.is_none() {
                let so_far = ((e.updates + 1) * UPDATE_EVERY.as_millis() as u32).min(e.total_ms);
                let end = so_far >= e.total_ms;
                out.push(EventPacket {
                    marker: e.updates == 0,
                    end,
                    event: e.code,
                    duration: e.samples(so_far),
                    timestamp: e.timestamp,
                });
                e.updates += 1;
                if end {
                    e.ended_at = Some(at);
                    e.ends = 1;
                }
            } else {
                out.push(EventPacket {
                    marker: false,
                    end: true,
                    event: e.code,
                    duration: e.samples(e.total_ms),
                    timestamp: e.timestamp,
                });
                e.ends += 1;
            }
            if e.ends >= END_COPIES {
                self.not_before = Some(at + INTER_DIGIT_GAP);
                self.current = None;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_codes_follow_rfc_4733() {
        let codes: Vec<u8> = "0123456789*#ABCD"
            .chars()
            .map(|c| event_code(c).unwrap())
            .collect();
        assert_eq!(codes, (0..16).collect::<Vec<u8>>());
        assert_eq!(event_code('d'), Some(15));
        assert_eq!(event_code('E'), None);
    }

    /// 120 ms of `5` at 8 kHz: updates at 0, 50, 100 ms (the last one is the
    /// first end packet), two more end packets 20 ms apart, one timestamp.
    #[test]
    fn one_digit_is_marker_updates_and_three_ends() {
        let t0 = Instant::now();
        let mut s = DtmfSender::default();
        assert!(s.push('5', 120));
        let mut all = Vec::new();
        let mut times = Vec::new();
        let mut now = t0;
        for _ in 0..20 {
            let got = s.due(now, 8000, |_| 4242);
            times.extend(got.iter().map(|_| now - t0));
            all.extend(got);
            match s.poll_timeout() {
                Some(t) => now = t,
                None => break,
            }
        }
        let ms = |n| Duration::from_millis(n);
        assert_eq!(times, [ms(0), ms(50), ms(100), ms(120), ms(140)]);
        let fields: Vec<(bool, bool, u16)> =
            all.iter().map(|p| (p.marker, p.end, p.duration)).collect();
        assert_eq!(
            fields,
            [
                (true, false, 400),
                (false, false, 800),
                (false, true, 960),
                (false, true, 960),
                (false, true, 960)
            ]
        );
        assert!(all.iter().all(|p| p.timestamp == 4242 && p.event == 5));
        assert_eq!(all[2].payload(), [5, 0x80 | 10, 0x03, 0xc0]);
        assert!(s.is_idle());
    }

    #[test]
    fn digits_go_in_order_with_a_gap_and_their_own_timestamps() {
        let t0 = Instant::now();
        let mut s = DtmfSender::default();
        s.push('1', 40);
        s.push('#', 40);
        let mut starts = Vec::new();
        let mut events = Vec::new();
        let mut now = t0;
        loop {
            let got = s.due(now, 8000, |at| {
                starts.push(at - t0);
                (at - t0).as_millis() as u32 * 8
            });
            events.extend(got.iter().map(|p| (p.event, p.marker, p.timestamp)));
            match s.poll_timeout() {
                Some(at) => now = at,
                None => break,
            }
        }
        // '1': 0, 20, 40 ms (ends); '#' 50 ms after the last end.
        assert_eq!(
            starts,
            [Duration::from_millis(0), Duration::from_millis(90)]
        );
        assert_eq!(
            events,
            [
                (1, true, 0),
                (1, false, 0),
                (1, false, 0),
                (11, true, 720),
                (11, false, 720),
                (11, false, 720)
            ]
        );
    }

    #[test]
    fn a_rtp_packet_has_the_header_fields() {
        let p = EventPacket {
            marker: true,
            end: false,
            event: 11,
            duration: 160,
            timestamp: 0x01020304,
        };
        assert_eq!(
            p.rtp(101, 0xabcd, 0xdeadbeef),
            [
                0x80,
                0x80 | 101,
                0xab,
                0xcd,
                1,
                2,
                3,
                4,
                0xde,
                0xad,
                0xbe,
                0xef,
                11,
                10,
                0,
                160
            ]
        );
    }
}
