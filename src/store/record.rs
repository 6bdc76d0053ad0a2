//! The rows: a call in progress ([`CallRecord`]), a finished call
//! ([`CdrRecord`]), and the writes that change them ([`Write`]).

use super::StoreError;
use super::parties::{bare, parties};
use crate::call::{Call, Side};
use crate::media::stats::{LegStats, MediaStats};
use serde::Serialize;

/// One `calls` row: the latest snapshot of a call and the columns it is
/// found by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallRecord {
    /// Correlation id.
    pub id: String,
    /// The instance running the call (`[database] instance`).
    pub owner: String,
    /// `outbound` (XMPP → SIP) or `inbound`.
    pub direction: String,
    /// [`crate::call::CallState`] as serde names it (`Active`, `Inviting`…).
    pub state: String,
    /// The SIP leg's Call-ID.
    pub sip_call_id: String,
    /// The Jingle sid.
    pub xmpp_sid: String,
    /// The XMPP user's bare JID.
    pub xmpp_user: String,
    /// The trunk the call went out through or came in from.
    pub trunk: Option<String>,
    /// See [`super::parties`].
    pub caller: String,
    /// See [`super::parties`].
    pub callee: String,
    /// Epoch ms of the `Created` write.
    pub created_ms: i64,
    /// Epoch ms of the `Answered` write.
    pub answered_ms: Option<i64>,
    /// Epoch ms of this snapshot.
    pub updated_ms: i64,
    /// `serde_json` of the [`Call`].
    #[serde(skip)]
    pub snapshot: String,
}

impl CallRecord {
    /// The row for `call` as of `updated_ms`, owned by `owner`.
    pub fn from_call(
        call: &Call,
        owner: &str,
        created_ms: i64,
        answered_ms: Option<i64>,
        updated_ms: i64,
    ) -> Result<CallRecord, serde_json::Error> {
        let snapshot = serde_json::to_string(call)?;
        let state = match serde_json::to_value(call.state)? {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        let (caller, callee) = parties(call);
        Ok(CallRecord {
            id: clean(&call.id),
            owner: clean(owner),
            direction: call.direction.label().to_owned(),
            state,
            sip_call_id: clean(&call.sip.call_id),
            xmpp_sid: clean(&call.xmpp.sid),
            xmpp_user: clean(bare(&call.xmpp.user)),
            trunk: call.trunk.as_deref().map(clean),
            caller: clean(&caller),
            callee: clean(&callee),
            created_ms,
            answered_ms,
            updated_ms,
            snapshot,
        })
    }

    /// The stored [`Call`] (what a restarted or adopting instance resumes).
    pub fn call(&self) -> Result<Call, StoreError> {
        serde_json::from_str(&self.snapshot).map_err(|e| StoreError::Snapshot {
            id: self.id.clone(),
            problem: e.to_string(),
        })
    }
}

/// One `cdrs` row: a call detail record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CdrRecord {
    /// The call's correlation id (one CDR per call).
    pub id: String,
    /// `outbound` or `inbound`.
    pub direction: String,
    /// See [`super::parties`].
    pub caller: String,
    /// See [`super::parties`].
    pub callee: String,
    /// Trunk, when the call used one.
    pub trunk: Option<String>,
    /// Epoch ms the call was created.
    pub start_ms: i64,
    /// Epoch ms it was answered; `None` when it never was.
    pub answer_ms: Option<i64>,
    /// Epoch ms it ended.
    pub end_ms: i64,
    /// Talk time: `end_ms - answer_ms`, 0 when unanswered.
    pub duration_ms: i64,
    /// The SIP status that describes the end, when there was one.
    pub sip_status: Option<u16>,
    /// The Jingle reason condition, when there was one.
    pub jingle_reason: Option<String>,
    /// `xmpp`, `sip` or `gateway`.
    pub ended_by: String,
    /// The instance that ended the call.
    pub instance: String,
    /// Both legs' media counts as the anchor last reported them (at most
    /// `STATS_EVERY`, 5 s, before the end); `None` for a call the anchor
    /// sent none for: passthrough, rtpengine, ended before media ran.
    pub media: Option<MediaStats>,
}

