//! Hold, resume, mute and content-modify between Jingle and SIP
//! (draft-ietf-stox-media §7, mapping digest §2a/§2b, checklist 9, 10, 22).
//!
//! **XMPP → SIP.** session-info `<hold/>` from the user becomes a re-INVITE
//! with every stream `a=sendonly` (`a=inactive` while the SIP peer holds us:
//! mutual hold); `<unhold/>` or `<active/>` a re-INVITE back to `sendrecv`
//! (`recvonly` while the peer still holds us). content-modify with a changed
//! `senders` becomes a re-INVITE with that stream's direction, translated
//! from Jingle's absolute roles to the SDP writer's view: we write for the
//! XMPP user, who is the initiator of an outbound call and the responder of
//! an inbound one. `<mute/>`/`<unmute/>` are media-local: acknowledged,
//! nothing to SIP. Each re-INVITE is the SIP-facing SDP we sent last
//! (`SipLeg.local_sdp`, the anchor's when anchored) with only the directions
//! changed and the o= version one higher (RFC 3264 §8); it becomes
//! `local_sdp` at its 2xx. One re-INVITE at a time: what the user asks for
//! meanwhile is coalesced into the latest wanted state, sent when the one in
//! flight completes. 491 backs off (RFC 3261 §14.1: 2.1–4 s when we own the
//! Call-ID, else 0–2 s) and tries again; any other refusal leaves the call as
//! it was, logged.
//!
//! **SIP → XMPP.** A re-INVITE or UPDATE whose offer has no stream the peer
//! receives on (`sendonly`, `inactive`, or RFC 2543's `c=0.0.0.0`) tells the
//! user session-info `<hold/>`; the first offer after that which receives
//! again tells `<active/>`. `<active/>` rather than `<unhold/>`: XEP-0167 §7
//! defines `<active/>` for the whole session after any hold or mute, and
//! every client that knows `<hold/>` knows it (`<unhold/>` is the later
//! addition that older clients ignore). The answer gets the RFC 3264 §6.1
//! direction — the offer's mirror, less what our own hold withholds.
//!
//! **Glare.** A SIP re-offer while our re-INVITE is in flight gets 491
//! (`glare()` counts hold re-INVITEs); our re-INVITE answered 491 backs off.
//! On the Jingle side a hold or content-modify before the call is answered
//! gets `<unexpected-request/>` + `<out-of-order/>`. XEP-0166's
//! `<conflict/>` + `<tie-break/>` is Jingle's 491 — the answer to a request
//! that crosses one of ours awaiting its answer: a user's content-* naming a
//! content whose removal by the SIP peer we are still telling them about
//! gets it (that removal is answered on the SIP side, so ours cannot yield).
//! Hold changes from SIP travel as session-info, which negotiates nothing,
//! and the user's own changes are serialised toward SIP as above.
//!
//! **Streams** (`call::content`). content-remove ⇄ the stream's m= port 0 (RFC 3264 §8.2),
//! both ways. In passthrough a content-add becomes a re-INVITE adding m=
//! lines, its answer content-accept (or content-reject); anchored calls
//! decline it, because the embedded anchor relays only the streams it
//! negotiated at set-up. A SIP re-offer adding a stream gets it at port 0
//! in both modes: mapping it to content-add would hold the re-INVITE's 200
//! until the user's content-accept, which is not built.

use super::gateway::{CallTimer, Gateway, IqPurpose, NS_JINGLE};
use super::hold_sdp::{
    Stream, answer_to, bump, flags, from_flags, streams, with_directions, with_port_zero,
};
use super::in_dialog::Purpose;
use super::io::{Output, PersistKind};
use super::model::{CallDirection, CallState};
use crate::jingle::{Jingle, Senders};
use crate::media::anchor::MediaLeg;
use crate::sip::header::{MIN_SE_SECS, Refresher, SessionExpires};
use crate::sip::message::{Method, Request, Response};
use crate::translate::{Direction, Role, direction_from_senders};
use crate::xmpp::stanza;
use minidom::Element;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// XEP-0167 §7 informational payloads.
const NS_RTP_INFO: &str = crate::jingle::ns::RTP_INFO;

