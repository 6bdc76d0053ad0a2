//! The Via header value (RFC 3261 §20.42): where responses go back to.

use std::fmt;

use super::lex::{self, Params, err};
use crate::sip::SipParseError;

/// One Via value: `SIP/2.0/UDP host:port;branch=…;received=…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// The transport, upper-cased (UDP, TCP, TLS, SCTP, WS, WSS, or an
    /// unknown token, which RFC 4475 §3.1.1.10 says must be accepted).
    pub transport: String,
    /// The sent-by host; IPv6 references keep their brackets.
    pub host: String,
    /// The sent-by port, when written.
    pub port: Option<u16>,
    /// Parameters as written (`branch`, `received`, `rport`, …).
    pub params: Params,
}

impl Via {
    /// Parses one Via value. LWS is allowed around the `/` of the protocol
    /// and around `;` and `=` (RFC 4475 §3.1.1.1 uses all of it).
    pub fn parse(s: &str) -> Result<Self, SipParseError> {
        let bad = || err(format!("bad Via {s:?}"));
        let mut parts = s.splitn(3, '/');
        let (name, version, rest) = match (parts.next(), parts.next(), parts.next()) {
            (Some(n), Some(v), Some(r)) => (lex::trim_wsp(n), lex::trim_wsp(v), r),
            _ => return Err(bad()),
        };
        if !name.eq_ignore_ascii_case("SIP") || version != "2.0" {
            return Err(err(format!("Via protocol {name}/{version} is not SIP/2.0")));
        }
        let rest = lex::trim_wsp(rest);
        let (transport, rest) = rest.split_once(lex::is_wsp).ok_or_else(bad)?;
        if !lex::is_token(transport) {
            return Err(bad());
        }
        let (sent_by, params) = match lex::split_top(rest, ';').split_first() {
            Some((first, _)) => {
                let params = &rest[first.len()..];
                (lex::trim_wsp(first), params.strip_prefix(';'))
            }
            None => return Err(bad()),
        };
        let (host, port) = lex::split_host_port(sent_by)?;
        let params = match params {
            Some(p) => lex::parse_params(p)?,
            None => Vec::new(),
        };
        Ok(Via {
            transport: transport.to_ascii_uppercase(),
            host,
            port,
            params,
        })
    }

    /// The `branch` parameter (the transaction id when it starts with
    /// `z9hG4bK`).
    pub fn branch(&self) -> Option<&str> {
        self.param("branch").flatten()
    }

    /// A parameter by name (case-insensitive); `Some(None)` for a flag such
    /// as `rport` without a value.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        lex::param(&self.params, name)
    }

    /// Sets a parameter, replacing an existing one of the same name (e.g.
    /// `received` and `rport` per RFC 3581).
    pub fn set_param(&mut self, name: &str, value: Option<String>) {
        lex::set_param(&mut self.params, name, value)
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        lex::write_params(f, &self.params)
    }
}
