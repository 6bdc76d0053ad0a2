//! The load's result: one JSON object (for `bench/media.sh`) and one
//! readable line on stderr.
//!
//! CPU per relayed packet = the anchor's utime + stime over the window /
//! the packets it relayed that were sent inside the window (both directions,
//! as received by the generator). Calls at 50 % of one core = 0.5 s/s /
//! (CPU per packet × packets relayed per call per second).

use crate::procstat;
use crate::receive::DirStats;
use crate::traffic::{LoadArgs, Pacing};
use serde_json::json;
use std::time::Instant;

/// CPU counters at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// When.
    pub at: Instant,
    /// The anchor's ticks.
    pub anchor: u64,
    /// The generator's ticks.
    pub generator: u64,
    /// All CPUs' busy ticks.
    pub machine: u64,
    /// The anchor's resident memory.
    pub anchor_rss_kib: u64,
}

impl Snapshot {
    /// The anchor's (`pid`), this process's and the machine's CPU now.
    pub fn take(pid: &str) -> Self {
        Snapshot {
            at: Instant::now(),
            anchor: procstat::process_ticks(pid).unwrap_or(0),
            generator: procstat::process_ticks("self").unwrap_or(0),
            machine: procstat::machine_busy_ticks(),
            anchor_rss_kib: procstat::rss_kib(pid),
        }
    }
}

/// How set-up went.
pub struct Setup {
    /// Calls carrying media.
    pub calls_ok: usize,
    /// Calls that failed signalling or ICE/DTLS.
    pub failed: usize,
    /// Seconds spent on offers and answers.
    pub signal_s: f64,
    /// Seconds until every handshake was done.
    pub total_s: f64,
}

fn percentile_us(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

fn direction(s: &DirStats) -> serde_json::Value {
    let mut l = s.latency_ns.clone();
    l.sort_unstable();
    let loss = if s.sent == 0 {
        0.0
    } else {
        (s.sent.saturating_sub(s.received)) as f64 / s.sent as f64 * 100.0
    };
    json!({
        "sent": s.sent,
        "received": s.received,
        "loss_pct": loss,
        "misrouted": s.misrouted,
        "bad": s.bad,
        "latency_us": {
            "p50": percentile_us(&l, 50.0),
            "p99": percentile_us(&l, 99.0),
            "p999": percentile_us(&l, 99.9),
            "max": percentile_us(&l, 100.0),
        },
    })
}

/// The JSON summary (also printed readably on stderr).
pub fn summary(args: &LoadArgs, stats: &[DirStats; 2], pacing: &Pacing, setup: Setup) -> String {
    let tick = procstat::ticks_per_second();
    let (a, b) = &pacing.snapshots;
    let wall = b.at.duration_since(a.at).as_secs_f64().max(1e-9);
    let anchor_s = (b.anchor - a.anchor) as f64 / tick;
    let generator_s = (b.generator - a.generator) as f64 / tick;
    let machine_s = (b.machine - a.machine) as f64 / tick;
    let relayed = stats[0].received + stats[1].received;
    let us_per_packet = anchor_s / relayed.max(1) as f64 * 1e6;
    let per_call_pps = 2.0 * f64::from(args.rate_per_call);
    let calls_at_half_core = 0.5 / (us_per_packet / 1e6 * per_call_pps);
    let mut all: Vec<u32> = stats
        .iter()
        .flat_map(|s| s.latency_ns.iter().copied())
        .collect();
    all.sort_unstable();
    let v = json!({
        "anchor": args.label,
        "kind": format!("{:?}", args.kind).to_lowercase(),
        "calls": args.calls,
        "calls_ok": setup.calls_ok,
        "calls_failed": setup.failed,
        "setup_signal_s": setup.signal_s,
        "setup_total_s": setup.total_s,
        "window_s": wall,
        "rate_per_call": args.rate_per_call,
        "relayed_packets": relayed,
        "relayed_pps": relayed as f64 / wall,
        "anchor_cpu_s": anchor_s,
        "anchor_cpu_pct": anchor_s / wall * 100.0,
        "anchor_us_per_packet": us_per_packet,
        "calls_at_50pct_core": calls_at_half_core,
        "generator_cpu_pct": generator_s / wall * 100.0,
        "other_cpu_pct": (machine_s - anchor_s - generator_s).max(0.0) / wall * 100.0,
        "anchor_rss_kib": b.anchor_rss_kib,
        "pacer_lag_max_ms": pacing.lag_max_ns as f64 / 1e6,
        "send_errors": pacing.send_errors,
        "xmpp_to_sip": direction(&stats[0]),
        "sip_to_xmpp": direction(&stats[1]),
        "latency_us": {
            "p50": percentile_us(&all, 50.0),
            "p99": percentile_us(&all, 99.0),
            "p999": percentile_us(&all, 99.9),
            "max": percentile_us(&all, 100.0),
        },
        "clk_tck": tick,
    });
    eprintln!(
        "media_bench load: {} {} {} calls ({} ok): {:.0} pkt/s relayed, anchor {:.1}% of a core = {:.2} µs/packet \
         (→ {:.0} calls at 50%), loss {:.3}%/{:.3}%, latency p50 {:.0} µs p99 {:.0} µs max {:.0} µs, \
         generator {:.0}%, other {:.0}%, pacer lag max {:.1} ms",
        args.label,
        v["kind"].as_str().unwrap_or(""),
        args.calls,
        setup.calls_ok,
        relayed as f64 / wall,
        anchor_s / wall * 100.0,
        us_per_packet,
        calls_at_half_core,
        v["xmpp_to_sip"]["loss_pct"].as_f64().unwrap_or(f64::NAN),
        v["sip_to_xmpp"]["loss_pct"].as_f64().unwrap_or(f64::NAN),
        percentile_us(&all, 50.0),
        percentile_us(&all, 99.0),
        percentile_us(&all, 100.0),
        generator_s / wall * 100.0,
        v["other_cpu_pct"].as_f64().unwrap_or(f64::NAN),
        pacing.lag_max_ns as f64 / 1e6,
    );
    v.to_string()
}
