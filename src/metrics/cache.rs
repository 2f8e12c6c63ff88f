//! The per-thread series cache behind dynamic updates
//! (`metrics.increment(name, labels)`): a repeated name and label set finds
//! its series with no lock, no reference count and no table probe.
//!
//! Each thread keeps two direct-mapped tables of the same entries:
//!
//! - **by call site**: the slot is picked by where the call comes from (the
//!   `#[track_caller]` location of `increment`, `record`..., or the `metrics`
//!   facade's key hash, computed once per static key). Nothing is hashed
//!   before the compare: a call whose label set is static at its site hits
//!   the first slot it reads.
//! - **by label set**: when a site's labels vary (one slot per site cannot
//!   hold them all), the slot is picked by a hash of the call's strings.
//!
//! Either way a hit is decided by comparing the call with the entry, string
//! by string and exactly: each string is kept as its length and up to 16 of
//! its bytes (two words, see [`code`]), so a label set is never recognised
//! by a hash. Only strings over 16 bytes are kept as a hash, and an entry
//! with one confirms a match byte for byte. Pointers alone are never
//! trusted (a reused buffer with new content is a new label set), with one
//! exception that needs no trust: an entry made from a name, a label slice
//! and strings that all lie in the program's read-only image (literals and
//! promoted constants, see [`super::image`]) is *pinned*, and a call passing
//! the same addresses and lengths is the same bytes, so it hits on three
//! word compares (a `metrics` static key: on its address). Up to
//! [`CACHED_LABELS`] labels are cached; more, or a key given twice, go to the
//! family's table every time.

use std::cell::{Cell, RefCell};
use std::panic::Location;
use std::rc::Rc;
use std::sync::Arc;

use super::hash::{fast_eq, short_word, FxHasher, K};
use super::image::{immutable, immutable_str};
use super::point::{MetricError, MetricType};
use super::registry::{Family, Registry, Series, SeriesOp};
use super::shard::{Lease, Shard};
use std::hash::Hasher;

/// Most labels a dynamic update can have and still use the thread cache
/// (more go to the family's table every time).
pub(crate) const CACHED_LABELS: usize = 16;

/// A string as the cache compares it: its length and, up to 16 bytes, the
/// bytes themselves (exact); longer, a hash in `lo` (confirmed byte for byte).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Code {
    len: usize,
    lo: u64,
    hi: u64,
}

/// Over this many bytes, a string's [`Code`] is a hash.
const EXACT_BYTES: usize = 16;

