//! An automated XMPP callee for load tests (`bench/load.sh`).
//!
//! Connects to the XMPP server as its own XEP-0114 component (default domain
//! `answer.test`) with [`stox::xmpp::link::run_link`] and answers every call
//! proposed to any `user@<domain>` as a device would, with no think time:
//!
//! - JMI `<propose id=SID>` → `<ringing id=SID/>` and `<proceed id=SID/>` from
//!   `user@<domain>/bench` to the proposer's full JID;
//! - IQ set session-initiate → IQ result, then IQ set session-accept (PCMU 0,
//!   one raw-UDP candidate, so the gateway needs no candidate-gathering wait);
//! - IQ set session-terminate (or any other Jingle set) → IQ result.
//!
//! Being a component, it skips c2s and the server's per-user routing, so it is
//! cheap next to the gateway. On SIGTERM/SIGINT it prints one JSON line of
//! counters and timings to stdout and exits:
//!
//! - `turnaround_us`: from sending `<proceed/>` to receiving the gateway's
//!   session-initiate (server hop → gateway → server hop), p50/p99/max;
//! - `own_us`: this process's own handling time per stanza, p50/p99/max.
//!
//! ```sh
//! cargo run --release --example xmpp_answerer -- \
//!     --server 127.0.0.1:35347 --domain answer.test --secret b3nch
//! ```

use minidom::Element;
use minidom::rxml::NcName;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use stox::xmpp::link::{LinkConfig, LinkEvent, run_link};
use stox::xmpp::stanza::{self, Inbound, JmiKind, NS_COMPONENT, NS_JINGLE, NS_RTP};
use tokio::sync::mpsc;

const NS_RAW_UDP: &str = "urn:xmpp:jingle:transports:raw-udp:1";
const RESOURCE: &str = "bench";

struct Args {
    server: String,
    domain: String,
    secret: String,
    rtp_port: u16,
}

fn parse_args() -> Args {
    let mut a = Args {
        server: "127.0.0.1:35347".into(),
        domain: "answer.test".into(),
        secret: "b3nch".into(),
        rtp_port: 40000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next().unwrap_or_else(|| {
                eprintln!("xmpp_answerer: {flag} needs a value");
                std::process::exit(2)
            })
        };
        match flag.as_str() {
            "--server" => a.server = value(),
            "--domain" => a.domain = value(),
            "--secret" => a.secret = value(),
            "--rtp-port" => a.rtp_port = value().parse().expect("--rtp-port: a port number"),
            "-h" | "--help" => {
                println!(
                    "xmpp_answerer [--server HOST:PORT] [--domain answer.test] [--secret S] [--rtp-port N]"
                );
                std::process::exit(0)
            }
            other => {
                eprintln!("xmpp_answerer: unknown argument {other}");
                std::process::exit(2)
            }
        }
    }
    a
}

fn set(el: &mut Element, name: &str, value: &str) {
    let name = NcName::try_from(name).expect("attribute names here are literals");
    el.set_attr(minidom::rxml::Namespace::NONE, name, value.to_owned());
}

fn child(name: &str, ns: &str, attrs: &[(&str, &str)]) -> Element {
    let mut e = Element::builder(name, ns).build();
    for (k, v) in attrs {
        set(&mut e, k, v);
    }
    e
}

/// The session-accept payload mirroring the offered contents: PCMU and one
/// raw-UDP candidate per content.
fn session_accept(offer: &Element, responder: &str, port: &str) -> Element {
    let sid = offer.attr("sid").unwrap_or_default();
    let mut jingle = child(
        "jingle",
        NS_JINGLE,
        &[
            ("action", "session-accept"),
            ("sid", sid),
            ("responder", responder),
        ],
    );
    for content in offer.children().filter(|c| c.is("content", NS_JINGLE)) {
        let media = content
            .get_child("description", NS_RTP)
            .and_then(|d| d.attr("media"))
            .unwrap_or("audio");
        let mut c = child(
            "content",
            NS_JINGLE,
            &[
                ("creator", content.attr("creator").unwrap_or("initiator")),
                ("name", content.attr("name").unwrap_or("0")),
                ("senders", "both"),
            ],
        );
        let mut desc = child("description", NS_RTP, &[("media", media)]);
        desc.append_child(child(
            "payload-type",
            NS_RTP,
            &[("id", "0"), ("name", "PCMU"), ("clockrate", "8000")],
        ));
        c.append_child(desc);
        let mut transport = child("transport", NS_RAW_UDP, &[]);
        transport.append_child(child(
            "candidate",
            NS_RAW_UDP,
            &[
                ("component", "1"),
                ("generation", "0"),
                ("id", "c1"),
                ("ip", "127.0.0.1"),
                ("port", port),
            ],
        ));
        c.append_child(transport);
        jingle.append_child(c);
    }
    jingle
}

#[derive(Default)]
struct Stats {
    proposes: u64,
    initiates: u64,
    accepts_sent: u64,
    accepts_acked: u64,
    terminates: u64,
    other_jingle: u64,
    iq_errors: u64,
    turnaround_us: Vec<u32>,
    own_us: Vec<u32>,
}

fn pct(v: &mut [u32], p: f64) -> u32 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    let i = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[i.clamp(1, v.len()) - 1]
}

