//! SIP, SIPS and tel URIs (RFC 3261 §19.1, RFC 3966).
//!
//! Components are kept as written (user still percent-encoded, parameter
//! values with their `:`), so a parsed URI writes back to an equivalent
//! string and the gateway never re-escapes what a peer sent.

use std::fmt;

use super::SipParseError;
use super::header::lex::{self, Params, err};

/// The URI schemes the gateway routes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `sip:`
    Sip,
    /// `sips:`
    Sips,
    /// `tel:` (RFC 3966): no host, the number is in [`SipUri::user`].
    Tel,
}

impl Scheme {
    /// The scheme as written on the wire (lower case).
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Sip => "sip",
            Scheme::Sips => "sips",
            Scheme::Tel => "tel",
        }
    }
}

/// A parsed `sip:`, `sips:` or `tel:` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri {
    /// The scheme.
    pub scheme: Scheme,
    /// The user part as written (still percent-encoded); for `tel:`, the number.
    pub user: Option<String>,
    /// The password, if the URI carries one (deprecated but legal).
    pub password: Option<String>,
    /// The host; IPv6 references keep their brackets. Empty for `tel:`.
    pub host: String,
    /// The port, when written.
    pub port: Option<u16>,
    /// `;name[=value]` URI parameters, as written.
    pub params: Params,
    /// `?name=value&…` header components, as written.
    pub headers: Vec<(String, String)>,
}

impl SipUri {
    /// Parses a URI. Fails on other schemes (the caller answers 416), on
    /// whitespace anywhere, malformed `%` escapes, a bad host or port.
    pub fn parse(s: &str) -> Result<Self, SipParseError> {
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err(format!("whitespace or control character in URI {s:?}")));
        }
        if s.contains(['<', '>', '"']) {
            return Err(err(format!("bad character in URI {s:?}")));
        }
        check_escapes(s)?;
        let scheme_str = lex::uri_scheme(s).ok_or_else(|| err(format!("no scheme in {s:?}")))?;
        let rest = &s[scheme_str.len() + 1..];
        let scheme = match scheme_str.to_ascii_lowercase().as_str() {
            "sip" => Scheme::Sip,
            "sips" => Scheme::Sips,
            "tel" => Scheme::Tel,
            _ => return Err(err(format!("unsupported URI scheme {scheme_str:?}"))),
        };
        if scheme == Scheme::Tel {
            return parse_tel(rest);
        }
        // The user part may contain `;`, `?`, `/` and `,` (RFC 3261
        // user-unreserved), but never an unescaped `@`, and `@` is not allowed
        // unescaped after the host either: the first `@` ends the userinfo.
        let (userinfo, hostpart) = match rest.split_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some("") => return Err(err(format!("empty user part in {s:?}"))),
            Some(u) => match u.split_once(':') {
                Some((user, pw)) => (Some(user.to_string()), Some(pw.to_string())),
                None => (Some(u.to_string()), None),
            },
        };
        let (hostport, after) = match hostpart.find([';', '?']) {
            Some(i) => hostpart.split_at(i),
            None => (hostpart, ""),
        };
        let (host, port) = lex::split_host_port(hostport)?;
        let (params_str, headers_str) = match after.split_once('?') {
            Some((p, h)) => (p, Some(h)),
            None => (after, None),
        };
        let params = parse_uri_params(params_str)?;
        let headers = match headers_str {
            None => Vec::new(),
            Some(h) => parse_uri_headers(h)?,
        };
        Ok(SipUri {
            scheme,
            user,
            password,
            host,
            port,
            params,
            headers,
        })
    }

    /// A URI parameter by name (case-insensitive); `Some(None)` for a flag
    /// such as `;lr`.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        lex::param(&self.params, name)
    }

    /// `host[:port]`, IPv6 with brackets: what goes after `SIP/2.0/UDP ` or
    /// into a socket-address lookup.
    pub fn host_port(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.clone(),
        }
    }

    /// The `transport` parameter, if present with a value.
    pub fn transport(&self) -> Option<&str> {
        self.param("transport").flatten()
    }
}

fn parse_tel(rest: &str) -> Result<SipUri, SipParseError> {
    let (number, params) = match rest.split_once(';') {
        Some((n, p)) => (n, parse_uri_params(&format!(";{p}"))?),
        None => (rest, Vec::new()),
    };
    let digits = number.strip_prefix('+').unwrap_or(number);
    if digits.is_empty()
        || !digits
            .chars()
            .all(|c| c.is_ascii_hexdigit() || "*#-.()".contains(c))
    {
        return Err(err(format!("bad telephone number {number:?}")));
    }
    Ok(SipUri {
        scheme: Scheme::Tel,
        user: Some(number.to_string()),
        password: None,
        host: String::new(),
        port: None,
        params,
        headers: Vec::new(),
    })
}

/// `;a=b;c`: values run to the next `;` and may hold `:` (`maddr=sip:…`
/// style values are seen in the wild).
fn parse_uri_params(s: &str) -> Result<Params, SipParseError> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let s = s.strip_prefix(';').unwrap_or(s);
    s.split(';')
        .map(|p| {
            let (name, value) = match p.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (p, None),
            };
            if name.is_empty() || value.as_deref() == Some("") {
                return Err(err(format!("bad URI parameter {p:?}")));
            }
            Ok((name.to_string(), value))
        })
        .collect()
}

fn parse_uri_headers(s: &str) -> Result<Vec<(String, String)>, SipParseError> {
    s.split('&')
        .map(|h| match h.split_once('=') {
            Some((n, v)) if !n.is_empty() => Ok((n.to_string(), v.to_string())),
            _ => Err(err(format!("bad URI header {h:?}"))),
        })
        .collect()
}

/// Every `%` must start a `%HH` escape.
fn check_escapes(s: &str) -> Result<(), SipParseError> {
    let b = s.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'%'
            && !(i + 2 < b.len() && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit())
        {
            return Err(err(format!("bad % escape in URI {s:?}")));
        }
    }
    Ok(())
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.scheme.as_str())?;
        if self.scheme == Scheme::Tel {
            f.write_str(self.user.as_deref().unwrap_or(""))?;
        } else {
            if let Some(user) = &self.user {
                f.write_str(user)?;
                if let Some(pw) = &self.password {
                    write!(f, ":{pw}")?;
                }
                f.write_str("@")?;
            }
            f.write_str(&self.host_port())?;
        }
        lex::write_params(f, &self.params)?;
        for (i, (name, value)) in self.headers.iter().enumerate() {
            let sep = if i == 0 { '?' } else { '&' };
            write!(f, "{sep}{name}={value}")?;
        }
        Ok(())
    }
}
