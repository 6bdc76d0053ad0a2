//! XMPP → SIP: propose → proceed → session-initiate → INVITE; 180 → ringing;
//! 200 → session-accept and ACK; failures → session-terminate with a reason;
//! the user's terminate → CANCEL or BYE.

use super::gateway::{CallTimer, Gateway, IqPurpose, bare, localpart};
use super::io::{CallEvent, PersistKind};
use super::model::{Call, CallDirection, CallState, Side, SipLeg, XmppLeg};
use super::reasons;
use crate::jingle::{Jingle, jingle_element};
use crate::media::anchor::{AnchorOp, MediaLeg};
use crate::routing::{OutboundRoute, route_outbound};
use crate::sip::dialog::{Dialog, Origin, uri_peer};
use crate::sip::message::{Headers, Method, Request, Response};
use crate::sip::peer::{Peer, Transport};
use crate::translate::{Role, SdpOrigin, filter_codecs, jingle_to_sdp, sdp_to_jingle};
use crate::xmpp::stanza::{self, JmiKind};
use minidom::Element;

impl Gateway {
    /// The configuration of the trunk a call goes through, if any.
    fn trunk_of(&self, call: &super::model::Call) -> Option<crate::config::TrunkConfig> {
        let name = call.trunk.as_ref()?;
        self.cfg
            .config
            .trunks
            .iter()
            .find(|t| t.name == *name)
            .cloned()
    }

    /// The route and the targets to try in order (a trunk's located targets
    /// from its live one on, or the one address dialled directly).
    fn route_for(&self, caller: &str, callee: &str) -> Result<(OutboundRoute, Vec<Peer>), u16> {
        let callee_local = localpart(callee);
        let callee_resource = callee
            .split_once('/')
            .map(|(_, r)| r)
            .filter(|r| *r != self.cfg.resource);
        let route = route_outbound(
            &self.cfg.config,
            bare(caller),
            callee_local,
            callee_resource,
        )
        .map_err(|e| e.sip_status())?;
        let transport = Transport::from(route.transport);
        let targets = match &route.trunk {
            Some(t) => self.trunk_targets(t),
            None => uri_peer(&format!("sip:{}:{}", route.host, route.port), transport)
                .into_iter()
                .collect(),
        };
        if targets.is_empty() {
            return Err(503);
        }
        Ok((route, targets))
    }

    pub(crate) fn outbound_propose(&mut self, from: &str, to: &str, sid: &str, media: &[String]) {
        let our = self.our_jid_for(to);
        if let Err(status) = self.route_for(from, to) {
            tracing::info!(caller = from, callee = to, status, "outbound call refused");
            self.event(CallEvent::Failed {
                direction: CallDirection::XmppToSip,
                status,
            });
            let (reason, text) = refusal(status);
            self.send_stanza(stanza::jmi_message(
                &our,
                from,
                JmiKind::Reject,
                sid,
                &[],
                Some((reason, Some(text))),
            ));
            return;
        }
        let call_id = self.new_call_id();
        let call = new_outbound(&call_id, sid, from, &our, self.now);
        self.by_sid
            .insert((bare(from).to_string(), sid.to_string()), call_id.clone());
        self.calls.insert(call_id.clone(), call);
        // Stored from the propose on, so that in a cluster the instance that
        // receives the session-initiate finds this one as the call's owner.
        self.persist(&call_id, PersistKind::Created);
        // The attempt starts with the call: a retract or an expired proposal is
        // a failed attempt, like an unanswered inbound propose.
        self.event(CallEvent::Attempted(CallDirection::XmppToSip));
        tracing::info!(call = %call_id, caller = from, callee = to, ?media, "JMI propose: proceeding");
        self.send_stanza(stanza::jmi_message(
            &our,
            from,
            JmiKind::Proceed,
            sid,
            &[],
            None,
        ));
        let at = self.now + self.cfg.propose_timeout;
        self.timers.set((call_id, CallTimer::ProposeExpiry), at);
    }

    pub(crate) fn outbound_propose_expired(&mut self, call_id: &str) {
        if self.calls.get(call_id).map(|c| c.state) == Some(CallState::Proposed) {
            tracing::info!(call = %call_id, "no session-initiate after proceed");
            self.end_call(call_id, Side::Gateway, Some(408));
        }
    }

