//! Pure answers to the gateway's own traffic: service discovery, software
//! version, ping and presence (subscriptions, probes, entity capabilities).
//!
//! Clients decide whether to offer a call button from the *contact's* disco
//! features, so every user JID under the gateway domain answers like a phone
//! that speaks Jingle RTP; the bare domain answers as what it is, a SIP gateway.
//! Nothing here does I/O: [`handle`] maps one inbound stanza to its replies.

use super::stanza::{
    NS_COMPONENT, NS_JINGLE, bare, el, error_element, is_stanza_ns, localpart, set,
};
use minidom::Element;
use sha1::{Digest, Sha1};

/// XEP-0030 disco#info.
pub const NS_DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";
/// XEP-0030 disco#items.
pub const NS_DISCO_ITEMS: &str = "http://jabber.org/protocol/disco#items";
/// XEP-0050 ad-hoc commands (the `transfer` command of a call).
pub const NS_COMMANDS: &str = "http://jabber.org/protocol/commands";
/// XEP-0092 software version.
pub const NS_VERSION: &str = "jabber:iq:version";
/// XEP-0199 ping.
pub const NS_PING: &str = "urn:xmpp:ping";
/// XEP-0115 entity capabilities.
pub const NS_CAPS: &str = "http://jabber.org/protocol/caps";
/// The caps node we advertise; disco#info queries for `CAPS_NODE#ver` are answered.
pub const CAPS_NODE: &str = "https://stox.example/caps";

/// Who the gateway is on the XMPP network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceInfo {
    /// The component domain (`sip.example.org`).
    pub domain: String,
    /// The resource user JIDs present from (`stox`); Jingle needs a full JID.
    pub resource: String,
    /// Human-readable name for disco identities and software version (`stox gateway`).
    pub name: String,
}

/// A XEP-0030 identity, as hashed by XEP-0115.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity<'a> {
    /// `category` attribute (`client`, `gateway`).
    pub category: &'a str,
    /// `type` attribute (`phone`, `sip`).
    pub kind: &'a str,
    /// `xml:lang`, empty when absent.
    pub lang: &'a str,
    /// `name` attribute, empty when absent.
    pub name: &'a str,
}

/// What user JIDs advertise, sorted bytewise as XEP-0115 §5.1 hashes them.
static USER_FEATURES: [&str; 19] = [
    "http://jabber.org/protocol/caps",
    "http://jabber.org/protocol/disco#info",
    "jabber:iq:version",
    "urn:ietf:rfc:5888",
    "urn:xmpp:jingle-message:0",
    "urn:xmpp:jingle:1",
    "urn:xmpp:jingle:apps:dtls:0",
    "urn:xmpp:jingle:apps:grouping:0",
    "urn:xmpp:jingle:apps:rtp:1",
    "urn:xmpp:jingle:apps:rtp:audio",
    "urn:xmpp:jingle:apps:rtp:info:1",
    "urn:xmpp:jingle:apps:rtp:rtcp-fb:0",
    "urn:xmpp:jingle:apps:rtp:rtp-hdrext:0",
    "urn:xmpp:jingle:apps:rtp:ssma:0",
    "urn:xmpp:jingle:apps:rtp:video",
    // Issue 7: XEP-0181 §5 — clients offer a keypad only to peers that say so.
    "urn:xmpp:jingle:dtmf:0",
    "urn:xmpp:jingle:transports:ice-udp:1",
    "urn:xmpp:jingle:transports:raw-udp:1",
    "urn:xmpp:ping",
];

/// What the gateway domain itself advertises, sorted.
static DOMAIN_FEATURES: [&str; 4] = [NS_DISCO_INFO, NS_DISCO_ITEMS, NS_VERSION, NS_PING];

/// The features every user JID advertises, sorted bytewise (XEP-0115 §5.1).
pub fn features() -> &'static [&'static str] {
    &USER_FEATURES
}

/// The identity of a user JID: a phone, so clients offer audio/video calls.
fn user_identity(info: &ServiceInfo) -> Identity<'_> {
    Identity {
        category: "client",
        kind: "phone",
        lang: "",
        name: &info.name,
    }
}

