//! SIP over TLS through the real socket adapter (`runtime::sip_transport`) on
//! loopback, with a throw-away PKI made by rcgen: a message crosses TLS both
//! ways; a server certificate from an unknown CA or for another name is
//! refused (and the core hears `SipUnreachable`, so a call would fail with
//! 503); a listener with `tls_client_ca` refuses a client without a
//! certificate and accepts one with a valid certificate.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use stox::call::Input;
use stox::config::{Config, Listen, ListenTransport};
use stox::runtime::sip_tls::{SipTls, TlsClient};
use stox::runtime::sip_transport::{self, SipSender};
use stox::sip::peer::{Peer, Transport};
use tokio::sync::mpsc;

/// A fresh directory for one test's certificates.
fn scratch() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "stox-sip-tls-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A test CA: its issuer and the path of its PEM certificate.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
    pem: PathBuf,
}

fn make_ca(dir: &Path, name: &str) -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let pem = dir.join(format!("{name}.pem"));
    std::fs::write(&pem, issuer.pem()).unwrap();
    Ca { issuer, pem }
}

/// A leaf certificate for `sans` signed by `ca`, written as NAME.pem and
/// NAME.key; returns (cert, key) paths.
fn leaf(dir: &Path, ca: &Ca, name: &str, sans: &[&str], client: bool) -> (PathBuf, PathBuf) {
    let key = KeyPair::generate().unwrap();
    let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
    let mut params = CertificateParams::new(sans).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages = vec![if client {
        ExtendedKeyUsagePurpose::ClientAuth
    } else {
        ExtendedKeyUsagePurpose::ServerAuth
    }];
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    let (c, k) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&c, cert.pem()).unwrap();
    std::fs::write(&k, key.serialize_pem()).unwrap();
    (c, k)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A TLS listener on a free loopback port with `cert`/`key`, requiring client
