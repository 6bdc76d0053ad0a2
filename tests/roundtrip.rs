//! Property tests for the SDP ⇄ Jingle translator and the Jingle XML reader/writer.
//!
//! - `jingle_sdp_jingle`: a generated, structurally valid Jingle model survives
//!   Jingle → SDP → Jingle, up to the approximations the translator documents
//!   (ARCHITECTURE.md, "SDP ⇄ Jingle: decisions"), which `expected_after_sdp`
//!   spells out one by one; the intermediate SDP says the directions of the
//!   perspective table, and reading our own SDP back raises no warning.
//! - `jingle_xml_round_trip`: `parse_jingle(jingle_element(j)) == j`.
//! - `sdp_jingle_sdp_jingle`: SDP text rendered here from a generated structure
//!   translates to the Jingle that structure describes (`expected_from_spec`, an
//!   independent oracle, not our own output), and one more trip through SDP
//!   changes nothing.
//!
//! Expectations use test-local copies of the perspective table and of the few
//! RFC 3551 payload types generated without a name, so that a bug in the
//! translator's own tables cannot hide behind a round trip that agrees with itself.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use std::net::{Ipv4Addr, Ipv6Addr};
use stox::jingle::{
    Content, Creator, Crypto, Description, Encryption, Fingerprint, Group, IceCandidate,
    IceUdpTransport, Jingle, Msid, Parameter, PayloadType, RawCandidate, RawUdpTransport,
    RemoteCandidate, RtcpFb, RtpDescription, RtpHdrext, Senders, Source, SsrcGroup, Transport,
    ZrtpHash, jingle_element, parse_jingle,
};
use stox::translate::fmtp::FmtpItem;
use stox::translate::{Role, SdpOrigin, jingle_to_sdp, sdp_to_jingle};

// ---- character sets ------------------------------------------------------------

/// fmtp parameter names: token-ish, and never `;` `,` `=` `/` or whitespace, which
/// are fmtp syntax (`/` is RED's list separator).
const FMTP_NAME: &str = "[A-Za-z0-9_.+-]{1,10}";
/// fmtp values: as names, plus `/` and `:` (base64-ish and time-like values).
const FMTP_VALUE: &str = "[A-Za-z0-9_.+/:-]{1,12}";
/// RFC 8839 ice-char.
const UFRAG: &str = "[A-Za-z0-9+/]{4,8}";
const PWD: &str = "[A-Za-z0-9+/]{22,32}";
/// Content names double as `a=mid` and group members: no whitespace.
const CONTENT_NAME: &str = "[A-Za-z0-9_-]{1,8}";

const KNOWN_CODECS: &[&str] = &[
    "opus", "VP8", "VP9", "H264", "AV1", "PCMU", "PCMA", "G722", "speex", "AMR-WB", "iLBC", "rtx",
    "ulpfec",
];
const FB_KINDS: &[&str] = &["nack", "ccm", "goog-remb", "transport-cc", "ack", "app"];
const FB_SUBTYPES: &[&str] = &["pli", "fir", "sli", "rpsi", "tmmbr", "tstr"];
const HDREXT_URIS: &[&str] = &[
    "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
    "urn:ietf:params:rtp-hdrext:sdes:mid",
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    "urn:3gpp:video-orientation",
];
const SUITES: &[&str] = &[
    "AES_CM_128_HMAC_SHA1_80",
    "AES_CM_128_HMAC_SHA1_32",
    "AEAD_AES_256_GCM",
    "AES_256_CM_HMAC_SHA1_80",
];
const SESSION_PARAMS: &[&str] = &[
    "KDR=1",
    "UNENCRYPTED_SRTP",
    "UNENCRYPTED_SRTCP",
    "UNAUTHENTICATED_SRTP",
    "WSH=64",
];
const HASHES: &[&str] = &["sha-1", "sha-256", "sha-512"];
const SETUPS: &[&str] = &["actpass", "active", "passive"];
const CANDIDATE_TYPES: &[&str] = &["host", "srflx", "prflx", "relay"];
const TCP_TYPES: &[&str] = &["active", "passive", "so"];
const DIRECTIONS: &[&str] = &["sendrecv", "sendonly", "recvonly", "inactive"];

/// RFC 3551 payload types the generators may leave without a name or clock rate:
/// `(id, name, clock rate, channels)`. A local copy, so that the expectation does
/// not come from the table under test.
const RFC3551: &[(u8, &str, u32, Option<u32>)] = &[
    (0, "PCMU", 8000, None),
    (3, "GSM", 8000, None),
    (8, "PCMA", 8000, None),
    (9, "G722", 8000, None),
    (10, "L16", 44100, Some(2)),
    (13, "CN", 8000, None),
    (18, "G729", 8000, None),
    (34, "H263", 90000, None),
];

fn rfc3551(id: u8) -> Option<(&'static str, u32, Option<u32>)> {
    RFC3551
        .iter()
        .find(|e| e.0 == id)
        .map(|&(_, name, clock, channels)| (name, clock, channels))
}

/// The perspective table (mapping digest §3), written out here rather than taken
/// from `stox::translate`: sendonly by the initiator means the initiator sends.
fn senders_for(direction: &str, writer: Role) -> Senders {
    match (direction, writer) {
        ("sendrecv", _) => Senders::Both,
        ("inactive", _) => Senders::None,
        ("sendonly", Role::Initiator) | ("recvonly", Role::Responder) => Senders::Initiator,
        ("sendonly", Role::Responder) | ("recvonly", Role::Initiator) => Senders::Responder,
        other => panic!("not a direction: {other:?}"),
    }
}

/// The inverse of `senders_for`.
fn direction_for(senders: Senders, writer: Role) -> &'static str {
    DIRECTIONS
        .iter()
        .copied()
        .find(|d| senders_for(d, writer) == senders)
        .expect("the table is a bijection")
}

fn pair(name: &str, value: &str) -> Parameter {
    Parameter {
        name: Some(name.to_string()),
        value: Some(value.to_string()),
    }
}

fn is_codec(pt: &PayloadType, name: &str) -> bool {
    pt.name
        .as_deref()
        .is_some_and(|n| n.eq_ignore_ascii_case(name))
}

// ---- strategies shared by both directions -----------------------------------------

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::Initiator), Just(Role::Responder)]
}

fn senders() -> impl Strategy<Value = Senders> {
    prop_oneof![
        Just(Senders::Both),
        Just(Senders::Initiator),
        Just(Senders::Responder),
        Just(Senders::None),
    ]
}

fn ip_address() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|a| Ipv4Addr::from(a).to_string()),
        any::<[u16; 8]>().prop_map(|a| Ipv6Addr::from(a).to_string()),
    ]
}

/// Candidate addresses: IP addresses, and now and then an mDNS name (browsers
/// hide host addresses behind them; such a candidate can never be the default).
fn candidate_address() -> impl Strategy<Value = String> {
    prop_oneof![4 => ip_address(), 1 => "[0-9a-f]{8}\\.local"]
}

/// Encoding names, with the two whose fmtp has special rules weighted up.
fn codec_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(KNOWN_CODECS).prop_map(str::to_string),
        1 => Just("telephone-event".to_string()),
        1 => Just("red".to_string()),
        // Prefixed so that a random name is never one with special fmtp rules.
        1 => "X-[a-z0-9]{1,6}",
    ]
}

fn clockrate() -> impl Strategy<Value = u32> {
    prop_oneof![
        select(&[8000u32, 16000, 44100, 48000, 90000][..]),
        1u32..=1_000_000
    ]
}

/// Payload type ids, biased toward the unnamed-static ones and the dynamic range.
fn payload_id() -> impl Strategy<Value = u8> {
    prop_oneof![
        select(RFC3551.iter().map(|e| e.0).collect::<Vec<_>>()),
        0u8..=127,
        96u8..=127,
    ]
}

/// Keeps the first element of each key. Strategies generate plain vectors and
/// make them unique afterwards, rather than flat-mapping over a set of keys:
/// vectors shrink by dropping elements, which keeps failing cases small.
fn unique_by<T, K: PartialEq>(items: Vec<T>, key: impl Fn(&T) -> K) -> Vec<T> {
    let mut seen: Vec<K> = Vec::new();
    items
        .into_iter()
        .filter(|item| {
            let k = key(item);
            let new = !seen.contains(&k);
            if new {
                seen.push(k);
            }
            new
        })
        .collect()
}

