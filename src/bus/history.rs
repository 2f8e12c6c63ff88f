//! The bus's recording: a bounded history of published events.

use crate::event::Event;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Default number of events the history keeps.
pub const DEFAULT_HISTORY_CAPACITY: usize = 10_000;

pub(crate) struct History {
    recording: AtomicBool,
    inner: Mutex<Ring>,
}

struct Ring {
    events: VecDeque<Event>,
    capacity: usize,
    dropped: u64,
}

impl History {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            recording: AtomicBool::new(false),
            inner: Mutex::new(Ring {
                events: VecDeque::new(),
                capacity,
                dropped: 0,
            }),
        }
    }

    fn ring(&self) -> std::sync::MutexGuard<'_, Ring> {
        // A panic while holding this lock cannot leave the ring inconsistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    #[inline]
    pub(crate) fn is_recording(&self) -> bool {
        self.recording.load(Ordering::Relaxed)
    }

    pub(crate) fn set_recording(&self, on: bool) {
        self.recording.store(on, Ordering::Relaxed);
    }

    pub(crate) fn record(&self, event: &Event) {
        let mut ring = self.ring();
        if ring.capacity == 0 {
            ring.dropped += 1;
            return;
        }
        if ring.events.len() == ring.capacity {
            ring.events.pop_front();
            ring.dropped += 1;
        }
        ring.events.push_back(event.clone());
    }

    pub(crate) fn snapshot(&self) -> Vec<Event> {
        self.ring().events.iter().cloned().collect()
    }

    pub(crate) fn clear(&self) {
        let mut ring = self.ring();
        ring.events.clear();
        ring.dropped = 0;
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.ring().dropped
    }

    pub(crate) fn capacity(&self) -> usize {
        self.ring().capacity
    }
}
