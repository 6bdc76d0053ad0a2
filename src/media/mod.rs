//! Media: the anchor that relays a call's RTP between its two legs.
//!
//! [`anchor`] is the core's view (SDP in, SDP out, asynchronous). The
//! embedded relay and the rtpengine client ([`rtpengine`]) are the adapters
//! behind it.

pub mod anchor;
#[cfg(feature = "gateway")]
pub mod engine;
pub mod rtp;
pub mod rtpengine;
#[cfg(feature = "gateway")]
pub mod srtp;
pub mod stats;
pub mod stun;
