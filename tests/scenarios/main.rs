//! Scenario tests of the sans-IO call core on a virtual clock: every row of the
//! mapping doc's §2 tables that issue 3 touches, plus retransmission and timeout
//! paths. No test sleeps; `Harness::advance` moves time.

mod dtmf;
mod early;
mod failover;
mod harness;
mod hold;
mod media;
mod more;
mod recovery;
mod transfer;
mod trickle;
mod trunkopts;

use harness::*;
use std::time::Duration;
use stox::sip::SipMessage;

const GW: &str = "+15551230001@sip.test";

/// Drives alice's JMI call up to the INVITE; returns the INVITE.
fn outbound_to_invite(h: &mut Harness) -> stox::sip::Request {
    h.stanza(&propose("s1", GW));
    let out = h.take_stanzas();
    assert_eq!(out.len(), 1);
    assert!(
        find(&out[0], "proceed").is_some(),
        "propose is answered with proceed"
    );
    assert_eq!(out[0].attr("from"), Some("+15551230001@sip.test/stox"));
    h.stanza(&session_initiate("s1", "+15551230001@sip.test/stox"));
    let out = h.take_stanzas();
    assert_eq!(
        out[0].attr("type"),
        Some("result"),
        "session-initiate acked at once"
    );
    assert!(
        h.take_sip().is_empty(),
        "INVITE waits for trickled candidates"
    );
    h.advance(Duration::from_millis(250));
    let (peer, invite) = h.expect_request("INVITE");
    assert_eq!(peer, trunk());
    assert_eq!(invite.uri, "sip:+15551230001@127.0.0.1:5080;user=phone");
    let body = String::from_utf8(invite.body.clone()).unwrap();
    assert!(body.contains("a=candidate:1 1 udp 2130706431 127.0.0.1 40001 typ host"));
    assert!(body.contains("a=fingerprint:sha-256 AA:BB"));
    assert!(
        invite
            .headers
            .get("From")
            .unwrap()
            .contains("sip:alice@test")
    );
    invite
}

/// Answers the INVITE with 180 then 200; returns the ACK seen.
fn answer(h: &mut Harness, invite: &stox::sip::Request) {
    h.sip_from(trunk(), &respond(invite, 100, "far", None));
    h.sip_from(trunk(), &respond(invite, 180, "far", None));
    let out = h.take_stanzas();
    assert_eq!(out.len(), 1);
    assert_eq!(jingle_action(&out[0]).as_deref(), Some("session-info"));
    assert!(find(&out[0], "ringing").is_some());
    h.sip_from(trunk(), &respond(invite, 200, "far", Some(ANSWER_SDP)));
    let (_, ack) = h.expect_request("ACK");
    assert!(ack.headers.get("To").unwrap().contains("tag=far"));
    assert_eq!(ack.headers.get("CSeq"), Some("1 ACK"));
    let out = h.take_stanzas();
    let accept = out
        .iter()
        .find(|s| jingle_action(s).as_deref() == Some("session-accept"))
        .expect("200 becomes session-accept");
    assert_eq!(accept.attr("to"), Some("alice@test/phone"));
    assert!(find(accept, "payload-type").is_some());
    // ANSWER_SDP has no a=mid (as baresip's and most phones'): the content keeps
    // the name alice offered, or a WebRTC client refuses the answer.
    assert_eq!(
        find(accept, "content").and_then(|c| c.attr("name")),
        Some("0")
    );
}

#[test]
fn outbound_answered_then_hung_up_from_xmpp_sends_bye() {
    let mut h = Harness::new();
    let invite = outbound_to_invite(&mut h);
    answer(&mut h, &invite);
    assert_eq!(h.gw.active_calls(), 1);
    h.stanza("<iq from='alice@test/phone' to='+15551230001@sip.test/stox' type='set' id='t1'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s1'><reason><success/></reason></jingle></iq>");
    let (_, bye) = h.expect_request("BYE");
    assert!(bye.headers.get("CSeq").unwrap().starts_with("2 BYE"));
    assert_eq!(
        bye.uri, "sip:far@127.0.0.1:5080",
        "BYE goes to the remote target"
    );
    assert_eq!(h.gw.active_calls(), 0);
}

