//! Fact extractors for the golden tests.
//!
//! Three representations of a media session — SDP text, our Jingle model (which
//! `parse_jingle` also gives for other converters' XML) and the two JSON object
//! models of Jingle (stanza, otalk sdp-jingle-json) — are each reduced to a set
//! of one-line, normalised "facts" such as `audio: codec 111 opus/48000/2`.
//! The prefix before `: ` names the media section (content name / a=mid, or
//! `m0`, `m1`, … when keyed by order); `session` holds what belongs to no section.
//!
//! The extractors share one vocabulary (the `fact` helpers below), and the SDP
//! one is written independently of the translator (its own direction table,
//! its own line splitting), so a translator bug cannot cancel itself out.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use stox::jingle::{Description, Jingle, Senders, Transport};
use stox::translate::Role;
use stox::translate::fmtp::FmtpItem;

pub const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");

/// A corpus file's text (byte-exact; every corpus text file is UTF-8).
pub fn corpus(name: &str) -> String {
    std::fs::read_to_string(format!("{CORPUS}/{name}")).unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub type Facts = BTreeSet<String>;

/// How media sections are told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// By content name / a=mid: the two sides use the same names.
    Name,
    /// By position (`m0`, `m1`, …), for sides that rename sections; the name
    /// itself becomes a `name …` fact so the renaming stays visible.
    Order,
}

/// Collects facts for one representation.
struct Sink {
    key: Key,
    /// Section names in order, to turn group members into `mN` under `Key::Order`.
    names: Vec<String>,
    facts: Facts,
}

impl Sink {
    fn new(key: Key, names: Vec<String>) -> Self {
        Sink {
            key,
            names,
            facts: Facts::new(),
        }
    }

    fn section_key(&self, index: usize) -> String {
        match self.key {
            Key::Name => self.names[index].clone(),
            Key::Order => format!("m{index}"),
        }
    }

    /// Starts a section: returns its key, recording the name when keyed by order.
    fn open(&mut self, index: usize) -> String {
        let key = self.section_key(index);
        if self.key == Key::Order {
            let fact = format!("name {}", self.names[index]);
            self.add(&key, fact);
        }
        key
    }

    fn add(&mut self, section: &str, fact: impl AsRef<str>) {
        self.facts.insert(format!("{section}: {}", fact.as_ref()));
    }

    fn group(&mut self, semantics: &str, members: &[String]) {
        let members: Vec<String> = members
            .iter()
            .map(
                |m| match (self.key, self.names.iter().position(|n| n == m)) {
                    (Key::Order, Some(i)) => format!("m{i}"),
                    _ => m.clone(),
                },
            )
            .collect();
        self.add(
            "session",
            format!("group {semantics} {}", members.join(" ")),
        );
    }
}

// ---- the shared vocabulary ---------------------------------------------------------

mod fact {
    /// `codec 111 opus/48000/2`; one channel (the default) is not written.
    pub fn codec(
        id: &str,
        name: Option<&str>,
        clock: Option<&str>,
        channels: Option<&str>,
    ) -> String {
        let mut s = format!("codec {id} {}", name.unwrap_or("?"));
        if let Some(clock) = clock {
            s.push('/');
            s.push_str(clock);
            if let Some(ch) = channels.filter(|c| *c != "1") {
                s.push('/');
                s.push_str(ch);
            }
        }
        s
    }

    /// One fmtp parameter: `fmtp 111 minptime=10`, or a bare token `fmtp 126 0-15`.
    pub fn fmtp(id: &str, name: Option<&str>, value: &str) -> String {
        match name {
            Some(name) => format!("fmtp {id} {name}={value}"),
            None if value.is_empty() => format!("fmtp {id} (empty)"),
            None => format!("fmtp {id} {value}"),
        }
    }

    pub fn rtcp_fb(pt: &str, kind: &str, subtype: Option<&str>) -> String {
        match subtype.filter(|s| !s.is_empty()) {
            Some(sub) => format!("rtcp-fb {pt} {kind} {sub}"),
            None => format!("rtcp-fb {pt} {kind}"),
        }
    }

