//! SDP → Jingle contents.

use super::direction::{Direction, senders_from_direction};
use super::fmtp::{DEFAULT_TELEPHONE_EVENTS, parse_fmtp};
use super::static_pt::static_payload;
use super::{Role, TranslateError, Translated, Warning};
use crate::jingle::*;
use sdp_types::{Attribute, Media, Session};
use std::collections::HashSet;

/// Session-level attributes that act as defaults for every m= section.
#[derive(Default)]
struct SessionDefaults<'a> {
    direction: Option<Direction>,
    ufrag: Option<&'a str>,
    pwd: Option<&'a str>,
    fingerprints: Vec<&'a str>,
    setup: Option<&'a str>,
    extmaps: Vec<&'a str>,
    extmap_allow_mixed: bool,
    connection: Option<&'a str>,
}

/// Translates a parsed SDP written by `writer` into Jingle contents and groups.
pub fn session_to_jingle(
    session: &Session,
    writer: Role,
) -> Result<Translated<Jingle>, TranslateError> {
    if session.medias.is_empty() {
        return Err(TranslateError::NoMedia);
    }
    let mut warnings = Vec::new();
    let defaults = session_defaults(session, &mut warnings);
    let names = content_names(session);
    let mut jingle = Jingle::default();
    for (index, media) in session.medias.iter().enumerate() {
        let ctx = MediaContext {
            index,
            name: names[index].clone(),
            writer,
            defaults: &defaults,
        };
        if let Some(content) = media_to_content(&ctx, media, &mut warnings)? {
            jingle.contents.push(content);
        }
    }
    if jingle.contents.is_empty() {
        return Err(TranslateError::NoUsableMedia {
            skipped: session.medias.len(),
        });
    }
    let present: HashSet<&str> = jingle.contents.iter().map(|c| c.name.as_str()).collect();
    for a in &session.attributes {
        if a.attribute != "group" {
            continue;
        }
        let value = a.value.as_deref().unwrap_or("");
        let mut parts = value.split_whitespace();
        let Some(semantics) = parts.next() else {
            warnings.push(malformed(None, a, "group without semantics"));
            continue;
        };
        let contents: Vec<String> = parts
            .filter(|m| present.contains(m))
            .map(str::to_string)
            .collect();
        if !contents.is_empty() {
            jingle.groups.push(Group {
                semantics: semantics.to_string(),
                contents,
            });
        }
    }
    Ok(Translated {
        value: jingle,
        warnings,
    })
}

fn session_defaults<'a>(session: &'a Session, warnings: &mut Vec<Warning>) -> SessionDefaults<'a> {
    let mut d = SessionDefaults {
        connection: session
            .connection
            .as_ref()
            .map(|c| c.connection_address.as_str()),
        ..SessionDefaults::default()
    };
    for a in &session.attributes {
        let value = a.value.as_deref();
        match (a.attribute.as_str(), value) {
            (dir @ ("sendrecv" | "sendonly" | "recvonly" | "inactive"), _) => {
                d.direction = Direction::from_attribute(dir)
            }
            ("ice-ufrag", Some(v)) => d.ufrag = Some(v.trim()),
            ("ice-pwd", Some(v)) => d.pwd = Some(v.trim()),
            ("fingerprint", Some(v)) => d.fingerprints.push(v),
            ("setup", Some(v)) => d.setup = Some(v.trim()),
            ("extmap", Some(v)) => d.extmaps.push(v),
            ("extmap-allow-mixed", _) => d.extmap_allow_mixed = true,
            ("group", _) => {}
            ("ice-options", Some(v)) => ice_options(None, a, v, warnings),
            // Derived from the media-level msid on the way back; carries nothing of its own.
            ("msid-semantic", _) => {}
            _ => warnings.push(Warning::UnknownAttribute {
                index: None,
                line: attribute_line(a),
            }),
        }
    }
    if !session.bandwidths.is_empty() {
        warnings.push(Warning::Approximated {
            index: None,
            detail: "session-level b= lines have no Jingle element (bandwidth is per description); not carried".into(),
        });
    }
    if session.key.is_some() {
        warnings.push(Warning::UnknownAttribute {
            index: None,
            line: "k=…".into(),
        });
    }
    d
}

