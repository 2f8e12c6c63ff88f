//! Each thread's cached routing table, and how tables that list an
//! unsubscribed subscriber are reclaimed.
//!
//! `publish` takes no lock: a thread keeps the table it used last and checks
//! with one atomic load of the bus's generation that it is still current.
//! A cached table keeps its subscribers alive, so after `unsubscribe` the
//! tables other threads cache must be let go, including those of threads
//! that never publish again. `unsubscribe` does it before it returns:
//!
//! 1. it takes every cached table out of every thread's slot (the slots of
//!    all threads that have published are in one registry), then runs a
//!    [heavy fence](crate::internal::fence::heavy);
//! 2. a thread that is not delivering (its `active` mark is 0) will find an
//!    empty slot on its next publish and load the current table: the taken
//!    table is freed at once;
//! 3. a thread that is delivering may be reading the table: it is parked
//!    among that thread's orphans, which the thread frees as its delivery
//!    ends (it checks one flag then). A second heavy fence and a second look
//!    free the orphans of threads that ended in between.
//!
//! So an unsubscribed subscriber is dropped when `unsubscribe` returns, or,
//! if another thread is delivering an event at that moment, when that
//! delivery ends. The publisher pays for none of it but a compiler fence
//! and a check of a flag it owns; the unsubscriber pays two `membarrier`
//! calls (a few microseconds). Without `membarrier` (see `fence`) step 2
//! parks every table as an orphan, and each thread frees it at the end of
//! its next publish.

use super::counts::ThreadCounts;
use super::routes::Routes;
use crate::internal::fence;
use std::cell::Cell;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// The part of a thread's cache that a reclaiming thread may touch.
struct Slot {
    /// Delivery depth mark: 1 while this thread delivers through `routes`.
    active: AtomicU32,
    /// The cached table, from `Arc::into_raw`, or null.
    routes: AtomicPtr<Routes>,
    /// Set (under the `orphans` lock) when `orphans` is not empty.
    has_orphans: AtomicBool,
    /// Tables taken from this slot while it was delivering.
    orphans: Mutex<Vec<Arc<Routes>>>,
}

impl Slot {
    /// Takes the table out of the slot.
    fn take(&self) -> Option<Arc<Routes>> {
        let p = self.routes.swap(ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: a non-null pointer in `routes` came from `Arc::into_raw`
        // and the swap hands its reference to us alone.
        (!p.is_null()).then(|| unsafe { Arc::from_raw(p) })
    }

    fn take_orphans(&self) -> Vec<Arc<Routes>> {
        let mut orphans = self.orphans.lock().unwrap_or_else(|p| p.into_inner());
        self.has_orphans.store(false, Ordering::Relaxed);
        std::mem::take(&mut *orphans)
    }

    fn adopt(&self, table: Arc<Routes>) {
        let mut orphans = self.orphans.lock().unwrap_or_else(|p| p.into_inner());
        orphans.push(table);
        self.has_orphans.store(true, Ordering::Relaxed);
    }
}

/// A pointer to a live thread's [`Slot`]. It is in [`SLOTS`] only while the
/// thread's cache is alive: the cache removes it (under the lock) before it
/// is destroyed, and other threads use it only under that lock.
struct SlotRef(*const Slot);

// SAFETY: `Slot` is `Sync` (atomics and a mutex) and the pointer is used only
// under the `SLOTS` lock while its thread keeps it registered (see above).
unsafe impl Send for SlotRef {}

/// Every thread's slot, registered on its first cached publish.
static SLOTS: Mutex<Vec<SlotRef>> = Mutex::new(Vec::new());

/// One thread's cache: the table it used last, which bus and generation
/// that is, and its publish counters for that bus.
pub(super) struct RoutesCache {
    bus: Cell<u64>,
    generation: Cell<u64>,
    counts: Cell<Option<Arc<ThreadCounts>>>,
    registered: Cell<bool>,
    slot: Slot,
}

thread_local! {
    pub(super) static ROUTES_CACHE: RoutesCache = const {
        RoutesCache {
            bus: Cell::new(0),
            generation: Cell::new(0),
            counts: Cell::new(None),
            registered: Cell::new(false),
            slot: Slot {
                active: AtomicU32::new(0),
                routes: AtomicPtr::new(ptr::null_mut()),
                has_orphans: AtomicBool::new(false),
                orphans: Mutex::new(Vec::new()),
            },
        }
    };
}

/// What a publish must load when its cache is not current.
pub(super) struct Source<'a> {
    pub(super) bus: u64,
    pub(super) generation: u64,
    pub(super) routes: &'a arc_swap::ArcSwap<Routes>,
    pub(super) counts: &'a super::counts::BusCounts,
}

