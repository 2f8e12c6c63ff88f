//! [`Table`]: the bounded set of open runs or actions, oldest first.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::Hash;
use std::time::{Duration, Instant};

struct Entry<K, T> {
    key: K,
    opened: Instant,
    value: T,
}

/// Open items by key, in the order they were opened. Several items may share
/// a key (they close oldest first). At most `capacity` are open: opening one
/// more evicts the oldest. Expiry and eviction look only at the oldest
/// entries, so each costs O(log n) per item removed and nothing otherwise.
pub(super) struct Table<K, T> {
    by_seq: BTreeMap<u64, Entry<K, T>>,
    by_key: HashMap<K, VecDeque<u64>>,
    next: u64,
    capacity: usize,
}

impl<K: Hash + Eq + Clone, T> Table<K, T> {
    pub(super) fn new(capacity: usize) -> Self {
        Table {
            by_seq: BTreeMap::new(),
            by_key: HashMap::new(),
            next: 0,
            capacity: capacity.max(1),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.by_seq.len()
    }

    /// Opens `value` under `key`; returns the oldest item if the table was
    /// full and it had to go.
    pub(super) fn open(&mut self, key: K, value: T, now: Instant) -> Option<T> {
        let evicted = if self.by_seq.len() >= self.capacity {
            self.pop_oldest()
        } else {
            None
        };
        let seq = self.next;
        self.next += 1;
        self.by_key.entry(key.clone()).or_default().push_back(seq);
        self.by_seq.insert(
            seq,
            Entry {
                key,
                opened: now,
                value,
            },
        );
        evicted
    }

    /// Closes the oldest item open under `key`.
    pub(super) fn close<Q>(&mut self, key: &Q) -> Option<T>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let seqs = self.by_key.get_mut(key)?;
        let seq = seqs.pop_front()?;
        if seqs.is_empty() {
            self.by_key.remove(key);
        }
        self.by_seq.remove(&seq).map(|e| e.value)
    }

    /// The newest item open under `key`.
    pub(super) fn newest_mut<Q>(&mut self, key: &Q) -> Option<&mut T>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let seq = *self.by_key.get(key)?.back()?;
        self.by_seq.get_mut(&seq).map(|e| &mut e.value)
    }

    /// The newest item open under `key`.
    pub(super) fn newest<Q>(&self, key: &Q) -> Option<&T>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let seq = *self.by_key.get(key)?.back()?;
        self.by_seq.get(&seq).map(|e| &e.value)
    }

    /// Removes and returns the items open for longer than `timeout`.
    pub(super) fn expire(&mut self, now: Instant, timeout: Duration) -> Vec<T> {
        let mut out = Vec::new();
        while let Some((_, oldest)) = self.by_seq.first_key_value() {
            if now.saturating_duration_since(oldest.opened) <= timeout {
                break;
            }
            out.extend(self.pop_oldest());
        }
        out
    }

    /// Removes and returns every item, oldest first.
    pub(super) fn drain(&mut self) -> Vec<T> {
        self.by_key.clear();
        std::mem::take(&mut self.by_seq)
            .into_values()
            .map(|e| e.value)
            .collect()
    }

    fn pop_oldest(&mut self) -> Option<T> {
        let (seq, entry) = self.by_seq.pop_first()?;
        if let Some(seqs) = self.by_key.get_mut(&entry.key) {
            seqs.retain(|s| *s != seq);
            if seqs.is_empty() {
                self.by_key.remove(&entry.key);
            }
        }
        Some(entry.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closes_oldest_first_per_key_and_evicts_the_oldest_overall() {
        let now = Instant::now();
        let mut t = Table::new(3);
        assert!(t.open("a", 1, now).is_none());
        assert!(t.open("b", 2, now).is_none());
        assert!(t.open("a", 3, now).is_none());
        assert_eq!(t.newest(&"a"), Some(&3));
        assert_eq!(t.open("c", 4, now), Some(1), "full: the oldest goes");
        assert_eq!(t.close(&"a"), Some(3));
        assert_eq!(t.close(&"a"), None);
        assert_eq!(t.len(), 2);
        assert_eq!(t.drain(), vec![2, 4]);
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn expires_only_what_is_older_than_the_timeout() {
        let t0 = Instant::now();
        let mut t = Table::new(10);
        t.open("old", 1, t0);
        t.open("new", 2, t0 + Duration::from_secs(10));
        let later = t0 + Duration::from_secs(15);
        assert_eq!(t.expire(later, Duration::from_secs(8)), vec![1]);
        assert_eq!(t.expire(later, Duration::from_secs(8)), Vec::<i32>::new());
        assert!(t.newest(&"old").is_none());
        assert_eq!(t.newest(&"new"), Some(&2));
    }
}
