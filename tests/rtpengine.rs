//! The rtpengine ng client against a real rtpengine (Debian's 10.5): the
//! flags of `media::rtpengine::message` produce, for each leg, the SDP that
//! leg can use — plain RTP/AVP (or RTP/SAVP with SDES) and no ICE toward SIP;
//! ICE, DTLS-SRTP with a definite setup role and rtcp-mux toward XMPP — and
//! the client's cookies, errors, timeouts and concurrency hold.
//!
//! Ignored by a plain test run because it needs a daemon: `interop/rtpengine.sh
//! test` installs rtpengine, starts a private one and runs these with its ng
//! address in `STOX_RTPENGINE`. Run without that variable, they fail.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use stox::media::anchor::{AnchorError, AnchorOp, AnchorRequest, MediaLeg, MediaMode, SipSrtp};
use stox::media::rtpengine::{Retransmit, RtpengineClient};

fn daemon() -> SocketAddr {
    let v = std::env::var("STOX_RTPENGINE").unwrap_or_else(|_| {
        panic!(
            "STOX_RTPENGINE is not set: these tests need a running rtpengine's ng address \
             (host:port); interop/rtpengine.sh test starts one and sets it"
        )
    });
    v.parse()
        .unwrap_or_else(|e| panic!("STOX_RTPENGINE={v:?} is not host:port: {e}"))
}

async fn client() -> RtpengineClient {
    RtpengineClient::connect(daemon()).await.unwrap()
}

fn corpus(name: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::var_os("STOX_CORPUS")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            [
                root.join("../shared/corpus"),
                root.join("../../shared/corpus"),
            ]
            .into_iter()
            .find(|p| p.is_dir())
        })
        .expect("shared corpus not found; set STOX_CORPUS");
    std::fs::read_to_string(dir.join("sdp").join(name)).unwrap()
}

/// SDP with CRLF line ends, as `translate` and SIP peers send it.
fn crlf(text: &str) -> String {
    text.lines().map(|l| format!("{l}\r\n")).collect()
}

/// Chrome's audio, as `translate` writes it from a XEP-0167
/// session-initiate: UDP/TLS/RTP/SAVPF, ICE credentials, `setup:actpass`,
/// rtcp-mux, and `c=IN IP4 0.0.0.0` because the candidates trickle later.
fn chrome_offer_trickled() -> String {
    let full = corpus("stanza-generated-from-xep0167-session-initiate-chrome.sdp");
    let audio = full.split("m=video").next().unwrap();
    crlf(&audio.replace("a=group:BUNDLE audio video", "a=group:BUNDLE audio"))
}

/// The same offer once a host candidate is known (what the core sends when
/// candidates arrived before the trickle deadline).
fn chrome_offer_with_candidate() -> String {
    chrome_offer_trickled().replace("c=IN IP4 0.0.0.0", "c=IN IP4 127.0.0.1")
        + "a=candidate:1 1 udp 2113937151 127.0.0.1 50000 typ host generation 0\r\n"
}

/// A SIP phone's answer to the plain offer: PCMU and telephone-event/8000
/// at the payload types the offer used.
fn sip_answer(proto: &str, crypto: Option<&str>) -> String {
    let mut s = crlf(
        "v=0\n\
         o=phone 4711 4711 IN IP4 127.0.0.1\n\
         s=-\n\
         c=IN IP4 127.0.0.1\n\
         t=0 0\n",
    );
    s += &format!("m=audio 30000 {proto} 0 126\r\n");
    s += "a=rtpmap:0 PCMU/8000\r\na=rtpmap:126 telephone-event/8000\r\na=fmtp:126 0-15\r\n";
    if let Some(c) = crypto {
        s += &format!("a=crypto:{c}\r\n");
    }
    s + "a=sendrecv\r\n"
}

/// An SBC's plain offer (PCMA, telephone-event/8000 at 96), moved to loopback.
fn sip_offer() -> String {
    crlf(
        &corpus("rtpengine-sbc01-offer-pcma-te.sdp")
            .replace("91.236.83.250", "127.0.0.1")
            .replace("91.236.83.218", "127.0.0.1"),
    )
}

/// Chrome's answer (setup:active, candidates, rtcp-mux) to rtpengine's
/// offer: the audio of a real Chrome answer, its SDES line removed (WebRTC
/// answers to a DTLS-only offer carry none) and its codecs narrowed to what
/// the SBC offered, PCMA and telephone-event at 96.
fn chrome_answer() -> String {
    let full = corpus("mozilla-webrtcsdp-chrome-answer-relay.sdp");
    let audio = full.split("m=video").next().unwrap();
    let lines: Vec<String> = audio
        .lines()
        .filter(|l| !l.starts_with("a=crypto"))
        .filter(|l| !l.starts_with("a=rtpmap:") || l.contains("PCMA") || l.contains("8000"))
        .map(|l| {
            l.replace("a=group:BUNDLE audio video", "a=group:BUNDLE audio")
                .replace(
                    "UDP/TLS/RTP/SAVPF 111 103 104 0 8 107 106 105 13 126",
                    "UDP/TLS/RTP/SAVPF 8 96",
                )
                .replace(
                    "a=rtpmap:126 telephone-event",
                    "a=rtpmap:96 telephone-event",
                )
        })
        .filter(|l| {
            !l.starts_with("a=rtpmap:")
                || l.starts_with("a=rtpmap:8 ")
                || l.starts_with("a=rtpmap:96 ")
        })
        .collect();
    crlf(&lines.join("\n"))
}

