//! The export thread of the span and log pipeline: it takes spans, events
//! and log records from the queue and the per-thread rings, joins span
//! events to their spans, batches and hands batches to the export lanes, and
//! answers flush and shutdown (see [`super::pipeline`]).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, TryRecvError};

use super::event_attributes::span_event;
use super::lanes::{Batch, Lane, LaneWait};
use super::logs::{log_span_event, LogItem};
use super::pipeline::{Counters, Item, PipelineConfig, MAX_OPEN_SPANS, POLL_INTERVAL};
use super::LogRecord;
use crate::trace::handover::Handoff;
use crate::trace::{SpanData, SpanEvent};
use crate::{Event, SpanId};

/// How long the export thread finds nothing before it dozes.
const DOZE_AFTER: std::time::Duration = std::time::Duration::from_millis(100);

/// What the export thread must answer once the spans ended before it are in.
enum Request {
    Flush(Sender<Vec<LaneWait>>),
    Shutdown(Sender<Vec<LaneWait>>),
    /// Every sender is gone.
    Disconnected,
}

pub(super) struct Worker {
    pub(super) doorbell: Arc<crate::internal::doorbell::Doorbell>,
    pub(super) rx: Receiver<Item>,
    pub(super) handoff: Arc<Handoff>,
    /// Attribute lists for the span boxes given back to the threads.
    pub(super) lists: super::attribute_pool::Lists,
    pub(super) config: PipelineConfig,
    pub(super) span_lanes: Vec<Lane<SpanData>>,
    pub(super) log_lanes: Vec<Lane<LogItem>>,
    pub(super) completed: Option<Arc<Mutex<crate::trace::tracer::Completed>>>,
    pub(super) counters: Arc<Counters>,
    pub(super) spans: Vec<SpanData>,
    pub(super) events: Vec<LogItem>,
    pub(super) open: HashMap<SpanId, Vec<SpanEvent>>,
}

impl Worker {
    pub(super) fn run(mut self) {
        self.doorbell.set_worker_to_current_thread();
        let mut quiet_since: Option<Instant> = None;
        let mut next_spans = Instant::now() + self.config.spans.schedule_delay;
        let mut next_logs = Instant::now() + self.config.logs.schedule_delay;
        let mut requests = Vec::new();
        loop {
            if self.cycle(&mut requests) {
                quiet_since = None;
            }
            // A request answers for every span ended before it was sent;
            // some may have reached their ring after this cycle counted.
            while !requests.is_empty() {
                let mut later = Vec::new();
                self.cycle(&mut later);
                for request in std::mem::take(&mut requests) {
                    match request {
                        Request::Flush(ack) => {
                            self.export_all();
                            let waits = self.span_lanes.iter().map(Lane::flush);
                            let _ = ack.send(
                                waits
                                    .chain(self.log_lanes.iter().map(Lane::flush))
                                    .collect(),
                            );
                        }
                        Request::Shutdown(ack) => {
                            self.last_cycle();
                            let _ = ack.send(self.finish());
                            return;
                        }
                        Request::Disconnected => {
                            self.last_cycle();
                            for wait in self.finish() {
                                if let Some(lane) = wait.lane {
                                    lane.join();
                                }
                            }
                            return;
                        }
                    }
                }
                requests = later;
            }
            let now = Instant::now();
            if now >= next_spans {
                self.export_spans();
                next_spans = now + self.config.spans.schedule_delay;
            }
            if now >= next_logs {
                self.export_logs();
                next_logs = now + self.config.logs.schedule_delay;
            }
            let next = next_spans.min(next_logs);
            // Quiet for a while: sleep until a sender rings, or until the
            // batch in hand is due (nothing in hand: until a sender rings).
            let quiet = *quiet_since.get_or_insert(now);
            if now.duration_since(quiet) >= DOZE_AFTER {
                let pending = !self.spans.is_empty() || !self.events.is_empty();
                let timeout = pending.then(|| next.saturating_duration_since(now));
                let (rx, handoff) = (&self.rx, &self.handoff);
                let idle = || rx.is_empty() && handoff.count().iter().all(|&n| n == 0);
                if self.doorbell.doze(timeout, idle) {
                    continue;
                }
            }
            std::thread::park_timeout(POLL_INTERVAL.min(next.saturating_duration_since(now)));
        }
    }

