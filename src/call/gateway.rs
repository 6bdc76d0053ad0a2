//! The B2BUA core: owns the transaction layer, the calls and their timers, and
//! dispatches inputs to the outbound (XMPP → SIP) and inbound (SIP → XMPP) flows.

use super::io::{CallEvent, Input, Output, PersistKind};
use super::model::{Call, CallDirection, CallEnd, Side};
use super::reasons;
use super::timers::TimerTable;
use crate::config::Config;
use crate::sip::message::{Request, Response, SipMessage, parse_message, response_for};
use crate::sip::peer::Peer;
use crate::sip::timers::SipTimers;
use crate::sip::transaction::{TransactionLayer, TxOutput};
use crate::xmpp::stanza::{self, Inbound};
use minidom::Element;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// What the core needs besides the TOML configuration.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// The validated configuration (routing, numbers, policy, call timers).
    pub config: Config,
    /// Trunk name → its located targets, best first (RFC 3263 location is
    /// the adapter's job; [`Input::TrunkTargets`] replaces a list).
    pub trunk_peers: HashMap<String, Vec<Peer>>,
    /// Our Via sent-by and Contact host:port.
    pub sent_by: String,
    /// The same toward TLS peers, whose Contact must name our TLS listener's
    /// port; `None` (no TLS listener) uses `sent_by`.
    pub sent_by_tls: Option<String>,
    /// Resource of the gateway's user JIDs.
    pub resource: String,
    /// RFC 3261 timer values.
    pub timers: SipTimers,
    /// User-Agent header value.
    pub user_agent: String,
    /// Quiet time after the last trickled candidate before the SDP is complete.
    pub trickle_quiet: Duration,
    /// How long an outbound JMI proposal may wait for its session-initiate.
    pub propose_timeout: Duration,
    /// Interval of OPTIONS pings to each trunk; `None` = no pings.
    pub trunk_ping: Option<Duration>,
}

/// Call-level timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum CallTimer {
    /// Outbound: proceed sent, no session-initiate arrived.
    ProposeExpiry,
    /// Enough candidates gathered (or the deadline passed): send the SDP.
    Gathered,
    /// Nobody answered: inbound, the XMPP user's devices; outbound, the SIP
    /// callee (RFC 3261 leaves this limit to the UA once a provisional
    /// stopped Timer B).
    RingTimeout,
    /// RFC 4028: time for us to refresh the session (or to retry a refresh
    /// that met glare).
    SessionRefresh,
    /// RFC 4028: the peer's refresh is overdue; the session is dead.
    SessionExpiry,
    /// RFC 3262: retransmit our reliable provisional (no PRACK yet).
    ReliableRetransmit,
    /// A SIP ICE restart waited long enough for the XMPP client (`trickle`).
    IceRestart,
    /// A blind transfer's target rang too long, or its transferor kept its
    /// dialog after the transfer (`call::transfer`).
    Transfer,
    /// RFC 3261 §14.1: our hold re-INVITE met glare; try again (`call::hold`).
    HoldRetry,
}

/// Why we sent an IQ, so its result or error can be acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IqPurpose {
    SessionInitiate,
    SessionAccept,
    Other,
}

