//! Stanzas from XMPP users: JMI messages and Jingle IQs, dispatched to the
//! outbound or inbound flow, with the XEP-0166 error conditions (checklist 22).

use super::gateway::{Gateway, IqPurpose, bare, localpart};
use super::model::{CallDirection, CallState};
use crate::jingle::{Jingle, parse_jingle};
use crate::xmpp::stanza::{self, JmiKind};
use minidom::Element;

impl Gateway {
    pub(crate) fn jmi(
        &mut self,
        from: &str,
        to: &str,
        kind: JmiKind,
        sid: &str,
        media: &[String],
        reason: Option<&str>,
    ) {
        let key = (bare(from).to_string(), sid.to_string());
        let call_id = self.by_sid.get(&key).cloned();
        match (kind, call_id) {
            (JmiKind::Propose, None) if self.refuse_looped_propose(from, to, sid) => {}
            (JmiKind::Propose, None) => self.outbound_propose(from, to, sid, media),
            (JmiKind::Propose, Some(_)) => {} // a duplicate (carbons, resend)
            (JmiKind::Retract, Some(id)) => self.outbound_user_hangup(&id, "cancel"),
            (JmiKind::Finish, Some(id)) => {
                let outbound = self.calls[&id].direction == CallDirection::XmppToSip;
                if outbound {
                    self.outbound_user_hangup(&id, reason.unwrap_or("success"));
                } else {
                    self.inbound_user_hangup(&id, reason);
                }
            }
            (JmiKind::Ringing, Some(id)) => self.inbound_ringing(&id, from),
            (JmiKind::Proceed, Some(id)) => self.inbound_proceed(&id, from),
            (JmiKind::Reject, Some(id)) => {
                if self.calls[&id].direction == CallDirection::SipToXmpp {
                    self.inbound_rejected(&id, from, reason);
                }
            }
            (JmiKind::Accept, _) => {} // the user's own devices' business
            (kind, None) => {
                tracing::debug!(from, sid, ?kind, "JMI message for no known call");
            }
        }
    }

