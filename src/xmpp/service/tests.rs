//! Unit tests for [`super`]: caps hashing and the reply to each kind of service stanza.

use super::*;
use crate::xmpp::stanza::{Inbound, NS_STANZAS, classify};

fn info() -> ServiceInfo {
    ServiceInfo {
        domain: "sip.test".into(),
        resource: "stox".into(),
        name: "stox gateway".into(),
    }
}

fn parse(xml: &str) -> Element {
    xml.parse().expect("test XML parses")
}

fn one(replies: Option<Vec<Element>>) -> Element {
    let mut replies = replies.expect("service traffic");
    assert_eq!(replies.len(), 1, "{replies:?}");
    replies.remove(0)
}

fn features_of(query: &Element) -> Vec<String> {
    query
        .children()
        .filter(|c| c.is("feature", NS_DISCO_INFO))
        .filter_map(|c| c.attr("var").map(str::to_owned))
        .collect()
}

fn error_condition(reply: &Element) -> Option<(String, String)> {
    let error = reply.get_child("error", NS_COMPONENT)?;
    let cond = error.children().find(|c| c.has_ns(NS_STANZAS))?;
    Some((error.attr("type")?.to_owned(), cond.name().to_owned()))
}

#[test]
fn base64_matches_rfc4648_vectors() {
    for (input, want) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(base64(input.as_bytes()), want, "{input:?}");
    }
}

#[test]
fn caps_ver_matches_xep0115_worked_example() {
    let exodus = Identity {
        category: "client",
        kind: "pc",
        lang: "",
        name: "Exodus 0.9.1",
    };
    // Deliberately unsorted: caps_ver sorts.
    let features = [
        "http://jabber.org/protocol/muc",
        "http://jabber.org/protocol/disco#info",
        "http://jabber.org/protocol/caps",
        "http://jabber.org/protocol/disco#items",
    ];
    assert_eq!(
        caps_ver(&[exodus], &features),
        "QgayPKawpkPSDYmwT/WM94uAlu0="
    );
}

