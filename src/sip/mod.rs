//! The SIP side: messages, URIs and typed header views (pure), transactions and
//! dialogs as plain data (sans-IO), and the socket adapter.

pub mod dialog;
pub mod digest;
pub mod header;
pub mod locate;
pub mod message;
pub mod peer;
pub mod timers;
pub mod transaction;
pub mod uri;

pub use header::{CSeq, NameAddr, Params, Via};
pub use message::{
    Header, Headers, Method, Request, Response, SipMessage, SipParseError, canonical_header_name,
    default_reason, frame_len, parse_message, response_for, validate_request,
};
pub use uri::{Scheme, SipUri};
