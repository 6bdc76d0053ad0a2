//! Issue 7, DTMF from XMPP to SIP: XEP-0181 session-info `<dtmf/>` becomes
//! SIP INFO (`application/dtmf-relay`, one in flight, the rest queued in
//! order) or, when the embedded anchor carries the call and the SIP leg
//! took telephone-event, an `Output::Dtmf` for RFC 4733 events. SIP → XMPP
//! (INFO → XEP-0181) is in `more/sip_ext.rs`.

use super::harness::*;
use super::{answer, outbound_to_invite};
use std::time::Duration;
use stox::call::Input;
use stox::media::anchor::{AnchorOp, AnchorReply};
use stox::sip::SipMessage;

const GW_FULL: &str = "+15551230001@sip.test/stox";

/// A session-info from alice carrying `inner` (XEP-0181 elements).
fn session_info(id: &str, inner: &str) -> String {
    format!(
        "<iq from='alice@test/phone' to='{GW_FULL}' type='set' id='{id}'>\
<jingle xmlns='urn:xmpp:jingle:1' action='session-info' sid='s1'>{inner}</jingle></iq>"
    )
}

fn dtmf(code: &str, duration: Option<u32>) -> String {
    match duration {
        Some(d) => format!("<dtmf xmlns='urn:xmpp:jingle:dtmf:0' code='{code}' duration='{d}'/>"),
        None => format!("<dtmf xmlns='urn:xmpp:jingle:dtmf:0' code='{code}'/>"),
    }
}

/// The one stanza sent, which must be the result of IQ `id`.
fn assert_result(h: &mut Harness, id: &str) {
    let out = h.take_stanzas();
    assert_eq!(out.len(), 1, "one reply: {out:?}");
    assert_eq!(
        (out[0].attr("type"), out[0].attr("id")),
        (Some("result"), Some(id))
    );
}

/// The one stanza sent, which must be an IQ error with these conditions.
fn assert_error(h: &mut Harness, id: &str, kind: &str, condition: &str, jingle: Option<&str>) {
    let out = h.take_stanzas();
    assert_eq!(out.len(), 1, "one reply: {out:?}");
    let iq = &out[0];
    assert_eq!(
        (iq.attr("type"), iq.attr("id")),
        (Some("error"), Some(id)),
        "{}",
        String::from(iq)
    );
    let error = find(iq, "error").expect("an <error/>");
    assert_eq!(error.attr("type"), Some(kind));
    assert!(find(error, condition).is_some(), "{}", String::from(iq));
    if let Some(j) = jingle {
        let el = find(error, j).expect("the Jingle condition");
        assert_eq!(el.ns(), "urn:xmpp:jingle:errors:1");
    }
}

fn answered(h: &mut Harness) {
    let invite = outbound_to_invite(h);
    answer(h, &invite);
    h.take_sip();
}

/// The one INFO sent since the last take.
fn sent_info(h: &mut Harness) -> stox::sip::Request {
    let (peer, info) = h.expect_request("INFO");
    assert_eq!(peer, trunk());
    info
}

fn body(r: &stox::sip::Request) -> String {
    String::from_utf8(r.body.clone()).unwrap()
}

fn signal(r: &stox::sip::Request) -> String {
    body(r)
        .lines()
        .find_map(|l| l.strip_prefix("Signal=").map(str::to_string))
        .unwrap()
}

#[test]
fn a_digit_becomes_an_info_with_dtmf_relay_in_the_dialog() {
    let mut h = Harness::new();
    answered(&mut h);
    h.stanza(&session_info("d1", &dtmf("5", Some(160))));
    assert_result(&mut h, "d1");
    let info = sent_info(&mut h);
    assert_eq!(info.uri, "sip:far@127.0.0.1:5080", "to the remote target");
    assert_eq!(info.headers.get("CSeq"), Some("2 INFO"));
    assert!(info.headers.get("To").unwrap().contains("tag=far"));
    assert_eq!(
        info.headers.get("Content-Type"),
        Some("application/dtmf-relay")
    );
    assert_eq!(body(&info), "Signal=5\r\nDuration=160\r\n");
    assert_eq!(info.headers.get("Content-Length"), Some("24"));
    h.sip_from(trunk(), &respond(&info, 200, "far", None));
    assert!(h.take_sip().is_empty(), "nothing more to send");
    assert!(h.dtmfs.is_empty(), "passthrough: no in-band events");
    // No duration: XEP-0181's 100 ms; a lower-case letter key is the key.
    h.stanza(&session_info("d2", &dtmf("d", None)));
    assert_result(&mut h, "d2");
    let info = sent_info(&mut h);
    assert_eq!(info.headers.get("CSeq"), Some("3 INFO"));
    assert_eq!(body(&info), "Signal=D\r\nDuration=100\r\n");
}

