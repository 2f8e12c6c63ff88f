//! OTLP: spans, events (as log records) and metrics to an OpenTelemetry
//! Collector, over gRPC or HTTP/protobuf.
//!
//! fcc builds spans and events itself (that is where its speed comes from).
//! Spans and metrics are written straight into protobuf by fcc
//! (`trace_encode`, `encode`) and sent by its own client (`sender`); log
//! records are converted to the OTel SDK's data types on the export thread
//! and sent by `opentelemetry-otlp`'s log exporter. Each exporter owns a
//! small single-threaded tokio runtime for the network client; your own
//! runtime, if you have one, is never used or blocked.
//!
//! Turn it on with `OTEL_EXPORTER_OTLP_ENDPOINT` (see [`OtlpConfig`]) and
//! [`Telemetry`](crate::Telemetry), or attach [`OtlpSpanExporter`] to a tracer.
//!
//! **Imports** (the table in ARCHITECTURE.md, checked by
//! `tests/it/import_direction.rs`): only `event`, `export`, `metrics`, `otel`, `secrets`, `trace`, `internal`.

mod config;
#[cfg(feature = "otlp")]
mod encode;
#[cfg(feature = "otlp")]
mod exporter;
mod headers;
#[cfg(feature = "otlp")]
mod metrics;
#[cfg(feature = "otlp")]
mod protobuf;
#[cfg(feature = "otlp")]
mod retry;
#[cfg(feature = "otlp")]
mod sender;
#[cfg(feature = "otlp")]
mod span_exporter;
mod temporality;
#[cfg(feature = "otlp")]
mod trace_encode;
#[cfg(feature = "otlp")]
mod transport;

pub use config::{
    parse_protocol, OtlpCompression, OtlpConfig, OtlpConfigError, OtlpHeaders, OtlpProtocol,
    OtlpSignal, OtlpTls, DEFAULT_TIMEOUT,
};
#[cfg(feature = "otlp")]
pub(crate) use exporter::factory;

#[cfg(feature = "otlp")]
pub use metrics::{MetricExportStats, OtlpMetricsExporter};
#[cfg(feature = "otlp")]
pub use span_exporter::OtlpSpanExporter;
pub use temporality::Temporality;
