//! The OTLP log exporter (through opentelemetry-otlp), and the factory that
//! builds the OTLP span and log exporters on the export thread.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::logs::{
    AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity as OtelSeverity,
};
use opentelemetry::trace::{SpanId as OtelSpanId, TraceFlags, TraceId as OtelTraceId};
use opentelemetry::InstrumentationScope;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::logs::{
    LogBatch, LogExporter as _, SdkLogRecord, SdkLogger, SdkLoggerProvider,
};
use opentelemetry_sdk::Resource;

use crate::export::LogLimits;
use crate::otel::FccResource;
use tokio::runtime::Runtime;

use super::span_exporter::OtlpSpanExporter;
use super::transport::{grpc_channel, grpc_metadata, HttpClient};
use super::{OtlpCompression, OtlpConfig, OtlpProtocol, OtlpSignal};
use crate::export::event_attributes::{event_attributes, static_event_name};
use crate::export::pipeline::{ExporterFactory, LogExport, LogItem};
use crate::export::LogRecord;
use crate::export::{ExportError, ExportOperation, SpanExporter};
use crate::{Event, Severity};

fn scope() -> InstrumentationScope {
    InstrumentationScope::builder("fcc")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

fn runtime() -> Result<Arc<Runtime>, ExportError> {
    tokio::runtime::Builder::new_current_thread()
        .on_thread_start(crate::internal::thread::mark_internal_thread)
        .enable_all()
        .build()
        .map(Arc::new)
        .map_err(|e| ExportError::cannot_start("otlp", e))
}

/// Where the HTTP client leaves its last failure in full.
type FailureSlot = Arc<std::sync::Mutex<Option<String>>>;

/// The HTTP client of an HTTP signal (`None` for gRPC) and its failure slot.
fn http_client(signal: &OtlpSignal) -> Result<(Option<HttpClient>, FailureSlot), ExportError> {
    if signal.protocol == OtlpProtocol::Grpc {
        return Ok((None, FailureSlot::default()));
    }
    let client = HttpClient::new(signal)?;
    let slot = client.failure_slot();
    Ok((Some(client), slot))
}

/// Runs one export on `rt`, bounded in all (retries included) by `timeout`;
/// an error gets the transport's own account of it (`failure`) appended.
fn bounded<T, E: std::fmt::Display>(
    rt: &Runtime,
    timeout: Duration,
    what: &'static str,
    failure: &FailureSlot,
    export: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, ExportError> {
    if let Ok(mut f) = failure.lock() {
        f.take();
    }
    match rt.block_on(async { tokio::time::timeout(timeout, export).await }) {
        Ok(result) => result.map_err(|e| {
            let detail = failure.lock().ok().and_then(|mut f| f.take());
            match detail {
                Some(d) => ExportError::failed(what, format!("{e} ({d})")),
                None => ExportError::failed(what, e.to_string()),
            }
        }),
        Err(_) => Err(ExportError::timed_out(
            what,
            ExportOperation::Export,
            timeout,
        )),
    }
}

/// The compression to ask opentelemetry-otlp for; `None` leaves it unset
/// (it then reads the same variables fcc has read, to the same result).
fn compression(signal: &OtlpSignal) -> Option<opentelemetry_otlp::Compression> {
    match signal.compression {
        OtlpCompression::Gzip => Some(opentelemetry_otlp::Compression::Gzip),
        _ => None,
    }
}

fn resource(resource: &FccResource) -> Resource {
    Resource::builder_empty()
        .with_attributes(resource.attributes().iter().cloned())
        .build()
}

/// Sends events as OTel log records over OTLP.
struct OtlpLogExporter {
    rt: Arc<Runtime>,
    failure: FailureSlot,
    timeout: Duration,
    inner: opentelemetry_otlp::LogExporter,
    logger: SdkLogger,
    _provider: SdkLoggerProvider,
    scope: InstrumentationScope,
    limits: LogLimits,
}

impl OtlpLogExporter {
    fn with_runtime(
        rt: Arc<Runtime>,
        config: &OtlpConfig,
        service: &FccResource,
    ) -> Result<OtlpLogExporter, ExportError> {
        let signal = &config.logs;
        let (http, failure) = http_client(signal)?;
        let built = {
            let _enter = rt.enter();
            let b = opentelemetry_otlp::LogExporter::builder();
            match http {
                None => {
                    let b = b
                        .with_tonic()
                        .with_channel(grpc_channel(signal)?)
                        .with_metadata(grpc_metadata(&signal.headers))
                        .with_timeout(signal.timeout);
                    match compression(signal) {
                        Some(c) => b.with_compression(c).build(),
                        None => b.build(),
                    }
                }
                Some(client) => {
                    let b = b
                        .with_http()
                        .with_http_client(client)
                        .with_protocol(Protocol::HttpBinary)
                        .with_endpoint(&signal.endpoint)
                        .with_timeout(signal.timeout);
                    match compression(signal) {
                        Some(c) => b.with_compression(c).build(),
                        None => b.build(),
                    }
                }
            }
        };
        let mut inner = built.map_err(|e| ExportError::config("otlp logs", e))?;
        inner.set_resource(&resource(service));
        // A provider with no processors: only a factory for log records.
        let provider = SdkLoggerProvider::builder().build();
        let logger = provider.logger("fcc");
        Ok(OtlpLogExporter {
            rt,
            failure,
            timeout: signal.timeout,
            inner,
            logger,
            _provider: provider,
            scope: scope(),
            limits: LogLimits::default(),
        })
    }

    fn record(&self, e: &Event) -> SdkLogRecord {
        let mut r = self.logger.create_log_record();
        r.set_event_name(static_event_name(e));
        r.set_timestamp(e.timestamp().to_system_time());
        r.set_observed_timestamp(std::time::SystemTime::now());
        let (number, text) = match e.severity() {
            Severity::Debug => (OtelSeverity::Debug, "DEBUG"),
            Severity::Info => (OtelSeverity::Info, "INFO"),
            Severity::Warn => (OtelSeverity::Warn, "WARN"),
            Severity::Error => (OtelSeverity::Error, "ERROR"),
        };
        r.set_severity_number(number);
        r.set_severity_text(text);
        if let Some(d) = e.detail() {
            r.set_body(AnyValue::from(d.to_owned()));
        }
        let mut attributes = event_attributes(e);
        self.limits.apply(&mut attributes);
        r.add_attributes(
            attributes
                .into_iter()
                .map(|kv| (kv.key, value_to_any(kv.value))),
        );
        if let (Some(t), Some(s)) = (e.trace_id(), e.span_id()) {
            r.set_trace_context(
                OtelTraceId::from_bytes(t.to_bytes()),
                OtelSpanId::from_bytes(s.to_bytes()),
                Some(TraceFlags::SAMPLED),
            );
        }
        r
    }
}

impl OtlpLogExporter {
    /// A plain `tracing` event's record.
    fn plain_record(&self, l: &LogRecord) -> SdkLogRecord {
        let mut r = self.logger.create_log_record();
        r.set_timestamp(l.timestamp);
        r.set_observed_timestamp(std::time::SystemTime::now());
        let number = match l.level {
            tracing::Level::TRACE => OtelSeverity::Trace,
            tracing::Level::DEBUG => OtelSeverity::Debug,
            tracing::Level::INFO => OtelSeverity::Info,
            tracing::Level::WARN => OtelSeverity::Warn,
            tracing::Level::ERROR => OtelSeverity::Error,
        };
        r.set_severity_number(number);
        r.set_severity_text(l.level.as_str());
        r.set_target(l.target.clone());
        if let Some(body) = &l.body {
            r.set_body(AnyValue::from(body.clone()));
        }
        let mut attributes = l.attributes.clone();
        self.limits.apply(&mut attributes);
        r.add_attributes(
            attributes
                .into_iter()
                .map(|kv| (kv.key, value_to_any(kv.value))),
        );
        if let Some((t, s, sampled)) = l.span {
            r.set_trace_context(
                OtelTraceId::from_bytes(t.to_bytes()),
                OtelSpanId::from_bytes(s.to_bytes()),
                Some(if sampled {
                    TraceFlags::SAMPLED
                } else {
                    TraceFlags::default()
                }),
            );
        }
        r
    }
}

fn value_to_any(v: opentelemetry::Value) -> AnyValue {
    match v {
        opentelemetry::Value::Bool(b) => AnyValue::Boolean(b),
        opentelemetry::Value::I64(i) => AnyValue::Int(i),
        opentelemetry::Value::F64(f) => AnyValue::Double(f),
        opentelemetry::Value::String(s) => AnyValue::String(s),
        other => AnyValue::String(other.to_string().into()),
    }
}

impl LogExport for OtlpLogExporter {
    fn name(&self) -> &str {
        "otlp logs"
    }
    fn is_remote(&self) -> bool {
        true
    }
    // opentelemetry-otlp retries by the OTLP rules.
    fn retries_itself(&self) -> bool {
        true
    }
    fn export(&mut self, logs: &[LogItem]) -> Result<(), ExportError> {
        let records: Vec<SdkLogRecord> = logs
            .iter()
            .map(|item| match item {
                LogItem::Event(e) => self.record(e),
                LogItem::Record(r) => self.plain_record(r),
            })
            .collect();
        let pairs: Vec<(&SdkLogRecord, &InstrumentationScope)> =
            records.iter().map(|r| (r, &self.scope)).collect();
        bounded(
            &self.rt,
            self.timeout,
            "otlp logs",
            &self.failure,
            self.inner.export(LogBatch::new(&pairs)),
        )
    }

    fn shutdown(&mut self) -> Result<(), ExportError> {
        let _enter = self.rt.enter();
        self.inner
            .shutdown()
            .map_err(|e| ExportError::failed("otlp logs", e))
    }
}

/// Builds the OTLP span and log exporters on the export thread, each with
/// its own runtime: they run on separate lanes, and a current-thread
/// runtime drives its network only from the thread blocked on it.
pub(crate) fn factory(
    config: OtlpConfig,
    service: FccResource,
    spans: bool,
    logs: Option<LogLimits>,
) -> ExporterFactory {
    Box::new(move || {
        let mut span_exporters: Vec<Box<dyn SpanExporter>> = Vec::new();
        if spans {
            let e = OtlpSpanExporter::for_resource(&config, &service)?;
            span_exporters.push(Box::new(e));
        }
        let mut log_exporters: Vec<Box<dyn LogExport>> = Vec::new();
        if let Some(limits) = logs {
            let mut e = OtlpLogExporter::with_runtime(runtime()?, &config, &service)?;
            e.limits = limits;
            log_exporters.push(Box::new(e));
        }
        Ok((span_exporters, log_exporters))
    })
}
