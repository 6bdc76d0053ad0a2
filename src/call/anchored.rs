//! Anchored media: the four offer/answer points of a call go through the
//! media anchor, and the call waits for its reply before going on.
//!
//! | point | asks | on the reply |
//! |---|---|---|
//! | outbound, offer gathered | `Offer` from XMPP | INVITE with the anchor's SDP |
//! | outbound, 200 (ACKed at once) | `Answer` from SIP | session-accept with the anchor's SDP |
//! | inbound INVITE | `Offer` from SIP | JMI propose / session-initiate with the anchor's SDP |
//! | inbound, answer gathered | `Answer` from XMPP | 200 with the anchor's SDP |
//!
//! Each flow translates as it did without an anchor first (so a description
//! that cannot be translated is refused the usual way, before the anchor
//! allocates anything), then hands the SDP to the anchor instead of the other
//! leg. The anchor's media is released once, when the call ends — or, when it
//! ends while an offer is still at the anchor, when that late reply arrives,
//! so that ports allocated after the call was gone are freed too.

use super::gateway::Gateway;
use super::io::Output;
use super::model::{AnchoredSdp, CallDirection, CallMedia, CallState, Side};
use crate::media::anchor::{
    AnchorError, AnchorOp, AnchorReply, AnchorRequest, MediaLeg, MediaMode, MediaNotice, SipSrtp,
};
use crate::media::stats::MediaStats;
use crate::sip::message::Method;

/// How many ended calls whose offer was still at the anchor are remembered
/// (to release their media when the reply comes). An anchor always replies,
/// so this only bounds the memory a broken one could cost.
const ORPHANS_KEPT: usize = 1024;

impl Gateway {
    /// The media of a new call through `trunk`: its trunk's `media`, else
    /// `[media] mode`. `None` in passthrough (no anchor at all).
    pub(crate) fn anchor_for(&self, trunk: Option<&str>) -> Option<CallMedia> {
        let trunk = trunk.and_then(|name| self.cfg.config.trunks.iter().find(|t| t.name == name));
        let mode = self.cfg.config.media.mode_for(trunk);
        (mode != MediaMode::Passthrough).then(|| CallMedia {
            mode,
            sip_srtp: trunk.map_or(SipSrtp::None, |t| t.srtp),
            pending: None,
            offer: None,
            answer: None,
            stats: None,
        })
    }

    /// Whether the call's media goes through an anchor.
    pub(crate) fn is_anchored(&self, call_id: &str) -> bool {
        self.calls.get(call_id).is_some_and(|c| c.media.is_some())
    }

    /// Whether the call waits for the anchor's reply to `op`.
    pub(crate) fn anchor_pending(&self, call_id: &str, op: AnchorOp) -> bool {
        self.calls
            .get(call_id)
            .and_then(|c| c.media.as_ref())
            .is_some_and(|m| m.pending == Some(op))
    }

    /// Sends `from`'s SDP to the call's anchor (`media` starts anchoring a
    /// call at its offer) and marks the call as waiting for the reply.
    pub(crate) fn ask_anchor(
        &mut self,
        call_id: &str,
        media: Option<CallMedia>,
        op: AnchorOp,
        from: MediaLeg,
        sdp: String,
    ) {
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        if let Some(media) = media {
            call.media = Some(media);
        }
        let Some(media) = call.media.as_mut() else {
            return;
        };
        let half = AnchoredSdp {
            from,
            given: sdp.clone(),
            returned: None,
        };
        match op {
            AnchorOp::Offer => media.offer = Some(half),
            AnchorOp::Answer => media.answer = Some(half),
        }
        media.pending = Some(op);
        tracing::info!(call = %call_id, ?op, from = from.label(), mode = media.mode.label(), "SDP to the media anchor");
        let request = AnchorRequest {
            call: call_id.to_string(),
            op,
            from,
            sdp,
            mode: media.mode,
            sip_srtp: media.sip_srtp,
        };
        self.out.push_back(Output::Anchor(request));
    }

    /// The anchor's reply: the call continues where it waited.
    pub(crate) fn anchor_replied(&mut self, reply: AnchorReply) {
        let AnchorReply { call, op, result } = reply;
        let Some(c) = self.calls.get_mut(&call) else {
            self.late_reply(&call, op);
            return;
        };
        let Some(media) = c.media.as_mut().filter(|m| m.pending == Some(op)) else {
            tracing::warn!(call = %call, ?op, "media anchor reply the call is not waiting for: ignored");
            return;
        };
        media.pending = None;
        let half = match op {
            AnchorOp::Offer => media.offer.as_mut(),
            AnchorOp::Answer => media.answer.as_mut(),
        };
        if let (Some(half), Ok(sdp)) = (half, &result) {
            half.returned = Some(sdp.clone());
        }
        let direction = c.direction;
        match result {
            Ok(sdp) => {
                tracing::info!(call = %call, ?op, "media anchored");
                match (direction, op) {
                    (CallDirection::XmppToSip, AnchorOp::Offer) => self.invite_with(&call, sdp),
                    (CallDirection::XmppToSip, AnchorOp::Answer) => {
                        self.outbound_accept_sdp(&call, &sdp)
                    }
                    (CallDirection::SipToXmpp, AnchorOp::Offer) => {
                        self.inbound_offer_anchored(&call, &sdp)
                    }
                    (CallDirection::SipToXmpp, AnchorOp::Answer) => self.answer_with(&call, sdp),
                }
            }
            Err(e) => {
                tracing::warn!(call = %call, ?op, error = %e, "media anchor refused");
                self.anchor_failed(&call, direction, op, &e);
            }
        }
    }

