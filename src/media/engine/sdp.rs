//! The slice of SDP the embedded anchor reads and writes.
//!
//! The anchor keeps a leg's codecs (rtpmap, fmtp, ptime, direction, mid) and
//! replaces everything that says where and how packets travel (addresses,
//! ports, ICE, DTLS, SDES), so each side sees only the anchor. A line-based
//! reader is enough for that and never loses a codec line it does not
//! understand: codec lines are copied as text.

use std::net::IpAddr;

/// DTLS `a=setup` (RFC 4145 / RFC 8842).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// Either role; only in offers.
    Actpass,
    /// The DTLS client.
    Active,
    /// The DTLS server.
    Passive,
}

impl Setup {
    fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "actpass" => Some(Setup::Actpass),
            "active" => Some(Setup::Active),
            "passive" => Some(Setup::Passive),
            _ => None,
        }
    }

    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Setup::Actpass => "actpass",
            Setup::Active => "active",
            Setup::Passive => "passive",
        }
    }
}

/// One codec of a stream, from its `a=rtpmap` (or the RFC 3551 static table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Codec {
    /// Payload type.
    pub pt: u8,
    /// Encoding name, as written.
    pub name: String,
    /// Clock rate.
    pub clock: u32,
    /// Channels (1 unless written).
    pub channels: u8,
}

impl Codec {
    /// Whether two codecs are the same encoding (name case-insensitive, rate, channels).
    pub fn same_encoding(&self, other: &Codec) -> bool {
        self.name.eq_ignore_ascii_case(&other.name)
            && self.clock == other.clock
            && self.channels == other.channels
    }
}

/// One m= line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stream {
    /// `audio`, `video`, …
    pub kind: String,
    /// The port (0: rejected).
    pub port: u16,
    /// The transport protocol (`RTP/AVP`, `UDP/TLS/RTP/SAVPF`, …).
    pub proto: String,
    /// The format list as written.
    pub formats: Vec<String>,
    /// The media-level c= address, else the session's.
    pub address: Option<IpAddr>,
    /// `a=rtcp` port (and address), when written.
    pub rtcp: Option<(u16, Option<IpAddr>)>,
    /// `a=rtcp-mux`.
    pub rtcp_mux: bool,
    /// `a=mid`.
    pub mid: Option<String>,
    /// ICE credentials (media level, else session level).
    pub ice_ufrag: Option<String>,
    /// ICE password.
    pub ice_pwd: Option<String>,
    /// `a=fingerprint` values (`sha-256 AB:CD…`), media then session level.
    pub fingerprints: Vec<String>,
    /// `a=setup`.
    pub setup: Option<Setup>,
    /// `a=crypto` values.
    pub crypto: Vec<String>,
    /// `sendrecv` / `sendonly` / `recvonly` / `inactive`, when written.
    pub direction: Option<String>,
    /// Codec lines copied as they are (rtpmap, fmtp, ptime, maxptime, rtcp-fb).
    pub codec_lines: Vec<String>,
    /// The codecs, from rtpmap or the static table.
    pub codecs: Vec<Codec>,
}

impl Stream {
    /// Whether the leg speaks DTLS-SRTP.
    pub fn dtls(&self) -> bool {
        !self.fingerprints.is_empty()
    }

    /// Whether the leg does ICE.
    pub fn ice(&self) -> bool {
        self.ice_ufrag.is_some() && self.ice_pwd.is_some()
    }

    /// The codec with this payload type.
    pub fn codec(&self, pt: u8) -> Option<&Codec> {
        self.codecs.iter().find(|c| c.pt == pt)
    }
}

/// A parsed description.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Description {
    /// The m= lines in order.
    pub streams: Vec<Stream>,
    /// `a=group:BUNDLE` mids.
    pub bundle: Vec<String>,
}

/// RFC 3551 static payload types the anchor may see without an rtpmap.
fn static_codec(pt: u8) -> Option<Codec> {
    let (name, clock) = match pt {
        0 => ("PCMU", 8000),
        3 => ("GSM", 8000),
        4 => ("G723", 8000),
        8 => ("PCMA", 8000),
        9 => ("G722", 8000),
        13 => ("CN", 8000),
        18 => ("G729", 8000),
        _ => return None,
    };
    Some(Codec {
        pt,
        name: name.into(),
        clock,
        channels: 1,
    })
}

fn parse_connection(v: &str) -> Option<IpAddr> {
    // IN IP4 203.0.113.5[/ttl]
    let addr = v.split_whitespace().nth(2)?;
    addr.split('/').next()?.parse().ok()
}

