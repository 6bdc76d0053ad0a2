//! SIP → XMPP: INVITE → JMI propose to the bare JID; ringing → 180; proceed →
//! session-initiate to that device; session-accept → 200; CANCEL → retract;
//! reject → 486/603; no answer → 480; answered elsewhere → finish to the others.
//! Also every other SIP request the gateway receives (BYE, ACK, OPTIONS, …).

use super::gateway::{CallTimer, Gateway, IqPurpose, bare};
use super::io::{CallEvent, Output, PersistKind};
use super::model::{Call, CallDirection, CallState, Side, SipLeg, XmppLeg};
use super::outbound::{ALLOW, xml_to_element};
use super::reasons;
use crate::jingle::{Jingle, jingle_element};
use crate::media::anchor::{AnchorOp, MediaLeg};
use crate::routing::route_inbound;
use crate::sip::dialog::Dialog;
use crate::sip::header::NameAddr;
use crate::sip::message::{Method, Request, Response, response_for};
use crate::sip::peer::Peer;
use crate::sip::transaction::ServerKey;
use crate::sip::uri::SipUri;
use crate::translate::{Role, SdpOrigin, jingle_to_sdp, sdp_to_jingle};
use crate::xmpp::presence::RingPlan;
use crate::xmpp::stanza::{self, JmiKind};

impl Gateway {
    pub(crate) fn route_sip_request(
        &mut self,
        request: Request,
        from: Peer,
        key: Option<ServerKey>,
    ) {
        let to_tag = request
            .headers
            .get("To")
            .and_then(|v| NameAddr::parse(v).ok())
            .and_then(|n| n.tag().map(str::to_string));
        let call_id = request
            .headers
            .get("Call-ID")
            .and_then(|c| self.by_call_id.get(c).cloned());
        if let Some(key) = &key
            && !matches!(request.method, Method::Ack | Method::Cancel)
            && self.refuse_per_rfc3261_8_2(&request, key)
        {
            return;
        }
        match (&request.method, key) {
            (Method::Ack, _) => {
                if let Some(id) = call_id
                    && self.calls.get(&id).map(|c| c.state) == Some(CallState::Accepted)
                    && self.late_offer_ack(&id, &request)
                {
                    self.mark_answered(&id);
                }
            }
            (Method::Invite, Some(key)) if to_tag.is_none() => {
                if call_id.is_some() || self.looped_call(&request).is_some() {
                    // Same Call-ID, new transaction, no To tag: a merged
                    // request (RFC 3261 §8.2.2.2) or a loop; or our own
                    // call back through a B2BUA (`call::loops`).
                    tracing::info!(call_id = ?call_id, "INVITE loops back to us: 482");
                    self.reply(&key, &request, 482, None);
                } else {
                    self.inbound_invite(request, from, key);
                }
            }
            (Method::Cancel, Some(key)) => self.inbound_cancel(&request, &key),
            (Method::Prack, Some(key)) => self.inbound_prack(&request, &key, call_id.as_deref()),
            (Method::Options, Some(key)) if to_tag.is_none() => {
                let mut r = self.response(&request, 200, None);
                r.headers.push("Allow", ALLOW);
                r.headers.push("Accept", "application/sdp");
                self.respond(&key, r);
            }
            (_, Some(key)) if to_tag.is_some() => self.in_dialog(request, key, call_id),
            (Method::Bye, Some(key)) => self.reply(&key, &request, 481, None),
            (_, Some(key)) => {
                let mut r = self.response(&request, 405, None);
                r.headers.push("Allow", ALLOW);
                self.respond(&key, r);
            }
            (_, None) => {}
        }
    }

    /// The UAS checks of RFC 3261 §8.2.2 that do not depend on the call:
    /// a Request-URI scheme we cannot serve (416) and `Require`d extensions
    /// we do not support (420 with `Unsupported`; we support `100rel` and
    /// `timer`).
    /// Returns true when it answered.
    fn refuse_per_rfc3261_8_2(&mut self, request: &Request, key: &ServerKey) -> bool {
        let scheme = request
            .uri
            .split_once(':')
            .map(|(s, _)| s.to_ascii_lowercase())
            .unwrap_or_default();
        if !matches!(scheme.as_str(), "sip" | "sips" | "tel") {
            self.reply(key, request, 416, None);
            return true;
        }
        let required: Vec<String> = request
            .headers
            .values("Require")
            .into_iter()
            .filter(|v| {
                !v.is_empty()
                    && !v.eq_ignore_ascii_case("100rel")
                    && !v.eq_ignore_ascii_case("timer")
            })
            .collect();
        if !required.is_empty() {
            let mut r = self.response(request, 420, None);
            r.headers.push("Unsupported", required.join(", "));
            self.respond(key, r);
            return true;
        }
        false
    }

