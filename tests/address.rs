//! Property tests for `stox::address`: the escapes round-trip for any text, and
//! no input — however hostile — makes the parsers panic.

use proptest::prelude::*;
use stox::address::{
    Dialled, SipAddress, escape_node, normalize_number, parse_dialled, percent_decode,
    percent_encode_param, percent_encode_user, sip_caller_to_jid_localpart, unescape_node,
    unescape_node_strict,
};

/// Text rich in the characters the escapes care about, plus anything at all.
fn tricky() -> impl Strategy<Value = String> {
    prop_oneof![r#"[\\ "&'/:<>@%#a-z0-9é2f4c5]{0,24}"#, any::<String>(),]
}

/// A valid host as `sip_caller_to_jid_localpart` receives it off the wire.
fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,8}[a-z0-9]\\.[a-z]{2,5}",
        (1u8..=254, 0u8..=255, 0u8..=255, 1u8..=254)
            .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
        Just("[2001:db8::1]".to_owned()),
    ]
    .prop_flat_map(|h| {
        prop_oneof![
            Just(h.clone()),
            (1u16..).prop_map(move |p| format!("{h}:{p}"))
        ]
    })
}

proptest! {
    #[test]
    fn escape_round_trips(s in tricky()) {
        let escaped = escape_node(&s);
        prop_assert_eq!(unescape_node(&escaped), s.clone());
        // Escaped text holds none of the characters a localpart forbids.
        prop_assert!(!escaped.contains(['@', '/', ' ', '"', '&', '\'', ':', '<', '>']));
    }

    #[test]
    fn escape_of_text_without_backslashes_unescapes_strictly(s in "[^\\\\]{0,24}") {
        prop_assert_eq!(unescape_node_strict(&escape_node(&s)), Ok(s));
    }

    #[test]
    fn percent_round_trips(s in tricky()) {
        prop_assert_eq!(percent_decode(&percent_encode_user(&s)), Ok(s.clone()));
        prop_assert_eq!(percent_decode(&percent_encode_param(&s)), Ok(s.clone()));
        let enc = percent_encode_user(&s);
        prop_assert!(enc.is_ascii());
        let forbidden = ['#', '[', '\\', ']', '^', '`', '{', '|', '}', '@', ' ', ':'];
        prop_assert!(!enc.contains(forbidden), "{} holds a forbidden character", enc);
    }

    #[test]
    fn parsers_never_panic(s in tricky(), r in proptest::option::of(tricky())) {
        let _ = parse_dialled(&s, r.as_deref());
        let _ = percent_decode(&s);
        let _ = unescape_node_strict(&s);
        let _ = normalize_number(&s);
        let _ = sip_caller_to_jid_localpart(Some(&s), &s);
    }

    #[test]
    fn sip_callers_dial_back_to_themselves(
        user in proptest::option::of("[a-zA-Z'&/ ._!~-][a-zA-Z0-9'&/ @._!~-]{0,12}"),
        host in host(),
        gr in proptest::option::of("[a-z0-9]{1,8}"),
    ) {
        // Users that read as numbers dial back as numbers; the regex starts
        // with a non-digit to keep this about SIP addresses.
        let local = sip_caller_to_jid_localpart(user.as_deref(), &host);
        let wire_user = user.as_deref().map(percent_encode_user);
        prop_assert_eq!(sip_caller_to_jid_localpart(wire_user.as_deref(), &host), local.clone());
        let expected = Dialled::Sip(SipAddress { user: user.clone(), host: host.clone(), gr: gr.clone() });
        prop_assert_eq!(parse_dialled(&local, gr.as_deref()), Ok(expected));
    }

    #[test]
    fn numbers_are_stable(n in "\\+?[0-9]{1,15}") {
        let normal = normalize_number(&n).expect("digits normalise");
        prop_assert_eq!(normalize_number(&normal), Some(normal.clone()));
        prop_assert_eq!(sip_caller_to_jid_localpart(Some(&normal), "pbx.org"), normal.clone());
        prop_assert_eq!(parse_dialled(&normal, None), Ok(Dialled::Number(normal)));
    }
}