fn request(call: &str, op: AnchorOp, from: MediaLeg, sdp: String, srtp: SipSrtp) -> AnchorRequest {
    AnchorRequest {
        call: call.into(),
        op,
        from,
        sdp,
        mode: MediaMode::Rtpengine,
        sip_srtp: srtp,
    }
}

/// A unique call id per run, so that reruns against one daemon never meet
/// an old call.
fn call_id(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}-{nanos}")
}

/// The lines of an SDP, for assertions.
struct Sdp(Vec<String>);

impl Sdp {
    fn new(text: &str) -> Self {
        Sdp(text.lines().map(str::to_string).collect())
    }
    fn has(&self, prefix: &str) -> bool {
        self.0.iter().any(|l| l.starts_with(prefix))
    }
    fn all(&self, prefix: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|l| l.starts_with(prefix))
            .map(String::as_str)
            .collect()
    }
    fn one(&self, prefix: &str) -> &str {
        let found = self.all(prefix);
        assert_eq!(
            found.len(),
            1,
            "one {prefix} line expected in\n{}",
            self.0.join("\n")
        );
        found[0]
    }
    /// `m=audio PORT PROTO PTS…` split.
    fn media(&self) -> (u16, String, Vec<String>) {
        let m = self.one("m=audio ");
        let mut f = m.split_whitespace().skip(1);
        let port = f.next().unwrap().parse().unwrap();
        let proto = f.next().unwrap().to_string();
        (port, proto, f.map(str::to_string).collect())
    }
    fn codecs(&self) -> Vec<String> {
        self.all("a=rtpmap:")
            .iter()
            .map(|l| l.to_string())
            .collect()
    }
    fn dump(&self) -> String {
        self.0.join("\n")
    }
}

/// What every SDP for the SIP leg must be: rtpengine's loopback address,
/// `proto`, no ICE, no DTLS, RTCP on its own port.
fn assert_sip_side(sdp: &Sdp, proto: &str) {
    let d = sdp.dump();
    let (port, p, _) = sdp.media();
    assert_eq!(p, proto, "{d}");
    assert_ne!(port, 0, "{d}");
    assert_eq!(sdp.all("c=IN IP4 "), ["c=IN IP4 127.0.0.1"], "{d}");
    assert!(sdp.one("o=").ends_with(" IN IP4 127.0.0.1"), "{d}");
    for absent in [
        "a=ice-ufrag",
        "a=ice-pwd",
        "a=ice-options",
        "a=candidate",
        "a=fingerprint",
        "a=setup",
        "a=rtcp-mux",
    ] {
        assert!(!sdp.has(absent), "{absent} toward SIP:\n{d}");
    }
    assert_eq!(
        sdp.one("a=rtcp:"),
        format!("a=rtcp:{}", port + 1),
        "RTCP demuxed:\n{d}"
    );
    assert!(sdp.has("a=sendrecv"), "{d}");
}

/// What every SDP for the XMPP leg must be: WebRTC's profile, rtpengine's
/// ICE credentials and candidates, its fingerprint, `setup` as expected,
/// rtcp-mux, no SDES.
fn assert_xmpp_side(sdp: &Sdp, setup: &[&str]) {
    let d = sdp.dump();
    let (port, proto, _) = sdp.media();
    assert_eq!(proto, "UDP/TLS/RTP/SAVPF", "{d}");
    assert!(sdp.has("a=ice-ufrag:") && sdp.has("a=ice-pwd:"), "{d}");
    let cands = sdp.all("a=candidate:");
    assert!(!cands.is_empty(), "{d}");
    assert!(
        cands
            .iter()
            .any(|c| c.contains(&format!(" 127.0.0.1 {port} typ host"))),
        "a host candidate on rtpengine's port:\n{d}"
    );
    assert!(
        sdp.one("a=fingerprint:")
            .starts_with("a=fingerprint:sha-256 "),
        "{d}"
    );
    let s = sdp.one("a=setup:");
    assert!(
        setup.iter().any(|want| s == format!("a=setup:{want}")),
        "{s} not in {setup:?}:\n{d}"
    );
    assert!(sdp.has("a=rtcp-mux"), "{d}");
    assert!(!sdp.has("a=crypto"), "no SDES toward WebRTC:\n{d}");
    assert!(sdp.has("a=mid:"), "{d}");
    assert!(
        sdp.all("c=IN IP4 ")
            .iter()
            .all(|c| *c == "c=IN IP4 127.0.0.1"),
        "{d}"
    );
}

