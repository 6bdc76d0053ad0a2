//! The `stox` command line.

use clap::Parser;
use std::process::ExitCode;

mod cli;

fn main() -> ExitCode {
    cli::Cli::parse().run()
}
