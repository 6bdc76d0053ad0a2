//! A trunk's `sip:host[:port][;transport=udp|tcp]` URI, read once at start.

use super::ListenTransport;
use crate::address::split_hostport;

/// The SIP default port (RFC 3261 §19.1.2) for UDP and TCP.
pub(crate) const SIP_PORT: u16 = 5060;

/// Where a trunk URI sends requests. Port and transport are `None` when not
/// written: RFC 3263 then asks the DNS (NAPTR, SRV) for them.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TrunkTarget {
    pub host: String,
    pub port: Option<u16>,
    pub transport: Option<ListenTransport>,
}

/// Reads a trunk URI. Strict on purpose: a user part, an unknown parameter or
/// `sips:` would otherwise be ignored and the trunk quietly reached some other
/// way than the operator wrote.
pub(crate) fn parse_trunk_uri(uri: &str) -> Result<TrunkTarget, String> {
    let scheme_len = uri.find(':').unwrap_or(0);
    let scheme = uri[..scheme_len].to_ascii_lowercase();
    if scheme == "sips" {
        return Err(format!(
            "{uri:?}: sips: (TLS) is not supported yet; use sip:"
        ));
    }
    if scheme != "sip" {
        return Err(format!("{uri:?} is not a sip: URI"));
    }
    let rest = &uri[scheme_len + 1..];
    let mut parts = rest.split(';');
    let hostport = parts.next().unwrap_or_default();
    if hostport.contains('@') {
        return Err(format!(
            "{uri:?}: a trunk URI names a host, not a user (sip:host[:port])"
        ));
    }
    let (host, port) = split_hostport(hostport)
        .map_err(|_| format!("{uri:?}: {hostport:?} is not a valid host[:port]"))?;
    let mut transport = None;
    for param in parts {
        let (name, value) = param.split_once('=').unwrap_or((param, ""));
        if !name.eq_ignore_ascii_case("transport") {
            return Err(format!(
                "{uri:?}: unknown parameter ;{param} (only ;transport=udp|tcp)"
            ));
        }
        transport =
            Some(ListenTransport::parse(value).ok_or_else(|| {
                format!("{uri:?}: transport={value} is not supported (udp or tcp)")
            })?);
    }
    Ok(TrunkTarget {
        host,
        port,
        transport,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(host: &str, port: Option<u16>, transport: Option<ListenTransport>) -> TrunkTarget {
        TrunkTarget {
            host: host.into(),
            port,
            transport,
        }
    }

    #[test]
    fn reads_host_port_and_transport() {
        assert_eq!(
            parse_trunk_uri("sip:127.0.0.1:5080"),
            Ok(target("127.0.0.1", Some(5080), None))
        );
        assert_eq!(
            parse_trunk_uri("SIP:pbx.example.org;transport=TCP"),
            Ok(target("pbx.example.org", None, Some(ListenTransport::Tcp)))
        );
        assert_eq!(
            parse_trunk_uri("sip:[2001:db8::5]:5062"),
            Ok(target("[2001:db8::5]", Some(5062), None))
        );
        // Nothing written: RFC 3263 leaves both to the DNS.
        assert_eq!(
            parse_trunk_uri("sip:pbx.test"),
            Ok(target("pbx.test", None, None))
        );
    }

    #[test]
    fn rejects_what_it_would_have_to_ignore() {
        for (uri, needle) in [
            ("foo", "is not a sip: URI"),
            ("http://x", "is not a sip: URI"),
            ("sips:pbx", "sips:"),
            ("sip:bob@pbx", "not a user"),
            ("sip:", "not a valid host"),
            ("sip:pbx:99999", "not a valid host"),
            ("sip:pbx;lr", "unknown parameter ;lr"),
            ("sip:pbx;transport=tls", "transport=tls"),
        ] {
            let err = parse_trunk_uri(uri).unwrap_err();
            assert!(err.contains(needle), "{uri}: {err}");
        }
    }
}
