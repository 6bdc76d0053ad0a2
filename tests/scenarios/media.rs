//! Anchored media (`[media] mode = "embedded"`): the core hands each offer
//! and answer to the anchor and continues with the anchor's SDP. The test
//! plays the anchor, answering every `Output::Anchor` with a fixed SDP that
//! names 203.0.113.5, so that whatever reaches a peer can be told apart from
//! the other peer's own description.

use super::harness::*;
use std::time::Duration;
use stox::call::{CallMedia, Input, PersistKind, Side};
use stox::media::anchor::{
    AnchorError, AnchorOp, AnchorReply, MediaLeg, MediaMode, MediaNotice, SipSrtp,
};
use stox::media::stats::{LegStats, MediaStats};
use stox::sip::SipMessage;
use stox::store::CdrRecord;

const GW: &str = "+15551230001@sip.test";

fn config() -> String {
    format!("{CONFIG}[media]\nmode = \"embedded\"\npublic_ip = \"203.0.113.5\"\n")
}

/// The anchor's description toward SIP: plain RTP on its own port.
const ANCHOR_TO_SIP: &str = "v=0\r\no=- 77 1 IN IP4 203.0.113.5\r\ns=-\r\nc=IN IP4 203.0.113.5\r\nt=0 0\r\nm=audio 23456 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n";

/// The anchor's description toward XMPP: ICE and DTLS-SRTP on its own port.
fn anchor_to_xmpp(setup: &str) -> String {
    format!(
        "v=0\r\no=- 78 1 IN IP4 203.0.113.5\r\ns=-\r\nt=0 0\r\nm=audio 24680 UDP/TLS/RTP/SAVPF 0 101\r\nc=IN IP4 203.0.113.5\r\na=mid:0\r\na=ice-ufrag:anch\r\na=ice-pwd:anchorpasswordanchorpass1\r\na=fingerprint:sha-256 12:34:56:78:9A:BC:DE:F0:12:34:56:78:9A:BC:DE:F0:12:34:56:78:9A:BC:DE:F0:12:34:56:78:9A:BC:DE:F0\r\na=setup:{setup}\r\na=candidate:1 1 udp 2130706431 203.0.113.5 24680 typ host\r\na=end-of-candidates\r\na=rtcp-mux\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
    )
}

fn reply(call: &str, op: AnchorOp, result: Result<String, AnchorError>) -> Input {
    Input::Anchored(AnchorReply {
        call: call.to_string(),
        op,
        result,
    })
}

fn body(request: &stox::sip::Request) -> String {
    String::from_utf8(request.body.clone()).unwrap()
}

fn text_of(el: &minidom::Element) -> String {
    find(el, "text").map(|t| t.text()).unwrap_or_default()
}

/// The last snapshot of `kind` the core asked to persist.
fn last_persisted(h: &Harness, kind: PersistKind) -> stox::call::Call {
    h.persisted
        .iter()
        .rev()
        .find(|(k, _)| *k == kind)
        .map(|(_, c)| c.clone())
        .unwrap_or_else(|| panic!("no {kind:?} snapshot"))
}

/// Alice's JMI call up to the anchor's offer request; returns the call id.
fn outbound_to_anchor(h: &mut Harness) -> String {
    h.stanza(&propose("s1", GW));
    h.stanza(&session_initiate("s1", "+15551230001@sip.test/stox"));
    h.take_stanzas();
    assert_eq!(
        h.anchors.len(),
        1,
        "the ICE-lite anchor needs no trickled candidates: the offer goes at once"
    );
    h.advance(Duration::from_millis(250));
    assert!(
        h.take_sip().is_empty(),
        "nothing goes to SIP before the anchor's reply"
    );
    assert_eq!(h.anchors.len(), 1);
    let request = &h.anchors[0];
    assert_eq!(
        (request.op, request.from, request.to()),
        (AnchorOp::Offer, MediaLeg::Xmpp, MediaLeg::Sip)
    );
    assert_eq!(
        (request.mode, request.sip_srtp),
        (MediaMode::Embedded, SipSrtp::None)
    );
    // The client's offer, translated as without an anchor.
    assert!(
        request
            .sdp
            .contains("a=candidate:1 1 udp 2130706431 127.0.0.1 40001 typ host")
    );
    assert!(request.sdp.contains("a=fingerprint:sha-256 AA:BB"));
    request.call.clone()
}