    pub fn extmap(id: &str, uri: &str, senders: &str) -> String {
        format!("extmap {id} {uri} senders={senders}")
    }

    pub fn ssrc(ssrc: &str, name: Option<&str>, value: Option<&str>) -> String {
        match (name, value) {
            (Some(n), Some(v)) => format!("ssrc {ssrc} {n}={v}"),
            (Some(n), None) => format!("ssrc {ssrc} {n}"),
            _ => format!("ssrc {ssrc}"),
        }
    }

    /// Media-level msid: `msid <stream> [<track>]`.
    pub fn msid(id: &str, track: Option<&str>) -> String {
        match track {
            Some(t) => format!("msid {id} {t}"),
            None => format!("msid {id}"),
        }
    }

    /// Hash in lower case, value in upper case without whitespace.
    pub fn fingerprint(hash: &str, value: &str) -> String {
        let value: String = value.chars().filter(|c| !c.is_whitespace()).collect();
        format!(
            "fingerprint {} {}",
            hash.to_ascii_lowercase(),
            value.to_ascii_uppercase()
        )
    }

    /// `candidate <foundation> <component> <proto> <prio> <ip> <port> <type>` plus
    /// related address and ICE-TCP type; generation, network and ids are dropped
    /// (they are per-hop bookkeeping, not the candidate).
    #[allow(clippy::too_many_arguments)]
    pub fn candidate(
        foundation: &str,
        component: &str,
        proto: &str,
        priority: &str,
        ip: &str,
        port: &str,
        kind: &str,
        rel: Option<(&str, &str)>,
        tcptype: Option<&str>,
    ) -> String {
        let mut s = format!(
            "candidate {foundation} {component} {} {priority} {ip} {port} {kind}",
            proto.to_ascii_lowercase()
        );
        if let Some((addr, port)) = rel {
            s.push_str(&format!(" raddr {addr} rport {port}"));
        }
        if let Some(t) = tcptype {
            s.push_str(&format!(" tcptype {t}"));
        }
        s
    }
}

fn senders_word(s: Senders) -> &'static str {
    match s {
        Senders::Both => "both",
        Senders::Initiator => "initiator",
        Senders::Responder => "responder",
        Senders::None => "none",
    }
}

// ---- our Jingle model --------------------------------------------------------------

/// Facts of a Jingle element (ours, or another converter's read by `parse_jingle`).
pub fn jingle_facts(j: &Jingle, key: Key) -> Facts {
    let mut sink = Sink::new(key, j.contents.iter().map(|c| c.name.clone()).collect());
    for (i, c) in j.contents.iter().enumerate() {
        let k = sink.open(i);
        sink.add(&k, format!("senders {}", senders_word(c.senders())));
        for u in &c.unknown {
            sink.add(&k, format!("unknown {u}"));
        }
        match &c.description {
            Some(Description::Rtp(d)) => rtp_facts(&mut sink, &k, d),
            Some(Description::Other(name)) => sink.add(&k, format!("application {name}")),
            None => {}
        }
        match &c.transport {
            Some(Transport::IceUdp(t)) => {
                let s = &mut sink;
                if let Some(u) = &t.ufrag {
                    s.add(&k, format!("ice-ufrag {u}"));
                }
                if let Some(p) = &t.pwd {
                    s.add(&k, format!("ice-pwd {p}"));
                }
                for c in &t.candidates {
                    let rel = c.rel_addr.as_deref().zip(c.rel_port.map(|p| p.to_string()));
                    let fact = fact::candidate(
                        &c.foundation,
                        &c.component.to_string(),
                        &c.protocol,
                        &c.priority.to_string(),
                        &c.ip,
                        &c.port.to_string(),
                        &c.kind,
                        rel.as_ref().map(|(a, p)| (*a, p.as_str())),
                        c.tcptype.as_deref(),
                    );
                    s.add(&k, fact);
                }
                for r in &t.remote_candidates {
                    s.add(
                        &k,
                        format!("remote-candidate {} {} {}", r.component, r.ip, r.port),
                    );
                }
                fingerprint_facts(s, &k, &t.fingerprints);
                if t.end_of_candidates {
                    s.add(&k, "end-of-candidates");
                }
                for u in &t.unknown {
                    s.add(&k, format!("transport-child {u}"));
                }
            }
            Some(Transport::RawUdp(t)) => {
                for c in &t.candidates {
                    sink.add(
                        &k,
                        format!("raw-candidate {} {} {}", c.component, c.ip, c.port),
                    );
                }
                fingerprint_facts(&mut sink, &k, &t.fingerprints);
            }
            Some(Transport::Other(name)) => sink.add(&k, format!("transport {name}")),
            None => {}
        }
    }
    for g in &j.groups {
        sink.group(&g.semantics, &g.contents);
    }
    for u in &j.unknown {
        sink.add("session", format!("unknown {u}"));
    }
    sink.facts
}

