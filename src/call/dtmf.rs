//! Issue 7, DTMF from XMPP to SIP: an XEP-0181 session-info
//! `<dtmf code='5' duration='100'/>` from the user of an answered call.
//!
//! Two ways out, chosen per digit by the trunk's `dtmf` key
//! ([`DtmfMode`]):
//!
//! - **in-band** ([`Output::Dtmf`]): the embedded anchor sends RFC 4733
//!   events in the SIP leg's RTP. XEP-0167 and checklist item 28 prefer
//!   RFC 4733 toward RTP endpoints, so `auto` takes it whenever the call is
//!   anchored by the embedded relay and the SIP leg's final description
//!   carries telephone-event (without it the trunk could not decode them);
//! - **SIP INFO** with `application/dtmf-relay` (`Signal=5`,
//!   `Duration=100`, the legacy form PBXs read, and what `call::info`
//!   reads back): otherwise, or always with `dtmf = "info"`. One INFO is
//!   outstanding per call at a time, so a PBX sees the digits in the order
//!   typed (RFC 6086 §4.2.1 leaves INFO ordering to the transaction layer:
//!   two INFOs in flight could overtake each other after a retransmission).
//!   Later digits wait in a bounded queue; each INFO is tracked by
//!   `call::in_dialog` (digest retry); a 4xx/5xx is logged and the next digit
//!   goes; 408, 481 or no answer mean the dialog is gone (RFC 5057) and end
//!   the call, as for a session refresh.
//!
//! With `dtmf = "rfc4733"` a digit that cannot go in-band is refused with
//! `<feature-not-implemented/>` + `<unsupported-info/>` rather than sent as
//! INFO: the operator chose that key because the trunk must not see INFO
//! (it would act on a digit twice, or answer 501).
//!
//! The queue is process memory, not part of the stored call: digits are
//! sent within milliseconds, and a restart in between loses at most what
//! the user typed in that instant.

use super::gateway::Gateway;
use super::in_dialog::{PendingRequest, Purpose};
use super::io::Output;
use super::model::{Call, CallMedia, CallState};
use crate::config::DtmfMode;
use crate::media::anchor::{MediaLeg, MediaMode};
use crate::sip::message::{Method, Response};
use minidom::Element;

/// XEP-0181 namespace.
pub(crate) const NS_DTMF: &str = "urn:xmpp:jingle:dtmf:0";
/// XEP-0181 §3: the duration when the element names none, ms.
pub const DEFAULT_DURATION_MS: u32 = 100;
/// Shorter tones are not reliably detected (ITU-T Q.24 asks for 40 ms).
pub const MIN_DURATION_MS: u32 = 40;
/// Longer ones are not needed to dial, and an RFC 4733 event's 16-bit
/// duration holds only 1.36 s at a 48 kHz clock.
pub const MAX_DURATION_MS: u32 = 1000;
/// Digits waiting for their INFO, per call: a client that floods the call
/// gets `resource-constraint` instead of growing our memory.
pub const MAX_QUEUED: usize = 32;

/// How one digit leaves the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    InBand,
    Info,
    /// `dtmf = "rfc4733"` and the call cannot carry events.
    Refused,
}

/// Reads XEP-0181 `<dtmf/>` elements of a session-info: (code, duration ms)
/// in document order, or why they are malformed.
pub(crate) fn parse_xep0181(jingle: &Element) -> Result<Vec<(char, u32)>, String> {
    let mut out = Vec::new();
    for el in jingle.children().filter(|c| c.is("dtmf", NS_DTMF)) {
        let code = el.attr("code").unwrap_or_default().trim();
        let mut chars = code.chars();
        let c = match (chars.next(), chars.next()) {
            (Some(c), None) => c.to_ascii_uppercase(),
            _ => return Err(format!("DTMF code {code:?} is not one key")),
        };
        if !(c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D')) {
            return Err(format!("DTMF code {code:?} is not 0-9, *, #, A-D"));
        }
        let duration = match el.attr("duration") {
            None => DEFAULT_DURATION_MS,
            Some(d) => d
                .trim()
                .parse::<u32>()
                .map_err(|_| format!("DTMF duration {d:?} is not a number of milliseconds"))?,
        };
        out.push((c, duration.clamp(MIN_DURATION_MS, MAX_DURATION_MS)));
    }
    Ok(out)
}

