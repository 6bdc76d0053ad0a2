//! Calls taken back from the store (issue 5): a restarted gateway continues
//! established calls against the reloaded dialog, and ends calls caught in
//! set-up on both sides; an adopting instance moves the dialog to its own
//! Contact. The "store" here is the last snapshot the core asked to persist.

use super::*;
use stox::call::{CSEQ_GAP, Input, PersistKind, Side, Takeover};

/// A new gateway process that reloads `h`'s stored calls.
fn restarted(h: &Harness, how: Takeover) -> Harness {
    let calls = h.stored_calls();
    let mut fresh = Harness::new();
    fresh.now = h.now;
    fresh.input(Input::Restore { calls, how });
    fresh
}

/// An adopting instance at another address.
fn adopted_by_other(h: &Harness) -> Harness {
    let calls = h.stored_calls();
    let mut other = Harness::with_core(CONFIG, trunk(), |cfg| {
        cfg.sent_by = "127.0.0.2:5060".into();
    });
    other.now = h.now;
    other.input(Input::Restore {
        calls,
        how: Takeover::Adopt,
    });
    other
}

/// Bob's inbound call answered on his phone and ACKed; returns the To header
/// of our 200 (with our tag).
fn inbound_answered(h: &mut Harness) -> (String, String) {
    let sid = inbound_to_propose(h);
    h.stanza(&jmi("proceed", "bob@test/phone", &sid, None));
    let out = h.take_stanzas();
    let si = out
        .iter()
        .find(|s| jingle_action(s).as_deref() == Some("session-initiate"))
        .unwrap();
    let si_id = si.attr("id").unwrap().to_string();
    h.stanza(&format!(
        "<iq from='bob@test/phone' to='+15557770000@sip.test/stox' type='result' id='{si_id}'/>"
    ));
    h.stanza(&format!("<iq from='bob@test/phone' to='+15557770000@sip.test/stox' type='set' id='sa'><jingle xmlns='urn:xmpp:jingle:1' action='session-accept' sid='{sid}' responder='bob@test/phone'><content creator='initiator' name='0'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='0' name='PCMU' clockrate='8000'/></description><transport xmlns='urn:xmpp:jingle:transports:raw-udp:1'><candidate component='1' generation='0' id='r1' ip='127.0.0.1' port='41000'/></transport></content></jingle></iq>"));
    h.take_stanzas();
    let rs = h.responses();
    assert_eq!(rs[0].status, 200);
    let to = rs[0].headers.get("To").unwrap().to_string();
    let ack = format!(
        "ACK sip:stox@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKack1\nFrom: <sip:+15557770000@127.0.0.1:5080>;tag=caller1\nTo: {to}\nCall-ID: in1@pbx\nCSeq: 1 ACK\nContent-Length: 0\n\n"
    );
    h.sip_from(trunk(), &ack);
    assert_eq!(h.gw.active_calls(), 1);
    (sid, to)
}

fn last_end(h: &Harness) -> stox::call::CallEnd {
    let (kind, call) = h.persisted.last().expect("a snapshot");
    assert_eq!(*kind, PersistKind::Ended);
    call.ended
        .clone()
        .expect("the final snapshot says how the call ended")
}

#[test]
fn an_outbound_call_writes_created_invite_answered_and_ended() {
    let mut h = Harness::new();
    let invite = outbound_to_invite(&mut h);
    answer(&mut h, &invite);
    h.stanza("<iq from='alice@test/phone' to='+15551230001@sip.test/stox' type='set' id='t1'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s1'><reason><success/></reason></jingle></iq>");
    let kinds: Vec<PersistKind> = h.persisted.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        kinds,
        vec![
            PersistKind::Created,
            PersistKind::Modified,
            PersistKind::Answered,
            PersistKind::Ended
        ]
    );
    let end = last_end(&h);
    assert_eq!(end.by, Side::Xmpp);
    assert_eq!(end.jingle_reason.as_deref(), Some("success"));
    assert_eq!(end.sip_status, None);
}

#[test]
fn the_cdr_end_names_the_sip_side_and_its_status() {
    let mut h = Harness::new();
    let invite = outbound_to_invite(&mut h);
    h.sip_from(trunk(), &respond(&invite, 486, "far", None));
    let end = last_end(&h);
    assert_eq!(end.by, Side::Sip);
    assert_eq!(end.sip_status, Some(486));
    assert_eq!(end.jingle_reason.as_deref(), Some("busy"));
}

