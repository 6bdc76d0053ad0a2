//! The SIP socket adapter: UDP sockets, TCP and TLS connections, framing, and
//! the peer → connection table. It carries bytes only; every decision is the
//! core's.
//!
//! TCP and TLS share one connection table (keyed by [`Peer`], so a TCP and a
//! TLS connection to one address are distinct) and one framing loop, generic
//! over the stream; TLS only adds a handshake before it (`sip_tls`).

use super::sip_tls::SipTls;
use crate::call::Input;
use crate::sip::message::frame_len;
use crate::sip::peer::{Peer, Transport};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// How long a TCP connect, and then a TLS handshake, may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest UDP datagram we accept (RFC 3261 §18.1.1 allows up to 65 535).
const MAX_DATAGRAM: usize = 65_535;

/// Sends SIP bytes to peers over the right socket.
#[derive(Clone)]
pub struct SipSender {
    udp: Option<Arc<UdpSocket>>,
    /// Open TCP and TLS connections: peer → the queue its writer drains.
    streams: Arc<Mutex<HashMap<Peer, mpsc::UnboundedSender<Vec<u8>>>>>,
    tls: Arc<SipTls>,
    inbound: mpsc::Sender<Input>,
}

impl SipSender {
    /// Sends `bytes` to `peer`: over our UDP socket, or over the TCP or TLS
    /// connection to that address (opening one if none is up). Failures —
    /// connect, handshake, certificate verification — come back to the core
    /// as [`Input::SipUnreachable`].
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
            Transport::Tcp | Transport::Tls => {
                let existing = self.streams.lock().expect("poisoned").get(&peer).cloned();
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
        self.streams.lock().expect("poisoned").insert(peer, tx);
        tokio::spawn(async move {
            let stream =
                match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(peer.addr)).await {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(e)) => return this.failed(peer, "TCP connect failed", &e.to_string()),
                    Err(_) => return this.failed(peer, "TCP connect timed out", ""),
                };
            let _ = stream.set_nodelay(true);
            if peer.transport != Transport::Tls {
                return this.serve_stream(stream, peer, rx).await;
            }
            let Some(client) = this.tls.client_for(peer) else {
                return this.failed(peer, "no TLS client configuration", "");
            };
            let connector = TlsConnector::from(client.config);
            let name = client.server_name.clone();
            match tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name, stream)).await {
                Ok(Ok(tls)) => {
                    tracing::debug!(peer = %peer, server_name = ?client.server_name, "TLS connection up");
                    this.serve_stream(tls, peer, rx).await
                }
                // rustls words verification failures precisely ("invalid peer
                // certificate: UnknownIssuer", "… NotValidForName").
                Ok(Err(e)) => this.failed(peer, "TLS handshake failed", &e.to_string()),
                Err(_) => this.failed(peer, "TLS handshake timed out", ""),
            }
        });
    }

    /// An outgoing connection that never came up: logged with the peer and
    /// reason, forgotten, and reported to the core (its transactions fail, so
    /// a call gets 503 and a registration backs off).
    fn failed(&self, peer: Peer, what: &str, reason: &str) {
        tracing::warn!(peer = %peer, reason, "{what}");
        self.streams.lock().expect("poisoned").remove(&peer);
        self.unreachable(peer);
    }

    /// Reads framed SIP messages from a connected stream (TCP or TLS) into
    /// the core as coming from `peer`, and writes what is queued for it, until
    /// either side closes.
    async fn serve_stream<S>(&self, stream: S, peer: Peer, mut rx: mpsc::UnboundedReceiver<Vec<u8>>)
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (mut reader, mut writer) = tokio::io::split(stream);
        let writer_task = tokio::spawn(async move {
            while let Some(bytes) = rx.recv().await {
                // TLS buffers records: flush so each message leaves at once.
                if writer.write_all(&bytes).await.is_err() || writer.flush().await.is_err() {
                    break;
                }
            }
        });
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
        self.streams.lock().expect("poisoned").remove(&peer);
        writer_task.abort();
    }

    /// Accepts connections on a TCP or TLS listener for ever.
    fn accept_loop(&self, listener: TcpListener, tls: Option<TlsAcceptor>) {
        let sender = self.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, addr)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let s = sender.clone();
                let Some(acceptor) = tls.clone() else {
                    let peer = Peer {
                        transport: Transport::Tcp,
                        addr,
                    };
                    let rx = s.register(peer);
                    tokio::spawn(async move { s.serve_stream(stream, peer, rx).await });
                    continue;
                };
                let peer = Peer {
                    transport: Transport::Tls,
                    addr,
                };
                tokio::spawn(async move {
                    match tokio::time::timeout(CONNECT_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let rx = s.register(peer);
                            s.serve_stream(tls, peer, rx).await
                        }
                        // Nothing reaches the core: no message was read.
                        Ok(Err(e)) => {
                            tracing::warn!(peer = %peer, reason = %e, "inbound TLS handshake failed")
                        }
                        Err(_) => tracing::warn!(peer = %peer, "inbound TLS handshake timed out"),
                    }
                });
            }
        });
    }

    /// Enters an accepted connection in the table, so that responses and
    /// later requests to that peer go back over it.
    fn register(&self, peer: Peer) -> mpsc::UnboundedReceiver<Vec<u8>> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.streams.lock().expect("poisoned").insert(peer, tx);
        rx
    }
}

/// Binds every configured listener and starts their read loops. `tls` holds
/// the listener's certificate (required when `listen` has a `tls:` entry) and
/// the clients for outgoing TLS connections.
pub async fn start(
    listen: &[crate::config::Listen],
    tls: SipTls,
    inbound: mpsc::Sender<Input>,
) -> std::io::Result<SipSender> {
    let mut udp = None;
    let mut tcp_listeners = Vec::new();
    let acceptor = tls.server.clone().map(TlsAcceptor::from);
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
                tcp_listeners.push((listener, None));
            }
            crate::config::ListenTransport::Tls => {
                let acceptor = acceptor.clone().ok_or_else(|| {
                    std::io::Error::other(format!("tls:{}: no TLS certificate", l.addr))
                })?;
                let listener = TcpListener::bind(l.addr).await?;
                tracing::info!(addr = %l.addr, "SIP TLS listening");
                tcp_listeners.push((listener, Some(acceptor)));
            }
        }
    }
    let sender = SipSender {
        udp: udp.clone(),
        streams: Arc::new(Mutex::new(HashMap::new())),
        tls: Arc::new(tls),
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
    for (listener, tls) in tcp_listeners {
        sender.accept_loop(listener, tls);
    }
    Ok(sender)
}
