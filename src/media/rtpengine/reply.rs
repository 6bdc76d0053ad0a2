//! ng datagrams: the cookie framing, and what a reply says.
//!
//! Every ng datagram is `<cookie> <bencoded dictionary>`. The cookie is ours
//! to choose; rtpengine echoes it, and answers a retransmission with the same
//! cookie from its cache instead of running the command twice, which is what
//! makes retransmitting an `offer` safe.

use super::bencode::{self, Value};
use crate::media::anchor::AnchorError;

/// `cookie` + space + the encoding of `message`.
pub fn frame(cookie: &str, message: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(cookie.len() + 1 + 256);
    out.extend_from_slice(cookie.as_bytes());
    out.push(b' ');
    message.encode_into(&mut out);
    out
}

/// Why a datagram is not an ng reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// No space after a non-empty cookie.
    NoCookie,
    /// The part after the cookie is not bencode.
    Bencode(bencode::DecodeError),
    /// The bencode is not a dictionary.
    NotADictionary,
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::NoCookie => f.write_str("ng datagram without a cookie"),
            FrameError::Bencode(e) => write!(f, "ng datagram: {e}"),
            FrameError::NotADictionary => f.write_str("ng datagram is not a dictionary"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Splits a datagram into its cookie and its dictionary.
pub fn unframe(datagram: &[u8]) -> Result<(String, Value), FrameError> {
    let space = datagram
        .iter()
        .position(|&b| b == b' ')
        .filter(|&i| i > 0)
        .ok_or(FrameError::NoCookie)?;
    let cookie = std::str::from_utf8(&datagram[..space])
        .map_err(|_| FrameError::NoCookie)?
        .to_string();
    let value = bencode::decode(&datagram[space + 1..]).map_err(FrameError::Bencode)?;
    if !matches!(value, Value::Dict(_)) {
        return Err(FrameError::NotADictionary);
    }
    Ok((cookie, value))
}

/// The parts of a reply the gateway acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// `result`: `ok`, `pong`, `error`, `load limit`, …
    pub result: String,
    /// `error-reason`, when `result` is `error`.
    pub error_reason: Option<String>,
    /// `warning`: rtpengine did the command but has something to say.
    pub warning: Option<String>,
    /// `sdp`: the rewritten description (offer and answer).
    pub sdp: Option<String>,
}

impl Reply {
    /// Reads a reply dictionary. A missing `result` is read as an error so
    /// that nothing half-understood passes as success.
    pub fn from_value(v: &Value) -> Reply {
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        Reply {
            result: text("result").unwrap_or_default(),
            error_reason: text("error-reason"),
            warning: text("warning"),
            sdp: text("sdp"),
        }
    }

    /// The reply to an `offer` or `answer`: the SDP for the other leg.
    ///
    /// `error` is [`AnchorError::Unacceptable`] (rtpengine refuses what it
    /// cannot parse or bridge) except for the reasons that mean it is out of
    /// resources; `load limit` (its `max-sessions`, `max-load`, … guards) and
    /// running out of ports (`Ran out of ports`, as rtpengine 10.5 words it)
    /// are [`AnchorError::Unavailable`].
    pub fn into_sdp(self) -> Result<String, AnchorError> {
        match self.result.as_str() {
            "ok" => self.sdp.ok_or_else(|| {
                AnchorError::Unacceptable("rtpengine answered ok without an SDP".into())
            }),
            "load limit" => Err(AnchorError::Unavailable(
                self.error_reason
                    .unwrap_or_else(|| "rtpengine is at its load limit".into()),
            )),
            _ => {
                let why = self.reason();
                if why.to_ascii_lowercase().contains("out of ports") {
                    Err(AnchorError::Unavailable(why))
                } else {
                    Err(AnchorError::Unacceptable(why))
                }
            }
        }
    }

    /// The reply to a command with no SDP (`delete`): `ok` or why not.
    pub fn into_done(self) -> Result<(), AnchorError> {
        match self.result.as_str() {
            "ok" | "pong" => Ok(()),
            "load limit" => Err(AnchorError::Unavailable(self.reason())),
            _ => Err(AnchorError::Unacceptable(self.reason())),
        }
    }

    pub(crate) fn reason(&self) -> String {
        match (&self.error_reason, self.result.as_str()) {
            (Some(r), _) => r.clone(),
            (None, "") => "rtpengine reply without a result".into(),
            (None, other) => format!("rtpengine answered '{other}'"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::rtpengine::bencode::dict;

    #[test]
    fn frames_and_unframes() {
        let msg = dict([("command", Value::str("ping"))]);
        let bytes = frame("5d1c_7", &msg);
        assert_eq!(bytes, b"5d1c_7 d7:command4:pinge".to_vec());
        assert_eq!(unframe(&bytes).unwrap(), ("5d1c_7".to_string(), msg));
    }

    #[test]
    fn bad_datagrams_are_errors() {
        assert_eq!(unframe(b"d6:result2:oke"), Err(FrameError::NoCookie));
        assert_eq!(unframe(b" d6:result2:oke"), Err(FrameError::NoCookie));
        assert_eq!(unframe(b"c l1:ae"), Err(FrameError::NotADictionary));
        assert!(matches!(
            unframe(b"c d6:result"),
            Err(FrameError::Bencode(_))
        ));
    }

    fn reply(bytes: &[u8]) -> Reply {
        Reply::from_value(&unframe(bytes).unwrap().1)
    }

    #[test]
    fn ok_with_sdp() {
        let r = reply(b"c d6:result2:ok3:sdp5:v=0\r\ne");
        assert_eq!(r.into_sdp(), Ok("v=0\r\n".into()));
    }

    #[test]
    fn ok_without_sdp_is_not_success_for_an_offer() {
        let r = reply(b"c d6:result2:oke");
        assert!(matches!(r.into_sdp(), Err(AnchorError::Unacceptable(_))));
        assert_eq!(reply(b"c d6:result2:oke").into_done(), Ok(()));
    }

    #[test]
    fn error_reason_becomes_unacceptable() {
        let r = reply(b"c d6:result5:error12:error-reason19:Failed to parse SDPe");
        assert_eq!(
            r.into_sdp(),
            Err(AnchorError::Unacceptable("Failed to parse SDP".into()))
        );
    }

    #[test]
    fn resource_exhaustion_is_unavailable() {
        let r = reply(b"c d6:result5:error12:error-reason16:Ran out of portse");
        assert!(matches!(r.into_sdp(), Err(AnchorError::Unavailable(_))));
        let r = reply(b"c d6:result10:load limite");
        assert!(matches!(r.into_sdp(), Err(AnchorError::Unavailable(_))));
    }

    #[test]
    fn missing_result_is_an_error() {
        let r = reply(b"c d3:sdp3:v=0e");
        assert_eq!(
            r.into_sdp(),
            Err(AnchorError::Unacceptable(
                "rtpengine reply without a result".into()
            ))
        );
    }

    #[test]
    fn warning_is_kept() {
        let r = reply(b"c d6:result2:ok7:warning4:hmm!e");
        assert_eq!(r.warning.as_deref(), Some("hmm!"));
    }
}
