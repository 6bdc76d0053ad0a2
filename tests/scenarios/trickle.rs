//! Trickle ICE with the SIP side (RFC 8838/8840, checklist items 1, 5, 7):
//! support detection and half-trickle advertisement, candidates trickled by
//! the XMPP user as INFO (one at a time, in order, only to peers that
//! trickle), INFO from SIP as transport-info, malformed frags and unknown
//! packages, ICE restarts by re-INVITE; nothing of it with an anchor.

use super::harness::*;
use std::time::Duration;
use stox::call::Input;
use stox::media::anchor::{AnchorOp, AnchorReply};
use stox::sip::SipMessage;

const CALLEE: &str = "+15551230001@sip.test/stox";
const ALICE: &str = "alice@test/phone";
const PWD: &str = "pwpwpwpwpwpwpwpwpwpwpw";

/// The callee's answer: ICE (host candidate), DTLS, and trickle ICE.
const ICE_ANSWER: &str = "v=0\r\no=- 5 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
a=ice-options:trickle\r\n\
m=audio 50000 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 127.0.0.1\r\na=mid:0\r\n\
a=ice-ufrag:farU\r\na=ice-pwd:farpasswordfarpassword\r\n\
a=fingerprint:sha-256 AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99\r\n\
a=setup:active\r\na=candidate:7 1 udp 2130706431 127.0.0.1 50000 typ host\r\n\
a=rtcp-mux\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n";

/// A transport-info from alice with one candidate on `port`.
fn alice_trickles(id: &str, ufrag: &str, port: u16, complete: bool) -> String {
    let end = if complete {
        "<gathering-complete/>"
    } else {
        ""
    };
    format!(
        "<iq from='{ALICE}' to='{CALLEE}' type='set' id='{id}'>\
<jingle xmlns='urn:xmpp:jingle:1' action='transport-info' sid='s1'>\
<content creator='initiator' name='0'>\
<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='{ufrag}' pwd='{PWD}{ufrag}'>\
<candidate component='1' foundation='f{port}' generation='0' id='{id}' ip='192.0.2.9' \
port='{port}' priority='1694498815' protocol='udp' type='srflx' rel-addr='10.0.0.9' rel-port='{port}'/>\
{end}</transport></content></jingle></iq>"
    )
}

/// `respond`, with `extra` header lines before Content-Length.
fn respond_with(req: &stox::sip::Request, status: u16, sdp: &str, extra: &str) -> String {
    respond(req, status, "far", Some(sdp)).replacen(
        "Content-Type:",
        &format!("{extra}Content-Type:"),
        1,
    )
}

/// Alice's direct call, INVITE sent; returns it.
fn invite_sent(h: &mut Harness) -> stox::sip::Request {
    h.stanza(&session_initiate("s1", CALLEE));
    h.take_stanzas();
    h.advance(Duration::from_millis(250));
    h.expect_request("INVITE").1
}

/// The far end answers with `sdp` and `extra` headers; ACK and accept seen.
fn answered(h: &mut Harness, invite: &stox::sip::Request, sdp: &str, extra: &str) {
    h.sip_from(trunk(), &respond_with(invite, 200, sdp, extra));
    h.expect_request("ACK");
    let out = h.take_stanzas();
    assert!(
        out.iter()
            .any(|s| jingle_action(s).as_deref() == Some("session-accept"))
    );
}

/// A request from the far end in the outbound call's dialog.
fn from_far(
    invite: &stox::sip::Request,
    method: &str,
    cseq: u32,
    extra: &str,
    ctype: &str,
    body: &str,
) -> String {
    let h = &invite.headers;
    let ctype = if ctype.is_empty() {
        String::new()
    } else {
        format!("Content-Type: {ctype}\r\n")
    };
    format!(
        "{method} sip:stox@127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKfar{cseq}\r\n\
Max-Forwards: 70\r\n\
From: {};tag=far\r\n\
To: {}\r\n\
Call-ID: {}\r\n\
CSeq: {cseq} {method}\r\n\
Contact: <sip:far@127.0.0.1:5080>\r\n\
{extra}{ctype}Content-Length: {}\r\n\r\n{body}",
        h.get("To").unwrap(),
        h.get("From").unwrap(),
        h.get("Call-ID").unwrap(),
        body.len()
    )
}

