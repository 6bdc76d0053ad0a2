//! The status-code ⇄ Jingle-reason ⇄ stanza-error tables of the mapping digest
//! (`jingle-sip-mapping.md` §2a, §2b; RFC 7247 §6). One place, so scenario tests
//! can check every row.

use crate::reason::JingleReason;

/// SIP final response → the `<reason/>` of the session-terminate we send (§2b).
pub fn reason_for_status(status: u16) -> JingleReason {
    match status {
        486 | 600 => JingleReason::Busy,
        603 => JingleReason::Decline,
        487 => JingleReason::Cancel,
        408 => JingleReason::Timeout,
        480 | 404 | 410 | 604 => JingleReason::Gone,
        488 | 606 | 415 => JingleReason::IncompatibleParameters,
        // Every other code, 503 included (§2b). An unreachable peer is not a
        // status we received: the core reports it as `<connectivity-error/>`.
        _ => JingleReason::GeneralError,
    }
}

/// Jingle session-terminate (or JMI reject) reason while a SIP INVITE we received
/// is still unanswered → the final response we send (§2a).
pub fn status_for_reason(reason: Option<&str>) -> u16 {
    match reason.unwrap_or("decline") {
        "busy" | "alternative-session" => 486,
        "decline" | "cancel" | "success" => 603,
        "gone" => 480,
        "timeout" | "expired" => 408,
        "unsupported-applications"
        | "unsupported-transports"
        | "incompatible-parameters"
        | "failed-application"
        | "failed-transport"
        | "security-error" => 488,
        "general-error" | "media-error" | "connectivity-error" => 500,
        _ => 603,
    }
}

/// An XMPP stanza error (the IQ error to our session-initiate, or a bounced
/// JMI message) → the SIP final response (RFC 7247 §6.1, bare-JID column).
pub fn status_for_stanza_error(condition: &str) -> u16 {
    match condition {
        "bad-request" | "conflict" | "jid-malformed" => 400,
        "forbidden" => 603,
        "item-not-found" => 404,
        "not-acceptable" => 406,
        "recipient-unavailable" | "service-unavailable" => 480,
        "feature-not-implemented" => 501,
        "remote-server-timeout" => 408,
        "remote-server-not-found" => 404,
        "redirect" => 302,
        "unexpected-request" => 491,
        "gone" => 410,
        _ => 500,
    }
}

/// A SIP status → the stanza error condition for an IQ we must fail (RFC 7247 §6.2).
pub fn stanza_error_for_status(status: u16) -> &'static str {
    match status {
        403 => "forbidden",
        404 | 481 | 484 | 485 | 604 => "item-not-found",
        480 | 486 | 487 | 600 | 603 => "recipient-unavailable",
        488 | 606 | 415 => "not-acceptable",
        408 | 504 => "remote-server-timeout",
        491 => "unexpected-request",
        503 => "internal-server-error",
        300..=399 => "redirect",
        400..=499 => "bad-request",
        500..=599 => "internal-server-error",
        _ => "recipient-unavailable",
    }
}

/// The reason phrase we write for a status we send.
pub fn phrase(status: u16) -> &'static str {
    crate::sip::default_reason(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_of_the_common_refusals() {
        // busy and decline survive SIP → Jingle → SIP.
        for status in [486, 603] {
            let reason = reason_for_status(status);
            assert_eq!(status_for_reason(Some(reason.element_name())), status);
        }
    }
}
