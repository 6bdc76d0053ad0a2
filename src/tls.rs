//! TLS material for SIP over TLS (RFC 3261 §26, `sips:`): PEM files turned
//! into rustls configurations, once, for both the configuration check and the
//! socket adapter, so that `stox check-config` fails on exactly what `stox run`
//! would.
//!
//! Certificates are always verified: there is no switch to turn that off. A
//! trunk trusts its `tls_ca` bundle when one is configured, else the operating
//! system's store (`rustls-native-certs`; see `Cargo.toml` for why not
//! webpki-roots).
//!
//! Every builder is handed the ring [`CryptoProvider`] explicitly rather than
//! relying on a process-wide default installed at start: the effect is the
//! same single provider, but no code path (a test, `check-config`, a library
//! user) can reach a builder before the install and panic.

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use std::fmt;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// The one crypto provider stox uses (ring; `Cargo.toml` says why).
pub fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// Which configured file a problem is in, so that configuration errors can
/// name the key that points at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsFile {
    /// Our certificate chain (`tls_cert`, `tls_client_cert`).
    Cert,
    /// Our private key (`tls_key`, `tls_client_key`).
    Key,
    /// The trust anchors (`tls_ca`, `tls_client_ca`).
    Ca,
    /// Not a file: the name to verify (`tls_server_name`).
    ServerName,
}

/// A TLS file that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsError {
    /// The file at fault.
    pub file: TlsFile,
    /// What is wrong, naming the path.
    pub problem: String,
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.problem)
    }
}

impl std::error::Error for TlsError {}

fn err(file: TlsFile, path: &Path, problem: impl fmt::Display) -> TlsError {
    TlsError {
        file,
        problem: format!("{}: {problem}", path.display()),
    }
}

/// Every certificate of a PEM file, in order (leaf first for a chain).
pub fn load_certs(path: &Path, file: TlsFile) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(file, path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(file, path, e))?;
    if certs.is_empty() {
        return Err(err(
            file,
            path,
            "no PEM certificate (BEGIN CERTIFICATE) in it",
        ));
    }
    Ok(certs)
}

/// The first private key of a PEM file (PKCS#8, PKCS#1 RSA or SEC1 EC).
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| err(TlsFile::Key, path, e))
}

/// Trust anchors from a PEM bundle.
fn roots_from(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut store = RootCertStore::empty();
    for cert in load_certs(path, TlsFile::Ca)? {
        store.add(cert).map_err(|e| err(TlsFile::Ca, path, e))?;
    }
    Ok(store)
}

/// The operating system's trust anchors, read once. Unreadable entries are
/// logged and skipped; an empty store only means that trunks without
/// `tls_ca` will fail verification (and say so), never that they are trusted.
fn system_roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let found = rustls_native_certs::load_native_certs();
            for e in &found.errors {
                tracing::warn!(error = %e, "cannot read a system trust anchor");
            }
            let mut store = RootCertStore::empty();
            let (added, ignored) = store.add_parsable_certificates(found.certs);
            if ignored > 0 {
                tracing::debug!(ignored, "system trust anchors rustls cannot use");
            }
            if added == 0 {
                tracing::warn!(
                    "no system trust anchors; TLS peers without tls_ca cannot be verified"
                );
            }
            Arc::new(store)
        })
        .clone()
}

/// The rustls client configuration for outgoing connections: trust `ca` (else
/// the system roots), and present `identity` (certificate chain, key) when the
/// peer asks for one (mutual TLS).
pub fn client_config(
    ca: Option<&Path>,
    identity: Option<(&Path, &Path)>,
) -> Result<Arc<ClientConfig>, TlsError> {
    let roots = match ca {
        Some(path) => Arc::new(roots_from(path)?),
        None => system_roots(),
    };
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots);
    let config = match identity {
        None => builder.with_no_client_auth(),
        Some((cert_path, key_path)) => {
            let certs = load_certs(cert_path, TlsFile::Cert)?;
            let key = load_key(key_path)?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| key_problem(key_path, cert_path, e))?
        }
    };
    Ok(Arc::new(config))
}

/// The rustls server configuration of our TLS listener: present `cert`/`key`;
/// with `client_ca`, require every client to present a certificate that
/// chains to it (mutual TLS).
pub fn server_config(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = load_certs(cert, TlsFile::Cert)?;
    let private = load_key(key)?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions");
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let verifier = WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots_from(path)?),
                provider(),
            )
            .build()
            .map_err(|e| err(TlsFile::Ca, path, e))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder
        .with_single_cert(certs, private)
        .map_err(|e| key_problem(key, cert, e))?;
    Ok(Arc::new(config))
}

/// A key rustls refused next to its certificate: usually one that does not
/// belong to it.
fn key_problem(key: &Path, cert: &Path, e: rustls::Error) -> TlsError {
    let problem = match e {
        rustls::Error::InconsistentKeys(_) => {
            format!("is not the key of the certificate in {}", cert.display())
        }
        other => other.to_string(),
    };
    err(TlsFile::Key, key, problem)
}

/// The name a server certificate is verified against (and sent as SNI): a DNS
/// name, or an IP address (brackets allowed), for which the certificate's IP
/// SAN is checked and, as RFC 6066 §3 requires, no SNI is sent.
pub fn server_name(name: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(name.trim_matches(['[', ']']).to_string())
        .map_err(|_| format!("{name:?} is neither a DNS name nor an IP address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names_are_dns_names_or_ips() {
        assert!(matches!(
            server_name("pbx.test"),
            Ok(ServerName::DnsName(_))
        ));
        assert!(matches!(
            server_name("127.0.0.1"),
            Ok(ServerName::IpAddress(_))
        ));
        assert!(matches!(server_name("[::1]"), Ok(ServerName::IpAddress(_))));
        assert!(server_name("not a name").is_err());
    }

    #[test]
    fn missing_files_name_the_path() {
        let e = load_certs(Path::new("/nonexistent/ca.pem"), TlsFile::Ca).unwrap_err();
        assert_eq!(e.file, TlsFile::Ca);
        assert!(e.problem.starts_with("/nonexistent/ca.pem: "), "{e}");
    }
}
