//! Pure stanza helpers for the call core: classify what arrives, build what leaves.
//!
//! Everything here works on `minidom::Element`s as they come off the component
//! link. Classification is total — hostile or malformed stanzas (missing
//! attributes, wrong namespaces, unknown kinds) become [`Inbound::Other`], never
//! a panic — because one stanza from a remote client must not take the gateway
//! down. Built stanzas live in the `jabber:component:accept` namespace so that
//! tokio-xmpp writes them without a stray `xmlns` on the component stream.

use minidom::Element;
use minidom::rxml::NcName;
use std::sync::atomic::{AtomicU64, Ordering};

/// The XEP-0114 component stream namespace: the one our stanzas are built in.
pub const NS_COMPONENT: &str = "jabber:component:accept";
/// Client stanzas; accepted on input because some servers forward them verbatim.
pub const NS_CLIENT: &str = "jabber:client";
/// XEP-0166 Jingle.
pub const NS_JINGLE: &str = "urn:xmpp:jingle:1";
/// XEP-0166 Jingle error conditions (`<out-of-order/>`, `<tie-break/>`, …).
pub const NS_JINGLE_ERRORS: &str = "urn:xmpp:jingle:errors:1";
/// XEP-0167 RTP application (JMI `<propose>` carries its `<description>`).
pub const NS_RTP: &str = "urn:xmpp:jingle:apps:rtp:1";
/// XEP-0353 Jingle Message Initiation.
pub const NS_JMI: &str = "urn:xmpp:jingle-message:0";
/// XEP-0334 message processing hints (`<store/>`).
pub const NS_HINTS: &str = "urn:xmpp:hints";
/// RFC 6120 stanza error conditions.
pub const NS_STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";

/// A stanza as the call core sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// An IQ set carrying a `urn:xmpp:jingle:1` `<jingle>` element.
    JingleSet {
        /// Sender JID.
        from: String,
        /// Recipient JID (one of the gateway's).
        to: String,
        /// IQ id, needed for the result or error reply.
        id: String,
        /// The `<jingle>` element itself.
        jingle: Element,
    },
    /// An IQ result (for an IQ the gateway sent).
    IqResult {
        /// Sender JID.
        from: String,
        /// Recipient JID.
        to: String,
        /// IQ id.
        id: String,
    },
    /// An IQ error (for an IQ the gateway sent).
    IqError {
        /// Sender JID.
        from: String,
        /// Recipient JID.
        to: String,
        /// IQ id.
        id: String,
        /// RFC 6120 defined condition; `undefined-condition` when none is given.
        condition: String,
        /// XEP-0166 Jingle condition, if any.
        jingle_condition: Option<String>,
    },
    /// A XEP-0353 Jingle Message Initiation message.
    Jmi {
        /// Sender JID.
        from: String,
        /// Recipient JID.
        to: String,
        /// The message's own id, if it has one.
        message_id: Option<String>,
        /// Which JMI element.
        kind: JmiKind,
        /// The Jingle session id (`id` attribute of the JMI element).
        sid: String,
        /// Media of `<propose>` descriptions (`audio`, `video`); empty otherwise.
        media: Vec<String>,
        /// Name of the first condition child of `<reason>`, if any.
        reason: Option<String>,
    },
    /// Anything else: not for the call core, or not well-formed enough to use.
    Other,
}

/// The XEP-0353 message kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JmiKind {
    /// Caller offers a session.
    Propose,
    /// Callee's device is ringing.
    Ringing,
    /// Callee accepts; caller should send session-initiate.
    Proceed,
    /// Another device of the callee accepted (carbon case).
    Accept,
    /// Callee declines.
    Reject,
    /// Caller withdraws the proposal.
    Retract,
    /// Either side ends the session (XEP-0353 ≥ 0.4).
    Finish,
}

impl JmiKind {
    /// Every kind, for iteration in tests and dispatch tables.
    pub const ALL: [JmiKind; 7] = [
        JmiKind::Propose,
        JmiKind::Ringing,
        JmiKind::Proceed,
        JmiKind::Accept,
        JmiKind::Reject,
        JmiKind::Retract,
        JmiKind::Finish,
    ];

