//! Metrics (Prometheus text format over HTTP) and log setup.
//!
//! The core reports [`CallEvent`]s; this module turns them into counters, a
//! gauge and a setup-latency histogram, and serves `GET /metrics`.

mod media_metrics;
mod store_metrics;

use crate::call::{CallDirection, CallEvent};
use crate::store::StoreStats;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Direction {
    direction: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Failure {
    direction: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Trunk {
    trunk: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Refused {
    what: &'static str,
}

/// The gateway's metrics.
pub struct Metrics {
    registry: Registry,
    attempted: Family<Direction, Counter>,
    answered: Family<Direction, Counter>,
    failed: Family<Failure, Counter>,
    ended: Family<Direction, Counter>,
    refused: Family<Refused, Counter>,
    active: Gauge,
    xmpp_connected: Gauge,
    trunk_up: Family<Trunk, Gauge>,
    trunk_registered: Family<Trunk, Gauge>,
    setup: Histogram,
    store: store_metrics::StoreCollector,
    media: media_metrics::MediaCollector,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("stox");
        let attempted = Family::<Direction, Counter>::default();
        let answered = Family::<Direction, Counter>::default();
        let failed = Family::<Failure, Counter>::default();
        let ended = Family::<Direction, Counter>::default();
        let refused = Family::<Refused, Counter>::default();
        let active = Gauge::default();
        let xmpp_connected = Gauge::default();
        let trunk_up = Family::<Trunk, Gauge>::default();
        let trunk_registered = Family::<Trunk, Gauge>::default();
        // 1 ms … ~16 s: gateway-added latency is milliseconds, ringing is seconds.
        let setup = Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
            0.001, 2.0, 15,
        ));
        registry.register("calls_attempted", "Call attempts", attempted.clone());
        registry.register("calls_answered", "Answered calls", answered.clone());
        registry.register(
            "calls_failed",
            "Calls that failed before answer, by SIP status",
            failed.clone(),
        );
        registry.register("calls_ended", "Answered calls that ended", ended.clone());
        registry.register(
            "input_refused",
            "Refused input (malformed SIP/XMPP, unknown sessions, unknown sources)",
            refused.clone(),
        );
        registry.register("calls_active", "Calls in progress", active.clone());
        registry.register(
            "xmpp_connected",
            "1 while the component link is up",
            xmpp_connected.clone(),
        );
        registry.register(
            "trunk_up",
            "1 while the trunk answers OPTIONS pings, 0 after one timed out",
            trunk_up.clone(),
        );
        registry.register(
            "trunk_registered",
            "1 while the gateway is registered with the trunk",
            trunk_registered.clone(),
        );
        registry.register(
            "call_setup_seconds",
            "From the first signalling message to the answer",
            setup.clone(),
        );
        let store = store_metrics::StoreCollector::default();
        registry.register_collector(Box::new(store.clone()));
        let media = media_metrics::MediaCollector::default();
        registry.register_collector(Box::new(media.clone()));
        Metrics {
            registry,
            attempted,
            answered,
            failed,
            ended,
            refused,
            active,
            xmpp_connected,
            trunk_up,
            trunk_registered,
            setup,
            store,
            media,
        }
    }

    /// Reports the store writer's counters (`stox_store_writes_total`,
    /// `_batches_total`, `_errors_total`, `_backlog`, `_lag_seconds`) from
    /// now on. The first call wins; later ones are ignored.
    pub fn set_store_stats(&self, stats: Arc<StoreStats>) {
        let _ = self.store.stats.set(stats);
    }

    /// Reports the embedded media anchor's counters (`stox_media_*`) from now
    /// on. The first call wins.
    pub fn set_media_counters(&self, counters: Arc<crate::media::engine::counters::MediaCounters>) {
        let _ = self.media.counters.set(counters);
    }

    /// Records a core event.
    pub fn record(&self, event: &CallEvent) {
        let dir = |d: &CallDirection| Direction {
            direction: d.label(),
        };
        match event {
            CallEvent::Attempted(d) => {
                self.attempted.get_or_create(&dir(d)).inc();
            }
            CallEvent::Answered { direction, setup } => {
                self.answered.get_or_create(&dir(direction)).inc();
                self.setup.observe(setup.as_secs_f64());
            }
            CallEvent::Failed { direction, status } => {
                self.failed
                    .get_or_create(&Failure {
                        direction: direction.label(),
                        status: *status,
                    })
                    .inc();
            }
            CallEvent::Ended(d) => {
                self.ended.get_or_create(&dir(d)).inc();
            }
            CallEvent::TrunkState { trunk, up } => {
                self.trunk_up
                    .get_or_create(&Trunk {
                        trunk: trunk.clone(),
                    })
                    .set(i64::from(*up));
            }
            CallEvent::Registration { trunk, registered } => {
                self.trunk_registered
                    .get_or_create(&Trunk {
                        trunk: trunk.clone(),
                    })
                    .set(i64::from(*registered));
            }
            CallEvent::Rejected { what } => {
                self.refused.get_or_create(&Refused { what }).inc();
            }
        }
    }

    /// Sets the active-calls gauge.
    pub fn set_active(&self, n: usize) {
        self.active.set(n as i64);
    }

    /// Sets the link gauge.
    pub fn set_xmpp_connected(&self, up: bool) {
        self.xmpp_connected.set(i64::from(up));
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

/// Serves `GET /metrics` (any path, in fact) until the process ends.
pub async fn serve(addr: SocketAddr, metrics: Arc<Metrics>) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    tracing::info!(%addr, "metrics listening");
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                continue;
            };
            let metrics = metrics.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let _ =
                    tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut buf))
                        .await;
                let body = metrics.encode();
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(body.as_bytes()).await;
            });
        }
    });
    Ok(())
}

/// Installs the log subscriber (`RUST_LOG` or `info`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}