fn fingerprint_facts(s: &mut Sink, k: &str, fingerprints: &[stox::jingle::Fingerprint]) {
    for f in fingerprints {
        s.add(k, fact::fingerprint(&f.hash, &f.value));
        if let Some(setup) = &f.setup {
            s.add(k, format!("setup {setup}"));
        }
    }
}

fn rtp_facts(s: &mut Sink, k: &str, d: &stox::jingle::RtpDescription) {
    s.add(k, format!("media {}", d.media));
    if let Some(ssrc) = d.ssrc {
        s.add(k, format!("description ssrc={ssrc}"));
    }
    if let Some(m) = d.maxptime {
        s.add(k, format!("maxptime {m}"));
    }
    for p in &d.payload_types {
        let id = p.id.to_string();
        let clock = p.clockrate.map(|c| c.to_string());
        let channels = p.channels.map(|c| c.to_string());
        s.add(
            k,
            fact::codec(
                &id,
                p.name.as_deref(),
                clock.as_deref(),
                channels.as_deref(),
            ),
        );
        if let Some(t) = p.ptime {
            s.add(k, format!("ptime {id} {t}"));
        }
        if let Some(t) = p.maxptime {
            s.add(k, format!("maxptime {id} {t}"));
        }
        for param in &p.parameters {
            // The three bare-token dialects (name='', no name, no value) are one token.
            let f = match FmtpItem::of(param) {
                FmtpItem::Pair(n, v) => fact::fmtp(&id, Some(n), v),
                FmtpItem::Token(t) => fact::fmtp(&id, None, t),
            };
            s.add(k, f);
        }
        for fb in &p.rtcp_fb {
            s.add(k, fact::rtcp_fb(&id, &fb.kind, fb.subtype.as_deref()));
        }
        if let Some(v) = p.rtcp_fb_trr_int {
            s.add(k, format!("rtcp-fb {id} trr-int {v}"));
        }
    }
    for fb in &d.rtcp_fb {
        s.add(k, fact::rtcp_fb("*", &fb.kind, fb.subtype.as_deref()));
    }
    if let Some(v) = d.rtcp_fb_trr_int {
        s.add(k, format!("rtcp-fb * trr-int {v}"));
    }
    for b in &d.bandwidth {
        s.add(k, format!("bandwidth {} {}", b.kind, b.value));
    }
    if d.rtcp_mux {
        s.add(k, "rtcp-mux");
    }
    if d.rtcp_reduced_size {
        s.add(k, "rtcp-rsize");
    }
    if let Some(e) = &d.encryption {
        for c in &e.crypto {
            let params = c
                .session_params
                .as_deref()
                .map(|p| format!(" {p}"))
                .unwrap_or_default();
            s.add(
                k,
                format!(
                    "crypto {} {} {}{params}",
                    c.tag, c.crypto_suite, c.key_params
                ),
            );
        }
        for z in &e.zrtp_hash {
            s.add(k, format!("zrtp-hash {} {}", z.version, z.value));
        }
    }
    for h in &d.hdrext {
        let senders = senders_word(h.senders.unwrap_or_default());
        s.add(k, fact::extmap(&h.id.to_string(), &h.uri, senders));
    }
    if d.extmap_allow_mixed {
        s.add(k, "extmap-allow-mixed");
    }
    for src in &d.sources {
        let ssrc = src.ssrc.to_string();
        if src.parameters.is_empty() {
            s.add(k, fact::ssrc(&ssrc, None, None));
        }
        for (n, v) in &src.parameters {
            s.add(k, fact::ssrc(&ssrc, Some(n), v.as_deref()));
        }
    }
    for g in &d.ssrc_groups {
        let ids: Vec<String> = g.sources.iter().map(u32::to_string).collect();
        s.add(k, format!("ssrc-group {} {}", g.semantics, ids.join(" ")));
    }
    for m in &d.msid {
        s.add(k, fact::msid(&m.id, m.track.as_deref()));
    }
    for u in &d.unknown {
        s.add(k, format!("unknown {u}"));
    }
}

