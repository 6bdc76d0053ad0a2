//! Setting calls up: offer and answer over ng, then, for the DTLS kind, the
//! XMPP client's ICE checks and DTLS handshake, as a browser would do them.
//!
//! The client is the offerer, so it is the controlling ICE agent: it sends
//! checks with USE-CANDIDATE (aggressive nomination) until one succeeds, and
//! answers the anchor's own checks (rtpengine is a full agent and checks
//! too; the embedded anchor is lite and does not). DTLS runs in the role the
//! anchor's `a=setup` leaves to the client, with our own `DtlsLeg` — the
//! relay test `ice_lite_and_dtls_srtp_toward_the_client` plays the browser
//! the same way.

use crate::Kind;
use crate::ng::NgClient;
use crate::sdp::{self, ClientSecurity, Remote};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};
use stox::media::anchor::{AnchorOp, MediaLeg};
use stox::media::engine::dtls::{DtlsLeg, Identity, SrtpPair};
use stox::media::engine::sdp::Setup;
use stox::media::rtp::{PacketKind, classify};
use stox::media::stun;
use tokio::net::UdpSocket;

/// How long one call's ICE + DTLS may take before it counts as failed.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(20);
/// Check retransmission while no check succeeded.
const CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// The XMPP client's ICE credentials and tie-breaker.
#[derive(Debug, Clone)]
pub struct Ice {
    /// Ours.
    pub ufrag: String,
    /// Ours.
    pub pwd: String,
    /// The anchor's ufrag and password.
    pub remote: (String, String),
    /// ICE-CONTROLLING tie-breaker.
    pub tie: u64,
}

impl Ice {
    /// A nominating check (also what the client sends for consent).
    pub fn check(&self, txid: &[u8; 12]) -> Vec<u8> {
        let username = format!("{}:{}", self.remote.0, self.ufrag);
        stun::binding_request(txid, &username, &self.remote.1, Some(self.tie), true)
    }

    /// The answer to one of the anchor's checks, if it is an authentic one.
    pub fn answer(&self, buf: &[u8], from: SocketAddr) -> Option<Vec<u8>> {
        let req = stun::parse_binding_request(buf, &self.pwd).ok()?;
        Some(stun::binding_success(&req.transaction_id, from, &self.pwd))
    }
}

/// A DTLS-SRTP XMPP leg after its handshake.
pub struct Secure {
    /// ICE state, for consent checks and answering the anchor's.
    pub ice: Ice,
    /// The association, kept to answer a retransmitted last flight.
    pub dtls: DtlsLeg,
    /// The SRTP contexts.
    pub srtp: SrtpPair,
}

/// One call of the load.
pub struct Call {
    /// Index (in the packets' payload).
    pub index: u32,
    /// The ng call-id.
    pub id: String,
    /// The XMPP client's socket.
    pub xmpp: Rc<UdpSocket>,
    /// The SIP phone's socket.
    pub sip: Rc<UdpSocket>,
    /// The anchor's description for the XMPP leg.
    pub xmpp_remote: Remote,
    /// Where the SIP phone sends.
    pub sip_remote: SocketAddr,
    /// The client's ICE credentials (DTLS kind).
    pub ice: Option<Ice>,
}

fn token(len: usize) -> String {
    use rand::Rng;
    const A: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| A[rng.random_range(0..A.len())] as char)
        .collect()
}

/// Offer (from the XMPP client) and answer (from the SIP phone) for call `index`.
pub async fn signal(
    ng: &mut NgClient,
    kind: Kind,
    index: u32,
    prefix: &str,
    identity: Option<&Identity>,
) -> Result<Call, String> {
    let xmpp = UdpSocket::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let sip = UdpSocket::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let (ufrag, pwd) = (token(8), token(24));
    let security = identity.map(|id| ClientSecurity {
        ufrag: &ufrag,
        pwd: &pwd,
        fingerprint: &id.fingerprint,
    });
    let id = format!("{prefix}-{index}");
    let session = u64::from(index) + 1000;
    let offer = sdp::xmpp_offer(
        xmpp.local_addr().map_err(|e| e.to_string())?,
        session,
        security.as_ref(),
    );
    let to_sip = ng
        .exchange(&id, AnchorOp::Offer, MediaLeg::Xmpp, &offer, false)
        .await?;
    let sip_remote = sdp::remote(&to_sip)?.addr;
    let answer = sdp::sip_answer(sip.local_addr().map_err(|e| e.to_string())?, session);
    let to_xmpp = ng
        .exchange(
            &id,
            AnchorOp::Answer,
            MediaLeg::Sip,
            &answer,
            kind == Kind::Rtp,
        )
        .await?;
    let xmpp_remote = sdp::remote(&to_xmpp)?;
    let ice = match kind {
        Kind::Rtp => None,
        Kind::Dtls => Some(Ice {
            ufrag,
            pwd,
            remote: xmpp_remote
                .ice
                .clone()
                .ok_or("the anchor's answer to the client has no ICE")?,
            tie: rand::random(),
        }),
    };
    Ok(Call {
        index,
        id,
        xmpp: Rc::new(xmpp),
        sip: Rc::new(sip),
        xmpp_remote,
        sip_remote,
        ice,
    })
}

