//! `stox cdr --config FILE --since <time|duration> [--json]`: call detail
//! records of the calls that ended since then, in end order.

use super::db::{print_table, with_store};
use super::time::{format_duration, format_utc, parse_since};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
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
    /// One JSON object per line (the `cdrs` columns) instead of a table.
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
                ],
                &rows,
            );
            Ok(ExitCode::SUCCESS)
        })
    }
}