/// Whether a session-info carries XEP-0181 DTMF.
pub(crate) fn carries_dtmf(jingle: &Element) -> bool {
    jingle.children().any(|c| c.is("dtmf", NS_DTMF))
}

/// The description the SIP peer and the anchor agreed on: the SIP peer's
/// answer, or the anchor's answer to the SIP peer's offer.
fn sip_answer(media: &CallMedia) -> Option<&str> {
    let answer = media.answer.as_ref()?;
    match answer.from {
        MediaLeg::Sip => Some(answer.given.as_str()),
        MediaLeg::Xmpp => answer.returned.as_deref(),
    }
}

/// Whether an SDP maps a payload type to telephone-event (RFC 4733 §7.1.1).
pub(crate) fn has_telephone_event(sdp: &str) -> bool {
    sdp.lines().any(|l| {
        let l = l.trim().to_ascii_lowercase();
        l.starts_with("a=rtpmap:") && l.contains(" telephone-event/")
    })
}

impl Gateway {
    fn dtmf_route(&self, call: &Call) -> Route {
        let mode = call
            .trunk
            .as_deref()
            .and_then(|name| self.cfg.config.trunks.iter().find(|t| t.name == name))
            .map_or(DtmfMode::Auto, |t| t.dtmf);
        let in_band = call.media.as_ref().is_some_and(|m| {
            m.mode == MediaMode::Embedded && sip_answer(m).is_some_and(has_telephone_event)
        });
        match (mode, in_band) {
            (DtmfMode::Info, _) => Route::Info,
            (_, true) => Route::InBand,
            (DtmfMode::Auto, false) => Route::Info,
            (DtmfMode::Rfc4733, false) => Route::Refused,
        }
    }

    /// A session-info with XEP-0181 `<dtmf/>` from `user` (already checked
    /// to be the call's device).
    pub(crate) fn jingle_dtmf(
        &mut self,
        call_id: &str,
        user: &str,
        gateway: &str,
        id: &str,
        jingle: &Element,
    ) {
        let digits = match parse_xep0181(jingle) {
            Ok(d) => d,
            Err(why) => {
                tracing::info!(call = %call_id, %why, "malformed DTMF from XMPP");
                self.event(super::io::CallEvent::Rejected {
                    what: "jingle-malformed",
                });
                self.iq_fail(gateway, user, id, "modify", "bad-request", None, &why);
                return;
            }
        };
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        if call.state != CallState::Active {
            tracing::info!(call = %call_id, state = ?call.state, "DTMF before the call was answered refused");
            self.iq_fail(
                gateway,
                user,
                id,
                "cancel",
                "unexpected-request",
                Some("out-of-order"),
                "DTMF is sent only in an answered call",
            );
            return;
        }
        match self.dtmf_route(call) {
            Route::Refused => {
                tracing::warn!(call = %call_id, "DTMF refused: the trunk takes RFC 4733 only and the call did not negotiate telephone-event through the embedded anchor");
                self.iq_fail(
                    gateway,
                    user,
                    id,
                    "cancel",
                    "feature-not-implemented",
                    Some("unsupported-info"),
                    "this trunk takes DTMF only as RFC 4733 events, which this call cannot carry",
                );
            }
            Route::InBand => {
                self.ack(gateway, user, id);
                for (code, duration_ms) in digits {
                    tracing::debug!(call = %call_id, %code, duration_ms, "DTMF to the anchor (RFC 4733)");
                    self.out.push_back(Output::Dtmf {
                        call: call_id.to_string(),
                        code,
                        duration_ms,
                    });
                }
            }
            Route::Info => {
                let queue = self.dtmf_queue.entry(call_id.to_string()).or_default();
                if queue.len() + digits.len() > MAX_QUEUED {
                    tracing::warn!(call = %call_id, queued = queue.len(), "DTMF queue full: digits refused");
                    self.iq_fail(
                        gateway,
                        user,
                        id,
                        "wait",
                        "resource-constraint",
                        None,
                        "too many DTMF digits waiting to be sent",
                    );
                    return;
                }
                queue.extend(digits);
                self.ack(gateway, user, id);
                self.dtmf_pump(call_id);
            }
        }
    }

