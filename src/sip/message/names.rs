//! Header names: compact forms (RFC 3261 §7.3.3 and the IANA "Header Fields"
//! registry) and canonical capitalisation, so that lookups, logs and the bytes
//! we send use one spelling whatever the peer wrote.

use std::borrow::Cow;

/// IANA compact forms. Matched case-insensitively (`V:` is `Via`).
const COMPACT: &[(char, &str)] = &[
    ('a', "Accept-Contact"),
    ('b', "Referred-By"),
    ('c', "Content-Type"),
    ('d', "Request-Disposition"),
    ('e', "Content-Encoding"),
    ('f', "From"),
    ('i', "Call-ID"),
    ('j', "Reject-Contact"),
    ('k', "Supported"),
    ('l', "Content-Length"),
    ('m', "Contact"),
    ('n', "Identity-Info"),
    ('o', "Event"),
    ('r', "Refer-To"),
    ('s', "Subject"),
    ('t', "To"),
    ('u', "Allow-Events"),
    ('v', "Via"),
    ('x', "Session-Expires"),
    ('y', "Identity"),
];

/// Long names whose canonical spelling is not plain Title-Case, plus the
/// common ones, so that `CALL-ID` becomes `Call-ID` and `cseq` `CSeq`.
const CANONICAL: &[&str] = &[
    "Accept",
    "Accept-Contact",
    "Accept-Encoding",
    "Accept-Language",
    "Alert-Info",
    "Allow",
    "Allow-Events",
    "Authentication-Info",
    "Authorization",
    "Call-ID",
    "Call-Info",
    "Contact",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-Type",
    "CSeq",
    "Date",
    "Error-Info",
    "Event",
    "Expires",
    "From",
    "Identity",
    "Identity-Info",
    "In-Reply-To",
    "Max-Forwards",
    "MIME-Version",
    "Min-Expires",
    "Min-SE",
    "Organization",
    "P-Asserted-Identity",
    "P-Early-Media",
    "P-Preferred-Identity",
    "Path",
    "Priority",
    "Privacy",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Proxy-Require",
    "RAck",
    "Reason",
    "Record-Route",
    "Refer-To",
    "Referred-By",
    "Reject-Contact",
    "Replaces",
    "Reply-To",
    "Request-Disposition",
    "Require",
    "Retry-After",
    "Route",
    "RSeq",
    "Server",
    "Service-Route",
    "Session-Expires",
    "SIP-ETag",
    "SIP-If-Match",
    "Subject",
    "Subscription-State",
    "Supported",
    "Timestamp",
    "To",
    "Unsupported",
    "User-Agent",
    "Via",
    "Warning",
    "WWW-Authenticate",
];

/// The canonical spelling of a header name: compact forms expanded, known
/// names in their RFC capitalisation, unknown names as written.
pub fn canonical_header_name(name: &str) -> Cow<'_, str> {
    let mut chars = name.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        let c = c.to_ascii_lowercase();
        if let Some((_, long)) = COMPACT.iter().find(|(short, _)| *short == c) {
            return Cow::Borrowed(long);
        }
    }
    match CANONICAL
        .iter()
        .find(|known| known.eq_ignore_ascii_case(name))
    {
        Some(known) => Cow::Borrowed(known),
        None => Cow::Borrowed(name),
    }
}

/// Whether two header names denote the same header (case-insensitive, compact
/// forms included).
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    canonical_header_name(a).eq_ignore_ascii_case(&canonical_header_name(b))
}
