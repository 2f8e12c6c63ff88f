//! [`OtlpSpanExporter`]: fcc's spans over OTLP, encoded by fcc itself
//! (`trace_encode`) and sent by the signal's [`OtlpSender`](super::sender).

use super::sender::{OtlpSender, TRACES_METHOD};
use super::trace_encode::TraceEncoder;
use super::OtlpConfig;
use crate::export::{ExportError, SpanExporter};
use crate::otel::FccResource;
use crate::trace::SpanData;

/// Sends spans over OTLP (gRPC or HTTP/protobuf, as the configuration's
/// traces signal says). Build it on the thread that will use it (the
/// tracer's export thread does this for you through [`Telemetry`](crate::Telemetry)).
///
/// It retries by the OTLP rules itself, within the signal's timeout, so the
/// pipeline tries each batch once.
pub struct OtlpSpanExporter {
    sender: OtlpSender,
    encoder: TraceEncoder,
    /// The last request's buffer, reused.
    buf: Vec<u8>,
}

impl std::fmt::Debug for OtlpSpanExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpSpanExporter").finish_non_exhaustive()
    }
}

impl OtlpSpanExporter {
    /// An exporter to `config.traces`, reporting as `service_name` (with the
    /// detected resource and `OTEL_RESOURCE_ATTRIBUTES`, see [`FccResource`]).
    pub fn new(config: &OtlpConfig, service_name: &str) -> Result<OtlpSpanExporter, ExportError> {
        Self::for_resource(config, &FccResource::from_env(service_name))
    }

    pub(crate) fn for_resource(
        config: &OtlpConfig,
        resource: &FccResource,
    ) -> Result<OtlpSpanExporter, ExportError> {
        Ok(OtlpSpanExporter {
            sender: OtlpSender::new(&config.traces, TRACES_METHOD, "otlp traces")?,
            encoder: TraceEncoder::new(resource.attributes()),
            buf: Vec::new(),
        })
    }
}

impl SpanExporter for OtlpSpanExporter {
    fn export(&mut self, spans: &[SpanData]) -> Result<(), ExportError> {
        let mut buf = std::mem::take(&mut self.buf);
        self.encoder.encode(spans, &mut buf);
        // The body is handed over; the next request gets a buffer of the
        // same size ready.
        let capacity = buf.capacity();
        let result = self.sender.send(buf);
        self.buf = Vec::with_capacity(capacity);
        result
    }

    fn name(&self) -> &str {
        "otlp traces"
    }

    fn retries_itself(&self) -> bool {
        true
    }

    fn is_remote(&self) -> bool {
        true
    }
}