/// The identity of the bare gateway domain.
fn domain_identity(info: &ServiceInfo) -> Identity<'_> {
    Identity {
        category: "gateway",
        kind: "sip",
        lang: "",
        name: &info.name,
    }
}

/// The XEP-0115 §5.1 verification string: SHA-1 over sorted identities
/// (`category/type/lang/name<`) and sorted features (`feature<`), base64.
/// Inputs need not be sorted.
pub fn caps_ver(identities: &[Identity<'_>], features: &[&str]) -> String {
    let mut ids: Vec<String> = identities
        .iter()
        .map(|i| format!("{}/{}/{}/{}<", i.category, i.kind, i.lang, i.name))
        .collect();
    ids.sort();
    let mut feats: Vec<&str> = features.to_vec();
    feats.sort_unstable();
    let mut s = ids.concat();
    for f in feats {
        s.push_str(f);
        s.push('<');
    }
    base64(&Sha1::digest(s.as_bytes()))
}

/// Standard base64 with padding (RFC 4648 §4); small enough not to need a crate.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The caps `ver` of user JIDs.
fn user_ver(info: &ServiceInfo) -> String {
    caps_ver(&[user_identity(info)], features())
}

/// The caps `ver` of the gateway domain.
fn domain_ver(info: &ServiceInfo) -> String {
    caps_ver(&[domain_identity(info)], &DOMAIN_FEATURES)
}

/// An available presence from `from_local@domain/resource` (or from the bare
/// domain when `from_local` is empty) to `to`, with XEP-0115 caps so clients
/// learn the Jingle features without a disco round trip per contact.
pub fn available_presence(info: &ServiceInfo, from_local: &str, to: &str) -> Element {
    let (from, ver) = if from_local.is_empty() {
        (info.domain.clone(), domain_ver(info))
    } else {
        (
            format!("{from_local}@{}/{}", info.domain, info.resource),
            user_ver(info),
        )
    };
    let mut presence = el("presence", NS_COMPONENT);
    set(&mut presence, "from", &from);
    set(&mut presence, "to", to);
    let mut c = el("c", NS_CAPS);
    set(&mut c, "hash", "sha-1");
    set(&mut c, "node", CAPS_NODE);
    set(&mut c, "ver", &ver);
    presence.append_child(c);
    presence
}

/// Answers a stanza addressed to the gateway if it is service traffic.
///
/// Returns the replies (possibly none: the stanza was service traffic that
/// needs no answer), or `None` when the stanza belongs to the call core —
/// Jingle IQ sets, messages (JMI), IQ results and errors. Never replies to an
/// error or result, so two gateways cannot bounce errors at each other.
pub fn handle(info: &ServiceInfo, stanza: &Element) -> Option<Vec<Element>> {
    if !is_stanza_ns(stanza) {
        return None;
    }
    match stanza.name() {
        "iq" => handle_iq(info, stanza),
        "presence" => Some(handle_presence(info, stanza)),
        _ => None,
    }
}

fn handle_iq(info: &ServiceInfo, iq: &Element) -> Option<Vec<Element>> {
    let kind = iq.attr("type");
    if matches!(kind, Some("result" | "error")) {
        return None;
    }
    let payload = iq.children().next();
    if kind == Some("set") && payload.is_some_and(|p| p.is("jingle", NS_JINGLE)) {
        return None;
    }
    // XEP-0050 commands (the call's `transfer`) are the call core's.
    if kind == Some("set") && payload.is_some_and(|p| p.is("command", NS_COMMANDS)) {
        return None;
    }
    // Without an id or a sender there is no one to answer: drop quietly.
    let (Some(id), Some(from)) = (iq.attr("id"), iq.attr("from")) else {
        return Some(Vec::new());
    };
    let to = iq.attr("to").unwrap_or(&info.domain);
    let reply = match (kind, payload) {
        (Some("get"), Some(query)) => answer_get(info, to, query),
        (Some("get"), None) => Err(("modify", "bad-request")),
        (Some("set"), _) => Err(("cancel", "feature-not-implemented")),
        _ => Err(("modify", "bad-request")),
    };
    let mut out = el("iq", NS_COMPONENT);
    set(&mut out, "from", to);
    set(&mut out, "to", from);
    set(&mut out, "id", id);
    match reply {
        Ok(child) => {
            set(&mut out, "type", "result");
            if let Some(child) = child {
                out.append_child(child);
            }
        }
        Err((error_type, condition)) => {
            set(&mut out, "type", "error");
            out.append_child(error_element(error_type, condition, None, None));
        }
    }
    Some(vec![out])
}

/// The result payload of an IQ get (`None`: empty result), or an error.
type Answer = Result<Option<Element>, (&'static str, &'static str)>;

fn answer_get(info: &ServiceInfo, to: &str, query: &Element) -> Answer {
    let user = localpart(to).is_some();
    if query.is("query", NS_DISCO_INFO) {
        let (identity, feats, ver) = if user {
            (user_identity(info), features(), user_ver(info))
        } else {
            (
                domain_identity(info),
                &DOMAIN_FEATURES[..],
                domain_ver(info),
            )
        };
        let node = query.attr("node");
        if node.is_some_and(|n| n != format!("{CAPS_NODE}#{ver}")) {
            return Err(("cancel", "item-not-found"));
        }
        let mut q = el("query", NS_DISCO_INFO);
        if let Some(node) = node {
            set(&mut q, "node", node);
        }
        let mut id = el("identity", NS_DISCO_INFO);
        set(&mut id, "category", identity.category);
        set(&mut id, "type", identity.kind);
        set(&mut id, "name", identity.name);
        q.append_child(id);
        for f in feats {
            let mut feature = el("feature", NS_DISCO_INFO);
            set(&mut feature, "var", f);
            q.append_child(feature);
        }
        Ok(Some(q))
    } else if query.is("query", NS_DISCO_ITEMS) {
        let mut q = el("query", NS_DISCO_ITEMS);
        if let Some(node) = query.attr("node") {
            set(&mut q, "node", node);
        }
        if user && query.attr("node") == Some(NS_COMMANDS) {
            // XEP-0050 §2.2: the commands a user JID offers (the call
            // core answers `transfer` only to the user in a call with it).
            let mut item = el("item", NS_DISCO_ITEMS);
            set(&mut item, "jid", to);
            set(&mut item, "node", "transfer");
            set(&mut item, "name", "Transfer the call");
            q.append_child(item);
        }
        Ok(Some(q))
    } else if query.is("query", NS_VERSION) {
        let mut q = el("query", NS_VERSION);
        for (name, text) in [
            ("name", info.name.as_str()),
            ("version", env!("CARGO_PKG_VERSION")),
        ] {
            let mut child = el(name, NS_VERSION);
            child.append_text(text);
            q.append_child(child);
        }
        Ok(Some(q))
    } else if query.is("ping", NS_PING) {
        Ok(None)
    } else {
        Err(("cancel", "service-unavailable"))
    }
}

fn handle_presence(info: &ServiceInfo, presence: &Element) -> Vec<Element> {
    let (Some(from), Some(to)) = (presence.attr("from"), presence.attr("to")) else {
        return Vec::new();
    };
    let local = localpart(to).unwrap_or("");
    let us = bare(to);
    let them = bare(from);
    let plain = |kind: &str| {
        let mut p = el("presence", NS_COMPONENT);
        set(&mut p, "from", us);
        set(&mut p, "to", them);
        set(&mut p, "type", kind);
        p
    };
    match presence.attr("type") {
        Some("subscribe") => vec![
            plain("subscribed"),
            available_presence(info, local, them),
            // Ask back so the roster item becomes `both` and the client keeps
            // sending us presence probes it would otherwise skip.
            plain("subscribe"),
        ],
        Some("probe") => vec![available_presence(info, local, from)],
        Some("unsubscribe") => vec![plain("unsubscribed")],
        // A directed available presence: answer in kind, unless it comes from
        // another stox (our caps node), which would answer us back forever.
        None if !from_stox(presence) => vec![available_presence(info, local, from)],
        // unavailable, subscribed, unsubscribed, error, ours: nothing to say.
        _ => Vec::new(),
    }
}

/// Whether a presence carries our own caps node, i.e. comes from a gateway
/// that would answer an available presence with another one.
fn from_stox(presence: &Element) -> bool {
    presence
        .get_child("c", NS_CAPS)
        .is_some_and(|c| c.attr("node") == Some(CAPS_NODE))
}

#[cfg(test)]
mod tests;
