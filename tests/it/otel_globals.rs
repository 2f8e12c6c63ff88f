//! After `install()`, a service using `#[traced]`, a library on the OTel API
//! (`global::tracer`, `global::meter`, the global propagator), plain
//! `tracing::info!` and the `metrics` macros is one correlated stream at a
//! real OTLP receiver. This installs the process-wide globals, so it is its
//! own test binary with one test.

use crate::support::otlp_receiver;

use std::collections::HashMap;
use std::time::Duration;

use fcc::{traced, LogTarget, Telemetry};
use opentelemetry::trace::{TraceContextExt as _, Tracer as _};
use opentelemetry::KeyValue;

/// A library that knows only the OpenTelemetry API.
fn library_call() -> HashMap<String, String> {
    let tracer = opentelemetry::global::tracer("inventory-lib");
    tracer.in_span("inventory.lookup", |cx| {
        cx.span().set_attribute(KeyValue::new("sku", "A-1"));
        cx.span().add_link(
            opentelemetry::trace::SpanContext::new(
                opentelemetry::trace::TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736")
                    .unwrap(),
                opentelemetry::trace::SpanId::from_hex("00f067aa0ba902b7").unwrap(),
                opentelemetry::trace::TraceFlags::SAMPLED,
                true,
                Default::default(),
            ),
            vec![KeyValue::new("link.reason", "batch")],
        );
        opentelemetry::global::meter("inventory-lib")
            .u64_counter("inventory.lookups")
            .build()
            .add(1, &[KeyValue::new("store", "north")]);
        let mut headers = HashMap::new();
        opentelemetry::global::get_text_map_propagator(|p| p.inject(&mut headers));
        headers
    })
}

/// A library written against fcc's re-export of the API (no direct
/// `opentelemetry` dependency): the same crate, so the same globals.
fn reexport_library_call() {
    use fcc::opentelemetry::trace::Tracer as _;
    fcc::opentelemetry::global::tracer("reexport-lib").in_span("reexport.call", |_cx| {});
}

#[traced]
fn handle_order(order: u64) -> HashMap<String, String> {
    tracing::info!(order, "handling order");
    metrics::counter!("orders.handled").increment(1);
    reexport_library_call();
    library_call()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn reexport_scope(spans: &[otlp_receiver::ReceivedSpan]) -> String {
    spans
        .iter()
        .find(|s| s.span.name == "reexport.call")
        .map(|s| s.scope.clone())
        .unwrap_or_default()
}

#[test]
fn one_install_bridges_the_otel_api_tracing_logs_and_metrics() {
    let receiver = otlp_receiver::OtlpReceiver::grpc("127.0.0.1:0");
    let t = Telemetry::builder()
        .log(LogTarget::Off)
        .fmt(None)
        .otlp(Some(
            fcc::otlp::OtlpConfig::new(&receiver.endpoint(), fcc::otlp::OtlpProtocol::Grpc)
                .unwrap(),
        ))
        .install()
        .unwrap();
    let headers = handle_order(7);
    t.flush(Duration::from_secs(10)).unwrap();

    let spans = receiver.received.wait_spans(3);
    let find = |name: &str| spans.iter().find(|s| s.span.name == name).unwrap();
    let (order, lookup) = (find("handle_order"), find("inventory.lookup"));
    let reexport = find("reexport.call");
    assert_eq!(
        reexport.span.trace_id, order.span.trace_id,
        "bridged through fcc::opentelemetry"
    );
    assert_eq!(reexport.span.parent_span_id, order.span.span_id);
    assert_eq!(lookup.span.trace_id, order.span.trace_id, "one trace");
    assert_eq!(lookup.scope, "inventory-lib", "the library's scope is kept");
    assert_eq!(reexport_scope(&spans), "reexport-lib");
    assert_ne!(order.scope, "inventory-lib");
    assert_eq!(lookup.span.links.len(), 1, "links are exported");
    let link = &lookup.span.links[0];
    assert_eq!(hex(&link.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(hex(&link.span_id), "00f067aa0ba902b7");
    assert_eq!(
        otlp_receiver::attr_str(&link.attributes, "link.reason").as_deref(),
        Some("batch")
    );
    assert_eq!(lookup.span.parent_span_id, order.span.span_id);
    let lookup_id: String = lookup
        .span
        .span_id
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let trace_id: String = order
        .span
        .trace_id
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        headers["traceparent"],
        format!("00-{trace_id}-{lookup_id}-01"),
        "the global propagator injects the current (library) span"
    );

    // The plain tracing::info! is a log record in the span's trace.
    let logs = receiver.received.wait_logs(1);
    let log = logs
        .iter()
        .find(|l| {
            l.record
                .body
                .as_ref()
                .is_some_and(|b| format!("{b:?}").contains("handling order"))
        })
        .expect("the tracing::info! log record");
    assert_eq!(log.record.trace_id, order.span.trace_id);
    assert_eq!(log.record.span_id, order.span.span_id);
    assert_eq!(log.record.severity_text, "INFO");
    assert_eq!(
        format!(
            "{:?}",
            otlp_receiver::attr(&log.record.attributes, "order").unwrap()
        ),
        "IntValue(7)",
        "fields are attributes of their own type"
    );

    // The OTel meter and the metrics macros landed in fcc's metrics.
    assert_eq!(t.metrics().total("inventory.lookups"), 1.0);
    assert_eq!(t.metrics().total("orders.handled"), 1.0);

    // A second set-up is refused while this one is alive.
    let err = Telemetry::builder()
        .log(LogTarget::Off)
        .fmt(None)
        .install()
        .unwrap_err();
    assert!(matches!(err, fcc::InstallError::AlreadySetUp), "{err:?}");
    t.shutdown().unwrap();
}
