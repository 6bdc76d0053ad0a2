//! Who may call out, where a call goes, and which XMPP user an inbound call rings.
//!
//! Pure functions of the [`Config`]: the call core asks, this module answers;
//! nothing here touches the network. Outbound, authorisation is checked before
//! the dialled address is even parsed, so a caller who may not dial learns
//! nothing about which addresses would have worked.

use crate::address::{self, AddressError, Dialled};
use crate::config::{Config, ListenTransport, PolicyConfig};
use std::fmt;

/// The SIP port assumed for `user\40host` addresses without one (RFC 3261 §19.1.2).
const SIP_PORT: u16 = 5060;

/// Where to send the INVITE for an outbound call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRoute {
    /// The trunk used, `None` for a SIP address dialled directly.
    pub trunk: Option<String>,
    /// The INVITE's Request-URI.
    pub request_uri: String,
    /// Host to send to, as written in a URI (IPv6 in brackets).
    pub host: String,
    /// Port to send to.
    pub port: u16,
    /// Transport to send over.
    pub transport: ListenTransport,
}

/// Why an outbound call is refused, with its answer on both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// The caller is not in `policy.allow_outbound`.
    Forbidden,
    /// A number was dialled but no trunk is configured.
    NoTrunk,
    /// A SIP address was dialled but `policy.allow_sip_uris` is off.
    NotAllowedSipUri,
    /// The dialled localpart is not an address.
    BadAddress(AddressError),
}

impl RouteError {
    /// The SIP status for logs and call records (and the Jingle side's reason).
    pub fn sip_status(&self) -> u16 {
        match self {
            RouteError::Forbidden | RouteError::NotAllowedSipUri => 403,
            RouteError::NoTrunk => 404,
            RouteError::BadAddress(_) => 400,
        }
    }

    /// The XMPP stanza error condition (RFC 6120 §8.3.3) for the IQ that carried
    /// the session-initiate, paired with [`Self::sip_status`] as RFC 7247 §6 pairs them.
    pub fn stanza_error(&self) -> &'static str {
        match self {
            RouteError::Forbidden => "forbidden",
            // RFC 6120: "does not allow any entity to perform the action".
            RouteError::NotAllowedSipUri => "not-allowed",
            RouteError::NoTrunk => "item-not-found",
            RouteError::BadAddress(_) => "jid-malformed",
        }
    }
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteError::Forbidden => write!(f, "caller may not place calls through this gateway"),
            RouteError::NoTrunk => write!(f, "no trunk is configured for numbers"),
            RouteError::NotAllowedSipUri => write!(f, "dialling SIP addresses is not allowed"),
            RouteError::BadAddress(e) => write!(f, "bad address: {e}"),
        }
    }
}

impl std::error::Error for RouteError {}

/// Routes a call from `caller_bare_jid` to the gateway JID
/// `callee_localpart@<gateway>/callee_resource`.
///
/// Numbers go to `policy.default_trunk`; `user\40host` addresses go straight
/// to that host (port 5060 and UDP unless written) when `policy.allow_sip_uris`.
pub fn route_outbound(
    config: &Config,
    caller_bare_jid: &str,
    callee_localpart: &str,
    callee_resource: Option<&str>,
) -> Result<OutboundRoute, RouteError> {
    if !caller_allowed(&config.policy, caller_bare_jid) {
        return Err(RouteError::Forbidden);
    }
    match address::parse_dialled(callee_localpart, callee_resource)
        .map_err(RouteError::BadAddress)?
    {
        Dialled::Number(number) => {
            let trunk = config
                .policy
                .default_trunk
                .as_deref()
                .and_then(|name| config.trunks.iter().find(|t| t.name == name))
                .ok_or(RouteError::NoTrunk)?;
            Ok(OutboundRoute {
                trunk: Some(trunk.name.clone()),
                request_uri: address::number_request_uri(&number, &trunk.hostport()),
                host: trunk.host.clone(),
                port: trunk.port,
                transport: trunk.transport,
            })
        }
        Dialled::Sip(sip) => {
            if !config.policy.allow_sip_uris {
                return Err(RouteError::NotAllowedSipUri);
            }
            let (host, port) =
                address::split_hostport(&sip.host).map_err(RouteError::BadAddress)?;
            Ok(OutboundRoute {
                trunk: None,
                request_uri: sip.to_uri(),
                host,
                port: port.unwrap_or(SIP_PORT),
                transport: ListenTransport::Udp,
            })
        }
    }
}

