//! The runtime every I/O sink runs on: a bounded queue, one worker thread,
//! batching, a drop policy, counters, flush and shutdown.
//!
//! The emitting thread only puts a (pointer-sized) [`Event`] handle on the
//! queue; the worker takes up to `batch_size` events at a time and hands them
//! to [`Sink::write`] as one slice. A full queue applies the [`DropPolicy`].
//! Errors and panics of the sink are counted and the worker keeps going.
//!
//! While events flow, the worker polls its queue and parks for at most
//! `poll_interval` (default 5 ms) when it finds nothing, so an emitter never
//! pays for waking it (a futex syscall per event otherwise). Once the queue
//! has stayed empty for [`DOZE_AFTER`], the worker dozes: it sleeps until
//! an emitter's next event rings its doorbell (`internal::doorbell`), or
//! until the sink's [`Sink::idle_interval`] asks for housekeeping, so an
//! idle process does not wake up hundreds of times a second. `flush` and
//! `shutdown` wake it at once, as does a full queue.

use super::worker::Worker;
use super::{DropPolicy, Sink, SinkOptions};
use crate::bus::{Subscriber, SubscriberError};
use crate::event::Event;
use crate::internal::doorbell::Doorbell;
use crate::internal::round_trip::{round_trip, NoAnswer};
use crossbeam_channel::{bounded, Sender, TrySendError};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub(super) enum Msg {
    Event(Event),
    Flush(Sender<()>),
    Shutdown(Sender<()>),
}

/// Bytes of events on the queue or being written ([`Event::approx_bytes`]),
/// on a cache line of its own: emitters add, the worker subtracts per batch.
#[repr(align(64))]
#[derive(Default)]
pub(super) struct QueuedBytes(pub(super) AtomicUsize);

#[derive(Default)]
pub(super) struct Counters {
    pub(super) taken: AtomicU64,
    pub(super) written: AtomicU64,
    pub(super) dropped: AtomicU64,
    pub(super) failed: AtomicU64,
    pub(super) panics: AtomicU64,
    pub(super) errors: AtomicU64,
}

/// A snapshot of one sink's counters.
///
/// Every event the sink was offered is accounted for exactly once:
/// `offered = written + failed + dropped + queue_depth + in_flight`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SinkStats {
    /// The sink's name.
    pub name: String,
    /// Events accepted onto the queue.
    pub queued: u64,
    /// Events the sink wrote.
    pub written: u64,
    /// Events refused because the queue was full (or the sink was shut down).
    pub dropped: u64,
    /// Events in batches the sink failed to write (error or panic).
    pub failed: u64,
    /// Write or flush calls that returned an error.
    pub errors: u64,
    /// Write or flush calls that panicked.
    pub panics: u64,
    /// Events waiting on the queue now.
    pub queue_depth: u64,
}

/// Why a flush or shutdown did not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FlushError {
    /// The worker did not finish within the timeout; the named sink still has
    /// events queued.
    Timeout {
        /// The sink.
        sink: String,
        /// Events still queued when time ran out.
        queued: u64,
    },
    /// The worker is gone (already shut down).
    Closed {
        /// The sink.
        sink: String,
    },
}

impl fmt::Display for FlushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlushError::Timeout { sink, queued } => {
                write!(
                    f,
                    "sink `{sink}` did not flush in time ({queued} events still queued)"
                )
            }
            FlushError::Closed { sink } => write!(f, "sink `{sink}` is already shut down"),
        }
    }
}

impl std::error::Error for FlushError {}

pub use crate::internal::thread::{is_internal_thread, mark_internal_thread};

/// A running sink: its queue, its worker and its counters. Cheap to share.
pub struct SinkHandle {
    name: String,
    tx: Sender<Msg>,
    policy: DropPolicy,
    max_bytes: usize,
    queued_bytes: Arc<QueuedBytes>,
    closed: AtomicBool,
    counters: Arc<Counters>,
    worker: Mutex<Option<JoinHandle<()>>>,
    doorbell: Arc<Doorbell>,
}

/// How long a worker's queue stays empty before the worker dozes.
pub const DOZE_AFTER: Duration = Duration::from_millis(100);

impl SinkHandle {
    /// Starts a worker thread for `sink`.
    pub fn spawn(sink: Box<dyn Sink>, options: &SinkOptions) -> std::io::Result<Arc<SinkHandle>> {
        let name = sink.name().to_owned();
        let (tx, rx) = bounded(options.capacity.max(1));
        let counters = Arc::new(Counters::default());
        let doorbell = Arc::new(Doorbell::default());
        let queued_bytes = Arc::new(QueuedBytes::default());
        let worker = Worker {
            queued_bytes: queued_bytes.clone(),
            sink,
            rx,
            counters: counters.clone(),
            batch_size: options.batch_size.max(1),
            poll_interval: options.poll_interval,
            doorbell: doorbell.clone(),
        };
        let handle = std::thread::Builder::new()
            .name(format!("fcc-sink-{name}"))
            .spawn(move || {
                mark_internal_thread();
                worker.run();
            })?;
        Ok(Arc::new(SinkHandle {
            name,
            tx,
            policy: options.policy,
            max_bytes: options.max_bytes,
            queued_bytes,
            closed: AtomicBool::new(false),
            counters,
            worker: Mutex::new(Some(handle)),
            doorbell,
        }))
    }

