//! Bytes → [`SipMessage`]: one datagram ([`parse_message`]) or stream framing
//! ([`frame_len`]). Both share the header-section reader, so a message that
//! frames on TCP also parses, and the other way round.

use super::names::canonical_header_name;
use super::{Header, Headers, Method, Request, Response, SipMessage, SipParseError};
use crate::sip::header::lex::{err, is_token, trim_wsp, uri_scheme};

/// Largest header section accepted on a stream before giving up (a peer that
/// never sends the empty line must not make us buffer forever).
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Largest Content-Length accepted on a stream, for the same reason.
pub const MAX_STREAM_BODY: usize = 16 * 1024 * 1024;

/// The parsed start line and headers, and where the body starts.
struct Head<'a> {
    start_line: &'a [u8],
    headers: Headers,
    body_start: usize,
}

/// Parses one SIP message from a datagram or a framed stream message.
///
/// Accepts CRLF or bare LF line ends, skips leading CRLF keep-alives, unfolds
/// continuation lines, expands compact header names. The body is
/// Content-Length bytes (bytes beyond it are ignored, RFC 4475 §3.1.1.8);
/// without Content-Length it is the rest of the datagram. A request-line
/// whose version is not SIP/2.0 fails with a message containing "version"
/// (the caller answers 505, see [`SipParseError::is_version`]). Missing
/// mandatory headers are not checked here: see [`Request::validate`].
pub fn parse_message(bytes: &[u8]) -> Result<SipMessage, SipParseError> {
    let head = read_head(bytes, true)?.ok_or_else(|| err("empty message"))?;
    let available = bytes.len() - head.body_start;
    let body_len = match content_length(&head.headers)? {
        Some(n) if n > available => {
            return Err(err(format!(
                "Content-Length {n} is larger than the {available} body bytes present"
            )));
        }
        Some(n) => n,
        None => available,
    };
    let body = bytes[head.body_start..head.body_start + body_len].to_vec();
    start_line(head.start_line, head.headers, body)
}

/// Stream (TCP/TLS) framing: `Some(total length)` once the buffer holds a whole
/// message (leading CRLF keep-alives included in the length), `None` when more
/// bytes are needed. Content-Length is mandatory on streams (RFC 3261 §18.3);
/// its absence, a bad value, or a header section over [`MAX_HEADER_BYTES`]
/// is an error: the connection cannot be resynchronised and should be closed.
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, SipParseError> {
    let Some(head) = read_head(buf, false)? else {
        return Ok(None);
    };
    let len = content_length(&head.headers)?
        .ok_or_else(|| err("Content-Length is required on a stream transport"))?;
    if len > MAX_STREAM_BODY {
        return Err(err(format!("Content-Length {len} is too large")));
    }
    let total = head.body_start + len;
    Ok((buf.len() >= total).then_some(total))
}

/// The Content-Length, if present. Several lines must agree (RFC 4475 §3.3.9
/// has two conflicting ones: the body boundary is unknowable).
fn content_length(headers: &Headers) -> Result<Option<usize>, SipParseError> {
    let mut found = None;
    for value in headers.get_all("Content-Length") {
        let v = trim_wsp(value);
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(format!("bad Content-Length {v:?}")));
        }
        let n = v
            .parse::<usize>()
            .map_err(|_| err(format!("Content-Length {v} is too large")))?;
        if found.is_some_and(|f| f != n) {
            return Err(err("conflicting Content-Length values"));
        }
        found = Some(n);
    }
    Ok(found)
}