/// A call's hold and direction state: plain data, stored with the call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldState {
    /// The XMPP user holds the call (session-info `<hold/>`, until
    /// `<unhold/>` or `<active/>`).
    #[serde(default)]
    pub held_by_user: bool,
    /// `senders` the user set with content-modify, by content name
    /// (`*`: the call's only stream, whatever its name in the SDP).
    #[serde(default)]
    pub senders: Vec<(String, Senders)>,
    /// The SIP peer holds us: its last offer had no stream it receives on.
    #[serde(default)]
    pub held_by_peer: bool,
    /// The offer of our re-INVITE in flight; `local_sdp` at its 2xx.
    #[serde(default)]
    pub offered: Option<String>,
    /// A change waits for the re-INVITE in flight (or its 491 back-off).
    #[serde(default)]
    pub queued: bool,
    /// m= lines (by index) the user removed with content-remove: port 0
    /// in our next offer.
    #[serde(default)]
    pub removed: Vec<usize>,
    /// Our content-remove requests to the user (IQ id, content name): while
    /// one is unanswered, a request of the user's about that content
    /// crosses it (tie-break).
    #[serde(default)]
    pub removing: Vec<(String, String)>,
    /// Passthrough: the user's content-add in progress, as (m= index,
    /// content name) of the streams it adds.
    #[serde(default)]
    pub adding: Vec<(usize, String)>,
    /// Their m= sections, appended to our next offer until it is answered.
    #[serde(default)]
    pub adding_sdp: String,
    /// Contents the user added and the SIP side took: hers (`creator`), not
    /// the initiator's like the set-up ones.
    #[serde(default)]
    pub added: Vec<String>,
}

/// What a SIP re-offer changes, worked out before anything is sent.
pub(crate) struct Reoffer {
    /// The SDP for the 2xx (`None`: an UPDATE without offer gets none).
    pub sdp: Option<String>,
    /// Whether the peer now holds us (`None`: no offer, nothing learnt).
    pub peer_holds: Option<bool>,
    /// Jingle contents whose stream the peer removed (port 0).
    pub removed: Vec<String>,
}

/// Whether a session-info carries an RTP payload this module maps.
pub(crate) fn is_rtp_info(jingle: &Element) -> bool {
    jingle.children().any(|c| {
        c.ns() == NS_RTP_INFO
            && matches!(c.name(), "hold" | "unhold" | "active" | "mute" | "unmute")
    })
}

/// The Jingle role the XMPP user has in the call.
pub(super) fn user_role(direction: CallDirection) -> Role {
    match direction {
        CallDirection::XmppToSip => Role::Initiator,
        CallDirection::SipToXmpp => Role::Responder,
    }
}

impl HoldState {
    /// Whether the user wants to send and receive on `stream`.
    fn wish(&self, stream: &Stream, role: Role) -> (bool, bool) {
        let senders = self
            .senders
            .iter()
            .find(|(name, _)| name == "*" || Some(name.as_str()) == stream.mid.as_deref())
            .map(|(_, s)| *s);
        let (send, recv) = senders.map_or((true, true), |s| flags(direction_from_senders(s, role)));
        (send, recv && !self.held_by_user)
    }

    /// The directions our next offer gives the streams of `local`.
    fn offer(&self, local: &[Stream], role: Role) -> Vec<Option<Direction>> {
        local
            .iter()
            .map(|s| {
                s.direction.map(|_| {
                    let (send, recv) = self.wish(s, role);
                    from_flags(send && !self.held_by_peer, recv)
                })
            })
            .collect()
    }
}

impl Gateway {
    /// session-info `<hold/>`, `<unhold/>`, `<active/>`, `<mute/>`,
    /// `<unmute/>` from the call's user.
    pub(crate) fn user_session_info(
        &mut self,
        call_id: &str,
        from: &str,
        to: &str,
        id: &str,
        jingle: &Element,
    ) {
        let Some(payload) = jingle
            .children()
            .find(|c| c.ns() == NS_RTP_INFO)
            .map(|c| c.name().to_string())
        else {
            return;
        };
        if matches!(payload.as_str(), "mute" | "unmute") {
            // Muting is the device's business: no SIP signalling for it.
            tracing::debug!(call = %call_id, %payload, "session-info acknowledged (media-local)");
            self.ack(to, from, id);
            return;
        }
        if !self.hold_mappable(call_id, from, to, id, &payload) {
            return;
        }
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        call.sip.hold.held_by_user = payload == "hold";
        tracing::info!(call = %call_id, %payload, "hold state from XMPP");
        self.ack(to, from, id);
        self.hold_sync(call_id);
    }

