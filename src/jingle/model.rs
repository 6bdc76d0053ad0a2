//! The Jingle media model: plain data for the parts of a `<jingle/>` element that
//! describe media (XEP-0166 contents, XEP-0167 RTP descriptions, XEP-0176/0177
//! transports and the XEPs that extend them).
//!
//! Why our own model rather than xmpp-parsers' structs: the translator must read
//! what real clients send — nameless `<parameter/>`s, obsolete namespaces,
//! `<encryption/>` with SDES keys — and xmpp-parsers 0.23 rejects the first,
//! silently drops the last, and keeps ICE fields private. Every field here is
//! public, serialisable (a later issue stores negotiated media in the database),
//! and optional where the XEP makes it optional, so that "absent" and "default"
//! stay distinguishable through a round trip.

use serde::{Deserialize, Serialize};

/// A `<jingle/>` element reduced to what media translation needs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Jingle {
    /// `action` attribute (`session-initiate`, `transport-info`, …), when known.
    pub action: Option<String>,
    /// `sid` attribute, when known.
    pub sid: Option<String>,
    /// `initiator` attribute (a full JID), when present.
    pub initiator: Option<String>,
    /// `responder` attribute (a full JID), when present.
    pub responder: Option<String>,
    /// The `<content/>` children, in document order.
    pub contents: Vec<Content>,
    /// XEP-0338 `<group/>` children (BUNDLE, LS, …).
    pub groups: Vec<Group>,
    /// Children of `<jingle/>` we do not model, so callers can report them.
    pub unknown: Vec<XmlName>,
}

/// Who created a content (XEP-0166 `creator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Creator {
    /// The session initiator (the default for every content of a session-initiate).
    #[default]
    Initiator,
    /// The session responder (only for contents it added later).
    Responder,
}

/// Which parties send media (XEP-0166 `senders`). Absolute, unlike SDP directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Senders {
    /// Both parties send (the XEP-0166 default).
    #[default]
    Both,
    /// Only the initiator sends.
    Initiator,
    /// Only the responder sends.
    Responder,
    /// Nobody sends (mutual hold, disabled stream).
    None,
}

/// One `<content/>`: an application (description) over a transport.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Content {
    /// `creator` attribute.
    pub creator: Creator,
    /// `name` attribute: unique in the session, mapped to SDP `a=mid`.
    pub name: String,
    /// `senders` attribute; `None` when absent (meaning both, per XEP-0166).
    pub senders: Option<Senders>,
    /// `disposition` attribute (`session` by default, `early-session` for early media).
    pub disposition: Option<String>,
    /// The application description.
    pub description: Option<Description>,
    /// The transport.
    pub transport: Option<Transport>,
    /// Children of `<content/>` we do not model.
    pub unknown: Vec<XmlName>,
}

impl Content {
    /// The effective senders value (XEP-0166: absent means both).
    pub fn senders(&self) -> Senders {
        self.senders.unwrap_or_default()
    }
}

/// A content's application.
///
/// Not boxed although `Rtp` is much larger than `Other`: contents are almost
/// always RTP, so a box would add an allocation to the common case.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Description {
    /// XEP-0167 RTP session.
    Rtp(RtpDescription),
    /// Any other application (file transfer, XEP-0343 data channels, …).
    Other(XmlName),
}

/// XEP-0167 `<description xmlns='urn:xmpp:jingle:apps:rtp:1'/>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RtpDescription {
    /// `media` attribute: `audio`, `video`, …
    pub media: String,
    /// `ssrc` attribute (XEP-0167 §5), when present.
    pub ssrc: Option<u32>,
    /// `maxptime` on the description itself (Jitsi's habit; not in XEP-0167).
    pub maxptime: Option<u32>,
    /// Payload types, most preferred first.
    pub payload_types: Vec<PayloadType>,
    /// `<bandwidth type='…'>value</bandwidth>` children (SDP `b=`).
    pub bandwidth: Vec<Bandwidth>,
    /// `<rtcp-mux/>` (XEP-0167 v1.2).
    pub rtcp_mux: bool,
    /// `<rtcp-reduced-size/>` (RFC 5506 `a=rtcp-rsize`, as written by StanzaJS/jingle.js).
    pub rtcp_reduced_size: bool,
    /// `<encryption/>` with SDES `<crypto/>` and ZRTP hashes.
    pub encryption: Option<Encryption>,
    /// Description-level `<rtcp-fb/>` (SDP `a=rtcp-fb:*`), XEP-0293.
    pub rtcp_fb: Vec<RtcpFb>,
    /// Description-level `<rtcp-fb-trr-int/>` (SDP `a=rtcp-fb:* trr-int N`).
    pub rtcp_fb_trr_int: Option<u32>,
    /// XEP-0294 `<rtp-hdrext/>`.
    pub hdrext: Vec<RtpHdrext>,
    /// XEP-0294 `<extmap-allow-mixed/>`.
    pub extmap_allow_mixed: bool,
    /// XEP-0339 `<source/>`.
    pub sources: Vec<Source>,
    /// XEP-0339 `<ssrc-group/>`.
    pub ssrc_groups: Vec<SsrcGroup>,
    /// Media-level msid as `<stream xmlns='urn:xmpp:jingle:apps:rtp:msid:0'/>`
    /// (StanzaJS/jingle.js convention; no XEP defines it).
    pub msid: Vec<Msid>,
    /// Children we do not model.
    pub unknown: Vec<XmlName>,
}