    /// The element name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            JmiKind::Propose => "propose",
            JmiKind::Ringing => "ringing",
            JmiKind::Proceed => "proceed",
            JmiKind::Accept => "accept",
            JmiKind::Reject => "reject",
            JmiKind::Retract => "retract",
            JmiKind::Finish => "finish",
        }
    }

    /// The kind for an element name, if it is one.
    pub fn from_name(name: &str) -> Option<JmiKind> {
        JmiKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether the message should be archived (XEP-0334 `<store/>`): the ones a
    /// user's other devices and offline archive must see to stop ringing.
    fn wants_store(self) -> bool {
        matches!(
            self,
            JmiKind::Propose | JmiKind::Retract | JmiKind::Finish | JmiKind::Reject
        )
    }
}

/// Sorts a stanza into what the call core acts on. Never panics.
pub fn classify(stanza: &Element) -> Inbound {
    if !is_stanza_ns(stanza) {
        return Inbound::Other;
    }
    match stanza.name() {
        "iq" => classify_iq(stanza).unwrap_or(Inbound::Other),
        "message" => classify_message(stanza).unwrap_or(Inbound::Other),
        _ => Inbound::Other,
    }
}

fn classify_iq(iq: &Element) -> Option<Inbound> {
    let from = iq.attr("from")?.to_owned();
    let to = iq.attr("to")?.to_owned();
    let id = iq.attr("id")?.to_owned();
    match iq.attr("type")? {
        "set" => {
            let jingle = iq.get_child("jingle", NS_JINGLE)?.clone();
            Some(Inbound::JingleSet {
                from,
                to,
                id,
                jingle,
            })
        }
        "result" => Some(Inbound::IqResult { from, to, id }),
        "error" => {
            let error = iq.children().find(|c| c.name() == "error");
            let condition = error
                .and_then(|e| {
                    e.children()
                        .find(|c| c.has_ns(NS_STANZAS) && c.name() != "text")
                })
                .map(|c| c.name().to_owned())
                .unwrap_or_else(|| "undefined-condition".to_owned());
            let jingle_condition = error
                .and_then(|e| e.children().find(|c| c.has_ns(NS_JINGLE_ERRORS)))
                .map(|c| c.name().to_owned());
            Some(Inbound::IqError {
                from,
                to,
                id,
                condition,
                jingle_condition,
            })
        }
        _ => None,
    }
}

fn classify_message(message: &Element) -> Option<Inbound> {
    // A bounced JMI message must not be answered with another one: error loops.
    if message.attr("type") == Some("error") {
        return None;
    }
    let (kind, jmi) = message
        .children()
        .filter(|c| c.has_ns(NS_JMI))
        .find_map(|c| JmiKind::from_name(c.name()).map(|k| (k, c)))?;
    let sid = jmi.attr("id").filter(|s| !s.is_empty())?.to_owned();
    let media = if kind == JmiKind::Propose {
        jmi.children()
            .filter(|c| c.name() == "description")
            .filter_map(|c| c.attr("media"))
            .map(str::to_owned)
            .collect()
    } else {
        Vec::new()
    };
    let reason = jmi
        .children()
        .find(|c| c.name() == "reason")
        .and_then(|r| r.children().find(|c| c.name() != "text"))
        .map(|c| c.name().to_owned());
    Some(Inbound::Jmi {
        from: message.attr("from")?.to_owned(),
        to: message.attr("to")?.to_owned(),
        message_id: message.attr("id").map(str::to_owned),
        kind,
        sid,
        media,
        reason,
    })
}

/// Whether the element is in a stanza namespace we accept on input.
pub(crate) fn is_stanza_ns(el: &Element) -> bool {
    el.has_ns(NS_COMPONENT) || el.has_ns(NS_CLIENT)
}

/// An IQ set carrying `payload`.
pub fn iq_set(from: &str, to: &str, id: &str, payload: Element) -> Element {
    let mut iq = iq(from, to, id, "set");
    iq.append_child(payload);
    iq
}

/// An empty IQ result.
pub fn iq_result(from: &str, to: &str, id: &str) -> Element {
    iq(from, to, id, "result")
}

/// An IQ error: RFC 6120 `condition` of `error_type`, an optional XEP-0166
/// `jingle_condition` and an optional human-readable `text`.
pub fn iq_error(
    from: &str,
    to: &str,
    id: &str,
    error_type: &str,
    condition: &str,
    jingle_condition: Option<&str>,
    text: Option<&str>,
) -> Element {
    let mut iq = iq(from, to, id, "error");
    iq.append_child(error_element(error_type, condition, jingle_condition, text));
    iq
}