    fn in_dialog(&mut self, request: Request, key: ServerKey, call_id: Option<String>) {
        let Some(id) = call_id.filter(|id| self.calls.contains_key(id)) else {
            self.reply(&key, &request, 481, None);
            return;
        };
        if self.transfer_request(&id, &request, &key) {
            return; // the transferor's dialog (`call::transfer`)
        }
        let cseq = request.headers.cseq().map(|c| c.seq).unwrap_or_default();
        let call = self.calls.get_mut(&id).expect("checked");
        let to_tag = request
            .headers
            .get("To")
            .and_then(|v| NameAddr::parse(v).ok())
            .and_then(|n| n.tag().map(str::to_string));
        if call.sip.dialog.is_none()
            && request.method == Method::Update
            && to_tag.as_deref() == Some(call.sip.local_tag.as_str())
        {
            // UPDATE in the early dialog (RFC 3311 §5.1): the dialog exists,
            // so never 481. A refresh is fine; a new offer before the answer
            // would change media the XMPP user has not accepted yet, and the
            // Jingle session has no early offer/answer to carry it: 488.
            let status = if request.body.is_empty() { 200 } else { 488 };
            self.reply(&key, &request, status, None);
            return;
        }
        let Some(dialog) = call.sip.dialog.as_mut() else {
            self.reply(&key, &request, 481, None);
            return;
        };
        // RFC 3261 §12.2.2: the dialog is Call-ID and both tags; a request
        // from another fork (or a forged one) does not touch this call.
        let tag_of = |name: &str| {
            request
                .headers
                .get(name)
                .and_then(|v| NameAddr::parse(v).ok())
                .and_then(|n| n.tag().map(str::to_string))
        };
        let ours = tag_of("To").as_deref() == Some(dialog.local_tag.as_str());
        let theirs = dialog.remote_tag.is_none() || tag_of("From") == dialog.remote_tag;
        if !(ours && theirs) {
            self.reply(&key, &request, 481, None);
            return;
        }
        if !dialog.accept_remote_cseq(cseq) {
            self.reply(&key, &request, 500, None);
            return;
        }
        match request.method {
            Method::Bye => {
                tracing::info!(call = %id, "BYE from SIP");
                self.reply(&key, &request, 200, None);
                self.terminate_xmpp(&id, "success", None);
                self.end_call(&id, Side::Sip, None);
            }
            Method::Invite | Method::Update => self.peer_refresh(&id, &request, &key),
            Method::Options => self.reply(&key, &request, 200, None),
            Method::Info => self.inbound_info(&id, &request, &key),
            Method::Refer => self.inbound_refer(&id, &request, &key),
            Method::Notify => self.inbound_notify(&id, &request, &key),
            _ => {
                tracing::info!(call = %id, method = %request.method, "in-dialog request not supported");
                let mut r = self.response(&request, 501, None);
                r.headers.push("Allow", ALLOW);
                self.respond(&key, r);
            }
        }
    }

