//! Where finished spans go: the [`SpanExporter`] trait, the built-in
//! [`ConsoleSpanExporter`] and [`JsonFileSpanExporter`], and the background
//! pipeline that batches spans (and events bound for OTel) to them.
//!
//! An exporter can be used by hand, as in the seed:
//!
//! ```
//! use fcc::export::{ConsoleSpanExporter, SpanExporter};
//! use fcc::trace::FccTracer;
//!
//! let tracer = FccTracer::new("my-app");
//! drop(tracer.span("simulation.run"));
//! let mut out = Vec::new();
//! ConsoleSpanExporter::with_writer(&mut out).export(&tracer.completed_spans()).unwrap();
//! assert!(String::from_utf8(out).unwrap().starts_with("[SPAN] simulation.run trace="));
//! ```
//!
//! or attached to a tracer, so it receives every finished span:
//! `FccTracer::builder("my-app").exporter(ConsoleSpanExporter::new()).build()`.
//!
//! **Imports** (the table in ARCHITECTURE.md, checked by
//! `tests/it/import_direction.rs`): only `event`, `metrics`, `sinks`, `trace`, `internal`.

pub(crate) mod attribute_pool;
mod backoff;
pub(crate) mod circuit;
mod console;
pub(crate) mod event_attributes;
pub(crate) mod handoff;
mod json_file;
mod json_out;
pub(crate) mod lanes;
mod limits;
pub(crate) mod logs;
mod metric_exporters;
pub(crate) mod pipeline;
mod pipeline_config;
mod pipeline_worker;
mod tracer_builder;

use std::fmt;

pub use backoff::Backoff;
pub use console::ConsoleSpanExporter;
pub use json_file::JsonFileSpanExporter;
pub use limits::{LogLimits, SpanLimits};
pub use logs::LogRecord;
pub use tracer_builder::FccTracerBuilder;
pub(crate) mod metric_reader;
pub use metric_exporters::{ConsoleMetricExporter, JsonFileMetricExporter, MetricExporter};

use crate::trace::SpanData;

/// Receives finished spans. Implement it for your own destination.
///
/// Attached to a tracer, each exporter gets its own export thread (a lane)
/// with a bounded queue: `export` is called there, never concurrently, with
/// batches in the order the spans ended, and a slow exporter holds up no
/// other. A failed export is retried a few times and then dropped and
/// counted; while the queue is full, batches for it are dropped and counted.
pub trait SpanExporter: Send {
    /// Writes a batch of spans.
    fn export(&mut self, spans: &[SpanData]) -> Result<(), ExportError>;

    /// A short name for counters and error messages.
    fn name(&self) -> &str {
        "span exporter"
    }

    /// True when `export` already retries with backoff (the OTLP exporters do,
    /// honouring the collector's throttling hints); the pipeline then tries
    /// each batch once instead of retrying it again.
    fn retries_itself(&self) -> bool {
        false
    }

    /// True when the exporter sends over the network (OTLP does). A network
    /// exporter is never waited on by back-pressure
    /// ([`TraceStats::queue_depth`] leaves it out), and a shutdown can give it
    /// less time than local exporters get (`Telemetry::shutdown_within`).
    fn is_remote(&self) -> bool {
        false
    }

    /// Pushes out anything buffered.
    fn flush(&mut self) -> Result<(), ExportError> {
        Ok(())
    }

    /// Flushes and releases resources; called once, at the end.
    fn shutdown(&mut self) -> Result<(), ExportError> {
        self.flush()
    }
}

/// An export that did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportError {
    /// Which exporter (or `"pipeline"`).
    pub exporter: String,
    /// What went wrong.
    pub message: String,
}

impl ExportError {
    /// An error from `exporter`.
    pub fn new(exporter: impl Into<String>, message: impl fmt::Display) -> ExportError {
        ExportError {
            exporter: exporter.into(),
            message: message.to_string(),
        }
    }
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.exporter, self.message)
    }
}

impl std::error::Error for ExportError {}

/// Counters of a tracer's export pipeline, readable at any time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TraceStats {
    /// Spans that entered the export queue.
    pub spans_queued: u64,
    /// Spans every exporter accepted (see [`exporters`](Self::exporters) for
    /// each one's own count).
    pub spans_exported: u64,
    /// Spans refused because the queue was full.
    pub spans_dropped: u64,
    /// Spans some exporter did not deliver: it kept failing, or its queue
    /// was full (see [`exporters`](Self::exporters) for which).
    pub spans_failed: u64,
    /// Export calls that failed (each retry counts).
    pub export_errors: u64,
    /// Events exported as OTel log records.
    pub logs_exported: u64,
    /// Events refused because the queue was full.
    pub logs_dropped: u64,
    /// Log records given up on after the retries.
    pub logs_failed: u64,
    /// Span events dropped: the span never ended, or had too many.
    pub span_events_dropped: u64,
    /// Spans and events waiting on the export queue now, and in the queues
    /// of local exporters (files, console): a producer that must lose nothing
    /// locally can wait while it is high. Network exporters are left out, so
    /// that such a producer never waits on a collector that is down.
    pub queue_depth: u64,
    /// Each exporter's own counts, in the order they were attached (OTLP
    /// traces, then OTLP logs, last).
    pub exporters: Vec<ExporterStats>,
    /// The last export error, if any.
    pub last_error: Option<String>,
}

/// One exporter's counts: what reached its destination and what did not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExporterStats {
    /// The exporter's [`name`](SpanExporter::name) (`otlp traces`, `otlp logs`, ...).
    pub name: String,
    /// Whether it sends over the network ([`SpanExporter::is_remote`]).
    pub remote: bool,
    /// Items (spans or log records) it delivered.
    pub exported: u64,
    /// Items it failed to deliver, after its retries or at a shutdown that
    /// could not wait for it.
    pub failed: u64,
    /// Items dropped because its queue was full.
    pub dropped: u64,
    /// Items queued for it or being exported now.
    pub pending: u64,
    /// How long the export now running has been waiting, if one is.
    pub busy_for: Option<std::time::Duration>,
    /// The longest an export it completed took.
    pub slowest_answer: Option<std::time::Duration>,
}
