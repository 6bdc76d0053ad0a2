//! Blind transfer from SIP (REFER, RFC 3515 / RFC 5589) and loop detection
//! (checklist 13), on the virtual clock. The test plays both SIP peers (the
//! transferor on the `pbx` trunk, the target on a second trunk `pbx2`) and
//! the media anchor.

use super::harness::*;
use std::time::Duration;
use stox::call::{Input, PersistKind};
use stox::media::anchor::{AnchorOp, AnchorReply, MediaLeg};
use stox::sip::SipMessage;
use stox::sip::peer::{Peer, Transport};

const GW: &str = "+15551230001@sip.test";

/// The anchor's description toward SIP.
const ANCHOR_TO_SIP: &str = "v=0\r\no=- 77 1 IN IP4 203.0.113.5\r\ns=-\r\nc=IN IP4 203.0.113.5\r\nt=0 0\r\nm=audio 23456 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n";

/// The anchor's description toward XMPP.
const ANCHOR_TO_XMPP: &str = "v=0\r\no=- 78 1 IN IP4 203.0.113.5\r\ns=-\r\nt=0 0\r\nm=audio 24680 UDP/TLS/RTP/SAVPF 0 101\r\nc=IN IP4 203.0.113.5\r\na=mid:0\r\na=ice-ufrag:anch\r\na=ice-pwd:anchorpasswordanchorpass1\r\na=fingerprint:sha-256 12:34:56:78:9A:BC:DE:F0:12:34:56:78:9A:BC:DE:F0:12:34:56:78:9A:BC:DE:F0:12:34:56:78:9A:BC:DE:F0\r\na=setup:passive\r\na=candidate:1 1 udp 2130706431 203.0.113.5 24680 typ host\r\na=end-of-candidates\r\na=rtcp-mux\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";

/// The transfer target's answer: its own address.
const TARGET_SDP: &str = "v=0\r\no=- 9 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";

/// The second trunk, on its own IP: an inbound call's trunk is found by
/// source IP alone, so two trunks on one IP would make it ambiguous.
fn target() -> Peer {
    Peer {
        transport: Transport::Udp,
        addr: addr("127.0.0.2:5090"),
    }
}

fn config(policy: &str) -> String {
    let base = CONFIG.replace(
        "allow_outbound = [\"alice@test\", \"bob@test\"]",
        &format!("allow_outbound = {policy}"),
    );
    format!(
        "{base}[[trunk]]\nname = \"pbx2\"\nuri = \"sip:127.0.0.2:5090\"\n[media]\nmode = \"embedded\"\npublic_ip = \"203.0.113.5\"\n"
    )
}

fn harness(policy: &str) -> Harness {
    Harness::with_core(&config(policy), trunk(), |cfg| {
        cfg.trunk_peers.insert("pbx2".into(), vec![target()]);
    })
}

fn reply(call: &str, op: AnchorOp, sdp: &str) -> Input {
    Input::Anchored(AnchorReply {
        call: call.to_string(),
        op,
        result: Ok(sdp.to_string()),
    })
}

fn body(r: &stox::sip::Request) -> String {
    String::from_utf8(r.body.clone()).unwrap()
}

/// The transferor's dialog as the far end sees it.
struct Far {
    call_id: String,
    /// The far end's From (with its tag) for requests it sends.
    from: String,
    /// Ours (with our tag), its To.
    to: String,
    cseq: u32,
}

impl Far {
    fn request(&mut self, method: &str, extra: &str) -> String {
        self.cseq += 1;
        format!(
            "{method} sip:stox@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKfar{}\nMax-Forwards: 70\nFrom: {}\nTo: {}\nCall-ID: {}\nCSeq: {} {method}\nContact: <sip:far@127.0.0.1:5080>\n{extra}Content-Length: 0\n\n",
            self.cseq, self.from, self.to, self.call_id, self.cseq
        )
    }
}

/// Alice's anchored call through `pbx`, answered; returns the call id and
/// the far end's view of the dialog.
fn outbound_answered(h: &mut Harness) -> (String, Far) {
    h.stanza(&propose("s1", GW));
    h.stanza(&session_initiate("s1", "+15551230001@sip.test/stox"));
    h.take_stanzas();
    let call = h.anchors[0].call.clone();
    h.input(reply(&call, AnchorOp::Offer, ANCHOR_TO_SIP));
    let (_, invite) = h.expect_request("INVITE");
    assert_eq!(
        invite.headers.get("X-Stox-Loop"),
        Some(call.as_str()),
        "our INVITEs carry the loop mark"
    );
    h.sip_from(trunk(), &respond(&invite, 200, "far", Some(ANSWER_SDP)));
    h.expect_request("ACK");
    h.input(reply(&call, AnchorOp::Answer, ANCHOR_TO_XMPP));
    let out = h.take_stanzas();
    assert_eq!(jingle_action(&out[0]).as_deref(), Some("session-accept"));
    let far = Far {
        call_id: invite.headers.get("Call-ID").unwrap().to_string(),
        from: format!("{};tag=far", invite.headers.get("To").unwrap()),
        to: invite.headers.get("From").unwrap().to_string(),
        cseq: 1,
    };
    (call, far)
}

fn refer_to(target: &str) -> String {
    format!("Refer-To: {target}\nReferred-By: <sip:+15551230001@127.0.0.1:5080>\n")
}