fn info_requests(h: &mut Harness) -> Vec<stox::sip::Request> {
    h.take_sip()
        .into_iter()
        .filter_map(|(_, m)| match m {
            SipMessage::Request(r) if r.method.as_str() == "INFO" => Some(r),
            _ => None,
        })
        .collect()
}

fn m_line(sdp: &str) -> String {
    sdp.lines()
        .find(|l| l.starts_with("m="))
        .unwrap()
        .to_string()
}

#[test]
fn passthrough_invite_advertises_half_trickle() {
    let mut h = Harness::new();
    let invite = invite_sent(&mut h);
    assert!(invite.headers.has_token("Supported", "trickle-ice"));
    assert_eq!(invite.headers.get("Recv-Info"), Some("trickle-ice"));
    let body = String::from_utf8(invite.body.clone()).unwrap();
    assert!(
        body.contains("\r\nt=0 0\r\na=ice-options:trickle\r\n"),
        "{body}"
    );
    // Still a full (vanilla) offer for a peer that does not trickle.
    assert!(body.contains("a=candidate:1 1 udp 2130706431 127.0.0.1 40001 typ host"));
}

#[test]
fn late_candidates_become_info_requests_one_at_a_time_in_order() {
    let mut h = Harness::new();
    let invite = invite_sent(&mut h);
    let offer_m = m_line(&String::from_utf8(invite.body.clone()).unwrap());
    answered(&mut h, &invite, ICE_ANSWER, "Supported: trickle-ice\r\n");
    h.stanza(&alice_trickles("t1", "uf1", 40100, false));
    assert_eq!(h.take_stanzas()[0].attr("type"), Some("result"));
    let infos = info_requests(&mut h);
    assert_eq!(infos.len(), 1);
    let info = &infos[0];
    assert_eq!(info.headers.get("Info-Package"), Some("trickle-ice"));
    assert_eq!(
        info.headers.get("Content-Type"),
        Some("application/trickle-ice-sdpfrag")
    );
    assert_eq!(
        info.headers.get("Content-Disposition"),
        Some("Info-Package")
    );
    assert!(info.headers.get("To").unwrap().contains("tag=far"));
    assert_eq!(
        String::from_utf8(info.body.clone()).unwrap(),
        format!(
            "a=ice-ufrag:uf1\r\na=ice-pwd:{PWD}uf1\r\n{offer_m}\r\na=mid:0\r\n\
a=candidate:f40100 1 udp 1694498815 192.0.2.9 40100 typ srflx raddr 10.0.0.9 rport 40100 generation 0\r\n"
        )
    );
    // The next waits for the first's final response.
    h.stanza(&alice_trickles("t2", "uf1", 40101, true));
    h.take_stanzas();
    assert!(info_requests(&mut h).is_empty(), "one INFO outstanding");
    h.sip_from(trunk(), &respond(info, 200, "far", None));
    let infos = info_requests(&mut h);
    assert_eq!(infos.len(), 1);
    let body = String::from_utf8(infos[0].body.clone()).unwrap();
    assert!(body.contains("192.0.2.9 40101 typ srflx"), "{body}");
    assert!(body.ends_with("a=end-of-candidates\r\n"), "{body}");
    let seq = |r: &stox::sip::Request| r.headers.cseq().unwrap().seq;
    assert_eq!(seq(&infos[0]), seq(info) + 1);
    h.sip_from(trunk(), &respond(&infos[0], 200, "far", None));
    assert!(info_requests(&mut h).is_empty());
    assert_eq!(h.gw.active_calls(), 1);
}

#[test]
fn candidates_trickled_before_the_answer_wait_for_the_confirmed_dialog() {
    let mut h = Harness::new();
    let invite = invite_sent(&mut h);
    h.sip_from(trunk(), &respond(&invite, 180, "far", None));
    h.take_stanzas();
    h.stanza(&alice_trickles("t1", "uf1", 40100, false));
    h.take_stanzas();
    assert!(
        info_requests(&mut h).is_empty(),
        "no INFO in the early dialog"
    );
    // 200 without the option tag but with a=ice-options:trickle: enough.
    h.sip_from(trunk(), &respond_with(&invite, 200, ICE_ANSWER, ""));
    let infos = info_requests(&mut h);
    assert_eq!(infos.len(), 1, "sent once the 2xx confirmed the dialog");
    assert!(
        String::from_utf8(infos[0].body.clone())
            .unwrap()
            .contains("192.0.2.9 40100")
    );
}

