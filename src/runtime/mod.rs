//! `stox run`: wires the sans-IO core to its adapters — SIP sockets, the XMPP
//! component link, metrics — in one event loop that owns the core.
//!
//! One task owns the [`Gateway`]; sockets and the link talk to it over
//! channels. The loop feeds each input with `Instant::now()`, sleeps until the
//! core's next deadline, and carries out every output.

pub mod cluster;
pub mod durable;
pub mod media;
pub mod resolve;
pub mod sip_tls;
pub mod sip_transport;

use crate::call::{CoreConfig, Gateway, Input, Output, Takeover};
use crate::config::{Config, ListenTransport};
use crate::sip::timers::SipTimers;
use crate::store::StoreHandle;
use crate::telemetry::Metrics;
use crate::tls::TlsError;
use crate::xmpp::link::{LinkConfig, LinkEvent, run_link};
use crate::xmpp::service::{self, ServiceInfo};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Why the gateway could not start.
#[derive(Debug)]
pub enum RunError {
    /// A listener could not be bound.
    Bind(std::io::Error),
    /// A TLS certificate, key or CA file could not be used.
    Tls(TlsError),
    /// The media anchor could not start (DTLS certificate, rtpengine socket).
    Media(String),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Bind(e) => write!(f, "cannot bind a listener: {e}"),
            RunError::Tls(e) => write!(f, "TLS: {e}"),
            RunError::Media(e) => write!(f, "media anchor: {e}"),
        }
    }
}

impl std::error::Error for RunError {}

/// The resource of the gateway's user JIDs.
pub const RESOURCE: &str = "stox";

/// Runs the gateway until SIGINT/SIGTERM.
pub async fn run(config: Config) -> Result<(), RunError> {
    let metrics = Arc::new(Metrics::new());
    if let Some(addr) = config.metrics.listen {
        crate::telemetry::serve(addr, metrics.clone())
            .await
            .map_err(RunError::Bind)?;
    }
    // RFC 3263 location of every trunk before the first call; a trunk that
    // finds nothing is kept (its calls get 503) and located again later.
    let locator = resolve::Locator::new(&config.sip.dns_servers);
    let (trunk_peers, relocate_due) = resolve::locate_trunks(&locator, &config).await;
    let (in_tx, mut in_rx) = mpsc::channel::<Input>(16_384);
    let tls = sip_tls::SipTls::from_config(&config, &trunk_peers).map_err(RunError::Tls)?;
    let relocate = resolve::spawn_refresh(
        locator,
        config.clone(),
        relocate_due,
        in_tx.clone(),
        tls.clone(),
    );
    let sip = sip_transport::start(&config.sip.listen, tls, in_tx.clone())
        .await
        .map_err(RunError::Bind)?;
    let mut media = media::MediaAnchors::start(&config, in_tx.clone())
        .await
        .map_err(RunError::Media)?;
    metrics.set_media_counters(media.counters());
    let core_cfg = CoreConfig {
        trunk_peers,
        sent_by: sent_by(&config),
        sent_by_tls: sent_by_tls(&config),
        resource: RESOURCE.to_string(),
        timers: SipTimers::with_t1(Duration::from_millis(config.sip.timer_t1_ms)),
        user_agent: config.sip.user_agent.clone(),
        trickle_quiet: Duration::from_millis(200),
        propose_timeout: Duration::from_secs(30),
        trunk_ping: (config.sip.trunk_ping_secs > 0)
            .then(|| Duration::from_secs(config.sip.trunk_ping_secs)),
        config: config.clone(),
    };
    let seed: u64 = rand::random();
    let mut gateway = Gateway::new(core_cfg, seed, Instant::now());

    // Calls from before a restart come back before any new input.
    let mut durable = durable::open(&config, &sent_by(&config)).await;
    metrics.set_store_stats(durable.writer.stats().clone());
    let writer = durable.writer.clone();
    let restored = std::mem::take(&mut durable.restored);
    if !restored.is_empty() {
        gateway.handle_input(
            Input::Restore {
                calls: restored,
                how: Takeover::Restart,
            },
            Instant::now(),
        );
    }
    // Stanzas for calls another instance runs are passed on (Postgres only).
    let (cluster, mut local_rx) = match cluster::Cluster::start(
        &durable.store,
        &config.database.instance,
        Duration::from_secs(config.database.lease_secs),
    )
    .await
    {
        Some((c, rx)) => (Some(c), rx),
        None => (None, mpsc::channel::<minidom::Element>(1).1),
    };
    durable::spawn_lease_loop(
        &config,
        durable.store.clone(),
        writer.clone(),
        sent_by(&config),
        in_tx.clone(),
    );

    let (ev_tx, mut ev_rx) = mpsc::channel::<LinkEvent>(16_384);
    let (out_tx, out_rx) = mpsc::channel::<minidom::Element>(16_384);
    let link = LinkConfig {
        domain: config.xmpp.domain.clone(),
        server: config.xmpp.server.clone(),
        secret: config.xmpp.secret.clone(),
        reconnect_min: Duration::from_millis(250),
        reconnect_max: Duration::from_secs(config.xmpp.reconnect_max_secs),
    };
    tokio::spawn(run_link(link, ev_tx, out_rx));
    let info = ServiceInfo {
        domain: config.xmpp.domain.clone(),
        resource: RESOURCE.to_string(),
        name: "stox gateway".to_string(),
    };
    tracing::info!(domain = %config.xmpp.domain, server = %config.xmpp.server, "stox running");

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(RunError::Bind)?;
    loop {
        let deadline = gateway.poll_timeout();
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            Some(input) = in_rx.recv() => {
                gateway.handle_input(input, Instant::now());
                // Drain what else is queued before writing, so bursts batch.
                while let Ok(input) = in_rx.try_recv() {
                    gateway.handle_input(input, Instant::now());
                    flush(&mut gateway, &sip, &out_tx, &metrics, &relocate, &writer, &mut media);
                }
            }
            Some(event) = ev_rx.recv() => match event {
                LinkEvent::Connected => {
                    tracing::info!("XMPP component link up");
                    metrics.set_xmpp_connected(true);
                }
                LinkEvent::Disconnected { reason } => {
                    tracing::warn!(%reason, "XMPP component link down; calls are kept");
                    metrics.set_xmpp_connected(false);
                }
                LinkEvent::Stanza(el) => {
                    let service_replies = service::handle(&info, &el);
                    let answered = service_replies.is_some();
                    for r in service_replies.into_iter().flatten() {
                        send_stanza(&out_tx, r);
                    }
                    // Presence is also the core's business: it tells which
                    // devices of a user are online and whether they speak JMI.
                    if !answered || el.name() == "presence" {
                        match cluster.as_ref().filter(|c| c.active()) {
                            Some(c) if el.name() != "presence" => match gateway.claim(&el) {
                                crate::call::Claim::Here => {
                                    gateway.handle_input(Input::Stanza(el), Instant::now())
                                }
                                claim => c.route(claim, el),
                            },
                            _ => gateway.handle_input(Input::Stanza(el), Instant::now()),
                        }
                    }
                }
            },
            // Passed on by another instance, or owned by nobody else.
            Some(el) = local_rx.recv() => gateway.handle_input(Input::Stanza(el), Instant::now()),
            () = sleep => gateway.handle_input(Input::Timeout, Instant::now()),
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
        }
        flush(
            &mut gateway,
            &sip,
            &out_tx,
            &metrics,
            &relocate,
            &writer,
            &mut media,
        );
    }
    tracing::info!(
        active = gateway.active_calls(),
        "stox stopping; calls stay in the store"
    );
    durable::shut_down(&durable, &config).await;
    Ok(())
}

