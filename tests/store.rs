//! `stox::store` against the real databases: the machine's PostgreSQL
//! (127.0.0.1:5432, or `STOX_PG_URL`; each test gets a fresh database and
//! drops it) and SQLite in a temporary file. Every scenario runs on both.
//! Only the writer's retry uses a test double (a real SQLite store whose
//! first applies fail on demand).
//!
//! Postgres not reachable is a failure with a message saying so, never a skip.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stox::call::{
    Call, CallDirection, CallEnd, CallMedia, CallState, PersistKind, Side, SipLeg, XmppLeg,
};
use stox::media::anchor::{MediaMode, SipSrtp};
use stox::media::stats::{LegStats, MediaStats};
use stox::sip::peer::{Peer, Transport};
use stox::sip::{Method, Request};
use stox::store::{
    CallRecord, CallStore, CdrRecord, SqliteStore, Store, StoreError, StoreHandle, StoreStats,
    Write,
};

// ---- databases ---------------------------------------------------------------

const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A database of its own on the machine's Postgres, dropped afterwards.
struct PgDb {
    admin_url: String,
    name: String,
    url: String,
}

impl PgDb {
    async fn new() -> PgDb {
        let admin_url = std::env::var("STOX_PG_URL").unwrap_or_else(|_| DEFAULT_PG.into());
        let name = format!("stox_test_{:016x}", rand::random::<u64>());
        let opts: sqlx::postgres::PgConnectOptions = admin_url
            .parse()
            .unwrap_or_else(|e| panic!("STOX_PG_URL {admin_url:?}: {e}"));
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect_with(&opts)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is required by tests/store.rs and is not reachable at \
                     {admin_url} (set STOX_PG_URL to another server): {e}"
                )
            });
        let sql = format!("CREATE DATABASE {name}");
        sqlx::Executor::execute(&mut conn, sqlx::AssertSqlSafe(sql))
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(b, _)| b);
        let url = format!("{base}/{name}");
        PgDb {
            admin_url,
            name,
            url,
        }
    }

    async fn store(&self) -> Store {
        let s = Store::open(&self.url)
            .await
            .expect("connect to the test database");
        s.migrate().await.expect("migrate");
        s
    }
}

impl Drop for PgDb {
    /// Drops the database even when the test panicked (a thread of its own,
    /// since Drop cannot await).
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let opts: sqlx::postgres::PgConnectOptions = admin_url.parse().unwrap();
                if let Ok(mut conn) =
                    <sqlx::PgConnection as sqlx::Connection>::connect_with(&opts).await
                {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::Executor::execute(&mut conn, sqlx::AssertSqlSafe(sql)).await;
                }
            });
        })
        .join();
    }
}

/// A SQLite file in the temporary directory, removed afterwards.
struct LiteDb {
    path: PathBuf,
}

impl LiteDb {
    fn new() -> LiteDb {
        let path = std::env::temp_dir().join(format!(
            "stox-store-{}-{:016x}.db",
            std::process::id(),
            rand::random::<u64>()
        ));
        LiteDb { path }
    }

    fn url(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }

    async fn store(&self) -> Store {
        let s = Store::open(&self.url()).await.expect("open sqlite");
        s.migrate().await.expect("migrate");
        s
    }
}

impl Drop for LiteDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Runs `scenario` on a fresh Postgres database and a fresh SQLite file.
macro_rules! on_both {
    ($scenario:ident) => {{
        let pg = PgDb::new().await;
        let store = pg.store().await;
        $scenario(&store).await;
        store.close().await;
        let lite = LiteDb::new();
        let store = lite.store().await;
        $scenario(&store).await;
        store.close().await;
    }};
}

// ---- calls and records -------------------------------------------------------