/// The `<error>` child of an error stanza, children in RFC 6120 §8.3.2 order:
/// defined condition, text, application-specific condition.
pub(crate) fn error_element(
    error_type: &str,
    condition: &str,
    app_condition: Option<&str>,
    text: Option<&str>,
) -> Element {
    let mut error = el("error", NS_COMPONENT);
    set(&mut error, "type", error_type);
    error.append_child(el(condition, NS_STANZAS));
    if let Some(text) = text {
        let mut t = el("text", NS_STANZAS);
        t.append_text(text);
        error.append_child(t);
    }
    if let Some(app) = app_condition {
        error.append_child(el(app, NS_JINGLE_ERRORS));
    }
    error
}

/// A JMI message of `kind` for session `sid`.
///
/// `media` only matters for [`JmiKind::Propose`] (one RTP `<description>` each);
/// `reason` is a Jingle reason element name plus optional text. The message is
/// `type='chat'` (so it reaches all of the user's clients and carbons) with a
/// fresh unique id, and carries `<store/>` where the archive must keep it.
pub fn jmi_message(
    from: &str,
    to: &str,
    kind: JmiKind,
    sid: &str,
    media: &[&str],
    reason: Option<(&str, Option<&str>)>,
) -> Element {
    let mut message = el("message", NS_COMPONENT);
    set(&mut message, "from", from);
    set(&mut message, "to", to);
    set(&mut message, "type", "chat");
    set(&mut message, "id", &unique_id());
    let mut jmi = el(kind.as_str(), NS_JMI);
    set(&mut jmi, "id", sid);
    if kind == JmiKind::Propose {
        for m in media {
            let mut description = el("description", NS_RTP);
            set(&mut description, "media", m);
            jmi.append_child(description);
        }
    }
    if let Some((condition, text)) = reason {
        let mut r = el("reason", NS_JINGLE);
        r.append_child(el(condition, NS_JINGLE));
        if let Some(text) = text {
            let mut t = el("text", NS_JINGLE);
            t.append_text(text);
            r.append_child(t);
        }
        jmi.append_child(r);
    }
    message.append_child(jmi);
    if kind.wants_store() {
        message.append_child(el("store", NS_HINTS));
    }
    message
}

/// A stanza id unique within this process and unlikely to collide across
/// restarts: a random per-process prefix plus a counter.
pub fn unique_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static PREFIX: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let prefix = *PREFIX.get_or_init(rand::random::<u32>);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("stox-{prefix:08x}-{n}")
}

fn iq(from: &str, to: &str, id: &str, kind: &str) -> Element {
    let mut iq = el("iq", NS_COMPONENT);
    set(&mut iq, "from", from);
    set(&mut iq, "to", to);
    set(&mut iq, "id", id);
    set(&mut iq, "type", kind);
    iq
}

/// An empty element. minidom does not validate names; ours are literals or
/// copied from parsed elements, so they are valid XML names.
pub(crate) fn el(name: &str, ns: &str) -> Element {
    Element::builder(name, ns).build()
}

/// Sets an attribute; an invalid attribute name (never produced by our own
/// callers) is ignored rather than panicking.
pub(crate) fn set(el: &mut Element, name: &str, value: &str) {
    if let Ok(name) = NcName::try_from(name) {
        el.set_attr(minidom::rxml::Namespace::NONE, name, value.to_owned());
    }
}

/// The bare form of a JID (`local@domain/res` → `local@domain`).
pub(crate) fn bare(jid: &str) -> &str {
    jid.split_once('/').map_or(jid, |(b, _)| b)
}