/// A call without an anchor: each leg sends straight to the other (the
/// generator's own latency floor, `load --direct`).
pub async fn direct(index: u32, prefix: &str) -> Result<Call, String> {
    let xmpp = UdpSocket::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let sip = UdpSocket::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = |s: &UdpSocket| s.local_addr().map_err(|e| e.to_string());
    Ok(Call {
        index,
        id: format!("{prefix}-{index}"),
        xmpp_remote: Remote {
            addr: addr(&sip)?,
            ice: None,
            fingerprints: Vec::new(),
            setup: None,
        },
        sip_remote: addr(&xmpp)?,
        xmpp: Rc::new(xmpp),
        sip: Rc::new(sip),
        ice: None,
    })
}

fn send_all(sock: &UdpSocket, to: SocketAddr, packets: &[Vec<u8>]) {
    for p in packets {
        let _ = sock.try_send_to(p, to);
    }
}

/// ICE until a nominating check succeeded, DTLS until keys: the client's half.
pub async fn handshake(call: &Call, identity: &Identity) -> Result<Secure, String> {
    let ice = call.ice.clone().ok_or("no ICE for a DTLS call")?;
    let remote = &call.xmpp_remote;
    // The anchor's `passive` leaves the client role to us; `active` makes us the server.
    let we_active = remote.setup == Some(Setup::Passive);
    let start = Instant::now();
    let mut dtls = DtlsLeg::new(identity, we_active, remote.fingerprints.clone(), start);
    let sock = &call.xmpp;
    let mut txid = [0u8; 12];
    let mut ice_ok = false;
    let mut keys = None;
    let mut next_check = start;
    let mut buf = vec![0u8; 2048];
    loop {
        let now = Instant::now();
        if now > start + HANDSHAKE_TIMEOUT {
            return Err(format!(
                "{}: no ICE+DTLS after {:?} (ice {ice_ok}, keys {})",
                call.id,
                HANDSHAKE_TIMEOUT,
                keys.is_some()
            ));
        }
        if !ice_ok && now >= next_check {
            txid = rand::random();
            let _ = sock.try_send_to(&ice.check(&txid), remote.addr);
            next_check = now + CHECK_INTERVAL;
        }
        if ice_ok && we_active && !dtls.started() {
            send_all(sock, remote.addr, &dtls.start(now)?.packets);
        }
        if ice_ok && let Some(srtp) = keys.take() {
            return Ok(Secure { ice, dtls, srtp });
        }
        let mut wake = if ice_ok {
            now + Duration::from_millis(500)
        } else {
            next_check
        };
        if let Some(t) = dtls.poll_timeout() {
            wake = wake.min(t);
        }
        let received = tokio::time::timeout_at(wake.into(), sock.recv_from(&mut buf)).await;
        let (n, from) = match received {
            Err(_) => {
                send_all(
                    sock,
                    remote.addr,
                    &dtls.handle_timeout(Instant::now())?.packets,
                );
                continue;
            }
            Ok(Err(_)) => continue, // ICMP errors surface here: ignore
            Ok(Ok(r)) => r,
        };
        let packet = &buf[..n];
        match classify(packet) {
            PacketKind::Stun if packet[0..2] == [0x01, 0x01] && packet[8..20] == txid => {
                ice_ok = true;
            }
            PacketKind::Stun => {
                if let Some(reply) = ice.answer(packet, from) {
                    let _ = sock.try_send_to(&reply, from);
                }
            }
            PacketKind::Dtls => {
                let step = dtls.handle_packet(Instant::now(), packet)?;
                send_all(sock, remote.addr, &step.packets);
                if step.keys.is_some() {
                    keys = step.keys;
                }
            }
            _ => {}
        }
    }
}
