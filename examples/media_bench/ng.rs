//! The load generator's ng client: one request at a time.
//!
//! Call set-up is not what is measured, so a sequential client (one socket,
//! retransmission after 1 s, replies matched by cookie) is enough and keeps
//! this harness free of the request multiplexing `RtpengineClient` needs.
//! The requests themselves are built by `stox::media::rtpengine::message`,
//! as `stox run` builds them for rtpengine.

use std::net::SocketAddr;
use std::time::Duration;
use stox::media::anchor::{AnchorOp, AnchorRequest, MediaLeg, MediaMode, SipSrtp};
use stox::media::rtpengine::bencode::Value;
use stox::media::rtpengine::message;
use stox::media::rtpengine::reply::{Reply, frame, unframe};
use tokio::net::UdpSocket;

/// A connected ng socket.
pub struct NgClient {
    socket: UdpSocket,
    next: u64,
    prefix: String,
}

impl NgClient {
    /// Connects to the control socket at `addr`.
    pub async fn connect(addr: SocketAddr) -> std::io::Result<Self> {
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        socket.connect(addr).await?;
        Ok(NgClient {
            socket,
            next: 1,
            prefix: format!("b{:08x}", rand::random::<u32>()),
        })
    }

    /// Sends `msg`, waits for its reply (three tries, 1 s apart).
    pub async fn command(&mut self, msg: &Value) -> Result<Reply, String> {
        let cookie = format!("{}_{}", self.prefix, self.next);
        self.next += 1;
        let datagram = frame(&cookie, msg);
        let mut buf = vec![0u8; 65_536];
        for _ in 0..3 {
            self.socket
                .send(&datagram)
                .await
                .map_err(|e| format!("ng send: {e}"))?;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
            while let Ok(r) = tokio::time::timeout_at(deadline, self.socket.recv(&mut buf)).await {
                let Ok(n) = r else { break };
                if let Ok((c, v)) = unframe(&buf[..n])
                    && c == cookie
                {
                    return Ok(Reply::from_value(&v));
                }
            }
        }
        Err("no ng reply after 3 tries".into())
    }

    /// One offer or answer, as stox sends it to rtpengine; `plain_answer`
    /// asks for no ICE toward the XMPP leg (stox always asks for ICE there,
    /// since XMPP clients always do ICE; the plain-RTP runs must not).
    pub async fn exchange(
        &mut self,
        call: &str,
        op: AnchorOp,
        from: MediaLeg,
        sdp: &str,
        plain_answer: bool,
    ) -> Result<String, String> {
        let mut msg = message::exchange(&AnchorRequest {
            call: call.to_string(),
            op,
            from,
            sdp: sdp.to_string(),
            mode: MediaMode::Rtpengine,
            sip_srtp: SipSrtp::None,
        });
        if plain_answer
            && op == AnchorOp::Answer
            && let Value::Dict(d) = &mut msg
        {
            d.insert(b"ICE".to_vec(), Value::str("remove"));
        }
        self.command(&msg)
            .await?
            .into_sdp()
            .map_err(|e| format!("{call} {op:?}: {e}"))
    }

    /// Releases a call.
    pub async fn delete(&mut self, call: &str) -> Result<(), String> {
        self.command(&message::delete(call))
            .await?
            .into_done()
            .map_err(|e| e.to_string())
    }
}
