//! Trickle ICE with the SIP peer (RFC 8838, RFC 8840) and ICE restarts it
//! starts with a re-INVITE (RFC 8839 §4.4.1.1.1).
//!
//! Only in passthrough media mode, and only when the call's SDP has ICE: the
//! embedded anchor and rtpengine speak plain RTP (or SDES) toward SIP and
//! gather nothing there, so nothing trickles toward SIP and their calls
//! neither advertise trickle ICE nor accept its INFO (469).
//!
//! - **Support** (checklist 5): the peer says `Supported`/`Require:
//!   trickle-ice` or `a=ice-options:trickle` — in its INVITE (inbound), or in
//!   an 18x/2xx to ours (outbound: RFC 8840 §4.1, a UAC cannot know before)
//!   — or the operator says so with the trunk's `trickle_ice = true`, and
//!   then its INVITEs go without waiting for gathering (full trickle).
//!   Otherwise we do half trickle: our INVITE or 200 carries every candidate gathered so
//!   far (so a peer without trickle still gets a complete vanilla offer) and
//!   says `Supported: trickle-ice`, `Recv-Info: trickle-ice` (RFC 6086) and
//!   `a=ice-options:trickle`.
//! - **XMPP → SIP**: candidates the XMPP user trickles after our SDP left
//!   become INFO requests (`Info-Package: trickle-ice`, an RFC 8840 §9
//!   sdpfrag). They wait until the dialog is confirmed (our 2xx ACKed, or
//!   their 2xx received): RFC 8840 allows INFO in an early dialog only after
//!   reliable provisional answers, which are not worth the state. One INFO is
//!   outstanding at a time, in order (`in_dialog` tracks it), at most
//!   [`MAX_QUEUED`] waiting. Toward a peer
//!   that did not say it trickles, nothing is sent (as before: logged).
//! - **SIP → XMPP**: a trickle-ice INFO becomes a transport-info with the
//!   frag's credentials and candidates (translated as SDP candidates are,
//!   foundations untouched; Jingle ids unique per generation); a malformed
//!   frag gets 400 with a Warning.
//! - **ICE restart from SIP**: a re-INVITE whose ice-ufrag/pwd changed raises
//!   the call's generation; its candidates go to the XMPP user in a
//!   transport-info with the new credentials and `generation` + 1. The
//!   re-INVITE's 200 needs our new credentials too, so it waits (at most
//!   [`RESTART_WAIT`], after a 100) for the XMPP client's transport-info with
//!   new ufrag/pwd and answers with them and its candidates; without one in
//!   time it is refused with 488 and a Warning (the SIP session stays as it
//!   was; the XMPP client was already told of the restart).

use super::gateway::{CallTimer, Gateway};
use super::in_dialog::Purpose;
use super::model::{CallDirection, CallState};
use super::outbound::xml_to_element;
use crate::jingle::{Content, IceUdpTransport, Jingle, Transport, jingle_element};
use crate::sip::message::{Headers, Method, Request, response_for};
use crate::sip::transaction::ServerKey;
use crate::translate::sdpfrag::{
    self, CONTENT_TYPE, FragMedia, RestartedMedia, SdpFrag, parse_sdpfrag, write_sdpfrag,
};
use crate::translate::{Role, adopt_offer_names, sdp_to_jingle};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::time::Duration;

/// The Info Package and option tag (RFC 8840 §10).
pub(crate) const PACKAGE: &str = "trickle-ice";

/// Most INFO bodies queued per call: a client that trickles while the
/// dialog never confirms must not grow the call without bound.
pub(crate) const MAX_QUEUED: usize = 32;

/// How long a SIP ICE restart waits for the XMPP client's new credentials.
/// Well under the re-INVITE's Timer B (32 s), so the peer gets an answer.
pub(crate) const RESTART_WAIT: Duration = Duration::from_secs(4);

