//! Requests we send inside a dialog — BYE, PRACK, re-INVITE or UPDATE
//! session refreshes, and hold re-INVITEs (whose final responses
//! `call::hold` handles, once a 2xx is ACKed) — and what their final
//! responses mean:
//!
//! - 401 / 407: answered once per nonce with the trunk's credentials (a
//!   carrier that challenges BYE still gets its BYE, and the call's minutes
//!   stop being billed);
//! - 2xx to a re-INVITE: ACKed; to a refresh: the session timer restarts;
//! - 491 to a refresh (glare, RFC 3261 §14.1): retried after a random wait,
//!   2.1–4 s when we own the Call-ID, up to 2 s otherwise;
//! - 408 / 481 to a refresh or PRACK, or no response at all (RFC 5057 /
//!   RFC 4028 §10): the dialog is gone, so the call ends on both sides.
//!
//! Each is tracked by its branch until its final response or Timer F.

use super::gateway::{CallTimer, Gateway};
use super::model::CallDirection;
use crate::sip::dialog::Origin;
use crate::sip::message::{Method, Request, Response};
use crate::sip::peer::Peer;
use std::time::Duration;

/// Why we sent an in-dialog request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Hanging up.
    Bye,
    /// Acknowledging a reliable provisional (RFC 3262).
    Prack,
    /// An RFC 4028 session refresh (re-INVITE or UPDATE).
    Refresh,
    /// Trickled candidates (RFC 8840 INFO), one at a time.
    Trickle,
    /// Issue 7: an INFO carrying a digit the XMPP user typed (`call::dtmf`).
    Dtmf,
    /// A NOTIFY of a transfer's progress (RFC 3515): its answer changes nothing.
    Notify,
    /// A re-INVITE changing directions: hold, resume, content-modify
    /// (`call::hold`); also refreshes the session.
    Hold,
}

/// An in-dialog request awaiting its final response.
#[derive(Debug, Clone)]
pub(crate) struct PendingRequest {
    pub call_id: String,
    /// The trunk whose credentials answer challenges (kept here because a
    /// BYE outlives its call).
    pub trunk: Option<String>,
    pub request: Request,
    pub hop: Peer,
    pub purpose: Purpose,
    pub auth_attempts: u8,
}