/// Everything sent since the last take, split into responses and requests.
fn sent(
    h: &mut Harness,
) -> (
    Vec<stox::sip::message::Response>,
    Vec<(Peer, stox::sip::Request)>,
) {
    let mut responses = Vec::new();
    let mut requests = Vec::new();
    for (p, m) in h.take_sip() {
        match m {
            SipMessage::Response(r) => responses.push(r),
            SipMessage::Request(r) => requests.push((p, r)),
        }
    }
    (responses, requests)
}

fn one<'a>(
    requests: &'a [(Peer, stox::sip::Request)],
    method: &str,
) -> &'a (Peer, stox::sip::Request) {
    let found: Vec<_> = requests
        .iter()
        .filter(|(_, r)| r.method.as_str() == method)
        .collect();
    assert_eq!(found.len(), 1, "expected one {method} in {requests:?}");
    found[0]
}

fn assert_notify(notify: &stox::sip::Request, far: &Far, sipfrag: &str, state: &str) {
    assert_eq!(notify.headers.get("Call-ID"), Some(far.call_id.as_str()));
    assert_eq!(notify.headers.get("Event"), Some("refer"));
    assert_eq!(notify.headers.get("Subscription-State"), Some(state));
    assert_eq!(
        notify.headers.get("Content-Type"),
        Some("message/sipfrag;version=2.0")
    );
    assert_eq!(body(notify), format!("{sipfrag}\r\n"));
    assert!(notify.headers.get("To").unwrap().contains("tag=far"));
}

/// REFER to a user at `pbx2`'s address up to the target's INVITE; returns it.
fn refer_to_target(h: &mut Harness, far: &mut Far) -> stox::sip::Request {
    let refer = far.request("REFER", &refer_to("<sip:2000@127.0.0.2:5090>"));
    h.sip_from(trunk(), &refer);
    let (responses, requests) = sent(h);
    assert_eq!(
        responses.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![202]
    );
    assert_eq!(responses[0].reason, "Accepted");
    let (to, notify) = one(&requests, "NOTIFY");
    assert_eq!(*to, trunk(), "NOTIFY goes to the transferor");
    assert_notify(notify, far, "SIP/2.0 100 Trying", "active;expires=60");
    let answer = respond(notify, 200, "x", None);
    let (to, invite) = one(&requests, "INVITE").clone();
    h.sip_from(trunk(), &answer);
    assert_eq!(
        to,
        target(),
        "the INVITE goes to the trunk the Refer-To names"
    );
    assert_eq!(invite.uri, "sip:2000@127.0.0.2:5090");
    assert_eq!(invite.headers.get("To"), Some("<sip:2000@127.0.0.2:5090>"));
    assert_ne!(invite.headers.get("Call-ID"), Some(far.call_id.as_str()));
    assert!(
        invite
            .headers
            .get("From")
            .unwrap()
            .contains("sip:alice@test")
    );
    assert_eq!(
        invite.headers.get("Referred-By"),
        Some("<sip:+15551230001@127.0.0.1:5080>")
    );
    assert_eq!(
        body(&invite),
        ANCHOR_TO_SIP,
        "the target is offered the anchor"
    );
    assert!(h.take_stanzas().is_empty(), "XMPP hears nothing of it");
    invite
}

/// The target answers: ACK to it, final NOTIFY to the transferor, the
/// anchor's SIP leg moved.
fn target_answers(h: &mut Harness, far: &Far, call: &str, invite: &stox::sip::Request) {
    let ok = respond(invite, 200, "tgt", Some(TARGET_SDP))
        .replace("sip:far@127.0.0.1:5080", "sip:tgt@127.0.0.2:5090");
    h.sip_from(target(), &respond(invite, 180, "tgt", None));
    h.sip_from(target(), &ok);
    let (_, requests) = sent(h);
    let (to, ack) = one(&requests, "ACK");
    assert_eq!(*to, target());
    assert_eq!(ack.headers.get("CSeq"), Some("1 ACK"));
    assert!(ack.headers.get("To").unwrap().contains("tag=tgt"));
    let (to, notify) = one(&requests, "NOTIFY");
    assert_eq!(*to, trunk());
    assert_notify(
        notify,
        far,
        "SIP/2.0 200 OK",
        "terminated;reason=noresource",
    );
    let answer = respond(notify, 200, "x", None);
    h.sip_from(trunk(), &answer);
    assert_eq!(
        h.updates.last().cloned(),
        Some((call.to_string(), MediaLeg::Sip, TARGET_SDP.to_string())),
        "the relay sends the SIP leg's media to the target"
    );
    assert!(h.take_stanzas().is_empty(), "the Jingle session stays");
    let stored = h
        .persisted
        .iter()
        .rev()
        .find(|(k, _)| *k == PersistKind::Modified)
        .map(|(_, c)| c.clone())
        .unwrap();
    assert_eq!(
        Some(stored.sip.call_id.as_str()),
        invite.headers.get("Call-ID"),
        "the stored call's SIP leg is the target's dialog"
    );
    assert_eq!(stored.trunk.as_deref(), Some("pbx2"));
}