/// A SIP leg's trickle ICE state: plain data, stored with the call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrickleIce {
    /// The SIP peer said it supports trickle ICE.
    #[serde(default)]
    pub peer: bool,
    /// We advertised trickle ICE to the peer (so we accept its INFO).
    #[serde(default)]
    pub offered: bool,
    /// The peer refused our trickle INFO (469 and the like): whatever it
    /// advertised, it gets no more.
    #[serde(default)]
    pub refused: bool,
    /// sdpfrags for INFO requests not sent yet, oldest first: they wait for
    /// the confirmed dialog, the peer's support, or the previous INFO's
    /// final response.
    #[serde(default)]
    pub queue: VecDeque<String>,
    /// The SIP side's ICE generation: restarts it made so far.
    #[serde(default)]
    pub generation: u32,
    /// The SIP peer's current ice-ufrag and ice-pwd.
    #[serde(default)]
    pub remote: Option<(String, String)>,
    /// Candidates forwarded from SIP so far (their Jingle ids number on).
    #[serde(default)]
    pub forwarded: u32,
    /// A re-INVITE restarting ICE, waiting for the XMPP client.
    #[serde(default)]
    pub restart: Option<PendingRestart>,
}

impl TrickleIce {
    /// Whether nothing happened (left out of stored snapshots then).
    pub fn is_default(&self) -> bool {
        *self == TrickleIce::default()
    }
}

/// An ICE-restarting re-INVITE we have not answered yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingRestart {
    /// The re-INVITE.
    pub request: Request,
    /// Its server transaction.
    pub key: ServerKey,
    /// Session timer headers for the 200.
    pub extra: Headers,
    /// The SIP credentials before the restart (back in force after a 488).
    pub previous: Option<(String, String)>,
    /// The XMPP client's new ICE state gathered so far, per content.
    #[serde(default)]
    pub answer: Vec<RestartedMedia>,
}

/// Whether a header list names the trickle-ice option tag.
fn names_trickle(headers: &Headers) -> bool {
    headers.has_token("Supported", PACKAGE) || headers.has_token("Require", PACKAGE)
}

impl Gateway {
    /// Whether the call exchanges candidates with SIP itself: passthrough
    /// media (no anchor now or to come).
    fn trickle_capable(&self, call_id: &str) -> bool {
        self.calls
            .get(call_id)
            .is_some_and(|c| c.media.is_none() && self.anchor_for(c.trunk.as_deref()).is_none())
    }

    /// Whether the call's trunk is configured with `trickle_ice = true`.
    fn trunk_declares_trickle(&self, trunk: Option<&str>) -> bool {
        trunk
            .and_then(|n| self.cfg.config.trunks.iter().find(|t| t.name == n))
            .is_some_and(|t| t.trickle_ice)
    }

    /// An outbound call's INVITE need not wait for the XMPP caller's
    /// candidates: the trunk is declared to trickle and the call is
    /// passthrough, so later candidates follow by INFO (full trickle,
    /// RFC 8840 §4.1).
    pub(crate) fn invite_without_gathering(&self, call_id: &str) -> bool {
        self.calls.get(call_id).is_some_and(|c| {
            c.direction == CallDirection::XmppToSip
                && self.trunk_declares_trickle(c.trunk.as_deref())
        }) && self.trickle_capable(call_id)
    }

    /// Whether the SIP peer supports trickle ICE: said in its responses
    /// (recorded), or in the INVITE of an inbound call.
    fn peer_trickles(&self, call_id: &str) -> bool {
        let Some(call) = self.calls.get(call_id) else {
            return false;
        };
        !call.sip.trickle.refused
            && (call.sip.trickle.peer
                || self.trunk_declares_trickle(call.trunk.as_deref())
                || (call.direction == CallDirection::SipToXmpp
                    && call.sip.invite.as_ref().is_some_and(|i| {
                        names_trickle(&i.headers)
                            || sdpfrag::advertises_trickle(&String::from_utf8_lossy(&i.body))
                    })))
    }

    /// The SIP peer's current ICE credentials.
    fn remote_ice(&self, call_id: &str) -> Option<(String, String)> {
        let call = self.calls.get(call_id)?;
        call.sip.trickle.remote.clone().or_else(|| {
            (call.direction == CallDirection::SipToXmpp)
                .then_some(call.sip.invite.as_ref())
                .flatten()
                .and_then(|i| sdpfrag::ice_credentials(&String::from_utf8_lossy(&i.body)))
        })
    }

