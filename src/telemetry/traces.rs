//! The tracing half of the set-up: the tracer, its exporters, OTLP and
//! events bound for OTel (span events and log records).

use std::time::Duration;

use super::switches::{exporters, limit, millis, ExporterName::*};
use super::{InstallError, TelemetryBuilder};
use crate::bus::EventBus;
use crate::export::logs::ConsoleLogExporter;
use crate::export::pipeline::Batching;
use crate::export::{ConsoleSpanExporter, LogLimits, SpanExporter, SpanLimits};
use crate::otel::FccResource;
use crate::otlp::OtlpConfig;
use crate::trace::{current_ids, FccTracer, Sampler};
use crate::Event;

pub(super) struct TraceSettings {
    sampler: Sampler,
    exporters: Vec<Box<dyn SpanExporter>>,
    otlp: Option<OtlpConfig>,
    /// Spans go over OTLP when a configuration is there (`OTEL_TRACES_EXPORTER`).
    otlp_spans: bool,
    /// Events become OTel log records over OTLP when a configuration is
    /// there (`OTEL_LOGS_EXPORTER`).
    otel_logs: bool,
    /// Log records printed on stdout (`OTEL_LOGS_EXPORTER=console`).
    console_logs: bool,
    completed_spans: usize,
    spans: Batching,
    logs: Batching,
    span_limits: SpanLimits,
    log_limits: LogLimits,
}

impl Default for TraceSettings {
    fn default() -> Self {
        TraceSettings {
            sampler: Sampler::default(),
            exporters: Vec::new(),
            otlp: None,
            otlp_spans: true,
            otel_logs: true,
            console_logs: false,
            completed_spans: 0,
            spans: Batching::SPANS,
            logs: Batching::LOGS,
            span_limits: SpanLimits::default(),
            log_limits: LogLimits::default(),
        }
    }
}

impl TraceSettings {
    /// `OTEL_TRACES_SAMPLER(_ARG)`, `OTEL_BSP_*`, `OTEL_BLRP_*`, the limits,
    /// `OTEL_TRACES_EXPORTER`, `OTEL_LOGS_EXPORTER` and the OTLP variables.
    /// What cannot be used is a warning, and the default is kept.
    pub(super) fn read_env(
        &mut self,
        lookup: &impl Fn(&str) -> Option<String>,
        warnings: &mut Vec<String>,
    ) {
        let name = lookup("OTEL_TRACES_SAMPLER");
        match Sampler::from_env_values(
            name.as_deref(),
            lookup("OTEL_TRACES_SAMPLER_ARG").as_deref(),
        ) {
            Ok(s) => self.sampler = s,
            // A bad ratio: the named sampler with ratio 1.0, as the
            // specification says.
            Err(e) if e.variable == "OTEL_TRACES_SAMPLER_ARG" => {
                warnings.push(format!(
                    "{}={:?} not used: {}; using 1.0",
                    e.variable, e.value, e.reason
                ));
                if let Ok(s) = Sampler::from_env_values(name.as_deref(), None) {
                    self.sampler = s;
                }
            }
            Err(e) => warnings.push(format!(
                "{}={:?} not used: {}; using parentbased_always_on",
                e.variable, e.value, e.reason
            )),
        }
        self.spans = batching(lookup, "OTEL_BSP", Batching::SPANS, warnings);
        self.logs = batching(lookup, "OTEL_BLRP", Batching::LOGS, warnings);
        self.read_limits(lookup, warnings);
        self.otlp = OtlpConfig::from_vars(lookup);
        let mut named_otlp = false;
        let signal = [Otlp, Console];
        if let Some(list) = exporters(lookup, "OTEL_TRACES_EXPORTER", &signal, warnings) {
            self.otlp_spans = list.contains(&Otlp);
            named_otlp |= self.otlp_spans;
            if list.contains(&Console) {
                let console = ConsoleSpanExporter::with_writer(std::io::stdout());
                self.exporters.push(Box::new(console));
            }
        }
        if let Some(list) = exporters(lookup, "OTEL_LOGS_EXPORTER", &signal, warnings) {
            self.otel_logs = list.contains(&Otlp);
            named_otlp |= self.otel_logs;
            self.console_logs = list.contains(&Console);
        }
        if named_otlp && self.otlp.is_none() {
            self.otlp = Some(OtlpConfig::from_vars_or_default(lookup));
        }
        // An export is bounded by the batch processor's export timeout as
        // well as by the exporter's own.
        let bsp = millis(lookup, "OTEL_BSP_EXPORT_TIMEOUT", EXPORT_TIMEOUT, warnings);
        let blrp = millis(lookup, "OTEL_BLRP_EXPORT_TIMEOUT", EXPORT_TIMEOUT, warnings);
        if let Some(c) = &mut self.otlp {
            c.traces.timeout = c.traces.timeout.min(bsp);
            c.logs.timeout = c.logs.timeout.min(blrp);
        }
    }