fn ice_options(index: Option<usize>, a: &Attribute, value: &str, warnings: &mut Vec<Warning>) {
    // Jingle always trickles, so `trickle` is implied; anything else is not expressible.
    if value.split_whitespace().any(|o| o != "trickle") {
        warnings.push(Warning::UnknownAttribute {
            index,
            line: attribute_line(a),
        });
    }
}

/// One name per m= line: its a=mid, or the media type made unique (FreeSWITCH
/// and most SIP phones send no a=mid, yet XEP-0166 requires a content name).
fn content_names(session: &Session) -> Vec<String> {
    let mids: Vec<Option<&str>> = session
        .medias
        .iter()
        .map(|m| m.get_first_attribute_value("mid").flatten().map(str::trim))
        .collect();
    let mut used: HashSet<String> = mids.iter().flatten().map(|s| s.to_string()).collect();
    session
        .medias
        .iter()
        .zip(&mids)
        .map(|(m, mid)| match mid {
            Some(mid) if !mid.is_empty() => mid.to_string(),
            _ => {
                let mut name = m.media.clone();
                let mut n = 1;
                while used.contains(&name) {
                    name = format!("{}-{n}", m.media);
                    n += 1;
                }
                used.insert(name.clone());
                name
            }
        })
        .collect()
}

struct MediaContext<'a> {
    index: usize,
    name: String,
    writer: Role,
    defaults: &'a SessionDefaults<'a>,
}

