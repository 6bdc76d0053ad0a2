//! A call and its two legs as plain, serialisable data.
//!
//! Everything a restarted process needs to continue a call lives here (the SIP
//! dialog, the Jingle sid and peer JID, the negotiated media); instants are
//! process-local and skipped when serialised.

use crate::jingle::Jingle;
use crate::media::anchor::{AnchorOp, MediaLeg, MediaMode, SipSrtp};
use crate::media::stats::MediaStats;
use crate::sip::dialog::Dialog;
use crate::sip::message::Request;
use crate::sip::peer::Peer;
use crate::sip::transaction::ServerKey;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Which side called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CallDirection {
    /// An XMPP user called a SIP address or number.
    XmppToSip,
    /// A SIP caller rang an XMPP user.
    SipToXmpp,
}

impl CallDirection {
    /// A label for metrics and logs.
    pub fn label(self) -> &'static str {
        match self {
            CallDirection::XmppToSip => "outbound",
            CallDirection::SipToXmpp => "inbound",
        }
    }
}

/// Where a call is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallState {
    /// Outbound: JMI propose answered with proceed; waiting for session-initiate.
    Proposed,
    /// Outbound: session-initiate received; collecting trickled candidates.
    Gathering,
    /// Outbound: INVITE sent, no final response yet.
    Inviting,
    /// Inbound: JMI propose sent (or session-initiate sent directly), ringing.
    Alerting,
    /// Inbound: a device proceeded; session-initiate sent, awaiting session-accept.
    Initiating,
    /// Inbound: session-accept received; collecting the answerer's candidates.
    AnswerGathering,
    /// Inbound: 200 OK sent, waiting for the ACK.
    Accepted,
    /// Both legs up.
    Active,
    /// Outbound: CANCEL sent (or pending until a provisional arrives).
    Cancelling,
}

/// The XMPP leg: one Jingle session with one XMPP user's device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct XmppLeg {
    /// Jingle session id (also the JMI id).
    pub sid: String,
    /// The XMPP user's JID: bare while an inbound call still rings all devices,
    /// the chosen device's full JID afterwards.
    pub user: String,
    /// The gateway-side JID the user talks to (`<number>@<domain>/<resource>`).
    pub gateway: String,
    /// Whether the session was set up with XEP-0353 messages.
    pub jmi: bool,
    /// Full JIDs of devices that reported ringing (inbound).
    pub ringing: Vec<String>,
    /// Whether the session-initiate has been sent or received.
    pub initiated: bool,
    /// The Jingle offer (outbound) or answer (inbound) with candidates merged in.
    pub media: Option<Jingle>,
}