fn call(id: &str, direction: CallDirection) -> Call {
    let mut sip = SipLeg::new(Peer {
        transport: Transport::Udp,
        addr: "192.0.2.10:5060".parse().unwrap(),
    });
    sip.call_id = format!("{id}@192.0.2.10");
    let (user, gateway) = match direction {
        CallDirection::XmppToSip => ("romeo@example.net/phone", "+15551234@gw.example.net/stox"),
        CallDirection::SipToXmpp => {
            let mut invite = Request {
                method: Method::Invite,
                uri: "sip:+15550001@gw.example.net".into(),
                headers: Default::default(),
                body: Vec::new(),
            };
            invite
                .headers
                .push("From", "<sip:+15559999@trunk.example>;tag=x");
            sip.invite = Some(invite);
            ("juliet@example.net", "+15559999@gw.example.net/stox")
        }
    };
    Call {
        id: id.into(),
        direction,
        state: CallState::Inviting,
        xmpp: XmppLeg {
            sid: format!("sid-{id}"),
            user: user.into(),
            gateway: gateway.into(),
            jmi: true,
            ringing: Vec::new(),
            initiated: true,
            media: None,
        },
        sip,
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

fn record(id: &str, owner: &str, created_ms: i64) -> CallRecord {
    CallRecord::from_call(
        &call(id, CallDirection::XmppToSip),
        owner,
        created_ms,
        None,
        created_ms,
    )
    .unwrap()
}

fn end(id: &str, end_ms: i64) -> Write {
    let mut c = call(id, CallDirection::XmppToSip);
    c.ended = Some(CallEnd {
        by: Side::Sip,
        sip_status: Some(486),
        jingle_reason: Some("busy".into()),
    });
    Write::End {
        call_id: id.into(),
        cdr: CdrRecord::from_call(&c, "a", end_ms - 100, None, end_ms),
    }
}

fn ids(records: &[CallRecord]) -> Vec<&str> {
    records.iter().map(|r| r.id.as_str()).collect()
}

// ---- scenarios ---------------------------------------------------------------

async fn upsert_end_and_cdr_once<S: CallStore>(s: &S) {
    let mut r = record("c1", "a", 1_000);
    s.apply(&[Write::Upsert(r.clone())]).await.unwrap();
    r.state = "Active".into();
    r.answered_ms = Some(1_500);
    r.updated_ms = 1_500;
    s.apply(&[Write::Upsert(r.clone())]).await.unwrap();
    let loaded = s.load_calls("a").await.unwrap();
    assert_eq!(loaded, vec![r.clone()]);
    // The snapshot is the call.
    assert_eq!(
        loaded[0].call().unwrap(),
        call("c1", CallDirection::XmppToSip)
    );
    assert_eq!(loaded[0].caller, "romeo@example.net");
    assert_eq!(loaded[0].callee, "+15551234");

    // End twice (a retried batch, or two Ends in one): one CDR.
    s.apply(&[end("c1", 3_000), end("c1", 3_000)])
        .await
        .unwrap();
    s.apply(&[end("c1", 9_000)]).await.unwrap();
    assert!(s.load_calls("a").await.unwrap().is_empty());
    let cdrs = s.cdrs_since(0).await.unwrap();
    assert_eq!(cdrs.len(), 1);
    let c = &cdrs[0];
    assert_eq!(
        (
            c.id.as_str(),
            c.end_ms,
            c.sip_status,
            c.jingle_reason.as_deref()
        ),
        ("c1", 3_000, Some(486), Some("busy"))
    );
    assert_eq!((c.ended_by.as_str(), c.instance.as_str()), ("sip", "a"));
    assert_eq!(c.trunk.as_deref(), Some("pbx"));
}

/// An anchored call's last media report lands in its CDR's per-leg
/// columns and reads back whole; a passthrough call's columns stay NULL.
async fn cdr_media_columns<S: CallStore>(s: &S) {
    let leg = |n: u64, jitter_ms: f64| LegStats {
        packets_in: n,
        bytes_in: n * 172,
        packets_out: n - 2,
        bytes_out: (n - 2) * 172,
        dropped: 3,
        lost: 2,
        jitter_ms,
    };
    // Past i64::MAX nothing is stored as is; everything below must be.
    let stats = MediaStats {
        xmpp: leg(1_500, 2.75),
        sip: LegStats {
            bytes_in: i64::MAX as u64,
            ..leg(9_000_000_000, 31.125)
        },
    };
    let mut anchored = call("m1", CallDirection::XmppToSip);
    anchored.media = Some(CallMedia {
        mode: MediaMode::Embedded,
        sip_srtp: SipSrtp::None,
        pending: None,
        offer: None,
        answer: None,
        stats: Some(stats),
    });
    let passthrough = call("m2", CallDirection::SipToXmpp);
    s.apply(&[
        Write::End {
            call_id: "m1".into(),
            cdr: CdrRecord::from_call(&anchored, "a", 1_000, Some(1_500), 61_500),
        },
        Write::End {
            call_id: "m2".into(),
            cdr: CdrRecord::from_call(&passthrough, "a", 1_000, None, 62_000),
        },
    ])
    .await
    .unwrap();
    let cdrs = s.cdrs_since(0).await.unwrap();
    assert_eq!(cdrs.len(), 2);
    assert_eq!((cdrs[0].id.as_str(), cdrs[0].media), ("m1", Some(stats)));
    assert_eq!((cdrs[1].id.as_str(), cdrs[1].media), ("m2", None));
    // And `--json` names them per leg.
    let json = serde_json::to_value(&cdrs[0]).unwrap();
    assert_eq!(json["media"]["sip"]["lost"], 2);
    assert_eq!(json["media"]["xmpp"]["jitter_ms"], 2.75);
    assert!(serde_json::to_value(&cdrs[1]).unwrap()["media"].is_null());
}

async fn no_resurrection<S: CallStore>(s: &S) {
    s.apply(&[Write::Upsert(record("c2", "a", 1_000))])
        .await
        .unwrap();
    s.apply(&[end("c2", 2_000)]).await.unwrap();
    // A snapshot that was queued before the end arrives late: ignored, in
    // its own batch and after the End in the same batch.
    s.apply(&[Write::Upsert(record("c2", "a", 1_000))])
        .await
        .unwrap();
    s.apply(&[end("c3", 2_500), Write::Upsert(record("c3", "a", 1_000))])
        .await
        .unwrap();
    assert!(s.active_calls().await.unwrap().is_empty());
    assert_eq!(s.cdrs_since(0).await.unwrap().len(), 2);
}

async fn large_batch_lands_whole<S: CallStore>(s: &S) {
    let writes: Vec<Write> = (0..300)
        .map(|i| Write::Upsert(record(&format!("t{i:03}"), "a", 10_000 + i)))
        .collect();
    s.apply(&writes).await.unwrap();
    s.apply(&[]).await.unwrap();
    assert_eq!(s.load_calls("a").await.unwrap().len(), 300);
}

async fn load_by_owner_and_session<S: CallStore>(s: &S) {
    s.apply(&[
        Write::Upsert(record("a2", "a", 2_000)),
        Write::Upsert(record("b1", "b", 1_500)),
        Write::Upsert(record("a1", "a", 1_000)),
    ])
    .await
    .unwrap();
    assert_eq!(ids(&s.load_calls("a").await.unwrap()), ["a1", "a2"]);
    assert_eq!(ids(&s.load_calls("b").await.unwrap()), ["b1"]);
    assert!(s.load_calls("c").await.unwrap().is_empty());
    assert_eq!(ids(&s.active_calls().await.unwrap()), ["a1", "b1", "a2"]);
    assert_eq!(
        s.owner_of_session("romeo@example.net", "sid-b1")
            .await
            .unwrap()
            .as_deref(),
        Some("b")
    );
    assert_eq!(
        s.owner_of_session("romeo@example.net", "sid-zz")
            .await
            .unwrap(),
        None
    );
}

async fn cdrs_since_in_end_order<S: CallStore>(s: &S) {
    s.apply(&[end("x3", 3_000), end("x1", 1_000), end("x2", 2_000)])
        .await
        .unwrap();
    let since = |ms| async move {
        s.cdrs_since(ms)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(since(0).await, ["x1", "x2", "x3"]);
    assert_eq!(since(2_000).await, ["x2", "x3"]);
    assert!(since(3_001).await.is_empty());
}

async fn leases_and_adoption<S: CallStore>(s: &S) {
    s.renew_lease("a", "10.0.0.1:5060", 1_000, 10_000)
        .await
        .unwrap();
    s.renew_lease("b", "10.0.0.2:5060", 1_000, 10_000)
        .await
        .unwrap();
    s.apply(&[
        Write::Upsert(record("a1", "a", 1_000)),
        Write::Upsert(record("a2", "a", 1_100)),
        Write::Upsert(record("b1", "b", 1_200)),
    ])
    .await
    .unwrap();
    assert!(s.expired_instances(10_999).await.unwrap().is_empty());
    // b renews, a does not.
    s.renew_lease("b", "10.0.0.2:5060", 9_000, 10_000)
        .await
        .unwrap();
    assert_eq!(s.expired_instances(11_000).await.unwrap(), ["a"]);
    // Not expired yet: nothing to adopt.
    assert!(s.adopt("b", "c", 11_000).await.unwrap().is_empty());
    assert_eq!(ids(&s.load_calls("b").await.unwrap()), ["b1"]);

    let adopted = s.adopt("a", "b", 11_000).await.unwrap();
    let mut got = ids(&adopted);
    got.sort();
    assert_eq!(got, ["a1", "a2"]);
    assert!(adopted.iter().all(|r| r.owner == "b"));
    assert_eq!(ids(&s.load_calls("b").await.unwrap()), ["a1", "a2", "b1"]);
    // The lease is gone: a second adopter gets nothing.
    assert!(s.adopt("a", "c", 12_000).await.unwrap().is_empty());
    assert!(s.expired_instances(12_000).await.unwrap().is_empty());

    // A clean shutdown expires the lease at once; what was left is adoptable.
    s.release_lease("b").await.unwrap();
    assert_eq!(s.expired_instances(12_000).await.unwrap(), ["b"]);
    assert_eq!(s.adopt("b", "c", 12_000).await.unwrap().len(), 3);
    // Renewing keeps an instance's first start time and moves its expiry.
    s.renew_lease("c", "x", 20_000, 5_000).await.unwrap();
    s.renew_lease("c", "y", 30_000, 5_000).await.unwrap();
    assert!(s.expired_instances(34_999).await.unwrap().is_empty());
    assert_eq!(s.expired_instances(35_000).await.unwrap(), ["c"]);
}

/// Several adopters of one dead instance at once: exactly one gets its calls.
async fn adoption_race(store: Store) {
    store.renew_lease("dead", "x", 0, 1_000).await.unwrap();
    let writes: Vec<Write> = (0..20)
        .map(|i| Write::Upsert(record(&format!("d{i:02}"), "dead", 100 + i)))
        .collect();
    store.apply(&writes).await.unwrap();
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let s = store.clone();
            tokio::spawn(async move { (i, s.adopt("dead", &format!("me{i}"), 5_000).await) })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        let (i, got) = t.await.unwrap();
        let got = got.unwrap();
        if !got.is_empty() {
            assert_eq!(got.len(), 20);
            winners.push(i);
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    let owner = format!("me{}", winners[0]);
    assert_eq!(store.load_calls(&owner).await.unwrap().len(), 20);
    assert!(store.load_calls("dead").await.unwrap().is_empty());
}

// ---- the tests ---------------------------------------------------------------

#[tokio::test]
async fn migrations_apply_once() {
    let pg = PgDb::new().await;
    let lite = LiteDb::new();
    for url in [pg.url.clone(), lite.url()] {
        let s = Store::open(&url).await.unwrap();
        let first = s.migrate().await.unwrap();
        assert_eq!(
            first
                .iter()
                .map(|m| (m.version, m.description.as_str()))
                .collect::<Vec<_>>(),
            [(1, "store"), (2, "forwards"), (3, "cdr_media")],
            "{url}"
        );
        assert!(s.migrate().await.unwrap().is_empty(), "{url}: again");
        assert!(s.active_calls().await.unwrap().is_empty());
        s.close().await;
    }
}

#[tokio::test]
async fn upsert_end_cdr_idempotent() {
    on_both!(upsert_end_and_cdr_once);
}

#[tokio::test]
async fn cdrs_keep_the_media_counts() {
    on_both!(cdr_media_columns);
}

#[tokio::test]
async fn ended_calls_are_not_resurrected() {
    on_both!(no_resurrection);
}

#[tokio::test]
async fn large_batches() {
    on_both!(large_batch_lands_whole);
}

/// One failing write rolls the whole batch back (Postgres refuses NUL in
/// TEXT; records built by `from_call` never hold one, this one is forged).
#[tokio::test]
async fn a_failed_batch_writes_nothing() {
    let pg = PgDb::new().await;
    let s = pg.store().await;
    let mut bad = record("bad", "a", 2);
    bad.snapshot = "nul \0 here".into();
    let e = s
        .apply(&[
            Write::Upsert(record("good", "a", 1)),
            end("gone", 5),
            Write::Upsert(bad),
        ])
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Database(_)), "{e:?}");
    assert!(s.active_calls().await.unwrap().is_empty());
    assert!(s.cdrs_since(0).await.unwrap().is_empty());
    s.close().await;
}

#[tokio::test]
async fn calls_by_owner_and_session() {
    on_both!(load_by_owner_and_session);
}

#[tokio::test]
async fn cdrs_since_orders_by_end() {
    on_both!(cdrs_since_in_end_order);
}

#[tokio::test]
async fn leases_and_adopt() {
    on_both!(leases_and_adoption);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_adopters_race_one_wins() {
    let pg = PgDb::new().await;
    adoption_race(pg.store().await).await;
    let lite = LiteDb::new();
    adoption_race(lite.store().await).await;
}

#[tokio::test]
async fn sqlite_file_is_created_with_either_url_form() {
    let lite = LiteDb::new();
    assert!(!lite.path.exists());
    let url = format!("sqlite:{}", lite.path.display());
    let s = Store::open(&url).await.unwrap();
    assert!(matches!(s, Store::Sqlite(_)));
    s.migrate().await.unwrap();
    assert!(lite.path.exists());
    s.close().await;
}

#[tokio::test]
async fn bad_urls_are_typed_errors() {
    let e = Store::open("mysql://u:pw@db/x").await.unwrap_err();
    assert!(matches!(e, StoreError::Url { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "database url \"mysql://u:***@db/x\": expected postgres://…, sqlite:FILE or none"
    );
    assert!(matches!(Store::open("none").await.unwrap(), Store::Null));
    assert!(matches!(Store::open("").await.unwrap(), Store::Null));
    // A closed port: a database error at connect, not a hang.
    let e = Store::open("postgres://postgres@127.0.0.1:1/x")
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Database(_)), "{e:?}");
}

// ---- the writer --------------------------------------------------------------

/// Persists a whole call life on a current-thread runtime without yielding,
/// so the writer sees everything at once and must coalesce.
async fn writer_coalesces_and_counts(store: Store) {
    let stats = Arc::new(StoreStats::default());
    let (h, task) = StoreHandle::spawn(store.clone(), "gw-a", stats.clone());
    let a = call("w1", CallDirection::XmppToSip);
    let mut b = call("w2", CallDirection::SipToXmpp);
    h.persist(PersistKind::Created, Box::new(a.clone()), 1_000);
    h.persist(PersistKind::Created, Box::new(b.clone()), 1_100);
    let mut a_up = a.clone();
    a_up.state = CallState::Active;
    h.persist(PersistKind::Answered, Box::new(a_up.clone()), 2_000);
    a_up.ended = Some(CallEnd {
        by: Side::Xmpp,
        sip_status: None,
        jingle_reason: Some("success".into()),
    });
    h.persist(PersistKind::Ended, Box::new(a_up), 62_000);
    b.state = CallState::Active;
    h.persist(PersistKind::Answered, Box::new(b.clone()), 1_300);
    assert_eq!(stats.backlog(), 5);
    assert!(h.flush(Duration::from_secs(5)).await);
    // w1: three writes became its End; w2: two became one upsert.
    assert_eq!(stats.backlog(), 0);
    assert_eq!(stats.writes_total(), 2);
    assert_eq!(stats.batches_total(), 1);
    assert_eq!(stats.errors_total(), 0);
    assert_eq!(stats.oldest_pending_ms(), 0);

    let cdrs = store.cdrs_since(0).await.unwrap();
    assert_eq!(cdrs.len(), 1);
    let c = &cdrs[0];
    assert_eq!(
        (c.start_ms, c.answer_ms, c.end_ms, c.duration_ms),
        (1_000, Some(2_000), 62_000, 60_000)
    );
    assert_eq!(
        (
            c.ended_by.as_str(),
            c.jingle_reason.as_deref(),
            c.instance.as_str()
        ),
        ("xmpp", Some("success"), "gw-a")
    );
    assert_eq!(
        (c.caller.as_str(), c.callee.as_str()),
        ("romeo@example.net", "+15551234")
    );
    let calls = store.load_calls("gw-a").await.unwrap();
    assert_eq!(ids(&calls), ["w2"]);
    assert_eq!(
        (
            calls[0].created_ms,
            calls[0].answered_ms,
            calls[0].state.as_str()
        ),
        (1_100, Some(1_300), "Active")
    );
    assert_eq!(
        (calls[0].caller.as_str(), calls[0].callee.as_str()),
        ("+15559999", "juliet@example.net")
    );
    assert_eq!(calls[0].call().unwrap(), b);

    // A restarted writer seeded with the stored row keeps its times in the CDR.
    drop(h);
    task.await.unwrap();
    let (h, task) = StoreHandle::spawn(store.clone(), "gw-a", stats.clone());
    h.seed(&calls);
    b.ended = Some(CallEnd {
        by: Side::Sip,
        sip_status: None,
        jingle_reason: Some("success".into()),
    });
    // A later snapshot (Modified, when the core has it, is handled the same).
    h.persist(PersistKind::Answered, Box::new(b.clone()), 5_000);
    h.persist(PersistKind::Ended, Box::new(b), 9_300);
    assert!(h.flush(Duration::from_secs(5)).await);
    let cdr = store
        .cdrs_since(0)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.id == "w2")
        .expect("w2's CDR");
    assert_eq!(
        (cdr.start_ms, cdr.answer_ms, cdr.duration_ms),
        (1_100, Some(1_300), 8_000)
    );
    assert!(store.active_calls().await.unwrap().is_empty());
    drop(h);
    task.await.unwrap();
}

#[tokio::test]
async fn writer_coalesces_per_call_postgres() {
    let pg = PgDb::new().await;
    writer_coalesces_and_counts(pg.store().await).await;
}

#[tokio::test]
async fn writer_coalesces_per_call_sqlite() {
    let lite = LiteDb::new();
    writer_coalesces_and_counts(lite.store().await).await;
}

#[tokio::test]
async fn writer_without_a_store_drops_everything() {
    let stats = Arc::new(StoreStats::default());
    let (h, task) = StoreHandle::spawn(Store::Null, "x", stats.clone());
    h.persist(
        PersistKind::Created,
        Box::new(call("n", CallDirection::XmppToSip)),
        1,
    );
    assert!(h.flush(Duration::from_millis(10)).await);
    assert_eq!((stats.backlog(), stats.writes_total()), (0, 0));
    task.await.unwrap();
    assert!(StoreHandle::disabled().flush(Duration::ZERO).await);
}

/// A real SQLite store whose first `fail` applies fail, as a database outage
/// would; everything else goes through. Records each batch's call ids.
struct Flaky {
    inner: SqliteStore,
    fail: usize,
    calls: Arc<AtomicUsize>,
    batches: Arc<Mutex<Vec<Vec<String>>>>,
}

impl CallStore for Flaky {
    async fn apply(&self, writes: &[Write]) -> Result<(), StoreError> {
        self.batches
            .lock()
            .unwrap()
            .push(writes.iter().map(|w| w.call_id().to_owned()).collect());
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.fail {
            return Err(StoreError::Database(sqlx::Error::PoolTimedOut));
        }
        self.inner.apply(writes).await
    }
    async fn load_calls(&self, owner: &str) -> Result<Vec<CallRecord>, StoreError> {
        self.inner.load_calls(owner).await
    }
    async fn active_calls(&self) -> Result<Vec<CallRecord>, StoreError> {
        self.inner.active_calls().await
    }
    async fn cdrs_since(&self, ms: i64) -> Result<Vec<CdrRecord>, StoreError> {
        self.inner.cdrs_since(ms).await
    }
    async fn renew_lease(&self, i: &str, s: &str, n: i64, t: i64) -> Result<(), StoreError> {
        self.inner.renew_lease(i, s, n, t).await
    }
    async fn release_lease(&self, i: &str) -> Result<(), StoreError> {
        self.inner.release_lease(i).await
    }
    async fn expired_instances(&self, n: i64) -> Result<Vec<String>, StoreError> {
        self.inner.expired_instances(n).await
    }
    async fn adopt(&self, d: &str, m: &str, n: i64) -> Result<Vec<CallRecord>, StoreError> {
        self.inner.adopt(d, m, n).await
    }
    async fn owner_of_session(&self, u: &str, s: &str) -> Result<Option<String>, StoreError> {
        self.inner.owner_of_session(u, s).await
    }
}

#[tokio::test]
async fn writer_retries_in_order_and_reports_the_gap() {
    let lite = LiteDb::new();
    let Store::Sqlite(inner) = lite.store().await else {
        unreachable!()
    };
    let batches: Arc<Mutex<Vec<Vec<String>>>> = Arc::default();
    let flaky = Flaky {
        inner: inner.clone(),
        fail: 2,
        calls: Arc::default(),
        batches: batches.clone(),
    };
    let stats = Arc::new(StoreStats::default());
    let (h, task) = StoreHandle::spawn(flaky, "gw", stats.clone());
    h.persist(
        PersistKind::Created,
        Box::new(call("r1", CallDirection::XmppToSip)),
        1_000,
    );
    h.persist(
        PersistKind::Created,
        Box::new(call("r2", CallDirection::XmppToSip)),
        1_000,
    );
    // The first apply fails; during the back-off the gap is visible.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(stats.errors_total(), 1);
    assert_eq!(stats.backlog(), 2);
    assert!(
        stats.oldest_pending_ms() >= 40,
        "{}",
        stats.oldest_pending_ms()
    );
    // Queued during the outage: r1's end merges into its pending write,
    // r3 goes behind; nothing overtakes the failed batch.
    let mut r1 = call("r1", CallDirection::XmppToSip);
    r1.ended = Some(CallEnd {
        by: Side::Gateway,
        sip_status: Some(503),
        jingle_reason: None,
    });
    h.persist(PersistKind::Ended, Box::new(r1), 1_500);
    h.persist(
        PersistKind::Created,
        Box::new(call("r3", CallDirection::XmppToSip)),
        1_600,
    );
    // A flush that cannot finish in time says so.
    assert!(!h.flush(Duration::from_millis(10)).await);
    // 100 ms + 200 ms of back-off, then the third apply succeeds.
    assert!(h.flush(Duration::from_secs(5)).await);
    assert_eq!(stats.errors_total(), 2);
    assert_eq!(stats.backlog(), 0);
    assert_eq!(stats.oldest_pending_ms(), 0);
    assert_eq!(stats.writes_total(), 3);
    assert_eq!(stats.batches_total(), 1);
    let batches = batches.lock().unwrap().clone();
    assert_eq!(
        batches,
        [
            vec!["r1", "r2"],
            vec!["r1", "r2", "r3"],
            vec!["r1", "r2", "r3"]
        ]
    );
    assert_eq!(ids(&inner.load_calls("gw").await.unwrap()), ["r2", "r3"]);
    let cdrs = inner.cdrs_since(0).await.unwrap();
    assert_eq!(
        (cdrs.len(), cdrs[0].sip_status, cdrs[0].ended_by.as_str()),
        (1, Some(503), "gateway")
    );
    drop(h);
    task.await.unwrap();
}

#[tokio::test]
async fn stanzas_reach_their_instance_by_notify_long_ones_through_a_row() {
    let pg = PgDb::new().await;
    let store = Store::open(&pg.url).await.unwrap();
    store.migrate().await.unwrap();
    let shared = store.shared().expect("Postgres is shared");
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    shared.listen_forwards("gw2", tx).await.unwrap();
    let short = "<message xmlns='jabber:component:accept' id='a'/>".to_string();
    let long = format!(
        "<message xmlns='jabber:component:accept' id='b'><body>{}</body></message>",
        "x".repeat(20_000)
    );
    shared.forward("gw2", &short).await.unwrap();
    shared.forward("gw3", "<not-for-gw2/>").await.unwrap();
    shared.forward("gw2", &long).await.unwrap();
    let wait = std::time::Duration::from_secs(5);
    let first = tokio::time::timeout(wait, rx.recv())
        .await
        .unwrap()
        .unwrap();
    let second = tokio::time::timeout(wait, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first, short);
    assert_eq!(second, long, "a stanza over NOTIFY's limit arrives whole");
    store
        .renew_lease("gw2", "127.0.0.1:5060", 1_000, 10_000)
        .await
        .unwrap();
    assert_eq!(shared.live_peers("gw1", 2_000).await.unwrap(), 1);
    assert_eq!(shared.live_peers("gw2", 2_000).await.unwrap(), 0);
    assert_eq!(
        shared.live_peers("gw1", 20_000).await.unwrap(),
        0,
        "expired"
    );
}

#[tokio::test]
async fn an_instance_is_live_while_its_lease_runs_and_its_connections_are_open() {
    let pg = PgDb::new().await;
    let admin = Store::open(&pg.url).await.unwrap();
    admin.migrate().await.unwrap();
    let now = stox::store::now_ms();
    let running = stox::store::PgStore::connect_as(&pg.url, Some("gw-live"))
        .await
        .unwrap();
    running
        .renew_lease("gw-live", "127.0.0.1:5060", now, 60_000)
        .await
        .unwrap();
    // The pool opens its connections lazily: use one.
    running.load_calls("gw-live").await.unwrap();
    admin
        .renew_lease("gw-gone", "127.0.0.1:5062", now, 60_000)
        .await
        .unwrap();
    let shared = admin.shared().unwrap();
    assert!(shared.is_live("gw-live", now).await.unwrap());
    assert!(
        !shared.is_live("gw-gone", now).await.unwrap(),
        "a lease without the instance's connections: killed"
    );
    running.close().await;
    let mut gone = false;
    for _ in 0..50 {
        if !shared.is_live("gw-live", now).await.unwrap() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "closed connections end liveness before the lease");
}