#[test]
fn features_are_sorted_unique_and_complete() {
    let f = features();
    assert!(
        f.windows(2).all(|w| w[0].as_bytes() < w[1].as_bytes()),
        "{f:?}"
    );
    for must in [
        NS_DISCO_INFO,
        NS_CAPS,
        NS_PING,
        NS_VERSION,
        "urn:xmpp:jingle:1",
        "urn:xmpp:jingle:apps:rtp:1",
        "urn:xmpp:jingle:apps:rtp:audio",
        "urn:xmpp:jingle:apps:rtp:video",
        "urn:xmpp:jingle:transports:ice-udp:1",
        "urn:xmpp:jingle:apps:dtls:0",
        "urn:xmpp:jingle-message:0",
        "urn:xmpp:jingle:dtmf:0",
    ] {
        assert!(f.contains(&must), "{must}");
    }
    assert_eq!(f.len(), 19);
    assert!(DOMAIN_FEATURES.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn user_disco_info_is_a_jingle_phone() {
    let q = parse(
        "<iq xmlns='jabber:component:accept' type='get' from='juliet@capulet.lit/balcony' \
         to='+15551234@sip.test' id='d1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
    );
    let r = one(handle(&info(), &q));
    assert_eq!(r.attr("type"), Some("result"));
    assert_eq!(r.attr("id"), Some("d1"));
    assert_eq!(r.attr("from"), Some("+15551234@sip.test"));
    assert_eq!(r.attr("to"), Some("juliet@capulet.lit/balcony"));
    let query = r.get_child("query", NS_DISCO_INFO).expect("query");
    let identity = query
        .get_child("identity", NS_DISCO_INFO)
        .expect("identity");
    assert_eq!(identity.attr("category"), Some("client"));
    assert_eq!(identity.attr("type"), Some("phone"));
    assert_eq!(identity.attr("name"), Some("stox gateway"));
    assert_eq!(features_of(query), features());
}

#[test]
fn domain_disco_info_is_a_sip_gateway() {
    let q = parse(
        "<iq xmlns='jabber:component:accept' type='get' from='juliet@capulet.lit/b' \
         to='sip.test' id='d2'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
    );
    let r = one(handle(&info(), &q));
    let query = r.get_child("query", NS_DISCO_INFO).expect("query");
    let identity = query
        .get_child("identity", NS_DISCO_INFO)
        .expect("identity");
    assert_eq!(identity.attr("category"), Some("gateway"));
    assert_eq!(identity.attr("type"), Some("sip"));
    assert_eq!(features_of(query), DOMAIN_FEATURES);
}

#[test]
fn caps_node_query_is_answered_and_consistent_with_presence() {
    let p = available_presence(&info(), "alice", "juliet@capulet.lit");
    assert_eq!(p.attr("from"), Some("alice@sip.test/stox"));
    let c = p.get_child("c", NS_CAPS).expect("caps");
    assert_eq!(c.attr("hash"), Some("sha-1"));
    assert_eq!(c.attr("node"), Some(CAPS_NODE));
    let ver = c.attr("ver").expect("ver");
    let node = format!("{CAPS_NODE}#{ver}");
    let q = parse(&format!(
        "<iq xmlns='jabber:component:accept' type='get' from='j@c.lit/b' to='alice@sip.test/stox' \
         id='d3'><query xmlns='http://jabber.org/protocol/disco#info' node='{node}'/></iq>"
    ));
    let r = one(handle(&info(), &q));
    let query = r.get_child("query", NS_DISCO_INFO).expect("query");
    assert_eq!(query.attr("node"), Some(node.as_str()));
    // What a client would hash from the disco answer equals the advertised ver.
    let identity = query
        .get_child("identity", NS_DISCO_INFO)
        .expect("identity");
    let id = Identity {
        category: identity.attr("category").unwrap_or(""),
        kind: identity.attr("type").unwrap_or(""),
        lang: "",
        name: identity.attr("name").unwrap_or(""),
    };
    let feats = features_of(query);
    let feats: Vec<&str> = feats.iter().map(String::as_str).collect();
    assert_eq!(caps_ver(&[id], &feats), ver);

    // The domain's presence carries the domain's own ver, also answerable.
    let dp = available_presence(&info(), "", "j@c.lit");
    assert_eq!(dp.attr("from"), Some("sip.test"));
    let dver = dp
        .get_child("c", NS_CAPS)
        .and_then(|c| c.attr("ver"))
        .expect("ver");
    assert_ne!(dver, ver);
    let q = parse(&format!(
        "<iq xmlns='jabber:component:accept' type='get' from='j@c.lit/b' to='sip.test' id='d4'>\
         <query xmlns='http://jabber.org/protocol/disco#info' node='{CAPS_NODE}#{dver}'/></iq>"
    ));
    assert_eq!(one(handle(&info(), &q)).attr("type"), Some("result"));
}

#[test]
fn unknown_disco_node_is_item_not_found() {
    let q = parse(
        "<iq xmlns='jabber:component:accept' type='get' from='j@c.lit/b' to='a@sip.test' id='n'>\
         <query xmlns='http://jabber.org/protocol/disco#info' node='urn:other#x'/></iq>",
    );
    let r = one(handle(&info(), &q));
    assert_eq!(r.attr("type"), Some("error"));
    assert_eq!(
        error_condition(&r),
        Some(("cancel".into(), "item-not-found".into()))
    );
}

#[test]
fn items_version_and_ping() {
    let items = one(handle(
        &info(),
        &parse(
            "<iq xmlns='jabber:client' type='get' from='j@c/b' to='sip.test' id='i'>\
             <query xmlns='http://jabber.org/protocol/disco#items'/></iq>",
        ),
    ));
    let q = items
        .get_child("query", NS_DISCO_ITEMS)
        .expect("items query");
    assert_eq!(q.children().count(), 0);

    let version = one(handle(
        &info(),
        &parse(
            "<iq xmlns='jabber:component:accept' type='get' from='j@c/b' to='sip.test' id='v'>\
             <query xmlns='jabber:iq:version'/></iq>",
        ),
    ));
    let q = version
        .get_child("query", NS_VERSION)
        .expect("version query");
    assert_eq!(
        q.get_child("name", NS_VERSION).map(|n| n.text()),
        Some("stox gateway".into())
    );
    assert_eq!(
        q.get_child("version", NS_VERSION).map(|n| n.text()),
        Some(env!("CARGO_PKG_VERSION").into())
    );

    let pong = one(handle(
        &info(),
        &parse(
            "<iq xmlns='jabber:component:accept' type='get' from='j@c/b' to='x@sip.test' id='p'>\
             <ping xmlns='urn:xmpp:ping'/></iq>",
        ),
    ));
    assert_eq!(pong.attr("type"), Some("result"));
    assert_eq!(pong.children().count(), 0);
    assert!(matches!(classify(&pong), Inbound::IqResult { id, .. } if id == "p"));
}

#[test]
fn unknown_get_and_non_jingle_set_are_errors() {
    let get = one(handle(
        &info(),
        &parse(
            "<iq xmlns='jabber:component:accept' type='get' from='j@c/b' to='x@sip.test' id='g'>\
             <query xmlns='jabber:iq:roster'/></iq>",
        ),
    ));
    assert_eq!(
        error_condition(&get),
        Some(("cancel".into(), "service-unavailable".into()))
    );
    let set = one(handle(
        &info(),
        &parse(
            "<iq xmlns='jabber:component:accept' type='set' from='j@c/b' to='x@sip.test' id='s'>\
             <query xmlns='jabber:iq:register'/></iq>",
        ),
    ));
    assert_eq!(
        error_condition(&set),
        Some(("cancel".into(), "feature-not-implemented".into()))
    );
    assert_eq!(set.attr("to"), Some("j@c/b"));
    assert_eq!(set.attr("id"), Some("s"));
    let empty = one(handle(
        &info(),
        &parse(
            "<iq xmlns='jabber:component:accept' type='get' from='j@c/b' to='x@sip.test' id='e'/>",
        ),
    ));
    assert_eq!(
        error_condition(&empty),
        Some(("modify".into(), "bad-request".into()))
    );
}

#[test]
fn call_core_traffic_is_not_service_traffic() {
    for xml in [
        "<iq xmlns='jabber:component:accept' type='set' from='j@c/b' to='x@sip.test' id='j'>\
         <jingle xmlns='urn:xmpp:jingle:1' sid='s' action='session-initiate'/></iq>",
        "<iq xmlns='jabber:component:accept' type='result' from='j@c/b' to='x@sip.test' id='r'/>",
        "<iq xmlns='jabber:component:accept' type='error' from='j@c/b' to='x@sip.test' id='e'>\
         <error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
        "<message xmlns='jabber:component:accept' from='j@c/b' to='x@sip.test'>\
         <propose xmlns='urn:xmpp:jingle-message:0' id='s'/></message>",
        "<message xmlns='jabber:component:accept' type='error' from='j@c/b' to='x@sip.test'/>",
        "<iq xmlns='urn:evil' type='get' from='j@c/b' to='x@sip.test' id='q'><ping xmlns='urn:xmpp:ping'/></iq>",
    ] {
        assert_eq!(handle(&info(), &parse(xml)), None, "{xml}");
    }
}

#[test]
fn iq_without_id_or_sender_is_dropped_silently() {
    for xml in [
        "<iq xmlns='jabber:component:accept' type='get' from='j@c/b' to='x@sip.test'>\
         <ping xmlns='urn:xmpp:ping'/></iq>",
        "<iq xmlns='jabber:component:accept' type='get' to='x@sip.test' id='1'>\
         <ping xmlns='urn:xmpp:ping'/></iq>",
        "<iq xmlns='jabber:component:accept' from='j@c/b' to='x@sip.test' id='1'/>",
    ] {
        let replies = handle(&info(), &parse(xml)).expect("service traffic");
        assert!(
            replies.iter().all(|r| r.attr("type") != Some("result")),
            "{xml}: {replies:?}"
        );
    }
}

#[test]
fn subscribe_is_approved_with_presence_and_asked_back() {
    let s = parse(
        "<presence xmlns='jabber:component:accept' type='subscribe' from='juliet@capulet.lit/b' \
         to='+15551234@sip.test'/>",
    );
    let replies = handle(&info(), &s).expect("presence is service traffic");
    let kinds: Vec<Option<&str>> = replies.iter().map(|r| r.attr("type")).collect();
    assert_eq!(kinds, [Some("subscribed"), None, Some("subscribe")]);
    assert_eq!(replies[0].attr("from"), Some("+15551234@sip.test"));
    assert_eq!(replies[0].attr("to"), Some("juliet@capulet.lit"));
    assert_eq!(replies[1].attr("from"), Some("+15551234@sip.test/stox"));
    assert!(replies[1].has_child("c", NS_CAPS));
}

#[test]
fn probe_unsubscribe_and_directed_presence() {
    let probe = one(handle(
        &info(),
        &parse(
            "<presence xmlns='jabber:component:accept' type='probe' from='capulet.lit' to='a@sip.test'/>",
        ),
    ));
    assert_eq!(probe.attr("type"), None);
    assert_eq!(probe.attr("to"), Some("capulet.lit"));
    assert_eq!(probe.attr("from"), Some("a@sip.test/stox"));

    let unsub = one(handle(
        &info(),
        &parse(
            "<presence xmlns='jabber:component:accept' type='unsubscribe' from='j@c.lit/x' to='a@sip.test'/>",
        ),
    ));
    assert_eq!(unsub.attr("type"), Some("unsubscribed"));
    assert_eq!(unsub.attr("to"), Some("j@c.lit"));

    let directed = one(handle(
        &info(),
        &parse("<presence xmlns='jabber:component:accept' from='j@c.lit/x' to='a@sip.test'/>"),
    ));
    assert_eq!(directed.attr("to"), Some("j@c.lit/x"));
    assert!(directed.has_child("c", NS_CAPS));

    let to_domain = one(handle(
        &info(),
        &parse("<presence xmlns='jabber:component:accept' from='j@c.lit/x' to='sip.test'/>"),
    ));
    assert_eq!(to_domain.attr("from"), Some("sip.test"));
}

#[test]
fn presence_that_must_not_be_answered() {
    for xml in [
        "<presence xmlns='jabber:component:accept' type='unavailable' from='j@c/x' to='a@sip.test'/>",
        "<presence xmlns='jabber:component:accept' type='error' from='j@c/x' to='a@sip.test'/>",
        "<presence xmlns='jabber:component:accept' type='subscribed' from='j@c/x' to='a@sip.test'/>",
        "<presence xmlns='jabber:component:accept' type='subscribe' to='a@sip.test'/>",
        "<presence xmlns='jabber:component:accept' from='j@c/x'/>",
        // Another stox answering our presence: would loop forever.
        "<presence xmlns='jabber:component:accept' from='b@sip.other/stox' to='a@sip.test'>\
         <c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://stox.example/caps' ver='x'/></presence>",
    ] {
        assert_eq!(handle(&info(), &parse(xml)), Some(Vec::new()), "{xml}");
    }
}

#[test]
fn transfer_command_is_listed_on_user_jids_and_left_to_the_core() {
    let items = one(handle(
        &info(),
        &parse(
            "<iq xmlns='jabber:component:accept' type='get' from='j@c/b' to='+1555@sip.test/stox' id='c'>\
             <query xmlns='http://jabber.org/protocol/disco#items' node='http://jabber.org/protocol/commands'/></iq>",
        ),
    ));
    let q = items.get_child("query", NS_DISCO_ITEMS).expect("items");
    let item = q.children().next().expect("one command");
    assert_eq!(item.attr("node"), Some("transfer"));
    assert_eq!(item.attr("jid"), Some("+1555@sip.test/stox"));
    // The domain offers no command.
    let items = one(handle(
        &info(),
        &parse(
            "<iq xmlns='jabber:component:accept' type='get' from='j@c/b' to='sip.test' id='d'>\
             <query xmlns='http://jabber.org/protocol/disco#items' node='http://jabber.org/protocol/commands'/></iq>",
        ),
    ));
    assert_eq!(
        items
            .get_child("query", NS_DISCO_ITEMS)
            .unwrap()
            .children()
            .count(),
        0
    );
    // Executing it is the call core's business.
    let set = parse(
        "<iq xmlns='jabber:component:accept' type='set' from='j@c/b' to='+1555@sip.test/stox' id='x'>\
         <command xmlns='http://jabber.org/protocol/commands' node='transfer' action='execute'/></iq>",
    );
    assert_eq!(handle(&info(), &set), None);
}