#[test]
fn a_peer_without_trickle_support_gets_no_info() {
    let mut h = Harness::new();
    let invite = invite_sent(&mut h);
    // Plain RTP answer, no Supported: trickle-ice.
    answered(&mut h, &invite, ANSWER_SDP, "");
    h.stanza(&alice_trickles("t1", "uf1", 40100, true));
    assert_eq!(h.take_stanzas()[0].attr("type"), Some("result"));
    assert!(h.take_sip().is_empty(), "nothing to SIP (checklist 5)");
}

#[test]
fn candidates_before_a_non_trickling_answer_are_dropped_at_the_answer() {
    let mut h = Harness::new();
    let invite = invite_sent(&mut h);
    h.stanza(&alice_trickles("t1", "uf1", 40100, false));
    h.take_stanzas();
    answered(&mut h, &invite, ANSWER_SDP, "");
    assert!(info_requests(&mut h).is_empty());
}

/// An INFO trickle-ice from the far end with `body`.
fn far_info(invite: &stox::sip::Request, cseq: u32, package: &str, body: &str) -> String {
    from_far(
        invite,
        "INFO",
        cseq,
        &format!("Info-Package: {package}\r\nContent-Disposition: Info-Package\r\n"),
        "application/trickle-ice-sdpfrag",
        body,
    )
}

#[test]
fn info_from_sip_becomes_a_transport_info() {
    let mut h = Harness::new();
    let invite = invite_sent(&mut h);
    answered(&mut h, &invite, ICE_ANSWER, "Supported: trickle-ice\r\n");
    let frag = "a=ice-ufrag:farU\r\na=ice-pwd:farpasswordfarpassword\r\n\
m=audio 50000 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n\
a=candidate:7 1 udp 2130706431 127.0.0.1 50000 typ host\r\n\
a=candidate:9 1 udp 1694498815 198.51.100.7 50002 typ srflx raddr 127.0.0.1 rport 50000\r\n\
a=end-of-candidates\r\n";
    h.sip_from(trunk(), &far_info(&invite, 2, "trickle-ice", frag));
    assert_eq!(h.statuses(), vec![200]);
    let out = h.take_stanzas();
    assert_eq!(out.len(), 1);
    let ti = &out[0];
    assert_eq!(jingle_action(ti).as_deref(), Some("transport-info"));
    assert_eq!(ti.attr("to"), Some(ALICE));
    assert_eq!(find(ti, "jingle").unwrap().attr("sid"), Some("s1"));
    let content = find(ti, "content").unwrap();
    assert_eq!(content.attr("name"), Some("0"));
    assert_eq!(content.attr("creator"), Some("initiator"));
    let transport = find(ti, "transport").unwrap();
    assert_eq!(transport.ns(), "urn:xmpp:jingle:transports:ice-udp:1");
    assert_eq!(transport.attr("ufrag"), Some("farU"));
    assert_eq!(transport.attr("pwd"), Some("farpasswordfarpassword"));
    let cands: Vec<_> = transport
        .children()
        .filter(|c| c.name() == "candidate")
        .collect();
    assert_eq!(cands.len(), 2);
    assert_eq!(cands[1].attr("ip"), Some("198.51.100.7"));
    assert_eq!(cands[1].attr("port"), Some("50002"));
    assert_eq!(cands[1].attr("type"), Some("srflx"));
    assert_eq!(cands[1].attr("rel-addr"), Some("127.0.0.1"));
    assert_eq!(cands[1].attr("generation"), Some("0"));
    // Foundations kept distinct (checklist 6), ids unique.
    assert_eq!(cands[0].attr("foundation"), Some("7"));
    assert_eq!(cands[1].attr("foundation"), Some("9"));
    assert_ne!(cands[0].attr("id"), cands[1].attr("id"));
    assert!(
        find(transport, "gathering-complete").is_some(),
        "a=end-of-candidates → <gathering-complete/>"
    );
}

