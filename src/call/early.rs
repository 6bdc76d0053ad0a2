//! Early media on outbound calls (XMPP → SIP): a 18x with SDP (checklist
//! 11, 12 and 18).
//!
//! - **Anchored** (embedded, rtpengine): the 18x's SDP goes to the anchor's
//!   Answer op at once, and the anchor's answer reaches the XMPP user as
//!   session-accept, so that the client starts ICE/DTLS with the anchor and
//!   hears ringback and announcements. Draft §8 holds answers back because a
//!   Jingle client cannot tell early from final media; with an anchor the
//!   XMPP-facing answer is the anchor's and never changes, so nothing has to
//!   be taken back. The call is still *unanswered*: no answer time, the ring
//!   timeout runs, a hang-up is a CANCEL and a 4xx–6xx ends it as any
//!   failed call. At the 2xx it is answered; a 2xx with a different SDP
//!   moves the anchor's SIP leg (`Output::MediaUpdate`), one without SDP
//!   leaves the early answer standing.
//! - **Passthrough**: the early answer is held back (item 11); a reliable
//!   18x's SDP is stored and goes into session-accept when the 2xx has none
//!   (item 12).
//! - **Forking** (item 18): only the first early dialog's SDP is used, and it
//!   answers only that dialog's 2xx.
//!
//! A 2xx with no answer anywhere ends the call: BYE with a `Reason` and
//! session-terminate, both saying why.

use super::gateway::{CallTimer, Gateway};
use super::io::Output;
use super::model::{CallState, EarlyAnswer, Side};
use crate::media::anchor::{AnchorOp, MediaLeg};
use crate::sip::header::NameAddr;
use crate::sip::message::{Method, Response};

/// What the 2xx's handler does next.
pub(crate) enum FinalAnswer {
    /// Translate and accept this SDP as usual (no early answer involved).
    Use(String),
    /// Handled here (accepted, waiting for the anchor, or ended).
    Done,
}

impl Gateway {
    /// A provisional response to our INVITE: keeps its SDP answer if it is
    /// the first early dialog's, and — anchored — starts the early media.
    pub(crate) fn early_answer(&mut self, call_id: &str, response: &Response) {
        if response.status == 100 || response.body.is_empty() {
            return;
        }
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        if call.state != CallState::Inviting || call.sip.dialog.is_some() {
            return;
        }
        let tag = to_tag(response);
        if let Some(early) = &call.sip.early {
            if early.tag != tag {
                tracing::info!(call = %call_id, status = response.status, "early SDP from another fork ignored (one early dialog only)");
            }
            return;
        }
        let reliable = response.headers.has_token("Require", "100rel")
            && response.headers.get("RSeq").is_some();
        let anchored = call.media.is_some();
        let sdp = String::from_utf8_lossy(&response.body).into_owned();
        if !anchored && !reliable {
            // Draft §8: answers in provisionals are held back, and an
            // unreliable one is not an answer the 2xx may leave out.
            tracing::info!(call = %call_id, status = response.status, "early SDP held back (unreliable provisional)");
            return;
        }
        if let Err(e) = crate::translate::sdp_to_jingle(&sdp, crate::translate::Role::Responder) {
            tracing::info!(call = %call_id, status = response.status, error = %e, "unusable early SDP ignored");
            return;
        }
        let call = self.calls.get_mut(call_id).expect("checked above");
        call.sip.early = Some(EarlyAnswer {
            sdp: sdp.clone(),
            tag,
            reliable,
            accepted: false,
        });
        if !anchored {
            tracing::info!(call = %call_id, status = response.status, "reliable early SDP stored for the 2xx");
            return;
        }
        tracing::info!(call = %call_id, status = response.status, reliable, "early media: the early answer goes to the anchor");
        self.ask_anchor(call_id, None, AnchorOp::Answer, MediaLeg::Sip, sdp);
    }

    /// The anchor's answer for an outbound call: before any 2xx it is the
    /// early session-accept (returns true: handled here, not answered).
    pub(crate) fn early_accept(&mut self, call_id: &str, sdp: &str) -> bool {
        let Some(call) = self.calls.get(call_id) else {
            return true;
        };
        if call.sip.dialog.is_some() {
            return false; // a 2xx came: the usual accept, and answered
        }
        if call.state != CallState::Inviting {
            // Cancelling: the user hung up while the anchor worked.
            return true;
        }
        let answer = match crate::translate::sdp_to_jingle(sdp, crate::translate::Role::Responder) {
            Ok(t) => t.value,
            Err(e) => {
                tracing::warn!(call = %call_id, error = %e, "cannot translate the anchor's early answer: cancelling");
                self.terminate_xmpp(
                    call_id,
                    e.jingle_reason().element_name(),
                    Some(&e.to_string()),
                );
                self.note_hangup_by(call_id, Side::Gateway);
                self.send_cancel(call_id);
                return true;
            }
        };
        if let Some(early) = self
            .calls
            .get_mut(call_id)
            .and_then(|c| c.sip.early.as_mut())
        {
            early.accepted = true;
        }
        tracing::info!(call = %call_id, "early media: session-accept with the anchor's answer (not answered yet)");
        self.send_session_accept_iq(call_id, answer);
        true
    }

