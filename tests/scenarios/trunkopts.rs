//! Per-trunk options on the virtual clock: the From and caller ID of INVITEs
//! (`from_user`, `from_domain`, `caller_id_from_did`, `assert_identity`),
//! the codec preference of the offer (`codecs`) and `outbound_proxy`.

use super::harness::*;
use std::time::Duration;
use stox::sip::peer::{Peer, Transport};

const CALLEE: &str = "+15551230001@sip.test/stox";
const TRUNK_URI: &str = "uri = \"sip:127.0.0.1:5080\"\n";

/// The harness configuration with `keys` added to the `pbx` trunk.
fn with_trunk_keys(keys: &str) -> Harness {
    with_trunk_keys_at(keys, trunk())
}

fn with_trunk_keys_at(keys: &str, pbx: Peer) -> Harness {
    let config = CONFIG.replacen(TRUNK_URI, &format!("{TRUNK_URI}{keys}\n"), 1);
    assert_ne!(config, CONFIG);
    Harness::with_config(&config, pbx)
}

/// A session-initiate from `from` offering opus, PCMU, PCMA and telephone-event.
fn initiate_from(from: &str, sid: &str) -> String {
    format!(
        "<iq from='{from}' to='{CALLEE}' type='set' id='si1'>\
<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='{sid}' initiator='{from}'>\
<content creator='initiator' name='0' senders='both'>\
<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>\
<payload-type id='111' name='opus' clockrate='48000' channels='2'/>\
<payload-type id='0' name='PCMU' clockrate='8000'/>\
<payload-type id='101' name='telephone-event' clockrate='8000'/>\
<payload-type id='8' name='PCMA' clockrate='8000'/>\
<rtcp-mux/></description>\
<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='uf1' pwd='pwpwpwpwpwpwpwpwpwpwpw'>\
<candidate component='1' foundation='1' generation='0' id='c1' ip='127.0.0.1' port='40001' priority='2130706431' protocol='udp' type='host'/>\
</transport></content></jingle></iq>"
    )
}

/// `from` calls the gateway user; returns the INVITE and where it went.
fn invite_from(h: &mut Harness, from: &str) -> (Peer, stox::sip::Request) {
    h.stanza(&initiate_from(from, "s1"));
    let acked = h.take_stanzas();
    assert_eq!(acked[0].attr("type"), Some("result"));
    h.advance(Duration::from_millis(250));
    h.expect_request("INVITE")
}

fn header<'a>(r: &'a stox::sip::Request, name: &str) -> Option<&'a str> {
    r.headers.get(name)
}

fn from_uri(r: &stox::sip::Request) -> String {
    let from = header(r, "From").unwrap();
    from[from.find('<').unwrap() + 1..from.find('>').unwrap()].to_string()
}

fn m_audio(r: &stox::sip::Request) -> String {
    let body = String::from_utf8(r.body.clone()).unwrap();
    body.lines()
        .find(|l| l.starts_with("m=audio"))
        .unwrap()
        .to_string()
}

// ---------------------------------------------------------------- From ----

#[test]
fn without_options_the_from_is_the_callers_jid() {
    let mut h = Harness::new();
    let (_, invite) = invite_from(&mut h, "alice@test/phone");
    assert_eq!(from_uri(&invite), "sip:alice@test");
    assert_eq!(header(&invite, "P-Asserted-Identity"), None);
}

#[test]
fn a_caller_with_a_did_calls_out_with_that_number() {
    // bob@test has the DID +15550001000 in the harness configuration.
    let mut h = Harness::new();
    let (_, invite) = invite_from(&mut h, "bob@test/phone");
    assert_eq!(from_uri(&invite), "sip:+15550001000@127.0.0.1;user=phone");
    assert_eq!(header(&invite, "P-Asserted-Identity"), None);

    let mut h = with_trunk_keys("caller_id_from_did = false");
    let (_, invite) = invite_from(&mut h, "bob@test/phone");
    assert_eq!(from_uri(&invite), "sip:bob@test");

    let mut h = with_trunk_keys("from_domain = \"carrier.example\"");
    let (_, invite) = invite_from(&mut h, "bob@test/phone");
    assert_eq!(
        from_uri(&invite),
        "sip:+15550001000@carrier.example;user=phone"
    );
}

#[test]
fn from_user_names_the_account_on_the_trunk_host_or_from_domain() {
    let mut h = with_trunk_keys("from_user = \"4420555\"");
    let (_, invite) = invite_from(&mut h, "alice@test/phone");
    assert_eq!(from_uri(&invite), "sip:4420555@127.0.0.1");
    assert!(header(&invite, "From").unwrap().contains(";tag="));
    assert_eq!(
        header(&invite, "P-Asserted-Identity"),
        None,
        "no identity asserted unless the trunk is trusted with it"
    );
    // The Request-URI and To are the callee's, untouched.
    assert_eq!(invite.uri, "sip:+15551230001@127.0.0.1:5080;user=phone");

    let mut h = with_trunk_keys("from_user = \"4420555\"\nfrom_domain = \"voip.carrier.example\"");
    let (_, invite) = invite_from(&mut h, "alice@test/phone");
    assert_eq!(from_uri(&invite), "sip:4420555@voip.carrier.example");
}