impl CdrRecord {
    /// The CDR of `call` (its `ended` set by the core), ended at `end_ms` on
    /// `instance`. A call ended without [`Call::ended`] counts as ended by the
    /// gateway.
    pub fn from_call(
        call: &Call,
        instance: &str,
        start_ms: i64,
        answer_ms: Option<i64>,
        end_ms: i64,
    ) -> CdrRecord {
        let (caller, callee) = parties(call);
        let end = call.ended.as_ref();
        CdrRecord {
            id: clean(&call.id),
            direction: call.direction.label().to_owned(),
            caller: clean(&caller),
            callee: clean(&callee),
            trunk: call.trunk.as_deref().map(clean),
            start_ms,
            answer_ms,
            end_ms,
            duration_ms: answer_ms.map_or(0, |a| (end_ms - a).max(0)),
            sip_status: end.and_then(|e| e.sip_status),
            jingle_reason: end.and_then(|e| e.jingle_reason.as_deref()).map(clean),
            ended_by: end.map_or(Side::Gateway, |e| e.by).label().to_owned(),
            instance: clean(instance),
            media: call.media.as_ref().and_then(|m| m.stats),
        }
    }
}

/// One leg's `cdrs` columns in the order `cdr_columns!` names them
/// (`<leg>_packets_in`, `_packets_out`, `_bytes_in`, `_bytes_out`, `_lost`,
/// `_dropped`, then `_jitter_ms`), all NULL without counts. Counts past
/// `i64::MAX` (never, in practice) are stored as `i64::MAX`.
pub(crate) fn leg_columns(leg: Option<&LegStats>) -> ([Option<i64>; 6], Option<f64>) {
    let Some(l) = leg else {
        return ([None; 6], None);
    };
    let n = |v: u64| Some(i64::try_from(v).unwrap_or(i64::MAX));
    (
        [
            n(l.packets_in),
            n(l.packets_out),
            n(l.bytes_in),
            n(l.bytes_out),
            n(l.lost),
            n(l.dropped),
        ],
        Some(l.jitter_ms),
    )
}

/// The leg back from its columns: `None` when the row has no counts (its
/// `packets_in` is NULL: the columns are written all or none).
pub(crate) fn leg_from_columns(
    counts: [Option<i64>; 6],
    jitter_ms: Option<f64>,
) -> Option<LegStats> {
    counts[0]?;
    let n = |v: Option<i64>| v.and_then(|v| u64::try_from(v).ok()).unwrap_or(0);
    Some(LegStats {
        packets_in: n(counts[0]),
        packets_out: n(counts[1]),
        bytes_in: n(counts[2]),
        bytes_out: n(counts[3]),
        lost: n(counts[4]),
        dropped: n(counts[5]),
        jitter_ms: jitter_ms.unwrap_or(0.0),
    })
}

/// One change, applied with others in one transaction by
/// [`super::CallStore::apply`].
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Insert or replace the call's row, unless its CDR exists (an ended call
    /// is never brought back by a late snapshot).
    Upsert(CallRecord),
    /// Delete the call's row and insert its CDR (once: a second End for the
    /// same call changes nothing).
    End {
        /// The call.
        call_id: String,
        /// Its record.
        cdr: CdrRecord,
    },
}

impl Write {
    /// The call this write is about.
    pub fn call_id(&self) -> &str {
        match self {
            Write::Upsert(r) => &r.id,
            Write::End { call_id, .. } => call_id,
        }
    }
}

/// Text as a column can hold it: Postgres `TEXT` refuses NUL, and one
/// refused row would block every write queued behind it.
fn clean(s: &str) -> String {
    s.replace('\0', "\u{fffd}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_replaced() {
        assert_eq!(clean("a\0b"), "a\u{fffd}b");
    }

    #[test]
    fn leg_columns_round_trip_and_none_is_all_null() {
        let leg = LegStats {
            packets_in: 1,
            bytes_in: 2,
            packets_out: 3,
            bytes_out: 4,
            dropped: 5,
            lost: 6,
            jitter_ms: 7.5,
        };
        let (counts, jitter) = leg_columns(Some(&leg));
        assert_eq!(
            counts,
            [Some(1), Some(3), Some(2), Some(4), Some(6), Some(5)]
        );
        assert_eq!(leg_from_columns(counts, jitter), Some(leg));
        let (counts, jitter) = leg_columns(None);
        assert_eq!((counts, jitter), ([None; 6], None));
        assert_eq!(leg_from_columns(counts, jitter), None);
        let huge = LegStats {
            bytes_in: u64::MAX,
            ..leg
        };
        assert_eq!(leg_columns(Some(&huge)).0[2], Some(i64::MAX));
    }
}