/// A BYE from the target ends the call for alice.
fn target_hangs_up(h: &mut Harness, invite: &stox::sip::Request) {
    let bye = format!(
        "BYE sip:stox@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.2:5090;branch=z9hG4bKtbye\nFrom: {};tag=tgt\nTo: {}\nCall-ID: {}\nCSeq: 1 BYE\nContent-Length: 0\n\n",
        invite.headers.get("To").unwrap(),
        invite.headers.get("From").unwrap(),
        invite.headers.get("Call-ID").unwrap()
    );
    h.sip_from(target(), &bye);
    assert_eq!(h.statuses(), vec![200]);
    let out = h.take_stanzas();
    assert_eq!(jingle_action(&out[0]).as_deref(), Some("session-terminate"));
    assert_eq!(reason(&out[0]).as_deref(), Some("success"));
    assert_eq!(h.gw.active_calls(), 0);
}

#[test]
fn refer_transfers_the_sip_leg_and_the_transferor_byes_after_the_final_notify() {
    let mut h = harness("[\"alice@test\"]");
    let (call, mut far) = outbound_answered(&mut h);
    let invite = refer_to_target(&mut h, &mut far);
    target_answers(&mut h, &far, &call, &invite);
    // The transferor hangs up its dialog: 200, and the call goes on.
    let bye = far.request("BYE", "");
    h.sip_from(trunk(), &bye);
    assert_eq!(h.statuses(), vec![200]);
    assert!(h.take_stanzas().is_empty(), "alice's session stays up");
    h.advance(Duration::from_secs(10));
    assert!(
        !h.take_sip()
            .iter()
            .any(|(_, m)| matches!(m, SipMessage::Request(r) if r.method.as_str() == "BYE")),
        "no BYE of ours: the transferor hung up itself"
    );
    target_hangs_up(&mut h, &invite);
}

#[test]
fn a_transferor_that_byes_before_the_target_answers_does_not_end_the_call() {
    let mut h = harness("[\"alice@test\"]");
    let (call, mut far) = outbound_answered(&mut h);
    let invite = refer_to_target(&mut h, &mut far);
    let bye = far.request("BYE", "");
    h.sip_from(trunk(), &bye);
    assert_eq!(h.statuses(), vec![200]);
    assert!(h.take_stanzas().is_empty(), "alice's session stays up");
    target_answers(&mut h, &far, &call, &invite);
    h.advance(Duration::from_secs(10));
    assert!(
        !h.take_sip().iter().any(|(p, m)| *p == trunk()
            && matches!(m, SipMessage::Request(r) if r.method.as_str() == "BYE")),
        "the transferor's dialog is over: no BYE to it"
    );
    // Alice hangs up: the BYE goes to the target's dialog.
    h.stanza("<iq from='alice@test/phone' to='+15551230001@sip.test/stox' type='set' id='t1'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s1'><reason><success/></reason></jingle></iq>");
    let (to, bye) = h.expect_request("BYE");
    assert_eq!(to, target());
    assert_eq!(bye.headers.get("Call-ID"), invite.headers.get("Call-ID"));
    assert!(bye.headers.get("To").unwrap().contains("tag=tgt"));
}

#[test]
fn a_transferor_that_keeps_its_dialog_is_byed_after_the_grace() {
    let mut h = harness("[\"alice@test\"]");
    let (call, mut far) = outbound_answered(&mut h);
    let invite = refer_to_target(&mut h, &mut far);
    target_answers(&mut h, &far, &call, &invite);
    h.advance(Duration::from_secs(3));
    assert!(h.take_sip().is_empty());
    h.advance(Duration::from_secs(1));
    let (to, bye) = h.expect_request("BYE");
    assert_eq!(to, trunk());
    assert_eq!(bye.headers.get("Call-ID"), Some(far.call_id.as_str()));
    assert!(h.take_stanzas().is_empty(), "alice's session stays up");
    assert_eq!(h.gw.active_calls(), 1);
    target_hangs_up(&mut h, &invite);
}

#[test]
fn a_failed_transfer_is_notified_and_the_call_goes_on() {
    let mut h = harness("[\"alice@test\"]");
    let (_, mut far) = outbound_answered(&mut h);
    let invite = refer_to_target(&mut h, &mut far);
    h.sip_from(target(), &respond(&invite, 486, "tgt", None));
    let (_, requests) = sent(&mut h);
    let (_, ack) = one(&requests, "ACK");
    assert_eq!(ack.headers.get("Call-ID"), invite.headers.get("Call-ID"));
    let (to, notify) = one(&requests, "NOTIFY");
    assert_eq!(*to, trunk());
    assert_notify(
        notify,
        &far,
        "SIP/2.0 486 Busy Here",
        "terminated;reason=noresource",
    );
    assert!(h.take_stanzas().is_empty());
    assert!(h.updates.is_empty(), "the media stays with the transferor");
    // The original call goes on: a re-INVITE is answered, a BYE ends it.
    let bye = far.request("BYE", "");
    h.sip_from(trunk(), &bye);
    assert_eq!(h.statuses(), vec![200]);
    let out = h.take_stanzas();
    assert_eq!(jingle_action(&out[0]).as_deref(), Some("session-terminate"));
}