    pub(crate) fn outbound_initiate(
        &mut self,
        from: &str,
        to: &str,
        iq_id: &str,
        sid: &str,
        jingle: Jingle,
        existing: Option<String>,
    ) {
        let route = match self.route_for(from, to) {
            Ok(r) => r,
            Err(status) => {
                tracing::info!(caller = from, callee = to, status, "outbound call refused");
                self.event(CallEvent::Failed {
                    direction: CallDirection::XmppToSip,
                    status,
                });
                let (kind, condition) = match status {
                    403 => ("auth", "forbidden"),
                    404 => ("cancel", "item-not-found"),
                    400 => ("modify", "jid-malformed"),
                    _ => ("cancel", "service-unavailable"),
                };
                self.iq_fail(to, from, iq_id, kind, condition, None, refusal(status).1);
                return;
            }
        };
        if jingle.contents.is_empty() {
            self.iq_fail(to, from, iq_id, "modify", "bad-request", None, "no content");
            return;
        }
        let our = self.our_jid_for(to);
        let proposed = existing.is_some();
        let call_id = match existing {
            Some(id) => {
                self.timers.cancel(&(id.clone(), CallTimer::ProposeExpiry));
                id
            }
            None => {
                let id = self.new_call_id();
                let mut call = new_outbound(&id, sid, from, &our, self.now);
                call.xmpp.jmi = false;
                self.by_sid
                    .insert((bare(from).to_string(), sid.to_string()), id.clone());
                self.calls.insert(id.clone(), call);
                id
            }
        };
        // The gateway acks at once, before any SIP response (draft flow F2).
        self.ack(to, from, iq_id);
        let (route, mut targets) = route;
        let peer = targets.remove(0);
        let deadline = std::time::Duration::from_millis(self.cfg.config.calls.trickle_deadline_ms);
        let call = self.calls.get_mut(&call_id).expect("inserted above");
        call.xmpp.user = from.to_string();
        call.xmpp.initiated = true;
        call.xmpp.media = Some(jingle);
        call.state = CallState::Gathering;
        call.trunk = route.trunk.clone();
        call.sip.peer = peer;
        call.sip.fallbacks = targets;
        call.sip.invite = Some(Request {
            method: Method::Invite,
            uri: route.request_uri.clone(),
            headers: Headers::default(),
            body: Vec::new(),
        });
        if !proposed {
            // A proposed call counted its attempt at the propose.
            self.event(CallEvent::Attempted(CallDirection::XmppToSip));
        }
        if !proposed {
            // A proposed call was stored at its propose.
            self.persist(&call_id, PersistKind::Created);
        }
        self.start_gathering(&call_id, deadline);
    }

