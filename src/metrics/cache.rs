//! The per-thread series cache behind dynamic updates
//! (`metrics.increment(name, labels)`): a repeated name and label set finds
//! its series with no lock, no reference count and no table probe.
//!
//! Each thread keeps a direct-mapped table. A call's *signature* is one word
//! for the registry, type and label count, then one *fingerprint* word for
//! the name and for each key and value: up to 8 bytes, the string itself
//! (exact), longer, a hash (see [`fingerprint`]). The slot is picked by a hash
//! of the signature; a hit is the slot's signature being equal, compared
//! word for word with no branch, so it reads no label string of the series.
//! When some string is over 8 bytes, a hit is confirmed byte for byte.
//! Pointers are never trusted: a reused buffer with new content is a new
//! label set. Up to [`CACHED_LABELS`] labels are cached; more, or a key given
//! twice, go to the family's table every time.

use std::sync::Arc;

use super::hash::{fast_eq, fingerprint, is_hash, K};
use super::point::{MetricError, MetricType};
use super::registry::{Family, Registry, Series, SeriesOp};

/// Most labels a dynamic update can have and still use the thread cache
/// (more go to the family's table every time).
const CACHED_LABELS: usize = 4;

/// Words in a signature: the header, the name, a key and a value per label.
const SIG_WORDS: usize = 2 + 2 * CACHED_LABELS;

type Signature = [u64; SIG_WORDS];

pub(super) struct Cached {
    sig: Signature,
    /// Some string is over 8 bytes: its fingerprint is a hash, so a match
    /// is confirmed byte for byte.
    verify: bool,
    family: Arc<Family>,
    series: Arc<Series>,
    /// For the caller's label order: the index of each pair in `series.labels`.
    order: Box<[u16]>,
}

impl Cached {
    #[inline(always)]
    fn matches(&self, name: &str, labels: &[(&str, &str)], sig: &Signature) -> bool {
        let diff = self.sig.iter().zip(sig).fold(0, |d, (a, b)| d | (a ^ b));
        diff == 0 && (!self.verify || self.same_bytes(name, labels))
    }

    #[cold]
    fn same_bytes(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        fast_eq(&self.family.name, name)
            && self.order.len() == labels.len()
            && self.order.iter().zip(labels).all(|(i, (k, v))| {
                self.series
                    .labels
                    .get(*i as usize)
                    .is_some_and(|(sk, sv)| fast_eq(sk, k) && fast_eq(sv, v))
            })
    }
}

/// The signature of a call and its hash; `None` with more than
/// [`CACHED_LABELS`] labels.
#[inline(always)]
fn signature(
    registry: u64,
    name: &str,
    kind: MetricType,
    labels: &[(&str, &str)],
) -> Option<(Signature, u64)> {
    if labels.len() > CACHED_LABELS {
        return None;
    }
    let mut sig = [0u64; SIG_WORDS];
    sig[0] = registry << 8 | (kind as u64) << 4 | labels.len() as u64;
    sig[1] = fingerprint(name);
    for (i, (k, v)) in labels.iter().enumerate() {
        sig[2 + 2 * i] = fingerprint(k);
        sig[3 + 2 * i] = fingerprint(v);
    }
    // Rotations are independent of one another (no chain through the
    // words); one multiply mixes them into the top bits, which pick the slot.
    let h = sig
        .iter()
        .enumerate()
        .fold(0u64, |h, (i, w)| h ^ w.rotate_left(7 * i as u32))
        .wrapping_mul(K);
    Some((sig, h))
}

/// Slots of each thread's cache (direct-mapped: a colliding pair replaces
/// the one in its slot).
const THREAD_CACHE_SLOTS: usize = 1024;