/// RFC 4733 event lists.
fn events_list() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0-15".to_string()),
        Just("0-16".to_string()),
        Just("0-15,66,70".to_string()),
        (0u8..=9, 10u8..=99).prop_map(|(a, b)| format!("{a}-{b}")),
    ]
}

fn rtcp_fb() -> impl Strategy<Value = RtcpFb> {
    (
        prop_oneof![3 => select(FB_KINDS).prop_map(str::to_string), 1 => "x-[a-z]{1,6}"],
        option::of(select(FB_SUBTYPES).prop_map(str::to_string)),
    )
        .prop_map(|(kind, subtype)| RtcpFb { kind, subtype })
}

fn hdrext_uri() -> impl Strategy<Value = String> {
    prop_oneof![
        select(HDREXT_URIS).prop_map(str::to_string),
        "urn:x-[a-z]{1,8}"
    ]
}

prop_compose! {
    fn crypto()(
        tag in 1u32..=9,
        suite in select(SUITES),
        key in "[A-Za-z0-9+/]{40}",
        lifetime in option::of(select(&["2^20", "2^31"][..])),
        mki in option::of("[1-9]:[1-4]"),
        second_key in option::of("[A-Za-z0-9+/]{40}"),
        session in option::of(vec(select(SESSION_PARAMS), 1..=2)),
    ) -> Crypto {
        let mut key_params = format!("inline:{key}");
        if let Some(l) = lifetime {
            key_params.push('|');
            key_params.push_str(l);
        }
        if let Some(m) = mki {
            key_params.push('|');
            key_params.push_str(&m);
        }
        // RFC 4568 allows several keys, joined by ';' in one key-params.
        if let Some(k) = second_key {
            key_params.push_str(&format!(";inline:{k}"));
        }
        Crypto {
            tag: tag.to_string(),
            crypto_suite: suite.to_string(),
            key_params,
            session_params: session.map(|s| s.join(" ")),
        }
    }
}

fn fingerprint_value() -> impl Strategy<Value = String> {
    vec(any::<u8>(), 20..=32).prop_map(|bytes| {
        bytes
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    })
}

fn source_parameter() -> impl Strategy<Value = (String, Option<String>)> {
    prop_oneof![
        "[A-Za-z0-9+/]{8,16}".prop_map(|c| ("cname".to_string(), Some(c))),
        ("[A-Za-z0-9-]{1,10}", "[A-Za-z0-9-]{1,10}")
            .prop_map(|(stream, track)| ("msid".to_string(), Some(format!("{stream} {track}")))),
        "[A-Za-z0-9-]{1,10}".prop_map(|l| ("label".to_string(), Some(l))),
        // A bare attribute: `a=ssrc:1 x-flag`.
        "x-[a-z]{1,5}".prop_map(|n| (n, None)),
    ]
}

/// 0–3 sources with distinct SSRCs and at least `min_parameters` parameters
/// each, and 0–2 groups whose members are among them.
fn sources_and_groups(
    min_parameters: usize,
) -> impl Strategy<Value = (Vec<Source>, Vec<SsrcGroup>)> {
    let source = (any::<u32>(), vec(source_parameter(), min_parameters..=3))
        .prop_map(|(ssrc, parameters)| Source { ssrc, parameters });
    // Group members are indices into the sources, resolved once those are known.
    let group = (
        select(&["FID", "SIM", "FEC-FR"][..]),
        vec(any::<Index>(), 1..=3),
    );
    (vec(source, 0..=3), vec(group, 0..=2)).prop_map(|(sources, groups)| {
        let sources = unique_by(sources, |s| s.ssrc);
        let groups = if sources.is_empty() {
            Vec::new()
        } else {
            groups
                .into_iter()
                .map(|(semantics, members)| SsrcGroup {
                    semantics: semantics.to_string(),
                    sources: members.iter().map(|i| i.get(&sources).ssrc).collect(),
                })
                .collect()
        };
        (sources, groups)
    })
}

// ---- Jingle model strategies -------------------------------------------------------

/// `(name, clockrate, channels)` of a payload type. Dynamic ids always have a name
/// and a clock rate (an rtpmap cannot be written otherwise); the RFC 3551 ids in
/// the local table may have neither, or a name only.
fn naming(id: u8) -> BoxedStrategy<(Option<String>, Option<u32>, Option<u32>)> {
    let full = (codec_name(), clockrate(), option::of(1u32..=8))
        .prop_map(|(name, clock, channels)| (Some(name), Some(clock), channels));
    if rfc3551(id).is_some() {
        prop_oneof![
            2 => full,
            1 => Just((None, None, None)),
            1 => (codec_name(), option::of(1u32..=8)).prop_map(|(name, ch)| (Some(name), None, ch)),
        ]
        .boxed()
    } else {
        full.boxed()
    }
}

/// A bare fmtp token in one of the three dialects real clients send.
fn bare_token(token: String, dialect: u8) -> Parameter {
    match dialect {
        0 => Parameter {
            name: Some(String::new()),
            value: Some(token),
        },
        1 => Parameter {
            name: None,
            value: Some(token),
        },
        _ => Parameter {
            name: Some(token),
            value: None,
        },
    }
}

fn fmtp_parameter() -> impl Strategy<Value = Parameter> {
    prop_oneof![
        3 => (FMTP_NAME, FMTP_VALUE).prop_map(|(n, v)| pair(&n, &v)),
        1 => (FMTP_VALUE, 0u8..3).prop_map(|(t, d)| bare_token(t, d)),
    ]
}

/// Parameters that make sense for the encoding: telephone-event carries its event
/// list (named `events`, or a bare token in any dialect), RED its redundancy list
/// (`pt`), everything else name=value pairs and bare tokens.
fn parameters(name: Option<&str>) -> BoxedStrategy<Vec<Parameter>> {
    match name.map(str::to_ascii_lowercase).as_deref() {
        Some("telephone-event") => prop_oneof![
            Just(Vec::new()),
            (events_list(), 0u8..4).prop_map(|(events, dialect)| match dialect {
                3 => vec![pair("events", &events)],
                d => vec![bare_token(events, d)],
            }),
        ]
        .boxed(),
        Some("red") => prop_oneof![
            Just(Vec::new()),
            vec(0u8..=127, 1..=3).prop_map(|pts| {
                let list: Vec<String> = pts.iter().map(u8::to_string).collect();
                vec![pair("pt", &list.join(","))]
            }),
        ]
        .boxed(),
        _ => vec(fmtp_parameter(), 0..=4).boxed(),
    }
}

fn payload_type(id: u8) -> BoxedStrategy<PayloadType> {
    (
        naming(id),
        option::of(10u32..=120),
        option::of(10u32..=240),
        vec(rtcp_fb(), 0..=2),
        option::of(any::<u32>()),
    )
        .prop_flat_map(
            move |((name, clockrate, channels), ptime, maxptime, rtcp_fb, trr_int)| {
                parameters(name.as_deref()).prop_map(move |parameters| PayloadType {
                    id,
                    name: name.clone(),
                    clockrate,
                    channels,
                    ptime,
                    maxptime,
                    parameters,
                    rtcp_fb: rtcp_fb.clone(),
                    rtcp_fb_trr_int: trr_int,
                })
            },
        )
        .boxed()
}

/// 1–5 payload types with distinct ids, most preferred first.
fn payload_types() -> impl Strategy<Value = Vec<PayloadType>> {
    vec(payload_id().prop_flat_map(payload_type), 1..=5).prop_map(|pts| unique_by(pts, |p| p.id))
}

/// Header extensions with distinct ids (RFC 8285 forbids repeating one).
fn hdrexts() -> impl Strategy<Value = Vec<RtpHdrext>> {
    let hdrext = (1u16..=255, hdrext_uri(), option::of(senders()))
        .prop_map(|(id, uri, senders)| RtpHdrext { id, uri, senders });
    vec(hdrext, 0..=3).prop_map(|h| unique_by(h, |h| h.id))
}

prop_compose! {
    fn encryption()(
        required in option::of(any::<bool>()),
        crypto in vec(crypto(), 1..=2),
        zrtp in vec("[0-9a-f]{64}", 0..=1),
    ) -> Encryption {
        Encryption {
            required,
            crypto,
            zrtp_hash: zrtp
                .into_iter()
                .map(|value| ZrtpHash { version: "1.10".to_string(), value })
                .collect(),
        }
    }
}

