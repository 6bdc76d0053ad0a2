//! The SIP extensions trunks use beyond RFC 3261's core: reliable provisionals
//! (RFC 3262), session timers with UPDATE or re-INVITE refreshes (RFC 4028,
//! RFC 3311), glare (491), digest challenges to BYE, and 3xx redirects.

use super::*;

/// `text` (a SIP message) with `extra` header lines added after the start line.
fn with_headers(text: &str, extra: &[&str]) -> String {
    let (start, rest) = text.split_once("\r\n").unwrap_or((text, ""));
    let mut s = format!("{start}\r\n");
    for h in extra {
        s += h;
        s += "\r\n";
    }
    s + rest
}

/// The requests sent since the last take.
fn sent_requests(h: &mut Harness) -> Vec<stox::sip::Request> {
    h.take_sip()
        .into_iter()
        .filter_map(|(_, m)| match m {
            SipMessage::Request(r) => Some(r),
            _ => None,
        })
        .collect()
}

/// An outbound call answered with `extra` headers on the 200.
fn answered_with(h: &mut Harness, extra: &[&str]) -> stox::sip::Request {
    let invite = outbound_invite(h);
    h.sip_from(
        trunk(),
        &with_headers(&respond(&invite, 200, "far", Some(ANSWER_SDP)), extra),
    );
    h.expect_request("ACK");
    only_action(h, "session-accept");
    invite
}

#[test]
fn the_invite_offers_100rel_and_a_session_timer() {
    let mut h = Harness::new();
    let invite = outbound_invite(&mut h);
    assert!(invite.headers.has_token("Supported", "100rel"));
    assert!(invite.headers.has_token("Supported", "timer"));
    assert_eq!(invite.headers.get("Session-Expires"), Some("1800"));
    assert_eq!(invite.headers.get("Min-SE"), Some("90"));
    assert!(invite.headers.has_token("Allow", "UPDATE"));
}

#[test]
fn a_reliable_180_is_pracked_once_and_later_requests_continue_the_cseq() {
    let mut h = Harness::new();
    let invite = outbound_invite(&mut h);
    let ringing = with_headers(
        &respond(&invite, 180, "far", None),
        &["Require: 100rel", "RSeq: 7"],
    );
    h.sip_from(trunk(), &ringing);
    let (_, prack) = h.expect_request("PRACK");
    assert_eq!(prack.headers.get("RAck"), Some("7 1 INVITE"));
    assert_eq!(prack.headers.get("CSeq"), Some("2 PRACK"));
    assert!(prack.headers.get("To").unwrap().contains("tag=far"));
    assert_eq!(prack.uri, "sip:far@127.0.0.1:5080", "to the remote target");
    assert_eq!(only_action(&mut h, "session-info").attr("to"), Some(ALICE));
    h.sip_from(trunk(), &respond(&prack, 200, "far", None));
    // The 180 again (its PRACK was lost, say): no second PRACK.
    h.sip_from(trunk(), &ringing);
    assert!(sent_requests(&mut h).is_empty());
    // A new reliable provisional (RSeq 8) is PRACKed.
    let progress = with_headers(
        &respond(&invite, 183, "far", None),
        &["Require: 100rel", "RSeq: 8"],
    );
    h.sip_from(trunk(), &progress);
    let (_, prack2) = h.expect_request("PRACK");
    assert_eq!(prack2.headers.get("RAck"), Some("8 1 INVITE"));
    assert_eq!(prack2.headers.get("CSeq"), Some("3 PRACK"));
    h.sip_from(trunk(), &respond(&invite, 200, "far", Some(ANSWER_SDP)));
    let (_, ack) = h.expect_request("ACK");
    assert_eq!(
        ack.headers.get("CSeq"),
        Some("1 ACK"),
        "ACK has the INVITE's CSeq"
    );
    h.take_stanzas();
    h.stanza(&jingle(ALICE, CALLEE, "t1", "session-terminate", "s1", ""));
    let (_, bye) = h.expect_request("BYE");
    assert_eq!(bye.headers.get("CSeq"), Some("4 BYE"), "above the PRACKs");
}