#[test]
fn a_restarted_gateway_hangs_up_a_reloaded_outbound_call_from_xmpp() {
    let mut h = Harness::new();
    let invite = outbound_to_invite(&mut h);
    answer(&mut h, &invite);
    let mut h = restarted(&h, Takeover::Restart);
    assert_eq!(h.gw.active_calls(), 1);
    assert!(h.take_sip().is_empty(), "a restart alone sends nothing");
    assert!(h.take_stanzas().is_empty());
    h.stanza("<iq from='alice@test/phone' to='+15551230001@sip.test/stox' type='set' id='t1'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s1'><reason><success/></reason></jingle></iq>");
    let (peer, bye) = h.expect_request("BYE");
    assert_eq!(peer, trunk());
    assert_eq!(bye.uri, "sip:far@127.0.0.1:5080", "to the remote target");
    assert_eq!(
        bye.headers.get("CSeq"),
        Some(format!("{} BYE", 1 + CSEQ_GAP + 1).as_str()),
        "above anything sent before the restart"
    );
    assert!(bye.headers.get("To").unwrap().contains("tag=far"));
    assert_eq!(bye.headers.get("From"), invite.headers.get("From"));
    assert_eq!(bye.headers.get("Call-ID"), invite.headers.get("Call-ID"));
    assert_eq!(h.gw.active_calls(), 0);
    assert_eq!(last_end(&h).by, Side::Xmpp);
}

#[test]
fn a_restarted_gateway_takes_a_bye_for_a_reloaded_outbound_call() {
    let mut h = Harness::new();
    let invite = outbound_to_invite(&mut h);
    answer(&mut h, &invite);
    let mut h = restarted(&h, Takeover::Restart);
    let bye = format!(
        "BYE sip:stox@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKbye1\nFrom: {};tag=far\nTo: {}\nCall-ID: {}\nCSeq: 5 BYE\nContent-Length: 0\n\n",
        invite.headers.get("To").unwrap(),
        invite.headers.get("From").unwrap(),
        invite.headers.get("Call-ID").unwrap()
    );
    h.sip_from(trunk(), &bye);
    assert_eq!(h.statuses(), vec![200]);
    let out = h.take_stanzas();
    assert_eq!(jingle_action(&out[0]).as_deref(), Some("session-terminate"));
    assert_eq!(out[0].attr("to"), Some("alice@test/phone"));
    assert_eq!(reason(&out[0]).as_deref(), Some("success"));
    assert_eq!(h.gw.active_calls(), 0);
}

#[test]
fn a_restarted_gateway_continues_a_reloaded_inbound_call_both_ways() {
    // Hung up from SIP.
    let mut h = Harness::new();
    let (_, to) = inbound_answered(&mut h);
    let mut r = restarted(&h, Takeover::Restart);
    let bye = format!(
        "BYE sip:stox@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKbye2\nFrom: <sip:+15557770000@127.0.0.1:5080>;tag=caller1\nTo: {to}\nCall-ID: in1@pbx\nCSeq: 2 BYE\nContent-Length: 0\n\n"
    );
    r.sip_from(trunk(), &bye);
    assert_eq!(r.statuses(), vec![200]);
    let out = r.take_stanzas();
    assert_eq!(out[0].attr("to"), Some("bob@test/phone"));
    assert_eq!(reason(&out[0]).as_deref(), Some("success"));
    assert_eq!(r.gw.active_calls(), 0);

    // Hung up from XMPP, after a session-info that the reloaded call answers.
    let mut h = Harness::new();
    let (sid, _) = inbound_answered(&mut h);
    let mut r = restarted(&h, Takeover::Restart);
    r.stanza(&format!("<iq from='bob@test/phone' to='+15557770000@sip.test/stox' type='set' id='si1'><jingle xmlns='urn:xmpp:jingle:1' action='session-info' sid='{sid}'><mute xmlns='urn:xmpp:jingle:apps:rtp:info:1' creator='responder' name='0'/></jingle></iq>"));
    let acked = r.take_stanzas();
    assert_eq!(
        acked[0].attr("type"),
        Some("result"),
        "the session is known"
    );
    r.stanza(&format!("<iq from='bob@test/phone' to='+15557770000@sip.test/stox' type='set' id='t9'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='{sid}'><reason><success/></reason></jingle></iq>"));
    let (_, bye) = r.expect_request("BYE");
    assert_eq!(
        bye.uri, "sip:caller@127.0.0.1:5080",
        "to the caller's Contact"
    );
    assert!(
        bye.headers
            .get("From")
            .unwrap()
            .contains(&format!("tag={}", to.split("tag=").nth(1).unwrap()))
    );
    assert!(bye.headers.get("To").unwrap().contains("tag=caller1"));
    let cseq: u32 = bye.headers.cseq().unwrap().seq;
    assert!(cseq > CSEQ_GAP, "CSeq {cseq} jumps past the gap");
}

