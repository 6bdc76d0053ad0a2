//! Raw file values → a [`Config`] that the gateway can trust: defaults filled
//! in, every value checked, each problem reported under its dotted key.

use super::TrunkAuth;
use super::env::Provenance;
use super::raw::{RawConfig, RawNumber, RawTrunk};
use super::redact_url;
use super::trunk::parse_trunk_uri;
use super::*;
use crate::address::{normalize_number, split_hostport};
use std::collections::HashMap;
use std::net::IpAddr;

/// The component port of Prosody and ejabberd when run next to the gateway.
const DEFAULT_XMPP_SERVER: &str = "127.0.0.1:5347";
const DEFAULT_RECONNECT_MAX_SECS: u64 = 30;
const DEFAULT_LISTEN: &str = "udp:0.0.0.0:5060";
const DEFAULT_DATABASE_URL: &str = "sqlite://stox.db";
const DEFAULT_LEASE_SECS: u64 = 10;
const DEFAULT_RING_TIMEOUT_SECS: u64 = 60;
const DEFAULT_TRICKLE_DEADLINE_MS: u64 = 2000;

/// Builds errors that mention the environment variable a value came from.
pub(super) struct Check<'a> {
    provenance: &'a Provenance,
}

impl Check<'_> {
    pub(super) fn err(&self, key: &str, problem: impl Into<String>) -> ConfigError {
        let mut problem = problem.into();
        let base = key.split('[').next().unwrap_or(key);
        if let Some(var) = self.provenance.get(base) {
            problem.push_str(&format!(" (set by {var})"));
        }
        ConfigError::invalid(key, problem)
    }

    fn required(&self, key: &str, value: Option<String>) -> Result<String, ConfigError> {
        match value {
            None => Err(self.err(key, "is required")),
            Some(v) if v.trim().is_empty() => Err(self.err(key, "must not be empty")),
            Some(v) => Ok(v),
        }
    }
}

pub(crate) fn validate(
    raw: RawConfig,
    provenance: &Provenance,
    default_instance: &str,
) -> Result<Config, ConfigError> {
    let c = Check { provenance };
    let xmpp = xmpp(&c, raw.xmpp)?;
    let sip = sip(&c, raw.sip)?;
    let database = database(&c, raw.database, default_instance)?;
    let trunks = trunks(&c, raw.trunks)?;
    let numbers = numbers(&c, raw.numbers)?;
    let policy = policy(&c, raw.policy, &trunks)?;
    let ring_timeout_secs = raw
        .calls
        .ring_timeout_secs
        .unwrap_or(DEFAULT_RING_TIMEOUT_SECS);
    if ring_timeout_secs == 0 {
        return Err(c.err("calls.ring_timeout_secs", "must be at least 1"));
    }
    let calls = CallsConfig {
        ring_timeout_secs,
        trickle_deadline_ms: raw
            .calls
            .trickle_deadline_ms
            .unwrap_or(DEFAULT_TRICKLE_DEADLINE_MS),
    };
    let media = super::media::media(&c, raw.media, &sip, &trunks)?;
    let metrics = MetricsConfig {
        listen: match raw.metrics.listen.filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(s.parse().map_err(|_| {
                c.err(
                    "metrics.listen",
                    format!("{s:?} is not an ADDR:PORT socket address"),
                )
            })?),
        },
    };
    Ok(Config {
        xmpp,
        sip,
        database,
        trunks,
        numbers,
        policy,
        calls,
        metrics,
        media,
    })
}

fn xmpp(c: &Check, raw: super::raw::RawXmpp) -> Result<XmppConfig, ConfigError> {
    let domain = c.required("xmpp.domain", raw.domain)?;
    if !matches!(split_hostport(&domain), Ok((h, None)) if !h.starts_with('[')) {
        return Err(c.err("xmpp.domain", format!("{domain:?} is not a domain name")));
    }
    let server = raw.server.unwrap_or_else(|| DEFAULT_XMPP_SERVER.into());
    if !matches!(split_hostport(&server), Ok((_, Some(_)))) {
        return Err(c.err("xmpp.server", format!("{server:?} is not host:port")));
    }
    let secret = c.required("xmpp.secret", raw.secret)?;
    let reconnect_max_secs = raw.reconnect_max_secs.unwrap_or(DEFAULT_RECONNECT_MAX_SECS);
    if reconnect_max_secs == 0 {
        return Err(c.err("xmpp.reconnect_max_secs", "must be at least 1"));
    }
    Ok(XmppConfig {
        domain: domain.to_ascii_lowercase(),
        server,
        secret,
        reconnect_max_secs,
    })
}