    /// The 2xx of a call that may have had early media: which SDP answers
    /// it. Called after the ACK went and the dialog is stored.
    pub(crate) fn final_answer(&mut self, call_id: &str, response: &Response) -> FinalAnswer {
        let body = String::from_utf8_lossy(&response.body).into_owned();
        let Some(call) = self.calls.get(call_id) else {
            return FinalAnswer::Done;
        };
        let tag = to_tag(response);
        let early = call.sip.early.clone();
        let anchored = call.media.is_some();
        match (anchored, early) {
            (true, Some(early)) => {
                if body.trim().is_empty() {
                    if early.tag != tag {
                        self.no_answer(
                            call_id,
                            "2xx without SDP from a fork other than the early dialog's",
                        );
                        return FinalAnswer::Done;
                    }
                } else if normalised(&body) != normalised(&early.sdp) {
                    // The anchor's XMPP-facing answer stays; its SIP leg
                    // follows the final description (a moved address).
                    tracing::info!(call = %call_id, "2xx SDP differs from the early one: the anchor follows it");
                    let mode = self.calls[call_id].media.as_ref().map(|m| m.mode);
                    if let Some(mode) = mode {
                        self.out.push_back(Output::MediaUpdate {
                            call: call_id.to_string(),
                            leg: MediaLeg::Sip,
                            sdp: body.clone(),
                            offer: false,
                            mode,
                        });
                    }
                    if let Some(e) = self
                        .calls
                        .get_mut(call_id)
                        .and_then(|c| c.sip.early.as_mut())
                    {
                        e.sdp = body;
                    }
                }
                self.timers
                    .cancel(&(call_id.to_string(), CallTimer::RingTimeout));
                if early.accepted {
                    tracing::info!(call = %call_id, "answered after early media");
                    self.mark_answered(call_id);
                }
                // Else the anchor's reply is still to come: it accepts and
                // answers (the dialog exists now).
                FinalAnswer::Done
            }
            (false, Some(early)) if body.trim().is_empty() && early.tag == tag => {
                tracing::info!(call = %call_id, "2xx without SDP: the reliable early answer stands");
                FinalAnswer::Use(early.sdp)
            }
            _ if body.trim().is_empty() => {
                self.no_answer(
                    call_id,
                    "no SDP answer in the 2xx nor in a reliable provisional",
                );
                FinalAnswer::Done
            }
            _ => FinalAnswer::Use(body),
        }
    }

    /// An answered dialog without an SDP answer: BYE with a `Reason`, and
    /// the XMPP user is told why.
    pub(crate) fn no_answer(&mut self, call_id: &str, why: &str) {
        tracing::warn!(call = %call_id, why, "no SDP answer: ending the call");
        let cause = format!(
            "SIP;cause=488;text=\"{}\"",
            super::inbound::warning_text(why)
        );
        self.send_in_dialog_with(call_id, Method::Bye, super::in_dialog::Purpose::Bye, |r| {
            r.headers.push("Reason", cause)
        });
        self.terminate_xmpp(call_id, "incompatible-parameters", Some(why));
        self.end_call(call_id, Side::Gateway, Some(488));
    }

    /// The XMPP client refused our early session-accept: the INVITE is
    /// cancelled (returns false when the call had no early accept).
    pub(crate) fn early_accept_refused(&mut self, call_id: &str) -> bool {
        let early = self.calls.get(call_id).is_some_and(|c| {
            c.sip.dialog.is_none() && c.sip.early.as_ref().is_some_and(|e| e.accepted)
        });
        if early {
            tracing::info!(call = %call_id, "early session-accept refused by the client: cancelling");
            self.outbound_user_hangup(call_id, "general-error");
        }
        early
    }
}

/// The To tag of a response (its early or confirmed dialog).
fn to_tag(response: &Response) -> Option<String> {
    response
        .headers
        .get("To")
        .and_then(|v| NameAddr::parse(v).ok())
        .and_then(|n| n.tag().map(str::to_string))
}

/// SDP compared line by line, ignoring line endings and trailing blanks.
fn normalised(sdp: &str) -> Vec<&str> {
    sdp.lines()
        .map(|l| l.trim_end())
        .filter(|l| !l.is_empty())
        .collect()
}
