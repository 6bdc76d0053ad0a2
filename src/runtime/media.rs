//! The media anchors behind `Output::Anchor`: the embedded relay (ports bound
//! here, one tokio task per call running a [`Relay`]) and rtpengine (its ng
//! client). Replies and notices go back into the event loop as inputs.

use crate::call::Input;
use crate::config::Config;
use crate::media::anchor::{
    AnchorError, AnchorOp, AnchorReply, AnchorRequest, MediaLeg, MediaMode, MediaNotice,
    STATS_EVERY, SipSrtp,
};
use crate::media::engine::counters::MediaCounters;
use crate::media::engine::dtls::Identity;
use crate::media::engine::negotiate::{self, PendingOffer, Ports};
use crate::media::engine::relay::{Port, Relay, SipUpdate};
use crate::media::engine::sdp;
use crate::media::rtpengine::client::RtpengineClient;
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr, UdpSocket as StdUdpSocket};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// A port range handed out in even-aligned pairs, skipping ports something
/// else holds.
struct PortPool {
    bind: IpAddr,
    lo: u16,
    hi: u16,
    next: u16,
    used: HashSet<u16>,
}

impl PortPool {
    fn new(bind: IpAddr, (lo, hi): (u16, u16)) -> Self {
        let lo = lo + lo % 2;
        PortPool {
            bind,
            lo,
            hi,
            next: lo,
            used: HashSet::new(),
        }
    }

    /// Binds a pair (RTP even, RTCP odd) or, with `pair = false`, one even port.
    fn take(&mut self, pair: bool) -> Option<(u16, Vec<StdUdpSocket>)> {
        let slots = (u32::from(self.hi) - u32::from(self.lo)) / 2 + 1;
        for _ in 0..slots {
            let port = self.next;
            self.next = if u32::from(port) + 3 > u32::from(self.hi) {
                self.lo
            } else {
                port + 2
            };
            if self.used.contains(&port) {
                continue;
            }
            let Ok(rtp) = bind(self.bind, port) else {
                continue;
            };
            let mut sockets = vec![rtp];
            if pair {
                match bind(self.bind, port + 1) {
                    Ok(rtcp) => sockets.push(rtcp),
                    Err(_) => continue,
                }
            }
            self.used.insert(port);
            return Some((port, sockets));
        }
        None
    }

    fn give_back(&mut self, port: u16) {
        self.used.remove(&port);
    }
}

fn bind(ip: IpAddr, port: u16) -> std::io::Result<StdUdpSocket> {
    let s = StdUdpSocket::bind(SocketAddr::new(ip, port))?;
    s.set_nonblocking(true)?;
    Ok(s)
}

struct Allocation {
    pending: PendingOffer,
    /// Bound sockets by local port.
    sockets: HashMap<u16, StdUdpSocket>,
    /// Pool slots (even ports) to give back.
    slots: Vec<u16>,
}

struct Running {
    control: mpsc::UnboundedSender<Control>,
    slots: Vec<u16>,
}

/// What the loop tells a running relay.
enum Control {
    /// The SIP leg's description changed.
    UpdateSip(Vec<SipUpdate>),
    /// Issue 7: send a DTMF key as RFC 4733 events toward SIP.
    Dtmf(char, u32),
}

/// The embedded anchor.
struct Embedded {
    identity: Identity,
    public_ip: IpAddr,
    pool: PortPool,
    rng: StdRng,
    inactivity: Option<Duration>,
    pending: HashMap<String, Allocation>,
    running: HashMap<String, Running>,
    counters: Arc<MediaCounters>,
    notices: mpsc::Sender<Input>,
    ended_rx: mpsc::UnboundedReceiver<String>,
    ended_tx: mpsc::UnboundedSender<String>,
}

impl Embedded {
    fn release(&mut self, call: &str) {
        if let Some(a) = self.pending.remove(call) {
            for s in a.slots {
                self.pool.give_back(s);
            }
        }
        if let Some(r) = self.running.remove(call) {
            // Dropping the sender stops the relay.
            drop(r.control);
            for s in r.slots {
                self.pool.give_back(s);
            }
        }
    }

    fn reap(&mut self) {
        while let Ok(call) = self.ended_rx.try_recv() {
            if let Some(r) = self.running.remove(&call) {
                for s in r.slots {
                    self.pool.give_back(s);
                }
            }
        }
    }

