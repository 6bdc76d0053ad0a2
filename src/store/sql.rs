//! The statements, and the operations built on them, shared by both dialects.
//!
//! Both schemas have the same tables and types, and SQLite reads `$N`
//! placeholders, `ON CONFLICT` and `RETURNING` as Postgres does, so one SQL
//! text serves both. The operations are stamped out per backend by
//! [`impl_call_store!`] rather than written once over a generic
//! `sqlx::Database`: the generic version needs a where-clause per bound type
//! and executor, which buys nothing for two backends.

/// The `calls` columns in [`super::CallRecord`] order.
macro_rules! call_columns {
    () => {
        "id, owner, direction, state, sip_call_id, xmpp_sid, xmpp_user, trunk, caller, callee, \
         created_ms, answered_ms, updated_ms, snapshot"
    };
}

/// The `cdrs` columns in [`super::CdrRecord`] order, its `media` as each
/// leg's [`super::record::leg_columns`].
macro_rules! cdr_columns {
    () => {
        "id, direction, caller, callee, trunk, start_ms, answer_ms, end_ms, duration_ms, \
         sip_status, jingle_reason, ended_by, instance, \
         xmpp_packets_in, xmpp_packets_out, xmpp_bytes_in, xmpp_bytes_out, xmpp_lost, \
         xmpp_dropped, xmpp_jitter_ms, \
         sip_packets_in, sip_packets_out, sip_bytes_in, sip_bytes_out, sip_lost, \
         sip_dropped, sip_jitter_ms"
    };
}

/// Insert or replace a call, unless its CDR exists (no resurrection of an
/// ended call by a snapshot that was queued before its end). `answered_ms`
/// is kept once known.
pub(crate) const UPSERT_TAIL: &str = ") AS v \
     WHERE NOT EXISTS (SELECT 1 FROM cdrs WHERE cdrs.id = v.column1) \
     ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, state = excluded.state, \
     sip_call_id = excluded.sip_call_id, xmpp_sid = excluded.xmpp_sid, \
     xmpp_user = excluded.xmpp_user, trunk = excluded.trunk, caller = excluded.caller, \
     callee = excluded.callee, \
     answered_ms = COALESCE(excluded.answered_ms, calls.answered_ms), \
     updated_ms = excluded.updated_ms, snapshot = excluded.snapshot";

/// Multi-row CDR insert: a CDR is written once, so an `End` repeated (a
/// retried batch, a call ended by two instances) changes nothing.
pub(crate) const INSERT_CDRS_HEAD: &str = concat!("INSERT INTO cdrs (", cdr_columns!(), ") ");

/// Multi-row call upsert, with [`UPSERT_TAIL`] after the VALUES list (whose
/// columns both dialects name `column1`…).
pub(crate) const UPSERT_HEAD: &str = concat!(
    "INSERT INTO calls (",
    call_columns!(),
    ") SELECT column1, column2, column3, column4, column5, column6, column7, \
     column8, column9, column10, column11, column12, column13, column14 FROM ("
);

pub(crate) const CALLS_OF_OWNER: &str = concat!(
    "SELECT ",
    call_columns!(),
    " FROM calls WHERE owner = $1 ORDER BY created_ms, id"
);

pub(crate) const ALL_CALLS: &str = concat!(
    "SELECT ",
    call_columns!(),
    " FROM calls ORDER BY created_ms, id"
);

pub(crate) const CDRS_SINCE: &str = concat!(
    "SELECT ",
    cdr_columns!(),
    " FROM cdrs WHERE end_ms >= $1 ORDER BY end_ms, id"
);

/// `started_ms` stays that of the first lease.
pub(crate) const RENEW_LEASE: &str = "INSERT INTO instances \
     (instance, sent_by, lease_expires_ms, started_ms) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (instance) DO UPDATE SET sent_by = excluded.sent_by, \
     lease_expires_ms = excluded.lease_expires_ms";

/// Expires the lease at once rather than deleting it: calls the instance
/// leaves behind are then adopted by a peer, and the row goes with them.
pub(crate) const RELEASE_LEASE: &str =
    "UPDATE instances SET lease_expires_ms = 0 WHERE instance = $1";

pub(crate) const EXPIRED: &str =
    "SELECT instance FROM instances WHERE lease_expires_ms <= $1 ORDER BY instance";

/// The adopter that deletes the expired lease wins; the others see 0 rows.
/// Postgres re-checks the condition after waiting for the winner's row lock,
/// SQLite runs the two transactions one after the other.
pub(crate) const CLAIM_DEAD: &str =
    "DELETE FROM instances WHERE instance = $1 AND lease_expires_ms <= $2";

pub(crate) const TAKE_OVER: &str = concat!(
    "UPDATE calls SET owner = $1 WHERE owner = $2 RETURNING ",
    call_columns!()
);

