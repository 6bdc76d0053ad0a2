//! Typed gateway configuration: a TOML file layered with `STOX_*` environment
//! variables, validated once at start.
//!
//! Everything is checked before the gateway opens a socket, and every problem
//! names its key (`trunk[1].uri: "foo" is not a sip: URI`), so a bad deployment
//! fails at `stox check-config` rather than on the first call. Unknown keys and
//! unknown `STOX_*` variables are errors: a typo must not silently fall back to
//! a default. `config/stox.example.toml` documents every key.

mod cidr;
mod dtmf;
mod env;
mod error;
mod listen;
mod media;
mod raw;
mod redact;
mod trunk;
mod validate;
mod validate_tls;

pub use redact::redact_url;

pub use cidr::IpRange;
pub use dtmf::DtmfMode;
pub use env::PROCESS_ENV_VARS;
pub use error::ConfigError;
pub use listen::{Listen, ListenTransport};

pub use crate::media::anchor::{MediaMode, SipSrtp};

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The whole gateway configuration, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `[xmpp]`: the component link.
    pub xmpp: XmppConfig,
    /// `[sip]`: SIP sockets and identity.
    pub sip: SipConfig,
    /// `[database]`: where calls and registrations are kept.
    pub database: DatabaseConfig,
    /// `[[trunk]]`: SIP peers that numbers are dialled through, in file order.
    pub trunks: Vec<TrunkConfig>,
    /// `[[number]]`: inbound DIDs and the XMPP users they ring.
    pub numbers: Vec<NumberConfig>,
    /// `[policy]`: who may call out, and where.
    pub policy: PolicyConfig,
    /// `[calls]`: call timers.
    pub calls: CallsConfig,
    /// `[metrics]`: the Prometheus endpoint.
    pub metrics: MetricsConfig,
    /// `[media]`: how calls' media is carried (passthrough or anchored).
    pub media: MediaConfig,
}

/// `[xmpp]`: how the gateway connects to the XMPP server as a component (XEP-0114).
#[derive(Clone, PartialEq, Eq)]
pub struct XmppConfig {
    /// The component's JID, the domain gateway users live at (lower-cased).
    pub domain: String,
    /// `host:port` of the server's component listener.
    pub server: String,
    /// The shared component secret (never printed by `Debug`).
    pub secret: String,
    /// Upper bound, in seconds, of the reconnect back-off.
    pub reconnect_max_secs: u64,
}

impl fmt::Debug for XmppConfig {
    /// Redacts the secret: configurations end up in logs and bug reports.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XmppConfig")
            .field("domain", &self.domain)
            .field("server", &self.server)
            .field("secret", &"<redacted>")
            .field("reconnect_max_secs", &self.reconnect_max_secs)
            .finish()
    }
}

/// `[sip]`: where SIP is spoken and how the gateway presents itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipConfig {
    /// Sockets to bind, at least one, no duplicates.
    pub listen: Vec<Listen>,
    /// `host[:port]` written in Via and Contact. Defaults to the first listen
    /// address that is not 0.0.0.0/::, else `127.0.0.1:<first listen port>`.
    pub public_address: String,
    /// The User-Agent / Server header value.
    pub user_agent: String,
    /// RFC 3261 T1 in milliseconds (default 500); every other SIP timer
    /// derives from it. Lower it on a LAN or in tests to shorten Timer B/F.
    pub timer_t1_ms: u64,
    /// Requests per second accepted from each address that is not a trunk's
    /// (scanners, unknown phones); more are dropped unanswered. Default 10.
    pub untrusted_rate: u32,
    /// Burst allowed from each such address. Default 20.
    pub untrusted_burst: u32,
    /// Seconds between OPTIONS pings to each trunk (keep-alive and
    /// reachability); 0 turns them off. Default 30.
    pub trunk_ping_secs: u64,
    /// RFC 4028 session interval we ask for, in seconds (90..=86400), so a
    /// call whose far end vanished without BYE ends; 0 asks for none (the
    /// peer's request is still honoured). Default 1800.
    pub session_expires_secs: u32,
    /// PEM certificate chain of our TLS listeners (required with a `tls:` listener).
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// PEM CA bundle: when set, TLS listeners require client certificates
    /// that chain to it (mutual TLS).
    pub tls_client_ca: Option<PathBuf>,
    /// DNS servers for locating trunks (RFC 3263); empty = the system's
    /// resolver configuration (`/etc/resolv.conf`).
    pub dns_servers: Vec<SocketAddr>,
}

