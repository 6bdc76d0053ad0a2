//! Adding and removing streams: XEP-0166 content-add / content-remove ⇄ a
//! re-INVITE with m= lines appended or set to port 0 (RFC 3264 §8.2), the
//! Jingle side of what `hold` does for directions. The state lives in the
//! same `HoldState` (one re-INVITE at a time carries both), so these go
//! through `hold_sync` too.
//!
//! In passthrough a content-add becomes a re-INVITE adding m= lines, its
//! answer content-accept (or content-reject for a stream answered with
//! port 0); anchored calls decline it, because the anchors relay only the
//! streams negotiated at set-up. content-remove ⇄ port 0 both ways;
//! removing the last stream ends the call (XEP-0166 voids a session without
//! contents).

use super::gateway::{CallTimer, Gateway, NS_JINGLE};
use super::hold::{content_el, creator_name, user_role};
use super::hold_sdp::streams;
use super::model::{CallDirection, CallState};
use crate::jingle::Jingle;
use crate::translate::Role;
use crate::xmpp::stanza;
use minidom::Element;

impl Gateway {
    /// content-add from the user. Passthrough: a re-INVITE with the new
    /// m= lines appended, answered later by content-accept or
    /// content-reject (`content_add_answered`). Anchored: declined with
    /// content-reject (IQ result first, as XEP-0166 asks), because the
    /// embedded anchor relays only the streams it negotiated at set-up.
    pub(crate) fn user_content_add(
        &mut self,
        call_id: &str,
        from: &str,
        to: &str,
        id: &str,
        jingle: &Jingle,
    ) {
        if !self.hold_mappable(call_id, from, to, id, "content-add")
            || self.crosses_ours(call_id, from, to, id, jingle)
        {
            return;
        }
        let call = &self.calls[call_id];
        if call.media.is_some() {
            self.ack(to, from, id);
            tracing::info!(call = %call_id, contents = jingle.contents.len(), "content-add declined: the anchor's streams are fixed at set-up");
            let names: Vec<String> = jingle.contents.iter().map(|c| c.name.clone()).collect();
            self.reject_contents(
                call_id,
                &names,
                "failed-application",
                "the media anchor relays only the streams negotiated at call set-up",
            );
            return;
        }
        let busy = self.refresh_in_flight(call_id)
            || self
                .timers
                .get(&(call_id.to_string(), CallTimer::HoldRetry))
                .is_some()
            // One waiting for the ACK of our 200 (an `adding` left from
            // before a restart, with nothing in flight, does not count).
            || (!call.sip.hold.adding.is_empty() && call.state != CallState::Active);
        if busy {
            // Our re-INVITE awaits its answer: the user's request crosses it.
            tracing::info!(call = %call_id, "content-add while our re-INVITE is in flight: tie-break");
            self.iq_fail(
                to,
                from,
                id,
                "cancel",
                "conflict",
                Some("tie-break"),
                "a renegotiation is in progress",
            );
            return;
        }
        let role = user_role(call.direction);
        let local = call.sip.local_sdp.clone().unwrap_or_default();
        let added = Jingle {
            contents: jingle.contents.clone(),
            ..Default::default()
        };
        let sections = match crate::translate::jingle_to_sdp(&added, role, &Default::default()) {
            Ok(t) => t
                .value
                .find("m=")
                .map(|i| t.value[i..].to_string())
                .unwrap_or_default(),
            Err(e) => {
                tracing::info!(call = %call_id, error = %e, "content-add cannot be translated");
                self.iq_fail(to, from, id, "modify", "bad-request", None, &e.to_string());
                return;
            }
        };
        if sections.is_empty() {
            self.iq_fail(
                to,
                from,
                id,
                "modify",
                "bad-request",
                None,
                "no usable content",
            );
            return;
        }
        let first = streams(&local, false).len();
        let adding: Vec<(usize, String)> = jingle
            .contents
            .iter()
            .enumerate()
            .map(|(i, c)| (first + i, c.name.clone()))
            .collect();
        self.ack(to, from, id);
        tracing::info!(call = %call_id, contents = ?adding, "content-add: re-INVITE adding streams");
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        call.sip.hold.adding = adding;
        call.sip.hold.adding_sdp = sections;
        self.hold_sync(call_id);
    }

