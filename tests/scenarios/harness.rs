//! A virtual-clock harness around the sans-IO gateway: feed SIP text and
//! stanzas, advance time, and inspect what the gateway sent. Nothing sleeps.

#![allow(dead_code)]

use minidom::Element;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use stox::call::{Call, CallEvent, CoreConfig, Gateway, Input, Output, PersistKind};
use stox::config::Config;
use stox::media::anchor::{AnchorRequest, MediaMode};
use stox::sip::message::{Response, SipMessage, parse_message};
use stox::sip::peer::{Peer, Transport};
use stox::sip::timers::SipTimers;

pub const CONFIG: &str = r#"
[xmpp]
domain = "sip.test"
server = "127.0.0.1:5347"
secret = "s3cret"
[sip]
listen = ["udp:127.0.0.1:5060"]
[[trunk]]
name = "pbx"
uri = "sip:127.0.0.1:5080"
[[number]]
did = "+15550001000"
jid = "bob@test"
[policy]
allow_outbound = ["alice@test", "bob@test"]
[calls]
ring_timeout_secs = 60
trickle_deadline_ms = 2000
"#;

pub const T1: Duration = Duration::from_millis(500);

pub fn trunk() -> Peer {
    Peer {
        transport: Transport::Udp,
        addr: "127.0.0.1:5080".parse().unwrap(),
    }
}

pub struct Harness {
    pub gw: Gateway,
    pub now: Instant,
    pub sip: Vec<(Peer, SipMessage)>,
    pub stanzas: Vec<Element>,
    pub events: Vec<CallEvent>,
    /// Trunks the core asked to locate again (`Output::ResolveTrunk`).
    pub resolves: Vec<String>,
    /// Every snapshot the core asked to persist, in order.
    pub persisted: Vec<(PersistKind, Call)>,
    /// Requests to the media anchor (`Output::Anchor`), in order.
    pub anchors: Vec<AnchorRequest>,
    /// Media releases (`Output::ReleaseMedia`), in order.
    pub releases: Vec<(String, MediaMode)>,
    /// In-dialog description changes for the anchor (`Output::MediaUpdate`).
    pub updates: Vec<(String, stox::media::anchor::MediaLeg, String)>,
    /// For each of `updates`: its mode, and whether it was the leg's offer.
    pub update_kinds: Vec<(stox::media::anchor::MediaMode, bool)>,
    /// Digits for the anchor to send in-band (`Output::Dtmf`), in order.
    pub dtmfs: Vec<(String, char, u32)>,
}

impl Harness {
    pub fn new() -> Self {
        Self::with_config(CONFIG, trunk())
    }

    /// A harness with another configuration; `pbx` is the trunk's resolved peer.
    pub fn with_config(config_text: &str, pbx: Peer) -> Self {
        Self::with_core(config_text, pbx, |_| {})
    }

    /// Rebuilds the gateway with OPTIONS pings to the trunk every `every`.
    pub fn set_trunk_ping(&mut self, every: Duration) {
        *self = Self::with_core(CONFIG, trunk(), |cfg| cfg.trunk_ping = Some(every));
    }

    /// A harness whose core configuration `adjust` may change.
    pub fn with_core(config_text: &str, pbx: Peer, adjust: impl FnOnce(&mut CoreConfig)) -> Self {
        let mut config = Config::from_toml_str(config_text, &[]).expect("test config is valid");
        if !config_text.contains("[media]") {
            // The scenarios written before media anchoring check SDP and
            // Jingle passed through; a test wanting an anchor says so.
            config.media.mode = MediaMode::Passthrough;
        }
        let mut trunk_peers = HashMap::new();
        trunk_peers.insert("pbx".to_string(), vec![pbx]);
        let cfg = CoreConfig {
            config,
            trunk_peers,
            sent_by: "127.0.0.1:5060".into(),
            sent_by_tls: None,
            resource: "stox".into(),
            timers: SipTimers::default(),
            user_agent: "stox-test".into(),
            trickle_quiet: Duration::from_millis(200),
            propose_timeout: Duration::from_secs(30),
            trunk_ping: None,
        };
        let mut cfg = cfg;
        adjust(&mut cfg);
        let now = Instant::now();
        Harness {
            gw: Gateway::new(cfg, 7, now),
            now,
            sip: Vec::new(),
            stanzas: Vec::new(),
            events: Vec::new(),
            resolves: Vec::new(),
            persisted: Vec::new(),
            anchors: Vec::new(),
            releases: Vec::new(),
            updates: Vec::new(),
            update_kinds: Vec::new(),
            dtmfs: Vec::new(),
        }
    }