/// The SIP leg: one INVITE dialog with a trunk, PBX or phone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SipLeg {
    /// Call-ID.
    pub call_id: String,
    /// Our tag.
    pub local_tag: String,
    /// The established (or early) dialog.
    pub dialog: Option<Dialog>,
    /// The INVITE we sent (outbound) or received (inbound).
    pub invite: Option<Request>,
    /// Branch of the INVITE client transaction (outbound).
    pub invite_branch: Option<String>,
    /// The INVITE server transaction (inbound).
    pub server_key: Option<ServerKey>,
    /// Where the INVITE went or came from.
    pub peer: Peer,
    /// Outbound: the trunk's further targets, tried in order when `peer`
    /// fails before any provisional response (RFC 3263 §4.3).
    #[serde(default)]
    pub fallbacks: Vec<Peer>,
    /// Whether a provisional response was sent or received.
    pub provisional: bool,
    /// The SDP we sent last (offer or answer), re-used for session refreshes.
    pub local_sdp: Option<String>,
    /// How many times the INVITE was re-sent with credentials.
    #[serde(default)]
    pub auth_attempts: u8,
    /// The RFC 4028 session timer, once negotiated.
    #[serde(default)]
    pub session_timer: Option<SessionTimer>,
    /// Outbound: the RSeq of the last reliable provisional we PRACKed
    /// (RFC 3262 §4: a lower or equal one is a retransmission).
    #[serde(default)]
    pub last_rseq: Option<u32>,
    /// Outbound: the highest CSeq a PRACK used in the early dialog; the
    /// confirmed dialog's requests must go above it.
    #[serde(default)]
    pub early_cseq: u32,
    /// Inbound: our reliable provisional awaiting PRACK (RFC 3262 §3).
    #[serde(default)]
    pub reliable: Option<ReliableProvisional>,
    /// Outbound: how many 3xx redirects the INVITE followed.
    #[serde(default)]
    pub redirects: u8,
    /// Outbound: the first early dialog's SDP answer (a 18x with SDP) and
    /// what became of it (`call::early`).
    #[serde(default)]
    pub early: Option<EarlyAnswer>,
    /// Inbound delayed offer: the SIP peer's answer, from its ACK
    /// (`call::late_offer`).
    #[serde(default)]
    pub ack_answer: Option<String>,
    /// Trickle ICE with the peer and its ICE restarts (`call::trickle`).
    #[serde(
        default,
        skip_serializing_if = "super::trickle::TrickleIce::is_default"
    )]
    pub trickle: super::trickle::TrickleIce,
    /// A blind transfer (REFER) of this leg in progress (`call::transfer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<Box<super::transfer::Transfer>>,
    /// Hold and stream directions on both sides (`call::hold`).
    #[serde(default)]
    pub hold: super::hold::HoldState,
}

impl SipLeg {
    /// A leg with nothing sent or received yet, toward `peer`.
    pub fn new(peer: Peer) -> Self {
        SipLeg {
            call_id: String::new(),
            local_tag: String::new(),
            dialog: None,
            invite: None,
            invite_branch: None,
            server_key: None,
            peer,
            fallbacks: Vec::new(),
            provisional: false,
            local_sdp: None,
            auth_attempts: 0,
            session_timer: None,
            last_rseq: None,
            early_cseq: 0,
            reliable: None,
            redirects: 0,
            early: None,
            ack_answer: None,
            trickle: Default::default(),
            transfer: None,
            hold: Default::default(),
        }
    }
}

/// An SDP answer that came in a provisional response (early media,
/// checklist 11, 12 and 18), kept for a 2xx that carries none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarlyAnswer {
    /// The answer.
    pub sdp: String,
    /// The To tag of the early dialog it came in: only the first fork's
    /// answer is used, and it answers only that dialog's 2xx.
    pub tag: Option<String>,
    /// Whether it came reliably (100rel): RFC 3262 makes it the answer, so
    /// even a passthrough call may put it into session-accept.
    pub reliable: bool,
    /// Anchored: the session-accept with the anchor's answer was sent at
    /// the 18x (the call is still unanswered).
    pub accepted: bool,
}

/// RFC 4028 session timer state of a dialog: plain data, so it survives a
/// restart with the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionTimer {
    /// The negotiated session interval, seconds.
    pub interval: u32,
    /// Whether we send the refreshes (else we expect them).
    pub we_refresh: bool,
    /// Whether the peer accepts UPDATE (a body-less refresh), else re-INVITE.
    pub update_ok: bool,
    /// Whether the peer supports the extension (so 2xx may `Require: timer`).
    pub peer_supports: bool,
}

/// A provisional response we send reliably until it is PRACKed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliableProvisional {
    /// Its RSeq.
    pub rseq: u32,
    /// The response, resent as is.
    pub response: crate::sip::message::Response,
    /// Whether the PRACK arrived.
    pub acked: bool,
    /// How many times it was retransmitted.
    pub retransmits: u32,
}