    fn offer(&mut self, req: &AnchorRequest) -> Result<String, AnchorError> {
        self.release(&req.call);
        let desc = sdp::parse(&req.sdp).map_err(AnchorError::Unacceptable)?;
        let (transports, accepted) = negotiate::ports_needed(req.from, &desc);
        let mut sockets = HashMap::new();
        let mut slots = Vec::new();
        let mut ports = Ports {
            xmpp: Vec::new(),
            sip: Vec::new(),
        };
        let mut fail = None;
        for _ in 0..transports {
            match self.pool.take(false) {
                Some((port, mut s)) => {
                    slots.push(port);
                    ports.xmpp.push(port);
                    sockets.insert(port, s.remove(0));
                }
                None => fail = Some(()),
            }
        }
        for ok in &accepted {
            if !ok {
                ports.sip.push(0);
                continue;
            }
            match self.pool.take(true) {
                Some((port, mut s)) => {
                    slots.push(port);
                    ports.sip.push(port);
                    let rtcp = s.remove(1);
                    sockets.insert(port, s.remove(0));
                    sockets.insert(port + 1, rtcp);
                }
                None => fail = Some(()),
            }
        }
        if fail.is_some() {
            for s in slots {
                self.pool.give_back(s);
            }
            return Err(AnchorError::Unavailable(
                "no free media ports in [media] port_range".into(),
            ));
        }
        let result = negotiate::offer(
            &mut self.rng,
            req.from,
            &req.sdp,
            req.sip_srtp,
            ports,
            self.public_ip,
            &self.identity.fingerprint,
        );
        match result {
            Ok((pending, sdp)) => {
                self.pending.insert(
                    req.call.clone(),
                    Allocation {
                        pending,
                        sockets,
                        slots,
                    },
                );
                Ok(sdp)
            }
            Err(e) => {
                for s in slots {
                    self.pool.give_back(s);
                }
                Err(e)
            }
        }
    }

    fn answer(&mut self, req: &AnchorRequest) -> Result<String, AnchorError> {
        let Some(mut alloc) = self.pending.remove(&req.call) else {
            return Err(AnchorError::Unacceptable(
                "an answer without an offer".into(),
            ));
        };
        if alloc.pending.from == req.from {
            self.pending.insert(req.call.clone(), alloc);
            return Err(AnchorError::Unacceptable(
                "the answer came from the offering leg".into(),
            ));
        }
        let result = negotiate::answer(
            &req.call,
            &alloc.pending,
            &req.sdp,
            self.public_ip,
            &self.identity.fingerprint,
            self.inactivity,
        );
        let (sdp, plan) = match result {
            Ok(r) => r,
            Err(e) => {
                for s in alloc.slots {
                    self.pool.give_back(s);
                }
                return Err(e);
            }
        };
        let mut sockets = Vec::new();
        for (t, port) in alloc.pending.ports.xmpp.iter().enumerate() {
            if let Some(s) = alloc.sockets.remove(port) {
                sockets.push((Port::Xmpp(t), s));
            }
        }
        for (i, s) in plan.streams.iter().enumerate() {
            if let Some(rtp) = alloc.sockets.remove(&s.sip_port) {
                sockets.push((Port::SipRtp(i), rtp));
            }
            if let Some(rtcp) = alloc.sockets.remove(&(s.sip_port + 1)) {
                sockets.push((Port::SipRtcp(i), rtcp));
            }
        }
        let relay =
            Relay::new(plan, &self.identity, Instant::now()).map_err(AnchorError::Unacceptable)?;
        let (control, controls) = mpsc::unbounded_channel();
        tokio::spawn(run_relay(
            relay,
            sockets,
            controls,
            self.counters.clone(),
            self.notices.clone(),
            self.ended_tx.clone(),
        ));
        self.counters.sessions.fetch_add(1, Ordering::Relaxed);
        self.running.insert(
            req.call.clone(),
            Running {
                control,
                slots: alloc.slots,
            },
        );
        Ok(sdp)
    }
}

/// What an rtpengine call's XMPP side last told rtpengine at set-up: an
/// in-dialog re-negotiation restates it, since ng exchanges come in
/// offer/answer pairs and only the SIP side's description changed.
#[derive(Debug, Clone)]
struct XmppSide {
    /// Its SDP (the translation of its Jingle description).
    sdp: String,
    /// rtpengine's own `a=setup` toward it, when rtpengine answered it
    /// (the XMPP side offered `actpass`).
    rtpengine_setup: Option<String>,
    sip_srtp: SipSrtp,
}

