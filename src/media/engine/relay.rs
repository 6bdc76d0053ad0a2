//! One anchored call's packet relay, sans-IO.
//!
//! Datagrams come in with the socket they arrived on, their source and the
//! time; what to send comes out of [`Relay::poll_transmit`]. The runtime
//! (`runtime::media`) owns the sockets. Toward XMPP a transport is ICE-lite +
//! DTLS-SRTP (or plain, for a client that offered neither); toward SIP each
//! stream has an RTP and an RTCP port with symmetric latching and optional
//! SDES-SRTP. Payload types are renumbered between the two legs' maps.

use super::dtls::{DtlsLeg, Identity, SrtpPair};
use super::dtmf::DtmfSender;
use super::ice::{CONSENT_TIMEOUT, CheckOutcome, IceLite};
use super::stats::{LegStats, SourceTracker};
use crate::media::anchor::{MediaLeg, MediaNotice};
use crate::media::rtp::{self, PacketKind};
use crate::media::srtp::SrtpContext;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// A latched SIP source that has been silent this long may be replaced by a
/// new one (a NAT rebinding, a phone that moved); before that, packets from
/// any other address are dropped as injected.
pub const RELATCH_AFTER: Duration = Duration::from_secs(5);

/// How long a call on hold (a leg's description is `sendonly`, `recvonly` or
/// `inactive`) may go without packets: rtpengine's `silent-timeout` default.
/// A held phone often sends nothing at all, so the normal inactivity limit
/// would cut every call left on hold for a minute.
pub const HOLD_INACTIVITY: Duration = Duration::from_secs(3600);

/// A SIP leg's new description of one stream (re-INVITE / UPDATE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUpdate {
    /// Where to send RTP now.
    pub rtp: Option<SocketAddr>,
    /// Where to send RTCP now.
    pub rtcp: Option<SocketAddr>,
    /// Whether the stream is on hold (not `sendrecv`).
    pub held: bool,
}

/// The sockets of a relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Port {
    /// The XMPP transport with this index.
    Xmpp(usize),
    /// Stream `i`'s SIP RTP port.
    SipRtp(usize),
    /// Stream `i`'s SIP RTCP port.
    SipRtcp(usize),
}

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The socket to send it from.
    pub from: Port,
    /// Where to.
    pub to: SocketAddr,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// How one XMPP transport works, from the two descriptions.
#[derive(Debug, Clone)]
pub struct XmppTransportPlan {
    /// Our ICE-lite credentials, when the client does ICE.
    pub ice: Option<(String, String)>,
    /// The client's ufrag.
    pub remote_ufrag: Option<String>,
    /// DTLS: whether we are the client (`setup:active`) and the client's
    /// fingerprints; `None` for a plain-RTP client.
    pub dtls: Option<(bool, Vec<String>)>,
    /// Where a client without ICE receives.
    pub remote: Option<SocketAddr>,
}

/// How one stream is relayed.
#[derive(Debug, Clone)]
pub struct StreamPlan {
    /// Our SIP RTP port for it (RTCP is the next one).
    pub sip_port: u16,
    /// The XMPP transport it travels on (several when bundled).
    pub xmpp_transport: usize,
    /// Payload types the XMPP leg sends on this stream (for BUNDLE demux).
    pub xmpp_pts: Vec<u8>,
    /// XMPP payload type → SIP payload type (absent: unchanged).
    pub to_sip: Vec<(u8, u8)>,
    /// SIP payload type → XMPP payload type.
    pub to_xmpp: Vec<(u8, u8)>,
    /// Clock rate by payload type as the SIP leg sends, for jitter.
    pub sip_clock: Vec<(u8, u32)>,
    /// Clock rate by payload type as the XMPP leg sends.
    pub xmpp_clock: Vec<(u8, u32)>,
    /// Where the SIP description says to send RTP and RTCP.
    pub sip_rtp: Option<SocketAddr>,
    /// RTCP destination from the description (`a=rtcp`, else RTP port + 1).
    pub sip_rtcp: Option<SocketAddr>,
    /// Issue 7: telephone-event payload types (SIP numbering) and their
    /// clock rates that both legs' descriptions agreed on; empty when the
    /// relay cannot send RFC 4733 DTMF on this stream.
    pub sip_events: Vec<(u8, u32)>,
}

/// Everything a relay needs, derived from the offer and the answer.
#[derive(Debug, Clone)]
pub struct RelayPlan {
    /// The correlation id, for logs.
    pub call: String,
    /// XMPP transports.
    pub xmpp: Vec<XmppTransportPlan>,
    /// Streams.
    pub streams: Vec<StreamPlan>,
    /// SDES keys toward SIP: (ours, for sending; theirs, for receiving).
    pub sdes: Option<(crate::media::srtp::SrtpKeys, crate::media::srtp::SrtpKeys)>,
    /// No packet from a leg for this long ends the call.
    pub inactivity: Option<Duration>,
}

struct XmppTransport {
    ice: Option<IceLite>,
    dtls: Option<DtlsLeg>,
    srtp: Option<SrtpPair>,
    /// A client without ICE: the address from its description, then latched.
    plain_remote: Option<SocketAddr>,
}

impl XmppTransport {
    fn destination(&self) -> Option<SocketAddr> {
        match &self.ice {
            Some(ice) => ice.selected(),
            None => self.plain_remote,
        }
    }

    fn accepts(&self, from: SocketAddr) -> bool {
        match &self.ice {
            Some(ice) => ice.is_verified(from),
            None => true,
        }
    }
}

#[derive(Default)]
struct Latch {
    source: Option<SocketAddr>,
    last: Option<Instant>,
}