#[test]
fn digits_wait_for_the_info_before_them_and_keep_their_order() {
    let mut h = Harness::new();
    answered(&mut h);
    h.stanza(&session_info("d1", &dtmf("1", None)));
    assert_result(&mut h, "d1");
    let first = sent_info(&mut h);
    // Typed while the first INFO is unanswered: acked, held back.
    h.stanza(&session_info("d2", &dtmf("2", Some(20))));
    assert_result(&mut h, "d2");
    h.stanza(&session_info(
        "d3",
        &format!("{}{}", dtmf("*", Some(50_000)), dtmf("#", None)),
    ));
    assert_result(&mut h, "d3");
    assert!(h.take_sip().is_empty(), "one INFO in flight at a time");
    // A provisional changes nothing.
    h.sip_from(trunk(), &respond(&first, 100, "far", None));
    assert!(h.take_sip().is_empty());
    h.sip_from(trunk(), &respond(&first, 200, "far", None));
    let second = sent_info(&mut h);
    assert_eq!(
        body(&second),
        "Signal=2\r\nDuration=40\r\n",
        "clamped to 40 ms"
    );
    // A refusal is logged and the queue goes on.
    h.sip_from(trunk(), &respond(&second, 501, "far", None));
    let third = sent_info(&mut h);
    assert_eq!(
        body(&third),
        "Signal=*\r\nDuration=1000\r\n",
        "clamped to 1 s"
    );
    h.sip_from(trunk(), &respond(&third, 200, "far", None));
    let fourth = sent_info(&mut h);
    assert_eq!(signal(&fourth), "#");
    let cseqs: Vec<&str> = [&first, &second, &third, &fourth]
        .iter()
        .map(|r| r.headers.get("CSeq").unwrap())
        .collect();
    assert_eq!(cseqs, ["2 INFO", "3 INFO", "4 INFO", "5 INFO"]);
    h.sip_from(trunk(), &respond(&fourth, 200, "far", None));
    assert!(h.take_sip().is_empty());
    assert_eq!(
        h.gw.active_calls(),
        1,
        "a refused INFO does not end the call"
    );
}

#[test]
fn a_malformed_digit_is_bad_request_and_sends_nothing() {
    let mut h = Harness::new();
    answered(&mut h);
    for (id, inner) in [
        ("b1", dtmf("E", None)),
        ("b2", dtmf("12", None)),
        ("b3", "<dtmf xmlns='urn:xmpp:jingle:dtmf:0'/>".to_string()),
        (
            "b4",
            "<dtmf xmlns='urn:xmpp:jingle:dtmf:0' code='1' duration='soon'/>".to_string(),
        ),
    ] {
        h.stanza(&session_info(id, &inner));
        assert_error(&mut h, id, "modify", "bad-request", None);
    }
    assert!(h.take_sip().is_empty());
    assert_eq!(h.gw.active_calls(), 1, "the call goes on");
    // A good one afterwards still goes.
    h.stanza(&session_info("g", &dtmf("0", None)));
    assert_result(&mut h, "g");
    assert_eq!(signal(&sent_info(&mut h)), "0");
}

#[test]
fn a_digit_before_the_answer_is_out_of_order() {
    let mut h = Harness::new();
    let invite = outbound_to_invite(&mut h);
    h.sip_from(trunk(), &respond(&invite, 180, "far", None));
    h.take_stanzas();
    h.stanza(&session_info("e1", &dtmf("5", None)));
    assert_error(
        &mut h,
        "e1",
        "cancel",
        "unexpected-request",
        Some("out-of-order"),
    );
    assert!(h.take_sip().is_empty(), "no INFO in an early dialog");
    // Someone else's device cannot type into the call.
    h.sip_from(trunk(), &respond(&invite, 200, "far", Some(ANSWER_SDP)));
    h.take_sip();
    h.take_stanzas();
    h.stanza(
        &session_info("e2", &dtmf("5", None)).replace("alice@test/phone", "alice@test/laptop"),
    );
    assert_error(
        &mut h,
        "e2",
        "cancel",
        "item-not-found",
        Some("unknown-session"),
    );
    assert!(h.take_sip().is_empty());
}

