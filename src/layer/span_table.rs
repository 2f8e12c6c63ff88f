//! [`SpanTable`]: the [`SpanLayer`](super::SpanLayer)'s own record of the
//! `tracing` spans it follows, keyed by their `Id`.
//!
//! It takes the place of the registry's per-span extensions, which cost, on
//! every callback, a slab lookup with a reference count taken and given
//! back, a lock and a probe of a map keyed by type, and a boxed value per
//! span. Here a callback costs one uncontended lock and one probe of a small
//! map, and the record is stored in the map itself.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::spans::TracingSpan;

/// How many locks the table is split over (a power of two).
const SHARDS: usize = 64;

type Map = HashMap<u64, TracingSpan, BuildHasherDefault<IdHasher>>;

/// One lock and its map, on a cache line of its own.
#[repr(align(64))]
#[derive(Default)]
struct Shard(Mutex<Map>);

/// The layer's spans by `tracing` `Id`.
///
/// A function given to [`with`](SpanTable::with) runs under a lock: it must
/// not make, enter or record `tracing` spans (no user `Debug` impls there).
pub(crate) struct SpanTable {
    shards: Box<[Shard]>,
}

impl fmt::Debug for SpanTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpanTable").finish_non_exhaustive()
    }
}

impl SpanTable {
    /// An empty table.
    pub(crate) fn new() -> SpanTable {
        SpanTable {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
        }
    }

    /// What tells this table from others on a thread (its address).
    #[inline]
    pub(crate) fn key(&self) -> usize {
        self.shards.as_ptr() as usize
    }

    /// The shard of `id`, locked.
    #[inline]
    fn shard(&self, id: u64) -> MutexGuard<'_, Map> {
        // By the id's low 32 bits: in a `Registry` id they name the span's
        // slot (its thread's page and offset), which a thread reuses span
        // after span, while the high bits count the slot's reuses. A
        // thread's spans so stay in the few shards of its slots, whose
        // lines stay in its core's cache. (Any other id scheme is as
        // correct, only spread differently.)
        let slot = u64::from(id as u32).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let i = (slot >> (64 - SHARDS.trailing_zeros())) as usize;
        self.shards[i]
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps `span` as `id`'s; returns a record `id` already had (the
    /// caller drops it, outside the lock).
    #[inline]
    pub(crate) fn insert(&self, id: u64, span: TracingSpan) -> Option<TracingSpan> {
        self.shard(id).insert(id, span)
    }

    /// Takes `id`'s record out.
    #[inline]
    pub(crate) fn remove(&self, id: u64) -> Option<TracingSpan> {
        self.shard(id).remove(&id)
    }

    /// Runs `f` on `id`'s record, under its shard's lock; `None` when the
    /// table has no record of `id`.
    #[inline]
    pub(crate) fn with<R>(&self, id: u64, f: impl FnOnce(&mut TracingSpan) -> R) -> Option<R> {
        self.shard(id).get_mut(&id).map(f)
    }
}

/// Hashes a span id: one multiplication (ids are distinct integers, not
/// attacker-chosen keys).
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    #[inline]
    fn write_u64(&mut self, id: u64) {
        self.0 = (id ^ (id >> 32)).wrapping_mul(0xA24B_AED4_963E_E407);
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(self.0.rotate_left(8) ^ u64::from(*b));
        }
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_share_low_bits_or_a_shard_stay_apart() {
        let table = SpanTable::new();
        let tracer = crate::trace::FccTracer::new("t");
        // The same slot reused (the high bits differ), and many slots.
        let ids: Vec<u64> = (1..200u64).chain((1..5).map(|g| (g << 40) | 7)).collect();
        for &id in &ids {
            let span = tracer.start_with_parent(format!("s{id}"), None);
            assert!(table.insert(id, TracingSpan::new(span)).is_none());
        }
        for &id in &ids {
            let name = table.with(id, |t| t.span.data_mut().map(|d| d.name.to_string()));
            assert_eq!(name, Some(Some(format!("s{id}"))));
        }
        assert!(table.with(12345, |_| ()).is_none());
        for &id in &ids {
            assert!(table.remove(id).is_some());
            assert!(table.remove(id).is_none());
        }
    }
}