impl Latch {
    /// Whether a packet from `from` is accepted (latching on the first one).
    fn admit(&mut self, now: Instant, from: SocketAddr) -> bool {
        let stale = self
            .last
            .is_none_or(|t| now.saturating_duration_since(t) >= RELATCH_AFTER);
        match self.source {
            Some(s) if s == from => {}
            Some(_) if !stale => return false,
            _ => self.source = Some(from),
        }
        self.last = Some(now);
        true
    }
}

struct SipStream {
    rtp: Latch,
    rtcp: Latch,
}

/// One call's relay.
pub struct Relay {
    plan: RelayPlan,
    xmpp: Vec<XmppTransport>,
    sip: Vec<SipStream>,
    sdes: Option<SrtpPair>,
    stats: [LegStats; 2],
    sources: [SourceTracker; 2],
    last_rx: [Instant; 2],
    transmits: VecDeque<Transmit>,
    notices: VecDeque<MediaNotice>,
    ended: bool,
    /// A leg put the call on hold: [`HOLD_INACTIVITY`] applies.
    held: bool,
    /// XMPP SSRCs seen per stream, to send their RTCP to the right SIP port.
    xmpp_ssrcs: Vec<(u32, usize)>,
    /// Per stream: the RTP we last sent toward SIP, and how far injected
    /// DTMF packets moved the sequence numbers.
    to_sip_rtp: Vec<OutRtp>,
    /// RFC 4733 events waiting or being sent, on stream `dtmf_stream`.
    dtmf: DtmfSender,
    dtmf_stream: usize,
}

/// The RTP stream the relay sends toward SIP: injected telephone-events
/// share its SSRC and sequence (RFC 4733 §2.1: events and the audio they
/// replace are one stream), so every forwarded packet after an injected one
/// has its sequence number moved on by one per injected packet.
#[derive(Debug, Default, Clone, Copy)]
struct OutRtp {
    /// SSRC, last sequence number sent, last timestamp, when, its clock.
    last: Option<(u32, u16, u32, Instant, u32)>,
    /// Added to every forwarded packet's sequence number.
    shift: u16,
}

fn leg_index(leg: MediaLeg) -> usize {
    match leg {
        MediaLeg::Xmpp => 0,
        MediaLeg::Sip => 1,
    }
}

fn map_pt(map: &[(u8, u8)], pt: u8) -> u8 {
    map.iter().find(|(a, _)| *a == pt).map_or(pt, |(_, b)| *b)
}

fn clock_of(map: &[(u8, u32)], pt: u8) -> u32 {
    map.iter().find(|(p, _)| *p == pt).map_or(8000, |(_, c)| *c)
}

impl Relay {
    /// A relay for `plan`; `now` starts the inactivity clocks.
    pub fn new(plan: RelayPlan, identity: &Identity, now: Instant) -> Result<Self, String> {
        let xmpp = plan
            .xmpp
            .iter()
            .map(|t| XmppTransport {
                ice: t.ice.as_ref().map(|(u, p)| {
                    let mut ice = IceLite::new(u.clone(), p.clone());
                    ice.set_remote_ufrag(t.remote_ufrag.clone());
                    ice
                }),
                dtls: t
                    .dtls
                    .as_ref()
                    .map(|(active, fps)| DtlsLeg::new(identity, *active, fps.clone(), now)),
                srtp: None,
                plain_remote: t.remote,
            })
            .collect();
        let sdes = match &plan.sdes {
            Some((ours, theirs)) => Some(SrtpPair {
                tx: SrtpContext::new(ours).map_err(|e| e.to_string())?,
                rx: SrtpContext::new(theirs).map_err(|e| e.to_string())?,
            }),
            None => None,
        };
        let sip = plan
            .streams
            .iter()
            .map(|_| SipStream {
                rtp: Latch::default(),
                rtcp: Latch::default(),
            })
            .collect();
        Ok(Relay {
            xmpp,
            sip,
            sdes,
            stats: [LegStats::default(); 2],
            sources: [SourceTracker::default(), SourceTracker::default()],
            last_rx: [now; 2],
            transmits: VecDeque::new(),
            notices: VecDeque::new(),
            ended: false,
            held: false,
            xmpp_ssrcs: Vec::new(),
            to_sip_rtp: vec![OutRtp::default(); plan.streams.len()],
            dtmf: DtmfSender::default(),
            dtmf_stream: 0,
            plan,
        })
    }

    /// The plan it runs.
    pub fn plan(&self) -> &RelayPlan {
        &self.plan
    }

    /// Counters of a leg (loss and jitter filled in).
    pub fn stats(&self, leg: MediaLeg) -> LegStats {
        let i = leg_index(leg);
        let mut s = self.stats[i];
        s.lost = self.sources[i].lost();
        let clock = match leg {
            MediaLeg::Xmpp => self.plan.streams.first().map(|s| &s.xmpp_clock),
            MediaLeg::Sip => self.plan.streams.first().map(|s| &s.sip_clock),
        }
        .and_then(|m| m.first().map(|(_, c)| *c))
        .unwrap_or(8000);
        s.jitter_ms = self.sources[i].jitter() * 1000.0 / f64::from(clock.max(1));
        s
    }

    /// The SIP leg sent a new description: follow its addresses (a changed
    /// address also frees the latch, so the new source is learnt) and its
    /// hold state. `streams` are the accepted streams in order.
    pub fn update_sip(&mut self, streams: &[SipUpdate]) {
        for (i, u) in streams.iter().enumerate().take(self.plan.streams.len()) {
            let plan = &mut self.plan.streams[i];
            if u.rtp.is_some() && plan.sip_rtp != u.rtp {
                self.sip[i].rtp = Latch::default();
                self.sip[i].rtcp = Latch::default();
            }
            if u.rtp.is_some() {
                plan.sip_rtp = u.rtp;
                plan.sip_rtcp = u.rtcp;
            }
        }
        self.held = streams.iter().any(|u| u.held);
        tracing::info!(call = %self.plan.call, held = self.held, "SIP leg's media updated");
    }

