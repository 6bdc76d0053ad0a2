//! Addresses across the gateway: JID ⇄ SIP URI (RFC 7247 §5, XEP-0106, E.164).
//!
//! Every party on the SIP side appears to XMPP users as a JID at the gateway's
//! own domain (e.g. `sip.example.net`); the localpart says who:
//!
//! | localpart                  | means                                        |
//! |----------------------------|----------------------------------------------|
//! | `+15551234567`             | an E.164 number, dialled via a trunk         |
//! | `1000`, `*97`              | an extension or short code, as dialled       |
//! | `alice\40pbx.example.org`  | `sip:alice@pbx.example.org` (XEP-0106 `\40` = `@`) |
//! | `pbx.example.org`          | `sip:pbx.example.org` (no user part)         |
//!
//! Going the other way, an XMPP user's JID becomes a SIP URI by RFC 7247 §5.2
//! ([`jid_to_sip_uri`]), and a SIP caller becomes a localpart at the gateway
//! ([`sip_caller_to_jid_localpart`]) that, dialled back, reaches the same party.
//! Everything here is pure string work: no DNS, no nodeprep (RFC 7247 makes it
//! optional, and the XMPP server applies PRECIS to what it routes anyway).

mod error;
mod escape;
mod host;
mod number;
mod percent;

pub use error::AddressError;
pub use escape::{escape_node, unescape_node, unescape_node_strict};
pub use host::split_hostport;
pub use number::normalize_number;
pub use percent::{percent_decode, percent_encode_param, percent_encode_user};

/// What an XMPP user dialled, read from the localpart (and resource) of the
/// gateway JID they called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialled {
    /// A telephone number, normalised by [`normalize_number`]: `+` and digits for
    /// E.164, otherwise digits, `*` and `#` exactly as dialled.
    Number(String),
    /// A SIP address, to be called directly (if policy allows).
    Sip(SipAddress),
}

/// A SIP address of record, decoded: what [`SipAddress::to_uri`] encodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipAddress {
    /// The user part, unescaped and percent-decoded; `None` for `sip:host`.
    pub user: Option<String>,
    /// Host as written in a URI (IPv6 in brackets), possibly with `:port`.
    pub host: String,
    /// The `gr` URI parameter (RFC 5627 GRUU), from the dialled JID's resource
    /// (RFC 7247 §5.2: the resource MAY become `gr`).
    pub gr: Option<String>,
}

impl SipAddress {
    /// The `sip:` URI, user percent-encoded (RFC 7247 §5.2), e.g.
    /// `sip:alice@pbx.example.org;gr=qux`.
    pub fn to_uri(&self) -> String {
        let mut uri = String::from("sip:");
        if let Some(user) = &self.user {
            uri.push_str(&percent_encode_user(user));
            uri.push('@');
        }
        uri.push_str(&self.host);
        if let Some(gr) = &self.gr {
            uri.push_str(";gr=");
            uri.push_str(&percent_encode_param(gr));
        }
        uri
    }
}

/// Reads what an XMPP user dialled from the localpart (and resource) of the
/// gateway JID they called.
///
/// The localpart is XEP-0106-unescaped first, strictly: a stray `\` is an
/// error (see [`AddressError::InvalidEscape`]). Then, in this order:
/// `user@host` is a [`Dialled::Sip`] (split at the last `@`, since a host
/// cannot hold one); an IPv4 or bracketed IPv6 host is a SIP address without a
/// user (checked before numbers, because `.` is also a number separator);
/// anything that normalises as a number is a [`Dialled::Number`]; a host name
/// with a dot is a SIP address without a user. The resource becomes `gr` for
/// SIP addresses and is ignored for numbers.
pub fn parse_dialled(localpart: &str, resource: Option<&str>) -> Result<Dialled, AddressError> {
    if localpart.is_empty() {
        return Err(AddressError::EmptyLocalpart);
    }
    let text = unescape_node_strict(localpart)?;
    let gr = resource.filter(|r| !r.is_empty()).map(str::to_owned);
    if let Some((user, hostport)) = text.rsplit_once('@') {
        if user.is_empty() {
            return Err(AddressError::EmptyUser);
        }
        split_hostport(hostport)?;
        return Ok(Dialled::Sip(SipAddress {
            user: Some(user.to_owned()),
            host: hostport.to_owned(),
            gr,
        }));
    }
    let host_only = |host: String| {
        Dialled::Sip(SipAddress {
            user: None,
            host,
            gr: gr.clone(),
        })
    };
    if let Ok((host, _)) = split_hostport(&text)
        && (host.starts_with('[') || host::is_ipv4(&host))
    {
        return Ok(host_only(text));
    }
    if let Some(number) = normalize_number(&text) {
        return Ok(Dialled::Number(number));
    }
    if number::looks_like_number(&text) {
        return Err(AddressError::InvalidNumber(text));
    }
    match split_hostport(&text) {
        Ok((host, _)) if host.contains('.') => Ok(host_only(text)),
        Ok(_) => Err(AddressError::NotAnAddress(text)),
        Err(e) if text.contains('.') => Err(e),
        Err(_) => Err(AddressError::NotAnAddress(text)),
    }
}

