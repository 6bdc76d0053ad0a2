//! Semantic checks above the parser: the headers every request and response
//! must carry (RFC 3261 §8.1.1, §8.2.2) exist once and parse. A failure here
//! is a 400 for a request, a silent drop for a response (RFC 3261 §18.1.2).

use super::Headers;
use super::{Request, Response, SipMessage, SipParseError};
use crate::sip::header::lex::err;
use crate::sip::header::{CSeq, NameAddr, Via};
use crate::sip::uri::SipUri;

impl SipMessage {
    /// [`Request::validate`] or [`Response::validate`].
    pub fn validate(&self) -> Result<(), SipParseError> {
        match self {
            SipMessage::Request(r) => r.validate(),
            SipMessage::Response(r) => r.validate(),
        }
    }
}

/// [`Request::validate`] as a free function, for the transaction layer.
pub fn validate_request(req: &Request) -> Result<(), SipParseError> {
    req.validate()
}

impl Request {
    /// Checks To, From, Call-ID and CSeq appear exactly once and parse, the
    /// CSeq method equals the request method (for ACK and CANCEL too: their
    /// CSeq says ACK / CANCEL), at least one Via and every Via parses,
    /// Max-Forwards (optional) is at most one 0–255 value, every Contact
    /// parses, and a `sip:`/`sips:`/`tel:` Request-URI parses and carries no
    /// `?headers` (RFC 3261 §19.1.1 forbids them there; RFC 4475 §3.1.2.11).
    /// Other Request-URI schemes pass: answering 416 is the caller's choice.
    pub fn validate(&self) -> Result<(), SipParseError> {
        check_request_uri(&self.uri)?;
        let cseq = common(&self.headers)?;
        if cseq.method != self.method {
            return Err(err(format!(
                "CSeq method {} does not match request method {}",
                cseq.method, self.method
            )));
        }
        let mut max_forwards = self.headers.get_all("Max-Forwards");
        if let Some(mf) = max_forwards.next() {
            if max_forwards.next().is_some() {
                return Err(err("more than one Max-Forwards header"));
            }
            let mf = mf.trim();
            if mf.is_empty() || !mf.bytes().all(|b| b.is_ascii_digit()) || mf.parse::<u8>().is_err()
            {
                return Err(err(format!("bad Max-Forwards {mf:?}")));
            }
        }
        let contacts = self.headers.values("Contact");
        for contact in &contacts {
            let c = NameAddr::parse(contact).map_err(|e| context("Contact", e))?;
            if c.is_star() && contacts.len() > 1 {
                return Err(err("Contact '*' must be the only Contact"));
            }
            check_name_addr_uri(&c).map_err(|e| context("Contact", e))?;
        }
        Ok(())
    }
}

impl Response {
    /// The same header checks as [`Request::validate`], minus the ones that
    /// need a request method: To, From, Call-ID and CSeq exactly once and
    /// parseable, at least one Via and all parseable.
    pub fn validate(&self) -> Result<(), SipParseError> {
        common(&self.headers).map(|_| ())
    }
}

/// The checks shared by requests and responses; returns the CSeq.
fn common(headers: &Headers) -> Result<CSeq, SipParseError> {
    for name in ["To", "From"] {
        let value = single(headers, name)?;
        let addr = NameAddr::parse(value).map_err(|e| context(name, e))?;
        if addr.is_star() {
            return Err(err(format!("{name} cannot be '*'")));
        }
        check_name_addr_uri(&addr).map_err(|e| context(name, e))?;
    }
    let call_id = single(headers, "Call-ID")?;
    if !is_call_id(call_id) {
        return Err(err(format!("bad Call-ID {call_id:?}")));
    }
    let cseq = CSeq::parse(single(headers, "CSeq")?)?;
    let vias = headers.values("Via");
    if vias.is_empty() {
        return Err(err("missing Via header"));
    }
    for via in &vias {
        Via::parse(via).map_err(|e| context("Via", e))?;
    }
    Ok(cseq)
}

/// The only line of `name`, or an error naming the header.
fn single<'a>(headers: &'a Headers, name: &'a str) -> Result<&'a str, SipParseError> {
    let mut lines = headers.get_all(name);
    let first = lines
        .next()
        .ok_or_else(|| err(format!("missing {name} header")))?;
    if lines.next().is_some() {
        return Err(err(format!("more than one {name} header")));
    }
    Ok(first)
}

fn context(name: &str, e: SipParseError) -> SipParseError {
    err(format!("{name}: {}", e.message))
}

/// A SIP/SIPS/tel URI inside a name-addr must parse; other schemes are
/// opaque to us (RFC 4475 §3.3.4 `isbn:`, `http:`).
fn check_name_addr_uri(addr: &NameAddr) -> Result<(), SipParseError> {
    if is_known_scheme(&addr.uri) {
        SipUri::parse(&addr.uri)?;
    }
    Ok(())
}

fn check_request_uri(uri: &str) -> Result<(), SipParseError> {
    if is_known_scheme(uri) {
        let parsed = SipUri::parse(uri).map_err(|e| context("Request-URI", e))?;
        if !parsed.headers.is_empty() {
            return Err(err("Request-URI must not contain headers"));
        }
    }
    Ok(())
}

fn is_known_scheme(uri: &str) -> bool {
    let scheme = uri.split(':').next().unwrap_or("");
    ["sip", "sips", "tel"]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme))
}

/// `word ["@" word]` (RFC 3261 §25.1).
fn is_call_id(s: &str) -> bool {
    let is_word = |w: &str| {
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.!%*_+`'~()<>:\\\"/[]?{}".contains(c))
    };
    match s.split_once('@') {
        Some((a, b)) => is_word(a) && is_word(b),
        None => is_word(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::Method;

    #[test]
    fn call_id_grammar() {
        assert!(is_call_id("a84b4c76e66710@pc33.atlanta.com"));
        assert!(is_call_id("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"));
        assert!(!is_call_id("two words"));
        assert!(!is_call_id("a@b@c"));
        assert!(!is_call_id(""));
    }

    #[test]
    fn method_equality_is_case_sensitive() {
        assert_ne!(Method::parse("invite"), Method::Invite);
    }
}
