//! ICE candidate lines (RFC 8839 §5.1) ⇄ XEP-0176 `<candidate/>`.

use crate::jingle::{IceCandidate, RemoteCandidate};
use std::net::IpAddr;

/// Candidate extension attributes with no XEP-0176 attribute.
#[derive(Debug, Default)]
pub struct DroppedExtensions {
    /// Chrome's per-candidate `ufrag` (redundant with `a=ice-ufrag` when equal).
    pub ufrag: Option<String>,
    /// Names of other extensions (`network-cost`, …).
    pub others: Vec<String>,
}

/// Parses the value of `a=candidate:` (without the `candidate:` prefix).
/// `n` numbers the candidate within its content, to make the Jingle `id`.
pub fn parse_candidate(
    value: &str,
    content: &str,
    n: usize,
) -> Result<(IceCandidate, DroppedExtensions), String> {
    let value = value.trim();
    let value = value.strip_prefix("candidate:").unwrap_or(value);
    let f: Vec<&str> = value.split_whitespace().collect();
    if f.len() < 8 || !f[6].eq_ignore_ascii_case("typ") {
        return Err(
            "expected <foundation> <component> <transport> <priority> <address> <port> typ <type>"
                .into(),
        );
    }
    let mut c = IceCandidate {
        foundation: f[0].to_string(),
        component: f[1]
            .parse()
            .map_err(|_| format!("component '{}' is not a number", f[1]))?,
        protocol: f[2].to_ascii_lowercase(),
        priority: f[3]
            .parse()
            .map_err(|_| format!("priority '{}' is not a 32-bit unsigned integer", f[3]))?,
        ip: f[4].to_string(),
        port: f[5]
            .parse()
            .map_err(|_| format!("port '{}' is not a port number", f[5]))?,
        kind: f[7].to_ascii_lowercase(),
        generation: Some(0),
        id: Some(format!("{content}-c{n}")),
        ..IceCandidate::default()
    };
    let mut dropped = DroppedExtensions::default();
    let mut rest = f[8..].chunks(2);
    for pair in rest.by_ref() {
        let [name, value] = pair else {
            return Err(format!("extension '{}' has no value", pair[0]));
        };
        match *name {
            "raddr" => c.rel_addr = Some(value.to_string()),
            "rport" => {
                c.rel_port = Some(
                    value
                        .parse()
                        .map_err(|_| format!("rport '{value}' is not a port"))?,
                )
            }
            "generation" => {
                c.generation = Some(
                    value
                        .parse()
                        .map_err(|_| format!("generation '{value}' is not a number"))?,
                )
            }
            "network-id" => c.network = value.parse().ok(),
            "tcptype" => c.tcptype = Some(value.to_string()),
            "ufrag" => dropped.ufrag = Some(value.to_string()),
            other => dropped.others.push(other.to_string()),
        }
    }
    Ok((c, dropped))
}

/// Formats a candidate as the value of `a=candidate:` (XEP-0176 `network` and
/// `id` are left out: draft-ietf-stox-media §5.4 and checklist item 8).
pub fn format_candidate(c: &IceCandidate) -> String {
    let mut s = format!(
        "{} {} {} {} {} {} typ {}",
        c.foundation, c.component, c.protocol, c.priority, c.ip, c.port, c.kind
    );
    if let Some(addr) = &c.rel_addr {
        s.push_str(&format!(" raddr {addr}"));
    }
    if let Some(port) = c.rel_port {
        s.push_str(&format!(" rport {port}"));
    }
    if let Some(t) = &c.tcptype {
        s.push_str(&format!(" tcptype {t}"));
    }
    if let Some(g) = c.generation {
        s.push_str(&format!(" generation {g}"));
    }
    s
}

/// Parses `a=remote-candidates:` (RFC 8839 §5.2): `component address port` triples.
pub fn parse_remote_candidates(value: &str) -> Result<Vec<RemoteCandidate>, String> {
    let f: Vec<&str> = value.split_whitespace().collect();
    if f.is_empty() || !f.len().is_multiple_of(3) {
        return Err("expected <component> <address> <port> triples".into());
    }
    f.chunks(3)
        .map(|t| {
            Ok(RemoteCandidate {
                component: t[0]
                    .parse()
                    .map_err(|_| format!("component '{}' is not a number", t[0]))?,
                ip: t[1].to_string(),
                port: t[2]
                    .parse()
                    .map_err(|_| format!("port '{}' is not a port", t[2]))?,
            })
        })
        .collect()
}

/// Parses `a=rtcp:PORT [IN IP4 ADDRESS]` into the port and optional address.
pub fn parse_rtcp_attribute(value: &str) -> Option<(u16, Option<String>)> {
    let f: Vec<&str> = value.split_whitespace().collect();
    let port = f.first()?.parse().ok()?;
    match f.len() {
        1 => Some((port, None)),
        4 => Some((port, Some(f[3].to_string()))),
        _ => None,
    }
}

/// The candidate whose address goes on the m= and c= lines (RFC 8839 §4.2.1.2):
/// a UDP candidate with an IP address, preferring server-reflexive (reachable by
/// a peer without ICE), then relayed, host and peer-reflexive; highest priority
/// within a type.
pub fn default_candidate(candidates: &[IceCandidate], component: u16) -> Option<&IceCandidate> {
    let rank = |kind: &str| match kind {
        "srflx" => 0,
        "relay" => 1,
        "host" => 2,
        _ => 3,
    };
    candidates
        .iter()
        .filter(|c| {
            c.component == component && c.protocol == "udp" && c.ip.parse::<IpAddr>().is_ok()
        })
        .min_by_key(|c| (rank(&c.kind), std::cmp::Reverse(c.priority)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chrome_candidate_round_trips() {
        let line = "1467250027 1 udp 2122260223 192.168.0.196 46243 typ host generation 0 network-id 1 network-cost 10";
        let (c, dropped) = parse_candidate(line, "0", 0).unwrap();
        assert_eq!(c.priority, 2122260223);
        assert_eq!(c.network, Some(1));
        assert_eq!(dropped.others, vec!["network-cost"]);
        assert_eq!(
            format_candidate(&c),
            "1467250027 1 udp 2122260223 192.168.0.196 46243 typ host generation 0"
        );
    }

    #[test]
    fn priority_beyond_32_bits_is_an_error_not_a_wrap() {
        let err = parse_candidate("1 1 udp 21149780477 ::1 1 typ host", "a", 0).unwrap_err();
        assert!(err.contains("21149780477"), "{err}");
    }

    #[test]
    fn srflx_is_the_default_over_host() {
        let (host, _) = parse_candidate("1 1 udp 2000 10.0.0.1 1000 typ host", "a", 0).unwrap();
        let (srflx, _) = parse_candidate(
            "2 1 udp 1000 203.0.113.1 2000 typ srflx raddr 10.0.0.1 rport 1000",
            "a",
            1,
        )
        .unwrap();
        let all = [host, srflx];
        assert_eq!(default_candidate(&all, 1).unwrap().ip, "203.0.113.1");
    }
}
