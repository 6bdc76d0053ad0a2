//! The component link against a real Prosody: handshake, IQ round trip, wrong
//! secret, server restart with queued stanzas, keepalive, and stanzas that a
//! typed parser would reject arriving from a real client.
//!
//! Each test runs its own Prosody from a temp dir on free ports. Prosody must
//! be installed (`apt-get install -y prosody`); without it these tests fail
//! loudly rather than skip, because a skipped test proves nothing.

use minidom::Element;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use stox::xmpp::link::{LinkConfig, LinkEvent, run_link, run_link_with_timeouts};
use stox::xmpp::service::{self, ServiceInfo};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_xmpp::xmlstream::Timeouts;

const DOMAIN: &str = "sip.test";
const SECRET: &str = "s3cret";

/// A private Prosody, killed and cleaned up on drop.
struct Prosody {
    dir: PathBuf,
    component_port: u16,
    c2s_port: u16,
    child: Option<Child>,
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

impl Prosody {
    fn start(name: &str) -> Prosody {
        let bin = Command::new("which")
            .arg("prosody")
            .output()
            .expect("run `which`");
        assert!(
            bin.status.success(),
            "prosody is not installed: these tests need a real server (apt-get install -y prosody)"
        );
        let dir = std::env::temp_dir().join(format!(
            "stox-prosody-{name}-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(dir.join("data")).expect("create temp dir");
        let mut p = Prosody {
            component_port: free_port(),
            c2s_port: free_port(),
            dir,
            child: None,
        };
        let d = p.dir.display();
        let config = format!(
            r#"daemonize = false
run_as_root = true
pidfile = "{d}/prosody.pid"
data_path = "{d}/data"
log = {{ debug = "{d}/prosody.log" }}
modules_enabled = {{ "disco", "ping", "version", "saslauth" }}
modules_disabled = {{ "s2s", "tls" }}
c2s_ports = {{ {c2s} }}
c2s_interfaces = {{ "127.0.0.1" }}
c2s_direct_tls_ports = {{ }}
s2s_ports = {{ }}
component_ports = {{ {comp} }}
component_interfaces = {{ "127.0.0.1" }}
c2s_require_encryption = false
VirtualHost "test"
  authentication = "anonymous"
Component "{DOMAIN}"
  component_secret = "{SECRET}"
"#,
            c2s = p.c2s_port,
            comp = p.component_port,
        );
        std::fs::write(p.dir.join("prosody.cfg.lua"), config).expect("write config");
        p.spawn();
        p
    }

    fn spawn(&mut self) {
        let out = std::fs::File::create(self.dir.join("stdout.txt")).expect("stdout file");
        let child = Command::new("prosody")
            .arg("--config")
            .arg(self.dir.join("prosody.cfg.lua"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("dup"))
            .stderr(out)
            .spawn()
            .expect("spawn prosody");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.component_port)).is_err()
            || TcpStream::connect(("127.0.0.1", self.c2s_port)).is_err()
        {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("prosody exited with {status}:\n{}", self.logs());
            }
            assert!(
                Instant::now() < deadline,
                "prosody did not listen:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn server(&self) -> String {
        format!("127.0.0.1:{}", self.component_port)
    }

    fn logs(&self) -> String {
        let read = |f: &str| std::fs::read_to_string(self.dir.join(f)).unwrap_or_default();
        format!("{}\n{}", read("stdout.txt"), read("prosody.log"))
    }
}

impl Drop for Prosody {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A running link with its channels.
struct Link {
    events: mpsc::Receiver<LinkEvent>,
    outgoing: Option<mpsc::Sender<Element>>,
    task: JoinHandle<()>,
}

fn config(server: String, secret: &str) -> LinkConfig {
    LinkConfig {
        domain: DOMAIN.into(),
        server,
        secret: secret.into(),
        reconnect_min: Duration::from_millis(50),
        reconnect_max: Duration::from_millis(300),
    }
}

fn start_link(cfg: LinkConfig, timeouts: Option<Timeouts>) -> Link {
    let (etx, erx) = mpsc::channel(64);
    let (otx, orx) = mpsc::channel(64);
    let task = match timeouts {
        None => tokio::spawn(run_link(cfg, etx, orx)),
        Some(t) => tokio::spawn(run_link_with_timeouts(cfg, t, etx, orx)),
    };
    Link {
        events: erx,
        outgoing: Some(otx),
        task,
    }
}

impl Link {
    /// The first event matching `want` within `secs`, skipping others.
    async fn wait_for(
        &mut self,
        secs: u64,
        what: &str,
        want: impl Fn(&LinkEvent) -> bool,
    ) -> LinkEvent {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(ev)) if want(&ev) => return ev,
                Ok(Some(_)) => {}
                Ok(None) => panic!("link ended while waiting for {what}"),
                Err(_) => panic!("timed out waiting for {what}"),
            }
        }
    }

