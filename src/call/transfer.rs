//! Blind transfer asked by the SIP peer (REFER, RFC 3515 / RFC 5589).
//!
//! The SIP peer of an established call sends `REFER` with `Refer-To:
//! <sip:target>`. We answer 202, report `SIP/2.0 100 Trying` in a NOTIFY
//! (`message/sipfrag`), and send a new INVITE to the target. When the
//! target answers, we ACK, NOTIFY `SIP/2.0 200 OK` (subscription
//! terminated), and the call's SIP leg *becomes* the new dialog: the XMPP
//! user stays in the same Jingle session and hears the target. The
//! transferor normally BYEs its dialog after the final NOTIFY; if it has
//! not within [`REFERRER_BYE_GRACE`], we BYE it. A BYE from the transferor
//! before the target answered does not end the call either (many phones
//! hang up right after the 202). A failed transfer is reported with the
//! target's final status line and the original call goes on (RFC 5589 §6);
//! if the transferor already hung up, the call ends then.
//!
//! Why only with an anchored call: the new INVITE offers the anchor's
//! SIP-facing SDP (the call's `local_sdp`) and the target's answer moves the
//! relay ([`Output::MediaUpdate`]); the XMPP client's ICE/DTLS session
//! keeps talking to the anchor. In passthrough the client's ICE/DTLS session
//! is with the old SIP peer itself and cannot be moved to a new one, so the
//! REFER is refused (488 + Warning). A SIP leg with SDES-SRTP is refused too:
//! the target's new key would need a new SRTP context in the relay, which
//! an in-dialog media update does not carry.
//!
//! No open relay: the target must be reached through a configured trunk —
//! a Refer-To naming a trunk's address goes to that trunk, any other user
//! or number through the call's own trunk — and the transfer is allowed when
//! that is the call's own trunk (the PBX that refers owns the cost) or when
//! `[policy]` lets the XMPP user call out. Attended transfer (`Replaces`) is
//! answered 501.

use super::gateway::{CallTimer, Gateway, bare};
use super::in_dialog::Purpose;
use super::io::{Output, PersistKind};
use super::model::{CallState, Side, SipLeg};
use crate::media::anchor::MediaLeg;
use crate::sip::dialog::{Dialog, Origin};
use crate::sip::header::NameAddr;
use crate::sip::message::{Headers, Method, Request, Response};
use crate::sip::transaction::ServerKey;
use crate::sip::uri::{Scheme, SipUri};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How long the transferor has, after our final NOTIFY, to BYE its dialog
/// itself before we do (RFC 5589 §6 leaves it to the transferor).
pub(crate) const REFERRER_BYE_GRACE: Duration = Duration::from_secs(4);

/// A blind transfer of a call's SIP leg, kept in [`SipLeg::transfer`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transfer {
    /// The Refer-To URI (without URI headers): the new INVITE's To.
    pub target: String,
    /// The trunk the new INVITE goes through.
    #[serde(default)]
    pub trunk: Option<String>,
    /// The new leg while its INVITE is pending; `None` once it answered.
    #[serde(default)]
    pub leg: Option<SipLeg>,
    /// After the switch: the transferor's dialog, until it or we BYE it.
    #[serde(default)]
    pub referrer: Option<Dialog>,
    /// The transferor BYEd its dialog.
    #[serde(default)]
    pub referrer_gone: bool,
    /// A transfer the XMPP user asked for (we sent the REFER;
    /// `call::transfer_xmpp`).
    #[serde(default)]
    pub asked: Option<super::transfer_xmpp::AskedTransfer>,
}