#[test]
fn a_malformed_sdpfrag_gets_400_with_a_warning_and_nothing_reaches_xmpp() {
    let mut h = Harness::new();
    let invite = invite_sent(&mut h);
    answered(&mut h, &invite, ICE_ANSWER, "Supported: trickle-ice\r\n");
    let bad = "m=audio 9 RTP/AVP 0\r\na=mid:0\r\na=candidate:1 1 udp many 1.2.3.4 5 typ host\r\n";
    h.sip_from(trunk(), &far_info(&invite, 2, "trickle-ice", bad));
    let rs = h.responses();
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].status, 400);
    let warning = rs[0].headers.get("Warning").unwrap();
    assert!(
        warning.starts_with("399 stox \"bad sdpfrag: a=candidate: priority 'many'"),
        "{warning}"
    );
    // A stream the session does not have.
    let unknown = "a=ice-ufrag:x\r\na=ice-pwd:y\r\nm=video 9 RTP/AVP 0\r\na=mid:zz\r\n";
    h.sip_from(trunk(), &far_info(&invite, 3, "trickle-ice", unknown));
    assert_eq!(h.statuses(), vec![400]);
    // Not an sdpfrag at all.
    let wrong = from_far(
        &invite,
        "INFO",
        4,
        "Info-Package: trickle-ice\r\n",
        "application/sdp",
        "v=0\r\n",
    );
    h.sip_from(trunk(), &wrong);
    let rs = h.responses();
    assert_eq!(rs[0].status, 415);
    assert_eq!(
        rs[0].headers.get("Accept"),
        Some("application/trickle-ice-sdpfrag")
    );
    assert!(h.take_stanzas().is_empty());
    assert_eq!(h.gw.active_calls(), 1, "the call goes on");
}

#[test]
fn an_unsupported_info_package_gets_469_naming_trickle_ice() {
    let mut h = Harness::new();
    let invite = invite_sent(&mut h);
    answered(&mut h, &invite, ICE_ANSWER, "Supported: trickle-ice\r\n");
    h.sip_from(trunk(), &far_info(&invite, 2, "foo", "x"));
    let rs = h.responses();
    assert_eq!(rs[0].status, 469);
    assert_eq!(rs[0].headers.get("Recv-Info"), Some("trickle-ice"));
    assert!(h.take_stanzas().is_empty());
}

/// The far end's re-INVITE restarting ICE (new ufrag/pwd, a new candidate).
fn restart_offer() -> String {
    ICE_ANSWER
        .replace("o=- 5 1", "o=- 5 2")
        .replace("a=setup:active", "a=setup:actpass")
        .replace("farU", "newU")
        .replace("farpasswordfarpassword", "newpasswordnewpassword")
        .replace("127.0.0.1 50000 typ host", "127.0.0.1 50010 typ host")
}

