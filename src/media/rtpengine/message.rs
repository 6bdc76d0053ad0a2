//! ng commands built from the core's [`AnchorRequest`]s.
//!
//! rtpengine keys a call by `call-id` and its two sides by tag. The side that
//! sent the offer is the `from-tag` for the life of the call, the answering
//! side the `to-tag`; our tags are the legs' labels (`xmpp`, `sip`), so a
//! request needs no state of ours. Flags (all checked against rtpengine
//! 10.5 in `tests/rtpengine.rs`) say what the SDP rtpengine writes for the
//! *other* leg looks like. They go on offers; an answer only completes the
//! offer rtpengine made, so it restates `ICE` and nothing else:
//!
//! | toward | flags | why |
//! |---|---|---|
//! | SIP | `ICE: remove`, `DTLS: off` | SIP peers do neither |
//! | SIP | `transport-protocol: RTP/AVP` (or `RTP/SAVP`) | plain RTP, or SDES-SRTP when the trunk says `srtp = sdes` |
//! | SIP | `SDES: [off]`, or with SDES `no-` every suite but AES-CM-128 | no `a=crypto` on plain RTP; never NULL (no encryption), the rarely implemented F8, AES-192 and AES-256 suites, nor the AEAD-GCM ones (SIP phones get their SDES keys wrong: see `UNWANTED_SDES_SUITES`) |
//! | SIP | `rtcp-mux: [demux]` | accept the WebRTC side's `a=rtcp-mux`, offer RTCP on its own port to SIP |
//! | XMPP | `ICE: force` | rtpengine is a full ICE agent with its own candidates |
//! | XMPP | `transport-protocol: UDP/TLS/RTP/SAVPF` | DTLS-SRTP (rtpengine's DTLS default): it offers `setup:actpass` and, answering an `actpass` offer, picks `active` itself |
//! | XMPP | `SDES: [off]` | WebRTC forbids `a=crypto` (RFC 8827 §6.5) |
//! | XMPP | `rtcp-mux: [require]` | browsers require mux |
//! | XMPP | `flags: [generate-mid]` | JSEP needs `a=mid` on every m-line, SIP offers have none |
//! | both | `replace: [origin, session-connection]` | `o=` and session `c=` name rtpengine, not the other leg |
//!
//! An SDP that comes *from* the XMPP leg is the translation of a Jingle
//! description, in which `c=IN IP4 0.0.0.0` only ever means "no candidate
//! yet" (trickle ICE; Jingle signals hold with `senders` and session-info).
//! rtpengine would read it as RFC 2543 hold, answer `sendonly` and copy the
//! zero address to the SIP leg, so such requests add `replace:
//! [zero-address]` (rtpengine writes its own address) and `flags:
//! [original-sendrecv]` (the leg's direction attribute is kept as it is).
//! From the SIP leg 0.0.0.0 may be a real hold and is left to rtpengine,
//! except in the offer the gateway writes itself for a delayed-offer INVITE
//! (`s=` [`GATEWAY_OFFER_SESSION`]): the peer's address is not known until
//! its ACK, which reaches rtpengine as an in-dialog answer.
//!
//! BUNDLE: rtpengine 10.5 does not speak it. Toward SIP it unbundles (one
//! port pair per m-line, no `a=group`), which is right; toward XMPP its
//! answer carries no `a=group:BUNDLE` either, so a WebRTC client configured
//! with `bundlePolicy: max-bundle` may refuse it. Not solved here.

use super::bencode::{Value, dict};
use crate::media::anchor::{AnchorOp, AnchorRequest, GATEWAY_OFFER_SESSION, MediaLeg, SipSrtp};

