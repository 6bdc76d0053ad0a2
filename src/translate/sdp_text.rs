//! Accepting SDP as people paste it: from Wireshark, client logs, RFC text.
//!
//! Lines may end in CRLF or LF (or a mix, as in a real CounterPath capture),
//! carry log indentation or trailing spaces, and be preceded by blank lines. A
//! media-only fragment (no `v=` line) gets a synthetic session header so the
//! m= sections can still be read. Line numbers in errors refer to the
//! caller's text.

use super::TranslateError;
use sdp_types::{ParserError, Session};

/// Parses SDP text leniently; errors name the caller's line.
pub fn parse_sdp(text: &str) -> Result<Session, TranslateError> {
    // CRLF, LF, and even a lone CR (old Mac captures) all end a line.
    let unified;
    let text = if text.contains('\r') {
        unified = text.replace("\r\n", "\n").replace('\r', "\n");
        unified.as_str()
    } else {
        text
    };
    let mut lines: Vec<(usize, &str)> = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        if line.is_empty() {
            continue;
        }
        let bytes = line.as_bytes();
        if bytes.len() < 2 || !bytes[0].is_ascii_alphabetic() || bytes[1] != b'=' {
            return Err(TranslateError::SdpSyntax {
                line: i + 1,
                text: line.to_string(),
                reason: "not an SDP line of the form <letter>=<value>".to_string(),
            });
        }
        lines.push((i + 1, line));
    }
    let Some(&(_, first)) = lines.first() else {
        return Err(TranslateError::NoMedia);
    };
    let mut origin_lines: Vec<usize> = Vec::new();
    let mut normalised = String::with_capacity(text.len() + 64);
    if !first.starts_with("v=") && !lines.iter().any(|(_, l)| l.starts_with("v=")) {
        for header in ["v=0", "o=- 0 0 IN IP4 0.0.0.0", "s=-", "t=0 0"] {
            normalised.push_str(header);
            normalised.push_str("\r\n");
            origin_lines.push(lines[0].0);
        }
    }
    for (number, line) in &lines {
        normalised.push_str(line);
        normalised.push_str("\r\n");
        origin_lines.push(*number);
    }
    Session::parse(normalised.as_bytes()).map_err(|e| {
        let (line, reason) = describe(&e);
        let original = line
            .and_then(|l| origin_lines.get(l.saturating_sub(1)).copied())
            .unwrap_or(0);
        let text = line
            .and_then(|l| normalised.split("\r\n").nth(l.saturating_sub(1)))
            .unwrap_or("")
            .to_string();
        TranslateError::SdpSyntax {
            line: original,
            text,
            reason,
        }
    })
}

/// The 1-based line (in the normalised text) and a description of a parser error.
#[allow(deprecated)]
fn describe(e: &ParserError) -> (Option<usize>, String) {
    use ParserError::*;
    match e {
        UnexpectedLine(l, _) => (Some(*l), "unexpected line".into()),
        InvalidLineFormat(l, what) => (Some(*l), format!("malformed line ({what})")),
        InvalidFieldEncoding(l, what) => (Some(*l), format!("invalid encoding in {what}")),
        InvalidFieldFormat(l, what) => (Some(*l), format!("invalid {what}")),
        MissingField(l, what) => (Some(*l), format!("missing {what}")),
        FieldTrailingData(l, what) => (Some(*l), format!("trailing data after {what}")),
        InvalidVersion(l, _) => (Some(*l), "unsupported SDP version (only v=0)".into()),
        MultipleVersions(l) => (Some(*l), "second v= line".into()),
        MultipleOrigins(l) => (Some(*l), "second o= line".into()),
        MultipleSessionNames(l) => (Some(*l), "second s= line".into()),
        MultipleSessionDescription(l) => (Some(*l), "second i= line".into()),
        MultipleUris(l) => (Some(*l), "second u= line".into()),
        MultipleConnections(l) => (Some(*l), "second c= line".into()),
        MultipleTimeZones(l) => (Some(*l), "second z= line".into()),
        MultipleMediaTitles(l) => (Some(*l), "second i= line in a media section".into()),
        MultipleKeys(l) => (Some(*l), "second k= line".into()),
        RepeatWithoutTime(l) => (Some(*l), "r= line without t= line".into()),
        NoVersion => (None, "no v= line".into()),
        other => (None, other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_indented_lf_text_with_leading_blank_lines() {
        let s = parse_sdp("\n\n   v=0\n   o=- 1 1 IN IP4 1.2.3.4  \n   s=-\n   t=0 0\n   m=audio 4000 RTP/AVP 0\n").unwrap();
        assert_eq!(s.medias.len(), 1);
        assert_eq!(s.medias[0].port, 4000);
    }

    #[test]
    fn cr_only_line_ends_are_lines_too() {
        let s =
            parse_sdp("v=0\ro=- 1 1 IN IP4 1.2.3.4\rs=-\rt=0 0\rm=audio 4000 RTP/AVP 0\r").unwrap();
        assert_eq!(s.medias.len(), 1);
    }

    #[test]
    fn a_fragment_without_header_gets_one() {
        let s = parse_sdp("m=audio 4000 RTP/AVP 0\r\na=rtcp-mux\r\n").unwrap();
        assert_eq!(s.medias[0].attributes[0].attribute, "rtcp-mux");
    }

    #[test]
    fn errors_name_the_callers_line() {
        let err = parse_sdp("v=0\n\nthis is not sdp\n").unwrap_err();
        assert!(
            matches!(err, TranslateError::SdpSyntax { line: 3, .. }),
            "{err:?}"
        );
        let err = parse_sdp("v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nt=0 0\n\nm=video\n").unwrap_err();
        assert!(
            matches!(err, TranslateError::SdpSyntax { line: 6, .. }),
            "{err:?}"
        );
    }
}
