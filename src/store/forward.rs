//! Passing stanzas between instances that share one Postgres.
//!
//! An XMPP server that lets several component connections share the
//! gateway's domain (ejabberd) spreads stanzas over them at random
//! (`interop/ejabberd/README.md`), so a call's stanzas reach instances that
//! do not own it. The receiving instance looks the owner up (`calls` by
//! user and sid, or the instance named in our IQ ids) and passes the stanza
//! on: a `NOTIFY` on the owner's channel carrying the stanza, or, when it is
//! too long for a payload, the id of a `stanza_forwards` row.

use super::{PgStore, Store, StoreError};
use sqlx::postgres::PgListener;
use tokio::sync::mpsc;

/// Postgres refuses NOTIFY payloads of 8000 bytes or more.
const MAX_PAYLOAD: usize = 7900;
/// Marks a payload that is a `stanza_forwards` id rather than a stanza.
const ROW_MARK: char = '#';

/// The NOTIFY channel of `instance`: a lower-case identifier within
/// Postgres's 63-byte limit.
pub fn channel(instance: &str) -> String {
    let clean: String = instance
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(50)
        .collect();
    format!("stox_fwd_{clean}")
}

impl PgStore {
    /// Passes `stanza` (serialised XML) to `instance`.
    pub async fn forward(&self, instance: &str, stanza: &str) -> Result<(), StoreError> {
        let payload = if stanza.len() <= MAX_PAYLOAD {
            stanza.to_string()
        } else {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO stanza_forwards (instance, payload, created_ms) VALUES ($1, $2, $3) RETURNING id",
            )
            .bind(instance)
            .bind(stanza)
            .bind(super::now_ms())
            .fetch_one(&self.pool)
            .await?;
            format!("{ROW_MARK}{id}")
        };
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(channel(instance))
            .bind(payload)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// How many other instances hold an unexpired lease.
    pub async fn live_peers(&self, me: &str, now_ms: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT count(*) FROM instances WHERE instance <> $1 AND lease_expires_ms > $2",
        )
        .bind(me)
        .bind(now_ms)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Whether `instance` is alive: its lease runs and it has connections
    /// open (a killed instance loses them at once, its lease only later).
    pub async fn is_live(&self, instance: &str, now_ms: i64) -> Result<bool, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM instances WHERE instance = $1 AND lease_expires_ms > $2) \
             AND EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = $3)",
        )
        .bind(instance)
        .bind(now_ms)
        .bind(super::postgres::running_name(instance))
        .fetch_one(&self.pool)
        .await?)
    }

    /// Listens on our channel and delivers forwarded stanzas (XML text) to
    /// `out`. The listener reconnects by itself; NOTIFYs sent while it was
    /// disconnected are lost, like a stanza to a crashed instance.
    pub async fn listen_forwards(
        &self,
        instance: &str,
        out: mpsc::Sender<String>,
    ) -> Result<(), StoreError> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(&channel(instance)).await?;
        let store = self.clone();
        tokio::spawn(async move {
            loop {
                let note = match listener.recv().await {
                    Ok(n) => n,
                    // Shutting down: drop the listener, whose connection
                    // `Pool::close` waits for (it would wait forever).
                    Err(sqlx::Error::PoolClosed) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, "forwarded-stanza listener: reconnecting");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                        continue;
                    }
                };
                let payload = note.payload();
                let stanza = match payload.strip_prefix(ROW_MARK) {
                    Some(id) => match store.take_forward(id).await {
                        Ok(Some(s)) => s,
                        Ok(None) => continue,
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot read a forwarded stanza");
                            continue;
                        }
                    },
                    None => payload.to_string(),
                };
                if out.send(stanza).await.is_err() {
                    return;
                }
            }
        });
        Ok(())
    }

    async fn take_forward(&self, id: &str) -> Result<Option<String>, StoreError> {
        let Ok(id) = id.parse::<i64>() else {
            return Ok(None);
        };
        Ok(
            sqlx::query_scalar("DELETE FROM stanza_forwards WHERE id = $1 RETURNING payload")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}

impl Store {
    /// The Postgres store, when instances can share it (forwarding needs
    /// LISTEN/NOTIFY; SQLite is one instance's).
    pub fn shared(&self) -> Option<&PgStore> {
        match self {
            Store::Postgres(pg) => Some(pg),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::channel;

    #[test]
    fn channels_are_lower_case_identifiers_of_bounded_length() {
        assert_eq!(channel("GW-1.example"), "stox_fwd_gw_1_example");
        assert!(channel(&"x".repeat(64)).len() <= 63);
    }
}