#[test]
fn we_refresh_with_update_at_half_the_interval_when_the_peer_allows_it() {
    let mut h = Harness::new();
    answered_with(
        &mut h,
        &[
            "Session-Expires: 120;refresher=uac",
            "Require: timer",
            "Allow: INVITE, ACK, BYE, CANCEL, UPDATE",
        ],
    );
    h.advance(Duration::from_secs(59));
    assert!(sent_requests(&mut h).is_empty());
    h.advance(Duration::from_secs(1));
    let (_, update) = h.expect_request("UPDATE");
    assert_eq!(
        update.headers.get("Session-Expires"),
        Some("120;refresher=uac")
    );
    assert!(update.body.is_empty(), "a refresh UPDATE carries no offer");
    assert_eq!(update.headers.get("CSeq"), Some("2 UPDATE"));
    h.advance(Duration::from_secs(1));
    sent_requests(&mut h); // its UDP retransmissions
    h.sip_from(
        trunk(),
        &with_headers(
            &respond(&update, 200, "far", None),
            &["Session-Expires: 120;refresher=uac", "Require: timer"],
        ),
    );
    h.advance(Duration::from_secs(59));
    assert!(sent_requests(&mut h).is_empty(), "restarted at the 2xx");
    h.advance(Duration::from_secs(1));
    h.expect_request("UPDATE");
    assert_eq!(h.gw.active_calls(), 1);
}

#[test]
fn without_update_we_refresh_with_a_reinvite_and_ack_its_2xx() {
    let mut h = Harness::new();
    answered_with(&mut h, &["Session-Expires: 90;refresher=uac"]);
    h.advance(Duration::from_secs(45));
    let (_, reinvite) = h.expect_request("INVITE");
    assert!(reinvite.headers.get("To").unwrap().contains("tag=far"));
    let body = String::from_utf8(reinvite.body.clone()).unwrap();
    assert!(body.contains("m=audio"), "the same offer again: {body}");
    h.sip_from(trunk(), &respond(&reinvite, 200, "far", Some(ANSWER_SDP)));
    let (_, ack) = h.expect_request("ACK");
    assert_eq!(ack.headers.get("CSeq"), Some("2 ACK"));
    assert!(
        h.take_stanzas().is_empty(),
        "a refresh changes nothing on the XMPP side"
    );
}

#[test]
fn an_overdue_peer_refresh_ends_the_call_on_both_sides() {
    let mut h = Harness::new();
    answered_with(&mut h, &["Session-Expires: 90;refresher=uas"]);
    // The peer refreshes in time once: the timer restarts.
    h.advance(Duration::from_secs(40));
    let update = "UPDATE sip:stox@127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKup1\r\nMax-Forwards: 70\r\n\
From: <sip:+15551230001@127.0.0.1:5080>;tag=far\r\nTo: <sip:alice@test>;tag=TAG\r\n\
Call-ID: CID\r\nCSeq: 5 UPDATE\r\nSession-Expires: 90;refresher=uac\r\nSupported: timer\r\n\
Content-Length: 0\r\n\r\n";
    let call = h.gw.calls().next().unwrap();
    let (tag, cid) = (call.sip.local_tag.clone(), call.sip.call_id.clone());
    h.sip_from(trunk(), &update.replace("TAG", &tag).replace("CID", &cid));
    let rs = h.responses();
    assert_eq!(rs[0].status, 200);
    assert_eq!(
        rs[0].headers.get("Session-Expires"),
        Some("90;refresher=uac")
    );
    assert_eq!(rs[0].headers.get("Require"), Some("timer"));
    assert!(rs[0].body.is_empty(), "no offer, no answer (RFC 3311)");
    // 90 − min(32, 30) = 60 s after that refresh, nobody refreshed again.
    h.advance(Duration::from_secs(59));
    assert!(sent_requests(&mut h).is_empty());
    h.advance(Duration::from_secs(1));
    h.expect_request("BYE");
    let t = only_action(&mut h, "session-terminate");
    assert_eq!(reason(&t).as_deref(), Some("timeout"));
    assert_eq!(h.gw.active_calls(), 0);
}

