//! More scenarios: every row of the mapping doc's §2 tables the core claims to
//! handle, the retransmission and timeout paths of RFC 3261 §17 (UDP and TCP),
//! trickle timing, XEP-0166 error conditions, out-of-dialog and in-dialog SIP
//! edge cases, and the metrics events of a call's life.

use super::harness::*;
use std::time::Duration;
use stox::call::{CallDirection, CallEvent};
use stox::sip::SipMessage;
use stox::sip::peer::{Peer, Transport};

/// The gateway user alice calls.
const CALLEE: &str = "+15551230001@sip.test/stox";
/// The gateway user that represents the SIP caller of inbound calls.
const CALLER: &str = "+15557770000@sip.test/stox";
const ALICE: &str = "alice@test/phone";
const BOB: &str = "bob@test/phone";
const DID: &str = "+15550001000";
const STANZAS_NS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";

// ---------------------------------------------------------------- helpers --

/// A Jingle IQ set.
fn jingle(from: &str, to: &str, id: &str, action: &str, sid: &str, inner: &str) -> String {
    format!(
        "<iq from='{from}' to='{to}' type='set' id='{id}'>\
<jingle xmlns='urn:xmpp:jingle:1' action='{action}' sid='{sid}'>{inner}</jingle></iq>"
    )
}

/// A session-terminate with `reason`.
fn terminate(from: &str, to: &str, sid: &str, reason: &str) -> String {
    jingle(
        from,
        to,
        "term",
        "session-terminate",
        sid,
        &format!("<reason><{reason}/></reason>"),
    )
}

/// A JMI message from `from` about call `sid`.
fn jmi(kind: &str, from: &str, to: &str, sid: &str, reason: Option<&str>) -> String {
    let r = reason
        .map(|r| format!("<reason xmlns='urn:xmpp:jingle:1'><{r}/></reason>"))
        .unwrap_or_default();
    format!(
        "<message from='{from}' to='{to}' type='chat' id='j{kind}'>\
<{kind} xmlns='urn:xmpp:jingle-message:0' id='{sid}'>{r}</{kind}></message>"
    )
}

/// An ICE candidate element.
fn candidate(id: &str, port: u16) -> String {
    format!(
        "<candidate component='1' foundation='{id}' generation='0' id='{id}' ip='127.0.0.1' \
port='{port}' priority='2130706431' protocol='udp' type='host'/>"
    )
}

/// A transport-info trickling `candidates`, optionally with end-of-candidates.
fn transport_info(sid: &str, candidates: &[(&str, u16)], complete: bool) -> String {
    let mut inner: String = candidates.iter().map(|(i, p)| candidate(i, *p)).collect();
    if complete {
        inner += "<gathering-complete/>";
    }
    jingle(
        ALICE,
        CALLEE,
        "ti",
        "transport-info",
        sid,
        &format!(
            "<content creator='initiator' name='0'>\
<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='uf1' pwd='pwpwpwpwpwpwpwpwpwpwpw'>\
{inner}</transport></content>"
        ),
    )
}

/// The harness's session-initiate with its one candidate removed (pure trickle).
fn session_initiate_without_candidates(sid: &str) -> String {
    let si = session_initiate(sid, CALLEE);
    let start = si.find("<candidate").unwrap();
    let end = start + si[start..].find("/>").unwrap() + 2;
    format!("{}{}", &si[..start], &si[end..])
}

/// The harness's session-initiate with end-of-candidates: nothing to wait for.
fn session_initiate_complete(sid: &str) -> String {
    session_initiate(sid, CALLEE).replace("</transport>", "<gathering-complete/></transport>")
}

/// The single stanza with this Jingle action sent since the last take.
fn only_action(h: &mut Harness, action: &str) -> minidom::Element {
    let mut found: Vec<_> = h
        .take_stanzas()
        .into_iter()
        .filter(|s| jingle_action(s).as_deref() == Some(action))
        .collect();
    assert_eq!(found.len(), 1, "expected one {action}");
    found.remove(0)
}

/// Asserts `iq` is an error with `condition` and, optionally, a Jingle condition.
fn assert_iq_error(iq: &minidom::Element, condition: &str, jingle_condition: Option<&str>) {
    assert_eq!(iq.attr("type"), Some("error"), "{}", String::from(iq));
    assert!(
        find(iq, condition).is_some(),
        "{condition} in {}",
        String::from(iq)
    );
    if let Some(j) = jingle_condition {
        assert!(find(iq, j).is_some(), "{j} in {}", String::from(iq));
    }
}

/// The one stanza sent since the last take, which must be an IQ result.
fn assert_acked(h: &mut Harness) {
    let out = h.take_stanzas();
    assert_eq!(out.len(), 1, "one reply");
    assert_eq!(out[0].attr("type"), Some("result"));
}

/// Alice calls the gateway user with a direct session-initiate; returns the INVITE.
fn outbound_invite(h: &mut Harness) -> stox::sip::Request {
    h.stanza(&session_initiate("s1", CALLEE));
    assert_acked(h);
    h.advance(Duration::from_millis(250));
    h.expect_request("INVITE").1
}

/// The far end answers the INVITE (tag `far`); the gateway ACKs and accepts.
fn outbound_answered(h: &mut Harness) -> stox::sip::Request {
    let invite = outbound_invite(h);
    h.sip_from(trunk(), &respond(&invite, 200, "far", Some(ANSWER_SDP)));
    h.expect_request("ACK");
    only_action(h, "session-accept");
    invite
}

/// An inbound INVITE proposed to bob; returns the JMI id (= sid).
fn inbound_propose(h: &mut Harness) -> String {
    h.sip_from(trunk(), &invite(DID, "in1@pbx", "z9hG4bKin1"));
    assert_eq!(h.statuses(), vec![100]);
    let out = h.take_stanzas();
    find(&out[0], "propose")
        .and_then(|p| p.attr("id"))
        .expect("JMI propose")
        .to_string()
}

/// An inbound call rung and proceeded on bob's phone; returns (sid, id of our
/// session-initiate IQ).
fn inbound_initiated(h: &mut Harness) -> (String, String) {
    let sid = inbound_propose(h);
    h.stanza(&jmi("ringing", BOB, CALLER, &sid, None));
    assert_eq!(h.statuses(), vec![180]);
    h.stanza(&jmi("proceed", BOB, CALLER, &sid, None));
    let si = only_action(h, "session-initiate");
    assert_eq!(si.attr("to"), Some(BOB));
    (sid, si.attr("id").unwrap().to_string())
}

/// Bob's session-accept for an inbound call.
fn session_accept(sid: &str) -> String {
    jingle(
        BOB,
        CALLER,
        "sa",
        "session-accept",
        sid,
        "<content creator='initiator' name='0'>\
<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='0' name='PCMU' clockrate='8000'/></description>\
<transport xmlns='urn:xmpp:jingle:transports:raw-udp:1'><candidate component='1' generation='0' id='r1' ip='127.0.0.1' port='41000'/></transport>\
</content>",
    )
}

/// An inbound call answered by bob and ACKed by the caller; returns (sid, the
/// 200 OK's To header, the 200's SDP).
fn inbound_answered(h: &mut Harness) -> (String, String, String) {
    let (sid, _) = inbound_initiated(h);
    h.stanza(&session_accept(&sid));
    assert_acked(h);
    let rs = h.responses();
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].status, 200);
    let to = rs[0].headers.get("To").unwrap().to_string();
    let sdp = String::from_utf8(rs[0].body.clone()).unwrap();
    h.sip_from(trunk(), &from_caller("ACK", &to, 1, "z9hG4bKack1", None));
    (sid, to, sdp)
}