    /// Translates the gathered offer and sends the INVITE — or, when the
    /// call's media is anchored, sends the offer to the anchor and the
    /// INVITE when its reply comes ([`Self::invite_with`]).
    pub(crate) fn send_invite(&mut self, call_id: &str) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        if call.state != CallState::Gathering || self.anchor_pending(call_id, AnchorOp::Offer) {
            // Late candidates after the offer went to the anchor change nothing.
            return;
        }
        let media = call.xmpp.media.clone().unwrap_or_default();
        let user = call.xmpp.user.clone();
        let trunk = self.trunk_of(call);
        let session_id: u64 = rand::Rng::random_range(&mut self.rng, 1..u64::MAX / 2);
        let host = host_of(&self.cfg.sent_by);
        let origin = SdpOrigin {
            username: sdp_username(localpart(&user)),
            session_id,
            session_version: 1,
            address: host.trim_matches(['[', ']']).to_string(),
        };
        let codecs = trunk.as_ref().map_or(&[][..], |t| &t.codecs[..]);
        let filtered = filter_codecs(&media, codecs).and_then(|f| {
            for w in &f.warnings {
                tracing::info!(call = %call_id, warning = %w, "offer narrowed to the trunk's codecs");
            }
            jingle_to_sdp(&f.value, Role::Initiator, &origin)
        });
        let sdp = match filtered {
            Ok(t) => {
                for w in &t.warnings {
                    tracing::info!(call = %call_id, warning = ?w, "offer translated with loss");
                }
                t.value
            }
            Err(e) => {
                tracing::warn!(call = %call_id, error = %e, "cannot translate the offer");
                let reason = e.jingle_reason().element_name();
                self.terminate_xmpp(call_id, reason, Some(&e.to_string()));
                self.end_call(call_id, Side::Gateway, Some(e.sip_status().0));
                return;
            }
        };
        let trunk_name = self.calls[call_id].trunk.clone();
        if let Some(media) = self.anchor_for(trunk_name.as_deref()) {
            self.ask_anchor(call_id, Some(media), AnchorOp::Offer, MediaLeg::Xmpp, sdp);
            return;
        }
        self.invite_with(call_id, sdp);
    }

    /// Sends the call's INVITE with `sdp` as its offer: the client's own
    /// (passthrough) or the anchor's.
    pub(crate) fn invite_with(&mut self, call_id: &str, sdp: String) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        if call.state != CallState::Gathering {
            return;
        }
        let user = call.xmpp.user.clone();
        let trunk = self.trunk_of(call);
        let request_uri = call
            .sip
            .invite
            .as_ref()
            .map(|r| r.uri.clone())
            .unwrap_or_default();
        let peer = call.sip.peer;
        let NewInvite {
            mut headers,
            branch,
            local_tag,
            sip_call_id,
        } = self.new_invite(peer, trunk.as_ref(), bare(&user), &request_uri);
        headers.push("Allow", ALLOW);
        self.offer_session_timer(&mut headers);
        let sdp = self.trickle_advertise(call_id, &mut headers, sdp);
        headers.push(super::loops::LOOP_HEADER, call_id.to_string());
        headers.push("User-Agent", self.cfg.user_agent.clone());
        headers.push("Content-Type", "application/sdp");
        let invite = Request {
            method: Method::Invite,
            uri: request_uri,
            headers,
            body: sdp.clone().into_bytes(),
        };
        let call = self.calls.get_mut(call_id).expect("checked above");
        call.state = CallState::Inviting;
        call.sip.call_id = sip_call_id.clone();
        call.sip.local_tag = local_tag;
        call.sip.invite = Some(invite.clone());
        call.sip.invite_branch = Some(branch.clone());
        call.sip.local_sdp = Some(sdp);
        self.by_call_id.insert(sip_call_id, call_id.to_string());
        self.by_branch.insert(branch, call_id.to_string());
        let ring = std::time::Duration::from_secs(self.cfg.config.calls.ring_timeout_secs);
        self.timers.set(
            (call_id.to_string(), CallTimer::RingTimeout),
            self.now + ring,
        );
        tracing::info!(call = %call_id, peer = %peer, "INVITE sent");
        self.tx.send_request(invite, peer, self.now);
        // A restarted process must be able to CANCEL this INVITE.
        self.persist(call_id, PersistKind::Modified);
    }

    /// The dialog-forming headers of an INVITE we originate for `caller`
    /// (a bare JID) toward `peer` through `trunk`, with fresh identifiers:
    /// a call's first INVITE and a transfer's INVITE to its target are built
    /// the same way (caller ID, outbound proxy, Contact).
    pub(crate) fn new_invite(
        &mut self,
        peer: Peer,
        trunk: Option<&crate::config::TrunkConfig>,
        caller: &str,
        request_uri: &str,
    ) -> NewInvite {
        let host = host_of(&self.cfg.sent_by);
        let branch = self.branch();
        let local_tag = self.fresh(6);
        let sip_call_id = format!("{}@{}", self.fresh(12), host);
        let (from_uri, asserted) = self.caller_id(trunk, caller);
        let mut headers = self.request_headers(
            peer.transport,
            &branch,
            &from_uri,
            &local_tag,
            request_uri,
            &sip_call_id,
            "1 INVITE",
        );
        if let Some(proxy) = trunk.and_then(|t| t.outbound_proxy.as_ref()) {
            headers.push("Route", proxy.route());
        }
        let contact = self.our_contact("stox", peer.transport);
        headers.push("Contact", format!("<{contact}>"));
        if let Some(identity) = asserted {
            headers.push("P-Asserted-Identity", format!("<{identity}>"));
        }
        NewInvite {
            headers,
            branch,
            local_tag,
            sip_call_id,
        }
    }

    /// The From URI of an INVITE from `caller` (a bare JID) through `trunk`,
    /// and the identity to assert in `P-Asserted-Identity`, if the trunk
    /// wants one. Without a trunk (a SIP address dialled directly) the From
    /// is the caller's JID as a SIP URI, as RFC 7247 maps it.
    ///
    /// The caller's identity is their DID when a `[[number]]` rings them and
    /// `caller_id_from_did` is on (`sip:+1555…@host;user=phone`), else their
    /// JID. The From shows `from_user` when set (the trunk's account), else
    /// that identity. The host is `from_domain`, else the trunk's host once
    /// the From is a number or `from_user`, else the JID's domain.
    pub(crate) fn caller_id(
        &self,
        trunk: Option<&crate::config::TrunkConfig>,
        caller: &str,
    ) -> (String, Option<String>) {
        let jid_uri = crate::address::jid_to_sip_uri(caller, None);
        let Some(t) = trunk else {
            return (jid_uri, None);
        };
        let host = t.from_domain.clone().unwrap_or_else(|| t.host.clone());
        let did = t
            .caller_id_from_did
            .then(|| {
                self.cfg
                    .config
                    .numbers
                    .iter()
                    .find(|n| n.jid.eq_ignore_ascii_case(caller))
            })
            .flatten()
            .map(|n| n.did.clone());
        let identity = match (&did, &t.from_domain) {
            (Some(did), _) => format!("sip:{did}@{host};user=phone"),
            (None, Some(domain)) => {
                let local = caller.split_once('@').map_or("", |(l, _)| l);
                crate::address::jid_to_sip_uri(&format!("{local}@{domain}"), None)
            }
            (None, None) => jid_uri,
        };
        let from = match &t.from_user {
            Some(user) => format!("sip:{user}@{host}"),
            None => identity.clone(),
        };
        (from, t.assert_identity.then_some(identity))
    }

    /// A response matched to one of our client transactions.
    pub(crate) fn sip_response(&mut self, response: Response, branch: &str) {
        let Some(call_id) = self.by_branch.get(branch).cloned() else {
            return; // BYE/CANCEL responses of ended calls, and the like
        };
        let Some(call) = self.calls.get(&call_id) else {
            return;
        };
        let is_invite = response
            .headers
            .cseq()
            .is_some_and(|c| c.method == Method::Invite);
        if call.sip.invite_branch.as_deref() != Some(branch) || !is_invite {
            return; // a CANCEL's or BYE's response: nothing to do
        }
        let status = response.status;
        let state = call.state;
        self.trickle_sip_response(&call_id, &response);
        let Some(call) = self.calls.get(&call_id) else {
            return;
        };
        if let Some(trunk) = call.trunk.clone() {
            let peer = call.sip.peer;
            if status == 503 && state == CallState::Inviting && !call.sip.provisional {
                // RFC 3263 §4.3: a 503 sends the request on to the next target.
                if self.outbound_target_failed(&call_id) {
                    return;
                }
            } else {
                self.target_ok(&trunk, peer);
            }
        }
        if status < 200 {
            self.outbound_provisional(&call_id, &response);
        } else if status < 300 {
            self.outbound_answered(&call_id, response);
        } else if matches!(status, 401 | 407)
            && state == CallState::Inviting
            && self.retry_invite_with_auth(&call_id, &response)
        {
            // Re-sent with credentials; the call goes on.
        } else if status == 422
            && state == CallState::Inviting
            && self.retry_invite_after_422(&call_id, &response)
        {
            // Re-sent with the session interval the peer wants.
        } else if (300..400).contains(&status)
            && state == CallState::Inviting
            && self.follow_redirect(&call_id, &response)
        {
            // Re-sent to the Contact the redirect named.
        } else {
            tracing::info!(call = %call_id, status, "INVITE failed");
            let cancelled = state == CallState::Cancelling;
            if !cancelled {
                let reason = reasons::reason_for_status(status).element_name();
                let text = format!("{} {}", status, response.reason);
                self.terminate_xmpp(&call_id, reason, Some(&text));
            }
            self.end_call(&call_id, Side::Sip, Some(status));
        }
    }

    fn outbound_provisional(&mut self, call_id: &str, response: &Response) {
        if !self.prack_if_reliable(call_id, response) {
            return; // a retransmitted reliable provisional
        }
        // Early media (`call::early`): a 18x's SDP answer.
        self.early_answer(call_id, response);
        let call = self.calls.get_mut(call_id).expect("caller checked");
        call.sip.provisional = true;
        if call.cancel_pending {
            call.cancel_pending = false;
            self.send_cancel(call_id);
            return;
        }
        // `ringing` holds the user's JID once we have told them it rings.
        let first = call.xmpp.ringing.is_empty();
        if response.status == 100 || !first {
            return;
        }
        call.xmpp.ringing.push(call.xmpp.user.clone());
        if (180..=183).contains(&response.status) {
            let call = &self.calls[call_id];
            let (from, to, sid) = (
                call.xmpp.gateway.clone(),
                call.xmpp.user.clone(),
                call.xmpp.sid.clone(),
            );
            let mut payload = stanza::el("jingle", super::gateway::NS_JINGLE);
            stanza::set(&mut payload, "action", "session-info");
            stanza::set(&mut payload, "sid", &sid);
            stanza::set(&mut payload, "initiator", &to);
            payload.append_child(stanza::el("ringing", NS_RTP_INFO));
            self.send_iq_other(call_id, &from, &to, payload);
        } else {
            // Other 1xx mark progress only.
            let call = self.calls.get_mut(call_id).expect("caller checked");
            call.xmpp.ringing.clear();
        }
    }

    fn outbound_answered(&mut self, call_id: &str, response: Response) {
        let call = self.calls.get(call_id).expect("caller checked");
        let invite = call.sip.invite.clone().expect("INVITE was sent");
        let peer = call.sip.peer;
        let Some(dialog) = Dialog::from_uac(&invite, &response, peer) else {
            tracing::warn!(call = %call_id, "2xx without usable dialog headers");
            self.terminate_xmpp(call_id, "general-error", Some("bad 2xx from SIP peer"));
            self.end_call(call_id, Side::Gateway, Some(502));
            return;
        };
        let cancelling = call.state == CallState::Cancelling;
        // ACK at once: RFC 3261 wants the 2xx acknowledged promptly, and waiting
        // for the XMPP client's IQ result would only invite retransmissions.
        let ack_branch = self.branch();
        let origin = Origin {
            sent_by: self.sent_by(dialog.peer.transport),
            branch: &ack_branch,
            user_agent: &self.cfg.user_agent.clone(),
        };
        let mut ack = dialog.ack(dialog.local_cseq, &origin);
        // RFC 3261 §13.2.2.4: the ACK carries the INVITE's credentials.
        for name in ["Authorization", "Proxy-Authorization"] {
            for v in invite.headers.get_all(name) {
                ack.headers.push(name, v.to_string());
            }
        }
        let hop = dialog.next_hop();
        self.tx.send_request(ack, hop, self.now);
        let mut dialog = dialog;
        let call = self.calls.get_mut(call_id).expect("caller checked");
        // Requests after PRACKs in the early dialog continue their CSeq.
        dialog.local_cseq = dialog.local_cseq.max(call.sip.early_cseq);
        call.sip.session_timer = super::session_timer::negotiate_uac(&response);
        call.sip.dialog = Some(dialog);
        if cancelling {
            // The 2xx crossed our CANCEL: end the dialog we did not want.
            self.hangup_sip(call_id);
            self.end_call(call_id, Side::Xmpp, Some(487));
            return;
        }
        // Which SDP answers the 2xx: its own, or an early one (`call::early`).
        let body = match self.final_answer(call_id, &response) {
            super::early::FinalAnswer::Use(sdp) => sdp,
            super::early::FinalAnswer::Done => return,
        };
        let Some(answer) = self.translate_sip_answer(call_id, &body) else {
            return;
        };
        if self.is_anchored(call_id) {
            // The callee answered: nothing rings any more while the anchor
            // completes the media (a hang-up now is a BYE, not a CANCEL).
            self.timers
                .cancel(&(call_id.to_string(), CallTimer::RingTimeout));
            self.ask_anchor(call_id, None, AnchorOp::Answer, MediaLeg::Sip, body);
            return;
        }
        self.send_session_accept(call_id, answer);
    }

    /// The anchor's answer for the XMPP user: translated and accepted.
    pub(crate) fn outbound_accept_sdp(&mut self, call_id: &str, sdp: &str) {
        if self.early_accept(call_id, sdp) {
            return; // early media: accepted, not answered (`call::early`)
        }
        if let Some(answer) = self.translate_sip_answer(call_id, sdp) {
            self.send_session_accept(call_id, answer);
        }
    }

    /// The SIP answer (or the anchor's) as Jingle; `None` when it cannot be
    /// translated, and then the call has ended on both sides.
    fn translate_sip_answer(&mut self, call_id: &str, body: &str) -> Option<Jingle> {
        match sdp_to_jingle(body, Role::Responder) {
            Ok(t) => {
                for w in &t.warnings {
                    tracing::info!(call = %call_id, warning = ?w, "answer translated with loss");
                }
                Some(t.value)
            }
            Err(e) => {
                tracing::warn!(call = %call_id, error = %e, "cannot translate the SIP answer");
                self.hangup_sip(call_id);
                let reason = e.jingle_reason().element_name();
                self.terminate_xmpp(call_id, reason, Some(&e.to_string()));
                self.end_call(call_id, Side::Gateway, Some(e.sip_status().0));
                None
            }
        }
    }

    /// Session-accept to the XMPP user; the call is answered.
    fn send_session_accept(&mut self, call_id: &str, answer: Jingle) {
        self.send_session_accept_iq(call_id, answer);
        self.mark_answered(call_id);
    }

    /// The session-accept IQ alone: early media sends it before the call is
    /// answered (`call::early`).
    pub(crate) fn send_session_accept_iq(&mut self, call_id: &str, answer: Jingle) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        let (user, our, sid) = (
            call.xmpp.user.clone(),
            call.xmpp.gateway.clone(),
            call.xmpp.sid.clone(),
        );
        let mut accept = answer;
        // The SIP answer may carry no a=mid: name its contents as the XMPP offer did.
        if let Some(offer) = self.calls.get(call_id).and_then(|c| c.xmpp.media.as_ref()) {
            crate::translate::adopt_offer_names(&mut accept, offer);
        }
        accept.action = Some("session-accept".into());
        accept.sid = Some(sid);
        accept.initiator = Some(user.clone());
        accept.responder = Some(our.clone());
        let payload = xml_to_element(&jingle_element(&accept).to_compact_string());
        self.send_iq(call_id, &our, &user, payload, IqPurpose::SessionAccept);
    }

    /// The SIP callee did not answer within `calls.ring_timeout_secs`: tell the
    /// XMPP user (`<timeout/>`) and CANCEL the INVITE.
    pub(crate) fn outbound_ring_timeout(&mut self, call_id: &str) {
        if self.calls.get(call_id).map(|c| c.state) != Some(CallState::Inviting) {
            return;
        }
        tracing::info!(call = %call_id, "no answer from SIP: cancelling");
        self.terminate_xmpp(call_id, "timeout", Some("no answer"));
        self.note_hangup_by(call_id, Side::Gateway);
        self.outbound_user_hangup(call_id, "timeout");
    }

    /// The XMPP user ended or cancelled an outbound call.
    pub(crate) fn outbound_user_hangup(&mut self, call_id: &str, reason: &str) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        tracing::info!(call = %call_id, reason, state = ?call.state, "XMPP user hung up");
        self.note_jingle_reason(call_id, reason);
        self.note_hangup_by(call_id, Side::Xmpp);
        let call = &self.calls[call_id];
        match call.state {
            CallState::Proposed | CallState::Gathering => {
                self.end_call(call_id, Side::Xmpp, Some(487))
            }
            CallState::Inviting if call.sip.dialog.is_some() => {
                // Answered, the anchor still completing the media: the
                // dialog exists, so it is hung up.
                self.hangup_sip(call_id);
                self.end_call(call_id, Side::Xmpp, None);
            }
            CallState::Inviting => {
                if call.sip.provisional {
                    self.send_cancel(call_id);
                } else {
                    let call = self.calls.get_mut(call_id).expect("checked");
                    call.cancel_pending = true;
                    call.state = CallState::Cancelling;
                }
            }
            CallState::Cancelling => {}
            _ => {
                self.hangup_sip(call_id);
                self.end_call(call_id, Side::Xmpp, None);
            }
        }
    }

    pub(crate) fn send_cancel(&mut self, call_id: &str) {
        let call = self.calls.get_mut(call_id).expect("caller checked");
        call.state = CallState::Cancelling;
        let Some(invite) = call.sip.invite.clone() else {
            return;
        };
        let mut headers = Headers::default();
        for name in ["Via", "Max-Forwards", "From", "To", "Call-ID"] {
            if let Some(v) = invite.headers.get(name) {
                headers.push(name, v.to_string());
            }
        }
        let seq = invite.headers.cseq().map(|c| c.seq).unwrap_or(1);
        headers.push("CSeq", format!("{seq} CANCEL"));
        for route in invite.headers.get_all("Route") {
            headers.push("Route", route.to_string());
        }
        let cancel = Request {
            method: Method::Cancel,
            uri: invite.uri.clone(),
            headers,
            body: Vec::new(),
        };
        let peer = call.sip.peer;
        tracing::info!(call = %call_id, "CANCEL sent");
        self.tx.send_request(cancel, peer, self.now);
    }

    pub(crate) fn outbound_failed(&mut self, call_id: &str, status: u16) {
        let reason = reasons::reason_for_status(status).element_name();
        self.outbound_failed_with(call_id, status, reason);
    }

    /// Ends an unanswered outbound call with `reason` toward Jingle; `status`
    /// describes the failure for metrics and the reason text.
    pub(crate) fn outbound_failed_with(&mut self, call_id: &str, status: u16, reason: &str) {
        let text = format!("{} {}", status, reasons::phrase(status));
        self.terminate_xmpp(call_id, reason, Some(&text));
        self.end_call(call_id, Side::Sip, Some(status));
    }

    /// Timer B or F: the peer never answered.
    pub(crate) fn sip_timeout(&mut self, branch: &str, method: Method) {
        let Some(call_id) = self.by_branch.get(branch).cloned() else {
            return;
        };
        if method == Method::Invite && self.calls.contains_key(&call_id) {
            let cancelling = self.calls[&call_id].state == CallState::Cancelling;
            tracing::info!(call = %call_id, "INVITE timed out");
            if cancelling {
                self.end_call(&call_id, Side::Gateway, Some(487));
            } else if !self.outbound_target_failed(&call_id) {
                self.outbound_failed(&call_id, 408);
            }
        }
    }

    /// A 2xx retransmission after the transaction ended: ACK again; a 2xx from
    /// another fork: ACK and BYE it (we forward one final response only).
    pub(crate) fn stray_2xx(&mut self, response: Response, from: Peer) {
        let Some(call_id) = response
            .headers
            .get("Call-ID")
            .and_then(|c| self.by_call_id.get(c).cloned())
        else {
            return;
        };
        let Some(call) = self.calls.get(&call_id) else {
            return;
        };
        let Some(invite) = call.sip.invite.clone() else {
            return;
        };
        // A retransmitted 2xx to one of our re-INVITEs (a refresh): ACK it
        // again in the dialog, with that re-INVITE's CSeq (RFC 3261 §13.2.2.4).
        let resp_seq = response.headers.cseq().map(|c| c.seq);
        let initial = call.direction == super::model::CallDirection::XmppToSip
            && resp_seq == invite.headers.cseq().map(|c| c.seq);
        if !initial {
            let dialog = call.sip.dialog.clone();
            if let (Some(seq), Some(d)) = (resp_seq, dialog.as_ref()) {
                let branch = self.branch();
                let sent_by = self.sent_by(d.peer.transport).to_string();
                let ua = self.cfg.user_agent.clone();
                let origin = Origin {
                    sent_by: &sent_by,
                    branch: &branch,
                    user_agent: &ua,
                };
                let ack = d.ack(seq, &origin);
                let hop = d.next_hop();
                self.tx.send_request(ack, hop, self.now);
            }
            return;
        }
        let Some(mut fork) = Dialog::from_uac(&invite, &response, from) else {
            return;
        };
        let same = call
            .sip
            .dialog
            .as_ref()
            .is_some_and(|d| d.remote_tag == fork.remote_tag);
        let ack_branch = self.branch();
        let sent_by = self.sent_by(fork.peer.transport).to_string();
        let ua = self.cfg.user_agent.clone();
        let origin = Origin {
            sent_by: &sent_by,
            branch: &ack_branch,
            user_agent: &ua,
        };
        let ack = fork.ack(fork.local_cseq, &origin);
        self.tx.send_request(ack, fork.next_hop(), self.now);
        if !same {
            let bye_branch = self.branch();
            let origin = Origin {
                sent_by: &sent_by,
                branch: &bye_branch,
                user_agent: &ua,
            };
            let bye = fork.request(Method::Bye, &origin);
            self.tx.send_request(bye, fork.next_hop(), self.now);
        }
    }
}