#[test]
fn a_failed_transfer_after_the_transferor_hung_up_ends_the_call() {
    let mut h = harness("[\"alice@test\"]");
    let (_, mut far) = outbound_answered(&mut h);
    let invite = refer_to_target(&mut h, &mut far);
    let bye = far.request("BYE", "");
    h.sip_from(trunk(), &bye);
    assert_eq!(h.statuses(), vec![200]);
    h.sip_from(target(), &respond(&invite, 486, "tgt", None));
    let out = h.take_stanzas();
    assert_eq!(jingle_action(&out[0]).as_deref(), Some("session-terminate"));
    assert_eq!(reason(&out[0]).as_deref(), Some("busy"));
    assert_eq!(h.gw.active_calls(), 0);
}

#[test]
fn a_ringing_target_is_cancelled_at_the_ring_timeout() {
    let mut h = harness("[\"alice@test\"]");
    let (_, mut far) = outbound_answered(&mut h);
    let invite = refer_to_target(&mut h, &mut far);
    h.sip_from(target(), &respond(&invite, 180, "tgt", None));
    h.advance(Duration::from_secs(60));
    let (to, cancel) = h.expect_request("CANCEL");
    assert_eq!(to, target());
    assert_eq!(cancel.headers.get("CSeq"), Some("1 CANCEL"));
    h.sip_from(target(), &respond(&invite, 487, "tgt", None));
    let (_, requests) = sent(&mut h);
    let (_, notify) = one(&requests, "NOTIFY");
    assert_notify(
        notify,
        &far,
        "SIP/2.0 487 Request Terminated",
        "terminated;reason=noresource",
    );
    assert_eq!(h.gw.active_calls(), 1);
}

#[test]
fn a_number_at_another_host_goes_through_the_calls_own_trunk() {
    let mut h = harness("[\"alice@test\"]");
    let (_, mut far) = outbound_answered(&mut h);
    let refer = far.request("REFER", &refer_to("<sip:+15559990000@pbx.example.com>"));
    h.sip_from(trunk(), &refer);
    let (responses, requests) = sent(&mut h);
    assert_eq!(responses[0].status, 202);
    let (to, invite) = one(&requests, "INVITE");
    assert_eq!(*to, trunk(), "never to the host the Refer-To names");
    assert_eq!(invite.uri, "sip:+15559990000@127.0.0.1:5080;user=phone");
}

#[test]
fn a_target_through_another_trunk_needs_the_users_outbound_policy() {
    // Nobody may call out: a transfer through the call's own trunk is
    // still the referring PBX's business, one through another trunk is not.
    let mut h = harness("[\"nobody@test\"]");
    // Bob's inbound call from pbx.
    let call = inbound_answered(&mut h);
    let mut far = Far {
        call_id: "in1@pbx".into(),
        from: "<sip:+15557770000@127.0.0.1:5080>;tag=caller1".into(),
        to: call.1.clone(),
        cseq: 1,
    };
    let refer = far.request("REFER", &refer_to("<sip:2000@127.0.0.2:5090>"));
    h.sip_from(trunk(), &refer);
    let rs = h.responses();
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].status, 403);
    assert!(
        rs[0]
            .headers
            .get("Warning")
            .unwrap()
            .starts_with("399 stox")
    );
    // Through the call's own trunk: allowed, and the INVITE's From is bob's.
    let refer = far.request("REFER", &refer_to("<sip:2000@elsewhere.example>"));
    h.sip_from(trunk(), &refer);
    let (responses, requests) = sent(&mut h);
    assert_eq!(responses[0].status, 202);
    let (to, invite) = one(&requests, "INVITE");
    assert_eq!(*to, trunk());
    assert_eq!(invite.uri, "sip:2000@127.0.0.1:5080");
    assert!(
        invite
            .headers
            .get("From")
            .unwrap()
            .contains("sip:+15550001000@"),
        "bob's DID"
    );
    let (to, notify) = one(&requests, "NOTIFY");
    assert_eq!(*to, trunk());
    assert_eq!(notify.headers.get("Call-ID"), Some("in1@pbx"));
}

#[test]
fn malformed_refers_are_refused_and_the_call_goes_on() {
    let mut h = harness("[\"alice@test\"]");
    let (_, mut far) = outbound_answered(&mut h);
    for (extra, status) in [
        ("", 400),
        ("Refer-To: <not a uri>\n", 400),
        (
            "Refer-To: <sip:a@127.0.0.2:5090>, <sip:b@127.0.0.2:5090>\n",
            400,
        ),
        (
            "Refer-To: <sip:2000@127.0.0.2:5090?Replaces=abc%40pbx%3Bto-tag%3D1%3Bfrom-tag%3D2>\n",
            501,
        ),
        ("Refer-To: <sip:127.0.0.1:7000>\n", 403),
    ] {
        let refer = far.request("REFER", extra);
        h.sip_from(trunk(), &refer);
        let rs = h.responses();
        assert_eq!(rs.len(), 1, "{extra}");
        assert_eq!(rs[0].status, status, "{extra}");
        assert!(
            rs[0]
                .headers
                .get("Warning")
                .unwrap()
                .starts_with("399 stox \""),
            "{extra}"
        );
    }
    assert!(h.take_stanzas().is_empty());
    assert_eq!(h.gw.active_calls(), 1);
    // A second REFER while one is in progress: 491.
    let _ = refer_to_target(&mut h, &mut far);
    let refer = far.request("REFER", &refer_to("<sip:2001@127.0.0.2:5090>"));
    h.sip_from(trunk(), &refer);
    assert_eq!(h.statuses(), vec![491]);
}

