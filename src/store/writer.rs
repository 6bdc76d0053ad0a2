//! The write-behind task and its handle.
//!
//! [`StoreHandle::persist`] only sends on an unbounded channel, so the
//! signalling loop never waits on the database, even during an outage. The
//! task turns each snapshot into a [`Write`], coalesces what is queued per
//! call (`queue.rs`) and commits up to [`MAX_BATCH`] writes per
//! transaction. A failed batch is kept and retried, in order, with back-off;
//! the outage is logged once when it starts and once when it ends, and
//! [`StoreStats`] shows the backlog and its age meanwhile.

use super::queue::Queue;
use super::stats::now_ms;
use super::{CallRecord, CallStore, CdrRecord, StoreStats, Write};
use crate::call::{Call, PersistKind};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Most writes committed in one transaction.
pub const MAX_BATCH: usize = 256;
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// A statement that hangs (a partitioned network) counts as failed after this.
const APPLY_TIMEOUT: Duration = Duration::from_secs(30);

enum Msg {
    Persist {
        kind: PersistKind,
        call: Box<Call>,
        at_ms: i64,
        queued_ms: i64,
    },
    /// (call id, created_ms, answered_ms) of calls loaded or adopted.
    Seed(Vec<(String, i64, Option<i64>)>),
    Flush(oneshot::Sender<()>),
}

/// The runtime's side of the writer: cheap to clone, never blocks.
#[derive(Debug, Clone)]
pub struct StoreHandle {
    tx: Option<mpsc::UnboundedSender<Msg>>,
    stats: Arc<StoreStats>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Msg")
    }
}

impl StoreHandle {
    /// Starts the writer for `instance` (the `owner` of rows it writes and
    /// the `instance` of its CDRs) on the current tokio runtime. The task
    /// ends once every handle is dropped and everything queued is committed.
    /// A store that is not enabled ([`super::Store::Null`]) gets no task:
    /// the handle drops every write at no cost.
    pub fn spawn<S: CallStore + 'static>(
        store: S,
        instance: impl Into<String>,
        stats: Arc<StoreStats>,
    ) -> (StoreHandle, JoinHandle<()>) {
        if !store.is_enabled() {
            return (
                StoreHandle { tx: None, stats },
                tokio::spawn(std::future::ready(())),
            );
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let writer = Writer {
            store,
            instance: instance.into(),
            stats: stats.clone(),
            rx,
            closed: false,
            times: HashMap::new(),
            queue: Queue::default(),
            flushes: Vec::new(),
            outage: None,
        };
        let task = tokio::spawn(writer.run());
        (
            StoreHandle {
                tx: Some(tx),
                stats,
            },
            task,
        )
    }

    /// A handle that stores nothing (no database configured, tests).
    pub fn disabled() -> StoreHandle {
        StoreHandle {
            tx: None,
            stats: Arc::default(),
        }
    }

    /// Queues the snapshot the core emitted with `Output::Persist`, taken at
    /// `at_ms` (epoch ms). Returns at once.
    pub fn persist(&self, kind: PersistKind, call: Box<Call>, at_ms: i64) {
        let Some(tx) = &self.tx else {
            return;
        };
        self.stats.queued();
        let msg = Msg::Persist {
            kind,
            call,
            at_ms,
            queued_ms: now_ms(),
        };
        if tx.send(msg).is_err() {
            // The task is gone (it panicked): nothing will commit this.
            self.stats.merged(1);
        }
    }

    /// Tells the writer when the calls of `records` (loaded at start or
    /// adopted) were created and answered, so that their later writes and
    /// CDRs keep those times. Send before their first `persist`.
    pub fn seed(&self, records: &[CallRecord]) {
        if let Some(tx) = &self.tx {
            let times = records
                .iter()
                .map(|r| (r.id.clone(), r.created_ms, r.answered_ms))
                .collect();
            let _ = tx.send(Msg::Seed(times));
        }
    }

    /// Waits until everything persisted before this call is committed, or
    /// `timeout` passed; `true` when nothing is left. For a clean shutdown
    /// (SIGTERM): what is not committed by then is lost.
    pub async fn flush(&self, timeout: Duration) -> bool {
        let Some(tx) = &self.tx else {
            return true;
        };
        let (done, wait) = oneshot::channel();
        if tx.send(Msg::Flush(done)).is_err() {
            return self.stats.backlog() == 0;
        }
        matches!(tokio::time::timeout(timeout, wait).await, Ok(Ok(())))
    }

    /// The counters shared with telemetry.
    pub fn stats(&self) -> &Arc<StoreStats> {
        &self.stats
    }
}

