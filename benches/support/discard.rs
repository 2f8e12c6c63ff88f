//! Exporters that throw spans away, for every tracer in the span benches:
//! each pipeline runs its whole export path and discards the batch at the
//! end, so the figures are the instrumentation's cost on the calling thread.

use std::hint::black_box;

use fcc::export::{ExportError, SpanExporter};
use fcc::trace::SpanData;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};

/// The most spans every pipeline holds before it drops (the same for all).
pub const QUEUE: usize = 1 << 16;

/// fcc's exporter.
pub struct Discard;
impl SpanExporter for Discard {
    fn export(&mut self, spans: &[SpanData]) -> Result<(), ExportError> {
        black_box(spans.len());
        Ok(())
    }
}

/// The OTel SDK's exporter.
#[derive(Debug)]
pub struct SdkDiscard;
impl opentelemetry_sdk::trace::SpanExporter for SdkDiscard {
    async fn export(&self, batch: Vec<opentelemetry_sdk::trace::SpanData>) -> OTelSdkResult {
        black_box(batch.len());
        Ok(())
    }
}

/// fastrace's reporter.
pub struct FastraceDiscard;
impl fastrace::collector::Reporter for FastraceDiscard {
    fn report(&mut self, spans: Vec<fastrace::collector::SpanRecord>) {
        black_box(spans.len());
    }
}

/// An OTel SDK provider with a `BatchSpanProcessor` into [`SdkDiscard`].
pub fn sdk_provider() -> SdkTracerProvider {
    let processor = BatchSpanProcessor::builder(SdkDiscard)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_max_queue_size(QUEUE)
                .build(),
        )
        .build();
    SdkTracerProvider::builder()
        .with_span_processor(processor)
        .build()
}
