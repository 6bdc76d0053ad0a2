//! The XEP-0114 component connection, kept up forever.
//!
//! We drive tokio-xmpp's low-level `xmlstream` ourselves instead of using its
//! `Component`: `Component` ends its stream on the first stanza that does not
//! parse into a typed `xmpp_parsers` stanza, so one odd-but-legal stanza from
//! any remote client would cut the whole gateway off. Here stanzas are plain
//! `minidom` elements, element-level parse errors are logged and skipped, and
//! only transport failures, stream errors and the stream footer end a session —
//! after which we reconnect with jittered exponential back-off, queueing
//! outgoing stanzas meanwhile.

use futures::{SinkExt, StreamExt};
use minidom::Element;
use sha1::{Digest, Sha1};
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::time::Duration;
use tokio::io::BufStream;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_xmpp::xmlstream::{self, ReadError, StreamHeader, Timeouts, XmlStream};
use tracing::{debug, info, warn};

use super::stanza::{NS_COMPONENT, el, set, unique_id};

/// The stream namespace of XEP-0114 error elements.
const NS_STREAMS: &str = "http://etherx.jabber.org/streams";
/// XEP-0199 ping, our keepalive.
const NS_PING: &str = "urn:xmpp:ping";
/// Id prefix of keepalive pings; their echoes are swallowed, not forwarded.
const KEEPALIVE_PREFIX: &str = "keepalive-";
/// Stanzas kept while disconnected; beyond this the oldest are dropped.
const QUEUE_MAX: usize = 1024;
/// Time allowed for TCP connect, stream header and handshake together.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed to flush and close the stream when shutting down.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Where and how to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkConfig {
    /// The component domain (`sip.example.org`), sent as the stream `to`.
    pub domain: String,
    /// The server's component port, `host:port`.
    pub server: String,
    /// The shared secret configured for the component on the server.
    pub secret: String,
    /// First reconnect delay; doubled per consecutive failure.
    pub reconnect_min: Duration,
    /// Cap on the reconnect delay.
    pub reconnect_max: Duration,
}

/// What the link reports to its owner.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkEvent {
    /// The handshake succeeded; stanzas flow (queued ones are sent first).
    Connected,
    /// A session ended or a connection attempt failed; a retry is scheduled.
    /// Sent once per failed attempt, so repeated events mean "still down".
    Disconnected {
        /// Human-readable cause, for logs and status pages.
        reason: String,
    },
    /// A stanza (or other top-level element) received from the server.
    Stanza(Element),
}

/// Why a connection attempt or session ended.
#[derive(Debug)]
enum LinkError {
    /// TCP or stream-level I/O failed, or timed out.
    Io(io::Error),
    /// The server sent no stream id, so no handshake can be computed.
    NoStreamId,
    /// The server refused the handshake (usually a wrong secret).
    HandshakeRejected(String),
    /// The server sent a stream error.
    StreamError(String),
    /// The server closed the stream.
    Closed,
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::Io(e) => write!(f, "i/o: {e}"),
            LinkError::NoStreamId => f.write_str("server sent no stream id"),
            LinkError::HandshakeRejected(why) => write!(f, "handshake rejected: {why}"),
            LinkError::StreamError(cond) => write!(f, "stream error: {cond}"),
            LinkError::Closed => f.write_str("server closed the stream"),
        }
    }
}

impl From<io::Error> for LinkError {
    fn from(e: io::Error) -> Self {
        LinkError::Io(e)
    }
}

type Stream = XmlStream<BufStream<TcpStream>, Element>;

/// Runs forever: connects, forwards received stanzas as [`LinkEvent::Stanza`]
/// into `events`, sends every element from `outgoing` (queueing them while
/// disconnected, bounded, dropping the oldest with a warning), and reconnects
/// with exponential back-off (`reconnect_min..reconnect_max`, jittered) after
/// any failure. Returns only when `outgoing` is closed.
///
/// Events are delivered with back-pressure: a consumer that stops reading
/// `events` stalls reading from the server (and eventually its keepalive).
pub async fn run_link(
    cfg: LinkConfig,
    events: mpsc::Sender<LinkEvent>,
    outgoing: mpsc::Receiver<Element>,
) {
    let timeouts = Timeouts {
        read_timeout: Duration::from_secs(60),
        response_timeout: Duration::from_secs(20),
    };
    run_link_with_timeouts(cfg, timeouts, events, outgoing).await
}