fn sip(c: &Check, raw: super::raw::RawSip) -> Result<SipConfig, ConfigError> {
    let texts = raw.listen.unwrap_or_else(|| vec![DEFAULT_LISTEN.into()]);
    if texts.is_empty() {
        return Err(c.err("sip.listen", "must list at least one socket"));
    }
    let mut listen: Vec<Listen> = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let key = format!("sip.listen[{i}]");
        let l: Listen = text.parse().map_err(|p: String| c.err(&key, p))?;
        if let Some(j) = listen.iter().position(|o| *o == l) {
            return Err(c.err(&key, format!("{text:?} is already sip.listen[{j}]")));
        }
        listen.push(l);
    }
    let public_address = match raw.public_address {
        Some(p) => {
            split_hostport(&p)
                .map_err(|_| c.err("sip.public_address", format!("{p:?} is not host[:port]")))?;
            p
        }
        None => default_public_address(&listen),
    };
    let user_agent = raw
        .user_agent
        .unwrap_or_else(|| format!("stox/{}", env!("CARGO_PKG_VERSION")));
    if user_agent.trim().is_empty() || user_agent.chars().any(char::is_control) {
        return Err(c.err("sip.user_agent", "must be non-empty text on one line"));
    }
    let timer_t1_ms = raw.timer_t1_ms.unwrap_or(500);
    if !(10..=5000).contains(&timer_t1_ms) {
        return Err(c.err(
            "sip.timer_t1_ms",
            format!("{timer_t1_ms} is outside 10..=5000 ms"),
        ));
    }
    let untrusted_rate = raw.untrusted_rate.unwrap_or(10);
    if untrusted_rate == 0 {
        return Err(c.err(
            "sip.untrusted_rate",
            "must be at least 1 request per second",
        ));
    }
    let untrusted_burst = raw.untrusted_burst.unwrap_or(20);
    if untrusted_burst == 0 {
        return Err(c.err("sip.untrusted_burst", "must be at least 1"));
    }
    let tls =
        super::validate_tls::listener(c, &listen, raw.tls_cert, raw.tls_key, raw.tls_client_ca)?;
    let mut dns_servers = Vec::new();
    for (i, text) in raw.dns_servers.unwrap_or_default().iter().enumerate() {
        let server = parse_dns_server(text).ok_or_else(|| {
            c.err(
                &format!("sip.dns_servers[{i}]"),
                format!("{text:?} is not ip[:port] (e.g. 127.0.0.1:5353 or [::1]:53)"),
            )
        })?;
        dns_servers.push(server);
    }
    let trunk_ping_secs = raw.trunk_ping_secs.unwrap_or(30);
    if trunk_ping_secs > 86_400 {
        return Err(c.err(
            "sip.trunk_ping_secs",
            format!("{trunk_ping_secs} is more than a day (0 turns pings off)"),
        ));
    }
    let session_expires_secs = raw.session_expires_secs.unwrap_or(1800);
    if session_expires_secs != 0 && !(90..=86_400).contains(&session_expires_secs) {
        return Err(c.err(
            "sip.session_expires_secs",
            format!(
                "{session_expires_secs} is outside 90..=86400 (RFC 4028 Min-SE is 90; 0 turns the timer off)"
            ),
        ));
    }
    Ok(SipConfig {
        listen,
        public_address,
        user_agent,
        timer_t1_ms,
        untrusted_rate,
        untrusted_burst,
        trunk_ping_secs,
        session_expires_secs,
        tls_cert: tls.cert,
        tls_key: tls.key,
        tls_client_ca: tls.client_ca,
        dns_servers,
    })
}

/// `ip:port`, `[v6]:port`, or an address alone (port 53).
fn parse_dns_server(text: &str) -> Option<SocketAddr> {
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Some(addr);
    }
    let ip: IpAddr = text.trim_matches(['[', ']']).parse().ok()?;
    Some(SocketAddr::new(ip, 53))
}

