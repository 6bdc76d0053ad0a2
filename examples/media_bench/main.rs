//! Media relay benchmark (issue 6): the embedded anchor against rtpengine,
//! driven the same way.
//!
//! Two roles in one binary, run as two processes so that the anchor's CPU
//! time can be read on its own from `/proc/PID/stat`:
//!
//! - `anchor --ng 127.0.0.1:PORT --ports LO-HI`: the production embedded
//!   anchor (`stox::runtime::media::MediaAnchors` on the same multi-thread
//!   tokio runtime `stox run` builds) behind a minimal ng control socket
//!   (`offer`, `answer`, `delete`, `ping`), so that one load generator drives
//!   it exactly as it drives an rtpengine daemon.
//! - `load --ng ADDR --pid PID --calls N --seconds S --kind rtp|dtls`: sets up
//!   N calls over ng (for `dtls` the XMPP leg is a WebRTC-like client: full
//!   ICE, controlling, then DTLS in whatever role the answer gives, then
//!   SRTP), sends 20 ms G.711 packets both ways on every call, and reports
//!   packets, loss, one-way added latency and the anchor's CPU time per
//!   relayed packet (one JSON object on stdout).
//!
//! An example rather than a `[[bin]]`: like `xmpp_answerer` it is a harness
//! for `bench/`, never installed, and clippy's `--all-targets` and
//! `cargo build --examples` keep it compiling. See `bench/README.md`.
#![forbid(unsafe_code)]

mod ng;
mod packet;
mod procstat;
mod receive;
mod report;
mod sdp;
mod setup;
mod shim;
mod traffic;

use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::process::ExitCode;

#[derive(Parser)]
#[command(about = "Media relay benchmark: embedded anchor vs rtpengine")]
struct Cli {
    #[command(subcommand)]
    role: Role,
}

/// What the XMPP leg of every call speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// Plain RTP/AVP on both legs.
    Rtp,
    /// ICE + DTLS-SRTP toward the XMPP client, plain RTP toward SIP.
    Dtls,
}

#[derive(Subcommand)]
enum Role {
    /// Run the embedded anchor behind an ng control socket.
    Anchor {
        /// The ng control address to listen on.
        #[arg(long)]
        ng: SocketAddr,
        /// Media port range, `LO-HI`.
        #[arg(long, default_value = "20000-29999")]
        ports: String,
    },
    /// Set up calls over ng, send media through them, report.
    Load(traffic::LoadArgs),
}

fn main() -> ExitCode {
    match Cli::parse().role {
        Role::Anchor { ng, ports } => shim::main(ng, &ports),
        Role::Load(args) => traffic::main(args),
    }
}
