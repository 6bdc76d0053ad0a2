//! RFC 8840 §9 `application/trickle-ice-sdpfrag` bodies ⇄ XEP-0176
//! candidates, and the few SDP text edits trickle ICE needs (the
//! `a=ice-options:trickle` advertisement, reading the peer's ICE
//! credentials, new credentials and candidates for an ICE restart answer).
//!
//! Text edits rather than a parse/write round trip through `sdp-types`: the
//! SDP we sent is the one the peer holds, so a refreshed copy must keep every
//! other line exactly as it was (RFC 3264 §8: only the version moves).

use super::ice::{format_candidate, parse_candidate};
use crate::jingle::IceCandidate;

/// Media type of a trickle ICE INFO body (RFC 8840 §10.2).
pub const CONTENT_TYPE: &str = "application/trickle-ice-sdpfrag";

/// One media description of a fragment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FragMedia {
    /// The `m=` line's value (`audio 9 RTP/AVP 0`): RFC 8840 pairs it with
    /// the offer/answer's media description by `a=mid`, else by position.
    pub media: String,
    /// `a=mid`.
    pub mid: Option<String>,
    /// Media-level `a=ice-ufrag`.
    pub ufrag: Option<String>,
    /// Media-level `a=ice-pwd`.
    pub pwd: Option<String>,
    /// `a=candidate` lines, parsed.
    pub candidates: Vec<IceCandidate>,
    /// Media-level `a=end-of-candidates`.
    pub end_of_candidates: bool,
}

/// A trickle ICE fragment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SdpFrag {
    /// Session-level `a=ice-ufrag`.
    pub ufrag: Option<String>,
    /// Session-level `a=ice-pwd`.
    pub pwd: Option<String>,
    /// Session-level `a=end-of-candidates` (every stream is complete).
    pub end_of_candidates: bool,
    /// The media descriptions, in order.
    pub media: Vec<FragMedia>,
}

impl SdpFrag {
    /// The credentials in effect for media description `i`.
    pub fn credentials(&self, i: usize) -> (Option<&str>, Option<&str>) {
        let m = self.media.get(i);
        (
            m.and_then(|m| m.ufrag.as_deref()).or(self.ufrag.as_deref()),
            m.and_then(|m| m.pwd.as_deref()).or(self.pwd.as_deref()),
        )
    }
}

/// Reads a fragment. Errors say what is wrong, for a 400's Warning.
pub fn parse_sdpfrag(text: &str) -> Result<SdpFrag, String> {
    let mut frag = SdpFrag::default();
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let Some((kind, value)) = line.split_once('=') else {
            return Err(format!("'{}' is not an SDP line", cut(line)));
        };
        if kind.len() != 1 {
            return Err(format!("'{}' is not an SDP line", cut(line)));
        }
        match kind {
            "m" => frag.media.push(FragMedia {
                media: value.to_string(),
                ..FragMedia::default()
            }),
            "a" => {
                let (name, val) = value.split_once(':').unwrap_or((value, ""));
                let n = frag.media.len();
                match (name, frag.media.last_mut()) {
                    ("ice-ufrag", None) => frag.ufrag = Some(val.trim().to_string()),
                    ("ice-pwd", None) => frag.pwd = Some(val.trim().to_string()),
                    ("end-of-candidates", None) => frag.end_of_candidates = true,
                    ("ice-ufrag", Some(m)) => m.ufrag = Some(val.trim().to_string()),
                    ("ice-pwd", Some(m)) => m.pwd = Some(val.trim().to_string()),
                    ("end-of-candidates", Some(m)) => m.end_of_candidates = true,
                    ("mid", Some(m)) => m.mid = Some(val.trim().to_string()),
                    ("candidate", None) => {
                        return Err("a=candidate before any m= line".to_string());
                    }
                    ("candidate", Some(m)) => {
                        let k = m.candidates.len();
                        let (c, _) = parse_candidate(val, &format!("m{n}"), k)
                            .map_err(|e| format!("a=candidate: {e}"))?;
                        m.candidates.push(c);
                    }
                    // ice-options, group, ice-lite, … say nothing we act on.
                    _ => {}
                }
            }
            // v=, o=, c=, … are allowed in a fragment and carry nothing here.
            _ => {}
        }
    }
    if frag.media.is_empty() && !frag.end_of_candidates {
        return Err("no m= line".to_string());
    }
    Ok(frag)
}