    /// Counts what the rings hold, drains the channel (collecting flush and
    /// shutdown requests), then takes the counted spans: see
    /// [`crate::trace::handover`] for why in this order.
    /// True when it took anything.
    fn cycle(&mut self, requests: &mut Vec<Request>) -> bool {
        let counts = self.handoff.count();
        let mut took = counts.iter().any(|&n| n > 0);
        loop {
            let item = self.rx.try_recv();
            took |= item.is_ok();
            match item {
                Ok(Item::Span(span)) => self.span(span),
                Ok(Item::Event { event, join }) => self.event(event, join),
                Ok(Item::Log { record, join }) => self.log(record, join),
                Ok(Item::Flush(ack)) => requests.push(Request::Flush(ack)),
                Ok(Item::Shutdown(ack)) => {
                    requests.push(Request::Shutdown(ack));
                    break;
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    requests.push(Request::Disconnected);
                    break;
                }
            }
        }
        let handoff = Arc::clone(&self.handoff);
        let counters = Arc::clone(&self.counters);
        let mut lists = std::mem::take(&mut self.lists);
        let mut spans = std::mem::take(&mut self.spans);
        handoff.take(
            &counts,
            &counters.spans_queued,
            || lists.take(),
            &mut spans,
            |spans| self.span_pushed(spans),
        );
        self.lists = lists;
        self.spans = spans;
        took
    }

    /// Closes the rings to new spans and takes what they hold.
    fn last_cycle(&mut self) {
        self.handoff.close();
        let mut ignored = Vec::new();
        self.cycle(&mut ignored);
    }

    fn span(&mut self, span: SpanData) {
        let mut spans = std::mem::take(&mut self.spans);
        spans.push(span);
        self.span_pushed(&mut spans);
        self.spans = spans;
    }

    /// Finishes the span just pushed onto `spans`, the batch being filled
    /// (taken out of `self.spans` meanwhile): its span events, the limits,
    /// the completed-spans buffer; exports the batch once full.
    fn span_pushed(&mut self, spans: &mut Vec<SpanData>) {
        let Some(span) = spans.last_mut() else {
            return;
        };
        if let Some(events) = (!self.open.is_empty())
            .then(|| self.open.remove(&span.span_id))
            .flatten()
        {
            for e in events {
                span.push_event(e);
            }
            span.events.sort_by_key(|e| e.timestamp);
        }
        self.config.span_limits.apply(span);
        if self.span_lanes.is_empty() {
            if let Some(span) = spans.pop()
                && let Some(Ok(mut c)) = self.completed.as_ref().map(|c| c.lock())
            {
                c.push(span);
            }
            return;
        }
        if let Some(Ok(mut c)) = self.completed.as_ref().map(|c| c.lock()) {
            c.push(span.clone());
        }
        if spans.len() >= self.config.spans.max_batch {
            self.export_batch(spans);
        }
    }

    fn event(&mut self, event: Event, join: bool) {
        if join && let Some(id) = event.span_id() {
            self.join(id, || span_event(&event));
        }
        self.push_log(LogItem::Event(event));
    }

    fn log(&mut self, record: LogRecord, join: bool) {
        if join && let Some((_, id, _)) = record.span {
            self.join(id, || log_span_event(&record));
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
        if !self.log_lanes.is_empty() {
            self.events.push(item);
            if self.events.len() >= self.config.logs.max_batch {
                self.export_logs();
            }
        }
    }

    fn export_all(&mut self) {
        self.export_spans();
        self.export_logs();
    }

    /// Hands out the last batches and stops every lane; returns what the
    /// caller of shutdown waits on.
    fn finish(&mut self) -> Vec<LaneWait> {
        self.export_all();
        // Events of spans that never ended have nowhere to go.
        let orphaned: usize = self.open.drain().map(|(_, v)| v.len()).sum();
        self.counters
            .span_events_dropped
            .fetch_add(orphaned as u64, Ordering::Relaxed);
        let spans = std::mem::take(&mut self.span_lanes)
            .into_iter()
            .map(Lane::stop);
        let logs = std::mem::take(&mut self.log_lanes)
            .into_iter()
            .map(Lane::stop);
        spans.chain(logs).collect()
    }

    fn export_spans(&mut self) {
        let mut spans = std::mem::take(&mut self.spans);
        self.export_batch(&mut spans);
        self.spans = spans;
    }

    /// Sends `spans` to every lane as one batch, leaving a new empty one.
    fn export_batch(&mut self, spans: &mut Vec<SpanData>) {
        if spans.is_empty() {
            return;
        }
        let full = super::attribute_pool::batch_vec(self.config.spans.max_batch);
        let batch = Batch::new(
            std::mem::replace(spans, full),
            self.span_lanes.len(),
            self.counters.clone(),
        );
        for lane in &self.span_lanes {
            lane.send(&batch);
        }
        Batch::release(batch);
    }

    fn export_logs(&mut self) {
        if self.events.is_empty() || self.log_lanes.is_empty() {
            return;
        }
        let batch = Batch::new(
            std::mem::take(&mut self.events),
            self.log_lanes.len(),
            self.counters.clone(),
        );
        for lane in &self.log_lanes {
            lane.send(&batch);
        }
        Batch::release(batch);
    }
}
