//! Durable call state and call detail records (issue 5).
//!
//! The call core emits `Output::Persist` at three points of a call (created,
//! answered, ended; rarely modified when a dialog changes). The runtime hands
//! each to [`StoreHandle::persist`], which queues it and returns at once: the
//! signalling loop never waits on the database. The write-behind task
//! (`writer.rs`) turns them into [`Write`]s and commits whatever is queued in
//! one transaction per batch, retrying in order through an outage; the
//! backlog and its age are in [`StoreStats`] and `/metrics`.
//!
//! Rows: `calls` (one per call in progress: the JSON snapshot of the
//! [`Call`](crate::call::Call) plus lookup columns), `cdrs` (one per ended
//! call) and `instances` (leases, so that instances sharing a Postgres adopt
//! the calls of one that died). Schemas in `migrations/<dialect>/`.

mod error;
mod forward;
mod migrations;
mod parties;
mod postgres;
mod queue;
mod record;
pub(crate) mod sql;
mod sqlite;
mod stats;
mod writer;

pub use crate::config::redact_url;
pub use error::StoreError;
pub use migrations::AppliedMigration;
pub use parties::parties;
pub use postgres::PgStore;
pub use record::{CallRecord, CdrRecord, Write};
pub use sqlite::SqliteStore;
pub use stats::{StoreStats, now_ms};
pub use writer::StoreHandle;

use crate::config::DatabaseConfig;
use std::future::Future;

/// The operations of a call store. Every method is one statement or one
/// transaction; none is called on the signalling path except through
/// [`StoreHandle`].
///
/// A trait (native `async fn` in traits, futures `Send`) rather than methods
/// on [`Store`] alone, so that the write-behind task can be tested against a
/// store that fails on demand.
pub trait CallStore: Send + Sync {
    /// Whether writes go anywhere ([`Store::Null`] says no, and the writer
    /// then drops them without queueing).
    fn is_enabled(&self) -> bool {
        true
    }

    /// Applies `writes` in order, in one transaction: all or nothing.
    fn apply(&self, writes: &[Write]) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The calls `owner` runs, oldest first (what a restarted instance resumes).
    fn load_calls(
        &self,
        owner: &str,
    ) -> impl Future<Output = Result<Vec<CallRecord>, StoreError>> + Send;

    /// Every call in progress, of every instance, oldest first.
    fn active_calls(&self) -> impl Future<Output = Result<Vec<CallRecord>, StoreError>> + Send;

    /// CDRs of calls that ended at or after `since_ms`, by end time.
    fn cdrs_since(
        &self,
        since_ms: i64,
    ) -> impl Future<Output = Result<Vec<CdrRecord>, StoreError>> + Send;