/// What one m= section says, gathered before building the content.
#[derive(Default)]
struct Gathered<'a> {
    rtpmaps: Vec<(u8, &'a str)>,
    fmtps: Vec<(u8, &'a str)>,
    rtcp_fbs: Vec<(&'a str, &'a str)>,
    ptime: Option<u32>,
    maxptime: Option<u32>,
    direction: Option<Direction>,
    ufrag: Option<&'a str>,
    pwd: Option<&'a str>,
    candidates: Vec<&'a Attribute>,
    remote_candidates: Option<&'a Attribute>,
    end_of_candidates: bool,
    fingerprints: Vec<&'a str>,
    setup: Option<&'a str>,
    cryptos: Vec<&'a Attribute>,
    zrtp: Vec<&'a Attribute>,
    extmaps: Vec<&'a str>,
    ssrcs: Vec<&'a Attribute>,
    ssrc_groups: Vec<&'a Attribute>,
    msid: Vec<&'a str>,
    rtcp: Option<&'a str>,
    bundle_only: bool,
}

fn media_to_content(
    ctx: &MediaContext,
    m: &Media,
    warnings: &mut Vec<Warning>,
) -> Result<Option<Content>, TranslateError> {
    let index = ctx.index;
    let is_rtp = m.proto.to_ascii_uppercase().contains("RTP");
    if !(is_rtp && (m.media == "audio" || m.media == "video")) {
        warnings.push(Warning::UnsupportedMedia {
            index,
            media: m.media.clone(),
            proto: m.proto.clone(),
        });
        return Ok(None);
    }
    let mut g = Gathered::default();
    let mut description = RtpDescription {
        media: m.media.clone(),
        extmap_allow_mixed: ctx.defaults.extmap_allow_mixed,
        ..RtpDescription::default()
    };
    for a in &m.attributes {
        gather(ctx, a, &mut g, &mut description, warnings);
    }
    if m.port == 0 && !g.bundle_only {
        warnings.push(Warning::RejectedMedia {
            index,
            media: m.media.clone(),
        });
        return Ok(None);
    }
    if m.key.is_some() {
        warnings.push(Warning::UnknownAttribute {
            index: Some(index),
            line: "k=…".into(),
        });
    }
    if m.media_title.is_some() {
        warnings.push(Warning::UnknownAttribute {
            index: Some(index),
            line: format!("i={}", m.media_title.as_deref().unwrap_or("")),
        });
    }

    description.payload_types = payload_types(ctx, m, &g, warnings);
    wildcard_feedback(&g.rtcp_fbs, &mut description);
    description.bandwidth = m
        .bandwidths
        .iter()
        .map(|b| Bandwidth {
            kind: b.bwtype.clone(),
            value: b.bandwidth,
        })
        .collect();
    for value in &g.extmaps {
        match extmap(value, ctx.writer) {
            Ok(h) => description.hdrext.push(h),
            Err(reason) => warnings.push(Warning::MalformedAttribute {
                index: Some(index),
                line: format!("a=extmap:{value}"),
                reason,
            }),
        }
    }
    for value in &ctx.defaults.extmaps {
        if let Ok(h) = extmap(value, ctx.writer)
            && !description.hdrext.iter().any(|e| e.id == h.id)
        {
            description.hdrext.push(h);
        }
    }
    sources(index, &g, &mut description, warnings);
    for value in &g.msid {
        let mut parts = value.split_whitespace();
        if let Some(id) = parts.next() {
            description.msid.push(Msid {
                id: id.to_string(),
                track: parts.next().map(str::to_string),
            });
        }
    }
    encryption(index, m, &g, &mut description, warnings);
    check_profile(index, m, &description, &g, ctx, warnings);

    let transport = transport(ctx, m, &g, warnings)?;
    let direction = g
        .direction
        .or(ctx.defaults.direction)
        .unwrap_or(Direction::SendRecv);
    Ok(Some(Content {
        creator: Creator::Initiator,
        name: ctx.name.clone(),
        senders: Some(senders_from_direction(direction, ctx.writer)),
        disposition: None,
        description: Some(Description::Rtp(description)),
        transport: Some(transport),
        unknown: Vec::new(),
    }))
}

fn gather<'a>(
    ctx: &MediaContext,
    a: &'a Attribute,
    g: &mut Gathered<'a>,
    d: &mut RtpDescription,
    warnings: &mut Vec<Warning>,
) {
    let index = Some(ctx.index);
    let value = a.value.as_deref().map(str::trim);
    match (a.attribute.as_str(), value) {
        ("rtpmap", Some(v)) => match pt_and_rest(v) {
            Some((pt, rest)) => g.rtpmaps.push((pt, rest)),
            None => warnings.push(malformed(index, a, "no payload type")),
        },
        ("fmtp", Some(v)) => match pt_and_rest(v) {
            Some((pt, rest)) => g.fmtps.push((pt, rest)),
            None => warnings.push(malformed(index, a, "no payload type")),
        },
        ("rtcp-fb", Some(v)) => match v.split_once(char::is_whitespace) {
            Some((pt, rest)) => g.rtcp_fbs.push((pt, rest.trim())),
            None => warnings.push(malformed(index, a, "no feedback type")),
        },
        ("ptime", Some(v)) => g.ptime = milliseconds(index, a, v, warnings),
        ("maxptime", Some(v)) => g.maxptime = milliseconds(index, a, v, warnings),
        (dir @ ("sendrecv" | "sendonly" | "recvonly" | "inactive"), _) => {
            g.direction = Direction::from_attribute(dir)
        }
        ("ice-ufrag", Some(v)) => g.ufrag = Some(v),
        ("ice-pwd", Some(v)) => g.pwd = Some(v),
        ("ice-options", Some(v)) => ice_options(index, a, v, warnings),
        ("candidate", Some(_)) => g.candidates.push(a),
        ("remote-candidates", Some(_)) => g.remote_candidates = Some(a),
        ("end-of-candidates", _) => g.end_of_candidates = true,
        ("fingerprint", Some(v)) => g.fingerprints.push(v),
        ("setup", Some(v)) => g.setup = Some(v),
        ("crypto", Some(_)) => g.cryptos.push(a),
        ("zrtp-hash", Some(_)) => g.zrtp.push(a),
        ("extmap", Some(v)) => g.extmaps.push(v),
        ("extmap-allow-mixed", _) => d.extmap_allow_mixed = true,
        ("ssrc", Some(_)) => g.ssrcs.push(a),
        ("ssrc-group", Some(_)) => g.ssrc_groups.push(a),
        ("msid", Some(v)) => g.msid.push(v),
        ("mid", _) => {}
        ("rtcp-mux", _) => d.rtcp_mux = true,
        ("rtcp-rsize", _) => d.rtcp_reduced_size = true,
        ("rtcp", Some(v)) => g.rtcp = Some(v),
        // Expressed by the XEP-0338 BUNDLE group the content belongs to.
        ("bundle-only", _) => g.bundle_only = true,
        _ => warnings.push(Warning::UnknownAttribute {
            index,
            line: attribute_line(a),
        }),
    }
}

