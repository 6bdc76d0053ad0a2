//! The sans-IO call core: one input enum, one output enum, a timer table; legs
//! as plain data.
//!
//! [`Gateway`] owns the SIP transaction layer and every call. Adapters feed it
//! [`Input`]s with the current time and carry out its [`Output`]s; nothing here
//! touches a socket or a clock, so scenario tests drive it on a virtual clock.

mod anchored;
mod auth;
mod content;
mod dtmf;
mod early;
mod failover;
mod gateway;
mod hold;
mod hold_sdp;
mod in_dialog;
mod inbound;
mod inbound_auth;
mod info;
mod io;
mod keepalive;
mod late_offer;
mod loops;
mod model;
mod outbound;
mod ownership;
mod prack;
pub mod ratelimit;
pub mod reasons;
mod recover;
mod redirect;
pub mod register;
mod session_timer;
pub mod timers;
mod transfer;
mod transfer_xmpp;
mod trickle;
mod xmpp_in;

pub use gateway::{CoreConfig, Gateway};
pub use hold::HoldState;
pub use io::{CallEvent, Input, Output, PersistKind};
pub use model::{
    AnchoredSdp, Call, CallDirection, CallEnd, CallMedia, CallState, EarlyAnswer, Side, SipLeg,
    XmppLeg,
};
#[cfg(feature = "gateway")]
pub(crate) use outbound::host_of;
pub use ownership::{Claim, iq_prefix};
pub use recover::{CSEQ_GAP, Restored, Takeover};
pub use transfer::Transfer;
pub use trickle::{PendingRestart, TrickleIce};