// ---- SDP text ----------------------------------------------------------------------

/// `senders` for an SDP direction written by `writer` (mapping digest §3 table),
/// restated here rather than taken from the translator.
fn senders_of(direction: &str, writer: Role) -> &'static str {
    match (direction, writer) {
        ("sendonly", Role::Initiator) | ("recvonly", Role::Responder) => "initiator",
        ("recvonly", Role::Initiator) | ("sendonly", Role::Responder) => "responder",
        ("inactive", _) => "none",
        _ => "both",
    }
}

const DIRECTIONS: [&str; 4] = ["sendrecv", "sendonly", "recvonly", "inactive"];

/// One `<type>=<value>` line, however it was indented or terminated.
fn sdp_lines(text: &str) -> Vec<(char, &str)> {
    text.split('\n')
        .map(str::trim)
        .filter_map(|l| {
            let mut chars = l.chars();
            match (chars.next(), chars.next()) {
                (Some(t), Some('=')) if t.is_ascii_alphabetic() => Some((t, &l[2..])),
                _ => None,
            }
        })
        .collect()
}

/// `(attribute, value)` of an `a=` line value.
fn attribute(value: &str) -> (&str, Option<&str>) {
    match value.split_once(':') {
        Some((a, v)) => (a, Some(v.trim())),
        None => (value, None),
    }
}

