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

mod backoff;
pub(crate) mod circuit;
mod console;
pub(crate) mod event_attributes;
mod json_file;
mod metric_exporters;
pub(crate) mod pipeline;

use std::fmt;

pub use backoff::Backoff;
pub use console::ConsoleSpanExporter;
pub use json_file::JsonFileSpanExporter;
pub use metric_exporters::{ConsoleMetricExporter, JsonFileMetricExporter, MetricExporter};

use crate::trace::SpanData;

/// Receives finished spans. Implement it for your own destination.
///
/// Attached to a tracer, `export` is called on the tracer's export thread,
/// never concurrently, with batches in the order the spans ended. A failed
/// export is retried a few times and then dropped and counted.
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
    /// Spans every exporter accepted.
    pub spans_exported: u64,
    /// Spans refused because the queue was full.
    pub spans_dropped: u64,
    /// Spans given up on after the retries (an exporter kept failing).
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
    /// Spans and events waiting on the export queue now (a producer that
    /// must lose nothing can wait while it is high).
    pub queue_depth: u64,
    /// The last export error, if any.
    pub last_error: Option<String>,
}
