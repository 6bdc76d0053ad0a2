//! The `rtpengine` media mode: an rtpengine daemon anchors the media, driven
//! over its ng control protocol (bencoded dictionaries over UDP).
//!
//! rtpengine is already an SDP-in, SDP-out anchor, so this is a translation
//! of [`AnchorRequest`](crate::media::anchor::AnchorRequest)s into ng
//! commands and of ng replies into
//! [`AnchorReply`](crate::media::anchor::AnchorReply)s:
//!
//! - [`bencode`]: the wire encoding (pure);
//! - [`message`]: which command and flags each request becomes (pure);
//! - [`reply`]: cookie framing and what a reply means (pure);
//! - `client`: the UDP socket, cookies, retransmission and timeouts (tokio,
//!   behind the `gateway` feature).

pub mod bencode;
#[cfg(feature = "gateway")]
pub mod client;
pub mod message;
pub mod reply;

#[cfg(feature = "gateway")]
pub use client::{Retransmit, RtpengineClient};
