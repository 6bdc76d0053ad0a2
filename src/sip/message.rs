//! SIP messages as plain data: parse from bytes, write to bytes.
//!
//! Lenient where RFC 3261 §7.3.1 says to be (compact header names, any case,
//! LWS, folded lines), strict about framing (Content-Length) because a wrong
//! body boundary on a stream transport corrupts every following message.

use std::fmt;

/// A SIP request or response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SipMessage {
    /// A request (INVITE, BYE, …).
    Request(Request),
    /// A response (100 … 699).
    Response(Response),
}

/// SIP request methods. Unknown extension methods are kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The canonical long name (compact forms such as `v` are expanded to `Via`).
    pub name: String,
    /// The value with surrounding whitespace trimmed and folded lines joined.
    pub value: String,
}

/// Headers in wire order; lookups are case-insensitive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