#[test]
fn outbound_hung_up_from_sip_sends_terminate_success() {
    let mut h = Harness::new();
    let invite = outbound_to_invite(&mut h);
    answer(&mut h, &invite);
    let from = invite.headers.get("From").unwrap();
    let bye = format!(
        "BYE sip:stox@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKbye1\nFrom: {};tag=far\nTo: {from}\nCall-ID: {}\nCSeq: 5 BYE\nContent-Length: 0\n\n",
        invite.headers.get("To").unwrap(),
        invite.headers.get("Call-ID").unwrap()
    );
    h.sip_from(trunk(), &bye);
    let rs = h.responses();
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].status, 200);
    let out = h.take_stanzas();
    assert_eq!(jingle_action(&out[0]).as_deref(), Some("session-terminate"));
    assert_eq!(reason(&out[0]).as_deref(), Some("success"));
    assert_eq!(h.gw.active_calls(), 0);
}

#[test]
fn outbound_cancelled_before_answer_sends_cancel_and_absorbs_487() {
    let mut h = Harness::new();
    let invite = outbound_to_invite(&mut h);
    h.sip_from(trunk(), &respond(&invite, 180, "far", None));
    h.take_stanzas();
    h.stanza("<iq from='alice@test/phone' to='+15551230001@sip.test/stox' type='set' id='t2'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s1'><reason><cancel/></reason></jingle></iq>");
    let (_, cancel) = h.expect_request("CANCEL");
    assert_eq!(
        cancel.headers.get("Via"),
        invite.headers.get("Via"),
        "CANCEL reuses the INVITE's branch"
    );
    assert_eq!(cancel.headers.get("CSeq"), Some("1 CANCEL"));
    h.take_stanzas();
    h.sip_from(trunk(), &respond(&cancel, 200, "far", None));
    h.sip_from(trunk(), &respond(&invite, 487, "far", None));
    let (_, ack) = h.expect_request("ACK");
    assert_eq!(
        ack.headers.get("Via"),
        invite.headers.get("Via"),
        "non-2xx ACK is hop-by-hop, same branch"
    );
    assert!(
        h.take_stanzas()
            .iter()
            .all(|s| jingle_action(s).as_deref() != Some("session-terminate")),
        "the user already ended the session: no second terminate"
    );
    assert_eq!(h.gw.active_calls(), 0);
}

#[test]
fn outbound_cancel_before_any_provisional_waits_for_one() {
    let mut h = Harness::new();
    let invite = outbound_to_invite(&mut h);
    h.stanza("<iq from='alice@test/phone' to='+15551230001@sip.test/stox' type='set' id='t2'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s1'><reason><cancel/></reason></jingle></iq>");
    assert!(
        h.take_sip().is_empty(),
        "RFC 3261 §9.1: no CANCEL before a provisional"
    );
    h.sip_from(trunk(), &respond(&invite, 100, "far", None));
    h.expect_request("CANCEL");
}

#[test]
fn outbound_refusals_map_to_jingle_reasons() {
    for (status, expected) in [
        (486, "busy"),
        (603, "decline"),
        (404, "gone"),
        (488, "incompatible-parameters"),
        (500, "general-error"),
    ] {
        let mut h = Harness::new();
        let invite = outbound_to_invite(&mut h);
        h.sip_from(trunk(), &respond(&invite, status, "far", None));
        let (_, ack) = h.expect_request("ACK");
        assert_eq!(ack.headers.get("CSeq"), Some("1 ACK"));
        let out = h.take_stanzas();
        assert_eq!(jingle_action(&out[0]).as_deref(), Some("session-terminate"));
        assert_eq!(
            reason(&out[0]).as_deref(),
            Some(expected),
            "status {status}"
        );
        assert_eq!(h.gw.active_calls(), 0);
        // A retransmitted final response is re-ACKed by the transaction, not
        // reported twice.
        h.sip_from(trunk(), &respond(&invite, status, "far", None));
        h.expect_request("ACK");
        assert!(h.take_stanzas().is_empty());
    }
}