impl Gateway {
    /// Builds the next request of the call's dialog (new CSeq), lets `fill`
    /// add headers and body, and sends it as a tracked client transaction.
    /// False when the call has no dialog.
    pub(crate) fn send_in_dialog_with(
        &mut self,
        call_id: &str,
        method: Method,
        purpose: Purpose,
        fill: impl FnOnce(&mut Request),
    ) -> bool {
        let branch = self.branch();
        let Some(transport) = self.calls.get(call_id).map(|c| c.sip.peer.transport) else {
            return false;
        };
        let sent_by = self.sent_by(transport).to_string();
        let ua = self.cfg.user_agent.clone();
        let Some(call) = self.calls.get_mut(call_id) else {
            return false;
        };
        let Some(dialog) = call.sip.dialog.as_mut() else {
            return false;
        };
        let origin = Origin {
            sent_by: &sent_by,
            branch: &branch,
            user_agent: &ua,
        };
        let mut request = dialog.request(method, &origin);
        fill(&mut request);
        let hop = dialog.next_hop();
        let trunk = call.trunk.clone();
        self.track_and_send(branch, call_id, trunk, request, hop, purpose, 0);
        true
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn track_and_send(
        &mut self,
        branch: String,
        call_id: &str,
        trunk: Option<String>,
        request: Request,
        hop: Peer,
        purpose: Purpose,
        auth_attempts: u8,
    ) {
        self.pending.insert(
            branch,
            PendingRequest {
                call_id: call_id.to_string(),
                trunk,
                request: request.clone(),
                hop,
                purpose,
                auth_attempts,
            },
        );
        self.tx.send_request(request, hop, self.now);
    }

    /// Whether `branch` is one of ours; if so the response was handled.
    pub(crate) fn in_dialog_response(&mut self, branch: &str, response: &Response) -> bool {
        if response.status < 200 {
            return self.pending.contains_key(branch);
        }
        let Some(sent) = self.pending.remove(branch) else {
            return false;
        };
        if sent.purpose == Purpose::Dtmf {
            self.dtmf_info_answered(sent, response);
            return true;
        }
        let id = sent.call_id.clone();
        if sent.purpose == Purpose::Trickle && !matches!(response.status, 401 | 407) {
            self.trickle_info_answered(&id, response.status);
            return true;
        }
        if sent.purpose == Purpose::Hold && !matches!(response.status, 401 | 407) {
            if (200..300).contains(&response.status) {
                self.ack_reinvite(&id, &sent.request);
            }
            self.hold_answered(&id, response);
            return true;
        }
        let refresh = sent.purpose == Purpose::Refresh;
        self.in_dialog_final(sent, response);
        // After a 491 the refresh waits out its back-off, and so does a
        // queued hold change.
        if refresh && response.status != 491 {
            self.after_reinvite(&id);
        }
        true
    }

    fn in_dialog_final(&mut self, sent: PendingRequest, response: &Response) {
        let id = sent.call_id.clone();
        match response.status {
            401 | 407 => self.retry_in_dialog_with_auth(sent, response),
            200..=299 => {
                if sent.purpose == Purpose::Refresh {
                    if sent.request.method == Method::Invite {
                        self.ack_reinvite(&id, &sent.request);
                    }
                    self.refresh_succeeded(&id, response);
                }
            }
            491 if sent.purpose == Purpose::Refresh => {
                let owner = self
                    .calls
                    .get(&id)
                    .is_some_and(|c| c.direction == CallDirection::XmppToSip);
                let ms = if owner {
                    rand::Rng::random_range(&mut self.rng, 2100..=4000)
                } else {
                    rand::Rng::random_range(&mut self.rng, 0..=2000)
                };
                tracing::info!(call = %id, wait_ms = ms, "refresh met glare (491): retrying");
                if self.calls.contains_key(&id) {
                    let at = self.now + Duration::from_millis(ms);
                    self.timers.set((id, CallTimer::SessionRefresh), at);
                }
            }
            405 | 501
                if sent.purpose == Purpose::Refresh && sent.request.method == Method::Update =>
            {
                // The peer advertised UPDATE but refuses it: refresh with
                // re-INVITE, when we have an SDP to send; else keep trying.
                let call = self.calls.get_mut(&id);
                let can_reinvite = call.as_ref().is_some_and(|c| c.sip.local_sdp.is_some());
                if let Some(t) = call.and_then(|c| c.sip.session_timer.as_mut())
                    && can_reinvite
                {
                    t.update_ok = false;
                    self.timers.set((id, CallTimer::SessionRefresh), self.now);
                } else {
                    self.retry_refresh_later(&id);
                }
            }
            408 | 481 if sent.purpose == Purpose::Refresh => {
                tracing::warn!(call = %id, status = response.status, method = %sent.request.method, "dialog gone at the SIP peer: ending the call");
                self.dialog_lost(&id, response.status);
            }
            422 if sent.purpose == Purpose::Refresh => self.refresh_too_short(&id, response),
            status if sent.purpose == Purpose::Refresh => {
                // Not extended: try again a little later; the session
                // expiry still runs, so a peer that keeps refusing ends it.
                tracing::info!(call = %id, status, method = %sent.request.method, "refresh refused; retrying");
                self.retry_refresh_later(&id);
            }
            status => {
                // A failed PRACK or BYE changes nothing: the INVITE (or the
                // hang-up) goes on regardless.
                tracing::info!(call = %id, status, method = %sent.request.method, "in-dialog request refused");
            }
        }
    }

    /// Timer F of a tracked request: a refresh or PRACK nobody answers means
    /// the peer is gone.
    pub(crate) fn in_dialog_timeout(&mut self, branch: &str) -> bool {
        let Some(sent) = self.pending.remove(branch) else {
            return false;
        };
        if sent.purpose == Purpose::Trickle {
            self.trickle_info_answered(&sent.call_id, 408);
        }
        if sent.purpose == Purpose::Dtmf {
            self.dtmf_info_timed_out(sent);
            return true;
        }
        if matches!(sent.purpose, Purpose::Refresh | Purpose::Hold) {
            tracing::warn!(call = %sent.call_id, method = %sent.request.method, "no response in the dialog: ending the call");
            self.dialog_lost(&sent.call_id, 408);
        }
        true
    }

    pub(crate) fn retry_in_dialog_with_auth(&mut self, sent: PendingRequest, response: &Response) {
        let PendingRequest {
            call_id,
            trunk,
            mut request,
            hop,
            purpose,
            auth_attempts,
        } = sent;
        // In-dialog requests go where the far end's Contact or Record-Route
        // says. Our trunk password answers a challenge from there only when
        // that is the trunk itself, or the realm is pinned in the config:
        // anything else could be a callee fishing for a crackable digest.
        let trunk_cfg = trunk
            .as_ref()
            .and_then(|t| self.cfg.config.trunks.iter().find(|c| &c.name == t));
        let hop_is_trunk = trunk
            .as_ref()
            .and_then(|t| self.cfg.trunk_peers.get(t))
            .is_some_and(|ts| ts.iter().any(|p| p.addr == hop.addr));
        let realm_pinned = trunk_cfg
            .and_then(|t| t.auth.as_ref())
            .is_some_and(|a| a.realm.is_some());
        if !hop_is_trunk && !realm_pinned {
            tracing::warn!(call = %call_id, hop = %hop, "challenge from a hop that is not the trunk, and no realm configured: not answered");
            if matches!(purpose, Purpose::Refresh | Purpose::Hold) {
                self.dialog_lost(&call_id, response.status);
            }
            return;
        }
        if !self.authorize_request(
            &call_id,
            trunk.as_deref(),
            response,
            &mut request,
            auth_attempts,
        ) {
            if matches!(purpose, Purpose::Refresh | Purpose::Hold) {
                self.dialog_lost(&call_id, response.status);
            }
            return;
        }
        // A new transaction: new branch, the dialog's next CSeq (or one more
        // than before when the call, and its dialog, already ended).
        let seq = match self
            .calls
            .get_mut(&call_id)
            .and_then(|c| c.sip.dialog.as_mut())
        {
            Some(d) => {
                d.local_cseq += 1;
                d.local_cseq
            }
            None => request.headers.cseq().map(|c| c.seq).unwrap_or(1) + 1,
        };
        let branch = self.branch();
        request
            .headers
            .set("Via", self.our_via(hop.transport, &branch));
        request
            .headers
            .set("CSeq", format!("{seq} {}", request.method.as_str()));
        tracing::info!(call = %call_id, method = %request.method, "in-dialog request re-sent with credentials");
        self.track_and_send(
            branch,
            &call_id,
            trunk,
            request,
            hop,
            purpose,
            auth_attempts + 1,
        );
    }

    pub(crate) fn ack_reinvite(&mut self, call_id: &str, reinvite: &Request) {
        let branch = self.branch();
        let Some(dialog) = self.calls.get(call_id).and_then(|c| c.sip.dialog.as_ref()) else {
            return;
        };
        let sent_by = self.sent_by(dialog.peer.transport).to_string();
        let ua = self.cfg.user_agent.clone();
        let origin = Origin {
            sent_by: &sent_by,
            branch: &branch,
            user_agent: &ua,
        };
        let seq = reinvite.headers.cseq().map(|c| c.seq).unwrap_or(1);
        let ack = dialog.ack(seq, &origin);
        let hop = dialog.next_hop();
        self.tx.send_request(ack, hop, self.now);
    }

    /// Whether a re-INVITE or UPDATE of ours (refresh or hold) is
    /// outstanding in the call.
    pub(crate) fn refresh_in_flight(&self, call_id: &str) -> bool {
        self.pending
            .values()
            .any(|p| p.call_id == call_id && matches!(p.purpose, Purpose::Refresh | Purpose::Hold))
    }

    /// Whether `theirs` collides with an offer exchange of ours in flight
    /// (RFC 3261 §14.2, RFC 3311 §5.2): both are re-INVITEs or carry an
    /// offer. Two body-less UPDATE refreshes simply cross.
    pub(crate) fn glare(&self, call_id: &str, theirs: &Request) -> bool {
        let offers = |r: &Request| r.method == Method::Invite || !r.body.is_empty();
        offers(theirs)
            && self.pending.values().any(|p| {
                p.call_id == call_id
                    && matches!(p.purpose, Purpose::Refresh | Purpose::Hold)
                    && offers(&p.request)
            })
    }

    /// The SIP peer no longer knows the dialog: hang up toward XMPP, BYE
    /// toward SIP for good measure, and end the call.
    pub(crate) fn dialog_lost(&mut self, call_id: &str, status: u16) {
        if !self.calls.contains_key(call_id) {
            return;
        }
        let text = format!("{status} {}", super::reasons::phrase(status));
        self.terminate_xmpp(call_id, "connectivity-error", Some(&text));
        if status != 481 {
            self.hangup_sip(call_id);
        }
        self.end_call(call_id, super::model::Side::Sip, Some(status));
    }
}
