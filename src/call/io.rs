//! The call core's one input enum and one output enum.

use super::model::{Call, CallDirection};

use crate::media::anchor::{AnchorReply, AnchorRequest, MediaLeg, MediaMode, MediaNotice};
use crate::sip::peer::Peer;
use minidom::Element;
use std::time::Duration;

/// Everything that can happen to the gateway.
#[derive(Debug, Clone)]
pub enum Input {
    /// Bytes of one SIP message (a datagram, or one framed message of a stream).
    Sip {
        /// Where it came from.
        from: Peer,
        /// The raw message; parsed by the core so that it can answer 400 itself.
        bytes: Vec<u8>,
    },
    /// A SIP message could not be delivered (TCP connect refused, reset, …).
    SipUnreachable {
        /// The peer that could not be reached.
        peer: Peer,
    },
    /// A stanza from the XMPP server.
    Stanza(Element),
    /// A trunk's targets were (re-)located (RFC 3263): transports and
    /// addresses in the order to try them; empty when nothing resolved.
    TrunkTargets {
        /// Trunk name.
        trunk: String,
        /// Targets, best first.
        targets: Vec<Peer>,
    },
    /// Time passed; fire what is due.
    Timeout,
    /// Calls read back from the store: ours after a restart, or a dead
    /// instance's (see `call::recover` for what happens to each).
    Restore {
        /// The stored snapshots.
        calls: Vec<Call>,
        /// Why they are taken back.
        how: super::recover::Takeover,
    },
    /// The media anchor's reply to an [`Output::Anchor`] request.
    Anchored(AnchorReply),
    /// Something the media anchor noticed about a call's media (no packets
    /// for too long, a failed DTLS handshake): the call ends.
    Media {
        /// The call's correlation id.
        call: String,
        /// What happened.
        notice: MediaNotice,
    },
}

/// Why the core wants a call snapshot written durably (see `src/store`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersistKind {
    /// The call was created.
    Created,
    /// Both legs answered.
    Answered,
    /// What a restarted process needs changed: an INVITE left (or was re-sent
    /// with credentials or to another target), or the peer moved its target.
    Modified,
    /// The call ended; the record is final.
    Ended,
}

/// What happened to a call, for metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEvent {
    /// A call attempt started.
    Attempted(CallDirection),
    /// A call was answered after `setup`.
    Answered {
        /// Direction.
        direction: CallDirection,
        /// From the first signalling message to the answer.
        setup: Duration,
    },
    /// A call failed before answer, with the SIP status that describes why.
    Failed {
        /// Direction.
        direction: CallDirection,
        /// SIP status code (sent or received).
        status: u16,
    },
    /// An answered call ended.
    Ended(CallDirection),
    /// A trunk started or stopped answering our OPTIONS pings.
    TrunkState {
        /// Trunk name.
        trunk: String,
        /// Whether it answers.
        up: bool,
    },
    /// A trunk registration succeeded or was lost.
    Registration {
        /// Trunk name.
        trunk: String,
        /// Whether we are registered now.
        registered: bool,
    },
    /// Input that was refused (malformed SIP or XMPP, unknown dialog, …).
    Rejected {
        /// Short label: `sip-malformed`, `jingle-malformed`, `unknown-session`, …
        what: &'static str,
    },
}

/// Everything the core asks of its adapters.
#[derive(Debug, Clone)]
pub enum Output {
    /// Send a SIP message.
    SendSip {
        /// Destination.
        to: Peer,
        /// The message.
        bytes: Vec<u8>,
    },
    /// Send a stanza on the component link.
    SendStanza(Element),
    /// Persist a call snapshot.
    Persist {
        /// Why.
        kind: PersistKind,
        /// The call as it is now.
        call: Box<Call>,
    },
    /// A metrics event.
    Event(CallEvent),
    /// Every target of the trunk failed: locate it again (RFC 3263 §4.3 lets
    /// the records have changed) and feed [`Input::TrunkTargets`].
    ResolveTrunk {
        /// Trunk name.
        trunk: String,
    },
    /// Ask the call's media anchor for one offer/answer exchange; the call
    /// waits for [`Input::Anchored`].
    Anchor(AnchorRequest),
    /// A leg's description changed in dialog (a re-INVITE or UPDATE with
    /// SDP: a moved address, hold): the anchor follows it. Our answer stays
    /// the anchor's description (same ports), so nothing waits for a reply.
    MediaUpdate {
        /// The call's correlation id.
        call: String,
        /// The leg that sent the new description.
        leg: MediaLeg,
        /// Its SDP.
        sdp: String,
        /// Whether `sdp` is that leg's offer (its re-INVITE or UPDATE) rather
        /// than its answer to ours (the 2xx to our re-INVITE, a transfer
        /// target's or early dialog's 2xx, a delayed offer's ACK): rtpengine
        /// is given it as an ng `offer` or `answer` accordingly.
        offer: bool,
        /// Which anchor holds it.
        mode: MediaMode,
    },
    /// Issue 7, DTMF: a digit the XMPP user typed (XEP-0181), for the
    /// embedded anchor to send into the SIP leg's RTP as RFC 4733 events
    /// (`call::dtmf` decides between this and SIP INFO).
    Dtmf {
        /// The call's correlation id.
        call: String,
        /// `0`-`9`, `*`, `#`, `A`-`D`.
        code: char,
        /// How long the tone lasts, ms (already clamped).
        duration_ms: u32,
    },
    /// The call ended: free its media at the anchor (rtpengine `delete`,
    /// or the embedded relay's ports). Emitted once per anchored call.
    ReleaseMedia {
        /// The call's correlation id.
        call: String,
        /// Which anchor holds it.
        mode: MediaMode,
    },
}