#[test]
fn a_481_to_a_dtmf_info_ends_the_call() {
    let mut h = Harness::new();
    answered(&mut h);
    h.stanza(&session_info("d1", &dtmf("9", None)));
    h.stanza(&session_info("d2", &dtmf("8", None)));
    h.take_stanzas();
    let info = sent_info(&mut h);
    h.sip_from(trunk(), &respond(&info, 481, "far", None));
    let out = h.take_stanzas();
    let terminate = out
        .iter()
        .find(|s| jingle_action(s).as_deref() == Some("session-terminate"))
        .expect("the user is told");
    assert_eq!(reason(terminate).as_deref(), Some("connectivity-error"));
    assert!(
        h.take_sip()
            .iter()
            .all(|(_, m)| !matches!(m, SipMessage::Request(r) if r.method.as_str() == "INFO")),
        "the queued digit dies with the call"
    );
    assert_eq!(h.gw.active_calls(), 0);
}

#[test]
fn an_unanswered_dtmf_info_ends_the_call_at_timer_f() {
    let mut h = Harness::new();
    answered(&mut h);
    h.stanza(&session_info("d1", &dtmf("3", None)));
    h.take_stanzas();
    sent_info(&mut h);
    h.advance(T1 * 64 + Duration::from_millis(1));
    let out = h.take_stanzas();
    assert!(
        out.iter()
            .any(|s| jingle_action(s).as_deref() == Some("session-terminate")
                && reason(s).as_deref() == Some("connectivity-error")),
        "{out:?}"
    );
    h.expect_request("BYE");
    assert_eq!(h.gw.active_calls(), 0);
}

#[test]
fn a_challenged_info_is_sent_again_with_credentials_then_the_queue_goes_on() {
    let config = CONFIG.replace(
        "uri = \"sip:127.0.0.1:5080\"\n",
        "uri = \"sip:127.0.0.1:5080\"\nusername = \"gw\"\npassword = \"pw\"\n",
    );
    let mut h = Harness::with_config(&config, trunk());
    answered(&mut h);
    h.stanza(&session_info("d1", &dtmf("4", None)));
    h.stanza(&session_info("d2", &dtmf("6", None)));
    h.take_stanzas();
    let first = sent_info(&mut h);
    let challenge = respond(&first, 401, "far", None).replace(
        "Content-Length: 0",
        "WWW-Authenticate: Digest realm=\"pbx\", nonce=\"n1\", qop=\"auth\"\r\nContent-Length: 0",
    );
    h.sip_from(trunk(), &challenge);
    let again = sent_info(&mut h);
    assert_eq!(body(&again), "Signal=4\r\nDuration=100\r\n");
    assert_eq!(again.headers.get("CSeq"), Some("3 INFO"));
    assert!(
        again
            .headers
            .get("Authorization")
            .unwrap()
            .contains("username=\"gw\"")
    );
    h.sip_from(trunk(), &respond(&again, 200, "far", None));
    assert_eq!(signal(&sent_info(&mut h)), "6");
}