prop_compose! {
    fn bandwidth()(kind in select(&["AS", "TIAS", "CT"][..]), value in 0u64..=10_000_000)
        -> stox::jingle::Bandwidth {
        stox::jingle::Bandwidth { kind: kind.to_string(), value }
    }
}

prop_compose! {
    fn msid()(id in "[A-Za-z0-9-]{1,10}", track in option::of("[A-Za-z0-9-]{1,10}")) -> Msid {
        Msid { id, track }
    }
}

prop_compose! {
    fn rtp_description()(
        (media, ssrc, maxptime) in (
            select(&["audio", "video"][..]),
            option::of(any::<u32>()),
            option::of(10u32..=240),
        ),
        payload_types in payload_types(),
        (bandwidth, rtcp_mux, rtcp_reduced_size, extmap_allow_mixed) in
            (vec(bandwidth(), 0..=2), any::<bool>(), any::<bool>(), any::<bool>()),
        encryption in option::of(encryption()),
        (rtcp_fb, rtcp_fb_trr_int) in (vec(rtcp_fb(), 0..=2), option::of(any::<u32>())),
        hdrext in hdrexts(),
        // XEP-0339 allows a <source/> without parameters.
        (sources, ssrc_groups) in sources_and_groups(0),
        msid in vec(msid(), 0..=1),
    ) -> RtpDescription {
        RtpDescription {
            media: media.to_string(),
            ssrc,
            maxptime,
            payload_types,
            bandwidth,
            rtcp_mux,
            rtcp_reduced_size,
            encryption,
            rtcp_fb,
            rtcp_fb_trr_int,
            hdrext,
            extmap_allow_mixed,
            sources,
            ssrc_groups,
            msid,
            unknown: Vec::new(),
        }
    }
}

prop_compose! {
    fn ice_candidate()(
        (component, foundation, generation, id, network) in (
            1u16..=2,
            "[A-Za-z0-9+/]{1,10}",
            option::of(0u32..=5),
            option::of("[a-z0-9]{1,8}"),
            option::of(0u32..=10),
        ),
        ip in candidate_address(),
        port in 1u16..,
        priority in any::<u32>(),
        tcp in any::<bool>(),
        tcptype in option::of(select(TCP_TYPES)),
        kind in select(CANDIDATE_TYPES),
        related in option::of((ip_address(), any::<u16>())),
    ) -> IceCandidate {
        // rel-addr/rel-port belong to reflexive and relayed candidates only.
        let (rel_addr, rel_port) = match related {
            Some((addr, port)) if kind != "host" => (Some(addr), Some(port)),
            _ => (None, None),
        };
        IceCandidate {
            component,
            foundation,
            generation,
            id,
            ip,
            network,
            port,
            priority,
            protocol: if tcp { "tcp" } else { "udp" }.to_string(),
            rel_addr,
            rel_port,
            kind: kind.to_string(),
            tcptype: tcptype.filter(|_| tcp).map(str::to_string),
        }
    }
}

prop_compose! {
    fn remote_candidate()(component in 1u16..=2, ip in ip_address(), port in 1u16..) -> RemoteCandidate {
        RemoteCandidate { component, ip, port }
    }
}

/// 0–2 fingerprints sharing one setup, as a single `a=setup` can only say one.
fn fingerprints() -> impl Strategy<Value = Vec<Fingerprint>> {
    (
        option::of(select(SETUPS)),
        vec(
            (
                select(HASHES),
                fingerprint_value(),
                option::of(any::<bool>()),
            ),
            0..=2,
        ),
    )
        .prop_map(|(setup, prints)| {
            prints
                .into_iter()
                .map(|(hash, value, required)| Fingerprint {
                    hash: hash.to_string(),
                    setup: setup.map(str::to_string),
                    value,
                    required,
                })
                .collect()
        })
}

prop_compose! {
    fn ice_transport()(
        ufrag in UFRAG,
        pwd in PWD,
        candidates in vec(ice_candidate(), 0..=4),
        remote_candidates in vec(remote_candidate(), 0..=1),
        fingerprints in fingerprints(),
        end_of_candidates in any::<bool>(),
    ) -> IceUdpTransport {
        IceUdpTransport {
            ufrag: Some(ufrag),
            pwd: Some(pwd),
            candidates,
            remote_candidates,
            fingerprints,
            end_of_candidates,
            unknown: Vec::new(),
        }
    }
}

prop_compose! {
    /// XEP-0177: an RTP candidate and maybe an RTCP one, either at the implicit
    /// port+1 of the same address or elsewhere.
    fn raw_transport()(
        ip in ip_address(),
        port in 1u16..u16::MAX,
        ids in (option::of("[a-z0-9]{1,8}"), option::of("[a-z0-9]{1,8}")),
        generation in option::of(0u32..=3),
        rtcp in option::of(prop_oneof![Just(None), (ip_address(), 1u16..).prop_map(Some)]),
        fingerprints in fingerprints(),
    ) -> RawUdpTransport {
        let mut candidates = vec![RawCandidate { component: 1, generation, id: ids.0, ip: ip.clone(), port }];
        if let Some(rtcp) = rtcp {
            let (ip, port) = rtcp.unwrap_or((ip, port + 1));
            candidates.push(RawCandidate { component: 2, generation, id: ids.1, ip, port });
        }
        RawUdpTransport { candidates, fingerprints, unknown: Vec::new() }
    }
}

fn transport() -> impl Strategy<Value = Transport> {
    prop_oneof![
        4 => ice_transport().prop_map(Transport::IceUdp),
        1 => raw_transport().prop_map(Transport::RawUdp),
    ]
}

/// A content; its name is made unique by `jingle()`.
fn content() -> impl Strategy<Value = Content> {
    (
        CONTENT_NAME,
        prop_oneof![Just(Creator::Initiator), Just(Creator::Responder)],
        option::of(senders()),
        option::of(select(&["session", "early-session"][..])),
        rtp_description(),
        transport(),
    )
        .prop_map(
            |(name, creator, senders, disposition, description, transport)| Content {
                creator,
                name,
                senders,
                disposition: disposition.map(str::to_string),
                description: Some(Description::Rtp(description)),
                transport: Some(transport),
                unknown: Vec::new(),
            },
        )
}

/// Attribute text with every XML special character, to exercise escaping, and
/// the whitespace that XML attribute-value normalisation turns into spaces
/// unless written as character references.
const FREE_TEXT: &str = "[ -~\t\n\r]{0,12}";

fn jingle() -> impl Strategy<Value = Jingle> {
    (
        vec(content(), 1..=3),
        any::<bool>(),
        (
            option::of(FREE_TEXT),
            option::of(FREE_TEXT),
            option::of(FREE_TEXT),
            option::of(FREE_TEXT),
        ),
    )
        .prop_map(|(contents, bundle, (action, sid, initiator, responder))| {
            let contents = unique_by(contents, |c| c.name.clone());
            let groups = if bundle {
                vec![Group {
                    semantics: "BUNDLE".to_string(),
                    contents: contents.iter().map(|c| c.name.clone()).collect(),
                }]
            } else {
                Vec::new()
            };
            Jingle {
                action,
                sid,
                initiator,
                responder,
                contents,
                groups,
                unknown: Vec::new(),
            }
        })
}

// ---- equivalences ------------------------------------------------------------------

/// Rewrites the forms the translator treats as the same meaning into one:
/// - channels `Some(1)` ≡ absent (RFC 4566: may be omitted when 1);
/// - the three bare-token parameter dialects ≡ `name='' value=token`
///   (compared through `FmtpItem::of`);
/// - content and header-extension `senders` absent ≡ both (XEP-0166, XEP-0294);
/// - candidate `id` and `network`: Jingle-only, not carried in SDP by design
///   (draft-ietf-stox-media §5.4), so never compared;
/// - a raw-UDP RTCP candidate at the RTP address and port+1 ≡ none (RFC 3605's
///   implicit RTCP port).
fn canonical(mut j: Jingle) -> Jingle {
    for c in &mut j.contents {
        c.senders = Some(c.senders());
        if let Some(Description::Rtp(d)) = &mut c.description {
            for pt in &mut d.payload_types {
                if pt.channels == Some(1) {
                    pt.channels = None;
                }
                pt.parameters = pt
                    .parameters
                    .iter()
                    .map(|p| match FmtpItem::of(p) {
                        FmtpItem::Pair(name, value) => pair(name, value),
                        FmtpItem::Token(token) => pair("", token),
                    })
                    .collect();
            }
            for h in &mut d.hdrext {
                if h.senders == Some(Senders::Both) {
                    h.senders = None;
                }
            }
        }
        match &mut c.transport {
            Some(Transport::IceUdp(t)) => {
                for cand in &mut t.candidates {
                    cand.id = None;
                    cand.network = None;
                }
            }
            Some(Transport::RawUdp(t)) => {
                for cand in &mut t.candidates {
                    cand.id = None;
                }
                let rtp = t.candidates.iter().find(|c| c.component == 1).cloned();
                if let Some(rtp) = rtp {
                    t.candidates.retain(|c| {
                        !(c.component == 2
                            && c.ip == rtp.ip
                            && Some(c.port) == rtp.port.checked_add(1))
                    });
                }
            }
            _ => {}
        }
    }
    j
}