/// An in-dialog request from the SIP caller of an inbound call.
fn from_caller(method: &str, to: &str, cseq: u32, branch: &str, sdp: Option<&str>) -> String {
    let body = sdp.unwrap_or("");
    let ctype = if sdp.is_some() {
        "Content-Type: application/sdp\n"
    } else {
        ""
    };
    format!(
        "{method} sip:stox@127.0.0.1:5060 SIP/2.0\n\
Via: SIP/2.0/UDP 127.0.0.1:5080;branch={branch}\n\
Max-Forwards: 70\n\
From: <sip:+15557770000@127.0.0.1:5080>;tag=caller1\n\
To: {to}\n\
Call-ID: in1@pbx\n\
CSeq: {cseq} {method}\n\
Contact: <sip:caller@127.0.0.1:5080>\n\
{ctype}Content-Length: {}\n\n{body}",
        body.len()
    )
}

/// Whether any SIP request was sent since the last take (responses ignored).
fn requests(h: &mut Harness) -> Vec<String> {
    h.take_sip()
        .into_iter()
        .filter_map(|(_, m)| match m {
            SipMessage::Request(r) => Some(r.method.as_str().to_string()),
            _ => None,
        })
        .collect()
}

/// The metrics events about calls (Rejected input is left out).
fn call_events(h: &Harness) -> Vec<CallEvent> {
    h.events
        .iter()
        .filter(|e| !matches!(e, CallEvent::Rejected { .. }))
        .cloned()
        .map(|e| match e {
            // The setup time is not what these tests are about.
            CallEvent::Answered { direction, .. } => CallEvent::Answered {
                direction,
                setup: Duration::ZERO,
            },
            e => e,
        })
        .collect()
}

fn failed(direction: CallDirection, status: u16) -> CallEvent {
    CallEvent::Failed { direction, status }
}

fn answered(direction: CallDirection) -> CallEvent {
    CallEvent::Answered {
        direction,
        setup: Duration::ZERO,
    }
}

const OUT: CallDirection = CallDirection::XmppToSip;
const IN: CallDirection = CallDirection::SipToXmpp;

// ------------------------------------------- §2b: SIP final → Jingle reason --

#[test]
fn every_failure_status_maps_to_its_jingle_reason() {
    let rows: &[(&[u16], &str)] = &[
        (&[486, 600], "busy"),
        (&[603], "decline"),
        (&[487], "cancel"),
        (&[408], "timeout"),
        (&[480, 404, 410, 604], "gone"),
        (&[488, 606, 415], "incompatible-parameters"),
        (&[400, 403, 500, 502, 503, 504], "general-error"),
    ];
    for (statuses, expected) in rows {
        for &status in *statuses {
            let mut h = Harness::new();
            let invite = outbound_invite(&mut h);
            h.sip_from(trunk(), &respond(&invite, status, "far", None));
            h.expect_request("ACK");
            let t = only_action(&mut h, "session-terminate");
            assert_eq!(reason(&t).as_deref(), Some(*expected), "status {status}");
            assert_eq!(t.attr("to"), Some(ALICE));
            assert_eq!(h.gw.active_calls(), 0);
            assert_eq!(
                call_events(&h),
                vec![CallEvent::Attempted(OUT), failed(OUT, status)],
                "status {status}"
            );
        }
    }
}

#[test]
fn provisional_responses_other_than_ringing_send_nothing_to_jingle() {
    let mut h = Harness::new();
    let invite = outbound_invite(&mut h);
    h.sip_from(trunk(), &respond(&invite, 100, "far", None));
    h.sip_from(trunk(), &respond(&invite, 183, "far", Some(ANSWER_SDP)));
    let ringing = h.take_stanzas();
    assert_eq!(ringing.len(), 1, "183 is progress: one ringing");
    assert!(find(&ringing[0], "ringing").is_some());
    h.sip_from(trunk(), &respond(&invite, 180, "far", None));
    assert!(h.take_stanzas().is_empty(), "ringing is forwarded once");
}

// --------------------------------- §2a: callee's reason → final response --

#[test]
fn callee_terminating_before_accept_gets_the_final_response_of_its_reason() {
    for (reason_name, status) in [
        ("busy", 486),
        ("decline", 603),
        ("gone", 480),
        ("timeout", 408),
        ("unsupported-applications", 488),
        ("unsupported-transports", 488),
        ("incompatible-parameters", 488),
        ("failed-application", 488),
        ("security-error", 488),
        ("general-error", 500),
        ("media-error", 500),
        ("alternative-session", 486),
    ] {
        let mut h = Harness::new();
        let (sid, _) = inbound_initiated(&mut h);
        h.stanza(&terminate(BOB, CALLER, &sid, reason_name));
        let rs = h.responses();
        assert_eq!(rs.len(), 1, "{reason_name}");
        assert_eq!(rs[0].status, status, "{reason_name}");
        assert_eq!(
            rs[0].headers.get("Warning").is_some(),
            reason_name == "security-error",
            "only security-error carries a Warning ({reason_name})"
        );
        assert!(rs[0].headers.get("To").unwrap().contains("tag="));
        assert_eq!(h.gw.active_calls(), 0, "{reason_name}");
        assert_eq!(
            call_events(&h),
            vec![CallEvent::Attempted(IN), failed(IN, status)]
        );
    }
}

#[test]
fn jmi_reject_reason_picks_the_final_response_too() {
    for (reason_name, status) in [("busy", 486), ("decline", 603), ("gone", 480)] {
        let mut h = Harness::new();
        let sid = inbound_propose(&mut h);
        h.stanza(&jmi("reject", BOB, CALLER, &sid, Some(reason_name)));
        assert_eq!(h.statuses(), vec![status], "{reason_name}");
    }
}

#[test]
fn final_response_to_the_caller_is_retransmitted_until_acked() {
    let mut h = Harness::new();
    let (sid, _) = inbound_initiated(&mut h);
    h.stanza(&terminate(BOB, CALLER, &sid, "busy"));
    let rs = h.responses();
    let to = rs[0].headers.get("To").unwrap().to_string();
    // Timer G: T1, then 2·T1 …
    h.advance(T1);
    assert_eq!(h.statuses(), vec![486]);
    h.advance(T1 * 2);
    assert_eq!(h.statuses(), vec![486]);
    // The ACK (same branch as the INVITE) confirms the transaction.
    let ack = from_caller("ACK", &to, 1, "z9hG4bKin1", None);
    h.sip_from(trunk(), &ack);
    h.advance(T1 * 16);
    assert!(h.statuses().is_empty());
    assert_eq!(h.gw.transactions(), (0, 0), "Timer I ended the transaction");
}

// ------------------------------ RFC 7247 §6.1: IQ error → final response --

#[test]
fn iq_error_to_our_session_initiate_becomes_the_final_response() {
    for (condition, status) in [
        ("service-unavailable", 480),
        ("recipient-unavailable", 480),
        ("item-not-found", 404),
        ("forbidden", 603),
        ("feature-not-implemented", 501),
        ("remote-server-timeout", 408),
        ("bad-request", 400),
        ("undefined-condition", 500),
    ] {
        let mut h = Harness::new();
        let (_, si_id) = inbound_initiated(&mut h);
        h.stanza(&format!(
            "<iq from='{BOB}' to='{CALLER}' type='error' id='{si_id}'>\
<error type='cancel'><{condition} xmlns='{STANZAS_NS}'/></error></iq>"
        ));
        assert_eq!(h.statuses(), vec![status], "{condition}");
        assert_eq!(h.gw.active_calls(), 0);
        assert_eq!(
            call_events(&h),
            vec![CallEvent::Attempted(IN), failed(IN, status)]
        );
    }
}

#[test]
fn iq_error_for_an_unrelated_id_changes_nothing() {
    let mut h = Harness::new();
    inbound_initiated(&mut h);
    h.stanza(&format!(
        "<iq from='{BOB}' to='{CALLER}' type='error' id='not-ours'>\
<error type='cancel'><forbidden xmlns='{STANZAS_NS}'/></error></iq>"
    ));
    assert!(h.statuses().is_empty());
    assert_eq!(h.gw.active_calls(), 1);
}

// --------------------------------------------- server retransmissions --

