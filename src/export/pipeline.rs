//! The export thread: finished spans and OTel-bound events in, batches out.
//!
//! Spans and events share one bounded queue, so an event emitted inside a
//! span is always seen before that span's end and can be attached to it as a
//! span event. The thread exports when a batch is full, every
//! `schedule_delay`, on `flush` and at shutdown; a failing exporter is retried
//! with [`Backoff`](super::Backoff) a bounded number of times and its batch
//! then dropped and counted. Exactly one layer retries: an exporter that
//! retries itself (`SpanExporter::retries_itself`, the OTLP exporter) is
//! tried once here. Nothing here ever blocks the threads that end spans.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TryRecvError, TrySendError};

use super::event_attributes::span_event;
use super::{ExportError, SpanExporter, TraceStats};
use crate::layer::logs::LogRecord;
use crate::sinks::runtime::mark_internal_thread;
use crate::trace::{SpanData, SpanEvent};
use crate::{Event, SpanId};

/// What becomes an OTel log record: a bus event, or a plain `tracing` event.
#[cfg_attr(not(feature = "otlp"), allow(dead_code))]
pub(crate) enum LogItem {
    Event(Event),
    Record(LogRecord),
}

/// Receives events bound for OTel logs (OTLP), on the export thread.
pub(crate) trait LogExport: Send {
    fn export(&mut self, logs: &[LogItem]) -> Result<(), ExportError>;
    fn shutdown(&mut self) -> Result<(), ExportError> {
        Ok(())
    }
}

/// Builds exporters on the export thread itself (OTLP needs its own async
/// runtime, which must never be dropped on a caller's async thread).
pub(crate) type ExporterFactory = Box<
    dyn FnOnce() -> Result<(Vec<Box<dyn SpanExporter>>, Option<Box<dyn LogExport>>), ExportError>
        + Send,
>;

pub(crate) struct PipelineConfig {
    pub max_queue: usize,
    pub max_batch: usize,
    pub schedule_delay: Duration,
    pub retries: u32,
    pub factory: Option<ExporterFactory>,
    pub otlp: bool,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            max_queue: 2048,
            max_batch: 512,
            schedule_delay: Duration::from_secs(5),
            retries: 3,
            factory: None,
            otlp: false,
        }
    }
}

enum Item {
    // By value: the box a span lived in is freed on the thread that made it
    // (a cheap thread-cache free), not on the export thread.
    Span(SpanData),
    Event { event: Event, join: bool },
    Log { record: LogRecord, join: bool },
    Flush(Sender<()>),
    Shutdown(Sender<()>),
}

#[derive(Default)]
struct Counters {
    spans_queued: AtomicU64,
    spans_exported: AtomicU64,
    spans_dropped: AtomicU64,
    spans_failed: AtomicU64,
    export_errors: AtomicU64,
    logs_exported: AtomicU64,
    logs_dropped: AtomicU64,
    logs_failed: AtomicU64,
    span_events_dropped: AtomicU64,
    last_error: Mutex<Option<String>>,
}

pub(crate) struct Pipeline {
    tx: Sender<Item>,
    counters: Arc<Counters>,
    worker: Mutex<Option<JoinHandle<()>>>,
    thread: std::thread::Thread,
    wake_at: usize,
    otlp: bool,
    exports_logs: bool,
}

/// How often the export thread looks at its queue when nobody wakes it.
/// Waking it for every span would cost a system call per span; instead a
/// sender wakes it only when the queue is half full, and flush and shutdown
/// wake it at once.
const POLL_INTERVAL: Duration = Duration::from_millis(2);

/// Most spans with events waiting for their end.
const MAX_OPEN_SPANS: usize = 4096;