/// SRTP suites rtpengine 10.5 would also offer toward SIP and that we do not
/// want there (see the module table).
///
/// The AEAD (GCM) suites go too: RFC 7714's SDES keys are rarely right in SIP
/// phones (baresip 1.0 picks AEAD_AES_256_GCM first and then refuses its own
/// key length: "srtp keylen is 42 (should be 44)", measured in
/// interop/media.py), so we offer what every SDES phone speaks and what the
/// embedded anchor offers: AES_CM_128_HMAC_SHA1_80 and _32.
const UNWANTED_SDES_SUITES: [&str; 10] = [
    "no-AEAD_AES_256_GCM",
    "no-AEAD_AES_128_GCM",
    "no-NULL_HMAC_SHA1_80",
    "no-NULL_HMAC_SHA1_32",
    "no-F8_128_HMAC_SHA1_80",
    "no-F8_128_HMAC_SHA1_32",
    "no-AES_192_CM_HMAC_SHA1_80",
    "no-AES_192_CM_HMAC_SHA1_32",
    "no-AES_256_CM_HMAC_SHA1_80",
    "no-AES_256_CM_HMAC_SHA1_32",
];

/// The ng dictionary for one offer or answer.
pub fn exchange(req: &AnchorRequest) -> Value {
    let (command, offerer) = match req.op {
        AnchorOp::Offer => ("offer", req.from),
        AnchorOp::Answer => ("answer", req.from.other()),
    };
    let mut entries = vec![
        ("command", Value::str(command)),
        ("call-id", Value::str(&req.call)),
        ("from-tag", Value::str(offerer.label())),
        ("sdp", Value::str(&req.sdp)),
    ];
    if req.op == AnchorOp::Answer {
        entries.push(("to-tag", Value::str(req.from.label())));
    }
    match req.op {
        AnchorOp::Offer => entries.extend(toward(req.to(), req.sip_srtp)),
        // An answer completes the offer rtpengine made: transport, SDES and
        // mux follow that offer (restating them could contradict what the
        // offering leg actually sent, e.g. RTP/AVP from a trunk configured
        // for SDES). Only ICE is restated, so that an answer never grows or
        // loses ICE whatever rtpengine's defaults.
        AnchorOp::Answer => entries.push(("ICE", ice(req.to()))),
    }
    let mut replace = vec!["origin", "session-connection"];
    let mut flags = Vec::new();
    if req.from == MediaLeg::Xmpp || gateway_offer(req) {
        replace.push("zero-address");
        flags.push("original-sendrecv");
    }
    if req.to() == MediaLeg::Xmpp && req.op == AnchorOp::Offer {
        flags.push("generate-mid");
    }
    entries.push(("replace", Value::str_list(&replace)));
    if !flags.is_empty() {
        entries.push(("flags", Value::str_list(&flags)));
    }
    dict(entries)
}

/// The ng dictionary for one half of an in-dialog re-negotiation (a leg's
/// description changed by re-INVITE or UPDATE): as [`exchange`], and an
/// offer names the other side's `to-tag` too. Either side may re-offer; its
/// tag is then the `from-tag` of the offer and of the answer that completes
/// it (rtpengine matches the call's two sides by tag, whichever way round).
pub fn exchange_in_dialog(req: &AnchorRequest) -> Value {
    let mut m = exchange(req);
    if let (AnchorOp::Offer, Value::Dict(d)) = (req.op, &mut m) {
        d.insert(b"to-tag".to_vec(), Value::str(req.to().label()));
    }
    m
}

/// Whether `req` is the SIP-side offer the gateway wrote itself for a
/// delayed-offer INVITE: its zero address is "not known yet", as an XMPP
/// side's is (see the module documentation).
fn gateway_offer(req: &AnchorRequest) -> bool {
    req.from == MediaLeg::Sip
        && req.op == AnchorOp::Offer
        && req
            .sdp
            .lines()
            .any(|l| l.trim_end() == format!("s={GATEWAY_OFFER_SESSION}"))
}

/// `ICE` toward leg `to`.
fn ice(to: MediaLeg) -> Value {
    match to {
        MediaLeg::Sip => Value::str("remove"),
        MediaLeg::Xmpp => Value::str("force"),
    }
}

