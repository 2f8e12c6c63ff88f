//! A worker thread that sleeps while its queue is empty, and producers that
//! wake it without paying for a wake-up per item.
//!
//! A worker that polls its queue every few milliseconds wakes hundreds of
//! times a second with nothing to do; one that blocks on the queue makes
//! every producer pay a futex wake (a syscall) per item. The [`Doorbell`]
//! does neither: while items flow the worker polls (the caller's choice of
//! interval), and once the queue has been empty for a while the worker
//! [dozes](Doorbell::doze): it announces it is asleep, looks at the queue
//! once more, and parks. A producer checks the announcement after each
//! enqueue (a load of a flag that only changes when the worker dozes or
//! wakes) and wakes the worker only when it is asleep.
//!
//! The announce-then-look and enqueue-then-check pair is Dekker's handshake:
//! the worker's side runs the heavy fence (see `fence`), the producer's the
//! light one, so one of them always sees the other and no item waits for a
//! worker that will never wake. Without `membarrier` the worker never dozes
//! and keeps polling.

use super::fence;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::thread::Thread;
use std::time::Duration;

/// Wakes one worker thread that dozes; see the module doc.
#[derive(Debug, Default)]
pub(crate) struct Doorbell {
    asleep: AtomicBool,
    /// The worker, set by the worker itself before it first dozes.
    worker: OnceLock<Thread>,
}

impl Doorbell {
    /// Makes the calling thread the one this doorbell wakes.
    pub(crate) fn set_worker_to_current_thread(&self) {
        let _ = self.worker.set(std::thread::current());
    }

    /// A producer's part, right after it enqueued: wakes the worker if it
    /// is dozing. Costs a compiler fence and a load while it is awake.
    #[inline]
    pub(crate) fn ring(&self) {
        fence::light();
        if self.asleep.load(Ordering::Relaxed) {
            self.wake();
        }
    }

    /// Wakes the worker now, asleep or not (flush, shutdown, a full queue).
    #[cold]
    pub(crate) fn wake(&self) {
        self.asleep.store(false, Ordering::Relaxed);
        if let Some(worker) = self.worker.get() {
            worker.unpark();
        }
    }

    /// The worker's part, when its queue has stayed empty: sleeps until a
    /// producer rings or `timeout` passes (`None`: no timeout). Returns
    /// false, without sleeping, when it cannot doze safely (no
    /// `membarrier`): the caller then goes on polling. `queue_is_empty` is
    /// asked once more after the announcement.
    pub(crate) fn doze(
        &self,
        timeout: Option<Duration>,
        queue_is_empty: impl FnOnce() -> bool,
    ) -> bool {
        debug_assert!(self
            .worker
            .get()
            .is_some_and(|w| w.id() == std::thread::current().id()));
        self.asleep.store(true, Ordering::Relaxed);
        if !fence::heavy() {
            self.asleep.store(false, Ordering::Relaxed);
            return false;
        }
        if queue_is_empty() {
            match timeout {
                Some(t) => std::thread::park_timeout(t),
                None => std::thread::park(),
            }
        }
        self.asleep.store(false, Ordering::Relaxed);
        true
    }
}