impl Pipeline {
    pub(crate) fn start(
        mut config: PipelineConfig,
        exporters: Vec<Box<dyn SpanExporter>>,
        completed: Option<Arc<Mutex<crate::trace::tracer::Completed>>>,
    ) -> Result<Pipeline, ExportError> {
        let (tx, rx) = bounded(config.max_queue);
        let config_max_queue = config.max_queue;
        let counters = Arc::new(Counters::default());
        let factory = config.factory.take();
        let (ready_tx, ready_rx) = bounded::<Result<bool, ExportError>>(1);
        let worker_counters = Arc::clone(&counters);
        let otlp = config.otlp;
        let handle = std::thread::Builder::new()
            .name("fcc-trace-export".into())
            .spawn(move || {
                mark_internal_thread();
                let mut exporters = exporters;
                let mut logs = None;
                if let Some(f) = factory {
                    match f() {
                        Ok((more, l)) => {
                            exporters.extend(more);
                            logs = l;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    }
                }
                let _ = ready_tx.send(Ok(logs.is_some()));
                Worker {
                    rx,
                    config,
                    circuits: std::iter::repeat_with(Default::default)
                        .take(exporters.len() + 1)
                        .collect(),
                    exporters,
                    logs,
                    completed,
                    counters: worker_counters,
                    spans: Vec::new(),
                    events: Vec::new(),
                    open: HashMap::new(),
                }
                .run();
            })
            .map_err(|e| {
                ExportError::new("pipeline", format!("cannot start the export thread: {e}"))
            })?;
        let exports_logs = match ready_rx.recv() {
            Ok(Ok(logs)) => logs,
            Ok(Err(e)) => {
                let _ = handle.join();
                return Err(e);
            }
            Err(_) => {
                let _ = handle.join();
                return Err(ExportError::new(
                    "pipeline",
                    "the export thread stopped while starting",
                ));
            }
        };
        Ok(Pipeline {
            exports_logs,
            wake_at: (config_max_queue / 2).max(1),
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

    #[inline]
    // The box is the span's home while it runs; unboxing here frees it on the
    // thread that allocated it, which is the point.
    #[allow(clippy::boxed_local)]
    pub(crate) fn send_span(&self, span: Box<SpanData>) {
        match self.tx.try_send(Item::Span(*span)) {
            Ok(()) => {
                self.counters.spans_queued.fetch_add(1, Ordering::Relaxed);
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

    /// Whether OTel log records are exported (OTLP logs on).
    pub(crate) fn exports_logs(&self) -> bool {
        self.exports_logs
    }

    pub(crate) fn stats(&self) -> TraceStats {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        TraceStats {
            spans_queued: get(&c.spans_queued),
            spans_exported: get(&c.spans_exported),
            spans_dropped: get(&c.spans_dropped),
            spans_failed: get(&c.spans_failed),
            export_errors: get(&c.export_errors),
            logs_exported: get(&c.logs_exported),
            logs_dropped: get(&c.logs_dropped),
            logs_failed: get(&c.logs_failed),
            span_events_dropped: get(&c.span_events_dropped),
            queue_depth: self.tx.len() as u64,
            last_error: c.last_error.lock().ok().and_then(|e| e.clone()),
        }
    }

    fn request(
        &self,
        make: fn(Sender<()>) -> Item,
        timeout: Duration,
        what: &str,
    ) -> Result<(), ExportError> {
        let deadline = Instant::now() + timeout;
        let (ack_tx, ack_rx) = bounded(1);
        self.thread.unpark();
        match self.tx.send_timeout(make(ack_tx), timeout) {
            Ok(()) => self.thread.unpark(),
            Err(crossbeam_channel::SendTimeoutError::Disconnected(_)) => return Ok(()),
            Err(crossbeam_channel::SendTimeoutError::Timeout(_)) => {
                return Err(ExportError::new(
                    "pipeline",
                    format!("{what} timed out after {timeout:?}"),
                ))
            }
        }
        match ack_rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => Ok(()),
            Err(RecvTimeoutError::Timeout) => Err(ExportError::new(
                "pipeline",
                format!("{what} timed out after {timeout:?}"),
            )),
        }
    }

    pub(crate) fn flush(&self, timeout: Duration) -> Result<(), ExportError> {
        self.request(Item::Flush, timeout, "flush")
    }

    pub(crate) fn shutdown(&self, timeout: Duration) -> Result<(), ExportError> {
        let r = self.request(Item::Shutdown, timeout, "shutdown");
        if r.is_ok() {
            if let Some(h) = self.worker.lock().ok().and_then(|mut w| w.take()) {
                let _ = h.join();
            }
        }
        r
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        let _ = self.shutdown(Duration::from_secs(5));
    }
}

struct Worker {
    rx: Receiver<Item>,
    config: PipelineConfig,
    exporters: Vec<Box<dyn SpanExporter>>,
    logs: Option<Box<dyn LogExport>>,
    /// One per exporter, then one for the log exporter.
    circuits: Vec<super::circuit::Circuit>,
    completed: Option<Arc<Mutex<crate::trace::tracer::Completed>>>,
    counters: Arc<Counters>,
    spans: Vec<SpanData>,
    events: Vec<LogItem>,
    open: HashMap<SpanId, Vec<SpanEvent>>,
}

/// A plain `tracing` event as a span event: its message as the name
/// (tracing-opentelemetry's convention), level and target as attributes.
fn log_span_event(r: &LogRecord) -> SpanEvent {
    let mut attributes = Vec::with_capacity(r.attributes.len() + 2);
    attributes.push(crate::trace::KeyValue::new("level", r.level.as_str()));
    attributes.push(crate::trace::KeyValue::new("target", r.target.clone()));
    attributes.extend(r.attributes.iter().cloned());
    SpanEvent {
        name: r
            .body
            .clone()
            .map_or(std::borrow::Cow::Borrowed("log"), Into::into),
        timestamp: r.timestamp,
        attributes,
    }
}

impl Worker {
    fn run(mut self) {
        let mut next = Instant::now() + self.config.schedule_delay;
        loop {
            loop {
                match self.rx.try_recv() {
                    Ok(Item::Span(span)) => self.span(span),
                    Ok(Item::Event { event, join }) => self.event(event, join),
                    Ok(Item::Log { record, join }) => self.log(record, join),
                    Ok(Item::Flush(ack)) => {
                        self.export_all();
                        for e in &mut self.exporters {
                            let _ = e.flush();
                        }
                        let _ = ack.send(());
                    }
                    Ok(Item::Shutdown(ack)) => {
                        self.finish();
                        let _ = ack.send(());
                        return;
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        self.finish();
                        return;
                    }
                }
            }
            let now = Instant::now();
            if now >= next {
                self.export_all();
                next = now + self.config.schedule_delay;
            }
            std::thread::park_timeout(POLL_INTERVAL.min(next.saturating_duration_since(now)));
        }
    }

    fn span(&mut self, mut span: SpanData) {
        if let Some(events) = (!self.open.is_empty())
            .then(|| self.open.remove(&span.span_id))
            .flatten()
        {
            for e in events {
                span.push_event(e);
            }
            span.events.sort_by_key(|e| e.timestamp);
        }
        if self.exporters.is_empty() {
            if let Some(Ok(mut c)) = self.completed.as_ref().map(|c| c.lock()) {
                c.push(span);
            }
            return;
        }
        if let Some(Ok(mut c)) = self.completed.as_ref().map(|c| c.lock()) {
            c.push(span.clone());
        }
        self.spans.push(span);
        if self.spans.len() >= self.config.max_batch {
            self.export_spans();
        }
    }

    fn event(&mut self, event: Event, join: bool) {
        if join {
            if let Some(id) = event.span_id() {
                self.join(id, || span_event(&event));
            }
        }
        self.push_log(LogItem::Event(event));
    }

    fn log(&mut self, record: LogRecord, join: bool) {
        if join {
            if let Some((_, id, _)) = record.span {
                self.join(id, || log_span_event(&record));
            }
        }
        self.push_log(LogItem::Record(record));
    }

    /// Keeps a span event until its span ends (bounded, drops counted).
    fn join(&mut self, id: SpanId, make: impl FnOnce() -> SpanEvent) {
        if self.open.len() < MAX_OPEN_SPANS || self.open.contains_key(&id) {
            let list = self.open.entry(id).or_default();
            if list.len() < crate::trace::MAX_EVENTS_PER_SPAN {
                list.push(make());
                return;
            }
        }
        self.counters
            .span_events_dropped
            .fetch_add(1, Ordering::Relaxed);
    }

    fn push_log(&mut self, item: LogItem) {
        if self.logs.is_some() {
            self.events.push(item);
            if self.events.len() >= self.config.max_batch {
                self.export_logs();
            }
        }
    }

    fn export_all(&mut self) {
        self.export_spans();
        self.export_logs();
    }

    fn finish(&mut self) {
        self.export_all();
        // Events of spans that never ended have nowhere to go.
        let orphaned: usize = self.open.drain().map(|(_, v)| v.len()).sum();
        self.counters
            .span_events_dropped
            .fetch_add(orphaned as u64, Ordering::Relaxed);
        for e in &mut self.exporters {
            let _ = catch_unwind(AssertUnwindSafe(|| e.shutdown()));
        }
        if let Some(l) = &mut self.logs {
            let _ = catch_unwind(AssertUnwindSafe(|| l.shutdown()));
        }
    }

    fn export_spans(&mut self) {
        if self.spans.is_empty() {
            return;
        }
        let mut batch = std::mem::take(&mut self.spans);
        let n = batch.len() as u64;
        let mut all_ok = true;
        for (exporter, circuit) in self.exporters.iter_mut().zip(&mut self.circuits) {
            if !circuit.allows() {
                // Resting after a failure: not delivered, no call.
                all_ok = false;
                continue;
            }
            // Exactly one layer retries: an exporter that retries by the
            // OTLP rules itself (opentelemetry-otlp) is not retried here.
            let retries = if exporter.retries_itself() {
                0
            } else {
                self.config.retries
            };
            let ok = retrying(retries, &self.counters, || exporter.export(&batch));
            circuit.record(ok);
            all_ok &= ok;
        }
        let counter = if all_ok {
            &self.counters.spans_exported
        } else {
            &self.counters.spans_failed
        };
        counter.fetch_add(n, Ordering::Relaxed);
        for span in &mut batch {
            attribute_pool::give_back(std::mem::take(&mut span.attributes));
        }
    }

    fn export_logs(&mut self) {
        let Some(logs) = &mut self.logs else { return };
        if self.events.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.events);
        let n = batch.len() as u64;
        // The OTLP log exporter retries with backoff itself; while it rests
        // after a failure, batches are not delivered without a call.
        let circuit = &mut self.circuits[self.exporters.len()];
        let ok = circuit.allows() && {
            let ok = retrying(0, &self.counters, || logs.export(&batch));
            circuit.record(ok);
            ok
        };
        let counter = if ok {
            &self.counters.logs_exported
        } else {
            &self.counters.logs_failed
        };
        counter.fetch_add(n, Ordering::Relaxed);
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
        let error = match catch_unwind(AssertUnwindSafe(&mut export)) {
            Ok(Ok(())) => return true,
            Ok(Err(e)) => e.to_string(),
            Err(_) => "the exporter panicked".to_owned(),
        };
        counters.export_errors.fetch_add(1, Ordering::Relaxed);
        let panicked = error == "the exporter panicked";
        if let Ok(mut last) = counters.last_error.lock() {
            *last = Some(error);
        }
        if panicked || !backoff.wait() {
            return false;
        }
    }
}

/// Attribute lists go back to the threads that make spans instead of being
/// freed here: a free on another thread than the one that allocated takes
/// the allocator's arena lock, which the span-making thread is using.
pub(crate) mod attribute_pool {
    use std::sync::OnceLock;

    use crossbeam_channel::{bounded, Receiver, Sender};

    use crate::trace::KeyValue;

    type Pool = (Sender<Vec<KeyValue>>, Receiver<Vec<KeyValue>>);

    fn pool() -> &'static Pool {
        static POOL: OnceLock<Pool> = OnceLock::new();
        POOL.get_or_init(|| bounded(4096))
    }

    /// An empty list, recycled when one is available.
    #[inline]
    pub(crate) fn take() -> Vec<KeyValue> {
        pool()
            .1
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(4))
    }

    pub(crate) fn give_back(mut v: Vec<KeyValue>) {
        if v.capacity() == 0 || v.capacity() > 64 {
            return;
        }
        v.clear();
        let _ = pool().0.try_send(v);
    }
}
