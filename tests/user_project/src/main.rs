//! A plain `fn main` (no async runtime) exporting one span with the OTel
//! SDK's own OTLP/HTTP exporter, as its docs teach, while fcc is linked.

use opentelemetry::trace::{Tracer as _, TracerProvider as _};
use opentelemetry_otlp::WithExportConfig as _;

fn main() {
    let endpoint = std::env::args().nth(1).expect("the traces endpoint");
    // fcc is linked and used, as in a service that adopts it step by step.
    let fcc_tracer = fcc::FccTracer::new("user-project");
    drop(fcc_tracer.span("fcc.span"));

    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(endpoint)
        .build()
        .expect("the SDK exporter builds");
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .build();
    provider.tracer("user").in_span("user.span", |_| {});
    provider.shutdown().expect("the SDK exports and shuts down");
    println!("exported");
}