/// Up to an answered outbound call; returns the call id and the INVITE.
fn outbound_answered(h: &mut Harness) -> (String, stox::sip::Request) {
    let call = outbound_to_anchor(h);
    h.input(reply(&call, AnchorOp::Offer, Ok(ANCHOR_TO_SIP.into())));
    let (peer, invite) = h.expect_request("INVITE");
    assert_eq!(peer, trunk());
    assert_eq!(body(&invite), ANCHOR_TO_SIP, "the INVITE offers the anchor");
    h.sip_from(trunk(), &respond(&invite, 180, "far", None));
    h.take_stanzas();
    h.sip_from(trunk(), &respond(&invite, 200, "far", Some(ANSWER_SDP)));
    h.expect_request("ACK");
    assert!(
        h.take_stanzas().is_empty(),
        "the session-accept waits for the anchor"
    );
    assert_eq!(h.anchors.len(), 2);
    let request = &h.anchors[1];
    assert_eq!(
        (request.op, request.from, request.sdp.as_str()),
        (AnchorOp::Answer, MediaLeg::Sip, ANSWER_SDP)
    );
    h.input(reply(
        &call,
        AnchorOp::Answer,
        Ok(anchor_to_xmpp("passive")),
    ));
    let out = h.take_stanzas();
    assert_eq!(out.len(), 1);
    assert_eq!(jingle_action(&out[0]).as_deref(), Some("session-accept"));
    let candidate = find(&out[0], "candidate").expect("the anchor's candidate");
    assert_eq!(candidate.attr("ip"), Some("203.0.113.5"));
    assert_eq!(candidate.attr("port"), Some("24680"));
    assert_eq!(
        find(&out[0], "transport").and_then(|t| t.attr("ufrag")),
        Some("anch")
    );
    assert!(
        find(&out[0], "fingerprint")
            .unwrap()
            .text()
            .starts_with("12:34:56")
    );
    (call, invite)
}

#[test]
fn outbound_invite_and_session_accept_carry_the_anchors_descriptions() {
    let mut h = Harness::with_config(&config(), trunk());
    let (call, invite) = outbound_answered(&mut h);
    let invite_body = body(&invite);
    assert!(!invite_body.contains("40001") && !invite_body.contains("fingerprint"));
    // The stored call holds both exchanges, for media to be set up again.
    let stored = last_persisted(&h, PersistKind::Answered);
    let media: CallMedia = stored.media.expect("anchored");
    assert_eq!(media.mode, MediaMode::Embedded);
    assert_eq!(media.pending, None);
    let offer = media.offer.unwrap();
    assert_eq!(offer.from, MediaLeg::Xmpp);
    assert_eq!(offer.returned.as_deref(), Some(ANCHOR_TO_SIP));
    let answer = media.answer.unwrap();
    assert_eq!(
        (answer.from, answer.given.as_str()),
        (MediaLeg::Sip, ANSWER_SDP)
    );
    assert_eq!(stored.sip.local_sdp.as_deref(), Some(ANCHOR_TO_SIP));
    assert!(h.releases.is_empty());

    // Hang-up from XMPP: BYE, and the media released once.
    h.stanza("<iq from='alice@test/phone' to='+15551230001@sip.test/stox' type='set' id='t1'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s1'><reason><success/></reason></jingle></iq>");
    h.expect_request("BYE");
    assert_eq!(h.releases, vec![(call, MediaMode::Embedded)]);
    h.advance(Duration::from_secs(40));
    assert_eq!(h.releases.len(), 1, "released once");
}

#[test]
fn outbound_hung_up_from_sip_releases_the_media_once() {
    let mut h = Harness::with_config(&config(), trunk());
    let (call, invite) = outbound_answered(&mut h);
    let to = format!("{};tag=far", invite.headers.get("To").unwrap());
    let bye = format!(
        "BYE sip:stox@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKbye9\nFrom: {to}\nTo: {}\nCall-ID: {}\nCSeq: 5 BYE\nContent-Length: 0\n\n",
        invite.headers.get("From").unwrap(),
        invite.headers.get("Call-ID").unwrap()
    );
    h.sip_from(trunk(), &bye);
    assert_eq!(h.statuses(), vec![200]);
    let out = h.take_stanzas();
    assert_eq!(reason(&out[0]).as_deref(), Some("success"));
    assert_eq!(h.releases, vec![(call, MediaMode::Embedded)]);
    assert_eq!(h.gw.active_calls(), 0);
}

#[test]
fn outbound_anchor_refusing_the_offer_ends_the_call_without_an_invite() {
    let mut h = Harness::with_config(&config(), trunk());
    let call = outbound_to_anchor(&mut h);
    h.input(reply(
        &call,
        AnchorOp::Offer,
        Err(AnchorError::Unavailable("no free ports".into())),
    ));
    assert!(h.take_sip().is_empty(), "no INVITE");
    let out = h.take_stanzas();
    let terminate = out
        .iter()
        .find(|s| jingle_action(s).as_deref() == Some("session-terminate"))
        .expect("the user is told");
    assert_eq!(reason(terminate).as_deref(), Some("media-error"));
    assert!(text_of(terminate).contains("no free ports"));
    let ended = last_persisted(&h, PersistKind::Ended).ended.unwrap();
    assert_eq!((ended.by, ended.sip_status), (Side::Gateway, Some(503)));
    assert_eq!(h.gw.active_calls(), 0);
    assert_eq!(h.releases.len(), 1);
}