impl XmppSide {
    /// Its description as an ng answer: an `actpass` it offered at set-up is
    /// settled to the role it took then (the opposite of rtpengine's;
    /// rtpengine picks `active` answering `actpass`), so that DTLS goes on
    /// as it is.
    fn as_answer(&self) -> String {
        let ours = match self.rtpengine_setup.as_deref() {
            Some("passive") => "active",
            _ => "passive",
        };
        self.sdp
            .replace("a=setup:actpass", &format!("a=setup:{ours}"))
    }
}

/// rtpengine calls by id: their XMPP side as set up.
type XmppSides = Arc<Mutex<HashMap<String, XmppSide>>>;

fn sides(s: &XmppSides) -> std::sync::MutexGuard<'_, HashMap<String, XmppSide>> {
    s.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One in-dialog re-negotiation for rtpengine: an ng `offer`, then its
/// `answer`.
struct Renegotiation {
    offer: AnchorRequest,
    answer: AnchorRequest,
}

/// The rtpengine anchor: its ng client, what each call's XMPP side told it,
/// and the queue of in-dialog re-negotiations (one at a time, in order, so
/// that a hold and its resume reach rtpengine as they were sent).
struct Rtpengine {
    client: Arc<RtpengineClient>,
    xmpp: XmppSides,
    renegotiate: mpsc::UnboundedSender<Renegotiation>,
}

/// Carries out the re-negotiations in order. A failure leaves rtpengine
/// with the old description (media to the old address): logged and counted,
/// the call goes on.
async fn renegotiate(
    client: Arc<RtpengineClient>,
    mut queue: mpsc::UnboundedReceiver<Renegotiation>,
    counters: Arc<MediaCounters>,
) {
    while let Some(r) = queue.recv().await {
        match client.renegotiate(&r.offer, &r.answer).await {
            Ok(_) => tracing::info!(
                call = %r.offer.call,
                offerer = r.offer.from.label(),
                "rtpengine follows the SIP leg's new description"
            ),
            Err(e) => {
                counters.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    call = %r.offer.call,
                    error = %e,
                    "rtpengine re-negotiation failed: media stays as it was"
                );
            }
        }
    }
}

/// Every anchor the configuration uses.
pub struct MediaAnchors {
    embedded: Option<Embedded>,
    rtpengine: Option<Rtpengine>,
    in_tx: mpsc::Sender<Input>,
    counters: Arc<MediaCounters>,
}

/// Whether any call may use `mode`.
fn uses(config: &Config, mode: MediaMode) -> bool {
    config.media.mode == mode || config.trunks.iter().any(|t| t.media == Some(mode))
}

impl MediaAnchors {
    /// Sets up what the configuration needs: the DTLS identity and port pool
    /// for the embedded anchor, the ng client for rtpengine.
    pub async fn start(config: &Config, in_tx: mpsc::Sender<Input>) -> Result<Self, String> {
        let counters = Arc::new(MediaCounters::default());
        let embedded = if uses(config, MediaMode::Embedded) {
            let identity = Identity::generate()?;
            let (ended_tx, ended_rx) = mpsc::unbounded_channel();
            tracing::info!(
                bind = %config.media.bind,
                public_ip = %config.media.public_ip,
                ports = ?config.media.port_range,
                fingerprint = %identity.fingerprint,
                "embedded media anchor ready"
            );
            Some(Embedded {
                identity,
                public_ip: config.media.public_ip,
                pool: PortPool::new(config.media.bind, config.media.port_range),
                rng: StdRng::from_os_rng(),
                inactivity: (config.media.inactivity_secs > 0)
                    .then(|| Duration::from_secs(config.media.inactivity_secs)),
                pending: HashMap::new(),
                running: HashMap::new(),
                counters: counters.clone(),
                notices: in_tx.clone(),
                ended_rx,
                ended_tx,
            })
        } else {
            None
        };
        let rtpengine = match (uses(config, MediaMode::Rtpengine), config.media.rtpengine) {
            (true, Some(addr)) => {
                let client = RtpengineClient::connect(addr)
                    .await
                    .map_err(|e| format!("rtpengine control socket: {e}"))?;
                let client = Arc::new(client);
                let (tx, rx) = mpsc::unbounded_channel();
                tokio::spawn(renegotiate(client.clone(), rx, counters.clone()));
                Some(Rtpengine {
                    client,
                    xmpp: Arc::default(),
                    renegotiate: tx,
                })
            }
            _ => None,
        };
        Ok(MediaAnchors {
            embedded,
            rtpengine,
            in_tx,
            counters,
        })
    }