/// Writes a fragment with CRLF line ends (RFC 8840 §9: session-level
/// credentials first, then one `m=` line with its `a=mid` per stream).
pub fn write_sdpfrag(frag: &SdpFrag) -> String {
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push_str("\r\n");
    };
    if let Some(u) = &frag.ufrag {
        line(format!("a=ice-ufrag:{u}"));
    }
    if let Some(p) = &frag.pwd {
        line(format!("a=ice-pwd:{p}"));
    }
    for m in &frag.media {
        line(format!("m={}", m.media));
        if let Some(mid) = &m.mid {
            line(format!("a=mid:{mid}"));
        }
        if let Some(u) = &m.ufrag {
            line(format!("a=ice-ufrag:{u}"));
        }
        if let Some(p) = &m.pwd {
            line(format!("a=ice-pwd:{p}"));
        }
        for c in &m.candidates {
            line(format!("a=candidate:{}", format_candidate(c)));
        }
        if m.end_of_candidates {
            line("a=end-of-candidates".to_string());
        }
    }
    if frag.end_of_candidates {
        line("a=end-of-candidates".to_string());
    }
    out
}

fn cut(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() && *c != '"')
        .take(40)
        .collect()
}

/// Whether an SDP (or the headers' text) advertises trickle ICE with
/// `a=ice-options:trickle` (RFC 8840 §5.1 / RFC 8838 §3), at session or media level.
pub fn advertises_trickle(sdp: &str) -> bool {
    sdp.lines().any(|l| {
        l.trim()
            .strip_prefix("a=ice-options:")
            .is_some_and(|v| v.split_whitespace().any(|t| t == "trickle"))
    })
}

/// The ICE credentials of an SDP: the first media description's, else the
/// session's. `None` when it has no ICE.
pub fn ice_credentials(sdp: &str) -> Option<(String, String)> {
    let (mut su, mut sp, mut mu, mut mp) = (None, None, None, None);
    let mut sections = 0;
    for l in sdp.lines().map(str::trim) {
        if l.starts_with("m=") {
            sections += 1;
            if sections > 1 {
                break;
            }
        }
        let (u, p) = if sections == 0 {
            (&mut su, &mut sp)
        } else {
            (&mut mu, &mut mp)
        };
        if let Some(v) = l.strip_prefix("a=ice-ufrag:") {
            *u = Some(v.trim().to_string());
        } else if let Some(v) = l.strip_prefix("a=ice-pwd:") {
            *p = Some(v.trim().to_string());
        }
    }
    Some((mu.or(su)?, mp.or(sp)?))
}

/// `sdp` with a session-level `a=ice-options:trickle` after the `t=` line
/// (half trickle, RFC 8840 §4.1: a full offer that says more may follow).
pub fn with_trickle_option(sdp: &str) -> String {
    if advertises_trickle(sdp) {
        return sdp.to_string();
    }
    let mut out = String::with_capacity(sdp.len() + 24);
    let mut done = false;
    for l in sdp.split_inclusive('\n') {
        out.push_str(l);
        if !done && l.starts_with("t=") {
            if !l.ends_with('\n') {
                out.push_str("\r\n");
            }
            out.push_str("a=ice-options:trickle\r\n");
            done = true;
        }
    }
    out
}

/// The `m=` line value of the media description named `mid`, else of the
/// `index`th one.
pub fn media_line(sdp: &str, mid: &str, index: usize) -> Option<String> {
    let sections = sections(sdp);
    sections
        .iter()
        .find(|s| s.mid.as_deref() == Some(mid))
        .or_else(|| sections.get(index))
        .map(|s| s.m.clone())
}

struct Section {
    m: String,
    mid: Option<String>,
}

fn sections(sdp: &str) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    for l in sdp.lines().map(str::trim) {
        if let Some(m) = l.strip_prefix("m=") {
            out.push(Section {
                m: m.to_string(),
                mid: None,
            });
        } else if let (Some(v), Some(s)) = (l.strip_prefix("a=mid:"), out.last_mut()) {
            s.mid = Some(v.trim().to_string());
        }
    }
    out
}