#[test]
fn outbound_anchor_refusing_the_answer_hangs_up_both_legs() {
    let mut h = Harness::with_config(&config(), trunk());
    let call = outbound_to_anchor(&mut h);
    h.input(reply(&call, AnchorOp::Offer, Ok(ANCHOR_TO_SIP.into())));
    let (_, invite) = h.expect_request("INVITE");
    h.sip_from(trunk(), &respond(&invite, 200, "far", Some(ANSWER_SDP)));
    h.expect_request("ACK");
    h.input(reply(
        &call,
        AnchorOp::Answer,
        Err(AnchorError::Unacceptable("no common codec".into())),
    ));
    let (_, bye) = h.expect_request("BYE");
    assert!(bye.headers.get("To").unwrap().contains("tag=far"));
    let out = h.take_stanzas();
    let terminate = out
        .iter()
        .find(|s| jingle_action(s).as_deref() == Some("session-terminate"))
        .expect("the user is told");
    assert_eq!(
        reason(terminate).as_deref(),
        Some("incompatible-parameters")
    );
    assert!(
        out.iter()
            .all(|s| jingle_action(s).as_deref() != Some("session-accept"))
    );
    let ended = last_persisted(&h, PersistKind::Ended).ended.unwrap();
    assert_eq!((ended.by, ended.sip_status), (Side::Gateway, Some(488)));
    assert_eq!(h.releases.len(), 1);
}

#[test]
fn outbound_hang_up_while_the_answer_is_anchored_is_a_bye() {
    let mut h = Harness::with_config(&config(), trunk());
    let call = outbound_to_anchor(&mut h);
    h.input(reply(&call, AnchorOp::Offer, Ok(ANCHOR_TO_SIP.into())));
    let (_, invite) = h.expect_request("INVITE");
    h.sip_from(trunk(), &respond(&invite, 180, "far", None));
    h.sip_from(trunk(), &respond(&invite, 200, "far", Some(ANSWER_SDP)));
    h.expect_request("ACK");
    h.take_stanzas();
    h.stanza("<iq from='alice@test/phone' to='+15551230001@sip.test/stox' type='set' id='t1'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s1'><reason><success/></reason></jingle></iq>");
    h.expect_request("BYE");
    h.take_stanzas();
    assert_eq!(h.gw.active_calls(), 0);
    assert_eq!(h.releases, vec![(call.clone(), MediaMode::Embedded)]);
    // The anchor's late answer is ignored.
    h.input(reply(
        &call,
        AnchorOp::Answer,
        Ok(anchor_to_xmpp("passive")),
    ));
    assert!(h.take_stanzas().is_empty() && h.take_sip().is_empty());
    assert_eq!(h.releases.len(), 1);
}

#[test]
fn a_reply_the_call_does_not_wait_for_is_ignored() {
    let mut h = Harness::with_config(&config(), trunk());
    let call = outbound_to_anchor(&mut h);
    h.input(reply(&call, AnchorOp::Answer, Ok(ANCHOR_TO_SIP.into())));
    h.input(reply(
        "no-such-call",
        AnchorOp::Answer,
        Ok(ANCHOR_TO_SIP.into()),
    ));
    assert!(h.take_sip().is_empty() && h.take_stanzas().is_empty());
    assert!(h.releases.is_empty());
    // The awaited reply still works.
    h.input(reply(&call, AnchorOp::Offer, Ok(ANCHOR_TO_SIP.into())));
    h.expect_request("INVITE");
    // Late candidates after the offer went out change nothing.
    h.stanza("<iq from='alice@test/phone' to='+15551230001@sip.test/stox' type='set' id='ti'><jingle xmlns='urn:xmpp:jingle:1' action='transport-info' sid='s1'><content creator='initiator' name='0'><transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='uf1' pwd='pwpwpwpwpwpwpwpwpwpwpw'><candidate component='1' foundation='2' generation='0' id='c2' ip='192.0.2.9' port='40009' priority='1' protocol='udp' type='srflx'/><gathering-complete xmlns='urn:xmpp:jingle:transports:ice:0'/></transport></content></jingle></iq>");
    assert!(h.take_sip().is_empty());
    assert_eq!(h.anchors.len(), 1);
}

// ---- inbound ----------------------------------------------------------------

fn jmi(kind: &str, sid: &str) -> String {
    format!(
        "<message from='bob@test/phone' to='+15557770000@sip.test/stox' type='chat' id='j{kind}'><{kind} xmlns='urn:xmpp:jingle-message:0' id='{sid}'/></message>"
    )
}