/// `[database]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseConfig {
    /// `sqlite:…`, `postgres://…`, or `none` (storing off: an empty value is
    /// read as `none`); only the scheme is checked here.
    pub url: String,
    /// This gateway's name in the database: the owner of the calls it runs
    /// and the holder of its lease. Unique among instances sharing one
    /// database, stable across restarts (a restarted instance resumes the
    /// calls of its name). Default: the host name.
    pub instance: String,
    /// Lease length in seconds (2..=300): an instance that has not renewed
    /// its lease for this long is taken for dead and its calls are adopted.
    pub lease_secs: u64,
}

impl DatabaseConfig {
    /// Whether calls are stored (`url` is not `none`).
    pub fn enabled(&self) -> bool {
        self.url != "none"
    }
}

/// One `[[trunk]]`: a SIP peer numbers are sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkConfig {
    /// Unique name, referenced by `policy.default_trunk`.
    pub name: String,
    /// The URI as written, `sip:host[:port][;transport=udp|tcp|tls]` or `sips:host[:port]`.
    pub uri: String,
    /// Host from the URI, as written in a URI (IPv6 in brackets).
    pub host: String,
    /// Port from the URI, 5060 when absent (5061 for TLS); DNS (RFC 3263)
    /// may choose others when it was not written.
    pub port: u16,
    /// `;transport=`, UDP when absent; TLS for `sips:`.
    pub transport: ListenTransport,
    /// How to verify the trunk and present ourselves, for a TLS trunk only.
    pub tls: Option<TrunkTls>,
    /// Whether the URI wrote the port (RFC 3263: then A/AAAA only).
    pub port_explicit: bool,
    /// Whether the URI wrote `;transport=` (RFC 3263: then SRV for it only).
    pub transport_explicit: bool,
    /// `sips:` (TLS only; RFC 3263 looks for SIPS+D2T / `_sips._tcp`).
    pub sips: bool,
    /// Digest credentials for answering the trunk's 401/407 challenges.
    pub auth: Option<TrunkAuth>,
    /// Register with the trunk (REGISTER to its URI), refreshing before expiry.
    pub register: bool,
    /// Requested registration lifetime in seconds (default 3600).
    pub register_expires: u32,
    /// Calls from this trunk must carry its username/password as digest
    /// credentials (we challenge with 401), on top of the address check.
    pub inbound_auth: bool,
    /// Digest algorithms our challenges offer, preferred first (RFC 7616
    /// tokens). Default SHA-256 then MD5.
    pub inbound_auth_algorithms: Vec<crate::sip::digest::Algorithm>,
    /// Source addresses besides the trunk's own from which its calls may
    /// come (a carrier's media/signalling ranges, a PBX cluster).
    pub allow_from: Vec<IpRange>,
    /// User part of the From URI of INVITEs to this trunk (the account
    /// number some carriers require); `None` = the caller's identity.
    pub from_user: Option<String>,
    /// Host part of that From URI; `None` = the trunk's host when
    /// `from_user` or a DID caller ID applies, else the caller's JID domain.
    pub from_domain: Option<String>,
    /// Send the caller's own identity in `P-Asserted-Identity` (RFC 3325;
    /// only toward a trunk that is trusted to honour it). Default false.
    pub assert_identity: bool,
    /// A caller that a `[[number]]` maps to calls out with that DID as its
    /// caller ID (the From user). Default true.
    pub caller_id_from_did: bool,
    /// Encoding names the offer to this trunk keeps, in this order
    /// (telephone-event is always kept); empty = no filtering.
    pub codecs: Vec<String>,
    /// Send this trunk's out-of-dialog requests through a proxy: its
    /// located targets replace the trunk's, and requests carry a loose
    /// `Route` to it (RFC 3261 §8.1.2); the Request-URI stays the trunk's.
    pub outbound_proxy: Option<OutboundProxy>,
    /// How this trunk's calls carry media; `None` = `[media] mode`.
    pub media: Option<MediaMode>,
    /// What an anchor speaks toward this trunk: plain RTP or SDES-SRTP
    /// (ignored in passthrough, where the endpoints negotiate themselves).
    pub srtp: SipSrtp,
    /// The operator says this trunk does trickle ICE (RFC 8840 §4.1 lets a
    /// UA know it by configuration: a UAC otherwise learns it only from the
    /// first answer). Passthrough only. Default false.
    pub trickle_ice: bool,
    /// How XEP-0181 digits from XMPP reach this trunk (default auto).
    pub dtmf: DtmfMode,
}

