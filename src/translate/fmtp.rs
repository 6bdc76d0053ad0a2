//! `a=fmtp` ⇄ `<parameter/>`, by draft-ietf-stox-media §10 (checklist 14–17).
//!
//! - telephone-event: the event list (`0-15`, `0-16,32,36`) is `name='events'`;
//!   with no fmtp at all RFC 4733 means `0-15`, which we make explicit (item 14).
//! - RED (RFC 2198): `0/103` is `name='pt' value='0,103'`.
//! - Everything else: split on `;`; a piece is split further on `,` only when
//!   every part is `name=value` (Speex `sr=16000,mode=any`), so commas inside a
//!   value (AMR `mode-set=0,2,5,7`, H.264 `sprop-parameter-sets=Z0IA,aM4G`)
//!   survive; a piece without `=` becomes a nameless parameter (item 17).
//!
//! Reading Jingle accepts the three forms real clients use for a bare token:
//! `name='' value='0-15'` (Jitsi), no name (jingle.js) and `name='0-15'` with no
//! value (StanzaJS).

use crate::jingle::Parameter;

/// The RFC 4733 default event list, made explicit per checklist item 14.
pub const DEFAULT_TELEPHONE_EVENTS: &str = "0-15";

/// A `<parameter/>` read in any of its real-world forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FmtpItem<'a> {
    /// `name=value`.
    Pair(&'a str, &'a str),
    /// A bare token.
    Token(&'a str),
}

impl<'a> FmtpItem<'a> {
    /// Classifies a Jingle parameter, accepting all three bare-token dialects.
    pub fn of(p: &'a Parameter) -> FmtpItem<'a> {
        match (p.name.as_deref(), p.value.as_deref()) {
            (None | Some(""), value) => FmtpItem::Token(value.unwrap_or("")),
            (Some(name), None) => FmtpItem::Token(name),
            (Some(name), Some(value)) => FmtpItem::Pair(name, value),
        }
    }
}

fn is(encoding: Option<&str>, name: &str) -> bool {
    encoding.is_some_and(|e| e.eq_ignore_ascii_case(name))
}

fn pair(name: &str, value: &str) -> Parameter {
    Parameter {
        name: Some(name.to_string()),
        value: Some(value.to_string()),
    }
}

/// Parses the value of `a=fmtp:PT <value>` for a payload of `encoding`.
pub fn parse_fmtp(encoding: Option<&str>, value: &str) -> Vec<Parameter> {
    let value = value.trim();
    if !value.contains('=') {
        if is(encoding, "telephone-event") {
            return vec![pair("events", value)];
        }
        // RFC 2198: `pt/pt/…`; a single redundant encoding has no slash at all.
        let is_pt_list =
            !value.is_empty() && value.split('/').all(|p| p.trim().parse::<u8>().is_ok());
        if is(encoding, "red") && is_pt_list {
            return vec![pair("pt", &value.replace('/', ","))];
        }
    }
    let mut out = Vec::new();
    for piece in value.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let parts: Vec<&str> = piece.split(',').map(str::trim).collect();
        let split_on_commas = parts.len() > 1 && parts.iter().all(|p| p.contains('='));
        let pieces = if split_on_commas { parts } else { vec![piece] };
        for p in pieces {
            match p.split_once('=') {
                Some((name, value)) => out.push(pair(name.trim(), value.trim())),
                None => out.push(Parameter {
                    name: Some(String::new()),
                    value: Some(p.to_string()),
                }),
            }
        }
    }
    out
}

/// Formats Jingle parameters as the value of an `a=fmtp` line, or `None` when
/// there is nothing to write.
pub fn format_fmtp(encoding: Option<&str>, parameters: &[Parameter]) -> Option<String> {
    // An empty token (Chrome's leading `;`, kept by StanzaJS as an empty
    // <parameter/>) carries nothing and would write `a=fmtp:PT ;…`.
    let items: Vec<FmtpItem> = parameters
        .iter()
        .map(FmtpItem::of)
        .filter(|item| *item != FmtpItem::Token(""))
        .collect();
    if items.is_empty() {
        return None;
    }
    if is(encoding, "telephone-event")
        && let [FmtpItem::Pair("events", events) | FmtpItem::Token(events)] = items.as_slice()
    {
        return Some(events.to_string());
    }
    if is(encoding, "red")
        && let [FmtpItem::Pair("pt", pts)] = items.as_slice()
    {
        return Some(pts.replace(',', "/"));
    }
    let separator = if is_webrtc_codec(encoding) { ";" } else { "; " };
    let text: Vec<String> = items
        .iter()
        .map(|item| match item {
            FmtpItem::Pair(name, value) => format!("{name}={value}"),
            FmtpItem::Token(token) => token.to_string(),
        })
        .collect();
    Some(text.join(separator))
}