/// The trunk's INVITE up to the anchor's offer request; returns the call id.
fn inbound_to_anchor(h: &mut Harness) -> String {
    h.sip_from(trunk(), &invite("+15550001000", "in1@pbx", "z9hG4bKin1"));
    assert_eq!(h.statuses(), vec![100]);
    assert!(
        h.take_stanzas().is_empty(),
        "XMPP hears of the call with the anchor's offer"
    );
    assert_eq!(h.anchors.len(), 1);
    let request = &h.anchors[0];
    assert_eq!(
        (request.op, request.from, request.sdp.as_str()),
        (AnchorOp::Offer, MediaLeg::Sip, OFFER_SDP)
    );
    request.call.clone()
}

const CANCEL: &str = "CANCEL sip:+15550001000@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKin1\nFrom: <sip:+15557770000@127.0.0.1:5080>;tag=caller1\nTo: <sip:+15550001000@127.0.0.1:5060>\nCall-ID: in1@pbx\nCSeq: 1 CANCEL\nContent-Length: 0\n\n";

/// Up to bob's session-accept; returns the call id and the sid.
fn inbound_to_accept(h: &mut Harness) -> (String, String) {
    let call = inbound_to_anchor(h);
    h.input(reply(&call, AnchorOp::Offer, Ok(anchor_to_xmpp("actpass"))));
    let out = h.take_stanzas();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].attr("to"), Some("bob@test"));
    let sid = find(&out[0], "propose")
        .and_then(|p| p.attr("id"))
        .expect("JMI propose")
        .to_string();
    assert_eq!(
        last_persisted(h, PersistKind::Created)
            .media
            .unwrap()
            .offer
            .unwrap()
            .returned,
        Some(anchor_to_xmpp("actpass"))
    );
    h.stanza(&jmi("proceed", &sid));
    let out = h.take_stanzas();
    let si = out
        .iter()
        .find(|s| jingle_action(s).as_deref() == Some("session-initiate"))
        .expect("session-initiate");
    let candidate = find(si, "candidate").expect("the anchor's candidate");
    assert_eq!(
        (candidate.attr("ip"), candidate.attr("port")),
        (Some("203.0.113.5"), Some("24680"))
    );
    assert!(find(si, "fingerprint").unwrap().text().starts_with("12:34"));
    assert_eq!(
        find(si, "transport").and_then(|t| t.attr("ufrag")),
        Some("anch")
    );
    h.stanza(&format!("<iq from='bob@test/phone' to='+15557770000@sip.test/stox' type='set' id='sa'><jingle xmlns='urn:xmpp:jingle:1' action='session-accept' sid='{sid}' responder='bob@test/phone'><content creator='initiator' name='0'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='0' name='PCMU' clockrate='8000'/><rtcp-mux/></description><transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='bobu' pwd='bobpasswordbobpassword'><fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='active'>BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB</fingerprint><candidate component='1' foundation='1' generation='0' id='b1' ip='192.0.2.20' port='41000' priority='2130706431' protocol='udp' type='host'/></transport></content></jingle></iq>"));
    assert_eq!(h.take_stanzas()[0].attr("type"), Some("result"));
    h.advance(Duration::from_millis(250));
    assert!(h.responses().is_empty(), "the 200 waits for the anchor");
    (call, sid)
}

#[test]
fn inbound_offer_and_200_carry_the_anchors_descriptions() {
    let mut h = Harness::with_config(&config(), trunk());
    let (call, _) = inbound_to_accept(&mut h);
    assert_eq!(h.anchors.len(), 2);
    let request = &h.anchors[1];
    assert_eq!(
        (request.op, request.from),
        (AnchorOp::Answer, MediaLeg::Xmpp)
    );
    assert!(request.sdp.contains("192.0.2.20 41000"));
    assert!(request.sdp.contains("a=fingerprint:sha-256 BB:BB"));
    h.input(reply(&call, AnchorOp::Answer, Ok(ANCHOR_TO_SIP.into())));
    let rs = h.responses();
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].status, 200);
    assert_eq!(
        String::from_utf8(rs[0].body.clone()).unwrap(),
        ANCHOR_TO_SIP
    );
    let to = rs[0].headers.get("To").unwrap().to_string();
    let ack = format!(
        "ACK sip:stox@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKack1\nFrom: <sip:+15557770000@127.0.0.1:5080>;tag=caller1\nTo: {to}\nCall-ID: in1@pbx\nCSeq: 1 ACK\nContent-Length: 0\n\n"
    );
    h.sip_from(trunk(), &ack);
    let answered = last_persisted(&h, PersistKind::Answered);
    assert_eq!(
        answered.media.unwrap().answer.unwrap().returned.as_deref(),
        Some(ANCHOR_TO_SIP)
    );
    let bye = format!(
        "BYE sip:stox@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKbye2\nFrom: <sip:+15557770000@127.0.0.1:5080>;tag=caller1\nTo: {to}\nCall-ID: in1@pbx\nCSeq: 2 BYE\nContent-Length: 0\n\n"
    );
    h.sip_from(trunk(), &bye);
    assert_eq!(h.statuses(), vec![200]);
    assert_eq!(h.releases, vec![(call, MediaMode::Embedded)]);
}

