//! INFO inside a dialog (RFC 6086). PBXs and IVR front ends send DTMF as
//! "legacy" INFO (no Info-Package): `application/dtmf-relay`
//! (`Signal=5`, `Duration=160`) or `application/dtmf` (`5`). Each digit goes
//! to the XMPP user as an XEP-0181 session-info `<dtmf/>`, so an XMPP client
//! hears what the far end typed (a conference PIN read back, say). An empty
//! INFO (a keep-alive some PBXs send) gets 200; an Info-Package we do not
//! support gets 469 with an empty `Recv-Info`; any other body 415.

use super::gateway::{Gateway, NS_JINGLE};
use crate::sip::message::Request;
use crate::sip::transaction::ServerKey;
use crate::xmpp::stanza;

/// XEP-0181 namespace.
const NS_DTMF: &str = "urn:xmpp:jingle:dtmf:0";

/// A DTMF event read from an INFO body: the digit and its duration in ms.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Dtmf {
    pub code: char,
    pub duration_ms: u32,
}

/// Reads a legacy DTMF INFO body of `content_type`; `None` when it is none.
pub(crate) fn parse_dtmf(content_type: &str, body: &str) -> Option<Dtmf> {
    let digit = |s: &str| -> Option<char> {
        let s = s.trim();
        match s {
            "10" => Some('*'),
            "11" => Some('#'),
            _ if s.chars().count() == 1 => {
                let c = s.chars().next()?.to_ascii_uppercase();
                (c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D')).then_some(c)
            }
            _ => None,
        }
    };
    match content_type {
        "application/dtmf-relay" => {
            let mut code = None;
            let mut duration_ms = 100;
            for line in body.lines() {
                let Some((name, value)) = line.split_once('=') else {
                    continue;
                };
                match name.trim().to_ascii_lowercase().as_str() {
                    "signal" => code = digit(value),
                    "duration" => duration_ms = value.trim().parse().unwrap_or(100),
                    _ => {}
                }
            }
            Some(Dtmf {
                code: code?,
                duration_ms: duration_ms.clamp(40, 10_000),
            })
        }
        "application/dtmf" => Some(Dtmf {
            code: digit(body)?,
            duration_ms: 100,
        }),
        _ => None,
    }
}

impl Gateway {
    /// Answers an in-dialog INFO and forwards the DTMF it carries.
    pub(crate) fn inbound_info(&mut self, call_id: &str, request: &Request, key: &ServerKey) {
        if let Some(package) = request.headers.get("Info-Package") {
            let package = package.split(';').next().unwrap_or("").trim();
            let trickle = self.takes_trickle_info(call_id);
            if trickle && package.eq_ignore_ascii_case(super::trickle::PACKAGE) {
                self.trickle_info_in(call_id, request, key);
                return;
            }
            // RFC 6086 §4.2.2: 469 names the packages we do take.
            let mut r = crate::sip::message::response_for(request, 469, "Bad Info Package");
            r.headers.push(
                "Recv-Info",
                if trickle { super::trickle::PACKAGE } else { "" },
            );
            self.respond(key, r);
            return;
        }
        if request.body.is_empty() {
            self.reply(key, request, 200, None);
            return;
        }
        let content_type = request
            .headers
            .get("Content-Type")
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        let body = String::from_utf8_lossy(&request.body);
        let Some(dtmf) = parse_dtmf(&content_type, &body) else {
            tracing::info!(call = %call_id, %content_type, "INFO with a body we do not read");
            let mut r = crate::sip::message::response_for(request, 415, "Unsupported Media Type");
            r.headers
                .push("Accept", "application/dtmf-relay, application/dtmf");
            self.respond(key, r);
            return;
        };
        self.reply(key, request, 200, None);
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        let (from, to, sid) = (
            call.xmpp.gateway.clone(),
            call.xmpp.user.clone(),
            call.xmpp.sid.clone(),
        );
        let mut jingle = stanza::el("jingle", NS_JINGLE);
        stanza::set(&mut jingle, "action", "session-info");
        stanza::set(&mut jingle, "sid", &sid);
        let mut el = stanza::el("dtmf", NS_DTMF);
        stanza::set(&mut el, "code", &dtmf.code.to_string());
        stanza::set(&mut el, "duration", &dtmf.duration_ms.to_string());
        jingle.append_child(el);
        tracing::debug!(call = %call_id, code = %dtmf.code, "DTMF from SIP INFO");
        self.send_iq_other(call_id, &from, &to, jingle);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dtmf_relay_and_dtmf_bodies() {
        assert_eq!(
            parse_dtmf("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n"),
            Some(Dtmf {
                code: '5',
                duration_ms: 160
            })
        );
        assert_eq!(
            parse_dtmf("application/dtmf-relay", "Signal= 11\nDuration= 250"),
            Some(Dtmf {
                code: '#',
                duration_ms: 250
            })
        );
        assert_eq!(
            parse_dtmf("application/dtmf", "*"),
            Some(Dtmf {
                code: '*',
                duration_ms: 100
            })
        );
        assert_eq!(parse_dtmf("application/dtmf-relay", "Signal=X"), None);
        assert_eq!(parse_dtmf("application/dtmf-relay", "Duration=100"), None);
        assert_eq!(parse_dtmf("text/plain", "5"), None);
    }
}