/// XEP-0167 `<payload-type/>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PayloadType {
    /// `id` (0–127).
    pub id: u8,
    /// `name` (encoding name); may be absent for static payload types.
    pub name: Option<String>,
    /// `clockrate` in Hz.
    pub clockrate: Option<u32>,
    /// `channels`; absent means 1.
    pub channels: Option<u32>,
    /// `ptime` in milliseconds.
    pub ptime: Option<u32>,
    /// `maxptime` in milliseconds.
    pub maxptime: Option<u32>,
    /// `<parameter/>` children (SDP fmtp), in document order.
    pub parameters: Vec<Parameter>,
    /// XEP-0293 `<rtcp-fb/>` for this payload type.
    pub rtcp_fb: Vec<RtcpFb>,
    /// XEP-0293 `<rtcp-fb-trr-int/>` for this payload type.
    pub rtcp_fb_trr_int: Option<u32>,
}

/// A payload-type `<parameter/>`, kept as written: real clients send three forms
/// for a bare fmtp token (`name='' value='0-15'`, no name, or `name='0-15'` with
/// no value), so neither attribute is assumed present.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Parameter {
    /// `name` attribute, as written (may be empty).
    pub name: Option<String>,
    /// `value` attribute, as written.
    pub value: Option<String>,
}

/// `<bandwidth type='AS'>128</bandwidth>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Bandwidth {
    /// Bandwidth modifier (`AS`, `TIAS`, `CT`, …).
    pub kind: String,
    /// Value (kbit/s for AS/CT, bit/s for TIAS).
    pub value: u64,
}

/// XEP-0167 `<encryption/>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Encryption {
    /// `required` attribute: whether the sender refuses unencrypted media.
    pub required: Option<bool>,
    /// SDES `<crypto/>` children.
    pub crypto: Vec<Crypto>,
    /// XEP-0262 `<zrtp-hash/>` children.
    pub zrtp_hash: Vec<ZrtpHash>,
}

/// SDES `<crypto/>` (SDP `a=crypto`, RFC 4568).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Crypto {
    /// `tag`.
    pub tag: String,
    /// `crypto-suite`, e.g. `AES_CM_128_HMAC_SHA1_80`.
    pub crypto_suite: String,
    /// `key-params`, e.g. `inline:…` (several joined by `;`).
    pub key_params: String,
    /// `session-params`, space separated.
    pub session_params: Option<String>,
}

/// XEP-0262 `<zrtp-hash version='1.10'>…</zrtp-hash>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ZrtpHash {
    /// ZRTP protocol version.
    pub version: String,
    /// Hex hash value.
    pub value: String,
}

/// XEP-0293 `<rtcp-fb type='nack' subtype='pli'/>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RtcpFb {
    /// Feedback type (`nack`, `ccm`, `goog-remb`, …).
    pub kind: String,
    /// Subtype (`pli`, `fir`, …).
    pub subtype: Option<String>,
}

/// XEP-0294 `<rtp-hdrext id uri senders/>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RtpHdrext {
    /// Extension id (1–14 one-byte, up to 255 two-byte; 4096+ reserved).
    pub id: u16,
    /// Extension URI.
    pub uri: String,
    /// `senders`; absent means both.
    pub senders: Option<Senders>,
}

/// XEP-0339 `<source ssrc='…'>` with its `<parameter/>`s.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Source {
    /// The SSRC.
    pub ssrc: u32,
    /// `(name, value)` pairs; value absent for bare attributes.
    pub parameters: Vec<(String, Option<String>)>,
}

/// XEP-0339 `<ssrc-group semantics='FID'>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SsrcGroup {
    /// `FID`, `SIM`, `FEC-FR`, …
    pub semantics: String,
    /// Member SSRCs in order.
    pub sources: Vec<u32>,
}

