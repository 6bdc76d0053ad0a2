//! The typed ways an address can be wrong.

use std::fmt;

/// Why a dialled address, escape or number was refused.
///
/// Each variant carries the offending text so that the error sent back to the
/// caller (and the log line) says *what* was wrong, not only that something was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressError {
    /// The JID localpart was empty: there is nothing to dial.
    EmptyLocalpart,
    /// `user@host` with nothing before the `@` (e.g. `\40pbx.example.org`).
    EmptyUser,
    /// A `\` that does not start one of the XEP-0106 escapes (`\20` … `\5c`).
    /// Dialled addresses are typed by people; a stray backslash is almost always
    /// a mistyped escape, and calling a different address than meant is worse
    /// than an error.
    InvalidEscape(String),
    /// A `%` not followed by two hex digits.
    InvalidPercentEncoding(String),
    /// Percent-decoding produced bytes that are not UTF-8.
    InvalidUtf8,
    /// Looks like a telephone number (starts with `+`, a digit, `*` or `#`) but
    /// holds something other than digits, `*`, `#` and visual separators, or is
    /// not a valid E.164 number after a `+`.
    InvalidNumber(String),
    /// Not a host name, IPv4 address or bracketed IPv6 address with an optional port.
    InvalidHost(String),
    /// Neither a number nor `user\40host` nor a host: nothing we know how to dial.
    NotAnAddress(String),
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressError::EmptyLocalpart => write!(f, "empty address"),
            AddressError::EmptyUser => write!(f, "empty user before '@'"),
            AddressError::InvalidEscape(s) => {
                write!(
                    f,
                    "invalid JID escape {s:?} (XEP-0106: \\20 \\22 \\26 \\27 \\2f \\3a \\3c \\3e \\40 \\5c)"
                )
            }
            AddressError::InvalidPercentEncoding(s) => {
                write!(f, "invalid percent-encoding {s:?}")
            }
            AddressError::InvalidUtf8 => write!(f, "percent-decoded bytes are not UTF-8"),
            AddressError::InvalidNumber(s) => write!(f, "{s:?} is not a valid telephone number"),
            AddressError::InvalidHost(s) => write!(f, "{s:?} is not a valid host[:port]"),
            AddressError::NotAnAddress(s) => write!(
                f,
                "{s:?} is neither a number nor user\\40host nor a host name"
            ),
        }
    }
}

impl std::error::Error for AddressError {}