/// A packet time in milliseconds. SDP allows fractions (RFC 8866 §6.4) but
/// XEP-0167 wants whole milliseconds: round up, never to zero, and say so.
fn milliseconds(
    index: Option<usize>,
    a: &Attribute,
    value: &str,
    warnings: &mut Vec<Warning>,
) -> Option<u32> {
    match value.parse::<f64>() {
        Ok(ms) if ms.is_finite() && ms > 0.0 && ms <= f64::from(u32::MAX) => {
            let whole = ms.ceil() as u32;
            if f64::from(whole) != ms {
                warnings.push(Warning::Approximated {
                    index,
                    detail: format!(
                        "'{}' is not whole milliseconds; sent as {whole}",
                        attribute_line(a)
                    ),
                });
            }
            Some(whole)
        }
        _ => {
            warnings.push(malformed(index, a, "not a positive number of milliseconds"));
            None
        }
    }
}

fn pt_and_rest(v: &str) -> Option<(u8, &str)> {
    let (pt, rest) = v.split_once(char::is_whitespace).unwrap_or((v, ""));
    let pt: u8 = pt.trim().parse().ok()?;
    (pt <= 127).then_some((pt, rest.trim()))
}

fn payload_types(
    ctx: &MediaContext,
    m: &Media,
    g: &Gathered,
    warnings: &mut Vec<Warning>,
) -> Vec<PayloadType> {
    let index = Some(ctx.index);
    let mut ids: Vec<u8> = Vec::new();
    for token in m.fmt.split_whitespace() {
        match token.parse::<u8>() {
            Ok(pt) if pt <= 127 => {
                if ids.contains(&pt) {
                    warnings.push(Warning::MalformedAttribute {
                        index,
                        line: format!("m={} … {}", m.media, m.fmt),
                        reason: format!("payload type {pt} listed twice; kept once"),
                    });
                } else {
                    ids.push(pt);
                }
            }
            _ => warnings.push(Warning::MalformedAttribute {
                index,
                line: format!("m={} … {}", m.media, m.fmt),
                reason: format!("'{token}' is not an RTP payload type (0-127)"),
            }),
        }
    }
    for (pt, rest) in &g.rtpmaps {
        if !ids.contains(pt) {
            warnings.push(Warning::MalformedAttribute {
                index,
                line: format!("a=rtpmap:{pt} {rest}"),
                reason: "payload type not listed on the m= line; ignored".into(),
            });
        }
    }
    for (pt, rest) in &g.fmtps {
        if !ids.contains(pt) {
            warnings.push(Warning::MalformedAttribute {
                index,
                line: format!("a=fmtp:{pt} {rest}"),
                reason: "payload type not listed on the m= line; ignored".into(),
            });
        }
    }
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let mut pt = PayloadType {
            id,
            ptime: g.ptime,
            maxptime: g.maxptime,
            ..PayloadType::default()
        };
        let rtpmaps: Vec<&str> = g
            .rtpmaps
            .iter()
            .filter(|(p, _)| *p == id)
            .map(|(_, r)| *r)
            .collect();
        let encoding = match rtpmaps.first() {
            Some(rtpmap) => parse_rtpmap(rtpmap).or_else(|| {
                warnings.push(Warning::MalformedAttribute {
                    index,
                    line: format!("a=rtpmap:{id} {rtpmap}"),
                    reason: "expected <encoding>/<clock rate>[/<channels>]".into(),
                });
                None
            }),
            None => static_payload(id).or_else(|| {
                warnings.push(Warning::Approximated {
                    index,
                    detail: format!(
                        "dynamic payload type {id} has no a=rtpmap; sent without name or clock rate"
                    ),
                });
                None
            }),
        };
        if let Some((name, clock, channels)) = encoding {
            pt.name = Some(name.to_string());
            pt.clockrate = Some(clock);
            pt.channels = channels;
        }
        if rtpmaps.len() > 1 && rtpmaps.iter().any(|r| *r != rtpmaps[0]) {
            warnings.push(Warning::MalformedAttribute {
                index,
                line: format!("a=rtpmap:{id} {}", rtpmaps[1]),
                reason: format!("conflicts with the first a=rtpmap:{id}; the first one is used"),
            });
        }
        for (_, value) in g.fmtps.iter().filter(|(p, _)| *p == id) {
            pt.parameters.extend(parse_fmtp(pt.name.as_deref(), value));
        }
        let is_telephone_event = pt
            .name
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case("telephone-event"));
        if is_telephone_event && pt.parameters.is_empty() {
            pt.parameters.push(Parameter {
                name: Some("events".into()),
                value: Some(DEFAULT_TELEPHONE_EVENTS.into()),
            });
        }
        out.push(pt);
    }
    rtcp_feedback(index, g, &mut out, warnings);
    out
}