#[test]
fn invite_is_retransmitted_on_timer_a_then_times_out_on_timer_b() {
    let mut h = Harness::new();
    outbound_to_invite(&mut h);
    // Timer A: T1, 2T1, 4T1 … (UDP)
    h.advance(T1);
    h.expect_request("INVITE");
    h.advance(T1 * 2);
    h.expect_request("INVITE");
    h.advance(T1 * 4);
    h.expect_request("INVITE");
    assert!(h.take_stanzas().is_empty());
    // Timer B: 64·T1 after the first send.
    h.advance(T1 * 64);
    let out = h.take_stanzas();
    let t = out
        .iter()
        .find(|s| jingle_action(s).as_deref() == Some("session-terminate"))
        .unwrap();
    assert_eq!(reason(t).as_deref(), Some("timeout"));
    assert_eq!(h.gw.active_calls(), 0);
    assert_eq!(h.gw.transactions(), (0, 0));
}

#[test]
fn provisional_response_stops_invite_retransmission() {
    let mut h = Harness::new();
    let invite = outbound_to_invite(&mut h);
    h.sip_from(trunk(), &respond(&invite, 100, "far", None));
    h.advance(T1 * 8);
    assert!(h.take_sip().is_empty());
}

#[test]
fn refused_caller_gets_reject_or_forbidden_and_no_invite_is_sent() {
    let mut h = Harness::new();
    h.stanza(&propose("s9", GW).replace("alice@test", "carol@test"));
    let out = h.take_stanzas();
    assert!(find(&out[0], "reject").is_some());
    h.stanza(&session_initiate("s10", GW).replace("alice@test", "carol@test"));
    let out = h.take_stanzas();
    assert_eq!(out[0].attr("type"), Some("error"));
    assert!(find(&out[0], "forbidden").is_some());
    h.advance(Duration::from_secs(5));
    assert!(h.take_sip().is_empty(), "no INVITE for a refused caller");
}

#[test]
fn direct_session_initiate_without_jmi_places_the_call() {
    let mut h = Harness::new();
    h.stanza(&session_initiate("d1", "+15551230001@sip.test/stox"));
    assert_eq!(h.take_stanzas()[0].attr("type"), Some("result"));
    h.advance(Duration::from_millis(250));
    h.expect_request("INVITE");
}

#[test]
fn unknown_session_gets_item_not_found_with_unknown_session() {
    let mut h = Harness::new();
    h.stanza("<iq from='alice@test/phone' to='+1555@sip.test/stox' type='set' id='x'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='nope'/></iq>");
    let out = h.take_stanzas();
    assert_eq!(out[0].attr("type"), Some("error"));
    assert!(find(&out[0], "item-not-found").is_some());
    assert!(find(&out[0], "unknown-session").is_some());
}

// ---- inbound ----

fn inbound_to_propose(h: &mut Harness) -> String {
    h.sip_from(trunk(), &invite("+15550001000", "in1@pbx", "z9hG4bKin1"));
    let rs = h.responses();
    assert_eq!(rs.iter().map(|r| r.status).collect::<Vec<_>>(), vec![100]);
    let out = h.take_stanzas();
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].attr("to"),
        Some("bob@test"),
        "propose goes to the bare JID"
    );
    assert_eq!(out[0].attr("from"), Some("+15557770000@sip.test/stox"));
    let p = find(&out[0], "propose").expect("JMI propose");
    p.attr("id").unwrap().to_string()
}