#[test]
fn a_422_is_answered_with_the_interval_the_peer_wants() {
    let mut h = Harness::new();
    let invite = outbound_invite(&mut h);
    h.sip_from(
        trunk(),
        &with_headers(&respond(&invite, 422, "far", None), &["Min-SE: 3600"]),
    );
    let sent = sent_requests(&mut h);
    let again = sent
        .iter()
        .find(|r| r.method.as_str() == "INVITE")
        .expect("INVITE again");
    assert_eq!(again.headers.get("Session-Expires"), Some("3600"));
    assert_eq!(again.headers.get("CSeq"), Some("2 INVITE"));
    assert!(
        h.take_stanzas()
            .iter()
            .all(|s| jingle_action(s).as_deref() != Some("session-terminate"))
    );
}

#[test]
fn glare_gets_491_and_our_refresh_is_retried_later() {
    let mut h = Harness::new();
    answered_with(&mut h, &["Session-Expires: 90;refresher=uac"]);
    h.advance(Duration::from_secs(45));
    let (_, ours) = h.expect_request("INVITE");
    // The peer's re-INVITE crosses ours.
    let call = h.gw.calls().next().unwrap();
    let (tag, cid) = (call.sip.local_tag.clone(), call.sip.call_id.clone());
    let theirs = format!(
        "INVITE sip:stox@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKre1\r\n\
Max-Forwards: 70\r\nFrom: <sip:+15551230001@127.0.0.1:5080>;tag=far\r\nTo: <sip:alice@test>;tag={tag}\r\n\
Call-ID: {cid}\r\nCSeq: 9 INVITE\r\nContact: <sip:far@127.0.0.1:5080>\r\nContent-Length: 0\r\n\r\n"
    );
    h.sip_from(trunk(), &theirs);
    assert_eq!(h.statuses(), vec![491]);
    // And ours meets theirs: 491 too; we own the Call-ID, so we wait 2.1–4 s.
    h.sip_from(trunk(), &respond(&ours, 491, "far", None));
    h.expect_request("ACK");
    h.advance(Duration::from_millis(2000));
    assert!(sent_requests(&mut h).is_empty());
    h.advance(Duration::from_millis(2100));
    // The retry (and, by now, perhaps its first UDP retransmission).
    let retries: Vec<_> = sent_requests(&mut h)
        .into_iter()
        .filter(|r| r.method.as_str() == "INVITE")
        .collect();
    assert!(!retries.is_empty(), "retried within 4 s");
    for r in retries {
        assert_eq!(r.headers.get("CSeq"), Some("3 INVITE"));
    }
}

#[test]
fn a_refresh_answered_481_ends_the_call() {
    let mut h = Harness::new();
    answered_with(
        &mut h,
        &["Session-Expires: 90;refresher=uac", "Allow: UPDATE"],
    );
    h.advance(Duration::from_secs(45));
    let (_, update) = h.expect_request("UPDATE");
    h.sip_from(trunk(), &respond(&update, 481, "far", None));
    let t = only_action(&mut h, "session-terminate");
    assert_eq!(reason(&t).as_deref(), Some("connectivity-error"));
    assert_eq!(h.gw.active_calls(), 0);
}

#[test]
fn a_challenged_bye_is_sent_again_with_credentials() {
    let mut h = auth_harness();
    let invite = outbound_invite(&mut h);
    h.sip_from(trunk(), &respond(&invite, 200, "far", Some(ANSWER_SDP)));
    h.expect_request("ACK");
    h.take_stanzas();
    h.stanza(&jingle(ALICE, CALLEE, "t1", "session-terminate", "s1", ""));
    let (_, bye) = h.expect_request("BYE");
    assert_eq!(
        h.gw.active_calls(),
        0,
        "the call is over for the XMPP user at once"
    );
    h.sip_from(
        trunk(),
        &challenge(&bye, 407, "Proxy-Authenticate", "nb", ""),
    );
    let (_, again) = h.expect_request("BYE");
    let auth = again
        .headers
        .get("Proxy-Authorization")
        .expect("credentials");
    assert!(
        auth.contains("username=\"stox\"") && auth.contains("nonce=\"nb\""),
        "{auth}"
    );
    assert_eq!(again.headers.get("CSeq"), Some("3 BYE"));
    // Refused again with the same nonce: no loop.
    h.sip_from(
        trunk(),
        &challenge(&again, 407, "Proxy-Authenticate", "nb", ""),
    );
    assert!(sent_requests(&mut h).is_empty());
}

