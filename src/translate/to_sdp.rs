//! Jingle contents → SDP.

use super::direction::direction_from_senders;
use super::fmtp::format_fmtp;
use super::ice::{default_candidate, format_candidate};
use super::{Role, SdpOrigin, TranslateError, Translated, Warning};
use crate::jingle::*;
use sdp_types::{
    AddrType, Attribute, Bandwidth as SdpBandwidth, Connection, Media, NetType, Origin, Session,
    Time,
};
use std::net::IpAddr;

/// The RTP profile a content implies (XEP-0167 §5 and RFC 5764): Jingle does not
/// carry `m=` proto, so it is derived from what the content holds.
///
/// - DTLS with ICE is the WebRTC profile `UDP/TLS/RTP/SAVPF` (JSEP), whatever the
///   feedback and even with SDES beside it (old Chrome/JsSIP wrote `RTP/SAVPF`);
/// - DTLS with SDES but no ICE is `RTP/SAVP[F]`;
/// - SDES marked required is `RTP/SAVP`, optional SDES stays `RTP/AVP` (best-effort SRTP);
/// - `F` is added when any RTCP feedback is present (XEP-0293).
pub fn profile(d: &RtpDescription, has_ice: bool, has_fingerprint: bool) -> String {
    let feedback = !d.rtcp_fb.is_empty()
        || d.rtcp_fb_trr_int.is_some()
        || d.payload_types
            .iter()
            .any(|p| !p.rtcp_fb.is_empty() || p.rtcp_fb_trr_int.is_some());
    let sdes = d.encryption.as_ref().is_some_and(|e| !e.crypto.is_empty());
    let sdes_required = d
        .encryption
        .as_ref()
        .is_some_and(|e| !e.crypto.is_empty() && e.required != Some(false));
    let f = if feedback { "F" } else { "" };
    if has_fingerprint && has_ice {
        "UDP/TLS/RTP/SAVPF".to_string()
    } else if has_fingerprint && sdes {
        format!("RTP/SAVP{f}")
    } else if has_fingerprint {
        format!("UDP/TLS/RTP/SAVP{f}")
    } else if sdes_required {
        format!("RTP/SAVP{f}")
    } else {
        format!("RTP/AVP{f}")
    }
}

/// Translates Jingle contents into an SDP written by `writer`.
pub fn jingle_to_session(
    jingle: &Jingle,
    writer: Role,
    origin: &SdpOrigin,
) -> Result<Translated<Session>, TranslateError> {
    if jingle.contents.is_empty() {
        return Err(TranslateError::NoMedia);
    }
    let mut warnings = Vec::new();
    for name in &jingle.unknown {
        warnings.push(Warning::UnknownElement {
            content: String::new(),
            element: name.to_string(),
        });
    }
    let mut session = Session {
        origin: Origin {
            username: Some(origin.username.clone()),
            sess_id: origin.session_id.to_string(),
            sess_version: origin.session_version,
            nettype: NetType::In,
            addrtype: addr_type(&origin.address),
            unicast_address: origin.address.clone(),
        },
        session_name: "-".to_string(),
        session_description: None,
        uri: None,
        emails: Vec::new(),
        phones: Vec::new(),
        connection: None,
        bandwidths: Vec::new(),
        times: vec![Time {
            start_time: 0,
            stop_time: 0,
            repeats: Vec::new(),
        }],
        time_zones: Vec::new(),
        key: None,
        attributes: Vec::new(),
        medias: Vec::new(),
    };
    // Contents without a description only make sense in transport-only actions
    // (transport-info, or a bare transport fragment): those become RFC 8840-style
    // dummy m= lines. Elsewhere such a content is a non-RTP application whose
    // description we do not know (a StanzaJS data channel) and is left out.
    let transport_only = jingle.action.as_deref().map_or_else(
        || jingle.contents.iter().all(|c| c.description.is_none()),
        |a| a.starts_with("transport-"),
    );
    let mut written: Vec<&str> = Vec::new();
    for content in &jingle.contents {
        if let Some(media) = content_to_media(content, writer, transport_only, &mut warnings) {
            written.push(&content.name);
            session.medias.push(media);
        }
    }
    if session.medias.is_empty() {
        return Err(TranslateError::NoUsableMedia {
            skipped: jingle.contents.len(),
        });
    }
    for group in &jingle.groups {
        let names: Vec<&str> = group
            .contents
            .iter()
            .map(String::as_str)
            .filter(|n| written.contains(n))
            .collect();
        if !names.is_empty() {
            session.attributes.push(Attribute::with_value(
                "group",
                format!("{} {}", group.semantics, names.join(" ")),
            ));
        }
    }
    Ok(Translated {
        value: session,
        warnings,
    })
}