    fn drain(&mut self) {
        while let Some(o) = self.gw.poll_output() {
            match o {
                Output::SendSip { to, bytes } => {
                    let m = parse_message(&bytes).expect("the gateway writes parseable SIP");
                    self.sip.push((to, m));
                }
                Output::SendStanza(el) => self.stanzas.push(el),
                Output::Persist { kind, call } => self.persisted.push((kind, *call)),
                Output::Event(e) => self.events.push(e),
                Output::ResolveTrunk { trunk } => self.resolves.push(trunk),
                Output::Anchor(request) => self.anchors.push(request),
                Output::ReleaseMedia { call, mode } => self.releases.push((call, mode)),
                Output::MediaUpdate {
                    call,
                    leg,
                    sdp,
                    mode,
                    offer,
                } => {
                    self.updates.push((call, leg, sdp));
                    self.update_kinds.push((mode, offer));
                }
                Output::Dtmf {
                    call,
                    code,
                    duration_ms,
                } => self.dtmfs.push((call, code, duration_ms)),
            }
        }
    }

    /// The `[database] instance` of the test configuration.
    pub fn gw_instance(&self) -> String {
        Config::from_toml_str(CONFIG, &[])
            .unwrap()
            .database
            .instance
    }

    pub fn input(&mut self, input: Input) {
        self.gw.handle_input(input, self.now);
        self.drain();
    }

    /// Feeds a stanza given as XML text (jabber:component:accept is the default ns).
    pub fn stanza(&mut self, xml: &str) {
        let xml = if xml.contains("xmlns=") && xml.trim_start().starts_with("<iq xmlns")
            || xml.trim_start().starts_with("<message xmlns")
        {
            xml.to_string()
        } else {
            xml.replacen(' ', " xmlns='jabber:component:accept' ", 1)
        };
        let el: Element = xml.parse().expect("test stanza parses");
        self.input(Input::Stanza(el));
    }

    pub fn sip_from(&mut self, from: Peer, text: &str) {
        let bytes = text
            .replace("\r\n", "\n")
            .replace('\n', "\r\n")
            .into_bytes();
        self.input(Input::Sip { from, bytes });
    }

    pub fn sip_bytes(&mut self, from: Peer, bytes: Vec<u8>) {
        self.input(Input::Sip { from, bytes });
    }

    /// Advances the virtual clock by `d`, firing every timer due on the way.
    pub fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        while let Some(at) = self.gw.poll_timeout() {
            if at > end {
                break;
            }
            self.now = at.max(self.now);
            self.input(Input::Timeout);
        }
        self.now = end;
        self.input(Input::Timeout);
    }

    /// What a store would hold now: the last snapshot of every call whose
    /// last snapshot is not `Ended`.
    pub fn stored_calls(&self) -> Vec<Call> {
        let mut last: Vec<(PersistKind, Call)> = Vec::new();
        for (kind, call) in &self.persisted {
            last.retain(|(_, c)| c.id != call.id);
            last.push((*kind, call.clone()));
        }
        last.into_iter()
            .filter(|(k, _)| *k != PersistKind::Ended)
            .map(|(_, c)| c)
            .collect()
    }

    pub fn take_sip(&mut self) -> Vec<(Peer, SipMessage)> {
        std::mem::take(&mut self.sip)
    }

    pub fn take_stanzas(&mut self) -> Vec<Element> {
        std::mem::take(&mut self.stanzas)
    }

    /// The one SIP request with this method sent since the last take; panics otherwise.
    pub fn expect_request(&mut self, method: &str) -> (Peer, stox::sip::Request) {
        let sent = self.take_sip();
        let mut found: Vec<_> = sent
            .into_iter()
            .filter_map(|(p, m)| match m {
                SipMessage::Request(r) if r.method.as_str() == method => Some((p, r)),
                _ => None,
            })
            .collect();
        assert_eq!(found.len(), 1, "expected one {method}, got {}", found.len());
        found.remove(0)
    }

    /// The status codes of the responses sent since the last take, in order.
    pub fn statuses(&mut self) -> Vec<u16> {
        self.responses().iter().map(|r| r.status).collect()
    }

    /// The responses sent since the last take (status codes in order).
    pub fn responses(&mut self) -> Vec<Response> {
        self.take_sip()
            .into_iter()
            .filter_map(|(_, m)| match m {
                SipMessage::Response(r) => Some(r),
                _ => None,
            })
            .collect()
    }
}

