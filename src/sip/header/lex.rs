//! Small lexical helpers shared by the header, URI and message parsers: RFC 3261
//! §25.1 tokens, quoted strings, top-level splitting and generic parameters.
//!
//! Everything works on `&str` that has already been unfolded (folded lines are
//! joined with one space by the message parser), so "LWS" here is just SP/HTAB.

use crate::sip::SipParseError;

/// Shorthand for a parse error with a message.
pub(crate) fn err(message: impl Into<String>) -> SipParseError {
    SipParseError {
        message: message.into(),
    }
}

/// `token` characters (RFC 3261 §25.1).
pub(crate) fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c)
}

/// A non-empty run of token characters.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_token_char)
}

/// SP or HTAB.
pub(crate) fn is_wsp(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Trims SP/HTAB only (not other Unicode whitespace, which is data in SIP).
pub(crate) fn trim_wsp(s: &str) -> &str {
    s.trim_matches(is_wsp)
}

/// Reads a quoted string at the start of `s` (which must begin with `"`).
/// Returns the unescaped content and the rest after the closing quote.
pub(crate) fn read_quoted(s: &str) -> Result<(String, &str), SipParseError> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    if chars.next().map(|(_, c)| c) != Some('"') {
        return Err(err("expected a quoted string"));
    }
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, &s[i + 1..])),
            '\\' => match chars.next() {
                Some((_, escaped)) => out.push(escaped),
                None => break,
            },
            _ => out.push(c),
        }
    }
    Err(err("unterminated quoted string"))
}

/// Writes `s` as a quoted string, escaping `"` and `\`.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Splits on `sep` where it is not inside a quoted string or `<…>`.
/// Unbalanced quotes simply run to the end (callers parse each piece and
/// report the error there).
pub(crate) fn split_top(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut in_quotes, mut escaped, mut angle) = (false, false, false);
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if in_quotes {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_quotes = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_quotes = true,
            '<' => angle = true,
            '>' => angle = false,
            _ if c == sep && !angle => {
                parts.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// A generic parameter list as stored by the typed views: name as written,
/// value as written (quoted values keep their quotes, so they write back
/// unchanged).
pub type Params = Vec<(String, Option<String>)>;

/// Parses header parameters: the text after the first `;` of a Via, From, To,
/// Contact… value, i.e. `a=b ; c ; d = "x;y"`. LWS around `;` and `=` is
/// allowed (RFC 3261 SEMI / EQUAL). Unquoted values may contain `:` (`maddr`,
/// `received` with IPv6, non-standard `x-route=sip:gw1:5070`), which is where
/// rsip went wrong.
pub(crate) fn parse_params(s: &str) -> Result<Params, SipParseError> {
    let mut params = Vec::new();
    for piece in split_top(s, ';') {
        let piece = trim_wsp(piece);
        let (name, value) = match piece.split_once('=') {
            Some((n, v)) => (trim_wsp(n), Some(trim_wsp(v))),
            None => (piece, None),
        };
        if !is_token(name) {
            return Err(err(format!("bad parameter name {name:?}")));
        }
        let value = match value {
            None => None,
            Some(v) if v.starts_with('"') => {
                let (_, rest) = read_quoted(v)?;
                if !rest.is_empty() {
                    return Err(err(format!("text after quoted value of {name}")));
                }
                Some(v.to_string())
            }
            Some(v) if is_param_value(v) => Some(v.to_string()),
            Some(v) => return Err(err(format!("bad value {v:?} for parameter {name}"))),
        };
        params.push((name.to_string(), value));
    }
    Ok(params)
}

/// An unquoted parameter value: token, host (IPv6 in brackets or bare) or the
/// common non-standard URI-with-colons. No whitespace or separators that
/// would change how the header splits.
fn is_param_value(v: &str) -> bool {
    !v.is_empty()
        && v.chars().all(|c| {
            !c.is_control() && !c.is_whitespace() && !matches!(c, '"' | ';' | ',' | '<' | '>')
        })
}

/// Looks a parameter up by name, case-insensitively (parameter names are
/// case-insensitive in RFC 3261). `Some(None)` means present without a value.
pub(crate) fn param<'a>(params: &'a Params, name: &str) -> Option<Option<&'a str>> {
    params
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_deref())
}