impl Stats {
    fn json(&mut self) -> String {
        let (t50, t99, tmax) = (
            pct(&mut self.turnaround_us, 50.0),
            pct(&mut self.turnaround_us, 99.0),
            pct(&mut self.turnaround_us, 100.0),
        );
        let (o50, o99, omax) = (
            pct(&mut self.own_us, 50.0),
            pct(&mut self.own_us, 99.0),
            pct(&mut self.own_us, 100.0),
        );
        format!(
            "{{\"proposes\":{},\"initiates\":{},\"accepts_sent\":{},\"accepts_acked\":{},\
             \"terminates\":{},\"other_jingle\":{},\"iq_errors\":{},\
             \"turnaround_us\":{{\"n\":{},\"p50\":{t50},\"p99\":{t99},\"max\":{tmax}}},\
             \"own_us\":{{\"n\":{},\"p50\":{o50},\"p99\":{o99},\"max\":{omax}}}}}",
            self.proposes,
            self.initiates,
            self.accepts_sent,
            self.accepts_acked,
            self.terminates,
            self.other_jingle,
            self.iq_errors,
            self.turnaround_us.len(),
            self.own_us.len(),
        )
    }
}

struct Answerer {
    domain: String,
    port: String,
    out: mpsc::Sender<Element>,
    /// sid → when our `<proceed/>` left.
    proceeded: HashMap<String, Instant>,
    next_id: u64,
    stats: Stats,
}

impl Answerer {
    fn ours(&self, jid: &str) -> bool {
        let bare = jid.split('/').next().unwrap_or(jid);
        bare.split_once('@').is_some_and(|(_, d)| d == self.domain)
    }

    async fn send(&self, el: Element) {
        if self.out.send(el).await.is_err() {
            eprintln!("xmpp_answerer: link gone");
            std::process::exit(1);
        }
    }

    async fn handle(&mut self, el: Element) {
        match stanza::classify(&el) {
            Inbound::Jmi {
                from,
                to,
                kind: JmiKind::Propose,
                sid,
                ..
            } if self.ours(&to) => {
                self.stats.proposes += 1;
                let me = format!("{}/{RESOURCE}", to.split('/').next().unwrap_or(&to));
                for kind in [JmiKind::Ringing, JmiKind::Proceed] {
                    let m = stanza::jmi_message(&me, &from, kind, &sid, &[], None);
                    self.send(m).await;
                }
                self.proceeded.insert(sid, Instant::now());
            }
            Inbound::JingleSet {
                from,
                to,
                id,
                jingle,
            } if self.ours(&to) => {
                self.send(stanza::iq_result(&to, &from, &id)).await;
                match jingle.attr("action") {
                    Some("session-initiate") => {
                        self.stats.initiates += 1;
                        let sid = jingle.attr("sid").unwrap_or_default();
                        if let Some(t) = self.proceeded.remove(sid) {
                            let us = t.elapsed().as_micros().min(u32::MAX as u128) as u32;
                            self.stats.turnaround_us.push(us);
                        }
                        let accept = session_accept(&jingle, &to, &self.port);
                        self.next_id += 1;
                        let iq_id = format!("acc-{}", self.next_id);
                        self.send(stanza::iq_set(&to, &from, &iq_id, accept)).await;
                        self.stats.accepts_sent += 1;
                    }
                    Some("session-terminate") => self.stats.terminates += 1,
                    _ => self.stats.other_jingle += 1,
                }
            }
            Inbound::IqResult { id, .. } if id.starts_with("acc-") => {
                self.stats.accepts_acked += 1;
            }
            Inbound::IqError {
                from,
                id,
                condition,
                ..
            } => {
                self.stats.iq_errors += 1;
                if self.stats.iq_errors <= 5 {
                    eprintln!("xmpp_answerer: IQ error {condition} from {from} (id {id})");
                }
            }
            _ => {
                // Plain IQ gets (disco, ping) get an error so nobody waits.
                if el.name() == "iq"
                    && el.attr("type") == Some("get")
                    && let (Some(from), Some(to), Some(id)) =
                        (el.attr("from"), el.attr("to"), el.attr("id"))
                {
                    let mut iq = stanza::iq_result(to, from, id);
                    set(&mut iq, "type", "error");
                    let mut error = child("error", NS_COMPONENT, &[("type", "cancel")]);
                    error.append_child(child("service-unavailable", stanza::NS_STANZAS, &[]));
                    iq.append_child(error);
                    self.send(iq).await;
                }
            }
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = parse_args();
    let (ev_tx, mut ev_rx) = mpsc::channel::<LinkEvent>(65_536);
    let (out_tx, out_rx) = mpsc::channel::<Element>(65_536);
    let cfg = LinkConfig {
        domain: args.domain.clone(),
        server: args.server.clone(),
        secret: args.secret.clone(),
        reconnect_min: Duration::from_millis(250),
        reconnect_max: Duration::from_secs(2),
    };
    tokio::spawn(run_link(cfg, ev_tx, out_rx));
    let mut answerer = Answerer {
        domain: args.domain.clone(),
        port: args.rtp_port.to_string(),
        out: out_tx,
        proceeded: HashMap::new(),
        next_id: 0,
        stats: Stats::default(),
    };
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    loop {
        tokio::select! {
            ev = ev_rx.recv() => match ev {
                Some(LinkEvent::Stanza(el)) => {
                    let t = Instant::now();
                    answerer.handle(el).await;
                    let us = t.elapsed().as_micros().min(u32::MAX as u128) as u32;
                    answerer.stats.own_us.push(us);
                }
                Some(LinkEvent::Connected) => {
                    eprintln!("xmpp_answerer: connected as {} to {}", args.domain, args.server);
                }
                Some(LinkEvent::Disconnected { reason }) => {
                    eprintln!("xmpp_answerer: link down: {reason}");
                }
                None => break,
            },
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
        }
    }
    println!("{}", answerer.stats.json());
}