    /// A re-INVITE or UPDATE from the peer: glare gets 491 (RFC 3261
    /// §14.2); otherwise the session timer restarts and the answer is our
    /// last SDP with the RFC 3264 §6.1 directions; a hold or its end is
    /// told to the user (`call::hold`).
    fn peer_refresh(&mut self, id: &str, request: &Request, key: &ServerKey) {
        if self.glare(id, request) {
            tracing::info!(call = %id, method = %request.method, "glare with our own refresh: 491");
            self.reply(key, request, 491, None);
            return;
        }
        let plan = match self.plan_reoffer(id, request) {
            Ok(plan) => plan,
            Err(why) => {
                tracing::info!(call = %id, method = %request.method, %why, "SIP re-offer refused");
                let mut r = self.response(request, 488, None);
                r.headers
                    .push("Warning", format!("399 stox \"{}\"", warning_text(&why)));
                self.respond(key, r);
                return;
            }
        };
        let extra = match self.refreshed_by_peer(id, request) {
            Ok(h) => h,
            Err(min_se) => {
                let mut r = self.response(request, 422, None);
                r.headers.push("Min-SE", min_se.to_string());
                self.respond(key, r);
                return;
            }
        };
        if !request.body.is_empty() {
            tracing::info!(call = %id, method = %request.method, "SIP re-offer");
            // The anchor follows a moved address or a hold at once.
            if let Some(mode) = self
                .calls
                .get(id)
                .and_then(|c| c.media.as_ref())
                .map(|m| m.mode)
            {
                self.out.push_back(Output::MediaUpdate {
                    call: id.to_string(),
                    leg: MediaLeg::Sip,
                    sdp: String::from_utf8_lossy(&request.body).into_owned(),
                    offer: true,
                    mode,
                });
            }
        }
        // A target refresh (RFC 3261 §12.2.2, RFC 3311 §5.2): a moved peer
        // (SBC fail-over, new NAT binding) gets our next requests.
        if let Some(contact) = request
            .headers
            .values("Contact")
            .first()
            .and_then(|c| NameAddr::parse(c).ok())
            && let Some(d) = self.calls.get_mut(id).and_then(|c| c.sip.dialog.as_mut())
            && d.remote_target != contact.uri
        {
            d.remote_target = contact.uri;
            self.persist(id, PersistKind::Modified);
        }
        if self.sip_ice_restart(id, request, key, &extra) {
            return; // answered when the XMPP client restarts too (`trickle`)
        }
        // UPDATE without an offer gets no answer; a re-INVITE without one
        // gets our SDP as the offer (RFC 3261 §14.2, RFC 3311 §5.2).
        let sdp = self.apply_reoffer(id, plan);
        let call = &self.calls[id];
        let mut r = self.response(request, 200, None);
        let local_tag = call.sip.local_tag.clone();
        set_to_tag(&mut r, &local_tag);
        self.add_contact(&mut r, id);
        r.headers.push("Supported", super::session_timer::SUPPORTED);
        for h in extra.iter() {
            r.headers.push(&h.name, h.value.clone());
        }
        if let Some(sdp) = sdp {
            r.headers.push("Content-Type", "application/sdp");
            r.body = sdp.into_bytes();
        }
        self.respond(key, r);
    }

    pub(crate) fn response(
        &self,
        request: &Request,
        status: u16,
        to_tag: Option<&str>,
    ) -> Response {
        let mut r = response_for(request, status, reasons::phrase(status));
        if let Some(tag) = to_tag {
            set_to_tag(&mut r, tag);
        }
        // RFC 3261 §12.1.1: a response that can create a dialog carries the
        // request's Record-Route, so the caller's ACK and BYE go through the
        // same proxies (Kamailio's loose_route() refuses them otherwise).
        if request.method == Method::Invite && (101..300).contains(&status) {
            for rr in request.headers.get_all("Record-Route") {
                r.headers.push("Record-Route", rr.to_string());
            }
        }
        r.headers.push("User-Agent", self.cfg.user_agent.clone());
        r
    }

    pub(crate) fn reply(
        &mut self,
        key: &ServerKey,
        request: &Request,
        status: u16,
        to_tag: Option<&str>,
    ) {
        let r = self.response(request, status, to_tag);
        self.respond(key, r);
    }

    fn add_contact(&self, response: &mut Response, call_id: &str) {
        let transport = self
            .calls
            .get(call_id)
            .map_or(crate::sip::peer::Transport::Udp, |c| c.sip.peer.transport);
        response.headers.push(
            "Contact",
            format!("<{}>", self.our_contact("stox", transport)),
        );
    }

