//! The writer's queue of uncommitted writes, coalesced per call.
//!
//! During an outage a busy gateway queues thousands of snapshots; only the
//! latest of each call matters, so a new write for a call that already has
//! one queued replaces it in place (keeping its place and its age), and an
//! `End` is never replaced: a snapshot queued after the end would be skipped
//! by the database anyway (no resurrection), so it is dropped here.

use super::Write;
use std::collections::{HashMap, VecDeque};

/// Uncommitted writes in order, at most one per call.
#[derive(Debug, Default)]
pub(crate) struct Queue {
    writes: VecDeque<Write>,
    /// When each write's call first had an uncommitted write (epoch ms).
    since_ms: VecDeque<i64>,
    /// Call id → absolute position (`popped` + index) of its queued write.
    index: HashMap<String, u64>,
    /// Writes committed (popped from the front) so far.
    popped: u64,
}

impl Queue {
    /// Queues `write`; `false` when it was merged into the call's queued
    /// write instead of adding one (the backlog shrinks by one).
    pub(crate) fn push(&mut self, write: Write, since_ms: i64) -> bool {
        if let Some(&abs) = self.index.get(write.call_id()) {
            let slot = &mut self.writes[(abs - self.popped) as usize];
            if !matches!(slot, Write::End { .. }) {
                *slot = write;
            }
            return false;
        }
        self.index.insert(
            write.call_id().to_owned(),
            self.popped + self.writes.len() as u64,
        );
        self.writes.push_back(write);
        self.since_ms.push_back(since_ms);
        true
    }

    /// The oldest `max` writes, to apply in one transaction.
    pub(crate) fn front(&mut self, max: usize) -> &[Write] {
        let n = max.min(self.writes.len());
        &self.writes.make_contiguous()[..n]
    }

    /// The oldest `n` writes were committed.
    pub(crate) fn commit(&mut self, n: usize) {
        for _ in 0..n {
            let Some(w) = self.writes.pop_front() else {
                break;
            };
            self.since_ms.pop_front();
            if self.index.get(w.call_id()) == Some(&self.popped) {
                self.index.remove(w.call_id());
            }
            self.popped += 1;
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.writes.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// When the oldest uncommitted write was queued; 0 when none. Merging
    /// keeps a slot's first time, so the front is the oldest.
    pub(crate) fn oldest_since_ms(&self) -> i64 {
        self.since_ms.front().copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{CallRecord, CdrRecord};

    fn upsert(id: &str, state: &str) -> Write {
        Write::Upsert(CallRecord {
            id: id.into(),
            owner: "a".into(),
            direction: "outbound".into(),
            state: state.into(),
            sip_call_id: String::new(),
            xmpp_sid: String::new(),
            xmpp_user: String::new(),
            trunk: None,
            caller: String::new(),
            callee: String::new(),
            created_ms: 1,
            answered_ms: None,
            updated_ms: 1,
            snapshot: String::new(),
        })
    }

    fn end(id: &str) -> Write {
        Write::End {
            call_id: id.into(),
            cdr: CdrRecord {
                id: id.into(),
                direction: "outbound".into(),
                caller: String::new(),
                callee: String::new(),
                trunk: None,
                start_ms: 1,
                answer_ms: None,
                end_ms: 2,
                duration_ms: 0,
                sip_status: None,
                jingle_reason: None,
                ended_by: "sip".into(),
                instance: "a".into(),
                media: None,
            },
        }
    }

    #[test]
    fn latest_upsert_kept_in_place() {
        let mut q = Queue::default();
        assert!(q.push(upsert("a", "Inviting"), 10));
        assert!(q.push(upsert("b", "Inviting"), 11));
        assert!(!q.push(upsert("a", "Active"), 12));
        assert_eq!(q.len(), 2);
        assert_eq!(q.front(10)[0], upsert("a", "Active"));
        assert_eq!(q.oldest_since_ms(), 10);
    }

    #[test]
    fn end_wins() {
        let mut q = Queue::default();
        q.push(upsert("a", "Inviting"), 1);
        assert!(!q.push(end("a"), 2));
        assert!(!q.push(upsert("a", "Active"), 3));
        assert_eq!(q.front(10), &[end("a")]);
    }

    #[test]
    fn commit_frees_the_call() {
        let mut q = Queue::default();
        q.push(upsert("a", "Inviting"), 1);
        q.push(upsert("b", "Inviting"), 2);
        assert_eq!(q.front(1).len(), 1);
        q.commit(1);
        assert_eq!(q.oldest_since_ms(), 2);
        // "a" was committed: a new write for it is queued again, behind "b".
        assert!(q.push(upsert("a", "Active"), 3));
        assert!(!q.push(upsert("b", "Active"), 4));
        assert_eq!(q.front(10), &[upsert("b", "Active"), upsert("a", "Active")]);
        q.commit(2);
        assert!(q.is_empty());
        assert_eq!(q.oldest_since_ms(), 0);
    }
}