struct Writer<S> {
    store: S,
    instance: String,
    stats: Arc<StoreStats>,
    rx: mpsc::UnboundedReceiver<Msg>,
    /// Every handle is gone: commit what is queued, then end.
    closed: bool,
    /// Per call in progress: when it was created and answered (epoch ms).
    times: HashMap<String, (i64, Option<i64>)>,
    queue: Queue,
    flushes: Vec<oneshot::Sender<()>>,
    /// When the current outage started, with the first error.
    outage: Option<Instant>,
}

impl<S: CallStore> Writer<S> {
    async fn run(mut self) {
        let mut backoff = BACKOFF_FIRST;
        loop {
            if self.queue.is_empty() {
                for f in self.flushes.drain(..) {
                    let _ = f.send(());
                }
                if self.closed {
                    return;
                }
                match self.rx.recv().await {
                    Some(m) => self.take(m),
                    None => self.closed = true,
                }
            }
            self.drain();
            if self.queue.is_empty() {
                continue;
            }
            let batch = self.queue.front(MAX_BATCH);
            let n = batch.len();
            let result = tokio::time::timeout(APPLY_TIMEOUT, self.store.apply(batch)).await;
            match result {
                Ok(Ok(())) => {
                    self.queue.commit(n);
                    // Writes sent during the apply are still in the channel:
                    // take them, so that the oldest pending one is known.
                    self.drain();
                    self.stats.committed(n as u64, self.queue.oldest_since_ms());
                    backoff = BACKOFF_FIRST;
                    if let Some(start) = self.outage.take() {
                        tracing::info!(
                            gap_ms = start.elapsed().as_millis() as u64,
                            backlog = self.stats.backlog(),
                            "store: writes succeed again after {:.1} s",
                            start.elapsed().as_secs_f64()
                        );
                    }
                }
                Ok(Err(e)) => self.failed(&e.to_string(), &mut backoff).await,
                Err(_) => self.failed("timed out", &mut backoff).await,
            }
        }
    }

    /// Counts and (once per outage) logs a failed batch, then waits out the
    /// back-off while still taking new writes and flush requests.
    async fn failed(&mut self, error: &str, backoff: &mut Duration) {
        self.stats.failed();
        if self.outage.is_none() {
            self.outage = Some(Instant::now());
            tracing::warn!(
                %error,
                backlog = self.stats.backlog(),
                "store: writing to the database failed; keeping the writes and retrying"
            );
        }
        let sleep = tokio::time::sleep(*backoff);
        tokio::pin!(sleep);
        loop {
            if self.closed {
                sleep.await;
                break;
            }
            tokio::select! {
                () = &mut sleep => break,
                m = self.rx.recv() => match m {
                    Some(m) => self.take(m),
                    None => self.closed = true,
                },
            }
        }
        *backoff = (*backoff * 2).min(BACKOFF_MAX);
    }

    /// Takes every message already sent, without waiting.
    fn drain(&mut self) {
        while !self.closed {
            match self.rx.try_recv() {
                Ok(m) => self.take(m),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => self.closed = true,
            }
        }
    }

    fn take(&mut self, msg: Msg) {
        match msg {
            Msg::Persist {
                kind,
                call,
                at_ms,
                queued_ms,
            } => match self.write_for(kind, &call, at_ms) {
                Some(w) => {
                    if !self.queue.push(w, queued_ms) {
                        self.stats.merged(1);
                    }
                }
                None => self.stats.merged(1),
            },
            Msg::Seed(times) => {
                for (id, created, answered) in times {
                    self.times.insert(id, (created, answered));
                }
            }
            Msg::Flush(done) => self.flushes.push(done),
        }
    }

    /// The write for one snapshot; `None` (logged) if it cannot be serialised.
    fn write_for(&mut self, kind: PersistKind, call: &Call, at_ms: i64) -> Option<Write> {
        if kind == PersistKind::Ended {
            let (created, answered) = self.times.remove(&call.id).unwrap_or((at_ms, None));
            let cdr = CdrRecord::from_call(call, &self.instance, created, answered, at_ms);
            return Some(Write::End {
                call_id: call.id.clone(),
                cdr,
            });
        }
        // Created, Answered and Modified all replace the snapshot.
        let times = self.times.entry(call.id.clone()).or_insert((at_ms, None));
        if kind == PersistKind::Answered && times.1.is_none() {
            times.1 = Some(at_ms);
        }
        let (created, answered) = *times;
        match CallRecord::from_call(call, &self.instance, created, answered, at_ms) {
            Ok(r) => Some(Write::Upsert(r)),
            Err(e) => {
                tracing::error!(call = %call.id, error = %e, "store: cannot serialise the call; snapshot not stored");
                None
            }
        }
    }
}
