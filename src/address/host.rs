//! `host[:port]` as RFC 3261 §25.1 writes it: host name, IPv4 address or
//! bracketed IPv6 reference, with an optional port.

use super::AddressError;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Splits and checks `host[:port]`. The host is returned as written (IPv6 still
/// in brackets, as it goes into a URI); the port is `None` when absent.
pub fn split_hostport(s: &str) -> Result<(String, Option<u16>), AddressError> {
    let bad = || AddressError::InvalidHost(s.to_owned());
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']').ok_or_else(bad)?;
        rest[..end].parse::<Ipv6Addr>().map_err(|_| bad())?;
        let host = &s[..end + 2];
        match &rest[end + 1..] {
            "" => (host, None),
            tail => (host, Some(tail.strip_prefix(':').ok_or_else(bad)?)),
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if !host.starts_with('[') && !is_ipv4(host) && !is_hostname(host) {
        return Err(bad());
    }
    let port = match port {
        None => None,
        Some(p) => Some(parse_port(p).ok_or_else(bad)?),
    };
    Ok((host.to_owned(), port))
}

/// A port: 1–65535 in plain digits (no sign, no spaces).
fn parse_port(p: &str) -> Option<u16> {
    if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    p.parse::<u16>().ok().filter(|&n| n != 0)
}

/// Dotted-quad IPv4, the only form RFC 3261 `IPv4address` allows.
pub(crate) fn is_ipv4(s: &str) -> bool {
    s.parse::<Ipv4Addr>().is_ok()
}

/// RFC 3261 `hostname`: dot-separated labels of letters, digits and inner
/// hyphens, the last starting with a letter (so `192021` is not a host name),
/// an optional trailing dot.
pub(crate) fn is_hostname(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.is_empty() || s.len() > 253 {
        return false;
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    s.split('.').all(label_ok)
        && s.rsplit('.')
            .next()
            .is_some_and(|top| top.starts_with(|c: char| c.is_ascii_alphabetic()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_three_host_forms() {
        assert_eq!(
            split_hostport("pbx.example.org"),
            Ok(("pbx.example.org".into(), None))
        );
        assert_eq!(
            split_hostport("10.0.0.1:5080"),
            Ok(("10.0.0.1".into(), Some(5080)))
        );
        assert_eq!(
            split_hostport("[2001:db8::1]:5061"),
            Ok(("[2001:db8::1]".into(), Some(5061)))
        );
        assert_eq!(split_hostport("[::1]"), Ok(("[::1]".into(), None)));
        assert_eq!(split_hostport("localhost"), Ok(("localhost".into(), None)));
    }

    #[test]
    fn rejects_malformed_hosts_and_ports() {
        for bad in [
            "",
            ":5060",
            "pbx:",
            "pbx:0",
            "pbx:65536",
            "pbx:+5",
            "a..b",
            "-a.org",
            "a-.org",
            "192021",
            "1.2.3",
            "[::1",
            "[nope]",
            "[::1]5060",
            "::1",
            "a_b.org",
            "pbx:5060:1",
            "héllo.org",
        ] {
            assert!(split_hostport(bad).is_err(), "{bad:?} accepted");
        }
    }
}
