//! The embedded anchor on real sockets: ports bound from the configured
//! range, RTP relayed between the legs, symmetric latching on the SIP side,
//! and RTP from an unexpected address not forwarded.
//!
//! The XMPP leg here is a plain-RTP client (no ICE, no DTLS: what an
//! XEP-0177 raw-UDP client offers), so the test can play both ends with
//! plain UDP sockets; ICE-lite and DTLS-SRTP are proven against Chromium in
//! `interop/media.py`. Loopback addresses 127.0.0.2 and 127.0.0.3 stand in
//! for a phone behind NAT and an attacker.

use std::net::SocketAddr;
use std::time::Duration;
use stox::call::Input;
use stox::config::Config;
use stox::media::anchor::{AnchorOp, AnchorRequest, MediaLeg, MediaMode, SipSrtp};
use stox::runtime::media::MediaAnchors;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

fn config(range: &str) -> Config {
    let text = format!(
        r#"
[xmpp]
domain = "sip.test"
secret = "s"
[media]
mode = "embedded"
bind = "127.0.0.1"
public_ip = "127.0.0.1"
port_range = "{range}"
inactivity_secs = 0
"#
    );
    Config::from_toml_str(&text, &[]).expect("config")
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
    let m = sdp
        .lines()
        .find(|l| l.starts_with("m=audio"))
        .expect("m=audio");
    m.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn rtp(seq: u16, ssrc: u32, pt: u8) -> Vec<u8> {
    let mut p = vec![0x80, pt, (seq >> 8) as u8, seq as u8, 0, 0, 0, 0];
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&[0xd5; 160]);
    p
}

async fn recv(sock: &UdpSocket, wait: Duration) -> Option<(Vec<u8>, SocketAddr)> {
    let mut buf = vec![0u8; 2048];
    match tokio::time::timeout(wait, sock.recv_from(&mut buf)).await {
        Ok(Ok((n, from))) => Some((buf[..n].to_vec(), from)),
        _ => None,
    }
}

fn request(op: AnchorOp, from: MediaLeg, sdp: String) -> AnchorRequest {
    AnchorRequest {
        call: "latch-1".into(),
        op,
        from,
        sdp,
        mode: MediaMode::Embedded,
        sip_srtp: SipSrtp::None,
    }
}

#[tokio::test]
async fn latching_follows_the_phone_and_refuses_injected_rtp() {
    let (tx, mut rx) = mpsc::channel(64);
    let mut anchors = MediaAnchors::start(&config("41000-41099"), tx)
        .await
        .unwrap();

    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let client_port = client.local_addr().unwrap().port();
    // The phone says it is at 127.0.0.1:9 (its private address behind NAT);
    // its packets really come from 127.0.0.2.
    let phone = UdpSocket::bind("127.0.0.2:0").await.unwrap();
    let attacker = UdpSocket::bind("127.0.0.3:0").await.unwrap();

    let offer = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {client_port} RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
    );
    let to_sip = anchored(
        &mut anchors,
        &mut rx,
        request(AnchorOp::Offer, MediaLeg::Xmpp, offer),
    )
    .await;
    assert!(to_sip.contains("c=IN IP4 127.0.0.1"), "{to_sip}");
    let sip_port = media_port(&to_sip);
    assert!((41000..=41099).contains(&sip_port), "{to_sip}");
    let answer = "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                  m=audio 9 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
        .to_string();
    let to_xmpp = anchored(
        &mut anchors,
        &mut rx,
        request(AnchorOp::Answer, MediaLeg::Sip, answer),
    )
    .await;
    let xmpp_port = media_port(&to_xmpp);
    assert_ne!(xmpp_port, sip_port);
    let anchor_sip: SocketAddr = format!("127.0.0.1:{sip_port}").parse().unwrap();
    let anchor_xmpp: SocketAddr = format!("127.0.0.1:{xmpp_port}").parse().unwrap();

    // The phone speaks first: the anchor latches onto 127.0.0.2 and relays.
    phone.send_to(&rtp(1, 0xaaaa, 0), anchor_sip).await.unwrap();
    let (got, from) = recv(&client, Duration::from_secs(2))
        .await
        .expect("phone → client");
    assert_eq!(
        from, anchor_xmpp,
        "the client hears the anchor, not the phone"
    );
    assert_eq!(&got[8..12], &0xaaaau32.to_be_bytes());

    // The client's packets go to where the phone really is, not to the SDP's :9.
    client
        .send_to(&rtp(1, 0xbbbb, 101), anchor_xmpp)
        .await
        .unwrap();
    let (got, from) = recv(&phone, Duration::from_secs(2))
        .await
        .expect("client → latched phone");
    assert_eq!(from, anchor_sip);
    assert_eq!(got[1] & 0x7f, 101);

    // An attacker who learned the port is not heard, while the phone keeps talking.
    for seq in 0..5 {
        attacker
            .send_to(&rtp(100 + seq, 0xdead, 0), anchor_sip)
            .await
            .unwrap();
    }
    assert!(
        recv(&client, Duration::from_millis(400)).await.is_none(),
        "injected RTP reached the client"
    );
    phone.send_to(&rtp(2, 0xaaaa, 0), anchor_sip).await.unwrap();
    let (got, _) = recv(&client, Duration::from_secs(2))
        .await
        .expect("phone still heard");
    assert_eq!(&got[8..12], &0xaaaau32.to_be_bytes());
    // And the attacker receives nothing of the call.
    client
        .send_to(&rtp(2, 0xbbbb, 0), anchor_xmpp)
        .await
        .unwrap();
    assert!(recv(&phone, Duration::from_secs(2)).await.is_some());
    assert!(recv(&attacker, Duration::from_millis(300)).await.is_none());

    // Released: the ports are closed for good.
    anchors.release("latch-1", MediaMode::Embedded);
    tokio::time::sleep(Duration::from_millis(100)).await;
    phone.send_to(&rtp(3, 0xaaaa, 0), anchor_sip).await.unwrap();
    assert!(recv(&client, Duration::from_millis(300)).await.is_none());
}

#[tokio::test]
async fn an_exhausted_port_range_is_refused_with_503() {
    let (tx, mut rx) = mpsc::channel(64);
    // Four ports: the first call takes one for its XMPP leg and a pair for
    // its SIP leg; nothing is left for a second.
    let mut anchors = MediaAnchors::start(&config("41200-41203"), tx)
        .await
        .unwrap();
    let offer = "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 5000 RTP/AVP 0\r\n".to_string();
    let first = anchored(
        &mut anchors,
        &mut rx,
        request(AnchorOp::Offer, MediaLeg::Sip, offer.clone()),
    )
    .await;
    assert!(first.contains("a=ice-lite"), "{first}");
    let mut second = request(AnchorOp::Offer, MediaLeg::Sip, offer.clone());
    second.call = "latch-2".into();
    anchors.request(second);
    match rx.recv().await {
        Some(Input::Anchored(reply)) => {
            let err = reply.result.expect_err("no ports left");
            assert_eq!(err.sip_status(), 503, "{err}");
        }
        other => panic!("{other:?}"),
    }
    // Releasing the first call gives its ports back.
    anchors.release("latch-1", MediaMode::Embedded);
    let mut third = request(AnchorOp::Offer, MediaLeg::Sip, offer);
    third.call = "latch-3".into();
    anchored(&mut anchors, &mut rx, third).await;
}