/// The first listen address that names an interface, else loopback with the
/// first listen port: a usable value for a gateway and PBX on one host, and
/// `Config::warnings` says so when it is probably wrong.
fn default_public_address(listen: &[Listen]) -> String {
    match listen.iter().find(|l| !l.addr.ip().is_unspecified()) {
        Some(l) => l.addr.to_string(),
        None => format!("127.0.0.1:{}", listen[0].addr.port()),
    }
}

fn database(
    c: &Check,
    raw: super::raw::RawDatabase,
    default_instance: &str,
) -> Result<DatabaseConfig, ConfigError> {
    let url = raw.url.unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
    let url = if url.trim().is_empty() || url.trim().eq_ignore_ascii_case("none") {
        "none".to_owned()
    } else {
        url
    };
    let scheme_ok = url == "none"
        || ["sqlite:", "postgres://", "postgresql://"]
            .iter()
            .any(|s| url.len() > s.len() && url[..s.len()].eq_ignore_ascii_case(s));
    if !scheme_ok {
        return Err(c.err(
            "database.url",
            format!(
                "{:?} is not a sqlite: or postgres:// URL, or none",
                redact_url(&url)
            ),
        ));
    }
    let instance = raw.instance.unwrap_or_else(|| default_instance.to_owned());
    let instance_ok = !instance.is_empty()
        && instance.len() <= 64
        && instance
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | '-'));
    if !instance_ok {
        return Err(c.err(
            "database.instance",
            format!("{instance:?} must be 1 to 64 characters of A-Z a-z 0-9 . _ -"),
        ));
    }
    let lease_secs = raw.lease_secs.unwrap_or(DEFAULT_LEASE_SECS);
    if !(2..=300).contains(&lease_secs) {
        return Err(c.err(
            "database.lease_secs",
            format!("{lease_secs} is outside 2..=300"),
        ));
    }
    Ok(DatabaseConfig {
        url,
        instance,
        lease_secs,
    })
}