/// New ICE state for one media description of an answer to an ICE restart.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RestartedMedia {
    /// The stream's `a=mid` (content name); `None` pairs by position.
    pub mid: Option<String>,
    /// New `a=ice-ufrag`.
    pub ufrag: String,
    /// New `a=ice-pwd`.
    pub pwd: String,
    /// The new generation's candidates.
    pub candidates: Vec<IceCandidate>,
    /// Whether they are all (`a=end-of-candidates`).
    pub end_of_candidates: bool,
}

/// `sdp` (the description we sent last) with new ICE credentials and
/// candidates (RFC 8839 §4.4.1.1.1: an ICE restart's answer has new ones too)
/// and the `o=` version one higher. Media descriptions with no entry in
/// `media` keep their lines. Session-level credentials are removed (every
/// section gets its own), so no stale pair stays in effect.
pub fn restart_answer(sdp: &str, media: &[RestartedMedia]) -> String {
    let mut out = String::with_capacity(sdp.len());
    let mut index: Option<usize> = None;
    let mut pending: Option<&RestartedMedia> = None;
    let entry_for = |i: usize, mid: Option<&str>| {
        media
            .iter()
            .find(|m| m.mid.is_some() && m.mid.as_deref() == mid)
            .or_else(|| media.get(i).filter(|m| m.mid.is_none() || mid.is_none()))
    };
    let lines: Vec<&str> = sdp.lines().map(|l| l.trim_end_matches('\r')).collect();
    let mids: Vec<Option<String>> = {
        let s = sections(sdp);
        s.into_iter().map(|s| s.mid).collect()
    };
    let flush = |out: &mut String, p: Option<&RestartedMedia>| {
        if let Some(m) = p {
            out.push_str(&format!(
                "a=ice-ufrag:{}\r\na=ice-pwd:{}\r\n",
                m.ufrag, m.pwd
            ));
            for c in &m.candidates {
                out.push_str(&format!("a=candidate:{}\r\n", format_candidate(c)));
            }
            if m.end_of_candidates {
                out.push_str("a=end-of-candidates\r\n");
            }
        }
    };
    for l in lines {
        if l.is_empty() {
            continue;
        }
        if l.starts_with("m=") {
            flush(&mut out, pending.take());
            let i = index.map_or(0, |i| i + 1);
            index = Some(i);
            pending = entry_for(i, mids.get(i).and_then(|m| m.as_deref()));
            out.push_str(l);
            out.push_str("\r\n");
            continue;
        }
        if let Some(o) = l.strip_prefix("o=")
            && index.is_none()
        {
            out.push_str(&format!("o={}\r\n", bump_version(o)));
            continue;
        }
        let ice_line = l.starts_with("a=ice-ufrag:")
            || l.starts_with("a=ice-pwd:")
            || l.starts_with("a=candidate:")
            || l == "a=end-of-candidates";
        let replaced = match index {
            None => l.starts_with("a=ice-ufrag:") || l.starts_with("a=ice-pwd:"),
            Some(_) => pending.is_some() && ice_line,
        };
        if !replaced {
            out.push_str(l);
            out.push_str("\r\n");
        }
    }
    flush(&mut out, pending.take());
    out
}

