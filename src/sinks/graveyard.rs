//! Spent events are freed on an emitting thread, not on a sink's worker.
//!
//! An event's strings and payload are allocated by the thread that builds it.
//! Freed on a sink worker, each of those allocations would go back through
//! the allocator's lock for the emitting thread's arena, which the emitting
//! thread needs for its next event: measured, that contention cost more than
//! building the event. So workers hand the last handle of each written event
//! to a small bounded queue, and every publish frees up to two of them. When
//! the queue is full, the worker frees the event itself; nothing waits.

use std::sync::OnceLock;

use crossbeam_channel::{bounded, Receiver, Sender};

use crate::event::Event;

/// Most spent events waiting to be freed (about 2 MB at the most).
const CAPACITY: usize = 4096;

fn yard() -> &'static (Sender<Event>, Receiver<Event>) {
    static YARD: OnceLock<(Sender<Event>, Receiver<Event>)> = OnceLock::new();
    YARD.get_or_init(|| bounded(CAPACITY))
}

/// Called by sink workers with the events they are done with.
pub(crate) fn bury(events: impl Iterator<Item = Event>) {
    let (tx, _) = yard();
    for mut e in events {
        if e.is_last_handle() {
            // Its JSON form was allocated on a worker: freed here, not on
            // the emitting thread.
            e.free_json();
            // Full: this thread frees it, as it would have anyway.
            let _ = tx.try_send(e);
        }
    }
}

/// Called on publish: frees up to two spent events on this thread.
#[inline]
pub(crate) fn sweep() {
    let (_, rx) = yard();
    for _ in 0..2 {
        match rx.try_recv() {
            Ok(e) => drop(e),
            Err(_) => break,
        }
    }
}

/// Frees everything waiting (at shutdown).
pub(crate) fn sweep_all() {
    let (_, rx) = yard();
    while let Ok(e) = rx.try_recv() {
        drop(e);
    }
}