thread_local! {
    /// Per thread: signature hash to the series, so a repeated dynamic
    /// update takes no lock, no reference count and no table probe: one
    /// slot, picked by the hash.
    static CACHE: std::cell::RefCell<Vec<Option<Box<Cached>>>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

#[inline(always)]
fn slot_of(hash: u64) -> usize {
    (hash >> 54) as usize % THREAD_CACHE_SLOTS
}

impl Registry {
    /// Runs `op` on the series of `name` and `labels`, made if new: through
    /// this thread's cache when it has seen them before.
    #[inline(always)]
    pub(crate) fn with_series<O: SeriesOp>(
        &self,
        name: &str,
        kind: MetricType,
        labels: &[(&str, &str)],
        op: O,
    ) -> Result<O::Out, MetricError> {
        let Some((sig, hash)) = signature(self.id, name, kind, labels) else {
            let family = self.family(name, kind)?;
            let series = family.series(labels);
            return Ok(op.run(&family, &series));
        };
        let slot = slot_of(hash);
        // The hit runs inside the cache's shared borrow: `fill` (the only
        // writer) takes the borrow mutably with `try_borrow_mut`, so while a
        // cached entry is in use it cannot be replaced; a re-entrant miss
        // just goes uncached. No `unsafe`: the borrow is the proof.
        let hit = CACHE.try_with(|c| {
            let c = c.try_borrow().ok()?;
            let e = c.get(slot)?.as_deref()?;
            e.matches(name, labels, &sig)
                .then(|| op.run(&e.family, &e.series))
        });
        if let Ok(Some(out)) = hit {
            return Ok(out);
        }
        self.fill(name, kind, labels, sig, slot, op)
    }

    /// A cache miss: finds or makes the series in the family's table, runs
    /// `op` on it and keeps it in this thread's `slot`.
    #[inline(never)]
    fn fill<O: SeriesOp>(
        &self,
        name: &str,
        kind: MetricType,
        labels: &[(&str, &str)],
        sig: Signature,
        slot: usize,
        op: O,
    ) -> Result<O::Out, MetricError> {
        let family = self.family(name, kind)?;
        let series = family.series(labels);
        let out = op.run(&family, &series);
        let order: Option<Box<[u16]>> = labels
            .iter()
            .map(|(k, _)| {
                series
                    .labels
                    .iter()
                    .position(|(sk, _)| **sk == **k)
                    .and_then(|i| u16::try_from(i).ok())
            })
            .collect();
        // Repeated keys collapse in the series; such a call is not cached.
        let distinct = order
            .as_ref()
            .is_some_and(|o| o.len() == series.labels.len());
        if let (false, true, Some(order)) = (series.overflow, distinct, order) {
            let _ = CACHE.try_with(|c| {
                if let Ok(mut c) = c.try_borrow_mut() {
                    if c.is_empty() {
                        c.resize_with(THREAD_CACHE_SLOTS, || None);
                    }
                    // Only the slot needs to know: hashed and exact
                    // fingerprints never match, so a hit on a slot with no
                    // hash has none in the call either.
                    let verify = sig[1..].iter().any(|w| is_hash(*w));
                    c[slot] = Some(Box::new(Cached {
                        sig,
                        verify,
                        family,
                        series,
                        order,
                    }));
                }
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::metrics::{FccMetrics, SeriesValue};

    fn value(m: &FccMetrics, labels: &[(&str, &str)]) -> f64 {
        let snap = m.snapshot();
        let series = &snap.iter().find(|f| f.name == "c").unwrap().series;
        let s = series
            .iter()
            .find(|s| {
                s.labels.len() == labels.len()
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .unwrap_or_else(|| panic!("no series {labels:?}"));
        match s.value {
            SeriesValue::Counter(v) => v,
            _ => unreachable!(),
        }
    }

    #[test]
    fn the_thread_cache_never_mixes_series() {
        let m = FccMetrics::builder().points_capacity(0).build();
        // The same labels in another order are the same series.
        m.increment("c", &[("a", "1"), ("b", "2")]).unwrap();
        m.increment("c", &[("b", "2"), ("a", "1")]).unwrap();
        assert_eq!(value(&m, &[("a", "1"), ("b", "2")]), 2.0);
        // Long values (hashed fingerprints) that differ only after byte 8.
        for v in ["/orders/aaaa1", "/orders/aaaa2", "/orders/aaaa1"] {
            m.increment("c", &[("route", v)]).unwrap();
        }
        assert_eq!(value(&m, &[("route", "/orders/aaaa1")]), 2.0);
        assert_eq!(value(&m, &[("route", "/orders/aaaa2")]), 1.0);
        // More labels than the cache takes.
        let five = [("a", "1"), ("b", "2"), ("c", "3"), ("d", "4"), ("e", "5")];
        for _ in 0..3 {
            m.increment("c", &five).unwrap();
        }
        assert_eq!(value(&m, &five), 3.0);
        // A reused buffer with new content at the same address and length.
        let mut s = String::from("x1");
        m.increment("c", &[("k", &s)]).unwrap();
        s.clear();
        s.push_str("x2");
        m.increment("c", &[("k", &s)]).unwrap();
        assert_eq!(value(&m, &[("k", "x1")]), 1.0);
        assert_eq!(value(&m, &[("k", "x2")]), 1.0);
        // A repeated key collapses to one label and is still counted right.
        m.increment("c", &[("k", "x1"), ("k", "x1")]).unwrap();
        m.increment("c", &[("k", "x1"), ("k", "x1")]).unwrap();
        assert_eq!(value(&m, &[("k", "x1")]), 3.0);
        // A label whose fingerprints are all-zero words is not "no label".
        let zeros = "\0".repeat(8);
        m.increment("c", &[]).unwrap();
        m.increment("c", &[(&zeros, &zeros)]).unwrap();
        m.increment("c", &[]).unwrap();
        assert_eq!(value(&m, &[]), 2.0);
        assert_eq!(value(&m, &[(&zeros, &zeros)]), 1.0);
        // 7 and 8 bytes, and a value that only differs in its last byte.
        for v in ["abcdefg", "abcdefgh", "abcdefg", "abcdefgi"] {
            m.increment("c", &[("len", v)]).unwrap();
        }
        assert_eq!(value(&m, &[("len", "abcdefg")]), 2.0);
        assert_eq!(value(&m, &[("len", "abcdefgh")]), 1.0);
    }

    #[test]
    fn a_cached_name_still_refuses_another_type() {
        let m = FccMetrics::builder().points_capacity(0).build();
        m.increment("c", &[("k", "v")]).unwrap();
        m.increment("c", &[("k", "v")]).unwrap();
        assert!(m.record("c", 1.0, &[("k", "v")]).is_err());
        assert!(m.observe("c", 1.0, &[("k", "v")]).is_err());
        assert_eq!(value(&m, &[("k", "v")]), 2.0);
    }

    #[test]
    fn two_registries_never_share_a_cached_series() {
        let (a, b) = (FccMetrics::new(), FccMetrics::new());
        for _ in 0..3 {
            a.increment("c", &[("k", "v")]).unwrap();
        }
        b.increment("c", &[("k", "v")]).unwrap();
        assert_eq!(value(&a, &[("k", "v")]), 3.0);
        assert_eq!(value(&b, &[("k", "v")]), 1.0);
    }
}
