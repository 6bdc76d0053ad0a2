//! What can go wrong talking to the database, typed so that callers can tell a
//! bad URL (an operator's mistake, fatal at start) from an outage (retried).

use std::fmt;

/// A store failure.
#[derive(Debug)]
pub enum StoreError {
    /// `[database] url` is not a `postgres://`, `sqlite:` or `none` URL, or
    /// sqlx refused its options.
    Url {
        /// The URL, with any password removed.
        url: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The database could not be reached or refused a statement.
    Database(sqlx::Error),
    /// Applying the embedded migrations failed (or the database holds a
    /// migration this binary does not know, or a changed one).
    Migrate(sqlx::migrate::MigrateError),
    /// A stored snapshot is not a `Call` this version can read.
    Snapshot {
        /// The call id of the row.
        id: String,
        /// serde_json's message.
        problem: String,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Url { url, problem } => write!(f, "database url {url:?}: {problem}"),
            StoreError::Database(e) => write!(f, "database: {e}"),
            StoreError::Migrate(e) => write!(f, "database migration: {e}"),
            StoreError::Snapshot { id, problem } => {
                write!(f, "stored call {id}: unreadable snapshot: {problem}")
            }
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Database(e) => Some(e),
            StoreError::Migrate(e) => Some(e),
            _ => None,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(e)
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migrate(e)
    }
}

/// `url` with the password of `scheme://user:password@host` replaced, for
/// error messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://stox:s3cret@db.example:5432/stox"),
            "postgres://stox:***@db.example:5432/stox"
        );
        assert_eq!(
            redact_url("postgres://stox@db/stox"),
            "postgres://stox@db/stox"
        );
        assert_eq!(redact_url("sqlite://stox.db"), "sqlite://stox.db");
    }
}
