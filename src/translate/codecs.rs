//! A trunk's codec preference (`[[trunk]] codecs`) applied to the offer we
//! send it: only the listed encodings, in the listed order. telephone-event
//! is always kept (after the listed codecs, unless listed itself), since
//! DTMF must survive whatever the operator lists.

use super::{TranslateError, Translated, Warning};
use crate::jingle::{Description, Jingle, PayloadType};

/// Encoding names `codecs` may list (compared ignoring case): the RFC 3551
/// static payload types and the registered dynamic ones in common use.
pub const KNOWN_CODECS: &[&str] = &[
    "PCMU",
    "PCMA",
    "G722",
    "G723",
    "G726-16",
    "G726-24",
    "G726-32",
    "G726-40",
    "G728",
    "G729",
    "G729D",
    "G729E",
    "G7221",
    "G719",
    "GSM",
    "GSM-EFR",
    "DVI4",
    "LPC",
    "L8",
    "L16",
    "L24",
    "QCELP",
    "CN",
    "MPA",
    "iLBC",
    "speex",
    "opus",
    "AMR",
    "AMR-WB",
    "EVS",
    "SILK",
    "ISAC",
    "telephone-event",
    "red",
    "ulpfec",
    "rtx",
    "CelB",
    "JPEG",
    "nv",
    "H261",
    "H263",
    "H263-1998",
    "H263-2000",
    "H264",
    "H265",
    "MP4V-ES",
    "MPV",
    "MP2T",
    "VP8",
    "VP9",
    "AV1",
];

/// Whether `name` is an encoding [`KNOWN_CODECS`] lists (ignoring case).
pub fn is_known_codec(name: &str) -> bool {
    KNOWN_CODECS.iter().any(|k| k.eq_ignore_ascii_case(name))
}

fn encoding(pt: &PayloadType) -> Option<&str> {
    pt.name
        .as_deref()
        .or_else(|| super::static_pt::static_payload(pt.id).map(|(n, _, _)| n))
}

fn is_dtmf(pt: &PayloadType) -> bool {
    encoding(pt).is_some_and(|n| n.eq_ignore_ascii_case("telephone-event"))
}

/// Keeps, in every RTP content of `jingle`, only the payload types whose
/// encoding `allowed` lists, ordered as `allowed` orders them (payload types
/// of one encoding keep their relative order), then any telephone-event not
/// listed. A content left with no codec but telephone-event is left out (a
/// warning); if no RTP content remains, the error is
/// [`TranslateError::NoAllowedCodec`]. An empty `allowed` changes nothing.
pub fn filter_codecs(
    jingle: &Jingle,
    allowed: &[String],
) -> Result<Translated<Jingle>, TranslateError> {
    let mut out = jingle.clone();
    let mut warnings = Vec::new();
    if allowed.is_empty() {
        return Ok(Translated {
            value: out,
            warnings,
        });
    }
    let rank = |pt: &PayloadType| {
        encoding(pt).and_then(|n| allowed.iter().position(|a| a.eq_ignore_ascii_case(n)))
    };
    let mut had_rtp = false;
    out.contents.retain_mut(|content| {
        let Some(Description::Rtp(rtp)) = &mut content.description else {
            return true;
        };
        had_rtp = true;
        let before: Vec<String> = rtp
            .payload_types
            .iter()
            .map(|pt| encoding(pt).unwrap_or("?").to_string())
            .collect();
        let mut ranked: Vec<(usize, PayloadType)> = Vec::new();
        let mut dtmf: Vec<PayloadType> = Vec::new();
        for pt in rtp.payload_types.drain(..) {
            match rank(&pt) {
                Some(r) => ranked.push((r, pt)),
                None if is_dtmf(&pt) => dtmf.push(pt),
                None => {}
            }
        }
        // A stable sort: one encoding's payload types keep their order.
        ranked.sort_by_key(|(r, _)| *r);
        rtp.payload_types = ranked.into_iter().map(|(_, pt)| pt).collect();
        rtp.payload_types.extend(dtmf);
        if rtp.payload_types.iter().all(is_dtmf) {
            warnings.push(Warning::UnsupportedContent {
                content: content.name.clone(),
                reason: format!(
                    "none of its codecs ({}) is in the trunk's codecs ({})",
                    before.join(", "),
                    allowed.join(", ")
                ),
            });
            return false;
        }
        if rtp.payload_types.len() < before.len() {
            warnings.push(Warning::Dropped {
                content: content.name.clone(),
                detail: format!(
                    "codecs not in the trunk's codecs ({}) left out of the offer",
                    allowed.join(", ")
                ),
            });
        }
        true
    });
    let rtp_left = out
        .contents
        .iter()
        .any(|c| matches!(c.description, Some(Description::Rtp(_))));
    if had_rtp && !rtp_left {
        return Err(TranslateError::NoAllowedCodec {
            allowed: allowed.to_vec(),
        });
    }
    Ok(Translated {
        value: out,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jingle::{Content, RtpDescription};

    fn pt(id: u8, name: Option<&str>) -> PayloadType {
        PayloadType {
            id,
            name: name.map(str::to_string),
            ..Default::default()
        }
    }

    fn audio(name: &str, pts: Vec<PayloadType>) -> Content {
        Content {
            name: name.into(),
            description: Some(Description::Rtp(RtpDescription {
                media: "audio".into(),
                payload_types: pts,
                ..Default::default()
            })),
            ..Default::default()
        }
    }

    fn ids(j: &Jingle, i: usize) -> Vec<u8> {
        match &j.contents[i].description {
            Some(Description::Rtp(r)) => r.payload_types.iter().map(|p| p.id).collect(),
            _ => vec![],
        }
    }

    fn list(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn keeps_listed_codecs_in_list_order_and_dtmf_last() {
        let j = Jingle {
            contents: vec![audio(
                "a",
                vec![
                    pt(111, Some("opus")),
                    pt(101, Some("telephone-event")),
                    pt(0, None),
                    pt(8, Some("PCMA")),
                    pt(9, Some("G722")),
                ],
            )],
            ..Default::default()
        };
        let t = filter_codecs(&j, &list(&["pcma", "PCMU"])).unwrap();
        assert_eq!(ids(&t.value, 0), vec![8, 0, 101]);
        assert_eq!(t.warnings.len(), 1);
        // telephone-event listed: it takes its place in the order.
        let t = filter_codecs(&j, &list(&["telephone-event", "OPUS"])).unwrap();
        assert_eq!(ids(&t.value, 0), vec![101, 111]);
        // Nothing listed: unchanged.
        assert_eq!(filter_codecs(&j, &[]).unwrap().value, j);
    }

    #[test]
    fn a_content_without_an_allowed_codec_is_left_out_and_none_left_is_an_error() {
        let j = Jingle {
            contents: vec![
                audio("a", vec![pt(0, None), pt(101, Some("telephone-event"))]),
                audio("b", vec![pt(111, Some("opus"))]),
            ],
            ..Default::default()
        };
        let t = filter_codecs(&j, &list(&["opus"])).unwrap();
        assert_eq!(t.value.contents.len(), 1);
        assert_eq!(t.value.contents[0].name, "b");
        let e = filter_codecs(&j, &list(&["G729"])).unwrap_err();
        assert!(matches!(e, TranslateError::NoAllowedCodec { .. }));
        assert_eq!(
            e.jingle_reason(),
            crate::reason::JingleReason::IncompatibleParameters
        );
    }

    #[test]
    fn known_codecs_ignore_case() {
        assert!(is_known_codec("pcmu"));
        assert!(is_known_codec("Opus"));
        assert!(!is_known_codec("mp3"));
    }
}
