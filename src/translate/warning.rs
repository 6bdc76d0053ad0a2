//! What one side said that the other cannot express: never dropped silently,
//! always returned to the caller as one of these.

use std::fmt;

/// Something the translation could not carry across, with where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// A whole `m=` line was left out (BFCP, data channel, T.38, …).
    UnsupportedMedia {
        /// 0-based m= line index.
        index: usize,
        /// Media type (`application`, `image`, …).
        media: String,
        /// Transport protocol (`UDP/BFCP`, `UDP/DTLS/SCTP`, …).
        proto: String,
    },
    /// An `m=` line with port 0 (rejected or disabled) was left out.
    RejectedMedia {
        /// 0-based m= line index.
        index: usize,
        /// Media type.
        media: String,
    },
    /// An SDP attribute with no Jingle counterpart.
    UnknownAttribute {
        /// 0-based m= line index; `None` for session level.
        index: Option<usize>,
        /// The attribute line (`a=…`).
        line: String,
    },
    /// An SDP line that is recognised but malformed, and was skipped.
    MalformedAttribute {
        /// 0-based m= line index; `None` for session level.
        index: Option<usize>,
        /// The attribute line (`a=…`).
        line: String,
        /// What is wrong.
        reason: String,
    },
    /// Some SDP value is expressed only approximately in Jingle.
    Approximated {
        /// 0-based m= line index; `None` for session level.
        index: Option<usize>,
        /// What was approximated and how.
        detail: String,
    },
    /// A Jingle element that has no SDP counterpart.
    UnknownElement {
        /// The content's name (empty for `<jingle/>` children).
        content: String,
        /// The element, as `<name xmlns='…'/>`.
        element: String,
    },
    /// A whole `<content/>` was left out of the SDP.
    UnsupportedContent {
        /// The content's name.
        content: String,
        /// Why.
        reason: String,
    },
    /// A Jingle value that SDP cannot carry, dropped as the specs direct.
    Dropped {
        /// The content's name.
        content: String,
        /// What was dropped and why.
        detail: String,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = |index: &Option<usize>| match index {
            Some(i) => format!("m-line #{i}"),
            None => "session level".to_string(),
        };
        match self {
            Warning::UnsupportedMedia {
                index,
                media,
                proto,
            } => write!(
                f,
                "m-line #{index} ({media} {proto}) has no Jingle RTP equivalent; left out"
            ),
            Warning::RejectedMedia { index, media } => {
                write!(
                    f,
                    "m-line #{index} ({media}) has port 0 (rejected or disabled); left out"
                )
            }
            Warning::UnknownAttribute { index, line } => {
                write!(
                    f,
                    "{}: '{line}' has no Jingle equivalent; not carried",
                    at(index)
                )
            }
            Warning::MalformedAttribute {
                index,
                line,
                reason,
            } => write!(f, "{}: '{line}' skipped: {reason}", at(index)),
            Warning::Approximated { index, detail } => write!(f, "{}: {detail}", at(index)),
            Warning::UnknownElement { content, element } => {
                write!(
                    f,
                    "content '{content}': {element} has no SDP equivalent; not carried"
                )
            }
            Warning::UnsupportedContent { content, reason } => {
                write!(f, "content '{content}' left out: {reason}")
            }
            Warning::Dropped { content, detail } => write!(f, "content '{content}': {detail}"),
        }
    }
}
