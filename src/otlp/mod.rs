//! OTLP: spans and events (as log records) to an OpenTelemetry Collector, over
//! gRPC or HTTP/protobuf, with the exporters of `opentelemetry-otlp`.
//!
//! fcc builds spans and events itself (that is where its speed comes from)
//! and converts them to the OTel SDK's data types on the export thread, where
//! `opentelemetry-otlp` sends them. The export thread owns a small
//! single-threaded tokio runtime for the network client; your own runtime, if
//! you have one, is never used or blocked.
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
