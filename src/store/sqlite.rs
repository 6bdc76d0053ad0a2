//! [`SqliteStore`]: one file beside the gateway, the single-host default.

use super::StoreError;
use super::migrations::{self, AppliedMigration, Dialect};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
};
use std::str::FromStr;
use std::time::Duration;

/// A pool of connections to one SQLite file. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
}

impl SqliteStore {
    /// Opens `sqlite://FILE` or `sqlite:FILE`, creating the file when missing.
    ///
    /// WAL lets `stox calls` / `stox cdr` read while the gateway writes;
    /// the busy timeout makes a writer wait for another (the CLI's
    /// migration, a second process) instead of failing at once.
    pub async fn connect(url: &str) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Url {
                url: url.to_owned(),
                problem: e.to_string(),
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5));
        // Every connection to `:memory:` is a database of its own.
        let max = if url.contains(":memory:") { 1 } else { 4 };
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        Ok(SqliteStore { pool })
    }

    /// Applies the migrations the file lacks and returns them.
    pub async fn migrate(&self) -> Result<Vec<AppliedMigration>, StoreError> {
        migrations::run(&self.pool, Dialect::Sqlite).await
    }

    /// Closes the pool's connections (and checkpoints the WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

super::sql::impl_call_store!(SqliteStore, sqlx::Sqlite, SqliteRow);