#[test]
fn an_outbound_call_ringing_at_restart_is_cancelled_and_the_user_told() {
    let mut h = Harness::new();
    let invite = outbound_to_invite(&mut h);
    h.sip_from(trunk(), &respond(&invite, 180, "far", None));
    h.take_stanzas();
    let mut r = restarted(&h, Takeover::Restart);
    let out = r.take_stanzas();
    assert_eq!(jingle_action(&out[0]).as_deref(), Some("session-terminate"));
    assert_eq!(out[0].attr("to"), Some("alice@test/phone"));
    assert_eq!(reason(&out[0]).as_deref(), Some("connectivity-error"));
    let (_, cancel) = r.expect_request("CANCEL");
    assert_eq!(cancel.headers.get("Via"), invite.headers.get("Via"));
    assert_eq!(cancel.headers.get("CSeq"), Some("1 CANCEL"));
    r.sip_from(trunk(), &respond(&cancel, 200, "far", None));
    r.sip_from(trunk(), &respond(&invite, 487, "far", None));
    let (_, ack) = r.expect_request("ACK");
    assert_eq!(ack.headers.get("Via"), invite.headers.get("Via"));
    assert_eq!(r.gw.active_calls(), 0);
    let end = last_end(&r);
    assert_eq!(end.by, Side::Gateway);
    assert_eq!(end.jingle_reason.as_deref(), Some("connectivity-error"));
}

