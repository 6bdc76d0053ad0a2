//! The TLS side of the SIP socket adapter: which client configuration and
//! server name an outgoing connection to an address uses, and our listener's
//! acceptor.
//!
//! `Peer` is a small `Copy` value (transport + address) that the core stores
//! in calls, so the per-trunk TLS settings (CA, client certificate, the name
//! to verify) live here instead, keyed by the trunk's resolved address and
//! filled from the configuration at start.

use crate::config::{Config, ListenTransport, TrunkTls};
use crate::sip::peer::Peer;
use crate::tls::{self, TlsError};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ServerConfig};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

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
    /// Per-destination clients (the TLS trunks).
    pub clients: HashMap<SocketAddr, TlsClient>,
    /// For any other destination (a Record-Route or Contact naming an
    /// address that is no trunk's): the system roots, verifying the IP.
    /// `None` = such destinations are unreachable over TLS.
    pub fallback: Option<Arc<ClientConfig>>,
}

impl SipTls {
    /// The client for `peer`: the trunk's at that address, else the fallback
    /// verifying the address itself.
    pub fn client_for(&self, peer: Peer) -> Option<TlsClient> {
        if let Some(c) = self.clients.get(&peer.addr) {
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
        let mut clients = HashMap::new();
        for trunk in &config.trunks {
            let Some(t) = &trunk.tls else {
                continue;
            };
            // Every located target of the trunk is verified the trunk's way.
            for peer in trunk_peers.get(&trunk.name).into_iter().flatten() {
                clients.insert(peer.addr, TlsClient::for_trunk(t)?);
            }
        }
        Ok(SipTls {
            server,
            clients,
            fallback: Some(tls::client_config(None, None)?),
        })
    }
}
