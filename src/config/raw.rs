//! The file's shape as serde reads it. Every value is optional here, so that a
//! value may come from the environment instead (secrets often do); defaults and
//! "required" are decided in `validate`, in one place, with the key's name.

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    #[serde(default)]
    pub xmpp: RawXmpp,
    #[serde(default)]
    pub sip: RawSip,
    #[serde(default)]
    pub database: RawDatabase,
    #[serde(default, rename = "trunk")]
    pub trunks: Vec<RawTrunk>,
    #[serde(default, rename = "number")]
    pub numbers: Vec<RawNumber>,
    #[serde(default)]
    pub policy: RawPolicy,
    #[serde(default)]
    pub calls: RawCalls,
    #[serde(default)]
    pub metrics: RawMetrics,
    #[serde(default)]
    pub media: RawMedia,
}

/// `[xmpp]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawXmpp {
    pub domain: Option<String>,
    pub server: Option<String>,
    pub secret: Option<String>,
    pub reconnect_max_secs: Option<u64>,
}

/// `[sip]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSip {
    pub listen: Option<Vec<String>>,
    pub public_address: Option<String>,
    pub user_agent: Option<String>,
    pub timer_t1_ms: Option<u64>,
    pub untrusted_rate: Option<u32>,
    pub untrusted_burst: Option<u32>,
    pub trunk_ping_secs: Option<u64>,
    pub session_expires_secs: Option<u32>,
    pub tls_cert: Option<String>,
    pub tls_key: Option<String>,
    pub tls_client_ca: Option<String>,
    pub dns_servers: Option<Vec<String>>,
}

/// `[database]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDatabase {
    pub url: Option<String>,
    pub instance: Option<String>,
    pub lease_secs: Option<u64>,
}

/// One `[[trunk]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTrunk {
    pub name: Option<String>,
    pub uri: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub realm: Option<String>,
    pub register: Option<bool>,
    pub register_expires: Option<u32>,
    pub inbound_auth: Option<bool>,
    pub inbound_auth_algorithms: Option<Vec<String>>,
    pub allow_from: Option<Vec<String>>,
    pub tls_ca: Option<String>,
    pub tls_client_cert: Option<String>,
    pub tls_client_key: Option<String>,
    pub tls_server_name: Option<String>,
    pub from_user: Option<String>,
    pub from_domain: Option<String>,
    pub assert_identity: Option<bool>,
    pub caller_id_from_did: Option<bool>,
    pub codecs: Option<Vec<String>>,
    pub outbound_proxy: Option<String>,
    pub media: Option<String>,
    pub srtp: Option<String>,
    pub trickle_ice: Option<bool>,
    pub dtmf: Option<String>,
}

/// One `[[number]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNumber {
    pub did: Option<String>,
    pub jid: Option<String>,
}

/// `[policy]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPolicy {
    pub allow_outbound: Option<Vec<String>>,
    pub allow_sip_uris: Option<bool>,
    pub default_trunk: Option<String>,
}

/// `[calls]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCalls {
    pub ring_timeout_secs: Option<u64>,
    pub trickle_deadline_ms: Option<u64>,
}

/// `[metrics]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMetrics {
    pub listen: Option<String>,
}

/// `[media]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMedia {
    pub mode: Option<String>,
    pub bind: Option<String>,
    pub public_ip: Option<String>,
    pub port_range: Option<String>,
    pub rtpengine: Option<String>,
    pub inactivity_secs: Option<u64>,
}