/// Codecs whose fmtp browsers write with a bare `;`; for the rest the draft's
/// `"; "` (checklist item 16) is used.
fn is_webrtc_codec(encoding: Option<&str>) -> bool {
    const WEBRTC: [&str; 11] = [
        "opus",
        "vp8",
        "vp9",
        "av1",
        "h264",
        "h265",
        "rtx",
        "red",
        "ulpfec",
        "flexfec-03",
        "telephone-event",
    ];
    encoding.is_some_and(|e| WEBRTC.iter().any(|w| w.eq_ignore_ascii_case(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: Option<&str>, value: Option<&str>) -> Parameter {
        Parameter {
            name: name.map(str::to_string),
            value: value.map(str::to_string),
        }
    }

    #[test]
    fn telephone_event_list_is_named_events_and_comes_back_bare() {
        let params = parse_fmtp(Some("telephone-event"), "0-15,66,70");
        assert_eq!(params, vec![p(Some("events"), Some("0-15,66,70"))]);
        assert_eq!(
            format_fmtp(Some("telephone-event"), &params).as_deref(),
            Some("0-15,66,70")
        );
    }

    #[test]
    fn all_three_bare_token_dialects_give_the_bare_token() {
        for dialect in [
            p(Some(""), Some("0-15")),
            p(None, Some("0-15")),
            p(Some("0-15"), None),
        ] {
            assert_eq!(
                format_fmtp(Some("telephone-event"), std::slice::from_ref(&dialect)).as_deref(),
                Some("0-15"),
                "{dialect:?}"
            );
        }
    }

    #[test]
    fn red_redundancy_list() {
        let params = parse_fmtp(Some("red"), "0/103");
        assert_eq!(params, vec![p(Some("pt"), Some("0,103"))]);
        assert_eq!(format_fmtp(Some("red"), &params).as_deref(), Some("0/103"));
    }

    #[test]
    fn commas_inside_values_survive() {
        let amr = parse_fmtp(Some("AMR-WB"), "mode-set=0,2,5,7; octet-align=1");
        assert_eq!(
            amr,
            vec![
                p(Some("mode-set"), Some("0,2,5,7")),
                p(Some("octet-align"), Some("1"))
            ]
        );
        let h264 = parse_fmtp(
            Some("H264"),
            "sprop-parameter-sets=Z0IA,aM4G;packetization-mode=1",
        );
        assert_eq!(h264[0], p(Some("sprop-parameter-sets"), Some("Z0IA,aM4G")));
    }

    #[test]
    fn comma_separated_pairs_are_split() {
        let speex = parse_fmtp(Some("speex"), "sr=16000,mode=any");
        assert_eq!(
            speex,
            vec![p(Some("sr"), Some("16000")), p(Some("mode"), Some("any"))]
        );
    }

    #[test]
    fn unknown_format_tokens_become_nameless_and_join_with_semicolon_space() {
        let params = parse_fmtp(Some("G729"), "annexb=yes");
        assert_eq!(params, vec![p(Some("annexb"), Some("yes"))]);
        let odd = parse_fmtp(Some("X-odd"), "token; a=1");
        assert_eq!(
            odd,
            vec![p(Some(""), Some("token")), p(Some("a"), Some("1"))]
        );
        assert_eq!(
            format_fmtp(Some("X-odd"), &odd).as_deref(),
            Some("token; a=1")
        );
        assert_eq!(
            format_fmtp(
                Some("opus"),
                &parse_fmtp(Some("opus"), "minptime=10;useinbandfec=1")
            )
            .as_deref(),
            Some("minptime=10;useinbandfec=1")
        );
    }

    #[test]
    fn leading_semicolon_is_tolerated() {
        let params = parse_fmtp(Some("H264"), ";level-asymmetry-allowed=1");
        assert_eq!(params, vec![p(Some("level-asymmetry-allowed"), Some("1"))]);
    }
}