/// The sans-IO gateway: feed [`Input`]s with the current time, drain [`Output`]s.
#[derive(Debug)]
pub struct Gateway {
    pub(crate) cfg: CoreConfig,
    pub(crate) tx: TransactionLayer,
    pub(crate) calls: HashMap<String, Call>,
    /// (user bare JID, sid) → call id.
    pub(crate) by_sid: HashMap<(String, String), String>,
    /// SIP Call-ID → call id.
    pub(crate) by_call_id: HashMap<String, String>,
    /// Client transaction branch → call id.
    pub(crate) by_branch: HashMap<String, String>,
    /// Our IQ id → (call id, purpose).
    pub(crate) iqs: HashMap<String, (String, IqPurpose)>,
    pub(crate) timers: TimerTable<(String, CallTimer)>,
    pub(crate) out: VecDeque<Output>,
    pub(crate) rng: StdRng,
    pub(crate) now: Instant,
    /// Users' devices and whether they speak JMI (from presence to our JIDs).
    pub(crate) presence: crate::xmpp::presence::PresenceBook,
    /// Per-source limits for SIP from addresses that are not a trunk's.
    pub(crate) untrusted: super::ratelimit::RateLimiter,
    /// Next OPTIONS ping per trunk.
    pub(crate) trunk_timers: TimerTable<String>,
    /// Branch of an outstanding ping → trunk and the target pinged.
    pub(crate) pings: HashMap<String, (String, Peer)>,
    /// Last known reachability per trunk.
    pub(crate) trunk_up: HashMap<String, bool>,
    /// Digest nonce counts per realm.
    pub(crate) nonces: crate::sip::digest::NonceCounter,
    /// Registrations with trunks, by trunk name.
    pub(crate) registrations: HashMap<String, super::register::Registration>,
    /// Next REGISTER per trunk.
    pub(crate) register_timers: TimerTable<String>,
    /// Branch of a REGISTER in flight → trunk.
    pub(crate) register_branches: HashMap<String, String>,
    /// When this gateway started (nonce ages are measured from it).
    pub(crate) started: Instant,
    /// Secret behind our digest nonces (per process).
    pub(crate) nonce_secret: [u8; 32],
    /// Highest nonce count accepted per nonce of ours (replay protection).
    pub(crate) inbound_nc: HashMap<String, u32>,
    /// In-dialog requests we sent (BYE, PRACK, refreshes), by branch.
    pub(crate) pending: HashMap<String, super::in_dialog::PendingRequest>,
    /// Per trunk: index of the target pings, REGISTERs and new calls use
    /// first, and how many targets failed in a row.
    pub(crate) trunk_live: HashMap<String, super::failover::Live>,
    /// Calls that ended while their offer was at the media anchor, oldest
    /// first: the late reply releases their media (`call::anchored`).
    pub(crate) orphans: VecDeque<(String, crate::media::anchor::MediaMode)>,
    /// Issue 7: XEP-0181 digits waiting for their SIP INFO, per call (`call::dtmf`).
    pub(crate) dtmf_queue: HashMap<String, VecDeque<(char, u32)>>,
}

impl Gateway {
    /// A gateway with no calls. `seed` makes tags, branches and ids reproducible in tests.
    pub fn new(cfg: CoreConfig, seed: u64, now: Instant) -> Self {
        let limit = super::ratelimit::RateLimit {
            per_second: f64::from(cfg.config.sip.untrusted_rate),
            burst: f64::from(cfg.config.sip.untrusted_burst),
        };
        let mut gateway = Gateway {
            tx: TransactionLayer::new(cfg.timers),
            cfg,
            calls: HashMap::new(),
            by_sid: HashMap::new(),
            by_call_id: HashMap::new(),
            by_branch: HashMap::new(),
            iqs: HashMap::new(),
            timers: TimerTable::default(),
            out: VecDeque::new(),
            rng: StdRng::seed_from_u64(seed),
            now,
            presence: Default::default(),
            untrusted: super::ratelimit::RateLimiter::new(limit, 65_536),
            trunk_timers: TimerTable::default(),
            pings: HashMap::new(),
            trunk_up: HashMap::new(),
            nonces: Default::default(),
            registrations: HashMap::new(),
            register_timers: TimerTable::default(),
            register_branches: HashMap::new(),
            pending: HashMap::new(),
            started: now,
            nonce_secret: [0; 32],
            inbound_nc: HashMap::new(),
            trunk_live: HashMap::new(),
            orphans: VecDeque::new(),
            dtmf_queue: HashMap::new(),
        };
        rand::RngCore::fill_bytes(&mut gateway.rng, &mut gateway.nonce_secret);
        gateway.schedule_pings();
        gateway.schedule_registrations();
        gateway
    }

    /// Calls in progress, by correlation id.
    pub fn calls(&self) -> impl Iterator<Item = &Call> {
        self.calls.values()
    }

    /// Number of calls in progress.
    pub fn active_calls(&self) -> usize {
        self.calls.len()
    }

    /// Number of live SIP transactions (client, server).
    pub fn transactions(&self) -> (usize, usize) {
        self.tx.len()
    }

    /// Handles one input at time `now`.
    pub fn handle_input(&mut self, input: Input, now: Instant) {
        self.now = now;
        match input {
            Input::Sip { from, bytes } => self.handle_sip_bytes(from, &bytes),
            Input::SipUnreachable { peer } => self.handle_unreachable(peer),
            Input::Stanza(stanza) => self.handle_stanza(stanza),
            Input::TrunkTargets { trunk, targets } => self.set_trunk_targets(&trunk, targets),
            Input::Timeout => self.handle_timeout(),
            Input::Restore { calls, how } => {
                self.restore_calls(calls, how);
            }
            Input::Anchored(reply) => self.anchor_replied(reply),
            Input::Media { call, notice } => self.media_notice(&call, notice),
        }
        self.drain_transactions();
    }

