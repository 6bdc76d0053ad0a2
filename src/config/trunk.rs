//! A trunk's `sip:host[:port][;transport=udp|tcp|tls]` or `sips:host[:port]`
//! URI, read once at start.

use super::ListenTransport;
use crate::address::split_hostport;

/// The SIP default port (RFC 3261 §19.1.2) for UDP and TCP.
pub(crate) const SIP_PORT: u16 = 5060;
/// The default port for TLS (`sips:`, `;transport=tls`).
pub(crate) const SIPS_PORT: u16 = 5061;

/// Where a trunk URI sends requests. Port and transport are `None` when not
/// written: RFC 3263 then asks the DNS (NAPTR, SRV) for them.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TrunkTarget {
    pub host: String,
    pub port: Option<u16>,
    pub transport: Option<ListenTransport>,
    /// `sips:`: TLS only (RFC 3263 then looks for SIPS+D2T / `_sips._tcp`).
    pub sips: bool,
}

impl TrunkTarget {
    /// The transport requests use when DNS does not say otherwise.
    pub(crate) fn default_transport(&self) -> ListenTransport {
        self.transport.unwrap_or(if self.sips {
            ListenTransport::Tls
        } else {
            ListenTransport::Udp
        })
    }

    /// The port requests use when neither the URI nor DNS names one.
    pub(crate) fn default_port(&self) -> u16 {
        match self.default_transport() {
            ListenTransport::Tls => SIPS_PORT,
            ListenTransport::Udp | ListenTransport::Tcp => SIP_PORT,
        }
    }
}

/// Reads a trunk URI. Strict on purpose: a user part or an unknown parameter
/// would otherwise be ignored and the trunk quietly reached some other way than
/// the operator wrote. `sips:` means TLS, and a `;transport=` that says
/// otherwise is refused rather than silently downgrading.
pub(crate) fn parse_trunk_uri(uri: &str) -> Result<TrunkTarget, String> {
    let scheme_len = uri.find(':').unwrap_or(0);
    let scheme = uri[..scheme_len].to_ascii_lowercase();
    let sips = scheme == "sips";
    if scheme != "sip" && !sips {
        return Err(format!("{uri:?} is not a sip: or sips: URI"));
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
                "{uri:?}: unknown parameter ;{param} (only ;transport=udp|tcp|tls)"
            ));
        }
        let t = ListenTransport::parse(value).ok_or_else(|| {
            format!("{uri:?}: transport={value} is not supported (udp, tcp or tls)")
        })?;
        if sips && t != ListenTransport::Tls {
            return Err(format!(
                "{uri:?}: a sips: URI is reached over TLS only, not transport={value}"
            ));
        }
        transport = Some(t);
    }
    Ok(TrunkTarget {
        host,
        port,
        transport,
        sips,
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
            sips: false,
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
    fn sips_and_transport_tls_mean_tls_on_5061() {
        let sips = parse_trunk_uri("sips:pbx.example.org").unwrap();
        assert!(sips.sips);
        assert_eq!(
            (sips.port, sips.default_transport(), sips.default_port()),
            (None, ListenTransport::Tls, 5061)
        );
        let explicit = parse_trunk_uri("SIPS:127.0.0.1:25061;transport=tls").unwrap();
        assert_eq!(
            (explicit.port, explicit.transport),
            (Some(25061), Some(ListenTransport::Tls))
        );
        let tls = parse_trunk_uri("sip:pbx.example.org;transport=TLS").unwrap();
        assert!(!tls.sips);
        assert_eq!(
            (tls.default_transport(), tls.default_port()),
            (ListenTransport::Tls, 5061)
        );
    }

    #[test]
    fn rejects_what_it_would_have_to_ignore() {
        for (uri, needle) in [
            ("foo", "is not a sip: or sips: URI"),
            ("http://x", "is not a sip: or sips: URI"),
            ("sips:pbx;transport=tcp", "TLS only"),
            ("sip:bob@pbx", "not a user"),
            ("sip:", "not a valid host"),
            ("sip:pbx:99999", "not a valid host"),
            ("sip:pbx;lr", "unknown parameter ;lr"),
            ("sip:pbx;transport=sctp", "transport=sctp"),
        ] {
            let err = parse_trunk_uri(uri).unwrap_err();
            assert!(err.contains(needle), "{uri}: {err}");
        }
    }
}