/// Facts of SDP text written by `writer`. Tolerant: fragments without a
/// session header, lines that are not `x=…`, and attributes it does not know
/// (kept as `a=…` facts, so every line of the SDP is accounted for).
pub fn sdp_facts(text: &str, writer: Role, key: Key) -> Facts {
    let lines = sdp_lines(text);
    let first_m = lines
        .iter()
        .position(|(t, _)| *t == 'm')
        .unwrap_or(lines.len());
    let (session, medias) = lines.split_at(first_m);
    let sections: Vec<&[(char, &str)]> = split_sections(medias);
    let names: Vec<String> = sections
        .iter()
        .enumerate()
        .map(|(i, sec)| {
            sec.iter()
                .find_map(|(t, v)| {
                    (*t == 'a')
                        .then(|| attribute(v))
                        .filter(|(a, _)| *a == "mid")
                })
                .and_then(|(_, v)| v.map(str::to_string))
                .unwrap_or_else(|| format!("m{i}"))
        })
        .collect();
    let mut sink = Sink::new(key, names);

    // Session-level attributes that are defaults for every media section.
    const INHERITED: [&str; 7] = [
        "ice-ufrag",
        "ice-pwd",
        "fingerprint",
        "setup",
        "extmap",
        "extmap-allow-mixed",
        "ice-options",
    ];
    let mut inherited: Vec<(&str, Option<&str>)> = Vec::new();
    let mut session_direction = "sendrecv";
    let mut session_address = None;
    for (t, v) in session {
        match t {
            'c' => session_address = v.split_whitespace().nth(2),
            'b' => sink.add("session", format!("bandwidth {}", v.replace(':', " "))),
            'a' => match attribute(v) {
                (a, _) if DIRECTIONS.contains(&a) => session_direction = a,
                ("group", Some(g)) => {
                    let mut parts = g.split_whitespace();
                    let semantics = parts.next().unwrap_or("");
                    let members: Vec<String> = parts.map(str::to_string).collect();
                    sink.group(semantics, &members);
                }
                (a, value) if INHERITED.contains(&a) => inherited.push((a, value)),
                _ => sink.add("session", format!("a={v}")),
            },
            _ => {}
        }
    }

    for (i, section) in sections.iter().enumerate() {
        let k = sink.open(i);
        let m: Vec<&str> = section[0].1.split_whitespace().collect();
        let (media, port, proto, fmts) = (
            m[0],
            m.get(1).copied(),
            m.get(2).copied(),
            m.get(3..).unwrap_or(&[]),
        );
        sink.add(&k, format!("media {media}"));
        if let Some(proto) = proto {
            sink.add(&k, format!("proto {proto}"));
        }
        let mut address = session_address;
        let mut direction = session_direction;
        let mut rtpmaps: BTreeMap<&str, &str> = BTreeMap::new();
        let own: BTreeSet<&str> = section
            .iter()
            .filter(|(t, _)| *t == 'a')
            .map(|(_, v)| attribute(v).0)
            .collect();
        let attrs = section[1..]
            .iter()
            .filter(|(t, _)| *t == 'a')
            .map(|(_, v)| attribute(v))
            .chain(inherited.iter().copied().filter(|(a, _)| !own.contains(a)));
        for (t, v) in &section[1..] {
            match t {
                'c' => address = v.split_whitespace().nth(2),
                'b' => sink.add(&k, format!("bandwidth {}", v.replace(':', " "))),
                _ => {}
            }
        }
        for (a, value) in attrs {
            let v = value.unwrap_or("");
            let (first, rest) = v
                .split_once(char::is_whitespace)
                .map_or((v, ""), |(f, r)| (f, r.trim()));
            match a {
                "mid" => {}
                d if DIRECTIONS.contains(&d) => direction = d,
                "rtpmap" => {
                    rtpmaps.insert(first, rest);
                }
                "fmtp" => {
                    for piece in rest.split(';').map(str::trim) {
                        let f = match piece.split_once('=') {
                            Some((n, val)) => fact::fmtp(first, Some(n.trim()), val.trim()),
                            None => fact::fmtp(first, None, piece),
                        };
                        sink.add(&k, f);
                    }
                }
                "rtcp-fb" | "ssrc-group" | "crypto" | "ptime" | "maxptime" | "ice-ufrag"
                | "ice-pwd" | "setup" | "rtcp" | "msid" | "remote-candidates" => sink.add(
                    &k,
                    format!("{a} {}", v.split_whitespace().collect::<Vec<_>>().join(" ")),
                ),
                "rtcp-mux" | "rtcp-rsize" | "extmap-allow-mixed" | "end-of-candidates" => {
                    sink.add(&k, a)
                }
                "extmap" => {
                    let (id, dir) = first.split_once('/').unwrap_or((first, "sendrecv"));
                    let uri = rest.split_whitespace().next().unwrap_or("");
                    sink.add(&k, fact::extmap(id, uri, senders_of(dir, writer)));
                }
                "ssrc" => {
                    let (name, value) = match rest.split_once(':') {
                        Some((n, val)) => (Some(n), Some(val)),
                        None => ((!rest.is_empty()).then_some(rest), None),
                    };
                    sink.add(&k, fact::ssrc(first, name, value));
                }
                "fingerprint" => sink.add(&k, fact::fingerprint(first, rest)),
                "candidate" => sink.add(&k, sdp_candidate(v)),
                _ => sink.add(
                    &k,
                    format!(
                        "a={a}{}",
                        value.map(|v| format!(":{v}")).unwrap_or_default()
                    ),
                ),
            }
        }
        for pt in fmts {
            let rtpmap = rtpmaps.remove(pt);
            sink.add(&k, sdp_codec(pt, rtpmap));
        }
        for (pt, rtpmap) in rtpmaps {
            sink.add(
                &k,
                format!("{} (not on the m= line)", sdp_codec(pt, Some(rtpmap))),
            );
        }
        sink.add(&k, format!("senders {}", senders_of(direction, writer)));
        if let (Some(addr), Some(port)) = (address, port) {
            sink.add(&k, format!("address {addr} {port}"));
        }
    }
    sink.facts
}