#[test]
fn inbound_hung_up_from_xmpp_releases_the_media_once() {
    let mut h = Harness::with_config(&config(), trunk());
    let (call, sid) = inbound_to_accept(&mut h);
    h.input(reply(&call, AnchorOp::Answer, Ok(ANCHOR_TO_SIP.into())));
    let to = h.responses()[0].headers.get("To").unwrap().to_string();
    h.sip_from(trunk(), &format!("ACK sip:stox@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKack1\nFrom: <sip:+15557770000@127.0.0.1:5080>;tag=caller1\nTo: {to}\nCall-ID: in1@pbx\nCSeq: 1 ACK\nContent-Length: 0\n\n"));
    h.stanza(&format!("<iq from='bob@test/phone' to='+15557770000@sip.test/stox' type='set' id='t2'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='{sid}'><reason><success/></reason></jingle></iq>"));
    h.expect_request("BYE");
    assert_eq!(h.releases, vec![(call, MediaMode::Embedded)]);
}

#[test]
fn inbound_anchor_refusing_the_offer_answers_the_invite_with_its_status() {
    for (error, status) in [
        (AnchorError::Unacceptable("no codec".into()), 488),
        (AnchorError::Unavailable("ports exhausted".into()), 503),
    ] {
        let mut h = Harness::with_config(&config(), trunk());
        let call = inbound_to_anchor(&mut h);
        h.input(reply(&call, AnchorOp::Offer, Err(error)));
        let rs = h.responses();
        assert_eq!(rs.len(), 1);
        assert_eq!(rs[0].status, status);
        let warning = rs[0].headers.get("Warning").expect("a Warning says why");
        assert!(warning.starts_with("399 stox \"media "), "{warning}");
        assert!(h.take_stanzas().is_empty(), "XMPP never heard of it");
        assert_eq!(h.gw.active_calls(), 0);
        let ended = last_persisted(&h, PersistKind::Ended).ended.unwrap();
        assert_eq!((ended.by, ended.sip_status), (Side::Gateway, Some(status)));
    }
}

#[test]
fn inbound_anchor_refusing_the_answer_fails_the_invite_and_the_session() {
    let mut h = Harness::with_config(&config(), trunk());
    let (call, _) = inbound_to_accept(&mut h);
    h.input(reply(
        &call,
        AnchorOp::Answer,
        Err(AnchorError::Unavailable("rtpengine timed out".into())),
    ));
    let rs = h.responses();
    assert_eq!(rs.iter().map(|r| r.status).collect::<Vec<_>>(), vec![503]);
    let out = h.take_stanzas();
    let terminate = out
        .iter()
        .find(|s| jingle_action(s).as_deref() == Some("session-terminate"))
        .expect("the device is told");
    assert_eq!(terminate.attr("to"), Some("bob@test/phone"));
    assert_eq!(reason(terminate).as_deref(), Some("media-error"));
    assert!(text_of(terminate).contains("rtpengine timed out"));
    assert_eq!(h.gw.active_calls(), 0);
    assert_eq!(h.releases.len(), 1);
}

#[test]
fn cancel_while_the_offer_is_at_the_anchor_releases_after_the_late_reply() {
    let mut h = Harness::with_config(&config(), trunk());
    let call = inbound_to_anchor(&mut h);
    h.sip_from(trunk(), CANCEL);
    let mut statuses = h.statuses();
    statuses.sort();
    assert_eq!(statuses, vec![200, 487]);
    assert!(
        h.take_stanzas().is_empty(),
        "no retract for a call never proposed"
    );
    assert_eq!(h.gw.active_calls(), 0);
    assert!(
        h.releases.is_empty(),
        "nothing to release before the anchor answers"
    );
    h.input(reply(&call, AnchorOp::Offer, Ok(anchor_to_xmpp("actpass"))));
    assert!(h.take_stanzas().is_empty() && h.take_sip().is_empty());
    assert_eq!(h.releases, vec![(call.clone(), MediaMode::Embedded)]);
    // A second late reply frees nothing more.
    h.input(reply(&call, AnchorOp::Offer, Ok(anchor_to_xmpp("actpass"))));
    assert_eq!(h.releases.len(), 1);
}

