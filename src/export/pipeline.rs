//! The export thread: finished spans and OTel-bound events in, batches out.
//!
//! Spans and events share one bounded queue, so an event emitted inside a
//! span is always seen before that span's end and can be attached to it as a
//! span event. The thread makes a batch when one is full, every
//! `schedule_delay`, on `flush` and at shutdown, and hands it to each
//! exporter's [lane](super::lanes), which exports it on its own thread: a
//! collector that is down or hung holds up only its own lane. Nothing here
//! ever blocks the threads that end spans, and this thread never waits for
//! an exporter.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, RecvTimeoutError, Sender, TrySendError};

use super::lanes::{Lane, LaneState, LaneWait};
use super::pipeline_worker::Worker;
use super::LogRecord;
use super::{ExportError, ExportOperation, SpanExporter, TraceStats};
use crate::internal::doorbell::Doorbell;
use crate::internal::round_trip::{round_trip, NoAnswer};
use crate::internal::thread::mark_internal_thread;
use crate::trace::handover::Handoff;
use crate::trace::SpanData;
use crate::Event;

pub(crate) use super::logs::{LogExport, LogItem};

pub(crate) use super::pipeline_config::{Batching, ExporterFactory, PipelineConfig};

pub(super) enum Item {
    // By value: the box a span lived in is freed on the thread that made it
    // (a cheap thread-cache free), not on the export thread.
    Span(SpanData),
    Event {
        event: Event,
        join: bool,
    },
    Log {
        record: LogRecord,
        join: bool,
    },
    /// Flush every lane; the answer is what to wait on.
    Flush(Sender<Vec<LaneWait>>),
    /// Stop every lane and end; the answer is what to wait on.
    Shutdown(Sender<Vec<LaneWait>>),
}

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) spans_queued: AtomicU64,
    pub(crate) spans_exported: AtomicU64,
    pub(crate) spans_dropped: AtomicU64,
    pub(crate) spans_failed: AtomicU64,
    pub(crate) export_errors: AtomicU64,
    pub(crate) logs_exported: AtomicU64,
    pub(crate) logs_dropped: AtomicU64,
    pub(crate) logs_failed: AtomicU64,
    pub(crate) span_events_dropped: AtomicU64,
    pub(crate) last_error: Mutex<Option<String>>,
}

pub(crate) struct Pipeline {
    tx: Sender<Item>,
    /// Finished spans from each thread's own ring (see
    /// [`crate::trace::handover`]).
    handoff: Arc<Handoff>,
    counters: Arc<Counters>,
    worker: Mutex<Option<JoinHandle<()>>>,
    thread: std::thread::Thread,
    wake_at: usize,
    /// Wakes the export thread once it dozes (see `internal::doorbell`).
    doorbell: Arc<Doorbell>,
    otlp: bool,
    exports_logs: bool,
    lanes: Vec<Arc<LaneState>>,
}

/// How often the export thread looks at its queue when nobody wakes it.
/// Waking it for every span would cost a system call per span; instead a
/// sender wakes it only when the queue is half full, and flush and shutdown
/// wake it at once.
pub(super) const POLL_INTERVAL: Duration = Duration::from_millis(2);

/// Most spans with events waiting for their end.
pub(super) const MAX_OPEN_SPANS: usize = 4096;