#[test]
fn passthrough_calls_refuse_refer() {
    // The harness's default configuration is passthrough.
    let mut h = Harness::new();
    h.stanza(&propose("s1", GW));
    h.stanza(&session_initiate("s1", "+15551230001@sip.test/stox"));
    h.advance(Duration::from_millis(250));
    let (_, invite) = h.expect_request("INVITE");
    h.sip_from(trunk(), &respond(&invite, 200, "far", Some(ANSWER_SDP)));
    h.take_sip();
    h.take_stanzas();
    let mut far = Far {
        call_id: invite.headers.get("Call-ID").unwrap().to_string(),
        from: format!("{};tag=far", invite.headers.get("To").unwrap()),
        to: invite.headers.get("From").unwrap().to_string(),
        cseq: 1,
    };
    let refer = far.request("REFER", &refer_to("<sip:2000@127.0.0.1:5080>"));
    h.sip_from(trunk(), &refer);
    let rs = h.responses();
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].status, 488);
    assert!(
        rs[0]
            .headers
            .get("Warning")
            .unwrap()
            .contains("passthrough")
    );
    assert_eq!(h.gw.active_calls(), 1);
}

/// Bob's anchored inbound call from `pbx`, answered; returns the call id
/// and our To (with our tag) as the caller writes it.
fn inbound_answered(h: &mut Harness) -> (String, String) {
    h.sip_from(trunk(), &invite("+15550001000", "in1@pbx", "z9hG4bKin1"));
    assert_eq!(h.statuses(), vec![100]);
    let call = h.anchors[0].call.clone();
    h.input(reply(&call, AnchorOp::Offer, ANCHOR_TO_XMPP));
    let out = h.take_stanzas();
    let sid = find(&out[0], "propose")
        .and_then(|p| p.attr("id"))
        .unwrap()
        .to_string();
    h.stanza(&format!("<message from='bob@test/phone' to='+15557770000@sip.test/stox' type='chat' id='p'><proceed xmlns='urn:xmpp:jingle-message:0' id='{sid}'/></message>"));
    h.take_stanzas();
    h.stanza(&format!("<iq from='bob@test/phone' to='+15557770000@sip.test/stox' type='set' id='sa'><jingle xmlns='urn:xmpp:jingle:1' action='session-accept' sid='{sid}' responder='bob@test/phone'><content creator='initiator' name='0'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='0' name='PCMU' clockrate='8000'/><rtcp-mux/></description><transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='bobu' pwd='bobpasswordbobpassword'><fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='active'>BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB</fingerprint><candidate component='1' foundation='1' generation='0' id='b1' ip='192.0.2.20' port='41000' priority='2130706431' protocol='udp' type='host'/></transport></content></jingle></iq>"));
    h.take_stanzas();
    h.advance(Duration::from_millis(250));
    h.input(reply(&call, AnchorOp::Answer, ANCHOR_TO_SIP));
    let rs = h.responses();
    assert_eq!(rs[0].status, 200);
    let to = rs[0].headers.get("To").unwrap().to_string();
    let ack = format!(
        "ACK sip:stox@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKack1\nFrom: <sip:+15557770000@127.0.0.1:5080>;tag=caller1\nTo: {to}\nCall-ID: in1@pbx\nCSeq: 1 ACK\nContent-Length: 0\n\n"
    );
    h.sip_from(trunk(), &ack);
    (call, to)
}

// ---- loop detection ----

#[test]
fn our_invite_back_through_a_proxy_is_refused_with_482() {
    let mut h = harness("[\"alice@test\"]");
    h.stanza(&propose("s1", GW));
    h.stanza(&session_initiate("s1", "+15551230001@sip.test/stox"));
    let call = h.anchors[0].call.clone();
    h.input(reply(&call, AnchorOp::Offer, ANCHOR_TO_SIP));
    let (_, invite) = h.expect_request("INVITE");
    h.take_stanzas();
    // The trunk (a proxy) routes it back to us: its Via on top of ours,
    // Max-Forwards decremented, everything else as we sent it.
    let mut looped = format!("INVITE {} SIP/2.0\r\n", invite.uri);
    looped += "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKproxy1\r\n";
    for (name, value) in invite
        .headers
        .iter()
        .map(|h| (h.name.as_str(), h.value.as_str()))
    {
        match name {
            "Max-Forwards" => looped += "Max-Forwards: 69\r\n",
            "Content-Length" => {}
            _ => looped += &format!("{name}: {value}\r\n"),
        }
    }
    looped += &format!(
        "Content-Length: {}\r\n\r\n{}",
        invite.body.len(),
        body(&invite)
    );
    h.sip_from(trunk(), &looped);
    let rs = h.responses();
    assert_eq!(rs.len(), 1);
    assert_eq!(
        (rs[0].status, rs[0].reason.as_str()),
        (482, "Loop Detected")
    );
    assert_eq!(
        rs[0].headers.get("Via"),
        Some("SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKproxy1"),
        "answered to the proxy"
    );
    assert!(h.take_stanzas().is_empty(), "nobody rings");
    assert_eq!(h.gw.active_calls(), 1, "the original call goes on");
    h.sip_from(trunk(), &respond(&invite, 404, "far", None));
    let out = h.take_stanzas();
    assert_eq!(jingle_action(&out[0]).as_deref(), Some("session-terminate"));
}