    /// The shared counters (for `/metrics`).
    pub fn counters(&self) -> Arc<MediaCounters> {
        self.counters.clone()
    }

    /// Carries out one request; the reply arrives as `Input::Anchored`.
    pub fn request(&mut self, req: AnchorRequest) {
        match req.mode {
            MediaMode::Rtpengine => {
                let Some(r) = self.rtpengine.as_ref() else {
                    return self.reply(AnchorReply {
                        call: req.call.clone(),
                        op: req.op,
                        result: Err(AnchorError::Unavailable("no rtpengine configured".into())),
                    });
                };
                let (client, xmpp) = (r.client.clone(), r.xmpp.clone());
                let tx = self.in_tx.clone();
                tokio::spawn(async move {
                    let reply = client.request(&req).await;
                    // Noted before the core hears of it: a re-negotiation
                    // the reply leads to finds it.
                    if let Ok(sdp) = &reply.result {
                        remember(&xmpp, &req, sdp);
                    }
                    let _ = tx.send(Input::Anchored(reply)).await;
                });
            }
            _ => {
                let Some(e) = self.embedded.as_mut() else {
                    return self.reply(AnchorReply {
                        call: req.call.clone(),
                        op: req.op,
                        result: Err(AnchorError::Unavailable("no embedded anchor".into())),
                    });
                };
                e.reap();
                let result = match req.op {
                    AnchorOp::Offer => e.offer(&req),
                    AnchorOp::Answer => e.answer(&req),
                };
                if let Err(err) = &result {
                    self.counters.failures.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(call = %req.call, error = %err, "media anchor refused");
                }
                self.reply(AnchorReply {
                    call: req.call,
                    op: req.op,
                    result,
                });
            }
        }
    }

    /// A leg's new in-dialog description (re-INVITE / UPDATE, the 2xx to
    /// ours, a transfer target's or early dialog's 2xx, a delayed offer's
    /// ACK): the anchor follows the SIP leg's address, hold state and codecs.
    ///
    /// The embedded relay is told directly. rtpengine gets an ng pair, in
    /// order behind earlier ones: when the SIP side offered (`offer`), an
    /// `offer` from the SIP side with `sdp` and the `answer` from the XMPP
    /// side with its set-up description; when the SIP side answered ours, an
    /// `offer` from the XMPP side with its set-up description and the SIP
    /// side's `answer` with `sdp`. rtpengine keeps its ports, ICE
    /// credentials and DTLS fingerprint, so the SDPs it writes back change
    /// nothing either leg was told and are not used: our SIP answers stay
    /// the anchor's set-up description, directions rewritten (see
    /// ARCHITECTURE.md, Anchored media). A call rtpengine set up before a
    /// restart of ours has no XMPP side on record here and is not re-told.
    pub fn update(&mut self, call: &str, leg: MediaLeg, sdp: &str, mode: MediaMode, offer: bool) {
        if leg != MediaLeg::Sip {
            tracing::debug!(
                call,
                ?mode,
                "XMPP-side in-dialog media change not passed to the anchor"
            );
            return;
        }
        if mode == MediaMode::Rtpengine {
            return self.update_rtpengine(call, sdp, offer);
        }
        let Some(e) = self.embedded.as_mut() else {
            return;
        };
        let Some(running) = e.running.get(call) else {
            return;
        };
        let desc = match sdp::parse(sdp) {
            Ok(d) => d,
            Err(why) => {
                tracing::warn!(call, %why, "unreadable re-offer: media left as it was");
                return;
            }
        };
        let streams = desc
            .streams
            .iter()
            .filter(|s| s.port != 0)
            .map(|s| {
                let (rtp, rtcp) = negotiate::sip_addresses(s);
                SipUpdate {
                    rtp,
                    rtcp,
                    held: s.direction.as_deref().is_some_and(|d| d != "sendrecv"),
                }
            })
            .collect();
        let _ = running.control.send(Control::UpdateSip(streams));
    }