#[test]
fn ring_timeout_while_the_offer_is_at_the_anchor_answers_480() {
    let mut h = Harness::with_config(&config(), trunk());
    let call = inbound_to_anchor(&mut h);
    h.advance(Duration::from_secs(61));
    assert!(h.statuses().contains(&480));
    assert!(h.take_stanzas().is_empty());
    h.input(reply(
        &call,
        AnchorOp::Offer,
        Err(AnchorError::Unavailable("late".into())),
    ));
    assert_eq!(h.releases, vec![(call, MediaMode::Embedded)]);
}

// ---- media notices ------------------------------------------------------------

#[test]
fn no_media_ends_an_established_call_on_both_sides_with_the_reason() {
    let mut h = Harness::with_config(&config(), trunk());
    let (call, _) = outbound_answered(&mut h);
    h.input(Input::Media {
        call: call.clone(),
        notice: MediaNotice::Inactive {
            leg: MediaLeg::Sip,
            secs: 60,
        },
    });
    let (_, bye) = h.expect_request("BYE");
    let cause = bye.headers.get("Reason").expect("a Reason header");
    assert_eq!(cause, "SIP;cause=408;text=\"no media from sip for 60 s\"");
    let out = h.take_stanzas();
    let terminate = out
        .iter()
        .find(|s| jingle_action(s).as_deref() == Some("session-terminate"))
        .expect("the user is told");
    assert_eq!(reason(terminate).as_deref(), Some("media-error"));
    assert_eq!(text_of(terminate), "no media from sip for 60 s");
    let ended = last_persisted(&h, PersistKind::Ended).ended.unwrap();
    assert_eq!(ended.by, Side::Gateway);
    assert_eq!(h.releases, vec![(call.clone(), MediaMode::Embedded)]);
    // The call is gone: a second notice changes nothing.
    h.input(Input::Media {
        call,
        notice: MediaNotice::Inactive {
            leg: MediaLeg::Sip,
            secs: 61,
        },
    });
    assert!(h.take_sip().is_empty() && h.take_stanzas().is_empty());
}

fn leg(packets: u64, lost: u64, jitter_ms: f64) -> LegStats {
    LegStats {
        packets_in: packets,
        bytes_in: packets * 172,
        packets_out: packets,
        bytes_out: packets * 172,
        dropped: 0,
        lost,
        jitter_ms,
    }
}

fn stats(call: &str, xmpp: LegStats, sip: LegStats) -> Input {
    Input::Media {
        call: call.to_string(),
        notice: MediaNotice::Stats { xmpp, sip },
    }
}

/// Reports only update the call: nothing is sent or stored for them, the
/// latest one rides in the Ended snapshot into the CDR, and one for a call
/// that is gone changes nothing.
#[test]
fn the_last_stats_report_reaches_the_ended_snapshot_and_the_cdr() {
    let mut h = Harness::with_config(&config(), trunk());
    let (call, invite) = outbound_answered(&mut h);
    let writes = h.persisted.len();
    h.advance(Duration::from_secs(5));
    h.input(stats(&call, leg(250, 1, 2.5), leg(249, 0, 4.0)));
    h.advance(Duration::from_secs(5));
    let (xmpp, sip) = (leg(500, 3, 3.5), leg(498, 2, 6.25));
    h.take_sip();
    h.take_stanzas();
    h.input(stats(&call, xmpp, sip));
    assert!(h.take_sip().is_empty() && h.take_stanzas().is_empty());
    assert_eq!(h.persisted.len(), writes, "a report is not a store write");
    assert_eq!(h.gw.active_calls(), 1, "a report does not end the call");

    // The SIP side hangs up 3 s after the last report.
    h.advance(Duration::from_secs(3));
    let to = format!("{};tag=far", invite.headers.get("To").unwrap());
    let bye = format!(
        "BYE sip:stox@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKbye7\nFrom: {to}\nTo: {}\nCall-ID: {}\nCSeq: 5 BYE\nContent-Length: 0\n\n",
        invite.headers.get("From").unwrap(),
        invite.headers.get("Call-ID").unwrap()
    );
    h.sip_from(trunk(), &bye);
    assert_eq!(h.statuses(), vec![200]);
    assert_eq!(reason(&h.take_stanzas()[0]).as_deref(), Some("success"));
    assert_eq!(h.persisted.len(), writes + 1, "only the Ended snapshot");
    let ended = last_persisted(&h, PersistKind::Ended);
    let expected = MediaStats { xmpp, sip };
    assert_eq!(ended.media.as_ref().unwrap().stats, Some(expected));
    // The stored form keeps them, and the CDR maps them.
    let back: stox::call::Call =
        serde_json::from_str(&serde_json::to_string(&ended).unwrap()).unwrap();
    assert_eq!(back.media.unwrap().stats, Some(expected));
    let cdr = CdrRecord::from_call(&ended, "gw", 0, Some(1_000), 14_000);
    assert_eq!(cdr.media, Some(expected));

    // A late report (the relay's, racing its release) for the gone call.
    h.input(stats(&call, leg(600, 3, 3.5), sip));
    assert!(h.take_sip().is_empty() && h.take_stanzas().is_empty());
    assert_eq!(h.persisted.len(), writes + 1);
}