#[test]
fn our_call_back_through_a_b2bua_is_refused_by_its_mark() {
    let mut h = harness("[\"alice@test\"]");
    h.stanza(&propose("s1", GW));
    h.stanza(&session_initiate("s1", "+15551230001@sip.test/stox"));
    let call = h.anchors[0].call.clone();
    h.input(reply(&call, AnchorOp::Offer, ANCHOR_TO_SIP));
    h.expect_request("INVITE");
    h.take_stanzas();
    // The B2BUA's new call: new Call-ID, tags and Via; our header kept.
    let marked = invite("+15550001000", "b2bua-1@pbx", "z9hG4bKb2b1").replace(
        "CSeq: 1 INVITE\r\n",
        &format!("CSeq: 1 INVITE\r\nX-Stox-Loop: {call}\r\n"),
    );
    h.sip_from(trunk(), &marked);
    assert_eq!(h.statuses(), vec![482]);
    assert!(h.take_stanzas().is_empty(), "bob's phone does not ring");
    assert_eq!(h.gw.active_calls(), 1);
    // A mark naming no call of ours (one that ended, another gateway's) is
    // an ordinary call.
    let other = invite("+15550001000", "b2bua-2@pbx", "z9hG4bKb2b2").replace(
        "CSeq: 1 INVITE\r\n",
        "CSeq: 1 INVITE\r\nX-Stox-Loop: 0123456789abcdef\r\n",
    );
    h.sip_from(trunk(), &other);
    assert_eq!(h.statuses(), vec![100]);
    assert_eq!(h.gw.active_calls(), 2);
}

#[test]
fn the_gateway_calling_itself_over_xmpp_is_refused() {
    let mut h = harness("[\"alice@test\", \"sip.test\"]");
    // A JMI propose from one of our own JIDs.
    h.stanza(&propose("s1", GW).replace("alice@test/phone", "+15557770000@sip.test/stox"));
    let out = h.take_stanzas();
    assert_eq!(out.len(), 1);
    let reject = find(&out[0], "reject").expect("JMI reject");
    assert_eq!(reject.attr("id"), Some("s1"));
    assert_eq!(reason(&out[0]).as_deref(), Some("decline"));
    assert!(
        find(&out[0], "text")
            .unwrap()
            .text()
            .contains("482 Loop Detected")
    );
    // A direct session-initiate from our domain.
    h.stanza(
        &session_initiate("s2", "+15551230001@sip.test/stox")
            .replace("alice@test/phone", "+15557770000@sip.test/stox"),
    );
    let out = h.take_stanzas();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].attr("type"), Some("error"));
    assert!(find(&out[0], "not-allowed").is_some());
    assert!(h.take_sip().is_empty() && h.anchors.is_empty());
    assert_eq!(h.gw.active_calls(), 0);
}

// ---- transfer asked by the XMPP user (XEP-0050 command `transfer`) ----

fn command(from: &str, id: &str, inner: &str) -> String {
    format!(
        "<iq from='{from}' to='+15551230001@sip.test/stox' type='set' id='{id}'><command xmlns='http://jabber.org/protocol/commands' node='transfer'{inner}</iq>"
    )
}

fn submit(target: &str) -> String {
    command(
        "alice@test/phone",
        "c2",
        &format!(
            " sessionid='x1' action='complete'><x xmlns='jabber:x:data' type='submit'><field var='target'><value>{target}</value></field></x></command>"
        ),
    )
}

#[test]
fn the_transfer_command_refers_the_sip_peer_and_hangs_up_when_it_succeeds() {
    let mut h = harness("[\"alice@test\"]");
    let (_, mut far) = outbound_answered(&mut h);
    // execute: a form with the target field.
    h.stanza(&command("alice@test/phone", "c1", " action='execute'/>"));
    let out = h.take_stanzas();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].attr("type"), Some("result"));
    let cmd = find(&out[0], "command").unwrap();
    assert_eq!(cmd.attr("status"), Some("executing"));
    let field = find(&out[0], "field").unwrap();
    assert_eq!(field.attr("var"), Some("target"));
    assert!(h.take_sip().is_empty());
    // submit: REFER in the dialog, through the call's trunk.
    h.stanza(&submit("+1 555 999 0000"));
    assert!(h.take_stanzas().is_empty(), "answered when the REFER is");
    let (to, refer) = h.expect_request("REFER");
    assert_eq!(to, trunk());
    assert_eq!(refer.uri, "sip:far@127.0.0.1:5080");
    assert_eq!(refer.headers.get("Call-ID"), Some(far.call_id.as_str()));
    assert_eq!(
        refer.headers.get("Refer-To"),
        Some("<sip:+15559990000@127.0.0.1:5080;user=phone>")
    );
    assert_eq!(refer.headers.get("Referred-By"), Some("<sip:alice@test>"));
    h.sip_from(trunk(), &respond(&refer, 202, "far", None));
    let out = h.take_stanzas();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].attr("type"), Some("result"));
    assert_eq!(out[0].attr("id"), Some("c2"));
    assert_eq!(
        find(&out[0], "command").unwrap().attr("status"),
        Some("completed")
    );
    assert!(
        find(&out[0], "note")
            .unwrap()
            .text()
            .contains("+15559990000")
    );
    // The refer subscription's NOTIFYs: 200 each; 200 OK ends the call.
    let notify = |far: &mut Far, frag: &str, state: &str| {
        far.request("NOTIFY", &format!("Event: refer\nSubscription-State: {state}\nContent-Type: message/sipfrag;version=2.0\n"))
            .replace("Content-Length: 0\n\n", &format!("Content-Length: {}\n\n{frag}", frag.len()))
    };
    let n1 = notify(&mut far, "SIP/2.0 100 Trying\r\n", "active;expires=60");
    h.sip_from(trunk(), &n1);
    assert_eq!(h.statuses(), vec![200]);
    assert!(h.take_stanzas().is_empty());
    let n2 = notify(
        &mut far,
        "SIP/2.0 200 OK\r\n",
        "terminated;reason=noresource",
    );
    h.sip_from(trunk(), &n2);
    let (_, requests) = sent(&mut h);
    assert!(
        requests
            .iter()
            .any(|(p, r)| *p == trunk() && r.method.as_str() == "BYE")
    );
    let out = h.take_stanzas();
    assert_eq!(jingle_action(&out[0]).as_deref(), Some("session-terminate"));
    assert_eq!(reason(&out[0]).as_deref(), Some("success"));
    assert_eq!(h.gw.active_calls(), 0);
}

