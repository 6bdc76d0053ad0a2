//! The migrations of `migrations/<dialect>/`, embedded in the binary.
//!
//! `sqlx::migrate!` would do this, but it lives behind sqlx's `macros`
//! feature, which builds the database drivers a second time for the proc-macro
//! host (libsqlite3 included) only to read a folder. [`Migrator::with_migrations`]
//! with `include_str!` gives the same embedded, checksummed migrations (the
//! same `_sqlx_migrations` rows as sqlx-cli writes); a unit test keeps this
//! list and the folders in step.

use super::StoreError;
use sqlx::SqlSafeStr;
use sqlx::migrate::{Migrate, Migration, MigrationType, Migrator};
use std::collections::HashSet;

/// (version, description, Postgres SQL, SQLite SQL), oldest first. A new
/// migration adds one line and one file to each folder.
const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "store",
        include_str!("../../migrations/postgres/0001_store.sql"),
        include_str!("../../migrations/sqlite/0001_store.sql"),
    ),
    (
        2,
        "forwards",
        include_str!("../../migrations/postgres/0002_forwards.sql"),
        include_str!("../../migrations/sqlite/0002_forwards.sql"),
    ),
    (
        3,
        "cdr_media",
        include_str!("../../migrations/postgres/0003_cdr_media.sql"),
        include_str!("../../migrations/sqlite/0003_cdr_media.sql"),
    ),
];

/// Which SQL dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Postgres,
    Sqlite,
}

/// The migrator of `dialect`.
pub(crate) fn migrator(dialect: Dialect) -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|&(version, description, pg, lite)| {
                let sql = match dialect {
                    Dialect::Postgres => pg,
                    Dialect::Sqlite => lite,
                };
                Migration::new(
                    version,
                    description.into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// Applies the migrations of `dialect` that `pool`'s database lacks and
/// returns them (none when it was up to date).
pub(crate) async fn run<DB>(
    pool: &sqlx::Pool<DB>,
    dialect: Dialect,
) -> Result<Vec<AppliedMigration>, StoreError>
where
    DB: sqlx::Database,
    DB::Connection: Migrate,
{
    let migrator = migrator(dialect);
    // Under the migrator's lock (a Postgres advisory lock): instances that
    // start together on a fresh database would otherwise race to create the
    // migrations table (`CREATE TABLE IF NOT EXISTS` is not safe against a
    // concurrent one: unique violation on pg_type).
    let done: HashSet<i64> = {
        let mut conn = pool.acquire().await?;
        conn.lock().await?;
        let listed = match conn.ensure_migrations_table(&migrator.table_name).await {
            Ok(()) => conn.list_applied_migrations(&migrator.table_name).await,
            Err(e) => Err(e),
        };
        conn.unlock().await?;
        listed?.into_iter().map(|m| m.version).collect()
    };
    migrator.run(pool).await?;
    Ok(migrator
        .iter()
        .filter(|m| !done.contains(&m.version))
        .map(|m| AppliedMigration {
            version: m.version,
            description: m.description.to_string(),
        })
        .collect())
}

/// A migration that [`super::Store::migrate`] applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    /// Its version (the file name's number).
    pub version: i64,
    /// Its description (the rest of the file name).
    pub description: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file of both folders is embedded, under the version and
    /// description its name gives, and nothing else is.
    #[test]
    fn embedded_list_matches_the_folders() {
        for dir in ["postgres", "sqlite"] {
            let path = format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR"));
            let mut files: Vec<(i64, String)> = std::fs::read_dir(&path)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter_map(|name| {
                    let stem = name.strip_suffix(".sql")?;
                    let (v, d) = stem.split_once('_')?;
                    Some((v.parse().unwrap(), d.to_owned()))
                })
                .collect();
            files.sort();
            let listed: Vec<(i64, String)> = MIGRATIONS
                .iter()
                .map(|(v, d, _, _)| (*v, (*d).to_owned()))
                .collect();
            assert_eq!(files, listed, "migrations/{dir} vs src/store/migrations.rs");
        }
    }
}