    /// `OTEL_ATTRIBUTE_*`, `OTEL_SPAN_*`, `OTEL_EVENT_*`, `OTEL_LINK_*` and
    /// `OTEL_LOGRECORD_*` limits; a signal's own variable wins over the
    /// general one.
    fn read_limits(
        &mut self,
        lookup: &impl Fn(&str) -> Option<String>,
        warnings: &mut Vec<String>,
    ) {
        let mut get = |var: &str| limit(lookup, var, warnings);
        let count = get("OTEL_ATTRIBUTE_COUNT_LIMIT");
        let length = get("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT");
        let d = SpanLimits::default();
        let s = &mut self.span_limits;
        s.attribute_count = get("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT")
            .or(count)
            .unwrap_or(d.attribute_count);
        s.attribute_value_length = get("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT").or(length);
        s.event_count = get("OTEL_SPAN_EVENT_COUNT_LIMIT").unwrap_or(d.event_count);
        s.link_count = get("OTEL_SPAN_LINK_COUNT_LIMIT").unwrap_or(d.link_count);
        s.event_attribute_count =
            get("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT").unwrap_or(d.event_attribute_count);
        s.link_attribute_count =
            get("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT").unwrap_or(d.link_attribute_count);
        let l = &mut self.log_limits;
        l.attribute_count = get("OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT")
            .or(count)
            .unwrap_or(LogLimits::default().attribute_count);
        l.attribute_value_length = get("OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT").or(length);
    }

    /// `OTEL_SDK_DISABLED=true`: no span is recorded, nothing is exported.
    pub(super) fn disable(&mut self) {
        self.sampler = Sampler::AlwaysOff;
        self.exporters.clear();
        self.otlp = None;
        self.console_logs = false;
    }

