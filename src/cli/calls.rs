//! `stox calls --config FILE [--json]`: the calls in progress, of every
//! instance sharing the database, read from the `calls` table.

use super::db::{print_table, with_store};
use super::time::format_duration;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use stox::store::{CallStore, now_ms};

/// Arguments of `stox calls`.
#[derive(Debug, Args)]
pub struct Calls {
    /// The configuration file (for `[database] url`).
    #[arg(long, short = 'c', env = "STOX_CONFIG")]
    config: PathBuf,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    json: bool,
}

impl Calls {
    /// Lists the active calls, oldest first.
    pub fn run(self) -> ExitCode {
        with_store(&self.config, true, |store| async move {
            let calls = store.active_calls().await?;
            let now = now_ms();
            if self.json {
                for c in &calls {
                    let mut v = serde_json::to_value(c).expect("a record serialises");
                    v["age_ms"] = (now - c.created_ms).max(0).into();
                    println!("{v}");
                }
                return Ok(ExitCode::SUCCESS);
            }
            let rows: Vec<Vec<String>> = calls
                .iter()
                .map(|c| {
                    vec![
                        c.id.clone(),
                        c.owner.clone(),
                        c.direction.clone(),
                        c.state.clone(),
                        c.caller.clone(),
                        c.callee.clone(),
                        c.trunk.clone().unwrap_or_else(|| "-".into()),
                        format_duration(now - c.created_ms),
                    ]
                })
                .collect();
            print_table(
                &[
                    "ID",
                    "OWNER",
                    "DIRECTION",
                    "STATE",
                    "CALLER",
                    "CALLEE",
                    "TRUNK",
                    "AGE",
                ],
                &rows,
            );
            Ok(ExitCode::SUCCESS)
        })
    }
}
