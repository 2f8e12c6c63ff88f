//! How the export thread is set up: batching per signal (the OTel batch
//! processors' settings), retries, limits, and the exporters it starts.

use std::time::Duration;

use super::logs::LogExport;
use super::{ExportError, SpanExporter};

/// Builds exporters on the export thread itself (OTLP needs its own async
/// runtime, which must never be dropped on a caller's async thread).
pub(crate) type ExporterFactory = Box<
    dyn FnOnce() -> Result<(Vec<Box<dyn SpanExporter>>, Vec<Box<dyn LogExport>>), ExportError>
        + Send,
>;

/// How one signal is batched: the OTel batch processors' settings
/// (`OTEL_BSP_*` for spans, `OTEL_BLRP_*` for log records).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Batching {
    /// Items each exporter's lane holds.
    pub max_queue: usize,
    /// Items per export.
    pub max_batch: usize,
    /// Longest wait before a partial batch goes.
    pub schedule_delay: Duration,
}

impl Batching {
    /// The span batch processor's defaults (2048, 512, 5 s).
    pub(crate) const SPANS: Batching = Batching {
        max_queue: 2048,
        max_batch: 512,
        schedule_delay: Duration::from_secs(5),
    };
    /// The log record batch processor's defaults (2048, 512, 1 s).
    pub(crate) const LOGS: Batching = Batching {
        max_queue: 2048,
        max_batch: 512,
        schedule_delay: Duration::from_secs(1),
    };
}

pub(crate) struct PipelineConfig {
    /// Spans; `spans.max_queue` (plus `logs.max_queue` when log records are
    /// exported) is also the size of the queue into the export thread.
    pub spans: Batching,
    pub logs: Batching,
    pub retries: u32,
    pub factory: Option<ExporterFactory>,
    /// Log exporters besides the factory's (the console's).
    pub log_exporters: Vec<Box<dyn LogExport>>,
    /// Whether log records will be exported (the factory's or the console's):
    /// only then does the queue into the export thread hold them as well.
    pub logs_on: bool,
    pub span_limits: super::SpanLimits,
    pub otlp: bool,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            spans: Batching::SPANS,
            logs: Batching::LOGS,
            retries: 3,
            factory: None,
            log_exporters: Vec::new(),
            logs_on: false,
            span_limits: super::SpanLimits::default(),
            otlp: false,
        }
    }
}
