//! Durable calls in `stox run`: opening the store at start (migrations, our
//! lease, the calls we owned before a restart), the write-behind writer, and
//! the lease loop that renews our lease and adopts the calls of instances
//! whose lease expired.
//!
//! Everything here is off the signalling path: the event loop only calls
//! [`StoreHandle::persist`] (a channel send) and receives adopted calls as
//! [`Input::Restore`].

use crate::call::{Call, Input, Takeover};
use crate::config::Config;
use crate::store::{CallRecord, CallStore, Store, StoreError, StoreHandle, StoreStats, now_ms};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How often the store is tried at start while it cannot be reached.
const START_RETRY: Duration = Duration::from_secs(1);

/// The store, running: the writer's handle and what a restart takes back.
pub struct Durable {
    /// The database (a [`Store::Null`] when storing is off).
    pub store: Store,
    /// Where the event loop sends snapshots.
    pub writer: StoreHandle,
    /// Our calls from before a restart, to feed as [`Input::Restore`].
    pub restored: Vec<Call>,
}

/// Connects, migrates, takes our lease and loads our calls. A database that
/// cannot be reached is retried (logged each time) rather than skipped:
/// starting without it would strand every call the previous process left.
pub async fn open(config: &Config, sent_by: &str) -> Durable {
    let db = &config.database;
    let stats = Arc::new(StoreStats::default());
    if !db.enabled() {
        tracing::warn!(
            "[database] url = \"none\": calls are not stored and do not survive a restart"
        );
        return Durable {
            store: Store::Null,
            writer: StoreHandle::disabled(),
            restored: Vec::new(),
        };
    }
    let (store, records) = loop {
        match open_once(config, sent_by).await {
            Ok(found) => break found,
            Err(e) => {
                tracing::error!(error = %e, "database unavailable at start; retrying (calls wait: a restart must take back the calls it owned)");
                tokio::time::sleep(START_RETRY).await;
            }
        }
    };
    let (writer, _task) = StoreHandle::spawn(store.clone(), db.instance.clone(), stats);
    writer.seed(&records);
    let restored = snapshots(records);
    tracing::info!(instance = %db.instance, calls = restored.len(), "store open");
    Durable {
        store,
        writer,
        restored,
    }
}

async fn open_once(config: &Config, sent_by: &str) -> Result<(Store, Vec<CallRecord>), StoreError> {
    let db = &config.database;
    let store = Store::connect_running(db).await?;
    for m in store.migrate().await? {
        tracing::info!(version = m.version, description = %m.description, "migration applied");
    }
    let ttl = lease_ttl(config);
    store
        .renew_lease(&db.instance, sent_by, now_ms(), ttl_ms(ttl))
        .await?;
    let records = store.load_calls(&db.instance).await?;
    Ok((store, records))
}

/// The calls of `records`; a snapshot this version cannot read is logged
/// with its call id and left out (its row stays for inspection).
fn snapshots(records: Vec<CallRecord>) -> Vec<Call> {
    records
        .iter()
        .filter_map(|r| match r.call() {
            Ok(call) => Some(call),
            Err(e) => {
                tracing::error!(call = %r.id, error = %e, "stored call unreadable: not restored");
                None
            }
        })
        .collect()
}

fn lease_ttl(config: &Config) -> Duration {
    Duration::from_secs(config.database.lease_secs)
}

fn ttl_ms(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)
}

/// Renews our lease every third of its length and adopts the calls of
/// instances whose lease ran out, feeding them to the core.
pub fn spawn_lease_loop(
    config: &Config,
    store: Store,
    writer: StoreHandle,
    sent_by: String,
    core: mpsc::Sender<Input>,
) {
    if !config.database.enabled() {
        return;
    }
    let me = config.database.instance.clone();
    let ttl = lease_ttl(config);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(ttl / 3);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            tick.tick().await;
            match lease_round(&store, &writer, &me, &sent_by, ttl, &core).await {
                Ok(()) if failing => {
                    failing = false;
                    tracing::info!("lease renewed again");
                }
                Ok(()) => {}
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "cannot renew our lease or look for dead instances; calls go on, retrying");
                }
                Err(_) => {}
            }
        }
    });
}

async fn lease_round(
    store: &Store,
    writer: &StoreHandle,
    me: &str,
    sent_by: &str,
    ttl: Duration,
    core: &mpsc::Sender<Input>,
) -> Result<(), StoreError> {
    let now = now_ms();
    store.renew_lease(me, sent_by, now, ttl_ms(ttl)).await?;
    for dead in store.expired_instances(now).await? {
        if dead == me {
            continue;
        }
        let records = store.adopt(&dead, me, now).await?;
        if records.is_empty() {
            continue;
        }
        tracing::warn!(instance = %dead, calls = records.len(), "instance's lease expired: adopting its calls");
        writer.seed(&records);
        let calls = snapshots(records);
        let _ = core
            .send(Input::Restore {
                calls,
                how: Takeover::Adopt,
            })
            .await;
    }
    Ok(())
}

/// On SIGTERM: commit what is queued (bounded), then expire our lease so
/// that a peer adopts what we leave at once instead of after the lease.
pub async fn shut_down(durable: &Durable, config: &Config) {
    if !config.database.enabled() {
        return;
    }
    if !durable.writer.flush(Duration::from_secs(5)).await {
        tracing::warn!(
            backlog = durable.writer.stats().backlog(),
            "store writes still pending at exit"
        );
    }
    if let Err(e) = durable.store.release_lease(&config.database.instance).await {
        tracing::warn!(error = %e, "could not release our lease");
    }
    durable.store.close().await;
}