#[test]
fn sip_ice_restart_goes_to_xmpp_with_generation_plus_one_and_is_answered_with_new_credentials() {
    let mut h = Harness::new();
    let invite = invite_sent(&mut h);
    let offer = String::from_utf8(invite.body.clone()).unwrap();
    answered(&mut h, &invite, ICE_ANSWER, "Supported: trickle-ice\r\n");
    let reinvite = from_far(
        &invite,
        "INVITE",
        2,
        "",
        "application/sdp",
        &restart_offer(),
    );
    h.sip_from(trunk(), &reinvite);
    assert_eq!(
        h.statuses(),
        vec![100],
        "the answer waits for the XMPP client"
    );
    let out = h.take_stanzas();
    assert_eq!(out.len(), 1);
    assert_eq!(jingle_action(&out[0]).as_deref(), Some("transport-info"));
    let transport = find(&out[0], "transport").unwrap();
    assert_eq!(transport.attr("ufrag"), Some("newU"));
    assert_eq!(transport.attr("pwd"), Some("newpasswordnewpassword"));
    let cand = find(transport, "candidate").unwrap();
    assert_eq!(cand.attr("port"), Some("50010"));
    assert_eq!(cand.attr("generation"), Some("1"), "checklist 7");
    assert!(find(transport, "fingerprint").is_none());
    assert_eq!(h.gw.calls().next().unwrap().sip.trickle.generation, 1);
    // Alice restarts too: her new credentials and candidate answer SIP.
    h.stanza(&alice_trickles("r1", "uf2", 40200, true));
    assert_eq!(h.take_stanzas()[0].attr("type"), Some("result"));
    let rs = h.responses();
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].status, 200);
    assert_eq!(rs[0].headers.cseq().unwrap().seq, 2);
    let answer = String::from_utf8(rs[0].body.clone()).unwrap();
    assert!(
        answer.contains(&format!("a=ice-ufrag:uf2\r\na=ice-pwd:{PWD}uf2\r\n")),
        "{answer}"
    );
    assert!(answer.contains("192.0.2.9 40200 typ srflx"), "{answer}");
    assert!(!answer.contains("a=ice-ufrag:uf1"), "{answer}");
    assert!(
        !answer.contains("127.0.0.1 40001"),
        "old generation gone: {answer}"
    );
    // The rest of our offer stays; only the o= version moves.
    assert_eq!(m_line(&answer), m_line(&offer));
    let version = |s: &str| {
        s.lines()
            .find(|l| l.starts_with("o="))
            .unwrap()
            .split_whitespace()
            .nth(2)
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    assert_eq!(version(&answer), version(&offer) + 1);
    // Later candidates of the new generation trickle by INFO as before.
    h.stanza(&alice_trickles("r2", "uf2", 40201, false));
    h.take_stanzas();
    let infos = info_requests(&mut h);
    assert_eq!(infos.len(), 1);
    let body = String::from_utf8(infos[0].body.clone()).unwrap();
    assert!(body.starts_with("a=ice-ufrag:uf2\r\n"), "{body}");
    assert_eq!(h.gw.active_calls(), 1);
}

#[test]
fn sip_ice_restart_without_new_xmpp_credentials_is_refused_with_488_after_the_wait() {
    let mut h = Harness::new();
    let invite = invite_sent(&mut h);
    answered(&mut h, &invite, ICE_ANSWER, "Supported: trickle-ice\r\n");
    let reinvite = from_far(
        &invite,
        "INVITE",
        2,
        "",
        "application/sdp",
        &restart_offer(),
    );
    h.sip_from(trunk(), &reinvite);
    assert_eq!(h.statuses(), vec![100]);
    h.take_stanzas();
    // Candidates with the old credentials are no answer.
    h.stanza(&alice_trickles("x1", "uf1", 40300, false));
    h.take_stanzas();
    h.advance(Duration::from_millis(3900));
    assert!(h.responses().iter().all(|r| r.status != 488));
    h.advance(Duration::from_millis(200));
    let rs = h.responses();
    let refusal = rs.iter().find(|r| r.status == 488).expect("488");
    assert_eq!(
        refusal.headers.get("Warning"),
        Some("399 stox \"ICE restart: no new ICE credentials from the XMPP client\"")
    );
    assert_eq!(h.gw.active_calls(), 1, "the session stays as it was");
}

#[test]
fn a_reinvite_with_the_same_credentials_is_no_restart() {
    let mut h = Harness::new();
    let invite = invite_sent(&mut h);
    answered(&mut h, &invite, ICE_ANSWER, "Supported: trickle-ice\r\n");
    let same = ICE_ANSWER.replace("o=- 5 1", "o=- 5 2");
    h.sip_from(
        trunk(),
        &from_far(&invite, "INVITE", 2, "", "application/sdp", &same),
    );
    assert_eq!(h.statuses(), vec![200]);
    assert!(h.take_stanzas().is_empty());
    assert_eq!(h.gw.calls().next().unwrap().sip.trickle.generation, 0);
}

/// An inbound INVITE carrying ICE and trickle support.
fn trickle_invite() -> String {
    let sdp = ICE_ANSWER.replace("a=setup:active", "a=setup:actpass");
    invite("+15550001000", "in1@pbx", "z9hG4bKin1")
        .replace(OFFER_SDP, &sdp)
        .replace(
            &format!("Content-Length: {}", OFFER_SDP.len()),
            &format!("Supported: trickle-ice\r\nContent-Length: {}", sdp.len()),
        )
}

