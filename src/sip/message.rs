//! SIP messages as plain data: parse from bytes, write to bytes.
//!
//! Lenient where RFC 3261 §7.3.1 says to be (compact header names, any case,
//! LWS, folded lines), strict about framing (Content-Length) because a wrong
//! body boundary on a stream transport corrupts every following message.

use std::fmt;

use super::header::CSeq;

mod headers;
mod names;
mod parse;
mod response;
mod validate;
mod write;

pub use names::canonical_header_name;
pub use parse::{MAX_HEADER_BYTES, MAX_STREAM_BODY, frame_len, parse_message};
pub use response::{default_reason, response_for};
pub use validate::validate_request;

/// A SIP request or response.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SipMessage {
    /// A request (INVITE, BYE, …).
    Request(Request),
    /// A response (100 … 699).
    Response(Response),
}

/// SIP request methods. Unknown extension methods are kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Method {
    /// INVITE
    Invite,
    /// ACK
    Ack,
    /// BYE
    Bye,
    /// CANCEL
    Cancel,
    /// OPTIONS
    Options,
    /// REGISTER
    Register,
    /// INFO
    Info,
    /// PRACK
    Prack,
    /// UPDATE
    Update,
    /// REFER
    Refer,
    /// NOTIFY
    Notify,
    /// SUBSCRIBE
    Subscribe,
    /// MESSAGE
    Message,
    /// An extension method, case preserved (methods are case-sensitive).
    Other(String),
}

/// A SIP request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The Request-URI as written.
    pub uri: String,
    /// Headers in wire order.
    pub headers: Headers,
    /// The message body (Content-Length bytes).
    pub body: Vec<u8>,
}

/// A SIP response.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Response {
    /// The status code, 100–699.
    pub status: u16,
    /// The reason phrase as written.
    pub reason: String,
    /// Headers in wire order.
    pub headers: Headers,
    /// The message body (Content-Length bytes).
    pub body: Vec<u8>,
}

/// One header field line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Header {
    /// The canonical long name (compact forms such as `v` are expanded to `Via`).
    pub name: String,
    /// The value with surrounding whitespace trimmed and folded lines joined.
    pub value: String,
}

/// Headers in wire order; lookups are case-insensitive.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Headers(pub Vec<Header>);

/// Why bytes are not a SIP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipParseError {
    /// What is wrong, for the log and the 400 reason phrase.
    pub message: String,
}

impl fmt::Display for SipParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SipParseError {}

impl SipParseError {
    /// Whether the start line named a SIP version other than 2.0: the
    /// caller answers 505 Version Not Supported instead of 400.
    pub fn is_version(&self) -> bool {
        self.message.contains("version")
    }
}

impl Method {
    /// The method as written on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Options => "OPTIONS",
            Method::Register => "REGISTER",
            Method::Info => "INFO",
            Method::Prack => "PRACK",
            Method::Update => "UPDATE",
            Method::Refer => "REFER",
            Method::Notify => "NOTIFY",
            Method::Subscribe => "SUBSCRIBE",
            Method::Message => "MESSAGE",
            Method::Other(m) => m,
        }
    }

    /// The method for a token. Case-sensitive (RFC 3261 §7.1): `invite` is an
    /// extension method, not INVITE.
    pub fn parse(s: &str) -> Method {
        match s {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "OPTIONS" => Method::Options,
            "REGISTER" => Method::Register,
            "INFO" => Method::Info,
            "PRACK" => Method::Prack,
            "UPDATE" => Method::Update,
            "REFER" => Method::Refer,
            "NOTIFY" => Method::Notify,
            "SUBSCRIBE" => Method::Subscribe,
            "MESSAGE" => Method::Message,
            other => Method::Other(other.to_string()),
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl SipMessage {
    /// The headers of either kind of message.
    pub fn headers(&self) -> &Headers {
        match self {
            SipMessage::Request(r) => &r.headers,
            SipMessage::Response(r) => &r.headers,
        }
    }

    /// The headers, for editing (a proxy adding its Via, say).
    pub fn headers_mut(&mut self) -> &mut Headers {
        match self {
            SipMessage::Request(r) => &mut r.headers,
            SipMessage::Response(r) => &mut r.headers,
        }
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        match self {
            SipMessage::Request(r) => &r.body,
            SipMessage::Response(r) => &r.body,
        }
    }

    /// The Call-ID value (first line).
    pub fn call_id(&self) -> Option<&str> {
        self.headers().get("Call-ID")
    }

    /// The CSeq, if present and parseable.
    pub fn cseq(&self) -> Option<CSeq> {
        self.headers().cseq()
    }
}