    /// content-modify from the call's user: a changed `senders` becomes a
    /// re-INVITE with the mapped direction.
    pub(crate) fn user_content_modify(
        &mut self,
        call_id: &str,
        from: &str,
        to: &str,
        id: &str,
        jingle: &Jingle,
    ) {
        if !self.hold_mappable(call_id, from, to, id, "content-modify")
            || self.crosses_ours(call_id, from, to, id, jingle)
        {
            return;
        }
        let call = &self.calls[call_id];
        let local = streams(call.sip.local_sdp.as_deref().unwrap_or_default(), false);
        let live: Vec<&Stream> = local.iter().filter(|s| s.direction.is_some()).collect();
        let mut changes = Vec::new();
        for content in &jingle.contents {
            let Some(senders) = content.senders else {
                continue;
            };
            let key = if local
                .iter()
                .any(|s| s.mid.as_deref() == Some(content.name.as_str()))
            {
                content.name.clone()
            } else if live.len() == 1 {
                // One stream, named otherwise in the SDP (a client's
                // content name the anchor did not keep): it is that one.
                "*".to_string()
            } else {
                tracing::info!(call = %call_id, content = %content.name, "content-modify for no such content");
                self.iq_fail(
                    to,
                    from,
                    id,
                    "cancel",
                    "item-not-found",
                    None,
                    "no such content",
                );
                return;
            };
            changes.push((key, senders));
        }
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        for (key, senders) in changes {
            tracing::info!(call = %call_id, content = %key, ?senders, "content-modify from XMPP");
            call.sip.hold.senders.retain(|(k, _)| k != &key);
            call.sip.hold.senders.push((key, senders));
        }
        self.ack(to, from, id);
        self.hold_sync(call_id);
    }

    /// Whether the user's request about `jingle`'s contents crosses a
    /// content-remove of ours still unanswered (the SIP peer removed the
    /// stream and has its 200 already, so ours cannot yield): if so the IQ
    /// gets `<conflict/>` + `<tie-break/>` (XEP-0166, checklist 22).
    pub(super) fn crosses_ours(
        &mut self,
        call_id: &str,
        from: &str,
        to: &str,
        id: &str,
        jingle: &Jingle,
    ) -> bool {
        let Some(call) = self.calls.get_mut(call_id) else {
            return false;
        };
        let iqs = &self.iqs;
        call.sip
            .hold
            .removing
            .retain(|(iq, _)| iqs.contains_key(iq));
        let crossing = jingle
            .contents
            .iter()
            .find(|c| call.sip.hold.removing.iter().any(|(_, n)| n == &c.name));
        let Some(content) = crossing else {
            return false;
        };
        tracing::info!(call = %call_id, content = %content.name, "user's request crosses our content-remove: tie-break");
        self.iq_fail(
            to,
            from,
            id,
            "cancel",
            "conflict",
            Some("tie-break"),
            "the content is being removed by the other party",
        );
        true
    }

    /// Whether the call is where a hold or content-modify can be mapped to
    /// SIP; if not, the IQ gets `<unexpected-request/>` + `<out-of-order/>`.
    pub(super) fn hold_mappable(
        &mut self,
        call_id: &str,
        from: &str,
        to: &str,
        id: &str,
        what: &str,
    ) -> bool {
        let Some(call) = self.calls.get(call_id) else {
            return false;
        };
        // Accepted: answered for XMPP, the SIP ACK still to come; the
        // change waits for it (`hold_on_answer`).
        let answered = matches!(call.state, CallState::Active | CallState::Accepted);
        let anchoring = call.media.as_ref().is_some_and(|m| m.pending.is_some());
        if answered && !anchoring && call.sip.local_sdp.is_some() {
            return true;
        }
        tracing::info!(call = %call_id, what, state = ?call.state, "hold/content-modify before the call is answered: out of order");
        self.iq_fail(
            to,
            from,
            id,
            "cancel",
            "unexpected-request",
            Some("out-of-order"),
            "the call is not answered yet",
        );
        false
    }

    /// The call became answered (the ACK of our 2xx): a change the user
    /// asked for meanwhile goes now.
    pub(crate) fn hold_on_answer(&mut self, call_id: &str) {
        if self.calls.get(call_id).is_some_and(|c| c.sip.hold.queued) {
            self.hold_sync(call_id);
        }
    }

