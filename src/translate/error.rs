//! Translation failures, each mapped to a SIP status and a Jingle reason.

use crate::jingle::ParseError;
use crate::reason::{JingleReason, SipStatus};
use std::fmt;

/// Why a translation could not produce any output.
///
/// Problems confined to one attribute, candidate or content are [warnings]
/// instead: a call should not fail because one line of forty was odd.
///
/// [warnings]: super::Warning
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TranslateError {
    /// The SDP text is not SDP (RFC 8866 syntax).
    SdpSyntax {
        /// 1-based line number in the caller's text.
        line: usize,
        /// The offending line, as given.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The Jingle XML could not be read.
    Jingle(ParseError),
    /// The input describes no media at all (no `m=` line, no `<content/>`).
    NoMedia,
    /// Media was described, but none of it can be expressed on the other side;
    /// the warnings say why for each stream.
    NoUsableMedia {
        /// How many streams were skipped.
        skipped: usize,
    },
    /// An ICE description has candidates but no ufrag/pwd (XEP-0176 §5, checklist 25).
    MissingIceCredentials {
        /// The content name (or generated name) concerned.
        content: String,
    },
    /// A trunk's `codecs` left no codec in the offer (telephone-event alone
    /// is no call).
    NoAllowedCodec {
        /// The trunk's codec list.
        allowed: Vec<String>,
    },
}

impl TranslateError {
    /// The SIP final response a gateway sends when this error stops a call.
    ///
    /// Malformed SDP from the SIP side is the requester's fault (400); media we
    /// cannot express is 488; malformed Jingle from the XMPP side is reported to
    /// SIP as 502, the gateway's "the far side answered nonsense".
    pub fn sip_status(&self) -> SipStatus {
        match self {
            TranslateError::SdpSyntax { .. } => SipStatus::BAD_REQUEST,
            TranslateError::Jingle(_) => SipStatus::BAD_GATEWAY,
            TranslateError::NoMedia
            | TranslateError::NoUsableMedia { .. }
            | TranslateError::MissingIceCredentials { .. }
            | TranslateError::NoAllowedCodec { .. } => SipStatus::NOT_ACCEPTABLE_HERE,
        }
    }

    /// The XEP-0166 `<reason/>` for a session-terminate caused by this error.
    pub fn jingle_reason(&self) -> JingleReason {
        match self {
            TranslateError::SdpSyntax { .. } | TranslateError::Jingle(_) => {
                JingleReason::FailedApplication
            }
            TranslateError::NoMedia | TranslateError::NoAllowedCodec { .. } => {
                JingleReason::IncompatibleParameters
            }
            TranslateError::NoUsableMedia { .. } => JingleReason::UnsupportedApplications,
            TranslateError::MissingIceCredentials { .. } => JingleReason::FailedTransport,
        }
    }
}

impl From<&TranslateError> for SipStatus {
    fn from(e: &TranslateError) -> Self {
        e.sip_status()
    }
}

impl From<&TranslateError> for JingleReason {
    fn from(e: &TranslateError) -> Self {
        e.jingle_reason()
    }
}

impl From<ParseError> for TranslateError {
    fn from(e: ParseError) -> Self {
        TranslateError::Jingle(e)
    }
}

impl fmt::Display for TranslateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TranslateError::SdpSyntax { line, text, reason } => {
                write!(f, "line {line}: {reason}: '{text}'")
            }
            TranslateError::Jingle(e) => e.fmt(f),
            TranslateError::NoMedia => {
                f.write_str("no media: the input has no m= line or <content/>")
            }
            TranslateError::NoUsableMedia { skipped } => write!(
                f,
                "none of the {skipped} media stream(s) can be expressed on the other side (see warnings)"
            ),
            TranslateError::MissingIceCredentials { content } => write!(
                f,
                "content '{content}': ICE candidates without ice-ufrag/ice-pwd"
            ),
            TranslateError::NoAllowedCodec { allowed } => write!(
                f,
                "no codec of the offer is in the trunk's codecs ({})",
                allowed.join(", ")
            ),
        }
    }
}

impl std::error::Error for TranslateError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_maps_to_a_final_status_and_a_reason() {
        let all = [
            TranslateError::SdpSyntax {
                line: 1,
                text: "x".into(),
                reason: "r".into(),
            },
            TranslateError::Jingle(ParseError::NoJingle { line: 1 }),
            TranslateError::NoMedia,
            TranslateError::NoUsableMedia { skipped: 1 },
            TranslateError::MissingIceCredentials {
                content: "a".into(),
            },
            TranslateError::NoAllowedCodec {
                allowed: vec!["PCMU".into()],
            },
        ];
        for e in &all {
            let status = SipStatus::from(e);
            assert!((400..700).contains(&status.0), "{e}: {status}");
            assert_ne!(JingleReason::from(e), JingleReason::Success, "{e}");
        }
        assert_eq!(all[0].sip_status(), SipStatus(400));
        assert_eq!(all[1].sip_status(), SipStatus(502));
        assert_eq!(
            all[3].jingle_reason(),
            JingleReason::UnsupportedApplications
        );
    }
}