async fn offer_answer_from_xmpp(offer: String, srtp: SipSrtp) -> (Sdp, Sdp, String) {
    let c = client().await;
    let call = call_id("xmpp-to-sip");
    let reply = c
        .request(&request(
            &call,
            AnchorOp::Offer,
            MediaLeg::Xmpp,
            offer.clone(),
            srtp,
        ))
        .await;
    assert_eq!(reply.call, call);
    assert_eq!(reply.op, AnchorOp::Offer);
    let to_sip = Sdp::new(&reply.result.unwrap());
    let (proto, crypto) = match srtp {
        SipSrtp::None => ("RTP/AVP", None),
        SipSrtp::Sdes => (
            "RTP/SAVP",
            Some("1 AES_CM_128_HMAC_SHA1_80 inline:ayId2M5kCitGTEEI9OjgEqatTA0IXGpQhFjmKOGk"),
        ),
    };
    let reply = c
        .request(&request(
            &call,
            AnchorOp::Answer,
            MediaLeg::Sip,
            sip_answer(proto, crypto),
            srtp,
        ))
        .await;
    assert_eq!(reply.op, AnchorOp::Answer);
    let to_xmpp = Sdp::new(&reply.result.unwrap());
    (to_sip, to_xmpp, call)
}

#[tokio::test]
#[ignore = "needs a running rtpengine; run by interop/rtpengine.sh test"]
async fn ping_answers_pong() {
    client().await.ping().await.unwrap();
}

#[tokio::test]
#[ignore = "needs a running rtpengine; run by interop/rtpengine.sh test"]
async fn xmpp_call_to_sip_plain_rtp() {
    let offer = chrome_offer_with_candidate();
    let offered = Sdp::new(&offer).codecs();
    let (to_sip, to_xmpp, call) = offer_answer_from_xmpp(offer, SipSrtp::None).await;

    assert_sip_side(&to_sip, "RTP/AVP");
    assert!(!to_sip.has("a=crypto"), "{}", to_sip.dump());
    assert_eq!(
        to_sip.codecs(),
        offered,
        "the same codecs, same payload types"
    );

    assert_xmpp_side(&to_xmpp, &["active", "passive"]);
    let (_, _, pts) = to_xmpp.media();
    assert_eq!(pts, ["0", "126"], "the codecs the phone answered");

    client().await.delete(&call).await.unwrap();
}

#[tokio::test]
#[ignore = "needs a running rtpengine; run by interop/rtpengine.sh test"]
async fn trickled_xmpp_offer_is_not_taken_for_hold() {
    // c=0.0.0.0 from translate means "no candidate yet", never RFC 2543 hold.
    let (to_sip, to_xmpp, call) =
        offer_answer_from_xmpp(chrome_offer_trickled(), SipSrtp::None).await;
    assert_sip_side(&to_sip, "RTP/AVP");
    assert!(
        !to_sip.has("a=sendonly") && !to_sip.has("a=inactive"),
        "{}",
        to_sip.dump()
    );
    assert_xmpp_side(&to_xmpp, &["active", "passive"]);
    client().await.delete(&call).await.unwrap();
}

#[tokio::test]
#[ignore = "needs a running rtpengine; run by interop/rtpengine.sh test"]
async fn xmpp_call_to_sip_sdes() {
    let (to_sip, to_xmpp, call) =
        offer_answer_from_xmpp(chrome_offer_with_candidate(), SipSrtp::Sdes).await;
    assert_sip_side(&to_sip, "RTP/SAVP");
    let crypto = to_sip.all("a=crypto:");
    assert!(
        crypto
            .iter()
            .any(|c| c.contains(" AES_CM_128_HMAC_SHA1_80 inline:")),
        "{}",
        to_sip.dump()
    );
    for unwanted in ["NULL_", "F8_", "AES_192_", "AES_256_CM"] {
        assert!(
            !crypto.iter().any(|c| c.contains(unwanted)),
            "{unwanted}: {crypto:?}"
        );
    }
    assert_xmpp_side(&to_xmpp, &["active", "passive"]);
    client().await.delete(&call).await.unwrap();
}

async fn sip_call_to_xmpp(offer: String, srtp: SipSrtp) -> (Sdp, Sdp, String) {
    let c = client().await;
    let call = call_id("sip-to-xmpp");
    let reply = c
        .request(&request(&call, AnchorOp::Offer, MediaLeg::Sip, offer, srtp))
        .await;
    let to_xmpp = Sdp::new(&reply.result.unwrap());
    let reply = c
        .request(&request(
            &call,
            AnchorOp::Answer,
            MediaLeg::Xmpp,
            chrome_answer(),
            srtp,
        ))
        .await;
    let to_sip = Sdp::new(&reply.result.unwrap());
    (to_xmpp, to_sip, call)
}