/// Replaces the first parameter of that name (case-insensitive) or appends it.
pub(crate) fn set_param(params: &mut Params, name: &str, value: Option<String>) {
    match params
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        Some(slot) => slot.1 = value,
        None => params.push((name.to_string(), value)),
    }
}

/// Writes `;name[=value]` for each parameter.
pub(crate) fn write_params(f: &mut std::fmt::Formatter<'_>, params: &Params) -> std::fmt::Result {
    for (name, value) in params {
        match value {
            Some(v) => write!(f, ";{name}={v}")?,
            None => write!(f, ";{name}")?,
        }
    }
    Ok(())
}

/// A URI scheme followed by `:` at the start of `s` (RFC 3986: ALPHA *( ALPHA /
/// DIGIT / "+" / "-" / "." )). Returns the scheme.
pub(crate) fn uri_scheme(s: &str) -> Option<&str> {
    let (scheme, _) = s.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic() && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)))
        .then_some(scheme)
}

/// Checks a host: `[IPv6]` or a hostname / IPv4 address.
pub(crate) fn check_host(host: &str) -> Result<(), SipParseError> {
    let ok = if let Some(inner) = host.strip_prefix('[') {
        inner.strip_suffix(']').is_some_and(|v6| {
            v6.contains(':')
                && v6
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        })
    } else {
        !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
    };
    if ok {
        Ok(())
    } else {
        Err(err(format!("bad host {host:?}")))
    }
}

/// Splits `host[:port]`, keeping IPv6 brackets on the host.
pub(crate) fn split_host_port(s: &str) -> Result<(String, Option<u16>), SipParseError> {
    let (host, port) = if s.starts_with('[') {
        match s.find(']') {
            Some(end) => {
                let rest = &s[end + 1..];
                let port = match rest.strip_prefix(':') {
                    Some(p) => Some(p),
                    None if rest.is_empty() => None,
                    None => return Err(err(format!("bad host {s:?}"))),
                };
                (&s[..=end], port)
            }
            None => return Err(err(format!("unterminated IPv6 reference {s:?}"))),
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    check_host(host)?;
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => Some(
            p.parse::<u16>()
                .map_err(|_| err(format!("port {p} out of range")))?,
        ),
        Some(p) => return Err(err(format!("bad port {p:?}"))),
    };
    Ok((host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_top_respects_quotes_escapes_and_angles() {
        assert_eq!(
            split_top(r#"a, "b,\"c,", <d,e>;x=1 ,f"#, ','),
            ["a", r#" "b,\"c,""#, " <d,e>;x=1 ", "f"]
        );
        assert_eq!(split_top("", ','), [""]);
        // An unterminated quote runs to the end instead of splitting.
        assert_eq!(split_top(r#""a,b"#, ','), [r#""a,b"#]);
    }

    #[test]
    fn quoted_strings_unescape_and_requote() {
        let (text, rest) = read_quoted(r#""a \"b\" \\c" tail"#).unwrap();
        assert_eq!((text.as_str(), rest), (r#"a "b" \c"#, " tail"));
        assert_eq!(quote(&text), r#""a \"b\" \\c""#);
        assert!(read_quoted(r#""open"#).is_err());
        assert!(read_quoted(r#""ends with escape\"#).is_err());
    }

    #[test]
    fn params_allow_lws_colons_and_quotes() {
        let p = parse_params(r#" a = 1 ; flag ;maddr=sip:gw1:5070; q="x;y""#).unwrap();
        assert_eq!(
            p,
            [
                ("a".to_string(), Some("1".to_string())),
                ("flag".to_string(), None),
                ("maddr".to_string(), Some("sip:gw1:5070".to_string())),
                ("q".to_string(), Some(r#""x;y""#.to_string())),
            ]
        );
        for bad in ["", "a;;b", "a=", "=1", r#"a="x"y"#, "a=b c", "a b"] {
            assert!(parse_params(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hosts_and_ports() {
        assert_eq!(
            split_host_port("[2001:db8::1]:5060").unwrap(),
            ("[2001:db8::1]".to_string(), Some(5060))
        );
        assert_eq!(
            split_host_port("h.example").unwrap(),
            ("h.example".to_string(), None)
        );
        for bad in [
            "",
            "[::1",
            "[::1]5060",
            "h:",
            "h:65536",
            "h:-1",
            "a b",
            "[]",
        ] {
            assert!(split_host_port(bad).is_err(), "{bad:?}");
        }
    }
}