    /// The next output.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When [`Input::Timeout`] should next be fed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.tx.poll_timeout(),
            self.timers.next(),
            self.trunk_timers.next(),
            self.register_timers.next(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn handle_timeout(&mut self) {
        let now = self.now;
        self.tx.handle_timeout(now);
        self.drain_transactions();
        while let Some((call_id, timer)) = self.timers.pop_due(now) {
            self.call_timer(&call_id, timer);
            self.drain_transactions();
        }
        self.ping_due_trunks();
        self.register_due();
    }

    fn call_timer(&mut self, call_id: &str, timer: CallTimer) {
        match timer {
            CallTimer::ProposeExpiry => self.outbound_propose_expired(call_id),
            CallTimer::Gathered => self.gathered(call_id),
            CallTimer::RingTimeout => match self.calls.get(call_id).map(|c| c.direction) {
                Some(CallDirection::SipToXmpp) => self.inbound_ring_timeout(call_id),
                Some(CallDirection::XmppToSip) => self.outbound_ring_timeout(call_id),
                None => {}
            },
            CallTimer::SessionRefresh => self.send_refresh(call_id),
            CallTimer::SessionExpiry => self.session_expired(call_id),
            CallTimer::ReliableRetransmit => self.retransmit_reliable(call_id),
            CallTimer::IceRestart => self.ice_restart_timer(call_id),
            CallTimer::Transfer => self.transfer_timer(call_id),
            CallTimer::HoldRetry => self.hold_sync(call_id),
        }
    }

    fn gathered(&mut self, call_id: &str) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        match call.direction {
            CallDirection::XmppToSip => self.send_invite(call_id),
            CallDirection::SipToXmpp => self.send_answer(call_id),
        }
    }

    /// The trunk a source address belongs to: any of its located targets, or
    /// one of its `allow_from` ranges. `None` = an untrusted source.
    pub(crate) fn trunk_for_source(&self, ip: std::net::IpAddr) -> Option<String> {
        if let Some((name, _)) = self
            .cfg
            .trunk_peers
            .iter()
            .find(|(_, targets)| targets.iter().any(|p| p.addr.ip() == ip))
        {
            return Some(name.clone());
        }
        self.cfg
            .config
            .trunks
            .iter()
            .find(|t| t.allow_from.iter().any(|r| r.contains(ip)))
            .map(|t| t.name.clone())
    }

    /// Whether requests from `ip` skip the untrusted rate limit: a trunk's,
    /// unless the trunk authenticates its callers and `ip` is only in one of
    /// its ranges (then passwords could be guessed at line rate).
    fn exempt_from_rate_limit(&self, ip: std::net::IpAddr) -> bool {
        let Some(name) = self.trunk_for_source(ip) else {
            return false;
        };
        let challenged = self
            .cfg
            .config
            .trunks
            .iter()
            .any(|t| t.name == name && t.inbound_auth);
        !challenged
            || self
                .cfg
                .trunk_peers
                .get(&name)
                .is_some_and(|ts| ts.iter().any(|p| p.addr.ip() == ip))
    }

