//! Where a SIP message came from or goes to: a transport and a socket address.
//!
//! Responses go back to the packet's source address and port, whatever the Via
//! says (RFC 3581 symmetric response routing, which is what works behind NAT),
//! and over the same TCP or TLS connection when the request came over one.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;

/// A SIP transport protocol the gateway speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Transport {
    /// UDP: the transaction layer retransmits.
    Udp,
    /// TCP: reliable, so no retransmissions (RFC 3261 §17.1.1.2).
    Tcp,
    /// TLS over TCP (RFC 3261 §26.2, `sips:`): reliable like TCP. Which
    /// certificate and name a connection verifies is the socket adapter's
    /// business, so `Peer` stays a small `Copy` value.
    Tls,
}

impl Transport {
    /// The Via transport token.
    pub fn via_token(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        }
    }

    /// The `transport=` URI parameter value.
    pub fn uri_param(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        }
    }

    /// The port a URI without one means (RFC 3261 §19.1.2): 5061 for TLS.
    pub fn default_port(self) -> u16 {
        match self {
            Transport::Udp | Transport::Tcp => 5060,
            Transport::Tls => 5061,
        }
    }

    /// Whether the transport is reliable (no retransmissions, zero wait timers).
    pub fn is_reliable(self) -> bool {
        matches!(self, Transport::Tcp | Transport::Tls)
    }

    /// Parses a Via or URI transport token, case-insensitively.
    pub fn parse(token: &str) -> Option<Transport> {
        if token.eq_ignore_ascii_case("udp") {
            Some(Transport::Udp)
        } else if token.eq_ignore_ascii_case("tcp") {
            Some(Transport::Tcp)
        } else if token.eq_ignore_ascii_case("tls") {
            Some(Transport::Tls)
        } else {
            None
        }
    }
}

impl From<crate::config::ListenTransport> for Transport {
    fn from(t: crate::config::ListenTransport) -> Self {
        match t {
            crate::config::ListenTransport::Udp => Transport::Udp,
            crate::config::ListenTransport::Tcp => Transport::Tcp,
            crate::config::ListenTransport::Tls => Transport::Tls,
        }
    }
}

/// A remote SIP endpoint as the socket layer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Peer {
    /// The transport.
    pub transport: Transport,
    /// The remote address and port.
    pub addr: SocketAddr,
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.transport.uri_param(), self.addr)
    }
}