/// The bare JID an inbound call rings: the Request-URI user is tried first
/// (that is where trunks put the DID), then the To user. Users are
/// percent-decoded and normalised; a leading `+` is ignored on both sides, so
/// `15550001000` and `+15550001000` both reach DID `+15550001000`.
pub fn route_inbound(
    config: &Config,
    request_user: Option<&str>,
    to_user: Option<&str>,
) -> Option<String> {
    [request_user, to_user]
        .into_iter()
        .flatten()
        .find_map(|user| {
            let decoded = address::percent_decode(user).ok()?;
            let number = address::normalize_number(&decoded)?;
            let wanted = number.trim_start_matches('+');
            config
                .numbers
                .iter()
                .find(|n| n.did.trim_start_matches('+') == wanted)
                .map(|n| n.jid.clone())
        })
}

/// Whether `caller_bare_jid` may call out: an entry `example.net` admits every
/// user at that domain (not subdomains), `alice@example.net` only that user.
/// Comparison ignores case — domains are case-insensitive, and localparts are
/// case-mapped by PRECIS (RFC 8265 UsernameCaseMapped) — and a trailing dot.
/// A resource, if passed by mistake, is ignored; a JID without a localpart
/// (a server or component) is never allowed.
pub fn caller_allowed(policy: &PolicyConfig, caller_bare_jid: &str) -> bool {
    let bare = caller_bare_jid.split('/').next().unwrap_or_default();
    let Some((local, domain)) = bare.split_once('@') else {
        return false;
    };
    if local.is_empty() || domain.is_empty() {
        return false;
    }
    let norm = |d: &str| d.trim_end_matches('.').to_lowercase();
    let domain = norm(domain);
    policy
        .allow_outbound
        .iter()
        .any(|entry| match entry.split_once('@') {
            Some((l, d)) => l.to_lowercase() == local.to_lowercase() && norm(d) == domain,
            None => norm(entry) == domain,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
        [xmpp]
        domain = "sip.example.net"
        secret = "s"
        [[trunk]]
        name = "pbx"
        uri = "sip:127.0.0.1:5080"
        [[trunk]]
        name = "carrier"
        uri = "sip:[2001:db8::7];transport=tcp"
        [[number]]
        did = "+1 555 000 1000"
        jid = "alice@example.net"
        [[number]]
        did = "2000"
        jid = "bob@example.net"
    "#;

    fn config(extra: &str) -> Config {
        Config::from_toml_str(&format!("{BASE}\n{extra}"), &[]).expect("valid test config")
    }

    #[test]
    fn numbers_go_via_the_default_trunk() {
        let c = config("[policy]\nallow_outbound = [\"example.net\"]");
        let route = route_outbound(
            &c,
            "alice@example.net",
            "+1\\20555\\20123-4567",
            Some("phone"),
        )
        .unwrap();
        assert_eq!(
            route,
            OutboundRoute {
                trunk: Some("pbx".into()),
                request_uri: "sip:+15551234567@127.0.0.1:5080;user=phone".into(),
                host: "127.0.0.1".into(),
                port: 5080,
                transport: ListenTransport::Udp,
            }
        );
        let c = config("[policy]\nallow_outbound = [\"example.net\"]\ndefault_trunk = \"carrier\"");
        let route = route_outbound(&c, "alice@example.net", "*97", None).unwrap();
        // No port in the trunk URI: none in the Request-URI either (RFC 3263
        // location, not the URI, picks the port).
        assert_eq!(route.request_uri, "sip:*97@[2001:db8::7]");
        assert_eq!(
            (route.host.as_str(), route.port, route.transport),
            ("[2001:db8::7]", 5060, ListenTransport::Tcp)
        );
    }

    #[test]
    fn sip_addresses_only_when_allowed() {
        let c = config("[policy]\nallow_outbound = [\"example.net\"]");
        let err = route_outbound(&c, "alice@example.net", r"bob\40pbx.org", None).unwrap_err();
        assert_eq!((err.sip_status(), err.stanza_error()), (403, "not-allowed"));

        let c = config("[policy]\nallow_outbound = [\"example.net\"]\nallow_sip_uris = true");
        let route = route_outbound(
            &c,
            "alice@example.net",
            r"bob\40pbx.org\3a5070",
            Some("gr1"),
        )
        .unwrap();
        assert_eq!(route.trunk, None);
        assert_eq!(route.request_uri, "sip:bob@pbx.org:5070;gr=gr1");
        assert_eq!((route.host.as_str(), route.port), ("pbx.org", 5070));
        let route = route_outbound(&c, "alice@example.net", r"bob\40pbx.org", None).unwrap();
        assert_eq!((route.port, route.transport), (5060, ListenTransport::Udp));
    }

    #[test]
    fn refusals_map_to_both_wires() {
        let c = config("[policy]\nallow_outbound = [\"alice@example.net\"]");
        let err = route_outbound(&c, "mallory@example.net", "+15551234567", None).unwrap_err();
        assert_eq!(err, RouteError::Forbidden);
        assert_eq!((err.sip_status(), err.stanza_error()), (403, "forbidden"));
        // Authorisation comes first: a bad address from a stranger is still Forbidden.
        assert_eq!(
            route_outbound(&c, "mallory@example.net", r"\", None),
            Err(RouteError::Forbidden)
        );

        let err = route_outbound(&c, "alice@example.net", r"bad\4", None).unwrap_err();
        assert!(matches!(
            err,
            RouteError::BadAddress(AddressError::InvalidEscape(_))
        ));
        assert_eq!(
            (err.sip_status(), err.stanza_error()),
            (400, "jid-malformed")
        );

        let no_trunk = Config::from_toml_str(
            "[xmpp]\ndomain = \"gw.example\"\nsecret = \"s\"\n[policy]\nallow_outbound = [\"example.net\"]",
            &[],
        )
        .unwrap();
        let err = route_outbound(&no_trunk, "alice@example.net", "1000", None).unwrap_err();
        assert_eq!(
            (err.sip_status(), err.stanza_error()),
            (404, "item-not-found")
        );
    }

    #[test]
    fn inbound_matches_with_or_without_plus() {
        let c = config("");
        let alice = Some("alice@example.net".to_owned());
        assert_eq!(route_inbound(&c, Some("+15550001000"), None), alice);
        assert_eq!(route_inbound(&c, Some("15550001000"), None), alice);
        assert_eq!(route_inbound(&c, Some("%2B1-555-000-1000"), None), alice);
        assert_eq!(
            route_inbound(&c, Some("+2000"), None),
            Some("bob@example.net".into())
        );
        // Request-URI first, then To.
        assert_eq!(
            route_inbound(&c, Some("2000"), Some("+15550001000")),
            Some("bob@example.net".into())
        );
        assert_eq!(
            route_inbound(&c, Some("gateway"), Some("+15550001000")),
            alice
        );
        assert_eq!(
            route_inbound(&c, None, Some("2000")),
            Some("bob@example.net".into())
        );
        assert_eq!(route_inbound(&c, Some("3000"), Some("bob")), None);
        assert_eq!(route_inbound(&c, None, None), None);
    }

    #[test]
    fn caller_policy() {
        let p = PolicyConfig {
            allow_outbound: vec!["Example.NET".into(), "carol@other.org".into()],
            ..PolicyConfig::default()
        };
        assert!(caller_allowed(&p, "alice@example.net"));
        assert!(caller_allowed(&p, "ALICE@EXAMPLE.net."));
        assert!(caller_allowed(&p, "alice@example.net/phone"));
        assert!(caller_allowed(&p, "Carol@other.org"));
        assert!(!caller_allowed(&p, "dave@other.org"));
        assert!(!caller_allowed(&p, "alice@sub.example.net"));
        assert!(!caller_allowed(&p, "alice@example.net.evil.org"));
        assert!(!caller_allowed(&p, "example.net"));
        assert!(!caller_allowed(&p, "@example.net"));
        assert!(!caller_allowed(&p, ""));
        assert!(!caller_allowed(
            &PolicyConfig::default(),
            "alice@example.net"
        ));
    }
}