    fn update_rtpengine(&mut self, call: &str, sdp: &str, offer: bool) {
        let Some(r) = self.rtpengine.as_ref() else {
            return;
        };
        let Some(xmpp) = sides(&r.xmpp).get(call).cloned() else {
            tracing::warn!(
                call,
                "no XMPP-side description on record for this rtpengine call: \
                 its new SIP description is not passed on"
            );
            return;
        };
        let req = |op, from, sdp: String| AnchorRequest {
            call: call.to_string(),
            op,
            from,
            sdp,
            mode: MediaMode::Rtpengine,
            sip_srtp: xmpp.sip_srtp,
        };
        let renegotiation = if offer {
            Renegotiation {
                offer: req(AnchorOp::Offer, MediaLeg::Sip, sdp.to_string()),
                answer: req(AnchorOp::Answer, MediaLeg::Xmpp, xmpp.as_answer()),
            }
        } else {
            Renegotiation {
                offer: req(AnchorOp::Offer, MediaLeg::Xmpp, xmpp.sdp.clone()),
                answer: req(AnchorOp::Answer, MediaLeg::Sip, sdp.to_string()),
            }
        };
        let _ = r.renegotiate.send(renegotiation);
    }

    /// Issue 7: a DTMF key for the call's embedded relay to send as RFC 4733
    /// events (the core chose in-band: the call is anchored here and the SIP
    /// leg took telephone-event).
    pub fn dtmf(&mut self, call: &str, key: char, duration_ms: u32) {
        let running = self.embedded.as_ref().and_then(|e| e.running.get(call));
        match running {
            Some(r) => {
                let _ = r.control.send(Control::Dtmf(key, duration_ms));
            }
            None => tracing::warn!(call, "DTMF for a call with no running relay dropped"),
        }
    }

    /// Frees a call's media.
    pub fn release(&mut self, call: &str, mode: MediaMode) {
        match mode {
            MediaMode::Rtpengine => {
                if let Some(r) = self.rtpengine.as_ref() {
                    sides(&r.xmpp).remove(call);
                    let client = r.client.clone();
                    let call = call.to_string();
                    tokio::spawn(async move {
                        if let Err(e) = client.delete(&call).await {
                            tracing::warn!(call = %call, error = %e, "rtpengine delete failed");
                        }
                    });
                }
            }
            _ => {
                if let Some(e) = self.embedded.as_mut() {
                    e.release(call);
                    e.reap();
                }
            }
        }
    }

    fn reply(&self, reply: AnchorReply) {
        let tx = self.in_tx.clone();
        // The loop is the receiver: never block it on its own queue.
        if let Err(mpsc::error::TrySendError::Full(input)) = tx.try_send(Input::Anchored(reply)) {
            tokio::spawn(async move {
                let _ = tx.send(input).await;
            });
        }
    }
}

/// Notes what a successful set-up exchange tells about the XMPP side: its
/// description when it was the XMPP side's, rtpengine's DTLS role toward it
/// when rtpengine answered it.
fn remember(xmpp: &XmppSides, req: &AnchorRequest, reply_sdp: &str) {
    let mut sides = sides(xmpp);
    match req.from {
        MediaLeg::Xmpp => {
            let known = sides.get(&req.call).and_then(|s| s.rtpengine_setup.clone());
            sides.insert(
                req.call.clone(),
                XmppSide {
                    sdp: req.sdp.clone(),
                    // An offer's role is rtpengine's answer's, still to come.
                    rtpengine_setup: if req.op == AnchorOp::Offer {
                        None
                    } else {
                        known
                    },
                    sip_srtp: req.sip_srtp,
                },
            );
        }
        MediaLeg::Sip if req.op == AnchorOp::Answer => {
            if let Some(side) = sides.get_mut(&req.call) {
                side.rtpengine_setup = reply_sdp
                    .lines()
                    .find_map(|l| l.trim().strip_prefix("a=setup:"))
                    .map(str::to_string);
            }
        }
        MediaLeg::Sip => {}
    }
}

/// Receives on whichever socket is ready.
async fn recv_any(sockets: &[(Port, UdpSocket)], buf: &mut [u8]) -> (usize, usize, SocketAddr) {
    std::future::poll_fn(|cx| {
        for (i, (_, s)) in sockets.iter().enumerate() {
            let mut rb = tokio::io::ReadBuf::new(buf);
            match s.poll_recv_from(cx, &mut rb) {
                std::task::Poll::Ready(Ok(from)) => {
                    return std::task::Poll::Ready((i, rb.filled().len(), from));
                }
                // ICMP errors (port unreachable) surface as errors: skip them.
                std::task::Poll::Ready(Err(_)) => continue,
                std::task::Poll::Pending => {}
            }
        }
        std::task::Poll::Pending
    })
    .await
}

