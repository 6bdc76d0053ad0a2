//! The SIP message layer against real messages (`../shared/corpus/sip`), the
//! 49 RFC 4475 torture messages, the cases rsip gets wrong (IPv6, colon
//! params, folding, compact headers, extension methods) and stream framing.

use proptest::prelude::*;
use stox::sip::{
    CSeq, Method, NameAddr, Request, Scheme, SipMessage, SipUri, Via, default_reason, frame_len,
    parse_message, response_for,
};

/// `$STOX_CORPUS`, else `../shared/corpus` next to the checkout (or next to
/// its parent, for a git worktree under `wt/`).
fn corpus_dir() -> std::path::PathBuf {
    if let Some(dir) = std::env::var_os("STOX_CORPUS") {
        return dir.into();
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        root.join("../shared/corpus"),
        root.join("../../shared/corpus"),
    ]
    .into_iter()
    .find(|p| p.is_dir())
    .expect("shared corpus not found; set STOX_CORPUS")
}

fn corpus_files(folder: &str, prefix: &str) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(corpus_dir().join(folder))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sip"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .filter(|(name, _)| name.starts_with(prefix))
        .collect();
    files.sort();
    files
}

fn parse(text: &str) -> SipMessage {
    parse_message(text.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn request(text: &str) -> Request {
    match parse(text) {
        SipMessage::Request(r) => r,
        SipMessage::Response(_) => panic!("not a request"),
    }
}

/// `to_bytes` then `parse_message` gives the same message, except that
/// Content-Length now states the body length (one line, where the first was).
fn assert_round_trip(m: &SipMessage) {
    let bytes = m.to_bytes();
    let again = parse_message(&bytes).unwrap_or_else(|e| panic!("re-parse failed: {e}"));
    let mut expected = m.clone();
    let len = m.body().len().to_string();
    expected.headers_mut().set("Content-Length", len);
    assert_eq!(again, expected);
    // And writing is a fixed point from there on.
    assert_eq!(again.to_bytes(), bytes);
}

// ---- real messages -----------------------------------------------------------------

#[test]
fn every_corpus_message_parses_validates_and_round_trips() {
    let files = corpus_files("sip", "");
    assert_eq!(files.len(), 22);
    for (name, bytes) in &files {
        let m = parse_message(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let validated = m.validate();
        if name.starts_with("resiprocate-polycom") {
            // Polycom puts `?REQUIRE=replaces` in the Request-URI; RFC 3261
            // §19.1.1 forbids URI headers there and RFC 4475 §3.1.2.11 says to
            // reject: validate does, the parser does not.
            let e = validated.unwrap_err();
            assert!(e.message.contains("Request-URI"), "{name}: {e}");
        } else {
            validated.unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        assert!(m.call_id().is_some(), "{name}");
        assert!(m.cseq().is_some(), "{name}");
        assert_round_trip(&m);
    }
}

#[test]
fn rfc3665_folded_via_is_unfolded() {
    let (_, bytes) = &corpus_files("sip", "rfc3665-3.1-f2")[0];
    let m = parse_message(bytes).unwrap();
    let SipMessage::Response(r) = &m else {
        panic!("not a response")
    };
    assert_eq!((r.status, r.reason.as_str()), (180, "Ringing"));
    let vias = m.headers().values("Via");
    assert_eq!(vias.len(), 1);
    for v in &vias {
        assert!(!v.contains('\n') && !v.contains("  "), "{v:?}");
    }
    let first = Via::parse(&vias[0]).unwrap();
    assert!(first.param("received").flatten().is_some(), "{vias:?}");
    assert!(first.branch().unwrap().starts_with("z9hG4bK"));
}

#[test]
fn volte_ipv6_request_uri_and_tel_from() {
    let (_, bytes) = &corpus_files("sip", "volte-ims-anon-invite")[0];
    let SipMessage::Request(r) = parse_message(bytes).unwrap() else {
        panic!("not a request")
    };
    assert_eq!(r.method, Method::Invite);
    let uri = SipUri::parse(&r.uri).unwrap();
    assert_eq!(uri.host, "[2409:8805:84e3:3603::1]");
    assert_eq!(uri.port, Some(1388));
    assert_eq!(uri.host_port(), "[2409:8805:84e3:3603::1]:1388");
    assert_eq!(uri.to_string(), r.uri);
    let from = NameAddr::parse(r.headers.get("From").unwrap()).unwrap();
    assert!(from.tag().is_some());
    let via = Via::parse(&r.headers.values("Via")[0]).unwrap();
    assert!(via.host.starts_with('['), "{via:?}");
}

#[test]
fn volte_update_via_with_two_values() {
    let (_, bytes) = &corpus_files("sip", "volte-ims-anon-update")[0];
    let m = parse_message(bytes).unwrap();
    let lines = m.headers().get_all("Via").count();
    let vias = m.headers().values("Via");
    assert!(vias.len() > lines, "{vias:?}");
    for v in &vias {
        Via::parse(v).unwrap();
    }
}

#[test]
fn sipjs_websocket_via_and_transport_param() {
    let (_, bytes) = &corpus_files("sip", "sipjs")[0];
    let SipMessage::Request(r) = parse_message(bytes).unwrap() else {
        panic!("not a request")
    };
    let via = Via::parse(r.headers.get("v").unwrap()).unwrap();
    assert_eq!(via.transport, "WSS");
    assert_eq!(SipUri::parse(&r.uri).unwrap().transport(), Some("ws"));
    assert_eq!(r.body.len(), 1440);
}

// ---- RFC 4475 ----------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// parse_message and validate both succeed.
    Ok,
    /// parse_message fails.
    Parse,
    /// parse_message succeeds, validate fails.
    Validate,
}

/// Every RFC 4475 message, what we do with it, and why.
const TORTURE: &[(&str, Expect)] = &[
    // §3.1.1: valid messages; all must parse and validate.
    // Short tortuous INVITE: LWS everywhere, folding, compact Via/Contact/Subject.
    ("3.1.1.1-wsinv", Expect::Ok),
    // Every token character in method, branch, tag, Call-ID; NUL/BEL/DEL as quoted-pairs.
    ("3.1.1.2-intmeth", Expect::Ok),
    // % escapes in URIs, compact `C:` for Content-Type.
    ("3.1.1.3-esc01", Expect::Ok),
    // %00 in user parts.
    ("3.1.1.4-escnull", Expect::Ok),
    // `RE%47IST%45R` is an extension method (not REGISTER); `C%6Fntact` an unknown header.
    ("3.1.1.5-esc02", Expect::Ok),
    // Token display name directly followed by `<`.
    ("3.1.1.6-lwsdisp", Expect::Ok),
    // Long values and 34 Via lines in every case/compact spelling.
    ("3.1.1.7-longreq", Expect::Ok),
    // Octets after Content-Length in a datagram are ignored.
    ("3.1.1.8-dblreq", Expect::Ok),
    // `;` inside the user part of the Request-URI.
    ("3.1.1.9-semiuri", Expect::Ok),
    // SCTP and an UNKNOWN transport in Via.
    ("3.1.1.10-transports", Expect::Ok),
    // Binary multipart body: body is bytes, counted by Content-Length.
    ("3.1.1.11-mpart01", Expect::Ok),
    // UTF-8 and `=` `*` in the reason phrase.
    ("3.1.1.12-unreason", Expect::Ok),
    // Empty reason phrase.
    ("3.1.1.13-noreason", Expect::Ok),
    // §3.1.2: invalid messages.
    // Empty Via/Contact parameters (`;;,;,,`): Via and Contact do not parse.
    ("3.1.2.1-badinv01", Expect::Validate),
    // Content-Length 9999 beyond the datagram.
    ("3.1.2.2-clerr", Expect::Parse),
    // Negative Content-Length.
    ("3.1.2.3-ncl", Expect::Parse),
    // CSeq beyond 32 bits (also Max-Forwards 300 > 255).
    ("3.1.2.4-scalar02", Expect::Validate),
    // Response with CSeq beyond 32 bits.
    ("3.1.2.5-scalarlg", Expect::Validate),
    // Unterminated quoted display name in To.
    ("3.1.2.6-quotbal", Expect::Validate),
    // `<>` around the Request-URI.
    ("3.1.2.7-ltgtruri", Expect::Parse),
    // LWS inside the Request-URI: four request-line elements.
    ("3.1.2.8-lwsruri", Expect::Parse),
    // Several SP between request-line elements.
    ("3.1.2.9-lwsstart", Expect::Parse),
    // SP after the version.
    ("3.1.2.10-trws", Expect::Parse),
    // URI headers (`?Route=`) in the Request-URI: RFC 4475 says reject (400).
    ("3.1.2.11-escruri", Expect::Validate),
    // Bad Date time zone. RFC 4475: an element that does not care about Date
    // may process the request; we never read Date, so we accept.
    ("3.1.2.12-baddate", Expect::Ok),
    // addr-spec with `?` not enclosed in `<>` in Contact.
    ("3.1.2.13-regbadct", Expect::Validate),
    // Spaces inside `<>` in To. RFC 4475 allows liberal acceptance but then
    // forwarding unchanged; a gateway re-writes To, so we reject.
    ("3.1.2.14-badaspec", Expect::Validate),
    // Unquoted display names with `,`. RFC 4475 lets an element infer quotes;
    // we reject (400) rather than guess.
    ("3.1.2.15-baddn", Expect::Validate),
    // SIP/7.0: parse error mentioning "version" (the caller answers 505).
    ("3.1.2.16-badvers", Expect::Parse),
    // CSeq method INVITE on an OPTIONS request.
    ("3.1.2.17-mismatch01", Expect::Validate),
    // CSeq method INVITE on a NEWMETHOD request.
    ("3.1.2.18-mismatch02", Expect::Validate),
    // Status code 4294967301: not three digits.
    ("3.1.2.19-bigcode", Expect::Parse),
    // §3.2: transaction layer. `branch=z9hG4bK` with nothing after it is
    // syntactically fine; the transaction layer decides.
    ("3.2.1-badbranch", Expect::Ok),
    // §3.3: application layer. Missing To/From/Call-ID: validate says 400.
    ("3.3.1-insuf", Expect::Validate),
    // Unknown Request-URI scheme: parses; answering 416 is the caller's job.
    ("3.3.2-unkscm", Expect::Ok),
    // `soap.beep:` Request-URI: same.
    ("3.3.3-novelsc", Expect::Ok),
    // isbn:/http:/name: URIs in To/From/Contact: opaque, syntactically valid.
    ("3.3.4-unksm2", Expect::Ok),
    // Unknown Require/Proxy-Require: 420 is for the application.
    ("3.3.5-bext01", Expect::Ok),
    // Unknown Content-Type: 415 is for the application.
    ("3.3.6-invut", Expect::Ok),
    // Unknown Authorization scheme: for the registrar.
    ("3.3.7-regaut01", Expect::Ok),
    // Two To, From, Call-ID, CSeq: RFC 4475 says 400; validate rejects.
    ("3.3.8-multi01", Expect::Validate),
    // Two different Content-Length values: the body boundary is unknowable.
    ("3.3.9-mcl01", Expect::Parse),
    // 200 OK with a broadcast Via: the transport layer must not reply there.
    ("3.3.10-bcast", Expect::Ok),
    // Max-Forwards 0: a proxy's 483, not a syntax error.
    ("3.3.11-zeromf", Expect::Ok),
    // Contact addr-spec with a header parameter.
    ("3.3.12-cparam01", Expect::Ok),
    // Contact with a URI parameter inside `<>`.
    ("3.3.13-cparam02", Expect::Ok),
    // Escaped Route header inside a `<>` Contact URI: legal.
    ("3.3.14-regescrt", Expect::Ok),
    // Accept that excludes SDP: 488/415 for the application.
    ("3.3.15-sdp01", Expect::Ok),
    // §3.4: RFC 2543 syntax (no branch, no Max-Forwards, no Content-Length):
    // accepted for backward compatibility, body = rest of the datagram.
    ("3.4.1-inv2543", Expect::Ok),
];

#[test]
fn every_rfc4475_message_has_the_expected_outcome() {
    let files = corpus_files("torture", "rfc4475-");
    assert_eq!(files.len(), 49);
    assert_eq!(TORTURE.len(), 49);
    for (name, bytes) in &files {
        let id = name.trim_start_matches("rfc4475-").trim_end_matches(".sip");
        let expected = TORTURE
            .iter()
            .find(|(t, _)| *t == id)
            .unwrap_or_else(|| panic!("{name} is not in TORTURE"))
            .1;
        let got = match parse_message(bytes) {
            Err(_) => Expect::Parse,
            Ok(m) => match m.validate() {
                Ok(()) => {
                    assert_round_trip(&m);
                    Expect::Ok
                }
                Err(_) => Expect::Validate,
            },
        };
        assert_eq!(got, expected, "{name}");
    }
}

fn torture(id: &str) -> SipMessage {
    let (_, bytes) = &corpus_files("torture", &format!("rfc4475-{id}"))[0];
    parse_message(bytes).unwrap()
}

#[test]
fn wsinv_details() {
    let SipMessage::Request(r) = torture("3.1.1.1-") else {
        panic!()
    };
    let h = &r.headers;
    assert_eq!(
        CSeq::parse(h.get("CSeq").unwrap()).unwrap(),
        CSeq {
            seq: 9,
            method: Method::Invite
        }
    );
    let to = NameAddr::parse(h.get("To").unwrap()).unwrap();
    assert_eq!(to.uri, "sip:vivekg@chair-dnrc.example.com");
    assert_eq!(to.tag(), Some("1918181833n"));
    let from = NameAddr::parse(h.get("From").unwrap()).unwrap();
    assert_eq!(from.display.as_deref(), Some("J Rosenberg \\\""));
    assert_eq!(from.tag(), Some("98asjd8"));
    let vias: Vec<Via> = h
        .values("Via")
        .iter()
        .map(|v| Via::parse(v).unwrap())
        .collect();
    let hosts: Vec<&str> = vias.iter().map(|v| v.host.as_str()).collect();
    assert_eq!(
        hosts,
        ["192.0.2.2", "spindle.example.com", "192.168.255.111"]
    );
    assert_eq!(vias[1].transport, "TCP");
    assert_eq!(vias[2].branch(), Some("z9hG4bK30239"));
    assert_eq!(h.get("Subject"), Some(""));
    assert_eq!(
        h.get("NewFangledHeader"),
        Some("newfangled value continued newfangled value")
    );
    let contact = NameAddr::parse(h.get("Contact").unwrap()).unwrap();
    assert_eq!(contact.display.as_deref(), Some("Quoted string \"\""));
    assert_eq!(contact.param("newparam"), Some(Some("newvalue")));
    assert_eq!(contact.param("secondparam"), Some(None));
    assert_eq!(contact.param("q"), Some(Some("0.33")));
    assert_eq!(h.get("Max-Forwards"), Some("0068"));
    assert_eq!(r.body.len(), 150);
}

#[test]
fn intmeth_extension_method_and_odd_uri() {
    let SipMessage::Request(r) = torture("3.1.1.2-") else {
        panic!()
    };
    assert_eq!(
        r.method,
        Method::Other("!interesting-Method0123456789_*+`.%indeed'~".into())
    );
    let uri = SipUri::parse(&r.uri).unwrap();
    assert_eq!(uri.host, "example.com");
    assert_eq!(
        uri.user.as_deref(),
        Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
    );
    assert_eq!(uri.to_string(), r.uri);
    let to = NameAddr::parse(r.headers.get("To").unwrap()).unwrap();
    assert_eq!(to.display.as_deref(), Some("BEL:\x07 NUL:\0 DEL:\x7f"));
    let from = NameAddr::parse(r.headers.get("From").unwrap()).unwrap();
    assert_eq!(
        from.display.as_deref(),
        Some("token1~` token2'+_ token3*%!.-")
    );
    assert_eq!(from.tag(), Some("_token~1'+`*%!-."));
}

#[test]
fn esc02_percent_method_is_not_register() {
    let SipMessage::Request(r) = torture("3.1.1.5-") else {
        panic!()
    };
    assert_eq!(r.method, Method::Other("RE%47IST%45R".into()));
    assert_eq!(r.headers.get_all("Contact").count(), 2);
    assert_eq!(
        r.headers.get("C%6Fntact"),
        Some("<sip:alias2@host2.example.com>")
    );
}

#[test]
fn dblreq_ignores_the_second_message() {
    let SipMessage::Request(r) = torture("3.1.1.8-") else {
        panic!()
    };
    assert_eq!(r.method, Method::Register);
    assert!(r.body.is_empty());
}

#[test]
fn response_reason_phrases() {
    let SipMessage::Response(r) = torture("3.1.1.12-") else {
        panic!()
    };
    assert_eq!(r.status, 200);
    assert!(r.reason.starts_with("= 2**3 * 5**2 но"), "{}", r.reason);
    let SipMessage::Response(r) = torture("3.1.1.13-") else {
        panic!()
    };
    assert_eq!((r.status, r.reason.as_str()), (100, ""));
}

#[test]
fn badvers_error_says_version() {
    let (_, bytes) = &corpus_files("torture", "rfc4475-3.1.2.16")[0];
    let e = parse_message(bytes).unwrap_err();
    assert!(e.message.contains("version") && e.is_version(), "{e}");
    let e = parse_message(b"SIP/3.0 200 OK\r\n\r\n").unwrap_err();
    assert!(e.is_version());
    let e = parse_message(b"OPTIONS sip:a@b SIP/2.0 \r\n\r\n").unwrap_err();
    assert!(!e.is_version(), "{e}");
}

#[test]
fn inv2543_body_is_rest_of_datagram() {
    let SipMessage::Request(r) = torture("3.4.1-") else {
        panic!()
    };
    assert!(r.headers.get("Content-Length").is_none());
    assert!(r.body.starts_with(b"v=0\r\n") && r.body.ends_with(b"RTP/AVP 0\r\n"));
}

#[test]
fn other_real_world_breakage_is_rejected_not_panicked() {
    // sipsorcery's captures whose Content-Length exceeds the bytes present.
    for (name, bytes) in corpus_files("torture", "sipsorcery-") {
        let e = parse_message(&bytes).unwrap_err();
        assert!(e.message.contains("Content-Length"), "{name}: {e}");
    }
}

// ---- the rsip failure list -----------------------------------------------------------

const OPTIONS: &str = "OPTIONS sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa\r\n\
Max-Forwards: 70\r\n\
To: <sip:bob@example.com>\r\n\
From: <sip:alice@example.com>;tag=1\r\n\
Call-ID: c1@192.0.2.1\r\n\
CSeq: 1 OPTIONS\r\n\
Content-Length: 0\r\n\r\n";

#[test]
fn compact_forms_expand_to_canonical_names() {
    let text = "OPTIONS sip:bob@example.com SIP/2.0\r\n\
v: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa\r\n\
t: <sip:bob@example.com>\r\n\
F: <sip:alice@example.com>;tag=1\r\n\
i: c1@192.0.2.1\r\n\
cseq: 1 OPTIONS\r\n\
m: <sip:alice@192.0.2.1>\r\n\
k: 100rel\r\n\
o: refer\r\n\
u: refer\r\n\
r: <sip:carol@example.com>\r\n\
b: <sip:alice@example.com>\r\n\
x: 1800\r\n\
y: abc\r\n\
s: hi\r\n\
e: gzip\r\n\
c: text/plain\r\n\
WWW-AUTHENTICATE: Digest realm=\"x\"\r\n\
max-forwards: 70\r\n\
X-Custom-thing: kept\r\n\
l: 2\r\n\r\nhi";
    let r = request(text);
    let names: Vec<&str> = r.headers.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Via",
            "To",
            "From",
            "Call-ID",
            "CSeq",
            "Contact",
            "Supported",
            "Event",
            "Allow-Events",
            "Refer-To",
            "Referred-By",
            "Session-Expires",
            "Identity",
            "Subject",
            "Content-Encoding",
            "Content-Type",
            "WWW-Authenticate",
            "Max-Forwards",
            "X-Custom-thing",
            "Content-Length",
        ]
    );
    r.validate().unwrap();
    assert_eq!(r.body, b"hi");
    // Queries accept compact and long names in any case.
    assert_eq!(r.headers.get("i"), Some("c1@192.0.2.1"));
    assert_eq!(r.headers.get("CALL-id"), Some("c1@192.0.2.1"));
    assert_eq!(r.headers.get("V"), r.headers.get("via"));
    assert_eq!(r.headers.get("x-custom-THING"), Some("kept"));
}

#[test]
fn folded_headers_and_lf_only_line_ends() {
    let text = "INVITE sip:bob@example.com SIP/2.0\n\
Via: SIP/2.0/UDP 192.0.2.1\n  ;branch=z9hG4bKa\n\
To: <sip:bob@example.com>\n\
From: \"Alice\"\n\t<sip:alice@example.com>;tag=1\n\
Call-ID: c1\n\
CSeq: 1\n INVITE\n\
Subject: a\n   b\n \n  c\n\
Content-Length: 0\n\n";
    let r = request(text);
    r.validate().unwrap();
    assert_eq!(
        r.headers.get("Via"),
        Some("SIP/2.0/UDP 192.0.2.1 ;branch=z9hG4bKa")
    );
    assert_eq!(
        r.headers.get("From"),
        Some("\"Alice\" <sip:alice@example.com>;tag=1")
    );
    assert_eq!(r.headers.get("Subject"), Some("a b c"));
    assert_eq!(
        Via::parse(r.headers.get("Via").unwrap()).unwrap().branch(),
        Some("z9hG4bKa")
    );
    assert_round_trip(&SipMessage::Request(r));
}

#[test]
fn leading_keepalives_are_skipped() {
    let text = format!("\r\n\r\n\n{OPTIONS}");
    assert_eq!(parse(&text), parse(OPTIONS));
    assert!(parse_message(b"\r\n\r\n").is_err());
    assert!(parse_message(b"").is_err());
}

#[test]
fn ipv6_hosts_in_uri_and_via() {
    let text = OPTIONS
        .replace(
            "sip:bob@example.com SIP",
            "sip:bob@[2001:db8::1]:5060;transport=tcp SIP",
        )
        .replace(
            "192.0.2.1;branch",
            "[2001:db8::9]:5070;received=2001:db8::10;branch",
        );
    let r = request(&text);
    r.validate().unwrap();
    let uri = SipUri::parse(&r.uri).unwrap();
    assert_eq!((uri.host.as_str(), uri.port), ("[2001:db8::1]", Some(5060)));
    assert_eq!(uri.transport(), Some("tcp"));
    let via = Via::parse(r.headers.get("Via").unwrap()).unwrap();
    assert_eq!((via.host.as_str(), via.port), ("[2001:db8::9]", Some(5070)));
    assert_eq!(via.param("received"), Some(Some("2001:db8::10")));
    assert_eq!(via.to_string(), r.headers.get("Via").unwrap());
    assert!(SipUri::parse("sip:[2001:db8::1").is_err());
    assert!(SipUri::parse("sip:[zz::1]").is_err());
    assert!(SipUri::parse("sip:a@[::1]x").is_err());
}

#[test]
fn parameter_values_with_colons() {
    // Unquoted and quoted, in URI and header parameters (rsip PR #55).
    let uri =
        SipUri::parse("sip:bob@example.com;maddr=sip:gw1:5070;x-route=sip:gw2:5080;lr").unwrap();
    assert_eq!(uri.param("maddr"), Some(Some("sip:gw1:5070")));
    assert_eq!(uri.param("X-ROUTE"), Some(Some("sip:gw2:5080")));
    assert_eq!(uri.param("lr"), Some(None));
    assert_eq!(uri.host, "example.com");
    assert_eq!(uri.port, None);
    let na =
        NameAddr::parse("<sip:bob@example.com>;x-route=sip:gw1:5070;q=\"sip:gw1:5070;a,b\";tag=t1")
            .unwrap();
    assert_eq!(na.param("x-route"), Some(Some("sip:gw1:5070")));
    assert_eq!(na.param("q"), Some(Some("\"sip:gw1:5070;a,b\"")));
    assert_eq!(na.tag(), Some("t1"));
    assert_eq!(NameAddr::parse(&na.to_string()).unwrap(), na);
    let via = Via::parse("SIP/2.0/UDP h;branch=z9hG4bK1;x=\"a;b\";y=sip:g:1").unwrap();
    assert_eq!(via.param("x"), Some(Some("\"a;b\"")));
    assert_eq!(via.param("y"), Some(Some("sip:g:1")));
    // A quoted comma does not split a Contact list.
    let r = request(&OPTIONS.replace(
        "Max-Forwards: 70\r\n",
        "Max-Forwards: 70\r\nContact: <sip:a@h;x=1>;p=\"1,2\", \"B, C\" <sip:b@h>\r\n",
    ));
    assert_eq!(
        r.headers.values("Contact"),
        ["<sip:a@h;x=1>;p=\"1,2\"", "\"B, C\" <sip:b@h>"]
    );
    r.validate().unwrap();
}

#[test]
fn extension_methods_are_case_sensitive() {
    let r = request(
        &OPTIONS
            .replace("OPTIONS sip", "FOOBAR sip")
            .replace("1 OPTIONS", "1 FOOBAR"),
    );
    assert_eq!(r.method, Method::Other("FOOBAR".into()));
    r.validate().unwrap();
    let r = request(
        &OPTIONS
            .replace("OPTIONS sip", "invite sip")
            .replace("1 OPTIONS", "1 invite"),
    );
    assert_eq!(r.method, Method::Other("invite".into()));
    assert_eq!(r.method.to_string(), "invite");
    assert_eq!(Method::parse("INVITE"), Method::Invite);
    assert_eq!(Method::Prack.as_str(), "PRACK");
    // The CSeq method must match exactly, case included.
    let r = request(&OPTIONS.replace("1 OPTIONS", "1 options"));
    assert!(r.validate().is_err());
}

#[test]
fn start_line_errors() {
    for bad in [
        "OPTIONS sip:a@b SIP/2.0 \r\n\r\n",
        "OPTIONS  sip:a@b SIP/2.0\r\n\r\n",
        "OPTIONS sip:a@b\r\n\r\n",
        "OPTIONS <sip:a@b> SIP/2.0\r\n\r\n",
        "OPTIONS nocolon SIP/2.0\r\n\r\n",
        "OPT\0IONS sip:a@b SIP/2.0\r\n\r\n",
        "OPTIONS sip:a@b\x01 SIP/2.0\r\n\r\n",
        "OPTI:ONS sip:a@b SIP/2.0\r\n\r\n",
        "SIP/2.0 20 OK\r\n\r\n",
        "SIP/2.0 099 Low\r\n\r\n",
        "SIP/2.0 700 High\r\n\r\n",
        "SIP/2.0 2000 OK\r\n\r\n",
        "SIP/2.0 200 O\x7fK\r\n\r\n",
    ] {
        assert!(parse_message(bad.as_bytes()).is_err(), "{bad:?}");
    }
    // Header-section errors.
    for bad in [
        "OPTIONS sip:a@b SIP/2.0\r\n continuation first\r\n\r\n",
        "OPTIONS sip:a@b SIP/2.0\r\nno colon here\r\n\r\n",
        "OPTIONS sip:a@b SIP/2.0\r\nBad Name: x\r\n\r\n",
        "OPTIONS sip:a@b SIP/2.0\r\nX: a\rb\r\n\r\n",
        "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 1x\r\n\r\nab",
        "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h",
    ] {
        assert!(parse_message(bad.as_bytes()).is_err(), "{bad:?}");
    }
}

#[test]
fn datagram_body_boundaries() {
    // Content-Length shorter than the datagram: the rest is ignored.
    let text = OPTIONS.replace("Content-Length: 0", "Content-Length: 3") + "abcdef";
    assert_eq!(request(&text).body, b"abc");
    // Missing Content-Length: the rest of the datagram.
    let text = OPTIONS.replace("Content-Length: 0\r\n", "") + "abcdef";
    assert_eq!(request(&text).body, b"abcdef");
    // Identical duplicates are harmless.
    let text = OPTIONS.replace("Content-Length: 0\r\n", "l: 3\r\nContent-Length: 3\r\n") + "abc";
    assert_eq!(request(&text).body, b"abc");
    // Header section that ends with the datagram (no empty line).
    let text = OPTIONS.trim_end_matches("\r\n").to_string() + "\r\n";
    assert!(request(&text).body.is_empty());
}

// ---- Headers API ---------------------------------------------------------------------

#[test]
fn headers_editing() {
    let mut r = request(OPTIONS);
    r.headers
        .prepend("v", "SIP/2.0/TCP proxy.example.com;branch=z9hG4bKp");
    r.headers.push("Via", "SIP/2.0/UDP last;branch=z9hG4bKl");
    assert_eq!(
        r.headers.values("Via"),
        [
            "SIP/2.0/TCP proxy.example.com;branch=z9hG4bKp",
            "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa",
            "SIP/2.0/UDP last;branch=z9hG4bKl"
        ]
    );
    // prepend puts a new header at the very top.
    r.headers.prepend("Record-Route", "<sip:p;lr>");
    assert_eq!(r.headers.iter().next().unwrap().name, "Record-Route");
    // set replaces all lines in place of the first.
    r.headers.set("VIA", "SIP/2.0/UDP only;branch=z9hG4bKo");
    assert_eq!(r.headers.get_all("Via").count(), 1);
    assert_eq!(r.headers.iter().nth(1).unwrap().name, "Via");
    r.headers.set("X-New", "1");
    assert_eq!(r.headers.iter().last().unwrap().name, "X-New");
    r.headers.remove("x-new");
    r.headers.remove("l");
    assert!(r.headers.get("X-New").is_none() && r.headers.get("Content-Length").is_none());
    // The canonical name is stored whatever the caller wrote.
    r.headers.push("call-id", "dup");
    assert_eq!(r.headers.iter().last().unwrap().name, "Call-ID");
    assert!(r.validate().is_err(), "two Call-IDs");
}

#[test]
fn to_bytes_fixes_content_length_and_line_ends() {
    let mut r = request(OPTIONS);
    r.body = b"v=0\r\n".to_vec();
    r.headers.push("Content-Length", "999");
    let bytes = r.to_bytes();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert_eq!(text.matches("Content-Length").count(), 1);
    assert!(text.contains("Content-Length: 5\r\n\r\nv=0\r\n"), "{text}");
    assert_eq!(request(&text).body, b"v=0\r\n");
    // No Content-Length at all: one is added.
    r.headers.remove("Content-Length");
    let text = String::from_utf8(r.to_bytes()).unwrap();
    assert!(text.ends_with("Content-Length: 5\r\n\r\nv=0\r\n"), "{text}");
    // A value holding CR/LF cannot inject a header.
    r.headers.push("Subject", "x\r\nInjected: yes");
    let again = request(&String::from_utf8(r.to_bytes()).unwrap());
    assert!(again.headers.get("Injected").is_none());
    assert_eq!(again.headers.get("Subject"), Some("x  Injected: yes"));
}

#[test]
fn response_for_copies_the_dialog_headers() {
    let text = OPTIONS.replace(
        "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa\r\n",
        "Via: SIP/2.0/UDP p1;branch=z9hG4bK1, SIP/2.0/UDP p2;branch=z9hG4bK2\r\nRecord-Route: <sip:p1;lr>\r\nv: SIP/2.0/UDP uac;branch=z9hG4bK3\r\n",
    );
    let mut req = request(&text);
    req.body = b"ignored".to_vec();
    let resp = response_for(&req, 486, default_reason(486));
    assert_eq!((resp.status, resp.reason.as_str()), (486, "Busy Here"));
    let names: Vec<&str> = resp.headers.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Via",
            "Via",
            "From",
            "To",
            "Call-ID",
            "CSeq",
            "Content-Length"
        ]
    );
    assert_eq!(resp.headers.values("Via").len(), 3);
    assert_eq!(resp.headers.get("To"), Some("<sip:bob@example.com>"));
    assert_eq!(resp.headers.get("Content-Length"), Some("0"));
    assert!(resp.body.is_empty());
    resp.validate().unwrap();
    let text = String::from_utf8(resp.to_bytes()).unwrap();
    assert!(text.starts_with(
        "SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP p1;branch=z9hG4bK1, SIP/2.0/UDP p2"
    ));
    // The caller adds the To tag.
    let mut to = NameAddr::parse(resp.headers.get("To").unwrap()).unwrap();
    to.set_tag("as7");
    assert_eq!(to.to_string(), "<sip:bob@example.com>;tag=as7");
}

