//! Who may be reading a routing table, and how a replaced table is freed.
//!
//! `publish` takes no lock and counts no reference: it marks its thread as
//! delivering, reads the bus's current table through a plain pointer, and
//! clears the mark. A subscription change swaps in a new table and must not
//! free the old one while a thread may still be reading it. It finds out
//! which threads may be (every thread that has published registers its
//! mark here, on its first publish):
//!
//! 1. it swaps the table pointer, then runs a [heavy
//!    fence](crate::internal::fence::heavy_paired) and looks at every mark;
//! 2. a thread that is not delivering (its mark is 0) will read the new
//!    table on its next publish: the fences order the mark before that
//!    thread's read of the pointer and the swap before the changer's read of
//!    the mark, so one of the two sees the other;
//! 3. a thread that is delivering may be reading the old table: the table
//!    is parked among that thread's orphans, which the thread frees when
//!    its outermost delivery ends (it checks one flag then). A second heavy
//!    fence and a second look free the orphans of threads that ended in
//!    between.
//!
//! So an unsubscribed subscriber is dropped when `unsubscribe` returns, or,
//! if a thread is delivering an event at that moment (on any bus: the mark
//! is the thread's, not the bus's), when that thread's outermost delivery
//! ends, however idle the threads are afterwards. The publisher pays two
//! plain stores, two compiler fences and a check of a flag it owns; the
//! changer pays two `membarrier` calls (a few microseconds), none when no
//! other thread has published. Where `membarrier` is unavailable (not
//! Linux, or a sandbox that forbids it; `fence::init_paired` finds out when
//! the first bus is made) both sides run a full fence instead, and the
//! handshake is the same.
//!
//! A thread's mark lives in a thread-local without a destructor, so
//! `publish` reaches it with no lazy-initialisation check; a second,
//! destructor-carrying thread-local made on the first publish unregisters
//! it when the thread exits. A publish after that (from another
//! thread-local's destructor) takes [`Readers::enter`]'s `None` and the
//! caller's locked path. (The `&'static` to the mark this hands out is
//! sound where thread-locals are native, as on Linux, macOS and Windows: a
//! destructor-less one is never freed before its thread ends.)

use super::counts::ThreadCounts;
use super::routes::Routes;
use crate::internal::fence;
use std::cell::Cell;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// One thread's part of the handshake, and its publish counters for the
/// bus it published on last.
pub(super) struct Mark {
    /// Delivery depth: more than 0 while this thread delivers (publishes
    /// from inside a subscriber nest).
    depth: AtomicU32,
    /// Set (under the `MARKS` lock) when this thread has orphans to free.
    has_orphans: AtomicBool,
    /// The bus `counts` belongs to: 0 before the first publish,
    /// [`EXITED`] once the thread's destructors have run.
    bus: Cell<u64>,
    /// This thread's counters on `bus`, owned by [`Registered`].
    counts: Cell<*const ThreadCounts>,
}

/// `Mark::bus` after the thread has unregistered: no bus has this id.
const EXITED: u64 = u64::MAX;

thread_local! {
    static MARK: Mark = const {
        Mark {
            depth: AtomicU32::new(0),
            has_orphans: AtomicBool::new(false),
            bus: Cell::new(0),
            counts: Cell::new(ptr::null()),
        }
    };
    /// Made on the first publish; its destructor unregisters `MARK`.
    static REGISTERED: Registered = const { Registered { counts: Cell::new(None) } };
}

/// A registered mark and the tables parked with it.
struct Entry {
    mark: *const Mark,
    orphans: Vec<Arc<Routes>>,
}

/// Every live thread's mark, registered on its first publish.
struct Marks(Vec<Entry>);

// SAFETY: `Mark`'s atomics are shared; its cells are only touched by its
// own thread. A registered mark is alive until its thread's `Registered`
// removes it (under the lock), and other threads use it only under the lock.
unsafe impl Send for Marks {}

static MARKS: Mutex<Marks> = Mutex::new(Marks(Vec::new()));

fn marks() -> std::sync::MutexGuard<'static, Marks> {
    MARKS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Unregisters this thread's mark when the thread exits, and owns the
/// counters it points to.
struct Registered {
    counts: Cell<Option<Arc<ThreadCounts>>>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        let orphans = MARK.with(|mark| {
            mark.bus.set(EXITED);
            mark.counts.set(ptr::null());
            let me: *const Mark = mark;
            let mut all = marks();
            let at = all.0.iter().position(|e| ptr::eq(e.mark, me));
            at.map(|i| all.0.swap_remove(i).orphans)
        });
        // Outside the lock: dropping a table may run a subscriber's `Drop`.
        drop(orphans);
        drop(self.counts.take());
    }
}

/// A delivery in progress on this thread: from [`Readers::enter`] until it
/// is dropped, no table this thread reads from the bus is freed.
pub(super) struct Reading {
    mark: &'static Mark,
}