#[test]
fn inbound_trickling_caller_gets_our_late_candidates_after_its_ack() {
    let mut h = Harness::new();
    h.sip_from(trunk(), &trickle_invite());
    assert_eq!(h.statuses(), vec![100]);
    let out = h.take_stanzas();
    let sid = find(&out[0], "propose")
        .unwrap()
        .attr("id")
        .unwrap()
        .to_string();
    let bob = "bob@test/phone";
    let caller = "+15557770000@sip.test/stox";
    h.stanza(&format!(
        "<message from='{bob}' to='{caller}' type='chat' id='p'><proceed xmlns='urn:xmpp:jingle-message:0' id='{sid}'/></message>"
    ));
    h.take_stanzas();
    let accept = format!(
        "<iq from='{bob}' to='{caller}' type='set' id='sa'>\
<jingle xmlns='urn:xmpp:jingle:1' action='session-accept' sid='{sid}'>\
<content creator='initiator' name='0'>\
<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='0' name='PCMU' clockrate='8000'/></description>\
<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='bobU' pwd='bobpasswordbobpassword'>\
<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='active'>AA:BB</fingerprint>\
<candidate component='1' foundation='1' generation='0' id='b1' ip='127.0.0.1' port='41000' priority='2130706431' protocol='udp' type='host'/>\
<gathering-complete/></transport></content></jingle></iq>"
    );
    h.stanza(&accept);
    h.take_stanzas();
    let rs = h.responses();
    assert_eq!(rs[0].status, 200);
    assert!(rs[0].headers.has_token("Supported", "trickle-ice"));
    assert_eq!(rs[0].headers.get("Recv-Info"), Some("trickle-ice"));
    let to = rs[0].headers.get("To").unwrap().to_string();
    // Bob trickles one more (after his end-of-candidates: a new srflx).
    h.stanza(&format!(
        "<iq from='{bob}' to='{caller}' type='set' id='ti'>\
<jingle xmlns='urn:xmpp:jingle:1' action='transport-info' sid='{sid}'>\
<content creator='initiator' name='0'>\
<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='bobU' pwd='bobpasswordbobpassword'>\
<candidate component='1' foundation='2' generation='0' id='b2' ip='192.0.2.1' port='41002' priority='1694498815' protocol='udp' type='srflx' rel-addr='127.0.0.1' rel-port='41000'/>\
</transport></content></jingle></iq>"
    ));
    h.take_stanzas();
    assert!(info_requests(&mut h).is_empty(), "waits for the ACK");
    h.sip_from(
        trunk(),
        &format!(
            "ACK sip:stox@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKack\r\n\
Max-Forwards: 70\r\nFrom: <sip:+15557770000@127.0.0.1:5080>;tag=caller1\r\nTo: {to}\r\n\
Call-ID: in1@pbx\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
        ),
    );
    let infos = info_requests(&mut h);
    assert_eq!(infos.len(), 1);
    assert_eq!(infos[0].uri, "sip:caller@127.0.0.1:5080");
    let body = String::from_utf8(infos[0].body.clone()).unwrap();
    assert!(
        body.starts_with("a=ice-ufrag:bobU\r\na=ice-pwd:bobpasswordbobpassword\r\nm=audio "),
        "{body}"
    );
    assert!(body.contains("\r\na=mid:0\r\na=candidate:2 1 udp 1694498815 192.0.2.1 41002 typ srflx raddr 127.0.0.1 rport 41000 generation 0\r\n"), "{body}");
}

