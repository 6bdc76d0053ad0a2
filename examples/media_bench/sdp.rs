//! The descriptions the generator's endpoints offer and answer, and what it
//! reads from the anchor's.

use std::net::{IpAddr, SocketAddr};
use stox::media::engine::sdp::{self, Setup};

/// ICE and DTLS parameters of the WebRTC-like XMPP client.
pub struct ClientSecurity<'a> {
    /// Our ufrag.
    pub ufrag: &'a str,
    /// Our password.
    pub pwd: &'a str,
    /// `sha-256 AB:…` of our certificate.
    pub fingerprint: &'a str,
}

fn head(ip: IpAddr, session: u64) -> String {
    format!("v=0\r\no=- {session} 1 IN IP4 {ip}\r\ns=-\r\nt=0 0\r\n")
}

/// The XMPP client's offer: plain RTP/AVP PCMU, or (with `security`) what a
/// browser offers for audio: one BUNDLEd m-line, ICE with a host candidate,
/// DTLS `actpass`, rtcp-mux.
pub fn xmpp_offer(at: SocketAddr, session: u64, security: Option<&ClientSecurity>) -> String {
    let (ip, port) = (at.ip(), at.port());
    let Some(sec) = security else {
        return head(ip, session)
            + &format!(
                "m=audio {port} RTP/AVP 0\r\nc=IN IP4 {ip}\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n"
            );
    };
    head(ip, session)
        + "a=group:BUNDLE 0\r\n"
        + &format!(
            "m=audio {port} UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 {ip}\r\na=mid:0\r\n\
             a=ice-ufrag:{}\r\na=ice-pwd:{}\r\na=fingerprint:{}\r\na=setup:actpass\r\n\
             a=rtcp-mux\r\na=sendrecv\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\n\
             a=candidate:1 1 udp 2130706431 {ip} {port} typ host\r\n",
            sec.ufrag, sec.pwd, sec.fingerprint
        )
}

/// The SIP phone's answer: plain RTP/AVP PCMU at `at`.
pub fn sip_answer(at: SocketAddr, session: u64) -> String {
    let (ip, port) = (at.ip(), at.port());
    head(ip, session)
        + &format!(
            "m=audio {port} RTP/AVP 0\r\nc=IN IP4 {ip}\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n"
        )
}

/// What a leg learns from the anchor's description for it.
#[derive(Debug, Clone)]
pub struct Remote {
    /// Where to send media (and checks): the first host candidate, else c=/m=.
    pub addr: SocketAddr,
    /// The anchor's ICE credentials, when it does ICE.
    pub ice: Option<(String, String)>,
    /// The anchor's fingerprints.
    pub fingerprints: Vec<String>,
    /// The anchor's `a=setup`.
    pub setup: Option<Setup>,
}

/// Reads the anchor's description for one leg.
pub fn remote(text: &str) -> Result<Remote, String> {
    let desc = sdp::parse(text)?;
    let s = desc.streams.first().ok_or("no m= line")?;
    let ip = s.address.ok_or("no c= address")?;
    let candidate = text.lines().find_map(|l| {
        // a=candidate:FOUNDATION 1 udp PRIORITY ADDR PORT typ host
        let f: Vec<&str> = l.strip_prefix("a=candidate:")?.split_whitespace().collect();
        if f.len() < 8 || f[1] != "1" || !f[2].eq_ignore_ascii_case("udp") {
            return None;
        }
        Some(SocketAddr::new(f[4].parse().ok()?, f[5].parse().ok()?))
    });
    Ok(Remote {
        addr: candidate.unwrap_or(SocketAddr::new(ip, s.port)),
        ice: s.ice_ufrag.clone().zip(s.ice_pwd.clone()),
        fingerprints: s.fingerprints.clone(),
        setup: s.setup,
    })
}