    /// Our INVITE (outbound) or 200 (inbound) about to carry `sdp`: in
    /// passthrough with ICE, advertise half trickle. Returns the SDP to send.
    pub(crate) fn trickle_advertise(
        &mut self,
        call_id: &str,
        headers: &mut Headers,
        sdp: String,
    ) -> String {
        if !self.trickle_capable(call_id) || sdpfrag::ice_credentials(&sdp).is_none() {
            return sdp;
        }
        headers.push("Supported", PACKAGE);
        headers.push("Recv-Info", PACKAGE);
        if let Some(call) = self.calls.get_mut(call_id) {
            call.sip.trickle.offered = true;
        }
        sdpfrag::with_trickle_option(&sdp)
    }

    /// An 18x or 2xx to our INVITE: does the callee trickle, and with which
    /// credentials?
    pub(crate) fn trickle_sip_response(
        &mut self,
        call_id: &str,
        response: &crate::sip::message::Response,
    ) {
        if !(101..300).contains(&response.status) {
            return;
        }
        let body = String::from_utf8_lossy(&response.body);
        let says = names_trickle(&response.headers) || sdpfrag::advertises_trickle(&body);
        let creds = sdpfrag::ice_credentials(&body);
        if let Some(call) = self.calls.get_mut(call_id) {
            call.sip.trickle.peer |= says;
            if creds.is_some() {
                call.sip.trickle.remote = creds;
            }
        }
    }

    /// Candidates the XMPP user trickled after our SDP left (`update` is
    /// the transport-info, already merged into the call's Jingle).
    pub(crate) fn trickle_from_xmpp(&mut self, call_id: &str, update: &Jingle) {
        if self
            .calls
            .get(call_id)
            .is_some_and(|c| c.sip.trickle.restart.is_some())
            && self.restart_credentials_from_xmpp(call_id, update)
        {
            return;
        }
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        if !call.sip.trickle.offered {
            tracing::info!(call = %call_id, "late candidates not forwarded to SIP (no trickle ICE on this call: anchored media or no ICE)");
            return;
        }
        let answered = call.sip.dialog.is_some() || call.direction == CallDirection::SipToXmpp;
        if answered && !self.peer_trickles(call_id) {
            // Checklist 5: no INFO toward a peer not known to trickle.
            tracing::info!(call = %call_id, "late candidates not forwarded: the SIP peer does not support trickle ICE");
            return;
        }
        let Some(frag) = self.frag_for(call_id, update) else {
            return;
        };
        let body = write_sdpfrag(&frag);
        if let Some(call) = self.calls.get_mut(call_id) {
            if call.sip.trickle.queue.len() >= MAX_QUEUED {
                tracing::warn!(call = %call_id, "too many trickle ICE INFO bodies waiting: candidates dropped");
                return;
            }
            call.sip.trickle.queue.push_back(body);
        }
        self.trickle_pump(call_id);
    }

    /// The sdpfrag carrying `update`'s candidates; `None` when it has none
    /// (and no end-of-candidates), or changes credentials (an ICE restart
    /// from XMPP would need a re-INVITE: not mapped, logged).
    fn frag_for(&self, call_id: &str, update: &Jingle) -> Option<SdpFrag> {
        let call = self.calls.get(call_id)?;
        let stored = call.xmpp.media.as_ref();
        let local_sdp = call.sip.local_sdp.clone().unwrap_or_default();
        let mut frag = SdpFrag::default();
        for content in &update.contents {
            let Some(Transport::IceUdp(t)) = &content.transport else {
                continue;
            };
            let index = stored
                .and_then(|m| m.contents.iter().position(|c| c.name == content.name))
                .unwrap_or(0);
            let known =
                stored
                    .and_then(|m| m.contents.get(index))
                    .and_then(|c| match &c.transport {
                        Some(Transport::IceUdp(t)) => Some((t.ufrag.clone(), t.pwd.clone())),
                        _ => None,
                    });
            let (ufrag, pwd) = match (&t.ufrag, &t.pwd, known) {
                (Some(u), Some(p), _) => (Some(u.clone()), Some(p.clone())),
                (_, _, Some((u, p))) => (u, p),
                _ => (None, None),
            };
            if let Some(Some(known_ufrag)) =
                stored
                    .and_then(|m| m.contents.get(index))
                    .and_then(|c| match &c.transport {
                        Some(Transport::IceUdp(t)) => Some(t.ufrag.clone()),
                        _ => None,
                    })
                && ufrag.as_deref() != Some(known_ufrag.as_str())
            {
                tracing::info!(call = %call_id, content = %content.name, "ICE restart from XMPP not mapped to SIP (a re-INVITE would be needed): candidates not forwarded");
                continue;
            }
            if t.candidates.is_empty() && !t.end_of_candidates {
                continue;
            }
            let media = sdpfrag::media_line(&local_sdp, &content.name, index)
                .unwrap_or_else(|| "audio 9 RTP/AVP 0".to_string());
            if frag.ufrag.is_none() {
                frag.ufrag = ufrag.clone();
                frag.pwd = pwd.clone();
            }
            let differs = frag.ufrag != ufrag;
            frag.media.push(FragMedia {
                media,
                mid: Some(content.name.clone()),
                ufrag: if differs { ufrag } else { None },
                pwd: if differs { pwd } else { None },
                candidates: t.candidates.clone(),
                end_of_candidates: t.end_of_candidates,
            });
        }
        (!frag.media.is_empty()).then_some(frag)
    }

