//! Issue 7, DTMF on real sockets: a digit handed to the embedded anchor
//! (`MediaAnchors::dtmf`, what `Output::Dtmf` becomes in the runtime)
//! reaches the SIP peer's socket as RFC 4733 telephone-event packets in the
//! stream the anchor forwards from the XMPP client. The packets are decoded
//! field by field: payload type, SSRC, sequence, timestamp, marker, event,
//! E bit, volume, duration.
//!
//! The XMPP leg is a plain-RTP client as in `media_relay.rs`, so plain UDP
//! sockets can play both ends.

use std::net::SocketAddr;
use std::time::Duration;
use stox::call::Input;
use stox::config::Config;
use stox::media::anchor::{AnchorOp, AnchorRequest, MediaLeg, MediaMode, SipSrtp};
use stox::runtime::media::MediaAnchors;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

fn config() -> Config {
    Config::from_toml_str(
        r#"
[xmpp]
domain = "sip.test"
secret = "s"
[media]
mode = "embedded"
bind = "127.0.0.1"
public_ip = "127.0.0.1"
port_range = "41400-41499"
inactivity_secs = 0
"#,
        &[],
    )
    .expect("config")
}

fn request(op: AnchorOp, from: MediaLeg, sdp: String) -> AnchorRequest {
    AnchorRequest {
        call: "dtmf-1".into(),
        op,
        from,
        sdp,
        mode: MediaMode::Embedded,
        sip_srtp: SipSrtp::None,
    }
}

async fn anchored(
    anchors: &mut MediaAnchors,
    rx: &mut mpsc::Receiver<Input>,
    req: AnchorRequest,
) -> String {
    anchors.request(req);
    match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
        Ok(Some(Input::Anchored(reply))) => reply.result.expect("anchor reply"),
        other => panic!("no anchor reply: {other:?}"),
    }
}

fn media_port(sdp: &str) -> u16 {
    let m = sdp.lines().find(|l| l.starts_with("m=audio")).unwrap();
    m.split_whitespace().nth(1).unwrap().parse().unwrap()
}

async fn recv(sock: &UdpSocket, wait: Duration) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 2048];
    match tokio::time::timeout(wait, sock.recv_from(&mut buf)).await {
        Ok(Ok((n, _))) => Some(buf[..n].to_vec()),
        _ => None,
    }
}

#[tokio::test]
async fn a_digit_reaches_the_sip_peer_as_rfc4733_events_in_the_forwarded_stream() {
    let (tx, mut rx) = mpsc::channel(64);
    let mut anchors = MediaAnchors::start(&config(), tx).await.unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let phone = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let client_port = client.local_addr().unwrap().port();
    let phone_port = phone.local_addr().unwrap().port();

    // The client numbers telephone-event 126, the phone 96: the events must
    // carry the phone's number.
    let offer = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {client_port} RTP/AVP 0 126\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:126 telephone-event/8000\r\na=sendrecv\r\n"
    );
    let to_sip = anchored(
        &mut anchors,
        &mut rx,
        request(AnchorOp::Offer, MediaLeg::Xmpp, offer),
    )
    .await;
    let answer = format!(
        "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {phone_port} RTP/AVP 0 96\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:96 telephone-event/8000\r\na=sendrecv\r\n"
    );
    let to_xmpp = anchored(
        &mut anchors,
        &mut rx,
        request(AnchorOp::Answer, MediaLeg::Sip, answer),
    )
    .await;
    let anchor_xmpp: SocketAddr = format!("127.0.0.1:{}", media_port(&to_xmpp))
        .parse()
        .unwrap();
    let _ = media_port(&to_sip);

    // Audio from the client: seq 500, timestamp 16000, SSRC 0x5151.
    let mut audio = vec![0x80, 0, 0x01, 0xf4];
    audio.extend_from_slice(&16000u32.to_be_bytes());
    audio.extend_from_slice(&0x5151u32.to_be_bytes());
    audio.extend_from_slice(&[0xd5; 160]);
    client.send_to(&audio, anchor_xmpp).await.unwrap();
    let got = recv(&phone, Duration::from_secs(2)).await.expect("audio");
    assert_eq!(u16::from_be_bytes([got[2], got[3]]), 500);

    anchors.dtmf("dtmf-1", '9', 100);
    let mut events = Vec::new();
    while let Some(p) = recv(&phone, Duration::from_millis(500)).await {
        events.push(p);
    }
    // 100 ms: an update at once and at 50 ms (E bit), then two more end packets.
    assert_eq!(events.len(), 4, "{events:?}");
    for (k, p) in events.iter().enumerate() {
        assert_eq!(p.len(), 16, "12-byte header, 4-byte event");
        assert_eq!(p[0], 0x80);
        assert_eq!(p[1] & 0x80 != 0, k == 0, "marker on the first packet only");
        assert_eq!(p[1] & 0x7f, 96, "the phone's telephone-event number");
        assert_eq!(
            u16::from_be_bytes([p[2], p[3]]),
            501 + k as u16,
            "the forwarded stream's next sequence numbers"
        );
        let ts = u32::from_be_bytes([p[4], p[5], p[6], p[7]]);
        assert!(
            (16000..16000 + 8000).contains(&ts),
            "the event starts on the audio's timeline: {ts}"
        );
        assert_eq!(
            u32::from_be_bytes([p[8], p[9], p[10], p[11]]),
            0x5151,
            "the forwarded stream's SSRC"
        );
        assert_eq!(p[12], 9, "event 9");
        assert_eq!(p[13] & 0x80 != 0, k >= 1, "E bit");
        assert_eq!(p[13] & 0x3f, 10, "volume");
        let duration = u16::from_be_bytes([p[14], p[15]]);
        assert_eq!(duration, if k == 0 { 400 } else { 800 });
    }
    let first_ts = &events[0][4..8];
    assert!(events.iter().all(|p| &p[4..8] == first_ts), "one timestamp");

    // The client's next packet follows the injected ones.
    audio[2..4].copy_from_slice(&501u16.to_be_bytes());
    client.send_to(&audio, anchor_xmpp).await.unwrap();
    let got = recv(&phone, Duration::from_secs(2)).await.expect("audio");
    assert_eq!(u16::from_be_bytes([got[2], got[3]]), 505);

    // A digit for a call the anchor does not hold is dropped, not a crash.
    anchors.dtmf("no-such-call", '1', 100);
    anchors.release("dtmf-1", MediaMode::Embedded);
}