#[test]
fn a_302_is_followed_through_the_trunk_a_few_times_then_fails() {
    let mut h = Harness::new();
    let invite = outbound_invite(&mut h);
    let moved = |req: &stox::sip::Request, n: u32| {
        respond(req, 302, "far", None).replace(
            "Contact: <sip:far@127.0.0.1:5080>",
            &format!("Contact: <sip:+1555999000{n}@203.0.113.9>;q=0.5, <sip:+1555888000{n}@203.0.113.9>;q=0.9"),
        )
    };
    h.sip_from(trunk(), &moved(&invite, 1));
    let sent = h.take_sip();
    let (peer, again) = sent
        .iter()
        .find_map(|(p, m)| match m {
            SipMessage::Request(r) if r.method.as_str() == "INVITE" => Some((*p, r.clone())),
            _ => None,
        })
        .expect("INVITE to the new target");
    assert_eq!(again.uri, "sip:+15558880001@203.0.113.9", "the highest q");
    assert_eq!(
        peer,
        trunk(),
        "still through the trunk, never to the named host"
    );
    let mut last = again;
    for n in 2..=3 {
        h.sip_from(trunk(), &moved(&last, n));
        last = sent_requests(&mut h)
            .into_iter()
            .find(|r| r.method.as_str() == "INVITE")
            .expect("followed");
    }
    h.sip_from(trunk(), &moved(&last, 4));
    let t = only_action(&mut h, "session-terminate");
    assert_eq!(reason(&t).as_deref(), Some("general-error"));
    assert_eq!(h.gw.active_calls(), 0);
}

/// An inbound INVITE with `extra` headers.
fn inbound_with(h: &mut Harness, extra: &[&str]) {
    h.sip_from(
        trunk(),
        &with_headers(&invite(DID, "in1@pbx", "z9hG4bKin1"), extra),
    );
}

#[test]
fn inbound_100rel_sends_180_reliably_until_pracked() {
    let mut h = Harness::new();
    inbound_with(&mut h, &["Require: 100rel", "Supported: timer"]);
    assert_eq!(h.statuses(), vec![100]);
    let sid = find(&h.take_stanzas()[0], "propose")
        .and_then(|p| p.attr("id"))
        .unwrap()
        .to_string();
    h.stanza(&jmi("ringing", BOB, CALLER, &sid, None));
    let rs = h.responses();
    assert_eq!(rs[0].status, 180);
    assert_eq!(rs[0].headers.get("Require"), Some("100rel"));
    let rseq: u32 = rs[0].headers.get("RSeq").unwrap().parse().unwrap();
    let to = rs[0].headers.get("To").unwrap().to_string();
    h.advance(T1);
    assert_eq!(h.statuses(), vec![180], "retransmitted at T1");
    h.advance(T1 * 2);
    assert_eq!(h.statuses(), vec![180], "then at 2·T1");
    let prack = from_caller("PRACK", &to, 2, "z9hG4bKpr1", None).replace(
        "Content-Length",
        &format!("RAck: {rseq} 1 INVITE\nContent-Length"),
    );
    h.sip_from(trunk(), &prack);
    assert_eq!(h.statuses(), vec![200]);
    h.advance(T1 * 8);
    assert!(h.statuses().is_empty(), "no retransmission after the PRACK");
    // A PRACK for something we never sent: 481.
    let stray = from_caller("PRACK", &to, 3, "z9hG4bKpr2", None)
        .replace("Content-Length", "RAck: 12345 1 INVITE\nContent-Length");
    h.sip_from(trunk(), &stray);
    assert_eq!(h.statuses(), vec![481]);
}

