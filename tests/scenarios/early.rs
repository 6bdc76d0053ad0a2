//! Issue 7: early media on outbound calls (a 18x with SDP, checklist 11, 12
//! and 18) and delayed-offer INVITEs from SIP. The test plays the media
//! anchor, answering `Output::Anchor` with fixed descriptions naming
//! 203.0.113.5.

use super::harness::*;
use std::time::Duration;
use stox::call::{CallEvent, CallState, Input, PersistKind, Side};
use stox::media::anchor::{AnchorError, AnchorOp, AnchorReply, MediaLeg, MediaMode};
use stox::sip::SipMessage;

const GW: &str = "+15551230001@sip.test";
const GW_FULL: &str = "+15551230001@sip.test/stox";

fn anchored() -> String {
    format!("{CONFIG}[media]\nmode = \"embedded\"\npublic_ip = \"203.0.113.5\"\n")
}

const ANCHOR_TO_SIP: &str = "v=0\r\no=- 77 1 IN IP4 203.0.113.5\r\ns=-\r\nc=IN IP4 203.0.113.5\r\nt=0 0\r\nm=audio 23456 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n";

const ANCHOR_TO_XMPP: &str = "v=0\r\no=- 78 1 IN IP4 203.0.113.5\r\ns=-\r\nt=0 0\r\nm=audio 24680 UDP/TLS/RTP/SAVPF 0 101\r\nc=IN IP4 203.0.113.5\r\na=mid:0\r\na=ice-ufrag:anch\r\na=ice-pwd:anchorpasswordanchorpass1\r\na=fingerprint:sha-256 12:34:56:78:9A:BC:DE:F0:12:34:56:78:9A:BC:DE:F0:12:34:56:78:9A:BC:DE:F0:12:34:56:78:9A:BC:DE:F0\r\na=setup:passive\r\na=candidate:1 1 udp 2130706431 203.0.113.5 24680 typ host\r\na=rtcp-mux\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";

/// The far end's early description: announcements from 192.0.2.50.
const EARLY_SDP: &str = "v=0\r\no=far 1 1 IN IP4 192.0.2.50\r\ns=-\r\nc=IN IP4 192.0.2.50\r\nt=0 0\r\nm=audio 30000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";

fn reply(call: &str, op: AnchorOp, result: Result<String, AnchorError>) -> Input {
    Input::Anchored(AnchorReply {
        call: call.to_string(),
        op,
        result,
    })
}

/// A reliable (100rel) provisional with RSeq `rseq`.
fn reliable(req: &stox::sip::Request, status: u16, tag: &str, rseq: u32, sdp: &str) -> String {
    respond(req, status, tag, Some(sdp)).replacen(
        "Contact:",
        &format!("Require: 100rel\r\nRSeq: {rseq}\r\nContact:"),
        1,
    )
}

fn terminate_from_alice(reason: &str) -> String {
    format!(
        "<iq from='alice@test/phone' to='{GW_FULL}' type='set' id='t1'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s1'><reason><{reason}/></reason></jingle></iq>"
    )
}

fn by_action<'a>(out: &'a [minidom::Element], action: &str) -> Vec<&'a minidom::Element> {
    out.iter()
        .filter(|s| jingle_action(s).as_deref() == Some(action))
        .collect()
}

fn answered_events(h: &Harness) -> usize {
    h.events
        .iter()
        .filter(|e| matches!(e, CallEvent::Answered { .. }))
        .count()
}

fn answered_snapshots(h: &Harness) -> usize {
    h.persisted
        .iter()
        .filter(|(k, _)| *k == PersistKind::Answered)
        .count()
}

fn state(h: &Harness) -> Option<CallState> {
    h.gw.calls().next().map(|c| c.state)
}

/// Alice's anchored call up to the INVITE; returns the call id and INVITE.
fn anchored_invite(h: &mut Harness) -> (String, stox::sip::Request) {
    h.stanza(&propose("s1", GW));
    h.stanza(&session_initiate("s1", GW_FULL));
    h.take_stanzas();
    let call = h.anchors[0].call.clone();
    h.input(reply(&call, AnchorOp::Offer, Ok(ANCHOR_TO_SIP.into())));
    let (_, invite) = h.expect_request("INVITE");
    (call, invite)
}