/// Why a REFER is refused, as its status and Warning text.
type Refusal = (u16, &'static str);

impl Gateway {
    /// A REFER in an established dialog.
    pub(crate) fn inbound_refer(&mut self, id: &str, request: &Request, key: &ServerKey) {
        match self.start_transfer(id, request, key) {
            Ok(()) => {}
            Err((status, why)) => {
                tracing::info!(call = %id, status, why, "REFER refused");
                let mut r = self.response(request, status, None);
                r.headers.push(
                    "Warning",
                    format!("399 stox \"{}\"", super::inbound::warning_text(why)),
                );
                self.respond(key, r);
            }
        }
    }

    fn start_transfer(
        &mut self,
        id: &str,
        request: &Request,
        key: &ServerKey,
    ) -> Result<(), Refusal> {
        let refer_to = request.headers.values("Refer-To");
        let [refer_to] = refer_to.as_slice() else {
            return Err((400, "exactly one Refer-To is required"));
        };
        let addr = NameAddr::parse(refer_to).map_err(|_| (400, "malformed Refer-To"))?;
        let lower = addr.uri.to_ascii_lowercase();
        if lower.contains("?replaces=") || lower.contains("&replaces=") {
            return Err((501, "attended transfer (Replaces) is not supported"));
        }
        let uri = SipUri::parse(&addr.uri).map_err(|_| (400, "malformed Refer-To URI"))?;
        let call = &self.calls[id];
        if call.state != CallState::Active || call.sip.transfer.is_some() {
            return Err((491, "the call is not in a state to be transferred"));
        }
        let Some(media) = call.media.as_ref() else {
            return Err((
                488,
                "transfer needs the media anchor: in passthrough the XMPP client's ICE/DTLS session cannot move to a new peer",
            ));
        };
        let mode = media.mode;
        let Some(sdp) = call.sip.local_sdp.clone() else {
            return Err((488, "no session description to offer the target"));
        };
        if sdp.contains("a=crypto:") {
            return Err((488, "transfer of an SRTP (SDES) SIP leg is not supported"));
        }
        let (trunk, request_uri) = self.transfer_route(id, &uri)?;
        let user = bare(&call.xmpp.user).to_string();
        if Some(&trunk) != call.trunk.as_ref()
            && !crate::routing::caller_allowed(&self.cfg.config.policy, &user)
        {
            return Err((403, "transfer target not allowed for this call"));
        }
        let Some(peer) = self.trunk_targets(&trunk).first().copied() else {
            return Err((503, "the target's trunk has no reachable address"));
        };
        let trunk_cfg = self
            .cfg
            .config
            .trunks
            .iter()
            .find(|t| t.name == trunk)
            .cloned();
        let mut target = uri.clone();
        target.headers.clear();
        let target = target.to_string();
        tracing::info!(call = %id, %target, trunk, ?mode, "REFER accepted: transferring");
        self.reply(key, request, 202, None);
        self.notify_referrer(id, "SIP/2.0 100 Trying", false);

        // The INVITE to the target, as `invite_with` builds a call's.
        let super::outbound::NewInvite {
            mut headers,
            branch,
            local_tag,
            sip_call_id,
        } = self.new_invite(peer, trunk_cfg.as_ref(), &user, &target);
        if let Some(by) = request.headers.get("Referred-By") {
            headers.push("Referred-By", by.to_string());
        }
        headers.push("Allow", super::outbound::ALLOW);
        self.offer_session_timer(&mut headers);
        headers.push(super::loops::LOOP_HEADER, id.to_string());
        headers.push("User-Agent", self.cfg.user_agent.clone());
        headers.push("Content-Type", "application/sdp");
        let invite = Request {
            method: Method::Invite,
            uri: request_uri,
            headers,
            body: sdp.clone().into_bytes(),
        };
        let mut leg = SipLeg::new(peer);
        leg.call_id = sip_call_id.clone();
        leg.local_tag = local_tag;
        leg.invite = Some(invite.clone());
        leg.invite_branch = Some(branch.clone());
        leg.local_sdp = Some(sdp);
        let call = self.calls.get_mut(id).expect("checked above");
        call.sip.transfer = Some(Box::new(Transfer {
            target,
            trunk: Some(trunk),
            leg: Some(leg),
            referrer: None,
            referrer_gone: false,
            asked: None,
        }));
        self.by_call_id.insert(sip_call_id, id.to_string());
        self.by_branch.insert(branch, id.to_string());
        let ring = Duration::from_secs(self.cfg.config.calls.ring_timeout_secs);
        self.timers
            .set((id.to_string(), CallTimer::Transfer), self.now + ring);
        self.tx.send_request(invite, peer, self.now);
        Ok(())
    }

    /// The trunk a Refer-To target is reached through, and the new
    /// INVITE's Request-URI.
    pub(crate) fn transfer_route(
        &self,
        id: &str,
        uri: &SipUri,
    ) -> Result<(String, String), Refusal> {
        let own = self.calls[id].trunk.clone();
        if uri.scheme != Scheme::Tel {
            let default_port = if uri.scheme == Scheme::Sips {
                5061
            } else {
                5060
            };
            let port = uri.port.unwrap_or(default_port);
            let host = uri.host.trim_matches(['[', ']']);
            let named = self.cfg.config.trunks.iter().find(|t| {
                let by_name =
                    t.host.trim_matches(['[', ']']).eq_ignore_ascii_case(host) && t.port == port;
                let by_addr = self.cfg.trunk_peers.get(&t.name).is_some_and(|ps| {
                    ps.iter()
                        .any(|p| p.addr.ip().to_string() == host && p.addr.port() == port)
                });
                by_name || by_addr
            });
            if let Some(t) = named {
                let mut direct = uri.clone();
                direct.headers.clear();
                return Ok((t.name.clone(), direct.to_string()));
            }
        }
        let Some(user) = uri.user.as_deref().filter(|u| !u.is_empty()) else {
            return Err((403, "the transfer target is not reachable through a trunk"));
        };
        let Some(trunk) = own.and_then(|n| self.cfg.config.trunks.iter().find(|t| t.name == n))
        else {
            return Err((403, "the transfer target is not reachable through a trunk"));
        };
        let number = crate::address::percent_decode(user)
            .ok()
            .and_then(|u| crate::address::normalize_number(&u));
        let request_uri = match number {
            Some(n) => crate::address::number_request_uri(&n, &trunk.hostport()),
            None => format!("sip:{user}@{}", trunk.hostport()),
        };
        Ok((trunk.name.clone(), request_uri))
    }

    /// A NOTIFY of the refer subscription to the transferor: `sipfrag` is
    /// the status line of the transfer's progress; `last` terminates it.
    /// It goes in the transferor's dialog: the call's, before the switch.
    fn notify_referrer(&mut self, id: &str, sipfrag: &str, last: bool) {
        let state = if last {
            "terminated;reason=noresource"
        } else {
            "active;expires=60"
        };
        let body = format!("{sipfrag}\r\n").into_bytes();
        let fill = |r: &mut Request| {
            r.headers.push("Event", "refer");
            r.headers.push("Subscription-State", state);
            r.headers
                .push("Content-Type", "message/sipfrag;version=2.0");
            r.body = body;
        };
        self.send_in_dialog_with(id, Method::Notify, Purpose::Notify, fill);
    }

    /// A response to a transfer's INVITE; true when `branch` was one.
    pub(crate) fn transfer_response(&mut self, branch: &str, response: &Response) -> bool {
        if let Some(id) = self.asked_transfer_of_branch(branch) {
            self.refer_answered(&id, branch, response.status);
            return true;
        }
        let Some(id) = self.transfer_of_branch(branch) else {
            return false;
        };
        match response.status {
            100..=199 => {}
            200..=299 => self.transfer_answered(&id, response),
            401 | 407 if self.retry_transfer_with_auth(&id, response) => {}
            status => {
                tracing::info!(call = %id, status, "transfer target refused");
                self.transfer_failed(&id, status);
            }
        }
        true
    }

    /// A 401/407 to the target's INVITE: sent again with the target
    /// trunk's credentials (once per nonce, as the call's own INVITE).
    fn retry_transfer_with_auth(&mut self, id: &str, response: &Response) -> bool {
        let Some(t) = self.calls.get(id).and_then(|c| c.sip.transfer.as_ref()) else {
            return false;
        };
        let trunk = t.trunk.clone();
        let Some(leg) = t.leg.as_ref() else {
            return false;
        };
        let (Some(mut invite), Some(old_branch), attempts, peer) = (
            leg.invite.clone(),
            leg.invite_branch.clone(),
            leg.auth_attempts,
            leg.peer,
        ) else {
            return false;
        };
        if !self.authorize_request(id, trunk.as_deref(), response, &mut invite, attempts) {
            return false;
        }
        let branch = self.branch();
        let seq = invite.headers.cseq().map_or(1, |c| c.seq) + 1;
        invite
            .headers
            .set("Via", self.our_via(peer.transport, &branch));
        invite.headers.set("CSeq", format!("{seq} INVITE"));
        let leg = self
            .calls
            .get_mut(id)
            .and_then(|c| c.sip.transfer.as_mut())
            .and_then(|t| t.leg.as_mut())
            .expect("checked above");
        leg.invite = Some(invite.clone());
        leg.invite_branch = Some(branch.clone());
        leg.auth_attempts += 1;
        self.by_branch.remove(&old_branch);
        self.by_branch.insert(branch, id.to_string());
        tracing::info!(call = %id, "transfer INVITE re-sent with credentials");
        self.tx.send_request(invite, peer, self.now);
        true
    }

    /// Timer B of a transfer's INVITE; true when `branch` was one.
    pub(crate) fn transfer_timed_out(&mut self, branch: &str) -> bool {
        if let Some(id) = self.asked_transfer_of_branch(branch) {
            self.refer_answered(&id, branch, 408);
            return true;
        }
        let Some(id) = self.transfer_of_branch(branch) else {
            return false;
        };
        tracing::info!(call = %id, "transfer target did not answer");
        self.transfer_failed(&id, 408);
        true
    }

    /// The call whose pending transfer INVITE used `branch`.
    fn transfer_of_branch(&self, branch: &str) -> Option<String> {
        let id = self.by_branch.get(branch)?;
        let leg = self.calls.get(id)?.sip.transfer.as_ref()?.leg.as_ref()?;
        (leg.invite_branch.as_deref() == Some(branch)).then(|| id.clone())
    }

    /// The target answered: ACK, final NOTIFY, and the call's SIP leg
    /// becomes the new dialog; the anchor sends its media there.
    fn transfer_answered(&mut self, id: &str, response: &Response) {
        let Some(leg) = self.calls[id]
            .sip
            .transfer
            .as_ref()
            .and_then(|t| t.leg.clone())
        else {
            return;
        };
        let Some(invite) = leg.invite.as_ref() else {
            return;
        };
        let Some(mut dialog) = Dialog::from_uac(invite, response, leg.peer) else {
            tracing::warn!(call = %id, "transfer target's 2xx without usable dialog headers");
            self.transfer_failed(id, 502);
            return;
        };
        let ack_branch = self.branch();
        let sent_by = self.sent_by(dialog.peer.transport).to_string();
        let ua = self.cfg.user_agent.clone();
        let mut ack = dialog.ack(dialog.local_cseq, &origin(&sent_by, &ack_branch, &ua));
        // RFC 3261 §13.2.2.4: the ACK carries the INVITE's credentials.
        for name in ["Authorization", "Proxy-Authorization"] {
            for v in invite.headers.get_all(name) {
                ack.headers.push(name, v.to_string());
            }
        }
        self.tx.send_request(ack, dialog.next_hop(), self.now);
        if response.body.is_empty() {
            // Our INVITE carried the offer: a 2xx must answer it.
            tracing::warn!(call = %id, "transfer target's 2xx has no SDP answer: hung up");
            let bye_branch = self.branch();
            let bye = dialog.request(Method::Bye, &origin(&sent_by, &bye_branch, &ua));
            self.tx.send_request(bye, dialog.next_hop(), self.now);
            self.transfer_failed(id, 488);
            return;
        }
        let referrer_gone = self.calls[id]
            .sip
            .transfer
            .as_ref()
            .is_some_and(|t| t.referrer_gone);
        // The final NOTIFY, in the transferor's dialog (still the call's),
        // even when it hung up already: RFC 5057 lets the subscription
        // outlive the INVITE usage.
        self.notify_referrer(id, "SIP/2.0 200 OK", true);
        let sdp = String::from_utf8_lossy(&response.body).into_owned();
        let old_call_id;
        {
            let call = self.calls.get_mut(id).expect("checked above");
            let mut transfer = call.sip.transfer.take().expect("checked above");
            let mut new_leg = transfer.leg.take().expect("checked above");
            new_leg.session_timer = super::session_timer::negotiate_uac(response);
            new_leg.provisional = true;
            new_leg.dialog = Some(dialog);
            let old = std::mem::replace(&mut call.sip, new_leg);
            old_call_id = old.call_id.clone();
            call.trunk = transfer.trunk.clone();
            if !referrer_gone {
                transfer.referrer = old.dialog;
                call.sip.transfer = Some(transfer);
            }
            if let Some(media) = call.media.as_mut() {
                // The SIP half of the anchored exchange is the target's now.
                for half in [media.offer.as_mut(), media.answer.as_mut()]
                    .into_iter()
                    .flatten()
                {
                    if half.from == MediaLeg::Sip {
                        half.given = sdp.clone();
                    }
                }
            }
        }
        if referrer_gone {
            self.by_call_id.remove(&old_call_id);
            self.timers.cancel(&(id.to_string(), CallTimer::Transfer));
        } else {
            self.timers.set(
                (id.to_string(), CallTimer::Transfer),
                self.now + REFERRER_BYE_GRACE,
            );
        }
        if let Some(mode) = self.calls[id].media.as_ref().map(|m| m.mode) {
            self.out.push_back(Output::MediaUpdate {
                call: id.to_string(),
                leg: MediaLeg::Sip,
                sdp,
                offer: false,
                mode,
            });
        }
        tracing::info!(call = %id, "transfer completed: the SIP leg is the target's dialog");
        // The old dialog's session timer goes with it; the new one's starts.
        for t in [CallTimer::SessionRefresh, CallTimer::SessionExpiry] {
            self.timers.cancel(&(id.to_string(), t));
        }
        self.arm_session_timer(id);
        self.persist(id, PersistKind::Modified);
    }

    /// The transfer failed with `status`: the transferor hears it and the
    /// call goes on; without a transferor any more, the call ends.
    fn transfer_failed(&mut self, id: &str, status: u16) {
        let Some(transfer) = self.calls.get_mut(id).and_then(|c| c.sip.transfer.take()) else {
            return;
        };
        self.timers.cancel(&(id.to_string(), CallTimer::Transfer));
        if let Some(leg) = &transfer.leg {
            self.by_call_id.remove(&leg.call_id);
            if let Some(b) = &leg.invite_branch {
                self.by_branch.remove(b);
            }
        }
        let line = format!("SIP/2.0 {status} {}", super::reasons::phrase(status));
        self.notify_referrer(id, &line, true);
        if transfer.referrer_gone {
            tracing::info!(call = %id, status, "transfer failed after the transferor hung up: call ends");
            let reason = super::reasons::reason_for_status(status).element_name();
            self.terminate_xmpp(id, reason, Some(&format!("transfer failed: {line}")));
            self.end_call(id, Side::Sip, Some(status));
        } else {
            tracing::info!(call = %id, status, "transfer failed: the call goes on");
        }
    }

    /// [`CallTimer::Transfer`]: the target rang too long (CANCEL it), or
    /// the transferor did not BYE its dialog after the transfer (we do).
    pub(crate) fn transfer_timer(&mut self, id: &str) {
        let Some(transfer) = self.calls.get(id).and_then(|c| c.sip.transfer.clone()) else {
            return;
        };
        if let Some(leg) = &transfer.leg {
            tracing::info!(call = %id, "transfer target did not answer in time: cancelling");
            self.cancel_transfer_invite(leg);
            return;
        }
        if let Some(call) = self.calls.get_mut(id) {
            call.sip.transfer = None;
        }
        if let Some(dialog) = transfer.referrer {
            tracing::info!(call = %id, "transferor kept its dialog: BYE");
            self.by_call_id.remove(&dialog.call_id);
            self.bye_referrer(id, dialog);
        }
    }

    /// Requests in the transferor's dialog that must not touch the call:
    /// its BYE during or after the transfer (200; the call goes on), and
    /// anything else once the call moved to the target (481). True when
    /// `request` was one.
    pub(crate) fn transfer_request(
        &mut self,
        id: &str,
        request: &Request,
        key: &ServerKey,
    ) -> bool {
        let Some(call) = self.calls.get(id) else {
            return false;
        };
        let Some(transfer) = call.sip.transfer.as_ref() else {
            return false;
        };
        let req_call_id = request.headers.get("Call-ID").unwrap_or_default();
        let tag_of = |name: &str| {
            request
                .headers
                .get(name)
                .and_then(|v| NameAddr::parse(v).ok())
                .and_then(|n| n.tag().map(str::to_string))
        };
        let in_dialog = |d: &Dialog| {
            d.call_id == req_call_id
                && tag_of("To").as_deref() == Some(d.local_tag.as_str())
                && (d.remote_tag.is_none() || tag_of("From") == d.remote_tag)
        };
        if let Some(referrer) = &transfer.referrer {
            // After the switch.
            if referrer.call_id != req_call_id {
                return false;
            }
            if request.method == Method::Bye && in_dialog(referrer) {
                tracing::info!(call = %id, "transferor hung up after the transfer");
                self.reply(key, request, 200, None);
                self.by_call_id.remove(req_call_id);
                self.timers.cancel(&(id.to_string(), CallTimer::Transfer));
                if let Some(c) = self.calls.get_mut(id) {
                    c.sip.transfer = None;
                }
            } else {
                self.reply(key, request, 481, None);
            }
            return true;
        }
        // Before the switch the transferor's dialog is the call's.
        let ours = call.sip.dialog.as_ref().is_some_and(in_dialog);
        if request.method != Method::Bye || !ours || transfer.leg.is_none() {
            return false;
        }
        tracing::info!(call = %id, "transferor hung up while the transfer is in progress");
        self.reply(key, request, 200, None);
        if let Some(t) = self.calls.get_mut(id).and_then(|c| c.sip.transfer.as_mut()) {
            t.referrer_gone = true;
        }
        true
    }

    /// The call ended: a pending transfer INVITE is cancelled and a
    /// transferor's dialog still open is hung up.
    pub(crate) fn forget_transfer(&mut self, call: &super::model::Call) {
        let Some(transfer) = call.sip.transfer.as_ref() else {
            return;
        };
        if let Some(b) = transfer.asked.as_ref().and_then(|a| a.branch.as_ref()) {
            self.by_branch.remove(b);
        }
        if let Some(leg) = &transfer.leg {
            self.by_call_id.remove(&leg.call_id);
            if let Some(b) = &leg.invite_branch {
                self.by_branch.remove(b);
            }
            self.cancel_transfer_invite(leg);
        }
        if let Some(dialog) = &transfer.referrer {
            self.by_call_id.remove(&dialog.call_id);
            if !transfer.referrer_gone {
                self.bye_referrer(&call.id, dialog.clone());
            }
        }
    }

    fn cancel_transfer_invite(&mut self, leg: &SipLeg) {
        let Some(invite) = leg.invite.as_ref() else {
            return;
        };
        let mut headers = Headers::default();
        for name in ["Via", "Max-Forwards", "From", "To", "Call-ID"] {
            if let Some(v) = invite.headers.get(name) {
                headers.push(name, v.to_string());
            }
        }
        let seq = invite.headers.cseq().map_or(1, |c| c.seq);
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
        self.tx.send_request(cancel, leg.peer, self.now);
    }

    fn bye_referrer(&mut self, id: &str, mut dialog: Dialog) {
        let branch = self.branch();
        let sent_by = self.sent_by(dialog.peer.transport).to_string();
        let ua = self.cfg.user_agent.clone();
        let bye = dialog.request(Method::Bye, &origin(&sent_by, &branch, &ua));
        let hop = dialog.next_hop();
        let trunk = self.calls.get(id).and_then(|c| c.trunk.clone());
        self.track_and_send(branch, id, trunk, bye, hop, Purpose::Bye, 0);
    }
}

fn origin<'a>(sent_by: &'a str, branch: &'a str, user_agent: &'a str) -> Origin<'a> {
    Origin {
        sent_by,
        branch,
        user_agent,
    }
}
