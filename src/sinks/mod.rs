//! Sinks: where bus events go when they leave the process.
//!
//! A [`Sink`] receives owned batches of events on its own worker thread (see
//! [`runtime`]), so the emitting thread never does I/O. Attach sinks with the
//! [`Telemetry`](crate::Telemetry) builder, or directly to a bus with
//! [`attach`]:
//!
//! ```
//! use fcc::sinks::{attach, Sink, SinkError, SinkOptions};
//! use fcc::{Event, EventBus, EventFilter, EventType, Severity};
//! use std::time::Duration;
//!
//! /// A sink that prints warnings.
//! struct Pager;
//! impl Sink for Pager {
//!     fn name(&self) -> &str { "pager" }
//!     fn write(&mut self, batch: &[Event]) -> Result<(), SinkError> {
//!         for e in batch {
//!             println!("PAGE: {} {}", e.event_type(), e.detail().unwrap_or(""));
//!         }
//!         Ok(())
//!     }
//! }
//!
//! let bus = EventBus::new();
//! let options = SinkOptions::default().filter(EventFilter::new().min_severity(Severity::Warn));
//! let pager = attach(&bus, Box::new(Pager), options).unwrap();
//! bus.publish(&Event::warn("gateway", "overload", "queue at 95%").build());
//! pager.flush(Duration::from_secs(1)).unwrap();
//! assert_eq!(pager.stats().written, 1);
//! ```
//!
//! **Imports** (the table in ARCHITECTURE.md, checked by
//! `tests/it/import_direction.rs`): only `bus`, `event`, `serialization`, `internal`.

pub(crate) mod graveyard;
pub(crate) mod json_file;
mod log;
pub mod runtime;
mod worker;

pub use json_file::JsonFileSink;
pub use log::LogSink;
pub use runtime::{FlushError, SinkHandle, SinkStats};

use crate::bus::{EventBus, EventFilter};
use crate::event::Event;
use std::fmt;
use std::sync::Arc;

/// Somewhere events go. Runs on its sink's worker thread.
///
/// Only [`Sink::name`] and [`Sink::write`] are required; the others have
/// do-nothing defaults.
pub trait Sink: Send + 'static {
    /// A short name for counters and errors (`"log"`, `"json_file"`).
    fn name(&self) -> &str;

    /// Writes one batch. An error fails the whole batch: its events are counted
    /// as failed and the worker goes on with the next batch.
    fn write(&mut self, batch: &[Event]) -> Result<(), SinkError>;

    /// Makes everything written so far durable or visible.
    fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }

    /// Called once, last. Defaults to [`Sink::flush`].
    fn shutdown(&mut self) -> Result<(), SinkError> {
        self.flush()
    }

    /// Called on the worker when its queue is empty (about every poll
    /// interval after a burst of events, then every
    /// [`idle_interval`](Sink::idle_interval) while nothing arrives): for
    /// housekeeping such as a store's retention. Does nothing by default.
    fn idle(&mut self) {}

    /// How long the worker may sleep while no events arrive before it calls
    /// [`idle`](Sink::idle) again; `None`: until the next event (a sink with
    /// no housekeeping, whose worker then costs no wake-ups at all while the
    /// process is idle). Defaults to one second.
    fn idle_interval(&self) -> Option<std::time::Duration> {
        Some(std::time::Duration::from_secs(1))
    }
}

/// A sink's failure, with a message that says what and where.
#[derive(Debug)]
pub struct SinkError {
    message: String,
    source: Option<std::io::Error>,
    written: usize,
}

impl SinkError {
    /// An error with this message.
    pub fn new(message: impl fmt::Display) -> Self {
        Self {
            message: message.to_string(),
            source: None,
            written: 0,
        }
    }

    /// An I/O error, with what was being done (`"cannot open events.ndjson"`).
    pub fn io(context: impl fmt::Display, source: std::io::Error) -> Self {
        Self {
            message: format!("{context}: {source}"),
            source: Some(source),
            written: 0,
        }
    }

    /// Says that the first `events` of the batch were durably written
    /// before the failure (a disk that filled up mid-batch): the sink's
    /// counts then say `written` for those and `failed` for the rest.
    ///
    /// ```
    /// let e = fcc::sinks::SinkError::new("disk full").with_written(3);
    /// assert_eq!(e.written(), 3);
    /// ```
    pub fn with_written(mut self, events: usize) -> Self {
        self.written = events;
        self
    }

    /// How many events of the batch were written before the failure.
    pub fn written(&self) -> usize {
        self.written
    }
}

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SinkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}

/// What to do when a sink's queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DropPolicy {
    /// Drop the event being offered and count it (the default: emitters never block).
    #[default]
    DropNewest,
    /// Wait for room. Nothing is dropped; the emitter may wait on a slow sink.
    Block,
}

impl std::str::FromStr for DropPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "drop_newest" | "drop-newest" => Ok(DropPolicy::DropNewest),
            "block" => Ok(DropPolicy::Block),
            other => Err(format!(
                "unknown drop policy `{other}`: expected drop_newest or block"
            )),
        }
    }
}

/// The default byte budget of a sink's queue ([`SinkOptions::max_bytes`]).
pub const DEFAULT_QUEUE_MAX_BYTES: usize = 8 << 20;

/// How a sink runs: queue capacity, batch size, drop policy and which events.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SinkOptions {
    pub(crate) capacity: usize,
    pub(crate) max_bytes: usize,
    pub(crate) batch_size: usize,
    pub(crate) policy: DropPolicy,
    pub(crate) filter: EventFilter,
    pub(crate) poll_interval: std::time::Duration,
}

impl Default for SinkOptions {
    fn default() -> Self {
        Self {
            capacity: 65_536,
            max_bytes: DEFAULT_QUEUE_MAX_BYTES,
            batch_size: 512,
            policy: DropPolicy::DropNewest,
            filter: EventFilter::new(),
            poll_interval: std::time::Duration::from_millis(5),
        }
    }
}

impl SinkOptions {
    /// Most events waiting on the queue (default 65,536).
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }
    /// Most bytes of events waiting on the queue or being written, as
    /// [`Event::approx_bytes`] counts them (default 8 MiB): a slow sink
    /// holds at most this much memory, however small the events. Past it
    /// the [`DropPolicy`] applies, as past [`capacity`](Self::capacity). An
    /// event larger than the whole budget still goes through an empty queue.
    pub fn max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes.max(1);
        self
    }
    /// Most events per [`Sink::write`] (default 512).
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }
    /// What to do when the queue is full (default drop-newest).
    pub fn policy(mut self, policy: DropPolicy) -> Self {
        self.policy = policy;
        self
    }
    /// Longest the idle worker sleeps before looking at its queue again
    /// (default 5 ms): the most an event waits before its batch is written.
    pub fn poll_interval(mut self, interval: std::time::Duration) -> Self {
        self.poll_interval = interval;
        self
    }
    /// Which events the sink gets (default all).
    pub fn filter(mut self, filter: EventFilter) -> Self {
        self.filter = filter;
        self
    }
}

/// Starts `sink` on its worker and subscribes it to `bus` with the options'
/// filter. The returned handle gives its counters, `flush` and `shutdown`.
pub fn attach(
    bus: &EventBus,
    sink: Box<dyn Sink>,
    options: SinkOptions,
) -> std::io::Result<Arc<SinkHandle>> {
    let handle = SinkHandle::spawn(sink, &options)?;
    bus.subscribe_filtered(runtime::SinkSubscriber(handle.clone()), options.filter);
    Ok(handle)
}