#[test]
fn a_refused_transfer_command_is_an_iq_error_and_the_call_goes_on() {
    let mut h = harness("[\"alice@test\"]");
    let (_, mut far) = outbound_answered(&mut h);
    h.stanza(&submit("sip:2000@127.0.0.2:5090"));
    let (_, refer) = h.expect_request("REFER");
    assert_eq!(
        refer.headers.get("Refer-To"),
        Some("<sip:2000@127.0.0.2:5090>"),
        "a trunk's address is kept"
    );
    h.sip_from(trunk(), &respond(&refer, 603, "far", None));
    let out = h.take_stanzas();
    assert_eq!(out[0].attr("type"), Some("error"));
    assert!(find(&out[0], "recipient-unavailable").is_some());
    assert!(find(&out[0], "text").unwrap().text().contains("603"));
    // A NOTIFY for no transfer of ours: 481; the call is still up.
    let stray = far.request("NOTIFY", "Event: refer\n");
    h.sip_from(trunk(), &stray);
    assert_eq!(h.statuses(), vec![481]);
    assert_eq!(h.gw.active_calls(), 1);
}

#[test]
fn the_transfer_command_is_only_for_the_user_in_the_call() {
    let mut h = harness("[\"alice@test\"]");
    let _ = outbound_answered(&mut h);
    for from in ["mallory@test/x", "alice@test/laptop"] {
        h.stanza(&command(from, "c1", " action='execute'/>"));
        let out = h.take_stanzas();
        assert_eq!(out[0].attr("type"), Some("error"), "{from}");
        assert!(find(&out[0], "item-not-found").is_some(), "{from}");
    }
    // Bad targets and a user the policy keeps from calling out.
    h.stanza(&submit("not a number"));
    let out = h.take_stanzas();
    assert!(find(&out[0], "bad-request").is_some());
    h.stanza(&submit("sip:someone@elsewhere.example"));
    let (_, refer) = h.expect_request("REFER");
    assert_eq!(
        refer.headers.get("Refer-To"),
        Some("<sip:someone@127.0.0.1:5080>"),
        "another host is reached through the call's trunk"
    );
    assert!(h.take_stanzas().is_empty());
    let mut h = harness("[\"nobody@test\"]");
    let _ = inbound_answered(&mut h);
    h.stanza(
        &submit("2000")
            .replace("alice@test/phone", "bob@test/phone")
            .replace("+15551230001@sip.test/stox", "+15557770000@sip.test/stox"),
    );
    let out = h.take_stanzas();
    assert!(find(&out[0], "forbidden").is_some());
    assert!(h.take_sip().is_empty());
}

#[test]
fn hanging_up_during_a_transfer_cancels_the_targets_invite() {
    let mut h = harness("[\"alice@test\"]");
    let (_, mut far) = outbound_answered(&mut h);
    let invite = refer_to_target(&mut h, &mut far);
    h.sip_from(target(), &respond(&invite, 180, "tgt", None));
    h.stanza("<iq from='alice@test/phone' to='+15551230001@sip.test/stox' type='set' id='t1'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s1'><reason><success/></reason></jingle></iq>");
    let (_, requests) = sent(&mut h);
    let (to, bye) = one(&requests, "BYE");
    assert_eq!(*to, trunk(), "the transferor's dialog is still the call's");
    assert_eq!(bye.headers.get("Call-ID"), Some(far.call_id.as_str()));
    let (to, cancel) = one(&requests, "CANCEL");
    assert_eq!(*to, target());
    assert_eq!(cancel.headers.get("Call-ID"), invite.headers.get("Call-ID"));
    assert_eq!(h.gw.active_calls(), 0);
}