/// A trunk's `outbound_proxy`, read once at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundProxy {
    /// The URI as written (without a `;lr` the operator may have added).
    pub uri: String,
    /// Host as written in a URI (IPv6 in brackets).
    pub host: String,
    /// The port, when written (RFC 3263: then A/AAAA only).
    pub port: Option<u16>,
    /// `;transport=`, when written.
    pub transport: Option<ListenTransport>,
    /// `sips:` (TLS only).
    pub sips: bool,
}

impl OutboundProxy {
    /// The `Route` header value of requests through the proxy (loose routing).
    pub fn route(&self) -> String {
        format!("<{};lr>", self.uri)
    }
}

/// The TLS side of a TLS trunk. The files were loaded once by validation, so
/// they are known to be usable PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkTls {
    /// PEM bundle of the CAs the trunk's certificate must chain to; `None` =
    /// the operating system's trust store.
    pub ca: Option<PathBuf>,
    /// Our certificate chain and key for mutual TLS, when the trunk asks.
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// The name the trunk's certificate is verified against and sent as SNI:
    /// `tls_server_name`, else the URI host. An IP address checks the IP SAN
    /// and sends no SNI.
    pub server_name: String,
}

/// Digest credentials of a trunk account.
#[derive(Clone, PartialEq, Eq)]
pub struct TrunkAuth {
    /// Authentication user name.
    pub username: String,
    /// Password (never logged: `Debug` hides it).
    pub password: String,
    /// Only answer challenges for this realm; any realm when absent.
    pub realm: Option<String>,
}

impl std::fmt::Debug for TrunkAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrunkAuth")
            .field("username", &self.username)
            .field("password", &"…")
            .field("realm", &self.realm)
            .finish()
    }
}

impl TrunkConfig {
    /// `host[:port]` as written, for Request-URIs: without a written port
    /// the DNS (SRV) decides it, and the URI must not pin 5060.
    pub fn hostport(&self) -> String {
        if self.port_explicit {
            format!("{}:{}", self.host, self.port)
        } else {
            self.host.clone()
        }
    }

    /// What RFC 3263 location starts from: the `outbound_proxy` when there
    /// is one (requests go there first), else the trunk URI.
    pub fn target_spec(&self) -> crate::sip::locate::TargetSpec {
        if let Some(p) = &self.outbound_proxy {
            return crate::sip::locate::TargetSpec {
                host: p.host.trim_matches(['[', ']']).to_string(),
                port: p.port,
                transport: p.transport.map(Into::into),
                sips: p.sips,
            };
        }
        crate::sip::locate::TargetSpec {
            host: self.host.trim_matches(['[', ']']).to_string(),
            port: self.port_explicit.then_some(self.port),
            transport: self.transport_explicit.then(|| self.transport.into()),
            sips: self.sips,
        }
    }
}

/// One `[[number]]`: an inbound DID and the XMPP user it rings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberConfig {
    /// Normalised by [`crate::address::normalize_number`]; unique, `+` ignored.
    pub did: String,
    /// Bare JID of the user to ring.
    pub jid: String,
}

/// `[policy]`: outbound authorisation. The default lets nobody call out, so
/// that a fresh gateway is not an open relay to paid trunks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PolicyConfig {
    /// Domains (any user there) and bare JIDs allowed to dial out.
    pub allow_outbound: Vec<String>,
    /// Whether allowed users may also dial `user\40host` SIP addresses directly.
    pub allow_sip_uris: bool,
    /// Trunk for numbers; `None` only when no trunk is configured.
    pub default_trunk: Option<String>,
}

/// `[calls]`: call timers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallsConfig {
    /// Unanswered calls end after this many seconds (480 / `<timeout/>`).
    pub ring_timeout_secs: u64,
    /// Longest wait, in milliseconds, for Jingle end-of-candidates before the
    /// INVITE goes out with the candidates gathered so far.
    pub trickle_deadline_ms: u64,
}

impl CallsConfig {
    /// [`Self::ring_timeout_secs`] as a `Duration`.
    pub fn ring_timeout(&self) -> Duration {
        Duration::from_secs(self.ring_timeout_secs)
    }

    /// [`Self::trickle_deadline_ms`] as a `Duration`.
    pub fn trickle_deadline(&self) -> Duration {
        Duration::from_millis(self.trickle_deadline_ms)
    }
}