async fn run_relay(
    mut relay: Relay,
    sockets: Vec<(Port, StdUdpSocket)>,
    mut control: mpsc::UnboundedReceiver<Control>,
    counters: Arc<MediaCounters>,
    notices: mpsc::Sender<Input>,
    ended: mpsc::UnboundedSender<String>,
) {
    let call = relay.plan().call.clone();
    let sockets: Vec<(Port, UdpSocket)> = sockets
        .into_iter()
        .filter_map(|(p, s)| UdpSocket::from_std(s).ok().map(|s| (p, s)))
        .collect();
    let mut buf = vec![0u8; 2048];
    let mut flushed = (Default::default(), Default::default());
    let mut reports = Reports::default();
    let mut tick = tokio::time::interval(TICK);
    // One timer for the relay's life, re-armed only when its deadline moves
    // earlier (or it fired): a fresh `sleep_until` per datagram inserted into
    // and removed from tokio's timer wheel for every packet (bench/media.sh
    // profile). Waking at a deadline that has since moved later is harmless:
    // `handle_timeout` acts only on what is really due.
    let timer = tokio::time::sleep(Duration::from_secs(3600));
    tokio::pin!(timer);
    let mut armed: Option<Instant> = None;
    loop {
        while let Some(t) = relay.poll_transmit() {
            if let Some((_, s)) = sockets.iter().find(|(p, _)| *p == t.from) {
                let _ = s.try_send_to(&t.bytes, t.to);
            }
        }
        let last = last_words(&mut relay);
        if !last.is_empty() {
            for notice in last {
                reports.observe_jitter(&counters, &notice);
                tracing::info!(call = %call, ?notice, "media notice");
                let _ = notices
                    .send(Input::Media {
                        call: call.clone(),
                        notice,
                    })
                    .await;
            }
            break;
        }
        let deadline = relay
            .poll_timeout()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        if armed.is_none_or(|at| deadline < at) {
            timer.as_mut().reset(deadline.into());
            armed = Some(deadline);
        }
        tokio::select! {
            (i, n, from) = recv_any(&sockets, &mut buf) => {
                let port = sockets[i].0;
                relay.handle_datagram(Instant::now(), port, from, &buf[..n]);
            }
            _ = &mut timer => {
                armed = None;
                relay.handle_timeout(Instant::now());
            }
            _ = tick.tick() => {
                flush(&relay, &counters, &mut flushed);
                if let Some(report) = reports.tick(&relay) {
                    reports.observe_jitter(&counters, &report);
                    let input = Input::Media { call: call.clone(), notice: report };
                    // Never stall the media on the loop's queue: the next
                    // report carries the same totals, a little later.
                    if notices.try_send(input).is_err() {
                        tracing::debug!(call = %call, "media stats report dropped: event loop busy");
                    }
                }
            }
            c = control.recv() => match c {
                Some(Control::UpdateSip(streams)) => relay.update_sip(&streams),
                Some(Control::Dtmf(key, ms)) => {
                    if let Err(why) = relay.send_dtmf(Instant::now(), key, ms) {
                        tracing::warn!(call = %call, %why, "DTMF not sent in-band");
                    }
                }
                None => break,
            },
        }
    }
    flush(&relay, &counters, &mut flushed);
    let x = relay.stats(MediaLeg::Xmpp);
    let s = relay.stats(MediaLeg::Sip);
    tracing::info!(
        call = %call,
        xmpp_in = x.packets_in, xmpp_out = x.packets_out, xmpp_lost = x.lost, xmpp_jitter_ms = x.jitter_ms,
        sip_in = s.packets_in, sip_out = s.packets_out, sip_lost = s.lost, sip_jitter_ms = s.jitter_ms,
        dropped = x.dropped + s.dropped,
        "media relay ended"
    );
    counters.sessions.fetch_sub(1, Ordering::Relaxed);
    let _ = ended.send(call);
}

/// The relay task's tick: counters go to `/metrics` at each.
const TICK: Duration = Duration::from_secs(1);

/// The stats reports of one relay: every `STATS_EVERY / TICK`-th tick, and
/// the packets each leg had received at the last report (jitter is sampled
/// only for a leg that received media since).
#[derive(Debug, Default)]
struct Reports {
    ticks: u64,
    last_in: [u64; 2],
}