#[test]
fn inbound_reliable_180_never_pracked_fails_the_invite_with_500() {
    let mut h = Harness::new();
    inbound_with(&mut h, &["Require: 100rel"]);
    h.statuses();
    let sid = find(&h.take_stanzas()[0], "propose")
        .and_then(|p| p.attr("id"))
        .unwrap()
        .to_string();
    h.stanza(&jmi("ringing", BOB, CALLER, &sid, None));
    h.statuses();
    h.advance(T1 * 64);
    let statuses = h.statuses();
    assert_eq!(statuses.last(), Some(&500), "{statuses:?}");
    assert_eq!(h.gw.active_calls(), 0);
}

#[test]
fn inbound_session_timer_is_granted_or_refused_with_422() {
    let mut h = Harness::new();
    inbound_with(&mut h, &["Session-Expires: 60", "Supported: timer"]);
    let rs = h.responses();
    assert_eq!(rs.last().unwrap().status, 422);
    assert_eq!(rs.last().unwrap().headers.get("Min-SE"), Some("90"));
    assert_eq!(h.gw.active_calls(), 0);

    let mut h = Harness::new();
    inbound_with(&mut h, &["Session-Expires: 120", "Supported: timer"]);
    h.statuses();
    let sid = find(&h.take_stanzas()[0], "propose")
        .and_then(|p| p.attr("id"))
        .unwrap()
        .to_string();
    h.stanza(&jmi("proceed", BOB, CALLER, &sid, None));
    only_action(&mut h, "session-initiate");
    h.stanza(&session_accept(&sid));
    h.take_stanzas();
    let ok = h.responses().pop().unwrap();
    assert_eq!(ok.status, 200);
    assert_eq!(ok.headers.get("Session-Expires"), Some("120;refresher=uac"));
    assert_eq!(ok.headers.get("Require"), Some("timer"));
    let to = ok.headers.get("To").unwrap().to_string();
    h.sip_from(trunk(), &from_caller("ACK", &to, 1, "z9hG4bKack1", None));
    // The caller refreshes; nobody does: 120 − 32 s later the call ends.
    h.advance(Duration::from_secs(87));
    assert!(sent_requests(&mut h).is_empty());
    h.advance(Duration::from_secs(1));
    h.expect_request("BYE");
    assert_eq!(
        reason(&only_action(&mut h, "session-terminate")).as_deref(),
        Some("timeout")
    );
}

// ------------------------------------------ digest challenge of inbound calls --

fn inbound_auth_harness() -> Harness {
    let config = CONFIG.replace(
        "uri = \"sip:127.0.0.1:5080\"",
        "uri = \"sip:127.0.0.1:5080\"\nusername = \"pbx1\"\npassword = \"open sesame\"\nrealm = \"sip.test\"\ninbound_auth = true",
    );
    Harness::with_config(&config, trunk())
}

/// The inbound INVITE again (CSeq 2, new branch) with an Authorization for
/// the strongest challenge of `challenged`, computed with `password`.
fn invite_with_credentials(challenged: &stox::sip::Response, password: &str) -> String {
    use stox::sip::digest;
    let challenges = digest::challenges_from(challenged.headers.get_all("WWW-Authenticate"));
    let ch = digest::pick_strongest(&challenges).expect("a usable challenge");
    let creds = digest::Credentials {
        username: "pbx1".into(),
        password: password.into(),
    };
    let uri = "sip:+15550001000@127.0.0.1:5060";
    let a = digest::authorize(ch, &creds, "INVITE", uri, b"", "c0ffee", 1).unwrap();
    with_headers(
        &invite(DID, "in1@pbx", "z9hG4bKin2").replace("CSeq: 1 INVITE", "CSeq: 2 INVITE"),
        &[&format!("Authorization: {}", a.value)],
    )
}

