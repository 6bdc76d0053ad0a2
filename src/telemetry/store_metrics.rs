//! `stox_store_*`: the write-behind store's counters, read from
//! [`StoreStats`] at scrape time (the writer keeps atomics, not metrics, so
//! it has nothing to update on its hot path).

use crate::store::StoreStats;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use std::sync::{Arc, OnceLock};

/// Registered at start; reports nothing until the runtime hands it the
/// store's stats (none at all with `[database] url = "none"`).
#[derive(Debug, Default, Clone)]
pub(super) struct StoreCollector {
    pub(super) stats: Arc<OnceLock<Arc<StoreStats>>>,
}

impl Collector for StoreCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(s) = self.stats.get() else {
            return Ok(());
        };
        let counters = [
            (
                "store_writes",
                "Call writes committed to the database",
                s.writes_total(),
            ),
            (
                "store_batches",
                "Database transactions committed by the writer",
                s.batches_total(),
            ),
            (
                "store_errors",
                "Failed database transactions (each is retried)",
                s.errors_total(),
            ),
        ];
        for (name, help, value) in counters {
            let c = ConstCounter::new(value);
            c.encode(encoder.encode_descriptor(name, help, None, c.metric_type())?)?;
        }
        let backlog = ConstGauge::new(i64::try_from(s.backlog()).unwrap_or(i64::MAX));
        backlog.encode(encoder.encode_descriptor(
            "store_backlog",
            "Call writes queued and not yet committed",
            None,
            backlog.metric_type(),
        )?)?;
        let lag = ConstGauge::new(s.oldest_pending_ms() as f64 / 1000.0);
        lag.encode(encoder.encode_descriptor(
            "store_lag_seconds",
            "Age of the oldest uncommitted call write: what a crash would lose now (0 = none)",
            None,
            lag.metric_type(),
        )?)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::StoreStats;
    use crate::telemetry::Metrics;
    use std::sync::Arc;

    #[test]
    fn store_metrics_appear_once_stats_are_set() {
        let m = Metrics::new();
        assert!(!m.encode().contains("stox_store_"));
        let stats = Arc::new(StoreStats::default());
        stats.queued();
        stats.queued();
        stats.queued();
        stats.committed(2, 0);
        stats.failed();
        m.set_store_stats(stats);
        let text = m.encode();
        for line in [
            "# TYPE stox_store_writes counter",
            "stox_store_writes_total 2",
            "stox_store_batches_total 1",
            "stox_store_errors_total 1",
            "# TYPE stox_store_backlog gauge",
            "stox_store_backlog 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line:?} missing in\n{text}"
            );
        }
        // The lag is the age of the write queued above, read off the
        // wall clock: on a busy machine it is a millisecond or two, not
        // exactly 0. It can be no older than this test.
        let lag: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("stox_store_lag_seconds "))
            .unwrap_or_else(|| panic!("no stox_store_lag_seconds in\n{text}"))
            .parse()
            .expect("a number");
        assert!((0.0..60.0).contains(&lag), "lag {lag}");
    }
}