    fn inbound_invite(&mut self, request: Request, from: Peer, key: ServerKey) {
        let local_tag = self.fresh(6);
        // Inbound SIP only from configured peers (no open relay): the source
        // address must be one of a trunk's.
        let trunk = self.trunk_for_source(from.addr.ip());
        if trunk.is_none() {
            tracing::warn!(peer = %from, "INVITE from an unconfigured source refused");
            self.event(CallEvent::Rejected {
                what: "sip-unknown-source",
            });
            self.reply(&key, &request, 403, Some(&local_tag));
            return;
        }
        let trunk_cfg = trunk
            .as_ref()
            .and_then(|n| self.cfg.config.trunks.iter().find(|t| &t.name == n))
            .filter(|t| t.inbound_auth)
            .cloned();
        if let Some(t) = trunk_cfg {
            match self.check_inbound_auth(&request, &t) {
                super::inbound_auth::InboundAuth::Accepted => {}
                super::inbound_auth::InboundAuth::Challenge(values) => {
                    let mut r = self.response(&request, 401, Some(&local_tag));
                    for v in values {
                        r.headers.push("WWW-Authenticate", v);
                    }
                    self.respond(&key, r);
                    return;
                }
                super::inbound_auth::InboundAuth::Refused => {
                    self.event(CallEvent::Rejected {
                        what: "sip-bad-credentials",
                    });
                    self.reply(&key, &request, 403, Some(&local_tag));
                    return;
                }
            }
        }
        if request
            .headers
            .get("Max-Forwards")
            .and_then(|v| v.trim().parse::<u32>().ok())
            == Some(0)
        {
            self.reply(&key, &request, 483, Some(&local_tag));
            return;
        }
        let request_user = SipUri::parse(&request.uri).ok().and_then(|u| u.user);
        let to_user = request
            .headers
            .get("To")
            .and_then(|v| NameAddr::parse(v).ok())
            .and_then(|n| SipUri::parse(&n.uri).ok())
            .and_then(|u| u.user);
        let Some(callee) = route_inbound(
            &self.cfg.config,
            request_user.as_deref(),
            to_user.as_deref(),
        ) else {
            tracing::info!(peer = %from, uri = %request.uri, "INVITE for an unknown number");
            self.event(CallEvent::Failed {
                direction: CallDirection::SipToXmpp,
                status: 404,
            });
            self.reply(&key, &request, 404, Some(&local_tag));
            return;
        };
        if let super::session_timer::UasTimer::TooSmall(min_se) =
            super::session_timer::negotiate_uas(&request, self.cfg.config.sip.session_expires_secs)
        {
            // RFC 4028 §8.1: too short a session interval.
            let mut r = self.response(&request, 422, Some(&local_tag));
            r.headers.push("Min-SE", min_se.to_string());
            self.respond(&key, r);
            return;
        }
        let content_type = request.headers.get("Content-Type").map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
        if !request.body.is_empty()
            && content_type
                .as_deref()
                .is_some_and(|t| t != "application/sdp")
        {
            // RFC 3261 §8.2.3: a body we cannot read gets 415 with Accept.
            let mut r = self.response(&request, 415, Some(&local_tag));
            r.headers.push("Accept", "application/sdp");
            self.respond(&key, r);
            return;
        }
        let body = if request.body.is_empty() {
            // Delayed offer: the anchor offers for us (`call::late_offer`).
            match self.late_offer(trunk.as_deref(), &request, &key, &local_tag) {
                Some(sdp) => sdp,
                None => return,
            }
        } else {
            String::from_utf8_lossy(&request.body).to_string()
        };
        // Translated even when anchored: an offer we cannot read is refused
        // (400/488) before the anchor allocates anything for it.
        let offer = match sdp_to_jingle(&body, Role::Initiator) {
            Ok(t) => t.value,
            Err(e) => {
                tracing::info!(peer = %from, error = %e, "unusable SDP offer");
                let status = e.sip_status().0;
                self.event(CallEvent::Failed {
                    direction: CallDirection::SipToXmpp,
                    status,
                });
                let mut r = self.response(&request, status, Some(&local_tag));
                r.headers.push(
                    "Warning",
                    format!("399 stox \"{}\"", warning_text(&e.to_string())),
                );
                self.respond(&key, r);
                return;
            }
        };
        let caller = request
            .headers
            .get("From")
            .and_then(|v| NameAddr::parse(v).ok())
            .and_then(|n| SipUri::parse(&n.uri).ok());
        let caller_local = caller
            .as_ref()
            .map(|u| crate::address::sip_caller_to_jid_localpart(u.user.as_deref(), &u.host))
            .unwrap_or_else(|| "anonymous".to_string());
        let our = self.gateway_jid(&caller_local);
        let call_id = self.new_call_id();
        let sid = self.fresh(8);
        let sip_call_id = request
            .headers
            .get("Call-ID")
            .unwrap_or_default()
            .to_string();
        let anchor = self.anchor_for(trunk.as_deref());
        let call = Call {
            id: call_id.clone(),
            direction: CallDirection::SipToXmpp,
            state: CallState::Alerting,
            xmpp: XmppLeg {
                sid: sid.clone(),
                user: callee.clone(),
                gateway: our.clone(),
                jmi: true,
                ringing: Vec::new(),
                initiated: false,
                // Anchored: the anchor's offer, when it comes (the
                // caller's own never reaches XMPP).
                media: anchor.is_none().then_some(offer),
            },
            sip: SipLeg {
                call_id: sip_call_id.clone(),
                local_tag: local_tag.clone(),
                invite: Some(request.clone()),
                server_key: Some(key.clone()),
                ..SipLeg::new(from)
            },
            trunk,
            created_at: Some(self.now),
            answered_at: None,
            cancel_pending: false,
            ended: None,
            hangup_by: None,
            jingle_reason: None,
            media: None,
        };
        self.calls.insert(call_id.clone(), call);
        self.by_sid
            .insert((callee.clone(), sid.clone()), call_id.clone());
        self.by_call_id.insert(sip_call_id, call_id.clone());
        self.event(CallEvent::Attempted(CallDirection::SipToXmpp));
        self.reply(&key, &request, 100, None);
        if anchor.is_some() {
            // The XMPP side hears of the call once the anchor has its offer;
            // the caller's CANCEL and the ring timeout work meanwhile.
            let ring = std::time::Duration::from_secs(self.cfg.config.calls.ring_timeout_secs);
            self.timers
                .set((call_id.clone(), CallTimer::RingTimeout), self.now + ring);
            self.ask_anchor(&call_id, anchor, AnchorOp::Offer, MediaLeg::Sip, body);
            return;
        }
        self.inbound_ring(&call_id);
    }