fn trunks(c: &Check, raw: Vec<RawTrunk>) -> Result<Vec<TrunkConfig>, ConfigError> {
    let mut out: Vec<TrunkConfig> = Vec::new();
    for (i, t) in raw.into_iter().enumerate() {
        let name = c.required(&format!("trunk[{i}].name"), t.name)?;
        if let Some(j) = out.iter().position(|o| o.name == name) {
            return Err(c.err(
                &format!("trunk[{i}].name"),
                format!("{name:?} is already used by trunk[{j}]"),
            ));
        }
        let uri = c.required(&format!("trunk[{i}].uri"), t.uri)?;
        let target = parse_trunk_uri(&uri).map_err(|p| c.err(&format!("trunk[{i}].uri"), p))?;
        let auth = match (t.username, t.password) {
            (None, None) => {
                if t.realm.is_some() {
                    return Err(c.err(
                        &format!("trunk[{i}].realm"),
                        "needs trunk username and password",
                    ));
                }
                None
            }
            (Some(username), Some(password)) => {
                if username.is_empty() || username.chars().any(char::is_control) {
                    return Err(c.err(
                        &format!("trunk[{i}].username"),
                        "must be non-empty text on one line",
                    ));
                }
                Some(TrunkAuth {
                    username,
                    password,
                    realm: t.realm,
                })
            }
            (Some(_), None) => {
                return Err(c.err(
                    &format!("trunk[{i}].password"),
                    "is required when trunk username is set",
                ));
            }
            (None, Some(_)) => {
                return Err(c.err(
                    &format!("trunk[{i}].username"),
                    "is required when trunk password is set",
                ));
            }
        };
        let register = t.register.unwrap_or(false);
        if register && auth.is_none() {
            return Err(c.err(
                &format!("trunk[{i}].register"),
                "needs trunk username (and password): it is the registered user",
            ));
        }
        let inbound_auth = t.inbound_auth.unwrap_or(false);
        if inbound_auth && auth.is_none() {
            return Err(c.err(
                &format!("trunk[{i}].inbound_auth"),
                "needs trunk username and password: they are the credentials callers must present",
            ));
        }
        let mut inbound_auth_algorithms = Vec::new();
        for (j, token) in t
            .inbound_auth_algorithms
            .unwrap_or_else(|| vec!["SHA-256".into(), "MD5".into()])
            .iter()
            .enumerate()
        {
            match crate::sip::digest::Algorithm::from_token(token) {
                Some(a) if !a.is_sess() => inbound_auth_algorithms.push(a),
                _ => {
                    return Err(c.err(
                        &format!("trunk[{i}].inbound_auth_algorithms[{j}]"),
                        format!("{token:?} is not MD5, SHA-256 or SHA-512-256"),
                    ));
                }
            }
        }
        if inbound_auth_algorithms.is_empty() {
            return Err(c.err(
                &format!("trunk[{i}].inbound_auth_algorithms"),
                "must name at least one algorithm",
            ));
        }
        let register_expires = t.register_expires.unwrap_or(3600);
        if !(60..=86_400).contains(&register_expires) {
            return Err(c.err(
                &format!("trunk[{i}].register_expires"),
                format!("{register_expires} is outside 60..=86400 seconds"),
            ));
        }
        let outbound_proxy = match t.outbound_proxy {
            None => None,
            Some(text) => Some(outbound_proxy(c, i, &text, &target)?),
        };
        // With a proxy, the TLS keys are for the connection to the proxy.
        let first_hop = match &outbound_proxy {
            Some(p) => super::trunk::TrunkTarget {
                host: p.host.clone(),
                port: p.port,
                transport: p.transport,
                sips: p.sips,
            },
            None => super::trunk::TrunkTarget {
                host: target.host.clone(),
                port: target.port,
                transport: target.transport,
                sips: target.sips,
            },
        };
        let tls = super::validate_tls::trunk(
            c,
            i,
            &first_hop,
            super::validate_tls::RawTrunkTls {
                ca: t.tls_ca,
                client_cert: t.tls_client_cert,
                client_key: t.tls_client_key,
                server_name: t.tls_server_name,
            },
        )?;
        let mut allow_from = Vec::new();
        for (j, text) in t.allow_from.unwrap_or_default().iter().enumerate() {
            let range: super::IpRange = text
                .parse()
                .map_err(|p: String| c.err(&format!("trunk[{i}].allow_from[{j}]"), p))?;
            allow_from.push(range);
        }
        let from_user = match t.from_user {
            None => None,
            Some(u) if is_sip_user(&u) => Some(u),
            Some(u) => {
                return Err(c.err(
                    &format!("trunk[{i}].from_user"),
                    format!("{u:?} is not a SIP user part (letters, digits, -_.!~*'()&=+$,;?/%)"),
                ));
            }
        };
        let from_domain = match t.from_domain {
            None => None,
            Some(d) => {
                split_hostport(&d).map_err(|_| {
                    c.err(
                        &format!("trunk[{i}].from_domain"),
                        format!("{d:?} is not host[:port]"),
                    )
                })?;
                Some(d)
            }
        };
        let mut codecs: Vec<String> = Vec::new();
        if let Some(list) = t.codecs {
            if list.is_empty() {
                return Err(c.err(
                    &format!("trunk[{i}].codecs"),
                    "must list at least one codec (leave the key out for no filtering)",
                ));
            }
            for (j, name) in list.into_iter().enumerate() {
                let key = format!("trunk[{i}].codecs[{j}]");
                if !crate::translate::is_known_codec(&name) {
                    return Err(c.err(
                        &key,
                        format!(
                            "{name:?} is not a known codec (e.g. PCMU, PCMA, G722, G729, opus)"
                        ),
                    ));
                }
                if let Some(k) = codecs.iter().position(|o| o.eq_ignore_ascii_case(&name)) {
                    return Err(c.err(&key, format!("{name:?} is already trunk[{i}].codecs[{k}]")));
                }
                codecs.push(name);
            }
        }
        let media = match t.media {
            None => None,
            Some(text) => Some(super::media::mode(c, &format!("trunk[{i}].media"), &text)?),
        };
        let srtp = super::media::srtp(c, &format!("trunk[{i}].srtp"), t.srtp)?;
        let dtmf = super::dtmf::dtmf(c, &format!("trunk[{i}].dtmf"), t.dtmf)?;
        let port = target.port.unwrap_or(target.default_port());
        out.push(TrunkConfig {
            name,
            uri,
            port,
            port_explicit: target.port.is_some(),
            transport: target.default_transport(),
            transport_explicit: target.transport.is_some(),
            sips: target.sips,
            tls,
            host: target.host,
            auth,
            register,
            register_expires,
            inbound_auth,
            inbound_auth_algorithms,
            allow_from,
            from_user,
            from_domain,
            assert_identity: t.assert_identity.unwrap_or(false),
            caller_id_from_did: t.caller_id_from_did.unwrap_or(true),
            codecs,
            outbound_proxy,
            media,
            srtp,
            trickle_ice: t.trickle_ice.unwrap_or(false),
            dtmf,
        });
    }
    Ok(out)
}

