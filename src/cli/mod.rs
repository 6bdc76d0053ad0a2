//! Command-line interface: argument definitions and dispatch.

mod calls;
mod cdr;
mod check_config;
mod db;
mod migrate;
mod run;
mod status;
mod time;
mod translate;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// stox: a Jingle ⇄ SIP gateway.
#[derive(Debug, Parser)]
#[command(name = "stox", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway.
    Run(run::Run),
    /// Show a running gateway's XMPP link, active calls and trunk states.
    Status(status::Status),
    /// Translate between SDP and Jingle (a debugging aid; output is stable for scripts).
    #[command(subcommand)]
    Translate(translate::TranslateCommand),
    /// Validate a configuration file (with STOX_* variables applied) and exit.
    CheckConfig(check_config::CheckConfig),
    /// Apply the database migrations the configured database lacks.
    Migrate(migrate::Migrate),
    /// List the calls in progress (every instance sharing the database).
    Calls(calls::Calls),
    /// Print call detail records of calls that ended since a time.
    Cdr(cdr::Cdr),
}

impl Cli {
    /// Runs the chosen command and returns the process exit code.
    pub fn run(self) -> ExitCode {
        match self.command {
            Command::Run(cmd) => cmd.run(),
            Command::Status(cmd) => cmd.run(),
            Command::Translate(cmd) => cmd.run(),
            Command::CheckConfig(cmd) => cmd.run(),
            Command::Migrate(cmd) => cmd.run(),
            Command::Calls(cmd) => cmd.run(),
            Command::Cdr(cmd) => cmd.run(),
        }
    }
}