#[test]
fn an_outbound_invite_unanswered_at_restart_is_cancelled_at_once_and_at_its_first_provisional() {
    let mut h = Harness::new();
    let invite = outbound_to_invite(&mut h);
    let mut r = restarted(&h, Takeover::Restart);
    r.take_stanzas();
    r.expect_request("CANCEL");
    // In case it overtook the INVITE: again at the first provisional.
    r.sip_from(trunk(), &respond(&invite, 100, "far", None));
    r.expect_request("CANCEL");
    // A 2xx that crosses the CANCEL is ACKed and hung up.
    r.sip_from(trunk(), &respond(&invite, 200, "far", Some(ANSWER_SDP)));
    let sent: Vec<String> = r
        .take_sip()
        .into_iter()
        .filter_map(|(_, m)| match m {
            SipMessage::Request(q) => Some(q.method.as_str().to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(sent, vec!["ACK", "BYE"]);
    assert_eq!(r.gw.active_calls(), 0);
}

#[test]
fn an_outbound_invite_with_no_answer_at_all_ends_at_timer_b() {
    let mut h = Harness::new();
    outbound_to_invite(&mut h);
    let mut r = restarted(&h, Takeover::Restart);
    r.advance(Duration::from_secs(33));
    assert_eq!(r.gw.active_calls(), 0, "64·T1 later the attempt is over");
}

#[test]
fn a_gathering_outbound_call_at_restart_is_terminated_toward_xmpp_only() {
    let mut h = Harness::new();
    h.stanza(&propose("s1", GW));
    h.stanza(&session_initiate("s1", "+15551230001@sip.test/stox"));
    h.take_stanzas();
    let mut r = restarted(&h, Takeover::Restart);
    let out = r.take_stanzas();
    assert_eq!(jingle_action(&out[0]).as_deref(), Some("session-terminate"));
    assert!(r.take_sip().is_empty(), "no INVITE had left");
    assert_eq!(r.gw.active_calls(), 0);
}

#[test]
fn an_inbound_call_ringing_at_restart_gets_503_and_a_retract() {
    let mut h = Harness::new();
    let sid = inbound_to_propose(&mut h);
    h.stanza(&jmi("ringing", "bob@test/phone", &sid, None));
    h.responses();
    let mut r = restarted(&h, Takeover::Restart);
    let rs = r.responses();
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].status, 503);
    assert!(rs[0].headers.get("To").unwrap().contains("tag="));
    assert!(rs[0].headers.get("Warning").unwrap().contains("restarted"));
    let out = r.take_stanzas();
    let retract = out
        .iter()
        .find(|s| find(s, "retract").is_some())
        .expect("the user's devices stop ringing");
    assert_eq!(retract.attr("to"), Some("bob@test"));
    // Retransmitted until the caller's ACK (Timer G), then quiet.
    r.advance(T1);
    assert_eq!(r.statuses(), vec![503]);
    let to = rs[0].headers.get("To").unwrap();
    r.sip_from(trunk(), &format!("ACK sip:+15550001000@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKin1\nFrom: <sip:+15557770000@127.0.0.1:5080>;tag=caller1\nTo: {to}\nCall-ID: in1@pbx\nCSeq: 1 ACK\nContent-Length: 0\n\n"));
    r.advance(T1 * 8);
    assert!(r.statuses().is_empty());
    assert_eq!(r.gw.active_calls(), 0);
    assert_eq!(last_end(&r).sip_status, Some(503));
}

#[test]
fn an_adopting_instance_moves_the_dialog_to_its_contact() {
    let mut h = Harness::new();
    let invite = outbound_to_invite(&mut h);
    answer(&mut h, &invite);
    let mut other = adopted_by_other(&h);
    let (_, reinvite) = other.expect_request("INVITE");
    assert_eq!(reinvite.uri, "sip:far@127.0.0.1:5080");
    let contact = reinvite.headers.get("Contact").unwrap();
    assert!(contact.contains("127.0.0.2:5060"), "{contact}");
    assert!(
        reinvite
            .headers
            .get("Via")
            .unwrap()
            .contains("127.0.0.2:5060")
    );
    assert_eq!(
        reinvite.headers.get("Call-ID"),
        invite.headers.get("Call-ID")
    );
    assert!(!reinvite.body.is_empty(), "the same SDP: no media change");
    assert!(
        other
            .persisted
            .iter()
            .any(|(k, c)| *k == PersistKind::Modified
                && c.sip
                    .dialog
                    .as_ref()
                    .unwrap()
                    .local_contact
                    .contains("127.0.0.2")),
        "the new Contact is stored"
    );
    other.sip_from(trunk(), &respond(&reinvite, 200, "far", Some(ANSWER_SDP)));
    other.expect_request("ACK");
    other.stanza("<iq from='alice@test/phone' to='+15551230001@sip.test/stox' type='set' id='t1'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s1'><reason><success/></reason></jingle></iq>");
    other.expect_request("BYE");
    assert_eq!(other.gw.active_calls(), 0);
}

#[test]
fn a_snapshot_of_a_known_call_is_ignored() {
    let mut h = Harness::new();
    let invite = outbound_to_invite(&mut h);
    answer(&mut h, &invite);
    let calls = h.stored_calls();
    h.input(Input::Restore {
        calls,
        how: Takeover::Restart,
    });
    assert!(h.take_sip().is_empty());
    assert_eq!(h.gw.active_calls(), 1);
}

#[test]
fn stanzas_for_calls_this_instance_does_not_run_are_not_claimed() {
    use stox::call::Claim;
    let mut h = Harness::new();
    let invite = outbound_to_invite(&mut h);
    answer(&mut h, &invite);
    let parse = |xml: &str| -> minidom::Element {
        xml.replacen(' ', " xmlns='jabber:component:accept' ", 1)
            .parse()
            .unwrap()
    };
    let terminate = |sid: &str| {
        parse(&format!(
            "<iq from='alice@test/phone' to='+15551230001@sip.test/stox' type='set' id='t1'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='{sid}'><reason><success/></reason></jingle></iq>"
        ))
    };
    assert_eq!(h.gw.claim(&terminate("s1")), Claim::Here);
    assert_eq!(
        h.gw.claim(&terminate("elsewhere")),
        Claim::Session {
            user: "alice@test".into(),
            sid: "elsewhere".into(),
            may_start: false
        }
    );
    let initiate: minidom::Element = session_initiate("s9", "+15551230001@sip.test/stox")
        .replacen(' ', " xmlns='jabber:component:accept' ", 1)
        .parse()
        .unwrap();
    assert!(matches!(
        h.gw.claim(&initiate),
        Claim::Session {
            may_start: true,
            ..
        }
    ));
    assert_eq!(h.gw.claim(&parse(&propose("s8", GW))), Claim::Here);
    let reply = |id: &str| {
        parse(&format!(
            "<iq from='alice@test/phone' to='+15551230001@sip.test/stox' type='result' id='{id}'/>"
        ))
    };
    assert_eq!(
        h.gw.claim(&reply("stox~gw2~abcdef")),
        Claim::Instance("gw2".into())
    );
    assert_eq!(h.gw.claim(&reply("something-else")), Claim::Here);
    // Our own IQs carry our instance name, so replies find their way back.
    let from = invite.headers.get("From").unwrap();
    h.sip_from(trunk(), &format!(
        "BYE sip:stox@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKbye1\nFrom: {};tag=far\nTo: {from}\nCall-ID: {}\nCSeq: 5 BYE\nContent-Length: 0\n\n",
        invite.headers.get("To").unwrap(),
        invite.headers.get("Call-ID").unwrap()
    ));
    let out = h.take_stanzas();
    let id = out[0].attr("id").unwrap();
    let instance = Harness::new().gw_instance();
    assert!(id.starts_with(&stox::call::iq_prefix(&instance)), "{id}");
    assert_eq!(h.gw.claim(&reply(id)), Claim::Here, "a reply we await");
}