/// The localpart of a JID, if it has one.
pub(crate) fn localpart(jid: &str) -> Option<&str> {
    bare(jid).split_once('@').map(|(l, _)| l)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(xml: &str) -> Element {
        xml.parse().expect("test XML parses")
    }

    #[test]
    fn jingle_set_is_classified_with_its_payload() {
        let jingle = Element::builder("jingle", NS_JINGLE).build();
        let mut jingle = jingle;
        set(&mut jingle, "sid", "s1");
        set(&mut jingle, "action", "session-initiate");
        let iq = iq_set(
            "romeo@montague.lit/orchard",
            "juliet@sip.test",
            "i1",
            jingle,
        );
        match classify(&iq) {
            Inbound::JingleSet {
                from,
                to,
                id,
                jingle,
            } => {
                assert_eq!(from, "romeo@montague.lit/orchard");
                assert_eq!(to, "juliet@sip.test");
                assert_eq!(id, "i1");
                assert_eq!(jingle.attr("sid"), Some("s1"));
                assert_eq!(jingle.attr("action"), Some("session-initiate"));
            }
            other => panic!("not a JingleSet: {other:?}"),
        }
    }

    #[test]
    fn client_namespace_stanzas_are_accepted() {
        let iq = parse(
            "<iq xmlns='jabber:client' type='set' from='a@b/c' to='x@sip.test' id='7'>\
             <jingle xmlns='urn:xmpp:jingle:1' sid='s'/></iq>",
        );
        assert!(matches!(classify(&iq), Inbound::JingleSet { .. }));
    }

    #[test]
    fn iq_result_and_error_round_trip() {
        let r = iq_result("a@sip.test", "b@x/y", "r1");
        assert_eq!(r.ns(), NS_COMPONENT);
        assert_eq!(
            classify(&r),
            Inbound::IqResult {
                from: "a@sip.test".into(),
                to: "b@x/y".into(),
                id: "r1".into()
            }
        );
        let e = iq_error(
            "a@sip.test",
            "b@x/y",
            "r2",
            "cancel",
            "item-not-found",
            Some("unknown-session"),
            Some("no such call"),
        );
        assert_eq!(
            classify(&e),
            Inbound::IqError {
                from: "a@sip.test".into(),
                to: "b@x/y".into(),
                id: "r2".into(),
                condition: "item-not-found".into(),
                jingle_condition: Some("unknown-session".into()),
            }
        );
        let error = e.get_child("error", NS_COMPONENT).expect("error child");
        assert_eq!(error.attr("type"), Some("cancel"));
        let names: Vec<&str> = error.children().map(|c| c.name()).collect();
        assert_eq!(names, ["item-not-found", "text", "unknown-session"]);
        assert_eq!(
            error.get_child("text", NS_STANZAS).map(|t| t.text()),
            Some("no such call".to_owned())
        );
    }

    #[test]
    fn iq_error_without_condition_is_undefined() {
        let e = parse("<iq xmlns='jabber:component:accept' type='error' from='a' to='b' id='1'/>");
        match classify(&e) {
            Inbound::IqError {
                condition,
                jingle_condition,
                ..
            } => {
                assert_eq!(condition, "undefined-condition");
                assert_eq!(jingle_condition, None);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn jmi_round_trips_every_kind() {
        for kind in JmiKind::ALL {
            let reason = (kind == JmiKind::Reject).then_some(("busy", Some("in a meeting")));
            let m = jmi_message(
                "+15551234@sip.test/stox",
                "juliet@capulet.lit",
                kind,
                "sid-1",
                &["audio", "video"],
                reason,
            );
            assert_eq!(m.attr("type"), Some("chat"));
            assert!(m.attr("id").is_some_and(|id| id.starts_with("stox-")));
            assert_eq!(m.has_child("store", NS_HINTS), kind.wants_store());
            match classify(&m) {
                Inbound::Jmi {
                    from,
                    to,
                    message_id,
                    kind: k,
                    sid,
                    media,
                    reason,
                } => {
                    assert_eq!(from, "+15551234@sip.test/stox");
                    assert_eq!(to, "juliet@capulet.lit");
                    assert_eq!(message_id.as_deref(), m.attr("id"));
                    assert_eq!(k, kind);
                    assert_eq!(sid, "sid-1");
                    if kind == JmiKind::Propose {
                        assert_eq!(media, ["audio", "video"]);
                    } else {
                        assert!(media.is_empty());
                    }
                    let want = (kind == JmiKind::Reject).then(|| "busy".to_owned());
                    assert_eq!(reason, want);
                }
                other => panic!("{kind:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn jmi_reason_text_is_written_and_skipped_when_reading() {
        let m = jmi_message(
            "a@sip.test",
            "b@c",
            JmiKind::Finish,
            "s",
            &[],
            Some(("success", Some("bye"))),
        );
        let reason = m
            .get_child("finish", NS_JMI)
            .and_then(|f| f.get_child("reason", NS_JINGLE))
            .expect("reason");
        assert!(reason.has_child("success", NS_JINGLE));
        assert_eq!(
            reason.get_child("text", NS_JINGLE).map(|t| t.text()),
            Some("bye".into())
        );
        // Text first, condition second: still finds the condition.
        let odd = parse(
            "<message xmlns='jabber:client' from='a' to='b'><retract xmlns='urn:xmpp:jingle-message:0' id='s'>\
             <reason xmlns='urn:xmpp:jingle:1'><text>x</text><cancel/></reason></retract></message>",
        );
        assert!(matches!(classify(&odd), Inbound::Jmi { reason: Some(r), .. } if r == "cancel"));
    }

    #[test]
    fn unique_ids_differ() {
        assert_ne!(unique_id(), unique_id());
    }

    #[test]
    fn hostile_inputs_are_other() {
        let cases = [
            // Missing attributes.
            "<iq xmlns='jabber:component:accept' type='set' to='b' id='1'><jingle xmlns='urn:xmpp:jingle:1'/></iq>",
            "<iq xmlns='jabber:component:accept' type='set' from='a' id='1'><jingle xmlns='urn:xmpp:jingle:1'/></iq>",
            "<iq xmlns='jabber:component:accept' type='set' from='a' to='b'><jingle xmlns='urn:xmpp:jingle:1'/></iq>",
            "<iq xmlns='jabber:component:accept' from='a' to='b' id='1'><jingle xmlns='urn:xmpp:jingle:1'/></iq>",
            "<iq xmlns='jabber:component:accept' type='result' from='a' id='1'/>",
            // Wrong namespaces.
            "<iq xmlns='urn:evil' type='set' from='a' to='b' id='1'><jingle xmlns='urn:xmpp:jingle:1'/></iq>",
            "<iq xmlns='jabber:component:accept' type='set' from='a' to='b' id='1'><jingle xmlns='urn:evil'/></iq>",
            "<iq xmlns='jabber:component:accept' type='set' from='a' to='b' id='1'><jingle xmlns='http://jabber.org/protocols/jingle'/></iq>",
            "<message xmlns='jabber:component:accept' from='a' to='b'><propose xmlns='urn:evil' id='s'/></message>",
            "<message xmlns='urn:evil' from='a' to='b'><propose xmlns='urn:xmpp:jingle-message:0' id='s'/></message>",
            // Unknown kinds and types.
            "<iq xmlns='jabber:component:accept' type='get' from='a' to='b' id='1'><jingle xmlns='urn:xmpp:jingle:1'/></iq>",
            "<iq xmlns='jabber:component:accept' type='bogus' from='a' to='b' id='1'/>",
            "<message xmlns='jabber:component:accept' from='a' to='b'><dance xmlns='urn:xmpp:jingle-message:0' id='s'/></message>",
            // JMI without sid, with empty sid, without from/to.
            "<message xmlns='jabber:component:accept' from='a' to='b'><propose xmlns='urn:xmpp:jingle-message:0'/></message>",
            "<message xmlns='jabber:component:accept' from='a' to='b'><propose xmlns='urn:xmpp:jingle-message:0' id=''/></message>",
            "<message xmlns='jabber:component:accept' to='b'><propose xmlns='urn:xmpp:jingle-message:0' id='s'/></message>",
            "<message xmlns='jabber:component:accept' from='a'><propose xmlns='urn:xmpp:jingle-message:0' id='s'/></message>",
            // A bounced JMI message: never answered.
            "<message xmlns='jabber:component:accept' type='error' from='a' to='b'><propose xmlns='urn:xmpp:jingle-message:0' id='s'/></message>",
            // Not stanzas at all.
            "<presence xmlns='jabber:component:accept' from='a' to='b'/>",
            "<handshake xmlns='jabber:component:accept'/>",
            "<error xmlns='http://etherx.jabber.org/streams'/>",
            "<message xmlns='jabber:component:accept' from='a' to='b'><body>hi</body></message>",
        ];
        for xml in cases {
            assert_eq!(classify(&parse(xml)), Inbound::Other, "{xml}");
        }
    }

    #[test]
    fn jid_helpers() {
        assert_eq!(bare("a@b/c/d"), "a@b");
        assert_eq!(bare("b"), "b");
        assert_eq!(localpart("a@b/c@d"), Some("a"));
        assert_eq!(localpart("b/c@d"), None);
    }
}