fn addr_type(address: &str) -> AddrType {
    if address.contains(':') {
        AddrType::Ip6
    } else {
        AddrType::Ip4
    }
}

fn connection(address: &str) -> Connection {
    Connection {
        nettype: NetType::In,
        addrtype: addr_type(address),
        connection_address: address.to_string(),
    }
}

fn content_to_media(
    content: &Content,
    writer: Role,
    transport_only: bool,
    warnings: &mut Vec<Warning>,
) -> Option<Media> {
    let name = content.name.as_str();
    for el in &content.unknown {
        warnings.push(Warning::UnknownElement {
            content: name.to_string(),
            element: el.to_string(),
        });
    }
    if let Some(disposition) = content.disposition.as_deref().filter(|d| *d != "session") {
        warnings.push(Warning::Dropped {
            content: name.to_string(),
            detail: format!(
                "disposition '{disposition}' is not SDP: SIP carries it as the body's Content-Disposition (RFC 3959)"
            ),
        });
    }
    let empty = RtpDescription::default();
    let description = match &content.description {
        Some(Description::Rtp(d)) => d,
        Some(Description::Other(el)) => {
            warnings.push(Warning::UnsupportedContent {
                content: name.to_string(),
                reason: format!("application {el} has no SDP RTP equivalent"),
            });
            return None;
        }
        None if transport_only => {
            warnings.push(Warning::Dropped {
                content: name.to_string(),
                detail: "no <description/> (a transport-only action): written as a dummy m= line, as RFC 8840 sdpfrags do".into(),
            });
            &empty
        }
        None => {
            warnings.push(Warning::UnsupportedContent {
                content: name.to_string(),
                reason: "no <description/>: not an RTP session (e.g. a data channel)".into(),
            });
            return None;
        }
    };
    if content.description.is_some() && description.payload_types.is_empty() {
        warnings.push(Warning::UnsupportedContent {
            content: name.to_string(),
            reason: "the description has no <payload-type/>".into(),
        });
        return None;
    }
    for el in &description.unknown {
        warnings.push(Warning::UnknownElement {
            content: name.to_string(),
            element: el.to_string(),
        });
    }

    let (has_ice, fingerprints) = match &content.transport {
        Some(Transport::IceUdp(t)) => (true, t.fingerprints.as_slice()),
        Some(Transport::RawUdp(t)) => (false, t.fingerprints.as_slice()),
        Some(Transport::Other(el)) => {
            warnings.push(Warning::UnsupportedContent {
                content: name.to_string(),
                reason: format!("transport {el} has no SDP equivalent"),
            });
            return None;
        }
        None => {
            warnings.push(Warning::Dropped {
                content: name.to_string(),
                detail: "no <transport/>: written with port 9 and address 0.0.0.0".into(),
            });
            (false, &[][..])
        }
    };

    let media_type = if description.media.is_empty() {
        "audio"
    } else {
        description.media.as_str()
    };
    let fmt = if description.payload_types.is_empty() {
        "0".to_string()
    } else {
        description
            .payload_types
            .iter()
            .map(|p| p.id.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut media = Media {
        media: media_type.to_string(),
        port: 9,
        num_ports: None,
        proto: profile(description, has_ice, !fingerprints.is_empty()),
        fmt,
        media_title: None,
        connections: Vec::new(),
        bandwidths: description
            .bandwidth
            .iter()
            .map(|b| SdpBandwidth {
                bwtype: b.kind.clone(),
                bandwidth: b.value,
            })
            .collect(),
        key: None,
        attributes: Vec::new(),
    };
    let mut address = "0.0.0.0".to_string();
    let mut attrs: Vec<Attribute> = Vec::new();
    let mut candidate_attrs: Vec<Attribute> = Vec::new();
    let mut rtcp: Option<(u16, String)> = None;

    match &content.transport {
        Some(Transport::IceUdp(t)) => {
            for el in &t.unknown {
                warnings.push(Warning::UnknownElement {
                    content: name.to_string(),
                    element: el.to_string(),
                });
            }
            if let Some(c) = default_candidate(&t.candidates, 1) {
                media.port = c.port;
                address = c.ip.clone();
                if let Some(c2) = t
                    .candidates
                    .iter()
                    .filter(|c2| c2.component == 2 && c2.kind == c.kind && c2.protocol == "udp")
                    .max_by_key(|c2| c2.priority)
                {
                    rtcp = Some((c2.port, c2.ip.clone()));
                }
            }
            if let Some(u) = &t.ufrag {
                attrs.push(Attribute::with_value("ice-ufrag", u));
            }
            if let Some(p) = &t.pwd {
                attrs.push(Attribute::with_value("ice-pwd", p));
            }
            if t.candidates.iter().any(|c| c.network.is_some()) {
                warnings.push(Warning::Dropped {
                    content: name.to_string(),
                    detail: "candidate 'network' attributes not sent toward SIP (draft-ietf-stox-media §5.4)".into(),
                });
            }
            for c in &t.candidates {
                candidate_attrs.push(Attribute::with_value("candidate", format_candidate(c)));
            }
            if !t.remote_candidates.is_empty() {
                let triples: Vec<String> = t
                    .remote_candidates
                    .iter()
                    .map(|r| format!("{} {} {}", r.component, r.ip, r.port))
                    .collect();
                candidate_attrs.push(Attribute::with_value(
                    "remote-candidates",
                    triples.join(" "),
                ));
            }
            if t.end_of_candidates {
                candidate_attrs.push(Attribute::new("end-of-candidates"));
            }
        }
        Some(Transport::RawUdp(t)) => {
            for el in &t.unknown {
                warnings.push(Warning::UnknownElement {
                    content: name.to_string(),
                    element: el.to_string(),
                });
            }
            if let Some(c) = t.candidates.iter().find(|c| c.component == 1) {
                media.port = c.port;
                address = c.ip.clone();
                if let Some(c2) = t.candidates.iter().find(|c| c.component == 2) {
                    let implicit = c2.ip == c.ip && c2.port == c.port.wrapping_add(1);
                    if !implicit {
                        rtcp = Some((c2.port, c2.ip.clone()));
                    }
                }
            }
        }
        _ => {}
    }
    if address.parse::<IpAddr>().is_err() {
        warnings.push(Warning::Dropped {
            content: name.to_string(),
            detail: format!("default address '{address}' is not an IP address; c= uses 0.0.0.0"),
        });
        address = "0.0.0.0".to_string();
        media.port = 9;
    }
    media.connections.push(connection(&address));

    for f in fingerprints {
        attrs.push(Attribute::with_value(
            "fingerprint",
            format!("{} {}", f.hash, f.value),
        ));
    }
    if let Some(setup) = fingerprints.iter().find_map(|f| f.setup.as_deref()) {
        attrs.push(Attribute::with_value("setup", setup));
    }
    attrs.push(Attribute::with_value("mid", name));
    for h in &description.hdrext {
        let id = match h.senders {
            None | Some(Senders::Both) => h.id.to_string(),
            Some(s) => format!("{}/{}", h.id, direction_from_senders(s, writer).as_str()),
        };
        attrs.push(Attribute::with_value("extmap", format!("{id} {}", h.uri)));
    }
    if description.extmap_allow_mixed {
        attrs.push(Attribute::new("extmap-allow-mixed"));
    }
    attrs.push(Attribute::new(
        direction_from_senders(content.senders(), writer).as_str(),
    ));
    for m in &description.msid {
        let value = match &m.track {
            Some(track) => format!("{} {track}", m.id),
            None => m.id.clone(),
        };
        attrs.push(Attribute::with_value("msid", value));
    }
    if let Some((port, ip)) = rtcp {
        let kind = if ip.contains(':') { "IP6" } else { "IP4" };
        attrs.push(Attribute::with_value(
            "rtcp",
            format!("{port} IN {kind} {ip}"),
        ));
    }
    if description.rtcp_mux {
        attrs.push(Attribute::new("rtcp-mux"));
    }
    if description.rtcp_reduced_size {
        attrs.push(Attribute::new("rtcp-rsize"));
    }
    for pt in &description.payload_types {
        payload_attributes(name, pt, &mut attrs, warnings);
    }
    for fb in &description.rtcp_fb {
        attrs.push(Attribute::with_value("rtcp-fb", feedback("*", fb)));
    }
    if let Some(v) = description.rtcp_fb_trr_int {
        attrs.push(Attribute::with_value("rtcp-fb", format!("* trr-int {v}")));
    }
    if let Some(ptime) = description
        .payload_types
        .iter()
        .filter_map(|p| p.ptime)
        .min()
    {
        attrs.push(Attribute::with_value("ptime", ptime));
    }
    let maxptime = description.maxptime.or_else(|| {
        description
            .payload_types
            .iter()
            .filter_map(|p| p.maxptime)
            .min()
    });
    if let Some(maxptime) = maxptime {
        attrs.push(Attribute::with_value("maxptime", maxptime));
    }
    if let Some(e) = &description.encryption {
        for c in &e.crypto {
            let mut v = format!("{} {} {}", c.tag, c.crypto_suite, c.key_params);
            if let Some(s) = &c.session_params {
                v.push(' ');
                v.push_str(s);
            }
            attrs.push(Attribute::with_value("crypto", v));
        }
        for z in &e.zrtp_hash {
            attrs.push(Attribute::with_value(
                "zrtp-hash",
                format!("{} {}", z.version, z.value),
            ));
        }
    }
    for g in &description.ssrc_groups {
        let ids: Vec<String> = g.sources.iter().map(u32::to_string).collect();
        attrs.push(Attribute::with_value(
            "ssrc-group",
            format!("{} {}", g.semantics, ids.join(" ")),
        ));
    }
    for s in &description.sources {
        if s.parameters.is_empty() {
            warnings.push(Warning::Dropped {
                content: name.to_string(),
                detail: format!(
                    "<source ssrc='{}'/> has no parameter, and a=ssrc needs an attribute (RFC 5576); not written",
                    s.ssrc
                ),
            });
        }
        for (pname, pvalue) in &s.parameters {
            let v = match pvalue {
                Some(v) => format!("{} {pname}:{v}", s.ssrc),
                None => format!("{} {pname}", s.ssrc),
            };
            attrs.push(Attribute::with_value("ssrc", v));
        }
    }
    attrs.extend(candidate_attrs);
    media.attributes = attrs;
    Some(media)
}

fn payload_attributes(
    content: &str,
    pt: &PayloadType,
    attrs: &mut Vec<Attribute>,
    warnings: &mut Vec<Warning>,
) {
    if let (Some(name), Some(clock)) = (&pt.name, pt.clockrate) {
        let v = match pt.channels {
            Some(ch) if ch != 1 || name.eq_ignore_ascii_case("opus") => {
                format!("{} {name}/{clock}/{ch}", pt.id)
            }
            _ => format!("{} {name}/{clock}", pt.id),
        };
        attrs.push(Attribute::with_value("rtpmap", v));
    } else if let Some(name) = &pt.name {
        // A static payload type named without a clock rate (XEP-0167 allows it).
        match super::static_pt::static_payload(pt.id) {
            Some((static_name, clock, static_channels)) => {
                // The RFC 3551 channel count applies only to the encoding it assigns.
                let static_channels =
                    static_channels.filter(|_| static_name.eq_ignore_ascii_case(name));
                let v = match pt.channels.or(static_channels) {
                    Some(ch) if ch != 1 => format!("{} {name}/{clock}/{ch}", pt.id),
                    _ => format!("{} {name}/{clock}", pt.id),
                };
                attrs.push(Attribute::with_value("rtpmap", v))
            }
            None => warnings.push(Warning::Dropped {
                content: content.to_string(),
                detail: format!(
                    "dynamic payload type {} ({name}) has no clockrate; a=rtpmap cannot be written",
                    pt.id
                ),
            }),
        }
    }
    for fb in &pt.rtcp_fb {
        attrs.push(Attribute::with_value(
            "rtcp-fb",
            feedback(&pt.id.to_string(), fb),
        ));
    }
    if let Some(v) = pt.rtcp_fb_trr_int {
        attrs.push(Attribute::with_value(
            "rtcp-fb",
            format!("{} trr-int {v}", pt.id),
        ));
    }
    if let Some(fmtp) = format_fmtp(pt.name.as_deref(), &pt.parameters) {
        attrs.push(Attribute::with_value("fmtp", format!("{} {fmtp}", pt.id)));
    }
}

fn feedback(pt: &str, fb: &RtcpFb) -> String {
    match &fb.subtype {
        Some(sub) => format!("{pt} {} {sub}", fb.kind),
        None => format!("{pt} {}", fb.kind),
    }
}