#[test]
fn retransmitted_invite_gets_the_last_provisional_and_no_second_call() {
    let mut h = Harness::new();
    let sid = inbound_propose(&mut h);
    // Before anyone rings: the 100 again.
    h.sip_from(trunk(), &invite(DID, "in1@pbx", "z9hG4bKin1"));
    assert_eq!(h.statuses(), vec![100]);
    h.stanza(&jmi("ringing", BOB, CALLER, &sid, None));
    assert_eq!(h.statuses(), vec![180]);
    h.sip_from(trunk(), &invite(DID, "in1@pbx", "z9hG4bKin1"));
    let rs = h.responses();
    assert_eq!(rs.iter().map(|r| r.status).collect::<Vec<_>>(), vec![180]);
    assert!(rs[0].headers.get("To").unwrap().contains("tag="));
    assert!(h.take_stanzas().is_empty(), "no second propose");
    assert_eq!(h.gw.active_calls(), 1);
    assert_eq!(call_events(&h), vec![CallEvent::Attempted(IN)]);
}

#[test]
fn same_call_id_with_a_new_branch_is_a_merged_request() {
    let mut h = Harness::new();
    inbound_propose(&mut h);
    h.sip_from(trunk(), &invite(DID, "in1@pbx", "z9hG4bKother"));
    assert_eq!(h.statuses(), vec![482]);
    assert!(h.take_stanzas().is_empty());
    assert_eq!(h.gw.active_calls(), 1);
}

#[test]
fn retransmitted_bye_gets_the_same_200_and_no_second_terminate() {
    let mut h = Harness::new();
    let (_, to, _) = inbound_answered(&mut h);
    h.take_stanzas();
    let bye = from_caller("BYE", &to, 2, "z9hG4bKbye9", None);
    h.sip_from(trunk(), &bye);
    assert_eq!(h.statuses(), vec![200]);
    only_action(&mut h, "session-terminate");
    h.sip_from(trunk(), &bye);
    assert_eq!(h.statuses(), vec![200], "the transaction answers again");
    assert!(h.take_stanzas().is_empty(), "no second terminate");
    assert_eq!(
        call_events(&h),
        vec![CallEvent::Attempted(IN), answered(IN), CallEvent::Ended(IN)]
    );
    // Timer J (64·T1 on UDP) ends the BYE server transaction.
    h.advance(T1 * 64);
    assert_eq!(h.gw.transactions(), (0, 0));
}

// ------------------------------------------- 2xx retransmits and forks --

#[test]
fn retransmitted_2xx_is_acked_again_without_a_second_accept() {
    let mut h = Harness::new();
    let invite = outbound_answered(&mut h);
    h.sip_from(trunk(), &respond(&invite, 200, "far", Some(ANSWER_SDP)));
    let (_, ack) = h.expect_request("ACK");
    assert!(ack.headers.get("To").unwrap().contains("tag=far"));
    assert_eq!(ack.headers.get("CSeq"), Some("1 ACK"));
    assert!(h.take_stanzas().is_empty(), "no second session-accept");
    assert_eq!(h.gw.active_calls(), 1);
}

