//! The SDP text work behind hold and content-modify (`call::hold`): reading
//! each m= line's direction and rewriting them in an SDP we sent before.
//!
//! Line-based on purpose: a re-offer must be the SDP we sent last with only
//! the directions and the o= version changed (RFC 3264 §8), so everything
//! else — codecs, the anchor's addresses and keys, lines we do not know — is
//! kept byte for byte, which a parse-and-rewrite through a model would not
//! guarantee.

use crate::translate::Direction;

/// Whether the SDP's writer sends and receives with `d`.
pub(crate) fn flags(d: Direction) -> (bool, bool) {
    match d {
        Direction::SendRecv => (true, true),
        Direction::SendOnly => (true, false),
        Direction::RecvOnly => (false, true),
        Direction::Inactive => (false, false),
    }
}

/// The direction of a writer that sends (`send`) and receives (`recv`).
pub(crate) fn from_flags(send: bool, recv: bool) -> Direction {
    match (send, recv) {
        (true, true) => Direction::SendRecv,
        (true, false) => Direction::SendOnly,
        (false, true) => Direction::RecvOnly,
        (false, false) => Direction::Inactive,
    }
}

/// The RFC 3264 §6.1 answer to a stream offered with `offer`, by an answerer
/// that wants to send (`send`) and receive (`recv`): never send to a peer
/// that will not receive, never receive from one that will not send.
pub(crate) fn answer_to(offer: Direction, send: bool, recv: bool) -> Direction {
    let (peer_sends, peer_receives) = flags(offer);
    from_flags(send && peer_receives, recv && peer_sends)
}

/// One m= line as far as hold is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stream {
    /// `a=mid`, when the section has one.
    pub mid: Option<String>,
    /// The media type (`audio`, `video`, …).
    pub media: String,
    /// The direction its writer gave it; `None` for a rejected (port 0) line.
    pub direction: Option<Direction>,
}

fn lines(sdp: &str) -> impl Iterator<Item = &str> {
    sdp.split('\n')
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.is_empty())
}

fn is_hold_address(c_line: &str) -> bool {
    // `c=IN IP4 0.0.0.0`: RFC 2543 hold, still sent by old phones and PBXes.
    c_line.split_whitespace().nth(2) == Some("0.0.0.0")
}

/// The streams of `sdp`, in m= line order. A section without a direction
/// takes the session-level one, else sendrecv (RFC 3264 §5.1). With
/// `rfc2543_hold`, a `c=` address of 0.0.0.0 means its writer receives
/// nothing (the old way to hold), so it clears the receiving half.
pub(crate) fn streams(sdp: &str, rfc2543_hold: bool) -> Vec<Stream> {
    let mut session_dir = None;
    let mut session_hold = false;
    let mut out: Vec<(Stream, Option<Direction>, Option<bool>)> = Vec::new();
    for line in lines(sdp) {
        if let Some(m) = line.strip_prefix("m=") {
            let mut parts = m.split_whitespace();
            let media = parts.next().unwrap_or_default().to_string();
            let rejected = parts.next().and_then(|p| p.split('/').next()) == Some("0");
            out.push((
                Stream {
                    mid: None,
                    media,
                    direction: (!rejected).then_some(Direction::SendRecv),
                },
                None,
                None,
            ));
            continue;
        }
        let direction = line.strip_prefix("a=").and_then(Direction::from_attribute);
        match out.last_mut() {
            None => {
                if let Some(d) = direction {
                    session_dir = Some(d);
                }
                if line.starts_with("c=") {
                    session_hold = is_hold_address(line);
                }
            }
            Some((stream, own_dir, own_hold)) => {
                if let Some(d) = direction {
                    *own_dir = Some(d);
                } else if let Some(mid) = line.strip_prefix("a=mid:") {
                    stream.mid = Some(mid.trim().to_string());
                } else if line.starts_with("c=") {
                    *own_hold = Some(is_hold_address(line));
                }
            }
        }
    }
    out.into_iter()
        .map(|(mut stream, own_dir, own_hold)| {
            if stream.direction.is_some() {
                let d = own_dir.or(session_dir).unwrap_or(Direction::SendRecv);
                let held = rfc2543_hold && own_hold.unwrap_or(session_hold);
                let (send, recv) = flags(d);
                stream.direction = Some(from_flags(send, recv && !held));
            }
            stream
        })
        .collect()
}

