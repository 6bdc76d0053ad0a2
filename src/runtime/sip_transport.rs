//! The SIP socket adapter: UDP sockets and TCP connections, framing, and the
//! peer → connection table. It carries bytes only; every decision is the core's.

use crate::call::Input;
use crate::sip::message::frame_len;
use crate::sip::peer::{Peer, Transport};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;

/// Largest UDP datagram we accept (RFC 3261 §18.1.1 allows up to 65 535).
const MAX_DATAGRAM: usize = 65_535;

/// Sends SIP bytes to peers over the right socket.
#[derive(Clone)]
pub struct SipSender {
    udp: Option<Arc<UdpSocket>>,
    tcp: Arc<Mutex<HashMap<SocketAddr, mpsc::UnboundedSender<Vec<u8>>>>>,
    inbound: mpsc::Sender<Input>,
}

impl SipSender {
    /// Sends `bytes` to `peer`: over our UDP socket, or over the TCP connection
    /// to that address (opening one if none is up). Failures come back to the
    /// core as [`Input::SipUnreachable`].
    pub fn send(&self, peer: Peer, bytes: Vec<u8>) {
        match peer.transport {
            Transport::Udp => {
                let Some(sock) = &self.udp else {
                    self.unreachable(peer);
                    return;
                };
                if let Err(e) = sock.try_send_to(&bytes, peer.addr) {
                    // The socket buffer is full or the route is gone; UDP
                    // retransmission covers the first, the core the second.
                    tracing::debug!(peer = %peer, error = %e, "UDP send failed");
                }
            }
            Transport::Tcp => {
                let existing = self.tcp.lock().expect("poisoned").get(&peer.addr).cloned();
                match existing {
                    Some(tx) if tx.send(bytes.clone()).is_ok() => {}
                    _ => self.connect_and_send(peer, bytes),
                }
            }
        }
    }

    fn unreachable(&self, peer: Peer) {
        let _ = self.inbound.try_send(Input::SipUnreachable { peer });
    }

    fn connect_and_send(&self, peer: Peer, bytes: Vec<u8>) {
        let this = self.clone();
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = tx.send(bytes);
        self.tcp.lock().expect("poisoned").insert(peer.addr, tx);
        tokio::spawn(async move {
            match tokio::time::timeout(
                std::time::Duration::from_secs(5),
                TcpStream::connect(peer.addr),
            )
            .await
            {
                Ok(Ok(stream)) => this.serve_tcp(stream, peer.addr, rx).await,
                Ok(Err(e)) => {
                    tracing::info!(peer = %peer, error = %e, "TCP connect failed");
                    this.tcp.lock().expect("poisoned").remove(&peer.addr);
                    this.unreachable(peer);
                }
                Err(_) => {
                    tracing::info!(peer = %peer, "TCP connect timed out");
                    this.tcp.lock().expect("poisoned").remove(&peer.addr);
                    this.unreachable(peer);
                }
            }
        });
    }

    async fn serve_tcp(
        &self,
        stream: TcpStream,
        addr: SocketAddr,
        mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
    ) {
        let _ = stream.set_nodelay(true);
        let (mut reader, mut writer) = stream.into_split();
        let writer_task = tokio::spawn(async move {
            while let Some(bytes) = rx.recv().await {
                if writer.write_all(&bytes).await.is_err() {
                    break;
                }
            }
        });
        let peer = Peer {
            transport: Transport::Tcp,
            addr,
        };
        let mut buf: Vec<u8> = Vec::with_capacity(8192);
        let mut chunk = vec![0u8; 16384];
        'read: loop {
            let n = match reader.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            buf.extend_from_slice(&chunk[..n]);
            loop {
                match frame_len(&buf) {
                    Ok(Some(len)) => {
                        let message: Vec<u8> = buf.drain(..len).collect();
                        if message.iter().all(|b| *b == b'\r' || *b == b'\n') {
                            continue; // keep-alive
                        }
                        if self
                            .inbound
                            .send(Input::Sip {
                                from: peer,
                                bytes: message,
                            })
                            .await
                            .is_err()
                        {
                            break 'read;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        // A stream that loses framing cannot be resynchronised.
                        tracing::warn!(peer = %peer, error = %e, "SIP stream framing error; closing connection");
                        break 'read;
                    }
                }
            }
        }
        self.tcp.lock().expect("poisoned").remove(&addr);
        writer_task.abort();
    }
}

/// Binds every configured listener and starts their read loops.
pub async fn start(
    listen: &[crate::config::Listen],
    inbound: mpsc::Sender<Input>,
) -> std::io::Result<SipSender> {
    let mut udp = None;
    let mut tcp_listeners = Vec::new();
    for l in listen {
        match l.transport {
            crate::config::ListenTransport::Udp => {
                let sock = Arc::new(UdpSocket::bind(l.addr).await?);
                tracing::info!(addr = %l.addr, "SIP UDP listening");
                udp.get_or_insert(sock);
            }
            crate::config::ListenTransport::Tcp => {
                let listener = TcpListener::bind(l.addr).await?;
                tracing::info!(addr = %l.addr, "SIP TCP listening");
                tcp_listeners.push(listener);
            }
        }
    }
    let sender = SipSender {
        udp: udp.clone(),
        tcp: Arc::new(Mutex::new(HashMap::new())),
        inbound: inbound.clone(),
    };
    if let Some(sock) = udp {
        let inbound = inbound.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; MAX_DATAGRAM];
            loop {
                let (n, addr) = match sock.recv_from(&mut buf).await {
                    Ok(v) => v,
                    Err(e) => {
                        // ICMP errors surface here on some systems; keep reading.
                        tracing::debug!(error = %e, "UDP receive error");
                        continue;
                    }
                };
                let bytes = &buf[..n];
                if bytes.iter().all(|b| b.is_ascii_whitespace()) {
                    continue; // RFC 5626 keep-alive
                }
                let input = Input::Sip {
                    from: Peer {
                        transport: Transport::Udp,
                        addr,
                    },
                    bytes: bytes.to_vec(),
                };
                if inbound.send(input).await.is_err() {
                    break;
                }
            }
        });
    }
    for listener in tcp_listeners {
        let sender = sender.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, addr)) = listener.accept().await else {
                    continue;
                };
                let (tx, rx) = mpsc::unbounded_channel();
                sender.tcp.lock().expect("poisoned").insert(addr, tx);
                let s = sender.clone();
                tokio::spawn(async move { s.serve_tcp(stream, addr, rx).await });
            }
        });
    }
    Ok(sender)
}