#[test]
fn a_restored_call_forgets_a_transfer_in_progress() {
    let mut h = harness("[\"alice@test\"]");
    let (_, mut far) = outbound_answered(&mut h);
    let _ = refer_to_target(&mut h, &mut far);
    let mut call = h.gw.calls().next().unwrap().clone();
    assert!(call.sip.transfer.is_some());
    // The snapshot reads back (serde), and a restart drops the transfer.
    let json = serde_json::to_string(&call).unwrap();
    call = serde_json::from_str(&json).unwrap();
    assert!(call.sip.transfer.is_some(), "persisted with the call");
    let mut h2 = harness("[\"alice@test\"]");
    h2.input(Input::Restore {
        calls: vec![call],
        how: stox::call::Takeover::Restart,
    });
    let restored = h2.gw.calls().next().unwrap();
    assert!(restored.sip.transfer.is_none());
}

#[test]
fn a_challenged_transfer_invite_is_sent_again_with_the_target_trunks_credentials() {
    let config = config("[\"alice@test\"]").replace(
        "uri = \"sip:127.0.0.2:5090\"\n",
        "uri = \"sip:127.0.0.2:5090\"\nusername = \"stox\"\npassword = \"s3cret\"\n",
    );
    let mut h = Harness::with_core(&config, trunk(), |cfg| {
        cfg.trunk_peers.insert("pbx2".into(), vec![target()]);
    });
    let (call, mut far) = outbound_answered(&mut h);
    let invite = refer_to_target(&mut h, &mut far);
    let challenge = respond(&invite, 407, "tgt", None).replace(
        "Content-Length: 0",
        "Proxy-Authenticate: Digest realm=\"pbx2.test\", nonce=\"abc123\", algorithm=MD5, qop=\"auth\"\r\nContent-Length: 0",
    );
    h.sip_from(target(), &challenge);
    let (_, requests) = sent(&mut h);
    let (to, again) = one(&requests, "INVITE").clone();
    assert_eq!(to, target());
    assert_eq!(again.headers.get("CSeq"), Some("2 INVITE"));
    assert_eq!(again.headers.get("Call-ID"), invite.headers.get("Call-ID"));
    let auth = again.headers.get("Proxy-Authorization").unwrap();
    assert!(auth.contains("username=\"stox\"") && auth.contains("realm=\"pbx2.test\""));
    assert!(
        h.take_stanzas().is_empty(),
        "no NOTIFY of a failure, nothing to XMPP"
    );
    let ok = respond(&again, 200, "tgt", Some(TARGET_SDP));
    h.sip_from(target(), &ok);
    let (_, requests) = sent(&mut h);
    let (_, ack) = one(&requests, "ACK");
    assert_eq!(ack.headers.get("CSeq"), Some("2 ACK"));
    assert!(ack.headers.get("Proxy-Authorization").is_some());
    let (_, notify) = one(&requests, "NOTIFY");
    assert_eq!(body(notify), "SIP/2.0 200 OK\r\n");
    assert_eq!(
        h.updates.last().map(|u| u.0.clone()),
        Some(call),
        "the relay moved"
    );
}

#[test]
fn an_inbound_call_is_transferred_the_same_way() {
    let mut h = harness("[\"alice@test\"]");
    let (call, to) = inbound_answered(&mut h);
    let mut far = Far {
        call_id: "in1@pbx".into(),
        from: "<sip:+15557770000@127.0.0.1:5080>;tag=caller1".into(),
        to,
        cseq: 1,
    };
    let refer = far.request("REFER", &refer_to("<sip:2000@127.0.0.1:5080>"));
    h.sip_from(trunk(), &refer);
    let (responses, requests) = sent(&mut h);
    assert_eq!(responses[0].status, 202);
    let (_, invite) = one(&requests, "INVITE").clone();
    assert_eq!(invite.uri, "sip:2000@127.0.0.1:5080");
    let ok = respond(&invite, 200, "tgt", Some(TARGET_SDP));
    h.sip_from(trunk(), &ok);
    let (_, requests) = sent(&mut h);
    one(&requests, "ACK");
    let (_, notify) = one(&requests, "NOTIFY");
    assert_eq!(notify.headers.get("Call-ID"), Some("in1@pbx"));
    assert_eq!(body(notify), "SIP/2.0 200 OK\r\n");
    assert_eq!(
        h.updates.last().cloned(),
        Some((call, MediaLeg::Sip, TARGET_SDP.to_string()))
    );
    // Bob hangs up: the BYE is the target's dialog's.
    let sid = h.gw.calls().next().map(|c| c.xmpp.sid.clone()).unwrap();
    h.stanza(&format!("<iq from='bob@test/phone' to='+15557770000@sip.test/stox' type='set' id='t9'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='{sid}'><reason><success/></reason></jingle></iq>"));
    let (_, requests) = sent(&mut h);
    let byes: Vec<_> = requests
        .iter()
        .filter(|(_, r)| r.method.as_str() == "BYE")
        .map(|(_, r)| r.headers.get("Call-ID").unwrap().to_string())
        .collect();
    assert!(
        byes.contains(&invite.headers.get("Call-ID").unwrap().to_string()),
        "{byes:?}"
    );
    assert!(
        byes.contains(&"in1@pbx".to_string()),
        "the transferor's dialog, still open, is hung up too: {byes:?}"
    );
    assert_eq!(h.gw.active_calls(), 0);
}
