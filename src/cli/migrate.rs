//! `stox migrate --config FILE`: apply the schema the database lacks.
//!
//! Prints one `applied <version> <description>` line per migration, or
//! `up to date`. `stox run` applies them too; this command is for deployments
//! that migrate before starting (or with a more privileged database user).

use super::db::with_store;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `stox migrate`.
#[derive(Debug, Args)]
pub struct Migrate {
    /// The configuration file (for `[database] url`).
    #[arg(long, short = 'c', env = "STOX_CONFIG")]
    config: PathBuf,
}

impl Migrate {
    /// Applies the migrations and lists them.
    pub fn run(self) -> ExitCode {
        with_store(&self.config, true, |store| async move {
            let applied = store.migrate().await?;
            if applied.is_empty() {
                println!("up to date");
            }
            for m in applied {
                println!("applied {} {}", m.version, m.description);
            }
            Ok(ExitCode::SUCCESS)
        })
    }
}