pub(crate) const OWNER_OF_SESSION: &str =
    "SELECT owner FROM calls WHERE xmpp_user = $1 AND xmpp_sid = $2 LIMIT 1";

/// Implements [`super::CallStore`] for `$store` (a struct with a
/// `pool: sqlx::Pool<$db>` field) with the statements above.
macro_rules! impl_call_store {
    ($store:ty, $db:ty, $row:ty) => {
        impl $crate::store::CallStore for $store {
            async fn apply(
                &self,
                writes: &[$crate::store::Write],
            ) -> Result<(), $crate::store::StoreError> {
                use $crate::store::Write;
                if writes.is_empty() {
                    return Ok(());
                }
                // One statement per kind for the whole batch, so that a
                // batch costs a few round trips however long it is (a slow
                // or distant database must not throttle the writer). The
                // queue holds at most one write per call, so the kinds never
                // touch the same row within a batch.
                let mut ends = Vec::new();
                let mut upserts = Vec::new();
                for w in writes {
                    match w {
                        Write::Upsert(r) => upserts.push(r),
                        Write::End { call_id, cdr } => ends.push((call_id, cdr)),
                    }
                }
                let mut tx = self.pool.begin().await?;
                if !ends.is_empty() {
                    let mut q =
                        sqlx::QueryBuilder::<$db>::new($crate::store::sql::INSERT_CDRS_HEAD);
                    q.push_values(&ends, |mut b, (_, c)| {
                        b.push_bind(&c.id)
                            .push_bind(&c.direction)
                            .push_bind(&c.caller)
                            .push_bind(&c.callee)
                            .push_bind(&c.trunk)
                            .push_bind(c.start_ms)
                            .push_bind(c.answer_ms)
                            .push_bind(c.end_ms)
                            .push_bind(c.duration_ms)
                            .push_bind(c.sip_status.map(i32::from))
                            .push_bind(&c.jingle_reason)
                            .push_bind(&c.ended_by)
                            .push_bind(&c.instance);
                        let media = c.media.as_ref();
                        for leg in [media.map(|m| &m.xmpp), media.map(|m| &m.sip)] {
                            let (counts, jitter_ms) = $crate::store::record::leg_columns(leg);
                            for n in counts {
                                b.push_bind(n);
                            }
                            b.push_bind(jitter_ms);
                        }
                    });
                    q.push(" ON CONFLICT (id) DO NOTHING");
                    q.build().execute(&mut *tx).await?;
                    let mut q = sqlx::QueryBuilder::<$db>::new("DELETE FROM calls WHERE id IN (");
                    let mut ids = q.separated(", ");
                    for (id, _) in &ends {
                        ids.push_bind(*id);
                    }
                    q.push(")");
                    q.build().execute(&mut *tx).await?;
                }
                if !upserts.is_empty() {
                    let mut q = sqlx::QueryBuilder::<$db>::new($crate::store::sql::UPSERT_HEAD);
                    q.push_values(&upserts, |mut b, r| {
                        b.push_bind(&r.id)
                            .push_bind(&r.owner)
                            .push_bind(&r.direction)
                            .push_bind(&r.state)
                            .push_bind(&r.sip_call_id)
                            .push_bind(&r.xmpp_sid)
                            .push_bind(&r.xmpp_user)
                            .push_bind(&r.trunk)
                            .push_bind(&r.caller)
                            .push_bind(&r.callee)
                            .push_bind(r.created_ms)
                            .push_bind(r.answered_ms)
                            .push_bind(r.updated_ms)
                            .push_bind(&r.snapshot);
                    });
                    q.push($crate::store::sql::UPSERT_TAIL);
                    q.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn load_calls(
                &self,
                owner: &str,
            ) -> Result<Vec<$crate::store::CallRecord>, $crate::store::StoreError> {
                let rows = sqlx::query::<$db>($crate::store::sql::CALLS_OF_OWNER)
                    .bind(owner)
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows.iter().map(call_row).collect::<Result<_, _>>()?)
            }

            async fn active_calls(
                &self,
            ) -> Result<Vec<$crate::store::CallRecord>, $crate::store::StoreError> {
                let rows = sqlx::query::<$db>($crate::store::sql::ALL_CALLS)
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows.iter().map(call_row).collect::<Result<_, _>>()?)
            }

            async fn cdrs_since(
                &self,
                since_ms: i64,
            ) -> Result<Vec<$crate::store::CdrRecord>, $crate::store::StoreError> {
                let rows = sqlx::query::<$db>($crate::store::sql::CDRS_SINCE)
                    .bind(since_ms)
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows.iter().map(cdr_row).collect::<Result<_, _>>()?)
            }

            async fn renew_lease(
                &self,
                instance: &str,
                sent_by: &str,
                now_ms: i64,
                ttl_ms: i64,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query::<$db>($crate::store::sql::RENEW_LEASE)
                    .bind(instance)
                    .bind(sent_by)
                    .bind(now_ms.saturating_add(ttl_ms))
                    .bind(now_ms)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn release_lease(&self, instance: &str) -> Result<(), $crate::store::StoreError> {
                sqlx::query::<$db>($crate::store::sql::RELEASE_LEASE)
                    .bind(instance)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn expired_instances(
                &self,
                now_ms: i64,
            ) -> Result<Vec<String>, $crate::store::StoreError> {
                use sqlx::Row;
                let rows = sqlx::query::<$db>($crate::store::sql::EXPIRED)
                    .bind(now_ms)
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows
                    .iter()
                    .map(|r| r.try_get::<String, _>(0))
                    .collect::<Result<_, _>>()?)
            }

            async fn adopt(
                &self,
                dead: &str,
                me: &str,
                now_ms: i64,
            ) -> Result<Vec<$crate::store::CallRecord>, $crate::store::StoreError> {
                use $crate::store::sql::*;
                let mut tx = self.pool.begin().await?;
                let claimed = sqlx::query::<$db>(CLAIM_DEAD)
                    .bind(dead)
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if claimed == 0 {
                    tx.rollback().await?;
                    return Ok(Vec::new());
                }
                let rows = sqlx::query::<$db>(TAKE_OVER)
                    .bind(me)
                    .bind(dead)
                    .fetch_all(&mut *tx)
                    .await?;
                let calls = rows.iter().map(call_row).collect::<Result<Vec<_>, _>>()?;
                tx.commit().await?;
                Ok(calls)
            }

            async fn owner_of_session(
                &self,
                user_bare: &str,
                sid: &str,
            ) -> Result<Option<String>, $crate::store::StoreError> {
                use sqlx::Row;
                let row = sqlx::query::<$db>($crate::store::sql::OWNER_OF_SESSION)
                    .bind(user_bare)
                    .bind(sid)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|r| r.try_get::<String, _>(0)).transpose()?)
            }
        }

        fn call_row(r: &$row) -> Result<$crate::store::CallRecord, sqlx::Error> {
            use sqlx::Row;
            Ok($crate::store::CallRecord {
                id: r.try_get("id")?,
                owner: r.try_get("owner")?,
                direction: r.try_get("direction")?,
                state: r.try_get("state")?,
                sip_call_id: r.try_get("sip_call_id")?,
                xmpp_sid: r.try_get("xmpp_sid")?,
                xmpp_user: r.try_get("xmpp_user")?,
                trunk: r.try_get("trunk")?,
                caller: r.try_get("caller")?,
                callee: r.try_get("callee")?,
                created_ms: r.try_get("created_ms")?,
                answered_ms: r.try_get("answered_ms")?,
                updated_ms: r.try_get("updated_ms")?,
                snapshot: r.try_get("snapshot")?,
            })
        }

        fn cdr_row(r: &$row) -> Result<$crate::store::CdrRecord, sqlx::Error> {
            use sqlx::Row;
            let status: Option<i32> = r.try_get("sip_status")?;
            Ok($crate::store::CdrRecord {
                id: r.try_get("id")?,
                direction: r.try_get("direction")?,
                caller: r.try_get("caller")?,
                callee: r.try_get("callee")?,
                trunk: r.try_get("trunk")?,
                start_ms: r.try_get("start_ms")?,
                answer_ms: r.try_get("answer_ms")?,
                end_ms: r.try_get("end_ms")?,
                duration_ms: r.try_get("duration_ms")?,
                sip_status: status.and_then(|s| u16::try_from(s).ok()),
                jingle_reason: r.try_get("jingle_reason")?,
                ended_by: r.try_get("ended_by")?,
                instance: r.try_get("instance")?,
                media: match (leg(r, "xmpp")?, leg(r, "sip")?) {
                    (Some(xmpp), Some(sip)) => Some($crate::media::stats::MediaStats { xmpp, sip }),
                    _ => None,
                },
            })
        }

        /// One leg's media columns (`<prefix>_packets_in`…).
        fn leg(
            r: &$row,
            prefix: &str,
        ) -> Result<Option<$crate::media::stats::LegStats>, sqlx::Error> {
            use sqlx::Row;
            let mut counts = [None; 6];
            let names = [
                "packets_in",
                "packets_out",
                "bytes_in",
                "bytes_out",
                "lost",
                "dropped",
            ];
            for (slot, name) in counts.iter_mut().zip(names) {
                *slot = r.try_get::<Option<i64>, _>(format!("{prefix}_{name}").as_str())?;
            }
            let jitter: Option<f64> = r.try_get(format!("{prefix}_jitter_ms").as_str())?;
            Ok($crate::store::record::leg_from_columns(counts, jitter))
        }
    };
}

pub(crate) use impl_call_store;
