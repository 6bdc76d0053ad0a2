//! [`PgStore`]: PostgreSQL, for production and for several instances sharing
//! one database (leases and adoption rely on its row locks).

use super::StoreError;
use super::error::redact_url;
use super::migrations::{self, AppliedMigration, Dialect};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use std::str::FromStr;
use std::time::Duration;

/// A pool of Postgres connections. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PgStore {
    pub(crate) pool: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://user[:password]@host[:port]/db[?sslmode=…]`).
    /// Fails at once when the server cannot be reached, so a wrong URL is
    /// reported at start rather than on the first call.
    pub async fn connect(url: &str) -> Result<PgStore, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(|e| StoreError::Url {
            url: redact_url(url),
            problem: e.to_string(),
        })?;
        let pool = PgPoolOptions::new()
            // The writer uses one connection; the rest serve start-up,
            // leases and the CLI.
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        Ok(PgStore { pool })
    }

    /// Applies the migrations the database lacks (under Postgres's advisory
    /// lock, so instances starting together do not race) and returns them.
    pub async fn migrate(&self) -> Result<Vec<AppliedMigration>, StoreError> {
        migrations::run(&self.pool, Dialect::Postgres).await
    }

    /// Closes the pool's connections.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

super::sql::impl_call_store!(PgStore, sqlx::Postgres, PgRow);