// ---- Jingle → SDP → Jingle: what must come back ----------------------------------------

/// What `sdp_to_jingle(jingle_to_sdp(j))` must give for a generated `j`: every
/// change from `j` is a documented approximation, named where it is made.
fn expected_after_sdp(j: &Jingle) -> Jingle {
    Jingle {
        // action, sid, initiator and responder have no SDP counterpart.
        contents: j.contents.iter().map(expected_content).collect(),
        groups: j.groups.clone(),
        ..Jingle::default()
    }
}

fn expected_content(c: &Content) -> Content {
    let (fingerprints, transport) = match c.transport.as_ref().expect("generated") {
        Transport::IceUdp(t) => (
            t.fingerprints.clone(),
            Transport::IceUdp(IceUdpTransport {
                candidates: t
                    .candidates
                    .iter()
                    .map(|cand| IceCandidate {
                        // An SDP candidate without `generation` is generation 0.
                        generation: cand.generation.or(Some(0)),
                        ..cand.clone()
                    })
                    .collect(),
                fingerprints: expected_fingerprints(&t.fingerprints),
                ..t.clone()
            }),
        ),
        Transport::RawUdp(t) => (
            t.fingerprints.clone(),
            Transport::RawUdp(RawUdpTransport {
                // c=/m= and a=rtcp carry address and port; generation is always 0.
                candidates: t
                    .candidates
                    .iter()
                    .map(|cand| RawCandidate {
                        generation: Some(0),
                        ..cand.clone()
                    })
                    .collect(),
                fingerprints: expected_fingerprints(&t.fingerprints),
                ..t.clone()
            }),
        ),
        Transport::Other(_) => unreachable!("not generated"),
    };
    let Some(Description::Rtp(d)) = &c.description else {
        unreachable!("not generated")
    };
    Content {
        // SDP has no creator; a translated offer's contents are the initiator's.
        creator: Creator::Initiator,
        name: c.name.clone(),
        senders: Some(c.senders()),
        // Disposition goes in SIP's Content-Disposition, not in the SDP.
        disposition: None,
        description: Some(Description::Rtp(expected_description(
            d,
            !fingerprints.is_empty(),
        ))),
        transport: Some(transport),
        unknown: Vec::new(),
    }
}

/// XEP-0320 `required` is Jitsi's own; one `a=setup` (the first one found) applies to all.
fn expected_fingerprints(prints: &[Fingerprint]) -> Vec<Fingerprint> {
    let setup = prints.iter().find_map(|f| f.setup.clone());
    prints
        .iter()
        .map(|f| Fingerprint {
            setup: setup.clone(),
            required: None,
            ..f.clone()
        })
        .collect()
}

fn expected_description(d: &RtpDescription, has_fingerprint: bool) -> RtpDescription {
    // a=ptime / a=maxptime are per m= line: the minimum is written and copied back
    // to every payload type; the description-level maxptime (Jitsi) wins.
    let ptime = d.payload_types.iter().filter_map(|p| p.ptime).min();
    let maxptime = d
        .maxptime
        .or_else(|| d.payload_types.iter().filter_map(|p| p.maxptime).min());
    RtpDescription {
        // The description-level ssrc attribute has no SDP line of its own.
        ssrc: None,
        maxptime: None,
        payload_types: d
            .payload_types
            .iter()
            .map(|pt| expected_payload_type(pt, ptime, maxptime))
            .collect(),
        // Jingle has no m= proto: `required` is re-derived from the profile, which is
        // SAVP with DTLS and for required SDES, AVP for optional SDES (best effort).
        encryption: d.encryption.as_ref().map(|e| Encryption {
            required: Some(has_fingerprint || e.required != Some(false)),
            ..e.clone()
        }),
        // a=ssrc needs an attribute (RFC 5576): a parameter-less source is not written.
        sources: d
            .sources
            .iter()
            .filter(|s| !s.parameters.is_empty())
            .cloned()
            .collect(),
        ..d.clone()
    }
}

fn expected_payload_type(
    pt: &PayloadType,
    ptime: Option<u32>,
    maxptime: Option<u32>,
) -> PayloadType {
    let mut out = PayloadType {
        ptime,
        maxptime,
        ..pt.clone()
    };
    // Unnamed static payload types get their RFC 3551 name and rate; a named one
    // without a clock rate gets the rate (its rtpmap is written with it).
    if let Some((name, clock, channels)) = rfc3551(pt.id) {
        if pt.name.is_none() {
            out.name = Some(name.to_string());
            out.channels = channels;
        }
        if pt.clockrate.is_none() {
            out.clockrate = Some(clock);
        }
    }
    if is_codec(&out, "telephone-event") {
        // Checklist 14: the event list is `events`, and no fmtp means 0-15.
        let items: Vec<FmtpItem> = out.parameters.iter().map(FmtpItem::of).collect();
        out.parameters = match items.as_slice() {
            [] => vec![pair("events", "0-15")],
            [FmtpItem::Pair("events", events) | FmtpItem::Token(events)] => {
                vec![pair("events", events)]
            }
            _ => out.parameters.clone(),
        };
    }
    out
}

/// Splits SDP text into its media sections' lines.
fn media_sections(sdp: &str) -> Vec<Vec<&str>> {
    let mut sections: Vec<Vec<&str>> = Vec::new();
    for line in sdp.lines() {
        if line.starts_with("m=") {
            sections.push(Vec::new());
        }
        if let Some(section) = sections.last_mut() {
            section.push(line);
        }
    }
    sections
}

/// The SDP says each content's senders and each header extension's senders with
/// the direction of the perspective table. A round trip alone would not catch a
/// table inverted on both sides.
fn check_directions(j: &Jingle, sdp: &str, writer: Role) -> Result<(), TestCaseError> {
    let sections = media_sections(sdp);
    prop_assert_eq!(sections.len(), j.contents.len());
    for (c, lines) in j.contents.iter().zip(&sections) {
        let directions: Vec<&str> = lines
            .iter()
            .filter_map(|l| l.strip_prefix("a="))
            .filter(|a| DIRECTIONS.contains(a))
            .collect();
        prop_assert_eq!(
            directions,
            vec![direction_for(c.senders(), writer)],
            "content {}",
            &c.name
        );
        let Some(Description::Rtp(d)) = &c.description else {
            continue;
        };
        for h in &d.hdrext {
            let id = match h.senders.unwrap_or_default() {
                Senders::Both => h.id.to_string(),
                s => format!("{}/{}", h.id, direction_for(s, writer)),
            };
            let line = format!("a=extmap:{id} {}", h.uri);
            prop_assert!(
                lines.contains(&line.as_str()),
                "missing {} in {:?}",
                line,
                lines
            );
        }
    }
    Ok(())
}

// ---- SDP structure: generation, rendering, expectation ---------------------------------

#[derive(Debug, Clone)]
enum Fmtp {
    Absent,
    /// telephone-event: `a=fmtp:101 0-15`.
    Events(String),
    /// RED: `a=fmtp:97 111/111`.
    Red(Vec<u8>),
    /// `name=value` pairs (name `Some`) and bare tokens (name `None`), joined by
    /// `separator` (`,` only between pairs, as Speex writes `sr=16000,mode=any`).
    Items {
        items: Vec<(Option<String>, String)>,
        separator: &'static str,
    },
}

#[derive(Debug, Clone)]
struct CodecSpec {
    id: u8,
    /// `(name, clock rate, channels)`; absent only for the RFC 3551 ids in the local table.
    rtpmap: Option<(String, u32, Option<u32>)>,
    fmtp: Fmtp,
    rtcp_fb: Vec<RtcpFb>,
    trr_int: Option<u32>,
}

