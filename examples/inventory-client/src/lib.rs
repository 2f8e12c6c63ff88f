//! A client library as many are written: instrumented with the
//! OpenTelemetry API only. It knows nothing of fcc, of `tracing` or of the
//! HTTP client its caller uses: each call gets a client span from the
//! global tracer, and the global propagator's headers for that span.
//!
//! In a service that set up fcc, the span is an fcc span (a child of the
//! caller's `#[traced]` or `tracing` span) and the headers carry it.

use std::collections::HashMap;
use std::future::Future;

use opentelemetry::trace::{FutureExt as _, SpanKind, TraceContextExt as _, Tracer as _};
use opentelemetry::{global, Context, KeyValue};

/// Runs one outgoing call: `send` gets the headers to put on the request
/// (`traceparent`, `tracestate`, `baggage`: whatever the global propagator
/// writes) and runs inside a client span named `operation`.
pub async fn call<F, Fut, T>(operation: &'static str, peer: &str, send: F) -> T
where
    F: FnOnce(HashMap<String, String>) -> Fut,
    Fut: Future<Output = T>,
{
    let tracer = global::tracer("inventory-client");
    let span = tracer
        .span_builder(operation)
        .with_kind(SpanKind::Client)
        .with_attributes([KeyValue::new("server.address", peer.to_owned())])
        .start(&tracer);
    let cx = Context::current_with_span(span);
    let mut headers = HashMap::new();
    global::get_text_map_propagator(|p| p.inject_context(&cx, &mut headers));
    send(headers).with_context(cx).await
}
