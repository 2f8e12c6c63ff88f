//! The per-thread series cache behind dynamic updates
//! (`metrics.increment(name, labels)`): a repeated name and label set finds
//! its series with no lock, no reference count and no table probe.
//!
//! Each thread keeps a direct-mapped table. The slot is picked by the hash
//! of the *fingerprints* of the name and of each key and value: a string's
//! length and, up to 8 bytes, its bytes (so the fingerprint is exact), or a
//! hash of longer ones. The same fingerprints, stored in the slot, are what
//! a lookup compares, in one `memcmp`, so a hit reads no label string of the
//! series; when some string is over 8 bytes a hit is confirmed byte for
//! byte. Pointers are never trusted: a reused buffer with new content is a
//! new label set. Up to [`CACHED_LABELS`] labels are cached; more, or a key
//! given twice, go to the family's table every time.

use std::sync::Arc;

use super::hash::{fast_eq, fingerprint, K};
use super::point::{MetricError, MetricType};
use super::registry::{Family, Registry, Series};

pub(super) struct Cached {
    family: Arc<Family>,
    series: Arc<Series>,
    /// For the caller's label order: the index of each pair in `series.labels`.
    order: Box<[u16]>,
    /// Fingerprints (length, word) of the name and of each key and value,
    /// in the caller's order, flattened.
    sig: Box<[u64]>,
    /// Some string is over 8 bytes: its fingerprint is a hash, so a match
    /// is confirmed byte for byte.
    verify: bool,
}

impl Cached {
    #[inline]
    fn matches(&self, name: &str, kind: MetricType, labels: &[(&str, &str)], sig: &[u64]) -> bool {
        self.family.kind == kind
            && *self.sig == *sig
            && (!self.verify || self.same_bytes(name, labels))
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

/// Most labels a dynamic update can have and still use the thread cache
/// (more go to the family's table every time).
const CACHED_LABELS: usize = 4;

/// The fingerprints of `name` and `labels` into `sig`, how many words they
/// take, their hash and whether a string is over 8 bytes; `None` with more
/// than [`CACHED_LABELS`] labels.
#[inline(always)]
fn signature(
    name: &str,
    labels: &[(&str, &str)],
    sig: &mut [u64; 2 + 4 * CACHED_LABELS],
) -> Option<(usize, u64, bool)> {
    if labels.len() > CACHED_LABELS {
        return None;
    }
    #[inline(always)]
    fn put(sig: &mut [u64], h: &mut u64, long: &mut bool, i: usize, s: &str) {
        let (len, word) = fingerprint(s);
        sig[2 * i] = len;
        sig[2 * i + 1] = word;
        *long |= len > 8;
        *h = (h.rotate_left(5) ^ word ^ (len << 56)).wrapping_mul(K);
    }
    let (mut h, mut long) = (0u64, false);
    put(sig, &mut h, &mut long, 0, name);
    for (i, (k, v)) in labels.iter().enumerate() {
        put(sig, &mut h, &mut long, 1 + 2 * i, k);
        put(sig, &mut h, &mut long, 2 + 2 * i, v);
    }
    let n = 2 + 4 * labels.len();
    Some((n, h, long))
}

/// Slots of each thread's cache (direct-mapped: a colliding pair replaces
/// the one in its slot).
const THREAD_CACHE_SLOTS: usize = 1024;

type Slot = Option<(u64, u64, Cached)>;

thread_local! {
    /// Per thread: (registry, hash of name and labels) to the series, so a
    /// repeated dynamic update takes no lock, no reference count and no
    /// table probe: one slot, picked by the hash.
    static CACHE: std::cell::RefCell<Vec<Slot>> = const { std::cell::RefCell::new(Vec::new()) };
}

#[inline]
fn slot_of(registry: u64, hash: u64) -> usize {
    ((hash ^ registry.wrapping_mul(K)) >> 7) as usize % THREAD_CACHE_SLOTS
}

impl Registry {
    /// Runs `f` on the series of `name` and `labels`, made if new: through
    /// this thread's cache when it has seen them before.
    #[inline]
    pub(crate) fn with_series<R>(
        &self,
        name: &str,
        kind: MetricType,
        labels: &[(&str, &str)],
        f: impl FnOnce(&Family, &Arc<Series>) -> R,
    ) -> Result<R, MetricError> {
        let mut sig = [0u64; 2 + 4 * CACHED_LABELS];
        let Some((n, hash, verify)) = signature(name, labels, &mut sig) else {
            let family = self.family(name, kind)?;
            let series = family.series(labels);
            return Ok(f(&family, &series));
        };
        let sig = &sig[..n];
        let slot = slot_of(self.id, hash);
        let mut f = Some(f);
        let hit = CACHE.try_with(|c| {
            let c = c.try_borrow().ok()?;
            let (reg, h, e) = c.get(slot)?.as_ref()?;
            // The borrow is held while `f` runs: no reference counting.
            if *reg == self.id && *h == hash && e.matches(name, kind, labels, sig) {
                f.take().map(|f| f(&e.family, &e.series))
            } else {
                None
            }
        });
        if let Ok(Some(out)) = hit {
            return Ok(out);
        }
        let family = self.family(name, kind)?;
        let series = family.series(labels);
        // `f` is still here: it is only taken on a hit, which returned.
        let out = f.take().map(|f| f(&family, &series));
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
                    c[slot] = Some((
                        self.id,
                        hash,
                        Cached {
                            family,
                            series,
                            order,
                            sig: sig.into(),
                            verify,
                        },
                    ));
                }
            });
        }
        out.ok_or_else(|| MetricError::InvalidName {
            name: name.to_owned(),
        })
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
    }
}