    /// Brings the SIP session to the directions the call's state wants: a
    /// re-INVITE when they differ from what we sent last, unless one is in
    /// flight (then the change is queued behind it).
    pub(crate) fn hold_sync(&mut self, call_id: &str) {
        let busy = self.refresh_in_flight(call_id)
            || self
                .timers
                .get(&(call_id.to_string(), CallTimer::HoldRetry))
                .is_some();
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        if busy || call.state != CallState::Active || call.sip.dialog.is_none() {
            call.sip.hold.queued = true;
            return;
        }
        call.sip.hold.queued = false;
        let Some(local) = call.sip.local_sdp.clone() else {
            return;
        };
        let role = user_role(call.direction);
        let mut base = local.clone();
        for &i in &call.sip.hold.removed {
            if streams(&base, false)
                .get(i)
                .is_some_and(|s| s.direction.is_some())
            {
                base = with_port_zero(&base, i);
            }
        }
        if let Some((first, _)) = call.sip.hold.adding.first()
            && streams(&base, false).len() == *first
        {
            base.push_str(&call.sip.hold.adding_sdp);
        }
        let wanted = call.sip.hold.offer(&streams(&base, false), role);
        let offer = match with_directions(&base, &wanted) {
            Some(offer) => offer,
            None if base != local => bump(&base),
            None => {
                tracing::debug!(call = %call_id, "directions already as wanted: no re-INVITE");
                return;
            }
        };
        call.sip.hold.offered = Some(offer.clone());
        let timer = call.sip.session_timer;
        tracing::info!(call = %call_id, directions = ?wanted, "re-INVITE with new directions");
        self.send_in_dialog_with(call_id, Method::Invite, Purpose::Hold, |r| {
            r.headers.push("Supported", super::session_timer::SUPPORTED);
            if let Some(t) = timer {
                // Also a session refresh; who refreshes does not change.
                let refresher = if t.we_refresh {
                    Refresher::Uac
                } else {
                    Refresher::Uas
                };
                let se = SessionExpires {
                    secs: t.interval,
                    refresher: Some(refresher),
                };
                r.headers.push("Session-Expires", se.to_string());
                r.headers.push("Min-SE", MIN_SE_SECS.to_string());
            }
            r.headers.push("Content-Type", "application/sdp");
            r.body = offer.into_bytes();
        });
    }

    /// The final response to our hold re-INVITE (a 2xx is ACKed already).
    pub(crate) fn hold_answered(&mut self, call_id: &str, response: &Response) {
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        let offered = call.sip.hold.offered.take();
        match response.status {
            200..=299 => {
                if let Some(mut offer) = offered {
                    // A stream the answer rejects (port 0) stays rejected in
                    // later offers (RFC 3264 §8.2), not offered again.
                    let answer = streams(&String::from_utf8_lossy(&response.body), false);
                    let ours = streams(&offer, false);
                    for (i, (o, a)) in ours.iter().zip(&answer).enumerate() {
                        if o.direction.is_some() && a.direction.is_none() {
                            offer = with_port_zero(&offer, i);
                        }
                    }
                    call.sip.local_sdp = Some(offer);
                }
                tracing::info!(call = %call_id, "re-INVITE accepted: directions changed");
                if let Some(mode) = call.media.as_ref().map(|m| m.mode)
                    && !response.body.is_empty()
                {
                    self.out.push_back(Output::MediaUpdate {
                        call: call_id.to_string(),
                        leg: MediaLeg::Sip,
                        sdp: String::from_utf8_lossy(&response.body).into_owned(),
                        offer: false,
                        mode,
                    });
                }
                self.persist(call_id, PersistKind::Modified);
                self.refresh_succeeded(call_id, response);
                let answer = String::from_utf8_lossy(&response.body).into_owned();
                self.content_add_answered(call_id, Some(&answer));
            }
            491 => {
                call.sip.hold.queued = true;
                let owner = call.direction == CallDirection::XmppToSip;
                let ms = if owner {
                    rand::Rng::random_range(&mut self.rng, 2100..=4000)
                } else {
                    rand::Rng::random_range(&mut self.rng, 0..=2000)
                };
                tracing::info!(call = %call_id, wait_ms = ms, "re-INVITE met glare (491): retrying");
                let at = self.now + Duration::from_millis(ms);
                self.timers
                    .set((call_id.to_string(), CallTimer::HoldRetry), at);
                return;
            }
            408 | 481 => {
                tracing::warn!(call = %call_id, status = response.status, "dialog gone at the SIP peer: ending the call");
                self.dialog_lost(call_id, response.status);
                return;
            }
            status => {
                tracing::warn!(call = %call_id, status, "re-INVITE refused: the call goes on as before");
                self.content_add_answered(call_id, None);
            }
        }
        self.after_reinvite(call_id);
    }