#[test]
fn a_2xx_from_another_fork_is_acked_and_hung_up() {
    let mut h = Harness::new();
    let invite = outbound_answered(&mut h);
    h.sip_from(trunk(), &respond(&invite, 200, "fork2", Some(ANSWER_SDP)));
    let sent = h.take_sip();
    let reqs: Vec<_> = sent
        .iter()
        .filter_map(|(_, m)| match m {
            SipMessage::Request(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(
        reqs.iter().map(|r| r.method.as_str()).collect::<Vec<_>>(),
        vec!["ACK", "BYE"]
    );
    for r in &reqs {
        assert!(r.headers.get("To").unwrap().contains("tag=fork2"));
        assert_eq!(r.headers.get("Call-ID"), invite.headers.get("Call-ID"));
    }
    assert_eq!(reqs[1].headers.get("CSeq"), Some("2 BYE"));
    assert!(h.take_stanzas().is_empty(), "only one session-accept");
    assert_eq!(h.gw.active_calls(), 1, "the first fork's call goes on");
    // Our own hangup still goes to the answered fork.
    h.stanza(&terminate(ALICE, CALLEE, "s1", "success"));
    let (_, bye) = h.expect_request("BYE");
    assert!(bye.headers.get("To").unwrap().contains("tag=far"));
}

#[test]
fn a_response_for_an_unknown_transaction_is_ignored() {
    let mut h = Harness::new();
    let invite = outbound_invite(&mut h);
    let mut stray = invite.clone();
    stray.headers.set(
        "Via",
        "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKnobody".to_string(),
    );
    for status in [180, 486] {
        h.sip_from(trunk(), &respond(&stray, status, "far", None));
    }
    stray.headers.set("Call-ID", "unknown@x".to_string());
    h.sip_from(trunk(), &respond(&stray, 200, "far", Some(ANSWER_SDP)));
    assert!(h.take_sip().is_empty(), "no ACK, no BYE");
    assert!(h.take_stanzas().is_empty());
    assert_eq!(h.gw.active_calls(), 1);
    // The real transaction still works.
    h.sip_from(trunk(), &respond(&invite, 180, "far", None));
    assert_eq!(h.take_stanzas().len(), 1);
}

// ------------------------------------------------ INVITE client timers --

#[test]
fn ringing_longer_than_timer_b_is_not_a_timeout() {
    let mut h = Harness::new();
    let invite = outbound_invite(&mut h);
    h.sip_from(trunk(), &respond(&invite, 180, "far", None));
    h.take_stanzas();
    // RFC 3261 §17.1.1.2: Timer B only matters in the Calling state. 55 s is
    // past Timer B (32 s) and short of calls.ring_timeout_secs (60 s).
    h.advance(T1 * 110);
    assert!(h.take_stanzas().is_empty(), "still ringing");
    assert!(h.take_sip().is_empty());
    assert_eq!(h.gw.active_calls(), 1);
    h.sip_from(trunk(), &respond(&invite, 200, "far", Some(ANSWER_SDP)));
    h.expect_request("ACK");
    only_action(&mut h, "session-accept");
}

#[test]
fn outbound_ring_timeout_cancels_and_tells_the_user() {
    let mut h = Harness::new();
    let invite = outbound_invite(&mut h);
    h.sip_from(trunk(), &respond(&invite, 180, "far", None));
    h.take_stanzas();
    h.advance(Duration::from_secs(59));
    assert!(h.take_sip().is_empty());
    h.advance(Duration::from_secs(1));
    let (_, cancel) = h.expect_request("CANCEL");
    let out = h.take_stanzas();
    assert_eq!(out.len(), 1);
    assert_eq!(jingle_action(&out[0]).as_deref(), Some("session-terminate"));
    assert_eq!(reason(&out[0]).as_deref(), Some("timeout"));
    h.sip_from(trunk(), &respond(&cancel, 200, "far", None));
    h.sip_from(trunk(), &respond(&invite, 487, "far", None));
    h.expect_request("ACK");
    assert!(h.take_stanzas().is_empty(), "no second terminate");
    assert_eq!(h.gw.active_calls(), 0);
}

#[test]
fn cancel_without_a_final_response_ends_the_call_after_64_t1() {
    let mut h = Harness::new();
    let invite = outbound_invite(&mut h);
    h.sip_from(trunk(), &respond(&invite, 180, "far", None));
    h.stanza(&terminate(ALICE, CALLEE, "s1", "cancel"));
    let (_, cancel) = h.expect_request("CANCEL");
    h.sip_from(trunk(), &respond(&cancel, 200, "far", None));
    h.take_stanzas();
    // RFC 3261 §9.1: no final response within 64·T1 of the CANCEL.
    h.advance(T1 * 63);
    assert_eq!(h.gw.active_calls(), 1);
    h.advance(T1);
    assert_eq!(h.gw.active_calls(), 0);
    assert!(
        h.take_stanzas().is_empty(),
        "alice already ended the session"
    );
    assert_eq!(
        call_events(&h),
        vec![CallEvent::Attempted(OUT), failed(OUT, 487)]
    );
    assert_eq!(h.gw.transactions(), (0, 0));
}

#[test]
fn timer_b_fails_the_call_once_with_408() {
    let mut h = Harness::new();
    outbound_invite(&mut h);
    h.advance(T1 * 64);
    let t = only_action(&mut h, "session-terminate");
    assert_eq!(reason(&t).as_deref(), Some("timeout"));
    assert_eq!(
        call_events(&h),
        vec![CallEvent::Attempted(OUT), failed(OUT, 408)]
    );
    h.advance(T1 * 64);
    assert!(h.take_stanzas().is_empty());
}

// ------------------------------------------------------------ TCP peers --

fn tcp_trunk() -> Peer {
    Peer {
        transport: Transport::Tcp,
        addr: addr("127.0.0.1:5080"),
    }
}

fn tcp_harness() -> Harness {
    let config = CONFIG
        .replace(
            "uri = \"sip:127.0.0.1:5080\"",
            "uri = \"sip:127.0.0.1:5080;transport=tcp\"",
        )
        .replace(
            "listen = [\"udp:127.0.0.1:5060\"]",
            "listen = [\"udp:127.0.0.1:5060\", \"tcp:127.0.0.1:5060\"]",
        );
    assert_ne!(config, CONFIG);
    Harness::with_config(&config, tcp_trunk())
}

#[test]
fn tcp_invite_is_never_retransmitted_but_timer_b_still_fires() {
    let mut h = tcp_harness();
    // Complete candidates: the INVITE leaves at once, so Timer B runs from now.
    h.stanza(&session_initiate_complete("s1"));
    h.take_stanzas();
    let (peer, invite) = h.expect_request("INVITE");
    assert_eq!(peer, tcp_trunk());
    assert!(
        invite
            .headers
            .get("Via")
            .unwrap()
            .starts_with("SIP/2.0/TCP")
    );
    assert!(
        invite
            .headers
            .get("Contact")
            .unwrap()
            .contains("transport=tcp")
    );
    h.advance(T1 * 64 - Duration::from_millis(1));
    assert!(h.take_sip().is_empty(), "Timer A is off on TCP");
    assert!(h.take_stanzas().is_empty());
    h.advance(Duration::from_millis(1));
    let t = only_action(&mut h, "session-terminate");
    assert_eq!(reason(&t).as_deref(), Some("timeout"));
    assert_eq!(h.gw.transactions(), (0, 0));
}

#[test]
fn tcp_bye_and_final_responses_are_not_retransmitted() {
    let mut h = tcp_harness();
    h.stanza(&session_initiate("s1", CALLEE));
    h.take_stanzas();
    h.advance(Duration::from_millis(250));
    let (_, invite) = h.expect_request("INVITE");
    h.sip_from(tcp_trunk(), &respond(&invite, 200, "far", Some(ANSWER_SDP)));
    let (peer, _) = h.expect_request("ACK");
    assert_eq!(peer, tcp_trunk());
    h.stanza(&terminate(ALICE, CALLEE, "s1", "success"));
    let (peer, bye) = h.expect_request("BYE");
    assert_eq!(peer, tcp_trunk());
    h.advance(T1 * 63);
    assert!(h.take_sip().is_empty(), "Timer E is off on TCP");
    h.sip_from(tcp_trunk(), &respond(&bye, 200, "far", None));
    // Timer K is zero on TCP: the transaction is gone at once.
    h.advance(Duration::from_millis(1));
    assert_eq!(h.gw.transactions(), (0, 0));
}

#[test]
fn tcp_inbound_480_is_sent_once_and_timer_h_still_runs() {
    let mut h = tcp_harness();
    h.sip_from(
        tcp_trunk(),
        &invite(DID, "in1@pbx", "z9hG4bKin1").replace("SIP/2.0/UDP", "SIP/2.0/TCP"),
    );
    assert_eq!(h.statuses(), vec![100]);
    h.advance(Duration::from_secs(60));
    assert_eq!(h.statuses(), vec![480]);
    h.advance(T1 * 63);
    assert!(h.statuses().is_empty(), "Timer G is off on TCP");
    assert_eq!(h.gw.transactions(), (0, 1), "waiting for the ACK");
    h.advance(T1);
    assert_eq!(h.gw.transactions(), (0, 0), "Timer H");
}

// -------------------------------------- non-INVITE client: Timer E and F --

/// Offsets (from now) at which `method` was sent while advancing `total` in `step`s.
fn send_times(h: &mut Harness, method: &str, total: Duration, step: Duration) -> Vec<Duration> {
    let mut times = Vec::new();
    let mut t = Duration::ZERO;
    while t < total {
        h.advance(step);
        t += step;
        let n = requests(h).iter().filter(|m| m.as_str() == method).count();
        times.extend(std::iter::repeat_n(t, n));
    }
    times
}

#[test]
fn bye_retransmits_on_timer_e_capped_at_t2_and_gives_up_on_timer_f() {
    let mut h = Harness::new();
    outbound_answered(&mut h);
    h.stanza(&terminate(ALICE, CALLEE, "s1", "success"));
    h.expect_request("BYE");
    assert_eq!(h.gw.active_calls(), 0);
    h.take_stanzas();
    let times = send_times(
        &mut h,
        "BYE",
        Duration::from_secs(40),
        Duration::from_millis(250),
    );
    let ms: Vec<u64> = times.iter().map(|d| d.as_millis() as u64).collect();
    // T1=500 ms: 0.5, 1.5, 3.5, then every T2=4 s until Timer F at 64·T1 = 32 s.
    assert_eq!(
        ms,
        vec![
            500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500
        ]
    );
    assert!(h.take_stanzas().is_empty(), "Timer F disturbs nobody");
    assert_eq!(h.gw.transactions(), (0, 0));
    assert_eq!(
        call_events(&h),
        vec![
            CallEvent::Attempted(OUT),
            answered(OUT),
            CallEvent::Ended(OUT)
        ]
    );
}

#[test]
fn bye_timer_f_leaves_other_calls_alone() {
    let mut h = Harness::new();
    outbound_answered(&mut h);
    // A second call, answered too.
    h.stanza(&session_initiate("s2", CALLEE));
    h.take_stanzas();
    h.advance(Duration::from_millis(250));
    let (_, invite2) = h.expect_request("INVITE");
    h.sip_from(trunk(), &respond(&invite2, 200, "far2", Some(ANSWER_SDP)));
    h.expect_request("ACK");
    h.take_stanzas();
    h.stanza(&terminate(ALICE, CALLEE, "s1", "success"));
    h.expect_request("BYE");
    assert_acked(&mut h);
    h.advance(T1 * 65);
    assert!(h.take_stanzas().is_empty());
    h.take_sip();
    assert_eq!(h.gw.active_calls(), 1, "call s2 is untouched");
    h.stanza(&terminate(ALICE, CALLEE, "s2", "success"));
    let (_, bye) = h.expect_request("BYE");
    assert!(bye.headers.get("To").unwrap().contains("tag=far2"));
}

#[test]
fn bye_provisional_moves_retransmissions_to_t2() {
    let mut h = Harness::new();
    outbound_answered(&mut h);
    h.stanza(&terminate(ALICE, CALLEE, "s1", "success"));
    let (_, bye) = h.expect_request("BYE");
    h.sip_from(trunk(), &respond(&bye, 100, "far", None));
    let times = send_times(
        &mut h,
        "BYE",
        Duration::from_secs(9),
        Duration::from_millis(250),
    );
    let ms: Vec<u64> = times.iter().map(|d| d.as_millis() as u64).collect();
    assert_eq!(ms, vec![4000, 8000]);
}

// --------------------------------------------------------------- trickle --

#[test]
fn trickled_candidates_then_end_of_candidates_send_the_invite_at_once() {
    let mut h = Harness::new();
    h.stanza(&session_initiate_without_candidates("t1"));
    assert_acked(&mut h);
    h.advance(Duration::from_secs(1));
    assert!(h.take_sip().is_empty(), "no candidates yet: wait");
    h.stanza(&transport_info("t1", &[("c2", 40002)], false));
    assert_acked(&mut h);
    assert!(h.take_sip().is_empty(), "not complete yet");
    h.stanza(&transport_info("t1", &[("c3", 40003)], true));
    assert_acked(&mut h);
    let (_, invite) = h.expect_request("INVITE");
    let body = String::from_utf8(invite.body).unwrap();
    assert!(
        body.contains("udp 2130706431 127.0.0.1 40002 typ host"),
        "{body}"
    );
    assert!(
        body.contains("udp 2130706431 127.0.0.1 40003 typ host"),
        "{body}"
    );
    // Nothing more is sent when the quiet and deadline timers would have fired.
    h.advance(Duration::from_millis(2100));
    let again = requests(&mut h);
    assert!(
        again.iter().all(|m| m == "INVITE") && again.len() <= 3,
        "only Timer A retransmissions: {again:?}"
    );
    assert_eq!(h.gw.active_calls(), 1);
}

#[test]
fn trickle_quiet_time_after_the_last_candidate_sends_the_invite() {
    let mut h = Harness::new();
    h.stanza(&session_initiate_without_candidates("t1"));
    h.take_stanzas();
    h.stanza(&transport_info("t1", &[("c2", 40002)], false));
    h.advance(Duration::from_millis(199));
    assert!(h.take_sip().is_empty());
    h.advance(Duration::from_millis(1));
    let (_, invite) = h.expect_request("INVITE");
    assert!(String::from_utf8(invite.body).unwrap().contains("40002"));
}

#[test]
fn trickle_deadline_sends_the_invite_without_candidates() {
    let mut h = Harness::new();
    h.stanza(&session_initiate_without_candidates("t1"));
    h.take_stanzas();
    h.advance(Duration::from_millis(1999));
    assert!(h.take_sip().is_empty());
    h.advance(Duration::from_millis(1));
    h.expect_request("INVITE");
}

#[test]
fn end_of_candidates_in_the_session_initiate_sends_at_once() {
    let mut h = Harness::new();
    h.stanza(&session_initiate_complete("t1"));
    assert_acked(&mut h);
    let (_, invite) = h.expect_request("INVITE");
    assert!(String::from_utf8(invite.body).unwrap().contains("40001"));
}

#[test]
fn late_candidates_after_the_invite_are_acked_and_change_nothing() {
    let mut h = Harness::new();
    outbound_invite(&mut h);
    h.stanza(&transport_info("s1", &[("c9", 40009)], true));
    assert_acked(&mut h);
    assert!(requests(&mut h).is_empty(), "no second INVITE");
}

// ------------------------------------------------------------------- JMI --

#[test]
fn retract_before_session_initiate_removes_the_call_and_sends_nothing() {
    let mut h = Harness::new();
    h.stanza(&propose("p1", CALLEE));
    assert!(find(&h.take_stanzas()[0], "proceed").is_some());
    assert_eq!(h.gw.active_calls(), 1);
    h.stanza(&jmi("retract", ALICE, CALLEE, "p1", Some("cancel")));
    assert_eq!(h.gw.active_calls(), 0);
    h.advance(Duration::from_secs(60));
    assert!(h.take_sip().is_empty(), "no INVITE ever");
    assert_eq!(
        call_events(&h),
        vec![CallEvent::Attempted(OUT), failed(OUT, 487)]
    );
}

#[test]
fn propose_without_session_initiate_expires_after_the_propose_timeout() {
    let mut h = Harness::new();
    h.stanza(&propose("p1", CALLEE));
    h.take_stanzas();
    h.advance(Duration::from_secs(29));
    assert_eq!(h.gw.active_calls(), 1);
    h.advance(Duration::from_secs(1));
    assert_eq!(h.gw.active_calls(), 0);
    assert!(h.take_sip().is_empty());
    assert_eq!(
        call_events(&h),
        vec![CallEvent::Attempted(OUT), failed(OUT, 408)]
    );
    // A late session-initiate is a new, direct call (the proposal is gone).
    h.stanza(&session_initiate("p1", CALLEE));
    assert_acked(&mut h);
}

#[test]
fn session_initiate_after_propose_is_one_call_with_one_attempt() {
    let mut h = Harness::new();
    h.stanza(&propose("p1", CALLEE));
    h.take_stanzas();
    h.stanza(&session_initiate("p1", CALLEE));
    assert_acked(&mut h);
    assert_eq!(h.gw.active_calls(), 1);
    // The propose timeout no longer applies.
    h.advance(Duration::from_millis(250));
    let (_, invite) = h.expect_request("INVITE");
    h.sip_from(trunk(), &respond(&invite, 180, "far", None));
    h.advance(Duration::from_secs(31));
    assert_eq!(h.gw.active_calls(), 1);
    assert_eq!(call_events(&h), vec![CallEvent::Attempted(OUT)]);
}

// ------------------------------------------- XEP-0166 actions and errors --

#[test]
fn session_info_ping_and_mute_are_acked_and_sip_is_untouched() {
    let mut h = Harness::new();
    outbound_answered(&mut h);
    for inner in [
        "",
        "<mute xmlns='urn:xmpp:jingle:apps:rtp:info:1' creator='initiator' name='0'/>",
        "<unmute xmlns='urn:xmpp:jingle:apps:rtp:info:1'/>",
    ] {
        h.stanza(&jingle(ALICE, CALLEE, "ping", "session-info", "s1", inner));
        assert_acked(&mut h);
        assert!(h.take_sip().is_empty(), "session-info {inner:?}");
    }
    assert_eq!(h.gw.active_calls(), 1);
}

#[test]
fn unsupported_actions_get_feature_not_implemented() {
    let mut h = Harness::new();
    outbound_answered(&mut h);
    let content = "<content creator='initiator' name='1'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'><payload-type id='96' name='VP8' clockrate='90000'/></description></content>";
    for action in ["description-info", "transport-replace", "nonsense-action"] {
        h.stanza(&jingle(ALICE, CALLEE, "x", action, "s1", content));
        let out = h.take_stanzas();
        assert_eq!(out.len(), 1, "{action}");
        assert_iq_error(&out[0], "feature-not-implemented", Some("unsupported-info"));
        assert!(h.take_sip().is_empty(), "{action}");
    }
    assert_eq!(h.gw.active_calls(), 1);
}

#[test]
fn session_accept_from_the_caller_is_out_of_order() {
    let mut h = Harness::new();
    outbound_invite(&mut h);
    h.stanza(&jingle(ALICE, CALLEE, "sa", "session-accept", "s1", ""));
    let out = h.take_stanzas();
    assert_iq_error(&out[0], "unexpected-request", Some("out-of-order"));
    // A second session-initiate for the same session too.
    h.stanza(&session_initiate("s1", CALLEE));
    let out = h.take_stanzas();
    assert_iq_error(&out[0], "unexpected-request", Some("out-of-order"));
    assert!(h.take_sip().is_empty());
    assert_eq!(h.gw.active_calls(), 1);
}

#[test]
fn jingle_from_another_device_of_the_same_user_is_unknown_session() {
    let mut h = Harness::new();
    outbound_answered(&mut h);
    let other = terminate(ALICE, CALLEE, "s1", "success").replace(ALICE, "alice@test/laptop");
    h.stanza(&other);
    let out = h.take_stanzas();
    assert_iq_error(&out[0], "item-not-found", Some("unknown-session"));
    assert!(h.take_sip().is_empty(), "no BYE for a stranger's terminate");
    assert_eq!(h.gw.active_calls(), 1);
}

#[test]
fn jingle_to_an_inbound_call_from_another_device_is_unknown_session() {
    let mut h = Harness::new();
    let (sid, _) = inbound_initiated(&mut h);
    h.stanza(&session_accept(&sid).replace(BOB, "bob@test/laptop"));
    let out = h.take_stanzas();
    assert_iq_error(&out[0], "item-not-found", Some("unknown-session"));
    assert!(h.statuses().is_empty(), "no 200 for the wrong device");
}

// ------------------------------------------------------ SIP edge cases --

fn out_of_dialog(method: &str, branch: &str, extra: &str) -> String {
    format!(
        "{method} sip:{DID}@127.0.0.1:5060 SIP/2.0\n\
Via: SIP/2.0/UDP 127.0.0.1:5080;branch={branch}\n\
Max-Forwards: 70\n\
From: <sip:+15557770000@127.0.0.1:5080>;tag=x1\n\
To: <sip:{DID}@127.0.0.1:5060>{extra}\n\
Call-ID: ood-{branch}@pbx\n\
CSeq: 1 {method}\n\
Content-Length: 0\n\n"
    )
}

#[test]
fn cancel_without_a_matching_transaction_gets_481() {
    let mut h = Harness::new();
    h.sip_from(trunk(), &out_of_dialog("CANCEL", "z9hG4bKnone", ""));
    assert_eq!(h.statuses(), vec![481]);
    assert!(h.take_stanzas().is_empty());
}

#[test]
fn cancel_after_the_acked_2xx_gets_481_and_changes_nothing() {
    let mut h = Harness::new();
    inbound_answered(&mut h);
    h.take_stanzas();
    let cancel = invite(DID, "in1@pbx", "z9hG4bKin1")
        .replacen("INVITE sip", "CANCEL sip", 1)
        .replace("CSeq: 1 INVITE", "CSeq: 1 CANCEL");
    h.sip_from(trunk(), &cancel);
    // The INVITE transaction ended with the ACK (RFC 3261 §9.2).
    assert_eq!(h.statuses(), vec![481]);
    assert!(h.take_stanzas().is_empty());
    assert_eq!(h.gw.active_calls(), 1);
}

#[test]
fn bye_for_an_unknown_dialog_gets_481() {
    let mut h = Harness::new();
    h.sip_from(trunk(), &out_of_dialog("BYE", "z9hG4bKb1", ";tag=nosuch"));
    assert_eq!(h.statuses(), vec![481]);
    h.sip_from(trunk(), &out_of_dialog("BYE", "z9hG4bKb2", ""));
    assert_eq!(h.statuses(), vec![481]);
    assert!(h.take_stanzas().is_empty());
}

#[test]
fn options_out_of_dialog_gets_200_with_allow() {
    let mut h = Harness::new();
    h.sip_from(trunk(), &out_of_dialog("OPTIONS", "z9hG4bKo1", ""));
    let rs = h.responses();
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].status, 200);
    let allow = rs[0].headers.get("Allow").expect("Allow");
    for m in ["INVITE", "ACK", "CANCEL", "BYE", "OPTIONS"] {
        assert!(allow.contains(m), "{allow}");
    }
}

#[test]
fn unknown_method_out_of_dialog_gets_405_with_allow() {
    let mut h = Harness::new();
    h.sip_from(trunk(), &out_of_dialog("SUBSCRIBE", "z9hG4bKs1", ""));
    let rs = h.responses();
    assert_eq!(rs[0].status, 405);
    assert!(rs[0].headers.get("Allow").is_some());
}

#[test]
fn reinvite_in_an_established_dialog_gets_200_with_the_same_sdp() {
    let mut h = Harness::new();
    let (_, to, sdp) = inbound_answered(&mut h);
    h.take_stanzas();
    h.sip_from(
        trunk(),
        &from_caller("INVITE", &to, 2, "z9hG4bKre1", Some(OFFER_SDP)),
    );
    let rs = h.responses();
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].status, 200);
    assert_eq!(rs[0].headers.get("To"), Some(to.as_str()));
    assert_eq!(String::from_utf8(rs[0].body.clone()).unwrap(), sdp);
    assert!(rs[0].headers.get("Contact").is_some());
    assert!(h.take_stanzas().is_empty(), "nothing to Jingle");
    // The ACK stops the 2xx retransmissions.
    h.advance(T1);
    assert_eq!(h.statuses(), vec![200]);
    h.sip_from(trunk(), &from_caller("ACK", &to, 2, "z9hG4bKreack", None));
    h.advance(T1 * 8);
    assert!(h.statuses().is_empty());
    assert_eq!(h.gw.active_calls(), 1);
    assert_eq!(
        call_events(&h),
        vec![CallEvent::Attempted(IN), answered(IN)],
        "the re-INVITE's ACK is not a second answer"
    );
}