    async fn send(&self, el: Element) {
        self.outgoing
            .as_ref()
            .expect("link open")
            .send(el)
            .await
            .expect("link task alive");
    }

    /// Closing `outgoing` must end the link promptly.
    async fn shut_down(mut self) {
        self.outgoing = None;
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("run_link returns once outgoing is closed")
            .expect("run_link did not panic");
    }
}

fn disco_get(id: &str) -> Element {
    format!(
        "<iq xmlns='jabber:component:accept' type='get' from='{DOMAIN}' to='test' id='{id}'>\
         <query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
    )
    .parse()
    .expect("valid IQ")
}

fn is_result(ev: &LinkEvent, id: &str) -> bool {
    matches!(ev, LinkEvent::Stanza(el) if el.name() == "iq" && el.attr("id") == Some(id) && el.attr("type") == Some("result"))
}

#[tokio::test]
async fn connects_and_queries_server_disco() {
    let prosody = Prosody::start("disco");
    let mut link = start_link(config(prosody.server(), SECRET), None);
    link.wait_for(10, "Connected", |e| *e == LinkEvent::Connected)
        .await;
    link.send(disco_get("disco-1")).await;
    let LinkEvent::Stanza(reply) = link
        .wait_for(5, "disco result", |e| is_result(e, "disco-1"))
        .await
    else {
        unreachable!()
    };
    assert_eq!(reply.attr("from"), Some("test"));
    assert_eq!(reply.attr("to"), Some(DOMAIN));
    let query = reply
        .get_child("query", "http://jabber.org/protocol/disco#info")
        .expect("disco#info query in result");
    let identity = query
        .children()
        .find(|c| c.name() == "identity")
        .expect("identity");
    assert_eq!(identity.attr("category"), Some("server"));
    assert!(
        query
            .children()
            .any(|c| c.attr("var") == Some("urn:xmpp:ping")),
        "server advertises ping: {reply:?}"
    );
    link.shut_down().await;
}

#[tokio::test]
async fn wrong_secret_is_retried_without_connecting() {
    let prosody = Prosody::start("secret");
    let mut link = start_link(config(prosody.server(), "wrong"), None);
    for n in 0..3 {
        let ev = link
            .wait_for(10, "Disconnected", |e| {
                assert_ne!(*e, LinkEvent::Connected, "connected with a wrong secret");
                matches!(e, LinkEvent::Disconnected { .. })
            })
            .await;
        let LinkEvent::Disconnected { reason } = ev else {
            unreachable!()
        };
        assert!(reason.contains("not-authorized"), "attempt {n}: {reason}");
    }
    // Stanzas offered while failing are queued, not a reason to stop.
    link.send(disco_get("never")).await;
    link.shut_down().await;
}

#[tokio::test]
async fn reconnects_after_server_restart_and_delivers_queued_stanzas() {
    let mut prosody = Prosody::start("restart");
    let mut link = start_link(config(prosody.server(), SECRET), None);
    link.wait_for(10, "Connected", |e| *e == LinkEvent::Connected)
        .await;

    prosody.kill();
    link.wait_for(5, "Disconnected", |e| {
        matches!(e, LinkEvent::Disconnected { .. })
    })
    .await;
    // Sent while the server is down: must survive until the next session.
    link.send(disco_get("queued-1")).await;
    link.send(disco_get("queued-2")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    prosody.spawn();
    link.wait_for(10, "Connected again", |e| *e == LinkEvent::Connected)
        .await;
    link.wait_for(5, "queued-1 result", |e| is_result(e, "queued-1"))
        .await;
    link.wait_for(5, "queued-2 result", |e| is_result(e, "queued-2"))
        .await;
    link.shut_down().await;
}

#[tokio::test]
async fn keepalive_holds_an_idle_link_open() {
    let prosody = Prosody::start("keepalive");
    let timeouts = Timeouts {
        read_timeout: Duration::from_millis(300),
        response_timeout: Duration::from_millis(600),
    };
    let mut link = start_link(config(prosody.server(), SECRET), Some(timeouts));
    link.wait_for(10, "Connected", |e| *e == LinkEvent::Connected)
        .await;
    // Several soft-timeout periods; without answered keepalives the hard
    // timeout (0.9 s after silence) would drop the link.
    let idle = tokio::time::timeout(Duration::from_millis(2500), link.events.recv()).await;
    assert!(
        idle.is_err(),
        "idle link produced an event (keepalive leaked or link dropped): {idle:?}"
    );
    link.send(disco_get("after-idle")).await;
    link.wait_for(5, "result after idle", |e| is_result(e, "after-idle"))
        .await;
    link.shut_down().await;
}

/// A minimal c2s client: anonymous login, raw XML in and out.
struct Client {
    tcp: TcpStream,
    buf: String,
}

impl Client {
    fn login(port: u16) -> Client {
        let tcp = TcpStream::connect(("127.0.0.1", port)).expect("c2s connect");
        tcp.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut c = Client {
            tcp,
            buf: String::new(),
        };
        c.open();
        c.read_until("</stream:features>");
        c.write("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'/>");
        c.read_until("<success");
        c.open();
        c.read_until("</stream:features>");
        c.write("<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>");
        c.read_until("</iq>");
        c
    }

    fn open(&mut self) {
        self.buf.clear();
        self.write(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
             xmlns:stream='http://etherx.jabber.org/streams' to='test' version='1.0'>",
        );
    }

    fn write(&mut self, xml: &str) {
        self.tcp.write_all(xml.as_bytes()).expect("c2s write");
    }

    /// Reads until `needle` appears; returns and consumes everything up to it.
    fn read_until(&mut self, needle: &str) -> String {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(i) = self.buf.find(needle) {
                let rest = self.buf.split_off(i + needle.len());
                return std::mem::replace(&mut self.buf, rest);
            }
            let n = self.tcp.read(&mut chunk).unwrap_or_else(|e| {
                panic!("c2s read waiting for {needle}: {e}; got {:?}", self.buf)
            });
            assert!(n > 0, "c2s closed waiting for {needle}; got {:?}", self.buf);
            self.buf.push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
    }
}

#[tokio::test]
async fn odd_client_stanzas_pass_through_and_service_answers_reach_the_client() {
    let prosody = Prosody::start("client");
    let mut link = start_link(config(prosody.server(), SECRET), None);
    link.wait_for(10, "Connected", |e| *e == LinkEvent::Connected)
        .await;
    let port = prosody.c2s_port;
    let mut client = tokio::task::spawn_blocking(move || Client::login(port))
        .await
        .expect("login");

    // Legal XML that typed stanza parsers reject (duplicate <body>, unknown
    // message type): tokio_xmpp::Component would end its stream on these.
    client.write(
        "<message to='alice@sip.test' id='odd-1'><body>one</body><body>two</body></message>",
    );
    client
        .write("<message to='alice@sip.test' id='odd-2' type='bogus'><x xmlns='urn:x'/></message>");
    client.write("<message to='alice@sip.test' id='plain'><body>fine</body></message>");
    for id in ["odd-1", "odd-2", "plain"] {
        link.wait_for(5, id, |e| {
            assert!(
                !matches!(e, LinkEvent::Disconnected { .. }),
                "link dropped: {e:?}"
            );
            matches!(e, LinkEvent::Stanza(el) if el.attr("id") == Some(id))
        })
        .await;
    }

    // A disco#info from the client, answered by service::handle through the link.
    client.write(
        "<iq type='get' to='alice@sip.test' id='caps-1'>\
         <query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
    );
    let LinkEvent::Stanza(query) = link
        .wait_for(
            5,
            "disco query",
            |e| matches!(e, LinkEvent::Stanza(el) if el.attr("id") == Some("caps-1")),
        )
        .await
    else {
        unreachable!()
    };
    let info = ServiceInfo {
        domain: DOMAIN.into(),
        resource: "stox".into(),
        name: "stox gateway".into(),
    };
    for reply in service::handle(&info, &query).expect("service traffic") {
        link.send(reply).await;
    }
    let answer = tokio::task::spawn_blocking(move || client.read_until("</iq>"))
        .await
        .expect("read answer");
    assert!(
        answer.contains("id='caps-1'") || answer.contains("id=\"caps-1\""),
        "{answer}"
    );
    assert!(answer.contains("urn:xmpp:jingle:apps:rtp:1"), "{answer}");
    assert!(
        answer.contains("type='phone'") || answer.contains("type=\"phone\""),
        "{answer}"
    );
    link.shut_down().await;
}
