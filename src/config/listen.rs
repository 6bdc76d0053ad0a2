//! `udp:ADDR:PORT` / `tcp:ADDR:PORT` / `tls:ADDR:PORT`: a SIP socket to bind.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

/// A SIP transport the gateway speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListenTransport {
    /// SIP over UDP (RFC 3261 §18), the default.
    Udp,
    /// SIP over TCP.
    Tcp,
    /// SIP over TLS (`sips:`); a listener needs `sip.tls_cert` and `sip.tls_key`.
    Tls,
}

impl ListenTransport {
    /// The lower-case token used in configuration and in `;transport=`.
    pub fn as_str(self) -> &'static str {
        match self {
            ListenTransport::Udp => "udp",
            ListenTransport::Tcp => "tcp",
            ListenTransport::Tls => "tls",
        }
    }

    /// Reads `udp`, `tcp` or `tls`, in any case (URI parameters are case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "udp" => Some(ListenTransport::Udp),
            "tcp" => Some(ListenTransport::Tcp),
            "tls" => Some(ListenTransport::Tls),
            _ => None,
        }
    }
}

impl fmt::Display for ListenTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One socket the SIP side listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Listen {
    /// UDP, TCP or TLS.
    pub transport: ListenTransport,
    /// Address and port to bind (IPv6 written `[::1]:5060` in the text form).
    pub addr: SocketAddr,
}

impl FromStr for Listen {
    type Err = String;

    /// Parses `udp:0.0.0.0:5060`, `tcp:[::]:5060` or `tls:0.0.0.0:5061`; the message on failure is
    /// the problem part of a configuration error.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not udp:ADDR:PORT, tcp:ADDR:PORT or tls:ADDR:PORT");
        let (transport, addr) = s.split_once(':').ok_or_else(bad)?;
        let transport = ListenTransport::parse(transport).ok_or_else(bad)?;
        let addr: SocketAddr = addr.parse().map_err(|_| bad())?;
        if addr.port() == 0 {
            return Err(format!(
                "{s:?}: port 0 would pick a random port; SIP peers need a fixed one"
            ));
        }
        Ok(Listen { transport, addr })
    }
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.transport, self.addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_both_families() {
        for s in ["udp:0.0.0.0:5060", "tcp:[::1]:5070", "tls:0.0.0.0:5061"] {
            let l: Listen = s.parse().unwrap();
            assert_eq!(l.to_string(), s);
        }
        let l: Listen = "TCP:127.0.0.1:5060".parse().unwrap();
        assert_eq!(l.transport, ListenTransport::Tcp);
    }

    #[test]
    fn rejects_bad_forms() {
        for s in [
            "",
            "udp",
            "sctp:0.0.0.0:5060",
            "udp:0.0.0.0",
            "udp:::1:5060",
            "udp:host:5060",
            "udp:0.0.0.0:0",
        ] {
            assert!(s.parse::<Listen>().is_err(), "{s:?}");
        }
    }
}