    /// Sends the call's next queued digit as INFO, unless one is in flight.
    fn dtmf_pump(&mut self, call_id: &str) {
        let in_flight = self
            .pending
            .values()
            .any(|p| p.call_id == call_id && p.purpose == Purpose::Dtmf);
        if in_flight {
            return;
        }
        let active = self
            .calls
            .get(call_id)
            .is_some_and(|c| c.state == CallState::Active);
        let next = match self.dtmf_queue.get_mut(call_id) {
            Some(q) if active => q.pop_front(),
            _ => None,
        };
        let Some((code, duration_ms)) = next else {
            // Nothing left, or the call is over: forget the queue.
            self.dtmf_queue.remove(call_id);
            return;
        };
        let body = format!("Signal={code}\r\nDuration={duration_ms}\r\n");
        tracing::debug!(call = %call_id, %code, duration_ms, "DTMF to SIP as INFO");
        let sent = self.send_in_dialog_with(call_id, Method::Info, Purpose::Dtmf, |r| {
            r.headers.push("Content-Type", "application/dtmf-relay");
            r.body = body.into_bytes();
        });
        if !sent {
            tracing::warn!(call = %call_id, "no dialog for DTMF INFO: queue dropped");
            self.dtmf_queue.remove(call_id);
        }
    }

    /// The final response to a DTMF INFO of ours.
    pub(crate) fn dtmf_info_answered(&mut self, sent: PendingRequest, response: &Response) {
        let id = sent.call_id.clone();
        match response.status {
            200..=299 => {}
            401 | 407 => self.retry_in_dialog_with_auth(sent, response),
            408 | 481 => {
                tracing::warn!(call = %id, status = response.status, "DTMF INFO: dialog gone at the SIP peer, ending the call");
                self.dialog_lost(&id, response.status);
            }
            status => {
                tracing::info!(call = %id, status, "DTMF INFO refused by the SIP peer; going on with the next digit");
            }
        }
        self.dtmf_pump(&id);
    }

    /// Timer F of a DTMF INFO: nobody answers, so the dialog is gone.
    pub(crate) fn dtmf_info_timed_out(&mut self, sent: PendingRequest) {
        tracing::warn!(call = %sent.call_id, "no response to DTMF INFO: ending the call");
        self.dialog_lost(&sent.call_id, 408);
        self.dtmf_pump(&sent.call_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jingle(inner: &str) -> Element {
        format!("<jingle xmlns='urn:xmpp:jingle:1' action='session-info' sid='s'>{inner}</jingle>")
            .parse()
            .unwrap()
    }

    #[test]
    fn reads_codes_and_clamps_durations() {
        let d = "xmlns='urn:xmpp:jingle:dtmf:0'";
        assert_eq!(
            parse_xep0181(&jingle(&format!(
                "<dtmf {d} code='5' duration='160'/><dtmf {d} code='#'/><dtmf {d} code='a' duration='5'/><dtmf {d} code='*' duration='99999'/>"
            ))),
            Ok(vec![('5', 160), ('#', 100), ('A', 40), ('*', 1000)])
        );
        for bad in [
            "code='E'",
            "code='55'",
            "code=''",
            "",
            "code='1' duration='long'",
        ] {
            assert!(
                parse_xep0181(&jingle(&format!("<dtmf {d} {bad}/>"))).is_err(),
                "{bad}"
            );
        }
        // Another namespace is not DTMF.
        assert!(!carries_dtmf(&jingle(
            "<dtmf xmlns='urn:example' code='1'/>"
        )));
    }

    #[test]
    fn telephone_event_is_found_in_any_case() {
        assert!(has_telephone_event(
            "m=audio 1 RTP/AVP 0 101\r\na=rtpmap:101 Telephone-Event/8000\r\n"
        ));
        assert!(!has_telephone_event(
            "m=audio 1 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
        ));
    }
}
