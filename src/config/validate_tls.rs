//! The TLS keys: `[sip] tls_cert`/`tls_key`/`tls_client_ca` and a trunk's
//! `tls_ca`/`tls_client_cert`/`tls_client_key`/`tls_server_name`.
//!
//! The files are loaded here with the same code the runtime uses
//! ([`crate::tls`]), so an unreadable file, a key that is not the
//! certificate's, or a bundle with no certificate fails `check-config` under
//! the key that names it rather than the first TLS handshake.

use super::trunk::TrunkTarget;
use super::validate::Check;
use super::{ConfigError, Listen, ListenTransport, TrunkTls};
#[cfg(feature = "gateway")]
use crate::tls::{self, TlsError, TlsFile};
use std::path::PathBuf;

/// The listener's files, checked.
pub(super) struct ListenerTls {
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub client_ca: Option<PathBuf>,
}

/// A `[[trunk]]`'s TLS keys as written.
pub(super) struct RawTrunkTls {
    pub ca: Option<String>,
    pub client_cert: Option<String>,
    pub client_key: Option<String>,
    pub server_name: Option<String>,
}

fn path(c: &Check, key: &str, value: Option<String>) -> Result<Option<PathBuf>, ConfigError> {
    match value {
        Some(v) if v.trim().is_empty() => Err(c.err(key, "must not be empty")),
        v => Ok(v.map(PathBuf::from)),
    }
}

/// The TLS listener's certificate: required with a `tls:` listener and loaded
/// to prove it usable. Without a TLS listener the keys are kept (and
/// `Config::warnings` says they do nothing).
pub(super) fn listener(
    c: &Check,
    listen: &[Listen],
    cert: Option<String>,
    key: Option<String>,
    client_ca: Option<String>,
) -> Result<ListenerTls, ConfigError> {
    let cert = path(c, "sip.tls_cert", cert)?;
    let key = path(c, "sip.tls_key", key)?;
    let client_ca = path(c, "sip.tls_client_ca", client_ca)?;
    let has_tls = listen.iter().any(|l| l.transport == ListenTransport::Tls);
    match (&cert, &key) {
        // Without the `gateway` feature (the sans-IO core, e.g. fuzz/) there is
        // no TLS stack to load the files with; the keys are checked, not the files.
        #[cfg(feature = "gateway")]
        (Some(cert), Some(key)) => {
            tls::server_config(cert, key, client_ca.as_deref()).map_err(|e| {
                let name = match e.file {
                    TlsFile::Cert => "sip.tls_cert",
                    TlsFile::Key => "sip.tls_key",
                    TlsFile::Ca | TlsFile::ServerName => "sip.tls_client_ca",
                };
                c.err(name, e.problem)
            })?;
        }
        #[cfg(not(feature = "gateway"))]
        (Some(_), Some(_)) => {}
        (None, _) if has_tls => {
            return Err(c.err("sip.tls_cert", "is required with a tls: listener"));
        }
        (Some(_), None) => {
            return Err(c.err("sip.tls_key", "is required with sip.tls_cert"));
        }
        (None, Some(_)) => return Err(c.err("sip.tls_cert", "is required with sip.tls_key")),
        (None, None) => {}
    }
    Ok(ListenerTls {
        cert,
        key,
        client_ca,
    })
}

/// A trunk's TLS settings: only on a TLS trunk (a CA on a UDP trunk would
/// suggest a protection that is not there), with the files loaded and the
/// server name checked.
pub(super) fn trunk(
    c: &Check,
    i: usize,
    target: &TrunkTarget,
    raw: RawTrunkTls,
) -> Result<Option<TrunkTls>, ConfigError> {
    let key = |k: &str| format!("trunk[{i}].{k}");
    let ca = path(c, &key("tls_ca"), raw.ca)?;
    let cert = path(c, &key("tls_client_cert"), raw.client_cert)?;
    let client_key = path(c, &key("tls_client_key"), raw.client_key)?;
    if target.default_transport() != ListenTransport::Tls {
        let set = [
            ("tls_ca", ca.is_some()),
            ("tls_client_cert", cert.is_some()),
            ("tls_client_key", client_key.is_some()),
            ("tls_server_name", raw.server_name.is_some()),
        ];
        if let Some((name, _)) = set.iter().find(|(_, set)| *set) {
            return Err(c.err(
                &key(name),
                "is for a TLS trunk only (uri = \"sips:…\" or \";transport=tls\")",
            ));
        }
        return Ok(None);
    }
    let client_cert = match (cert, client_key) {
        (Some(cert), Some(k)) => Some((cert, k)),
        (None, None) => None,
        (Some(_), None) => {
            return Err(c.err(&key("tls_client_key"), "is required with tls_client_cert"));
        }
        (None, Some(_)) => {
            return Err(c.err(&key("tls_client_cert"), "is required with tls_client_key"));
        }
    };
    let server_name = raw
        .server_name
        .unwrap_or_else(|| target.host.trim_matches(['[', ']']).to_string());
    // Without the `gateway` feature: no TLS stack to load the files with (see `listener`).
    #[cfg(feature = "gateway")]
    tls::server_name(&server_name).map_err(|p| c.err(&key("tls_server_name"), p))?;
    #[cfg(feature = "gateway")]
    let identity = client_cert
        .as_ref()
        .map(|(cert, k)| (cert.as_path(), k.as_path()));
    #[cfg(feature = "gateway")]
    tls::client_config(ca.as_deref(), identity).map_err(|e: TlsError| {
        let name = match e.file {
            TlsFile::Cert => "tls_client_cert",
            TlsFile::Key => "tls_client_key",
            TlsFile::Ca => "tls_ca",
            TlsFile::ServerName => "tls_server_name",
        };
        c.err(&key(name), e.problem)
    })?;
    Ok(Some(TrunkTls {
        ca,
        client_cert,
        server_name,
    }))
}