fn jmi(kind: &str, from: &str, sid: &str, reason: Option<&str>) -> String {
    let r = reason
        .map(|r| format!("<reason xmlns='urn:xmpp:jingle:1'><{r}/></reason>"))
        .unwrap_or_default();
    format!(
        "<message from='{from}' to='+15557770000@sip.test/stox' type='chat' id='j{kind}'><{kind} xmlns='urn:xmpp:jingle-message:0' id='{sid}'>{r}</{kind}></message>"
    )
}

#[test]
fn inbound_rung_on_two_devices_answered_on_one_then_bye() {
    let mut h = Harness::new();
    let sid = inbound_to_propose(&mut h);
    h.stanza(&jmi("ringing", "bob@test/phone", &sid, None));
    assert_eq!(
        h.responses().iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![180]
    );
    h.stanza(&jmi("ringing", "bob@test/laptop", &sid, None));
    assert!(h.responses().is_empty(), "one 180 only");
    h.stanza(&jmi("proceed", "bob@test/phone", &sid, None));
    let out = h.take_stanzas();
    let si = out
        .iter()
        .find(|s| jingle_action(s).as_deref() == Some("session-initiate"))
        .unwrap();
    assert_eq!(si.attr("to"), Some("bob@test/phone"));
    let fin = out
        .iter()
        .find(|s| find(s, "finish").is_some())
        .expect("the other device is told");
    assert_eq!(fin.attr("to"), Some("bob@test/laptop"));
    let si_id = si.attr("id").unwrap().to_string();
    h.stanza(&format!(
        "<iq from='bob@test/phone' to='+15557770000@sip.test/stox' type='result' id='{si_id}'/>"
    ));
    h.stanza(&format!("<iq from='bob@test/phone' to='+15557770000@sip.test/stox' type='set' id='sa'><jingle xmlns='urn:xmpp:jingle:1' action='session-accept' sid='{sid}' responder='bob@test/phone'><content creator='initiator' name='0'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='0' name='PCMU' clockrate='8000'/></description><transport xmlns='urn:xmpp:jingle:transports:raw-udp:1'><candidate component='1' generation='0' id='r1' ip='127.0.0.1' port='41000'/></transport></content></jingle></iq>"));
    let acked = h.take_stanzas();
    assert_eq!(acked[0].attr("type"), Some("result"));
    let rs = h.responses();
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].status, 200);
    let body = String::from_utf8(rs[0].body.clone()).unwrap();
    assert!(body.contains("m=audio 41000 RTP/AVP 0"), "{body}");
    let to = rs[0].headers.get("To").unwrap().to_string();
    // 2xx retransmitted until the ACK (UDP).
    h.advance(T1);
    assert_eq!(
        h.responses().iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![200]
    );
    let ack = format!(
        "ACK sip:stox@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKack1\nFrom: <sip:+15557770000@127.0.0.1:5080>;tag=caller1\nTo: {to}\nCall-ID: in1@pbx\nCSeq: 1 ACK\nContent-Length: 0\n\n"
    );
    h.sip_from(trunk(), &ack);
    h.advance(T1 * 4);
    assert!(
        h.responses().is_empty(),
        "ACK stops the 2xx retransmissions"
    );
    let bye = format!(
        "BYE sip:stox@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKbye2\nFrom: <sip:+15557770000@127.0.0.1:5080>;tag=caller1\nTo: {to}\nCall-ID: in1@pbx\nCSeq: 2 BYE\nContent-Length: 0\n\n"
    );
    h.sip_from(trunk(), &bye);
    assert_eq!(h.responses()[0].status, 200);
    let out = h.take_stanzas();
    assert_eq!(out[0].attr("to"), Some("bob@test/phone"));
    assert_eq!(reason(&out[0]).as_deref(), Some("success"));
    assert_eq!(h.gw.active_calls(), 0);
}

