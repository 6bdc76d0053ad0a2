//! SDP ⇄ Jingle translation: pure functions, no I/O.
//!
//! Covers every row of the mapping digest §3 (`../shared/spec/jingle-sip-mapping.md`).
//! What one side says and the other cannot express comes back as a [`Warning`];
//! what makes translation impossible is a [`TranslateError`], which knows its SIP
//! status and Jingle reason.
//!
//! Perspective matters: an SDP direction is relative to whoever wrote the SDP,
//! while Jingle `senders` is absolute. Every function therefore takes the
//! [`Role`] of the SDP's writer.

pub mod codecs;
mod direction;
mod error;
pub mod fmtp;
mod ice;
mod names;
mod sdp_text;
pub mod sdpfrag;
mod static_pt;
mod to_jingle;
mod to_sdp;
mod warning;

pub use codecs::{filter_codecs, is_known_codec};
pub use direction::{Direction, direction_from_senders, senders_from_direction};
pub use error::TranslateError;
pub use names::adopt_offer_names;
pub use sdp_text::parse_sdp;
pub use to_jingle::session_to_jingle;
pub use to_sdp::{jingle_to_session, profile};
pub use warning::Warning;

use crate::jingle::Jingle;
use sdp_types::Session;

/// Whose point of view an SDP is written from: the Jingle session's initiator
/// (the caller) or its responder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    /// The Jingle initiator wrote (or will receive as its own) this SDP.
    #[default]
    Initiator,
    /// The Jingle responder.
    Responder,
}

/// A translation result and what could not be carried across.
#[derive(Debug, Clone, PartialEq)]
pub struct Translated<T> {
    /// The translated value.
    pub value: T,
    /// Everything that was left out or approximated, in input order.
    pub warnings: Vec<Warning>,
}

/// The `o=` line of an SDP we write. Jingle has no such thing; the call core
/// owns the session id and bumps the version on every new offer (RFC 3264 §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdpOrigin {
    /// o= username: draft-ietf-stox-media puts the initiator's localpart here.
    pub username: String,
    /// o= sess-id.
    pub session_id: u64,
    /// o= sess-version.
    pub session_version: u64,
    /// o= unicast address.
    pub address: String,
}

impl Default for SdpOrigin {
    fn default() -> Self {
        SdpOrigin {
            username: "-".to_string(),
            session_id: 0,
            session_version: 0,
            address: "0.0.0.0".to_string(),
        }
    }
}

/// SDP text (CRLF or LF, pasted captures welcome) → Jingle contents and groups.
pub fn sdp_to_jingle(text: &str, writer: Role) -> Result<Translated<Jingle>, TranslateError> {
    session_to_jingle(&parse_sdp(text)?, writer)
}

/// Jingle contents → SDP text with CRLF line ends.
pub fn jingle_to_sdp(
    jingle: &Jingle,
    writer: Role,
    origin: &SdpOrigin,
) -> Result<Translated<String>, TranslateError> {
    let Translated { value, warnings } = jingle_to_session(jingle, writer, origin)?;
    Ok(Translated {
        value: write_sdp(&value),
        warnings,
    })
}

/// Writes a session as SDP text with CRLF line ends.
pub fn write_sdp(session: &Session) -> String {
    let mut out = Vec::new();
    session
        .write(&mut out)
        .expect("writing to a Vec<u8> cannot fail");
    String::from_utf8(out).expect("sdp-types writes the UTF-8 it was given")
}
