//! `stox migrate`, `stox calls` and `stox cdr` as an operator runs them, on a
//! SQLite file (tests/store.rs covers the stores themselves on both databases).

use std::path::PathBuf;
use std::process::{Command, Output};
use stox::call::{Call, CallDirection, CallMedia, CallState, SipLeg, XmppLeg};
use stox::media::anchor::{MediaMode, SipSrtp};
use stox::media::stats::{LegStats, MediaStats};
use stox::sip::peer::{Peer, Transport};
use stox::store::{CallRecord, CallStore, CdrRecord, Store, Write, now_ms};

struct Files {
    config: PathBuf,
    db: PathBuf,
}

impl Files {
    fn new(tag: &str, url: Option<&str>) -> Files {
        let dir = std::env::temp_dir();
        let stem = format!("stox-cli-{tag}-{}", std::process::id());
        let db = dir.join(format!("{stem}.db"));
        let config = dir.join(format!("{stem}.toml"));
        let url = url.map_or_else(|| format!("sqlite://{}", db.display()), str::to_owned);
        std::fs::write(
            &config,
            format!(
                "[xmpp]\ndomain = \"gw.example.net\"\nsecret = \"s\"\n[database]\nurl = \"{url}\"\ninstance = \"gw-a\"\n"
            ),
        )
        .unwrap();
        Files { config, db }
    }

    fn stox(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_stox"))
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .env_remove("STOX_CONFIG")
            .output()
            .expect("stox runs")
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.config);
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.db.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

fn out(o: &Output) -> (String, String, Option<i32>) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        o.status.code(),
    )
}

fn call(id: &str) -> Call {
    Call {
        id: id.into(),
        direction: CallDirection::XmppToSip,
        state: CallState::Active,
        xmpp: XmppLeg {
            sid: "s".into(),
            user: "romeo@example.net/phone".into(),
            gateway: "+15551234@gw.example.net/stox".into(),
            jmi: true,
            ringing: Vec::new(),
            initiated: true,
            media: None,
        },
        sip: SipLeg::new(Peer {
            transport: Transport::Udp,
            addr: "192.0.2.1:5060".parse().unwrap(),
        }),
        trunk: Some("pbx".into()),
        created_at: None,
        answered_at: None,
        cancel_pending: false,
        ended: None,
        hangup_by: None,
        jingle_reason: None,
        media: None,
    }
}

#[tokio::test]
async fn migrate_calls_and_cdr() {
    let f = Files::new("all", None);
    let (stdout, stderr, code) = out(&f.stox(&["migrate"]));
    assert_eq!(
        (stdout.as_str(), code),
        (
            "applied 1 store\napplied 2 forwards\napplied 3 cdr_media\n",
            Some(0)
        ),
        "{stderr}"
    );
    let (stdout, _, code) = out(&f.stox(&["migrate"]));
    assert_eq!((stdout.as_str(), code), ("up to date\n", Some(0)));

    let (stdout, _, code) = out(&f.stox(&["calls"]));
    assert_eq!(code, Some(0));
    assert!(stdout.starts_with("ID  OWNER  DIRECTION"), "{stdout}");
    assert_eq!(stdout.lines().count(), 1);

    let now = now_ms();
    let store = Store::open(&format!("sqlite://{}", f.db.display()))
        .await
        .unwrap();
    let c = call("c-live");
    let mut ended = call("c-done");
    let leg = |n: u64| LegStats {
        packets_in: n,
        bytes_in: n * 172,
        packets_out: n - 1,
        bytes_out: (n - 1) * 172,
        dropped: 0,
        lost: 4,
        jitter_ms: 1.3,
    };
    ended.media = Some(CallMedia {
        mode: MediaMode::Embedded,
        sip_srtp: SipSrtp::None,
        pending: None,
        offer: None,
        answer: None,
        stats: Some(MediaStats {
            xmpp: leg(400),
            sip: leg(399),
        }),
    });
    store
        .apply(&[
            Write::Upsert(
                CallRecord::from_call(&c, "gw-a", now - 65_000, Some(now - 60_000), now).unwrap(),
            ),
            Write::End {
                call_id: "c-done".into(),
                cdr: CdrRecord::from_call(
                    &ended,
                    "gw-a",
                    now - 10_000,
                    Some(now - 9_000),
                    now - 1_000,
                ),
            },
            Write::End {
                call_id: "c-old".into(),
                cdr: CdrRecord::from_call(&call("c-old"), "gw-a", 0, None, 1_000),
            },
        ])
        .await
        .unwrap();
    store.close().await;

    let (stdout, _, code) = out(&f.stox(&["calls"]));
    assert_eq!(code, Some(0));
    let row = stdout.lines().nth(1).expect("one call");
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells[..7],
        [
            "c-live",
            "gw-a",
            "outbound",
            "Active",
            "romeo@example.net",
            "+15551234",
            "pbx"
        ]
    );
    assert!(cells[7].starts_with("1m0"), "age {}", cells[7]);
    let (stdout, _, _) = out(&f.stox(&["calls", "--json"]));
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(
        (v["id"].as_str(), v["owner"].as_str()),
        (Some("c-live"), Some("gw-a"))
    );
    assert!(v["age_ms"].as_i64().unwrap() >= 65_000);

    let (stdout, _, code) = out(&f.stox(&["cdr", "--since", "1h"]));
    assert_eq!(code, Some(0));
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(
        stdout.lines().nth(1).unwrap().contains(" c-done "),
        "{stdout}"
    );
    assert!(stdout.contains(" 8s "), "{stdout}");
    let header = stdout.lines().next().unwrap();
    assert!(header.contains("  INSTANCE  XMPP MEDIA  "), "{stdout}");
    assert!(header.ends_with("  SIP MEDIA"), "{stdout}");
    assert!(
        stdout.lines().nth(1).unwrap().ends_with(
            "400/399pkt 68800/68628B lost:4 drop:0 jit:1.3ms  399/398pkt 68628/68456B lost:4 drop:0 jit:1.3ms"
        ),
        "{stdout}"
    );
    let (stdout, _, _) = out(&f.stox(&["cdr", "--since", "1970-01-01T00:00:00Z", "--json"]));
    let ids: Vec<String> = stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids, ["c-old", "c-done"]);
    let records: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(records[0]["media"].is_null(), "{stdout}");
    assert_eq!(records[1]["media"]["sip"]["packets_in"], 399, "{stdout}");
    assert_eq!(records[1]["media"]["xmpp"]["lost"], 4, "{stdout}");

    let (_, stderr, code) = out(&f.stox(&["cdr", "--since", "yesterday"]));
    assert_eq!(code, Some(2));
    assert!(
        stderr.starts_with("error: --since: \"yesterday\""),
        "{stderr}"
    );
}

#[test]
fn no_store_configured_is_a_config_error() {
    let f = Files::new("none", Some("none"));
    let (_, stderr, code) = out(&f.stox(&["calls"]));
    assert_eq!(code, Some(2));
    assert_eq!(
        stderr,
        "error: database.url is \"none\": no calls or CDRs are stored\n"
    );
}

#[test]
fn unreachable_database_is_exit_1() {
    let f = Files::new("down", Some("postgres://postgres@127.0.0.1:1/x"));
    let started = std::time::Instant::now();
    let (_, stderr, code) = out(&f.stox(&["migrate"]));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.starts_with("error: database: "), "{stderr}");
    assert!(started.elapsed().as_secs() < 15);
}