/// [`run_link`] with explicit stream timeouts: after `read_timeout` of silence
/// we ping the server; without an answer within `response_timeout` the session
/// is considered dead and we reconnect.
pub async fn run_link_with_timeouts(
    cfg: LinkConfig,
    timeouts: Timeouts,
    events: mpsc::Sender<LinkEvent>,
    mut outgoing: mpsc::Receiver<Element>,
) {
    let mut queue = Queue::default();
    let mut failures: u32 = 0;
    loop {
        let attempt = async {
            tokio::time::timeout(LOGIN_TIMEOUT, connect(&cfg, timeouts))
                .await
                .unwrap_or_else(|_| {
                    Err(io::Error::new(io::ErrorKind::TimedOut, "login timed out").into())
                })
        };
        let Some(result) = queue.fill_while(&mut outgoing, attempt).await else {
            return queue.abandon();
        };
        let reason = match result {
            Ok(mut stream) => {
                info!(domain = %cfg.domain, server = %cfg.server, "component link up");
                failures = 0;
                let _ = events.send(LinkEvent::Connected).await;
                match session(&cfg, &mut stream, &events, &mut outgoing, &mut queue).await {
                    Ok(()) => {
                        close(&mut stream).await;
                        return queue.abandon();
                    }
                    Err(e) => e,
                }
            }
            Err(e) => e,
        };
        warn!(domain = %cfg.domain, server = %cfg.server, "component link down: {reason}");
        let _ = events
            .send(LinkEvent::Disconnected {
                reason: reason.to_string(),
            })
            .await;
        let delay = backoff(&cfg, failures);
        failures = failures.saturating_add(1);
        debug!(?delay, "reconnecting after back-off");
        if queue
            .fill_while(&mut outgoing, tokio::time::sleep(delay))
            .await
            .is_none()
        {
            return queue.abandon();
        }
    }
}

/// TCP connect, stream header, handshake: a usable stream or why not.
async fn connect(cfg: &LinkConfig, timeouts: Timeouts) -> Result<Stream, LinkError> {
    let tcp = TcpStream::connect(&cfg.server).await?;
    let _ = tcp.set_nodelay(true);
    let header = StreamHeader {
        from: None,
        to: Some(cfg.domain.as_str().into()),
        id: None,
    };
    let mut pending =
        xmlstream::initiate_stream(BufStream::new(tcp), NS_COMPONENT, header, timeouts).await?;
    let stream_id = pending.take_header().id.ok_or(LinkError::NoStreamId)?;
    let mut stream: Stream = pending.skip_features();
    let mut handshake = el("handshake", NS_COMPONENT);
    handshake.append_text(handshake_digest(&stream_id, &cfg.secret));
    stream.send(&handshake).await?;
    loop {
        match stream.next().await {
            Some(Ok(reply)) if reply.is("handshake", NS_COMPONENT) => return Ok(stream),
            Some(Ok(other)) => {
                return Err(LinkError::HandshakeRejected(describe_error(&other)));
            }
            Some(Err(ReadError::SoftTimeout)) => {}
            Some(Err(ReadError::ParseError(e))) => {
                return Err(LinkError::HandshakeRejected(format!(
                    "unparsable reply: {e}"
                )));
            }
            Some(Err(ReadError::HardError(e))) => return Err(e.into()),
            Some(Err(ReadError::StreamFooterReceived)) | None => {
                return Err(LinkError::HandshakeRejected("stream closed".into()));
            }
        }
    }
}

