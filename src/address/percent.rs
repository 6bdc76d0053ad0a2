//! Percent-encoding for SIP URI user parts and parameters (RFC 3261 §25.1).

use super::AddressError;

/// `unreserved` minus alphanumerics (RFC 3261 `mark`).
const MARK: &str = "-_.!~*'()";
/// RFC 3261 `user-unreserved`: legal unescaped in a user part.
const USER_UNRESERVED: &str = "&=+$,;?/";
/// RFC 3261 `param-unreserved`: legal unescaped in a URI parameter value.
const PARAM_UNRESERVED: &str = "[]/:&+$";

fn push_encoded(out: &mut String, s: &str, keep: impl Fn(u8) -> bool) {
    for b in s.bytes() {
        if keep(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || MARK.as_bytes().contains(&b)
}

/// Percent-encodes `s` for a SIP URI user part.
///
/// RFC 7247 §5.2 names ``#%[\]^`{|}`` and non-ASCII bytes; we encode every byte
/// RFC 3261 does not allow bare in `user` (so also space, `"`, `<`, `>`, `@`, `:`),
/// because whatever we put in a Request-URI must parse at the far end.
pub fn percent_encode_user(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_encoded(&mut out, s, |b| {
        unreserved(b) || USER_UNRESERVED.as_bytes().contains(&b)
    });
    out
}

/// Percent-encodes `s` for a URI parameter value such as `;gr=` (RFC 3261 `pvalue`).
pub fn percent_encode_param(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_encoded(&mut out, s, |b| {
        unreserved(b) || PARAM_UNRESERVED.as_bytes().contains(&b)
    });
    out
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Decodes `%XX` escapes. A `%` without two hex digits after it, or bytes that
/// are not UTF-8 once decoded, are errors: the text came off the wire and we
/// refuse to guess what was meant.
pub fn percent_decode(s: &str) -> Result<String, AddressError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let pair = (bytes.get(i + 1).copied().and_then(hex))
                .zip(bytes.get(i + 2).copied().and_then(hex));
            let Some((hi, lo)) = pair else {
                let end = s[i..].char_indices().nth(3).map_or(s.len(), |(j, _)| i + j);
                return Err(AddressError::InvalidPercentEncoding(s[i..end].to_owned()));
            };
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| AddressError::InvalidUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7247_set_and_non_ascii_are_encoded() {
        assert_eq!(
            percent_encode_user("#%[\\]^`{|}"),
            "%23%25%5B%5C%5D%5E%60%7B%7C%7D"
        );
        assert_eq!(percent_encode_user("zoë"), "zo%C3%AB");
        assert_eq!(percent_encode_user("o'malley"), "o'malley");
        assert_eq!(percent_encode_user("a b@c:d"), "a%20b%40c%3Ad");
        assert_eq!(percent_encode_user("+1;x=y&z/?$,"), "+1;x=y&z/?$,");
    }

    #[test]
    fn param_encoding_keeps_param_unreserved() {
        assert_eq!(percent_encode_param("urn:uuid:a/b[1]"), "urn:uuid:a/b[1]");
        assert_eq!(percent_encode_param("a;b=c d"), "a%3Bb%3Dc%20d");
    }

    #[test]
    fn decodes_either_case() {
        assert_eq!(percent_decode("zo%c3%ab%2B").as_deref(), Ok("zoë+"));
    }

    #[test]
    fn bad_escapes_are_errors() {
        assert_eq!(
            percent_decode("a%4"),
            Err(AddressError::InvalidPercentEncoding("%4".into()))
        );
        assert_eq!(
            percent_decode("a%zz1"),
            Err(AddressError::InvalidPercentEncoding("%zz".into()))
        );
        assert_eq!(
            percent_decode("%"),
            Err(AddressError::InvalidPercentEncoding("%".into()))
        );
        assert_eq!(
            percent_decode("%é"),
            Err(AddressError::InvalidPercentEncoding("%é".into()))
        );
        assert_eq!(percent_decode("%FF"), Err(AddressError::InvalidUtf8));
    }
}