/// The relay's final report comes before its Inactive notice: the Ended
/// snapshot of a call the anchor ended has the counts up to that moment.
#[test]
fn a_final_report_before_the_inactive_notice_is_in_the_cdr() {
    let mut h = Harness::with_config(&config(), trunk());
    let (call, _) = outbound_answered(&mut h);
    let (xmpp, sip) = (leg(300, 0, 1.0), leg(120, 0, 2.0));
    h.input(stats(&call, xmpp, sip));
    h.input(Input::Media {
        call: call.clone(),
        notice: MediaNotice::Inactive {
            leg: MediaLeg::Sip,
            secs: 60,
        },
    });
    h.expect_request("BYE");
    let ended = last_persisted(&h, PersistKind::Ended);
    assert_eq!(ended.ended.unwrap().sip_status, Some(408));
    assert_eq!(ended.media.unwrap().stats, Some(MediaStats { xmpp, sip }));
}

/// A passthrough call has no anchor and so no counts: a report (there is
/// none in practice) is ignored and the CDR's media is empty.
#[test]
fn a_passthrough_cdr_has_no_media_counts() {
    let config = format!("{CONFIG}[media]\nmode = \"passthrough\"\n");
    let mut h = Harness::with_config(&config, trunk());
    h.stanza(&propose("s1", GW));
    h.stanza(&session_initiate("s1", "+15551230001@sip.test/stox"));
    h.advance(Duration::from_millis(250));
    let (_, invite) = h.expect_request("INVITE");
    h.sip_from(trunk(), &respond(&invite, 200, "far", Some(ANSWER_SDP)));
    let call = h.persisted[0].1.id.clone();
    h.input(stats(&call, leg(1, 0, 0.0), leg(1, 0, 0.0)));
    h.stanza("<iq from='alice@test/phone' to='+15551230001@sip.test/stox' type='set' id='t1'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s1'/></iq>");
    let ended = last_persisted(&h, PersistKind::Ended);
    assert!(ended.media.is_none());
    assert_eq!(CdrRecord::from_call(&ended, "gw", 0, None, 1).media, None);
}

#[test]
fn failed_media_transport_ends_the_call_with_failed_transport() {
    let mut h = Harness::with_config(&config(), trunk());
    let (call, _) = outbound_answered(&mut h);
    h.input(Input::Media {
        call,
        notice: MediaNotice::Failed {
            leg: MediaLeg::Xmpp,
            why: "DTLS handshake failed".into(),
        },
    });
    let (_, bye) = h.expect_request("BYE");
    assert!(bye.headers.get("Reason").unwrap().contains("cause=488"));
    let out = h.take_stanzas();
    assert_eq!(reason(&out[0]).as_deref(), Some("failed-transport"));
    assert!(text_of(&out[0]).contains("DTLS handshake failed"));
}

// ---- which calls are anchored ----------------------------------------------------

#[test]
fn passthrough_mode_asks_no_anchor() {
    let config = format!("{CONFIG}[media]\nmode = \"passthrough\"\n");
    let mut h = Harness::with_config(&config, trunk());
    h.stanza(&propose("s1", GW));
    h.stanza(&session_initiate("s1", "+15551230001@sip.test/stox"));
    h.advance(Duration::from_millis(250));
    let (_, invite) = h.expect_request("INVITE");
    assert!(body(&invite).contains("127.0.0.1 40001 typ host"));
    h.sip_from(trunk(), &respond(&invite, 200, "far", Some(ANSWER_SDP)));
    assert!(
        h.take_stanzas()
            .iter()
            .any(|s| jingle_action(s).as_deref() == Some("session-accept"))
    );
    h.stanza("<iq from='alice@test/phone' to='+15551230001@sip.test/stox' type='set' id='t1'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s1'/></iq>");
    assert!(h.anchors.is_empty() && h.releases.is_empty());
    assert!(
        h.persisted.iter().all(|(_, c)| c.media.is_none()),
        "passthrough calls carry no media state"
    );
}