#[test]
fn in_dialog_request_with_cseq_going_backwards_gets_500() {
    let mut h = Harness::new();
    let (_, to, _) = inbound_answered(&mut h);
    h.take_stanzas();
    h.sip_from(
        trunk(),
        &from_caller("OPTIONS", &to, 10, "z9hG4bKo10", None),
    );
    assert_eq!(h.statuses(), vec![200]);
    h.sip_from(trunk(), &from_caller("BYE", &to, 9, "z9hG4bKb9", None));
    assert_eq!(h.statuses(), vec![500]);
    assert!(h.take_stanzas().is_empty());
    assert_eq!(h.gw.active_calls(), 1, "the call goes on");
    h.sip_from(trunk(), &from_caller("BYE", &to, 11, "z9hG4bKb11", None));
    assert_eq!(h.statuses(), vec![200]);
    assert_eq!(h.gw.active_calls(), 0);
}

#[test]
fn invite_with_max_forwards_zero_gets_483() {
    let mut h = Harness::new();
    let inv = invite(DID, "mf@pbx", "z9hG4bKmf").replace("Max-Forwards: 70", "Max-Forwards: 0");
    h.sip_from(trunk(), &inv);
    assert_eq!(h.statuses(), vec![483]);
    assert!(h.take_stanzas().is_empty());
    assert_eq!(h.gw.active_calls(), 0);
}