/// Ends a delivery: clears the mark even if the delivery unwinds, then frees
/// the orphans a reclaiming thread left while it ran.
struct ActiveGuard<'a>(&'a Slot);

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        self.0.active.store(0, Ordering::Release);
        fence::light();
        if self.0.has_orphans.load(Ordering::Relaxed) {
            // Dropped here, after the mark is cleared: a subscriber's `Drop`
            // may publish, and that publish finds the cache whole.
            drop(self.0.take_orphans());
        }
    }
}

impl RoutesCache {
    /// Runs `deliver` with this thread's cached table for `source`, loading
    /// it first if it is not current, and counts the publish. None when this
    /// thread is already delivering (a publish from inside a subscriber):
    /// the caller then uses a table of its own.
    #[inline]
    pub(super) fn publish(
        &self,
        source: &Source<'_>,
        deliver: impl FnOnce(&Routes) -> usize,
    ) -> Option<usize> {
        let slot = &self.slot;
        if slot.active.load(Ordering::Relaxed) != 0 {
            return None;
        }
        slot.active.store(1, Ordering::Relaxed);
        fence::light();
        // What the reload replaces is dropped only after the delivery (it is
        // declared before the guard): dropping an old table can drop a
        // subscriber whose `Drop` publishes, and that publish must find the
        // cache whole and this delivery done.
        let mut replaced: (Option<Arc<ThreadCounts>>, Option<Arc<Routes>>) = (None, None);
        let mut table = slot.routes.load(Ordering::Acquire);
        if table.is_null()
            || self.bus.get() != source.bus
            || self.generation.get() != source.generation
        {
            if self.bus.get() != source.bus {
                replaced.0 = self
                    .counts
                    .replace(Some(source.counts.for_this_thread(source.bus)));
            }
            table = Arc::into_raw(source.routes.load_full()).cast_mut();
            let old = slot.routes.swap(table, Ordering::AcqRel);
            // SAFETY: as in `Slot::take`.
            replaced.1 = (!old.is_null()).then(|| unsafe { Arc::from_raw(old) });
            self.bus.set(source.bus);
            self.generation.set(source.generation);
            if !self.registered.get() {
                let mut slots = SLOTS.lock().unwrap_or_else(|p| p.into_inner());
                slots.push(SlotRef(slot));
                self.registered.set(true);
            }
        }
        let _guard = ActiveGuard(slot);
        // SAFETY: `table` holds a reference that only `Slot::take` or the
        // reload above gives up. This thread reloads only while not
        // delivering, and a reclaiming thread that takes the table while
        // `active` is 1 parks it among the orphans, freed by `_guard` after
        // this delivery: the fences order the `active` mark before this
        // thread's load of `routes` and the reclaimer's swap before its read
        // of the mark, so one of the two sees the other (see `fence`).
        let routes = unsafe { &*table };
        let delivered = deliver(routes);
        // SAFETY: `counts` is replaced only above, before the delivery, and
        // only by this thread.
        if let Some(c) = unsafe { &*self.counts.as_ptr() } {
            c.bump(delivered);
        }
        Some(delivered)
    }
}

impl Drop for RoutesCache {
    fn drop(&mut self) {
        if self.registered.get() {
            let mut slots = SLOTS.lock().unwrap_or_else(|p| p.into_inner());
            let me: *const Slot = &self.slot;
            slots.retain(|s| !ptr::eq(s.0, me));
        }
        // Outside the lock: dropping a table may run a subscriber's `Drop`.
        drop(self.slot.take());
        drop(self.slot.take_orphans());
    }
}

/// Lets go of every table cached by any thread (see the module doc), after
/// a subscription was removed. Tables are dropped after the registry lock
/// is released, since dropping one may run a subscriber's `Drop`, which may
/// publish or unsubscribe.
pub(super) fn reclaim_cached_tables() {
    let mut freed = Vec::new();
    {
        let slots = SLOTS.lock().unwrap_or_else(|p| p.into_inner());
        // SAFETY (every deref below): registered slots are alive while the
        // lock is held (see `SlotRef`).
        let taken: Vec<(&Slot, Arc<Routes>)> = slots
            .iter()
            .filter_map(|s| {
                let slot = unsafe { &*s.0 };
                slot.take().map(|t| (slot, t))
            })
            .collect();
        if taken.is_empty() {
            return;
        }
        let fenced = fence::heavy();
        let mut parked = false;
        for (slot, table) in taken {
            if fenced && slot.active.load(Ordering::Acquire) == 0 {
                freed.push(table);
            } else {
                slot.adopt(table);
                parked = true;
            }
        }
        // Delivery that ended between the fence and the parking: the thread
        // may have looked for orphans before they were there.
        if parked && fenced && fence::heavy() {
            for s in slots.iter() {
                let slot = unsafe { &*s.0 };
                if slot.has_orphans.load(Ordering::Relaxed)
                    && slot.active.load(Ordering::Acquire) == 0
                {
                    freed.extend(slot.take_orphans());
                }
            }
        }
    }
    drop(freed);
}