/// The offer options that shape the SDP rtpengine writes for leg `to`.
fn toward(to: MediaLeg, sip_srtp: SipSrtp) -> Vec<(&'static str, Value)> {
    match to {
        MediaLeg::Sip => {
            let (proto, sdes) = match sip_srtp {
                SipSrtp::None => ("RTP/AVP", Value::str_list(&["off"])),
                SipSrtp::Sdes => ("RTP/SAVP", Value::str_list(&UNWANTED_SDES_SUITES)),
            };
            vec![
                ("ICE", ice(to)),
                ("DTLS", Value::str("off")),
                ("SDES", sdes),
                ("transport-protocol", Value::str(proto)),
                ("rtcp-mux", Value::str_list(&["demux"])),
            ]
        }
        MediaLeg::Xmpp => vec![
            ("ICE", ice(to)),
            ("SDES", Value::str_list(&["off"])),
            ("transport-protocol", Value::str("UDP/TLS/RTP/SAVPF")),
            ("rtcp-mux", Value::str_list(&["require"])),
        ],
    }
}

/// `delete`: the call's media is released. `fatal` makes rtpengine answer
/// `error` for a call it does not know, instead of `ok` with a warning, so
/// that a release that did nothing is visible.
pub fn delete(call: &str) -> Value {
    dict([
        ("command", Value::str("delete")),
        ("call-id", Value::str(call)),
        ("flags", Value::str_list(&["fatal"])),
    ])
}

/// `query`: rtpengine's view of a call (tags, streams, endpoints).
pub fn query(call: &str) -> Value {
    dict([
        ("command", Value::str("query")),
        ("call-id", Value::str(call)),
    ])
}