#[test]
fn invite_without_sdp_gets_488_with_a_warning() {
    let mut h = Harness::new();
    let inv = invite(DID, "nosdp@pbx", "z9hG4bKns");
    let head = inv.split("Content-Type").next().unwrap();
    h.sip_from(trunk(), &format!("{head}Content-Length: 0\r\n\r\n"));
    let rs = h.responses();
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].status, 488);
    assert!(rs[0].headers.get("Warning").unwrap().starts_with("399 "));
    assert!(h.take_stanzas().is_empty());
    assert_eq!(call_events(&h), vec![failed(IN, 488)]);
}

/// An INVITE carrying `sdp` as its body.
fn invite_with_sdp(call_id: &str, branch: &str, sdp: &str) -> String {
    let inv = invite(DID, call_id, branch);
    let head = inv.split("Content-Length").next().unwrap();
    format!("{head}Content-Length: {}\r\n\r\n{sdp}", sdp.len())
}

#[test]
fn unusable_sdp_offers_get_400_or_488_per_the_translation_error() {
    // Not SDP at all: the requester's fault.
    let mut h = Harness::new();
    h.sip_from(
        trunk(),
        &invite_with_sdp("bad@pbx", "z9hG4bKbad", "v=0\r\nthis is not sdp\r\n"),
    );
    let rs = h.responses();
    assert_eq!(rs[0].status, 400);
    assert!(rs[0].headers.get("Warning").is_some());
    // Well-formed SDP without any media: nothing to offer.
    let no_media = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n";
    h.sip_from(
        trunk(),
        &invite_with_sdp("nomedia@pbx", "z9hG4bKnm", no_media),
    );
    let rs = h.responses();
    assert_eq!(rs[0].status, 488);
    assert!(rs[0].headers.get("Warning").is_some());
    assert!(h.take_stanzas().is_empty());
    assert_eq!(h.gw.active_calls(), 0);
}

#[test]
fn request_with_a_wrong_sip_version_gets_505() {
    let mut h = Harness::new();
    let inv = invite(DID, "v3@pbx", "z9hG4bKv3").replacen("SIP/2.0\r\n", "SIP/3.0\r\n", 1);
    h.sip_from(trunk(), &inv);
    assert_eq!(h.statuses(), vec![505]);
    assert!(h.take_stanzas().is_empty());
    assert_eq!(h.gw.active_calls(), 0);
}

// ---------------------------------------------------------------- metrics --