/// Reads the start line and header section. `datagram`: the buffer is all
/// there is, so a header section that ends with the data (no empty line,
/// RFC 4475's baddn.dat) is accepted; on a stream that means "need more".
fn read_head(buf: &[u8], datagram: bool) -> Result<Option<Head<'_>>, SipParseError> {
    let mut pos = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let head_start = pos;
    let mut start_line: Option<&[u8]> = None;
    let mut headers: Vec<Header> = Vec::new();
    loop {
        let (line, next) = match buf[pos..].iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[pos..pos + i], pos + i + 1),
            None if !datagram && buf.len() - head_start > MAX_HEADER_BYTES => {
                return Err(err("header section exceeds 64 KiB"));
            }
            None if !datagram => return Ok(None),
            None if pos == buf.len() && start_line.is_some() => (&buf[pos..pos], pos),
            None if pos == buf.len() => return Ok(None),
            None => return Err(err("message truncated inside the header section")),
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.contains(&b'\r') {
            return Err(err("bare CR in the header section"));
        }
        if !datagram && next - head_start > MAX_HEADER_BYTES {
            return Err(err("header section exceeds 64 KiB"));
        }
        pos = next;
        if start_line.is_none() {
            start_line = Some(line);
            continue;
        }
        if line.is_empty() {
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            // RFC 3261 §7.3.1: a continuation line is the previous value, the
            // line break and leading whitespace being one SP.
            let last = headers
                .last_mut()
                .ok_or_else(|| err("continuation line before the first header"))?;
            let more = String::from_utf8_lossy(line);
            let more = trim_wsp(&more);
            if !more.is_empty() {
                if !last.value.is_empty() {
                    last.value.push(' ');
                }
                last.value.push_str(more);
            }
            continue;
        }
        headers.push(header_line(line)?);
    }
    Ok(start_line.map(|start_line| Head {
        start_line,
        headers: Headers(headers),
        body_start: pos,
    }))
}

/// `name HCOLON value`. Values are decoded lossily: a Latin-1 display name
/// from an old phone should not cost the call.
fn header_line(line: &[u8]) -> Result<Header, SipParseError> {
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or_else(|| err("header line without ':'"))?;
    let name = std::str::from_utf8(&line[..colon])
        .map(trim_wsp)
        .ok()
        .filter(|n| is_token(n))
        .ok_or_else(|| err("bad header name"))?;
    let value = String::from_utf8_lossy(&line[colon + 1..]);
    Ok(Header {
        name: canonical_header_name(name).into_owned(),
        value: trim_wsp(&value).to_string(),
    })
}

fn start_line(line: &[u8], headers: Headers, body: Vec<u8>) -> Result<SipMessage, SipParseError> {
    if line.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(err("control character in the start line"));
    }
    if line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"SIP/") {
        return status_line(line, headers, body).map(SipMessage::Response);
    }
    let text = std::str::from_utf8(line)
        .ok()
        .filter(|t| t.is_ascii() && !t.contains('\t'))
        .ok_or_else(|| err("non-ASCII request line"))?;
    let parts: Vec<&str> = text.split(' ').collect();
    let [method, uri, version] = parts[..] else {
        return Err(err(
            "request line must be Method SP Request-URI SP SIP-Version",
        ));
    };
    if !is_token(method) {
        return Err(err(format!("bad method {method:?}")));
    }
    if uri_scheme(uri).is_none_or(|s| s.len() + 1 == uri.len()) || uri.contains(['<', '>', '"']) {
        return Err(err(format!("bad Request-URI {uri:?}")));
    }
    if !version.eq_ignore_ascii_case("SIP/2.0") {
        return Err(err(format!("unsupported SIP version {version:?}")));
    }
    Ok(SipMessage::Request(Request {
        method: Method::parse(method),
        uri: uri.to_string(),
        headers,
        body,
    }))
}

fn status_line(line: &[u8], headers: Headers, body: Vec<u8>) -> Result<Response, SipParseError> {
    let (version, rest) = split_sp(line);
    if !version.eq_ignore_ascii_case(b"SIP/2.0") {
        let version = String::from_utf8_lossy(version);
        return Err(err(format!("unsupported SIP version {version:?}")));
    }
    let (code, reason) = split_sp(rest);
    if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
        return Err(err("status code must be three digits"));
    }
    let status = u16::from(code[0] - b'0') * 100
        + u16::from(code[1] - b'0') * 10
        + u16::from(code[2] - b'0');
    if !(100..=699).contains(&status) {
        return Err(err(format!("status code {status} out of range")));
    }
    Ok(Response {
        status,
        reason: String::from_utf8_lossy(reason).into_owned(),
        headers,
        body,
    })
}

/// Splits at the first SP: (before, after); no SP → (all, empty).
fn split_sp(s: &[u8]) -> (&[u8], &[u8]) {
    match s.iter().position(|&b| b == b' ') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, &[]),
    }
}