#[test]
fn an_inbound_call_sends_dtmf_info_to_the_caller() {
    let mut h = Harness::new();
    h.sip_from(trunk(), &invite("+15550001000", "in1@pbx", "z9hG4bKin1"));
    let sid = h
        .take_stanzas()
        .iter()
        .find_map(|s| find(s, "propose").and_then(|p| p.attr("id").map(str::to_string)))
        .unwrap();
    let gw = "+15557770000@sip.test/stox";
    let jmi = |kind: &str| {
        format!(
            "<message from='bob@test/phone' to='{gw}'><{kind} xmlns='urn:xmpp:jingle-message:0' id='{sid}'/></message>"
        )
    };
    h.stanza(&jmi("proceed"));
    h.take_stanzas();
    h.stanza(&format!(
        "<iq from='bob@test/phone' to='{gw}' type='set' id='sa'><jingle xmlns='urn:xmpp:jingle:1' action='session-accept' sid='{sid}'><content creator='initiator' name='0'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='0' name='PCMU' clockrate='8000'/></description><transport xmlns='urn:xmpp:jingle:transports:raw-udp:1'><candidate component='1' generation='0' id='r1' ip='127.0.0.1' port='41000'/></transport></content></jingle></iq>"
    ));
    h.take_stanzas();
    let ok = h.responses().into_iter().find(|r| r.status == 200).unwrap();
    let to = ok.headers.get("To").unwrap().to_string();
    let ack = format!(
        "ACK sip:+15550001000@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKack1\nFrom: <sip:+15557770000@127.0.0.1:5080>;tag=caller1\nTo: {to}\nCall-ID: in1@pbx\nCSeq: 1 ACK\nContent-Length: 0\n\n"
    );
    h.sip_from(trunk(), &ack);
    h.take_sip();
    h.stanza(
        &session_info("d1", &dtmf("7", None))
            .replace("alice@test/phone", "bob@test/phone")
            .replace(GW_FULL, gw)
            .replace("sid='s1'", &format!("sid='{sid}'")),
    );
    assert_result(&mut h, "d1");
    let info = sent_info(&mut h);
    assert!(
        info.headers.get("To").unwrap().contains("tag=caller1"),
        "the caller's side of the dialog"
    );
    assert_eq!(info.headers.get("Call-ID"), Some("in1@pbx"));
    assert_eq!(body(&info), "Signal=7\r\nDuration=100\r\n");
}

// ---- anchored calls: in-band or INFO by the trunk's `dtmf` ----

const ANCHOR_TO_SIP: &str = "v=0\r\no=- 77 1 IN IP4 203.0.113.5\r\ns=-\r\nc=IN IP4 203.0.113.5\r\nt=0 0\r\nm=audio 23456 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n";
const ANCHOR_TO_XMPP: &str = "v=0\r\no=- 78 1 IN IP4 203.0.113.5\r\ns=-\r\nt=0 0\r\nm=audio 24680 UDP/TLS/RTP/SAVPF 0 101\r\nc=IN IP4 203.0.113.5\r\na=mid:0\r\na=ice-ufrag:anch\r\na=ice-pwd:anchorpasswordanchorpass1\r\na=fingerprint:sha-256 12:34:56:78:9A:BC:DE:F0:12:34:56:78:9A:BC:DE:F0:12:34:56:78:9A:BC:DE:F0:12:34:56:78:9A:BC:DE:F0\r\na=setup:passive\r\na=candidate:1 1 udp 2130706431 203.0.113.5 24680 typ host\r\na=end-of-candidates\r\na=rtcp-mux\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";
/// A SIP answer without telephone-event.
const ANSWER_NO_EVENTS: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n";

/// An embedded-anchor harness whose trunk has `dtmf` (none: default).
fn anchored(dtmf: Option<&str>) -> Harness {
    let trunk_line = match dtmf {
        Some(m) => format!("uri = \"sip:127.0.0.1:5080\"\ndtmf = \"{m}\"\n"),
        None => "uri = \"sip:127.0.0.1:5080\"\n".to_string(),
    };
    let config = format!(
        "{}[media]\nmode = \"embedded\"\npublic_ip = \"203.0.113.5\"\n",
        CONFIG.replace("uri = \"sip:127.0.0.1:5080\"\n", &trunk_line)
    );
    Harness::with_config(&config, trunk())
}

/// An anchored outbound call answered by the SIP peer with `sip_answer`.
fn anchored_answered(h: &mut Harness, sip_answer: &str) -> String {
    h.stanza(&propose("s1", "+15551230001@sip.test"));
    h.stanza(&session_initiate("s1", GW_FULL));
    let call = h.anchors[0].call.clone();
    let reply = |op, sdp: &str| {
        Input::Anchored(AnchorReply {
            call: call.clone(),
            op,
            result: Ok(sdp.to_string()),
        })
    };
    h.input(reply(AnchorOp::Offer, ANCHOR_TO_SIP));
    let (_, invite) = h.expect_request("INVITE");
    h.sip_from(trunk(), &respond(&invite, 200, "far", Some(sip_answer)));
    h.input(reply(AnchorOp::Answer, ANCHOR_TO_XMPP));
    let out = h.take_stanzas();
    assert!(
        out.iter()
            .any(|s| jingle_action(s).as_deref() == Some("session-accept"))
    );
    h.take_sip();
    call
}