impl Pipeline {
    pub(crate) fn start(
        mut config: PipelineConfig,
        exporters: Vec<Box<dyn SpanExporter>>,
        completed: Option<Arc<Mutex<crate::trace::tracer::Completed>>>,
    ) -> Result<Pipeline, ExportError> {
        // Spans (OTEL_BSP_MAX_QUEUE_SIZE) and, when they are exported, log
        // records (OTEL_BLRP_MAX_QUEUE_SIZE) share the queue into the thread.
        let logs_on = config.logs_on || !config.log_exporters.is_empty();
        let config_max_queue =
            config.spans.max_queue + if logs_on { config.logs.max_queue } else { 0 };
        let (tx, rx) = bounded(config_max_queue);
        let counters = Arc::new(Counters::default());
        let factory = config.factory.take();
        let log_exporters = std::mem::take(&mut config.log_exporters);
        type Ready = Result<(bool, Vec<Arc<LaneState>>), ExportError>;
        let (ready_tx, ready_rx) = bounded::<Ready>(1);
        let worker_counters = Arc::clone(&counters);
        let otlp = config.otlp;
        let doorbell = Arc::new(Doorbell::default());
        let handoff = Handoff::new(config.spans.max_queue, Arc::clone(&doorbell));
        let worker_handoff = Arc::clone(&handoff);
        let worker_doorbell = Arc::clone(&doorbell);
        let handle = std::thread::Builder::new()
            .name("fcc-trace-export".into())
            .spawn(move || {
                mark_internal_thread();
                let lanes =
                    start_lanes(exporters, log_exporters, factory, &config, &worker_counters);
                let (span_lanes, log_lanes) = match lanes {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let states = span_lanes
                    .iter()
                    .map(|l| l.state().clone())
                    .chain(log_lanes.iter().map(|l| l.state().clone()))
                    .collect();
                let _ = ready_tx.send(Ok((!log_lanes.is_empty(), states)));
                Worker {
                    doorbell: worker_doorbell,
                    rx,
                    handoff: worker_handoff,
                    lists: Default::default(),
                    config,
                    span_lanes,
                    log_lanes,
                    completed,
                    counters: worker_counters,
                    spans: Vec::new(),
                    events: Vec::new(),
                    open: HashMap::new(),
                }
                .run();
            })
            .map_err(|e| ExportError::cannot_start("the export pipeline", e))?;
        let (exports_logs, lanes) = match ready_rx.recv() {
            Ok(Ok(ready)) => ready,
            Ok(Err(e)) => {
                let _ = handle.join();
                return Err(e);
            }
            Err(_) => {
                let _ = handle.join();
                return Err(ExportError::stopped("the export thread"));
            }
        };
        let _ = handoff.thread.set(handle.thread().clone());
        Ok(Pipeline {
            handoff,
            exports_logs,
            lanes,
            wake_at: (config_max_queue / 2).max(1),
            doorbell,
            tx,
            counters,
            thread: handle.thread().clone(),
            worker: Mutex::new(Some(handle)),
            otlp,
        })
    }

    pub(crate) fn otlp(&self) -> bool {
        self.otlp
    }

    /// Hands a finished span to the export thread, moving it out of `span`
    /// (see [`SpanPipeline::send_span`](crate::trace::tracer::SpanPipeline)):
    /// through this thread's rings, or the shared channel when they cannot
    /// take it.
    #[inline]
    pub(crate) fn send_span(&self, span: &mut SpanData, times: Option<crate::trace::span::Times>) {
        if !self.handoff.send(span, times) {
            self.send_span_channel(span.take_finished(times));
        }
    }

    /// Where local spans go as compact records.
    pub(crate) fn handoff(&self) -> Arc<Handoff> {
        Arc::clone(&self.handoff)
    }

    #[cold]
    fn send_span_channel(&self, span: SpanData) {
        match self.tx.try_send(Item::Span(span)) {
            Ok(()) => {
                self.counters.spans_queued.fetch_add(1, Ordering::Relaxed);
                self.doorbell.ring();
                if self.tx.len() >= self.wake_at {
                    self.thread.unpark();
                }
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.counters.spans_dropped.fetch_add(1, Ordering::Relaxed);
                self.thread.unpark();
            }
        }
    }

    /// Hands an event to the thread: as a span event of its span when `join`,
    /// and as a log record when OTel logs are on.
    pub(crate) fn send_event(&self, event: Event, join: bool) {
        self.send_log_item(Item::Event { event, join });
    }

    /// Hands a plain `tracing` event's record to the thread (see [`send_event`](Self::send_event)).
    pub(crate) fn send_log(&self, record: LogRecord, join: bool) {
        self.send_log_item(Item::Log { record, join });
    }

    /// Queues an OTel-log-bound item; a full queue drops it and counts it.
    fn send_log_item(&self, item: Item) {
        match self.tx.try_send(item) {
            Ok(()) => {
                self.doorbell.ring();
                if self.tx.len() >= self.wake_at {
                    self.thread.unpark();
                }
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.counters.logs_dropped.fetch_add(1, Ordering::Relaxed);
                self.thread.unpark();
            }
        }
    }

    /// Whether OTel log records are exported (over OTLP or to the console).
    pub(crate) fn exports_logs(&self) -> bool {
        self.exports_logs
    }

    pub(crate) fn stats(&self) -> TraceStats {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let local: usize = self
            .lanes
            .iter()
            .filter(|l| !l.is_remote())
            .map(|l| l.pending())
            .sum();
        let (spans_queued, in_rings) = self.handoff.queued(&c.spans_queued);
        TraceStats {
            spans_queued,
            spans_exported: get(&c.spans_exported),
            spans_dropped: get(&c.spans_dropped),
            spans_failed: get(&c.spans_failed),
            export_errors: get(&c.export_errors),
            logs_exported: get(&c.logs_exported),
            logs_dropped: get(&c.logs_dropped),
            logs_failed: get(&c.logs_failed),
            span_events_dropped: get(&c.span_events_dropped),
            queue_depth: (self.tx.len() + in_rings + local) as u64,
            exporters: self.lanes.iter().map(|l| l.stats()).collect(),
            last_error: c.last_error.lock().ok().and_then(|e| e.clone()),
        }
    }

    /// Sends a flush or (`stop`) a shutdown to the export thread and waits for its
    /// lanes: local ones until `timeout`, network ones until `network`
    /// (at most `timeout`). A lane that stops in time is joined; one that
    /// does not is abandoned (what it holds is counted failed).
    fn request(&self, stop: bool, timeout: Duration, network: Duration) -> Result<(), ExportError> {
        let (make, what): (fn(_) -> Item, _) = if stop {
            (Item::Shutdown, ExportOperation::Shutdown)
        } else {
            (Item::Flush, ExportOperation::Flush)
        };
        let start = Instant::now();
        let deadline = start + timeout;
        let network_deadline = start + network.min(timeout);
        let late = |lane: &str, after| ExportError::timed_out(lane, what, after);
        let waits = match round_trip(&self.tx, make, deadline, || self.thread.unpark()) {
            Ok(waits) => waits,
            Err(NoAnswer::Gone) => return Ok(()),
            Err(NoAnswer::QueueFull) => return Err(late("the export queue", timeout)),
            Err(NoAnswer::NotAnswered) => return Err(late("the export thread", timeout)),
        };
        // Local lanes first: their time is the whole timeout.
        let (local, remote): (Vec<_>, Vec<_>) =
            waits.into_iter().partition(|w| !w.state.is_remote());
        let mut result = Ok(());
        for (wait, until, given) in local.into_iter().map(|w| (w, deadline, timeout)).chain(
            remote
                .into_iter()
                .map(|w| (w, network_deadline, network.min(timeout))),
        ) {
            // A lane whose thread is gone (it panicked) has nothing to wait for.
            let finished = !matches!(
                wait.done
                    .recv_timeout(until.saturating_duration_since(Instant::now())),
                Err(RecvTimeoutError::Timeout)
            );
            match wait.lane {
                Some(lane) if finished => lane.join(),
                Some(lane) => lane.abandon(),
                None => {}
            }
            if !finished && result.is_ok() {
                result = Err(late(&wait.state.stats().name, given));
            }
        }
        if stop && let Some(h) = self.worker.lock().ok().and_then(|mut w| w.take()) {
            let _ = h.join();
        }
        result
    }

    /// Waits until what was queued before the call is exported by every
    /// exporter, or `timeout` passes.
    pub(crate) fn flush(&self, timeout: Duration) -> Result<(), ExportError> {
        self.request(false, timeout, timeout)
    }

    /// Like [`flush`](Self::flush), waiting for network exporters at most `network`.
    pub(crate) fn flush_within(
        &self,
        timeout: Duration,
        network: Duration,
    ) -> Result<(), ExportError> {
        self.request(false, timeout, network)
    }

    /// Exports what is queued and stops every exporter, within `timeout`
    /// (network exporters within `network`); an exporter still busy then is
    /// abandoned and what it held counted failed.
    pub(crate) fn shutdown_within(
        &self,
        timeout: Duration,
        network: Duration,
    ) -> Result<(), ExportError> {
        self.request(true, timeout, network)
    }

    pub(crate) fn shutdown(&self, timeout: Duration) -> Result<(), ExportError> {
        self.shutdown_within(timeout, timeout)
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        let _ = self.shutdown(Duration::from_secs(5));
    }
}

/// Starts a lane for each exporter (and the factory's), on the export thread.
#[allow(clippy::type_complexity)]
fn start_lanes(
    mut exporters: Vec<Box<dyn SpanExporter>>,
    mut log_exporters: Vec<Box<dyn LogExport>>,
    factory: Option<ExporterFactory>,
    config: &PipelineConfig,
    counters: &Arc<Counters>,
) -> Result<(Vec<Lane<SpanData>>, Vec<Lane<LogItem>>), ExportError> {
    if let Some(f) = factory {
        let (spans, logs) = f()?;
        exporters.extend(spans);
        log_exporters.extend(logs);
    }
    let (retries, c) = (config.retries, counters);
    let spans = exporters
        .into_iter()
        .map(|e| Lane::start(e, config.spans.max_queue, retries, c.clone()))
        .collect::<Result<_, _>>()?;
    let logs = log_exporters
        .into_iter()
        .map(|e| Lane::start(e, config.logs.max_queue, retries, c.clone()))
        .collect::<Result<_, _>>()?;
    Ok((spans, logs))
}
