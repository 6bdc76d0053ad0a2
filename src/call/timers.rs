//! A timer table keyed by what the timer is for: set, cancel, and pop what is due.
//!
//! Time is an argument (quinn-proto style): the table never reads a clock, so
//! scenario tests advance a virtual `Instant` and nothing sleeps.

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;
use std::time::Instant;

/// Deadlines by key; each key has at most one pending deadline.
#[derive(Debug)]
pub struct TimerTable<K: Ord + Hash + Clone> {
    by_time: BTreeSet<(Instant, K)>,
    by_key: HashMap<K, Instant>,
}

impl<K: Ord + Hash + Clone> Default for TimerTable<K> {
    fn default() -> Self {
        TimerTable {
            by_time: BTreeSet::new(),
            by_key: HashMap::new(),
        }
    }
}

impl<K: Ord + Hash + Clone> TimerTable<K> {
    /// Sets (or moves) the deadline of `key`.
    pub fn set(&mut self, key: K, at: Instant) {
        self.cancel(&key);
        self.by_time.insert((at, key.clone()));
        self.by_key.insert(key, at);
    }

    /// Removes the deadline of `key`, if any.
    pub fn cancel(&mut self, key: &K) {
        if let Some(at) = self.by_key.remove(key) {
            self.by_time.remove(&(at, key.clone()));
        }
    }

    /// The deadline of `key`, if set.
    pub fn get(&self, key: &K) -> Option<Instant> {
        self.by_key.get(key).copied()
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<Instant> {
        self.by_time.first().map(|(at, _)| *at)
    }

    /// Removes and returns the earliest key due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<K> {
        let (at, key) = self.by_time.first()?.clone();
        if at > now {
            return None;
        }
        self.by_time.remove(&(at, key.clone()));
        self.by_key.remove(&key);
        Some(key)
    }

    /// Number of pending timers.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether no timer is pending.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn pops_in_deadline_order_and_honours_cancel_and_move() {
        let t0 = Instant::now();
        let mut t = TimerTable::default();
        t.set("a", t0 + Duration::from_secs(3));
        t.set("b", t0 + Duration::from_secs(1));
        t.set("c", t0 + Duration::from_secs(2));
        t.cancel(&"c");
        t.set("a", t0 + Duration::from_millis(500));
        assert_eq!(t.next(), Some(t0 + Duration::from_millis(500)));
        assert_eq!(t.pop_due(t0), None);
        let due = t0 + Duration::from_secs(5);
        assert_eq!(t.pop_due(due), Some("a"));
        assert_eq!(t.pop_due(due), Some("b"));
        assert_eq!(t.pop_due(due), None);
        assert!(t.is_empty());
    }
}