#[test]
fn inbound_cancel_retracts_and_answers_487() {
    let mut h = Harness::new();
    let sid = inbound_to_propose(&mut h);
    h.stanza(&jmi("ringing", "bob@test/phone", &sid, None));
    h.responses();
    let cancel = "CANCEL sip:+15550001000@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKin1\nFrom: <sip:+15557770000@127.0.0.1:5080>;tag=caller1\nTo: <sip:+15550001000@127.0.0.1:5060>\nCall-ID: in1@pbx\nCSeq: 1 CANCEL\nContent-Length: 0\n\n";
    h.sip_from(trunk(), cancel);
    let mut statuses: Vec<u16> = h.responses().iter().map(|r| r.status).collect();
    statuses.sort();
    assert_eq!(statuses, vec![200, 487]);
    let out = h.take_stanzas();
    let r = out
        .iter()
        .find(|s| find(s, "retract").is_some())
        .expect("retract");
    assert_eq!(r.attr("to"), Some("bob@test"));
    assert_eq!(h.gw.active_calls(), 0);
}

#[test]
fn inbound_reject_maps_busy_to_486_and_decline_to_603() {
    for (reason, status) in [("busy", 486), ("decline", 603)] {
        let mut h = Harness::new();
        let sid = inbound_to_propose(&mut h);
        h.stanza(&jmi("reject", "bob@test/phone", &sid, Some(reason)));
        assert_eq!(
            h.responses().iter().map(|r| r.status).collect::<Vec<_>>(),
            vec![status]
        );
        assert_eq!(h.gw.active_calls(), 0);
    }
}

#[test]
fn inbound_no_answer_times_out_with_480_and_retract() {
    let mut h = Harness::new();
    inbound_to_propose(&mut h);
    h.advance(Duration::from_secs(59));
    assert!(h.responses().is_empty());
    h.advance(Duration::from_secs(2));
    let statuses: Vec<u16> = h.responses().iter().map(|r| r.status).collect();
    // 480, then its Timer G retransmissions until the ACK.
    assert_eq!(statuses[0], 480);
    assert!(statuses.iter().all(|s| *s == 480));
    assert!(
        h.take_stanzas()
            .iter()
            .any(|s| find(s, "retract").is_some())
    );
}

#[test]
fn inbound_unknown_number_gets_404_and_unknown_source_403() {
    let mut h = Harness::new();
    h.sip_from(trunk(), &invite("+15550009999", "u1@pbx", "z9hG4bKu1"));
    assert_eq!(
        h.responses().iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![404]
    );
    assert!(h.take_stanzas().is_empty());
    let stranger = stox::sip::peer::Peer {
        transport: stox::sip::peer::Transport::Udp,
        addr: addr("192.0.2.9:5060"),
    };
    h.sip_from(stranger, &invite("+15550001000", "u2@x", "z9hG4bKu2"));
    assert_eq!(
        h.responses().iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![403]
    );
    assert!(
        h.take_stanzas().is_empty(),
        "an unconfigured source never reaches an XMPP user"
    );
}

#[test]
fn malformed_input_is_answered_and_does_not_disturb_a_call() {
    let mut h = Harness::new();
    let invite_req = outbound_to_invite(&mut h);
    answer(&mut h, &invite_req);
    // Missing Call-ID and CSeq: 400.
    h.sip_from(trunk(), "OPTIONS sip:x@127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKbad\nFrom: <sip:a@b>;tag=1\nTo: <sip:c@d>\nContent-Length: 0\n\n");
    assert_eq!(
        h.responses().iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![400]
    );
    // Garbage: dropped.
    h.sip_bytes(trunk(), b"\x00\x01garbage\r\n\r\n".to_vec());
    assert!(h.responses().is_empty());
    // Malformed Jingle: bad-request.
    h.stanza("<iq from='alice@test/phone' to='+15551230001@sip.test/stox' type='set' id='bad'><jingle xmlns='urn:xmpp:jingle:1' action='transport-info' sid='s1'><content name='0'><transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'><candidate port='notaport'/></transport></content></jingle></iq>");
    let out = h.take_stanzas();
    assert_eq!(out[0].attr("type"), Some("error"));
    assert!(find(&out[0], "bad-request").is_some());
    assert_eq!(h.gw.active_calls(), 1, "the call in progress is untouched");
    h.stanza("<iq from='alice@test/phone' to='+15551230001@sip.test/stox' type='set' id='t1'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s1'><reason><success/></reason></jingle></iq>");
    h.expect_request("BYE");
}