#[test]
fn assert_identity_puts_the_callers_own_identity_in_p_asserted_identity() {
    let mut h = with_trunk_keys("from_user = \"4420555\"\nassert_identity = true");
    let (_, invite) = invite_from(&mut h, "alice@test/phone");
    assert_eq!(from_uri(&invite), "sip:4420555@127.0.0.1");
    assert_eq!(
        header(&invite, "P-Asserted-Identity"),
        Some("<sip:alice@test>")
    );
    let mut h = with_trunk_keys("from_user = \"4420555\"\nassert_identity = true");
    let (_, invite) = invite_from(&mut h, "bob@test/phone");
    assert_eq!(
        header(&invite, "P-Asserted-Identity"),
        Some("<sip:+15550001000@127.0.0.1;user=phone>")
    );
}

// -------------------------------------------------------------- codecs ----

#[test]
fn without_codecs_the_offer_keeps_every_codec() {
    let mut h = Harness::new();
    let (_, invite) = invite_from(&mut h, "alice@test/phone");
    assert!(
        m_audio(&invite).ends_with(" 111 0 101 8"),
        "{}",
        m_audio(&invite)
    );
}

#[test]
fn codecs_keep_only_the_listed_ones_in_order_and_telephone_event() {
    let mut h = with_trunk_keys("codecs = [\"pcma\", \"PCMU\"]");
    let (_, invite) = invite_from(&mut h, "alice@test/phone");
    assert!(
        m_audio(&invite).ends_with(" 8 0 101"),
        "{}",
        m_audio(&invite)
    );
    let body = String::from_utf8(invite.body.clone()).unwrap();
    assert!(!body.contains("opus"), "{body}");
    assert!(body.contains("a=rtpmap:101 telephone-event/8000"), "{body}");
}

#[test]
fn no_allowed_codec_fails_the_call_with_incompatible_parameters_and_no_invite() {
    let mut h = with_trunk_keys("codecs = [\"G729\"]");
    h.stanza(&initiate_from("alice@test/phone", "s1"));
    assert_eq!(h.take_stanzas()[0].attr("type"), Some("result"));
    h.advance(Duration::from_millis(250));
    assert!(h.take_sip().is_empty(), "no INVITE is sent");
    let out = h.take_stanzas();
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(jingle_action(&out[0]).as_deref(), Some("session-terminate"));
    assert_eq!(reason(&out[0]).as_deref(), Some("incompatible-parameters"));
    assert_eq!(h.gw.active_calls(), 0);
    h.advance(Duration::from_secs(60));
    assert!(h.take_sip().is_empty());
}

// ------------------------------------------------------ outbound_proxy ----

fn proxy() -> Peer {
    Peer {
        transport: Transport::Udp,
        addr: "127.0.0.2:5090".parse().unwrap(),
    }
}

#[test]
fn outbound_proxy_gets_the_invite_with_the_trunks_request_uri_and_a_route() {
    // The runtime locates the proxy's URI instead of the trunk's; here the
    // proxy's address stands in as the trunk's located target.
    let mut h = with_trunk_keys_at("outbound_proxy = \"sip:127.0.0.2:5090;lr\"", proxy());
    let (peer, invite) = invite_from(&mut h, "alice@test/phone");
    assert_eq!(peer, proxy());
    assert_eq!(invite.uri, "sip:+15551230001@127.0.0.1:5080;user=phone");
    assert_eq!(header(&invite, "Route"), Some("<sip:127.0.0.2:5090;lr>"));
    // A CANCEL takes the same route.
    h.sip_from(proxy(), &respond(&invite, 180, "far", None));
    h.take_stanzas();
    h.stanza(&format!(
        "<iq from='alice@test/phone' to='{CALLEE}' type='set' id='t1'>\
<jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s1'>\
<reason><success/></reason></jingle></iq>"
    ));
    let (to, cancel) = h.expect_request("CANCEL");
    assert_eq!(to, proxy());
    assert_eq!(header(&cancel, "Route"), Some("<sip:127.0.0.2:5090;lr>"));
}

#[test]
fn outbound_proxy_routes_pings_and_its_address_is_a_trusted_source() {
    let config = CONFIG.replacen(
        TRUNK_URI,
        &format!("{TRUNK_URI}outbound_proxy = \"sip:127.0.0.2:5090\"\n"),
        1,
    );
    let mut h = Harness::with_core(&config, proxy(), |c| {
        c.trunk_ping = Some(Duration::from_secs(30))
    });
    h.advance(Duration::from_secs(30));
    let (to, options) = h.expect_request("OPTIONS");
    assert_eq!(to, proxy());
    assert_eq!(options.uri, "sip:127.0.0.1:5080");
    assert_eq!(header(&options, "Route"), Some("<sip:127.0.0.2:5090;lr>"));
    // An inbound call through the proxy is the trunk's: it rings bob.
    h.sip_from(proxy(), &invite("+15550001000", "in1@pbx", "z9hG4bKin1"));
    assert_eq!(h.statuses(), vec![100]);
    assert!(
        h.take_stanzas()
            .iter()
            .any(|s| find(s, "propose").is_some())
    );
}
