//! Where a SIP message came from or goes to: a transport and a socket address.
//!
//! Responses go back to the packet's source address and port, whatever the Via
//! says (RFC 3581 symmetric response routing, which is what works behind NAT),
//! and over the same TCP connection when the request came over TCP.

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
}

impl Transport {
    /// The Via transport token.
    pub fn via_token(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }

    /// The `transport=` URI parameter value.
    pub fn uri_param(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        }
    }

    /// Whether the transport is reliable (no retransmissions, zero wait timers).
    pub fn is_reliable(self) -> bool {
        matches!(self, Transport::Tcp)
    }

    /// Parses a Via or URI transport token, case-insensitively.
    pub fn parse(token: &str) -> Option<Transport> {
        if token.eq_ignore_ascii_case("udp") {
            Some(Transport::Udp)
        } else if token.eq_ignore_ascii_case("tcp") {
            Some(Transport::Tcp)
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
