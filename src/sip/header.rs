//! Typed views of the SIP headers the gateway reads and writes (Via, From/To, CSeq, …).
//!
//! Each view parses one header *value* (one comma-separated element, see
//! [`Headers::values`](super::Headers::values)) and its `Display` writes a
//! valid value back. They are views: the message keeps the text, so headers
//! the gateway does not touch go out exactly as they came in.

pub(crate) mod lex;
mod name_addr;
mod session_expires;
mod via;

pub use lex::Params;
pub use name_addr::NameAddr;
pub use session_expires::{MIN_SE_SECS, Refresher, SessionExpires};
pub use via::Via;

use std::fmt;

use super::{Method, SipParseError};
use lex::err;

/// The CSeq header: sequence number and method (RFC 3261 §20.16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    /// The sequence number (RFC 3261 requires it to fit 32 bits).
    pub seq: u32,
    /// The method; must equal the request's method.
    pub method: Method,
}

impl CSeq {
    /// Parses `1*DIGIT LWS Method`. Leading zeros are fine (`0009`); a
    /// number beyond 32 bits is an error (RFC 4475 §3.1.2.4).
    pub fn parse(s: &str) -> Result<Self, SipParseError> {
        let s = lex::trim_wsp(s);
        let (num, method) = s
            .split_once(lex::is_wsp)
            .ok_or_else(|| err(format!("bad CSeq {s:?}")))?;
        let method = lex::trim_wsp(method);
        if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) || !lex::is_token(method) {
            return Err(err(format!("bad CSeq {s:?}")));
        }
        let seq = num
            .parse::<u32>()
            .map_err(|_| err(format!("CSeq number {num} does not fit 32 bits")))?;
        Ok(CSeq {
            seq,
            method: Method::parse(method),
        })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}