/// Media-level msid (`a=msid:stream track`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Msid {
    /// Stream id (`-` for none).
    pub id: String,
    /// Track id.
    pub track: Option<String>,
}

/// XEP-0338 `<group semantics='BUNDLE'><content name='…'/></group>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Group {
    /// `BUNDLE`, `LS`, …
    pub semantics: String,
    /// Content names in order.
    pub contents: Vec<String>,
}

/// A content's transport.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Transport {
    /// XEP-0176 ICE-UDP.
    IceUdp(IceUdpTransport),
    /// XEP-0177 raw UDP.
    RawUdp(RawUdpTransport),
    /// Any other transport (SOCKS5, IBB, DTLS-SCTP, …).
    Other(XmlName),
}

/// XEP-0176 `<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'/>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IceUdpTransport {
    /// `ufrag`.
    pub ufrag: Option<String>,
    /// `pwd`.
    pub pwd: Option<String>,
    /// `<candidate/>`s.
    pub candidates: Vec<IceCandidate>,
    /// `<remote-candidate/>` (the in-use candidate, SDP `a=remote-candidates`).
    pub remote_candidates: Vec<RemoteCandidate>,
    /// XEP-0320 `<fingerprint/>`s.
    pub fingerprints: Vec<Fingerprint>,
    /// End of candidates (SDP `a=end-of-candidates`). XEP-0176 has no element for
    /// it; we write XEP-0371's `<gathering-complete/>`, the only XSF one.
    pub end_of_candidates: bool,
    /// Children we do not model.
    pub unknown: Vec<XmlName>,
}

/// XEP-0176 `<candidate/>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IceCandidate {
    /// 1 = RTP, 2 = RTCP.
    pub component: u16,
    /// Foundation (a string since XEP-0176 v1.1).
    pub foundation: String,
    /// Generation (ICE restart counter).
    pub generation: Option<u32>,
    /// Jingle-only unique id.
    pub id: Option<String>,
    /// Address (IP, or a host name such as an mDNS `.local` name).
    pub ip: String,
    /// Network index (Jingle); SDP's `network-id` extension.
    pub network: Option<u32>,
    /// Port.
    pub port: u16,
    /// Priority (32 bits, RFC 8445).
    pub priority: u32,
    /// `udp` or `tcp`.
    pub protocol: String,
    /// Related address for reflexive and relayed candidates.
    pub rel_addr: Option<String>,
    /// Related port.
    pub rel_port: Option<u16>,
    /// `host`, `srflx`, `prflx` or `relay`.
    pub kind: String,
    /// ICE-TCP type (`active`, `passive`, `so`), as StanzaJS writes it.
    pub tcptype: Option<String>,
}

/// XEP-0176 `<remote-candidate component ip port/>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RemoteCandidate {
    /// Component.
    pub component: u16,
    /// Address.
    pub ip: String,
    /// Port.
    pub port: u16,
}

/// XEP-0320 `<fingerprint hash setup>VALUE</fingerprint>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Hash function (`sha-256`, …).
    pub hash: String,
    /// DTLS role (`actpass`, `active`, `passive`).
    pub setup: Option<String>,
    /// Colon-separated hex, whitespace already trimmed.
    pub value: String,
    /// Jitsi's `required` attribute.
    pub required: Option<bool>,
}

/// XEP-0177 `<transport xmlns='urn:xmpp:jingle:transports:raw-udp:1'/>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RawUdpTransport {
    /// `<candidate/>`s (component 1 = RTP, 2 = RTCP).
    pub candidates: Vec<RawCandidate>,
    /// XEP-0320 `<fingerprint/>`s (DTLS-SRTP without ICE).
    pub fingerprints: Vec<Fingerprint>,
    /// Children we do not model.
    pub unknown: Vec<XmlName>,
}

/// XEP-0177 `<candidate component generation id ip port type?/>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RawCandidate {
    /// 1 = RTP, 2 = RTCP.
    pub component: u16,
    /// Generation.
    pub generation: Option<u32>,
    /// Unique id.
    pub id: Option<String>,
    /// Address.
    pub ip: String,
    /// Port.
    pub port: u16,
}

/// A qualified XML name, to report elements we met but do not model.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct XmlName {
    /// Namespace URI (empty when none).
    pub ns: String,
    /// Local name.
    pub name: String,
}

impl std::fmt::Display for XmlName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.ns.is_empty() {
            write!(f, "<{}/>", self.name)
        } else {
            write!(f, "<{} xmlns='{}'/>", self.name, self.ns)
        }
    }
}