impl Reports {
    /// The report due at this tick, if any.
    fn tick(&mut self, relay: &Relay) -> Option<MediaNotice> {
        self.ticks += 1;
        let every = (STATS_EVERY.as_secs() / TICK.as_secs()).max(1);
        self.ticks.is_multiple_of(every).then(|| relay.report())
    }

    /// Feeds `stox_media_jitter_ms` from a report: one sample per leg that
    /// received packets since the previous report (a silent leg's jitter is
    /// stale, and a leg that never received any has none).
    fn observe_jitter(&mut self, counters: &MediaCounters, notice: &MediaNotice) {
        let MediaNotice::Stats { xmpp, sip } = notice else {
            return;
        };
        for (i, (leg, stats)) in [(MediaLeg::Xmpp, xmpp), (MediaLeg::Sip, sip)]
            .into_iter()
            .enumerate()
        {
            if stats.packets_in > self.last_in[i] {
                counters.jitter(leg).observe(stats.jitter_ms);
                self.last_in[i] = stats.packets_in;
            }
        }
    }
}

/// What the relay has to tell the core, when it stopped by itself
/// (inactivity, a failed leg): its final counts first, then why, so that
/// the call still exists when the counts arrive and its `Ended` snapshot,
/// written as the core handles the notice, has them. Empty while it runs.
fn last_words(relay: &mut Relay) -> Vec<MediaNotice> {
    let why: Vec<MediaNotice> = std::iter::from_fn(|| relay.poll_notice()).collect();
    if why.is_empty() {
        return why;
    }
    std::iter::once(relay.report()).chain(why).collect()
}

type Snapshot = crate::media::engine::stats::LegStats;

