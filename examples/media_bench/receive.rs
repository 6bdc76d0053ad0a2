//! The receiving ends: one task per leg socket, counting what the anchor
//! relayed and how late, on the generator's single thread.
//!
//! A task per socket (rather than one loop over all sockets) lets tokio's
//! epoll wake exactly the sockets that have packets; with one thread the
//! counters are plain `RefCell`s.

use crate::packet::{self, Dir};
use crate::setup::Ice;
use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;
use stox::media::engine::dtls::DtlsLeg;
use stox::media::rtp::{PacketKind, classify};
use stox::media::srtp::SrtpContext;
use tokio::net::UdpSocket;

/// Counters of one direction.
#[derive(Debug, Default)]
pub struct DirStats {
    /// Packets sent inside the window.
    pub sent: u64,
    /// Packets received that were sent inside the window.
    pub received: u64,
    /// One-way latency of each of those, ns.
    pub latency_ns: Vec<u32>,
    /// Packets of another call or direction (a relay bug).
    pub misrouted: u64,
    /// Packets that failed SRTP or were not ours.
    pub bad: u64,
}

/// What every receiver shares.
#[derive(Clone)]
pub struct Shared {
    /// Per direction, indexed by `Dir as usize`.
    pub stats: Rc<RefCell<[DirStats; 2]>>,
    /// The clock the send times are on.
    pub epoch: Instant,
    /// The measurement window, ns since `epoch`.
    pub window: (u64, u64),
}

impl Shared {
    fn record(&self, call: u32, dir: Dir, plain: &[u8]) {
        let now = packet::ns_since(self.epoch);
        let mut stats = self.stats.borrow_mut();
        let s = &mut stats[dir as usize];
        match packet::read(plain) {
            Some((c, d, sent)) if c == call && d == dir as u8 => {
                if (self.window.0..self.window.1).contains(&sent) {
                    s.received += 1;
                    let ns = now.saturating_sub(sent);
                    s.latency_ns.push(u32::try_from(ns).unwrap_or(u32::MAX));
                }
            }
            Some(_) => s.misrouted += 1,
            None => s.bad += 1,
        }
    }

    fn bad(&self, dir: Dir) {
        self.stats.borrow_mut()[dir as usize].bad += 1;
    }
}

/// A leg that receives plain RTP (the SIP phone, or a plain XMPP client).
pub async fn plain(sock: Rc<UdpSocket>, call: u32, dir: Dir, shared: Shared) {
    let mut buf = vec![0u8; 2048];
    loop {
        let Ok(n) = sock.recv(&mut buf).await else {
            continue;
        };
        if classify(&buf[..n]) == PacketKind::Rtp {
            shared.record(call, dir, &buf[..n]);
        }
    }
}

/// The DTLS-SRTP XMPP client's receiving side: SRTP in, the anchor's ICE
/// checks answered, a retransmitted DTLS flight answered.
pub struct SecureLeg {
    /// The client's socket.
    pub sock: Rc<UdpSocket>,
    /// Where DTLS goes.
    pub remote: SocketAddr,
    /// ICE credentials.
    pub ice: Ice,
    /// The association.
    pub dtls: DtlsLeg,
    /// Unprotects what the anchor sends.
    pub rx: SrtpContext,
}

/// Runs a [`SecureLeg`] for call `call`.
pub async fn secure(mut leg: SecureLeg, call: u32, shared: Shared) {
    let mut buf = vec![0u8; 2048];
    loop {
        let Ok((n, from)) = leg.sock.recv_from(&mut buf).await else {
            continue;
        };
        let p = &buf[..n];
        match classify(p) {
            PacketKind::Rtp => match leg.rx.unprotect_rtp(p) {
                Ok(plain) => shared.record(call, Dir::SipToXmpp, &plain),
                Err(_) => shared.bad(Dir::SipToXmpp),
            },
            PacketKind::Stun => {
                if let Some(reply) = leg.ice.answer(p, from) {
                    let _ = leg.sock.try_send_to(&reply, from);
                }
            }
            PacketKind::Dtls => {
                if let Ok(step) = leg.dtls.handle_packet(Instant::now(), p) {
                    for out in step.packets {
                        let _ = leg.sock.try_send_to(&out, leg.remote);
                    }
                }
            }
            _ => {}
        }
    }
}