#[test]
fn inbound_call_without_ice_advertises_nothing_and_refuses_trickle_info() {
    let mut h = Harness::new();
    h.sip_from(trunk(), &invite("+15550001000", "in1@pbx", "z9hG4bKin1"));
    h.take_sip();
    let out = h.take_stanzas();
    let sid = find(&out[0], "propose")
        .unwrap()
        .attr("id")
        .unwrap()
        .to_string();
    let bob = "bob@test/phone";
    let caller = "+15557770000@sip.test/stox";
    h.stanza(&format!(
        "<message from='{bob}' to='{caller}' type='chat' id='p'><proceed xmlns='urn:xmpp:jingle-message:0' id='{sid}'/></message>"
    ));
    h.stanza(&format!(
        "<iq from='{bob}' to='{caller}' type='set' id='sa'>\
<jingle xmlns='urn:xmpp:jingle:1' action='session-accept' sid='{sid}'>\
<content creator='initiator' name='0'>\
<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='0' name='PCMU' clockrate='8000'/></description>\
<transport xmlns='urn:xmpp:jingle:transports:raw-udp:1'><candidate component='1' generation='0' id='r1' ip='127.0.0.1' port='41000'/></transport>\
</content></jingle></iq>"
    ));
    h.take_stanzas();
    let rs = h.responses();
    assert_eq!(rs[0].status, 200);
    assert!(!rs[0].headers.has_token("Supported", "trickle-ice"));
    assert!(rs[0].headers.get("Recv-Info").is_none());
    assert!(
        !String::from_utf8(rs[0].body.clone())
            .unwrap()
            .contains("ice-options")
    );
    let to = rs[0].headers.get("To").unwrap().to_string();
    let info = format!(
        "INFO sip:stox@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKinfo\r\n\
Max-Forwards: 70\r\nFrom: <sip:+15557770000@127.0.0.1:5080>;tag=caller1\r\nTo: {to}\r\n\
Call-ID: in1@pbx\r\nCSeq: 2 INFO\r\nInfo-Package: trickle-ice\r\n\
Content-Type: application/trickle-ice-sdpfrag\r\nContent-Length: 21\r\n\r\nm=audio 9 RTP/AVP 0\r\n"
    );
    h.sip_from(trunk(), &info);
    let rs = h.responses();
    assert_eq!(rs[0].status, 469);
    assert_eq!(rs[0].headers.get("Recv-Info"), Some(""));
}

#[test]
fn anchored_calls_never_trickle_toward_sip() {
    let config = format!("{CONFIG}[media]\nmode = \"embedded\"\npublic_ip = \"203.0.113.5\"\n");
    let mut h = Harness::with_config(&config, trunk());
    h.stanza(&session_initiate("s1", CALLEE));
    h.take_stanzas();
    let call = h.anchors[0].call.clone();
    let to_sip = "v=0\r\no=- 77 1 IN IP4 203.0.113.5\r\ns=-\r\nc=IN IP4 203.0.113.5\r\nt=0 0\r\nm=audio 23456 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n";
    h.input(Input::Anchored(AnchorReply {
        call: call.clone(),
        op: AnchorOp::Offer,
        result: Ok(to_sip.into()),
    }));
    let (_, invite) = h.expect_request("INVITE");
    assert!(!invite.headers.has_token("Supported", "trickle-ice"));
    assert!(invite.headers.get("Recv-Info").is_none());
    assert_eq!(String::from_utf8(invite.body.clone()).unwrap(), to_sip);
    h.sip_from(
        trunk(),
        &respond_with(&invite, 200, ANSWER_SDP, "Supported: trickle-ice\r\n"),
    );
    h.expect_request("ACK");
    h.stanza(&alice_trickles("t1", "uf1", 40100, true));
    h.take_stanzas();
    assert!(info_requests(&mut h).is_empty());
    h.sip_from(
        trunk(),
        &far_info(&invite, 2, "trickle-ice", "m=audio 9 RTP/AVP 0\r\n"),
    );
    let rs = h.responses();
    assert_eq!(rs[0].status, 469);
    assert_eq!(rs[0].headers.get("Recv-Info"), Some(""));
}

#[test]
fn a_second_restart_while_the_first_waits_gets_500_with_retry_after() {
    let mut h = Harness::new();
    let invite = invite_sent(&mut h);
    answered(&mut h, &invite, ICE_ANSWER, "Supported: trickle-ice\r\n");
    h.sip_from(
        trunk(),
        &from_far(
            &invite,
            "INVITE",
            2,
            "",
            "application/sdp",
            &restart_offer(),
        ),
    );
    assert_eq!(h.statuses(), vec![100]);
    h.take_stanzas();
    let again = restart_offer().replace("newU", "newerU");
    h.sip_from(
        trunk(),
        &from_far(&invite, "INVITE", 3, "", "application/sdp", &again),
    );
    let rs = h.responses();
    assert_eq!(rs[0].status, 500);
    assert_eq!(rs[0].headers.get("Retry-After"), Some("2"));
    assert!(h.take_stanzas().is_empty());
    assert_eq!(h.gw.calls().next().unwrap().sip.trickle.generation, 1);
}

