//! RFC 3263 §4.3 fail-over across a trunk's located targets, on the virtual
//! clock: transport failure, Timer B and 503 before any provisional move the
//! INVITE on to the next target; pings and REGISTERs follow the live target.

use super::harness::*;
use std::time::Duration;
use stox::call::{CallEvent, Input};
use stox::sip::SipMessage;
use stox::sip::peer::{Peer, Transport};

const GW: &str = "+15551230001@sip.test";

fn udp(a: &str) -> Peer {
    Peer {
        transport: Transport::Udp,
        addr: addr(a),
    }
}

fn tcp(a: &str) -> Peer {
    Peer {
        transport: Transport::Tcp,
        addr: addr(a),
    }
}

/// A harness whose trunk `pbx` located to `targets`, in that order.
fn with_targets(config: &str, targets: Vec<Peer>, ping: Option<Duration>) -> Harness {
    Harness::with_core(config, trunk(), |cfg| {
        cfg.trunk_peers.insert("pbx".into(), targets);
        cfg.trunk_ping = ping;
    })
}

/// Alice's JMI call up to the first INVITE; returns where it went and it.
fn place_call(h: &mut Harness) -> (Peer, stox::sip::Request) {
    h.stanza(&propose("s1", GW));
    h.take_stanzas();
    h.stanza(&session_initiate("s1", "+15551230001@sip.test/stox"));
    h.take_stanzas();
    h.advance(Duration::from_millis(250));
    h.expect_request("INVITE")
}