/// Up to the early session-accept: a reliable 183 with SDP, PRACKed and
/// the PRACK answered, the anchor's answer sent to alice.
fn early_accepted(h: &mut Harness) -> (String, stox::sip::Request) {
    let (call, invite) = anchored_invite(h);
    h.sip_from(trunk(), &reliable(&invite, 183, "far", 1, EARLY_SDP));
    let (_, prack) = h.expect_request("PRACK");
    assert_eq!(prack.headers.get("RAck"), Some("1 1 INVITE"));
    h.sip_from(trunk(), &respond(&prack, 200, "far", None));
    let out = h.take_stanzas();
    assert_eq!(
        by_action(&out, "session-info").len(),
        1,
        "ringing as before"
    );
    assert!(find(&out[0], "ringing").is_some());
    assert!(
        by_action(&out, "session-accept").is_empty(),
        "waits for the anchor"
    );
    assert_eq!(h.anchors.len(), 2);
    let request = &h.anchors[1];
    assert_eq!(
        (request.op, request.from, request.sdp.as_str()),
        (AnchorOp::Answer, MediaLeg::Sip, EARLY_SDP)
    );
    h.input(reply(&call, AnchorOp::Answer, Ok(ANCHOR_TO_XMPP.into())));
    let out = h.take_stanzas();
    let accept = by_action(&out, "session-accept");
    assert_eq!(accept.len(), 1, "early session-accept: {out:?}");
    let candidate = find(accept[0], "candidate").expect("the anchor's candidate");
    assert_eq!(
        (candidate.attr("ip"), candidate.attr("port")),
        (Some("203.0.113.5"), Some("24680"))
    );
    // Not answered: no answer time, no Answered snapshot, still inviting.
    assert_eq!(answered_events(h), 0);
    assert_eq!(answered_snapshots(h), 0);
    assert_eq!(state(h), Some(CallState::Inviting));
    (call, invite)
}

#[test]
fn early_media_accepts_at_the_183_and_answers_at_a_200_without_sdp() {
    let mut h = Harness::with_config(&anchored(), trunk());
    let (call, invite) = early_accepted(&mut h);
    let stored = h.gw.calls().next().unwrap().sip.early.clone().unwrap();
    assert_eq!(stored.sdp, EARLY_SDP);
    assert_eq!(stored.tag.as_deref(), Some("far"));
    assert!(stored.reliable && stored.accepted);

    h.sip_from(trunk(), &respond(&invite, 200, "far", None));
    let (_, ack) = h.expect_request("ACK");
    assert!(ack.headers.get("To").unwrap().contains("tag=far"));
    assert!(
        h.take_stanzas().is_empty(),
        "no second session-accept: the early answer stands"
    );
    assert_eq!(h.anchors.len(), 2, "no second anchor exchange");
    assert!(h.updates.is_empty(), "the 200 has no SDP of its own");
    assert_eq!(answered_events(&h), 1);
    assert_eq!(answered_snapshots(&h), 1);
    assert_eq!(state(&h), Some(CallState::Active));

    // Answered now: a hang-up is a BYE.
    h.stanza(&terminate_from_alice("success"));
    h.expect_request("BYE");
    assert_eq!(h.releases, vec![(call, MediaMode::Embedded)]);
}

