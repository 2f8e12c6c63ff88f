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
mod json_file;
mod json_out;
mod lane_batch;
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

/// What caused an [`ExportError`]: the destination's own error, kept whole
/// for [`source`](std::error::Error::source).
pub type ExportCause = std::sync::Arc<dyn std::error::Error + Send + Sync>;

/// An export, flush or shutdown that did not happen, by cause.
///
/// `Display` gives the whole account in one line (the cause's text
/// included, so that a logged error or `TraceStats::last_error` needs no
/// more) and what to do; [`source`](std::error::Error::source) gives the
/// cause itself.
///
/// ```
/// use fcc::export::ExportError;
///
/// let e = ExportError::failed("my exporter", "database is down");
/// assert_eq!(e.to_string(), "my exporter: database is down");
/// assert_eq!(e.exporter(), "my exporter");
/// assert!(std::error::Error::source(&e).is_some());
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ExportError {
    /// The exporter tried and failed: its destination refused the data or
    /// could not be reached (`source` says how).
    #[non_exhaustive]
    Failed {
        /// Which exporter.
        exporter: String,
        /// What its destination said.
        source: ExportCause,
    },
    /// The exporter's settings cannot be used (a TLS file, the endpoint);
    /// the cause names the setting.
    #[non_exhaustive]
    Config {
        /// Which exporter.
        exporter: String,
        /// What is wrong with which setting.
        source: ExportCause,
    },
    /// An export, flush or shutdown did not finish in the time it was given.
    #[non_exhaustive]
    TimedOut {
        /// Which exporter (or part of the pipeline) it waited for.
        exporter: String,
        /// What did not finish.
        operation: ExportOperation,
        /// How long it was given.
        after: std::time::Duration,
    },
    /// A thread (or the runtime on one) the exporter needs could not be
    /// started.
    #[non_exhaustive]
    CannotStart {
        /// Which exporter.
        exporter: String,
        /// The operating system's error.
        source: ExportCause,
    },
    /// The exporter's thread stopped before it answered: it panicked, or
    /// it was shut down already.
    #[non_exhaustive]
    Stopped {
        /// Which exporter.
        exporter: String,
    },
}

impl ExportError {
    /// `exporter` failed; `cause` is its destination's error (any error, or
    /// a message: `&str` and `String` convert).
    pub fn failed(
        exporter: impl Into<String>,
        cause: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> ExportError {
        ExportError::Failed {
            exporter: exporter.into(),
            source: ExportCause::from(cause.into()),
        }
    }

    /// `exporter`'s settings cannot be used; `cause` names the setting.
    pub fn config(
        exporter: impl Into<String>,
        cause: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> ExportError {
        ExportError::Config {
            exporter: exporter.into(),
            source: ExportCause::from(cause.into()),
        }
    }

    /// `operation` on `exporter` did not finish within `after`.
    pub fn timed_out(
        exporter: impl Into<String>,
        operation: ExportOperation,
        after: std::time::Duration,
    ) -> ExportError {
        ExportError::TimedOut {
            exporter: exporter.into(),
            operation,
            after,
        }
    }

    /// A thread (or the runtime on one) of `exporter` could not be started.
    pub fn cannot_start(exporter: impl Into<String>, cause: std::io::Error) -> ExportError {
        ExportError::CannotStart {
            exporter: exporter.into(),
            source: std::sync::Arc::new(cause),
        }
    }

    /// `exporter`'s thread stopped before it answered.
    pub fn stopped(exporter: impl Into<String>) -> ExportError {
        ExportError::Stopped {
            exporter: exporter.into(),
        }
    }

    /// Which exporter (or part of the pipeline) the error is about.
    pub fn exporter(&self) -> &str {
        match self {
            ExportError::Failed { exporter, .. }
            | ExportError::Config { exporter, .. }
            | ExportError::TimedOut { exporter, .. }
            | ExportError::CannotStart { exporter, .. }
            | ExportError::Stopped { exporter } => exporter,
        }
    }
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExportError::Failed { exporter, source } => write!(f, "{exporter}: {source}"),
            ExportError::Config { exporter, source } => write!(
                f,
                "{exporter}: {source} (fix this setting: nothing is exported until it is)"
            ),
            ExportError::TimedOut {
                exporter,
                operation,
                after,
            } => write!(
                f,
                "{operation}: {exporter} did not finish within {after:?}; give it more time \
                 (OTEL_EXPORTER_OTLP_TIMEOUT for OTLP, the flush or shutdown timeout otherwise) \
                 or check that its destination answers"
            ),
            ExportError::CannotStart { exporter, source } => write!(
                f,
                "{exporter}: cannot start its thread: {source} (the process may be at its \
                 limit of threads or memory)"
            ),
            ExportError::Stopped { exporter } => write!(
                f,
                "{exporter}: its thread stopped before it answered (a panic, reported on \
                 stderr, or an earlier shutdown); build a new one to export again"
            ),
        }
    }
}

impl std::error::Error for ExportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ExportError::Failed { source, .. }
            | ExportError::Config { source, .. }
            | ExportError::CannotStart { source, .. } => Some(&**source),
            _ => None,
        }
    }
}

/// What an [`ExportError::TimedOut`] waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportOperation {
    /// One export call.
    Export,
    /// A flush.
    Flush,
    /// A shutdown.
    Shutdown,
}

impl fmt::Display for ExportOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExportOperation::Export => "export",
            ExportOperation::Flush => "flush",
            ExportOperation::Shutdown => "shutdown",
        })
    }
}

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