/// The default `database.instance`: the host name, from `HOSTNAME` in `env`,
/// else `/etc/hostname`, else `stox`; cut to the characters and length an
/// instance name may have.
fn default_instance(env: &[(String, String)]) -> String {
    let from_env = env
        .iter()
        .find(|(k, _)| k == "HOSTNAME")
        .map(|(_, v)| v.clone());
    let name = from_env
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .unwrap_or_default();
    let name: String = name
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(64)
        .collect();
    if name.is_empty() { "stox".into() } else { name }
}

/// `[media]`: the media anchor of calls that do not pass media through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaConfig {
    /// How calls carry media unless their trunk says otherwise. Default
    /// embedded: WebRTC clients (ICE + DTLS-SRTP) and SIP phones (plain
    /// RTP) cannot talk to each other directly.
    pub mode: MediaMode,
    /// The address the anchor's sockets bind. Default 0.0.0.0.
    pub bind: IpAddr,
    /// The address written into SDP and Jingle for the anchor's sockets (a
    /// 1:1 NAT's public address). Default: `bind`, or when that is
    /// unspecified the IP of `[sip] public_address`, else 127.0.0.1.
    pub public_ip: IpAddr,
    /// Inclusive UDP port range the embedded anchor allocates from.
    pub port_range: (u16, u16),
    /// rtpengine's ng control socket; set whenever a mode is rtpengine.
    pub rtpengine: Option<SocketAddr>,
    /// A call whose leg receives no media for this long is ended; 0 = never.
    pub inactivity_secs: u64,
}

impl MediaConfig {
    /// The media mode of calls through `trunk` (its `media`, else `mode`).
    pub fn mode_for(&self, trunk: Option<&TrunkConfig>) -> MediaMode {
        trunk.and_then(|t| t.media).unwrap_or(self.mode)
    }
}

/// `[metrics]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetricsConfig {
    /// Where to serve Prometheus metrics; `None` = off.
    pub listen: Option<SocketAddr>,
}

impl Config {
    /// Reads a configuration from TOML `text`, with the `STOX_*` variables of
    /// `env` laid over it (pass `std::env::vars()` collected, or a fixed list in
    /// tests), and validates it.
    pub fn from_toml_str(text: &str, env: &[(String, String)]) -> Result<Config, ConfigError> {
        // Read the file alone first: its mistakes get a line and column.
        let from_file: raw::RawConfig =
            toml::from_str(text).map_err(|e| ConfigError::from_toml(&e, text))?;
        let mut table: toml::Table = text.parse().map_err(|e| ConfigError::from_toml(&e, text))?;
        let provenance = env::apply(&mut table, env)?;
        let raw = if provenance.is_empty() {
            from_file
        } else {
            // Environment values were converted to the key's type, so this
            // only fails on a shape the file already had.
            table.try_into().map_err(|e| ConfigError::Syntax {
                line: None,
                column: None,
                message: e.message().to_owned(),
            })?
        };
        validate::validate(raw, &provenance, &default_instance(env))
    }

    /// Reads and validates the file at `path`, with the process environment laid over it.
    pub fn load_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let env: Vec<(String, String)> = std::env::vars().collect();
        Config::from_toml_str(&text, &env)
    }

    /// Valid but probably unintended settings, one sentence each, naming the key.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let binds_any = self.sip.listen.iter().any(|l| l.addr.ip().is_unspecified());
        let loopback = self.sip.public_address.starts_with("127.")
            || self.sip.public_address.starts_with("[::1]")
            || self.sip.public_address.starts_with("localhost");
        if binds_any && loopback {
            out.push(format!(
                "sip.public_address: {} is a loopback address; SIP peers on other hosts cannot reach it",
                self.sip.public_address
            ));
        }
        let tls_listener = self
            .sip
            .listen
            .iter()
            .any(|l| l.transport == ListenTransport::Tls);
        if !tls_listener && self.sip.tls_cert.is_some() {
            out.push("sip.tls_cert: set, but sip.listen has no tls: listener to use it".into());
        }
        if !tls_listener && self.sip.tls_client_ca.is_some() {
            out.push(
                "sip.tls_client_ca: set, but sip.listen has no tls: listener to use it".into(),
            );
        }
        if self.policy.allow_outbound.is_empty() {
            out.push("policy.allow_outbound: empty, so no XMPP user may place calls".into());
        }
        if self.trunks.is_empty() {
            out.push("trunk: none configured, so numbers cannot be dialled".into());
        }
        out.extend(media::warnings(self));
        out
    }
}