#[inline(always)]
fn word(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

/// The [`Code`] of `s`: up to 8 bytes one word, up to 16 the first and the
/// last 8 (overlapping; given the length, exact), longer a hash.
#[inline(always)]
fn code(s: &str) -> Code {
    let b = s.as_bytes();
    let len = b.len();
    if len <= 8 {
        Code {
            len,
            lo: short_word(b),
            hi: 0,
        }
    } else if len <= EXACT_BYTES {
        Code {
            len,
            lo: word(b, 0),
            hi: word(b, len - 8),
        }
    } else {
        long_code(b)
    }
}

#[cold]
#[inline(never)]
fn long_code(b: &[u8]) -> Code {
    let mut h = FxHasher::default();
    h.write(b);
    Code {
        len: b.len(),
        lo: h.finish(),
        hi: 0,
    }
}

impl Code {
    /// Zero when `s` has this code (computed in place: no [`Code`] built).
    #[inline(always)]
    fn diff(&self, s: &str) -> u64 {
        let b = s.as_bytes();
        let len = b.len();
        let d = (self.len ^ len) as u64;
        if len <= 8 {
            // A code of another length differs in `len` already.
            d | (self.lo ^ short_word(b))
        } else if len <= EXACT_BYTES {
            d | (self.lo ^ word(b, 0)) | (self.hi ^ word(b, len - 8))
        } else {
            d | (self.lo ^ long_code(b).lo)
        }
    }
}

#[derive(Clone)]
pub(super) struct Cached {
    /// The registry, type and label count, as [`header`] makes them.
    header: u64,
    /// The [`Pin`] words of the call that made the entry when its bytes are
    /// all in the read-only image; zeros (no call's words) otherwise.
    pin: [usize; 3],
    /// The name, then key and value of each label in the caller's order.
    codes: Box<[Code]>,
    /// Some string is over 16 bytes: its code is a hash, so a match is
    /// confirmed byte for byte.
    verify: bool,
    family: Arc<Family>,
    series: Arc<Series>,
    /// For the caller's label order: the index of each pair in `series.labels`.
    order: Box<[u16]>,
    /// This thread's part of a histogram series (see [`super::shard`]), and
    /// the hold that returns it to the series when the thread's last entry
    /// for it goes (an entry and its pinned copies share it).
    shard: Option<Arc<Shard>>,
    _lease: Option<Rc<Lease>>,
}

impl Cached {
    #[inline(always)]
    fn matches(
        &self,
        registry: u64,
        kind: MetricType,
        name: &str,
        labels: &[(&str, &str)],
        pin: [usize; 3],
    ) -> bool {
        let head = self.header ^ header(registry, kind, labels.len());
        // Pinned: the same read-only bytes at the same addresses.
        if head | self.pin_diff(pin) as u64 == 0 {
            return true;
        }
        self.same_codes(head, name, labels)
    }

    /// Zero when `pin` is this entry's pin. Word by word in scalar
    /// registers: an array `==` is compiled to one 16-byte load of words
    /// just stored one by one, which stalls on store forwarding (perf put
    /// 40% of the hit's samples on that compare).
    #[inline(always)]
    fn pin_diff(&self, pin: [usize; 3]) -> usize {
        (self.pin[0] ^ pin[0]) | (self.pin[1] ^ pin[1]) | (self.pin[2] ^ pin[2])
    }

    /// The exact compare, out of line: it keeps the pinned hit small
    /// enough to inline into the caller.
    #[inline(never)]
    fn same_codes(&self, head: u64, name: &str, labels: &[(&str, &str)]) -> bool {
        let Some((first, rest)) = self.codes.split_first() else {
            return false;
        };
        // The header carries the label count: with it equal, `zip` covers
        // every label.
        let diff = rest
            .chunks_exact(2)
            .zip(labels)
            .fold(head | first.diff(name), |d, (c, (k, v))| {
                d | c[0].diff(k) | c[1].diff(v)
            });
        diff == 0 && (!self.verify || self.same_bytes(name, labels))
    }

    #[cold]
    fn same_bytes(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        fast_eq(&self.family.name, name)
            && self.order.iter().zip(labels).all(|(i, (k, v))| {
                self.series
                    .labels
                    .get(*i as usize)
                    .is_some_and(|(sk, sv)| fast_eq(sk, k) && fast_eq(sv, v))
            })
    }
}

/// The registry, type and label count in one word.
#[inline(always)]
fn header(registry: u64, kind: MetricType, labels: usize) -> u64 {
    registry << 16 | (kind as u64) << 8 | labels as u64
}

/// Where a call comes from, for the by-site table.
#[derive(Clone, Copy)]
pub(crate) struct Site(u64);

impl Site {
    /// A call site of `increment`, `record`...
    #[inline(always)]
    pub(crate) fn caller(loc: &'static Location<'static>) -> Site {
        Site(std::ptr::from_ref(loc) as usize as u64)
    }
    /// A precomputed hash standing for a call site (the `metrics` facade's
    /// key hash).
    #[inline(always)]
    pub(crate) fn hashed(h: u64) -> Site {
        Site(h)
    }
    #[inline(always)]
    fn slot(self) -> usize {
        (self.0.wrapping_mul(K) >> 56) as usize % SITE_SLOTS
    }
}

/// How a call can be recognised by address alone (see [`Cached::pin`]).
#[derive(Clone, Copy)]
pub(crate) enum Pin {
    /// A named method's name and label slice: pinned when the name, the
    /// slice and every string in it are in the read-only image.
    Args,
    /// A `metrics` key at this address, of this size: pinned when the key
    /// is in the read-only image (a macro's `static` key; nothing it holds
    /// can change).
    Key(usize, usize),
}

impl Pin {
    /// The words a pinned entry compares with the call's.
    #[inline(always)]
    fn words(self, name: &str, labels: &[(&str, &str)]) -> [usize; 3] {
        match self {
            Pin::Args => [name.as_ptr() as usize, name.len(), labels.as_ptr() as usize],
            Pin::Key(at, _) => [at, usize::MAX, 0],
        }
    }

    /// Whether an entry made from this call may be pinned: every byte its
    /// words stand for is read-only.
    fn holds(self, name: &str, labels: &[(&str, &str)]) -> bool {
        match self {
            Pin::Args => {
                immutable_str(name)
                    && immutable(labels.as_ptr().cast(), std::mem::size_of_val(labels))
                    && labels
                        .iter()
                        .all(|(k, v)| immutable_str(k) && immutable_str(v))
            }
            Pin::Key(at, size) => immutable(at as *const u8, size),
        }
    }
}

/// The by-label-set slot of a call: a hash of its strings' codes.
#[inline(always)]
fn set_slot(registry: u64, kind: MetricType, name: &str, labels: &[(&str, &str)]) -> usize {
    let mix = |h: u64, c: Code| {
        (h.rotate_left(5) ^ c.lo ^ c.hi.rotate_left(17) ^ c.len as u64).wrapping_mul(K)
    };
    let h = labels
        .iter()
        .fold(mix(registry << 8 | kind as u64, code(name)), |h, (k, v)| {
            mix(mix(h, code(k)), code(v))
        });
    (h >> 54) as usize % SET_SLOTS
}

/// Slots of each thread's tables (direct-mapped: a newcomer replaces the
/// entry in its slot).
const SITE_SLOTS: usize = 256;
const SET_SLOTS: usize = 1024;

/// This thread's entries. `by_site` owns what [`HOT`] points to.
struct Tables {
    by_site: Vec<Option<Rc<Cached>>>,
    by_set: Vec<Option<Rc<Cached>>>,
}

impl Tables {
    /// Puts `e` in by-site slot `slot` (the tables are sized), and its
    /// address in [`HOT`] before the entry it replaces is dropped.
    fn set_site(&mut self, slot: usize, e: Rc<Cached>) {
        if let Some(s) = self.by_site.get_mut(slot) {
            HOT.with(|h| h[slot].set(Rc::as_ptr(&e)));
            *s = Some(e);
        }
    }
}

impl Drop for Tables {
    /// The entries go: no pointer to them may stay behind (a metric
    /// recorded by a later thread-local destructor then misses, and
    /// `CACHE`, destroyed, caches nothing more).
    fn drop(&mut self) {
        HOT.with(|h| h.iter().for_each(|p| p.set(std::ptr::null())));
    }
}

thread_local! {
    static CACHE: RefCell<Tables> = const {
        RefCell::new(Tables { by_site: Vec::new(), by_set: Vec::new() })
    };
    /// The by-site entries as plain pointers, for the hit: a constant
    /// thread-local with no destructor, so a slot is read with one load (no
    /// registration check, no `RefCell` flag, no reference count, each of
    /// which was a store the next locked add waited for). Non-null only
    /// while `CACHE.by_site` holds that entry in that slot: [`Tables`] sets
    /// it before replacing an entry and clears it all when dropped.
    static HOT: [Cell<*const Cached>; SITE_SLOTS] =
        const { [const { Cell::new(std::ptr::null()) }; SITE_SLOTS] };
}

/// This thread's entry in by-site slot `slot`, if any, as a pointer (see
/// [`site_entry!`]).
#[inline(always)]
fn site_ptr(slot: usize) -> *const Cached {
    HOT.with(|h| h[slot % SITE_SLOTS].get())
}

/// `Some(&Cached)`: this thread's entry in by-site slot `$slot`, borrowed
/// for the rest of the caller, which must not record a metric or otherwise
/// reach this thread's cache before it is done with it (a [`SeriesOp`]
/// updates atomics, takes an exemplar or clones an `Arc`). A macro, not a
/// function: a function's result would need a lifetime it cannot name, a
/// closure was not inlined.
macro_rules! site_entry {
    ($slot:expr) => {{
        let p = site_ptr($slot);
        // SAFETY: a non-null pointer in `HOT` is the `Rc` that this
        // thread's `CACHE.by_site` holds in the same slot (see `HOT`). Only
        // this thread replaces or drops it, in `lookup_set`, `fill` and
        // `Tables::drop`, and none of those runs while the caller uses it.
        (!p.is_null()).then(|| unsafe { &*p })
    }};
}

impl Registry {
    /// Runs `op` on the series of `name` and `labels`, made if new: through
    /// this thread's cache when it has seen them before.
    #[inline(always)]
    pub(crate) fn with_series<O: SeriesOp>(
        &self,
        site: Site,
        pin: Pin,
        name: &str,
        kind: MetricType,
        labels: &[(&str, &str)],
        op: O,
    ) -> Result<O::Out, MetricError> {
        match self.hit(site, pin, name, kind, labels, op) {
            Some(out) => Ok(out),
            None => self.missed(site, pin, name, kind, labels, op),
        }
    }

    /// The pinned by-site hit: `op` on the series when this site's entry
    /// was made from the same read-only name and labels (the same
    /// addresses), else `None` and nothing done ([`missed`](Self::missed)
    /// does the rest).
    #[inline(always)]
    pub(crate) fn hit<O: SeriesOp>(
        &self,
        site: Site,
        pin: Pin,
        name: &str,
        kind: MetricType,
        labels: &[(&str, &str)],
        op: O,
    ) -> Option<O::Out> {
        if labels.len() > CACHED_LABELS {
            return None;
        }
        let e = site_entry!(site.slot())?;
        let head = e.header ^ header(self.id, kind, labels.len());
        if head | e.pin_diff(pin.words(name, labels)) as u64 != 0 {
            return None;
        }
        Some(op.run(&e.family, &e.series, e.shard.as_deref()))
    }

    /// Everything but the pinned hit: the site's entry compared string by
    /// string, the by-label-set table, then the family's table.
    #[inline(never)]
    pub(crate) fn missed<O: SeriesOp>(
        &self,
        site: Site,
        pin: Pin,
        name: &str,
        kind: MetricType,
        labels: &[(&str, &str)],
        op: O,
    ) -> Result<O::Out, MetricError> {
        if labels.len() > CACHED_LABELS {
            return self.uncached(name, kind, labels, op);
        }
        let slot = site.slot();
        let words = pin.words(name, labels);
        if let Some(e) = site_entry!(slot)
            && e.matches(self.id, kind, name, labels, words)
        {
            return Ok(op.run(&e.family, &e.series, e.shard.as_deref()));
        }
        self.lookup_set(slot, pin, name, kind, labels, op)
    }

    /// The by-site hit alone, for a caller that has not built its label
    /// slice yet (the `metrics` bridge): the entry must be pinned to these
    /// words, which stand for the name and every label (a static key's
    /// address), so the label count is not compared.
    #[inline(always)]
    pub(crate) fn pinned_hit<O: SeriesOp>(
        &self,
        site: Site,
        pin: Pin,
        kind: MetricType,
        op: O,
    ) -> Option<O::Out> {
        if !matches!(pin, Pin::Key(..)) {
            return None;
        }
        let e = site_entry!(site.slot())?;
        let head = (e.header & !0xff) ^ header(self.id, kind, 0);
        if head | e.pin_diff(pin.words("", &[])) as u64 != 0 {
            return None;
        }
        Some(op.run(&e.family, &e.series, e.shard.as_deref()))
    }

    fn uncached<O: SeriesOp>(
        &self,
        name: &str,
        kind: MetricType,
        labels: &[(&str, &str)],
        op: O,
    ) -> Result<O::Out, MetricError> {
        let family = self.family(name, kind)?;
        let series = family.series(labels);
        Ok(op.run(&family, &series, None))
    }

    /// A by-site miss: the by-label-set table, and on a hit the site's slot
    /// takes the entry.
    #[inline(never)]
    fn lookup_set<O: SeriesOp>(
        &self,
        site_slot: usize,
        pin: Pin,
        name: &str,
        kind: MetricType,
        labels: &[(&str, &str)],
        op: O,
    ) -> Result<O::Out, MetricError> {
        let slot = set_slot(self.id, kind, name, labels);
        let words = pin.words(name, labels);
        let found = CACHE.try_with(|c| {
            let mut c = c.try_borrow_mut().ok()?;
            let e = c.by_set.get(slot)?.as_ref()?;
            if !e.matches(self.id, kind, name, labels, words) {
                return None;
            }
            // Found by its bytes, but made by a call with other addresses
            // (a runtime copy, or the same labels through another API): the
            // site gets an entry pinned to its own read-only addresses, or
            // it would compare every string on every call. And an entry
            // made for a `metrics` handle has no shard: a named method's
            // site gets its own.
            let lease = (O::PARTS && e._lease.is_none())
                .then(|| e.series.lease())
                .flatten()
                .map(Rc::new);
            let repin = e.pin != words && pin.holds(name, labels);
            let e = if repin || lease.is_some() {
                Rc::new(Cached {
                    pin: if repin { words } else { e.pin },
                    shard: lease
                        .as_ref()
                        .map_or(e.shard.clone(), |l| Some(Arc::clone(&l.shard))),
                    _lease: lease.or_else(|| e._lease.clone()),
                    ..Cached::clone(e)
                })
            } else {
                Rc::clone(e)
            };
            c.set_site(site_slot, Rc::clone(&e));
            Some(e)
        });
        if let Ok(Some(e)) = found {
            return Ok(op.run(&e.family, &e.series, e.shard.as_deref()));
        }
        self.fill((site_slot, slot), pin, name, kind, labels, op)
    }

    /// A miss in both tables: finds or makes the series in the family's
    /// table, runs `op` on it and keeps it in this thread's two slots.
    #[inline(never)]
    fn fill<O: SeriesOp>(
        &self,
        (site_slot, set_slot): (usize, usize),
        pin: Pin,
        name: &str,
        kind: MetricType,
        labels: &[(&str, &str)],
        op: O,
    ) -> Result<O::Out, MetricError> {
        let family = self.family(name, kind)?;
        let series = family.series(labels);
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
        let (false, true, Some(order)) = (series.overflow, distinct, order) else {
            return Ok(op.run(&family, &series, None));
        };
        {
            let codes: Box<[Code]> = std::iter::once(code(name))
                .chain(labels.iter().flat_map(|(k, v)| [code(k), code(v)]))
                .collect();
            let verify = codes.iter().any(|c| c.len > EXACT_BYTES);
            let lease = O::PARTS.then(|| series.lease()).flatten().map(Rc::new);
            let e = Rc::new(Cached {
                shard: lease.as_ref().map(|l| Arc::clone(&l.shard)),
                _lease: lease,
                header: header(self.id, kind, labels.len()),
                pin: if pin.holds(name, labels) {
                    pin.words(name, labels)
                } else {
                    [0; 3]
                },
                codes,
                verify,
                family,
                series,
                order,
            });
            let out = op.run(&e.family, &e.series, e.shard.as_deref());
            let _ = CACHE.try_with(|c| {
                if let Ok(mut c) = c.try_borrow_mut() {
                    if c.by_site.is_empty() {
                        c.by_site.resize_with(SITE_SLOTS, || None);
                        c.by_set.resize_with(SET_SLOTS, || None);
                    }
                    c.set_site(site_slot, Rc::clone(&e));
                    c.by_set[set_slot] = Some(e);
                }
            });
            Ok(out)
        }
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