/// XEP-0114 §3: lowercase hex SHA-1 of stream id followed by the secret.
fn handshake_digest(stream_id: &str, secret: &str) -> String {
    let digest = Sha1::digest(format!("{stream_id}{secret}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The condition name of a `<stream:error>`, or the element's name otherwise.
fn describe_error(el: &Element) -> String {
    if el.is("error", NS_STREAMS) {
        let cond = el
            .children()
            .find(|c| c.name() != "text")
            .map_or("undefined-condition", |c| c.name());
        match el.children().find(|c| c.name() == "text").map(|t| t.text()) {
            Some(text) if !text.is_empty() => format!("{cond} ({text})"),
            _ => cond.to_owned(),
        }
    } else {
        format!("unexpected <{}/>", el.name())
    }
}

/// One connected session. `Ok(())` when `outgoing` closed (we shut down),
/// `Err` when the connection was lost.
async fn session(
    cfg: &LinkConfig,
    stream: &mut Stream,
    events: &mpsc::Sender<LinkEvent>,
    outgoing: &mut mpsc::Receiver<Element>,
    queue: &mut Queue,
) -> Result<(), LinkError> {
    let mut closing = false;
    loop {
        queue.flush(stream).await?;
        if closing {
            return Ok(());
        }
        tokio::select! {
            item = stream.next() => match item {
                Some(Ok(el)) => {
                    if el.is("error", NS_STREAMS) {
                        return Err(LinkError::StreamError(describe_error(&el)));
                    }
                    if is_keepalive_echo(cfg, &el) {
                        continue;
                    }
                    let _ = events.send(LinkEvent::Stanza(el)).await;
                }
                Some(Err(ReadError::ParseError(e))) => {
                    warn!("skipping unparsable element from server: {e}");
                }
                Some(Err(ReadError::SoftTimeout)) => {
                    debug!("link idle: sending keepalive ping");
                    queue.push_front(keepalive(cfg));
                }
                Some(Err(ReadError::HardError(e))) => return Err(e.into()),
                Some(Err(ReadError::StreamFooterReceived)) | None => return Err(LinkError::Closed),
            },
            msg = outgoing.recv() => match msg {
                Some(el) => queue.push(el),
                None => closing = true,
            },
        }
    }
}

/// A ping from our domain to our domain: the server routes it back to us,
/// which proves the whole path alive without depending on the server's host
/// name or on it answering pings.
fn keepalive(cfg: &LinkConfig) -> Element {
    let mut iq = el("iq", NS_COMPONENT);
    set(&mut iq, "type", "get");
    set(&mut iq, "from", &cfg.domain);
    set(&mut iq, "to", &cfg.domain);
    set(&mut iq, "id", &format!("{KEEPALIVE_PREFIX}{}", unique_id()));
    iq.append_child(el("ping", NS_PING));
    iq
}

/// Our own keepalive coming back (or an answer to it): only we send from the
/// bare domain with that id prefix, so nobody else can hide stanzas this way.
fn is_keepalive_echo(cfg: &LinkConfig, el: &Element) -> bool {
    el.name() == "iq"
        && el.attr("from") == Some(cfg.domain.as_str())
        && el
            .attr("id")
            .is_some_and(|id| id.starts_with(KEEPALIVE_PREFIX))
}

/// Sends the stream footer and closes, best effort: we are leaving anyway.
async fn close(stream: &mut Stream) {
    let closing = SinkExt::<&Element>::close(stream);
    if tokio::time::timeout(CLOSE_TIMEOUT, closing).await.is_err() {
        debug!("stream close timed out");
    }
}

/// Exponential back-off with jitter: `min·2^failures`, capped at `max`, then a
/// random point in its upper half so many gateways do not reconnect in step.
fn backoff(cfg: &LinkConfig, failures: u32) -> Duration {
    let max = cfg.reconnect_max.max(cfg.reconnect_min);
    let base = cfg
        .reconnect_min
        .saturating_mul(1u32 << failures.min(16))
        .min(max);
    let jitter = rand::random::<f64>();
    base.mul_f64(0.5 + 0.5 * jitter)
}

/// Outgoing stanzas not yet written to a live stream.
#[derive(Default)]
struct Queue(VecDeque<Element>);

impl Queue {
    /// Appends, dropping the oldest stanza when full.
    fn push(&mut self, el: Element) {
        if self.0.len() >= QUEUE_MAX
            && let Some(dropped) = self.0.pop_front()
        {
            warn!(
                "outgoing queue full ({QUEUE_MAX}): dropping <{} id={:?}>",
                dropped.name(),
                dropped.attr("id")
            );
        }
        self.0.push_back(el);
    }

    /// Puts a stanza first in line (keepalives must not wait behind a backlog).
    fn push_front(&mut self, el: Element) {
        self.0.push_front(el);
    }

    /// Writes everything queued. A stanza leaves the queue only once written,
    /// so a broken connection keeps it for the next session; one that cannot
    /// be serialised at all is dropped rather than retried forever.
    async fn flush(&mut self, stream: &mut Stream) -> Result<(), LinkError> {
        while let Some(el) = self.0.front() {
            match stream.send(el).await {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::InvalidInput => {
                    warn!("dropping unserialisable <{}>: {e}", el.name());
                }
                Err(e) => return Err(e.into()),
            }
            self.0.pop_front();
        }
        Ok(())
    }

    /// Awaits `fut` while queueing whatever arrives on `outgoing`; `None` if
    /// `outgoing` closed first (the owner is shutting us down).
    async fn fill_while<F: Future>(
        &mut self,
        outgoing: &mut mpsc::Receiver<Element>,
        fut: F,
    ) -> Option<F::Output> {
        let mut fut = std::pin::pin!(fut);
        loop {
            tokio::select! {
                out = &mut fut => return Some(out),
                msg = outgoing.recv() => match msg {
                    Some(el) => self.push(el),
                    None => return None,
                },
            }
        }
    }

    /// Logs what is lost when the link stops while disconnected.
    fn abandon(self) {
        if !self.0.is_empty() {
            warn!(
                "component link stopped with {} stanzas unsent",
                self.0.len()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(min: u64, max: u64) -> LinkConfig {
        LinkConfig {
            domain: "sip.test".into(),
            server: "127.0.0.1:1".into(),
            secret: "s".into(),
            reconnect_min: Duration::from_millis(min),
            reconnect_max: Duration::from_millis(max),
        }
    }

    #[test]
    fn handshake_digest_is_hex_sha1_of_id_and_secret() {
        // The vector xmpp-parsers' Handshake tests use (stream id "sid", secret "123456").
        assert_eq!(
            handshake_digest("sid", "123456"),
            "9accec263ab84a43c6037ccf7cd48cb1d3f6df8e"
        );
    }

    #[test]
    fn backoff_grows_jitters_and_caps() {
        let c = cfg(100, 1000);
        for _ in 0..50 {
            let d0 = backoff(&c, 0);
            assert!(d0 >= Duration::from_millis(50) && d0 <= Duration::from_millis(100));
            let d2 = backoff(&c, 2);
            assert!(d2 >= Duration::from_millis(200) && d2 <= Duration::from_millis(400));
            let big = backoff(&c, 40);
            assert!(big >= Duration::from_millis(500) && big <= Duration::from_millis(1000));
        }
        // max below min: min wins, no panic.
        assert!(backoff(&cfg(100, 10), 3) <= Duration::from_millis(100));
    }

    #[test]
    fn queue_drops_oldest_when_full() {
        let mut q = Queue::default();
        for i in 0..QUEUE_MAX + 3 {
            let mut m = el("message", NS_COMPONENT);
            set(&mut m, "id", &i.to_string());
            q.push(m);
        }
        assert_eq!(q.0.len(), QUEUE_MAX);
        assert_eq!(q.0.front().and_then(|m| m.attr("id")), Some("3"));
    }

    #[test]
    fn stream_errors_are_described() {
        let e: Element = "<error xmlns='http://etherx.jabber.org/streams'>\
            <not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>\
            <text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>bad secret</text></error>"
            .parse()
            .expect("parses");
        assert_eq!(describe_error(&e), "not-authorized (bad secret)");
        let other: Element = "<iq xmlns='jabber:component:accept'/>"
            .parse()
            .expect("parses");
        assert_eq!(describe_error(&other), "unexpected <iq/>");
    }

    #[test]
    fn only_our_keepalives_are_swallowed() {
        let c = cfg(1, 1);
        assert!(is_keepalive_echo(&c, &keepalive(&c)));
        let mut forged = keepalive(&c);
        set(&mut forged, "from", "evil@sip.test");
        assert!(!is_keepalive_echo(&c, &forged));
    }
}
