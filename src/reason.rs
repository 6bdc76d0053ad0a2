//! The two wire vocabularies every error is mapped to: SIP status codes
//! (RFC 3261 §21) and XEP-0166 `<reason/>` conditions. Each typed error in the
//! project converts to both, in the manner of rustls' `From<PeerMisbehaved> for
//! AlertDescription`, so no caller ever parses an error string.

use std::fmt;

/// A SIP final response status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SipStatus(pub u16);

impl SipStatus {
    /// 400 Bad Request.
    pub const BAD_REQUEST: SipStatus = SipStatus(400);
    /// 488 Not Acceptable Here.
    pub const NOT_ACCEPTABLE_HERE: SipStatus = SipStatus(488);
    /// 500 Server Internal Error.
    pub const SERVER_INTERNAL_ERROR: SipStatus = SipStatus(500);
    /// 502 Bad Gateway: the far side (here, the XMPP peer) sent something invalid.
    pub const BAD_GATEWAY: SipStatus = SipStatus(502);

    /// The RFC 3261 reason phrase.
    pub fn reason_phrase(self) -> &'static str {
        match self.0 {
            400 => "Bad Request",
            403 => "Forbidden",
            404 => "Not Found",
            408 => "Request Timeout",
            480 => "Temporarily Unavailable",
            486 => "Busy Here",
            487 => "Request Terminated",
            488 => "Not Acceptable Here",
            500 => "Server Internal Error",
            502 => "Bad Gateway",
            503 => "Service Unavailable",
            603 => "Decline",
            _ => "",
        }
    }
}

impl fmt::Display for SipStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0, self.reason_phrase())
    }
}

/// A XEP-0166 `<reason/>` condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JingleReason {
    /// `<alternative-session/>`
    AlternativeSession,
    /// `<busy/>`
    Busy,
    /// `<cancel/>`
    Cancel,
    /// `<connectivity-error/>`
    ConnectivityError,
    /// `<decline/>`
    Decline,
    /// `<expired/>`
    Expired,
    /// `<failed-application/>`
    FailedApplication,
    /// `<failed-transport/>`
    FailedTransport,
    /// `<general-error/>`
    GeneralError,
    /// `<gone/>`
    Gone,
    /// `<incompatible-parameters/>`
    IncompatibleParameters,
    /// `<media-error/>`
    MediaError,
    /// `<security-error/>`
    SecurityError,
    /// `<success/>`
    Success,
    /// `<timeout/>`
    Timeout,
    /// `<unsupported-applications/>`
    UnsupportedApplications,
    /// `<unsupported-transports/>`
    UnsupportedTransports,
}

impl JingleReason {
    /// The element name, as written inside `<reason/>`.
    pub fn element_name(self) -> &'static str {
        match self {
            JingleReason::AlternativeSession => "alternative-session",
            JingleReason::Busy => "busy",
            JingleReason::Cancel => "cancel",
            JingleReason::ConnectivityError => "connectivity-error",
            JingleReason::Decline => "decline",
            JingleReason::Expired => "expired",
            JingleReason::FailedApplication => "failed-application",
            JingleReason::FailedTransport => "failed-transport",
            JingleReason::GeneralError => "general-error",
            JingleReason::Gone => "gone",
            JingleReason::IncompatibleParameters => "incompatible-parameters",
            JingleReason::MediaError => "media-error",
            JingleReason::SecurityError => "security-error",
            JingleReason::Success => "success",
            JingleReason::Timeout => "timeout",
            JingleReason::UnsupportedApplications => "unsupported-applications",
            JingleReason::UnsupportedTransports => "unsupported-transports",
        }
    }
}

impl fmt::Display for JingleReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}/>", self.element_name())
    }
}