/// `trunk[i].outbound_proxy`: a `sip:`/`sips:` host URI like the trunk's (a
/// `;lr` is accepted and implied). A `sips:` trunk must be reached over TLS
/// on every hop, so its proxy must be TLS too.
fn outbound_proxy(
    c: &Check,
    i: usize,
    text: &str,
    trunk: &super::trunk::TrunkTarget,
) -> Result<OutboundProxy, ConfigError> {
    let key = format!("trunk[{i}].outbound_proxy");
    let uri: String = text
        .split(';')
        .filter(|p| !p.eq_ignore_ascii_case("lr"))
        .collect::<Vec<_>>()
        .join(";");
    let target = parse_trunk_uri(&uri).map_err(|p| c.err(&key, p))?;
    if trunk.sips && target.default_transport() != ListenTransport::Tls {
        return Err(c.err(
            &key,
            format!("{text:?}: a sips: trunk must be reached over TLS, so its proxy must be sips: or ;transport=tls"),
        ));
    }
    Ok(OutboundProxy {
        uri,
        host: target.host,
        port: target.port,
        transport: target.transport,
        sips: target.sips,
    })
}

/// Characters RFC 3261 allows unescaped in a user part (and `%` escapes).
fn is_sip_user(u: &str) -> bool {
    !u.is_empty()
        && u.chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "-_.!~*'()&=+$,;?/%".contains(ch))
}

fn numbers(c: &Check, raw: Vec<RawNumber>) -> Result<Vec<NumberConfig>, ConfigError> {
    let mut out: Vec<NumberConfig> = Vec::new();
    // Keyed without the '+', because inbound matching ignores it.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, n) in raw.into_iter().enumerate() {
        let key = format!("number[{i}].did");
        let text = c.required(&key, n.did)?;
        let did = normalize_number(&text)
            .ok_or_else(|| c.err(&key, format!("{text:?} is not a telephone number")))?;
        let bare = did.trim_start_matches('+').to_owned();
        if let Some(j) = seen.insert(bare, i) {
            return Err(c.err(
                &key,
                format!("{text:?} is the same number as number[{j}].did"),
            ));
        }
        let key = format!("number[{i}].jid");
        let jid = c.required(&key, n.jid)?;
        if !is_bare_jid(&jid) {
            return Err(c.err(
                &key,
                format!("{jid:?} is not a bare JID (user@domain, no /resource)"),
            ));
        }
        out.push(NumberConfig { did, jid });
    }
    Ok(out)
}

/// `local@domain` with both parts present and no resource or blanks.
fn is_bare_jid(s: &str) -> bool {
    matches!(s.split_once('@'), Some((l, d)) if !l.is_empty() && !d.is_empty() && !d.contains('@'))
        && !s.contains('/')
        && !s.chars().any(char::is_whitespace)
}

fn policy(
    c: &Check,
    raw: super::raw::RawPolicy,
    trunks: &[TrunkConfig],
) -> Result<PolicyConfig, ConfigError> {
    let allow_outbound = raw.allow_outbound.unwrap_or_default();
    for (i, entry) in allow_outbound.iter().enumerate() {
        let ok = if entry.contains('@') {
            is_bare_jid(entry)
        } else {
            matches!(split_hostport(entry), Ok((h, None)) if !h.starts_with('['))
        };
        if !ok {
            return Err(c.err(
                &format!("policy.allow_outbound[{i}]"),
                format!("{entry:?} is neither a domain nor a bare JID"),
            ));
        }
    }
    let default_trunk = match raw.default_trunk.filter(|t| !t.is_empty()) {
        Some(name) if trunks.iter().any(|t| t.name == name) => Some(name),
        Some(name) => {
            return Err(c.err(
                "policy.default_trunk",
                format!("no [[trunk]] is named {name:?}"),
            ));
        }
        None => trunks.first().map(|t| t.name.clone()),
    };
    Ok(PolicyConfig {
        allow_outbound,
        allow_sip_uris: raw.allow_sip_uris.unwrap_or(false),
        default_trunk,
    })
}
