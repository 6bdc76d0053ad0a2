//! XML namespaces of the Jingle family, in one place.

/// XEP-0166 Jingle.
pub const JINGLE: &str = "urn:xmpp:jingle:1";
/// The pre-2009 Jingle namespace, still found in XEP examples (read, never written).
pub const JINGLE_LEGACY: &str = "http://jabber.org/protocols/jingle";
/// XEP-0167 RTP application.
pub const RTP: &str = "urn:xmpp:jingle:apps:rtp:1";
/// XEP-0167 informational payloads (`<ringing/>`, `<hold/>`, …).
pub const RTP_INFO: &str = "urn:xmpp:jingle:apps:rtp:info:1";
/// XEP-0262 ZRTP hash.
pub const ZRTP: &str = "urn:xmpp:jingle:apps:rtp:zrtp:1";
/// XEP-0293 RTCP feedback.
pub const RTCP_FB: &str = "urn:xmpp:jingle:apps:rtp:rtcp-fb:0";
/// XEP-0294 RTP header extensions.
pub const RTP_HDREXT: &str = "urn:xmpp:jingle:apps:rtp:rtp-hdrext:0";
/// XEP-0339 source-specific media attributes.
pub const SSMA: &str = "urn:xmpp:jingle:apps:rtp:ssma:0";
/// Media-level msid as written by StanzaJS/jingle.js (no XEP).
pub const MSID: &str = "urn:xmpp:jingle:apps:rtp:msid:0";
/// XEP-0338 grouping.
pub const GROUPING: &str = "urn:xmpp:jingle:apps:grouping:0";
/// XEP-0320 DTLS-SRTP fingerprint.
pub const DTLS: &str = "urn:xmpp:jingle:apps:dtls:0";
/// XEP-0176 ICE-UDP transport.
pub const ICE_UDP: &str = "urn:xmpp:jingle:transports:ice-udp:1";
/// The obsolete ICE-UDP namespace found in old XEP examples (read, never written).
pub const ICE_UDP_LEGACY: &str = "urn:xmpp:jingle:transports:ice-udp:0";
/// XEP-0371 Jingle ICE (deferred); we borrow its `<gathering-complete/>`.
pub const ICE: &str = "urn:xmpp:jingle:transports:ice:0";
/// XEP-0177 raw UDP transport.
pub const RAW_UDP: &str = "urn:xmpp:jingle:transports:raw-udp:1";
/// XMPP client stanzas.
pub const CLIENT: &str = "jabber:client";