#[tokio::test]
#[ignore = "needs a running rtpengine; run by interop/rtpengine.sh test"]
async fn sip_call_to_xmpp_plain_rtp() {
    let offer = sip_offer();
    let offered = Sdp::new(&offer).codecs();
    let (to_xmpp, to_sip, call) = sip_call_to_xmpp(offer, SipSrtp::None).await;

    assert_xmpp_side(&to_xmpp, &["actpass"]);
    assert_eq!(to_xmpp.codecs(), offered);

    assert_sip_side(&to_sip, "RTP/AVP");
    assert!(!to_sip.has("a=crypto"), "{}", to_sip.dump());
    assert_eq!(to_sip.media().2, ["8", "96"]);
    client().await.delete(&call).await.unwrap();
}

#[tokio::test]
#[ignore = "needs a running rtpengine; run by interop/rtpengine.sh test"]
async fn sip_call_to_xmpp_sdes() {
    let offer = sip_offer().replace("RTP/AVP", "RTP/SAVP")
        + "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:ayId2M5kCitGTEEI9OjgEqatTA0IXGpQhFjmKOGk\r\n";
    let (to_xmpp, to_sip, call) = sip_call_to_xmpp(offer, SipSrtp::Sdes).await;
    assert_xmpp_side(&to_xmpp, &["actpass"]);
    assert_sip_side(&to_sip, "RTP/SAVP");
    let crypto = to_sip.one("a=crypto:");
    assert!(
        crypto.starts_with("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"),
        "{crypto}"
    );
    assert!(
        !crypto.contains("ayId2M5kCitGTEEI9OjgEqatTA0IXGpQhFjmKOGk"),
        "rtpengine's own key"
    );
    client().await.delete(&call).await.unwrap();
}

#[tokio::test]
#[ignore = "needs a running rtpengine; run by interop/rtpengine.sh test"]
async fn xmpp_answer_passive_makes_rtpengine_active() {
    // A client that answers `passive` must work too: rtpengine connects.
    let c = client().await;
    let call = call_id("passive");
    c.request(&request(
        &call,
        AnchorOp::Offer,
        MediaLeg::Sip,
        sip_offer(),
        SipSrtp::None,
    ))
    .await
    .result
    .unwrap();
    let answer = chrome_answer().replace("a=setup:active", "a=setup:passive");
    let to_sip = c
        .request(&request(
            &call,
            AnchorOp::Answer,
            MediaLeg::Xmpp,
            answer,
            SipSrtp::None,
        ))
        .await
        .result
        .unwrap();
    assert_sip_side(&Sdp::new(&to_sip), "RTP/AVP");
    c.delete(&call).await.unwrap();
}

#[tokio::test]
#[ignore = "needs a running rtpengine; run by interop/rtpengine.sh test"]
async fn errors_are_replies_not_hangs() {
    let c = client().await;
    // Deleting a call rtpengine does not know.
    let t = Instant::now();
    match c.delete(&call_id("never-offered")).await {
        Err(AnchorError::Unacceptable(why)) => assert!(why.contains("not found"), "{why}"),
        other => panic!("delete of an unknown call: {other:?}"),
    }
    assert!(
        t.elapsed() < Duration::from_millis(400),
        "answered, not timed out"
    );
    // An answer for a call that was never offered.
    let r = c
        .request(&request(
            &call_id("no-offer"),
            AnchorOp::Answer,
            MediaLeg::Sip,
            sip_answer("RTP/AVP", None),
            SipSrtp::None,
        ))
        .await;
    assert!(
        matches!(r.result, Err(AnchorError::Unacceptable(_))),
        "{r:?}"
    );
    // SDP rtpengine cannot parse.
    let r = c
        .request(&request(
            &call_id("garbage"),
            AnchorOp::Offer,
            MediaLeg::Sip,
            "this is not SDP".into(),
            SipSrtp::None,
        ))
        .await;
    assert_eq!(
        r.result,
        Err(AnchorError::Unacceptable("Failed to parse SDP".into()))
    );
    // A delete of a call that existed.
    let call = call_id("deleted");
    c.request(&request(
        &call,
        AnchorOp::Offer,
        MediaLeg::Sip,
        sip_offer(),
        SipSrtp::None,
    ))
    .await
    .result
    .unwrap();
    c.delete(&call).await.unwrap();
}

