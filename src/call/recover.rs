//! Taking calls back from the store: after a restart (`kill -9`, an upgrade)
//! or from a dead instance whose lease expired.
//!
//! A snapshot is the last durable state of a call, which may lag the wire by
//! what the write-behind queue had not committed. The rules below are chosen
//! so that every lag ends well:
//!
//! - **Established** calls (`Active`, or `Accepted`: our 2xx went out) carry
//!   on. The dialog's CSeq jumps by [`CSEQ_GAP`] because requests we sent
//!   after the snapshot (refreshes) are not in it, and RFC 3261 §12.2.1.1
//!   only asks for increasing numbers. Session timers restart from now.
//!   An adopting instance also sends a target refresh (re-INVITE or UPDATE)
//!   carrying its own Contact, so the peer's next requests reach it.
//! - **Calls caught in set-up** are ended on both sides: an outbound INVITE
//!   is CANCELled (its client transaction is re-created to absorb the 487 or
//!   ACK+BYE a crossing 2xx), an inbound INVITE gets 503 through a
//!   re-created server transaction — plus a BYE when the XMPP user may have
//!   answered already, since our 2xx may have left before the crash — and
//!   the XMPP side gets session-terminate or a JMI retract with
//!   `<connectivity-error/>`.

use super::gateway::{Gateway, bare};
use super::in_dialog::Purpose;
use super::io::PersistKind;
use super::model::{Call, CallDirection, CallState, Side};
use crate::sip::Method;
use crate::sip::dialog::Dialog;
use crate::xmpp::stanza::{self, JmiKind};

/// How far a restored dialog's local CSeq jumps: more than the in-dialog
/// requests (refreshes, INFO) a call sends between two snapshots.
pub const CSEQ_GAP: u32 = 1000;

/// The text of the Jingle reason and SIP Warning for calls a restart ended.
const RESTART_TEXT: &str = "gateway restarted during call set-up";

/// Why calls are being taken back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Takeover {
    /// Our own calls, after this instance restarted.
    Restart,
    /// Another instance's calls, after its lease expired.
    Adopt,
}

/// What [`Gateway::restore`] did, for the log and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Restored {
    /// Established calls that carry on.
    pub resumed: usize,
    /// Calls caught in set-up, now being ended on both sides.
    pub ended: usize,
    /// Snapshots that named a call already known (ignored).
    pub duplicate: usize,
}

impl Gateway {
    /// Takes back calls from their stored snapshots.
    pub(crate) fn restore_calls(&mut self, calls: Vec<Call>, how: Takeover) -> Restored {
        let done = self.restore_each(calls, how);
        tracing::info!(
            ?how,
            resumed = done.resumed,
            ended = done.ended,
            duplicate = done.duplicate,
            "calls taken back from the store"
        );
        done
    }

    fn restore_each(&mut self, calls: Vec<Call>, how: Takeover) -> Restored {
        let mut done = Restored::default();
        for call in calls {
            if self.calls.contains_key(&call.id) {
                done.duplicate += 1;
                continue;
            }
            let id = call.id.clone();
            let established = matches!(call.state, CallState::Active | CallState::Accepted)
                && call.sip.dialog.is_some();
            self.index_restored(call);
            if established {
                self.resume(&id, how);
                done.resumed += 1;
            } else {
                self.end_interrupted(&id);
                done.ended += 1;
            }
        }
        done
    }

    /// Puts a call back in every index, with process-local times of now.
    fn index_restored(&mut self, mut call: Call) {
        call.created_at = Some(self.now);
        // An anchor request of the process that stored the call will never
        // be answered here: the call's media is released when it ends.
        // (Media is not set up again after a restart yet.)
        if let Some(media) = call.media.as_mut() {
            media.pending = None;
        }
        // A transfer in progress was the stored process's transactions and
        // timers: it is forgotten (the transferor's requests then get 481).
        call.sip.transfer = None;
        if matches!(call.state, CallState::Active | CallState::Accepted) {
            call.answered_at = Some(self.now);
        }
        let id = call.id.clone();
        self.by_sid.insert(
            (bare(&call.xmpp.user).to_string(), call.xmpp.sid.clone()),
            id.clone(),
        );
        if !call.sip.call_id.is_empty() {
            self.by_call_id.insert(call.sip.call_id.clone(), id.clone());
        }
        if let Some(b) = &call.sip.invite_branch {
            self.by_branch.insert(b.clone(), id.clone());
        }
        self.calls.insert(id, call);
    }

    /// An established call carries on.
    fn resume(&mut self, call_id: &str, how: Takeover) {
        let transport = self.calls[call_id].sip.peer.transport;
        let contact = self.our_contact("stox", transport);
        let call = self.calls.get_mut(call_id).expect("indexed");
        call.state = CallState::Active;
        let dialog = call.sip.dialog.as_mut().expect("established");
        dialog.local_cseq = dialog.local_cseq.saturating_add(CSEQ_GAP);
        let moved = dialog.local_contact != contact;
        dialog.local_contact = contact;
        tracing::info!(call = %call_id, ?how, "call resumed from the store");
        self.arm_session_timer(call_id);
        if how == Takeover::Adopt || moved {
            self.target_refresh(call_id);
            self.persist(call_id, PersistKind::Modified);
        }
    }