fn parse_rtpmap(v: &str) -> Option<(&str, u32, Option<u32>)> {
    let mut parts = v.split('/');
    let name = parts.next()?.trim();
    let clock = parts.next()?.trim().parse().ok()?;
    let channels = match parts.next() {
        Some(c) => Some(c.trim().parse().ok()?),
        None => None,
    };
    (!name.is_empty() && parts.next().is_none()).then_some((name, clock, channels))
}

fn rtcp_feedback(
    index: Option<usize>,
    g: &Gathered,
    pts: &mut [PayloadType],
    warnings: &mut Vec<Warning>,
) {
    // Wildcard entries go on the description (`wildcard_feedback`); these are per payload.
    for (pt, rest) in &g.rtcp_fbs {
        let mut parts = rest.splitn(2, char::is_whitespace);
        let kind = parts.next().unwrap_or("").to_string();
        let sub = parts
            .next()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        let targets: Vec<&mut PayloadType> = if *pt == "*" {
            Vec::new()
        } else {
            match pt.parse::<u8>() {
                Ok(id) => pts.iter_mut().filter(|p| p.id == id).collect(),
                Err(_) => Vec::new(),
            }
        };
        if *pt != "*" && targets.is_empty() {
            warnings.push(Warning::MalformedAttribute {
                index,
                line: format!("a=rtcp-fb:{pt} {rest}"),
                reason: "payload type not listed on the m= line; ignored".into(),
            });
            continue;
        }
        for target in targets {
            if kind == "trr-int" {
                target.rtcp_fb_trr_int = sub.as_deref().and_then(|s| s.parse().ok());
            } else {
                target.rtcp_fb.push(RtcpFb {
                    kind: kind.clone(),
                    subtype: sub.clone(),
                });
            }
        }
    }
}

/// `ID[/direction] URI [extension attributes]` → `<rtp-hdrext/>`.
fn extmap(value: &str, writer: Role) -> Result<RtpHdrext, String> {
    let mut parts = value.split_whitespace();
    let id_dir = parts.next().ok_or("empty")?;
    let uri = parts.next().ok_or("no URI")?;
    if parts.next().is_some() {
        return Err("extension attributes after the URI have no Jingle equivalent".into());
    }
    let (id, dir) = match id_dir.split_once('/') {
        Some((id, dir)) => (
            id,
            Some(
                Direction::from_attribute(dir)
                    .ok_or_else(|| format!("unknown direction '{dir}'"))?,
            ),
        ),
        None => (id_dir, None),
    };
    Ok(RtpHdrext {
        id: id
            .parse()
            .map_err(|_| format!("'{id}' is not an extension id"))?,
        uri: uri.to_string(),
        senders: dir.map(|d| senders_from_direction(d, writer)),
    })
}

fn sources(index: usize, g: &Gathered, d: &mut RtpDescription, warnings: &mut Vec<Warning>) {
    for a in &g.ssrcs {
        let v = a.value.as_deref().unwrap_or("").trim();
        let (id, rest) = v.split_once(char::is_whitespace).unwrap_or((v, ""));
        let Ok(ssrc) = id.parse::<u32>() else {
            warnings.push(malformed(Some(index), a, "SSRC is not a 32-bit number"));
            continue;
        };
        let pos = match d.sources.iter().position(|s| s.ssrc == ssrc) {
            Some(p) => p,
            None => {
                d.sources.push(Source {
                    ssrc,
                    parameters: Vec::new(),
                });
                d.sources.len() - 1
            }
        };
        let rest = rest.trim();
        if rest.is_empty() {
            warnings.push(malformed(
                Some(index),
                a,
                "RFC 5576 requires an attribute after the SSRC; the source is kept without one",
            ));
        } else {
            let (name, value) = match rest.split_once(':') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (rest.to_string(), None),
            };
            d.sources[pos].parameters.push((name, value));
        }
    }
    for a in &g.ssrc_groups {
        let v = a.value.as_deref().unwrap_or("");
        let mut parts = v.split_whitespace();
        let Some(semantics) = parts.next() else {
            warnings.push(malformed(Some(index), a, "no semantics"));
            continue;
        };
        match parts.map(str::parse::<u32>).collect::<Result<Vec<_>, _>>() {
            Ok(sources) => d.ssrc_groups.push(SsrcGroup {
                semantics: semantics.to_string(),
                sources,
            }),
            Err(_) => warnings.push(malformed(Some(index), a, "SSRC is not a 32-bit number")),
        }
    }
}