#[test]
fn anchored_with_telephone_event_digits_go_in_band_in_order() {
    let mut h = anchored(None);
    let call = anchored_answered(&mut h, ANSWER_SDP);
    h.stanza(&session_info("d1", &dtmf("5", Some(120))));
    assert_result(&mut h, "d1");
    h.stanza(&session_info(
        "d2",
        &format!("{}{}", dtmf("#", None), dtmf("0", Some(10))),
    ));
    assert_result(&mut h, "d2");
    assert_eq!(
        h.dtmfs,
        [
            (call.clone(), '5', 120),
            (call.clone(), '#', 100),
            (call, '0', 40)
        ]
    );
    assert!(
        h.take_sip().is_empty(),
        "no INFO when the anchor sends events"
    );
}

#[test]
fn anchored_with_dtmf_info_sends_info_even_with_telephone_event() {
    let mut h = anchored(Some("info"));
    anchored_answered(&mut h, ANSWER_SDP);
    h.stanza(&session_info("d1", &dtmf("5", None)));
    assert_result(&mut h, "d1");
    assert!(h.dtmfs.is_empty());
    assert_eq!(body(&sent_info(&mut h)), "Signal=5\r\nDuration=100\r\n");
}

#[test]
fn anchored_without_telephone_event_auto_falls_back_to_info() {
    let mut h = anchored(Some("auto"));
    anchored_answered(&mut h, ANSWER_NO_EVENTS);
    h.stanza(&session_info("d1", &dtmf("#", None)));
    assert_result(&mut h, "d1");
    assert!(h.dtmfs.is_empty());
    assert_eq!(signal(&sent_info(&mut h)), "#");
}

#[test]
fn rfc4733_only_trunk_refuses_what_cannot_go_in_band() {
    let mut h = anchored(Some("rfc4733"));
    anchored_answered(&mut h, ANSWER_NO_EVENTS);
    h.stanza(&session_info("d1", &dtmf("1", None)));
    assert_error(
        &mut h,
        "d1",
        "cancel",
        "feature-not-implemented",
        Some("unsupported-info"),
    );
    assert!(h.dtmfs.is_empty());
    assert!(h.take_sip().is_empty(), "never INFO on an rfc4733 trunk");
    assert_eq!(h.gw.active_calls(), 1);

    // With telephone-event it goes in-band.
    let mut h = anchored(Some("rfc4733"));
    let call = anchored_answered(&mut h, ANSWER_SDP);
    h.stanza(&session_info("d1", &dtmf("1", None)));
    assert_result(&mut h, "d1");
    assert_eq!(h.dtmfs, [(call, '1', 100)]);
}

#[test]
fn a_passthrough_call_on_an_rfc4733_trunk_is_refused() {
    let config = CONFIG.replace(
        "uri = \"sip:127.0.0.1:5080\"\n",
        "uri = \"sip:127.0.0.1:5080\"\ndtmf = \"rfc4733\"\n",
    );
    let mut h = Harness::with_config(&config, trunk());
    answered(&mut h);
    h.stanza(&session_info("d1", &dtmf("1", None)));
    assert_error(
        &mut h,
        "d1",
        "cancel",
        "feature-not-implemented",
        Some("unsupported-info"),
    );
    assert!(h.take_sip().is_empty());
}

#[test]
fn a_flood_of_digits_is_bounded() {
    let mut h = Harness::new();
    answered(&mut h);
    let many: String = (0..32).map(|_| dtmf("1", None)).collect();
    h.stanza(&session_info("f1", &many));
    assert_result(&mut h, "f1");
    h.take_sip();
    // One went out as INFO; 31 wait. Two more would exceed 32.
    h.stanza(&session_info(
        "f2",
        &format!("{}{}", dtmf("2", None), dtmf("3", None)),
    ));
    assert_error(&mut h, "f2", "wait", "resource-constraint", None);
    h.stanza(&session_info("f3", &dtmf("2", None)));
    assert_result(&mut h, "f3");
}