/// `sdp` with stream `i` set to `directions[i]` (a `None` leaves it as it
/// is), session-level directions dropped (each stream now says its own) and
/// the o= version incremented (RFC 3264 §8: a changed description is a new
/// version). `None` when nothing would change: the caller then sends the
/// SDP unchanged, same version, as a refresh must.
pub(crate) fn with_directions(sdp: &str, directions: &[Option<Direction>]) -> Option<String> {
    let current: Vec<Option<Direction>> = streams(sdp, false)
        .into_iter()
        .map(|s| s.direction)
        .collect();
    let unchanged = current
        .iter()
        .zip(directions)
        .all(|(have, want)| want.is_none() || have == want);
    if unchanged {
        return None;
    }
    let mut out = String::with_capacity(sdp.len() + 16);
    let mut section: Option<usize> = None;
    let close = |out: &mut String, section: Option<usize>| {
        if let Some(Some(d)) = section.and_then(|i| directions.get(i)) {
            out.push_str("a=");
            out.push_str(d.as_str());
            out.push_str("\r\n");
        }
    };
    for line in lines(sdp) {
        if line.starts_with("m=") {
            close(&mut out, section);
            section = Some(section.map_or(0, |i| i + 1));
        } else if line.starts_with("o=") && section.is_none() {
            out.push_str(&bump_version(line));
            out.push_str("\r\n");
            continue;
        } else if line
            .strip_prefix("a=")
            .and_then(Direction::from_attribute)
            .is_some()
        {
            let keep = section.is_some_and(|i| directions.get(i).is_some_and(Option::is_none));
            if !keep {
                continue;
            }
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    close(&mut out, section);
    Some(out)
}

/// `sdp` with its o= version one higher and nothing else changed (a
/// description that gained lines is a new version too).
pub(crate) fn bump(sdp: &str) -> String {
    let mut out = String::with_capacity(sdp.len() + 2);
    let mut done = false;
    for line in lines(sdp) {
        if !done && line.starts_with("o=") {
            done = true;
            out.push_str(&bump_version(line));
        } else {
            out.push_str(line);
        }
        out.push_str("\r\n");
    }
    out
}

/// `sdp` with the port of m= line `index` set to 0: the stream removed
/// (RFC 3264 §8.2), everything else as it was (the version is the caller's).
pub(crate) fn with_port_zero(sdp: &str, index: usize) -> String {
    let mut out = String::with_capacity(sdp.len());
    let mut seen = 0usize;
    for line in lines(sdp) {
        match line.strip_prefix("m=") {
            Some(m) if seen == index => {
                seen += 1;
                let mut parts: Vec<&str> = m.split(' ').collect();
                if parts.len() > 1 {
                    parts[1] = "0";
                }
                out.push_str("m=");
                out.push_str(&parts.join(" "));
            }
            Some(_) => {
                seen += 1;
                out.push_str(line);
            }
            None => out.push_str(line),
        }
        out.push_str("\r\n");
    }
    out
}

/// An o= line with its version one higher (left alone when it is not a number).
fn bump_version(line: &str) -> String {
    let mut parts: Vec<String> = line.split(' ').map(str::to_string).collect();
    if let Some(v) = parts.get_mut(2)
        && let Ok(n) = v.parse::<u64>()
    {
        *v = n.saturating_add(1).to_string();
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDP: &str = "v=0\r\no=- 77 1 IN IP4 203.0.113.5\r\ns=-\r\nc=IN IP4 203.0.113.5\r\nt=0 0\r\nm=audio 23456 RTP/AVP 0\r\na=mid:0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\nm=video 0 RTP/AVP 96\r\na=mid:1\r\n";

    #[test]
    fn streams_read_directions_mids_and_rejected_lines() {
        let s = streams(SDP, true);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].mid.as_deref(), Some("0"));
        assert_eq!(s[0].direction, Some(Direction::SendRecv));
        assert_eq!(s[1].direction, None, "port 0 is rejected");
        // The session-level direction applies where a section has none.
        let s = streams("v=0\r\na=sendonly\r\nm=audio 1 RTP/AVP 0\r\n", false);
        assert_eq!(s[0].direction, Some(Direction::SendOnly));
        // RFC 2543 hold: c=0.0.0.0 means its writer receives nothing.
        let old = "v=0\r\nc=IN IP4 0.0.0.0\r\nm=audio 1 RTP/AVP 0\r\n";
        assert_eq!(streams(old, true)[0].direction, Some(Direction::SendOnly));
        assert_eq!(streams(old, false)[0].direction, Some(Direction::SendRecv));
        let media_level =
            "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 0\r\nc=IN IP4 0.0.0.0\r\na=recvonly\r\n";
        assert_eq!(
            streams(media_level, true)[0].direction,
            Some(Direction::Inactive)
        );
    }

    #[test]
    fn rewriting_changes_only_directions_and_the_version() {
        let held = with_directions(SDP, &[Some(Direction::SendOnly), None]).unwrap();
        assert_eq!(
            held,
            SDP.replace("a=sendrecv", "a=sendonly")
                .replace("77 1 IN", "77 2 IN")
        );
        // The same directions again: nothing to send, the version stays.
        assert_eq!(
            with_directions(&held, &[Some(Direction::SendOnly), None]),
            None
        );
        let back = with_directions(&held, &[Some(Direction::SendRecv), None]).unwrap();
        assert!(back.contains("o=- 77 3 IN IP4"), "{back}");
        assert!(back.contains("a=sendrecv\r\nm=video 0"), "{back}");
    }

    #[test]
    fn a_section_without_direction_gets_one_and_session_level_ones_go() {
        let sdp = "v=0\r\no=x 1 5 IN IP4 1.2.3.4\r\na=recvonly\r\nm=audio 1 RTP/AVP 0\r\nm=audio 2 RTP/AVP 0\r\n";
        let out =
            with_directions(sdp, &[Some(Direction::Inactive), Some(Direction::RecvOnly)]).unwrap();
        assert_eq!(
            out,
            "v=0\r\no=x 1 6 IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 0\r\na=inactive\r\nm=audio 2 RTP/AVP 0\r\na=recvonly\r\n"
        );
    }

    #[test]
    fn a_removed_stream_gets_port_0_and_reads_as_rejected() {
        let out = with_port_zero(SDP, 0);
        assert!(out.contains("m=audio 0 RTP/AVP 0\r\n"), "{out}");
        assert!(out.contains("o=- 77 1 IN"), "the version is the caller's");
        assert_eq!(streams(&out, false)[0].direction, None);
        assert_eq!(with_port_zero(SDP, 5), SDP, "no such line: unchanged");
    }

    #[test]
    fn answers_follow_rfc_3264_section_6_1() {
        use Direction::*;
        assert_eq!(answer_to(SendOnly, true, true), RecvOnly);
        assert_eq!(answer_to(Inactive, true, true), Inactive);
        assert_eq!(answer_to(RecvOnly, true, true), SendOnly);
        assert_eq!(answer_to(SendRecv, true, true), SendRecv);
        // We hold them: a sendrecv offer is answered sendonly, a sendonly one inactive.
        assert_eq!(answer_to(SendRecv, true, false), SendOnly);
        assert_eq!(answer_to(SendOnly, true, false), Inactive);
    }
}