fn encryption(
    index: usize,
    m: &Media,
    g: &Gathered,
    d: &mut RtpDescription,
    warnings: &mut Vec<Warning>,
) {
    let mut e = Encryption {
        required: Some(m.proto.to_ascii_uppercase().contains("SAVP")),
        ..Encryption::default()
    };
    for a in &g.cryptos {
        let v = a.value.as_deref().unwrap_or("").trim();
        let mut parts = v.split_whitespace();
        match (parts.next(), parts.next(), parts.next()) {
            (Some(tag), Some(suite), Some(keys)) => {
                let rest: Vec<&str> = parts.collect();
                e.crypto.push(Crypto {
                    tag: tag.to_string(),
                    crypto_suite: suite.to_string(),
                    key_params: keys.to_string(),
                    session_params: (!rest.is_empty()).then(|| rest.join(" ")),
                });
            }
            _ => warnings.push(malformed(
                Some(index),
                a,
                "expected <tag> <suite> <key-params>",
            )),
        }
    }
    for a in &g.zrtp {
        let v = a.value.as_deref().unwrap_or("").trim();
        match v.split_once(char::is_whitespace) {
            Some((version, hash)) => e.zrtp_hash.push(ZrtpHash {
                version: version.to_string(),
                value: hash.trim().to_string(),
            }),
            None => warnings.push(malformed(Some(index), a, "expected <version> <hash>")),
        }
    }
    if !e.crypto.is_empty() || !e.zrtp_hash.is_empty() {
        d.encryption = Some(e);
    }
}

/// The RTP profile is implied on the Jingle side (see `to_sdp::profile`); say
/// so when the SDP's own profile would not be reproduced.
fn check_profile(
    index: usize,
    m: &Media,
    d: &RtpDescription,
    g: &Gathered,
    ctx: &MediaContext,
    warnings: &mut Vec<Warning>,
) {
    let has_ice = g.ufrag.or(ctx.defaults.ufrag).is_some() || !g.candidates.is_empty();
    let has_fingerprint = !g.fingerprints.is_empty() || !ctx.defaults.fingerprints.is_empty();
    let derived = super::to_sdp::profile(d, has_ice, has_fingerprint);
    if !derived.eq_ignore_ascii_case(&m.proto) {
        warnings.push(Warning::Approximated {
            index: Some(index),
            detail: format!(
                "transport profile {} is implied in Jingle; it would come back as {derived}",
                m.proto
            ),
        });
    }
}