#[tokio::test]
#[ignore = "needs a running rtpengine; run by interop/rtpengine.sh test"]
async fn times_out_where_nothing_answers() {
    let fast = Retransmit {
        tries: 3,
        interval: Duration::from_millis(100),
    };
    // A closed port (ICMP port unreachable) and a bound but silent one.
    let closed = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    for addr in [closed, silent.local_addr().unwrap()] {
        let c = RtpengineClient::connect_with(addr, fast).await.unwrap();
        let t = Instant::now();
        let r = c
            .request(&request(
                "c",
                AnchorOp::Offer,
                MediaLeg::Sip,
                sip_offer(),
                SipSrtp::None,
            ))
            .await;
        let took = t.elapsed();
        match r.result {
            Err(AnchorError::Unavailable(why)) => {
                assert!(
                    why.contains(&format!("rtpengine at {addr} did not answer")),
                    "{why}"
                )
            }
            other => panic!("{addr}: {other:?}"),
        }
        assert!(
            took >= Duration::from_millis(290) && took < Duration::from_secs(2),
            "{addr}: three tries 100 ms apart took {took:?}"
        );
        assert!(matches!(c.ping().await, Err(AnchorError::Unavailable(_))));
    }
    // The silent socket got every retransmission, all with one cookie.
    silent.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 4096];
    let mut cookies = Vec::new();
    while let Ok(n) = silent.recv(&mut buf) {
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        cookies.push(text.split(' ').next().unwrap().to_string());
    }
    assert_eq!(
        cookies.len(),
        6,
        "3 offer tries + 3 ping tries: {cookies:?}"
    );
    assert!(cookies[..3].iter().all(|c| *c == cookies[0]), "{cookies:?}");
    assert!(cookies[3..].iter().all(|c| *c == cookies[3]), "{cookies:?}");
    assert_ne!(cookies[0], cookies[3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a running rtpengine; run by interop/rtpengine.sh test"]
async fn concurrent_requests_get_their_own_replies() {
    let c = Arc::new(client().await);
    let run = call_id("many");
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let c = Arc::clone(&c);
        let call = format!("{run}-{i}");
        tasks.spawn(async move {
            // Half from each side, so both flag sets run at once.
            let (from, sdp) = if i % 2 == 0 {
                (MediaLeg::Sip, sip_offer())
            } else {
                (MediaLeg::Xmpp, chrome_offer_with_candidate())
            };
            let r = c
                .request(&request(&call, AnchorOp::Offer, from, sdp, SipSrtp::None))
                .await;
            (call, from, r)
        });
    }
    let mut ports = std::collections::BTreeSet::new();
    while let Some(done) = tasks.join_next().await {
        let (call, from, r) = done.unwrap();
        assert_eq!(r.call, call);
        let sdp = Sdp::new(&r.result.unwrap_or_else(|e| panic!("{call}: {e}")));
        match from {
            MediaLeg::Sip => assert_xmpp_side(&sdp, &["actpass"]),
            MediaLeg::Xmpp => assert_sip_side(&sdp, "RTP/AVP"),
        }
        assert!(ports.insert(sdp.media().0), "{call}: a port given twice");
        c.delete(&call).await.unwrap();
    }
    assert_eq!(ports.len(), 20);
}

/// The address and port rtpengine sends the `tag` side's first stream to,
/// from `query`.
async fn endpoint(c: &RtpengineClient, call: &str, tag: &str) -> String {
    let q = c.query(call).await.unwrap();
    let stream = q
        .get("tags")
        .and_then(|t| t.get(tag))
        .and_then(|t| t.get("medias"))
        .and_then(|m| match m {
            stox::media::rtpengine::bencode::Value::List(l) => l.first(),
            _ => None,
        })
        .and_then(|m| m.get("streams"))
        .and_then(|s| match s {
            stox::media::rtpengine::bencode::Value::List(l) => l.first(),
            _ => None,
        })
        .and_then(|s| s.get("endpoint"))
        .unwrap_or_else(|| panic!("no {tag} endpoint in {q:?}"));
    let addr = stream.get("address").and_then(|a| a.as_str()).unwrap();
    let port = match stream.get("port") {
        Some(stox::media::rtpengine::bencode::Value::Int(p)) => *p,
        other => panic!("{other:?}"),
    };
    format!("{addr}:{port}")
}

/// One second of silence as a WAV file (8 kHz, 16-bit mono), for `play media`.
fn wav() -> Vec<u8> {
    let data = vec![0u8; 16_000];
    let mut w = Vec::new();
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes()); // PCM
    w.extend_from_slice(&1u16.to_le_bytes()); // mono
    w.extend_from_slice(&8000u32.to_le_bytes());
    w.extend_from_slice(&16_000u32.to_le_bytes());
    w.extend_from_slice(&2u16.to_le_bytes());
    w.extend_from_slice(&16u16.to_le_bytes());
    w.extend_from_slice(b"data");
    w.extend_from_slice(&(data.len() as u32).to_le_bytes());
    w.extend_from_slice(&data);
    w
}