#[test]
fn an_authenticating_trunk_is_challenged_and_rings_only_with_the_password() {
    let mut h = inbound_auth_harness();
    h.sip_from(trunk(), &invite(DID, "in1@pbx", "z9hG4bKin1"));
    let rs = h.responses();
    let challenge = rs.last().unwrap().clone();
    assert_eq!(challenge.status, 401);
    let offered: Vec<&str> = challenge.headers.get_all("WWW-Authenticate").collect();
    assert_eq!(offered.len(), 2, "{offered:?}");
    assert!(offered[0].contains("algorithm=SHA-256") && offered[1].contains("algorithm=MD5"));
    assert!(
        h.take_stanzas().is_empty(),
        "nobody rings before the caller proved itself"
    );
    // A wrong password: 403, still nobody rings.
    h.sip_from(trunk(), &invite_with_credentials(&challenge, "guess"));
    assert_eq!(h.statuses().last(), Some(&403));
    assert!(h.take_stanzas().is_empty());
    // The right one: the call goes on to bob.
    let mut h = inbound_auth_harness();
    h.sip_from(trunk(), &invite(DID, "in1@pbx", "z9hG4bKin1"));
    let challenge = h.responses().pop().unwrap();
    h.sip_from(trunk(), &invite_with_credentials(&challenge, "open sesame"));
    assert_eq!(h.statuses(), vec![100]);
    let out = h.take_stanzas();
    assert!(find(&out[0], "propose").is_some(), "bob is rung");
    assert_eq!(h.gw.active_calls(), 1);
    // The same credentials replayed on another call (same nonce and nc): 403.
    let replay = invite_with_credentials(&challenge, "open sesame")
        .replace("in1@pbx", "in2@pbx")
        .replace("z9hG4bKin2", "z9hG4bKin3");
    h.sip_from(trunk(), &replay);
    assert_eq!(h.statuses().last(), Some(&403));
    assert_eq!(h.gw.active_calls(), 1);
    // Credentials computed for another Request-URI: 403.
    let mut h = inbound_auth_harness();
    h.sip_from(trunk(), &invite(DID, "in1@pbx", "z9hG4bKin1"));
    let challenge = h.responses().pop().unwrap();
    let elsewhere = invite_with_credentials(&challenge, "open sesame").replace(
        "INVITE sip:+15550001000@127.0.0.1:5060",
        "INVITE sip:+15550001001@127.0.0.1:5060",
    );
    h.sip_from(trunk(), &elsewhere);
    assert_eq!(h.statuses().last(), Some(&403));
    assert!(h.take_stanzas().is_empty());
}

// ------------------------------------------------------------ INFO (RFC 6086) --

/// An in-dialog INFO from the caller with a body of `ctype`.
fn info(to: &str, cseq: u32, branch: &str, extra: &str, ctype: &str, body: &str) -> String {
    from_caller("INFO", to, cseq, branch, None).replace(
        "Content-Length: 0\n\n",
        &format!(
            "{extra}{}Content-Length: {}\n\n{body}",
            if ctype.is_empty() {
                String::new()
            } else {
                format!("Content-Type: {ctype}\n")
            },
            body.len()
        ),
    )
}