fn transport(
    ctx: &MediaContext,
    m: &Media,
    g: &Gathered,
    warnings: &mut Vec<Warning>,
) -> Result<Transport, TranslateError> {
    let index = Some(ctx.index);
    let setup = g.setup.or(ctx.defaults.setup).map(str::trim);
    let setup = match setup {
        Some("holdconn") => {
            warnings.push(Warning::Approximated {
                index,
                detail:
                    "a=setup:holdconn has no XEP-0320 equivalent; fingerprint sent without setup"
                        .into(),
            });
            None
        }
        other => other.map(str::to_string),
    };
    let fingerprint_lines = if g.fingerprints.is_empty() {
        &ctx.defaults.fingerprints
    } else {
        &g.fingerprints
    };
    let mut fingerprints = Vec::new();
    for v in fingerprint_lines {
        match v.split_once(char::is_whitespace) {
            Some((hash, value)) => fingerprints.push(Fingerprint {
                hash: hash.to_string(),
                setup: setup.clone(),
                value: value.trim().to_string(),
                required: None,
            }),
            None => warnings.push(Warning::MalformedAttribute {
                index,
                line: format!("a=fingerprint:{v}"),
                reason: "expected <hash> <value>".into(),
            }),
        }
    }
    let ufrag = g.ufrag.or(ctx.defaults.ufrag);
    let pwd = g.pwd.or(ctx.defaults.pwd);
    if ufrag.is_some() || pwd.is_some() || !g.candidates.is_empty() {
        let mut t = IceUdpTransport {
            ufrag: ufrag.map(str::to_string),
            pwd: pwd.map(str::to_string),
            fingerprints,
            end_of_candidates: g.end_of_candidates,
            ..IceUdpTransport::default()
        };
        let mut dropped_extensions: Vec<String> = Vec::new();
        for a in &g.candidates {
            let n = t.candidates.len();
            match super::ice::parse_candidate(a.value.as_deref().unwrap_or(""), &ctx.name, n) {
                Ok((c, dropped)) => {
                    if let (Some(u), Some(own)) = (ufrag, dropped.ufrag.as_deref())
                        && u != own
                    {
                        dropped_extensions.push(format!("ufrag {own}"));
                    }
                    dropped_extensions.extend(dropped.others);
                    t.candidates.push(c);
                }
                Err(reason) => warnings.push(malformed(index, a, &reason)),
            }
        }
        dropped_extensions.sort();
        dropped_extensions.dedup();
        if !dropped_extensions.is_empty() {
            warnings.push(Warning::Approximated {
                index,
                detail: format!(
                    "candidate extension attributes with no XEP-0176 equivalent not carried: {}",
                    dropped_extensions.join(", ")
                ),
            });
        }
        if let Some(a) = g.remote_candidates {
            match super::ice::parse_remote_candidates(a.value.as_deref().unwrap_or("")) {
                Ok(r) => t.remote_candidates = r,
                Err(reason) => warnings.push(malformed(index, a, &reason)),
            }
        }
        if !t.candidates.is_empty() && (t.ufrag.is_none() || t.pwd.is_none()) {
            return Err(TranslateError::MissingIceCredentials {
                content: ctx.name.clone(),
            });
        }
        return Ok(Transport::IceUdp(t));
    }
    // No ICE: raw UDP, the address and port of the m= section itself (XEP-0177).
    let address = m
        .connections
        .first()
        .map(|c| c.connection_address.as_str())
        .or(ctx.defaults.connection)
        .unwrap_or("0.0.0.0");
    let address = address.split('/').next().unwrap_or(address).to_string();
    let mut t = RawUdpTransport {
        fingerprints,
        ..RawUdpTransport::default()
    };
    t.candidates.push(RawCandidate {
        component: 1,
        generation: Some(0),
        id: Some(format!("{}-1", ctx.name)),
        ip: address.clone(),
        port: m.port,
    });
    if let Some(rtcp) = g.rtcp {
        match super::ice::parse_rtcp_attribute(rtcp) {
            Some((port, addr)) => t.candidates.push(RawCandidate {
                component: 2,
                generation: Some(0),
                id: Some(format!("{}-2", ctx.name)),
                ip: addr.unwrap_or(address),
                port,
            }),
            None => warnings.push(Warning::MalformedAttribute {
                index,
                line: format!("a=rtcp:{rtcp}"),
                reason: "expected <port> [IN IP4|IP6 <address>]".into(),
            }),
        }
    }
    Ok(Transport::RawUdp(t))
}

fn attribute_line(a: &Attribute) -> String {
    match &a.value {
        Some(v) => format!("a={}:{v}", a.attribute),
        None => format!("a={}", a.attribute),
    }
}

fn malformed(index: Option<usize>, a: &Attribute, reason: &str) -> Warning {
    Warning::MalformedAttribute {
        index,
        line: attribute_line(a),
        reason: reason.to_string(),
    }
}

/// `a=rtcp-fb:*` applies to every payload type: XEP-0293 puts it on the description.
fn wildcard_feedback(feedback: &[(&str, &str)], d: &mut RtpDescription) {
    for (_, rest) in feedback.iter().filter(|(pt, _)| *pt == "*") {
        let mut parts = rest.splitn(2, char::is_whitespace);
        let kind = parts.next().unwrap_or("").to_string();
        let sub = parts
            .next()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        if kind == "trr-int" {
            d.rtcp_fb_trr_int = sub.as_deref().and_then(|s| s.parse().ok());
        } else {
            d.rtcp_fb.push(RtcpFb { kind, subtype: sub });
        }
    }
}