fn branch(r: &stox::sip::Request) -> String {
    let via = r.headers.get("Via").unwrap();
    via.split(";branch=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

fn terminate_reason(h: &mut Harness) -> Option<String> {
    h.take_stanzas()
        .iter()
        .find(|s| jingle_action(s).as_deref() == Some("session-terminate"))
        .and_then(reason)
}

/// The INVITEs sent since the last take, with their destinations.
fn invites(h: &mut Harness) -> Vec<(Peer, stox::sip::Request)> {
    h.take_sip()
        .into_iter()
        .filter_map(|(p, m)| match m {
            SipMessage::Request(r) if r.method.as_str() == "INVITE" => Some((p, r)),
            _ => None,
        })
        .collect()
}

/// The retried INVITE is the same request in a new transaction: same Call-ID,
/// From tag, Request-URI and body; CSeq + 1; new branch; Via and Contact for
/// the new target's transport.
fn assert_retry_of(first: &stox::sip::Request, next: &stox::sip::Request, transport: &str) {
    for h in ["Call-ID", "From", "To"] {
        assert_eq!(first.headers.get(h), next.headers.get(h), "{h}");
    }
    assert_eq!(first.uri, next.uri);
    assert_eq!(first.body, next.body);
    let seq = |r: &stox::sip::Request| r.headers.cseq().unwrap().seq;
    assert_eq!(seq(next), seq(first) + 1);
    assert_ne!(branch(first), branch(next));
    let via = next.headers.get("Via").unwrap();
    assert!(via.starts_with(&format!("SIP/2.0/{transport} ")), "{via}");
    let contact = next.headers.get("Contact").unwrap();
    assert!(
        contact.contains(&format!("transport={}", transport.to_ascii_lowercase())),
        "{contact}"
    );
}

#[test]
fn first_target_unreachable_second_gets_the_invite() {
    let (a, b) = (tcp("192.0.2.1:5060"), udp("192.0.2.2:5070"));
    let mut h = with_targets(CONFIG, vec![a, b], None);
    let (to, first) = place_call(&mut h);
    assert_eq!(to, a);
    assert!(
        first
            .headers
            .get("Via")
            .unwrap()
            .starts_with("SIP/2.0/TCP ")
    );
    h.input(Input::SipUnreachable { peer: a });
    let sent = invites(&mut h);
    assert_eq!(sent.len(), 1, "one INVITE, to the next target");
    let (to, next) = &sent[0];
    assert_eq!(*to, b);
    assert_retry_of(&first, next, "UDP");
    assert!(
        h.take_stanzas().is_empty(),
        "XMPP sees nothing of the fail-over"
    );
    // The second target answers: the call goes on as usual.
    h.sip_from(b, &respond(next, 180, "far", None));
    let out = h.take_stanzas();
    assert_eq!(jingle_action(&out[0]).as_deref(), Some("session-info"));
    h.sip_from(b, &respond(next, 200, "far", Some(ANSWER_SDP)));
    // The ACK goes to the 2xx's Contact, with the retried INVITE's CSeq.
    let (_, ack) = h.expect_request("ACK");
    assert_eq!(ack.headers.get("CSeq"), Some("2 ACK"));
    let out = h.take_stanzas();
    assert!(
        out.iter()
            .any(|s| jingle_action(s).as_deref() == Some("session-accept"))
    );
    assert!(h.resolves.is_empty());
}

#[test]
fn timer_b_on_the_first_target_moves_to_the_second() {
    let (a, b) = (udp("192.0.2.1:5060"), udp("192.0.2.2:5060"));
    let mut h = with_targets(CONFIG, vec![a, b], None);
    let (_, first) = place_call(&mut h);
    // Retransmissions (Timer A) all go to the first target…
    h.advance(T1 * 63);
    assert!(invites(&mut h).iter().all(|(p, _)| *p == a));
    assert!(h.take_stanzas().is_empty());
    // …until Timer B (64·T1) moves the request to the second.
    h.advance(T1 * 2);
    let sent: Vec<_> = invites(&mut h)
        .into_iter()
        .filter(|(p, _)| *p != a)
        .collect();
    assert!(!sent.is_empty());
    // (Its own Timer A may already have retransmitted it: one transaction.)
    assert!(sent.iter().all(|(_, r)| branch(r) == branch(&sent[0].1)));
    assert_eq!(sent[0].0, b);
    assert_retry_of(&first, &sent[0].1, "UDP");
    assert!(terminate_reason(&mut h).is_none());
    assert_eq!(h.gw.active_calls(), 1);
    // The second target rings.
    h.sip_from(b, &respond(&sent[0].1, 180, "far", None));
    assert_eq!(
        jingle_action(&h.take_stanzas()[0]).as_deref(),
        Some("session-info")
    );
}

#[test]
fn a_503_before_any_provisional_moves_on_but_not_after_one() {
    let (a, b, c) = (
        udp("192.0.2.1:5060"),
        udp("192.0.2.2:5060"),
        udp("192.0.2.3:5060"),
    );
    let mut h = with_targets(CONFIG, vec![a, b, c], None);
    let (_, first) = place_call(&mut h);
    h.sip_from(a, &respond(&first, 503, "far", None));
    let sent = h.take_sip();
    // The 503 is ACKed to the first target, and the INVITE goes to the second.
    assert!(
        sent.iter()
            .any(|(p, m)| *p == a
                && matches!(m, SipMessage::Request(r) if r.method.as_str() == "ACK"))
    );
    let next: Vec<_> = sent
        .into_iter()
        .filter_map(|(p, m)| match m {
            SipMessage::Request(r) if r.method.as_str() == "INVITE" => Some((p, r)),
            _ => None,
        })
        .collect();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].0, b);
    assert_retry_of(&first, &next[0].1, "UDP");
    assert!(h.take_stanzas().is_empty());
    // After a provisional, a 503 is the callee's answer: no third target.
    let second = next[0].1.clone();
    h.sip_from(b, &respond(&second, 180, "far", None));
    h.take_stanzas();
    h.sip_from(b, &respond(&second, 503, "far", None));
    assert!(invites(&mut h).is_empty(), "no INVITE to the third target");
    assert!(terminate_reason(&mut h).is_some());
    assert_eq!(h.gw.active_calls(), 0);
    assert!(h.events.contains(&CallEvent::Failed {
        direction: stox::call::CallDirection::XmppToSip,
        status: 503
    }));
}