    /// Our re-INVITE or refresh completed: a session refresh skipped
    /// meanwhile is rescheduled, and a queued change goes out.
    pub(crate) fn after_reinvite(&mut self, call_id: &str) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        let refresh_lost = call.sip.session_timer.is_some_and(|t| t.we_refresh)
            && self
                .timers
                .get(&(call_id.to_string(), CallTimer::SessionRefresh))
                .is_none();
        let queued = call.sip.hold.queued;
        if refresh_lost {
            self.retry_refresh_later(call_id);
        }
        if queued {
            self.hold_sync(call_id);
        }
    }

    /// Works out the answer to a SIP re-INVITE or UPDATE: the RFC 3264 §6.1
    /// directions for an offer, our current offer for a re-INVITE without
    /// one. `Err` (for a 488) when the offer drops m= lines, which RFC 3264
    /// §8 forbids.
    pub(crate) fn plan_reoffer(&self, call_id: &str, request: &Request) -> Result<Reoffer, String> {
        let call = &self.calls[call_id];
        let Some(local) = call.sip.local_sdp.clone() else {
            return Ok(Reoffer {
                sdp: None,
                peer_holds: None,
                removed: Vec::new(),
            });
        };
        let role = user_role(call.direction);
        let hold = &call.sip.hold;
        let ours = streams(&local, false);
        if request.body.is_empty() {
            if request.method == Method::Update {
                return Ok(Reoffer {
                    sdp: None,
                    peer_holds: None,
                    removed: Vec::new(),
                });
            }
            // A re-INVITE without offer: ours goes in the 2xx.
            let sdp = with_directions(&local, &hold.offer(&ours, role)).unwrap_or(local);
            return Ok(Reoffer {
                sdp: Some(sdp),
                peer_holds: None,
                removed: Vec::new(),
            });
        }
        let offer = String::from_utf8_lossy(&request.body);
        let theirs = streams(&offer, true);
        if theirs.len() < ours.len() {
            return Err(format!(
                "re-offer has {} m= lines, the session {} (RFC 3264 §8)",
                theirs.len(),
                ours.len()
            ));
        }
        let directions: Vec<Option<Direction>> = ours
            .iter()
            .zip(&theirs)
            .map(|(o, t)| match (o.direction, t.direction) {
                (Some(_), Some(offered)) => {
                    let (send, recv) = hold.wish(o, role);
                    Some(answer_to(offered, send, recv))
                }
                _ => None,
            })
            .collect();
        // Streams the peer removed (port 0) get port 0 in the answer too
        // (RFC 3264 §6), and the user a content-remove.
        let dropped: Vec<usize> = ours
            .iter()
            .zip(&theirs)
            .enumerate()
            .filter(|(_, (o, t))| o.direction.is_some() && t.direction.is_none())
            .map(|(i, _)| i)
            .collect();
        let mut base = local.clone();
        for &i in &dropped {
            base = with_port_zero(&base, i);
        }
        let removed = dropped
            .iter()
            .filter_map(|&i| {
                ours[i].mid.clone().or_else(|| {
                    let media = call.xmpp.media.as_ref()?;
                    media.contents.get(i).map(|c| c.name.clone())
                })
            })
            .collect();
        let mut bumped = true;
        let mut sdp = with_directions(&base, &directions).unwrap_or_else(|| {
            bumped = false;
            base
        });
        // Streams the peer adds are declined (port 0, RFC 3264 §6): the
        // anchor relays only what it negotiated at set-up, and adding a
        // Jingle content is not mapped.
        let added: String = offer
            .split('\n')
            .map(|l| l.trim_end_matches('\r'))
            .filter_map(|l| l.strip_prefix("m="))
            .skip(ours.len())
            .map(|m| {
                let mut parts = m.split_whitespace();
                let media = parts.next().unwrap_or("audio");
                let rest: Vec<&str> = parts.skip(1).collect();
                format!("m={media} 0 {}\r\n", rest.join(" "))
            })
            .collect();
        sdp.push_str(&added);
        if !bumped && sdp != local {
            sdp = bump(&sdp);
        }
        let live: Vec<&Stream> = theirs.iter().filter(|s| s.direction.is_some()).collect();
        let peer_holds = !live.is_empty()
            && live
                .iter()
                .all(|s| s.direction.is_some_and(|d| !flags(d).1));
        Ok(Reoffer {
            sdp: Some(sdp),
            peer_holds: Some(peer_holds),
            removed,
        })
    }

    /// Carries out a planned answer: keeps it as `local_sdp`, and tells the
    /// user when the peer's hold began or ended. Returns the 2xx's SDP.
    pub(crate) fn apply_reoffer(&mut self, call_id: &str, plan: Reoffer) -> Option<String> {
        let call = self.calls.get_mut(call_id)?;
        let mut changed = false;
        if let Some(sdp) = &plan.sdp
            && call.sip.local_sdp.as_ref() != Some(sdp)
        {
            call.sip.local_sdp = Some(sdp.clone());
            changed = true;
        }
        let mut tell = None;
        if let Some(holds) = plan.peer_holds
            && holds != call.sip.hold.held_by_peer
        {
            call.sip.hold.held_by_peer = holds;
            changed = true;
            tell = Some(if holds { "hold" } else { "active" });
        }
        if let Some(what) = tell {
            tracing::info!(call = %call_id, what, "hold state from SIP");
            self.tell_user(call_id, what);
        }
        if !plan.removed.is_empty() {
            tracing::info!(call = %call_id, contents = ?plan.removed, "SIP removed streams: content-remove");
            let contents = plan
                .removed
                .iter()
                .map(|n| content_el(n, self.creator_of(call_id, n)))
                .collect();
            let id = self.send_to_user(call_id, "content-remove", contents);
            if let Some(call) = self.calls.get_mut(call_id) {
                for name in plan.removed {
                    call.sip.hold.removing.push((id.clone(), name));
                }
            }
        }
        if changed {
            self.persist(call_id, PersistKind::Modified);
        }
        plan.sdp
    }

    /// Who created the content `name`: the initiator for the set-up
    /// contents, the user for one she added later with content-add (on an
    /// inbound call, the responder).
    fn creator_of(&self, call_id: &str, name: &str) -> &'static str {
        match self.calls.get(call_id) {
            Some(call) if call.sip.hold.added.iter().any(|n| n == name) => {
                creator_name(user_role(call.direction))
            }
            _ => "initiator",
        }
    }

    /// Sends the user session-info with an XEP-0167 §7 payload.
    fn tell_user(&mut self, call_id: &str, what: &str) {
        self.send_to_user(call_id, "session-info", vec![stanza::el(what, NS_RTP_INFO)]);
    }

    /// Sends the user a Jingle `action` with `children`; the IQ's id.
    pub(super) fn send_to_user(
        &mut self,
        call_id: &str,
        action: &str,
        children: Vec<Element>,
    ) -> String {
        let Some(call) = self.calls.get(call_id) else {
            return String::new();
        };
        let initiator = match call.direction {
            CallDirection::XmppToSip => call.xmpp.user.clone(),
            CallDirection::SipToXmpp => call.xmpp.gateway.clone(),
        };
        let (from, to) = (call.xmpp.gateway.clone(), call.xmpp.user.clone());
        let mut payload = stanza::el("jingle", NS_JINGLE);
        stanza::set(&mut payload, "action", action);
        stanza::set(&mut payload, "sid", &call.xmpp.sid);
        stanza::set(&mut payload, "initiator", &initiator);
        for child in children {
            payload.append_child(child);
        }
        self.send_iq(call_id, &from, &to, payload, IqPurpose::Other)
    }
}

/// XEP-0166's name for a role, as a content's `creator`.
pub(super) fn creator_name(role: Role) -> &'static str {
    match role {
        Role::Initiator => "initiator",
        Role::Responder => "responder",
    }
}

/// A bare `<content creator=… name=…/>` naming one content (XEP-0166 §7.2:
/// creator and name identify it).
pub(super) fn content_el(name: &str, creator: &str) -> Element {
    let mut c = stanza::el("content", NS_JINGLE);
    stanza::set(&mut c, "creator", creator);
    stanza::set(&mut c, "name", name);
    c
}