    /// Sends the next queued INFO when the dialog is confirmed and none is
    /// outstanding.
    pub(crate) fn trickle_pump(&mut self, call_id: &str) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        if call.sip.trickle.queue.is_empty()
            || call.state != CallState::Active
            || call.sip.dialog.is_none()
        {
            return;
        }
        if !self.peer_trickles(call_id) {
            let dropped = call.sip.trickle.queue.len();
            tracing::info!(call = %call_id, dropped, "the SIP peer does not support trickle ICE: late candidates not forwarded");
            if let Some(c) = self.calls.get_mut(call_id) {
                c.sip.trickle.queue.clear();
            }
            return;
        }
        let in_flight = self
            .pending
            .values()
            .any(|p| p.call_id == call_id && p.purpose == Purpose::Trickle);
        if in_flight {
            return;
        }
        let Some(body) = self
            .calls
            .get_mut(call_id)
            .and_then(|c| c.sip.trickle.queue.pop_front())
        else {
            return;
        };
        tracing::debug!(call = %call_id, "trickle ICE INFO to SIP");
        self.send_in_dialog_with(call_id, Method::Info, Purpose::Trickle, |r| {
            r.headers.push("Info-Package", PACKAGE);
            r.headers.push("Content-Type", CONTENT_TYPE);
            r.headers.push("Content-Disposition", "Info-Package");
            r.body = body.into_bytes();
        });
    }

    /// The final response to our trickle INFO (`408` for none at all).
    pub(crate) fn trickle_info_answered(&mut self, call_id: &str, status: u16) {
        match status {
            200..=299 => {}
            // The peer does not take the package after all (RFC 6086 §6):
            // stop, as for a peer that never said it trickles.
            405 | 415 | 469 | 501 => {
                tracing::info!(call = %call_id, status, "SIP peer refused trickle ICE INFO: no more sent");
                if let Some(c) = self.calls.get_mut(call_id) {
                    // Ours to them only: we still take theirs, as our
                    // Recv-Info said.
                    c.sip.trickle.refused = true;
                    c.sip.trickle.queue.clear();
                }
                return;
            }
            // The dialog is gone at the peer (RFC 5057): nothing more to
            // send in it; a refresh or BYE ends the call.
            481 => {
                tracing::info!(call = %call_id, "trickle ICE INFO met 481: no more sent");
                if let Some(c) = self.calls.get_mut(call_id) {
                    c.sip.trickle.queue.clear();
                }
                return;
            }
            status => {
                tracing::info!(call = %call_id, status, "trickle ICE INFO refused; going on with the next");
            }
        }
        self.trickle_pump(call_id);
    }

    /// Whether this call takes trickle-ice INFO from SIP.
    pub(crate) fn takes_trickle_info(&self, call_id: &str) -> bool {
        self.calls
            .get(call_id)
            .is_some_and(|c| c.sip.trickle.offered)
    }

    /// An INFO with `Info-Package: trickle-ice` (RFC 8840 §4.4): 200 and a
    /// transport-info to the XMPP user, or 415/400 with a Warning.
    pub(crate) fn trickle_info_in(&mut self, call_id: &str, request: &Request, key: &ServerKey) {
        let content_type = request
            .headers
            .get("Content-Type")
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default();
        if content_type != CONTENT_TYPE {
            tracing::info!(call = %call_id, %content_type, "trickle-ice INFO without an sdpfrag");
            let mut r = response_for(request, 415, "Unsupported Media Type");
            r.headers.push("Accept", CONTENT_TYPE);
            self.respond(key, r);
            return;
        }
        let text = String::from_utf8_lossy(&request.body);
        let frag = match parse_sdpfrag(&text) {
            Ok(f) => f,
            Err(why) => {
                tracing::info!(call = %call_id, %why, "malformed trickle ICE sdpfrag: 400");
                self.event(super::io::CallEvent::Rejected {
                    what: "sdpfrag-malformed",
                });
                let mut r = response_for(request, 400, "Bad Request");
                r.headers.push(
                    "Warning",
                    format!(
                        "399 stox \"bad sdpfrag: {}\"",
                        super::inbound::warning_text(&why)
                    ),
                );
                self.respond(key, r);
                return;
            }
        };
        let Some(jingle) = self.transport_info_from_frag(call_id, &frag) else {
            let mut r = response_for(request, 400, "Bad Request");
            r.headers.push(
                "Warning",
                "399 stox \"sdpfrag names no stream of this session, or has no ice-ufrag/ice-pwd\"",
            );
            self.respond(key, r);
            return;
        };
        self.reply(key, request, 200, None);
        self.send_transport_info(call_id, jingle);
    }

    /// The frag's candidates as a transport-info for the call's contents
    /// (by `a=mid`, else by position); `None` when a stream is unknown or
    /// no credentials are in effect.
    fn transport_info_from_frag(&mut self, call_id: &str, frag: &SdpFrag) -> Option<Jingle> {
        let remote = self.remote_ice(call_id);
        let call = self.calls.get_mut(call_id)?;
        let stored = call.xmpp.media.as_ref()?;
        let generation = call.sip.trickle.generation;
        let mut jingle = Jingle::default();
        // A session-level end-of-candidates without m= lines ends them all.
        let all: Vec<FragMedia> = if frag.media.is_empty() {
            stored
                .contents
                .iter()
                .map(|c| FragMedia {
                    mid: Some(c.name.clone()),
                    ..FragMedia::default()
                })
                .collect()
        } else {
            frag.media.clone()
        };
        for (i, m) in all.iter().enumerate() {
            let content = match &m.mid {
                Some(mid) => stored.contents.iter().find(|c| &c.name == mid),
                None => stored.contents.get(i),
            }?;
            let (u, p) = frag.credentials(i);
            let (ufrag, pwd) = match (u, p, &remote) {
                (Some(u), Some(p), _) => (u.to_string(), p.to_string()),
                (_, _, Some((u, p))) => (u.clone(), p.clone()),
                _ => return None,
            };
            let mut candidates = m.candidates.clone();
            for c in &mut candidates {
                call.sip.trickle.forwarded += 1;
                c.generation = Some(generation);
                c.id = Some(format!(
                    "{}-g{generation}-t{}",
                    content.name, call.sip.trickle.forwarded
                ));
            }
            jingle.contents.push(Content {
                creator: content.creator,
                name: content.name.clone(),
                transport: Some(Transport::IceUdp(IceUdpTransport {
                    ufrag: Some(ufrag),
                    pwd: Some(pwd),
                    candidates,
                    end_of_candidates: m.end_of_candidates || frag.end_of_candidates,
                    ..IceUdpTransport::default()
                })),
                ..Content::default()
            });
        }
        Some(jingle)
    }

    /// Sends `jingle`'s contents to the XMPP user as a transport-info.
    fn send_transport_info(&mut self, call_id: &str, mut jingle: Jingle) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        let (user, our, sid) = (
            call.xmpp.user.clone(),
            call.xmpp.gateway.clone(),
            call.xmpp.sid.clone(),
        );
        jingle.action = Some("transport-info".into());
        jingle.sid = Some(sid);
        jingle.initiator = Some(match call.direction {
            CallDirection::XmppToSip => user.clone(),
            CallDirection::SipToXmpp => our.clone(),
        });
        let payload = xml_to_element(&jingle_element(&jingle).to_compact_string());
        self.send_iq_other(call_id, &our, &user, payload);
    }

    /// A re-INVITE (or UPDATE) offer from SIP: when it restarts ICE, tell
    /// the XMPP user and hold the answer (true: it is handled here).
    pub(crate) fn sip_ice_restart(
        &mut self,
        call_id: &str,
        request: &Request,
        key: &ServerKey,
        extra: &Headers,
    ) -> bool {
        if request.method != Method::Invite
            || request.body.is_empty()
            || !self.trickle_capable(call_id)
        {
            return false;
        }
        let body = String::from_utf8_lossy(&request.body).into_owned();
        let Some(new) = sdpfrag::ice_credentials(&body) else {
            return false;
        };
        let previous = self.remote_ice(call_id);
        if previous.as_ref() == Some(&new) {
            return false;
        }
        if previous.is_none() {
            // Nothing to compare with (a call restored from an old
            // snapshot): remember these and answer as before.
            if let Some(c) = self.calls.get_mut(call_id) {
                c.sip.trickle.remote = Some(new);
            }
            return false;
        }
        let timer = (call_id.to_string(), CallTimer::IceRestart);
        if self.timers.get(&timer).is_none()
            && let Some(c) = self.calls.get_mut(call_id)
        {
            // A restart stored before a process restart has no transaction
            // and no timer left: it is over.
            c.sip.trickle.restart = None;
        }
        if self
            .calls
            .get(call_id)
            .is_some_and(|c| c.sip.trickle.restart.is_some())
        {
            // RFC 3261 §14.2: a re-INVITE while ours is being answered.
            let mut r = response_for(request, 500, "Server Internal Error");
            r.headers.push("Retry-After", "2");
            self.respond(key, r);
            return true;
        }
        let role = match self.calls[call_id].direction {
            CallDirection::SipToXmpp => Role::Initiator,
            CallDirection::XmppToSip => Role::Responder,
        };
        let mut offer = match sdp_to_jingle(&body, role) {
            Ok(t) => t.value,
            Err(e) => {
                tracing::info!(call = %call_id, error = %e, "ICE restart offer does not translate");
                let mut r = response_for(request, e.sip_status().0, "Not Acceptable Here");
                r.headers.push(
                    "Warning",
                    format!(
                        "399 stox \"{}\"",
                        super::inbound::warning_text(&e.to_string())
                    ),
                );
                self.respond(key, r);
                return true;
            }
        };
        let call = self.calls.get_mut(call_id).expect("checked");
        if let Some(stored) = call.xmpp.media.as_ref() {
            adopt_offer_names(&mut offer, stored);
        }
        call.sip.trickle.generation += 1;
        call.sip.trickle.remote = Some(new);
        let generation = call.sip.trickle.generation;
        let mut jingle = Jingle::default();
        for content in offer.contents {
            let Some(Transport::IceUdp(mut t)) = content.transport else {
                continue;
            };
            let creator = call
                .xmpp
                .media
                .as_ref()
                .and_then(|m| m.contents.iter().find(|c| c.name == content.name))
                .map_or(content.creator, |c| c.creator);
            for (n, c) in t.candidates.iter_mut().enumerate() {
                c.generation = Some(generation);
                c.id = Some(format!("{}-g{generation}-r{n}", content.name));
            }
            t.fingerprints.clear();
            jingle.contents.push(Content {
                creator,
                name: content.name,
                transport: Some(Transport::IceUdp(t)),
                ..Content::default()
            });
        }
        call.sip.trickle.restart = Some(PendingRestart {
            request: request.clone(),
            key: key.clone(),
            extra: extra.clone(),
            previous,
            answer: Vec::new(),
        });
        tracing::info!(call = %call_id, generation, "ICE restart from SIP: transport-info to XMPP, answer waits for new credentials");
        self.reply(key, request, 100, None);
        self.send_transport_info(call_id, jingle);
        self.timers.set(
            (call_id.to_string(), CallTimer::IceRestart),
            self.now + RESTART_WAIT,
        );
        true
    }

    /// A transport-info from XMPP while a SIP restart waits: when it brings
    /// new credentials, they (and its candidates) answer the re-INVITE —
    /// at once when complete or the peer trickles the rest, else after the
    /// quiet time. True when it was about the restart.
    fn restart_credentials_from_xmpp(&mut self, call_id: &str, update: &Jingle) -> bool {
        let quiet = self.cfg.trickle_quiet;
        let now = self.now;
        let trickles = self.peer_trickles(call_id);
        let Some(call) = self.calls.get_mut(call_id) else {
            return false;
        };
        let Some(media) = call.xmpp.media.as_mut() else {
            return false;
        };
        let Some(restart) = call.sip.trickle.restart.as_mut() else {
            return false;
        };
        let mut fresh = false;
        let mut complete = true;
        for content in &update.contents {
            let Some(Transport::IceUdp(t)) = &content.transport else {
                continue;
            };
            let Some(stored) = media
                .contents
                .iter_mut()
                .find(|c| c.name == content.name)
                .and_then(|c| match &mut c.transport {
                    Some(Transport::IceUdp(s)) => Some(s),
                    _ => None,
                })
            else {
                continue;
            };
            let (Some(u), Some(p)) = (&t.ufrag, &t.pwd) else {
                continue;
            };
            let entry = restart
                .answer
                .iter_mut()
                .find(|m| m.mid.as_deref() == Some(content.name.as_str()));
            let is_new = stored.ufrag.as_deref() != Some(u) || entry.is_some();
            if !is_new {
                continue;
            }
            fresh = true;
            // The new generation replaces the old in the stored session.
            if stored.ufrag.as_deref() != Some(u) {
                stored.ufrag = Some(u.clone());
                stored.pwd = Some(p.clone());
                stored.candidates.clear();
                stored.end_of_candidates = false;
            }
            for c in &t.candidates {
                if !stored.candidates.contains(c) {
                    stored.candidates.push(c.clone());
                }
            }
            stored.end_of_candidates |= t.end_of_candidates;
            let state = RestartedMedia {
                mid: Some(content.name.clone()),
                ufrag: u.clone(),
                pwd: p.clone(),
                candidates: stored.candidates.clone(),
                end_of_candidates: stored.end_of_candidates,
            };
            complete &= state.end_of_candidates;
            match entry {
                Some(e) => *e = state,
                None => restart.answer.push(state),
            }
        }
        if !fresh {
            return false;
        }
        if complete || trickles {
            self.answer_restart(call_id);
        } else {
            let key = (call_id.to_string(), CallTimer::IceRestart);
            let at = self
                .timers
                .get(&key)
                .map_or(now + quiet, |t| t.min(now + quiet));
            self.timers.set(key, at);
        }
        true
    }

    /// [`CallTimer::IceRestart`]: answer with what the XMPP client sent, or
    /// refuse when it sent no new credentials.
    pub(crate) fn ice_restart_timer(&mut self, call_id: &str) {
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        let Some(restart) = call.sip.trickle.restart.as_ref() else {
            return;
        };
        if !restart.answer.is_empty() {
            self.answer_restart(call_id);
            return;
        }
        let restart = call.sip.trickle.restart.take().expect("checked");
        call.sip.trickle.remote = restart.previous.clone();
        tracing::warn!(call = %call_id, "ICE restart from SIP refused: the XMPP client sent no new credentials in time");
        let mut r = response_for(&restart.request, 488, "Not Acceptable Here");
        r.headers.push(
            "Warning",
            "399 stox \"ICE restart: no new ICE credentials from the XMPP client\"",
        );
        self.respond(&restart.key, r);
    }

    /// Answers the restarting re-INVITE: our last SDP with the XMPP
    /// client's new credentials and candidates.
    fn answer_restart(&mut self, call_id: &str) {
        self.timers
            .cancel(&(call_id.to_string(), CallTimer::IceRestart));
        let transport = match self.calls.get(call_id) {
            Some(c) => c.sip.peer.transport,
            None => return,
        };
        let contact = self.our_contact("stox", transport);
        let ua = self.cfg.user_agent.clone();
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        let Some(restart) = call.sip.trickle.restart.take() else {
            return;
        };
        let sdp = sdpfrag::restart_answer(
            call.sip.local_sdp.as_deref().unwrap_or_default(),
            &restart.answer,
        );
        call.sip.local_sdp = Some(sdp.clone());
        let mut r = response_for(&restart.request, 200, "OK");
        r.headers.push("User-Agent", ua);
        r.headers.push("Contact", format!("<{contact}>"));
        r.headers.push("Supported", super::session_timer::SUPPORTED);
        for h in restart.extra.iter() {
            r.headers.push(&h.name, h.value.clone());
        }
        r.headers.push("Content-Type", "application/sdp");
        r.body = sdp.into_bytes();
        tracing::info!(call = %call_id, "ICE restart from SIP answered with the XMPP client's new credentials");
        self.respond(&restart.key, r);
    }
}
