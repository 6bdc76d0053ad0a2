//! `stox check-config --config FILE`: validate a configuration without starting.
//!
//! Contract (deployment scripts rely on it): on success one `ok: …` summary
//! line on stdout, any `warning: …` lines on stderr, exit status 0; on failure
//! one `error: <key>: <problem>` line on stderr and exit status 2.

use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use stox::config::Config;

/// Exit status for a configuration that cannot be used.
const EXIT_BAD_CONFIG: u8 = 2;

#[derive(Debug, Args)]
pub struct CheckConfig {
    /// The configuration file (STOX_* environment variables are laid over it).
    #[arg(long, env = "STOX_CONFIG")]
    config: PathBuf,
}

impl CheckConfig {
    pub fn run(self) -> ExitCode {
        match Config::load_file(&self.config) {
            Ok(config) => {
                for warning in config.warnings() {
                    eprintln!("warning: {warning}");
                }
                println!(
                    "ok: {} trunks, {} numbers, xmpp component {} via {}",
                    config.trunks.len(),
                    config.numbers.len(),
                    config.xmpp.domain,
                    config.xmpp.server
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(EXIT_BAD_CONFIG)
            }
        }
    }
}