    /// The anchor's offer for the XMPP side: it replaces the caller's, and
    /// the call rings.
    pub(crate) fn inbound_offer_anchored(&mut self, call_id: &str, sdp: &str) {
        let offer = match sdp_to_jingle(sdp, Role::Initiator) {
            Ok(t) => t.value,
            Err(e) => {
                tracing::warn!(call = %call_id, error = %e, "cannot translate the anchor's offer");
                let status = e.sip_status().0;
                self.inbound_refuse(call_id, Side::Gateway, status, None, Some(&e.to_string()));
                return;
            }
        };
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        call.xmpp.media = Some(offer);
        self.inbound_ring(call_id);
    }

    /// Rings the callee with the call's offer: a JMI propose to the bare
    /// JID, or a session-initiate straight to a device without JMI.
    fn inbound_ring(&mut self, call_id: &str) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        let (our, callee, sid, from) = (
            call.xmpp.gateway.clone(),
            call.xmpp.user.clone(),
            call.xmpp.sid.clone(),
            call.sip.peer,
        );
        let media: Vec<String> = call
            .xmpp
            .media
            .iter()
            .flat_map(|m| &m.contents)
            .filter_map(|c| match &c.description {
                Some(crate::jingle::Description::Rtp(d)) => Some(d.media.clone()),
                _ => None,
            })
            .collect();
        let call_id = call_id.to_string();
        match self.presence.ring_plan(&callee) {
            RingPlan::Propose => {
                tracing::info!(call = %call_id, peer = %from, callee = %callee, "inbound INVITE: proposing");
                let media_refs: Vec<&str> = media.iter().map(String::as_str).collect();
                self.send_stanza(stanza::jmi_message(
                    &our,
                    &callee,
                    JmiKind::Propose,
                    &sid,
                    &media_refs,
                    None,
                ));
            }
            RingPlan::Direct(device) => {
                // Every device we know of speaks Jingle but not XEP-0353:
                // session-initiate to the best one; it rings with session-info.
                tracing::info!(call = %call_id, peer = %from, device = %device, "inbound INVITE: direct session-initiate (no JMI device)");
                let call = self.calls.get_mut(&call_id).expect("inserted above");
                call.xmpp.jmi = false;
                self.inbound_proceed(&call_id, &device);
            }
        }
        self.persist(&call_id, PersistKind::Created);
        let key = (call_id, CallTimer::RingTimeout);
        if self.timers.get(&key).is_none() {
            // (An anchored call's rings from its INVITE on.)
            let ring = std::time::Duration::from_secs(self.cfg.config.calls.ring_timeout_secs);
            self.timers.set(key, self.now + ring);
        }
    }

    pub(crate) fn invite_and_key(&self, call_id: &str) -> Option<(Request, ServerKey, String)> {
        let call = self.calls.get(call_id)?;
        Some((
            call.sip.invite.clone()?,
            call.sip.server_key.clone()?,
            call.sip.local_tag.clone(),
        ))
    }

    pub(crate) fn inbound_ringing(&mut self, call_id: &str, from: &str) {
        let call = self.calls.get_mut(call_id).expect("caller checked");
        let direct_ringing = !call.xmpp.jmi && call.state == CallState::Initiating;
        if call.direction != CallDirection::SipToXmpp
            || !(call.state == CallState::Alerting || direct_ringing)
        {
            return;
        }
        if !call.xmpp.ringing.iter().any(|r| r == from) {
            call.xmpp.ringing.push(from.to_string());
        }
        if call.sip.provisional {
            return;
        }
        call.sip.provisional = true;
        if let Some((invite, key, tag)) = self.invite_and_key(call_id) {
            let mut r = self.response(&invite, 180, Some(&tag));
            self.add_contact(&mut r, call_id);
            self.send_provisional(call_id, &key, r, &invite);
        }
    }

    pub(crate) fn inbound_proceed(&mut self, call_id: &str, from: &str) {
        let call = self.calls.get_mut(call_id).expect("caller checked");
        if call.direction != CallDirection::SipToXmpp || call.state != CallState::Alerting {
            return;
        }
        call.state = CallState::Initiating;
        call.xmpp.user = from.to_string();
        call.xmpp.initiated = true;
        let others: Vec<String> = call
            .xmpp
            .ringing
            .iter()
            .filter(|r| r.as_str() != from)
            .cloned()
            .collect();
        let (our, sid) = (call.xmpp.gateway.clone(), call.xmpp.sid.clone());
        let mut offer = call.xmpp.media.take().unwrap_or_default();
        offer.action = Some("session-initiate".into());
        offer.sid = Some(sid.clone());
        offer.initiator = Some(our.clone());
        offer.responder = None;
        for other in others {
            self.send_stanza(stanza::jmi_message(
                &our,
                &other,
                JmiKind::Finish,
                &sid,
                &[],
                Some(("cancel", Some("answered on another device"))),
            ));
        }
        tracing::info!(call = %call_id, device = from, "device proceeded: session-initiate");
        let payload = xml_to_element(&jingle_element(&offer).to_compact_string());
        self.send_iq(call_id, &our, from, payload, IqPurpose::SessionInitiate);
        if self.calls[call_id].xmpp.jmi {
            // A restart must know that this device has a Jingle session to
            // terminate (a direct call is stored with it at creation).
            self.persist(call_id, PersistKind::Modified);
        }
    }

    pub(crate) fn inbound_rejected(&mut self, call_id: &str, from: &str, reason: Option<&str>) {
        let state = self.calls[call_id].state;
        if !matches!(state, CallState::Alerting | CallState::Initiating) {
            return;
        }
        tracing::info!(call = %call_id, device = from, ?reason, "XMPP user rejected the call");
        // A JMI reject refuses the call like a session-terminate would (§2a).
        let status = reasons::status_for_reason(reason);
        if let Some(r) = reason {
            self.note_jingle_reason(call_id, r);
        }
        self.inbound_refuse(
            call_id,
            Side::Xmpp,
            status,
            Some(from),
            refusal_warning(reason),
        );
    }

    /// Ends an unanswered inbound call with a final response toward SIP and a
    /// retract/finish toward every XMPP device that knows about it.
    pub(crate) fn inbound_refuse(
        &mut self,
        call_id: &str,
        by: Side,
        status: u16,
        except: Option<&str>,
        warning: Option<&str>,
    ) {
        let Some((invite, key, tag)) = self.invite_and_key(call_id) else {
            return;
        };
        let mut r = self.response(&invite, status, Some(&tag));
        if let Some(text) = warning {
            r.headers
                .push("Warning", format!("399 stox \"{}\"", warning_text(text)));
        }
        self.respond(&key, r);
        let call = &self.calls[call_id];
        let (our, sid, user) = (
            call.xmpp.gateway.clone(),
            call.xmpp.sid.clone(),
            call.xmpp.user.clone(),
        );
        let ringing: Vec<String> = call
            .xmpp
            .ringing
            .iter()
            .filter(|r| Some(r.as_str()) != except)
            .cloned()
            .collect();
        for device in ringing {
            self.send_stanza(stanza::jmi_message(
                &our,
                &device,
                JmiKind::Finish,
                &sid,
                &[],
                Some(("decline", None)),
            ));
        }
        let _ = user;
        self.end_call(call_id, by, Some(status));
    }

    pub(crate) fn inbound_accepted(&mut self, call_id: &str, answer: Jingle) {
        let call = self.calls.get_mut(call_id).expect("caller checked");
        call.state = CallState::AnswerGathering;
        call.xmpp.media = Some(answer);
        let deadline = std::time::Duration::from_millis(self.cfg.config.calls.trickle_deadline_ms);
        self.start_gathering(call_id, deadline);
    }

    /// Translates the gathered answer and sends the 200 OK — or, when the
    /// call's media is anchored, sends the answer to the anchor and the 200
    /// when its reply comes ([`Self::answer_with`]).
    pub(crate) fn send_answer(&mut self, call_id: &str) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        if call.state != CallState::AnswerGathering
            || self.anchor_pending(call_id, AnchorOp::Answer)
        {
            // Late candidates after the answer went to the anchor change nothing.
            return;
        }
        let Some((invite, key, tag)) = self.invite_and_key(call_id) else {
            return;
        };
        let answer = call.xmpp.media.clone().unwrap_or_default();
        let session_id: u64 = rand::Rng::random_range(&mut self.rng, 1..u64::MAX / 2);
        let host = self
            .cfg
            .sent_by
            .rsplit_once(':')
            .map(|(h, _)| h)
            .unwrap_or(&self.cfg.sent_by)
            .trim_matches(['[', ']'])
            .to_string();
        let origin = SdpOrigin {
            username: "-".into(),
            session_id,
            session_version: 1,
            address: host,
        };
        let sdp = match jingle_to_sdp(&answer, Role::Responder, &origin) {
            Ok(t) => t.value,
            Err(e) => {
                tracing::warn!(call = %call_id, error = %e, "cannot translate the Jingle answer");
                let status = e.sip_status().0;
                self.reply(&key, &invite, status, Some(&tag));
                let reason = e.jingle_reason().element_name();
                self.terminate_xmpp(call_id, reason, Some(&e.to_string()));
                self.end_call(call_id, Side::Gateway, Some(status));
                return;
            }
        };
        if self.is_anchored(call_id) {
            self.ask_anchor(call_id, None, AnchorOp::Answer, MediaLeg::Xmpp, sdp);
            return;
        }
        self.answer_with(call_id, sdp);
    }

    /// Answers the INVITE with 200 OK and `sdp`: the device's answer
    /// (passthrough) or the anchor's.
    pub(crate) fn answer_with(&mut self, call_id: &str, sdp: String) {
        let Some((invite, key, tag)) = self.invite_and_key(call_id) else {
            return;
        };
        if self.calls[call_id].state != CallState::AnswerGathering {
            return;
        }
        let mut r = self.response(&invite, 200, Some(&tag));
        self.add_contact(&mut r, call_id);
        r.headers.push("Allow", ALLOW);
        r.headers.push("Supported", super::session_timer::SUPPORTED);
        let session_timer = match super::session_timer::negotiate_uas(
            &invite,
            self.cfg.config.sip.session_expires_secs,
        ) {
            super::session_timer::UasTimer::Use(t) => {
                super::session_timer::grant_headers(&mut r.headers, &t);
                Some(t)
            }
            _ => None,
        };
        let sdp = self.trickle_advertise(call_id, &mut r.headers, sdp);
        r.headers.push("Content-Type", "application/sdp");
        r.body = sdp.clone().into_bytes();
        let contact = self.our_contact("stox", self.calls[call_id].sip.peer.transport);
        let peer = self.calls[call_id].sip.peer;
        let dialog = Dialog::from_uas(&invite, &tag, &contact, peer);
        let call = self.calls.get_mut(call_id).expect("checked");
        call.sip.dialog = dialog;
        call.sip.local_sdp = Some(sdp);
        call.sip.session_timer = session_timer;
        call.state = CallState::Accepted;
        self.timers
            .cancel(&(call_id.to_string(), CallTimer::RingTimeout));
        tracing::info!(call = %call_id, "answered: 200 OK sent");
        self.respond(&key, r);
    }

    /// The XMPP user ended an inbound call (session-terminate or JMI finish).
    pub(crate) fn inbound_user_hangup(&mut self, call_id: &str, reason: Option<&str>) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        tracing::info!(call = %call_id, ?reason, state = ?call.state, "XMPP user hung up");
        if let Some(r) = reason {
            self.note_jingle_reason(call_id, r);
        }
        let call = &self.calls[call_id];
        match call.state {
            CallState::Alerting | CallState::Initiating | CallState::AnswerGathering => {
                let status = reasons::status_for_reason(reason);
                self.inbound_refuse(call_id, Side::Xmpp, status, None, refusal_warning(reason));
            }
            _ => {
                self.hangup_sip(call_id);
                self.end_call(call_id, Side::Xmpp, None);
            }
        }
    }

    fn inbound_cancel(&mut self, cancel: &Request, key: &ServerKey) {
        let Some(invite_key) = self.tx.invite_for_cancel(cancel) else {
            self.reply(key, cancel, 481, None);
            return;
        };
        self.reply(key, cancel, 200, None);
        let call_id = cancel
            .headers
            .get("Call-ID")
            .and_then(|c| self.by_call_id.get(c).cloned());
        let Some(call_id) = call_id else {
            return;
        };
        if !self.tx.is_pending(&invite_key) {
            return; // already answered: the caller will BYE
        }
        tracing::info!(call = %call_id, "CANCEL from SIP");
        let Some((invite, _, tag)) = self.invite_and_key(&call_id) else {
            return;
        };
        self.reply(&invite_key, &invite, 487, Some(&tag));
        self.retract_or_terminate(&call_id, "cancel");
        self.end_call(&call_id, Side::Sip, Some(487));
    }

    /// Tells the XMPP side an unanswered inbound call is gone.
    fn retract_or_terminate(&mut self, call_id: &str, reason: &str) {
        if self.anchor_pending(call_id, AnchorOp::Offer) {
            return; // the XMPP side has not heard of the call yet
        }
        let call = &self.calls[call_id];
        if call.xmpp.initiated {
            self.terminate_xmpp(call_id, reason, None);
        } else {
            let (our, sid, user) = (
                call.xmpp.gateway.clone(),
                call.xmpp.sid.clone(),
                bare(&call.xmpp.user).to_string(),
            );
            self.send_stanza(stanza::jmi_message(
                &our,
                &user,
                JmiKind::Retract,
                &sid,
                &[],
                Some((reason, None)),
            ));
        }
    }

    pub(crate) fn inbound_ring_timeout(&mut self, call_id: &str) {
        let Some((invite, key, tag)) = self.invite_and_key(call_id) else {
            return;
        };
        if !self.tx.is_pending(&key) {
            return;
        }
        tracing::info!(call = %call_id, "no answer: 480");
        self.reply(&key, &invite, 480, Some(&tag));
        self.retract_or_terminate(call_id, "timeout");
        self.end_call(call_id, Side::Gateway, Some(480));
    }

    /// Our 2xx was never ACKed: hang up both legs (RFC 3261 §13.3.1.4).
    pub(crate) fn ack_timeout(&mut self, sip_call_id: &str) {
        let Some(call_id) = self.by_call_id.get(sip_call_id).cloned() else {
            return;
        };
        tracing::warn!(call = %call_id, "no ACK for our 200 OK: hanging up");
        self.hangup_sip(&call_id);
        self.terminate_xmpp(&call_id, "connectivity-error", Some("no ACK from SIP peer"));
        self.end_call(&call_id, Side::Gateway, Some(408));
    }
}

fn set_to_tag(response: &mut Response, tag: &str) {
    if let Some(to) = response.headers.get("To")
        && let Ok(mut addr) = NameAddr::parse(to)
        && addr.tag().is_none()
    {
        addr.set_tag(tag);
        response.headers.set("To", addr.to_string());
    }
}

/// The Warning text a refusal carries: `<security-error/>` becomes 488 with a
/// Warning header (§2a), so the SIP side learns it was not a codec mismatch.
fn refusal_warning(reason: Option<&str>) -> Option<&'static str> {
    (reason == Some("security-error")).then_some("security error on the XMPP side")
}

pub(crate) fn warning_text(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
        .take(100)
        .collect()
}