#[test]
fn a_trunks_media_overrides_the_global_mode() {
    // Global passthrough, the trunk through rtpengine with SDES toward it.
    let config = format!(
        "{}media = \"rtpengine\"\nsrtp = \"sdes\"\n{}[media]\nmode = \"passthrough\"\nrtpengine = \"udp:127.0.0.1:2223\"\n",
        &CONFIG[..CONFIG.find("[[number]]").unwrap()],
        &CONFIG[CONFIG.find("[[number]]").unwrap()..]
    );
    let mut h = Harness::with_config(&config, trunk());
    h.stanza(&propose("s1", GW));
    h.stanza(&session_initiate("s1", "+15551230001@sip.test/stox"));
    h.advance(Duration::from_millis(250));
    assert!(h.take_sip().is_empty());
    assert_eq!(h.anchors.len(), 1);
    assert_eq!(
        (h.anchors[0].mode, h.anchors[0].sip_srtp),
        (MediaMode::Rtpengine, SipSrtp::Sdes)
    );
    // The inbound call from that trunk is anchored the same way.
    h.sip_from(trunk(), &invite("+15550001000", "in7@pbx", "z9hG4bKin7"));
    assert_eq!(h.anchors.len(), 2);
    assert_eq!(
        (h.anchors[1].op, h.anchors[1].mode),
        (AnchorOp::Offer, MediaMode::Rtpengine)
    );
    assert!(
        h.take_sip()
            .iter()
            .all(|(_, m)| matches!(m, SipMessage::Response(r) if r.status == 100))
    );

    // Global embedded, the trunk passed through: no anchor.
    let config = format!(
        "{}media = \"passthrough\"\n{}[media]\nmode = \"embedded\"\n",
        &CONFIG[..CONFIG.find("[[number]]").unwrap()],
        &CONFIG[CONFIG.find("[[number]]").unwrap()..]
    );
    let mut h = Harness::with_config(&config, trunk());
    h.stanza(&propose("s1", GW));
    h.stanza(&session_initiate("s1", "+15551230001@sip.test/stox"));
    h.advance(Duration::from_millis(250));
    h.expect_request("INVITE");
    assert!(h.anchors.is_empty());
}

#[test]
fn stored_snapshots_keep_the_anchored_sdp_and_old_ones_still_load() {
    let mut h = Harness::with_config(&config(), trunk());
    outbound_answered(&mut h);
    let anchored = last_persisted(&h, PersistKind::Answered);
    let json = serde_json::to_string(&anchored).unwrap();
    let back: stox::call::Call = serde_json::from_str(&json).unwrap();
    assert_eq!(back.media, anchored.media);
    assert!(json.contains("\"returned\""), "{json}");
    // A snapshot written before anchoring existed has no `media`.
    let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
    value.as_object_mut().unwrap().remove("media");
    let old: stox::call::Call = serde_json::from_value(value).unwrap();
    assert_eq!(old.media, None);
    // And a passthrough call writes none.
    let config = format!("{CONFIG}[media]\nmode = \"passthrough\"\n");
    let mut h = Harness::with_config(&config, trunk());
    h.stanza(&propose("s1", GW));
    let (_, created) = h.persisted[0].clone();
    let value = serde_json::to_value(&created).unwrap();
    assert!(value.get("media").is_none(), "{value}");
    assert!(value.get("xmpp").unwrap().get("media").is_some());
}

#[test]
fn a_sip_re_invite_with_sdp_updates_the_anchor_and_keeps_our_answer() {
    let mut h = Harness::with_config(&config(), trunk());
    let (call, _) = inbound_to_accept(&mut h);
    h.input(reply(&call, AnchorOp::Answer, Ok(ANCHOR_TO_SIP.into())));
    let rs = h.responses();
    let to = rs[0].headers.get("To").unwrap().to_string();
    let ack = format!(
        "ACK sip:stox@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKack1\nFrom: <sip:+15557770000@127.0.0.1:5080>;tag=caller1\nTo: {to}\nCall-ID: in1@pbx\nCSeq: 1 ACK\nContent-Length: 0\n\n"
    );
    h.sip_from(trunk(), &ack);
    let hold = "v=0\r\no=- 1 2 IN IP4 198.51.100.9\r\ns=-\r\nc=IN IP4 198.51.100.9\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\na=sendonly\r\n";
    let reinvite = format!(
        "INVITE sip:stox@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKre1\nFrom: <sip:+15557770000@127.0.0.1:5080>;tag=caller1\nTo: {to}\nCall-ID: in1@pbx\nCSeq: 2 INVITE\nContact: <sip:pbx@127.0.0.1:5080>\nContent-Type: application/sdp\nContent-Length: {}\n\n{hold}",
        hold.len()
    );
    h.sip_from(trunk(), &reinvite);
    let rs = h.responses();
    assert_eq!(rs.last().map(|r| r.status), Some(200));
    assert_eq!(
        String::from_utf8(rs.last().unwrap().body.clone()).unwrap(),
        ANCHOR_TO_SIP
            .replace("a=sendrecv", "a=recvonly")
            .replace("77 1 IN", "77 2 IN"),
        "the answer stays the anchor's description, with the RFC 3264 §6.1 direction"
    );
    assert_eq!(h.updates.len(), 1);
    assert_eq!(h.updates[0], (call, MediaLeg::Sip, hold.to_string()));
    assert!(h.anchors.len() == 2, "no new offer/answer exchange");
}