    /// Sets the OTLP configuration when none is (`OTEL_METRICS_EXPORTER=otlp`
    /// with no endpoint variable): the other signals keep off OTLP unless
    /// their own variables named it.
    pub(super) fn ensure_otlp(&mut self, lookup: &impl Fn(&str) -> Option<String>) {
        if self.otlp.is_none() {
            self.otlp = Some(OtlpConfig::from_vars_or_default(lookup));
            self.otlp_spans = false;
            self.otel_logs = false;
        }
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

    pub(super) fn build_tracer(self, resource: &FccResource) -> Result<FccTracer, InstallError> {
        let mut b = FccTracer::builder(resource.service_name())
            .sampler(self.sampler)
            .completed_capacity(self.completed_spans);
        b.pipeline.spans = self.spans;
        b.pipeline.logs = self.logs;
        b.pipeline.span_limits = self.span_limits;
        b.pipeline.logs_on = self.console_logs || (self.otlp.is_some() && self.otel_logs);
        for e in self.exporters {
            b = b.boxed_exporter(e);
        }
        if self.console_logs {
            let console = ConsoleLogExporter::stdout(self.log_limits);
            b.pipeline.log_exporters.push(Box::new(console));
        }
        if let Some(config) = self.otlp
            && (self.otlp_spans || self.otel_logs)
        {
            let logs = self.otel_logs.then_some(self.log_limits);
            b = with_otlp(b, config, resource, self.otlp_spans, logs)?;
        }
        b.build().map_err(InstallError::Exporter)
    }
}

#[cfg(feature = "otlp")]
fn with_otlp(
    mut b: crate::export::FccTracerBuilder,
    config: OtlpConfig,
    resource: &FccResource,
    spans: bool,
    logs: Option<LogLimits>,
) -> Result<crate::export::FccTracerBuilder, InstallError> {
    let factory = crate::otlp::factory(config, resource.clone(), spans, logs);
    b.pipeline.factory = Some(factory);
    b.pipeline.otlp = true;
    Ok(b)
}

#[cfg(not(feature = "otlp"))]
fn with_otlp(
    _b: crate::export::FccTracerBuilder,
    config: OtlpConfig,
    _resource: &FccResource,
    _spans: bool,
    _logs: Option<LogLimits>,
) -> Result<crate::export::FccTracerBuilder, InstallError> {
    Err(InstallError::Otlp(crate::otlp::OtlpConfigError {
        variable: "OTEL_EXPORTER_OTLP_ENDPOINT".into(),
        value: crate::secrets::redact_url(&config.traces.endpoint),
        reason: "this build of fcc has no OTLP support (enable the `otlp` feature)".into(),
    }))
}

/// The batch processors' default export timeout (`OTEL_BSP_EXPORT_TIMEOUT`,
/// `OTEL_BLRP_EXPORT_TIMEOUT`).
const EXPORT_TIMEOUT: Duration = Duration::from_secs(30);

/// `OTEL_BSP_*` or `OTEL_BLRP_*` (`prefix`), defaults where unset or unusable.
fn batching(
    lookup: &impl Fn(&str) -> Option<String>,
    prefix: &str,
    d: Batching,
    warnings: &mut Vec<String>,
) -> Batching {
    use super::switches::count;
    let var = |name: &str| format!("{prefix}_{name}");
    Batching {
        max_queue: count(lookup, &var("MAX_QUEUE_SIZE"), d.max_queue, warnings),
        max_batch: count(lookup, &var("MAX_EXPORT_BATCH_SIZE"), d.max_batch, warnings),
        schedule_delay: millis(lookup, &var("SCHEDULE_DELAY"), d.schedule_delay, warnings),
    }
}

/// Sends bus events to the export thread: as span events when emitted inside
/// a sampled span, and as OTel log records when OTLP is on. Nothing is
/// subscribed when the tracer exports nothing.
pub(super) fn forward_events(bus: &EventBus, tracer: &FccTracer) {
    let Some(pipeline) = tracer.pipeline() else {
        return;
    };
    let logs = pipeline.exports_logs();
    let tracer = tracer.clone();
    bus.subscribe(move |e: &Event| {
        let join = e.span_id().is_some()
            && current_ids().is_some_and(|(_, span, sampled)| sampled && Some(span) == e.span_id());
        if (join || logs)
            && let Some(p) = tracer.pipeline()
        {
            p.send_event(e.clone(), join);
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
    /// Longest wait before a partial batch of spans is exported (default
    /// 5 s; `OTEL_BSP_SCHEDULE_DELAY`).
    pub fn span_schedule_delay(mut self, delay: Duration) -> Self {
        self.traces.spans.schedule_delay = delay;
        self
    }
    /// Longest wait before a partial batch of log records is exported
    /// (default 1 s; `OTEL_BLRP_SCHEDULE_DELAY`).
    pub fn log_schedule_delay(mut self, delay: Duration) -> Self {
        self.traces.logs.schedule_delay = delay;
        self
    }
    /// What a span keeps (`OTEL_SPAN_*`, `OTEL_ATTRIBUTE_*` limits).
    pub fn span_limits(mut self, limits: SpanLimits) -> Self {
        self.traces.span_limits = limits;
        self
    }
    /// What a log record keeps (`OTEL_LOGRECORD_*`, `OTEL_ATTRIBUTE_*` limits).
    pub fn log_limits(mut self, limits: LogLimits) -> Self {
        self.traces.log_limits = limits;
        self
    }
}