#[test]
fn unacknowledged_200_ends_the_call_on_both_sides() {
    let mut h = Harness::new();
    let sid = inbound_to_propose(&mut h);
    h.stanza(&jmi("proceed", "bob@test/phone", &sid, None));
    h.take_stanzas();
    h.stanza(&format!("<iq from='bob@test/phone' to='+15557770000@sip.test/stox' type='set' id='sa'><jingle xmlns='urn:xmpp:jingle:1' action='session-accept' sid='{sid}'><content creator='initiator' name='0'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='0' name='PCMU' clockrate='8000'/></description><transport xmlns='urn:xmpp:jingle:transports:raw-udp:1'><candidate component='1' generation='0' id='r1' ip='127.0.0.1' port='41000'/></transport></content></jingle></iq>"));
    h.take_stanzas();
    h.advance(T1 * 65);
    let sent = h.take_sip();
    assert!(
        sent.iter()
            .any(|(_, m)| matches!(m, SipMessage::Request(r) if r.method.as_str() == "BYE"))
    );
    assert!(
        h.take_stanzas()
            .iter()
            .any(|s| jingle_action(s).as_deref() == Some("session-terminate"))
    );
    assert_eq!(h.gw.active_calls(), 0);
}

// ---- devices without JMI, bounced proposals ----

const NS_CAPS_TEST: &str = "http://jabber.org/protocol/caps";

fn presence_with_caps(from: &str, ver: &str) -> String {
    format!(
        "<presence from='{from}' to='+15557770000@sip.test'><c xmlns='{NS_CAPS_TEST}' hash='sha-1' node='https://old.example' ver='{ver}'/></presence>"
    )
}

fn disco_answer(h: &mut Harness, features: &[&str]) {
    let out = h.take_stanzas();
    assert_eq!(out.len(), 1, "one disco#info query per new caps version");
    let q = find(&out[0], "query").unwrap();
    assert_eq!(q.ns(), "http://jabber.org/protocol/disco#info");
    assert_eq!(q.attr("node"), Some("https://old.example#v1"));
    let f: String = features
        .iter()
        .map(|f| format!("<feature var='{f}'/>"))
        .collect();
    h.stanza(&format!(
        "<iq from='{}' to='{}' type='result' id='{}'><query xmlns='http://jabber.org/protocol/disco#info'>{f}</query></iq>",
        out[0].attr("to").unwrap(),
        out[0].attr("from").unwrap(),
        out[0].attr("id").unwrap()
    ));
}

#[test]
fn a_user_whose_only_device_lacks_jmi_gets_a_direct_session_initiate() {
    let mut h = Harness::new();
    h.stanza(&presence_with_caps("bob@test/old", "v1"));
    disco_answer(&mut h, &["urn:xmpp:jingle:1", "urn:xmpp:jingle:apps:rtp:1"]);
    h.sip_from(trunk(), &invite("+15550001000", "d1@pbx", "z9hG4bKd1"));
    assert_eq!(
        h.responses().iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![100]
    );
    let out = h.take_stanzas();
    assert_eq!(out.len(), 1);
    assert!(
        find(&out[0], "propose").is_none(),
        "no JMI for a device without it"
    );
    assert_eq!(jingle_action(&out[0]).as_deref(), Some("session-initiate"));
    assert_eq!(out[0].attr("to"), Some("bob@test/old"));
    let sid = find(&out[0], "jingle")
        .unwrap()
        .attr("sid")
        .unwrap()
        .to_string();
    // XEP-0167 ringing from the device → 180.
    h.stanza(&format!("<iq from='bob@test/old' to='+15557770000@sip.test/stox' type='set' id='r1'><jingle xmlns='urn:xmpp:jingle:1' action='session-info' sid='{sid}'><ringing xmlns='urn:xmpp:jingle:apps:rtp:info:1'/></jingle></iq>"));
    assert_eq!(
        h.responses().iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![180]
    );
}