/// One bridged call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    /// Correlation id, in every log line about this call.
    pub id: String,
    /// Who called.
    pub direction: CallDirection,
    /// Where the call is.
    pub state: CallState,
    /// The Jingle side.
    pub xmpp: XmppLeg,
    /// The SIP side.
    pub sip: SipLeg,
    /// Trunk name the call went out through or came in from.
    pub trunk: Option<String>,
    /// When the call was created (process-local).
    #[serde(skip)]
    pub created_at: Option<Instant>,
    /// When both legs were answered (process-local).
    #[serde(skip)]
    pub answered_at: Option<Instant>,
    /// Outbound: the user hung up before any provisional; CANCEL waits for one.
    pub cancel_pending: bool,
    /// How the call ended; set just before the final [`PersistKind::Ended`]
    /// snapshot, so that the call detail record can say who hung up and why.
    ///
    /// [`PersistKind::Ended`]: super::io::PersistKind::Ended
    #[serde(default)]
    pub ended: Option<CallEnd>,
    /// The side whose action started the end of the call while it still has
    /// to complete (a CANCEL awaiting its 487): the CDR credits that side.
    #[serde(default)]
    pub hangup_by: Option<Side>,
    /// The first Jingle `<reason/>` condition sent or received about the end
    /// of this call, for the CDR.
    #[serde(default)]
    pub jingle_reason: Option<String>,
    /// The call's media anchor, from the first anchor request on; `None`
    /// for a passthrough call (left out of stored snapshots then, so those
    /// read exactly as before anchoring existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<CallMedia>,
}

/// An anchored call's media: which anchor, and the SDP exchanged with it.
///
/// The exchanged SDP is kept so that a restarted process could set the
/// anchor up again by replaying the offer and the answer (media is not
/// restored yet: a restart releases it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallMedia {
    /// The anchor handling the call (never passthrough).
    pub mode: MediaMode,
    /// What the anchor speaks toward the SIP peer.
    pub sip_srtp: SipSrtp,
    /// The exchange whose reply the call is waiting for.
    #[serde(default)]
    pub pending: Option<AnchorOp>,
    /// The offer: the offering leg's SDP and the anchor's for the other leg.
    #[serde(default)]
    pub offer: Option<AnchoredSdp>,
    /// The answer, likewise.
    #[serde(default)]
    pub answer: Option<AnchoredSdp>,
    /// The anchor's latest counts of both legs ([`MediaNotice::Stats`],
    /// every [`STATS_EVERY`] while media flows, and once more when the
    /// anchor ends the call itself). Kept without a store write of its own:
    /// the `Ended` snapshot carries the last one into the CDR, so a CDR's
    /// media counts cover the call up to the last report, at most
    /// `STATS_EVERY` before its end. `None` until the first report (and
    /// always with rtpengine, which sends none).
    ///
    /// [`MediaNotice::Stats`]: crate::media::anchor::MediaNotice::Stats
    /// [`STATS_EVERY`]: crate::media::anchor::STATS_EVERY
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<MediaStats>,
}

/// One half of the offer/answer exchange as the anchor saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnchoredSdp {
    /// The leg whose description was given to the anchor.
    pub from: MediaLeg,
    /// That description.
    pub given: String,
    /// The anchor's description for the other leg, once it replied.
    #[serde(default)]
    pub returned: Option<String>,
}

/// Which side ended a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side {
    /// The XMPP user (session-terminate, retract, reject, or no answer from
    /// their devices).
    Xmpp,
    /// The SIP peer (BYE, CANCEL, a final error response).
    Sip,
    /// The gateway itself (a timer, a failed translation, a restart).
    Gateway,
}

impl Side {
    /// Label for CDRs and logs: `xmpp`, `sip`, `gateway`.
    pub fn label(self) -> &'static str {
        match self {
            Side::Xmpp => "xmpp",
            Side::Sip => "sip",
            Side::Gateway => "gateway",
        }
    }
}

/// The end of a call as a call detail record states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallEnd {
    /// Who hung up or failed the call.
    pub by: Side,
    /// The SIP status that describes the end (sent or received); `None` for a
    /// normal BYE of an answered call.
    pub sip_status: Option<u16>,
    /// The Jingle `<reason/>` condition sent or received (`success`, `busy`,
    /// `decline`, …), when there was one.
    pub jingle_reason: Option<String>,
}