/// rtpengine sends media of its own toward `tag`'s side (`play media`, over
/// a raw ng socket: the client has no command for it), to the address it
/// currently holds for that side.
async fn play_toward(call: &str, tag: &str) {
    use stox::media::rtpengine::bencode::{Value, dict};
    use stox::media::rtpengine::reply::{frame, unframe};
    let msg = dict([
        ("command", Value::str("play media")),
        ("call-id", Value::str(call)),
        ("from-tag", Value::str(tag)),
        ("blob", Value::Bytes(wav())),
    ]);
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    // A fresh cookie each time: rtpengine answers a cookie it has seen
    // from its cache, without playing again.
    let cookie = call_id("play");
    sock.send_to(&frame(&cookie, &msg), daemon()).await.unwrap();
    let mut buf = vec![0u8; 65_536];
    let n = tokio::time::timeout(Duration::from_secs(2), sock.recv(&mut buf))
        .await
        .expect("play media: no reply")
        .unwrap();
    let (_, reply) = unframe(&buf[..n]).unwrap();
    assert_eq!(
        reply.get("result").and_then(Value::as_str),
        Some("ok"),
        "play media: {reply:?}"
    );
}

/// Whether an RTP packet arrives at `sock` within `wait`.
fn receives(sock: &UdpSocket, wait: Duration) -> bool {
    sock.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 2048];
    matches!(sock.recv_from(&mut buf), Ok((n, _)) if n >= 12 && buf[0] >> 6 == 2)
}

/// Drains what is queued at `sock` (rtpengine plays a whole second).
fn drain(sock: &UdpSocket) {
    sock.set_read_timeout(Some(Duration::from_millis(1200)))
        .unwrap();
    let mut buf = [0u8; 2048];
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(1200) && sock.recv_from(&mut buf).is_ok() {}
}

/// A loopback UDP socket standing for a SIP phone's RTP port, and its port.
fn phone() -> (UdpSocket, u16) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = s.local_addr().unwrap().port();
    (s, port)
}

/// The same as `sip_answer`, at `port`, in `direction`.
fn sip_desc(port: u16, direction: &str) -> String {
    sip_answer("RTP/AVP", None)
        .replace("m=audio 30000", &format!("m=audio {port}"))
        .replace("a=sendrecv", &format!("a={direction}"))
}

/// What the XMPP side was told at set-up stays true after an in-dialog
/// re-negotiation: the same port, ICE credentials and DTLS fingerprint
/// (so its ICE and DTLS sessions go on), and the SIP side keeps its port.
fn assert_unchanged(before: &Sdp, after: &Sdp) {
    for line in ["a=ice-ufrag:", "a=ice-pwd:", "a=fingerprint:"] {
        assert_eq!(before.one(line), after.one(line), "{}", after.dump());
    }
    assert_eq!(before.media().0, after.media().0, "{}", after.dump());
}

/// A SIP re-INVITE that moves the phone (and holds): the runtime sends
/// rtpengine an `offer` from the SIP side with the new description and the
/// `answer` from the XMPP side with its set-up description (its `actpass`
/// settled to the role it took). rtpengine's media toward SIP then goes to
/// the new address, not the old one — even though it had latched the old.
#[tokio::test]
#[ignore = "needs a running rtpengine; run by interop/rtpengine.sh test"]
async fn sip_reoffer_moves_rtpengine_media_to_the_new_address() {
    let c = client().await;
    let call = call_id("sip-reoffer");
    let offer = chrome_offer_with_candidate();
    let (old, old_port) = phone();
    let (new, new_port) = phone();
    let to_sip = c
        .request(&request(
            &call,
            AnchorOp::Offer,
            MediaLeg::Xmpp,
            offer.clone(),
            SipSrtp::None,
        ))
        .await
        .result
        .unwrap();
    let to_xmpp = c
        .request(&request(
            &call,
            AnchorOp::Answer,
            MediaLeg::Sip,
            sip_desc(old_port, "sendrecv"),
            SipSrtp::None,
        ))
        .await
        .result
        .unwrap();
    let (to_sip, to_xmpp) = (Sdp::new(&to_sip), Sdp::new(&to_xmpp));
    // The phone talks from its old address: rtpengine latches onto it.
    let rtpengine_sip = SocketAddr::from(([127, 0, 0, 1], to_sip.media().0));
    let mut rtp = vec![0x80, 0, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4];
    rtp.extend([0xffu8; 160]);
    old.send_to(&rtp, rtpengine_sip).unwrap();
    play_toward(&call, "sip").await;
    assert!(
        receives(&old, Duration::from_secs(1)),
        "media at the old address first"
    );
    drain(&old);

    let settled = if to_xmpp.one("a=setup:") == "a=setup:active" {
        "passive"
    } else {
        "active"
    };
    let xmpp_answer = offer.replace("a=setup:actpass", &format!("a=setup:{settled}"));
    let (for_xmpp, for_sip) = c
        .renegotiate(
            &request(
                &call,
                AnchorOp::Offer,
                MediaLeg::Sip,
                sip_desc(new_port, "sendonly"),
                SipSrtp::None,
            ),
            &request(
                &call,
                AnchorOp::Answer,
                MediaLeg::Xmpp,
                xmpp_answer,
                SipSrtp::None,
            ),
        )
        .await
        .unwrap();
    assert_unchanged(&to_xmpp, &Sdp::new(&for_xmpp));
    assert_eq!(Sdp::new(&for_sip).media().0, to_sip.media().0, "{for_sip}");
    assert_eq!(
        endpoint(&c, &call, "sip").await,
        format!("127.0.0.1:{new_port}")
    );

    play_toward(&call, "sip").await;
    assert!(
        receives(&new, Duration::from_secs(1)),
        "media at the new address"
    );
    assert!(
        !receives(&old, Duration::from_millis(300)),
        "none at the old one"
    );
    c.delete(&call).await.unwrap();
}

