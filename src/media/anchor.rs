//! What the call core asks of a media anchor, and what it gets back.
//!
//! An anchor (the embedded relay in `media::engine`, or an rtpengine daemon
//! driven over its ng protocol in `media::rtpengine`) is an SDP-in, SDP-out
//! service, exactly like rtpengine's ng `offer` / `answer` / `delete`: the
//! core hands it one leg's description and receives the description to give
//! the other leg, naming the anchor's own addresses, ICE credentials,
//! fingerprint or crypto — never the other leg's. Jingle descriptions go
//! through `translate` to SDP first and come back the same way, so both
//! anchor kinds see one format.
//!
//! The exchange is asynchronous (rtpengine is across a socket; the embedded
//! anchor binds ports), so the core emits [`AnchorRequest`] as an output and
//! waits for [`AnchorReply`] as an input before it continues the call.

use crate::media::stats::LegStats;
use serde::{Deserialize, Serialize};

/// The session name (`s=`) of the SIP-side offer the gateway writes itself
/// for a delayed-offer INVITE (`call::late_offer`). Its `c=IN IP4 0.0.0.0`
/// means "the peer's address is not known yet", never RFC 2543 hold, and an
/// anchor must read it so (rtpengine: `media::rtpengine::message`).
pub const GATEWAY_OFFER_SESSION: &str = "stox-delayed-offer";

/// The two legs of an anchored call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MediaLeg {
    /// Toward the XMPP client: ICE(-lite) and DTLS-SRTP (WebRTC stacks).
    Xmpp,
    /// Toward the SIP peer: plain RTP or SDES-SRTP, no ICE.
    Sip,
}

impl MediaLeg {
    /// The other leg.
    pub fn other(self) -> Self {
        match self {
            MediaLeg::Xmpp => MediaLeg::Sip,
            MediaLeg::Sip => MediaLeg::Xmpp,
        }
    }

    /// Label for logs, metrics and rtpengine tags: `xmpp`, `sip`.
    pub fn label(self) -> &'static str {
        match self {
            MediaLeg::Xmpp => "xmpp",
            MediaLeg::Sip => "sip",
        }
    }
}

/// How media of a call is carried (`[media] mode`, per trunk `media`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum MediaMode {
    /// Signalling only: the two endpoints' own addresses, ICE and DTLS are
    /// translated and carried through; media flows between them directly.
    Passthrough,
    /// The gateway's own relay (`media::engine`): ICE-lite + DTLS-SRTP toward
    /// XMPP, plain RTP or SDES-SRTP toward SIP.
    #[default]
    Embedded,
    /// An rtpengine daemon over its ng control protocol.
    Rtpengine,
}

impl MediaMode {
    /// The configuration spelling: `passthrough`, `embedded`, `rtpengine`.
    pub fn label(self) -> &'static str {
        match self {
            MediaMode::Passthrough => "passthrough",
            MediaMode::Embedded => "embedded",
            MediaMode::Rtpengine => "rtpengine",
        }
    }
}

/// What the anchor speaks toward the SIP peer (per trunk `srtp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum SipSrtp {
    /// Plain RTP/AVP.
    #[default]
    None,
    /// SDES-SRTP (RTP/SAVP with `a=crypto`, RFC 4568).
    Sdes,
}

/// Which half of the offer/answer exchange a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AnchorOp {
    /// `from`'s offer: allocate (or update) the call's media, return the offer
    /// for the other leg.
    Offer,
    /// `from`'s answer to the offer the anchor made: complete the call's
    /// media, return the answer for the offering leg.
    Answer,
}

/// One SDP exchange with the anchor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnchorRequest {
    /// The call's correlation id; also the anchor's call key (rtpengine
    /// `call-id`).
    pub call: String,
    /// Offer or answer.
    pub op: AnchorOp,
    /// The leg whose description `sdp` is.
    pub from: MediaLeg,
    /// That leg's SDP (a Jingle description translated to SDP).
    pub sdp: String,
    /// Which anchor handles the call.
    pub mode: MediaMode,
    /// What to speak toward the SIP peer.
    pub sip_srtp: SipSrtp,
}

impl AnchorRequest {
    /// The leg the returned SDP is for.
    pub fn to(&self) -> MediaLeg {
        self.from.other()
    }
}

/// Why an anchor could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AnchorError {
    /// The description cannot be anchored (no usable stream, an SDP the
    /// anchor cannot parse, a crypto suite it does not speak): 488 /
    /// `<incompatible-parameters/>`.
    Unacceptable(String),
    /// The anchor has no capacity or is unreachable (ports exhausted,
    /// rtpengine not answering): 503 / `<media-error/>`.
    Unavailable(String),
}

impl AnchorError {
    /// The SIP status to answer or report with.
    pub fn sip_status(&self) -> u16 {
        match self {
            AnchorError::Unacceptable(_) => 488,
            AnchorError::Unavailable(_) => 503,
        }
    }

    /// The Jingle reason condition.
    pub fn jingle_reason(&self) -> &'static str {
        match self {
            AnchorError::Unacceptable(_) => "incompatible-parameters",
            AnchorError::Unavailable(_) => "media-error",
        }
    }
}

impl std::fmt::Display for AnchorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnchorError::Unacceptable(why) => write!(f, "media not acceptable: {why}"),
            AnchorError::Unavailable(why) => write!(f, "media anchor unavailable: {why}"),
        }
    }
}

/// The anchor's answer to one [`AnchorRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorReply {
    /// The call.
    pub call: String,
    /// The request's op.
    pub op: AnchorOp,
    /// The SDP for the other leg, or why there is none.
    pub result: Result<String, AnchorError>,
}

/// Something the anchor noticed about a call's media, fed back to the core.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaNotice {
    /// No media arrived on `leg` for the configured time: the call is dead.
    Inactive {
        /// The silent leg.
        leg: MediaLeg,
        /// Seconds without a packet.
        secs: u64,
    },
    /// The leg failed for good (DTLS handshake failed, fingerprint mismatch).
    Failed {
        /// The failed leg.
        leg: MediaLeg,
        /// Why, for the log and the Jingle reason text.
        why: String,
    },
    /// Both legs' counters so far (cumulative). The embedded relay reports
    /// every [`STATS_EVERY`] while it runs, and once more just before an
    /// `Inactive` or `Failed` notice, so that the call's CDR has them; when
    /// the core releases the media no report follows (the call has ended and
    /// its CDR is written by then). Never ends a call.
    Stats {
        /// The leg toward the XMPP client.
        xmpp: LegStats,
        /// The leg toward the SIP peer.
        sip: LegStats,
    },
}

/// How often a running relay reports [`MediaNotice::Stats`]: the CDR's media
/// counters are at most this old when the core ends the call.
pub const STATS_EVERY: std::time::Duration = std::time::Duration::from_secs(5);
