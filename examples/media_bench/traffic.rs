//! The `load` role: set up the calls, send 20 ms packets both ways on every
//! call, measure a window, report.
//!
//! One thread (a current-thread runtime): a single pacer sends every packet
//! of every call from a 1 ms tick, the calls' send times spread evenly over
//! the 20 ms period (slot j is due at t0 + j·period/N, call j mod N), so the
//! anchor sees a steady stream rather than bursts of N packets; receiving is
//! one task per socket (`receive`). A pacer that falls behind sends what is
//! due at once and reports how late it got (`pacer_lag_max_ms`): that is the
//! generator's limit showing.

use crate::Kind;
use crate::ng::NgClient;
use crate::packet::{self, Dir, RTP_LEN};
use crate::receive::{self, DirStats, SecureLeg, Shared};
use crate::report::{self, Snapshot};
use crate::setup::{self, Call, Ice, Secure};
use futures::StreamExt;
use std::cell::RefCell;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};
use stox::media::engine::dtls::Identity;
use stox::media::srtp::SrtpContext;
use tokio::net::UdpSocket;

/// `load` options.
#[derive(clap::Args, Debug, Clone)]
pub struct LoadArgs {
    /// The anchor's ng control address.
    #[arg(long, required_unless_present = "direct")]
    pub ng: Option<SocketAddr>,
    /// The anchor's process id (for its CPU time); this process by default.
    #[arg(long, default_value_t = std::process::id())]
    pub pid: u32,
    /// Concurrent calls.
    #[arg(long)]
    pub calls: u32,
    /// Length of the measurement window, seconds.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// Media before the window (not measured), seconds.
    #[arg(long, default_value_t = 3)]
    pub warmup: u64,
    /// What the XMPP leg speaks.
    #[arg(long, value_enum)]
    pub kind: Kind,
    /// Packets per second per call and direction (50 = 20 ms G.711).
    #[arg(long, default_value_t = 50)]
    pub rate_per_call: u32,
    /// A name for the anchor in the report (`embedded`, `rtpengine`).
    #[arg(long, default_value = "anchor")]
    pub label: String,
    /// No anchor: each call's legs send to each other (plain RTP only), to
    /// measure the generator's own latency floor; CPU is then this process's.
    #[arg(long)]
    pub direct: bool,
    /// ICE + DTLS handshakes run at once.
    #[arg(long, default_value_t = 16)]
    pub handshakes: usize,
}

/// Runs the load on a current-thread runtime.
pub fn main(args: LoadArgs) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let local = tokio::task::LocalSet::new();
    match local.block_on(&runtime, run(args)) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("media_bench load: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One call's sending side.
struct Sender {
    index: u32,
    xmpp: Rc<UdpSocket>,
    sip: Rc<UdpSocket>,
    xmpp_to: SocketAddr,
    sip_to: SocketAddr,
    up: packet::Stream,
    down: packet::Stream,
    /// SRTP toward the anchor (DTLS kind).
    tx: Option<SrtpContext>,
    /// Consent checks (DTLS kind).
    ice: Option<Ice>,
    packets: u64,
}

async fn run(args: LoadArgs) -> Result<String, String> {
    let epoch = Instant::now();
    if args.direct && args.kind != Kind::Rtp {
        return Err("--direct is plain RTP only".into());
    }
    let identity = match args.kind {
        Kind::Dtls => Some(Identity::generate()?),
        Kind::Rtp => None,
    };
    let prefix = format!("bench{:06x}", rand::random::<u32>() & 0xff_ffff);
    let mut calls = Vec::new();
    let mut failures = Vec::new();
    let mut ng = None;
    if args.direct {
        for i in 0..args.calls {
            calls.push(setup::direct(i, &prefix).await?);
        }
    } else {
        let addr = args.ng.ok_or("--ng is needed")?;
        let mut client = NgClient::connect(addr)
            .await
            .map_err(|e| format!("ng: {e}"))?;
        let pong = client
            .command(&stox::media::rtpengine::message::ping())
            .await?;
        if pong.result != "pong" {
            return Err(format!("ping answered {}", pong.result));
        }
        for i in 0..args.calls {
            match setup::signal(&mut client, args.kind, i, &prefix, identity.as_ref()).await {
                Ok(c) => calls.push(c),
                Err(e) => failures.push(e),
            }
        }
        ng = Some(client);
    }
    let signalled = epoch.elapsed();
    let mut secure: Vec<Option<Secure>> = Vec::new();
    if let Some(id) = &identity {
        let results: Vec<(usize, Result<Secure, String>)> = futures::stream::iter(
            calls
                .iter()
                .enumerate()
                .map(|(i, c)| async move { (i, setup::handshake(c, id).await) }),
        )
        .buffer_unordered(args.handshakes.max(1))
        .collect()
        .await;
        secure = (0..calls.len()).map(|_| None).collect();
        for (i, r) in results {
            match r {
                Ok(s) => secure[i] = Some(s),
                Err(e) => failures.push(e),
            }
        }
    }
    let set_up = epoch.elapsed();
    if let Some(first) = failures.first() {
        eprintln!(
            "media_bench load: {} of {} calls failed to set up; first: {first}",
            failures.len(),
            args.calls
        );
    }

    let t0 = packet::ns_since(epoch) + 20_000_000;
    let window_start = t0 + args.warmup * 1_000_000_000;
    let window = (window_start, window_start + args.seconds * 1_000_000_000);
    let shared = Shared {
        stats: Rc::new(RefCell::new([DirStats::default(), DirStats::default()])),
        epoch,
        window,
    };
    let mut senders = Vec::new();
    let mut tasks = Vec::new();
    for (i, call) in calls.iter().enumerate() {
        let secured = secure.get_mut(i).and_then(Option::take);
        if args.kind == Kind::Dtls && secured.is_none() {
            continue; // its handshake failed
        }
        tasks.push(tokio::task::spawn_local(receive::plain(
            call.sip.clone(),
            call.index,
            Dir::XmppToSip,
            shared.clone(),
        )));
        let tx = match secured {
            Some(sec) => {
                let leg = SecureLeg {
                    sock: call.xmpp.clone(),
                    remote: call.xmpp_remote.addr,
                    ice: sec.ice,
                    dtls: sec.dtls,
                    rx: sec.srtp.rx,
                };
                let task = receive::secure(leg, call.index, shared.clone());
                tasks.push(tokio::task::spawn_local(task));
                Some(sec.srtp.tx)
            }
            None => {
                let task = receive::plain(
                    call.xmpp.clone(),
                    call.index,
                    Dir::SipToXmpp,
                    shared.clone(),
                );
                tasks.push(tokio::task::spawn_local(task));
                None
            }
        };
        senders.push(Sender {
            index: call.index,
            xmpp: call.xmpp.clone(),
            sip: call.sip.clone(),
            xmpp_to: call.xmpp_remote.addr,
            sip_to: call.sip_remote,
            up: packet::Stream::new(call.index, Dir::XmppToSip),
            down: packet::Stream::new(call.index, Dir::SipToXmpp),
            tx,
            ice: call.ice.clone(),
            packets: 0,
        });
    }
    if senders.is_empty() {
        return Err(format!("no call was set up: {:?}", failures.first()));
    }
    let pacing = pace(&mut senders, &args, &shared, t0).await;
    // Let the last packets of the window arrive.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for t in &tasks {
        t.abort();
    }
    let summary = report::summary(
        &args,
        &shared.stats.borrow(),
        &pacing,
        report::Setup {
            calls_ok: senders.len(),
            failed: failures.len(),
            signal_s: signalled.as_secs_f64(),
            total_s: set_up.as_secs_f64(),
        },
    );
    if let Some(ng) = &mut ng {
        release(ng, &calls).await;
    }
    Ok(summary)
}