/// The SIP side's new description as an *answer* (the 2xx to our hold
/// re-INVITE, a transfer target's 2xx, the ACK of a delayed offer) on a
/// call SIP offered at set-up: an `offer` from the XMPP side with its
/// set-up description (an answer then, `setup:active`), and the SIP
/// side's `answer`. Nothing the XMPP side was told changes; media toward SIP
/// follows the answer.
#[tokio::test]
#[ignore = "needs a running rtpengine; run by interop/rtpengine.sh test"]
async fn sip_answer_in_dialog_moves_rtpengine_media() {
    let c = client().await;
    let call = call_id("sip-answer");
    let (old, old_port) = phone();
    let (new, new_port) = phone();
    let to_xmpp = c
        .request(&request(
            &call,
            AnchorOp::Offer,
            MediaLeg::Sip,
            sip_desc(old_port, "sendrecv")
                .replace("0 126", "8 96")
                .replace("rtpmap:0 PCMU", "rtpmap:8 PCMA")
                .replace(":126 ", ":96 "),
            SipSrtp::None,
        ))
        .await
        .result
        .unwrap();
    let to_sip = c
        .request(&request(
            &call,
            AnchorOp::Answer,
            MediaLeg::Xmpp,
            chrome_answer(),
            SipSrtp::None,
        ))
        .await
        .result
        .unwrap();
    let (to_sip, to_xmpp) = (Sdp::new(&to_sip), Sdp::new(&to_xmpp));
    play_toward(&call, "sip").await;
    assert!(
        receives(&old, Duration::from_secs(1)),
        "media at the old address first"
    );
    drain(&old);

    let moved = sip_desc(new_port, "recvonly")
        .replace("0 126", "8 96")
        .replace("rtpmap:0 PCMU", "rtpmap:8 PCMA")
        .replace(":126 ", ":96 ");
    let (for_sip, for_xmpp) = c
        .renegotiate(
            &request(
                &call,
                AnchorOp::Offer,
                MediaLeg::Xmpp,
                chrome_answer(),
                SipSrtp::None,
            ),
            &request(&call, AnchorOp::Answer, MediaLeg::Sip, moved, SipSrtp::None),
        )
        .await
        .unwrap();
    assert_eq!(Sdp::new(&for_sip).media().0, to_sip.media().0, "{for_sip}");
    assert_unchanged(&to_xmpp, &Sdp::new(&for_xmpp));

    play_toward(&call, "sip").await;
    assert!(
        receives(&new, Duration::from_secs(1)),
        "media at the new address"
    );
    assert!(
        !receives(&old, Duration::from_millis(300)),
        "none at the old one"
    );
    c.delete(&call).await.unwrap();
}

