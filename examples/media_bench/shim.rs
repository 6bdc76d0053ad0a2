//! The `anchor` role: the embedded anchor behind a minimal ng control socket.
//!
//! Only what the load generator sends is understood: `offer`, `answer`,
//! `delete`, `ping`. The leg is read from the tags the way
//! `stox::media::rtpengine::message` writes them (the offerer is the
//! `from-tag`, the answerer the `to-tag`, labelled `xmpp` / `sip`); the
//! rtpengine flags are ignored, because the embedded anchor decides from the
//! SDP itself what each leg speaks. Replies are cached by cookie, as
//! rtpengine does, so a retransmitted `offer` is not carried out twice.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use stox::call::Input;
use stox::config::Config;
use stox::media::anchor::{AnchorOp, AnchorRequest, MediaLeg, MediaMode, SipSrtp};
use stox::media::rtpengine::bencode::{Value, dict};
use stox::media::rtpengine::reply::{frame, unframe};
use stox::runtime::media::MediaAnchors;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// Replies kept for retransmitted requests; the cache is emptied when full.
const REPLY_CACHE: usize = 20_000;

fn config(ports: &str, ip: &str) -> Result<Config, String> {
    // inactivity_secs: the default (60 s); the load keeps every leg busy.
    let text = format!(
        "[xmpp]\ndomain = \"sip.test\"\nsecret = \"s\"\n\
         [media]\nmode = \"embedded\"\nbind = \"{ip}\"\npublic_ip = \"{ip}\"\nport_range = \"{ports}\"\n"
    );
    Config::from_toml_str(&text, &[]).map_err(|e| e.to_string())
}

/// Runs the anchor until killed.
pub fn main(ng: SocketAddr, ports: &str) -> ExitCode {
    // Like `stox run` with RUST_LOG=warn: relays log at info, which is off.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = match config(ports, &ng.ip().to_string()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("media_bench anchor: {e}");
            return ExitCode::from(2);
        }
    };
    // The runtime `stox run` uses (src/cli/run.rs): multi-thread, one worker per core.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(serve(ng, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("media_bench anchor: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(ng: SocketAddr, config: Config) -> Result<(), String> {
    let (tx, mut rx) = mpsc::channel(1024);
    let mut anchors = MediaAnchors::start(&config, tx).await?;
    let socket = UdpSocket::bind(ng)
        .await
        .map_err(|e| format!("ng socket {ng}: {e}"))?;
    eprintln!(
        "media_bench anchor: ng on {ng}, media ports {:?}",
        config.media.port_range
    );
    let mut cache: HashMap<String, Vec<u8>> = HashMap::new();
    let mut buf = vec![0u8; 65_536];
    loop {
        // Media notices (a relay that failed or went silent) are logged
        // whenever they come, so that no relay waits on a full channel.
        let received = tokio::select! {
            r = socket.recv_from(&mut buf) => r,
            Some(input) = rx.recv() => {
                log_notice(input);
                continue;
            }
        };
        let (n, from) = received.map_err(|e| format!("ng receive: {e}"))?;
        let Ok((cookie, msg)) = unframe(&buf[..n]) else {
            continue;
        };
        if let Some(reply) = cache.get(&cookie) {
            let _ = socket.send_to(reply, from).await;
            continue;
        }
        let reply = frame(&cookie, &handle(&mut anchors, &mut rx, &msg).await);
        let _ = socket.send_to(&reply, from).await;
        if cache.len() >= REPLY_CACHE {
            cache.clear();
        }
        cache.insert(cookie, reply);
    }
}

fn error(why: &str) -> Value {
    dict([
        ("result", Value::str("error")),
        ("error-reason", Value::str(why)),
    ])
}

fn leg(v: Option<&Value>) -> Option<MediaLeg> {
    match v.and_then(Value::as_str)? {
        "xmpp" => Some(MediaLeg::Xmpp),
        "sip" => Some(MediaLeg::Sip),
        _ => None,
    }
}

async fn handle(anchors: &mut MediaAnchors, rx: &mut mpsc::Receiver<Input>, msg: &Value) -> Value {
    let text = |k: &str| msg.get(k).and_then(Value::as_str);
    let (Some(command), call) = (text("command"), text("call-id")) else {
        return error("no command");
    };
    let op = match command {
        "ping" => return dict([("result", Value::str("pong"))]),
        "delete" => {
            if let Some(call) = call {
                anchors.release(call, MediaMode::Embedded);
            }
            return dict([("result", Value::str("ok"))]);
        }
        "offer" => AnchorOp::Offer,
        "answer" => AnchorOp::Answer,
        other => return error(&format!("unknown command {other}")),
    };
    let from = match op {
        AnchorOp::Offer => leg(msg.get("from-tag")),
        AnchorOp::Answer => leg(msg.get("to-tag")),
    };
    let (Some(call), Some(from), Some(sdp)) = (call, from, text("sdp")) else {
        return error("offer/answer needs call-id, the tags xmpp/sip and sdp");
    };
    anchors.request(AnchorRequest {
        call: call.to_string(),
        op,
        from,
        sdp: sdp.to_string(),
        mode: MediaMode::Embedded,
        sip_srtp: SipSrtp::None,
    });
    // The embedded anchor replies at once; media notices may come first.
    while let Some(input) = rx.recv().await {
        match input {
            Input::Anchored(reply) if reply.call == call && reply.op == op => {
                return match reply.result {
                    Ok(sdp) => dict([("result", Value::str("ok")), ("sdp", Value::str(&sdp))]),
                    Err(e) => error(&e.to_string()),
                };
            }
            other => log_notice(other),
        }
    }
    error("the anchor stopped")
}

fn log_notice(input: Input) {
    if let Input::Media { call, notice } = input {
        tracing::warn!(%call, ?notice, "media notice");
    }
}
