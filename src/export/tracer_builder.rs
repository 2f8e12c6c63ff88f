//! The export side of [`FccTracer`]: building a tracer with exporters
//! ([`FccTracer::builder`]) and what its pipeline reports and does on
//! flush and shutdown. `trace` knows only the [`SpanPipeline`] contract; this
//! is where the pipeline behind it is made and reached.

use std::any::Any;
use std::borrow::Cow;
use std::time::Duration;

use super::pipeline::{Pipeline, PipelineConfig};
use super::{ExportError, SpanExporter, TraceStats};
use crate::trace::tracer::{SpanPipeline, DEFAULT_COMPLETED_CAPACITY};
use crate::trace::{FccTracer, Sampler, SpanData};

/// Configures an [`FccTracer`] with exporters, a sampler and buffer sizes.
#[must_use = "a builder does nothing until `build()`"]
pub struct FccTracerBuilder {
    service_name: Cow<'static, str>,
    pub(crate) sampler: Sampler,
    completed_capacity: usize,
    exporters: Vec<Box<dyn SpanExporter>>,
    pub(crate) pipeline: PipelineConfig,
}

impl FccTracerBuilder {
    /// How new spans are sampled (default: parent-based always-on).
    pub fn sampler(mut self, sampler: Sampler) -> Self {
        self.sampler = sampler;
        self
    }
    /// How many completed spans [`FccTracer::completed_spans`] keeps; 0 keeps none.
    pub fn completed_capacity(mut self, capacity: usize) -> Self {
        self.completed_capacity = capacity;
        self
    }
    /// Sends every finished span to `exporter`, in batches, on a background thread.
    pub fn exporter(mut self, exporter: impl SpanExporter + 'static) -> Self {
        self.exporters.push(Box::new(exporter));
        self
    }
    /// Like [`exporter`](Self::exporter) for an exporter already boxed.
    pub fn boxed_exporter(mut self, exporter: Box<dyn SpanExporter>) -> Self {
        self.exporters.push(exporter);
        self
    }
    /// Most spans waiting for export; more are dropped and counted
    /// (default 2048, `OTEL_BSP_MAX_QUEUE_SIZE`).
    pub fn max_queue_size(mut self, spans: usize) -> Self {
        self.pipeline.spans.max_queue = spans.max(1);
        self
    }
    /// Most spans per export call (default 512, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`).
    pub fn max_export_batch_size(mut self, spans: usize) -> Self {
        self.pipeline.spans.max_batch = spans.max(1);
        self
    }
    /// Longest wait before a partial batch is exported (default 5 s, `OTEL_BSP_SCHEDULE_DELAY`).
    pub fn schedule_delay(mut self, delay: Duration) -> Self {
        self.pipeline.spans.schedule_delay = delay;
        self
    }
    /// How often a failed export is tried again, after jittered delays
    /// doubling from at most 100 ms (capped at 2 s), before its spans are
    /// dropped and counted (default 3). Exporters that retry by themselves
    /// (OTLP: at most 3 retries, delays doubling from at most 100 ms, all
    /// within `OTEL_EXPORTER_OTLP_TIMEOUT`, honouring the collector's
    /// throttling hints) are tried once.
    pub fn export_retries(mut self, retries: u32) -> Self {
        self.pipeline.retries = retries;
        self
    }

    /// Builds the tracer; with exporters, starts its export thread. Fails
    /// when the thread cannot start or an exporter cannot be built (an OTLP
    /// endpoint that makes no sense, say).
    pub fn build(self) -> Result<FccTracer, ExportError> {
        let FccTracerBuilder {
            service_name,
            sampler,
            completed_capacity,
            exporters,
            pipeline,
        } = self;
        FccTracer::assemble(service_name, sampler, completed_capacity, |completed| {
            if exporters.is_empty()
                && pipeline.factory.is_none()
                && pipeline.log_exporters.is_empty()
            {
                return Ok(None);
            }
            let started = Pipeline::start(pipeline, exporters, completed)?;
            Ok(Some(Box::new(started) as Box<dyn SpanPipeline>))
        })
    }
}

impl SpanPipeline for Pipeline {
    #[inline]
    fn send_span(&self, span: &mut SpanData, times: Option<crate::trace::span::Times>) {
        Pipeline::send_span(self, span, times);
    }
    fn handoff(&self) -> std::sync::Arc<crate::trace::handover::Handoff> {
        Pipeline::handoff(self)
    }
    fn catch_up(&self, timeout: Duration) {
        let _ = Pipeline::flush(self, timeout);
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl FccTracer {
    /// A tracer with exporters or other settings.
    pub fn builder(service_name: impl Into<Cow<'static, str>>) -> FccTracerBuilder {
        FccTracerBuilder {
            service_name: service_name.into(),
            sampler: Sampler::default(),
            completed_capacity: DEFAULT_COMPLETED_CAPACITY,
            exporters: Vec::new(),
            pipeline: PipelineConfig::default(),
        }
    }

    /// The export pipeline, when this tracer was built with exporters.
    pub(crate) fn pipeline(&self) -> Option<&Pipeline> {
        self.span_pipeline()?.as_any().downcast_ref::<Pipeline>()
    }

    /// True when this tracer exports over OTLP.
    pub fn otlp_enabled(&self) -> bool {
        self.pipeline().is_some_and(Pipeline::otlp)
    }

    /// Export counters: queued, exported, dropped, failed.
    pub fn stats(&self) -> TraceStats {
        self.pipeline()
            .map_or_else(TraceStats::default, Pipeline::stats)
    }

    /// Waits until every span ended so far has been exported.
    pub fn flush(&self, timeout: Duration) -> Result<(), ExportError> {
        self.pipeline().map_or(Ok(()), |p| p.flush(timeout))
    }

    /// Like [`flush`](Self::flush), but network exporters (OTLP) are waited
    /// for at most `network`: what they have not sent by then is still
    /// queued for them.
    pub fn flush_within(&self, timeout: Duration, network: Duration) -> Result<(), ExportError> {
        self.pipeline()
            .map_or(Ok(()), |p| p.flush_within(timeout, network))
    }

    /// Exports what is left, shuts the exporters down and stops the thread.
    /// An exporter still busy after `timeout` (a collector that never
    /// answers) is left behind: what it held is counted failed
    /// ([`TraceStats::exporters`]).
    pub fn shutdown(&self, timeout: Duration) -> Result<(), ExportError> {
        self.shutdown_within(timeout, timeout)
    }

    /// Like [`shutdown`](Self::shutdown), giving network exporters at most `network`.
    pub fn shutdown_within(&self, timeout: Duration, network: Duration) -> Result<(), ExportError> {
        self.pipeline()
            .map_or(Ok(()), |p| p.shutdown_within(timeout, network))
    }
}
