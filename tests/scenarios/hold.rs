//! Hold, resume, mute and content-modify (`call::hold`): XEP-0167 session-info
//! and XEP-0166 content-modify ⇄ re-INVITE / UPDATE directions, both ways,
//! with glare (491) and out-of-order requests.

use super::harness::*;
use std::time::Duration;
use stox::call::{Call, Input};
use stox::media::anchor::{AnchorOp, AnchorReply, MediaLeg};
use stox::sip::{Request, SipMessage};

const CALLEE: &str = "+15551230001@sip.test/stox";
const CALLER: &str = "+15557770000@sip.test/stox";
const ALICE: &str = "alice@test/phone";
const BOB: &str = "bob@test/phone";
const DID: &str = "+15550001000";
const RTP_INFO: &str = "urn:xmpp:jingle:apps:rtp:info:1";

// ---------------------------------------------------------------- helpers --

fn jingle(from: &str, to: &str, id: &str, action: &str, sid: &str, inner: &str) -> String {
    format!(
        "<iq from='{from}' to='{to}' type='set' id='{id}'>\
<jingle xmlns='urn:xmpp:jingle:1' action='{action}' sid='{sid}'>{inner}</jingle></iq>"
    )
}

/// session-info with one XEP-0167 payload from alice (outbound call s1).
fn alice_info(payload: &str) -> String {
    jingle(
        ALICE,
        CALLEE,
        &format!("i-{payload}"),
        "session-info",
        "s1",
        &format!("<{payload} xmlns='{RTP_INFO}'/>"),
    )
}

fn content_modify(from: &str, to: &str, sid: &str, name: &str, senders: &str) -> String {
    jingle(
        from,
        to,
        "cm",
        "content-modify",
        sid,
        &format!("<content creator='initiator' name='{name}' senders='{senders}'/>"),
    )
}

fn body(r: &Request) -> String {
    String::from_utf8(r.body.clone()).unwrap()
}

/// The a= direction lines of an SDP, in order.
fn directions(sdp: &str) -> Vec<&str> {
    sdp.lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| {
            matches!(
                *l,
                "a=sendrecv" | "a=sendonly" | "a=recvonly" | "a=inactive"
            )
        })
        .collect()
}

/// The o= version of an SDP.
fn version(sdp: &str) -> u64 {
    let o = sdp.lines().find(|l| l.starts_with("o=")).expect("o= line");
    o.split(' ').nth(2).unwrap().parse().unwrap()
}

/// The one stanza sent since the last take, which must be an IQ result.
fn acked(h: &mut Harness) {
    let out = h.take_stanzas();
    assert_eq!(out.len(), 1, "one reply: {out:?}");
    assert_eq!(
        out[0].attr("type"),
        Some("result"),
        "{}",
        String::from(&out[0])
    );
}

fn iq_error(h: &mut Harness, condition: &str, jingle_condition: &str) {
    let out = h.take_stanzas();
    assert_eq!(out.len(), 1);
    let iq = &out[0];
    assert_eq!(iq.attr("type"), Some("error"), "{}", String::from(iq));
    assert!(find(iq, condition).is_some(), "{}", String::from(iq));
    assert!(find(iq, jingle_condition).is_some(), "{}", String::from(iq));
}