#[test]
fn info_dtmf_reaches_the_xmpp_user_and_other_info_is_answered_properly() {
    let mut h = Harness::new();
    let (sid, to, _) = inbound_answered(&mut h);
    h.take_stanzas();
    h.sip_from(
        trunk(),
        &info(
            &to,
            2,
            "z9hG4bKi1",
            "",
            "application/dtmf-relay",
            "Signal=7\r\nDuration=250\r\n",
        ),
    );
    assert_eq!(h.statuses(), vec![200]);
    let si = only_action(&mut h, "session-info");
    assert_eq!(si.attr("to"), Some(BOB));
    let dtmf = find(&si, "dtmf").expect("XEP-0181 dtmf");
    assert_eq!(dtmf.ns(), "urn:xmpp:jingle:dtmf:0");
    assert_eq!(
        (dtmf.attr("code"), dtmf.attr("duration")),
        (Some("7"), Some("250"))
    );
    assert_eq!(find(&si, "jingle").unwrap().attr("sid"), Some(sid.as_str()));
    h.sip_from(
        trunk(),
        &info(&to, 3, "z9hG4bKi2", "", "application/dtmf", "#"),
    );
    assert_eq!(h.statuses(), vec![200]);
    assert_eq!(
        find(&only_action(&mut h, "session-info"), "dtmf")
            .unwrap()
            .attr("code"),
        Some("#")
    );
    // A keep-alive INFO, an unknown package, an unknown body.
    h.sip_from(trunk(), &info(&to, 4, "z9hG4bKi3", "", "", ""));
    assert_eq!(h.statuses(), vec![200]);
    h.sip_from(
        trunk(),
        &info(
            &to,
            5,
            "z9hG4bKi4",
            "Info-Package: foo\n",
            "application/foo",
            "x",
        ),
    );
    assert_eq!(h.statuses(), vec![469]);
    h.sip_from(
        trunk(),
        &info(&to, 6, "z9hG4bKi5", "", "text/plain", "hello"),
    );
    assert_eq!(h.statuses(), vec![415]);
    assert!(h.take_stanzas().is_empty(), "only DTMF is forwarded");
    assert_eq!(h.gw.active_calls(), 1);
}

#[test]
fn a_redirect_somewhere_the_caller_could_not_dial_is_final() {
    // Not a number the caller may dial through the trunk (and 305 is no target).
    for (status, contact) in [
        (302, "<sip:bob@203.0.113.66>"),
        (305, "<sip:+15558880001@127.0.0.1>"),
    ] {
        let mut h = Harness::new();
        let inv = outbound_invite(&mut h);
        h.sip_from(
            trunk(),
            &respond(&inv, status, "far", None).replace(
                "Contact: <sip:far@127.0.0.1:5080>",
                &format!("Contact: {contact}"),
            ),
        );
        assert!(
            sent_requests(&mut h)
                .iter()
                .all(|r| r.method.as_str() != "INVITE"),
            "{status} {contact} not followed"
        );
        let t = only_action(&mut h, "session-terminate");
        assert_eq!(reason(&t).as_deref(), Some("general-error"));
    }
}

#[test]
fn an_early_update_is_answered_and_body_less_updates_do_not_glare() {
    let mut h = Harness::new();
    let invite = outbound_invite(&mut h);
    h.sip_from(trunk(), &respond(&invite, 180, "far", None));
    h.take_stanzas();
    let tag = h.gw.calls().next().unwrap().sip.local_tag.clone();
    let cid = h.gw.calls().next().unwrap().sip.call_id.clone();
    let update = |branch: &str, cseq: u32| {
        format!(
            "UPDATE sip:stox@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch={branch}\r\n\
Max-Forwards: 70\r\nFrom: <sip:+15551230001@127.0.0.1:5080>;tag=far\r\nTo: <sip:alice@test>;tag={tag}\r\n\
Call-ID: {cid}\r\nCSeq: {cseq} UPDATE\r\nContact: <sip:far@127.0.0.1:5080>\r\nContent-Length: 0\r\n\r\n"
        )
    };
    h.sip_from(trunk(), &update("z9hG4bKeu1", 2));
    assert_eq!(h.statuses(), vec![200], "early dialog: not 481");
    // Answered, with UPDATE allowed; our body-less refresh crosses theirs.
    h.sip_from(
        trunk(),
        &with_headers(
            &respond(&invite, 200, "far", Some(ANSWER_SDP)),
            &["Session-Expires: 90;refresher=uac", "Allow: INVITE, UPDATE"],
        ),
    );
    h.expect_request("ACK");
    h.take_stanzas();
    h.advance(Duration::from_secs(45));
    h.expect_request("UPDATE");
    h.sip_from(trunk(), &update("z9hG4bKeu2", 3));
    assert_eq!(
        h.statuses(),
        vec![200],
        "two offer-less UPDATEs do not collide"
    );
}
