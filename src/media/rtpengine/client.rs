//! The ng client: one UDP socket to the daemon, shared by every call.
//!
//! Requests from any number of tasks go out on the one socket, each under its
//! own cookie; a reader task hands each reply to the request waiting on its
//! cookie. A request is sent again when no reply came within the retransmit
//! interval (ng runs over UDP; rtpengine answers a repeated cookie from its
//! reply cache, so an `offer` is never carried out twice) and given up after
//! the last try, as [`AnchorError::Unavailable`].

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::bencode::Value;
use super::message;
use super::reply::{Reply, frame, unframe};
use crate::media::anchor::{AnchorError, AnchorReply, AnchorRequest};

/// How often a request is sent and how long each try waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retransmit {
    /// Sends in all (at least 1).
    pub tries: u32,
    /// Wait after each send.
    pub interval: Duration,
}

impl Default for Retransmit {
    /// Three sends 500 ms apart: a call set-up waits at most 1.5 s for a dead
    /// daemon, and one lost datagram costs half a second.
    fn default() -> Self {
        Retransmit {
            tries: 3,
            interval: Duration::from_millis(500),
        }
    }
}

/// Replies waiting for their request, by cookie.
type Pending = Mutex<HashMap<String, oneshot::Sender<Value>>>;

struct Shared {
    socket: UdpSocket,
    addr: SocketAddr,
    pending: Pending,
    next: AtomicU64,
    /// Random per client: rtpengine caches replies by cookie for a while, so
    /// a restarted gateway counting from 1 again must not be answered with
    /// the previous process's cached replies.
    prefix: String,
    retransmit: Retransmit,
}

/// A connection to one rtpengine's ng port.
///
/// Cheap to share behind an `Arc`; every method takes `&self`. Dropping the
/// client stops its reader task.
pub struct RtpengineClient {
    shared: Arc<Shared>,
    reader: JoinHandle<()>,
}

impl std::fmt::Debug for RtpengineClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtpengineClient")
            .field("addr", &self.shared.addr)
            .field("retransmit", &self.shared.retransmit)
            .finish()
    }
}

impl Drop for RtpengineClient {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl RtpengineClient {
    /// A client for the ng socket at `addr`, with the default retransmission.
    ///
    /// Binds an ephemeral local port and connects it to `addr`, so that only
    /// the daemon's datagrams are read. Nothing is sent: use
    /// [`ping`](Self::ping) to check that the daemon answers.
    pub async fn connect(addr: SocketAddr) -> io::Result<Self> {
        Self::connect_with(addr, Retransmit::default()).await
    }

