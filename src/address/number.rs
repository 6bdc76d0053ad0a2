//! Telephone numbers as people type them: E.164 with `+`, or PBX extensions
//! and short codes without.

/// Visual separators people put in numbers (RFC 3966 `visual-separator`, plus space).
const VISUAL_SEPARATORS: &[char] = &[' ', '.', '-', '(', ')'];

/// The longest E.164 number, in digits after the `+` (ITU-T E.164 §6).
const E164_MAX_DIGITS: usize = 15;

/// Strips visual separators and checks what is left is a number we can dial.
///
/// `+` followed by 1–15 digits is a global (E.164) number and keeps its `+`.
/// Without `+`, digits, `*` and `#` are a local number, extension or short code
/// (`1000`, `*97`, `#31#`) and are kept exactly as dialled: only the PBX knows
/// what they mean. Anything else left over gives `None`.
pub fn normalize_number(s: &str) -> Option<String> {
    let kept: String = s
        .chars()
        .filter(|c| !VISUAL_SEPARATORS.contains(c))
        .collect();
    match kept.strip_prefix('+') {
        Some(digits) => {
            let ok = (1..=E164_MAX_DIGITS).contains(&digits.len())
                && digits.bytes().all(|b| b.is_ascii_digit());
            ok.then_some(kept)
        }
        None => {
            let ok = !kept.is_empty()
                && kept
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#');
            ok.then_some(kept)
        }
    }
}

/// Whether `s` starts the way a number does, so that a failed
/// [`normalize_number`] is reported as a bad number rather than a bad host.
pub(crate) fn looks_like_number(s: &str) -> bool {
    s.starts_with(|c: char| c == '+' || c == '*' || c == '#' || c == '(' || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_with_separators() {
        assert_eq!(
            normalize_number("+1 (555) 123-4567").as_deref(),
            Some("+15551234567")
        );
        assert_eq!(
            normalize_number("+44.20.7946.0000").as_deref(),
            Some("+442079460000")
        );
    }

    #[test]
    fn local_numbers_and_short_codes_kept_as_dialled() {
        assert_eq!(normalize_number("1000").as_deref(), Some("1000"));
        assert_eq!(normalize_number("*97").as_deref(), Some("*97"));
        assert_eq!(normalize_number("#31#").as_deref(), Some("#31#"));
        assert_eq!(normalize_number("0044 20").as_deref(), Some("004420"));
    }

    #[test]
    fn rejects_what_is_not_a_number() {
        for bad in [
            "",
            "+",
            "   ",
            "+*97",
            "1+2",
            "++1",
            "12a",
            "+1234567890123456",
            "１２",
        ] {
            assert_eq!(normalize_number(bad), None, "{bad:?}");
        }
        assert!(normalize_number("+123456789012345").is_some());
    }
}