/// Child element `name` (any namespace) of `el`, searched depth-first.
pub fn find<'a>(el: &'a Element, name: &str) -> Option<&'a Element> {
    if el.name() == name {
        return Some(el);
    }
    el.children().find_map(|c| find(c, name))
}

/// The action attribute of a Jingle IQ, if it is one.
pub fn jingle_action(el: &Element) -> Option<String> {
    find(el, "jingle").and_then(|j| j.attr("action").map(str::to_string))
}

/// The reason condition of a session-terminate or JMI message.
pub fn reason(el: &Element) -> Option<String> {
    find(el, "reason")
        .and_then(|r| r.children().find(|c| c.name() != "text"))
        .map(|c| c.name().to_string())
}

/// A SIP response to `req` with status, a To tag and an optional SDP body.
pub fn respond(req: &stox::sip::Request, status: u16, to_tag: &str, sdp: Option<&str>) -> String {
    let h = &req.headers;
    let mut s = format!("SIP/2.0 {status} Whatever\r\n");
    for via in h.get_all("Via") {
        s += &format!("Via: {via}\r\n");
    }
    s += &format!("From: {}\r\n", h.get("From").unwrap());
    let to = h.get("To").unwrap();
    if to.contains("tag=") || status == 100 {
        s += &format!("To: {to}\r\n");
    } else {
        s += &format!("To: {to};tag={to_tag}\r\n");
    }
    s += &format!("Call-ID: {}\r\n", h.get("Call-ID").unwrap());
    s += &format!("CSeq: {}\r\n", h.get("CSeq").unwrap());
    s += "Contact: <sip:far@127.0.0.1:5080>\r\n";
    match sdp {
        Some(body) => {
            s += "Content-Type: application/sdp\r\n";
            s += &format!("Content-Length: {}\r\n\r\n{body}", body.len());
        }
        None => s += "Content-Length: 0\r\n\r\n",
    }
    s
}

pub fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

pub const ANSWER_SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n";

pub const OFFER_SDP: &str = ANSWER_SDP;

/// A Conversations-like audio session-initiate from alice.
pub fn session_initiate(sid: &str, to: &str) -> String {
    format!(
        "<iq from='alice@test/phone' to='{to}' type='set' id='si1'>\
<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='{sid}' initiator='alice@test/phone'>\
<content creator='initiator' name='0' senders='both'>\
<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>\
<payload-type id='111' name='opus' clockrate='48000' channels='2'/>\
<payload-type id='0' name='PCMU' clockrate='8000'/>\
<rtcp-mux/></description>\
<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='uf1' pwd='pwpwpwpwpwpwpwpwpwpwpw'>\
<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='actpass'>AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99</fingerprint>\
<candidate component='1' foundation='1' generation='0' id='c1' ip='127.0.0.1' port='40001' priority='2130706431' protocol='udp' type='host'/>\
</transport></content></jingle></iq>"
    )
}

/// A JMI propose from alice to a gateway user.
pub fn propose(sid: &str, to: &str) -> String {
    format!(
        "<message from='alice@test/phone' to='{to}' type='chat' id='m1'>\
<propose xmlns='urn:xmpp:jingle-message:0' id='{sid}'>\
<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose></message>"
    )
}

/// An inbound INVITE from the trunk to `did`.
pub fn invite(did: &str, call_id: &str, branch: &str) -> String {
    format!(
        "INVITE sip:{did}@127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5080;branch={branch}\r\n\
Max-Forwards: 70\r\n\
From: <sip:+15557770000@127.0.0.1:5080>;tag=caller1\r\n\
To: <sip:{did}@127.0.0.1:5060>\r\n\
Call-ID: {call_id}\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:caller@127.0.0.1:5080>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: {}\r\n\r\n{}",
        OFFER_SDP.len(),
        OFFER_SDP
    )
}