#[test]
fn metrics_outbound_answered_call() {
    let mut h = Harness::new();
    outbound_answered(&mut h);
    h.stanza(&terminate(ALICE, CALLEE, "s1", "success"));
    h.expect_request("BYE");
    // A late terminate for the ended session is unknown, not a second end.
    h.stanza(&terminate(ALICE, CALLEE, "s1", "success"));
    assert_eq!(
        call_events(&h),
        vec![
            CallEvent::Attempted(OUT),
            answered(OUT),
            CallEvent::Ended(OUT)
        ]
    );
}

#[test]
fn metrics_outbound_answered_call_ended_by_sip() {
    let mut h = Harness::new();
    let invite = outbound_answered(&mut h);
    let bye = format!(
        "BYE sip:stox@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKbyeM\n\
From: {};tag=far\nTo: {}\nCall-ID: {}\nCSeq: 5 BYE\nContent-Length: 0\n\n",
        invite.headers.get("To").unwrap(),
        invite.headers.get("From").unwrap(),
        invite.headers.get("Call-ID").unwrap()
    );
    h.sip_from(trunk(), &bye);
    h.sip_from(trunk(), &bye);
    assert_eq!(h.statuses(), vec![200, 200]);
    assert_eq!(
        call_events(&h),
        vec![
            CallEvent::Attempted(OUT),
            answered(OUT),
            CallEvent::Ended(OUT)
        ]
    );
}

#[test]
fn metrics_inbound_answered_call() {
    let mut h = Harness::new();
    let (sid, _, _) = inbound_answered(&mut h);
    h.stanza(&terminate(BOB, CALLER, &sid, "success"));
    h.expect_request("BYE");
    assert_eq!(
        call_events(&h),
        vec![CallEvent::Attempted(IN), answered(IN), CallEvent::Ended(IN)]
    );
}

#[test]
fn metrics_inbound_answered_only_once_the_ack_arrives() {
    let mut h = Harness::new();
    let (sid, _) = inbound_initiated(&mut h);
    h.stanza(&session_accept(&sid));
    assert_eq!(call_events(&h), vec![CallEvent::Attempted(IN)]);
}

#[test]
fn metrics_inbound_cancelled_and_timed_out() {
    let mut h = Harness::new();
    inbound_propose(&mut h);
    h.advance(Duration::from_secs(60));
    assert_eq!(
        call_events(&h),
        vec![CallEvent::Attempted(IN), failed(IN, 480)]
    );
    let mut h = Harness::new();
    inbound_propose(&mut h);
    let cancel = invite(DID, "in1@pbx", "z9hG4bKin1")
        .replacen("INVITE sip", "CANCEL sip", 1)
        .replace("CSeq: 1 INVITE", "CSeq: 1 CANCEL");
    let head = cancel.split("Content-Type").next().unwrap().to_string();
    h.sip_from(trunk(), &format!("{head}Content-Length: 0\r\n\r\n"));
    h.sip_from(trunk(), &format!("{head}Content-Length: 0\r\n\r\n"));
    assert_eq!(
        call_events(&h),
        vec![CallEvent::Attempted(IN), failed(IN, 487)]
    );
}

#[test]
fn metrics_refusals_before_a_call_exists_are_failures_without_attempts() {
    let mut h = Harness::new();
    h.sip_from(trunk(), &invite("+15550009999", "u1@pbx", "z9hG4bKu1"));
    assert_eq!(call_events(&h), vec![failed(IN, 404)]);
    let mut h = Harness::new();
    h.stanza(&propose("p1", CALLEE).replace("alice@test", "carol@test"));
    assert_eq!(call_events(&h), vec![failed(OUT, 403)]);
}

// ------------------------------------------------ trunk keep-alive --

fn ping_harness() -> Harness {
    let mut h = Harness::new();
    h.set_trunk_ping(Duration::from_secs(30));
    h
}

#[test]
fn trunks_are_pinged_with_options_and_their_state_reported() {
    let mut h = ping_harness();
    h.advance(Duration::from_secs(29));
    assert!(h.take_sip().is_empty());
    h.advance(Duration::from_secs(1));
    let (peer, options) = h.expect_request("OPTIONS");
    assert_eq!(peer, trunk());
    assert_eq!(options.uri, "sip:127.0.0.1:5080");
    h.sip_from(trunk(), &respond(&options, 200, "t", None));
    let states: Vec<_> = h
        .events
        .iter()
        .filter_map(|e| match e {
            CallEvent::TrunkState { trunk, up } => Some((trunk.clone(), *up)),
            _ => None,
        })
        .collect();
    assert_eq!(states, vec![("pbx".to_string(), true)]);
    // Next ping unanswered: retransmitted on Timer E, down on Timer F.
    h.events.clear();
    h.advance(Duration::from_secs(30));
    h.expect_request("OPTIONS");
    h.advance(T1 * 64);
    let downs = h
        .events
        .iter()
        .filter(|e| matches!(e, CallEvent::TrunkState { up: false, .. }))
        .count();
    assert_eq!(downs, 1);
    // Pings go on while the trunk is down; a 404 still proves it answers.
    h.take_sip();
    h.advance(Duration::from_secs(30));
    let sent: Vec<stox::sip::Request> = h
        .take_sip()
        .into_iter()
        .filter_map(|(_, m)| match m {
            stox::sip::SipMessage::Request(r) if r.method.as_str() == "OPTIONS" => Some(r),
            _ => None,
        })
        .collect();
    assert!(!sent.is_empty(), "pings continue while the trunk is down");
    for options in &sent {
        h.sip_from(trunk(), &respond(options, 404, "t", None));
    }
    assert!(
        h.events
            .iter()
            .any(|e| matches!(e, CallEvent::TrunkState { up: true, .. }))
    );
}

// ------------------------------------------------ digest auth toward trunks --

fn auth_harness() -> Harness {
    let config = CONFIG.replace(
        "uri = \"sip:127.0.0.1:5080\"",
        "uri = \"sip:127.0.0.1:5080\"\nusername = \"stox\"\npassword = \"s3cret\"\nrealm = \"pbx.test\"",
    );
    Harness::with_config(&config, trunk())
}

fn challenge(
    req: &stox::sip::Request,
    status: u16,
    header: &str,
    nonce: &str,
    extra: &str,
) -> String {
    respond(req, status, "far", None).replacen(
        "Contact:",
        &format!("{header}: Digest realm=\"pbx.test\", nonce=\"{nonce}\", algorithm=MD5, qop=\"auth\"{extra}\r\nContact:"),
        1,
    )
}

