//! RFC 3263 location against a real DNS server (dnsmasq on 127.0.0.1, an
//! unprivileged port): the resolver adapter orders targets as the NAPTR and
//! SRV records say, and a running `stox` whose trunk is `sip:pbx.test` moves
//! from an SRV target that refuses TCP to the next one.
//!
//! Ignored by a plain test run because it needs dnsmasq; `interop/dns.sh`
//! installs it (Debian dnsmasq-base) and runs these with `--run-ignored all`.
//! Run that way without dnsmasq, the tests fail: they never skip.

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use stox::runtime::resolve::Locator;
use stox::sip::locate::{Source, TargetSpec};
use stox::sip::peer::{Peer, Transport};

fn dnsmasq_binary() -> PathBuf {
    for dir in std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .chain(["/usr/sbin", "/sbin"])
    {
        let p = Path::new(dir).join("dnsmasq");
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "dnsmasq is not installed: these tests need it (Debian package dnsmasq-base); \
         interop/dns.sh installs it and runs them"
    );
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// dnsmasq answering only for our records, on 127.0.0.1:`port`.
fn start_dnsmasq(port: u16, records: &[String]) -> Proc {
    let mut cmd = Command::new(dnsmasq_binary());
    cmd.args([
        "-k",
        "--port",
        &port.to_string(),
        "--listen-address=127.0.0.1",
        "--bind-interfaces",
        "--no-resolv",
        "--no-hosts",
        "--no-poll",
        "--pid-file",
        "--local-ttl=300",
        "--log-facility=-",
        "--log-queries",
    ])
    .args(records)
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("dnsmasq starts");
    // It answers once its socket is bound; give it a moment, then make sure
    // it did not exit (a bad option, a port in use).
    std::thread::sleep(Duration::from_millis(300));
    if let Some(status) = child.try_wait().unwrap() {
        panic!("dnsmasq exited at once ({status}); records: {records:?}");
    }
    Proc(child)
}

fn peer(transport: Transport, addr: &str) -> Peer {
    Peer {
        transport,
        addr: addr.parse().unwrap(),
    }
}

fn spec(host: &str, port: Option<u16>, transport: Option<Transport>) -> TargetSpec {
    TargetSpec {
        host: host.into(),
        port,
        transport,
        sips: false,
    }
}

#[tokio::test]
#[ignore = "needs dnsmasq: run interop/dns.sh"]
async fn the_adapter_orders_targets_as_naptr_and_srv_say() {
    let dns_port = free_udp_port();
    let records: Vec<String> = [
        // NAPTR: TLS (order 10, preference 10), TCP (10, 20), then UDP (order 20).
        "--naptr-record=order.test,20,10,s,SIP+D2U,,_sip._udp.order.test",
        "--naptr-record=order.test,10,20,s,SIP+D2T,,_sip._tcp.order.test",
        "--naptr-record=order.test,10,10,s,SIPS+D2T,,_sips._tcp.order.test",
        // SRV: priority 20 after 10, whatever the server's order.
        "--srv-host=_sip._tcp.order.test,tcp2.order.test,5072,20,10",
        "--srv-host=_sip._tcp.order.test,tcp1.order.test,5071,10,10",
        "--srv-host=_sip._udp.order.test,udp1.order.test,5073,10,10",
        "--srv-host=_sips._tcp.order.test,tls1.order.test,5061,10,10",
        "--host-record=order.test,127.0.0.10",
        "--host-record=tcp1.order.test,127.0.0.11",
        "--host-record=tcp2.order.test,127.0.0.12",
        "--host-record=udp1.order.test,127.0.0.13",
        "--host-record=tls1.order.test,127.0.0.14",
        // No NAPTR here: SRV per transport (UDP, then TCP), then A.
        "--srv-host=_sip._tcp.srv.test,tcp1.order.test,5081,10,10",
        "--srv-host=_sip._udp.srv.test,udp1.order.test,5082,10,10",
        "--host-record=plain.test,127.0.0.20",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let _dns = start_dnsmasq(dns_port, &records);
    let locator = Locator::new(&[SocketAddr::from(([127, 0, 0, 1], dns_port))]);

    let l = locator.locate(&spec("order.test", None, None), 1).await;
    assert_eq!(l.source, Source::Naptr);
    assert_eq!(
        l.targets,
        vec![
            peer(Transport::Tls, "127.0.0.14:5061"),
            peer(Transport::Tcp, "127.0.0.11:5071"),
            peer(Transport::Tcp, "127.0.0.12:5072"),
            peer(Transport::Udp, "127.0.0.13:5073"),
        ]
    );
    assert_eq!(l.ttl, Some(300), "dnsmasq's --local-ttl");

    // An explicit transport: that SRV only.
    let l = locator
        .locate(&spec("order.test", None, Some(Transport::Udp)), 1)
        .await;
    assert_eq!(l.source, Source::Srv);
    assert_eq!(l.targets, vec![peer(Transport::Udp, "127.0.0.13:5073")]);

    // An explicit port: A only, no NAPTR or SRV.
    let l = locator
        .locate(&spec("order.test", Some(5090), None), 1)
        .await;
    assert_eq!(l.source, Source::Address);
    assert_eq!(l.targets, vec![peer(Transport::Udp, "127.0.0.10:5090")]);

    // No NAPTR: SRV for each transport we speak, UDP first.
    let l = locator.locate(&spec("srv.test", None, None), 1).await;
    assert_eq!(l.source, Source::Srv);
    assert_eq!(
        l.targets,
        vec![
            peer(Transport::Udp, "127.0.0.13:5082"),
            peer(Transport::Tcp, "127.0.0.11:5081"),
        ]
    );

    // Neither NAPTR nor SRV: the address on 5060 over UDP.
    let l = locator.locate(&spec("plain.test", None, None), 1).await;
    assert_eq!(l.source, Source::Address);
    assert_eq!(l.targets, vec![peer(Transport::Udp, "127.0.0.20:5060")]);

    // Nothing at all.
    let l = locator.locate(&spec("nowhere.test", None, None), 1).await;
    assert!(l.targets.is_empty());
}

/// Reads one SIP message head from `stream` (up to the blank line).
fn read_head(stream: &mut std::net::TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

#[test]
#[ignore = "needs dnsmasq: run interop/dns.sh"]
fn stox_moves_from_a_refusing_srv_target_to_the_next() {
    let dns_port = free_udp_port();
    let refused = free_tcp_port(); // nothing listens there once dropped
    let live = TcpListener::bind("127.0.0.1:0").unwrap();
    let live_port = live.local_addr().unwrap().port();
    let records: Vec<String> = vec![
        "--naptr-record=pbx.test,10,10,s,SIP+D2T,,_sip._tcp.pbx.test".into(),
        format!("--srv-host=_sip._tcp.pbx.test,a.pbx.test,{refused},10,10"),
        format!("--srv-host=_sip._tcp.pbx.test,b.pbx.test,{live_port},20,10"),
        "--host-record=a.pbx.test,127.0.0.1".into(),
        "--host-record=b.pbx.test,127.0.0.1".into(),
    ];
    let _dns = start_dnsmasq(dns_port, &records);

    let sip_port = free_udp_port();
    let dir = std::env::temp_dir().join(format!("stox-dns-real-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("stox.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[xmpp]
domain = "gw.test"
server = "127.0.0.1:{closed}"
secret = "s3cret"
[sip]
listen = ["udp:127.0.0.1:{sip_port}", "tcp:127.0.0.1:{sip_port}"]
dns_servers = ["127.0.0.1:{dns_port}"]
trunk_ping_secs = 0
[[trunk]]
name = "pbx"
uri = "sip:pbx.test"
username = "stox"
password = "secret"
register = true
"#,
            closed = free_tcp_port(),
        ),
    )
    .unwrap();
    let started = Instant::now();
    let mut stox = Proc(
        Command::new(env!("CARGO_BIN_EXE_stox"))
            .args(["run", "--config"])
            .arg(&config)
            .env("RUST_LOG", "info")
            .env_remove("STOX_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("stox starts"),
    );

    // The REGISTER reaches the second SRV target, without the 30 s back-off
    // a failed registration would wait.
    live.set_nonblocking(true).unwrap();
    let mut conn = loop {
        match live.accept() {
            Ok((c, _)) => break c,
            Err(_) if started.elapsed() < Duration::from_secs(15) => {
                if let Some(status) = stox.0.try_wait().unwrap() {
                    panic!("stox exited: {status}");
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("nothing reached the second SRV target: {e}"),
        }
    };
    conn.set_nonblocking(false).unwrap();
    let head = read_head(&mut conn);
    assert!(
        head.starts_with("REGISTER sip:pbx.test SIP/2.0\r\n"),
        "{head}"
    );
    assert!(head.contains("Via: SIP/2.0/TCP "), "{head}");
    assert!(started.elapsed() < Duration::from_secs(10));

    let _ = stox.0.kill();
    let _ = stox.0.wait();
    let mut log = String::new();
    let mut out = stox.0.stdout.take().unwrap();
    out.read_to_string(&mut log).unwrap();
    for line in BufReader::new(stox.0.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok)
    {
        log.push_str(&line);
        log.push('\n');
    }
    let first = format!("tcp:127.0.0.1:{refused}");
    let second = format!("tcp:127.0.0.1:{live_port}");
    let located = log
        .lines()
        .find(|l| l.contains("trunk located"))
        .unwrap_or_else(|| panic!("no location logged:\n{log}"));
    assert!(
        located.contains(&format!("[\"{first}\", \"{second}\"]")),
        "{located}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("trunk target failed") && l.contains(&first)),
        "{log}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