    /// The sink's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Offers one event. Never does I/O; with [`DropPolicy::Block`] it waits
    /// for room on the queue. Returns false when the event was dropped.
    #[inline]
    pub fn enqueue(&self, event: &Event) -> bool {
        if self.closed.load(Ordering::Relaxed) {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        if !self.reserve(event.approx_bytes()) {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        let sent = match self.tx.try_send(Msg::Event(event.clone())) {
            Ok(()) => {
                self.doorbell.ring();
                true
            }
            Err(TrySendError::Disconnected(_)) => false,
            Err(TrySendError::Full(msg)) => {
                self.doorbell.wake();
                match self.policy {
                    DropPolicy::DropNewest => false,
                    DropPolicy::Block => self.tx.send(msg).is_ok(),
                }
            }
        };
        if !sent {
            self.queued_bytes
                .0
                .fetch_sub(event.approx_bytes(), Ordering::Relaxed);
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
        sent
    }

    /// Counts `size` bytes into the queue's budget. Over budget, drop-newest
    /// refuses (false); block waits for the worker to write some (a short
    /// sleep between looks: only a blocked emitter pays for it) or for the
    /// sink to close. A queue with nothing in it takes any event.
    #[inline]
    fn reserve(&self, size: usize) -> bool {
        let bytes = &self.queued_bytes.0;
        let before = bytes.fetch_add(size, Ordering::Relaxed);
        if before == 0 || before + size <= self.max_bytes {
            return true;
        }
        self.over_budget(size)
    }

    #[cold]
    fn over_budget(&self, size: usize) -> bool {
        let bytes = &self.queued_bytes.0;
        if self.policy == DropPolicy::DropNewest {
            bytes.fetch_sub(size, Ordering::Relaxed);
            return false;
        }
        self.doorbell.wake();
        let mut pause = Duration::from_micros(20);
        loop {
            // Ours is counted in: room when the rest fit, or nothing else is left.
            let now = bytes.load(Ordering::Relaxed);
            if now <= self.max_bytes || now == size {
                return true;
            }
            if self.closed.load(Ordering::Relaxed) {
                bytes.fetch_sub(size, Ordering::Relaxed);
                return false;
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(1));
        }
    }

    /// The counters now.
    pub fn stats(&self) -> SinkStats {
        let c = &self.counters;
        let depth = self.tx.len() as u64;
        SinkStats {
            name: self.name.clone(),
            queued: c.taken.load(Ordering::Relaxed) + depth,
            written: c.written.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            errors: c.errors.load(Ordering::Relaxed),
            panics: c.panics.load(Ordering::Relaxed),
            queue_depth: depth,
        }
    }

    /// Waits until every event queued before this call is written and the sink
    /// flushed, or `timeout` passes.
    pub fn flush(&self, timeout: Duration) -> Result<(), FlushError> {
        self.round_trip(Msg::Flush, timeout)
    }

    /// Writes what is queued, flushes, stops the worker. Events offered after
    /// this are dropped and counted. Idempotent.
    pub fn shutdown(&self, timeout: Duration) -> Result<(), FlushError> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let result = self.round_trip(Msg::Shutdown, timeout);
        if result.is_ok()
            && let Some(w) = self.worker.lock().unwrap_or_else(|p| p.into_inner()).take()
        {
            let _ = w.join();
        }
        result
    }

    fn round_trip(&self, msg: fn(Sender<()>) -> Msg, timeout: Duration) -> Result<(), FlushError> {
        let wake = || self.doorbell.wake();
        round_trip(&self.tx, msg, Instant::now() + timeout, wake).map_err(|e| match e {
            NoAnswer::QueueFull | NoAnswer::NotAnswered => FlushError::Timeout {
                sink: self.name.clone(),
                queued: self.tx.len() as u64,
            },
            NoAnswer::Gone => FlushError::Closed {
                sink: self.name.clone(),
            },
        })
    }
}

impl fmt::Debug for SinkHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SinkHandle")
            .field("stats", &self.stats())
            .finish()
    }
}

/// Puts a [`SinkHandle`] on an [`EventBus`](crate::EventBus) as a subscriber.
pub(crate) struct SinkSubscriber(pub(crate) Arc<SinkHandle>);

impl Subscriber for SinkSubscriber {
    #[inline]
    fn on_event(&self, event: &Event) -> Result<(), SubscriberError> {
        // Free a couple of events the workers are done with, here on an
        // emitting thread (see `sinks::graveyard`).
        crate::sinks::graveyard::sweep();
        if self.0.enqueue(event) {
            Ok(())
        } else {
            Err(SubscriberError::new(format_args!(
                "sink `{}` queue full: event dropped",
                self.0.name
            )))
        }
    }
}