    /// A reply for a call that is gone: an offer's may have allocated media
    /// after the call ended, so that is released now.
    fn late_reply(&mut self, call_id: &str, op: AnchorOp) {
        let orphan = self.orphans.iter().position(|(id, _)| id == call_id);
        match (op, orphan) {
            (AnchorOp::Offer, Some(i)) => {
                let (call, mode) = self.orphans.remove(i).expect("found above");
                tracing::info!(call = %call, "media anchor replied after the call ended: releasing");
                self.out.push_back(Output::ReleaseMedia { call, mode });
            }
            _ => {
                tracing::info!(call = %call_id, ?op, "media anchor reply for no call: ignored");
            }
        }
    }

    /// The anchor could not do what a flow needed: that flow fails the way
    /// a failed translation fails it, with the anchor's status and reason.
    fn anchor_failed(
        &mut self,
        call_id: &str,
        direction: CallDirection,
        op: AnchorOp,
        e: &AnchorError,
    ) {
        let status = e.sip_status();
        let text = e.to_string();
        match (direction, op) {
            (CallDirection::XmppToSip, AnchorOp::Offer) => {
                // No INVITE left: only the XMPP user is told.
                self.terminate_xmpp(call_id, e.jingle_reason(), Some(&text));
            }
            (CallDirection::XmppToSip, AnchorOp::Answer) => {
                // The 200 is ACKed: the SIP dialog exists and is hung up.
                self.hangup_sip(call_id);
                self.terminate_xmpp(call_id, e.jingle_reason(), Some(&text));
            }
            (CallDirection::SipToXmpp, AnchorOp::Offer) => {
                // No XMPP device has heard of the call yet.
                self.inbound_refuse(call_id, Side::Gateway, status, None, Some(&text));
                return;
            }
            (CallDirection::SipToXmpp, AnchorOp::Answer) => {
                if let Some((invite, key, tag)) = self.invite_and_key(call_id) {
                    let mut r = self.response(&invite, status, Some(&tag));
                    r.headers.push(
                        "Warning",
                        format!("399 stox \"{}\"", super::inbound::warning_text(&text)),
                    );
                    self.respond(&key, r);
                }
                self.terminate_xmpp(call_id, e.jingle_reason(), Some(&text));
            }
        }
        self.end_call(call_id, Side::Gateway, Some(status));
    }

    /// The anchor's media of an ending call: released now, or — while its
    /// offer is still at the anchor — when the reply comes.
    pub(crate) fn release_media(&mut self, call_id: &str, media: &CallMedia) {
        if media.pending == Some(AnchorOp::Offer) {
            if self.orphans.len() >= ORPHANS_KEPT {
                self.orphans.pop_front();
            }
            self.orphans.push_back((call_id.to_string(), media.mode));
            return;
        }
        self.out.push_back(Output::ReleaseMedia {
            call: call_id.to_string(),
            mode: media.mode,
        });
    }

    /// The anchor saw a leg's media stop or fail: an established call ends
    /// on both sides, with the reason in the BYE and the session-terminate.
    /// A stats report only replaces the call's latest counts.
    pub(crate) fn media_notice(&mut self, call_id: &str, notice: MediaNotice) {
        let Some(call) = self.calls.get_mut(call_id) else {
            tracing::debug!(call = %call_id, ?notice, "media notice for no call: ignored");
            return;
        };
        if let MediaNotice::Stats { xmpp, sip } = notice {
            // Kept for the Ended snapshot (and so the CDR); no write of its
            // own: four writes a call is the store's budget.
            match call.media.as_mut() {
                Some(media) => media.stats = Some(MediaStats { xmpp, sip }),
                None => {
                    tracing::debug!(call = %call_id, "media stats for a call without an anchor: ignored")
                }
            }
            return;
        }
        if call.state != CallState::Active {
            tracing::info!(call = %call_id, ?notice, state = ?call.state, "media notice before the call is up: ignored");
            return;
        }
        // 408 for silence (the peer timed out, as far as anyone can tell);
        // 488 for a transport that failed, as §2a maps failed-transport.
        let (reason, status, text) = match &notice {
            MediaNotice::Inactive { leg, secs } => (
                "media-error",
                408,
                format!("no media from {} for {secs} s", leg.label()),
            ),
            MediaNotice::Failed { leg, why } => (
                "failed-transport",
                488,
                format!("{} media failed: {why}", leg.label()),
            ),
            // Handled above.
            MediaNotice::Stats { .. } => return,
        };
        tracing::warn!(call = %call_id, %text, "media lost: ending the call");
        let cause = format!(
            "SIP;cause={status};text=\"{}\"",
            super::inbound::warning_text(&text)
        );
        self.send_in_dialog_with(call_id, Method::Bye, super::in_dialog::Purpose::Bye, |r| {
            r.headers.push("Reason", cause)
        });
        self.terminate_xmpp(call_id, reason, Some(&text));
        self.end_call(call_id, Side::Gateway, Some(status));
    }
}
