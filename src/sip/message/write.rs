//! [`SipMessage`] → bytes. Always CRLF, one line per header (folding is
//! undone), and a Content-Length that matches the body: a stale length after
//! the body was rewritten (SDP translated, say) is the classic gateway bug.

use super::{Headers, Request, Response, SipMessage};

impl SipMessage {
    /// The wire form (see [`Request::to_bytes`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            SipMessage::Request(r) => r.to_bytes(),
            SipMessage::Response(r) => r.to_bytes(),
        }
    }
}

impl Request {
    /// The wire form: CRLF line ends, Content-Length replaced (at the place of
    /// the first one, or appended) by the body's length.
    pub fn to_bytes(&self) -> Vec<u8> {
        let start = format!("{} {} SIP/2.0", self.method, self.uri);
        write(&start, &self.headers, &self.body)
    }
}

impl Response {
    /// The wire form: CRLF line ends, Content-Length replaced (at the place of
    /// the first one, or appended) by the body's length.
    pub fn to_bytes(&self) -> Vec<u8> {
        let start = format!("SIP/2.0 {} {}", self.status, self.reason);
        write(&start, &self.headers, &self.body)
    }
}

fn write(start: &str, headers: &Headers, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(512 + body.len());
    line(&mut out, start);
    let content_length = format!("Content-Length: {}", body.len());
    let mut wrote_length = false;
    for h in headers.iter() {
        if h.name.eq_ignore_ascii_case("Content-Length") {
            if !wrote_length {
                line(&mut out, &content_length);
                wrote_length = true;
            }
            continue;
        }
        line(&mut out, &format!("{}: {}", h.name, h.value));
    }
    if !wrote_length {
        line(&mut out, &content_length);
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// One line; a CR or LF inside (from a value set by code) becomes a space, so
/// no value can ever inject a header or end the header section.
fn line(out: &mut Vec<u8>, text: &str) {
    out.extend(
        text.bytes()
            .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
    out.extend_from_slice(b"\r\n");
}