#[test]
fn a_407_is_answered_with_proxy_authorization_and_the_call_goes_on() {
    let mut h = auth_harness();
    let first = outbound_invite(&mut h);
    h.sip_from(
        trunk(),
        &challenge(&first, 407, "Proxy-Authenticate", "n1", ""),
    );
    let sent = h.take_sip();
    let requests: Vec<&stox::sip::Request> = sent
        .iter()
        .filter_map(|(_, m)| match m {
            stox::sip::SipMessage::Request(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(
        requests
            .iter()
            .map(|r| r.method.as_str())
            .collect::<Vec<_>>(),
        vec!["ACK", "INVITE"]
    );
    let second = requests[1];
    assert_eq!(second.headers.get("CSeq"), Some("2 INVITE"));
    assert_eq!(second.headers.get("Call-ID"), first.headers.get("Call-ID"));
    assert_eq!(second.headers.get("From"), first.headers.get("From"));
    assert_ne!(
        second.headers.get("Via"),
        first.headers.get("Via"),
        "a new transaction"
    );
    let value = second
        .headers
        .get("Proxy-Authorization")
        .expect("credentials sent");
    let user = stox::sip::digest::verify(
        value,
        "INVITE",
        |u, r| (u == "stox" && r == "pbx.test").then(|| "s3cret".to_string()),
        "pbx.test",
        |n| n == "n1",
    )
    .expect("the proxy would accept these credentials");
    assert_eq!(user, "stox");
    assert!(
        h.take_stanzas().is_empty(),
        "the user sees nothing of the challenge"
    );
    h.sip_from(trunk(), &respond(second, 200, "far", Some(ANSWER_SDP)));
    h.expect_request("ACK");
    only_action(&mut h, "session-accept");
}

#[test]
fn wrong_credentials_end_the_call_after_one_retry_but_a_stale_nonce_is_retried() {
    let mut h = auth_harness();
    let first = outbound_invite(&mut h);
    h.sip_from(
        trunk(),
        &challenge(&first, 401, "WWW-Authenticate", "n1", ""),
    );
    let (_, second) = h
        .take_sip()
        .into_iter()
        .filter_map(|(p, m)| match m {
            stox::sip::SipMessage::Request(r) if r.method.as_str() == "INVITE" => Some((p, r)),
            _ => None,
        })
        .next()
        .unwrap();
    assert!(second.headers.get("Authorization").is_some());
    // The nonce went stale: one more try is allowed.
    h.sip_from(
        trunk(),
        &challenge(&second, 401, "WWW-Authenticate", "n2", ", stale=true"),
    );
    let (_, third) = h
        .take_sip()
        .into_iter()
        .filter_map(|(p, m)| match m {
            stox::sip::SipMessage::Request(r) if r.method.as_str() == "INVITE" => Some((p, r)),
            _ => None,
        })
        .next()
        .expect("stale nonce: retried");
    assert_eq!(third.headers.get("CSeq"), Some("3 INVITE"));
    assert!(
        third
            .headers
            .get("Authorization")
            .unwrap()
            .contains("nonce=\"n2\"")
    );
    // Refused again without stale: the password is wrong.
    h.sip_from(
        trunk(),
        &challenge(&third, 401, "WWW-Authenticate", "n3", ""),
    );
    let out = h.take_stanzas();
    assert_eq!(jingle_action(&out[0]).as_deref(), Some("session-terminate"));
    assert_eq!(h.gw.active_calls(), 0);
}

#[test]
fn a_challenge_without_trunk_credentials_fails_the_call() {
    let mut h = Harness::new();
    let first = outbound_invite(&mut h);
    h.sip_from(
        trunk(),
        &challenge(&first, 407, "Proxy-Authenticate", "n1", ""),
    );
    let sent = h.take_sip();
    assert!(sent.iter().all(
        |(_, m)| !matches!(m, stox::sip::SipMessage::Request(r) if r.method.as_str() == "INVITE")
    ));
    let out = h.take_stanzas();
    assert_eq!(jingle_action(&out[0]).as_deref(), Some("session-terminate"));
    assert_eq!(h.gw.active_calls(), 0);
}

// ------------------------------------------------ REGISTER to trunks --

fn register_harness() -> Harness {
    let config = CONFIG.replace(
        "uri = \"sip:127.0.0.1:5080\"",
        "uri = \"sip:127.0.0.1:5080\"\nusername = \"stox\"\npassword = \"s3cret\"\nregister = true\nregister_expires = 600",
    );
    Harness::with_config(&config, trunk())
}

fn registrations(h: &Harness) -> Vec<bool> {
    h.events
        .iter()
        .filter_map(|e| match e {
            CallEvent::Registration { registered, .. } => Some(*registered),
            _ => None,
        })
        .collect()
}

#[test]
fn registers_answers_the_challenge_and_refreshes_before_expiry() {
    let mut h = register_harness();
    h.advance(Duration::ZERO);
    let (peer, first) = h.expect_request("REGISTER");
    assert_eq!(peer, trunk());
    assert_eq!(first.uri, "sip:127.0.0.1:5080");
    assert_eq!(first.headers.get("To"), Some("<sip:stox@127.0.0.1>"));
    assert_eq!(first.headers.get("Expires"), Some("600"));
    assert!(
        first
            .headers
            .get("Contact")
            .unwrap()
            .starts_with("<sip:stox@127.0.0.1:5060")
    );
    h.sip_from(
        trunk(),
        &challenge(&first, 401, "WWW-Authenticate", "r1", ""),
    );
    let (_, second) = h.expect_request("REGISTER");
    assert_eq!(second.headers.get("CSeq"), Some("2 REGISTER"));
    assert_eq!(second.headers.get("Call-ID"), first.headers.get("Call-ID"));
    let value = second.headers.get("Authorization").unwrap();
    stox::sip::digest::verify(
        value,
        "REGISTER",
        |u, _| (u == "stox").then(|| "s3cret".to_string()),
        "pbx.test",
        |n| n == "r1",
    )
    .expect("the registrar accepts these credentials");
    let ok = respond(&second, 200, "reg", None).replacen(
        "Contact: <sip:far@127.0.0.1:5080>",
        &format!(
            "Contact: {};expires=120",
            second.headers.get("Contact").unwrap()
        ),
        1,
    );
    h.sip_from(trunk(), &ok);
    assert_eq!(registrations(&h), vec![true]);
    // Granted 120 s: refreshed after 60 s, not before.
    h.advance(Duration::from_secs(59));
    assert!(h.take_sip().is_empty());
    h.advance(Duration::from_secs(1));
    let (_, refresh) = h.expect_request("REGISTER");
    assert_eq!(refresh.headers.get("CSeq"), Some("3 REGISTER"));
    assert_eq!(refresh.headers.get("Call-ID"), first.headers.get("Call-ID"));
}

#[test]
fn a_refused_registration_backs_off_exponentially() {
    let mut h = register_harness();
    h.advance(Duration::ZERO);
    let (_, first) = h.expect_request("REGISTER");
    h.sip_from(trunk(), &respond(&first, 403, "reg", None));
    assert_eq!(registrations(&h), vec![false]);
    h.advance(Duration::from_secs(29));
    assert!(h.take_sip().is_empty());
    h.advance(Duration::from_secs(1));
    let (_, second) = h.expect_request("REGISTER");
    h.sip_from(trunk(), &respond(&second, 503, "reg", None));
    h.advance(Duration::from_secs(59));
    assert!(h.take_sip().is_empty(), "second failure waits 60 s");
    h.advance(Duration::from_secs(1));
    h.expect_request("REGISTER");
}

#[test]
fn wrong_registration_credentials_are_not_retried_in_a_loop() {
    let mut h = register_harness();
    h.advance(Duration::ZERO);
    let (_, first) = h.expect_request("REGISTER");
    h.sip_from(
        trunk(),
        &challenge(&first, 401, "WWW-Authenticate", "r1", ""),
    );
    let (_, second) = h.expect_request("REGISTER");
    h.sip_from(
        trunk(),
        &challenge(&second, 401, "WWW-Authenticate", "r2", ""),
    );
    assert!(
        h.take_sip()
            .iter()
            .all(|(_, m)| !matches!(m, stox::sip::SipMessage::Request(_))),
        "no third REGISTER at once"
    );
    assert_eq!(registrations(&h), vec![false]);
}

#[test]
fn a_trunk_allow_from_range_admits_inbound_calls_from_its_other_addresses() {
    let config = CONFIG.replace(
        "uri = \"sip:127.0.0.1:5080\"",
        "uri = \"sip:127.0.0.1:5080\"\nallow_from = [\"198.51.100.0/24\"]",
    );
    let mut h = Harness::with_config(&config, trunk());
    let carrier_edge = stox::sip::peer::Peer {
        transport: stox::sip::peer::Transport::Udp,
        addr: "198.51.100.20:5060".parse().unwrap(),
    };
    h.sip_from(carrier_edge, &invite(DID, "edge@carrier", "z9hG4bKedge"));
    assert_eq!(h.statuses(), vec![100], "a listed range is the trunk");
    let outsider = stox::sip::peer::Peer {
        transport: stox::sip::peer::Transport::Udp,
        addr: "198.51.101.20:5060".parse().unwrap(),
    };
    h.sip_from(outsider, &invite(DID, "out@x", "z9hG4bKout"));
    assert_eq!(
        h.statuses(),
        vec![403],
        "one address outside the range is not"
    );
}

mod sip_ext;