fn parse_rtpmap(v: &str) -> Option<Codec> {
    let (pt, rest) = v.split_once(' ')?;
    let mut parts = rest.trim().split('/');
    let name = parts.next()?.to_string();
    let clock = parts.next()?.parse().ok()?;
    let channels = parts.next().and_then(|c| c.parse().ok()).unwrap_or(1);
    Some(Codec {
        pt: pt.parse().ok()?,
        name,
        clock,
        channels,
    })
}

/// Reads the parts of `sdp` the anchor needs.
pub fn parse(sdp: &str) -> Result<Description, String> {
    let mut desc = Description::default();
    let mut session_address = None;
    let mut session_ufrag = None;
    let mut session_pwd = None;
    let mut session_fingerprints = Vec::new();
    let mut session_setup = None;
    let mut session_direction = None;
    for raw in sdp.lines() {
        let line = raw.trim_end_matches('\r');
        let Some((kind, value)) = line.split_once('=') else {
            continue;
        };
        let stream = desc.streams.last_mut();
        match (kind, stream) {
            ("m", _) => {
                let mut parts = value.split_whitespace();
                let kind = parts.next().ok_or("m= line without media")?.to_string();
                let port = parts
                    .next()
                    .and_then(|p| p.split('/').next())
                    .and_then(|p| p.parse().ok())
                    .ok_or_else(|| format!("m= line with a bad port: {line}"))?;
                let proto = parts.next().ok_or("m= line without proto")?.to_string();
                let formats: Vec<String> = parts.map(str::to_string).collect();
                let codecs = formats
                    .iter()
                    .filter_map(|f| f.parse().ok().and_then(static_codec))
                    .collect();
                desc.streams.push(Stream {
                    kind,
                    port,
                    proto,
                    formats,
                    codecs,
                    ..Stream::default()
                });
            }
            ("c", None) => session_address = parse_connection(value),
            ("c", Some(s)) => s.address = parse_connection(value),
            ("a", stream) => {
                let (name, val) = value.split_once(':').unwrap_or((value, ""));
                match (name, stream) {
                    ("group", _) => {
                        if let Some(mids) = val.strip_prefix("BUNDLE") {
                            desc.bundle = mids.split_whitespace().map(str::to_string).collect();
                        }
                    }
                    ("ice-ufrag", None) => session_ufrag = Some(val.to_string()),
                    ("ice-pwd", None) => session_pwd = Some(val.to_string()),
                    ("fingerprint", None) => session_fingerprints.push(val.to_string()),
                    ("setup", None) => session_setup = Setup::parse(val),
                    ("sendrecv" | "sendonly" | "recvonly" | "inactive", None) => {
                        session_direction = Some(name.to_string())
                    }
                    (_, None) => {}
                    ("ice-ufrag", Some(s)) => s.ice_ufrag = Some(val.to_string()),
                    ("ice-pwd", Some(s)) => s.ice_pwd = Some(val.to_string()),
                    ("fingerprint", Some(s)) => s.fingerprints.push(val.to_string()),
                    ("setup", Some(s)) => s.setup = Setup::parse(val),
                    ("crypto", Some(s)) => s.crypto.push(val.to_string()),
                    ("mid", Some(s)) => s.mid = Some(val.to_string()),
                    ("rtcp-mux", Some(s)) => s.rtcp_mux = true,
                    ("rtcp", Some(s)) => {
                        let mut parts = val.split_whitespace();
                        if let Some(port) = parts.next().and_then(|p| p.parse().ok()) {
                            let addr = parts.nth(2).and_then(|a| a.parse().ok());
                            s.rtcp = Some((port, addr));
                        }
                    }
                    ("sendrecv" | "sendonly" | "recvonly" | "inactive", Some(s)) => {
                        s.direction = Some(name.to_string())
                    }
                    ("rtpmap", Some(s)) => {
                        if let Some(codec) = parse_rtpmap(val) {
                            s.codecs.retain(|c| c.pt != codec.pt);
                            s.codecs.push(codec);
                        }
                        s.codec_lines.push(line.to_string());
                    }
                    ("fmtp" | "ptime" | "maxptime" | "rtcp-fb", Some(s)) => {
                        s.codec_lines.push(line.to_string())
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    if desc.streams.is_empty() {
        return Err("no m= line".into());
    }
    for s in &mut desc.streams {
        s.address = s.address.or(session_address);
        if s.ice_ufrag.is_none() {
            s.ice_ufrag.clone_from(&session_ufrag);
        }
        if s.ice_pwd.is_none() {
            s.ice_pwd.clone_from(&session_pwd);
        }
        if s.fingerprints.is_empty() {
            s.fingerprints.clone_from(&session_fingerprints);
        }
        s.setup = s.setup.or(session_setup);
        if s.direction.is_none() {
            s.direction.clone_from(&session_direction);
        }
        // Codecs follow the m= line's order.
        let order: Vec<u8> = s.formats.iter().filter_map(|f| f.parse().ok()).collect();
        s.codecs
            .sort_by_key(|c| order.iter().position(|p| *p == c.pt));
    }
    Ok(desc)
}

/// How the anchor presents itself on one stream of one leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalTransport {
    /// The port (RTP; RTCP is port + 1 unless muxed). 0 rejects the stream.
    pub port: u16,
    /// ICE-lite credentials (XMPP leg).
    pub ice: Option<(String, String)>,
    /// DTLS fingerprint (`sha-256 AB:…`) and role (XMPP leg).
    pub dtls: Option<(String, Setup)>,
    /// `a=crypto` value (SDES toward SIP).
    pub crypto: Option<String>,
    /// Whether RTCP shares the RTP port.
    pub rtcp_mux: bool,
}

/// Writes the description the anchor gives a leg: `streams` supply the codec
/// lines (already in the receiving leg's numbering), `local` the transport of
/// each stream, in the same order.
pub fn write(
    public_ip: IpAddr,
    session_id: u64,
    streams: &[Stream],
    local: &[LocalTransport],
    bundle: bool,
) -> String {
    let ip = match public_ip {
        IpAddr::V4(_) => "IP4",
        IpAddr::V6(_) => "IP6",
    };
    let mut out = String::new();
    let mut push = |line: String| {
        out.push_str(&line);
        out.push_str("\r\n");
    };
    push("v=0".into());
    push(format!(
        "o=stox {session_id} {session_id} IN {ip} {public_ip}"
    ));
    push("s=stox".into());
    push(format!("c=IN {ip} {public_ip}"));
    push("t=0 0".into());
    let mids: Vec<String> = streams
        .iter()
        .zip(local)
        .enumerate()
        .filter(|(_, (_, l))| l.port != 0)
        .map(|(i, (s, _))| mid_of(s, i))
        .collect();
    if bundle && !mids.is_empty() {
        push(format!("a=group:BUNDLE {}", mids.join(" ")));
    }
    if local.iter().any(|l| l.ice.is_some()) {
        push("a=ice-lite".into());
    }
    for (i, (s, l)) in streams.iter().zip(local).enumerate() {
        let secure = l.dtls.is_some();
        let proto = match (secure, l.crypto.is_some()) {
            (true, _) => "UDP/TLS/RTP/SAVPF",
            (false, true) => "RTP/SAVP",
            (false, false) => "RTP/AVP",
        };
        push(format!(
            "m={} {} {} {}",
            s.kind,
            l.port,
            proto,
            s.formats.join(" ")
        ));
        if l.port == 0 {
            continue;
        }
        push(format!("a=mid:{}", mid_of(s, i)));
        if let Some(d) = &s.direction {
            push(format!("a={d}"));
        }
        for c in &s.codec_lines {
            if !secure && c.starts_with("a=rtcp-fb") {
                continue; // AVP/SAVP: no feedback profile
            }
            push(c.clone());
        }
        if l.rtcp_mux {
            push("a=rtcp-mux".into());
        }
        if let Some((ufrag, pwd)) = &l.ice {
            push(format!("a=ice-ufrag:{ufrag}"));
            push(format!("a=ice-pwd:{pwd}"));
            push(format!(
                "a=candidate:1 1 udp 2130706431 {public_ip} {} typ host",
                l.port
            ));
            push("a=end-of-candidates".into());
        }
        if let Some((fingerprint, setup)) = &l.dtls {
            push(format!("a=fingerprint:{fingerprint}"));
            push(format!("a=setup:{}", setup.as_str()));
        }
        if let Some(crypto) = &l.crypto {
            push(format!("a=crypto:{crypto}"));
        }
    }
    out
}

/// A stream's mid, or one made from its kind and index.
pub fn mid_of(s: &Stream, index: usize) -> String {
    s.mid.clone().unwrap_or_else(|| {
        if index == 0 {
            s.kind.clone()
        } else {
            format!("{}-{index}", s.kind)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROME: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n\
a=fingerprint:sha-256 AA:BB\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 0 126\r\nc=IN IP4 0.0.0.0\r\n\
a=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:uf\r\na=ice-pwd:pw\r\na=setup:actpass\r\na=mid:0\r\n\
a=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\n\
a=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:126 telephone-event/8000\r\n";

    #[test]
    fn reads_a_webrtc_offer() {
        let d = parse(CHROME).unwrap();
        assert_eq!(d.bundle, vec!["0"]);
        let s = &d.streams[0];
        assert!(s.ice() && s.dtls() && s.rtcp_mux);
        assert_eq!(s.setup, Some(Setup::Actpass));
        assert_eq!(s.fingerprints, vec!["sha-256 AA:BB"]);
        let names: Vec<_> = s.codecs.iter().map(|c| (c.pt, c.name.as_str())).collect();
        assert_eq!(
            names,
            vec![(111, "opus"), (0, "PCMU"), (126, "telephone-event")]
        );
        assert_eq!(s.codec(111).unwrap().channels, 2);
        assert_eq!(s.codec_lines.len(), 4);
    }

    #[test]
    fn writes_a_plain_sip_side() {
        let d = parse(CHROME).unwrap();
        let local = LocalTransport {
            port: 20000,
            ice: None,
            dtls: None,
            crypto: None,
            rtcp_mux: false,
        };
        let sdp = write("192.0.2.1".parse().unwrap(), 7, &d.streams, &[local], false);
        assert!(sdp.contains("m=audio 20000 RTP/AVP 111 0 126\r\n"), "{sdp}");
        assert!(sdp.contains("c=IN IP4 192.0.2.1\r\n"));
        assert!(!sdp.contains("ice-"), "{sdp}");
        assert!(!sdp.contains("fingerprint"));
        assert!(!sdp.contains("rtcp-fb"), "feedback needs AVPF: {sdp}");
        assert!(sdp.contains("a=fmtp:111 minptime=10;useinbandfec=1\r\n"));
        let back = parse(&sdp).unwrap();
        assert_eq!(back.streams[0].codecs, d.streams[0].codecs);
    }

    #[test]
    fn writes_an_ice_lite_dtls_side() {
        let d = parse("v=0\r\nc=IN IP4 198.51.100.7\r\nm=audio 4000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n").unwrap();
        let local = LocalTransport {
            port: 20002,
            ice: Some(("ufrag".into(), "pwd".into())),
            dtls: Some(("sha-256 01:02".into(), Setup::Actpass)),
            crypto: None,
            rtcp_mux: true,
        };
        let sdp = write("192.0.2.1".parse().unwrap(), 7, &d.streams, &[local], true);
        for want in [
            "a=group:BUNDLE audio",
            "a=ice-lite",
            "m=audio 20002 UDP/TLS/RTP/SAVPF 8 101",
            "a=mid:audio",
            "a=rtcp-mux",
            "a=ice-ufrag:ufrag",
            "a=candidate:1 1 udp 2130706431 192.0.2.1 20002 typ host",
            "a=fingerprint:sha-256 01:02",
            "a=setup:actpass",
        ] {
            assert!(
                sdp.contains(&format!("{want}\r\n")),
                "{want} missing: {sdp}"
            );
        }
        assert_eq!(d.streams[0].address, Some("198.51.100.7".parse().unwrap()));
        assert_eq!(d.streams[0].codec(8).unwrap().name, "PCMA");
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse("v=0\r\n").is_err());
        assert!(parse("m=audio x RTP/AVP 0").is_err());
    }

    proptest::proptest! {
        /// Hostile SDP never panics the reader or the offer it leads to.
        #[test]
        fn never_panics(lines in proptest::collection::vec("[a-z]=[ -~]{0,40}", 0..30)) {
            let text = lines.join("\r\n");
            if let Ok(d) = parse(&text) {
                let ports = crate::media::engine::negotiate::Ports {
                    xmpp: vec![20000; d.streams.len()],
                    sip: vec![20002; d.streams.len()],
                };
                let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1);
                for from in [crate::media::anchor::MediaLeg::Xmpp, crate::media::anchor::MediaLeg::Sip] {
                    let _ = crate::media::engine::negotiate::offer(
                        &mut rng,
                        from,
                        &text,
                        crate::media::anchor::SipSrtp::Sdes,
                        ports.clone(),
                        "192.0.2.1".parse().unwrap(),
                        "sha-256 00",
                    );
                }
            }
        }
    }
}
