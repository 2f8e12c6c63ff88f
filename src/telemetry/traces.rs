//! The tracing half of the set-up: the tracer, its exporters, OTLP and
//! events bound for OTel (span events and log records).

use std::time::Duration;

use super::{InstallError, TelemetryBuilder};
use crate::bus::EventBus;
use crate::export::SpanExporter;
use crate::otlp::OtlpConfig;
use crate::trace::{current_ids, FccTracer, Sampler};
use crate::Event;

pub(super) struct TraceSettings {
    sampler: Sampler,
    exporters: Vec<Box<dyn SpanExporter>>,
    otlp: Option<OtlpConfig>,
    otel_logs: bool,
    completed_spans: usize,
    max_queue: usize,
    max_batch: usize,
    schedule_delay: Duration,
}

impl Default for TraceSettings {
    fn default() -> Self {
        TraceSettings {
            sampler: Sampler::default(),
            exporters: Vec::new(),
            otlp: None,
            otel_logs: true,
            completed_spans: 0,
            max_queue: 2048,
            max_batch: 512,
            schedule_delay: Duration::from_secs(5),
        }
    }
}

fn positive(variable: &'static str, value: &str) -> Result<u64, InstallError> {
    match value.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(InstallError::Config {
            variable,
            value: value.to_owned(),
            reason: "expected a whole number above 0".into(),
        }),
    }
}

impl TraceSettings {
    /// `OTEL_TRACES_SAMPLER(_ARG)`, `OTEL_BSP_*` and the OTLP endpoint variables.
    pub(super) fn read_env(
        &mut self,
        lookup: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), InstallError> {
        self.sampler = Sampler::from_env_values(
            lookup("OTEL_TRACES_SAMPLER").as_deref(),
            lookup("OTEL_TRACES_SAMPLER_ARG").as_deref(),
        )
        .map_err(|e| InstallError::Config {
            variable: e.variable,
            value: e.value,
            reason: e.reason,
        })?;
        if let Some(v) = lookup("OTEL_BSP_SCHEDULE_DELAY") {
            self.schedule_delay = Duration::from_millis(positive("OTEL_BSP_SCHEDULE_DELAY", &v)?);
        }
        if let Some(v) = lookup("OTEL_BSP_MAX_QUEUE_SIZE") {
            self.max_queue = positive("OTEL_BSP_MAX_QUEUE_SIZE", &v)? as usize;
        }
        if let Some(v) = lookup("OTEL_BSP_MAX_EXPORT_BATCH_SIZE") {
            self.max_batch = positive("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", &v)? as usize;
        }
        self.otlp = OtlpConfig::from_vars(lookup);
        Ok(())
    }

    /// What reading the OTLP variables warned about.
    pub(super) fn otlp_warnings(&self) -> Vec<String> {
        self.otlp
            .as_ref()
            .map(|c| c.warnings.clone())
            .unwrap_or_default()
    }

    pub(super) fn otlp_config(&self) -> Option<OtlpConfig> {
        self.otlp.clone()
    }

    pub(super) fn build_tracer(self, service_name: &str) -> Result<FccTracer, InstallError> {
        let mut b = FccTracer::builder(service_name.to_owned())
            .sampler(self.sampler)
            .completed_capacity(self.completed_spans)
            .max_queue_size(self.max_queue)
            .max_export_batch_size(self.max_batch)
            .schedule_delay(self.schedule_delay);
        for e in self.exporters {
            b = b.boxed_exporter(e);
        }
        if let Some(config) = self.otlp {
            b = with_otlp(b, config, service_name, self.otel_logs)?;
        }
        b.build().map_err(InstallError::Exporter)
    }
}

#[cfg(feature = "otlp")]
fn with_otlp(
    mut b: crate::trace::FccTracerBuilder,
    config: OtlpConfig,
    service_name: &str,
    logs: bool,
) -> Result<crate::trace::FccTracerBuilder, InstallError> {
    b.pipeline.factory = Some(crate::otlp::factory(config, service_name.to_owned(), logs));
    b.pipeline.otlp = true;
    Ok(b)
}

#[cfg(not(feature = "otlp"))]
fn with_otlp(
    _b: crate::trace::FccTracerBuilder,
    config: OtlpConfig,
    _service_name: &str,
    _logs: bool,
) -> Result<crate::trace::FccTracerBuilder, InstallError> {
    Err(InstallError::Otlp(crate::otlp::OtlpConfigError {
        variable: "OTEL_EXPORTER_OTLP_ENDPOINT".into(),
        value: crate::secrets::redact_url(&config.traces.endpoint),
        reason: "this build of fcc has no OTLP support (enable the `otlp` feature)".into(),
    }))
}

/// Sends bus events to the export thread: as span events when emitted inside
/// a sampled span, and as OTel log records when OTLP is on. Nothing is
/// subscribed when the tracer exports nothing.
pub(super) fn forward_events(bus: &EventBus, tracer: &FccTracer) {
    if tracer.inner.pipeline.is_none() {
        return;
    }
    let logs = tracer.otlp_enabled();
    let tracer = tracer.clone();
    bus.subscribe(move |e: &Event| {
        let join = e.span_id().is_some()
            && current_ids().is_some_and(|(_, span, sampled)| sampled && Some(span) == e.span_id());
        if join || logs {
            if let Some(p) = &tracer.inner.pipeline {
                p.send_event(e.clone(), join);
            }
        }
    });
}

impl TelemetryBuilder {
    /// How spans are sampled (default parent-based always-on;
    /// `OTEL_TRACES_SAMPLER`).
    pub fn sampler(mut self, sampler: Sampler) -> Self {
        self.traces.sampler = sampler;
        self
    }
    /// Sends finished spans to `exporter` too (console, JSON file, your own).
    pub fn span_exporter(mut self, exporter: impl SpanExporter + 'static) -> Self {
        self.traces.exporters.push(Box::new(exporter));
        self
    }
    /// Exports spans and events over OTLP (`None`: off). [`TelemetryBuilder::from_env`]
    /// sets this from `OTEL_EXPORTER_OTLP_ENDPOINT` and friends.
    pub fn otlp(mut self, config: Option<OtlpConfig>) -> Self {
        self.traces.otlp = config;
        self
    }
    /// Whether events become OTel log records when OTLP is on (default true).
    pub fn otel_logs(mut self, on: bool) -> Self {
        self.traces.otel_logs = on;
        self
    }
    /// Keep this many completed spans for [`FccTracer::completed_spans`]
    /// (default 0: an installed tracer exports instead of keeping).
    pub fn completed_spans(mut self, capacity: usize) -> Self {
        self.traces.completed_spans = capacity;
        self
    }
    /// Longest wait before a partial batch of spans or log records is
    /// exported (default 5 s; `OTEL_BSP_SCHEDULE_DELAY`).
    pub fn span_schedule_delay(mut self, delay: Duration) -> Self {
        self.traces.schedule_delay = delay;
        self
    }
}
