//! `Session-Expires` (RFC 4028 §4): how long the session lives without a
//! refresh, and which side (`uac` or `uas`) sends the refreshes.

use super::lex::{self, err};
use crate::sip::SipParseError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// RFC 4028 §4: the smallest session interval anyone may ask for, and our
/// `Min-SE`. Shorter intervals mean refresh storms, so 422 refuses them.
pub const MIN_SE_SECS: u32 = 90;

/// Who refreshes the session, named from the initial INVITE's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refresher {
    /// The side that sent the INVITE.
    Uac,
    /// The side that answered it.
    Uas,
}

impl Refresher {
    /// The parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            Refresher::Uac => "uac",
            Refresher::Uas => "uas",
        }
    }
}

/// A parsed `Session-Expires` value: `delta-seconds [;refresher=uac|uas]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionExpires {
    /// The session interval in seconds.
    pub secs: u32,
    /// Who refreshes, when the sender said.
    pub refresher: Option<Refresher>,
}

impl SessionExpires {
    /// Parses the value; unknown parameters are ignored as RFC 4028 allows.
    pub fn parse(s: &str) -> Result<Self, SipParseError> {
        let s = lex::trim_wsp(s);
        let (num, params) = s.split_once(';').unwrap_or((s, ""));
        let num = lex::trim_wsp(num);
        let secs: u32 = num
            .parse()
            .ok()
            .filter(|_| num.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| err(format!("bad Session-Expires {s:?}")))?;
        let params = if params.is_empty() {
            Vec::new()
        } else {
            lex::parse_params(params)?
        };
        let refresher = match lex::param(&params, "refresher").flatten() {
            Some(v) if v.eq_ignore_ascii_case("uac") => Some(Refresher::Uac),
            Some(v) if v.eq_ignore_ascii_case("uas") => Some(Refresher::Uas),
            _ => None,
        };
        Ok(SessionExpires { secs, refresher })
    }
}

impl fmt::Display for SessionExpires {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.secs)?;
        if let Some(r) = self.refresher {
            write!(f, ";refresher={}", r.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes() {
        let se = SessionExpires::parse("1800 ; refresher=UAS;x=1").unwrap();
        assert_eq!(se.secs, 1800);
        assert_eq!(se.refresher, Some(Refresher::Uas));
        assert_eq!(se.to_string(), "1800;refresher=uas");
        let bare = SessionExpires::parse("90").unwrap();
        assert_eq!((bare.secs, bare.refresher), (90, None));
        assert_eq!(bare.to_string(), "90");
        for bad in ["", "abc", "-5", "1e3", "99999999999"] {
            assert!(SessionExpires::parse(bad).is_err(), "{bad}");
        }
    }
}