/// The Request-URI for calling `number` through a trunk at `trunk_hostport`,
/// e.g. `sip:+15551234567@127.0.0.1:5080;user=phone`.
///
/// `user=phone` (RFC 3261 §19.1.1) is added only for global (`+`) numbers: it
/// tells the far end the user part is a telephone-subscriber, which an
/// extension like `1000` is not necessarily. `#` is percent-encoded as SIP requires.
pub fn number_request_uri(number: &str, trunk_hostport: &str) -> String {
    let mut uri = format!("sip:{}@{trunk_hostport}", percent_encode_user(number));
    if number.starts_with('+') {
        uri.push_str(";user=phone");
    }
    uri
}

/// An XMPP user's JID as a SIP URI, RFC 7247 §5.2: unescape `\26` `\27` `\2f`,
/// percent-encode the user part, the resource (if any) as `;gr=`.
/// `alice@example.net` → `sip:alice@example.net`; a domain-only JID becomes
/// `sip:domain`.
pub fn jid_to_sip_uri(bare_jid: &str, resource: Option<&str>) -> String {
    let (local, domain) = match bare_jid.split_once('@') {
        Some((l, d)) => (Some(l), d),
        None => (None, bare_jid),
    };
    SipAddress {
        user: local.map(escape::unescape_rfc7247),
        host: domain.to_owned(),
        gr: resource.filter(|r| !r.is_empty()).map(str::to_owned),
    }
    .to_uri()
}

