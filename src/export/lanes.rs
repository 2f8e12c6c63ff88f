//! Export lanes: every exporter has its own thread and its own bounded
//! queue, so a destination that is slow, down or hung holds up only itself.
//!
//! The export thread ([`pipeline`](super::pipeline)) makes batches and hands
//! each lane an `Arc` of the same [`Batch`]; it never waits for a lane. A
//! lane whose queue is full drops the batch and counts it, as the OTel SDK's
//! batch processor does when its queue is full. A batch is counted (exported,
//! or failed if any lane did not deliver it) when the last lane is done with
//! it, and each lane counts what it delivered itself ([`ExporterStats`]).
//!
//! At shutdown a lane that does not finish within its time (an export stuck
//! on a collector that accepts and never answers) is abandoned: what it still
//! holds is counted failed at once, and its thread is left to end by itself.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, unbounded, Receiver, Sender};

use super::circuit::Circuit;
use super::pipeline::Counters;
use super::{ExportError, ExporterStats};
use crate::internal::thread::mark_internal_thread;

pub(crate) use super::lane_batch::{Batch, Item, LaneExporter};

/// A lane's counters, readable from any thread.
#[derive(Debug)]
pub(crate) struct LaneState {
    name: String,
    remote: bool,
    /// Items queued or being exported (what back-pressure waits on).
    pending: AtomicUsize,
    exported: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    /// When the export now running started.
    busy_since: Mutex<Option<Instant>>,
    /// The longest an answered export took, in microseconds.
    slowest_answer_us: AtomicU64,
    abandoned: AtomicBool,
}

impl LaneState {
    pub(crate) fn is_remote(&self) -> bool {
        self.remote
    }

    pub(crate) fn pending(&self) -> usize {
        self.pending.load(Ordering::Relaxed)
    }

    pub(crate) fn stats(&self) -> ExporterStats {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let slowest = get(&self.slowest_answer_us);
        ExporterStats {
            name: self.name.clone(),
            remote: self.remote,
            exported: get(&self.exported),
            failed: get(&self.failed),
            dropped: get(&self.dropped),
            pending: self.pending() as u64,
            busy_for: self
                .busy_since
                .lock()
                .ok()
                .and_then(|b| b.map(|t| t.elapsed())),
            slowest_answer: (slowest > 0).then(|| Duration::from_micros(slowest)),
        }
    }
}

enum Msg<T: Item> {
    Batch(Arc<Batch<T>>),
    Flush(Sender<()>),
    Stop(Sender<()>),
}

/// The export thread's end of a lane.
pub(crate) struct Lane<T: Item> {
    tx: Sender<Msg<T>>,
    /// A second receiver, to take back what an abandoned lane still queues.
    rx: Receiver<Msg<T>>,
    state: Arc<LaneState>,
    in_flight: Arc<Mutex<Option<Arc<Batch<T>>>>>,
    capacity: usize,
    thread: Option<JoinHandle<()>>,
}

/// A flush or stop sent to a lane: what the caller waits on.
pub(crate) struct LaneWait {
    pub(crate) state: Arc<LaneState>,
    pub(crate) done: Receiver<()>,
    /// Set for a stop: the lane, to join or abandon.
    pub(crate) lane: Option<Box<dyn Abandon>>,
}

/// What the caller of a shutdown does with a lane that stopped, or did not.
pub(crate) trait Abandon: Send {
    fn join(self: Box<Self>);
    fn abandon(self: Box<Self>);
}

impl<T: Item> Lane<T> {
    /// Starts a lane for `exporter` holding at most `capacity` items;
    /// `retries` applies to exporters that do not retry themselves.
    pub(crate) fn start(
        mut exporter: impl LaneExporter<T> + 'static,
        capacity: usize,
        retries: u32,
        counters: Arc<Counters>,
    ) -> Result<Lane<T>, ExportError> {
        let (tx, rx) = unbounded();
        let state = Arc::new(LaneState {
            name: exporter.name(),
            remote: exporter.is_remote(),
            pending: AtomicUsize::new(0),
            exported: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            busy_since: Mutex::new(None),
            slowest_answer_us: AtomicU64::new(0),
            abandoned: AtomicBool::new(false),
        });
        let in_flight = Arc::new(Mutex::new(None));
        let (s, f, r) = (state.clone(), in_flight.clone(), rx.clone());
        let retries = if exporter.retries_itself() {
            0
        } else {
            retries
        };
        let thread = std::thread::Builder::new()
            .name(format!("fcc-export-{}", state.name.replace(' ', "-")))
            .spawn(move || {
                mark_internal_thread();
                run(&mut exporter, &r, &s, &f, retries, &counters);
            })
            .map_err(|e| ExportError::cannot_start(&state.name, e))?;
        Ok(Lane {
            tx,
            rx,
            state,
            in_flight,
            capacity: capacity.max(1),
            thread: Some(thread),
        })
    }

    pub(crate) fn state(&self) -> &Arc<LaneState> {
        &self.state
    }