#[derive(Debug, Clone)]
struct CandidateSpec {
    foundation: String,
    component: u16,
    /// As written: `udp`, `UDP`, `tcp` or `TCP` (RFC 8839 transport is case-insensitive).
    protocol: String,
    priority: u32,
    ip: String,
    port: u16,
    kind: &'static str,
    related: Option<(String, u16)>,
    tcptype: Option<&'static str>,
    generation: Option<u32>,
    network_id: Option<u32>,
}

#[derive(Debug, Clone)]
enum Net {
    Ice {
        ufrag: String,
        pwd: String,
        candidates: Vec<CandidateSpec>,
    },
    /// No ICE: the m=/c= address, and maybe `a=rtcp:PORT [IN IP4 ADDR]`.
    Raw { rtcp: Option<(u16, Option<String>)> },
}

#[derive(Debug, Clone)]
struct MediaSpec {
    kind: &'static str,
    mid: Option<String>,
    port: u16,
    connection: String,
    codecs: Vec<CodecSpec>,
    ptime: Option<u32>,
    wildcard_fb: Vec<RtcpFb>,
    wildcard_trr_int: Option<u32>,
    extmaps: Vec<(u16, Option<&'static str>, String)>,
    sources: Vec<Source>,
    ssrc_groups: Vec<SsrcGroup>,
    net: Net,
    fingerprints: Vec<(&'static str, String)>,
    setup: Option<&'static str>,
    crypto: Vec<Crypto>,
    /// With SDES and no DTLS: RTP/SAVP (SDES required) rather than RTP/AVP.
    savp: bool,
    /// Whether the profile ends in F (it means nothing to Jingle).
    feedback_profile: bool,
    direction: Option<&'static str>,
    rtcp_mux: bool,
}

#[derive(Debug, Clone)]
struct SdpSpec {
    writer: Role,
    crlf: bool,
    bundle: bool,
    /// Session-level defaults a media section may override (checklist 3 for the
    /// direction; Firefox writes its fingerprint at session level).
    session_direction: Option<&'static str>,
    session_fingerprints: Vec<(&'static str, String)>,
    session_setup: Option<&'static str>,
    medias: Vec<MediaSpec>,
}

impl SdpSpec {
    /// A section's own fingerprints, else the session's.
    fn fingerprints<'a>(&'a self, m: &'a MediaSpec) -> &'a [(&'static str, String)] {
        if m.fingerprints.is_empty() {
            &self.session_fingerprints
        } else {
            &m.fingerprints
        }
    }

    fn setup(&self, m: &MediaSpec) -> Option<&'static str> {
        m.setup.or(self.session_setup)
    }

    fn direction(&self, m: &MediaSpec) -> &'static str {
        // No direction attribute anywhere means sendrecv.
        m.direction.or(self.session_direction).unwrap_or("sendrecv")
    }
}

fn fmtp_spec(name: &str) -> BoxedStrategy<Fmtp> {
    match name.to_ascii_lowercase().as_str() {
        "telephone-event" => {
            prop_oneof![Just(Fmtp::Absent), events_list().prop_map(Fmtp::Events)].boxed()
        }
        "red" => prop_oneof![
            Just(Fmtp::Absent),
            vec(0u8..=127, 1..=3).prop_map(Fmtp::Red)
        ]
        .boxed(),
        _ => prop_oneof![
            1 => Just(Fmtp::Absent),
            3 => (
                vec(
                    prop_oneof![
                        3 => (FMTP_NAME, FMTP_VALUE).prop_map(|(n, v)| (Some(n), v)),
                        1 => FMTP_VALUE.prop_map(|t| (None, t)),
                    ],
                    1..=4,
                ),
                select(&[";", "; ", ","][..]),
            )
                .prop_map(|(items, separator)| {
                    let all_pairs = items.len() > 1 && items.iter().all(|(n, _)| n.is_some());
                    let separator = if separator == "," && !all_pairs { ";" } else { separator };
                    Fmtp::Items { items, separator }
                }),
        ]
        .boxed(),
    }
}

fn codec_spec(id: u8) -> BoxedStrategy<CodecSpec> {
    let rtpmap = (codec_name(), clockrate(), option::of(1u32..=8)).prop_map(Some);
    let rtpmap = if rfc3551(id).is_some() {
        prop_oneof![2 => rtpmap, 1 => Just(None)].boxed()
    } else {
        rtpmap.boxed()
    };
    (rtpmap, vec(rtcp_fb(), 0..=2), option::of(any::<u32>()))
        .prop_flat_map(move |(rtpmap, rtcp_fb, trr_int)| {
            let name = match &rtpmap {
                Some((name, ..)) => name.clone(),
                None => rfc3551(id).expect("static").0.to_string(),
            };
            fmtp_spec(&name).prop_map(move |fmtp| CodecSpec {
                id,
                rtpmap: rtpmap.clone(),
                fmtp,
                rtcp_fb: rtcp_fb.clone(),
                trr_int,
            })
        })
        .boxed()
}

prop_compose! {
    fn candidate_spec()(
        (foundation, component, protocol, priority) in (
            "[A-Za-z0-9+/]{1,10}",
            1u16..=2,
            select(&["udp", "UDP", "tcp", "TCP"][..]),
            any::<u32>(),
        ),
        ip in candidate_address(),
        port in 1u16..,
        kind in select(CANDIDATE_TYPES),
        related in option::of((ip_address(), any::<u16>())),
        tcptype in option::of(select(TCP_TYPES)),
        generation in option::of(0u32..=5),
        network_id in option::of(0u32..=10),
    ) -> CandidateSpec {
        let tcp = protocol.eq_ignore_ascii_case("tcp");
        CandidateSpec {
            foundation,
            component,
            protocol: protocol.to_string(),
            priority,
            ip,
            port,
            kind,
            related: related.filter(|_| kind != "host"),
            tcptype: tcptype.filter(|_| tcp),
            generation,
            network_id,
        }
    }
}

fn net_spec() -> impl Strategy<Value = Net> {
    prop_oneof![
        3 => (UFRAG, PWD, vec(candidate_spec(), 0..=4))
            .prop_map(|(ufrag, pwd, candidates)| Net::Ice { ufrag, pwd, candidates }),
        1 => option::of((1u16.., option::of(ip_address()))).prop_map(|rtcp| Net::Raw { rtcp }),
    ]
}

prop_compose! {
    fn media_spec()(
        (kind, port, connection, ptime) in (
            select(&["audio", "video"][..]),
            1u16..,
            ip_address(),
            option::of(10u32..=120),
        ),
        codecs in vec(payload_id().prop_flat_map(codec_spec), 1..=5)
            .prop_map(|codecs| unique_by(codecs, |c| c.id)),
        (wildcard_fb, wildcard_trr_int) in (vec(rtcp_fb(), 0..=2), option::of(any::<u32>())),
        extmaps in vec((1u16..=255, option::of(select(DIRECTIONS)), hdrext_uri()), 0..=3)
            .prop_map(|e| unique_by(e, |e| e.0)),
        // RFC 5576: every a=ssrc line carries an attribute.
        (sources, ssrc_groups) in sources_and_groups(1),
        net in net_spec(),
        (fingerprints, setup) in (
            vec((select(HASHES), fingerprint_value()), 0..=2),
            option::of(select(SETUPS)),
        ),
        (crypto, savp, feedback_profile) in (vec(crypto(), 0..=2), any::<bool>(), any::<bool>()),
        (direction, rtcp_mux) in (option::of(select(DIRECTIONS)), any::<bool>()),
    ) -> MediaSpec {
        MediaSpec {
            kind,
            mid: None,
            port,
            connection,
            codecs,
            ptime,
            wildcard_fb,
            wildcard_trr_int,
            extmaps,
            sources,
            ssrc_groups,
            net,
            fingerprints,
            setup,
            crypto,
            savp,
            feedback_profile,
            direction,
            rtcp_mux,
        }
    }
}

/// Mids that collide with the names given to mid-less m= lines (`audio`,
/// `audio-1`) are weighted up, to exercise the uniqueness rule.
fn mid() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => select(&["audio", "video", "audio-1", "0", "1"][..]).prop_map(str::to_string),
        3 => CONTENT_NAME,
    ]
}