#[test]
fn a_user_with_any_jmi_device_gets_a_propose() {
    let mut h = Harness::new();
    h.stanza(&presence_with_caps("bob@test/new", "v1"));
    disco_answer(
        &mut h,
        &["urn:xmpp:jingle:apps:rtp:1", "urn:xmpp:jingle-message:0"],
    );
    inbound_to_propose(&mut h);
}

#[test]
fn a_bounced_propose_fails_the_call_at_once() {
    let mut h = Harness::new();
    let sid = inbound_to_propose(&mut h);
    h.stanza(&format!("<message from='bob@test' to='+15557770000@sip.test/stox' type='error'><propose xmlns='urn:xmpp:jingle-message:0' id='{sid}'/><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>"));
    assert_eq!(
        h.responses().iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![404]
    );
    assert_eq!(h.gw.active_calls(), 0);
}

#[test]
fn responses_carry_received_and_rport_for_nat() {
    let mut h = Harness::new();
    // The phone thinks it is 10.0.0.7:5062 and asks for rport (RFC 3581); its
    // packets arrive from the trunk's public address.
    let text = invite("+15550009999", "nat@pbx", "z9hG4bKnat").replace(
        "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKnat",
        "Via: SIP/2.0/UDP 10.0.0.7:5062;branch=z9hG4bKnat;rport\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKup",
    );
    h.sip_from(trunk(), &text);
    let rs = h.responses();
    assert_eq!(rs[0].status, 404);
    let vias: Vec<&str> = rs[0].headers.get_all("Via").collect();
    assert_eq!(vias.len(), 2, "{vias:?}");
    assert!(vias[0].contains("rport=5080"), "{}", vias[0]);
    assert!(vias[0].contains("received=127.0.0.1"), "{}", vias[0]);
    assert!(vias[0].contains("branch=z9hG4bKnat"));
    assert_eq!(
        vias[1], "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKup",
        "other Vias untouched, in order"
    );
    let text = String::from_utf8(rs[0].to_bytes()).unwrap();
    assert!(
        text.find("Via:").unwrap() < text.find("From:").unwrap(),
        "Via stays on top"
    );
}

fn options(branch: &str) -> String {
    format!(
        "OPTIONS sip:probe@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.9:5060;branch={branch}\nFrom: <sip:scan@192.0.2.9>;tag=s\nTo: <sip:probe@127.0.0.1>\nCall-ID: {branch}@scan\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n"
    )
}

#[test]
fn untrusted_sources_are_rate_limited_and_trunks_are_not() {
    let mut h = Harness::new();
    let stranger = stox::sip::peer::Peer {
        transport: stox::sip::peer::Transport::Udp,
        addr: addr("192.0.2.9:5060"),
    };
    for i in 0..100 {
        h.sip_from(stranger, &options(&format!("z9hG4bKs{i}")));
    }
    // The default burst is 20 requests; the rest are dropped unanswered.
    assert_eq!(h.responses().len(), 20);
    // Ten per second refill.
    h.advance(Duration::from_secs(1));
    for i in 100..200 {
        h.sip_from(stranger, &options(&format!("z9hG4bKs{i}")));
    }
    assert_eq!(h.responses().len(), 10);
    for i in 0..100 {
        h.sip_from(
            trunk(),
            &options(&format!("z9hG4bKt{i}")).replace("192.0.2.9:5060", "127.0.0.1:5080"),
        );
    }
    assert_eq!(
        h.responses().len(),
        100,
        "a configured trunk is never limited"
    );
    assert!(h.events.iter().any(|e| matches!(
        e,
        stox::call::CallEvent::Rejected {
            what: "sip-rate-limited"
        }
    )));
}
mod torture;
