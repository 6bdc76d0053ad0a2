//! The TLS side of the SIP socket adapter: which client configuration and
//! server name an outgoing connection to an address uses, and our listener's
//! acceptor.
//!
//! `Peer` is a small `Copy` value (transport + address) that the core stores
//! in calls, so the per-trunk TLS settings (CA, client certificate, the name
//! to verify) live here instead, keyed by the trunk's located addresses:
//! filled at start, and again whenever DNS moves a trunk (RFC 3263
//! re-location), so a new SRV target is verified the trunk's way too.

use crate::config::{Config, ListenTransport, TrunkTls};
use crate::sip::peer::Peer;
use crate::tls::{self, TlsError};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ServerConfig};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

/// How to open a TLS connection to one destination.
#[derive(Clone, Debug)]
pub struct TlsClient {
    /// Trust anchors and, for mutual TLS, our client certificate.
    pub config: Arc<ClientConfig>,
    /// The name the server certificate is verified against (and SNI).
    pub server_name: ServerName<'static>,
}

impl TlsClient {
    /// The client for a configured TLS trunk.
    pub fn for_trunk(trunk: &TrunkTls) -> Result<TlsClient, TlsError> {
        let identity = trunk
            .client_cert
            .as_ref()
            .map(|(c, k)| (c.as_path(), k.as_path()));
        Ok(TlsClient {
            config: tls::client_config(trunk.ca.as_deref(), identity)?,
            server_name: tls::server_name(&trunk.server_name).map_err(|problem| TlsError {
                file: tls::TlsFile::ServerName,
                problem,
            })?,
        })
    }
}

/// Everything TLS the adapter needs.
#[derive(Clone, Default)]
pub struct SipTls {
    /// Our listener's configuration; `None` when there is no `tls:` listener.
    pub server: Option<Arc<ServerConfig>>,
    /// Per-destination clients (the TLS trunks' located addresses); shared
    /// by every clone, so the locator can add addresses the sender then uses.
    pub clients: Arc<RwLock<HashMap<SocketAddr, TlsClient>>>,
    /// Each TLS trunk's client, by trunk name.
    pub by_trunk: HashMap<String, TlsClient>,
    /// For any other destination (a Record-Route or Contact naming an
    /// address that is no trunk's): the system roots, verifying the IP.
    /// `None` = such destinations are unreachable over TLS.
    pub fallback: Option<Arc<ClientConfig>>,
}

impl SipTls {
    /// The client for `peer`: the trunk's at that address, else the fallback
    /// verifying the address itself.
    pub fn client_for(&self, peer: Peer) -> Option<TlsClient> {
        if let Some(c) = self.clients.read().expect("poisoned").get(&peer.addr) {
            return Some(c.clone());
        }
        Some(TlsClient {
            config: self.fallback.clone()?,
            server_name: ServerName::IpAddress(peer.addr.ip().into()),
        })
    }

    /// Builds the listener and trunk clients from the validated `config`;
    /// `trunk_peers` maps trunk names to their located targets.
    pub fn from_config(
        config: &Config,
        trunk_peers: &HashMap<String, Vec<Peer>>,
    ) -> Result<SipTls, TlsError> {
        let listens = config
            .sip
            .listen
            .iter()
            .any(|l| l.transport == ListenTransport::Tls);
        let server = match (&config.sip.tls_cert, &config.sip.tls_key) {
            (Some(cert), Some(key)) if listens => Some(tls::server_config(
                cert,
                key,
                config.sip.tls_client_ca.as_deref(),
            )?),
            _ => None,
        };
        let mut by_trunk = HashMap::new();
        for trunk in &config.trunks {
            if let Some(t) = &trunk.tls {
                by_trunk.insert(trunk.name.clone(), TlsClient::for_trunk(t)?);
            }
        }
        let tls = SipTls {
            server,
            clients: Arc::default(),
            by_trunk,
            fallback: Some(tls::client_config(None, None)?),
        };
        for (trunk, targets) in trunk_peers {
            tls.learn_targets(trunk, targets);
        }
        Ok(tls)
    }

    /// Every located target of a TLS trunk is verified the trunk's way.
    pub fn learn_targets(&self, trunk: &str, targets: &[Peer]) {
        if let Some(client) = self.by_trunk.get(trunk) {
            let mut clients = self.clients.write().expect("poisoned");
            for peer in targets {
                clients.insert(peer.addr, client.clone());
            }
        }
    }
}
