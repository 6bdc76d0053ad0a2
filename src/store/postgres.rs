//! [`PgStore`]: PostgreSQL, for production and for several instances sharing
//! one database (leases and adoption rely on its row locks).

use super::StoreError;
use super::migrations::{self, AppliedMigration, Dialect};
use crate::config::redact_url;
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
        Self::connect_as(url, None).await
    }

    /// Connects as the running gateway `instance`: its connections carry the
    /// application name [`running_name`], by which other instances see that
    /// it is alive before its lease runs out (a killed process's backends go
    /// at once).
    pub async fn connect_as(url: &str, instance: Option<&str>) -> Result<PgStore, StoreError> {
        let mut options = PgConnectOptions::from_str(url).map_err(|e| StoreError::Url {
            url: redact_url(url),
            problem: e.to_string(),
        })?;
        if let Some(instance) = instance {
            options = options.application_name(&running_name(instance));
        }
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

/// The Postgres application name of a running instance's connections.
pub fn running_name(instance: &str) -> String {
    // application_name is cut at 63 bytes: keep the instance whole.
    format!("stox/{instance}")
}

super::sql::impl_call_store!(PgStore, sqlx::Postgres, PgRow);