    /// The answer to a re-INVITE that carried the user's content-add (`None`:
    /// refused): content-accept with the SIP side's description of each
    /// stream it took, content-reject for the others (port 0).
    pub(super) fn content_add_answered(&mut self, call_id: &str, answer: Option<&str>) {
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        let adding = std::mem::take(&mut call.sip.hold.adding);
        call.sip.hold.adding_sdp.clear();
        if adding.is_empty() {
            return;
        }
        let (user_role, peer_role) = match call.direction {
            CallDirection::XmppToSip => (Role::Initiator, Role::Responder),
            CallDirection::SipToXmpp => (Role::Responder, Role::Initiator),
        };
        let theirs = answer.map(|a| streams(a, false)).unwrap_or_default();
        let translated = answer
            .and_then(|a| crate::translate::sdp_to_jingle(a, peer_role).ok())
            .map(|t| t.value);
        let mut accepted = Vec::new();
        let mut rejected = Vec::new();
        for (i, name) in adding {
            let found = theirs
                .get(i)
                .filter(|s| s.direction.is_some())
                .and_then(|s| {
                    let contents = &translated.as_ref()?.contents;
                    match &s.mid {
                        Some(mid) => contents.iter().find(|c| &c.name == mid),
                        None => {
                            let live = theirs[..i].iter().filter(|s| s.direction.is_some()).count();
                            contents.get(live)
                        }
                    }
                    .cloned()
                });
            match found {
                Some(mut content) => {
                    if !call.sip.hold.added.contains(&name) {
                        call.sip.hold.added.push(name.clone());
                    }
                    content.name = name;
                    content.creator = match user_role {
                        Role::Initiator => crate::jingle::Creator::Initiator,
                        Role::Responder => crate::jingle::Creator::Responder,
                    };
                    accepted.push(content);
                }
                None => rejected.push(name),
            }
        }
        if !accepted.is_empty() {
            tracing::info!(call = %call_id, contents = accepted.len(), "content-add accepted by SIP");
            let payload = Jingle {
                contents: accepted,
                ..Default::default()
            };
            let el = super::outbound::xml_to_element(
                &crate::jingle::jingle_element(&payload).to_compact_string(),
            );
            let children = el.children().cloned().collect();
            self.send_to_user(call_id, "content-accept", children);
        }
        if !rejected.is_empty() {
            tracing::info!(call = %call_id, contents = ?rejected, "content-add refused by SIP");
            self.reject_contents(
                call_id,
                &rejected,
                "failed-application",
                "the SIP peer declined the stream",
            );
        }
    }

    /// content-reject for `names`, with a reason.
    pub(super) fn reject_contents(
        &mut self,
        call_id: &str,
        names: &[String],
        condition: &str,
        why: &str,
    ) {
        // The contents of a content-add are the user's.
        let creator = self
            .calls
            .get(call_id)
            .map_or("initiator", |c| creator_name(user_role(c.direction)));
        let mut children: Vec<Element> = names.iter().map(|n| content_el(n, creator)).collect();
        let mut reason = stanza::el("reason", NS_JINGLE);
        reason.append_child(stanza::el(condition, NS_JINGLE));
        let mut text = stanza::el("text", NS_JINGLE);
        text.append_text(why);
        reason.append_child(text);
        children.push(reason);
        self.send_to_user(call_id, "content-reject", children);
    }

    /// content-remove from the user: a re-INVITE with those streams' port
    /// 0 (RFC 3264 §8.2). Removing the last one ends the call (XEP-0166: a
    /// session without contents is void).
    pub(crate) fn user_content_remove(
        &mut self,
        call_id: &str,
        from: &str,
        to: &str,
        id: &str,
        jingle: &Jingle,
    ) {
        if !self.hold_mappable(call_id, from, to, id, "content-remove")
            || self.crosses_ours(call_id, from, to, id, jingle)
        {
            return;
        }
        let call = &self.calls[call_id];
        let local = streams(call.sip.local_sdp.as_deref().unwrap_or_default(), false);
        let mut indices = Vec::new();
        for content in &jingle.contents {
            let Some(i) = local
                .iter()
                .position(|s| s.mid.as_deref() == Some(content.name.as_str()))
            else {
                tracing::info!(call = %call_id, content = %content.name, "content-remove for no such content");
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
            indices.push(i);
        }
        let removed = &call.sip.hold.removed;
        let left = local
            .iter()
            .enumerate()
            .filter(|(i, s)| s.direction.is_some() && !indices.contains(i) && !removed.contains(i))
            .count();
        self.ack(to, from, id);
        if left == 0 {
            tracing::info!(call = %call_id, "content-remove of every stream: ending the call");
            self.hangup_sip(call_id);
            self.terminate_xmpp(call_id, "success", Some("no content left"));
            self.end_call(call_id, super::model::Side::Xmpp, None);
            return;
        }
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        tracing::info!(call = %call_id, streams = ?indices, "content-remove from XMPP");
        for i in indices {
            if !call.sip.hold.removed.contains(&i) {
                call.sip.hold.removed.push(i);
            }
        }
        self.hold_sync(call_id);
    }
}
