//! XEP-0106 JID escaping: how a SIP `user@host` (or a space, a quote…) fits in
//! one JID localpart at the gateway's domain.

use super::AddressError;

/// The XEP-0106 table: character and the two hex digits after the backslash.
const TABLE: [(char, &str); 10] = [
    (' ', "20"),
    ('"', "22"),
    ('&', "26"),
    ('\'', "27"),
    ('/', "2f"),
    (':', "3a"),
    ('<', "3c"),
    ('>', "3e"),
    ('@', "40"),
    ('\\', "5c"),
];

/// The character escaped as `\<code>`, if `code` is one of the table's (lower
/// case, as XEP-0106 writes them).
fn decode(code: &str) -> Option<char> {
    TABLE.iter().find(|(_, c)| *c == code).map(|(ch, _)| *ch)
}

/// The escape code that starts `s` right after a backslash, if any.
fn code_at(s: &str) -> Option<char> {
    s.get(..2).and_then(decode)
}

/// Escapes `s` for use as a JID localpart (XEP-0106 §3.2).
///
/// A backslash is escaped (`\5c`) only when it is followed by something that
/// would read as an escape; otherwise it stays as is, as the XEP requires. That
/// rule is what makes `unescape_node(&escape_node(s)) == s` for every `s`.
pub fn escape_node(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, ch) in s.char_indices() {
        let escape = match ch {
            '\\' => code_at(&s[i + 1..]).is_some(),
            _ => TABLE.iter().any(|(c, _)| *c == ch),
        };
        if escape {
            let code = TABLE.iter().find(|(c, _)| *c == ch).map(|(_, code)| *code);
            out.push('\\');
            out.push_str(code.unwrap_or_default());
        } else {
            out.push(ch);
        }
    }
    out
}

/// Unescapes a JID localpart (XEP-0106 §3.3). A backslash that does not start a
/// known escape is kept literally, as the XEP says; use [`unescape_node_strict`]
/// where that should be an error.
pub fn unescape_node(s: &str) -> String {
    unescape(s, false).unwrap_or_else(|_| s.to_owned())
}

/// Like [`unescape_node`], but a backslash that does not start a known escape is
/// [`AddressError::InvalidEscape`]. Used for what people dial (see there why).
pub fn unescape_node_strict(s: &str) -> Result<String, AddressError> {
    unescape(s, true)
}

fn unescape(s: &str, strict: bool) -> Result<String, AddressError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('\\') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        match code_at(after) {
            Some(ch) => {
                out.push(ch);
                rest = &after[2..];
            }
            None if strict => {
                let shown: String = rest[pos..].chars().take(3).collect();
                return Err(AddressError::InvalidEscape(shown));
            }
            None => {
                out.push('\\');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Undoes only the escapes RFC 7247 §5.2 names for XMPP → SIP (`\26` `\27`
/// `\2f`): those characters are legal in a SIP user part, while any other
/// backslash is percent-encoded as `%5C` afterwards, keeping it visible.
pub(crate) fn unescape_rfc7247(s: &str) -> String {
    s.replace("\\26", "&")
        .replace("\\27", "'")
        .replace("\\2f", "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_the_whole_table() {
        assert_eq!(
            escape_node("a b\"c&d'e/f:g<h>i@j"),
            r#"a\20b\22c\26d\27e\2ff\3ag\3ch\3ei\40j"#
        );
    }

    #[test]
    fn backslash_escaped_only_before_a_code() {
        assert_eq!(escape_node(r"a\b"), r"a\b");
        assert_eq!(escape_node(r"a\40"), r"a\5c40");
        assert_eq!(escape_node(r"\"), r"\");
        assert_eq!(unescape_node(r"a\5c40"), r"a\40");
    }

    #[test]
    fn lenient_unescape_keeps_stray_backslashes() {
        assert_eq!(unescape_node(r"a\b\40c\"), r"a\b@c\");
        assert_eq!(unescape_node(r"\4"), r"\4");
        // Codes are lower case, as XEP-0106 writes them.
        assert_eq!(unescape_node(r"a\2Fb"), r"a\2Fb");
    }

    #[test]
    fn strict_unescape_rejects_stray_backslashes() {
        assert_eq!(
            unescape_node_strict(r"alice\4Opbx"),
            Err(AddressError::InvalidEscape(r"\4O".into()))
        );
        assert_eq!(
            unescape_node_strict(r"alice\"),
            Err(AddressError::InvalidEscape(r"\".into()))
        );
        assert_eq!(unescape_node_strict(r"o\27malley"), Ok("o'malley".into()));
    }

    #[test]
    fn multibyte_after_backslash_does_not_panic() {
        assert_eq!(unescape_node("\\é"), "\\é");
        assert!(unescape_node_strict("\\é").is_err());
        assert_eq!(escape_node("\\é"), "\\é");
    }

    #[test]
    fn rfc7247_unescapes_only_three() {
        assert_eq!(unescape_rfc7247(r"a\26b\27c\2fd\40e"), r"a&b'c/d\40e");
    }
}