/// The session-info payload names sent to the XMPP user since the last take.
fn infos(h: &mut Harness) -> Vec<String> {
    h.take_stanzas()
        .iter()
        .filter(|s| jingle_action(s).as_deref() == Some("session-info"))
        .flat_map(|s| {
            find(s, "jingle")
                .unwrap()
                .children()
                .filter(|c| c.ns() == RTP_INFO)
                .map(|c| c.name().to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn requests(h: &mut Harness) -> Vec<Request> {
    h.take_sip()
        .into_iter()
        .filter_map(|(_, m)| match m {
            SipMessage::Request(r) => Some(r),
            _ => None,
        })
        .collect()
}

/// Alice calls the gateway user; the far end answers with `answer`.
fn outbound_answered_with(h: &mut Harness, answer: &str) -> Request {
    h.stanza(&session_initiate("s1", CALLEE));
    acked(h);
    h.advance(Duration::from_millis(250));
    let (_, invite) = h.expect_request("INVITE");
    h.sip_from(trunk(), &respond(&invite, 200, "far", Some(answer)));
    h.expect_request("ACK");
    h.take_stanzas();
    invite
}

fn outbound_answered(h: &mut Harness) -> Request {
    outbound_answered_with(h, ANSWER_SDP)
}

/// An answer to a re-INVITE of ours with `direction` in place of sendrecv.
fn answer_with(direction: &str) -> String {
    ANSWER_SDP.replace("a=sendrecv", direction)
}

/// An inbound call answered by bob and ACKed; returns (sid, the 200's To).
fn inbound_answered(h: &mut Harness) -> (String, String) {
    h.sip_from(trunk(), &invite(DID, "in1@pbx", "z9hG4bKin1"));
    h.take_sip();
    let out = h.take_stanzas();
    let sid = find(&out[0], "propose")
        .and_then(|p| p.attr("id"))
        .unwrap()
        .to_string();
    h.stanza(&format!(
        "<message from='{BOB}' to='{CALLER}' type='chat' id='p'><proceed xmlns='urn:xmpp:jingle-message:0' id='{sid}'/></message>"
    ));
    h.take_stanzas();
    h.stanza(&jingle(
        BOB,
        CALLER,
        "sa",
        "session-accept",
        &sid,
        "<content creator='initiator' name='0'>\
<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='0' name='PCMU' clockrate='8000'/></description>\
<transport xmlns='urn:xmpp:jingle:transports:raw-udp:1'><candidate component='1' generation='0' id='r1' ip='127.0.0.1' port='41000'/></transport>\
</content>",
    ));
    acked(h);
    let rs = h.responses();
    assert_eq!(rs[0].status, 200);
    let to = rs[0].headers.get("To").unwrap().to_string();
    h.sip_from(trunk(), &from_caller("ACK", &to, 1, "z9hG4bKack1", None));
    (sid, to)
}

/// An in-dialog request from the SIP caller of the inbound call.
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

/// A request from the far end of the outbound call (tag `far`).
fn from_far(h: &Harness, method: &str, cseq: u32, branch: &str, sdp: Option<&str>) -> String {
    let call = h.gw.calls().next().unwrap();
    let (tag, cid) = (call.sip.local_tag.clone(), call.sip.call_id.clone());
    let body = sdp.unwrap_or("");
    let ctype = if sdp.is_some() {
        "Content-Type: application/sdp\r\n"
    } else {
        ""
    };
    format!(
        "{method} sip:stox@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch={branch}\r\n\
Max-Forwards: 70\r\nFrom: <sip:+15551230001@127.0.0.1:5080>;tag=far\r\nTo: <sip:alice@test>;tag={tag}\r\n\
Call-ID: {cid}\r\nCSeq: {cseq} {method}\r\nContact: <sip:far@127.0.0.1:5080>\r\n{ctype}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// The one response sent since the last take.
fn one_response(h: &mut Harness) -> stox::sip::Response {
    let mut rs = h.responses();
    assert_eq!(rs.len(), 1, "{rs:?}");
    rs.remove(0)
}

// ------------------------------------------------------ XMPP → SIP hold --

#[test]
fn xmpp_hold_sends_every_stream_sendonly_and_active_restores_sendrecv() {
    let mut h = Harness::new();
    let invite = outbound_answered(&mut h);
    let first = body(&invite);
    assert_eq!(directions(&first), vec!["a=sendrecv"]);
    h.stanza(&alice_info("hold"));
    acked(&mut h);
    let (peer, hold) = h.expect_request("INVITE");
    assert_eq!(peer, trunk());
    assert_eq!(hold.uri, "sip:far@127.0.0.1:5080", "to the remote target");
    assert!(hold.headers.get("To").unwrap().contains("tag=far"));
    assert_eq!(hold.headers.get("CSeq"), Some("2 INVITE"));
    assert_eq!(hold.headers.get("Content-Type"), Some("application/sdp"));
    let offer = body(&hold);
    assert_eq!(directions(&offer), vec!["a=sendonly"]);
    assert_eq!(version(&offer), version(&first) + 1, "RFC 3264 §8");
    // Only the direction and the version changed.
    let strip = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with("o=") && directions(l).is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&offer), strip(&first));
    h.sip_from(
        trunk(),
        &respond(&hold, 200, "far", Some(&answer_with("a=recvonly"))),
    );
    let (_, ack) = h.expect_request("ACK");
    assert_eq!(ack.headers.get("CSeq"), Some("2 ACK"));
    assert!(h.take_stanzas().is_empty(), "nothing more to the user");
    // <active/> ends the hold.
    h.stanza(&alice_info("active"));
    acked(&mut h);
    let (_, resume) = h.expect_request("INVITE");
    assert_eq!(resume.headers.get("CSeq"), Some("3 INVITE"));
    let offer2 = body(&resume);
    assert_eq!(directions(&offer2), vec!["a=sendrecv"]);
    assert_eq!(version(&offer2), version(&offer) + 1);
    h.sip_from(trunk(), &respond(&resume, 200, "far", Some(ANSWER_SDP)));
    h.expect_request("ACK");
    assert_eq!(h.gw.active_calls(), 1);
}

#[test]
fn unhold_and_a_second_hold_are_mapped_and_a_repeated_hold_sends_nothing() {
    let mut h = Harness::new();
    outbound_answered(&mut h);
    h.stanza(&alice_info("hold"));
    acked(&mut h);
    let (_, hold) = h.expect_request("INVITE");
    h.sip_from(trunk(), &respond(&hold, 200, "far", Some(ANSWER_SDP)));
    h.expect_request("ACK");
    h.stanza(&alice_info("hold"));
    acked(&mut h);
    assert!(requests(&mut h).is_empty(), "already held: no re-INVITE");
    h.stanza(&alice_info("unhold"));
    acked(&mut h);
    let (_, unhold) = h.expect_request("INVITE");
    assert_eq!(directions(&body(&unhold)), vec!["a=sendrecv"]);
}

#[test]
fn mute_and_unmute_are_acked_and_nothing_goes_to_sip() {
    let mut h = Harness::new();
    outbound_answered(&mut h);
    for p in ["mute", "unmute"] {
        h.stanza(&alice_info(p));
        acked(&mut h);
        assert!(h.take_sip().is_empty(), "{p}");
    }
}

#[test]
fn content_modify_maps_senders_from_the_users_role() {
    // Outbound: alice is the initiator; senders='initiator' = she only sends.
    let mut h = Harness::new();
    outbound_answered(&mut h);
    h.stanza(&content_modify(ALICE, CALLEE, "s1", "0", "initiator"));
    acked(&mut h);
    let (_, r) = h.expect_request("INVITE");
    assert_eq!(directions(&body(&r)), vec!["a=sendonly"]);
    h.sip_from(trunk(), &respond(&r, 200, "far", Some(ANSWER_SDP)));
    h.expect_request("ACK");
    h.stanza(&content_modify(ALICE, CALLEE, "s1", "0", "responder"));
    acked(&mut h);
    let (_, r) = h.expect_request("INVITE");
    assert_eq!(directions(&body(&r)), vec!["a=recvonly"]);
    h.sip_from(trunk(), &respond(&r, 200, "far", Some(ANSWER_SDP)));
    h.expect_request("ACK");
    h.stanza(&content_modify(ALICE, CALLEE, "s1", "0", "none"));
    acked(&mut h);
    let (_, r) = h.expect_request("INVITE");
    assert_eq!(directions(&body(&r)), vec!["a=inactive"]);

    // Inbound: bob is the responder; senders='initiator' = only the SIP
    // caller sends, so our SDP (written for bob) says recvonly.
    let mut h = Harness::new();
    let (sid, _) = inbound_answered(&mut h);
    h.stanza(&content_modify(BOB, CALLER, &sid, "0", "initiator"));
    acked(&mut h);
    let (_, r) = h.expect_request("INVITE");
    assert_eq!(directions(&body(&r)), vec!["a=recvonly"]);
    assert!(r.headers.get("To").unwrap().contains("tag=caller1"));
}

#[test]
fn content_modify_changes_the_named_stream_and_an_unknown_name_is_item_not_found() {
    let mut h = Harness::new();
    // Alice offers audio (content 0) and video (content 1).
    let video = "<content creator='initiator' name='1' senders='both'>\
<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'><payload-type id='96' name='VP8' clockrate='90000'/></description>\
<transport xmlns='urn:xmpp:jingle:transports:raw-udp:1'><candidate component='1' generation='0' id='v1' ip='127.0.0.1' port='40010'/></transport></content>";
    let si = session_initiate("s1", CALLEE).replace(
        "</content></jingle>",
        &format!("</content>{video}</jingle>"),
    );
    h.stanza(&si);
    acked(&mut h);
    h.advance(Duration::from_millis(250));
    let (_, invite) = h.expect_request("INVITE");
    assert_eq!(body(&invite).matches("m=").count(), 2);
    let answer =
        format!("{ANSWER_SDP}m=video 40002 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\na=sendrecv\r\n");
    h.sip_from(trunk(), &respond(&invite, 200, "far", Some(&answer)));
    h.expect_request("ACK");
    h.take_stanzas();
    h.stanza(&content_modify(ALICE, CALLEE, "s1", "nosuch", "initiator"));
    let out = h.take_stanzas();
    assert_eq!(out[0].attr("type"), Some("error"));
    assert!(find(&out[0], "item-not-found").is_some());
    assert!(requests(&mut h).is_empty());
    h.stanza(&content_modify(ALICE, CALLEE, "s1", "1", "initiator"));
    acked(&mut h);
    let (_, r) = h.expect_request("INVITE");
    assert_eq!(directions(&body(&r)), vec!["a=sendrecv", "a=sendonly"]);
    // A hold now holds every stream (checklist 9).
    h.sip_from(trunk(), &respond(&r, 200, "far", Some(&answer)));
    h.expect_request("ACK");
    h.stanza(&alice_info("hold"));
    acked(&mut h);
    let (_, r) = h.expect_request("INVITE");
    assert_eq!(directions(&body(&r)), vec!["a=sendonly", "a=sendonly"]);
}

#[test]
fn content_modify_with_an_unknown_name_maps_to_the_only_live_stream() {
    let mut h = Harness::new();
    let two = format!("{ANSWER_SDP}m=video 40002 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n");
    outbound_answered(&mut h);
    // Make the session two streams through a peer re-offer adding video:
    // declined (port 0), so there is still only one live stream and any
    // name maps to it.
    h.sip_from(trunk(), &from_far(&h, "INVITE", 7, "z9hG4bKv", Some(&two)));
    let r = one_response(&mut h);
    assert_eq!(r.status, 200);
    h.stanza(&content_modify(ALICE, CALLEE, "s1", "nosuch", "initiator"));
    acked(&mut h);
    let (_, r) = h.expect_request("INVITE");
    assert_eq!(directions(&body(&r)), vec!["a=sendonly"]);
}

#[test]
fn hold_or_content_modify_before_the_answer_is_out_of_order() {
    let mut h = Harness::new();
    h.stanza(&session_initiate("s1", CALLEE));
    acked(&mut h);
    h.advance(Duration::from_millis(250));
    h.expect_request("INVITE");
    h.stanza(&alice_info("hold"));
    iq_error(&mut h, "unexpected-request", "out-of-order");
    h.stanza(&content_modify(ALICE, CALLEE, "s1", "0", "initiator"));
    iq_error(&mut h, "unexpected-request", "out-of-order");
    assert!(requests(&mut h).is_empty());
    // Mute is media-local: fine at any time.
    h.stanza(&alice_info("mute"));
    acked(&mut h);
    assert_eq!(h.gw.active_calls(), 1);
}

#[test]
fn changes_while_a_reinvite_is_pending_are_coalesced() {
    let mut h = Harness::new();
    outbound_answered(&mut h);
    h.stanza(&alice_info("hold"));
    acked(&mut h);
    let (_, hold) = h.expect_request("INVITE");
    // Unhold then hold again while it is pending: back where it goes.
    for p in ["unhold", "hold"] {
        h.stanza(&alice_info(p));
        acked(&mut h);
    }
    assert!(requests(&mut h).is_empty(), "one re-INVITE at a time");
    h.sip_from(trunk(), &respond(&hold, 200, "far", Some(ANSWER_SDP)));
    let sent = requests(&mut h);
    assert_eq!(
        sent.iter().map(|r| r.method.as_str()).collect::<Vec<_>>(),
        vec!["ACK"],
        "the latest wanted state is the one just reached"
    );
    // An unhold while the next one is pending is sent after it.
    h.stanza(&alice_info("unhold"));
    acked(&mut h);
    let (_, unhold) = h.expect_request("INVITE");
    h.stanza(&alice_info("hold"));
    acked(&mut h);
    h.stanza(&content_modify(ALICE, CALLEE, "s1", "0", "none"));
    acked(&mut h);
    assert!(requests(&mut h).is_empty());
    h.sip_from(trunk(), &respond(&unhold, 200, "far", Some(ANSWER_SDP)));
    let sent = requests(&mut h);
    assert_eq!(sent.len(), 2, "the ACK, then the coalesced change");
    assert_eq!(sent[0].method.as_str(), "ACK");
    assert_eq!(sent[1].method.as_str(), "INVITE");
    assert_eq!(directions(&body(&sent[1])), vec!["a=inactive"]);
    assert_eq!(sent[1].headers.get("CSeq"), Some("4 INVITE"));
}

#[test]
fn a_refused_hold_leaves_the_call_as_it_was() {
    let mut h = Harness::new();
    outbound_answered(&mut h);
    h.stanza(&alice_info("hold"));
    acked(&mut h);
    let (_, hold) = h.expect_request("INVITE");
    h.sip_from(trunk(), &respond(&hold, 488, "far", None));
    // The transaction ACKs the 488; nothing else happens.
    let sent = requests(&mut h);
    assert_eq!(
        sent.iter().map(|r| r.method.as_str()).collect::<Vec<_>>(),
        vec!["ACK"]
    );
    assert!(h.take_stanzas().is_empty());
    assert_eq!(h.gw.active_calls(), 1);
    // The session is still sendrecv: a peer re-INVITE without offer gets it.
    h.sip_from(trunk(), &from_far(&h, "INVITE", 9, "z9hG4bKno", None));
    let r = one_response(&mut h);
    assert_eq!(r.status, 200);
    // Our offer in the 200 carries what the user wants now (held).
    assert_eq!(directions(&body_of(&r)), vec!["a=sendonly"]);
}

fn body_of(r: &stox::sip::Response) -> String {
    String::from_utf8(r.body.clone()).unwrap()
}

#[test]
fn an_unanswered_hold_reinvite_ends_the_call() {
    let mut h = Harness::new();
    outbound_answered(&mut h);
    h.stanza(&alice_info("hold"));
    acked(&mut h);
    h.expect_request("INVITE");
    h.advance(T1 * 65);
    let t = h
        .take_stanzas()
        .into_iter()
        .find(|s| jingle_action(s).as_deref() == Some("session-terminate"))
        .expect("session-terminate");
    assert_eq!(reason(&t).as_deref(), Some("connectivity-error"));
    assert_eq!(h.gw.active_calls(), 0);
}

// ------------------------------------------------------ SIP → XMPP hold --

#[test]
fn sip_hold_is_told_to_the_user_and_answered_with_the_mirrored_direction() {
    let mut h = Harness::new();
    let (_, to) = inbound_answered(&mut h);
    h.take_stanzas();
    let held = OFFER_SDP.replace("a=sendrecv", "a=sendonly");
    h.sip_from(
        trunk(),
        &from_caller("INVITE", &to, 2, "z9hG4bKh1", Some(&held)),
    );
    let r = one_response(&mut h);
    assert_eq!(r.status, 200);
    let answer = body_of(&r);
    assert_eq!(directions(&answer), vec!["a=recvonly"], "RFC 3264 §6.1");
    assert_eq!(infos(&mut h), vec!["hold"]);
    h.sip_from(trunk(), &from_caller("ACK", &to, 2, "z9hG4bKh1a", None));
    // The same hold again (a refresh): no second <hold/>, the same answer.
    h.sip_from(
        trunk(),
        &from_caller("INVITE", &to, 3, "z9hG4bKh2", Some(&held)),
    );
    let again = one_response(&mut h);
    assert_eq!(body_of(&again), answer, "unchanged, same version");
    assert!(infos(&mut h).is_empty());
    h.sip_from(trunk(), &from_caller("ACK", &to, 3, "z9hG4bKh2a", None));
    // Inactive: still a hold for the user; the answer is inactive.
    let inactive = OFFER_SDP.replace("a=sendrecv", "a=inactive");
    h.sip_from(
        trunk(),
        &from_caller("INVITE", &to, 4, "z9hG4bKh3", Some(&inactive)),
    );
    let r = one_response(&mut h);
    assert_eq!(directions(&body_of(&r)), vec!["a=inactive"]);
    assert_eq!(version(&body_of(&r)), version(&answer) + 1);
    assert!(infos(&mut h).is_empty());
    h.sip_from(trunk(), &from_caller("ACK", &to, 4, "z9hG4bKh3a", None));
    // Back to sendrecv: <active/>.
    h.sip_from(
        trunk(),
        &from_caller("INVITE", &to, 5, "z9hG4bKh4", Some(OFFER_SDP)),
    );
    let r = one_response(&mut h);
    assert_eq!(directions(&body_of(&r)), vec!["a=sendrecv"]);
    assert_eq!(infos(&mut h), vec!["active"]);
    let stanza_to = h.gw.calls().next().unwrap().xmpp.user.clone();
    assert_eq!(stanza_to, BOB);
}

#[test]
fn recvonly_offer_is_answered_sendonly_and_is_no_hold() {
    let mut h = Harness::new();
    let (_, to) = inbound_answered(&mut h);
    h.take_stanzas();
    let recvonly = OFFER_SDP.replace("a=sendrecv", "a=recvonly");
    h.sip_from(
        trunk(),
        &from_caller("INVITE", &to, 2, "z9hG4bKr1", Some(&recvonly)),
    );
    let r = one_response(&mut h);
    assert_eq!(directions(&body_of(&r)), vec!["a=sendonly"]);
    assert!(infos(&mut h).is_empty());
}

#[test]
fn an_update_with_an_rfc_2543_hold_offer_is_a_hold_too() {
    let mut h = Harness::new();
    let (_, to) = inbound_answered(&mut h);
    h.take_stanzas();
    let old = OFFER_SDP.replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0");
    h.sip_from(
        trunk(),
        &from_caller("UPDATE", &to, 2, "z9hG4bKu1", Some(&old)),
    );
    let r = one_response(&mut h);
    assert_eq!(r.status, 200);
    assert_eq!(directions(&body_of(&r)), vec!["a=recvonly"]);
    assert_eq!(infos(&mut h), vec!["hold"]);
    // A body-less UPDATE (a refresh) changes nothing and has no answer.
    h.sip_from(trunk(), &from_caller("UPDATE", &to, 3, "z9hG4bKu2", None));
    let r = one_response(&mut h);
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert!(infos(&mut h).is_empty());
}

#[test]
fn mutual_hold_is_inactive_and_resuming_while_held_is_recvonly() {
    let mut h = Harness::new();
    let (sid, to) = inbound_answered(&mut h);
    h.take_stanzas();
    let held = OFFER_SDP.replace("a=sendrecv", "a=sendonly");
    h.sip_from(
        trunk(),
        &from_caller("INVITE", &to, 2, "z9hG4bKm1", Some(&held)),
    );
    one_response(&mut h);
    h.sip_from(trunk(), &from_caller("ACK", &to, 2, "z9hG4bKm1a", None));
    assert_eq!(infos(&mut h), vec!["hold"]);
    let bob_info = |p: &str| {
        jingle(
            BOB,
            CALLER,
            "bi",
            "session-info",
            &sid,
            &format!("<{p} xmlns='{RTP_INFO}'/>"),
        )
    };
    h.stanza(&bob_info("hold"));
    acked(&mut h);
    let (_, r) = h.expect_request("INVITE");
    assert_eq!(directions(&body(&r)), vec!["a=inactive"], "mutual hold");
    h.sip_from(
        trunk(),
        &respond(
            &r,
            200,
            "caller1",
            Some(&OFFER_SDP.replace("a=sendrecv", "a=inactive")),
        ),
    );
    h.expect_request("ACK");
    h.stanza(&bob_info("unhold"));
    acked(&mut h);
    let (_, r) = h.expect_request("INVITE");
    assert_eq!(
        directions(&body(&r)),
        vec!["a=recvonly"],
        "the SIP side still holds us"
    );
    h.sip_from(trunk(), &respond(&r, 200, "caller1", Some(&held)));
    h.expect_request("ACK");
    // While bob holds, a sendrecv re-offer is answered sendonly.
    h.stanza(&bob_info("hold"));
    acked(&mut h);
    let (_, r) = h.expect_request("INVITE");
    h.sip_from(trunk(), &respond(&r, 200, "caller1", Some(&held)));
    h.expect_request("ACK");
    h.sip_from(
        trunk(),
        &from_caller("INVITE", &to, 3, "z9hG4bKm2", Some(OFFER_SDP)),
    );
    let r = one_response(&mut h);
    assert_eq!(directions(&body_of(&r)), vec!["a=sendonly"]);
    assert_eq!(infos(&mut h), vec!["active"]);
}

#[test]
fn a_sip_reinvite_adding_a_stream_is_declined_with_port_0() {
    let mut h = Harness::new();
    let (_, to) = inbound_answered(&mut h);
    h.take_stanzas();
    let with_video = format!("{OFFER_SDP}m=video 40002 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n");
    h.sip_from(
        trunk(),
        &from_caller("INVITE", &to, 2, "z9hG4bKv1", Some(&with_video)),
    );
    let r = one_response(&mut h);
    assert_eq!(r.status, 200);
    let answer = body_of(&r);
    assert!(answer.ends_with("m=video 0 RTP/AVP 96\r\n"), "{answer}");
    assert_eq!(
        answer.matches("m=").count(),
        2,
        "RFC 3264 §6: one per offered"
    );
    assert!(h.take_stanzas().is_empty(), "no content-add to XMPP");
}

#[test]
fn a_sip_reoffer_dropping_a_stream_gets_488() {
    let mut h = Harness::new();
    let (_, to) = inbound_answered(&mut h);
    let two = format!("{OFFER_SDP}m=video 40002 RTP/AVP 96\r\n");
    h.sip_from(
        trunk(),
        &from_caller("INVITE", &to, 2, "z9hG4bKd1", Some(&two)),
    );
    one_response(&mut h);
    h.sip_from(trunk(), &from_caller("ACK", &to, 2, "z9hG4bKd1a", None));
    h.sip_from(
        trunk(),
        &from_caller("INVITE", &to, 3, "z9hG4bKd2", Some(OFFER_SDP)),
    );
    let r = one_response(&mut h);
    assert_eq!(r.status, 488);
    assert!(r.headers.get("Warning").unwrap().contains("RFC 3264"));
    assert_eq!(h.gw.active_calls(), 1);
}

// ------------------------------------------------------------------ glare --

#[test]
fn a_sip_reinvite_crossing_our_hold_gets_491_and_ours_backs_off_on_491() {
    let mut h = Harness::new();
    outbound_answered(&mut h);
    h.stanza(&alice_info("hold"));
    acked(&mut h);
    let (_, ours) = h.expect_request("INVITE");
    h.sip_from(
        trunk(),
        &from_far(&h, "INVITE", 9, "z9hG4bKg1", Some(OFFER_SDP)),
    );
    assert_eq!(one_response(&mut h).status, 491);
    assert!(h.take_stanzas().is_empty());
    h.sip_from(trunk(), &respond(&ours, 491, "far", None));
    h.expect_request("ACK");
    // We own the Call-ID: 2.1–4 s (RFC 3261 §14.1).
    h.advance(Duration::from_millis(2000));
    assert!(requests(&mut h).is_empty());
    // Meanwhile the peer's own retry gets through, and is answered as held.
    h.sip_from(
        trunk(),
        &from_far(&h, "INVITE", 10, "z9hG4bKg2", Some(OFFER_SDP)),
    );
    let r = one_response(&mut h);
    assert_eq!(r.status, 200);
    assert_eq!(directions(&body_of(&r)), vec!["a=sendonly"]);
    h.advance(Duration::from_millis(2100));
    let retries: Vec<_> = requests(&mut h)
        .into_iter()
        .filter(|r| r.method.as_str() == "INVITE")
        .collect();
    assert!(
        retries.is_empty(),
        "the peer's re-offer already put the call on hold: nothing to retry"
    );
}

#[test]
fn our_hold_answered_491_is_sent_again_after_the_back_off() {
    let mut h = Harness::new();
    outbound_answered(&mut h);
    h.stanza(&alice_info("hold"));
    acked(&mut h);
    let (_, ours) = h.expect_request("INVITE");
    h.sip_from(trunk(), &respond(&ours, 491, "far", None));
    h.expect_request("ACK");
    h.advance(Duration::from_millis(2050));
    assert!(requests(&mut h).is_empty(), "not before 2.1 s");
    h.advance(Duration::from_millis(2000));
    let retries: Vec<_> = requests(&mut h)
        .into_iter()
        .filter(|r| r.method.as_str() == "INVITE")
        .collect();
    assert!(!retries.is_empty(), "retried within 4 s");
    assert_eq!(retries[0].headers.get("CSeq"), Some("3 INVITE"));
    assert_eq!(directions(&body(&retries[0])), vec!["a=sendonly"]);
    assert_eq!(version(&body(&retries[0])), version(&body(&ours)));
}

// ---------------------------------------------------------------- anchored --

#[test]
fn anchored_hold_rewrites_the_anchors_sdp_and_updates_the_anchor() {
    let config = format!("{CONFIG}[media]\nmode = \"embedded\"\npublic_ip = \"203.0.113.5\"\n");
    let anchor_sdp = "v=0\r\no=- 77 1 IN IP4 203.0.113.5\r\ns=-\r\nc=IN IP4 203.0.113.5\r\nt=0 0\r\nm=audio 23456 RTP/AVP 0\r\na=mid:0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n";
    let mut h = Harness::with_config(&config, trunk());
    h.stanza(&session_initiate("s1", CALLEE));
    h.take_stanzas();
    let call = h.anchors[0].call.clone();
    let reply = |op, sdp: &str| {
        Input::Anchored(AnchorReply {
            call: call.clone(),
            op,
            result: Ok(sdp.to_string()),
        })
    };
    h.input(reply(AnchorOp::Offer, anchor_sdp));
    let (_, invite) = h.expect_request("INVITE");
    h.sip_from(trunk(), &respond(&invite, 200, "far", Some(ANSWER_SDP)));
    h.expect_request("ACK");
    // Before the anchor's answer the user has no session-accept: too early.
    h.stanza(&alice_info("hold"));
    iq_error(&mut h, "unexpected-request", "out-of-order");
    h.input(reply(AnchorOp::Answer, ANSWER_SDP));
    h.take_stanzas();
    h.stanza(&alice_info("hold"));
    acked(&mut h);
    let (_, hold) = h.expect_request("INVITE");
    assert_eq!(
        body(&hold),
        anchor_sdp
            .replace("a=sendrecv", "a=sendonly")
            .replace("77 1 IN", "77 2 IN"),
        "the anchor's SDP toward SIP, held"
    );
    let answer = answer_with("a=recvonly");
    h.sip_from(trunk(), &respond(&hold, 200, "far", Some(&answer)));
    h.expect_request("ACK");
    assert_eq!(h.updates, vec![(call.clone(), MediaLeg::Sip, answer)]);
    assert_eq!(h.anchors.len(), 2, "no new offer/answer with the anchor");
    let stored = h.stored_calls();
    assert_eq!(
        stored[0].sip.local_sdp.as_deref(),
        Some(body(&hold).as_str()),
        "the held SDP is stored: a restart refreshes with it"
    );
    assert!(stored[0].sip.hold.held_by_user);
}

#[test]
fn snapshots_stored_before_hold_existed_still_load() {
    let mut h = Harness::new();
    outbound_answered(&mut h);
    let call = h.stored_calls().pop().unwrap();
    let mut value = serde_json::to_value(&call).unwrap();
    value["sip"].as_object_mut().unwrap().remove("hold");
    let back: Call = serde_json::from_value(value).unwrap();
    assert_eq!(back.sip.hold, Default::default());
}

#[test]
fn a_hold_between_our_200_and_its_ack_is_sent_after_the_ack() {
    let mut h = Harness::new();
    h.sip_from(trunk(), &invite(DID, "in1@pbx", "z9hG4bKin1"));
    h.take_sip();
    let out = h.take_stanzas();
    let sid = find(&out[0], "propose")
        .and_then(|p| p.attr("id"))
        .unwrap()
        .to_string();
    h.stanza(&format!(
        "<message from='{BOB}' to='{CALLER}' type='chat' id='p'><proceed xmlns='urn:xmpp:jingle-message:0' id='{sid}'/></message>"
    ));
    h.take_stanzas();
    h.stanza(&jingle(
        BOB,
        CALLER,
        "sa",
        "session-accept",
        &sid,
        "<content creator='initiator' name='0'>\
<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='0' name='PCMU' clockrate='8000'/></description>\
<transport xmlns='urn:xmpp:jingle:transports:raw-udp:1'><candidate component='1' generation='0' id='r1' ip='127.0.0.1' port='41000'/></transport>\
</content>",
    ));
    acked(&mut h);
    let to = one_response(&mut h).headers.get("To").unwrap().to_string();
    // Bob holds at once: the session is up for him, the ACK still to come.
    h.stanza(&jingle(
        BOB,
        CALLER,
        "bh",
        "session-info",
        &sid,
        &format!("<hold xmlns='{RTP_INFO}'/>"),
    ));
    acked(&mut h);
    assert!(requests(&mut h).is_empty(), "no re-INVITE before the ACK");
    h.sip_from(trunk(), &from_caller("ACK", &to, 1, "z9hG4bKack1", None));
    let (_, r) = h.expect_request("INVITE");
    assert_eq!(directions(&body(&r)), vec!["a=sendonly"]);
}

#[test]
fn a_hold_reinvite_also_refreshes_the_session_timer() {
    let mut h = Harness::new();
    let invite = {
        h.stanza(&session_initiate("s1", CALLEE));
        acked(&mut h);
        h.advance(Duration::from_millis(250));
        h.expect_request("INVITE").1
    };
    let ok = respond(&invite, 200, "far", Some(ANSWER_SDP)).replacen(
        "Contact:",
        "Session-Expires: 90;refresher=uac\r\nContact:",
        1,
    );
    h.sip_from(trunk(), &ok);
    h.expect_request("ACK");
    h.take_stanzas();
    h.advance(Duration::from_secs(30));
    h.stanza(&alice_info("hold"));
    acked(&mut h);
    let (_, r) = h.expect_request("INVITE");
    assert_eq!(r.headers.get("Session-Expires"), Some("90;refresher=uac"));
    let ok = respond(&r, 200, "far", Some(ANSWER_SDP)).replacen(
        "Contact:",
        "Session-Expires: 90;refresher=uac\r\nContact:",
        1,
    );
    h.sip_from(trunk(), &ok);
    h.expect_request("ACK");
    // The refresh was due 45 s after the answer; the hold's 2xx restarted it.
    h.advance(Duration::from_secs(44));
    assert!(requests(&mut h).is_empty());
    h.advance(Duration::from_secs(1));
    let (_, refresh) = h.expect_request("INVITE");
    assert_eq!(
        directions(&body(&refresh)),
        vec!["a=sendonly"],
        "a refresh re-sends the held SDP"
    );
    assert_eq!(version(&body(&refresh)), version(&body(&r)), "unchanged");
}

// ------------------------------------------------- content-add / remove --

/// Alice's two-stream call (audio `0`, video `1`), answered with both.
fn two_stream_call(h: &mut Harness) -> String {
    let video = "<content creator='initiator' name='1' senders='both'>\
<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'><payload-type id='96' name='VP8' clockrate='90000'/></description>\
<transport xmlns='urn:xmpp:jingle:transports:raw-udp:1'><candidate component='1' generation='0' id='v1' ip='127.0.0.1' port='40010'/></transport></content>";
    let si = session_initiate("s1", CALLEE).replace(
        "</content></jingle>",
        &format!("</content>{video}</jingle>"),
    );
    h.stanza(&si);
    acked(h);
    h.advance(Duration::from_millis(250));
    let (_, invite) = h.expect_request("INVITE");
    let answer =
        format!("{ANSWER_SDP}m=video 40002 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\na=sendrecv\r\n");
    h.sip_from(trunk(), &respond(&invite, 200, "far", Some(&answer)));
    h.expect_request("ACK");
    h.take_stanzas();
    answer
}

const VIDEO_CONTENT: &str = "<content creator='initiator' name='v' senders='both'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'><payload-type id='96' name='VP8' clockrate='90000'/></description><transport xmlns='urn:xmpp:jingle:transports:raw-udp:1'><candidate component='1' generation='0' id='v1' ip='127.0.0.1' port='40020'/></transport></content>";

#[test]
fn xmpp_content_add_in_passthrough_adds_a_stream_and_relays_the_answer() {
    let mut h = Harness::new();
    // Before the answer: out of order.
    h.stanza(&session_initiate("s1", CALLEE));
    acked(&mut h);
    h.advance(Duration::from_millis(250));
    let (_, invite) = h.expect_request("INVITE");
    h.stanza(&jingle(
        ALICE,
        CALLEE,
        "ca",
        "content-add",
        "s1",
        VIDEO_CONTENT,
    ));
    iq_error(&mut h, "unexpected-request", "out-of-order");
    h.sip_from(trunk(), &respond(&invite, 200, "far", Some(ANSWER_SDP)));
    h.expect_request("ACK");
    h.take_stanzas();
    h.stanza(&jingle(
        ALICE,
        CALLEE,
        "ca",
        "content-add",
        "s1",
        VIDEO_CONTENT,
    ));
    acked(&mut h);
    let (_, r) = h.expect_request("INVITE");
    let offer = body(&r);
    assert_eq!(offer.matches("m=").count(), 2, "{offer}");
    assert!(offer.contains("m=video 40020 RTP/AVP 96\r\n"), "{offer}");
    assert!(offer.contains("a=mid:v\r\n"), "{offer}");
    assert_eq!(version(&offer), version(&body(&invite)) + 1);
    // A second content-add while this one is in flight crosses it.
    h.stanza(&jingle(
        ALICE,
        CALLEE,
        "ca2",
        "content-add",
        "s1",
        VIDEO_CONTENT,
    ));
    iq_error(&mut h, "conflict", "tie-break");
    let answer =
        format!("{ANSWER_SDP}m=video 40030 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\na=sendrecv\r\n");
    h.sip_from(trunk(), &respond(&r, 200, "far", Some(&answer)));
    h.expect_request("ACK");
    let out = h.take_stanzas();
    assert_eq!(out.len(), 1);
    assert_eq!(jingle_action(&out[0]).as_deref(), Some("content-accept"));
    let content = find(&out[0], "content").unwrap();
    assert_eq!(content.attr("name"), Some("v"));
    assert_eq!(content.attr("creator"), Some("initiator"));
    assert_eq!(
        find(content, "payload-type").and_then(|p| p.attr("name")),
        Some("VP8")
    );
    assert_eq!(
        find(content, "candidate").and_then(|c| c.attr("port")),
        Some("40030")
    );
    // The SIP side declining the next one (port 0): content-reject.
    let another = VIDEO_CONTENT.replace("name='v'", "name='w'");
    h.stanza(&jingle(ALICE, CALLEE, "ca3", "content-add", "s1", &another));
    acked(&mut h);
    let (_, r) = h.expect_request("INVITE");
    assert_eq!(body(&r).matches("m=").count(), 3);
    let declined = format!("{answer}m=video 0 RTP/AVP 96\r\n");
    h.sip_from(trunk(), &respond(&r, 200, "far", Some(&declined)));
    h.expect_request("ACK");
    let out = h.take_stanzas();
    assert_eq!(jingle_action(&out[0]).as_deref(), Some("content-reject"));
    assert_eq!(
        find(&out[0], "content").and_then(|c| c.attr("name")),
        Some("w")
    );
    // And refusing the re-INVITE outright: content-reject, nothing kept.
    let third = VIDEO_CONTENT.replace("name='v'", "name='x'");
    h.stanza(&jingle(ALICE, CALLEE, "ca4", "content-add", "s1", &third));
    acked(&mut h);
    let (_, r) = h.expect_request("INVITE");
    assert_eq!(body(&r).matches("m=").count(), 4);
    h.sip_from(trunk(), &respond(&r, 488, "far", None));
    let out = h.take_stanzas();
    assert_eq!(jingle_action(&out[0]).as_deref(), Some("content-reject"));
    h.stanza(&alice_info("hold"));
    acked(&mut h);
    let (_, r) = h.expect_request("INVITE");
    assert_eq!(
        body(&r).matches("m=").count(),
        3,
        "the refused stream is gone"
    );
    assert!(
        body(&r).contains("m=video 0 RTP/AVP 96\r\nc=IN IP4 127.0.0.1\r\na=mid:w"),
        "the declined one stays declined: {}",
        body(&r)
    );
}

#[test]
fn xmpp_content_add_when_anchored_is_acked_then_rejected() {
    let config = format!("{CONFIG}[media]\nmode = \"embedded\"\npublic_ip = \"203.0.113.5\"\n");
    let anchor_sdp = "v=0\r\no=- 77 1 IN IP4 203.0.113.5\r\ns=-\r\nc=IN IP4 203.0.113.5\r\nt=0 0\r\nm=audio 23456 RTP/AVP 0\r\na=mid:0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n";
    let mut h = Harness::with_config(&config, trunk());
    h.stanza(&session_initiate("s1", CALLEE));
    h.take_stanzas();
    let call = h.anchors[0].call.clone();
    let reply = |op, sdp: &str| {
        Input::Anchored(AnchorReply {
            call: call.clone(),
            op,
            result: Ok(sdp.to_string()),
        })
    };
    h.input(reply(AnchorOp::Offer, anchor_sdp));
    let (_, invite) = h.expect_request("INVITE");
    h.sip_from(trunk(), &respond(&invite, 200, "far", Some(ANSWER_SDP)));
    h.expect_request("ACK");
    h.input(reply(AnchorOp::Answer, ANSWER_SDP));
    h.take_stanzas();
    h.stanza(&jingle(
        ALICE,
        CALLEE,
        "ca",
        "content-add",
        "s1",
        VIDEO_CONTENT,
    ));
    let out = h.take_stanzas();
    assert_eq!(out.len(), 2, "IQ result, then content-reject");
    assert_eq!(out[0].attr("type"), Some("result"));
    assert_eq!(jingle_action(&out[1]).as_deref(), Some("content-reject"));
    assert_eq!(out[1].attr("to"), Some(ALICE));
    assert_eq!(
        find(&out[1], "content").and_then(|c| c.attr("name")),
        Some("v")
    );
    assert_eq!(reason(&out[1]).as_deref(), Some("failed-application"));
    assert!(h.take_sip().is_empty());
    assert_eq!(h.gw.active_calls(), 1);
}

#[test]
fn xmpp_content_remove_sets_the_streams_port_to_0_and_the_last_one_ends_the_call() {
    let mut h = Harness::new();
    let answer = two_stream_call(&mut h);
    let remove = |name: &str| {
        jingle(
            ALICE,
            CALLEE,
            "cr",
            "content-remove",
            "s1",
            &format!("<content creator='initiator' name='{name}'/>"),
        )
    };
    h.stanza(&remove("nosuch"));
    let out = h.take_stanzas();
    assert!(find(&out[0], "item-not-found").is_some());
    h.stanza(&remove("1"));
    acked(&mut h);
    let (_, r) = h.expect_request("INVITE");
    let offer = body(&r);
    assert!(offer.contains("\r\nm=video 0 "), "{offer}");
    assert!(!offer.contains("m=audio 0 "), "{offer}");
    assert_eq!(directions(&offer), vec!["a=sendrecv", "a=sendrecv"]);
    h.sip_from(
        trunk(),
        &respond(
            &r,
            200,
            "far",
            Some(&answer.replace("m=video 40002", "m=video 0")),
        ),
    );
    h.expect_request("ACK");
    // A hold now changes only the live stream.
    h.stanza(&alice_info("hold"));
    acked(&mut h);
    let (_, r) = h.expect_request("INVITE");
    h.sip_from(trunk(), &respond(&r, 200, "far", Some(ANSWER_SDP)));
    h.expect_request("ACK");
    assert!(body(&r).contains("m=video 0 "));
    assert_eq!(directions(&body(&r)), vec!["a=sendonly", "a=sendrecv"]);
    // Removing the last stream voids the session.
    h.stanza(&remove("0"));
    acked_then_terminated(&mut h);
    h.expect_request("BYE");
    assert_eq!(h.gw.active_calls(), 0);
}

fn acked_then_terminated(h: &mut Harness) {
    let out = h.take_stanzas();
    assert_eq!(out[0].attr("type"), Some("result"));
    assert_eq!(jingle_action(&out[1]).as_deref(), Some("session-terminate"));
}

#[test]
fn a_sip_reoffer_removing_a_stream_is_answered_port_0_and_told_as_content_remove() {
    let mut h = Harness::new();
    let answer = two_stream_call(&mut h);
    let removed = answer
        .replace("m=video 40002", "m=video 0")
        .replace("o=- 1 1 ", "o=- 1 2 ");
    h.sip_from(
        trunk(),
        &from_far(&h, "INVITE", 5, "z9hG4bKrm", Some(&removed)),
    );
    let r = one_response(&mut h);
    assert_eq!(r.status, 200);
    let ours = body_of(&r);
    assert!(ours.contains("\r\nm=video 0 "), "RFC 3264 §6: {ours}");
    let out = h.take_stanzas();
    assert_eq!(out.len(), 1);
    assert_eq!(jingle_action(&out[0]).as_deref(), Some("content-remove"));
    assert_eq!(
        find(&out[0], "content").and_then(|c| c.attr("name")),
        Some("1")
    );
}

#[test]
fn a_user_request_crossing_our_content_remove_gets_tie_break() {
    let mut h = Harness::new();
    let answer = two_stream_call(&mut h);
    let removed = answer.replace("m=video 40002", "m=video 0");
    h.sip_from(
        trunk(),
        &from_far(&h, "INVITE", 5, "z9hG4bKrm", Some(&removed)),
    );
    assert_eq!(one_response(&mut h).status, 200);
    let out = h.take_stanzas();
    assert_eq!(jingle_action(&out[0]).as_deref(), Some("content-remove"));
    let ours = out[0].attr("id").unwrap().to_string();
    // Alice's content-modify of that content crosses it.
    h.stanza(&content_modify(ALICE, CALLEE, "s1", "1", "initiator"));
    iq_error(&mut h, "conflict", "tie-break");
    // Another content is no conflict.
    h.stanza(&content_modify(ALICE, CALLEE, "s1", "0", "initiator"));
    acked(&mut h);
    let (_, r) = h.expect_request("INVITE");
    assert!(body(&r).contains("m=video 0 "));
    h.sip_from(trunk(), &respond(&r, 200, "far", Some(&removed)));
    h.expect_request("ACK");
    // Once alice answers our content-remove, nothing is crossing any more.
    h.stanza(&format!(
        "<iq from='{ALICE}' to='{CALLEE}' type='result' id='{ours}'/>"
    ));
    h.stanza(&content_modify(ALICE, CALLEE, "s1", "1", "responder"));
    acked(&mut h);
    assert!(
        requests(&mut h).is_empty(),
        "a removed stream has no direction"
    );
}

// -------------------------------------------------------------- bad input --

#[test]
fn a_re_invite_whose_body_is_not_sdp_gets_488_and_the_call_goes_on() {
    let mut h = Harness::new();
    let (_, to) = inbound_answered(&mut h);
    h.take_stanzas();
    h.sip_from(
        trunk(),
        &from_caller("INVITE", &to, 2, "z9hG4bKbad", Some("this is not SDP\r\n")),
    );
    let r = one_response(&mut h);
    assert_eq!(r.status, 488);
    assert!(r.headers.get("Warning").is_some());
    assert!(h.take_stanzas().is_empty(), "nothing to the user");
    assert_eq!(h.gw.active_calls(), 1);
    // The next good re-offer is answered normally.
    h.sip_from(
        trunk(),
        &from_caller("INVITE", &to, 3, "z9hG4bKgood", Some(OFFER_SDP)),
    );
    assert_eq!(one_response(&mut h).status, 200);
}

#[test]
fn hold_from_another_device_or_for_another_session_is_unknown_session() {
    let mut h = Harness::new();
    outbound_answered(&mut h);
    h.stanza(&alice_info("hold").replace(ALICE, "alice@test/laptop"));
    iq_error(&mut h, "item-not-found", "unknown-session");
    h.stanza(&alice_info("hold").replace("sid='s1'", "sid='nosuch'"));
    iq_error(&mut h, "item-not-found", "unknown-session");
    assert!(requests(&mut h).is_empty());
    assert!(!h.gw.calls().next().unwrap().sip.hold.held_by_user);
}

/// The callee's content-add on an inbound call (passthrough): the content is
/// hers, so the answers about it name `creator='responder'` (XEP-0166 §7.2:
/// a content is identified by creator and name).
fn bob_adds_video(h: &mut Harness, sid: &str, name: &str) -> Request {
    let content = VIDEO_CONTENT
        .replace("creator='initiator'", "creator='responder'")
        .replace("name='v'", &format!("name='{name}'"));
    h.stanza(&jingle(BOB, CALLER, "ca", "content-add", sid, &content));
    acked(h);
    let (_, r) = h.expect_request("INVITE");
    assert!(
        body(&r).contains(&format!("a=mid:{name}\r\n")),
        "{}",
        body(&r)
    );
    r
}

#[test]
fn an_inbound_callees_content_add_declined_is_rejected_with_her_creator() {
    let mut h = Harness::new();
    let (sid, _) = inbound_answered(&mut h);
    let r = bob_adds_video(&mut h, &sid, "v");
    let declined = format!("{OFFER_SDP}m=video 0 RTP/AVP 96\r\n");
    h.sip_from(trunk(), &respond(&r, 200, "caller1", Some(&declined)));
    h.expect_request("ACK");
    let out = h.take_stanzas();
    assert_eq!(jingle_action(&out[0]).as_deref(), Some("content-reject"));
    let content = find(&out[0], "content").unwrap();
    assert_eq!(content.attr("name"), Some("v"));
    assert_eq!(content.attr("creator"), Some("responder"));
}

#[test]
fn an_inbound_callees_added_content_removed_by_sip_names_her_creator() {
    let mut h = Harness::new();
    let (sid, to) = inbound_answered(&mut h);
    let r = bob_adds_video(&mut h, &sid, "v");
    let taken =
        format!("{OFFER_SDP}m=video 40030 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\na=sendrecv\r\n");
    h.sip_from(trunk(), &respond(&r, 200, "caller1", Some(&taken)));
    h.expect_request("ACK");
    let out = h.take_stanzas();
    assert_eq!(jingle_action(&out[0]).as_deref(), Some("content-accept"));
    assert_eq!(
        find(&out[0], "content").and_then(|c| c.attr("creator")),
        Some("responder")
    );
    // The caller removes it (port 0); the set-up stream stays the initiator's.
    let removed = taken
        .replace("m=video 40030", "m=video 0")
        .replace("o=- 1 1 ", "o=- 1 2 ");
    h.sip_from(
        trunk(),
        &from_caller("INVITE", &to, 2, "z9hG4bKrmv", Some(&removed)),
    );
    let r = one_response(&mut h);
    assert_eq!(r.status, 200);
    let out = h.take_stanzas();
    assert_eq!(out.len(), 1);
    assert_eq!(jingle_action(&out[0]).as_deref(), Some("content-remove"));
    let content = find(&out[0], "content").unwrap();
    assert_eq!(content.attr("name"), Some("v"));
    assert_eq!(content.attr("creator"), Some("responder"));
}