    fn inactivity(&self) -> Option<Duration> {
        self.plan.inactivity.map(|limit| {
            if self.held {
                limit.max(HOLD_INACTIVITY)
            } else {
                limit
            }
        })
    }

    /// Both legs' counters as the notice the core keeps for the CDR.
    pub fn report(&self) -> MediaNotice {
        MediaNotice::Stats {
            xmpp: self.stats(MediaLeg::Xmpp),
            sip: self.stats(MediaLeg::Sip),
        }
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next thing to tell the call core.
    pub fn poll_notice(&mut self) -> Option<MediaNotice> {
        self.notices.pop_front()
    }

    /// When [`Relay::handle_timeout`] should run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.ended {
            return None;
        }
        let mut next: Option<Instant> = None;
        let mut earliest = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        for t in &self.xmpp {
            if let Some(at) = t.dtls.as_ref().and_then(DtlsLeg::poll_timeout) {
                earliest(at);
            }
            if let Some(last) = t.ice.as_ref().and_then(IceLite::last_check) {
                earliest(last + CONSENT_TIMEOUT);
            }
        }
        if let Some(limit) = self.inactivity() {
            for last in self.last_rx {
                earliest(last + limit);
            }
        }
        if let Some(at) = self.dtmf.poll_timeout() {
            earliest(at);
        }
        next
    }

    /// Timers: DTLS retransmissions, consent, inactivity.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.ended {
            return;
        }
        self.send_due_dtmf(now);
        for i in 0..self.xmpp.len() {
            let step = match self.xmpp[i].dtls.as_mut() {
                Some(d) => d.handle_timeout(now),
                None => continue,
            };
            self.after_dtls(i, step);
        }
        for t in &self.xmpp {
            if let Some(last) = t.ice.as_ref().and_then(IceLite::last_check)
                && now.saturating_duration_since(last) >= CONSENT_TIMEOUT
            {
                self.fail(
                    MediaLeg::Xmpp,
                    format!(
                        "ICE consent expired: no connectivity check for {} s",
                        CONSENT_TIMEOUT.as_secs()
                    ),
                );
                return;
            }
        }
        if let Some(limit) = self.inactivity() {
            for leg in [MediaLeg::Xmpp, MediaLeg::Sip] {
                let idle = now.saturating_duration_since(self.last_rx[leg_index(leg)]);
                if idle >= limit {
                    self.ended = true;
                    self.notices.push_back(MediaNotice::Inactive {
                        leg,
                        secs: idle.as_secs(),
                    });
                    return;
                }
            }
        }
    }

    fn fail(&mut self, leg: MediaLeg, why: String) {
        if !self.ended {
            self.ended = true;
            self.notices.push_back(MediaNotice::Failed { leg, why });
        }
    }

    fn after_dtls(&mut self, transport: usize, step: Result<super::dtls::Step, String>) {
        match step {
            Ok(step) => {
                if let Some(to) = self.xmpp[transport].destination() {
                    for bytes in step.packets {
                        self.transmits.push_back(Transmit {
                            from: Port::Xmpp(transport),
                            to,
                            bytes,
                        });
                    }
                }
                if let Some(keys) = step.keys {
                    tracing::info!(call = %self.plan.call, transport, "DTLS-SRTP established with the XMPP client");
                    self.xmpp[transport].srtp = Some(keys);
                }
            }
            Err(why) => self.fail(MediaLeg::Xmpp, why),
        }
    }

    /// One datagram that arrived on `port` from `from`.
    pub fn handle_datagram(&mut self, now: Instant, port: Port, from: SocketAddr, buf: &[u8]) {
        if self.ended {
            return;
        }
        match port {
            Port::Xmpp(t) if t < self.xmpp.len() => self.on_xmpp_datagram(now, t, from, buf),
            Port::SipRtp(i) if i < self.sip.len() => self.on_sip_datagram(now, i, false, from, buf),
            Port::SipRtcp(i) if i < self.sip.len() => self.on_sip_datagram(now, i, true, from, buf),
            _ => {}
        }
    }

    fn drop_packet(&mut self, leg: MediaLeg) {
        self.stats[leg_index(leg)].dropped += 1;
    }

    fn on_xmpp_datagram(&mut self, now: Instant, t: usize, from: SocketAddr, buf: &[u8]) {
        let kind = rtp::classify(buf);
        if kind == PacketKind::Stun {
            let Some(ice) = self.xmpp[t].ice.as_mut() else {
                return self.drop_packet(MediaLeg::Xmpp);
            };
            match ice.handle_check(now, from, buf) {
                CheckOutcome::Reply(bytes) => {
                    self.last_rx[0] = now;
                    self.transmits.push_back(Transmit {
                        from: Port::Xmpp(t),
                        to: from,
                        bytes,
                    });
                    let start = self.xmpp[t]
                        .dtls
                        .as_ref()
                        .is_some_and(|d| d.is_active() && !d.started());
                    if start && self.xmpp[t].destination().is_some() {
                        let step = self.xmpp[t].dtls.as_mut().expect("checked").start(now);
                        self.after_dtls(t, step);
                    }
                }
                CheckOutcome::Ignored(why) => {
                    tracing::debug!(call = %self.plan.call, %from, why, "STUN ignored");
                    self.drop_packet(MediaLeg::Xmpp);
                }
            }
            return;
        }
        if !self.xmpp[t].accepts(from) {
            return self.drop_packet(MediaLeg::Xmpp);
        }
        if self.xmpp[t].ice.is_none() && self.xmpp[t].plain_remote != Some(from) {
            self.xmpp[t].plain_remote = Some(from);
        }
        match kind {
            PacketKind::Dtls => {
                let step = match self.xmpp[t].dtls.as_mut() {
                    Some(d) => d.handle_packet(now, buf),
                    None => return self.drop_packet(MediaLeg::Xmpp),
                };
                self.last_rx[0] = now;
                self.after_dtls(t, step);
            }
            PacketKind::Rtp | PacketKind::Rtcp => {
                let rtcp = kind == PacketKind::Rtcp;
                let has_dtls = self.xmpp[t].dtls.is_some();
                let plain = match (&mut self.xmpp[t].srtp, has_dtls) {
                    (Some(keys), _) => {
                        let r = if rtcp {
                            keys.rx.unprotect_rtcp(buf)
                        } else {
                            keys.rx.unprotect_rtp(buf)
                        };
                        match r {
                            Ok(p) => p,
                            Err(_) => return self.drop_packet(MediaLeg::Xmpp),
                        }
                    }
                    (None, true) => return self.drop_packet(MediaLeg::Xmpp),
                    (None, false) => buf.to_vec(),
                };
                self.last_rx[0] = now;
                self.stats[0].packets_in += 1;
                self.stats[0].bytes_in += buf.len() as u64;
                self.xmpp_to_sip(now, t, rtcp, plain);
            }
            _ => self.drop_packet(MediaLeg::Xmpp),
        }
    }

    fn xmpp_to_sip(&mut self, now: Instant, t: usize, rtcp: bool, mut plain: Vec<u8>) {
        let stream = if rtcp {
            let ssrc = rtp::rtcp_sender_ssrc(&plain);
            self.xmpp_ssrcs
                .iter()
                .find(|(s, _)| Some(*s) == ssrc)
                .map(|(_, i)| *i)
                .or_else(|| self.plan.streams.iter().position(|s| s.xmpp_transport == t))
        } else {
            let Some(h) = rtp::parse_rtp(&plain) else {
                return self.drop_packet(MediaLeg::Xmpp);
            };
            let on_transport = || {
                self.plan
                    .streams
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.xmpp_transport == t)
            };
            let found = on_transport()
                .find(|(_, s)| s.xmpp_pts.contains(&h.payload_type))
                .or_else(|| on_transport().next())
                .map(|(i, _)| i);
            if let Some(i) = found {
                let clock = clock_of(&self.plan.streams[i].xmpp_clock, h.payload_type);
                self.sources[0].record(now, h.ssrc, h.sequence, h.timestamp, clock);
                if !self.xmpp_ssrcs.iter().any(|(s, _)| *s == h.ssrc) && self.xmpp_ssrcs.len() < 64
                {
                    self.xmpp_ssrcs.push((h.ssrc, i));
                }
                let pt = map_pt(&self.plan.streams[i].to_sip, h.payload_type);
                rtp::set_payload_type(&mut plain, pt);
                let out = &mut self.to_sip_rtp[i];
                let seq = h.sequence.wrapping_add(out.shift);
                plain[2..4].copy_from_slice(&seq.to_be_bytes());
                // A reordered (older) packet must not pull the numbering
                // back: the next injected packet would reuse a number.
                let newer = out.last.is_none_or(|(ssrc, last, ..)| {
                    ssrc != h.ssrc || seq.wrapping_sub(last) < 0x8000
                });
                if newer {
                    out.last = Some((h.ssrc, seq, h.timestamp, now, clock));
                }
            }
            found
        };
        let Some(i) = stream else {
            return self.drop_packet(MediaLeg::Xmpp);
        };
        let (port, to) = if rtcp {
            (
                Port::SipRtcp(i),
                self.sip[i].rtcp.source.or(self.plan.streams[i].sip_rtcp),
            )
        } else {
            (
                Port::SipRtp(i),
                self.sip[i].rtp.source.or(self.plan.streams[i].sip_rtp),
            )
        };
        let Some(to) = to else {
            return self.drop_packet(MediaLeg::Xmpp);
        };
        let bytes = match &mut self.sdes {
            Some(keys) => {
                let r = if rtcp {
                    keys.tx.protect_rtcp(&plain)
                } else {
                    keys.tx.protect_rtp(&plain)
                };
                match r {
                    Ok(b) => b,
                    Err(_) => return self.drop_packet(MediaLeg::Xmpp),
                }
            }
            None => plain,
        };
        self.stats[1].packets_out += 1;
        self.stats[1].bytes_out += bytes.len() as u64;
        self.transmits.push_back(Transmit {
            from: port,
            to,
            bytes,
        });
    }

    /// Issue 7: sends `key` for `duration_ms` as RFC 4733 events into the
    /// SIP leg's RTP, after any digit still being sent. An error when no
    /// stream agreed on telephone-event (the core should have chosen INFO).
    pub fn send_dtmf(&mut self, now: Instant, key: char, duration_ms: u32) -> Result<(), String> {
        if self.ended {
            return Err("the relay has ended".into());
        }
        let Some(i) = self
            .plan
            .streams
            .iter()
            .position(|s| !s.sip_events.is_empty())
        else {
            return Err("no stream toward SIP negotiated telephone-event".into());
        };
        if !self.dtmf.push(key, duration_ms) {
            return Err(format!("{key:?} is not a DTMF key"));
        }
        self.dtmf_stream = i;
        self.send_due_dtmf(now);
        Ok(())
    }

    fn send_due_dtmf(&mut self, now: Instant) {
        if self.dtmf.is_idle() {
            return;
        }
        let i = self.dtmf_stream;
        let out = &mut self.to_sip_rtp[i];
        let events = &self.plan.streams[i].sip_events;
        // The event clock should be the audio's (RFC 4733 §2.1); take the
        // telephone-event of that rate when there are several.
        let audio_clock = out.last.map(|(.., c)| c);
        let Some(&(pt, clock)) = events
            .iter()
            .find(|(_, c)| Some(*c) == audio_clock)
            .or(events.first())
        else {
            return;
        };
        if out.last.is_none() {
            // Nothing forwarded yet: a stream of our own (RFC 3550 §5.1:
            // random initial sequence number and timestamp).
            out.last = Some((rand::random(), rand::random(), rand::random(), now, clock));
        }
        let Some((ssrc, _, ts, at, audio_clock)) = out.last else {
            return;
        };
        // The event starts "now" on the audio's timeline: the last
        // timestamp forwarded plus the time since, at the audio's clock.
        let packets = self.dtmf.due(now, clock, |start| {
            let elapsed = start.saturating_duration_since(at).as_micros() as u64;
            ts.wrapping_add((elapsed * u64::from(audio_clock) / 1_000_000) as u32)
        });
        for p in packets {
            let out = &mut self.to_sip_rtp[i];
            let Some((_, last_seq, ..)) = out.last.as_mut() else {
                return;
            };
            *last_seq = last_seq.wrapping_add(1);
            let seq = *last_seq;
            out.shift = out.shift.wrapping_add(1);
            let plain = p.rtp(pt, seq, ssrc);
            let Some(to) = self.sip[i].rtp.source.or(self.plan.streams[i].sip_rtp) else {
                self.drop_packet(MediaLeg::Xmpp);
                continue;
            };
            let bytes = match &mut self.sdes {
                Some(keys) => match keys.tx.protect_rtp(&plain) {
                    Ok(b) => b,
                    Err(_) => {
                        self.drop_packet(MediaLeg::Xmpp);
                        continue;
                    }
                },
                None => plain,
            };
            self.stats[1].packets_out += 1;
            self.stats[1].bytes_out += bytes.len() as u64;
            self.transmits.push_back(Transmit {
                from: Port::SipRtp(i),
                to,
                bytes,
            });
        }
    }

    fn on_sip_datagram(
        &mut self,
        now: Instant,
        i: usize,
        rtcp_port: bool,
        from: SocketAddr,
        buf: &[u8],
    ) {
        let kind = rtp::classify(buf);
        let rtcp = match kind {
            PacketKind::Rtcp => true,
            PacketKind::Rtp if !rtcp_port => false,
            _ => return self.drop_packet(MediaLeg::Sip),
        };
        // Authenticate before latching, so that a forged packet cannot move the latch.
        let mut plain = match &mut self.sdes {
            Some(keys) => {
                let r = if rtcp {
                    keys.rx.unprotect_rtcp(buf)
                } else {
                    keys.rx.unprotect_rtp(buf)
                };
                match r {
                    Ok(p) => p,
                    Err(_) => return self.drop_packet(MediaLeg::Sip),
                }
            }
            None => buf.to_vec(),
        };
        let header = if rtcp {
            None
        } else {
            match rtp::parse_rtp(&plain) {
                Some(h) => Some(h),
                None => return self.drop_packet(MediaLeg::Sip),
            }
        };
        let latch = if rtcp_port {
            &mut self.sip[i].rtcp
        } else {
            &mut self.sip[i].rtp
        };
        if !latch.admit(now, from) {
            tracing::debug!(call = %self.plan.call, %from, "RTP from an address other than the latched one dropped");
            return self.drop_packet(MediaLeg::Sip);
        }
        self.last_rx[1] = now;
        self.stats[1].packets_in += 1;
        self.stats[1].bytes_in += buf.len() as u64;
        if let Some(h) = header {
            let plan = &self.plan.streams[i];
            let clock = clock_of(&plan.sip_clock, h.payload_type);
            self.sources[1].record(now, h.ssrc, h.sequence, h.timestamp, clock);
            rtp::set_payload_type(&mut plain, map_pt(&plan.to_xmpp, h.payload_type));
        }
        let t = self.plan.streams[i].xmpp_transport;
        let transport = &mut self.xmpp[t];
        let Some(to) = transport.destination() else {
            return self.drop_packet(MediaLeg::Sip);
        };
        let has_dtls = transport.dtls.is_some();
        let bytes = match (&mut transport.srtp, has_dtls) {
            (Some(keys), _) => {
                let r = if rtcp {
                    keys.tx.protect_rtcp(&plain)
                } else {
                    keys.tx.protect_rtp(&plain)
                };
                match r {
                    Ok(b) => b,
                    Err(_) => return self.drop_packet(MediaLeg::Sip),
                }
            }
            // DTLS not finished yet: nothing may go out in the clear.
            (None, true) => return self.drop_packet(MediaLeg::Sip),
            (None, false) => plain,
        };
        self.stats[0].packets_out += 1;
        self.stats[0].bytes_out += bytes.len() as u64;
        self.transmits.push_back(Transmit {
            from: Port::Xmpp(t),
            to,
            bytes,
        });
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// A plain client on the XMPP side (no ICE, no DTLS) and a SIP peer at
    /// 198.51.100.7:4000 per its description; PCMU on both, telephone-event
    /// 101 toward SIP numbered 126 toward XMPP.
    pub(crate) fn plain_plan() -> RelayPlan {
        RelayPlan {
            call: "c1".into(),
            xmpp: vec![XmppTransportPlan {
                ice: None,
                remote_ufrag: None,
                dtls: None,
                remote: Some(addr("192.0.2.10:5000")),
            }],
            streams: vec![StreamPlan {
                sip_port: 20000,
                xmpp_transport: 0,
                xmpp_pts: vec![0, 126],
                to_sip: vec![(126, 101)],
                to_xmpp: vec![(101, 126)],
                sip_clock: vec![(0, 8000), (101, 8000)],
                xmpp_clock: vec![(0, 8000), (126, 8000)],
                sip_rtp: Some(addr("198.51.100.7:4000")),
                sip_rtcp: Some(addr("198.51.100.7:4001")),
                sip_events: vec![(101, 8000)],
            }],
            sdes: None,
            inactivity: Some(Duration::from_secs(10)),
        }
    }

    pub(crate) fn rtp_packet(pt: u8, seq: u16, ssrc: u32) -> Vec<u8> {
        let mut p = vec![0x80, pt, (seq >> 8) as u8, seq as u8, 0, 0, 0, 160];
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.extend_from_slice(&[0xff; 160]);
        p
    }

    fn relay() -> Relay {
        let id = Identity::generate().unwrap();
        Relay::new(plain_plan(), &id, Instant::now()).unwrap()
    }

    fn drain(r: &mut Relay) -> Vec<Transmit> {
        std::iter::from_fn(|| r.poll_transmit()).collect()
    }

    #[test]
    fn latches_onto_the_first_sip_source_and_drops_others() {
        let now = Instant::now();
        let mut r = relay();
        // Before anything arrived from SIP, media goes where the SDP says.
        r.handle_datagram(
            now,
            Port::Xmpp(0),
            addr("192.0.2.10:5000"),
            &rtp_packet(0, 1, 7),
        );
        let out = drain(&mut r);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].to, addr("198.51.100.7:4000"));
        assert_eq!(out[0].from, Port::SipRtp(0));

        // The phone is behind NAT: its packets come from elsewhere. Latch.
        let nat = addr("203.0.113.50:31000");
        r.handle_datagram(now, Port::SipRtp(0), nat, &rtp_packet(0, 1, 9));
        let out = drain(&mut r);
        assert_eq!(out.len(), 1, "the first SIP packet is forwarded");
        assert_eq!(out[0].to, addr("192.0.2.10:5000"));
        r.handle_datagram(
            now,
            Port::Xmpp(0),
            addr("192.0.2.10:5000"),
            &rtp_packet(0, 2, 7),
        );
        assert_eq!(drain(&mut r)[0].to, nat, "replies follow the latch");

        // An injector at another address is not forwarded while the phone talks.
        let later = now + Duration::from_millis(20);
        r.handle_datagram(
            later,
            Port::SipRtp(0),
            addr("198.51.100.66:4000"),
            &rtp_packet(0, 2, 66),
        );
        assert!(drain(&mut r).is_empty(), "injected RTP was forwarded");
        assert_eq!(r.stats(MediaLeg::Sip).dropped, 1);
        r.handle_datagram(later, Port::SipRtp(0), nat, &rtp_packet(0, 2, 9));
        assert_eq!(drain(&mut r).len(), 1);

        // After the phone was silent for RELATCH_AFTER, a new source may take over.
        let much_later = later + RELATCH_AFTER;
        let moved = addr("203.0.113.51:31002");
        r.handle_datagram(much_later, Port::SipRtp(0), moved, &rtp_packet(0, 3, 9));
        assert_eq!(drain(&mut r).len(), 1);
        r.handle_datagram(
            much_later,
            Port::Xmpp(0),
            addr("192.0.2.10:5000"),
            &rtp_packet(0, 3, 7),
        );
        assert_eq!(drain(&mut r)[0].to, moved);
    }

    #[test]
    fn renumbers_payload_types_both_ways() {
        let now = Instant::now();
        let mut r = relay();
        r.handle_datagram(
            now,
            Port::Xmpp(0),
            addr("192.0.2.10:5000"),
            &rtp_packet(126, 1, 7),
        );
        assert_eq!(drain(&mut r)[0].bytes[1] & 0x7f, 101);
        r.handle_datagram(
            now,
            Port::SipRtp(0),
            addr("198.51.100.7:4000"),
            &rtp_packet(101 | 0x80, 1, 9),
        );
        let out = drain(&mut r);
        assert_eq!(out[0].bytes[1], 126 | 0x80, "marker kept, number mapped");
        r.handle_datagram(
            now,
            Port::SipRtp(0),
            addr("198.51.100.7:4000"),
            &rtp_packet(0, 2, 9),
        );
        assert_eq!(drain(&mut r)[0].bytes[1], 0);
    }

    #[test]
    fn rtcp_goes_to_the_rtcp_port_and_junk_is_dropped() {
        let now = Instant::now();
        let mut r = relay();
        let mut sr = vec![0x80, 200, 0, 6];
        sr.extend_from_slice(&7u32.to_be_bytes());
        sr.extend_from_slice(&[0; 20]);
        r.handle_datagram(now, Port::Xmpp(0), addr("192.0.2.10:5000"), &sr);
        let out = drain(&mut r);
        assert_eq!(out[0].from, Port::SipRtcp(0));
        assert_eq!(out[0].to, addr("198.51.100.7:4001"));
        r.handle_datagram(now, Port::SipRtp(0), addr("198.51.100.7:4000"), b"hello");
        assert!(drain(&mut r).is_empty());
    }

    /// The report the core keeps for the CDR: both legs' counts, with the
    /// SIP source's gap counted as loss.
    #[test]
    fn the_report_carries_both_legs_counts_and_loss() {
        let now = Instant::now();
        let mut r = relay();
        let sip = addr("198.51.100.7:4000");
        for seq in [1u16, 2, 5] {
            r.handle_datagram(now, Port::SipRtp(0), sip, &rtp_packet(0, seq, 9));
        }
        r.handle_datagram(
            now,
            Port::Xmpp(0),
            addr("192.0.2.10:5000"),
            &rtp_packet(0, 1, 7),
        );
        drain(&mut r);
        let MediaNotice::Stats { xmpp, sip } = r.report() else {
            panic!("not a report");
        };
        assert_eq!((sip.packets_in, sip.lost, sip.bytes_in), (3, 2, 3 * 172));
        assert_eq!((sip.packets_out, xmpp.packets_in, xmpp.lost), (1, 1, 0));
        assert_eq!(xmpp.packets_out, 3, "the SIP packets went to the client");
        assert!(
            r.poll_notice().is_none(),
            "a report is asked for, not queued"
        );
    }

    #[test]
    fn a_silent_leg_ends_the_call() {
        let now = Instant::now();
        let mut r = relay();
        r.handle_datagram(
            now,
            Port::SipRtp(0),
            addr("198.51.100.7:4000"),
            &rtp_packet(0, 1, 9),
        );
        let t = now + Duration::from_secs(5);
        r.handle_datagram(
            t,
            Port::SipRtp(0),
            addr("198.51.100.7:4000"),
            &rtp_packet(0, 2, 9),
        );
        r.handle_timeout(now + Duration::from_secs(9));
        assert!(r.poll_notice().is_none(), "ended before the limit");
        r.handle_timeout(now + Duration::from_secs(11));
        match r.poll_notice() {
            Some(MediaNotice::Inactive {
                leg: MediaLeg::Xmpp,
                secs: 10 | 11,
            }) => {}
            other => panic!("{other:?}"),
        }
        assert!(r.poll_notice().is_none());
        assert!(r.poll_timeout().is_none(), "an ended relay sleeps");
    }

    /// ICE-lite + DTLS-SRTP toward a client played by our own DTLS stack:
    /// nothing passes before a connectivity check, the handshake runs from
    /// the checked address, then media is SRTP on the XMPP leg and plain on
    /// the SIP leg, both ways.
    #[test]
    fn ice_lite_and_dtls_srtp_toward_the_client() {
        use crate::media::stun;
        let ours = Identity::generate().unwrap();
        let browser = Identity::generate().unwrap();
        let now = Instant::now();
        let mut plan = plain_plan();
        plan.xmpp[0] = XmppTransportPlan {
            ice: Some(("L".into(), "local-password-0123456".into())),
            remote_ufrag: Some("R".into()),
            dtls: Some((true, vec![browser.fingerprint.clone()])),
            remote: None,
        };
        let mut r = Relay::new(plan, &ours, now).unwrap();
        let client = addr("192.0.2.10:5000");
        let sip = addr("198.51.100.7:4000");

        // Unchecked: nothing goes anywhere.
        r.handle_datagram(now, Port::Xmpp(0), client, &rtp_packet(0, 1, 7));
        assert!(drain(&mut r).is_empty());
        // A check that claims the controlled role is told to switch (lite).
        let controlled =
            stun::binding_request(&[1; 12], "L:R", "local-password-0123456", None, false);
        r.handle_datagram(now, Port::Xmpp(0), client, &controlled);
        let out = drain(&mut r);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].bytes[0..2], [0x01, 0x11], "a Binding error response");
        // A wrong password is ignored.
        let forged = stun::binding_request(&[2; 12], "L:R", "guess", Some(1), true);
        r.handle_datagram(now, Port::Xmpp(0), client, &forged);
        assert!(drain(&mut r).is_empty());
        // A nominating check: success, then our ClientHello to that address.
        let check = stun::binding_request(&[3; 12], "L:R", "local-password-0123456", Some(9), true);
        r.handle_datagram(now, Port::Xmpp(0), client, &check);
        let out = drain(&mut r);
        assert_eq!(
            out[0].bytes[0..2],
            [0x01, 0x01],
            "a Binding success response"
        );
        assert!(out.len() >= 2, "no ClientHello after the check");
        assert!(
            out.iter()
                .all(|t| t.to == client && t.from == Port::Xmpp(0))
        );

        let mut peer = DtlsLeg::new(&browser, false, vec![ours.fingerprint.clone()], now);
        let mut peer_keys = None;
        let mut to_peer: Vec<Vec<u8>> = out[1..].iter().map(|t| t.bytes.clone()).collect();
        for _ in 0..10 {
            let mut to_relay = Vec::new();
            for p in to_peer.drain(..) {
                let step = peer.handle_packet(now, &p).unwrap();
                to_relay.extend(step.packets);
                if step.keys.is_some() {
                    peer_keys = step.keys;
                }
            }
            for p in to_relay {
                r.handle_datagram(now, Port::Xmpp(0), client, &p);
            }
            to_peer.extend(drain(&mut r).into_iter().map(|t| t.bytes));
        }
        let mut keys = peer_keys.expect("handshake completed");

        // Client → SIP: SRTP in, plain RTP out.
        let packet = rtp_packet(126, 5, 7);
        let protected = keys.tx.protect_rtp(&packet).unwrap();
        r.handle_datagram(now, Port::Xmpp(0), client, &protected);
        let out = drain(&mut r);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].to, sip);
        assert_eq!(out[0].bytes[1], 101, "renumbered");
        assert_eq!(out[0].bytes[12..], packet[12..], "payload intact");
        // The same packet again is a replay: dropped.
        r.handle_datagram(now, Port::Xmpp(0), client, &protected);
        assert!(drain(&mut r).is_empty());
        // SIP → client: plain in, SRTP out that the client can open.
        r.handle_datagram(now, Port::SipRtp(0), sip, &rtp_packet(0, 9, 99));
        let out = drain(&mut r);
        assert_eq!(out[0].to, client);
        let opened = keys.rx.unprotect_rtp(&out[0].bytes).unwrap();
        assert_eq!(opened, rtp_packet(0, 9, 99));
        // A stranger's DTLS or RTP is dropped.
        let stranger = addr("203.0.113.9:5000");
        r.handle_datagram(now, Port::Xmpp(0), stranger, &protected);
        assert!(drain(&mut r).is_empty());
        assert!(r.stats(MediaLeg::Xmpp).dropped >= 3);
    }

    #[test]
    fn a_re_invite_moves_the_sip_destination_and_hold_suspends_the_timeout() {
        let now = Instant::now();
        let mut r = relay();
        r.handle_datagram(
            now,
            Port::SipRtp(0),
            addr("198.51.100.7:4000"),
            &rtp_packet(0, 1, 9),
        );
        drain(&mut r);
        let moved = addr("198.51.100.8:6000");
        r.update_sip(&[SipUpdate {
            rtp: Some(moved),
            rtcp: Some(addr("198.51.100.8:6001")),
            held: true,
        }]);
        r.handle_datagram(
            now,
            Port::Xmpp(0),
            addr("192.0.2.10:5000"),
            &rtp_packet(0, 2, 7),
        );
        assert_eq!(
            drain(&mut r)[0].to,
            moved,
            "media follows the new description"
        );
        // The new source latches at once (the old latch was freed).
        r.handle_datagram(now, Port::SipRtp(0), moved, &rtp_packet(0, 2, 9));
        assert_eq!(drain(&mut r).len(), 1);
        // On hold, a minute of silence is no reason to end the call.
        r.handle_timeout(now + Duration::from_secs(120));
        assert!(r.poll_notice().is_none());
        r.update_sip(&[SipUpdate {
            rtp: None,
            rtcp: None,
            held: false,
        }]);
        r.handle_timeout(now + Duration::from_secs(121));
        assert!(matches!(
            r.poll_notice(),
            Some(MediaNotice::Inactive { .. })
        ));
    }

    /// Issue 7: a digit injected as RFC 4733 events rides the forwarded
    /// stream: its SSRC, the next sequence numbers (the audio after it moves
    /// on), a timestamp on the audio's timeline, the SIP leg's
    /// telephone-event number, marker first, updates every 50 ms, three end
    /// packets.
    #[test]
    fn dtmf_is_injected_into_the_stream_toward_sip() {
        use crate::media::rtp::parse_rtp;
        let t0 = Instant::now();
        let mut r = relay();
        let client = addr("192.0.2.10:5000");
        let mut audio = rtp_packet(0, 1000, 0x1234);
        audio[4..8].copy_from_slice(&8000u32.to_be_bytes());
        r.handle_datagram(t0, Port::Xmpp(0), client, &audio);
        assert_eq!(parse_rtp(&drain(&mut r)[0].bytes).unwrap().sequence, 1000);

        // 20 ms after the last audio packet (timestamp 8000), '#' for 100 ms.
        let start = t0 + Duration::from_millis(20);
        r.send_dtmf(start, '#', 100).unwrap();
        let mut sent = drain(&mut r);
        assert_eq!(sent.len(), 1, "the first packet goes at once");
        assert_eq!(r.poll_timeout(), Some(start + Duration::from_millis(50)));
        // The client's audio continues meanwhile, renumbered after the event packet.
        let mut audio = rtp_packet(0, 1001, 0x1234);
        audio[4..8].copy_from_slice(&8160u32.to_be_bytes());
        r.handle_datagram(start, Port::Xmpp(0), client, &audio);
        let forwarded = drain(&mut r);
        assert_eq!(parse_rtp(&forwarded[0].bytes).unwrap().sequence, 1002);
        let mut now = start;
        while let Some(at) = r
            .poll_timeout()
            .filter(|at| *at < t0 + Duration::from_secs(1))
        {
            now = at;
            r.handle_timeout(now);
            sent.extend(drain(&mut r));
        }
        assert_eq!(now, start + Duration::from_millis(90), "last end packet");
        assert_eq!(sent.len(), 4);
        let mut seqs = Vec::new();
        for (k, t) in sent.iter().enumerate() {
            assert_eq!((t.from, t.to), (Port::SipRtp(0), addr("198.51.100.7:4000")));
            let h = parse_rtp(&t.bytes).unwrap();
            assert_eq!(h.payload_type, 101, "the SIP leg's telephone-event");
            assert_eq!(h.ssrc, 0x1234, "the forwarded stream's SSRC");
            assert_eq!(h.timestamp, 8000 + 160, "the event's start, 20 ms on");
            assert_eq!(h.marker, k == 0);
            seqs.push(h.sequence);
            let payload = &t.bytes[12..];
            assert_eq!(payload.len(), 4);
            assert_eq!(payload[0], 11, "event #");
            assert_eq!(payload[1] & 0x3f, 10, "volume");
            let end = payload[1] & 0x80 != 0;
            let duration = u16::from_be_bytes([payload[2], payload[3]]);
            assert_eq!(
                (end, duration),
                [(false, 400), (true, 800), (true, 800), (true, 800)][k]
            );
        }
        assert_eq!(seqs, [1001, 1003, 1004, 1005]);
        // Later audio keeps counting after the injected packets.
        r.handle_datagram(now, Port::Xmpp(0), client, &rtp_packet(0, 1002, 0x1234));
        assert_eq!(parse_rtp(&drain(&mut r)[0].bytes).unwrap().sequence, 1006);
        assert_eq!(r.stats(MediaLeg::Sip).packets_out, 7);
        assert!(r.send_dtmf(now, 'X', 100).is_err());
    }

    /// Without telephone-event toward SIP there is nothing to inject into.
    #[test]
    fn dtmf_without_telephone_event_is_an_error() {
        let id = Identity::generate().unwrap();
        let mut plan = plain_plan();
        plan.streams[0].sip_events.clear();
        let mut r = Relay::new(plan, &id, Instant::now()).unwrap();
        assert!(r.send_dtmf(Instant::now(), '1', 100).is_err());
        assert!(drain(&mut r).is_empty());
    }
}