#[test]
fn all_targets_failing_fail_the_call_with_the_usual_status() {
    // Transport failure, then Timer B on the last: 408 <timeout/>, as without
    // fail-over, and the trunk is to be located again.
    let (a, b) = (tcp("192.0.2.1:5060"), udp("192.0.2.2:5060"));
    let mut h = with_targets(CONFIG, vec![a, b], None);
    place_call(&mut h);
    h.input(Input::SipUnreachable { peer: a });
    assert_eq!(invites(&mut h)[0].0, b);
    h.advance(T1 * 65);
    assert_eq!(terminate_reason(&mut h).as_deref(), Some("timeout"));
    assert_eq!(h.gw.active_calls(), 0);
    assert_eq!(h.resolves, vec!["pbx".to_string()]);

    // Every target refusing the connection: 503 <connectivity-error/>.
    let (a, b) = (tcp("192.0.2.1:5060"), tcp("192.0.2.2:5060"));
    let mut h = with_targets(CONFIG, vec![a, b], None);
    place_call(&mut h);
    h.input(Input::SipUnreachable { peer: a });
    h.input(Input::SipUnreachable { peer: b });
    assert_eq!(
        terminate_reason(&mut h).as_deref(),
        Some("connectivity-error")
    );
    assert!(h.events.contains(&CallEvent::Failed {
        direction: stox::call::CallDirection::XmppToSip,
        status: 503
    }));

    // Every target answering 503: the last 503 ends the call.
    let (a, b) = (udp("192.0.2.1:5060"), udp("192.0.2.2:5060"));
    let mut h = with_targets(CONFIG, vec![a, b], None);
    let (_, first) = place_call(&mut h);
    h.sip_from(a, &respond(&first, 503, "far", None));
    let (_, second) = invites(&mut h).remove(0);
    h.sip_from(b, &respond(&second, 503, "far", None));
    assert!(terminate_reason(&mut h).is_some());
    assert_eq!(h.gw.active_calls(), 0);
}

#[test]
fn a_call_starts_at_the_live_target_and_new_lists_replace_old_ones() {
    let (a, b, c) = (
        udp("192.0.2.1:5060"),
        udp("192.0.2.2:5060"),
        udp("192.0.2.3:5060"),
    );
    let mut h = with_targets(CONFIG, vec![a, b], None);
    h.input(Input::TrunkTargets {
        trunk: "pbx".into(),
        targets: vec![c],
    });
    let (to, _) = place_call(&mut h);
    assert_eq!(to, c);

    // A trunk that locates to nothing refuses calls with 503, as before.
    let mut h = with_targets(CONFIG, vec![a], None);
    h.input(Input::TrunkTargets {
        trunk: "pbx".into(),
        targets: vec![],
    });
    h.stanza(&propose("s1", GW));
    let out = h.take_stanzas();
    assert!(find(&out[0], "reject").is_some());
    assert!(find(&out[0], "connectivity-error").is_some());
    assert!(h.take_sip().is_empty());
}

#[test]
fn inbound_calls_are_accepted_from_any_target_of_the_trunk() {
    let (a, b) = (udp("192.0.2.1:5060"), udp("192.0.2.2:5060"));
    let mut h = with_targets(CONFIG, vec![a, b], None);
    h.sip_from(b, &invite("+15550001000", "in1@b", "z9hG4bKin1"));
    assert_eq!(
        h.statuses(),
        vec![100],
        "the second target is the trunk too"
    );
    h.sip_from(
        udp("192.0.2.9:5060"),
        &invite("+15550001000", "in2@x", "z9hG4bKin2"),
    );
    assert_eq!(h.statuses(), vec![403], "others are not");
}