impl Reading {
    #[inline(always)]
    fn begin(mark: &'static Mark) -> Reading {
        mark.depth
            .store(mark.depth.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        fence::light_paired();
        Reading { mark }
    }
}

/// What [`Readers::enter_slow`] could do.
pub(super) enum Entered {
    /// Delivering, with this thread's counters for the bus.
    Counted(Reading, &'static ThreadCounts),
    /// Delivering; count the publish in the bus's shared counters.
    Uncounted(Reading),
    /// The thread is exiting and no longer registered: read a table of
    /// your own.
    Exited,
}

impl Drop for Reading {
    #[inline]
    fn drop(&mut self) {
        let mark = self.mark;
        let depth = mark.depth.load(Ordering::Relaxed) - 1;
        mark.depth.store(depth, Ordering::Release);
        fence::light_paired();
        if depth == 0 && mark.has_orphans.load(Ordering::Relaxed) {
            free_orphans(mark);
        }
    }
}

/// Frees the tables parked with this thread while it delivered. Dropped
/// after the lock is released: a subscriber's `Drop` may publish.
#[cold]
fn free_orphans(mark: &Mark) {
    let orphans = {
        let mut all = marks();
        mark.has_orphans.store(false, Ordering::Relaxed);
        let me: *const Mark = mark;
        all.0
            .iter_mut()
            .find(|e| ptr::eq(e.mark, me))
            .map(|e| std::mem::take(&mut e.orphans))
    };
    drop(orphans);
}

/// This thread's mark.
#[inline(always)]
fn this_threads_mark() -> &'static Mark {
    // SAFETY: a thread-local without a destructor lives as long as its
    // thread, so as long as anything this thread holds can use it.
    MARK.with(|m| unsafe { &*(m as *const Mark) })
}

/// The entry point for `publish`.
pub(super) struct Readers;

impl Readers {
    /// Marks this thread as delivering, and gives its publish counters for
    /// the bus `bus`. None when its counters are for another bus, or it has
    /// not published yet, or it has exited: [`Readers::enter_slow`] then.
    #[inline(always)]
    pub(super) fn enter(bus: u64) -> Option<(Reading, &'static ThreadCounts)> {
        let mark = this_threads_mark();
        if mark.bus.get() != bus {
            return None;
        }
        // SAFETY: `counts` is set with `bus`, is replaced only while the
        // thread is not delivering (so not while the returned `Reading`
        // lives: use it before dropping that) and is owned by `Registered`,
        // which clears `bus` first.
        let counts = unsafe { &*mark.counts.get() };
        Some((Reading::begin(mark), counts))
    }

    /// `enter` for a thread whose counters are not for `bus`: registers it
    /// (on its first publish) and, unless it is delivering already (a
    /// subscriber publishing to another bus), makes `counts()` its counters
    /// for `bus`.
    #[cold]
    pub(super) fn enter_slow(bus: u64, counts: impl FnOnce() -> Arc<ThreadCounts>) -> Entered {
        let mark = this_threads_mark();
        let switched = REGISTERED.try_with(|registered| {
            if mark.bus.get() == 0 {
                marks().0.push(Entry {
                    mark,
                    orphans: Vec::new(),
                });
            }
            if mark.depth.load(Ordering::Relaxed) != 0 {
                // Counters stay as they are while a delivery uses them.
                return None;
            }
            let counts = counts();
            mark.bus.set(bus);
            mark.counts.set(Arc::as_ptr(&counts));
            Some(registered.counts.replace(Some(counts)))
        });
        match switched {
            Ok(Some(replaced)) => {
                drop(replaced);
                match Self::enter(bus) {
                    Some((reading, counts)) => Entered::Counted(reading, counts),
                    None => Entered::Exited,
                }
            }
            Ok(None) => Entered::Uncounted(Reading::begin(mark)),
            Err(_) => Entered::Exited,
        }
    }

    /// Frees `old`, a table no longer reachable from its bus, once no
    /// thread can be reading it (see the module doc). Call it with no lock
    /// held: dropping the table may run a subscriber's `Drop`.
    pub(super) fn retire(old: Arc<Routes>) {
        let mut freed = Vec::new();
        {
            let mut all = marks();
            // This thread's own mark needs no fence to be read.
            let me: *const Mark = this_threads_mark();
            let others = all.0.iter().any(|e| !ptr::eq(e.mark, me));
            let fenced = !others || fence::heavy_paired();
            let mut parked = false;
            for entry in all.0.iter_mut() {
                // SAFETY (every deref): registered marks are alive while
                // the lock is held (see `Marks`).
                let mark = unsafe { &*entry.mark };
                // Unfenced (`membarrier` worked once and then failed: not
                // seen), another thread's mark cannot be trusted: park.
                let may_read =
                    !(fenced || ptr::eq(entry.mark, me)) || mark.depth.load(Ordering::Acquire) != 0;
                if may_read {
                    entry.orphans.push(Arc::clone(&old));
                    mark.has_orphans.store(true, Ordering::Relaxed);
                    parked = true;
                }
            }
            // Deliveries that ended between the fence and the parking may
            // have looked for orphans before they were there.
            if parked && fenced && (!others || fence::heavy_paired()) {
                for entry in all.0.iter_mut() {
                    let mark = unsafe { &*entry.mark };
                    if mark.has_orphans.load(Ordering::Relaxed)
                        && mark.depth.load(Ordering::Acquire) == 0
                    {
                        mark.has_orphans.store(false, Ordering::Relaxed);
                        freed.append(&mut entry.orphans);
                    }
                }
            }
        }
        drop(old);
        drop(freed);
    }
}