fn sdp_spec() -> impl Strategy<Value = SdpSpec> {
    (
        role(),
        any::<bool>(),
        any::<bool>(),
        vec((media_spec(), option::weighted(0.8, mid())), 1..=3),
        (
            option::of(select(DIRECTIONS)),
            prop_oneof![
                3 => Just(Vec::new()),
                1 => vec((select(HASHES), fingerprint_value()), 1..=2),
            ],
            option::of(select(SETUPS)),
        ),
    )
        .prop_map(|(writer, crlf, bundle, medias, session)| {
            let (session_direction, session_fingerprints, session_setup) = session;
            // A repeated mid is dropped: that m= line gets a generated name instead.
            let mut mids: Vec<String> = Vec::new();
            let medias: Vec<MediaSpec> = medias
                .into_iter()
                .map(|(m, mid)| {
                    let mid = mid.filter(|mid| !mids.contains(mid));
                    mids.extend(mid.clone());
                    MediaSpec { mid, ..m }
                })
                .collect();
            // BUNDLE names mids, so only when every m= line has one.
            let bundle = bundle && medias.iter().all(|m| m.mid.is_some());
            SdpSpec {
                writer,
                crlf,
                bundle,
                session_direction,
                session_fingerprints,
                session_setup,
                medias,
            }
        })
}

fn ice_of(m: &MediaSpec) -> bool {
    matches!(m.net, Net::Ice { .. })
}

/// The m= profile a conformant writer uses for what the section holds: DTLS and
/// required SDES are SAVP, optional SDES is AVP (RFC 4568 best effort).
fn proto(spec: &SdpSpec, m: &MediaSpec) -> String {
    let dtls = !spec.fingerprints(m).is_empty();
    let base = if dtls {
        if ice_of(m) {
            "UDP/TLS/RTP/SAVP"
        } else if !m.crypto.is_empty() {
            "RTP/SAVP"
        } else {
            "UDP/TLS/RTP/SAVP"
        }
    } else if !m.crypto.is_empty() && m.savp {
        "RTP/SAVP"
    } else {
        "RTP/AVP"
    };
    let f = if m.feedback_profile || (ice_of(m) && dtls) {
        "F"
    } else {
        ""
    };
    format!("{base}{f}")
}

fn addr_type(address: &str) -> &'static str {
    if address.contains(':') { "IP6" } else { "IP4" }
}

fn feedback_line(pt: &str, fb: &RtcpFb) -> String {
    match &fb.subtype {
        Some(sub) => format!("a=rtcp-fb:{pt} {} {sub}", fb.kind),
        None => format!("a=rtcp-fb:{pt} {}", fb.kind),
    }
}

fn fmtp_text(fmtp: &Fmtp) -> Option<String> {
    match fmtp {
        Fmtp::Absent => None,
        Fmtp::Events(events) => Some(events.clone()),
        Fmtp::Red(pts) => Some(pts.iter().map(u8::to_string).collect::<Vec<_>>().join("/")),
        Fmtp::Items { items, separator } => Some(
            items
                .iter()
                .map(|(name, value)| match name {
                    Some(name) => format!("{name}={value}"),
                    None => value.clone(),
                })
                .collect::<Vec<_>>()
                .join(separator),
        ),
    }
}

fn render_media(spec: &SdpSpec, m: &MediaSpec, out: &mut Vec<String>) {
    let ids: Vec<String> = m.codecs.iter().map(|c| c.id.to_string()).collect();
    out.push(format!(
        "m={} {} {} {}",
        m.kind,
        m.port,
        proto(spec, m),
        ids.join(" ")
    ));
    out.push(format!(
        "c=IN {} {}",
        addr_type(&m.connection),
        m.connection
    ));
    if let Some(mid) = &m.mid {
        out.push(format!("a=mid:{mid}"));
    }
    if let Some(d) = m.direction {
        out.push(format!("a={d}"));
    }
    if m.rtcp_mux {
        out.push("a=rtcp-mux".to_string());
    }
    if let Net::Ice { ufrag, pwd, .. } = &m.net {
        out.push(format!("a=ice-ufrag:{ufrag}"));
        out.push(format!("a=ice-pwd:{pwd}"));
    }
    for (hash, value) in &m.fingerprints {
        out.push(format!("a=fingerprint:{hash} {value}"));
    }
    if let Some(setup) = m.setup {
        out.push(format!("a=setup:{setup}"));
    }
    for (id, direction, uri) in &m.extmaps {
        match direction {
            Some(d) => out.push(format!("a=extmap:{id}/{d} {uri}")),
            None => out.push(format!("a=extmap:{id} {uri}")),
        }
    }
    for c in &m.codecs {
        match &c.rtpmap {
            Some((name, clock, Some(ch))) => {
                out.push(format!("a=rtpmap:{} {name}/{clock}/{ch}", c.id))
            }
            Some((name, clock, None)) => out.push(format!("a=rtpmap:{} {name}/{clock}", c.id)),
            None => {}
        }
        if let Some(text) = fmtp_text(&c.fmtp) {
            out.push(format!("a=fmtp:{} {text}", c.id));
        }
        for fb in &c.rtcp_fb {
            out.push(feedback_line(&c.id.to_string(), fb));
        }
        if let Some(v) = c.trr_int {
            out.push(format!("a=rtcp-fb:{} trr-int {v}", c.id));
        }
    }
    for fb in &m.wildcard_fb {
        out.push(feedback_line("*", fb));
    }
    if let Some(v) = m.wildcard_trr_int {
        out.push(format!("a=rtcp-fb:* trr-int {v}"));
    }
    if let Some(p) = m.ptime {
        out.push(format!("a=ptime:{p}"));
    }
    for c in &m.crypto {
        let mut line = format!("a=crypto:{} {} {}", c.tag, c.crypto_suite, c.key_params);
        if let Some(s) = &c.session_params {
            line.push(' ');
            line.push_str(s);
        }
        out.push(line);
    }
    for g in &m.ssrc_groups {
        let ids: Vec<String> = g.sources.iter().map(u32::to_string).collect();
        out.push(format!("a=ssrc-group:{} {}", g.semantics, ids.join(" ")));
    }
    for s in &m.sources {
        if s.parameters.is_empty() {
            out.push(format!("a=ssrc:{}", s.ssrc));
        }
        for (name, value) in &s.parameters {
            match value {
                Some(v) => out.push(format!("a=ssrc:{} {name}:{v}", s.ssrc)),
                None => out.push(format!("a=ssrc:{} {name}", s.ssrc)),
            }
        }
    }
    match &m.net {
        Net::Ice { candidates, .. } => {
            for c in candidates {
                let mut line = format!(
                    "a=candidate:{} {} {} {} {} {} typ {}",
                    c.foundation, c.component, c.protocol, c.priority, c.ip, c.port, c.kind
                );
                if let Some((addr, port)) = &c.related {
                    line.push_str(&format!(" raddr {addr} rport {port}"));
                }
                if let Some(t) = c.tcptype {
                    line.push_str(&format!(" tcptype {t}"));
                }
                if let Some(g) = c.generation {
                    line.push_str(&format!(" generation {g}"));
                }
                if let Some(n) = c.network_id {
                    line.push_str(&format!(" network-id {n}"));
                }
                out.push(line);
            }
        }
        Net::Raw {
            rtcp: Some((port, Some(addr))),
        } => out.push(format!("a=rtcp:{port} IN {} {addr}", addr_type(addr))),
        Net::Raw {
            rtcp: Some((port, None)),
        } => out.push(format!("a=rtcp:{port}")),
        Net::Raw { rtcp: None } => {}
    }
}

fn render_sdp(spec: &SdpSpec) -> String {
    let mut lines: Vec<String> = vec![
        "v=0".into(),
        "o=- 4611731400430051336 2 IN IP4 127.0.0.1".into(),
        "s=-".into(),
        "t=0 0".into(),
    ];
    if spec.bundle {
        let mids: Vec<&str> = spec
            .medias
            .iter()
            .filter_map(|m| m.mid.as_deref())
            .collect();
        lines.push(format!("a=group:BUNDLE {}", mids.join(" ")));
    }
    if let Some(d) = spec.session_direction {
        lines.push(format!("a={d}"));
    }
    for (hash, value) in &spec.session_fingerprints {
        lines.push(format!("a=fingerprint:{hash} {value}"));
    }
    if let Some(setup) = spec.session_setup {
        lines.push(format!("a=setup:{setup}"));
    }
    for m in &spec.medias {
        render_media(spec, m, &mut lines);
    }
    let eol = if spec.crlf { "\r\n" } else { "\n" };
    let mut text = lines.join(eol);
    text.push_str(eol);
    text
}