/// certificates from `client_ca` when given.
async fn listener(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> (SipSender, mpsc::Receiver<Input>, SocketAddr) {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let tls = SipTls {
        server: Some(stox::tls::server_config(cert, key, client_ca).unwrap()),
        ..SipTls::default()
    };
    let listen = [Listen {
        transport: ListenTransport::Tls,
        addr,
    }];
    let (tx, rx) = mpsc::channel(16);
    let sender = sip_transport::start(&listen, tls, tx).await.unwrap();
    (sender, rx, addr)
}

/// An adapter with no listener that reaches `server` with `client`.
async fn client(server: SocketAddr, client: TlsClient) -> (SipSender, mpsc::Receiver<Input>) {
    let tls = SipTls {
        clients: std::sync::Arc::new(std::sync::RwLock::new(HashMap::from([(server, client)]))),
        ..SipTls::default()
    };
    let (tx, rx) = mpsc::channel(16);
    (sip_transport::start(&[], tls, tx).await.unwrap(), rx)
}

fn tls_client(ca: &Path, name: &str, identity: Option<(&Path, &Path)>) -> TlsClient {
    TlsClient {
        config: stox::tls::client_config(Some(ca), identity).unwrap(),
        server_name: stox::tls::server_name(name).unwrap(),
    }
}

fn tls_peer(addr: SocketAddr) -> Peer {
    Peer {
        transport: Transport::Tls,
        addr,
    }
}

const OPTIONS: &str = "OPTIONS sip:pbx.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bKtls1\r\nMax-Forwards: 70\r\nFrom: <sip:stox@127.0.0.1>;tag=a\r\nTo: <sip:pbx.test>\r\nCall-ID: tls-test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
const OK: &str = "SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bKtls1\r\nFrom: <sip:stox@127.0.0.1>;tag=a\r\nTo: <sip:pbx.test>;tag=b\r\nCall-ID: tls-test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";

async fn next(rx: &mut mpsc::Receiver<Input>, wait: Duration) -> Option<Input> {
    tokio::time::timeout(wait, rx.recv()).await.ok().flatten()
}

#[tokio::test]
async fn a_message_crosses_tls_both_ways_to_a_sips_trunk_from_the_config() {
    let dir = scratch();
    let ca = make_ca(&dir, "ca");
    let (cert, key) = leaf(&dir, &ca, "server", &["pbx.test", "127.0.0.1"], false);
    let (server, mut server_rx, addr) = listener(&cert, &key, None).await;

    // The trunk as an operator writes it: an IP-literal sips: URI and a CA.
    // The server name defaults to the host, so the IP SAN is what is checked.
    let toml = format!(
        "[xmpp]\ndomain = \"gw.test\"\nsecret = \"s\"\n[[trunk]]\nname = \"pbx\"\nuri = \"sips:{addr}\"\ntls_ca = {:?}\n",
        ca.pem.display().to_string()
    );
    let config = Config::from_toml_str(&toml, &[]).unwrap();
    let trunk_peers = HashMap::from([("pbx".to_string(), vec![tls_peer(addr)])]);
    let tls = SipTls::from_config(&config, &trunk_peers).unwrap();
    assert!(tls.server.is_none(), "no tls: listener configured");
    let (tx, mut client_rx) = mpsc::channel(16);
    let client = sip_transport::start(&[], tls, tx).await.unwrap();

    client.send(tls_peer(addr), OPTIONS.as_bytes().to_vec());
    let Some(Input::Sip { from, bytes }) = next(&mut server_rx, Duration::from_secs(5)).await
    else {
        panic!("the listener got nothing");
    };
    assert_eq!(from.transport, Transport::Tls);
    assert_eq!(bytes, OPTIONS.as_bytes());

    // The response goes back over the same connection.
    server.send(from, OK.as_bytes().to_vec());
    match next(&mut client_rx, Duration::from_secs(5)).await {
        Some(Input::Sip { from, bytes }) => {
            assert_eq!(from, tls_peer(addr));
            assert_eq!(bytes, OK.as_bytes());
        }
        other => panic!("expected the 200 over TLS, got {other:?}"),
    }
}

#[tokio::test]
async fn a_server_certificate_from_another_ca_is_refused() {
    let dir = scratch();
    let trusted = make_ca(&dir, "trusted");
    let rogue = make_ca(&dir, "rogue");
    let (cert, key) = leaf(&dir, &rogue, "server", &["pbx.test"], false);
    let (_server, mut server_rx, addr) = listener(&cert, &key, None).await;
    let (client, mut client_rx) = client(addr, tls_client(&trusted.pem, "pbx.test", None)).await;

    client.send(tls_peer(addr), OPTIONS.as_bytes().to_vec());
    match next(&mut client_rx, Duration::from_secs(5)).await {
        Some(Input::SipUnreachable { peer }) => assert_eq!(peer, tls_peer(addr)),
        other => panic!("expected SipUnreachable, got {other:?}"),
    }
    assert!(
        next(&mut server_rx, Duration::from_millis(300))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn a_server_certificate_for_another_name_is_refused() {
    let dir = scratch();
    let ca = make_ca(&dir, "ca");
    let (cert, key) = leaf(&dir, &ca, "server", &["pbx.test"], false);
    let (_server, mut server_rx, addr) = listener(&cert, &key, None).await;

    // The right CA but the wrong name; and an IP the certificate does not list.
    for name in ["other.test", "127.0.0.1"] {
        let (client, mut client_rx) = client(addr, tls_client(&ca.pem, name, None)).await;
        client.send(tls_peer(addr), OPTIONS.as_bytes().to_vec());
        match next(&mut client_rx, Duration::from_secs(5)).await {
            Some(Input::SipUnreachable { peer }) => assert_eq!(peer, tls_peer(addr)),
            other => panic!("{name}: expected SipUnreachable, got {other:?}"),
        }
    }
    assert!(
        next(&mut server_rx, Duration::from_millis(300))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn a_listener_with_tls_client_ca_requires_a_valid_client_certificate() {
    let dir = scratch();
    let ca = make_ca(&dir, "ca");
    let (cert, key) = leaf(&dir, &ca, "server", &["gw.test"], false);
    let (client_cert, client_key) = leaf(&dir, &ca, "client", &["pbx.test"], true);
    let rogue = make_ca(&dir, "rogue");
    let (rogue_cert, rogue_key) = leaf(&dir, &rogue, "rogue-client", &["pbx.test"], true);
    let (_server, mut server_rx, addr) = listener(&cert, &key, Some(&ca.pem)).await;

    // No certificate, then one from a CA the listener does not trust: with
    // TLS 1.3 the client may believe the handshake done, but the listener
    // refuses it and no message reaches the core.
    for identity in [None, Some((rogue_cert.as_path(), rogue_key.as_path()))] {
        let (c, _rx) = client(addr, tls_client(&ca.pem, "gw.test", identity)).await;
        c.send(tls_peer(addr), OPTIONS.as_bytes().to_vec());
        let got = next(&mut server_rx, Duration::from_secs(1)).await;
        assert!(got.is_none(), "accepted {identity:?}: {got:?}");
    }

    let identity = Some((client_cert.as_path(), client_key.as_path()));
    let (c, _rx) = client(addr, tls_client(&ca.pem, "gw.test", identity)).await;
    c.send(tls_peer(addr), OPTIONS.as_bytes().to_vec());
    match next(&mut server_rx, Duration::from_secs(5)).await {
        Some(Input::Sip { from, bytes }) => {
            assert_eq!(from.transport, Transport::Tls);
            assert_eq!(bytes, OPTIONS.as_bytes());
        }
        other => panic!("a valid client certificate was refused: {other:?}"),
    }
}

#[tokio::test]
async fn a_trunk_relocated_to_a_new_address_is_verified_with_its_own_ca() {
    let dir = scratch();
    let ca = make_ca(&dir, "ca");
    let (cert, key) = leaf(&dir, &ca, "server", &["pbx.test"], false);
    let (server, mut server_rx, addr) = listener(&cert, &key, None).await;
    // The trunk is located nowhere at start (DNS had nothing yet): the new
    // address is unknown, and the system roots cannot verify our test CA.
    let toml = format!(
        "[xmpp]\ndomain = \"gw.test\"\nsecret = \"s\"\n[[trunk]]\nname = \"pbx\"\nuri = \"sips:pbx.test\"\ntls_ca = {:?}\n",
        ca.pem.display().to_string()
    );
    let config = Config::from_toml_str(&toml, &[]).unwrap();
    let tls = SipTls::from_config(&config, &HashMap::new()).unwrap();
    let locator_side = tls.clone();
    let (tx, mut client_rx) = mpsc::channel(16);
    let client = sip_transport::start(&[], tls, tx).await.unwrap();
    client.send(tls_peer(addr), OPTIONS.as_bytes().to_vec());
    match next(&mut client_rx, Duration::from_secs(5)).await {
        Some(Input::SipUnreachable { peer }) => assert_eq!(peer, tls_peer(addr)),
        other => panic!("an unknown address must not pass verification: {other:?}"),
    }
    // DNS now locates pbx.test there: the trunk's CA and name apply.
    locator_side.learn_targets("pbx", &[tls_peer(addr)]);
    client.send(tls_peer(addr), OPTIONS.as_bytes().to_vec());
    let Some(Input::Sip { from, .. }) = next(&mut server_rx, Duration::from_secs(5)).await else {
        panic!("the listener got nothing after re-location");
    };
    server.send(from, OK.as_bytes().to_vec());
    assert!(matches!(
        next(&mut client_rx, Duration::from_secs(5)).await,
        Some(Input::Sip { .. })
    ));
}
