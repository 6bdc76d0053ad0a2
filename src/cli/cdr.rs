//! `stox cdr --config FILE --since <time|duration> [--json]`: call detail
//! records of the calls that ended since then, in end order.

use super::db::{print_table, with_store};
use super::time::{format_duration, format_utc, parse_since};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use stox::media::stats::LegStats;
use stox::store::{CallStore, now_ms};

/// Arguments of `stox cdr`.
#[derive(Debug, Args)]
pub struct Cdr {
    /// The configuration file (for `[database] url`).
    #[arg(long, short = 'c', env = "STOX_CONFIG")]
    config: PathBuf,
    /// Calls that ended at or after this RFC 3339 time
    /// (2026-05-01T08:00:00Z) or this long ago (30m, 1h, 2d, 1h30m).
    #[arg(long)]
    since: String,
    /// One JSON object per line (the `cdrs` columns; the media counts as
    /// `media: {xmpp: {...}, sip: {...}}`, null without them) instead of a table.
    #[arg(long)]
    json: bool,
}

impl Cdr {
    /// Prints the CDRs.
    pub fn run(self) -> ExitCode {
        let since = match parse_since(&self.since, now_ms()) {
            Ok(ms) => ms,
            Err(e) => {
                eprintln!("error: --since: {e}");
                return ExitCode::from(2);
            }
        };
        with_store(&self.config, true, |store| async move {
            let cdrs = store.cdrs_since(since).await?;
            if self.json {
                for c in &cdrs {
                    println!("{}", serde_json::to_string(c).expect("a record serialises"));
                }
                return Ok(ExitCode::SUCCESS);
            }
            let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
            let rows: Vec<Vec<String>> = cdrs
                .iter()
                .map(|c| {
                    vec![
                        format_utc(c.end_ms),
                        c.id.clone(),
                        c.direction.clone(),
                        c.caller.clone(),
                        c.callee.clone(),
                        opt(c.trunk.clone()),
                        if c.answer_ms.is_some() {
                            format_duration(c.duration_ms)
                        } else {
                            "unanswered".into()
                        },
                        opt(c.sip_status.map(|s| s.to_string())),
                        opt(c.jingle_reason.clone()),
                        c.ended_by.clone(),
                        c.instance.clone(),
                        media_cell(c.media.as_ref().map(|m| &m.xmpp)),
                        media_cell(c.media.as_ref().map(|m| &m.sip)),
                    ]
                })
                .collect();
            print_table(
                &[
                    "END",
                    "ID",
                    "DIRECTION",
                    "CALLER",
                    "CALLEE",
                    "TRUNK",
                    "DURATION",
                    "SIP",
                    "REASON",
                    "BY",
                    "INSTANCE",
                    "XMPP MEDIA",
                    "SIP MEDIA",
                ],
                &rows,
            );
            Ok(ExitCode::SUCCESS)
        })
    }
}

/// One leg's counts in a cell: packets and bytes in/out, RTP loss, drops
/// and jitter; `-` for a call without counts (passthrough, rtpengine).
fn media_cell(leg: Option<&LegStats>) -> String {
    leg.map_or_else(
        || "-".into(),
        |l| {
            format!(
                "{}/{}pkt {}/{}B lost:{} drop:{} jit:{:.1}ms",
                l.packets_in,
                l.packets_out,
                l.bytes_in,
                l.bytes_out,
                l.lost,
                l.dropped,
                l.jitter_ms
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_cells() {
        assert_eq!(media_cell(None), "-");
        let leg = LegStats {
            packets_in: 250,
            bytes_in: 43_000,
            packets_out: 249,
            bytes_out: 42_828,
            dropped: 1,
            lost: 3,
            jitter_ms: 2.345,
        };
        assert_eq!(
            media_cell(Some(&leg)),
            "250/249pkt 43000/42828B lost:3 drop:1 jit:2.3ms"
        );
    }
}
