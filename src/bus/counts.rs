//! Publish counters: each thread counts its own publishes on each bus on a
//! cache line of its own, and `stats` sums them. Counters no thread holds
//! any more are folded into one total, so the list stays bounded however
//! many threads and buses come and go.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// One thread's publish counters for one bus, on its own cache line: only
/// that thread writes them, so publishing never shares a line with others.
#[repr(align(64))]
#[derive(Default)]
pub(super) struct ThreadCounts {
    pub(super) published: AtomicU64,
    pub(super) delivered: AtomicU64,
}

impl ThreadCounts {
    /// Single-writer increment: a load and a store, no locked instruction.
    #[inline]
    pub(super) fn bump(&self, delivered: usize) {
        self.published.store(
            self.published.load(Ordering::Relaxed) + 1,
            Ordering::Relaxed,
        );
        self.delivered.store(
            self.delivered.load(Ordering::Relaxed) + delivered as u64,
            Ordering::Relaxed,
        );
    }

    /// A multi-writer increment, for publishes counted in the bus's shared
    /// counters (see `Entered` in `readers`).
    pub(super) fn add(&self, delivered: usize) {
        self.published.fetch_add(1, Ordering::Relaxed);
        self.delivered
            .fetch_add(delivered as u64, Ordering::Relaxed);
    }
}

/// Most buses a thread keeps counters for before reusing the oldest slot.
const COUNTED_BUSES: usize = 32;

thread_local! {
    /// This thread's counters per bus it has published on.
    static THREAD_COUNTS: std::cell::RefCell<Vec<(u64, Arc<ThreadCounts>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Every counter of one bus.
#[derive(Default)]
pub(super) struct BusCounts {
    /// Every live thread's counters; counters no thread holds any more are
    /// folded into `retired` (see `register`).
    live: Mutex<Vec<Arc<ThreadCounts>>>,
    /// The totals of folded counters.
    retired: ThreadCounts,
    /// Publishes not counted in a thread's own counters.
    pub(super) shared: ThreadCounts,
}

impl BusCounts {
    /// This thread's counters for the bus `bus_id`, made and registered if new.
    pub(super) fn for_this_thread(&self, bus_id: u64) -> Arc<ThreadCounts> {
        let found = THREAD_COUNTS.try_with(|t| {
            let mut t = t.try_borrow_mut().ok()?;
            if let Some((_, c)) = t.iter().find(|(id, _)| *id == bus_id) {
                return Some(Arc::clone(c));
            }
            let c = Arc::new(ThreadCounts::default());
            self.register(&c);
            if t.len() >= COUNTED_BUSES {
                t.remove(0);
            }
            t.push((bus_id, Arc::clone(&c)));
            Some(c)
        });
        found.ok().flatten().unwrap_or_else(|| {
            let c = Arc::new(ThreadCounts::default());
            self.register(&c);
            c
        })
    }

    /// Adds a thread's new counters. Counters that no thread holds any more
    /// (the thread exited, or dropped this bus from its 32 slots) are folded
    /// into `retired` and their slot freed, whenever the list has doubled
    /// since the last fold: the list stays within twice the number of
    /// (thread, bus) pairs alive, however many come and go.
    fn register(&self, c: &Arc<ThreadCounts>) {
        let mut all = self.live.lock().unwrap_or_else(|p| p.into_inner());
        if all.len() >= 64 && all.len().is_power_of_two() {
            let live = std::mem::take(&mut *all);
            for counts in live {
                // Unique: no thread can write it again; its counts are final.
                match Arc::try_unwrap(counts) {
                    Ok(done) => {
                        let r = &self.retired;
                        r.published
                            .fetch_add(done.published.into_inner(), Ordering::Relaxed);
                        r.delivered
                            .fetch_add(done.delivered.into_inner(), Ordering::Relaxed);
                    }
                    Err(counts) => all.push(counts),
                }
            }
        }
        all.push(Arc::clone(c));
    }

    /// Events published and deliveries made, summed over every counter.
    pub(super) fn totals(&self) -> (u64, u64) {
        // Under the lock: a fold moves counts into `retired` atomically with
        // respect to this read.
        let all = self.live.lock().unwrap_or_else(|p| p.into_inner());
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut published = get(&self.shared.published) + get(&self.retired.published);
        let mut delivered = get(&self.shared.delivered) + get(&self.retired.delivered);
        for c in all.iter() {
            published += get(&c.published);
            delivered += get(&c.delivered);
        }
        (published, delivered)
    }
}