fn flush(
    gateway: &mut Gateway,
    sip: &sip_transport::SipSender,
    out_tx: &mpsc::Sender<minidom::Element>,
    metrics: &Metrics,
    relocate: &mpsc::UnboundedSender<String>,
    writer: &StoreHandle,
    media: &mut media::MediaAnchors,
) {
    while let Some(output) = gateway.poll_output() {
        match output {
            Output::SendSip { to, bytes } => sip.send(to, bytes),
            Output::SendStanza(el) => send_stanza(out_tx, el),
            // Never awaited: the writer commits behind the signalling.
            Output::Persist { kind, call } => writer.persist(kind, call, crate::store::now_ms()),
            Output::Event(e) => metrics.record(&e),
            Output::ResolveTrunk { trunk } => {
                let _ = relocate.send(trunk);
            }
            Output::Anchor(request) => media.request(request),
            Output::ReleaseMedia { call, mode } => media.release(&call, mode),
            Output::MediaUpdate {
                call,
                leg,
                sdp,
                mode,
                offer,
            } => media.update(&call, leg, &sdp, mode, offer),
            Output::Dtmf {
                call,
                code,
                duration_ms,
            } => media.dtmf(&call, code, duration_ms),
        }
    }
    metrics.set_active(gateway.active_calls());
}

fn send_stanza(out_tx: &mpsc::Sender<minidom::Element>, el: minidom::Element) {
    if out_tx.try_send(el).is_err() {
        tracing::warn!("XMPP send queue full; stanza dropped");
    }
}

/// Our sent-by toward TLS peers: the public host with the first `tls:`
/// listener's port, so that a TLS peer's requests to our Contact reach the TLS
/// listener. `None` without a TLS listener (outgoing TLS only: the peer
/// answers over our connection, and the plain sent-by is used).
fn sent_by_tls(config: &Config) -> Option<String> {
    let port = config
        .sip
        .listen
        .iter()
        .find(|l| l.transport == ListenTransport::Tls)?
        .addr
        .port();
    let host = crate::call::host_of(&sent_by(config));
    Some(format!("{host}:{port}"))
}

/// Our Via sent-by / Contact host:port: the configured public address (with
/// the first listener's port when it names none).
fn sent_by(config: &Config) -> String {
    let public = &config.sip.public_address;
    let has_port = match public.rsplit_once(':') {
        Some((h, p)) => {
            p.chars().all(|c| c.is_ascii_digit()) && (!h.contains(':') || h.ends_with(']'))
        }
        None => false,
    };
    if has_port {
        public.clone()
    } else {
        let port = config
            .sip
            .listen
            .first()
            .map(|l| l.addr.port())
            .unwrap_or(5060);
        format!("{public}:{port}")
    }
}