#[test]
fn pings_move_on_at_once_and_the_trunk_is_down_only_when_every_target_failed() {
    let (a, b) = (udp("192.0.2.1:5060"), udp("192.0.2.2:5060"));
    let every = Duration::from_secs(30);
    let mut h = with_targets(CONFIG, vec![a, b], Some(every));
    h.advance(every);
    let (to, _) = h.expect_request("OPTIONS");
    assert_eq!(to, a);
    // Timer F on the first target: the second is pinged at once.
    h.advance(T1 * 64);
    let pings: Vec<Peer> = h
        .take_sip()
        .into_iter()
        .filter(|(_, m)| matches!(m, SipMessage::Request(r) if r.method.as_str() == "OPTIONS"))
        .map(|(p, _)| p)
        .collect();
    assert_eq!(pings.last(), Some(&b));
    assert!(
        !h.events
            .iter()
            .any(|e| matches!(e, CallEvent::TrunkState { up: false, .. }))
    );
    // The second answers: up; it is the live target now (pings and calls).
    h.advance(every);
    let ping_b = h
        .take_sip()
        .into_iter()
        .filter_map(|(p, m)| match m {
            SipMessage::Request(r) if r.method.as_str() == "OPTIONS" => Some((p, r)),
            _ => None,
        })
        .next_back()
        .unwrap();
    assert_eq!(ping_b.0, b, "the next round starts at the live target");
    h.sip_from(b, &respond(&ping_b.1, 200, "far", None));
    assert!(h.events.contains(&CallEvent::TrunkState {
        trunk: "pbx".into(),
        up: true
    }));
    let (to, _) = place_call(&mut h);
    assert_eq!(to, b);

    // Both failing: down, and the trunk is located again.
    let mut h = with_targets(
        CONFIG,
        vec![tcp("192.0.2.1:5060"), tcp("192.0.2.2:5060")],
        Some(every),
    );
    h.advance(every);
    assert_eq!(h.expect_request("OPTIONS").0, tcp("192.0.2.1:5060"));
    h.input(Input::SipUnreachable {
        peer: tcp("192.0.2.1:5060"),
    });
    assert_eq!(h.expect_request("OPTIONS").0, tcp("192.0.2.2:5060"));
    h.input(Input::SipUnreachable {
        peer: tcp("192.0.2.2:5060"),
    });
    assert!(h.events.contains(&CallEvent::TrunkState {
        trunk: "pbx".into(),
        up: false
    }));
    assert_eq!(h.resolves, vec!["pbx".to_string()]);
}

#[test]
fn register_moves_to_the_next_target_when_the_first_fails() {
    let config = CONFIG.replace(
        "uri = \"sip:127.0.0.1:5080\"",
        "uri = \"sip:127.0.0.1:5080\"\nusername = \"stox\"\npassword = \"s3cret\"\nregister = true",
    );
    let (a, b) = (tcp("192.0.2.1:5060"), udp("192.0.2.2:5060"));
    let mut h = with_targets(&config, vec![a, b], None);
    h.advance(Duration::from_millis(1));
    let (to, first) = h.expect_request("REGISTER");
    assert_eq!(to, a);
    h.input(Input::SipUnreachable { peer: a });
    let (to, second) = h.expect_request("REGISTER");
    assert_eq!(to, b, "no back-off while a target is left");
    assert_eq!(first.headers.get("Call-ID"), second.headers.get("Call-ID"));
    assert!(
        second
            .headers
            .get("Via")
            .unwrap()
            .starts_with("SIP/2.0/UDP ")
    );
    assert!(
        second
            .headers
            .get("Contact")
            .unwrap()
            .contains("transport=udp")
    );
    h.sip_from(b, &respond(&second, 200, "reg", None));
    assert!(h.events.contains(&CallEvent::Registration {
        trunk: "pbx".into(),
        registered: true
    }));
}

#[test]
fn a_trunk_located_late_registers_then() {
    let config = CONFIG.replace(
        "uri = \"sip:127.0.0.1:5080\"",
        "uri = \"sip:127.0.0.1:5080\"\nusername = \"stox\"\npassword = \"s3cret\"\nregister = true",
    );
    let mut h = with_targets(&config, vec![], None);
    h.advance(Duration::from_secs(1));
    assert!(h.take_sip().is_empty());
    h.input(Input::TrunkTargets {
        trunk: "pbx".into(),
        targets: vec![udp("192.0.2.5:5060")],
    });
    h.advance(Duration::from_millis(1));
    assert_eq!(h.expect_request("REGISTER").0, udp("192.0.2.5:5060"));
}