fn split_sections<'a>(medias: &'a [(char, &'a str)]) -> Vec<&'a [(char, &'a str)]> {
    let starts: Vec<usize> = medias
        .iter()
        .enumerate()
        .filter(|(_, (t, _))| *t == 'm')
        .map(|(i, _)| i)
        .collect();
    starts
        .iter()
        .enumerate()
        .map(|(n, &s)| &medias[s..starts.get(n + 1).copied().unwrap_or(medias.len())])
        .collect()
}

fn sdp_codec(pt: &str, rtpmap: Option<&str>) -> String {
    match rtpmap {
        Some(r) => {
            let mut parts = r.split('/');
            let name = parts.next();
            fact::codec(pt, name, parts.next(), parts.next())
        }
        None => format!("codec {pt} (no rtpmap)"),
    }
}

fn sdp_candidate(value: &str) -> String {
    let f: Vec<&str> = value.split_whitespace().collect();
    if f.len() < 8 {
        return format!("candidate (malformed) {value}");
    }
    let ext = |name: &str| {
        f[8..]
            .chunks(2)
            .find(|c| c[0] == name)
            .and_then(|c| c.get(1).copied())
    };
    let rel = ext("raddr").zip(ext("rport"));
    fact::candidate(
        f[0],
        f[1],
        f[2],
        f[3],
        f[4],
        f[5],
        f[7],
        rel,
        ext("tcptype"),
    )
}

// ---- JSON object models (stanza, otalk sdp-jingle-json) -----------------------------

/// A JSON string or number as text.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The first of `keys` present in `v`, as text (the two models name fields differently).
fn field(v: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| v.get(*k)).and_then(text)
}

fn list<'a>(v: &'a Value, keys: &[&str]) -> &'a [Value] {
    keys.iter()
        .find_map(|k| v.get(*k))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn flag(v: &Value, keys: &[&str]) -> bool {
    keys.iter()
        .any(|k| v.get(*k).and_then(Value::as_bool) == Some(true))
}

/// `(name, value)` pairs of either a JSON object (stanza) or a list of
/// `{key, value}` (otalk); an empty name is a bare token.
fn pairs(v: Option<&Value>) -> Vec<(Option<String>, String)> {
    match v {
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| (Some(k.clone()), text(v).unwrap_or_default()))
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                (
                    field(i, &["key", "name"]).filter(|k| !k.is_empty()),
                    field(i, &["value"]).unwrap_or_default(),
                )
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Facts of a stanza or otalk JSON rendering of `<jingle/>`.
pub fn json_facts(j: &Value, key: Key) -> Facts {
    let contents = list(j, &["contents"]);
    let names = contents
        .iter()
        .map(|c| field(c, &["name"]).unwrap_or_default())
        .collect();
    let mut sink = Sink::new(key, names);
    for (i, c) in contents.iter().enumerate() {
        let k = sink.open(i);
        sink.add(
            &k,
            format!(
                "senders {}",
                field(c, &["senders"]).unwrap_or_else(|| "both".into())
            ),
        );
        let app = &c["application"];
        match field(app, &["applicationType"]).as_deref() {
            Some("rtp" | "urn:xmpp:jingle:apps:rtp:1") => json_rtp(&mut sink, &k, app),
            Some(other) => {
                let proto = field(app, &["protocol"])
                    .map(|p| format!(" {p}"))
                    .unwrap_or_default();
                sink.add(&k, format!("application {other}{proto}"));
            }
            None => {}
        }
        json_transport(&mut sink, &k, &c["transport"]);
    }
    for g in list(j, &["groups"]) {
        let members: Vec<String> = list(g, &["contents"]).iter().filter_map(text).collect();
        sink.group(&field(g, &["semantics"]).unwrap_or_default(), &members);
    }
    sink.facts
}

fn json_rtp(s: &mut Sink, k: &str, app: &Value) {
    s.add(
        k,
        format!("media {}", field(app, &["media"]).unwrap_or_default()),
    );
    if let Some(ssrc) = field(app, &["ssrc"]) {
        s.add(k, format!("description ssrc={ssrc}"));
    }
    for p in list(app, &["codecs", "payloads"]) {
        let id = field(p, &["id"]).unwrap_or_default();
        let name = field(p, &["name"]);
        let clock = field(p, &["clockRate", "clockrate"]);
        let channels = field(p, &["channels"]);
        s.add(
            k,
            fact::codec(&id, name.as_deref(), clock.as_deref(), channels.as_deref()),
        );
        for key in ["ptime", "maxptime"] {
            if let Some(t) = field(p, &[key]) {
                s.add(k, format!("{key} {id} {t}"));
            }
        }
        for (n, v) in pairs(p.get("parameters")) {
            s.add(k, fact::fmtp(&id, n.as_deref(), &v));
        }
        for fb in list(p, &["rtcpFeedback", "feedback"]) {
            let kind = field(fb, &["type"]).unwrap_or_default();
            let sub = field(fb, &["parameter", "subtype"]);
            s.add(k, fact::rtcp_fb(&id, &kind, sub.as_deref()));
        }
    }
    for fb in list(app, &["rtcpFeedback", "feedback"]) {
        let kind = field(fb, &["type"]).unwrap_or_default();
        let sub = field(fb, &["parameter", "subtype"]);
        s.add(k, fact::rtcp_fb("*", &kind, sub.as_deref()));
    }
    if flag(app, &["rtcpMux", "mux"]) {
        s.add(k, "rtcp-mux");
    }
    if flag(app, &["rtcpReducedSize", "rsize"]) {
        s.add(k, "rtcp-rsize");
    }
    for c in list(app, &["encryption"]) {
        let params = field(c, &["sessionParams"])
            .filter(|p| !p.is_empty())
            .map(|p| format!(" {p}"))
            .unwrap_or_default();
        let f = |keys: &[&str]| field(c, keys).unwrap_or_default();
        s.add(
            k,
            format!(
                "crypto {} {} {}{params}",
                f(&["tag"]),
                f(&["cipherSuite"]),
                f(&["keyParams"])
            ),
        );
    }
    for h in list(app, &["headerExtensions"]) {
        let senders = field(h, &["senders"]).unwrap_or_else(|| "both".into());
        s.add(
            k,
            fact::extmap(
                &field(h, &["id"]).unwrap_or_default(),
                &field(h, &["uri"]).unwrap_or_default(),
                &senders,
            ),
        );
    }
    for src in list(app, &["sources"]) {
        let ssrc = field(src, &["ssrc"]).unwrap_or_default();
        let params = pairs(src.get("parameters"));
        if params.is_empty() {
            s.add(k, fact::ssrc(&ssrc, None, None));
        }
        for (n, v) in params {
            s.add(k, fact::ssrc(&ssrc, n.as_deref(), Some(&v)));
        }
    }
    for g in list(app, &["sourceGroups"]) {
        let ids: Vec<String> = list(g, &["sources"]).iter().filter_map(text).collect();
        s.add(
            k,
            format!(
                "ssrc-group {} {}",
                field(g, &["semantics"]).unwrap_or_default(),
                ids.join(" ")
            ),
        );
    }
    for m in list(app, &["streams"]) {
        let track = field(m, &["track"]);
        s.add(
            k,
            fact::msid(&field(m, &["id"]).unwrap_or_default(), track.as_deref()),
        );
    }
}

fn json_transport(s: &mut Sink, k: &str, t: &Value) {
    if t.is_null() {
        return;
    }
    if let Some(u) = field(t, &["ufrag", "usernameFragment"]) {
        s.add(k, format!("ice-ufrag {u}"));
    }
    if let Some(p) = field(t, &["pwd", "password"]) {
        s.add(k, format!("ice-pwd {p}"));
    }
    for c in list(t, &["candidates"]) {
        let f = |keys: &[&str]| field(c, keys).unwrap_or_default();
        let (raddr, rport) = (
            field(c, &["relAddr", "relatedAddress"]),
            field(c, &["relPort", "relatedPort"]),
        );
        let rel = raddr.as_deref().zip(rport.as_deref());
        let tcptype = field(c, &["tcpType", "tcptype"]);
        let fact = fact::candidate(
            &f(&["foundation"]),
            &f(&["component"]),
            &f(&["protocol"]),
            &f(&["priority"]),
            &f(&["ip"]),
            &f(&["port"]),
            &f(&["type"]),
            rel,
            tcptype.as_deref(),
        );
        s.add(k, fact);
    }
    for fp in list(t, &["fingerprints"]) {
        let hash = field(fp, &["hash", "algorithm"]).unwrap_or_default();
        s.add(
            k,
            fact::fingerprint(&hash, &field(fp, &["value"]).unwrap_or_default()),
        );
        if let Some(setup) = field(fp, &["setup"]) {
            s.add(k, format!("setup {setup}"));
        }
    }
    if let Some(sctp) = t.get("sctp") {
        let f = |keys: &[&str]| field(sctp, keys).unwrap_or_default();
        s.add(
            k,
            format!("sctp port={} protocol={}", f(&["port"]), f(&["protocol"])),
        );
    }
}

// ---- comparing ------------------------------------------------------------------------

/// Removes every fact of one media section; panics if there were none, so a
/// section that is excluded on purpose cannot silently vanish from the input.
pub fn take_section(facts: &mut Facts, section: &str) -> Facts {
    let prefix = format!("{section}: ");
    let taken: Facts = facts
        .iter()
        .filter(|f| f.starts_with(&prefix))
        .cloned()
        .collect();
    assert!(!taken.is_empty(), "no facts for section '{section}'");
    facts.retain(|f| !f.starts_with(&prefix));
    taken
}

/// Asserts that what only we say and what only they say are exactly the
/// documented differences. On failure, prints both lists ready to paste.
pub fn assert_differences(
    pair: &str,
    ours: &Facts,
    theirs: &Facts,
    ours_only: &[&str],
    theirs_only: &[&str],
) {
    let actual_ours: Facts = ours.difference(theirs).cloned().collect();
    let actual_theirs: Facts = theirs.difference(ours).cloned().collect();
    let expected_ours: Facts = ours_only.iter().map(|s| s.to_string()).collect();
    let expected_theirs: Facts = theirs_only.iter().map(|s| s.to_string()).collect();
    let mut report = String::new();
    for (label, actual, expected) in [
        ("ours only", &actual_ours, &expected_ours),
        ("theirs only", &actual_theirs, &expected_theirs),
    ] {
        for f in actual.difference(expected) {
            report.push_str(&format!("  {label}, undocumented: {f:?},\n"));
        }
        for f in expected.difference(actual) {
            report.push_str(&format!("  {label}, documented but not found: {f:?},\n"));
        }
    }
    assert!(
        report.is_empty(),
        "{pair}: the differences changed:\n{report}"
    );
}