/// The localpart (at the gateway's domain) that stands for a SIP caller, such
/// that dialling it back with [`parse_dialled`] reaches the same party.
///
/// The user part is percent-decoded first (kept raw if the escapes are broken:
/// this is an identity to show, and refusing the call over it would be worse).
/// A global number (`+…`, visual separators allowed as RFC 3966 does) is
/// normalised; an all-digit (`*`, `#`) user is kept as is; otherwise
/// `user@host` is XEP-0106-escaped (`bob@pbx.org` → `bob\40pbx.org`). Without a
/// user, the escaped host.
pub fn sip_caller_to_jid_localpart(user: Option<&str>, host: &str) -> String {
    let Some(user) = user.filter(|u| !u.is_empty()) else {
        return escape_node(host);
    };
    let decoded = percent_decode(user).unwrap_or_else(|_| user.to_owned());
    let local_number = !decoded.is_empty()
        && decoded
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#');
    if local_number {
        return decoded;
    }
    if decoded.starts_with('+')
        && let Some(n) = normalize_number(&decoded)
    {
        return n;
    }
    escape_node(&format!("{decoded}@{host}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sip(user: Option<&str>, host: &str, gr: Option<&str>) -> Dialled {
        Dialled::Sip(SipAddress {
            user: user.map(Into::into),
            host: host.into(),
            gr: gr.map(Into::into),
        })
    }

    #[test]
    fn dialled_numbers() {
        let n = |s: &str| Ok(Dialled::Number(s.into()));
        assert_eq!(parse_dialled("+15551234567", None), n("+15551234567"));
        assert_eq!(
            parse_dialled("+1 555 123-4567", Some("r")),
            n("+15551234567")
        );
        assert_eq!(
            parse_dialled(r"+1\20(555)\20123-4567", None),
            n("+15551234567")
        );
        assert_eq!(parse_dialled("1000", None), n("1000"));
        assert_eq!(parse_dialled("*97", None), n("*97"));
        assert_eq!(parse_dialled("#31#", None), n("#31#"));
        assert_eq!(parse_dialled("555.123.4567", None), n("5551234567"));
    }

    #[test]
    fn dialled_sip_addresses() {
        assert_eq!(
            parse_dialled(r"alice\40pbx.example.org", Some("qux")),
            Ok(sip(Some("alice"), "pbx.example.org", Some("qux")))
        );
        assert_eq!(
            parse_dialled(r"o\27malley\40x.org", None),
            Ok(sip(Some("o'malley"), "x.org", None))
        );
        assert_eq!(
            parse_dialled(r"a\40b\40[2001:db8::1]\3a5080", Some("")),
            Ok(sip(Some("a@b"), "[2001:db8::1]:5080", None))
        );
        assert_eq!(
            parse_dialled(r"1000\4010.0.0.1\3a5080", None),
            Ok(sip(Some("1000"), "10.0.0.1:5080", None))
        );
        assert_eq!(
            parse_dialled("pbx.example.org", None),
            Ok(sip(None, "pbx.example.org", None))
        );
        assert_eq!(
            parse_dialled(r"192.0.2.1\3a5060", None),
            Ok(sip(None, "192.0.2.1:5060", None))
        );
    }

    #[test]
    fn hostile_dialled_input_is_an_error() {
        use AddressError::*;
        assert_eq!(parse_dialled("", None), Err(EmptyLocalpart));
        assert_eq!(parse_dialled(r"\", None), Err(InvalidEscape(r"\".into())));
        assert_eq!(
            parse_dialled(r"alice\4Opbx.org", None),
            Err(InvalidEscape(r"\4O".into()))
        );
        assert_eq!(parse_dialled(r"\40pbx.org", None), Err(EmptyUser));
        assert_eq!(
            parse_dialled(r"alice\40", None),
            Err(InvalidHost("".into()))
        );
        assert_eq!(
            parse_dialled(r"alice\40pb x", None),
            Err(InvalidHost("pb x".into()))
        );
        assert_eq!(
            parse_dialled("+1555abc", None),
            Err(InvalidNumber("+1555abc".into()))
        );
        assert_eq!(parse_dialled("12a", None), Err(InvalidNumber("12a".into())));
        assert_eq!(
            parse_dialled("alice", None),
            Err(NotAnAddress("alice".into()))
        );
        assert_eq!(
            parse_dialled("bad_host.org", None),
            Err(InvalidHost("bad_host.org".into()))
        );
    }

    #[test]
    fn rfc7247_examples() {
        // sip:o'malley@x ↔ o\27malley@x
        assert_eq!(jid_to_sip_uri(r"o\27malley@x", None), "sip:o'malley@x");
        assert_eq!(
            sip_caller_to_jid_localpart(Some("o'malley"), "x"),
            r"o\27malley\40x"
        );
        // baz@x/qux ↔ sip:baz@x;gr=qux
        assert_eq!(jid_to_sip_uri("baz@x", Some("qux")), "sip:baz@x;gr=qux");
        assert_eq!(
            parse_dialled(r"baz\40x", Some("qux")).map(|d| match d {
                Dialled::Sip(a) => a.to_uri(),
                Dialled::Number(n) => n,
            }),
            Ok("sip:baz@x;gr=qux".into())
        );
    }

    #[test]
    fn jid_to_uri_escaping() {
        assert_eq!(
            jid_to_sip_uri("alice@example.net", None),
            "sip:alice@example.net"
        );
        assert_eq!(jid_to_sip_uri(r"a\26b\2fc@x", None), "sip:a&b/c@x");
        // Other escapes stay escaped; the backslash is percent-encoded (RFC 7247).
        assert_eq!(jid_to_sip_uri(r"a\20b@x", None), "sip:a%5C20b@x");
        assert_eq!(
            jid_to_sip_uri("zoë#1@x", Some("phone 1")),
            "sip:zo%C3%AB%231@x;gr=phone%201"
        );
        assert_eq!(jid_to_sip_uri("example.net", None), "sip:example.net");
    }

    #[test]
    fn to_uri_encodes_user_and_gr() {
        let a = SipAddress {
            user: Some("a b#".into()),
            host: "h:5062".into(),
            gr: Some("x;y".into()),
        };
        assert_eq!(a.to_uri(), "sip:a%20b%23@h:5062;gr=x%3By");
        let a = SipAddress {
            user: None,
            host: "[::1]".into(),
            gr: None,
        };
        assert_eq!(a.to_uri(), "sip:[::1]");
    }

    #[test]
    fn number_request_uris() {
        assert_eq!(
            number_request_uri("+15551234567", "127.0.0.1:5080"),
            "sip:+15551234567@127.0.0.1:5080;user=phone"
        );
        assert_eq!(number_request_uri("1000", "pbx"), "sip:1000@pbx");
        assert_eq!(number_request_uri("#31#*9", "pbx"), "sip:%2331%23*9@pbx");
    }

    #[test]
    fn callers_as_localparts() {
        assert_eq!(
            sip_caller_to_jid_localpart(Some("+15551234567"), "pbx"),
            "+15551234567"
        );
        assert_eq!(
            sip_caller_to_jid_localpart(Some("+1-555-123-4567"), "pbx"),
            "+15551234567"
        );
        assert_eq!(sip_caller_to_jid_localpart(Some("1000"), "pbx"), "1000");
        assert_eq!(sip_caller_to_jid_localpart(Some("%2A97"), "pbx"), "*97");
        assert_eq!(
            sip_caller_to_jid_localpart(Some("bob"), "pbx.org"),
            r"bob\40pbx.org"
        );
        assert_eq!(
            sip_caller_to_jid_localpart(Some("b%20ob"), "pbx.org:5070"),
            r"b\20ob\40pbx.org\3a5070"
        );
        assert_eq!(
            sip_caller_to_jid_localpart(Some("bad%zz"), "h.org"),
            r"bad%zz\40h.org"
        );
        assert_eq!(sip_caller_to_jid_localpart(None, "pbx.org"), "pbx.org");
        assert_eq!(sip_caller_to_jid_localpart(Some(""), "[::1]"), r"[\3a\3a1]");
    }

    #[test]
    fn callers_dial_back_to_the_same_party() {
        for (user, host) in [
            (Some("bob"), "pbx.org"),
            (Some("o'malley"), "x.org:5070"),
            (Some("a b&c"), "[2001:db8::1]"),
            (None, "pbx.example.org"),
            (None, "[::1]:5062"),
            (None, "192.0.2.1"),
        ] {
            let local = sip_caller_to_jid_localpart(user, host);
            let expected = sip(user, host, None);
            assert_eq!(parse_dialled(&local, None), Ok(expected), "{local}");
        }
    }
}