/// `o=` value with its session version one higher.
fn bump_version(o: &str) -> String {
    let mut f: Vec<String> = o.split_whitespace().map(str::to_string).collect();
    if let Some(v) = f
        .get_mut(2)
        .and_then(|v| v.parse::<u64>().ok().map(|n| (v, n)))
    {
        *v.0 = (v.1 + 1).to_string();
    }
    f.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAG: &str = "a=ice-ufrag:8hhY\r\na=ice-pwd:asd88fgpdd777uzjYhagZg\r\n\
m=audio 9 RTP/AVP 0\r\na=mid:1\r\n\
a=candidate:1 1 UDP 1658497328 198.51.100.33 5000 typ host\r\n\
a=candidate:2 1 UDP 1658497327 203.0.113.7 6000 typ srflx raddr 198.51.100.33 rport 5000\r\n\
a=end-of-candidates\r\n";

    #[test]
    fn reads_the_rfc_8840_example_shape() {
        let f = parse_sdpfrag(FRAG).unwrap();
        assert_eq!(f.ufrag.as_deref(), Some("8hhY"));
        assert_eq!(f.media.len(), 1);
        assert_eq!(f.media[0].mid.as_deref(), Some("1"));
        assert_eq!(f.media[0].candidates.len(), 2);
        assert_eq!(f.media[0].candidates[1].kind, "srflx");
        assert_eq!(f.media[0].candidates[0].foundation, "1");
        assert!(f.media[0].end_of_candidates);
        assert_eq!(
            f.credentials(0),
            (Some("8hhY"), Some("asd88fgpdd777uzjYhagZg"))
        );
    }

    #[test]
    fn writes_what_it_reads() {
        let f = parse_sdpfrag(FRAG).unwrap();
        let text = write_sdpfrag(&f);
        assert!(text.starts_with("a=ice-ufrag:8hhY\r\na=ice-pwd:asd88fgpdd777uzjYhagZg\r\nm=audio 9 RTP/AVP 0\r\na=mid:1\r\n"), "{text}");
        assert_eq!(parse_sdpfrag(&text).unwrap(), f);
    }

    #[test]
    fn malformed_fragments_say_why() {
        assert!(
            parse_sdpfrag("hello")
                .unwrap_err()
                .contains("not an SDP line")
        );
        assert!(
            parse_sdpfrag("a=candidate:1 1 udp 1 1.2.3.4 5 typ host")
                .unwrap_err()
                .contains("before any m=")
        );
        assert!(
            parse_sdpfrag("m=audio 9 RTP/AVP 0\r\na=candidate:1 1 udp x 1.2.3.4 5 typ host")
                .unwrap_err()
                .contains("priority")
        );
        assert!(
            parse_sdpfrag("a=ice-ufrag:x")
                .unwrap_err()
                .contains("no m= line")
        );
        assert!(parse_sdpfrag("a=end-of-candidates").is_ok());
    }

    #[test]
    fn trickle_option_goes_after_t_once() {
        let sdp = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\n";
        let with = with_trickle_option(sdp);
        assert_eq!(
            with,
            "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\na=ice-options:trickle\r\nm=audio 1 RTP/AVP 0\r\n"
        );
        assert!(advertises_trickle(&with));
        assert_eq!(with_trickle_option(&with), with);
        assert!(!advertises_trickle(sdp));
    }

    #[test]
    fn credentials_media_level_over_session_level() {
        let sdp =
            "v=0\r\na=ice-ufrag:s\r\na=ice-pwd:sp\r\nm=audio 1 RTP/AVP 0\r\na=ice-ufrag:m\r\n";
        assert_eq!(ice_credentials(sdp), Some(("m".into(), "sp".into())));
        assert_eq!(ice_credentials("v=0\r\nm=audio 1 RTP/AVP 0\r\n"), None);
    }

    #[test]
    fn restart_answer_replaces_credentials_and_candidates_and_bumps_the_version() {
        let sdp = "v=0\r\no=- 7 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\n\
m=audio 4000 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=ice-ufrag:old\r\na=ice-pwd:oldpwd\r\n\
a=candidate:1 1 udp 1 1.2.3.4 4000 typ host generation 0\r\na=rtpmap:111 opus/48000/2\r\n";
        let (c, _) = parse_candidate("9 1 udp 5 5.6.7.8 5000 typ host", "0", 0).unwrap();
        let out = restart_answer(
            sdp,
            &[RestartedMedia {
                mid: Some("0".into()),
                ufrag: "new".into(),
                pwd: "newpwd".into(),
                candidates: vec![c],
                end_of_candidates: true,
            }],
        );
        assert_eq!(
            out,
            "v=0\r\no=- 7 2 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\n\
m=audio 4000 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n\
a=ice-ufrag:new\r\na=ice-pwd:newpwd\r\na=candidate:9 1 udp 5 5.6.7.8 5000 typ host generation 0\r\na=end-of-candidates\r\n"
        );
        assert_eq!(
            media_line(sdp, "0", 5).as_deref(),
            Some("audio 4000 UDP/TLS/RTP/SAVPF 111")
        );
        assert_eq!(
            media_line(sdp, "x", 0).as_deref(),
            Some("audio 4000 UDP/TLS/RTP/SAVPF 111")
        );
    }
}
