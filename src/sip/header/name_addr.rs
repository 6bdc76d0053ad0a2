//! name-addr / addr-spec values: From, To, Contact, Route, Record-Route,
//! Refer-To… (RFC 3261 §20.10, §25.1).

use std::fmt;

use super::lex::{self, Params, err};
use crate::sip::SipParseError;

/// `"Display" <uri;uri-params>;header-params`, or a bare addr-spec, or the
/// Contact wildcard `*` (then `uri` is `"*"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// The display name, unquoted and unescaped; `None` when absent.
    pub display: Option<String>,
    /// The URI as written (any scheme: RFC 4475 §3.3.4 has `isbn:` and `http:`).
    pub uri: String,
    /// Header parameters (`tag`, `expires`, `q`, …) as written.
    pub params: Params,
}

impl NameAddr {
    /// Parses one value. Without `<>`, everything after the first `;`
    /// is a header parameter (RFC 3261 §20.10), and the URI must not hold
    /// `,` `?` or `;` (RFC 4475 §3.1.2.13). A display name is either a quoted
    /// string or tokens (RFC 4475 §3.1.2.15 rejects `Bell, Alexander`); the
    /// URI inside `<>` must not contain spaces (§3.1.2.14).
    pub fn parse(s: &str) -> Result<Self, SipParseError> {
        let s = lex::trim_wsp(s);
        if s == "*" {
            return Ok(NameAddr {
                display: None,
                uri: "*".to_string(),
                params: Vec::new(),
            });
        }
        let (display, uri, params) = if let Some(lt) = find_laquot(s)? {
            let display = parse_display(lex::trim_wsp(&s[..lt]))?;
            let after = &s[lt + 1..];
            let gt = after
                .find('>')
                .ok_or_else(|| err(format!("missing '>' in {s:?}")))?;
            let rest = lex::trim_wsp(&after[gt + 1..]);
            let params = match rest {
                "" => None,
                r => Some(
                    r.strip_prefix(';')
                        .ok_or_else(|| err(format!("text after '>' in {s:?}")))?,
                ),
            };
            (display, &after[..gt], params)
        } else {
            let (uri, params) = match s.split_once(';') {
                Some((u, p)) => (lex::trim_wsp(u), Some(p)),
                None => (s, None),
            };
            if uri.contains([',', '?']) {
                return Err(err(format!("URI with ',' or '?' must be in <>: {s:?}")));
            }
            (None, uri, params)
        };
        if lex::uri_scheme(uri).is_none()
            || uri
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"'))
        {
            return Err(err(format!("bad URI {uri:?}")));
        }
        Ok(NameAddr {
            display,
            uri: uri.to_string(),
            params: match params {
                Some(p) => lex::parse_params(p)?,
                None => Vec::new(),
            },
        })
    }

    /// Whether this is the Contact wildcard `*`.
    pub fn is_star(&self) -> bool {
        self.uri == "*"
    }

    /// The `tag` parameter (dialog identification).
    pub fn tag(&self) -> Option<&str> {
        self.param("tag").flatten()
    }

    /// Sets (or replaces) the `tag` parameter: the UAS does this on To.
    pub fn set_tag(&mut self, tag: &str) {
        lex::set_param(&mut self.params, "tag", Some(tag.to_string()))
    }

    /// A header parameter by name (case-insensitive).
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        lex::param(&self.params, name)
    }
}

/// The top-level `<` (not inside a quoted string), if any; an unterminated
/// quoted string is an error (RFC 4475 §3.1.2.6).
fn find_laquot(s: &str) -> Result<Option<usize>, SipParseError> {
    let (mut in_quotes, mut escaped) = (false, false);
    for (i, c) in s.char_indices() {
        if in_quotes {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_quotes = false,
                _ => {}
            }
        } else if c == '"' {
            in_quotes = true;
        } else if c == '<' {
            return Ok(Some(i));
        }
    }
    if in_quotes {
        return Err(err(format!("unterminated quoted string in {s:?}")));
    }
    Ok(None)
}

fn parse_display(d: &str) -> Result<Option<String>, SipParseError> {
    if d.is_empty() {
        return Ok(None);
    }
    if d.starts_with('"') {
        let (text, rest) = lex::read_quoted(d)?;
        if !lex::trim_wsp(rest).is_empty() {
            return Err(err(format!("text after display name {d:?}")));
        }
        return Ok(Some(text));
    }
    let words: Vec<&str> = d.split(lex::is_wsp).filter(|w| !w.is_empty()).collect();
    if words.iter().all(|w| lex::is_token(w)) {
        Ok(Some(words.join(" ")))
    } else {
        Err(err(format!("display name {d:?} must be quoted")))
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_star() {
            return f.write_str("*");
        }
        if let Some(display) = &self.display {
            write!(f, "{} ", lex::quote(display))?;
        }
        write!(f, "<{}>", self.uri)?;
        lex::write_params(f, &self.params)
    }
}