#[test]
fn hang_up_after_the_early_accept_is_a_cancel_not_a_bye() {
    let mut h = Harness::with_config(&anchored(), trunk());
    let (call, invite) = early_accepted(&mut h);
    h.stanza(&terminate_from_alice("success"));
    let sent = h.take_sip();
    let methods: Vec<String> = sent
        .iter()
        .filter_map(|(_, m)| match m {
            SipMessage::Request(r) => Some(r.method.as_str().to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(methods, vec!["CANCEL".to_string()]);
    let cancel = match &sent[0].1 {
        SipMessage::Request(r) => r.clone(),
        _ => unreachable!(),
    };
    h.sip_from(trunk(), &respond(&cancel, 200, "far", None));
    h.sip_from(trunk(), &respond(&invite, 487, "far", None));
    h.expect_request("ACK");
    assert_eq!(h.gw.active_calls(), 0);
    assert_eq!(answered_events(&h), 0);
    assert!(h.events.contains(&CallEvent::Failed {
        direction: stox::call::CallDirection::XmppToSip,
        status: 487
    }));
    assert_eq!(h.releases, vec![(call, MediaMode::Embedded)]);
}

#[test]
fn busy_after_early_media_terminates_with_busy_and_releases_the_media() {
    let mut h = Harness::with_config(&anchored(), trunk());
    let (call, invite) = early_accepted(&mut h);
    h.sip_from(trunk(), &respond(&invite, 486, "far", None));
    h.expect_request("ACK");
    let out = h.take_stanzas();
    let terminate = by_action(&out, "session-terminate");
    assert_eq!(terminate.len(), 1);
    assert_eq!(reason(terminate[0]).as_deref(), Some("busy"));
    assert_eq!(h.releases, vec![(call, MediaMode::Embedded)]);
    assert_eq!(answered_events(&h), 0);
    let ended = h.persisted.last().unwrap();
    assert_eq!(ended.0, PersistKind::Ended);
    let end = ended.1.ended.clone().unwrap();
    assert_eq!((end.by, end.sip_status), (Side::Sip, Some(486)));
}

#[test]
fn the_ring_timeout_still_runs_after_early_media() {
    let mut h = Harness::with_config(&anchored(), trunk());
    early_accepted(&mut h);
    h.advance(Duration::from_secs(61));
    let out = h.take_stanzas();
    let terminate = by_action(&out, "session-terminate");
    assert_eq!(reason(terminate[0]).as_deref(), Some("timeout"));
    let sent = h.take_sip();
    assert!(
        sent.iter()
            .any(|(_, m)| matches!(m, SipMessage::Request(r) if r.method.as_str() == "CANCEL")),
        "no answer within ring_timeout_secs: CANCEL"
    );
    assert_eq!(answered_events(&h), 0);
}

#[test]
fn a_200_with_other_sdp_moves_the_anchors_sip_leg_and_keeps_the_xmpp_answer() {
    let mut h = Harness::with_config(&anchored(), trunk());
    let (call, invite) = early_accepted(&mut h);
    h.sip_from(trunk(), &respond(&invite, 200, "far", Some(ANSWER_SDP)));
    h.expect_request("ACK");
    assert!(h.take_stanzas().is_empty(), "the XMPP-facing answer stays");
    assert_eq!(
        h.updates,
        vec![(call.clone(), MediaLeg::Sip, ANSWER_SDP.to_string())]
    );
    assert_eq!(h.anchors.len(), 2);
    assert_eq!(answered_events(&h), 1);
    assert_eq!(state(&h), Some(CallState::Active));
    // The same SDP again would not have moved anything.
    let mut h = Harness::with_config(&anchored(), trunk());
    let (_, invite) = early_accepted(&mut h);
    h.sip_from(trunk(), &respond(&invite, 200, "far", Some(EARLY_SDP)));
    h.expect_request("ACK");
    assert!(h.updates.is_empty());
    assert_eq!(answered_events(&h), 1);
}

#[test]
fn a_200_while_the_early_answer_is_at_the_anchor_accepts_when_it_replies() {
    let mut h = Harness::with_config(&anchored(), trunk());
    let (call, invite) = anchored_invite(&mut h);
    h.sip_from(trunk(), &respond(&invite, 183, "far", Some(EARLY_SDP)));
    h.take_stanzas();
    assert_eq!(
        h.anchors.len(),
        2,
        "unreliable early SDP goes to the anchor too"
    );
    h.sip_from(trunk(), &respond(&invite, 200, "far", None));
    h.expect_request("ACK");
    assert!(h.take_stanzas().is_empty());
    assert_eq!(answered_events(&h), 0);
    h.input(reply(&call, AnchorOp::Answer, Ok(ANCHOR_TO_XMPP.into())));
    let out = h.take_stanzas();
    assert_eq!(by_action(&out, "session-accept").len(), 1);
    assert_eq!(answered_events(&h), 1);
    assert_eq!(state(&h), Some(CallState::Active));
}

#[test]
fn forked_early_media_uses_the_first_dialog_only() {
    let mut h = Harness::with_config(&anchored(), trunk());
    let (_, invite) = early_accepted(&mut h);
    h.sip_from(trunk(), &reliable(&invite, 183, "fork2", 1, ANSWER_SDP));
    h.take_sip(); // its PRACK
    assert_eq!(h.anchors.len(), 2, "the second fork's SDP is not used");
    assert!(
        h.take_stanzas().is_empty(),
        "one provisional to Jingle only"
    );
    // The other fork answers without SDP: no answer for that dialog.
    h.sip_from(trunk(), &respond(&invite, 200, "fork2", None));
    let sent = h.take_sip();
    let bye = sent
        .iter()
        .find_map(|(_, m)| match m {
            SipMessage::Request(r) if r.method.as_str() == "BYE" => Some(r.clone()),
            _ => None,
        })
        .expect("BYE");
    assert!(bye.headers.get("To").unwrap().contains("tag=fork2"));
    assert!(
        bye.headers
            .get("Reason")
            .unwrap()
            .starts_with("SIP;cause=488;text=")
    );
    let out = h.take_stanzas();
    let terminate = by_action(&out, "session-terminate");
    assert_eq!(
        reason(terminate[0]).as_deref(),
        Some("incompatible-parameters")
    );
    assert_eq!(h.gw.active_calls(), 0);
}

#[test]
fn early_session_accept_refused_by_the_client_cancels_the_invite() {
    let mut h2 = Harness::with_config(&anchored(), trunk());
    let (call, invite) = anchored_invite(&mut h2);
    h2.sip_from(trunk(), &respond(&invite, 183, "far", Some(EARLY_SDP)));
    h2.take_stanzas();
    h2.input(reply(&call, AnchorOp::Answer, Ok(ANCHOR_TO_XMPP.into())));
    let out = h2.take_stanzas();
    let id = by_action(&out, "session-accept")[0]
        .attr("id")
        .unwrap()
        .to_string();
    h2.stanza(&format!(
        "<iq from='alice@test/phone' to='{GW_FULL}' type='error' id='{id}'><error type='cancel'><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
    ));
    h2.expect_request("CANCEL");
}

// ---- passthrough ------------------------------------------------------------

fn passthrough_invite(h: &mut Harness) -> stox::sip::Request {
    h.stanza(&propose("s1", GW));
    h.stanza(&session_initiate("s1", GW_FULL));
    h.advance(Duration::from_millis(250));
    h.take_stanzas();
    h.expect_request("INVITE").1
}

#[test]
fn passthrough_holds_early_sdp_back_and_a_reliable_one_answers_a_200_without_sdp() {
    let mut h = Harness::new();
    let invite = passthrough_invite(&mut h);
    h.sip_from(trunk(), &reliable(&invite, 183, "far", 1, EARLY_SDP));
    h.expect_request("PRACK");
    let out = h.take_stanzas();
    assert_eq!(out.len(), 1);
    assert!(find(&out[0], "ringing").is_some(), "ringing only (item 11)");
    assert_eq!(
        h.gw.calls().next().unwrap().sip.early.as_ref().unwrap().sdp,
        EARLY_SDP,
        "stored (item 12)"
    );
    h.sip_from(trunk(), &respond(&invite, 200, "far", None));
    h.expect_request("ACK");
    let out = h.take_stanzas();
    let accept = by_action(&out, "session-accept");
    assert_eq!(accept.len(), 1);
    let pt = find(accept[0], "payload-type").unwrap();
    assert_eq!(pt.attr("name"), Some("PCMA"), "the early answer's codec");
    let candidate = find(accept[0], "candidate").unwrap();
    assert_eq!(candidate.attr("ip"), Some("192.0.2.50"));
    assert_eq!(answered_events(&h), 1);
}

#[test]
fn passthrough_2xx_with_its_own_sdp_is_the_answer_even_after_a_reliable_early_one() {
    let mut h = Harness::new();
    let invite = passthrough_invite(&mut h);
    h.sip_from(trunk(), &reliable(&invite, 183, "far", 1, EARLY_SDP));
    h.expect_request("PRACK");
    h.take_stanzas();
    h.sip_from(trunk(), &respond(&invite, 200, "far", Some(ANSWER_SDP)));
    h.expect_request("ACK");
    let out = h.take_stanzas();
    let accept = by_action(&out, "session-accept");
    assert_eq!(accept.len(), 1);
    let pt = find(accept[0], "payload-type").unwrap();
    assert_eq!(pt.attr("name"), Some("PCMU"), "the 2xx's own answer");
    assert_eq!(
        find(accept[0], "candidate").unwrap().attr("ip"),
        Some("127.0.0.1")
    );
}

#[test]
fn passthrough_without_sdp_anywhere_ends_with_bye_reason_and_terminate() {
    let mut h = Harness::new();
    let invite = passthrough_invite(&mut h);
    // An unreliable 183's SDP is not an answer the 2xx may leave out.
    h.sip_from(trunk(), &respond(&invite, 183, "far", Some(EARLY_SDP)));
    h.take_stanzas();
    assert!(h.gw.calls().next().unwrap().sip.early.is_none());
    h.sip_from(trunk(), &respond(&invite, 200, "far", None));
    let sent = h.take_sip();
    let requests: Vec<stox::sip::Request> = sent
        .into_iter()
        .filter_map(|(_, m)| match m {
            SipMessage::Request(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(
        requests
            .iter()
            .map(|r| r.method.as_str().to_string())
            .collect::<Vec<_>>(),
        vec!["ACK".to_string(), "BYE".to_string()]
    );
    let reason_header = requests[1].headers.get("Reason").unwrap();
    assert!(
        reason_header.starts_with("SIP;cause=488;text=\"no SDP answer"),
        "{reason_header}"
    );
    let out = h.take_stanzas();
    let terminate = by_action(&out, "session-terminate");
    assert_eq!(terminate.len(), 1);
    assert_eq!(
        reason(terminate[0]).as_deref(),
        Some("incompatible-parameters")
    );
    assert!(by_action(&out, "session-accept").is_empty());
    assert_eq!(h.gw.active_calls(), 0);
    assert_eq!(answered_events(&h), 0);
}

// ---- delayed offer ----------------------------------------------------------

fn invite_without_sdp(call_id: &str) -> String {
    let inv = invite("+15550001000", call_id, "z9hG4bKlate");
    let head = inv.split("Content-Type").next().unwrap();
    format!("{head}Content-Length: 0\r\n\r\n")
}

/// Bob answers a delayed-offer call; returns the call id and the 200.
fn delayed_offer_200(h: &mut Harness) -> (String, stox::sip::Response) {
    h.sip_from(trunk(), &invite_without_sdp("late@pbx"));
    assert_eq!(h.statuses(), vec![100]);
    assert_eq!(h.anchors.len(), 1);
    let offer = h.anchors[0].clone();
    assert_eq!((offer.op, offer.from), (AnchorOp::Offer, MediaLeg::Sip));
    assert!(offer.sdp.contains("c=IN IP4 0.0.0.0\r\n"), "{}", offer.sdp);
    assert!(
        offer.sdp.contains("m=audio 9 RTP/AVP 0 8 9 96 101\r\n"),
        "{}",
        offer.sdp
    );
    assert!(offer.sdp.contains("a=rtpmap:101 telephone-event/8000"));
    let call = offer.call.clone();
    h.input(reply(&call, AnchorOp::Offer, Ok(ANCHOR_TO_XMPP.into())));
    let out = h.take_stanzas();
    let sid = find(&out[0], "propose")
        .and_then(|p| p.attr("id"))
        .expect("JMI propose")
        .to_string();
    h.stanza(&format!("<message from='bob@test/phone' to='+15557770000@sip.test/stox' type='chat' id='p'><proceed xmlns='urn:xmpp:jingle-message:0' id='{sid}'/></message>"));
    let out = h.take_stanzas();
    let si = by_action(&out, "session-initiate");
    assert_eq!(si.len(), 1);
    assert_eq!(
        find(si[0], "candidate").unwrap().attr("ip"),
        Some("203.0.113.5")
    );
    h.stanza(&format!("<iq from='bob@test/phone' to='+15557770000@sip.test/stox' type='set' id='sa'><jingle xmlns='urn:xmpp:jingle:1' action='session-accept' sid='{sid}' responder='bob@test/phone'><content creator='initiator' name='0'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='0' name='PCMU' clockrate='8000'/><rtcp-mux/></description><transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='bobu' pwd='bobpasswordbobpassword'><fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='active'>BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB</fingerprint></transport></content></jingle></iq>"));
    h.take_stanzas();
    if h.anchors[0].mode == MediaMode::Rtpengine {
        // rtpengine is a full ICE agent: the answer waits for the client's
        // candidates (none trickle here) until the gathering deadline.
        assert_eq!(h.anchors.len(), 1);
        h.advance(Duration::from_secs(5));
    }
    assert_eq!(h.anchors.len(), 2);
    assert_eq!(
        (h.anchors[1].op, h.anchors[1].from),
        (AnchorOp::Answer, MediaLeg::Xmpp)
    );
    h.input(reply(&call, AnchorOp::Answer, Ok(ANCHOR_TO_SIP.into())));
    let rs = h.responses();
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].status, 200);
    assert_eq!(
        String::from_utf8(rs[0].body.clone()).unwrap(),
        ANCHOR_TO_SIP,
        "the 200 carries the anchor's description as our offer"
    );
    (call, rs[0].clone())
}

fn ack_for(ok: &stox::sip::Response, sdp: Option<&str>) -> String {
    let to = ok.headers.get("To").unwrap();
    let body = sdp.unwrap_or("");
    let ctype = if sdp.is_some() {
        "Content-Type: application/sdp\n"
    } else {
        ""
    };
    format!(
        "ACK sip:stox@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKlack\nFrom: <sip:+15557770000@127.0.0.1:5080>;tag=caller1\nTo: {to}\nCall-ID: late@pbx\nCSeq: 1 ACK\n{ctype}Content-Length: {}\n\n{body}",
        body.len()
    )
}

#[test]
fn delayed_offer_gets_the_anchors_offer_in_the_200_and_the_ack_answer_moves_the_anchor() {
    let mut h = Harness::with_config(&anchored(), trunk());
    let (call, ok) = delayed_offer_200(&mut h);
    assert_eq!(answered_events(&h), 0);
    h.sip_from(
        trunk(),
        &ack_for(&ok, Some(ANSWER_SDP)).replace("\r\n", "\n"),
    );
    assert_eq!(
        h.updates,
        vec![(call.clone(), MediaLeg::Sip, ANSWER_SDP.to_string())]
    );
    assert_eq!(answered_events(&h), 1);
    let answered = h
        .persisted
        .iter()
        .rev()
        .find(|(k, _)| *k == PersistKind::Answered)
        .map(|(_, c)| c.clone())
        .expect("answered");
    assert_eq!(answered.sip.ack_answer.as_deref(), Some(ANSWER_SDP));
    assert_eq!(answered.state, CallState::Active);
    assert!(h.take_sip().is_empty(), "no BYE");
}

#[test]
fn delayed_offer_ack_without_an_answer_ends_the_call_with_bye_and_reason() {
    let mut h = Harness::with_config(&anchored(), trunk());
    let (call, ok) = delayed_offer_200(&mut h);
    h.sip_from(trunk(), &ack_for(&ok, None));
    let (_, bye) = h.expect_request("BYE");
    let reason_header = bye.headers.get("Reason").unwrap();
    assert!(
        reason_header.starts_with("SIP;cause=488;text=\"no SDP answer in the ACK"),
        "{reason_header}"
    );
    let out = h.take_stanzas();
    let terminate = by_action(&out, "session-terminate");
    assert_eq!(terminate.len(), 1);
    assert_eq!(terminate[0].attr("to"), Some("bob@test/phone"));
    assert_eq!(
        reason(terminate[0]).as_deref(),
        Some("incompatible-parameters")
    );
    assert!(h.updates.is_empty());
    assert_eq!(answered_events(&h), 0);
    assert_eq!(h.releases, vec![(call, MediaMode::Embedded)]);
    assert_eq!(h.gw.active_calls(), 0);
}

#[test]
fn delayed_offer_through_a_trunk_with_codecs_offers_those() {
    let config = anchored().replace(
        "uri = \"sip:127.0.0.1:5080\"\n",
        "uri = \"sip:127.0.0.1:5080\"\ncodecs = [\"PCMA\", \"opus\"]\n",
    );
    let mut h = Harness::with_config(&config, trunk());
    h.sip_from(trunk(), &invite_without_sdp("late2@pbx"));
    assert_eq!(h.statuses(), vec![100]);
    let sdp = &h.anchors[0].sdp;
    assert!(sdp.contains("m=audio 9 RTP/AVP 8 96 101\r\n"), "{sdp}");
    assert!(sdp.contains("a=rtpmap:96 opus/48000/2\r\n"), "{sdp}");
}

fn rtpengine_config() -> String {
    format!(
        "{CONFIG}[media]\nmode = \"rtpengine\"\nrtpengine = \"udp:127.0.0.1:22222\"\npublic_ip = \"203.0.113.5\"\n"
    )
}

/// rtpengine can make the offer too: the gateway's own SIP-side offer goes
/// to it like any SIP offer (the anchor's reply rings the user, the user's
/// answer gives the 200's offer), and the ACK's answer reaches it as an
/// in-dialog *answer* of the SIP leg (`offer: false`: the runtime restates
/// the XMPP side's description as the ng offer and sends this as the answer).
#[test]
fn delayed_offer_on_rtpengine_gets_its_offer_and_the_ack_answer_reaches_it() {
    let mut h = Harness::with_config(&rtpengine_config(), trunk());
    let (call, ok) = delayed_offer_200(&mut h);
    assert_eq!(h.anchors[0].mode, MediaMode::Rtpengine);
    assert!(
        h.anchors[0].sdp.contains("\r\ns=stox-delayed-offer\r\n"),
        "named so that rtpengine does not read its 0.0.0.0 as hold: {}",
        h.anchors[0].sdp
    );
    h.sip_from(
        trunk(),
        &ack_for(&ok, Some(ANSWER_SDP)).replace("\r\n", "\n"),
    );
    assert_eq!(
        h.updates,
        vec![(call.clone(), MediaLeg::Sip, ANSWER_SDP.to_string())]
    );
    assert_eq!(h.update_kinds, vec![(MediaMode::Rtpengine, false)]);
    assert_eq!(answered_events(&h), 1);
    assert!(h.take_sip().is_empty(), "no BYE");
    assert_eq!(h.gw.active_calls(), 1);
}

#[test]
fn delayed_offer_is_refused_with_advice_where_no_anchor_can_offer() {
    let sdes = anchored().replace(
        "uri = \"sip:127.0.0.1:5080\"\n",
        "uri = \"sip:127.0.0.1:5080\"\nsrtp = \"sdes\"\n",
    );
    let rtpengine_sdes = rtpengine_config().replace(
        "uri = \"sip:127.0.0.1:5080\"\n",
        "uri = \"sip:127.0.0.1:5080\"\nsrtp = \"sdes\"\n",
    );
    for (config, words) in [
        (CONFIG.to_string(), "passthrough"),
        (sdes, "srtp = sdes"),
        (rtpengine_sdes, "srtp = sdes"),
    ] {
        let mut h = Harness::with_config(&config, trunk());
        h.sip_from(trunk(), &invite_without_sdp("late3@pbx"));
        let rs = h.responses();
        assert_eq!(rs.len(), 1, "{words}");
        assert_eq!(rs[0].status, 488, "{words}");
        let warning = rs[0].headers.get("Warning").unwrap();
        assert!(warning.starts_with("399 stox \""), "{warning}");
        assert!(warning.contains("delayed-offer"), "{warning}");
        assert!(warning.contains(words), "{words}: {warning}");
        if words != "srtp = sdes" {
            assert!(
                warning.contains("mode = embedded or rtpengine"),
                "{warning}"
            );
        }
        assert!(h.anchors.is_empty() && h.take_stanzas().is_empty());
        assert_eq!(h.gw.active_calls(), 0);
    }
}