    pub(crate) fn jingle_set(&mut self, from: &str, to: &str, id: &str, el: &Element) {
        let action = el.attr("action").unwrap_or_default().to_string();
        let Some(sid) = el.attr("sid").map(str::to_string) else {
            self.iq_fail(
                to,
                from,
                id,
                "modify",
                "bad-request",
                None,
                "jingle without sid",
            );
            return;
        };
        let jingle = match parse_jingle(&String::from(el)) {
            Ok(j) => j,
            Err(e) => {
                tracing::warn!(from, sid, error = %e, "malformed Jingle");
                self.event(super::io::CallEvent::Rejected {
                    what: "jingle-malformed",
                });
                self.iq_fail(to, from, id, "modify", "bad-request", None, &e.to_string());
                return;
            }
        };
        let key = (bare(from).to_string(), sid.clone());
        let call_id = self.by_sid.get(&key).cloned();
        let Some(call_id) = call_id else {
            if action == "session-initiate" {
                if !self.refuse_looped_initiate(from, to, id) {
                    self.outbound_initiate(from, to, id, &sid, jingle, None);
                }
            } else {
                self.event(super::io::CallEvent::Rejected {
                    what: "unknown-session",
                });
                self.unknown_session(to, from, id);
            }
            return;
        };
        let call = &self.calls[&call_id];
        // Only the device the session is with may act on it.
        if call.xmpp.initiated && call.xmpp.user != from {
            self.unknown_session(to, from, id);
            return;
        }
        let direction = call.direction;
        let state = call.state;
        let reason = reason_of(el);
        match (direction, action.as_str()) {
            (CallDirection::XmppToSip, "session-initiate") if state == CallState::Proposed => {
                self.outbound_initiate(from, to, id, &sid, jingle, Some(call_id));
            }
            (CallDirection::XmppToSip, "transport-info") => {
                self.ack(to, from, id);
                self.merge_candidates(&call_id, &jingle);
            }
            (CallDirection::SipToXmpp, "session-accept") if state == CallState::Initiating => {
                self.ack(to, from, id);
                self.inbound_accepted(&call_id, jingle);
            }
            (CallDirection::SipToXmpp, "transport-info") => {
                self.ack(to, from, id);
                self.merge_candidates(&call_id, &jingle);
            }
            (_, "session-terminate") => {
                self.ack(to, from, id);
                match direction {
                    CallDirection::XmppToSip => {
                        self.outbound_user_hangup(&call_id, reason.as_deref().unwrap_or("success"))
                    }
                    CallDirection::SipToXmpp => {
                        self.inbound_user_hangup(&call_id, reason.as_deref())
                    }
                }
            }
            (CallDirection::SipToXmpp, "session-info")
                if el.children().any(|c| c.name() == "ringing") =>
            {
                // A device called without JMI rings with XEP-0167 session-info.
                self.ack(to, from, id);
                self.inbound_ringing(&call_id, from);
            }
            (_, "session-info") if super::dtmf::carries_dtmf(el) => {
                // Issue 7: XEP-0181 DTMF toward SIP (`call::dtmf`).
                self.jingle_dtmf(&call_id, from, to, id, el);
            }
            // Hold, resume and mute (`call::hold`).
            (_, "session-info") if super::hold::is_rtp_info(el) => {
                self.user_session_info(&call_id, from, to, id, el);
            }
            (_, "content-modify") => self.user_content_modify(&call_id, from, to, id, &jingle),
            (_, "content-add") => self.user_content_add(&call_id, from, to, id, &jingle),
            (_, "content-remove") => self.user_content_remove(&call_id, from, to, id, &jingle),
            (_, "session-info") => {
                // Pings and payloads with no SIP counterpart (ringing from
                // an outbound caller, unknown namespaces): acknowledged.
                // Hold, mute and DTMF are the arms above.
                if el.children().next().is_some() {
                    tracing::debug!(call = %call_id, "session-info acknowledged, not mapped yet");
                }
                self.ack(to, from, id);
            }
            (_, "session-initiate" | "session-accept") => {
                self.iq_fail(
                    to,
                    from,
                    id,
                    "cancel",
                    "unexpected-request",
                    Some("out-of-order"),
                    "action out of order",
                );
            }
            (_, other) => {
                tracing::info!(call = %call_id, action = other, "Jingle action not supported yet");
                self.iq_fail(
                    to,
                    from,
                    id,
                    "cancel",
                    "feature-not-implemented",
                    Some("unsupported-info"),
                    "action not supported by this gateway",
                );
            }
        }
    }

    /// XEP-0166 §7.2 `<unknown-session/>`: the same answer whether the sid does
    /// not exist or belongs to someone else, so sids cannot be probed.
    fn unknown_session(&mut self, from: &str, to: &str, id: &str) {
        self.iq_fail(
            from,
            to,
            id,
            "cancel",
            "item-not-found",
            Some("unknown-session"),
            "no such session",
        );
    }

