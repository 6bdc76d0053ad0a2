//! `stox_media_*`: the embedded anchor's counters, read from
//! [`MediaCounters`] at scrape time (relays keep plain atomics and add to
//! them once a second, so the packet path touches no metric).

use crate::media::engine::counters::MediaCounters;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
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