/// Content names: the mid, else the media type made unique (`audio`, `audio-1`)
/// against every mid and every name given so far (ARCHITECTURE.md, content name).
fn content_names(spec: &SdpSpec) -> Vec<String> {
    let mut used: Vec<String> = spec.medias.iter().filter_map(|m| m.mid.clone()).collect();
    spec.medias
        .iter()
        .map(|m| match &m.mid {
            Some(mid) => mid.clone(),
            None => {
                let mut name = m.kind.to_string();
                let mut n = 1;
                while used.contains(&name) {
                    name = format!("{}-{n}", m.kind);
                    n += 1;
                }
                used.push(name.clone());
                name
            }
        })
        .collect()
}

fn expected_parameters(name: &str, fmtp: &Fmtp) -> Vec<Parameter> {
    let te = name.eq_ignore_ascii_case("telephone-event");
    match fmtp {
        Fmtp::Absent if te => vec![pair("events", "0-15")],
        Fmtp::Absent => Vec::new(),
        Fmtp::Events(events) => vec![pair("events", events)],
        Fmtp::Red(pts) => {
            let list: Vec<String> = pts.iter().map(u8::to_string).collect();
            vec![pair("pt", &list.join(","))]
        }
        Fmtp::Items { items, .. } => items
            .iter()
            .map(|(name, value)| pair(name.as_deref().unwrap_or(""), value))
            .collect(),
    }
}

fn expected_codec(c: &CodecSpec, ptime: Option<u32>) -> PayloadType {
    let (name, clockrate, channels) = match &c.rtpmap {
        Some((name, clock, channels)) => (name.clone(), *clock, *channels),
        None => {
            let (name, clock, channels) = rfc3551(c.id).expect("static");
            (name.to_string(), clock, channels)
        }
    };
    PayloadType {
        id: c.id,
        parameters: expected_parameters(&name, &c.fmtp),
        name: Some(name),
        clockrate: Some(clockrate),
        channels,
        ptime,
        maxptime: None,
        rtcp_fb: c.rtcp_fb.clone(),
        rtcp_fb_trr_int: c.trr_int,
    }
}

fn expected_media(spec: &SdpSpec, m: &MediaSpec, name: String) -> Content {
    let writer = spec.writer;
    let fingerprints: Vec<Fingerprint> = spec
        .fingerprints(m)
        .iter()
        .map(|(hash, value)| Fingerprint {
            hash: hash.to_string(),
            setup: spec.setup(m).map(str::to_string),
            value: value.clone(),
            required: None,
        })
        .collect();
    let transport = match &m.net {
        Net::Ice {
            ufrag,
            pwd,
            candidates,
        } => Transport::IceUdp(IceUdpTransport {
            ufrag: Some(ufrag.clone()),
            pwd: Some(pwd.clone()),
            candidates: candidates
                .iter()
                .map(|c| IceCandidate {
                    component: c.component,
                    foundation: c.foundation.clone(),
                    generation: c.generation.or(Some(0)),
                    id: None,
                    ip: c.ip.clone(),
                    network: c.network_id,
                    port: c.port,
                    priority: c.priority,
                    protocol: c.protocol.to_ascii_lowercase(),
                    rel_addr: c.related.as_ref().map(|r| r.0.clone()),
                    rel_port: c.related.as_ref().map(|r| r.1),
                    kind: c.kind.to_string(),
                    tcptype: c.tcptype.map(str::to_string),
                })
                .collect(),
            fingerprints,
            ..IceUdpTransport::default()
        }),
        Net::Raw { rtcp } => {
            let raw = |component, ip: &str, port| RawCandidate {
                component,
                generation: Some(0),
                id: None,
                ip: ip.to_string(),
                port,
            };
            let mut candidates = vec![raw(1, &m.connection, m.port)];
            if let Some((port, addr)) = rtcp {
                candidates.push(raw(2, addr.as_deref().unwrap_or(&m.connection), *port));
            }
            Transport::RawUdp(RawUdpTransport {
                candidates,
                fingerprints,
                unknown: Vec::new(),
            })
        }
    };
    let description = RtpDescription {
        media: m.kind.to_string(),
        payload_types: m
            .codecs
            .iter()
            .map(|c| expected_codec(c, m.ptime))
            .collect(),
        rtcp_mux: m.rtcp_mux,
        encryption: (!m.crypto.is_empty()).then(|| Encryption {
            required: Some(proto(spec, m).contains("SAVP")),
            crypto: m.crypto.clone(),
            zrtp_hash: Vec::new(),
        }),
        rtcp_fb: m.wildcard_fb.clone(),
        rtcp_fb_trr_int: m.wildcard_trr_int,
        hdrext: m
            .extmaps
            .iter()
            .map(|(id, direction, uri)| RtpHdrext {
                id: *id,
                uri: uri.clone(),
                senders: direction.map(|d| senders_for(d, writer)),
            })
            .collect(),
        sources: m.sources.clone(),
        ssrc_groups: m.ssrc_groups.clone(),
        ..RtpDescription::default()
    };
    Content {
        creator: Creator::Initiator,
        name,
        senders: Some(senders_for(spec.direction(m), writer)),
        disposition: None,
        description: Some(Description::Rtp(description)),
        transport: Some(transport),
        unknown: Vec::new(),
    }
}

/// The Jingle the generated SDP describes, derived from the structure alone.
fn expected_from_spec(spec: &SdpSpec) -> Jingle {
    let names = content_names(spec);
    Jingle {
        contents: spec
            .medias
            .iter()
            .zip(names.iter().cloned())
            .map(|(m, name)| expected_media(spec, m, name))
            .collect(),
        groups: if spec.bundle {
            vec![Group {
                semantics: "BUNDLE".to_string(),
                contents: names,
            }]
        } else {
            Vec::new()
        },
        ..Jingle::default()
    }
}