/// An anchored inbound call: the SIP side of the answer is the anchor's
/// answer to the caller's offer (`returned`), which decides in-band or INFO.
fn anchored_inbound_answered(h: &mut Harness, anchor_to_sip: &str) -> (String, String) {
    let gw = "+15557770000@sip.test/stox";
    h.sip_from(trunk(), &invite("+15550001000", "in1@pbx", "z9hG4bKin1"));
    let call = h.anchors[0].call.clone();
    let reply = |op, sdp: &str| {
        Input::Anchored(AnchorReply {
            call: call.clone(),
            op,
            result: Ok(sdp.to_string()),
        })
    };
    h.input(reply(
        AnchorOp::Offer,
        &ANCHOR_TO_XMPP.replace("setup:passive", "setup:actpass"),
    ));
    let sid = h
        .take_stanzas()
        .iter()
        .find_map(|s| find(s, "propose").and_then(|p| p.attr("id").map(str::to_string)))
        .expect("propose");
    h.stanza(&format!(
        "<message from='bob@test/phone' to='{gw}' type='chat'><proceed xmlns='urn:xmpp:jingle-message:0' id='{sid}'/></message>"
    ));
    h.stanza(&format!("<iq from='bob@test/phone' to='{gw}' type='set' id='sa'><jingle xmlns='urn:xmpp:jingle:1' action='session-accept' sid='{sid}' responder='bob@test/phone'><content creator='initiator' name='0'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='0' name='PCMU' clockrate='8000'/><rtcp-mux/></description><transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='bobu' pwd='bobpasswordbobpassword'><fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='active'>BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB</fingerprint><candidate component='1' foundation='1' generation='0' id='b1' ip='192.0.2.20' port='41000' priority='2130706431' protocol='udp' type='host'/></transport></content></jingle></iq>"));
    h.advance(Duration::from_millis(250));
    h.input(reply(AnchorOp::Answer, anchor_to_sip));
    let ok = h.responses().into_iter().find(|r| r.status == 200).unwrap();
    let to = ok.headers.get("To").unwrap().to_string();
    h.sip_from(
        trunk(),
        &format!(
            "ACK sip:stox@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKack1\nFrom: <sip:+15557770000@127.0.0.1:5080>;tag=caller1\nTo: {to}\nCall-ID: in1@pbx\nCSeq: 1 ACK\nContent-Length: 0\n\n"
        ),
    );
    h.take_stanzas();
    h.take_sip();
    (call, sid)
}

#[test]
fn anchored_inbound_calls_choose_by_the_anchors_answer_to_the_caller() {
    let bob_dtmf = |sid: &str| {
        format!(
            "<iq from='bob@test/phone' to='+15557770000@sip.test/stox' type='set' id='d1'>\
<jingle xmlns='urn:xmpp:jingle:1' action='session-info' sid='{sid}'>{}</jingle></iq>",
            dtmf("*", Some(200))
        )
    };
    // The answer toward the caller kept telephone-event: in-band.
    let mut h = anchored(None);
    let (call, sid) = anchored_inbound_answered(&mut h, ANCHOR_TO_SIP);
    h.stanza(&bob_dtmf(&sid));
    assert_result(&mut h, "d1");
    assert_eq!(h.dtmfs, [(call, '*', 200)]);
    assert!(h.take_sip().is_empty());

    // It did not (bob's client took no telephone-event): INFO to the caller.
    let mut h = anchored(None);
    let no_events = ANCHOR_TO_SIP.replace(" 0 101\r\n", " 0\r\n").replace(
        "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n",
        "",
    );
    assert!(!no_events.contains("telephone-event"));
    let (_, sid) = anchored_inbound_answered(&mut h, &no_events);
    h.stanza(&bob_dtmf(&sid));
    assert_result(&mut h, "d1");
    assert!(h.dtmfs.is_empty());
    let info = sent_info(&mut h);
    assert_eq!(info.uri, "sip:caller@127.0.0.1:5080");
    assert_eq!(body(&info), "Signal=*\r\nDuration=200\r\n");
}
