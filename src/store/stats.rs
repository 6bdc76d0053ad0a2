//! Counters the write-behind task keeps for `/metrics`, read without locks.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// What the writer has done and what it still holds.
///
/// Shared as `Arc<StoreStats>` between the writer, [`super::StoreHandle`]
/// (which counts a write into the backlog the moment it is queued) and
/// telemetry (which reads it when `/metrics` is scraped).
#[derive(Debug, Default)]
pub struct StoreStats {
    writes_total: AtomicU64,
    batches_total: AtomicU64,
    errors_total: AtomicU64,
    backlog: AtomicU64,
    /// Epoch ms at which the oldest uncommitted write was queued; 0 = none.
    oldest_since_ms: AtomicI64,
}

impl StoreStats {
    /// Writes (rows changed) committed.
    pub fn writes_total(&self) -> u64 {
        self.writes_total.load(Ordering::Relaxed)
    }

    /// Transactions committed.
    pub fn batches_total(&self) -> u64 {
        self.batches_total.load(Ordering::Relaxed)
    }

    /// Failed transactions (each retried).
    pub fn errors_total(&self) -> u64 {
        self.errors_total.load(Ordering::Relaxed)
    }

    /// Writes queued and not yet committed (several for one call that were
    /// merged count once).
    pub fn backlog(&self) -> u64 {
        self.backlog.load(Ordering::Relaxed)
    }

    /// Age in ms of the oldest write not yet committed, 0 when none: during a
    /// database outage, how much would be lost by a crash now.
    pub fn oldest_pending_ms(&self) -> u64 {
        self.oldest_pending_ms_at(now_ms())
    }

    /// [`Self::oldest_pending_ms`] as of `now_ms`.
    pub fn oldest_pending_ms_at(&self, now_ms: i64) -> u64 {
        match self.oldest_since_ms.load(Ordering::Relaxed) {
            0 => 0,
            since => u64::try_from(now_ms - since).unwrap_or(0),
        }
    }

    pub(crate) fn queued(&self) {
        if self.backlog.fetch_add(1, Ordering::Relaxed) == 0 {
            let _ = self.oldest_since_ms.compare_exchange(
                0,
                now_ms(),
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }

    /// `n` queued writes were merged into others or dropped.
    pub(crate) fn merged(&self, n: u64) {
        self.backlog.fetch_sub(n, Ordering::Relaxed);
    }

    /// A batch of `n` writes committed; `oldest_since_ms` is when the oldest
    /// write still pending was queued (0: none).
    pub(crate) fn committed(&self, n: u64, oldest_since_ms: i64) {
        self.writes_total.fetch_add(n, Ordering::Relaxed);
        self.batches_total.fetch_add(1, Ordering::Relaxed);
        let left = self.backlog.fetch_sub(n, Ordering::Relaxed) - n;
        // Writes queued after the writer last looked are pending too: the
        // lag counts from now rather than reading 0 with a backlog.
        let oldest = if oldest_since_ms == 0 && left > 0 {
            now_ms()
        } else {
            oldest_since_ms
        };
        self.oldest_since_ms.store(oldest, Ordering::Relaxed);
    }

    pub(crate) fn failed(&self) {
        self.errors_total.fetch_add(1, Ordering::Relaxed);
    }
}

/// Wall-clock epoch milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