fn flush(relay: &Relay, counters: &MediaCounters, last: &mut (Snapshot, Snapshot)) {
    let x = relay.stats(MediaLeg::Xmpp);
    let s = relay.stats(MediaLeg::Sip);
    // Loss can shrink (a late packet fills a gap): count only new highs, so
    // the counter never goes back and a gap filled late is not counted twice.
    counters
        .xmpp_lost
        .fetch_add(x.lost.saturating_sub(last.0.lost), Ordering::Relaxed);
    counters
        .sip_lost
        .fetch_add(s.lost.saturating_sub(last.1.lost), Ordering::Relaxed);
    let (x_lost, s_lost) = (x.lost.max(last.0.lost), s.lost.max(last.1.lost));
    counters
        .xmpp_in
        .fetch_add(x.packets_in - last.0.packets_in, Ordering::Relaxed);
    counters
        .xmpp_out
        .fetch_add(x.packets_out - last.0.packets_out, Ordering::Relaxed);
    counters
        .sip_in
        .fetch_add(s.packets_in - last.1.packets_in, Ordering::Relaxed);
    counters
        .sip_out
        .fetch_add(s.packets_out - last.1.packets_out, Ordering::Relaxed);
    counters.dropped.fetch_add(
        x.dropped + s.dropped - last.0.dropped - last.1.dropped,
        Ordering::Relaxed,
    );
    *last = (x, s);
    last.0.lost = x_lost;
    last.1.lost = s_lost;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::engine::dtls::Identity;
    use crate::media::engine::relay::tests::{plain_plan, rtp_packet};

    fn relay(now: Instant) -> Relay {
        Relay::new(plain_plan(), &Identity::generate().unwrap(), now).unwrap()
    }

    fn anchor(op: AnchorOp, from: MediaLeg, sdp: &str) -> AnchorRequest {
        AnchorRequest {
            call: "c-1".into(),
            op,
            from,
            sdp: sdp.into(),
            mode: MediaMode::Rtpengine,
            sip_srtp: SipSrtp::None,
        }
    }

    /// The XMPP side's set-up description is kept for re-negotiations; an
    /// `actpass` it offered is restated as the role it took, the opposite of
    /// rtpengine's answer.
    #[test]
    fn the_xmpp_side_is_remembered_with_its_settled_dtls_role() {
        let xmpp = XmppSides::default();
        let offer = "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=setup:actpass\r\n";
        remember(
            &xmpp,
            &anchor(AnchorOp::Offer, MediaLeg::Xmpp, offer),
            "to sip",
        );
        assert_eq!(
            sides(&xmpp)["c-1"].as_answer(),
            offer.replace("actpass", "passive")
        );
        remember(
            &xmpp,
            &anchor(AnchorOp::Answer, MediaLeg::Sip, "sip answer"),
            "m=audio 4000 UDP/TLS/RTP/SAVPF 0\r\na=setup:passive\r\n",
        );
        let side = sides(&xmpp)["c-1"].clone();
        assert_eq!(side.sdp, offer, "the offer itself is kept");
        assert_eq!(side.as_answer(), offer.replace("actpass", "active"));

        // Answering rtpengine's offer, the XMPP side chose its role itself.
        let answer = "a=setup:active\r\n";
        remember(
            &xmpp,
            &anchor(AnchorOp::Answer, MediaLeg::Xmpp, answer),
            "to sip",
        );
        assert_eq!(sides(&xmpp)["c-1"].as_answer(), answer);
    }

    /// A running relay reports every fifth tick (5 s) what it counted so far.
    #[test]
    fn a_running_relay_reports_every_fifth_tick() {
        let now = Instant::now();
        let mut r = relay(now);
        let mut reports = Reports::default();
        let sip = "198.51.100.7:4000".parse().unwrap();
        let mut got = Vec::new();
        for t in 1..=10u16 {
            r.handle_datagram(now, Port::SipRtp(0), sip, &rtp_packet(0, t, 9));
            if let Some(report) = reports.tick(&r) {
                got.push((t, report));
            }
        }
        let counted: Vec<(u16, u64)> = got
            .iter()
            .map(|(t, n)| match n {
                MediaNotice::Stats { sip, .. } => (*t, sip.packets_in),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(counted, [(5, 5), (10, 10)]);
        assert!(
            last_words(&mut r).is_empty(),
            "a running relay has no last words"
        );
    }

    /// A relay that stops by itself reports its final counts before why.
    #[test]
    fn a_relay_that_stops_by_itself_reports_first() {
        let now = Instant::now();
        let mut r = relay(now);
        let sip = "198.51.100.7:4000".parse().unwrap();
        r.handle_datagram(now, Port::SipRtp(0), sip, &rtp_packet(0, 1, 9));
        r.handle_datagram(now, Port::SipRtp(0), sip, &rtp_packet(0, 3, 9));
        r.handle_timeout(now + Duration::from_secs(11));
        let last = last_words(&mut r);
        assert_eq!(last.len(), 2, "{last:?}");
        match &last[0] {
            MediaNotice::Stats { sip, xmpp } => {
                assert_eq!((sip.packets_in, sip.lost, xmpp.packets_in), (2, 1, 0));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(last[1], MediaNotice::Inactive { .. }), "{last:?}");
    }

    /// Loss reaches `/metrics` as new highs only, and jitter is sampled for
    /// legs that received media since the last report.
    #[test]
    fn loss_and_jitter_reach_the_counters() {
        let now = Instant::now();
        let mut r = relay(now);
        let counters = MediaCounters::default();
        let mut flushed = (Snapshot::default(), Snapshot::default());
        let sip = "198.51.100.7:4000".parse().unwrap();
        for seq in [1u16, 4] {
            r.handle_datagram(now, Port::SipRtp(0), sip, &rtp_packet(0, seq, 9));
        }
        flush(&r, &counters, &mut flushed);
        assert_eq!(counters.sip_lost.load(Ordering::Relaxed), 2);
        // A late packet fills a gap (loss 2 → 1): the counter keeps 2, and
        // the next real gap adds to that high, not to 1.
        r.handle_datagram(now, Port::SipRtp(0), sip, &rtp_packet(0, 2, 9));
        flush(&r, &counters, &mut flushed);
        assert_eq!(counters.sip_lost.load(Ordering::Relaxed), 2);
        r.handle_datagram(now, Port::SipRtp(0), sip, &rtp_packet(0, 8, 9));
        flush(&r, &counters, &mut flushed);
        assert_eq!(counters.sip_lost.load(Ordering::Relaxed), 4);
        assert_eq!(counters.xmpp_lost.load(Ordering::Relaxed), 0);

        let mut reports = Reports::default();
        reports.observe_jitter(&counters, &r.report());
        reports.observe_jitter(&counters, &r.report());
        assert_eq!(
            counters.sip_jitter.snapshot().1,
            1,
            "no new packets, no sample"
        );
        assert_eq!(
            counters.xmpp_jitter.snapshot().1,
            0,
            "no packets, no jitter"
        );
    }
}
