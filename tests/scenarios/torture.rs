//! Every RFC 4475 torture message through the whole gateway core (parser,
//! validation, transaction layer, call logic), from a configured trunk, with
//! the answer each one gets. None may panic, none may create a call.

use super::harness::*;

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

/// The status codes the gateway sends for one message (empty = no answer).
fn answers(bytes: &[u8]) -> Vec<u16> {
    let mut h = Harness::new();
    h.sip_bytes(trunk(), bytes.to_vec());
    let statuses = h.responses().iter().map(|r| r.status).collect();
    assert_eq!(h.gw.active_calls(), 0, "no torture message creates a call");
    statuses
}

/// What the gateway answers to each RFC 4475 message, and why.
const EXPECTED: &[(&str, &[u16])] = &[
    // §3.1.1 valid messages: answered on their merits.
    ("3.1.1.1-wsinv", &[481]), // odd but valid INVITE whose To has a tag: no such dialog
    ("3.1.1.2-intmeth", &[405]), // extension method we do not implement
    ("3.1.1.3-esc01", &[404]), // escaped Request-URI user: no such number
    ("3.1.1.4-escnull", &[405]), // REGISTER: we are not a registrar
    ("3.1.1.5-esc02", &[405]), // escaped method name RE%47IST%45R: an unknown method
    ("3.1.1.6-lwsdisp", &[200]), // OPTIONS with LWS in the display name
    ("3.1.1.7-longreq", &[404]), // long values everywhere: parsed, no such number
    ("3.1.1.8-dblreq", &[405]), // REGISTER followed by a second message in the datagram
    ("3.1.1.9-semiuri", &[200]), // OPTIONS with ';' in the user part
    ("3.1.1.10-transports", &[200]), // OPTIONS with odd transport tokens in Vias
    ("3.1.1.11-mpart01", &[405]), // MESSAGE with a multipart body: not a method we serve
    ("3.1.1.12-unreason", &[]), // response to no transaction of ours: ignored
    ("3.1.1.13-noreason", &[]), // same, empty reason phrase
    // §3.1.2 invalid messages: 400 when a response can be built, else dropped.
    ("3.1.2.1-badinv01", &[400]),
    ("3.1.2.2-clerr", &[400]),
    ("3.1.2.3-ncl", &[400]),
    ("3.1.2.4-scalar02", &[400]),
    ("3.1.2.5-scalarlg", &[]), // a response: nobody to answer
    ("3.1.2.6-quotbal", &[400]),
    ("3.1.2.7-ltgtruri", &[400]),
    ("3.1.2.8-lwsruri", &[400]),
    ("3.1.2.9-lwsstart", &[400]),
    ("3.1.2.10-trws", &[400]),
    ("3.1.2.11-escruri", &[400]), // headers in the Request-URI
    ("3.1.2.12-baddate", &[404]), // we never read Date: processed, no such number
    ("3.1.2.13-regbadct", &[400]),
    ("3.1.2.14-badaspec", &[400]),
    ("3.1.2.15-baddn", &[400]),
    ("3.1.2.16-badvers", &[505]),    // SIP/7.0
    ("3.1.2.17-mismatch01", &[400]), // CSeq method differs from the request's
    ("3.1.2.18-mismatch02", &[400]),
    ("3.1.2.19-bigcode", &[]), // unparseable response: dropped
    // §3.2 transaction layer.
    ("3.2.1-badbranch", &[200]), // bare magic cookie: a valid (odd) branch
    // §3.3 application layer.
    ("3.3.1-insuf", &[400]),    // missing To/From/Call-ID
    ("3.3.2-unkscm", &[416]),   // unknown Request-URI scheme
    ("3.3.3-novelsc", &[416]),  // soap.beep: Request-URI
    ("3.3.4-unksm2", &[405]),   // REGISTER with exotic URIs: not a registrar
    ("3.3.5-bext01", &[420]),   // Require of unknown extensions, with Unsupported
    ("3.3.6-invut", &[404]),    // unknown body type, but §8.2.2.1 (no such user) comes first
    ("3.3.7-regaut01", &[405]), // REGISTER with an unknown auth scheme
    ("3.3.8-multi01", &[400]),  // duplicated To/From/Call-ID/CSeq
    ("3.3.9-mcl01", &[400]),    // two Content-Length values
    ("3.3.10-bcast", &[]),      // a 200 OK response: no reply, certainly not to broadcast
    ("3.3.11-zeromf", &[200]),  // Max-Forwards 0 on OPTIONS: a UAS answers
    ("3.3.12-cparam01", &[405]),
    ("3.3.13-cparam02", &[405]),
    ("3.3.14-regescrt", &[405]),
    ("3.3.15-sdp01", &[404]), // Accept without SDP, to no such number
    // §3.4 RFC 2543 compatibility.
    ("3.4.1-inv2543", &[404]), // accepted (no branch, no Max-Forwards): no such number
];

#[test]
fn every_rfc4475_message_gets_the_documented_answer_from_the_gateway() {
    let mut files: Vec<_> = std::fs::read_dir(corpus_dir().join("torture"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("rfc4475-")
        })
        .collect();
    files.sort();
    assert_eq!(files.len(), 49);
    assert_eq!(EXPECTED.len(), 49);
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let id = name.trim_start_matches("rfc4475-").trim_end_matches(".sip");
        let expected = EXPECTED
            .iter()
            .find(|(t, _)| *t == id)
            .unwrap_or_else(|| panic!("{name} is not in EXPECTED"))
            .1;
        let bytes = std::fs::read(&f).unwrap();
        assert_eq!(answers(&bytes), expected, "{name}");
    }
}

#[test]
fn unknown_content_type_to_a_known_number_gets_415_with_accept() {
    let mut h = Harness::new();
    let text = invite("+15550001000", "ct@pbx", "z9hG4bKct").replace(
        "Content-Type: application/sdp",
        "Content-Type: application/unknownformat",
    );
    h.sip_bytes(trunk(), text.into_bytes());
    let rs = h.responses();
    assert_eq!(rs.iter().map(|r| r.status).collect::<Vec<_>>(), vec![415]);
    assert_eq!(rs[0].headers.get("Accept"), Some("application/sdp"));
    assert!(h.take_stanzas().is_empty());
}
