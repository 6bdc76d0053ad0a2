//! `stox status --config FILE`: what a running gateway reports about itself —
//! the XMPP link, active calls, trunk reachability — read from its metrics
//! endpoint (`[metrics] listen`), so the command needs no extra control socket.
//!
//! Contract: one `key: value` line per fact on stdout and exit 0; exit 1 with an
//! `error: …` line when the gateway cannot be reached; exit 2 on a bad config.

use clap::Args;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use stox::config::Config;

/// Arguments of `stox status`.
#[derive(Debug, Args)]
pub struct Status {
    /// The gateway's configuration file (for `[metrics] listen`).
    #[arg(long, short = 'c', env = "STOX_CONFIG")]
    config: PathBuf,
}

impl Status {
    /// Prints the gateway's status.
    pub fn run(self) -> ExitCode {
        let config = match Config::load_file(&self.config) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        let Some(addr) = config.metrics.listen else {
            eprintln!(
                "error: metrics.listen is not set: the status is read from the metrics endpoint"
            );
            return ExitCode::from(2);
        };
        let body = match fetch(addr) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: gateway not reachable at http://{addr}/metrics: {e}");
                return ExitCode::FAILURE;
            }
        };
        for line in summarize(&body) {
            println!("{line}");
        }
        ExitCode::SUCCESS
    }
}

fn fetch(addr: std::net::SocketAddr) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(3))?;
    stream.set_read_timeout(Some(Duration::from_secs(3)))?;
    stream.write_all(b"GET /metrics HTTP/1.0\r\nHost: stox\r\n\r\n")?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .ok_or_else(|| std::io::Error::other("no HTTP body"))?;
    Ok(body)
}

/// The human lines for a Prometheus exposition.
fn summarize(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    let value = |name: &str| -> Option<f64> {
        body.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    };
    let link = match value("stox_xmpp_connected") {
        Some(v) if v >= 1.0 => "up",
        Some(_) => "down",
        None => "unknown",
    };
    out.push(format!("xmpp link: {link}"));
    out.push(format!(
        "calls active: {}",
        value("stox_calls_active").unwrap_or(0.0)
    ));
    for line in body
        .lines()
        .filter(|l| l.starts_with("stox_trunk_registered{"))
    {
        let name = line
            .split("trunk=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or("?");
        let yes = line.rsplit(' ').next() == Some("1");
        out.push(format!(
            "trunk {name} registration: {}",
            if yes { "registered" } else { "not registered" }
        ));
    }
    for line in body.lines().filter(|l| l.starts_with("stox_trunk_up{")) {
        let name = line
            .split("trunk=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or("?");
        let up = line.rsplit(' ').next() == Some("1");
        out.push(format!("trunk {name}: {}", if up { "up" } else { "down" }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summarizes_link_calls_and_trunks() {
        let body = "# HELP x\nstox_xmpp_connected 1\nstox_calls_active 3\nstox_trunk_up{trunk=\"pbx\"} 1\nstox_trunk_up{trunk=\"carrier\"} 0\n";
        assert_eq!(
            summarize(body),
            vec![
                "xmpp link: up",
                "calls active: 3",
                "trunk pbx: up",
                "trunk carrier: down"
            ]
        );
    }
}