#[test]
fn a_469_to_our_info_stops_trickling_toward_that_peer() {
    let mut h = Harness::new();
    let invite = invite_sent(&mut h);
    answered(&mut h, &invite, ICE_ANSWER, "Supported: trickle-ice\r\n");
    h.stanza(&alice_trickles("t1", "uf1", 40100, false));
    h.stanza(&alice_trickles("t2", "uf1", 40101, false));
    h.take_stanzas();
    let infos = info_requests(&mut h);
    assert_eq!(infos.len(), 1);
    h.sip_from(trunk(), &respond(&infos[0], 469, "far", None));
    assert!(
        info_requests(&mut h).is_empty(),
        "the queued one is dropped"
    );
    h.stanza(&alice_trickles("t3", "uf1", 40102, true));
    h.take_stanzas();
    assert!(info_requests(&mut h).is_empty(), "and no more are sent");
    // Theirs are still taken, as our Recv-Info promised.
    let frag = "a=ice-ufrag:farU\r\na=ice-pwd:farpasswordfarpassword\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\na=end-of-candidates\r\n";
    h.sip_from(trunk(), &far_info(&invite, 2, "trickle-ice", frag));
    assert_eq!(h.statuses(), vec![200]);
    assert_eq!(
        jingle_action(&h.take_stanzas()[0]).as_deref(),
        Some("transport-info")
    );
    assert_eq!(h.gw.active_calls(), 1);
}

#[test]
fn at_most_32_info_bodies_wait_for_the_dialog() {
    let mut h = Harness::new();
    let invite = invite_sent(&mut h);
    for n in 0..40u16 {
        h.stanza(&alice_trickles(&format!("t{n}"), "uf1", 40100 + n, false));
    }
    h.take_stanzas();
    assert!(info_requests(&mut h).is_empty());
    h.sip_from(
        trunk(),
        &respond_with(&invite, 200, ICE_ANSWER, "Supported: trickle-ice\r\n"),
    );
    let mut sent = Vec::new();
    loop {
        let infos = info_requests(&mut h);
        let Some(info) = infos.first() else { break };
        assert_eq!(infos.len(), 1, "one at a time");
        sent.push(String::from_utf8(info.body.clone()).unwrap());
        h.sip_from(trunk(), &respond(info, 200, "far", None));
    }
    assert_eq!(sent.len(), 32);
    assert!(sent[0].contains(" 40100 typ"), "oldest first");
    assert!(sent[31].contains(" 40131 typ"), "in order");
}

#[test]
fn a_trunk_declared_to_trickle_gets_the_invite_at_once_and_our_info_without_advertising() {
    let config = CONFIG.replace(
        "uri = \"sip:127.0.0.1:5080\"\n",
        "uri = \"sip:127.0.0.1:5080\"\ntrickle_ice = true\n",
    );
    let mut h = Harness::with_config(&config, trunk());
    h.stanza(&session_initiate("s1", CALLEE));
    h.take_stanzas();
    // No wait for more candidates: the INVITE leaves with what there is.
    let (_, invite) = h.expect_request("INVITE");
    assert!(invite.headers.has_token("Supported", "trickle-ice"));
    h.stanza(&alice_trickles("t1", "uf1", 40100, false));
    h.take_stanzas();
    assert!(
        h.take_sip().is_empty(),
        "no second INVITE, no INFO before the 2xx"
    );
    // The answer says nothing about trickle ICE; the configuration does.
    h.sip_from(trunk(), &respond_with(&invite, 200, ANSWER_SDP, ""));
    let infos = info_requests(&mut h);
    assert_eq!(infos.len(), 1);
    assert!(
        String::from_utf8(infos[0].body.clone())
            .unwrap()
            .contains("192.0.2.9 40100 typ srflx")
    );
}
