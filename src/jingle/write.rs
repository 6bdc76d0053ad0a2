//! Writing the [model](super::model) as Jingle XML.
//!
//! The output follows the XEPs' canonical forms; elements we only read (legacy
//! namespaces) are never written. Unknown children recorded during parsing are
//! not re-emitted: the model holds their names only, for warnings.

use super::model::*;
use super::ns;
use super::xml::XmlElement;

/// Builds `<jingle xmlns='urn:xmpp:jingle:1'>` with the contents and groups.
pub fn jingle_element(jingle: &Jingle) -> XmlElement {
    XmlElement::new("jingle", ns::JINGLE)
        .attr_opt("action", jingle.action.as_ref())
        .attr_opt("initiator", jingle.initiator.as_ref())
        .attr_opt("responder", jingle.responder.as_ref())
        .attr_opt("sid", jingle.sid.as_ref())
        .children(jingle.contents.iter().map(content_element))
        .children(jingle.groups.iter().map(group_element))
}

/// Builds one `<content/>`.
pub fn content_element(content: &Content) -> XmlElement {
    let mut el = XmlElement::new("content", ns::JINGLE)
        .attr("creator", creator_str(content.creator))
        .attr("name", &content.name)
        .attr_opt("senders", content.senders.map(senders_str))
        .attr_opt("disposition", content.disposition.as_ref());
    if let Some(Description::Rtp(d)) = &content.description {
        el = el.child(rtp_description_element(d));
    }
    match &content.transport {
        Some(Transport::IceUdp(t)) => el = el.child(ice_udp_element(t)),
        Some(Transport::RawUdp(t)) => el = el.child(raw_udp_element(t)),
        _ => {}
    }
    el
}

fn group_element(group: &Group) -> XmlElement {
    XmlElement::new("group", ns::GROUPING)
        .attr("semantics", &group.semantics)
        .children(
            group
                .contents
                .iter()
                .map(|name| XmlElement::new("content", ns::GROUPING).attr("name", name)),
        )
}

/// Builds an RTP `<description/>`.
pub fn rtp_description_element(d: &RtpDescription) -> XmlElement {
    let mut el = XmlElement::new("description", ns::RTP)
        .attr("media", &d.media)
        .attr_opt("ssrc", d.ssrc)
        .attr_opt("maxptime", d.maxptime);
    el = el.children(d.payload_types.iter().map(payload_type_element));
    if let Some(e) = &d.encryption {
        el = el.child(encryption_element(e));
    }
    el = el.children(d.bandwidth.iter().map(|b| {
        XmlElement::new("bandwidth", ns::RTP)
            .attr("type", &b.kind)
            .text(b.value)
    }));
    if d.rtcp_mux {
        el = el.child(XmlElement::new("rtcp-mux", ns::RTP));
    }
    if d.rtcp_reduced_size {
        el = el.child(XmlElement::new("rtcp-reduced-size", ns::RTP));
    }
    el = el.children(d.rtcp_fb.iter().map(rtcp_fb_element));
    if let Some(v) = d.rtcp_fb_trr_int {
        el = el.child(XmlElement::new("rtcp-fb-trr-int", ns::RTCP_FB).attr("value", v));
    }
    el = el.children(d.hdrext.iter().map(|h| {
        XmlElement::new("rtp-hdrext", ns::RTP_HDREXT)
            .attr("id", h.id)
            .attr("uri", &h.uri)
            .attr_opt("senders", h.senders.map(senders_str))
    }));
    if d.extmap_allow_mixed {
        el = el.child(XmlElement::new("extmap-allow-mixed", ns::RTP_HDREXT));
    }
    el = el.children(d.sources.iter().map(|s| {
        XmlElement::new("source", ns::SSMA)
            .attr("ssrc", s.ssrc)
            .children(s.parameters.iter().map(|(name, value)| {
                XmlElement::new("parameter", ns::SSMA)
                    .attr("name", name)
                    .attr_opt("value", value.as_ref())
            }))
    }));
    el = el.children(d.ssrc_groups.iter().map(|g| {
        XmlElement::new("ssrc-group", ns::SSMA)
            .attr("semantics", &g.semantics)
            .children(
                g.sources
                    .iter()
                    .map(|ssrc| XmlElement::new("source", ns::SSMA).attr("ssrc", ssrc)),
            )
    }));
    el.children(d.msid.iter().map(|m| {
        XmlElement::new("stream", ns::MSID)
            .attr("id", &m.id)
            .attr_opt("track", m.track.as_ref())
    }))
}

