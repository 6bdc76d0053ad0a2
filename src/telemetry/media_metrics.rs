//! `stox_media_*`: the embedded anchor's counters, read from
//! [`MediaCounters`] at scrape time (relays keep plain atomics and add to
//! them once a second, so the packet path touches no metric).

use crate::media::anchor::MediaLeg;
use crate::media::engine::counters::MediaCounters;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

/// Reports nothing until the runtime hands it the anchor's counters.
#[derive(Debug, Default, Clone)]
pub(super) struct MediaCollector {
    pub(super) counters: Arc<OnceLock<Arc<MediaCounters>>>,
}

impl Collector for MediaCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(c) = self.counters.get() else {
            return Ok(());
        };
        let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
        let counters = [
            (
                "media_xmpp_packets_in",
                "Packets received from XMPP clients by the embedded anchor",
                load(&c.xmpp_in),
            ),
            (
                "media_xmpp_packets_out",
                "Packets sent to XMPP clients by the embedded anchor",
                load(&c.xmpp_out),
            ),
            (
                "media_sip_packets_in",
                "Packets received from SIP peers by the embedded anchor",
                load(&c.sip_in),
            ),
            (
                "media_sip_packets_out",
                "Packets sent to SIP peers by the embedded anchor",
                load(&c.sip_out),
            ),
            (
                "media_dropped_packets",
                "Packets the embedded anchor dropped: unverified or foreign source, failed authentication, nowhere to send",
                load(&c.dropped),
            ),
            (
                "media_setup_failures",
                "Calls whose media the embedded anchor could not set up (no ports, unusable SDP)",
                load(&c.failures),
            ),
        ];
        for (name, help, value) in counters {
            let m = ConstCounter::new(value);
            m.encode(encoder.encode_descriptor(name, help, None, m.metric_type())?)?;
        }
        // Per leg: which side's network loses packets or delays them
        // unevenly is what an operator needs to know.
        let legs = [MediaLeg::Xmpp, MediaLeg::Sip];
        let mut lost = encoder.encode_descriptor(
            "media_lost_packets",
            "RTP packets that did not arrive from a leg's first source (RFC 3550 sequence gaps), by leg",
            None,
            MetricType::Counter,
        )?;
        for leg in legs {
            let m = ConstCounter::new(load(c.lost(leg)));
            m.encode(lost.encode_family(&[("leg", leg.label())])?)?;
        }
        let mut jitter = encoder.encode_descriptor(
            "media_jitter_ms",
            "Interarrival jitter (RFC 3550) of what a leg sends, ms, sampled every 5 s per leg receiving media, by leg",
            None,
            MetricType::Histogram,
        )?;
        for leg in legs {
            let (sum, count, buckets) = c.jitter(leg).snapshot();
            jitter
                .encode_family(&[("leg", leg.label())])?
                .encode_histogram::<NoLabelSet>(sum, count, &buckets, None)?;
        }
        let sessions = ConstGauge::new(i64::try_from(load(&c.sessions)).unwrap_or(i64::MAX));
        sessions.encode(encoder.encode_descriptor(
            "media_sessions",
            "Calls the embedded anchor relays now",
            None,
            sessions.metric_type(),
        )?)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::media::engine::counters::MediaCounters;
    use crate::telemetry::Metrics;
    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    #[test]
    fn loss_and_jitter_are_exposed_by_leg() {
        let metrics = Metrics::new();
        let counters = Arc::new(MediaCounters::default());
        counters.sip_lost.store(7, Ordering::Relaxed);
        counters.sip_jitter.observe(3.0);
        counters.sip_jitter.observe(40.0);
        metrics.set_media_counters(counters);
        let text = metrics.encode();
        for line in [
            "stox_media_lost_packets_total{leg=\"sip\"} 7",
            "stox_media_lost_packets_total{leg=\"xmpp\"} 0",
            "stox_media_jitter_ms_count{leg=\"sip\"} 2",
            "stox_media_jitter_ms_sum{leg=\"sip\"} 43.0",
            "stox_media_jitter_ms_bucket{le=\"5.0\",leg=\"sip\"} 1",
            "stox_media_jitter_ms_bucket{le=\"50.0\",leg=\"sip\"} 2",
            "stox_media_jitter_ms_count{leg=\"xmpp\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
        }
    }
}
