//! A sink's worker thread: takes up to `batch_size` events at a time and
//! hands them to [`Sink::write`], counts what was written, failed or
//! panicked, answers flush and shutdown, and dozes when its queue has been
//! empty for [`DOZE_AFTER`] (see [`super::runtime`]).

use super::runtime::{Counters, Msg, QueuedBytes, DOZE_AFTER};
use super::Sink;
use crate::event::Event;
use crate::internal::doorbell::Doorbell;
use crossbeam_channel::{Receiver, TryRecvError};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(super) struct Worker {
    pub(super) sink: Box<dyn Sink>,
    pub(super) rx: Receiver<Msg>,
    pub(super) counters: Arc<Counters>,
    pub(super) batch_size: usize,
    pub(super) poll_interval: Duration,
    pub(super) doorbell: Arc<Doorbell>,
    pub(super) queued_bytes: Arc<QueuedBytes>,
}

impl Worker {
    pub(super) fn run(mut self) {
        self.doorbell.set_worker_to_current_thread();
        let mut batch: Vec<Event> = Vec::with_capacity(self.batch_size);
        let mut empty_since: Option<Instant> = None;
        loop {
            let mut took_any = false;
            loop {
                match self.rx.try_recv() {
                    Ok(msg) => {
                        took_any = true;
                        if self.handle(msg, &mut batch) {
                            return;
                        }
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        self.write(&mut batch);
                        self.call(|s| s.shutdown(), 0);
                        return;
                    }
                }
            }
            self.write(&mut batch);
            if took_any {
                empty_since = None;
                continue;
            }
            let sink = &mut *self.sink;
            if catch_unwind(AssertUnwindSafe(|| sink.idle())).is_err() {
                self.counters.panics.fetch_add(1, Ordering::Relaxed);
            }
            if empty_since.get_or_insert_with(Instant::now).elapsed() >= DOZE_AFTER {
                let sink = &*self.sink;
                let wake_in = catch_unwind(AssertUnwindSafe(|| sink.idle_interval()))
                    .unwrap_or(Some(Duration::from_secs(1)));
                let rx = &self.rx;
                if self.doorbell.doze(wake_in, || rx.is_empty()) {
                    continue;
                }
            }
            std::thread::park_timeout(self.poll_interval);
        }
    }

    /// Handles one message; true when the worker must stop.
    fn handle(&mut self, msg: Msg, batch: &mut Vec<Event>) -> bool {
        match msg {
            Msg::Event(e) => {
                self.counters.taken.fetch_add(1, Ordering::Relaxed);
                batch.push(e);
                if batch.len() >= self.batch_size {
                    self.write(batch);
                }
                false
            }
            Msg::Flush(ack) => {
                self.write(batch);
                self.call(|s| s.flush(), 0);
                let _ = ack.send(());
                false
            }
            Msg::Shutdown(ack) => {
                self.write(batch);
                self.call(|s| s.shutdown(), 0);
                let _ = ack.send(());
                true
            }
        }
    }

    fn write(&mut self, batch: &mut Vec<Event>) {
        if batch.is_empty() {
            return;
        }
        let n = batch.len() as u64;
        let written = self.call(|s| s.write(batch), n);
        let bytes: usize = batch.iter().map(Event::approx_bytes).sum();
        self.queued_bytes.0.fetch_sub(bytes, Ordering::Relaxed);
        crate::sinks::graveyard::bury(batch.drain(..));
        if written {
            self.counters.written.fetch_add(n, Ordering::Relaxed);
        }
        batch.clear();
    }

    /// Runs one sink call, counting errors and panics; `n` events fail with it.
    fn call(
        &mut self,
        f: impl FnOnce(&mut dyn Sink) -> Result<(), super::SinkError>,
        n: u64,
    ) -> bool {
        let sink = &mut *self.sink;
        match catch_unwind(AssertUnwindSafe(|| f(sink))) {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                // What the sink says it wrote before failing is durable.
                let done = (e.written() as u64).min(n);
                self.counters.errors.fetch_add(1, Ordering::Relaxed);
                self.counters.written.fetch_add(done, Ordering::Relaxed);
                self.counters.failed.fetch_add(n - done, Ordering::Relaxed);
                false
            }
            Err(_) => {
                self.counters.panics.fetch_add(1, Ordering::Relaxed);
                self.counters.failed.fetch_add(n, Ordering::Relaxed);
                false
            }
        }
    }
}