/// Fails with a line diff of the two values' pretty debug forms: whole-model
/// assertions are unreadable otherwise.
fn assert_same<T: PartialEq + std::fmt::Debug>(
    actual: &T,
    expected: &T,
    context: &str,
) -> Result<(), TestCaseError> {
    if actual == expected {
        return Ok(());
    }
    let a = format!("{actual:#?}");
    let e = format!("{expected:#?}");
    let a: Vec<&str> = a.lines().collect();
    let e: Vec<&str> = e.lines().collect();
    // Common head and tail first (the models are mostly equal, and this runs on
    // every shrinking step), then the longest common subsequence of what is left.
    let head = a.iter().zip(&e).take_while(|(x, y)| x == y).count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(e[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, em) = (&a[head..a.len() - tail], &e[head..e.len() - tail]);
    let mut lcs = vec![vec![0u32; em.len() + 1]; am.len() + 1];
    for i in (0..am.len()).rev() {
        for k in (0..em.len()).rev() {
            lcs[i][k] = if am[i] == em[k] {
                lcs[i + 1][k + 1] + 1
            } else {
                lcs[i + 1][k].max(lcs[i][k + 1])
            };
        }
    }
    let mut ops: Vec<(char, &str)> = a[..head].iter().map(|l| (' ', *l)).collect();
    let (mut i, mut k) = (0, 0);
    while i < am.len() || k < em.len() {
        if i < am.len() && k < em.len() && am[i] == em[k] {
            ops.push((' ', am[i]));
            i += 1;
            k += 1;
        } else if k < em.len() && (i == am.len() || lcs[i][k + 1] >= lcs[i + 1][k]) {
            ops.push(('+', em[k]));
            k += 1;
        } else {
            ops.push(('-', am[i]));
            i += 1;
        }
    }
    ops.extend(a[a.len() - tail..].iter().map(|l| (' ', *l)));
    let near_change = |n: usize| {
        ops[n.saturating_sub(2)..(n + 3).min(ops.len())]
            .iter()
            .any(|(op, _)| *op != ' ')
    };
    let mut diff = String::new();
    for (n, (op, line)) in ops.iter().enumerate() {
        if near_change(n) {
            diff.push_str(&format!("{op} {line}\n"));
        }
    }
    Err(TestCaseError::fail(format!(
        "actual (-) differs from expected (+):\n{diff}\n{context}"
    )))
}

// ---- the properties -----------------------------------------------------------------

fn candidate_networks(j: &Jingle) -> Vec<Option<u32>> {
    j.contents
        .iter()
        .filter_map(|c| match &c.transport {
            Some(Transport::IceUdp(t)) => Some(t.candidates.iter().map(|c| c.network)),
            _ => None,
        })
        .flatten()
        .collect()
}

fn xml_round_trip(j: &Jingle) -> Result<(), TestCaseError> {
    let xml = jingle_element(j).to_compact_string();
    match parse_jingle(&xml) {
        Ok(back) => assert_same(&back, j, &format!("XML: {xml}"))?,
        Err(e) => prop_assert!(false, "our own XML does not parse: {e}\n{xml}"),
    }
    Ok(())
}

/// 256 cases unless PROPTEST_CASES says otherwise (10000 for a deeper run).
/// Shrinking may take more steps than the default (the models are wide, and a
/// small counterexample is worth it) but no more than 3 s, so that a failing run
/// stays quick too. No regression file: the cases found so far are pinned as
/// named tests below.
fn config() -> ProptestConfig {
    ProptestConfig {
        max_shrink_iters: 10_000,
        max_shrink_time: 3_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn jingle_xml_round_trip(j in jingle()) {
        xml_round_trip(&j)?;
    }

    #[test]
    fn jingle_sdp_jingle(j in jingle(), writer in role()) {
        let sdp = jingle_to_sdp(&j, writer, &SdpOrigin::default())
            .map_err(|e| TestCaseError::fail(format!("jingle_to_sdp: {e:?}")))?
            .value;
        // Documented: SDP we write ends every line in CRLF.
        prop_assert!(!sdp.replace("\r\n", "").contains('\n'), "bare LF in\n{}", sdp);
        check_directions(&j, &sdp, writer)?;
        let back = sdp_to_jingle(&sdp, writer)
            .map_err(|e| TestCaseError::fail(format!("sdp_to_jingle: {e:?}\n{sdp}")))?;
        // Our own SDP holds nothing our own reader does not understand.
        prop_assert!(back.warnings.is_empty(), "warnings {:?}\n{}", back.warnings, sdp);
        assert_same(&canonical(back.value), &canonical(expected_after_sdp(&j)), &format!("SDP:\n{sdp}"))?;
    }

    #[test]
    fn sdp_jingle_sdp_jingle(spec in sdp_spec()) {
        let text = render_sdp(&spec);
        let writer = spec.writer;
        let first = sdp_to_jingle(&text, writer)
            .map_err(|e| TestCaseError::fail(format!("sdp_to_jingle: {e:?}\n{text}")))?
            .value;
        let expected = expected_from_spec(&spec);
        assert_same(&canonical(first.clone()), &canonical(expected.clone()), &format!("SDP:\n{text}"))?;
        // `canonical` leaves out candidate networks (not sent toward SIP), but
        // this direction carries network-id.
        prop_assert_eq!(candidate_networks(&first), candidate_networks(&expected));
        xml_round_trip(&first)?;

        let sdp2 = jingle_to_sdp(&first, writer, &SdpOrigin::default())
            .map_err(|e| TestCaseError::fail(format!("jingle_to_sdp: {e:?}")))?
            .value;
        let second = sdp_to_jingle(&sdp2, writer)
            .map_err(|e| TestCaseError::fail(format!("sdp_to_jingle (2): {e:?}\n{sdp2}")))?
            .value;
        // A fixpoint after one trip, up to the equivalences of `canonical` (the
        // input may say channels /1, extmap /sendrecv, network-id, an implicit
        // a=rtcp; our own SDP never does) ...
        assert_same(&canonical(second.clone()), &canonical(first), &format!("SDP:\n{text}\nSDP 2:\n{sdp2}"))?;
        // ... and exactly from the second trip on.
        let sdp3 = jingle_to_sdp(&second, writer, &SdpOrigin::default())
            .map_err(|e| TestCaseError::fail(format!("jingle_to_sdp (2): {e:?}")))?
            .value;
        let third = sdp_to_jingle(&sdp3, writer)
            .map_err(|e| TestCaseError::fail(format!("sdp_to_jingle (3): {e:?}\n{sdp3}")))?
            .value;
        assert_same(&third, &second, &format!("SDP 2:\n{sdp2}"))?;
        prop_assert_eq!(sdp2, sdp3);
    }
}

// ---- a few fixed cases, so the rules the properties rely on are visible ---------------

#[test]
fn perspective_table_is_a_bijection_per_writer() {
    for writer in [Role::Initiator, Role::Responder] {
        for d in DIRECTIONS {
            assert_eq!(direction_for(senders_for(d, writer), writer), *d);
        }
    }
    assert_eq!(senders_for("sendonly", Role::Initiator), Senders::Initiator);
    assert_eq!(senders_for("sendonly", Role::Responder), Senders::Responder);
}

#[test]
fn canonical_equates_the_documented_equivalent_forms() {
    let mut j = Jingle::default();
    j.contents.push(Content {
        name: "a".into(),
        description: Some(Description::Rtp(RtpDescription {
            payload_types: vec![PayloadType {
                id: 0,
                channels: Some(1),
                parameters: vec![bare_token("x".into(), 2)],
                ..PayloadType::default()
            }],
            ..RtpDescription::default()
        })),
        transport: Some(Transport::RawUdp(RawUdpTransport {
            candidates: vec![
                RawCandidate {
                    component: 1,
                    ip: "192.0.2.1".into(),
                    port: 5000,
                    ..RawCandidate::default()
                },
                RawCandidate {
                    component: 2,
                    ip: "192.0.2.1".into(),
                    port: 5001,
                    ..RawCandidate::default()
                },
            ],
            ..RawUdpTransport::default()
        })),
        ..Content::default()
    });
    let c = canonical(j);
    let Some(Description::Rtp(d)) = &c.contents[0].description else {
        unreachable!()
    };
    assert_eq!(d.payload_types[0].channels, None);
    assert_eq!(d.payload_types[0].parameters, vec![pair("", "x")]);
    assert_eq!(c.contents[0].senders, Some(Senders::Both));
    let Some(Transport::RawUdp(t)) = &c.contents[0].transport else {
        unreachable!()
    };
    assert_eq!(t.candidates.len(), 1);
}

// ---- translator bugs the properties found, pinned at their smallest ---------------------
//
// Each asserts the correct behaviour and fails until the translator is fixed.

/// RFC 3551 payload type 10 is L16 *stereo*. Written without a clock rate, its
/// rtpmap gets the RFC 3551 rate but loses `channels`, and `L16/44100` without a
/// channel count declares mono.
#[test]
fn static_payload_type_without_clockrate_keeps_its_channels() {
    let xml = "<jingle xmlns='urn:xmpp:jingle:1'><content creator='initiator' name='a'>\
        <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>\
        <payload-type id='10' name='L16' channels='2'/></description>\
        <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='abcd' pwd='abcdefghijklmnopqrstuv'/>\
        </content></jingle>";
    let j = parse_jingle(xml).unwrap();
    let sdp = jingle_to_sdp(&j, Role::Initiator, &SdpOrigin::default())
        .unwrap()
        .value;
    assert!(sdp.contains("a=rtpmap:10 L16/44100/2\r\n"), "{sdp}");
    let back = sdp_to_jingle(&sdp, Role::Initiator).unwrap().value;
    let Some(Description::Rtp(d)) = &back.contents[0].description else {
        panic!("no RTP description")
    };
    assert_eq!(d.payload_types[0].channels, Some(2));
}

/// RED's redundancy list with one entry: the writer turns `pt='111'` into
/// `a=fmtp:97 111`, but the reader only recognises a list with a `/`, so the
/// same line comes back as a nameless token.
#[test]
fn red_redundancy_list_of_one_comes_back_as_pt() {
    let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
        m=audio 9 RTP/AVP 97\r\nc=IN IP4 0.0.0.0\r\n\
        a=rtpmap:97 red/48000\r\na=fmtp:97 111\r\n";
    let j = sdp_to_jingle(sdp, Role::Initiator).unwrap().value;
    let Some(Description::Rtp(d)) = &j.contents[0].description else {
        panic!("no RTP description")
    };
    assert_eq!(d.payload_types[0].parameters, vec![pair("pt", "111")]);
}

/// XML attribute-value normalisation (XML 1.0 §3.3.3) turns a literal tab, line
/// feed or carriage return into a space: the writer must emit `&#9;`, `&#10;`
/// and `&#13;` for the reader to get them back.
#[test]
fn xml_writer_keeps_whitespace_characters_in_attributes() {
    let j = Jingle {
        sid: Some("a\tb\nc\rd".to_string()),
        ..Jingle::default()
    };
    let xml = jingle_element(&j).to_compact_string();
    assert_eq!(parse_jingle(&xml).unwrap(), j, "{xml}");
}