/// A delayed-offer INVITE: the gateway's own SIP-side offer (no address
/// yet, `s=` naming it) must not read as hold toward XMPP; the XMPP answer
/// gives the 200's offer (rtpengine's address, sendrecv); the ACK's answer
/// then reaches rtpengine as an in-dialog answer (the XMPP side's answer
/// restated as the ng offer), and media goes to the phone.
#[tokio::test]
#[ignore = "needs a running rtpengine; run by interop/rtpengine.sh test"]
async fn delayed_offer_answer_in_the_ack_reaches_rtpengine() {
    let c = client().await;
    let call = call_id("delayed-offer");
    let (phone_sock, phone_port) = phone();
    let gateway_offer = crlf(&format!(
        "v=0\no=- 77 1 IN IP4 0.0.0.0\ns={}\nc=IN IP4 0.0.0.0\nt=0 0\n\
         m=audio 9 RTP/AVP 0 8 9 96 101\na=rtpmap:0 PCMU/8000\na=rtpmap:8 PCMA/8000\n\
         a=rtpmap:9 G722/8000\na=rtpmap:96 opus/48000/2\na=rtpmap:101 telephone-event/8000\n\
         a=fmtp:101 0-16\na=sendrecv\n",
        stox::media::anchor::GATEWAY_OFFER_SESSION
    ));
    let to_xmpp = c
        .request(&request(
            &call,
            AnchorOp::Offer,
            MediaLeg::Sip,
            gateway_offer,
            SipSrtp::None,
        ))
        .await
        .result
        .unwrap();
    let to_xmpp = Sdp::new(&to_xmpp);
    assert_xmpp_side(&to_xmpp, &["actpass"]);
    assert!(to_xmpp.has("a=sendrecv"), "not hold:\n{}", to_xmpp.dump());
    let xmpp_answer = chrome_answer()
        .replace("UDP/TLS/RTP/SAVPF 8 96", "UDP/TLS/RTP/SAVPF 8 101")
        .replace("a=rtpmap:96 telephone", "a=rtpmap:101 telephone");
    let ours = c
        .request(&request(
            &call,
            AnchorOp::Answer,
            MediaLeg::Xmpp,
            xmpp_answer.clone(),
            SipSrtp::None,
        ))
        .await
        .result
        .unwrap();
    let ours = Sdp::new(&ours);
    assert_sip_side(&ours, "RTP/AVP");

    let ack = sip_desc(phone_port, "sendrecv")
        .replace("0 126", "8 101")
        .replace("rtpmap:0 PCMU", "rtpmap:8 PCMA")
        .replace(":126 ", ":101 ");
    let (for_sip, for_xmpp) = c
        .renegotiate(
            &request(
                &call,
                AnchorOp::Offer,
                MediaLeg::Xmpp,
                xmpp_answer,
                SipSrtp::None,
            ),
            &request(&call, AnchorOp::Answer, MediaLeg::Sip, ack, SipSrtp::None),
        )
        .await
        .unwrap();
    assert_eq!(Sdp::new(&for_sip).media().0, ours.media().0, "{for_sip}");
    assert_unchanged(&to_xmpp, &Sdp::new(&for_xmpp));
    assert_eq!(
        endpoint(&c, &call, "sip").await,
        format!("127.0.0.1:{phone_port}")
    );
    play_toward(&call, "sip").await;
    assert!(
        receives(&phone_sock, Duration::from_secs(1)),
        "media at the phone"
    );
    c.delete(&call).await.unwrap();
}

/// With SDES toward SIP, a re-negotiation either way keeps rtpengine's key
/// for the suite the phone chose: we drop the SDPs rtpengine writes back, so
/// a new key would leave the phone decrypting with the old one.
#[tokio::test]
#[ignore = "needs a running rtpengine; run by interop/rtpengine.sh test"]
async fn sdes_key_toward_sip_survives_renegotiation() {
    let c = client().await;
    let offer = chrome_offer_with_candidate();
    let (to_sip, to_xmpp, call) = offer_answer_from_xmpp(offer.clone(), SipSrtp::Sdes).await;
    let chosen = to_sip
        .all("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:")
        .first()
        .map(|l| l.to_string())
        .expect("suite 1 offered");
    let crypto = "1 AES_CM_128_HMAC_SHA1_80 inline:ayId2M5kCitGTEEI9OjgEqatTA0IXGpQhFjmKOGk";
    let phone = |port: &str, dir: &str| {
        sip_answer("RTP/SAVP", Some(crypto))
            .replace("30000", port)
            .replace("a=sendrecv", dir)
    };
    // The phone answered ours (the XMPP side's description restated).
    let (for_sip, _) = c
        .renegotiate(
            &request(
                &call,
                AnchorOp::Offer,
                MediaLeg::Xmpp,
                offer.clone(),
                SipSrtp::Sdes,
            ),
            &request(
                &call,
                AnchorOp::Answer,
                MediaLeg::Sip,
                phone("30010", "a=sendrecv"),
                SipSrtp::Sdes,
            ),
        )
        .await
        .unwrap();
    assert!(Sdp::new(&for_sip).has(&chosen), "{for_sip}");
    // The phone re-offered (hold, moved).
    let settled = if to_xmpp.one("a=setup:") == "a=setup:active" {
        "passive"
    } else {
        "active"
    };
    let (_, for_sip) = c
        .renegotiate(
            &request(
                &call,
                AnchorOp::Offer,
                MediaLeg::Sip,
                phone("30020", "a=sendonly"),
                SipSrtp::Sdes,
            ),
            &request(
                &call,
                AnchorOp::Answer,
                MediaLeg::Xmpp,
                offer.replace("a=setup:actpass", &format!("a=setup:{settled}")),
                SipSrtp::Sdes,
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        Sdp::new(&for_sip).all("a=crypto:"),
        [chosen.as_str()],
        "{for_sip}"
    );
    c.delete(&call).await.unwrap();
}