/// Methods we accept, for Allow headers.
pub(crate) const ALLOW: &str =
    "INVITE, ACK, CANCEL, BYE, OPTIONS, PRACK, UPDATE, INFO, REFER, NOTIFY";

/// XEP-0167 session-info namespace.
const NS_RTP_INFO: &str = "urn:xmpp:jingle:apps:rtp:info:1";

fn new_outbound(call_id: &str, sid: &str, user: &str, our: &str, now: std::time::Instant) -> Call {
    Call {
        id: call_id.to_string(),
        direction: CallDirection::XmppToSip,
        state: CallState::Proposed,
        xmpp: XmppLeg {
            sid: sid.to_string(),
            user: user.to_string(),
            gateway: our.to_string(),
            jmi: true,
            ringing: Vec::new(),
            initiated: false,
            media: None,
        },
        sip: SipLeg::new(Peer {
            transport: Transport::Udp,
            addr: std::net::SocketAddr::from(([0, 0, 0, 0], 0)),
        }),
        trunk: None,
        created_at: Some(now),
        answered_at: None,
        cancel_pending: false,
        ended: None,
        hangup_by: None,
        jingle_reason: None,
        media: None,
    }
}

/// The Jingle reason and text for a routing refusal.
fn refusal(status: u16) -> (&'static str, &'static str) {
    match status {
        403 => (
            "decline",
            "403 Forbidden: not allowed to call through this gateway",
        ),
        404 => ("gone", "404 Not Found: no route for this address"),
        400 => ("general-error", "400 Bad Request: malformed address"),
        _ => (
            "connectivity-error",
            "503 Service Unavailable: no reachable route",
        ),
    }
}

/// o= usernames cannot contain spaces; XEP-0106 escapes have none, but be safe.
fn sdp_username(local: &str) -> String {
    let s: String = local.chars().filter(|c| c.is_ascii_graphic()).collect();
    if s.is_empty() { "-".into() } else { s }
}

/// Our own writer's output is well-formed XML; minidom parses it into the DOM
/// the link sends.
pub(crate) fn xml_to_element(xml: &str) -> Element {
    xml.parse()
        .expect("the Jingle writer produces well-formed, namespaced XML")
}

/// The host part of a host:port sent-by.
pub(crate) fn host_of(sent_by: &str) -> String {
    match sent_by.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) && !h.ends_with(':') => h.to_string(),
        _ => sent_by.to_string(),
    }
}

/// What [`Gateway::new_invite`] made: the headers so far and the new
/// transaction's and dialog's identifiers.
pub(crate) struct NewInvite {
    pub(crate) headers: Headers,
    pub(crate) branch: String,
    pub(crate) local_tag: String,
    pub(crate) sip_call_id: String,
}
