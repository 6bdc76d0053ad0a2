//! `stox run --config FILE`: validate the configuration, then run the gateway.

use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use stox::config::Config;

/// Arguments of `stox run`.
#[derive(Debug, Args)]
pub struct Run {
    /// The TOML configuration file (STOX_* environment variables override it).
    #[arg(long, short = 'c', env = "STOX_CONFIG")]
    config: PathBuf,
}

impl Run {
    /// Runs until SIGINT/SIGTERM; exit 2 on a bad configuration, 1 on a start failure.
    pub fn run(self) -> ExitCode {
        stox::telemetry::init_logging();
        let config = match Config::load_file(&self.config) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        for w in config.warnings() {
            tracing::warn!("config: {w}");
        }
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: cannot start the async runtime: {e}");
                return ExitCode::FAILURE;
            }
        };
        match runtime.block_on(stox::runtime::run(config)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        }
    }
}