    pub(crate) fn ack(&mut self, from: &str, to: &str, id: &str) {
        self.send_stanza(stanza::iq_result(from, to, id));
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn iq_fail(
        &mut self,
        from: &str,
        to: &str,
        id: &str,
        kind: &str,
        condition: &str,
        jingle_condition: Option<&str>,
        text: &str,
    ) {
        self.send_stanza(stanza::iq_error(
            from,
            to,
            id,
            kind,
            condition,
            jingle_condition,
            Some(text),
        ));
    }

    /// Adds trickled candidates to the stored media and reschedules the
    /// "gathered" timer; end-of-candidates sends at once.
    pub(crate) fn merge_candidates(&mut self, call_id: &str, update: &Jingle) {
        let now = self.now;
        let quiet = self.cfg.trickle_quiet;
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        let gathering = matches!(
            call.state,
            CallState::Gathering | CallState::AnswerGathering
        );
        let Some(media) = call.xmpp.media.as_mut() else {
            return;
        };
        let mut complete = false;
        let mut added = 0usize;
        for content in &update.contents {
            let Some(crate::jingle::Transport::IceUdp(t)) = &content.transport else {
                continue;
            };
            complete |= t.end_of_candidates;
            let target = media
                .contents
                .iter_mut()
                .find(|c| c.name == content.name)
                .and_then(|c| match &mut c.transport {
                    Some(crate::jingle::Transport::IceUdp(ice)) => Some(ice),
                    _ => None,
                });
            if let Some(ice) = target {
                for cand in &t.candidates {
                    if !ice
                        .candidates
                        .iter()
                        .any(|c| c.id == cand.id && c.ip == cand.ip && c.port == cand.port)
                    {
                        ice.candidates.push(cand.clone());
                        added += 1;
                    }
                }
                ice.end_of_candidates |= t.end_of_candidates;
            }
        }
        if !gathering {
            if added > 0 || complete {
                // Trickle ICE toward SIP: RFC 8840 INFO (`call::trickle`).
                self.trickle_from_xmpp(call_id, update);
            }
            return;
        }
        let key = (call_id.to_string(), super::gateway::CallTimer::Gathered);
        if complete {
            self.timers.cancel(&key);
            self.gathered_now(call_id);
        } else if added > 0 {
            let deadline = self.timers.get(&key).unwrap_or(now + quiet);
            self.timers.set(key, deadline.min(now + quiet));
        }
    }

    /// Starts collecting candidates for `media`; sends at once when complete.
    pub(crate) fn start_gathering(&mut self, call_id: &str, deadline: std::time::Duration) {
        let now = self.now;
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        let media = call.xmpp.media.as_ref();
        let needs_wait = media.is_some_and(|m| {
            m.contents.iter().any(|c| match &c.transport {
                Some(crate::jingle::Transport::IceUdp(t)) => !t.end_of_candidates,
                _ => false,
            })
        });
        let has_candidates = media.is_some_and(|m| {
            m.contents.iter().all(|c| match &c.transport {
                Some(crate::jingle::Transport::IceUdp(t)) => !t.candidates.is_empty(),
                _ => true,
            })
        });
        // The embedded anchor is ICE-lite: it answers the client's checks
        // and needs none of its candidates, so the call goes on at once
        // (rtpengine is a full agent: it waits like passthrough).
        let lite_anchor = call
            .media
            .clone()
            .or_else(|| self.anchor_for(call.trunk.as_deref()))
            .is_some_and(|m| m.mode == crate::media::anchor::MediaMode::Embedded);
        let key = (call_id.to_string(), super::gateway::CallTimer::Gathered);
        if !needs_wait || lite_anchor || self.invite_without_gathering(call_id) {
            self.gathered_now(call_id);
            return;
        }
        let at = if has_candidates {
            now + self.cfg.trickle_quiet.min(deadline)
        } else {
            now + deadline
        };
        self.timers.set(key, at);
    }

    fn gathered_now(&mut self, call_id: &str) {
        match self.calls.get(call_id).map(|c| c.direction) {
            Some(CallDirection::XmppToSip) => self.send_invite(call_id),
            Some(CallDirection::SipToXmpp) => self.send_answer(call_id),
            None => {}
        }
    }

    pub(crate) fn new_call_id(&mut self) -> String {
        self.fresh(8)
    }

    /// The gateway JID a user is talking to, normalised to carry our resource.
    pub(crate) fn our_jid_for(&self, to: &str) -> String {
        self.gateway_jid(localpart(to))
    }

    pub(crate) fn send_iq_other(&mut self, call_id: &str, from: &str, to: &str, payload: Element) {
        self.send_iq(call_id, from, to, payload, IqPurpose::Other);
    }
}

/// The condition name inside `<reason/>`, if any.
pub(crate) fn reason_of(jingle: &Element) -> Option<String> {
    let reason = jingle.children().find(|c| c.name() == "reason")?;
    reason
        .children()
        .find(|c| c.name() != "text")
        .map(|c| c.name().to_string())
}