    /// Tells the SIP peer where the dialog lives now (RFC 3261 §12.2: the
    /// Contact of a re-INVITE or UPDATE is the new remote target). A
    /// session refresh does it when a session timer runs; otherwise a
    /// re-INVITE with the SDP we sent last (no media change).
    fn target_refresh(&mut self, call_id: &str) {
        let call = &self.calls[call_id];
        if call.sip.session_timer.is_some() {
            self.send_refresh(call_id);
            return;
        }
        let sdp = call.sip.local_sdp.clone();
        let method = if sdp.is_some() {
            Method::Invite
        } else {
            Method::Update
        };
        self.send_in_dialog_with(call_id, method, Purpose::Refresh, |r| {
            if let Some(sdp) = sdp {
                r.headers.push("Content-Type", "application/sdp");
                r.body = sdp.into_bytes();
            }
        });
    }

    /// A call caught in set-up: end it on both sides.
    fn end_interrupted(&mut self, call_id: &str) {
        tracing::info!(call = %call_id, state = ?self.calls[call_id].state, "call was in set-up at restart: ending it on both sides");
        self.note_hangup_by(call_id, Side::Gateway);
        match self.calls[call_id].direction {
            CallDirection::XmppToSip => self.end_interrupted_outbound(call_id),
            CallDirection::SipToXmpp => self.end_interrupted_inbound(call_id),
        }
    }

    fn end_interrupted_outbound(&mut self, call_id: &str) {
        self.tell_xmpp_restarted(call_id);
        let call = &self.calls[call_id];
        let invite_sent = call.sip.invite_branch.is_some();
        if !invite_sent {
            self.end_call(call_id, Side::Gateway, Some(487));
            return;
        }
        let invite = call.sip.invite.clone().expect("checked");
        let peer = call.sip.peer;
        self.tx.resume_invite_client(invite, peer, self.now);
        // The existing machinery ends the call at the 487 (or ACK+BYE on a
        // crossing 2xx, or Timer B). The snapshot may predate the callee's
        // provisional, and the INVITE left before the crash, so CANCEL now;
        // RFC 3261 §9.1's wait for a provisional guards against a CANCEL that
        // overtakes its INVITE, so a CANCEL goes again at the first
        // provisional unless the snapshot already saw one.
        self.send_cancel(call_id);
        let call = self.calls.get_mut(call_id).expect("indexed");
        call.cancel_pending = !call.sip.provisional;
    }

    fn end_interrupted_inbound(&mut self, call_id: &str) {
        self.tell_xmpp_restarted(call_id);
        let call = &self.calls[call_id];
        let (Some(invite), Some(key)) = (call.sip.invite.clone(), call.sip.server_key.clone())
        else {
            self.end_call(call_id, Side::Gateway, Some(503));
            return;
        };
        let (peer, tag) = (call.sip.peer, call.sip.local_tag.clone());
        // A device may have accepted, and our 2xx left, after the snapshot.
        let maybe_answered = matches!(
            call.state,
            CallState::Initiating | CallState::AnswerGathering
        );
        self.tx.resume_invite_server(key.clone(), &invite, peer);
        let mut response = self.response(&invite, 503, Some(&tag));
        response
            .headers
            .push("Warning", format!("399 stox \"{RESTART_TEXT}\""));
        self.respond(&key, response);
        if maybe_answered {
            let contact = self.our_contact("stox", peer.transport);
            if let Some(dialog) = Dialog::from_uas(&invite, &tag, &contact, peer) {
                let call = self.calls.get_mut(call_id).expect("indexed");
                call.sip.dialog = Some(dialog);
                self.hangup_sip(call_id);
            }
        }
        self.end_call(call_id, Side::Gateway, Some(503));
    }

    /// Session-terminate once a session exists, a JMI retract (or finish,
    /// for the caller's own proposal) before.
    fn tell_xmpp_restarted(&mut self, call_id: &str) {
        let call = &self.calls[call_id];
        if call.xmpp.initiated {
            self.terminate_xmpp(call_id, "connectivity-error", Some(RESTART_TEXT));
            return;
        }
        let (our, sid, user, direction) = (
            call.xmpp.gateway.clone(),
            call.xmpp.sid.clone(),
            call.xmpp.user.clone(),
            call.direction,
        );
        self.note_jingle_reason(call_id, "connectivity-error");
        let (kind, to) = match direction {
            CallDirection::SipToXmpp => (JmiKind::Retract, bare(&user).to_string()),
            CallDirection::XmppToSip => {
                // Stored at the propose: the session-initiate may have come
                // after the snapshot, so end that session too (a client that
                // never sent one answers with an error, and that is all).
                let payload =
                    Self::terminate_payload(&sid, "connectivity-error", Some(RESTART_TEXT));
                self.send_iq(
                    call_id,
                    &our,
                    &user,
                    payload,
                    super::gateway::IqPurpose::Other,
                );
                (JmiKind::Finish, user)
            }
        };
        self.send_stanza(stanza::jmi_message(
            &our,
            &to,
            kind,
            &sid,
            &[],
            Some(("connectivity-error", Some(RESTART_TEXT))),
        ));
    }
}