#[test]
fn default_reasons() {
    assert_eq!(default_reason(100), "Trying");
    assert_eq!(default_reason(200), "OK");
    assert_eq!(default_reason(481), "Call/Transaction Does Not Exist");
    assert_eq!(default_reason(505), "Version Not Supported");
    assert_eq!(default_reason(499), "Client Error");
}

// ---- typed views ---------------------------------------------------------------------

#[test]
fn name_addr_forms() {
    let a =
        NameAddr::parse("\"Alice \\\"A\\\"\" <sip:alice@atlanta.com;lr>;tag=1928301774").unwrap();
    assert_eq!(a.display.as_deref(), Some("Alice \"A\""));
    assert_eq!(a.uri, "sip:alice@atlanta.com;lr");
    assert_eq!(a.tag(), Some("1928301774"));
    assert_eq!(
        a.to_string(),
        "\"Alice \\\"A\\\"\" <sip:alice@atlanta.com;lr>;tag=1928301774"
    );
    // addr-spec: parameters after ';' belong to the header (RFC 3261 §20.10).
    let b = NameAddr::parse("sip:bob@biloxi.com;tag=x;user=phone").unwrap();
    assert_eq!(b.uri, "sip:bob@biloxi.com");
    assert_eq!(b.params.len(), 2);
    assert_eq!(b.to_string(), "<sip:bob@biloxi.com>;tag=x;user=phone");
    let star = NameAddr::parse(" * ").unwrap();
    assert!(star.is_star());
    assert_eq!(star.to_string(), "*");
    let mut c = NameAddr::parse("Bob <tel:+15551234;phone-context=example.com>").unwrap();
    assert_eq!(c.display.as_deref(), Some("Bob"));
    c.set_tag("t");
    c.set_tag("u");
    assert_eq!(c.tag(), Some("u"));
    for bad in [
        "",
        "<sip:a@b",
        "\"open <sip:a@b>",
        "Bell, Alexander <sip:a@b>",
        "< sip:a@b >",
        "<sip:a@b> junk",
        "sip:a@b?x=y",
        "<sip:a@b>;;",
        "<sip:a@b>;tag=",
        "nocolon",
    ] {
        assert!(NameAddr::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn via_forms() {
    let mut v =
        Via::parse("SIP / 2.0 / udp  host.example.com:5060 ; branch = z9hG4bK1 ;rport").unwrap();
    assert_eq!(v.transport, "UDP");
    assert_eq!((v.host.as_str(), v.port), ("host.example.com", Some(5060)));
    assert_eq!(v.branch(), Some("z9hG4bK1"));
    assert_eq!(v.param("rport"), Some(None));
    v.set_param("rport", Some("5061".into()));
    v.set_param("received", Some("192.0.2.7".into()));
    assert_eq!(
        v.to_string(),
        "SIP/2.0/UDP host.example.com:5060;branch=z9hG4bK1;rport=5061;received=192.0.2.7"
    );
    assert_eq!(Via::parse(&v.to_string()).unwrap(), v);
    for bad in [
        "SIP/2.0/UDP",
        "SIP/3.0/UDP h",
        "HTTP/2.0/UDP h",
        "SIP/2.0/UDP h;;",
        "SIP/2.0/UDP h:99999",
        "SIP/2.0/UDP h:x",
        "SIP/2.0/U(P h",
        "",
    ] {
        assert!(Via::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn cseq_forms() {
    assert_eq!(
        CSeq::parse(" 0009 \t INVITE ").unwrap(),
        CSeq {
            seq: 9,
            method: Method::Invite
        }
    );
    assert_eq!(CSeq::parse("4294967295 X").unwrap().seq, u32::MAX);
    assert_eq!(CSeq::parse("1 INFO").unwrap().to_string(), "1 INFO");
    for bad in [
        "",
        "1",
        "INVITE",
        "x INVITE",
        "-1 INVITE",
        "4294967296 INVITE",
        "1 INVITE x",
    ] {
        assert!(CSeq::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn uri_forms() {
    let u = SipUri::parse(
        "sips:alice:secret@Atlanta.com:5061;transport=TLS;lr?subject=project%20x&priority=urgent",
    )
    .unwrap();
    assert_eq!(u.scheme, Scheme::Sips);
    assert_eq!(u.user.as_deref(), Some("alice"));
    assert_eq!(u.password.as_deref(), Some("secret"));
    assert_eq!(u.host_port(), "Atlanta.com:5061");
    assert_eq!(u.transport(), Some("TLS"));
    assert_eq!(
        u.headers,
        [
            ("subject".to_string(), "project%20x".to_string()),
            ("priority".to_string(), "urgent".to_string())
        ]
    );
    assert_eq!(
        u.to_string(),
        "sips:alice:secret@Atlanta.com:5061;transport=TLS;lr?subject=project%20x&priority=urgent"
    );
    let t = SipUri::parse("tel:+1-555-0100;phone-context=example.com").unwrap();
    assert_eq!(t.scheme, Scheme::Tel);
    assert_eq!(t.user.as_deref(), Some("+1-555-0100"));
    assert_eq!(t.host, "");
    assert_eq!(t.param("phone-context"), Some(Some("example.com")));
    assert_eq!(t.to_string(), "tel:+1-555-0100;phone-context=example.com");
    // Escapes stay as written.
    let e = SipUri::parse("sip:%75se%72@example.com").unwrap();
    assert_eq!(e.user.as_deref(), Some("%75se%72"));
    for bad in [
        "http://example.com",
        "sip:",
        "sip:@host",
        "sip:a b@host",
        "sip:user@host:70000",
        "sip:user@ho st",
        "sip:%zz@host",
        "sip:a@h;=x",
        "sip:a@h?noequals",
        "tel:",
        "tel:xyz",
        "<sip:a@b>",
    ] {
        assert!(SipUri::parse(bad).is_err(), "{bad:?}");
    }
}

// ---- stream framing ------------------------------------------------------------------

#[test]
fn framing_two_messages_partial_buffers_and_keepalives() {
    let invite = OPTIONS
        .replace("OPTIONS sip", "INVITE sip")
        .replace("1 OPTIONS", "1 INVITE")
        .replace("Content-Length: 0", "Content-Length: 4")
        + "body";
    let stream = format!("\r\n\r\n{invite}\r\n{OPTIONS}");
    let bytes = stream.as_bytes();
    let first_len = 4 + invite.len();
    // Every prefix shorter than the first message needs more bytes.
    for n in 0..first_len {
        assert_eq!(frame_len(&bytes[..n]).unwrap(), None, "prefix {n}");
    }
    assert_eq!(frame_len(&bytes[..first_len]).unwrap(), Some(first_len));
    assert_eq!(frame_len(bytes).unwrap(), Some(first_len));
    let first = parse_message(&bytes[..first_len]).unwrap();
    assert_eq!(first.body(), b"body");
    let rest = &bytes[first_len..];
    assert_eq!(frame_len(rest).unwrap(), Some(rest.len()));
    assert_eq!(parse_message(rest).unwrap(), parse(OPTIONS));
    // Keep-alives alone: wait for more.
    assert_eq!(frame_len(b"\r\n\r\n").unwrap(), None);
    assert_eq!(frame_len(b"").unwrap(), None);
}

#[test]
fn framing_the_whole_corpus_as_one_stream() {
    let files = corpus_files("sip", "");
    let mut stream = Vec::new();
    for (_, bytes) in &files {
        stream.extend_from_slice(b"\r\n");
        stream.extend_from_slice(bytes);
    }
    let mut rest = &stream[..];
    for (name, bytes) in &files {
        let n = frame_len(rest)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .unwrap_or_else(|| panic!("{name}: incomplete"));
        assert_eq!(n, bytes.len() + 2, "{name}");
        assert_eq!(
            parse_message(&rest[..n]).unwrap(),
            parse_message(bytes).unwrap()
        );
        rest = &rest[n..];
    }
    assert!(rest.is_empty());
}

#[test]
fn framing_errors() {
    let no_length = OPTIONS.replace("Content-Length: 0\r\n", "");
    assert!(frame_len(no_length.as_bytes()).is_err());
    let bad = OPTIONS.replace("Content-Length: 0", "Content-Length: -1");
    assert!(frame_len(bad.as_bytes()).is_err());
    // A header section that never ends.
    let mut huge = b"OPTIONS sip:a@b SIP/2.0\r\n".to_vec();
    while huge.len() <= 70 * 1024 {
        huge.extend_from_slice(b"X-Filler: 0123456789012345678901234567890123456789\r\n");
    }
    assert!(frame_len(&huge).is_err());
    let mut one_line = b"OPTIONS sip:a@b SIP/2.0\r\nX: ".to_vec();
    one_line.resize(70 * 1024, b'a');
    assert!(frame_len(&one_line).is_err());
    // Still incomplete (not an error) just under the limit.
    assert_eq!(frame_len(&one_line[..60 * 1024]).unwrap(), None);
}

// ---- properties ----------------------------------------------------------------------

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9.!%*_+`'~-]{1,12}"
}

fn header_value() -> impl Strategy<Value = String> {
    "[!-~]([ -~]{0,30}[!-~])?"
}

prop_compose! {
    fn valid_request()(
        method in prop_oneof![
            Just("INVITE".to_string()),
            Just("OPTIONS".to_string()),
            Just("BYE".to_string()),
            "[A-Z]{3,10}",
        ],
        user in "[a-z0-9]{1,8}",
        host in prop_oneof!["[a-z]{1,8}(\\.[a-z]{1,5}){0,2}", Just("[2001:db8::1]".to_string())],
        port in proptest::option::of(1u16..),
        uri_params in proptest::collection::vec(("[a-z]{1,6}", proptest::option::of("[a-z0-9:.]{1,8}")), 0..3),
        branch in "[A-Za-z0-9]{1,10}",
        seq in any::<u32>(),
        tag in token(),
        display in proptest::option::of("[ -~]{0,12}"),
        extra in proptest::collection::vec((token(), header_value()), 0..5),
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) -> Request {
        let mut uri = format!("sip:{user}@{host}");
        if let Some(p) = port { uri.push_str(&format!(":{p}")); }
        for (n, v) in &uri_params {
            match v { Some(v) => uri.push_str(&format!(";{n}={v}")), None => uri.push_str(&format!(";{n}")) }
        }
        let method = Method::parse(&method);
        let mut from = NameAddr::parse(&format!("<{uri}>")).unwrap();
        from.display = display;
        from.set_tag(&tag);
        let mut r = Request { method: method.clone(), uri: uri.clone(), headers: Default::default(), body };
        r.headers.push("Via", format!("SIP/2.0/UDP {host};branch=z9hG4bK{branch}"));
        r.headers.push("Max-Forwards", "70");
        r.headers.push("From", from.to_string());
        r.headers.push("To", format!("<{uri}>"));
        r.headers.push("Call-ID", format!("{branch}@{user}"));
        r.headers.push("CSeq", CSeq { seq, method }.to_string());
        for (name, value) in extra {
            r.headers.push(&format!("X-{name}"), value);
        }
        r
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(m) = parse_message(&bytes) {
            let _ = m.validate();
            let again = parse_message(&m.to_bytes());
            prop_assert!(again.is_ok());
            for h in m.headers().iter() {
                let _ = Via::parse(&h.value);
                let _ = NameAddr::parse(&h.value);
                let _ = CSeq::parse(&h.value);
                let _ = SipUri::parse(&h.value);
            }
        }
        let _ = frame_len(&bytes);
    }

    #[test]
    fn sip_shaped_mutations_never_panic(
        pick in 0usize..22,
        cuts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let files = corpus_files("sip", "");
        let mut bytes = files[pick % files.len()].1.clone();
        for (at, b) in cuts {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        if let Ok(m) = parse_message(&bytes) {
            let _ = m.validate();
            // Whatever a typed view accepts, it writes back in a form it accepts.
            for v in m.headers().values("Via") {
                if let Ok(via) = Via::parse(&v) {
                    prop_assert_eq!(Via::parse(&via.to_string()).unwrap(), via);
                }
            }
            for name in ["From", "To", "Contact"] {
                for v in m.headers().values(name) {
                    if let Ok(addr) = NameAddr::parse(&v) {
                        prop_assert_eq!(NameAddr::parse(&addr.to_string()).unwrap(), addr.clone());
                        if let Ok(uri) = SipUri::parse(&addr.uri) {
                            prop_assert_eq!(SipUri::parse(&uri.to_string()).unwrap(), uri);
                        }
                    }
                }
            }
            if let SipMessage::Request(r) = &m { let _ = SipUri::parse(&r.uri); }
            let again = parse_message(&m.to_bytes()).unwrap();
            prop_assert_eq!(again.body(), m.body());
        }
        let _ = frame_len(&bytes);
    }

    #[test]
    fn generated_requests_round_trip(r in valid_request()) {
        r.validate().unwrap();
        let bytes = r.to_bytes();
        prop_assert_eq!(frame_len(&bytes).unwrap(), Some(bytes.len()));
        let SipMessage::Request(again) = parse_message(&bytes).unwrap() else {
            panic!("not a request")
        };
        let mut expected = r.clone();
        expected.headers.push("Content-Length", r.body.len().to_string());
        prop_assert_eq!(&again, &expected);
        again.validate().unwrap();
        let from = NameAddr::parse(again.headers.get("From").unwrap()).unwrap();
        prop_assert_eq!(from.to_string(), r.headers.get("From").unwrap());
        let uri = SipUri::parse(&again.uri).unwrap();
        prop_assert_eq!(uri.to_string(), r.uri);
    }
}