fn payload_type_element(pt: &PayloadType) -> XmlElement {
    XmlElement::new("payload-type", ns::RTP)
        .attr("id", pt.id)
        .attr_opt("name", pt.name.as_ref())
        .attr_opt("clockrate", pt.clockrate)
        .attr_opt("channels", pt.channels)
        .attr_opt("ptime", pt.ptime)
        .attr_opt("maxptime", pt.maxptime)
        .children(pt.parameters.iter().map(|p| {
            XmlElement::new("parameter", ns::RTP)
                .attr_opt("name", p.name.as_ref())
                .attr_opt("value", p.value.as_ref())
        }))
        .children(pt.rtcp_fb.iter().map(rtcp_fb_element))
        .children(
            pt.rtcp_fb_trr_int
                .map(|v| XmlElement::new("rtcp-fb-trr-int", ns::RTCP_FB).attr("value", v)),
        )
}

fn rtcp_fb_element(fb: &RtcpFb) -> XmlElement {
    XmlElement::new("rtcp-fb", ns::RTCP_FB)
        .attr("type", &fb.kind)
        .attr_opt("subtype", fb.subtype.as_ref())
}

fn encryption_element(e: &Encryption) -> XmlElement {
    XmlElement::new("encryption", ns::RTP)
        .attr_opt("required", e.required.map(|r| if r { "1" } else { "0" }))
        .children(e.crypto.iter().map(|c| {
            XmlElement::new("crypto", ns::RTP)
                .attr("crypto-suite", &c.crypto_suite)
                .attr("key-params", &c.key_params)
                .attr_opt("session-params", c.session_params.as_ref())
                .attr("tag", &c.tag)
        }))
        .children(e.zrtp_hash.iter().map(|z| {
            XmlElement::new("zrtp-hash", ns::ZRTP)
                .attr("version", &z.version)
                .text(&z.value)
        }))
}

fn fingerprint_element(f: &Fingerprint) -> XmlElement {
    XmlElement::new("fingerprint", ns::DTLS)
        .attr("hash", &f.hash)
        .attr_opt("setup", f.setup.as_ref())
        .attr_opt(
            "required",
            f.required.map(|r| if r { "true" } else { "false" }),
        )
        .text(&f.value)
}

fn ice_udp_element(t: &IceUdpTransport) -> XmlElement {
    let mut el = XmlElement::new("transport", ns::ICE_UDP)
        .attr_opt("pwd", t.pwd.as_ref())
        .attr_opt("ufrag", t.ufrag.as_ref())
        .children(t.fingerprints.iter().map(fingerprint_element))
        .children(t.candidates.iter().map(|c| {
            XmlElement::new("candidate", ns::ICE_UDP)
                .attr("component", c.component)
                .attr("foundation", &c.foundation)
                .attr_opt("generation", c.generation)
                .attr_opt("id", c.id.as_ref())
                .attr("ip", &c.ip)
                .attr_opt("network", c.network)
                .attr("port", c.port)
                .attr("priority", c.priority)
                .attr("protocol", &c.protocol)
                .attr_opt("rel-addr", c.rel_addr.as_ref())
                .attr_opt("rel-port", c.rel_port)
                .attr_opt("tcptype", c.tcptype.as_ref())
                .attr("type", &c.kind)
        }))
        .children(t.remote_candidates.iter().map(|r| {
            XmlElement::new("remote-candidate", ns::ICE_UDP)
                .attr("component", r.component)
                .attr("ip", &r.ip)
                .attr("port", r.port)
        }));
    if t.end_of_candidates {
        el = el.child(XmlElement::new("gathering-complete", ns::ICE));
    }
    el
}

fn raw_udp_element(t: &RawUdpTransport) -> XmlElement {
    XmlElement::new("transport", ns::RAW_UDP)
        .children(t.fingerprints.iter().map(fingerprint_element))
        .children(t.candidates.iter().map(|c| {
            XmlElement::new("candidate", ns::RAW_UDP)
                .attr("component", c.component)
                .attr_opt("generation", c.generation)
                .attr_opt("id", c.id.as_ref())
                .attr("ip", &c.ip)
                .attr("port", c.port)
        }))
}

/// The XEP-0166 spelling of a creator.
pub fn creator_str(c: Creator) -> &'static str {
    match c {
        Creator::Initiator => "initiator",
        Creator::Responder => "responder",
    }
}

/// The XEP-0166 spelling of a senders value.
pub fn senders_str(s: Senders) -> &'static str {
    match s {
        Senders::Both => "both",
        Senders::Initiator => "initiator",
        Senders::Responder => "responder",
        Senders::None => "none",
    }
}