/// `ping`: answered `pong` by a live daemon.
pub fn ping() -> Value {
    dict([("command", Value::str("ping"))])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::anchor::MediaMode;

    fn req(op: AnchorOp, from: MediaLeg, sip_srtp: SipSrtp) -> AnchorRequest {
        AnchorRequest {
            call: "c-1".into(),
            op,
            from,
            sdp: "v=0\r\n".into(),
            mode: MediaMode::Rtpengine,
            sip_srtp,
        }
    }

    fn text(v: &Value, key: &str) -> Option<String> {
        v.get(key).and_then(Value::as_str).map(str::to_string)
    }

    fn list(v: &Value, key: &str) -> Vec<String> {
        match v.get(key) {
            Some(Value::List(items)) => items
                .iter()
                .map(|i| i.as_str().unwrap().to_string())
                .collect(),
            None => vec![],
            other => panic!("{key} is not a list: {other:?}"),
        }
    }

    #[test]
    fn xmpp_offer_goes_to_sip_as_plain_rtp() {
        let m = exchange(&req(AnchorOp::Offer, MediaLeg::Xmpp, SipSrtp::None));
        assert_eq!(text(&m, "command").as_deref(), Some("offer"));
        assert_eq!(text(&m, "call-id").as_deref(), Some("c-1"));
        assert_eq!(text(&m, "from-tag").as_deref(), Some("xmpp"));
        assert_eq!(m.get("to-tag"), None);
        assert_eq!(text(&m, "sdp").as_deref(), Some("v=0\r\n"));
        assert_eq!(text(&m, "ICE").as_deref(), Some("remove"));
        assert_eq!(text(&m, "DTLS").as_deref(), Some("off"));
        assert_eq!(list(&m, "SDES"), ["off"]);
        assert_eq!(text(&m, "transport-protocol").as_deref(), Some("RTP/AVP"));
        assert_eq!(list(&m, "rtcp-mux"), ["demux"]);
        assert_eq!(
            list(&m, "replace"),
            ["origin", "session-connection", "zero-address"]
        );
        assert_eq!(list(&m, "flags"), ["original-sendrecv"]);
    }

    #[test]
    fn sdes_trunk_gets_savp_without_null_or_exotic_suites() {
        let m = exchange(&req(AnchorOp::Offer, MediaLeg::Xmpp, SipSrtp::Sdes));
        assert_eq!(text(&m, "transport-protocol").as_deref(), Some("RTP/SAVP"));
        let sdes = list(&m, "SDES");
        assert!(sdes.iter().all(|s| s.starts_with("no-")), "{sdes:?}");
        assert!(sdes.contains(&"no-NULL_HMAC_SHA1_80".to_string()));
        assert!(!sdes.iter().any(|s| s.contains("AES_CM_128")));
    }

    #[test]
    fn sip_offer_goes_to_xmpp_with_ice_dtls_and_mux() {
        let m = exchange(&req(AnchorOp::Offer, MediaLeg::Sip, SipSrtp::Sdes));
        assert_eq!(text(&m, "from-tag").as_deref(), Some("sip"));
        assert_eq!(text(&m, "ICE").as_deref(), Some("force"));
        assert_eq!(m.get("DTLS"), None, "rtpengine's default: DTLS, actpass");
        assert_eq!(list(&m, "SDES"), ["off"]);
        assert_eq!(
            text(&m, "transport-protocol").as_deref(),
            Some("UDP/TLS/RTP/SAVPF")
        );
        assert_eq!(list(&m, "rtcp-mux"), ["require"]);
        assert_eq!(list(&m, "replace"), ["origin", "session-connection"]);
        assert_eq!(list(&m, "flags"), ["generate-mid"]);
    }

    #[test]
    fn answers_keep_the_offerer_as_from_tag() {
        let m = exchange(&req(AnchorOp::Answer, MediaLeg::Sip, SipSrtp::None));
        assert_eq!(text(&m, "command").as_deref(), Some("answer"));
        assert_eq!(text(&m, "from-tag").as_deref(), Some("xmpp"));
        assert_eq!(text(&m, "to-tag").as_deref(), Some("sip"));
        assert_eq!(text(&m, "ICE").as_deref(), Some("force"));
        assert_eq!(m.get("flags"), None);
        for offer_only in ["transport-protocol", "SDES", "DTLS", "rtcp-mux"] {
            assert_eq!(m.get(offer_only), None, "{offer_only}");
        }

        let m = exchange(&req(AnchorOp::Answer, MediaLeg::Xmpp, SipSrtp::None));
        assert_eq!(text(&m, "from-tag").as_deref(), Some("sip"));
        assert_eq!(text(&m, "to-tag").as_deref(), Some("xmpp"));
        assert_eq!(text(&m, "ICE").as_deref(), Some("remove"));
        assert_eq!(list(&m, "flags"), ["original-sendrecv"]);
    }

    #[test]
    fn the_gateways_own_delayed_offer_is_not_hold() {
        let mut r = req(AnchorOp::Offer, MediaLeg::Sip, SipSrtp::None);
        r.sdp = format!("v=0\r\ns={GATEWAY_OFFER_SESSION}\r\nc=IN IP4 0.0.0.0\r\n");
        let m = exchange(&r);
        assert_eq!(
            list(&m, "replace"),
            ["origin", "session-connection", "zero-address"]
        );
        assert_eq!(list(&m, "flags"), ["original-sendrecv", "generate-mid"]);
    }

    #[test]
    fn in_dialog_offers_name_both_tags() {
        let m = exchange_in_dialog(&req(AnchorOp::Offer, MediaLeg::Sip, SipSrtp::None));
        assert_eq!(text(&m, "command").as_deref(), Some("offer"));
        assert_eq!(text(&m, "from-tag").as_deref(), Some("sip"));
        assert_eq!(text(&m, "to-tag").as_deref(), Some("xmpp"));
        assert_eq!(text(&m, "ICE").as_deref(), Some("force"));
        let a = exchange_in_dialog(&req(AnchorOp::Answer, MediaLeg::Xmpp, SipSrtp::None));
        assert_eq!(
            a,
            exchange(&req(AnchorOp::Answer, MediaLeg::Xmpp, SipSrtp::None))
        );
    }

    #[test]
    fn delete_and_ping() {
        assert_eq!(
            delete("c-9").encode(),
            b"d7:call-id3:c-97:command6:delete5:flagsl5:fatalee".to_vec()
        );
        assert_eq!(ping().encode(), b"d7:command4:pinge".to_vec());
    }
}