    fn handle_sip_bytes(&mut self, from: Peer, bytes: &[u8]) {
        let trusted = self.exempt_from_rate_limit(from.addr.ip());
        if !trusted && !self.untrusted.allow(from.addr.ip(), self.now) {
            tracing::debug!(peer = %from, "SIP from an untrusted source over its rate limit: dropped");
            self.event(CallEvent::Rejected {
                what: "sip-rate-limited",
            });
            return;
        }
        let message = match parse_message(bytes) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(peer = %from, error = %e, "malformed SIP message dropped");
                self.event(CallEvent::Rejected {
                    what: "sip-malformed",
                });
                self.answer_unparseable(from, bytes, &e.message);
                return;
            }
        };
        if let SipMessage::Request(request) = &message
            && let Err(e) = request.validate()
        {
            tracing::warn!(peer = %from, error = %e, method = %request.method, "invalid SIP request");
            self.event(CallEvent::Rejected {
                what: "sip-malformed",
            });
            if request.headers.get("Via").is_some() && request.method != crate::sip::Method::Ack {
                let mut response = response_for(request, 400, "Bad Request");
                response.reason = format!("Bad Request ({})", sanitize_phrase(&e.message));
                self.send_response_direct(from, response);
            }
            return;
        }
        self.tx.handle_message(message, from, self.now);
    }

    /// A message that does not parse can only be answered if its start line and
    /// Via survive; RFC 3261 §18.3 lets us drop it otherwise. We answer 400 (or
    /// 505 for a wrong version) when a lenient line scan finds the headers a
    /// response needs, so a broken peer learns why.
    fn answer_unparseable(&mut self, from: Peer, bytes: &[u8], why: &str) {
        let text = String::from_utf8_lossy(bytes);
        let mut lines = text.split(['\n']).map(|l| l.trim_end_matches('\r'));
        let Some(start) = lines.next() else { return };
        if start.starts_with("SIP/") || start.split(' ').count() < 3 {
            return;
        }
        let mut headers = crate::sip::message::Headers::default();
        for line in lines.take_while(|l| !l.is_empty()) {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let name = name.trim();
            let canonical = match name.to_ascii_lowercase().as_str() {
                "via" | "v" => "Via",
                "from" | "f" => "From",
                "to" | "t" => "To",
                "call-id" | "i" => "Call-ID",
                "cseq" => "CSeq",
                _ => continue,
            };
            headers.push(canonical, value.trim().to_string());
        }
        if ["Via", "From", "To", "Call-ID", "CSeq"]
            .iter()
            .any(|h| headers.get(h).is_none())
        {
            return;
        }
        if start.split(' ').next() == Some("ACK") {
            return;
        }
        let status = if why.contains("version") { 505 } else { 400 };
        let response = Response {
            status,
            reason: format!("{} ({})", reasons::phrase(status), sanitize_phrase(why)),
            headers,
            body: Vec::new(),
        };
        self.send_response_direct(from, response);
    }

    fn send_response_direct(&mut self, to: Peer, response: Response) {
        self.out.push_back(Output::SendSip {
            to,
            bytes: response.to_bytes(),
        });
    }

    fn handle_unreachable(&mut self, peer: Peer) {
        self.register_unreachable(peer);
        self.ping_unreachable(peer);
        let failed: Vec<String> = self
            .calls
            .values()
            .filter(|c| {
                c.direction == CallDirection::XmppToSip
                    && c.sip.peer == peer
                    && c.sip.dialog.is_none()
                    && c.sip.invite_branch.is_some()
            })
            .map(|c| c.id.clone())
            .collect();
        for id in failed {
            if let Some(branch) = self.calls[&id].sip.invite_branch.clone() {
                self.tx.forget_client(&branch);
                self.by_branch.remove(&branch);
            }
            tracing::warn!(call = %id, peer = %peer, "SIP peer unreachable");
            if self.outbound_target_failed(&id) {
                continue;
            }
            // No transport reached the peer (connection refused, reset): a
            // connectivity problem, not a 503 the far end sent.
            self.outbound_failed_with(&id, 503, "connectivity-error");
        }
    }

    /// Moves transaction-layer outputs into core outputs and dispatches TU events.
    pub(crate) fn drain_transactions(&mut self) {
        while let Some(o) = self.tx.poll_output() {
            match o {
                TxOutput::Transmit { peer, bytes } => {
                    self.out.push_back(Output::SendSip { to: peer, bytes })
                }
                TxOutput::Request { request, from, key } => self.sip_request(request, from, key),
                TxOutput::Response { response, branch } => {
                    if !self.ping_answered(&branch, &response)
                        && !self.register_answered(&branch, &response)
                        && !self.in_dialog_response(&branch, &response)
                        && !self.transfer_response(&branch, &response)
                    {
                        self.sip_response(response, &branch)
                    }
                }
                TxOutput::StrayResponse { response, from } => self.stray_2xx(response, from),
                TxOutput::Timeout { branch, method } => {
                    if !self.ping_timed_out(&branch)
                        && !self.register_timed_out(&branch)
                        && !self.in_dialog_timeout(&branch)
                        && !self.transfer_timed_out(&branch)
                    {
                        self.sip_timeout(&branch, method)
                    }
                }
                TxOutput::AckTimeout { call_id, .. } => self.ack_timeout(&call_id),
            }
        }
    }

    fn handle_stanza(&mut self, el: Element) {
        if el.name() == "presence" {
            if let Some(query) = self.presence.observe(&el) {
                let from = el
                    .attr("to")
                    .unwrap_or(&self.cfg.config.xmpp.domain)
                    .to_string();
                let iq = crate::xmpp::presence::PresenceBook::disco_iq(&query, &from);
                self.send_stanza(iq);
            }
            return;
        }
        if el.name() == "iq" && self.presence.learn(&el) {
            return;
        }
        if el.name() == "message" && el.attr("type") == Some("error") {
            self.bounced_message(&el);
            return;
        }
        if self.adhoc_command(&el) {
            return; // XEP-0050 `transfer` (`call::transfer_xmpp`)
        }
        match stanza::classify(&el) {
            Inbound::JingleSet {
                from,
                to,
                id,
                jingle,
            } => self.jingle_set(&from, &to, &id, &jingle),
            Inbound::IqResult { id, .. } => {
                self.iqs.remove(&id);
            }
            Inbound::IqError { id, condition, .. } => self.iq_error(&id, &condition),
            Inbound::Jmi {
                from,
                to,
                kind,
                sid,
                media,
                reason,
                ..
            } => self.jmi(&from, &to, kind, &sid, &media, reason.as_deref()),
            Inbound::Other => {}
        }
    }

    /// A JMI message of ours came back as an error (no such user, …): an
    /// unanswered inbound call gets the RFC 7247 final response at once.
    fn bounced_message(&mut self, el: &Element) {
        let Some(sid) = el
            .children()
            .find(|c| c.ns() == stanza::NS_JMI)
            .and_then(|c| c.attr("id"))
        else {
            return;
        };
        let Some(user) = el.attr("from") else { return };
        let key = (bare(user).to_string(), sid.to_string());
        let Some(call_id) = self.by_sid.get(&key).cloned() else {
            return;
        };
        let condition = el
            .children()
            .find(|c| c.name() == "error")
            .and_then(|e| e.children().find(|c| c.name() != "text"))
            .map(|c| c.name().to_string())
            .unwrap_or_else(|| "undefined-condition".into());
        let call = &self.calls[&call_id];
        if call.direction == CallDirection::SipToXmpp
            && call.state == super::model::CallState::Alerting
        {
            tracing::info!(call = %call_id, %condition, "JMI propose bounced");
            let status = reasons::status_for_stanza_error(&condition);
            self.inbound_refuse(&call_id, Side::Xmpp, status, None, None);
        }
    }

    fn iq_error(&mut self, id: &str, condition: &str) {
        let Some((call_id, purpose)) = self.iqs.remove(id) else {
            return;
        };
        if !self.calls.contains_key(&call_id) {
            return;
        }
        tracing::info!(call = %call_id, condition, ?purpose, "XMPP peer refused our IQ");
        match purpose {
            IqPurpose::SessionInitiate => {
                let status = reasons::status_for_stanza_error(condition);
                self.inbound_refuse(&call_id, Side::Xmpp, status, None, None);
            }
            IqPurpose::SessionAccept if self.early_accept_refused(&call_id) => {}
            IqPurpose::SessionAccept => {
                self.hangup_sip(&call_id);
                self.end_call(&call_id, Side::Xmpp, None);
            }
            IqPurpose::Other => {}
        }
    }

    // ---- helpers shared by both flows ----

    pub(crate) fn fresh(&mut self, bytes: usize) -> String {
        let mut s = String::with_capacity(bytes * 2);
        for _ in 0..bytes {
            let b: u8 = self.rng.random();
            s.push_str(&format!("{b:02x}"));
        }
        s
    }

    /// Our Via sent-by and Contact host:port toward `transport`.
    pub(crate) fn sent_by(&self, transport: crate::sip::peer::Transport) -> &str {
        match (transport, &self.cfg.sent_by_tls) {
            (crate::sip::peer::Transport::Tls, Some(tls)) => tls,
            _ => &self.cfg.sent_by,
        }
    }

    /// Our Contact URI for `user` toward `transport`: `;transport=tls` toward a
    /// TLS peer, so that its requests to us come back over TLS.
    pub(crate) fn our_contact(&self, user: &str, transport: crate::sip::peer::Transport) -> String {
        format!(
            "sip:{user}@{};transport={}",
            self.sent_by(transport),
            transport.uri_param()
        )
    }

    /// Our top Via for a request toward `transport` (always asking for rport,
    /// RFC 3581, so responses find us behind NAT).
    pub(crate) fn our_via(&self, transport: crate::sip::peer::Transport, branch: &str) -> String {
        format!(
            "SIP/2.0/{} {};branch={branch};rport",
            transport.via_token(),
            self.sent_by(transport)
        )
    }

    /// The headers every out-of-dialog request we originate starts with
    /// (RFC 3261 §8.1.1): Via, Max-Forwards, From (with tag), To, Call-ID, CSeq.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn request_headers(
        &self,
        transport: crate::sip::peer::Transport,
        branch: &str,
        from: &str,
        tag: &str,
        to: &str,
        call_id: &str,
        cseq: &str,
    ) -> crate::sip::message::Headers {
        let mut headers = crate::sip::message::Headers::default();
        headers.push("Via", self.our_via(transport, branch));
        headers.push("Max-Forwards", "70");
        headers.push("From", format!("<{from}>;tag={tag}"));
        headers.push("To", format!("<{to}>"));
        headers.push("Call-ID", call_id.to_string());
        headers.push("CSeq", cseq.to_string());
        headers
    }

    pub(crate) fn branch(&mut self) -> String {
        format!("z9hG4bK{}", self.fresh(8))
    }

    pub(crate) fn event(&mut self, e: CallEvent) {
        self.out.push_back(Output::Event(e));
    }

    pub(crate) fn persist(&mut self, call_id: &str, kind: PersistKind) {
        if let Some(call) = self.calls.get(call_id) {
            self.out.push_back(Output::Persist {
                kind,
                call: Box::new(call.clone()),
            });
        }
    }

    pub(crate) fn send_stanza(&mut self, el: Element) {
        self.out.push_back(Output::SendStanza(el));
    }

    /// Sends an IQ set for a call and remembers why; returns its id (in
    /// `iqs` until the answer comes).
    pub(crate) fn send_iq(
        &mut self,
        call_id: &str,
        from: &str,
        to: &str,
        payload: Element,
        purpose: IqPurpose,
    ) -> String {
        let id = format!(
            "{}{}",
            super::ownership::iq_prefix(self.instance()),
            self.fresh(6)
        );
        self.iqs.insert(id.clone(), (call_id.to_string(), purpose));
        self.send_stanza(stanza::iq_set(from, to, &id, payload));
        id
    }

    /// Removes a call and everything that points at it; emits the final events.
    ///
    /// `by` is the side whose action ended it (unless an earlier hang-up
    /// already said, see [`Call::hangup_by`]); `status` is the SIP status that
    /// describes the end, sent or received (`None` for a BYE).
    pub(crate) fn end_call(&mut self, call_id: &str, by: Side, status: Option<u16>) {
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        call.ended = Some(CallEnd {
            by: call.hangup_by.unwrap_or(by),
            sip_status: status,
            jingle_reason: call.jingle_reason.clone(),
        });
        let direction = call.direction;
        let answered = call.answered_at.is_some();
        let failed_status = status;
        self.persist(call_id, PersistKind::Ended);
        let call = self.calls.remove(call_id).expect("checked above");
        self.by_sid
            .remove(&(bare(&call.xmpp.user).to_string(), call.xmpp.sid.clone()));
        self.by_call_id.remove(&call.sip.call_id);
        if let Some(b) = &call.sip.invite_branch {
            self.by_branch.remove(b);
        }
        self.forget_transfer(&call);
        for t in [
            CallTimer::ProposeExpiry,
            CallTimer::Gathered,
            CallTimer::RingTimeout,
            CallTimer::SessionRefresh,
            CallTimer::SessionExpiry,
            CallTimer::ReliableRetransmit,
            CallTimer::IceRestart,
            CallTimer::Transfer,
            CallTimer::HoldRetry,
        ] {
            self.timers.cancel(&(call_id.to_string(), t));
        }
        self.iqs.retain(|_, (c, _)| c != call_id);
        if let Some(media) = &call.media {
            self.release_media(call_id, media);
        }
        if answered {
            self.event(CallEvent::Ended(direction));
        } else {
            self.event(CallEvent::Failed {
                direction,
                status: failed_status.unwrap_or(487),
            });
        }
    }

    pub(crate) fn mark_answered(&mut self, call_id: &str) {
        let now = self.now;
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        call.answered_at = Some(now);
        let ring = (call.id.clone(), CallTimer::RingTimeout);
        call.state = super::model::CallState::Active;
        let setup = now.saturating_duration_since(call.created_at.unwrap_or(now));
        let direction = call.direction;
        self.timers.cancel(&ring);
        self.persist(call_id, PersistKind::Answered);
        self.event(CallEvent::Answered { direction, setup });
        self.arm_session_timer(call_id);
        // Candidates trickled meanwhile may go now (RFC 8840 INFO).
        self.trickle_pump(call_id);
        self.hold_on_answer(call_id);
    }

    /// Hangs up the SIP leg of an answered call with BYE (tracked, so a
    /// challenged BYE is re-sent with credentials).
    pub(crate) fn hangup_sip(&mut self, call_id: &str) {
        self.send_in_dialog_with(
            call_id,
            crate::sip::Method::Bye,
            super::in_dialog::Purpose::Bye,
            |_| {},
        );
    }

    /// A Jingle `<jingle action='session-terminate'>` with a reason.
    pub(crate) fn terminate_payload(sid: &str, reason: &str, text: Option<&str>) -> Element {
        let mut reason_el = stanza::el("reason", NS_JINGLE);
        reason_el.append_child(stanza::el(reason, NS_JINGLE));
        if let Some(text) = text {
            let mut t = stanza::el("text", NS_JINGLE);
            t.append_text(text);
            reason_el.append_child(t);
        }
        let mut jingle = stanza::el("jingle", NS_JINGLE);
        stanza::set(&mut jingle, "action", "session-terminate");
        stanza::set(&mut jingle, "sid", sid);
        jingle.append_child(reason_el);
        jingle
    }

    /// Sends session-terminate to the call's XMPP user.
    pub(crate) fn terminate_xmpp(&mut self, call_id: &str, reason: &str, text: Option<&str>) {
        self.note_jingle_reason(call_id, reason);
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        let (from, to) = (call.xmpp.gateway.clone(), call.xmpp.user.clone());
        let payload = Self::terminate_payload(&call.xmpp.sid, reason, text);
        self.send_iq(call_id, &from, &to, payload, IqPurpose::Other);
    }

    /// Remembers the first Jingle reason about a call's end (for the CDR).
    pub(crate) fn note_jingle_reason(&mut self, call_id: &str, reason: &str) {
        if let Some(call) = self.calls.get_mut(call_id) {
            call.jingle_reason.get_or_insert_with(|| reason.to_string());
        }
    }

    /// Remembers which side started a hang-up that completes later.
    pub(crate) fn note_hangup_by(&mut self, call_id: &str, by: Side) {
        if let Some(call) = self.calls.get_mut(call_id) {
            call.hangup_by.get_or_insert(by);
        }
    }

    /// Answers a server transaction.
    pub(crate) fn respond(&mut self, key: &crate::sip::transaction::ServerKey, response: Response) {
        self.tx.respond(key, response, self.now);
    }

    pub(crate) fn sip_request(
        &mut self,
        request: Request,
        from: Peer,
        key: Option<crate::sip::transaction::ServerKey>,
    ) {
        self.route_sip_request(request, from, key);
    }

    /// This instance's name (`[database] instance`), which our IQ ids carry
    /// so that a reply routed to another instance finds its way back.
    pub(crate) fn instance(&self) -> &str {
        &self.cfg.config.database.instance
    }

    /// The full JID of the gateway-side user for a localpart.
    pub(crate) fn gateway_jid(&self, localpart: &str) -> String {
        format!(
            "{}@{}/{}",
            localpart, self.cfg.config.xmpp.domain, self.cfg.resource
        )
    }
}

/// XEP-0166 namespace.
pub(crate) const NS_JINGLE: &str = "urn:xmpp:jingle:1";

/// The bare part of a JID.
pub(crate) fn bare(jid: &str) -> &str {
    jid.split('/').next().unwrap_or(jid)
}

/// The localpart of a JID (empty for a domain JID).
pub(crate) fn localpart(jid: &str) -> &str {
    let b = bare(jid);
    b.split_once('@').map(|(l, _)| l).unwrap_or("")
}

/// A parse error message made safe for a reason phrase (no CR/LF, bounded).
fn sanitize_phrase(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(80).collect()
}