    /// [`connect`](Self::connect) with another retransmission schedule.
    pub async fn connect_with(addr: SocketAddr, retransmit: Retransmit) -> io::Result<Self> {
        let local: SocketAddr = match addr {
            SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        let socket = UdpSocket::bind(local).await?;
        socket.connect(addr).await?;
        let shared = Arc::new(Shared {
            socket,
            addr,
            pending: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
            prefix: format!("{:08x}", rand::random::<u32>()),
            retransmit: Retransmit {
                tries: retransmit.tries.max(1),
                interval: retransmit.interval,
            },
        });
        let reader = tokio::spawn(read_replies(Arc::clone(&shared)));
        Ok(RtpengineClient { shared, reader })
    }

    /// The daemon's ng address.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// One offer or answer: the SDP for the other leg, or why not.
    pub async fn request(&self, req: &AnchorRequest) -> AnchorReply {
        let result = self.sdp(&req.call, &message::exchange(req)).await;
        AnchorReply {
            call: req.call.clone(),
            op: req.op,
            result,
        }
    }

    /// An in-dialog re-negotiation: `offer` (the re-offering side's new
    /// description, or its unchanged one when the other side answered with
    /// a new one) then the `answer` that completes it, each as
    /// [`message::exchange_in_dialog`] writes it. Returns the SDPs rtpengine
    /// wrote for the answering side and for the offering side. rtpengine
    /// keeps its ports, ICE credentials and DTLS fingerprint across it, so
    /// what each leg was told at set-up stays true.
    pub async fn renegotiate(
        &self,
        offer: &AnchorRequest,
        answer: &AnchorRequest,
    ) -> Result<(String, String), AnchorError> {
        let offered = self
            .sdp(&offer.call, &message::exchange_in_dialog(offer))
            .await?;
        let answered = self
            .sdp(&answer.call, &message::exchange_in_dialog(answer))
            .await?;
        Ok((offered, answered))
    }

    async fn sdp(&self, call: &str, msg: &Value) -> Result<String, AnchorError> {
        let reply = self.command(msg).await?;
        if let Some(w) = &reply.warning {
            tracing::warn!(call = %call, warning = %w, "rtpengine warning");
        }
        reply.into_sdp()
    }

    /// `query`: rtpengine's view of the call, as it answered (its tags,
    /// their streams' endpoints and counters). For tests and diagnostics.
    pub async fn query(&self, call: &str) -> Result<Value, AnchorError> {
        let (value, reply) = self.command_value(&message::query(call)).await?;
        match reply.result.as_str() {
            "ok" => Ok(value),
            _ => Err(AnchorError::Unacceptable(reply.reason())),
        }
    }

    /// Releases the call's media. An unknown call is an error
    /// ([`AnchorError::Unacceptable`] with rtpengine's reason).
    pub async fn delete(&self, call: &str) -> Result<(), AnchorError> {
        self.command(&message::delete(call)).await?.into_done()
    }

    /// Whether the daemon answers `pong`.
    pub async fn ping(&self) -> Result<(), AnchorError> {
        let reply = self.command(&message::ping()).await?;
        if reply.result == "pong" {
            Ok(())
        } else {
            Err(AnchorError::Unavailable(format!(
                "rtpengine at {} answered ping with '{}'",
                self.shared.addr, reply.result
            )))
        }
    }

    /// Sends `msg` under a fresh cookie until its reply comes or the tries
    /// run out.
    async fn command(&self, msg: &Value) -> Result<Reply, AnchorError> {
        Ok(self.command_value(msg).await?.1)
    }

    /// [`command`](Self::command), with the whole reply dictionary too.
    async fn command_value(&self, msg: &Value) -> Result<(Value, Reply), AnchorError> {
        let s = &self.shared;
        let cookie = format!("{}_{}", s.prefix, s.next.fetch_add(1, Ordering::Relaxed));
        let datagram = frame(&cookie, msg);
        let (tx, mut rx) = oneshot::channel();
        lock(&s.pending).insert(cookie.clone(), tx);
        // Removes the entry however this future ends (reply, timeout, or
        // the caller dropping it).
        let _forget = Forget {
            pending: &s.pending,
            cookie: &cookie,
        };
        for _ in 0..s.retransmit.tries {
            if let Err(e) = s.socket.send(&datagram).await {
                // A refused earlier datagram (ICMP port unreachable) is
                // reported on a connected socket's next call: the daemon may
                // be back for the next try, so this is loss, not the end.
                tracing::debug!(addr = %s.addr, error = %e, "ng send failed");
            }
            match tokio::time::timeout(s.retransmit.interval, &mut rx).await {
                Ok(Ok(value)) => {
                    let reply = Reply::from_value(&value);
                    return Ok((value, reply));
                }
                Ok(Err(_)) => break,
                Err(_) => continue,
            }
        }
        Err(AnchorError::Unavailable(format!(
            "rtpengine at {} did not answer ({} tries, {} ms apart)",
            s.addr,
            s.retransmit.tries,
            s.retransmit.interval.as_millis()
        )))
    }
}

struct Forget<'a> {
    pending: &'a Pending,
    cookie: &'a str,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        lock(self.pending).remove(self.cookie);
    }
}

/// The map stays usable even if a holder panicked: entries are independent.
fn lock(p: &Pending) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<Value>>> {
    p.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Hands each reply to the request with its cookie. Late replies (the
/// request gave up) and unreadable datagrams are logged and dropped.
async fn read_replies(s: Arc<Shared>) {
    let mut buf = vec![0u8; 65_536];
    loop {
        let n = match s.socket.recv(&mut buf).await {
            Ok(n) => n,
            Err(e) => {
                // ECONNREFUSED after an ICMP port unreachable is expected
                // while the daemon is down; the requests time out on their
                // own. Pause so a persistent error cannot spin.
                tracing::debug!(addr = %s.addr, error = %e, "ng receive failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        match unframe(&buf[..n]) {
            Ok((cookie, value)) => match lock(&s.pending).remove(&cookie) {
                Some(tx) => {
                    let _ = tx.send(value);
                }
                None => tracing::debug!(%cookie, "ng reply for no waiting request"),
            },
            Err(e) => tracing::warn!(addr = %s.addr, error = %e, "unreadable ng reply"),
        }
    }
}