    /// Queues `batch`, or drops it for this lane when the lane is full.
    pub(crate) fn send(&self, batch: &Arc<Batch<T>>) {
        let n = batch.items.len();
        let s = &self.state;
        if s.pending.load(Ordering::Relaxed) + n > self.capacity
            || s.abandoned.load(Ordering::Relaxed)
        {
            s.dropped.fetch_add(n as u64, Ordering::Relaxed);
            batch.done(false);
            return;
        }
        s.pending.fetch_add(n, Ordering::Relaxed);
        if let Err(e) = self.tx.send(Msg::Batch(Arc::clone(batch)))
            && let Msg::Batch(b) = e.0
        {
            s.pending.fetch_sub(n, Ordering::Relaxed);
            s.failed.fetch_add(n as u64, Ordering::Relaxed);
            b.done(false);
            Batch::release(b);
        }
    }

    /// Asks the lane to flush its exporter once what is queued is exported.
    pub(crate) fn flush(&self) -> LaneWait {
        let (ack, done) = bounded(1);
        let _ = self.tx.send(Msg::Flush(ack));
        LaneWait {
            state: self.state.clone(),
            done,
            lane: None,
        }
    }

    /// Asks the lane to export what is queued, shut its exporter down and end.
    pub(crate) fn stop(self) -> LaneWait {
        let (ack, done) = bounded(1);
        let _ = self.tx.send(Msg::Stop(ack));
        LaneWait {
            state: self.state.clone(),
            done,
            lane: Some(Box::new(self)),
        }
    }
}

impl<T: Item> Abandon for Lane<T> {
    fn join(mut self: Box<Self>) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// Counts what the lane still holds as failed, now; its thread, stuck in
    /// an export, counts nothing more when it returns.
    fn abandon(self: Box<Self>) {
        let s = &self.state;
        s.abandoned.store(true, Ordering::Release);
        let give_up = |b: Arc<Batch<T>>| {
            let n = b.items.len();
            s.pending.fetch_sub(n, Ordering::Relaxed);
            s.failed.fetch_add(n as u64, Ordering::Relaxed);
            b.done(false);
            Batch::release(b);
        };
        if let Some(b) = self.in_flight.lock().ok().and_then(|mut f| f.take()) {
            give_up(b);
        }
        while let Ok(msg) = self.rx.try_recv() {
            if let Msg::Batch(b) = msg {
                give_up(b);
            }
        }
    }
}

fn run<T: Item>(
    exporter: &mut impl LaneExporter<T>,
    rx: &Receiver<Msg<T>>,
    state: &LaneState,
    in_flight: &Mutex<Option<Arc<Batch<T>>>>,
    retries: u32,
    counters: &Counters,
) {
    let mut circuit = Circuit::default();
    while let Ok(msg) = rx.recv() {
        let batch = match msg {
            Msg::Batch(b) => b,
            Msg::Flush(ack) => {
                let _ = catch_unwind(AssertUnwindSafe(|| exporter.flush()));
                let _ = ack.send(());
                continue;
            }
            Msg::Stop(ack) => {
                let _ = catch_unwind(AssertUnwindSafe(|| exporter.shutdown()));
                let _ = ack.send(());
                return;
            }
        };
        let n = batch.items.len();
        // Whoever takes the batch out of `in_flight` counts it: this thread
        // after the export, or `abandon` if the export is still running.
        if let Ok(mut f) = in_flight.lock() {
            *f = Some(Arc::clone(&batch));
        }
        let abandoned = state.abandoned.load(Ordering::Acquire);
        // Resting after a failure: not delivered, no call.
        let delivered = !abandoned && circuit.allows() && {
            let started = Instant::now();
            if let Ok(mut b) = state.busy_since.lock() {
                *b = Some(started);
            }
            let ok = retrying(retries, counters, || exporter.export(&batch.items));
            if let Ok(mut b) = state.busy_since.lock() {
                *b = None;
            }
            if ok {
                let took = started.elapsed().as_micros().max(1) as u64;
                state.slowest_answer_us.fetch_max(took, Ordering::Relaxed);
            }
            circuit.record(ok);
            ok
        };
        // Abandoned meanwhile: the caller of shutdown has counted it.
        let mine = in_flight.lock().ok().and_then(|mut f| f.take());
        if mine.is_some() {
            state.pending.fetch_sub(n, Ordering::Relaxed);
            let counter = if delivered {
                &state.exported
            } else {
                &state.failed
            };
            counter.fetch_add(n as u64, Ordering::Relaxed);
            batch.done(delivered);
        }
        drop(mine);
        Batch::release(batch);
    }
}

/// Runs `export` until it succeeds, at most `retries` extra times with
/// [`Backoff`](super::Backoff) from 100 ms; a panic counts as a failure and
/// is not retried.
fn retrying(
    retries: u32,
    counters: &Counters,
    mut export: impl FnMut() -> Result<(), ExportError>,
) -> bool {
    let mut backoff = super::Backoff::new(Duration::from_millis(100), Duration::from_secs(2))
        .tries(retries.saturating_add(1));
    loop {
        let (error, panicked) = match catch_unwind(AssertUnwindSafe(&mut export)) {
            Ok(Ok(())) => return true,
            Ok(Err(e)) => (e.to_string(), false),
            Err(_) => ("the exporter panicked".to_owned(), true),
        };
        counters.export_errors.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut last) = counters.last_error.lock() {
            *last = Some(error);
        }
        if panicked || !backoff.wait() {
            return false;
        }
    }
}