/// What the pacer observed.
pub struct Pacing {
    /// At the window's start and end.
    pub snapshots: (Snapshot, Snapshot),
    /// How far behind its schedule the pacer got inside the window, at most.
    pub lag_max_ns: u64,
    /// `try_send` failures (socket buffer full).
    pub send_errors: u64,
}

async fn pace(senders: &mut [Sender], args: &LoadArgs, shared: &Shared, t0: u64) -> Pacing {
    let pid = args.pid.to_string();
    let n = senders.len() as u128;
    let period = 1_000_000_000u128 / u128::from(args.rate_per_call.max(1));
    let consent_every = 5 * u64::from(args.rate_per_call.max(1)); // a check every 5 s
    let (start, end) = shared.window;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut slot: u128 = 0;
    let mut first = None;
    let mut lag_max_ns = 0;
    let mut send_errors = 0;
    let mut buf = [0u8; RTP_LEN];
    loop {
        tick.tick().await;
        let now = packet::ns_since(shared.epoch);
        if first.is_none() && now >= start {
            first = Some(Snapshot::take(&pid));
        }
        if now >= end {
            break;
        }
        loop {
            let due = (u128::from(t0) + slot * period / n) as u64;
            if due > now {
                break;
            }
            if now >= start {
                lag_max_ns = lag_max_ns.max(now - due);
            }
            let s = &mut senders[(slot % n) as usize];
            slot += 1;
            let sent = packet::ns_since(shared.epoch);
            let counted = (start..end).contains(&sent);
            // XMPP client → anchor (SRTP for the DTLS kind).
            s.up.next(s.index, Dir::XmppToSip, sent, &mut buf);
            let ok = match &mut s.tx {
                Some(tx) => tx
                    .protect_rtp(&buf)
                    .map(|p| s.xmpp.try_send_to(&p, s.xmpp_to).is_ok())
                    .unwrap_or(false),
                None => s.xmpp.try_send_to(&buf, s.xmpp_to).is_ok(),
            };
            send_errors += u64::from(!ok);
            // SIP phone → anchor.
            s.down.next(s.index, Dir::SipToXmpp, sent, &mut buf);
            send_errors += u64::from(s.sip.try_send_to(&buf, s.sip_to).is_err());
            if counted {
                let mut stats = shared.stats.borrow_mut();
                stats[0].sent += 1;
                stats[1].sent += 1;
            }
            s.packets += 1;
            if let Some(ice) = &s.ice
                && s.packets.is_multiple_of(consent_every)
            {
                let _ = s.xmpp.try_send_to(&ice.check(&rand::random()), s.xmpp_to);
            }
        }
    }
    let last = Snapshot::take(&pid);
    Pacing {
        snapshots: (first.unwrap_or_else(|| last.clone()), last),
        lag_max_ns,
        send_errors,
    }
}

/// Deletes every call (the anchor is reused or stopped next).
async fn release(ng: &mut NgClient, calls: &[Call]) {
    for c in calls {
        if let Err(e) = ng.delete(&c.id).await {
            eprintln!("media_bench load: delete {}: {e}", c.id);
            return;
        }
    }
}