    /// Takes or extends `instance`'s lease until `now_ms + ttl_ms`, recording
    /// the SIP `sent_by` (host:port) its dialogs use.
    fn renew_lease(
        &self,
        instance: &str,
        sent_by: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Ends `instance`'s lease now (a clean shutdown). Its lease row is
    /// expired rather than deleted: calls it left behind are adopted by a
    /// peer like a dead instance's, or reloaded by itself if it returns first.
    fn release_lease(&self, instance: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Instances whose lease ended at or before `now_ms`.
    fn expired_instances(
        &self,
        now_ms: i64,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Moves `dead`'s calls to `me` and returns them, if `dead`'s lease is
    /// still expired at `now_ms` and nobody adopted them first; else nothing.
    /// One transaction: of several instances racing, exactly one gets them.
    fn adopt(
        &self,
        dead: &str,
        me: &str,
        now_ms: i64,
    ) -> impl Future<Output = Result<Vec<CallRecord>, StoreError>> + Send;

    /// The instance running the Jingle session `sid` of `user_bare`, if any
    /// (to pass a stanza for another instance's call along).
    fn owner_of_session(
        &self,
        user_bare: &str,
        sid: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
}

/// The configured store: Postgres, SQLite, or none (`[database] url = "none"`,
/// for benchmarks: nothing is written and nothing is loaded). Cheap to clone.
#[derive(Debug, Clone)]
pub enum Store {
    /// `postgres://…`
    Postgres(PgStore),
    /// `sqlite:…`
    Sqlite(SqliteStore),
    /// `none`: storing is off.
    Null,
}

impl Store {
    /// Connects to the configured database (without migrating it).
    pub async fn connect(config: &DatabaseConfig) -> Result<Store, StoreError> {
        Store::open(&config.url).await
    }

    /// Connects as the running gateway (`stox run`): on Postgres, other
    /// instances can tell from its connections that it is alive.
    pub async fn connect_running(config: &DatabaseConfig) -> Result<Store, StoreError> {
        let lower = config.url.trim().to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Ok(Store::Postgres(
                PgStore::connect_as(&config.url, Some(&config.instance)).await?,
            ))
        } else {
            Store::connect(config).await
        }
    }

    /// Connects to `url`: `postgres://…` / `postgresql://…`, `sqlite://FILE`
    /// / `sqlite:FILE`, or `none` (or empty) for [`Store::Null`].
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let lower = url.trim().to_ascii_lowercase();
        if lower.is_empty() || lower == "none" {
            Ok(Store::Null)
        } else if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Ok(Store::Postgres(PgStore::connect(url).await?))
        } else if lower.starts_with("sqlite:") {
            Ok(Store::Sqlite(SqliteStore::connect(url).await?))
        } else {
            Err(StoreError::Url {
                url: redact_url(url),
                problem: "expected postgres://…, sqlite:FILE or none".into(),
            })
        }
    }

    /// Applies the embedded migrations the database lacks; returns them.
    pub async fn migrate(&self) -> Result<Vec<AppliedMigration>, StoreError> {
        match self {
            Store::Postgres(s) => s.migrate().await,
            Store::Sqlite(s) => s.migrate().await,
            Store::Null => Ok(Vec::new()),
        }
    }

    /// Closes the connections.
    pub async fn close(&self) {
        match self {
            Store::Postgres(s) => s.close().await,
            Store::Sqlite(s) => s.close().await,
            Store::Null => {}
        }
    }
}

/// Dispatches to the backend; [`Store::Null`] stores nothing and finds nothing.
macro_rules! dispatch {
    ($self:ident, $method:ident ( $($arg:expr),* ), $null:expr) => {
        match $self {
            Store::Postgres(s) => s.$method($($arg),*).await,
            Store::Sqlite(s) => s.$method($($arg),*).await,
            Store::Null => Ok($null),
        }
    };
}

impl CallStore for Store {
    fn is_enabled(&self) -> bool {
        !matches!(self, Store::Null)
    }

    async fn apply(&self, writes: &[Write]) -> Result<(), StoreError> {
        dispatch!(self, apply(writes), ())
    }

    async fn load_calls(&self, owner: &str) -> Result<Vec<CallRecord>, StoreError> {
        dispatch!(self, load_calls(owner), Vec::new())
    }

    async fn active_calls(&self) -> Result<Vec<CallRecord>, StoreError> {
        dispatch!(self, active_calls(), Vec::new())
    }

    async fn cdrs_since(&self, since_ms: i64) -> Result<Vec<CdrRecord>, StoreError> {
        dispatch!(self, cdrs_since(since_ms), Vec::new())
    }

    async fn renew_lease(
        &self,
        instance: &str,
        sent_by: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<(), StoreError> {
        dispatch!(self, renew_lease(instance, sent_by, now_ms, ttl_ms), ())
    }

    async fn release_lease(&self, instance: &str) -> Result<(), StoreError> {
        dispatch!(self, release_lease(instance), ())
    }

    async fn expired_instances(&self, now_ms: i64) -> Result<Vec<String>, StoreError> {
        dispatch!(self, expired_instances(now_ms), Vec::new())
    }

    async fn adopt(
        &self,
        dead: &str,
        me: &str,
        now_ms: i64,
    ) -> Result<Vec<CallRecord>, StoreError> {
        dispatch!(self, adopt(dead, me, now_ms), Vec::new())
    }

    async fn owner_of_session(
        &self,
        user_bare: &str,
        sid: &str,
    ) -> Result<Option<String>, StoreError> {
        dispatch!(self, owner_of_session(user_bare, sid), None)
    }
}
