//! The OpenTelemetry API through fcc, as a library written against the
//! `opentelemetry` crate uses it: spans nest both ways with fcc spans,
//! `Context::current()` sees fcc spans, remote contexts and baggage flow,
//! meters record into FccMetrics.

use std::collections::HashMap;

use fcc::metrics::{MetricType, SeriesValue};
use fcc::otel::{FccMeterProvider, FccPropagator, FccTracerProvider};
use fcc::{traced, FccMetrics, FccTracer};
use opentelemetry::baggage::BaggageExt;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{
    Span as _, SpanKind, Status, TraceContextExt, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, InstrumentationScope, KeyValue};

/// A "library" that only knows the OTel API (here through fcc's re-export).
mod otel_only_lib {
    use fcc::opentelemetry::trace::{Span as _, TraceContextExt as _};

    pub fn query(tracer: &impl fcc::opentelemetry::trace::Tracer<Span = fcc::otel::OtelSpan>) {
        tracer.in_span("lib.query", |cx| {
            cx.span()
                .set_attribute(fcc::opentelemetry::KeyValue::new("db.system", "sqlite"));
            let mut child = tracer.start("lib.fetch");
            child.add_event("row", vec![]);
            child.end();
        });
    }
}

fn by_name<'a>(spans: &'a [fcc::SpanData], name: &str) -> &'a fcc::SpanData {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name}"))
}

#[traced(tracer = tracer, skip(tracer))]
fn handler(tracer: &FccTracer, lib: &fcc::otel::OtelTracer) {
    otel_only_lib::query(lib);
}

#[test]
fn otel_api_spans_and_fcc_spans_nest_in_both_directions() {
    let tracer = FccTracer::new("svc");
    let scope = InstrumentationScope::builder("my-lib")
        .with_version("1.2.3")
        .with_attributes([KeyValue::new("lib.kind", "db")])
        .build();
    let lib = FccTracerProvider::new(tracer.clone()).tracer_with_scope(scope);
    handler(&tracer, &lib);
    // And an fcc span inside an OTel-API span.
    lib.in_span("lib.outer", |_| {
        let _inner = tracer.span("fcc.inner");
    });
    let spans = tracer.completed_spans();
    let (h, q, f) = (
        by_name(&spans, "handler"),
        by_name(&spans, "lib.query"),
        by_name(&spans, "lib.fetch"),
    );
    assert_eq!(
        q.parent_span_id,
        Some(h.span_id),
        "OTel span under #[traced]"
    );
    assert_eq!(
        f.parent_span_id,
        Some(q.span_id),
        "tracer.start under in_span"
    );
    assert!(f.trace_id == h.trace_id && q.trace_id == h.trace_id);
    assert_eq!(q.attribute("db.system").unwrap().as_str(), "sqlite");
    assert_eq!(f.events.len(), 1);
    let s = q.scope.as_ref().unwrap();
    assert_eq!(
        (s.name(), s.version()),
        ("my-lib", Some("1.2.3")),
        "scope kept"
    );
    assert_eq!(s.attributes().count(), 1);
    assert!(h.scope.is_none(), "fcc's own spans have no library scope");
    let (outer, inner) = (by_name(&spans, "lib.outer"), by_name(&spans, "fcc.inner"));
    assert_eq!(
        inner.parent_span_id,
        Some(outer.span_id),
        "fcc span under OTel span"
    );
    assert_eq!(inner.trace_id, outer.trace_id);
    assert_eq!(
        outer.status,
        fcc::trace::SpanStatus::Unset,
        "OTel convention"
    );
}

#[test]
fn context_current_inside_an_fcc_span_is_that_span() {
    fcc::otel::activate();
    let tracer = FccTracer::new("svc");
    let span = tracer.span("work");
    let id = span.context().unwrap();
    let cx = Context::current();
    let sc = cx.span().span_context().clone();
    assert_eq!(sc.span_id().to_bytes(), id.span_id.to_bytes());
    assert_eq!(sc.trace_id().to_bytes(), id.trace_id.to_bytes());
    assert!(sc.is_sampled());
    drop(span);
    assert!(
        !Context::current().has_active_span(),
        "left when the span ends"
    );
}

#[test]
fn an_attached_extracted_context_is_the_parent_and_its_baggage_flows_on() {
    let tracer = FccTracer::new("svc");
    let propagator = FccPropagator::default();
    let incoming: HashMap<String, String> = [
        (
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ),
        ("tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
        ("baggage", "user.id=alice,tenant=acme%20corp;region=eu"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let cx = propagator.extract(&incoming);
    let _attached = cx.attach();
    let mut outgoing = HashMap::new();
    {
        let _server = tracer.span("handle");
        let current = Context::current();
        let baggage = current.baggage();
        assert_eq!(baggage.get("user.id").map(|v| v.as_str()), Some("alice"));
        assert_eq!(baggage.get("tenant").map(|v| v.as_str()), Some("acme corp"));
        propagator.inject(&mut outgoing);
    }
    let s = &tracer.completed_spans()[0];
    assert_eq!(s.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(s.parent_span_id.unwrap().to_string(), "00f067aa0ba902b7");
    assert!(s.parent_is_remote);
    assert_eq!(
        outgoing["traceparent"],
        format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{}-01", s.span_id),
        "the outgoing call carries the server span as its parent"
    );
    assert_eq!(
        outgoing["tracestate"],
        "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
    );
    assert_eq!(
        outgoing["baggage"].split(',').collect::<Vec<_>>().len(),
        2,
        "{}",
        outgoing["baggage"]
    );
    assert!(outgoing["baggage"].contains("tenant=acme%20corp;region=eu"));
}

#[test]
fn an_invalid_remote_parent_starts_a_new_trace_and_is_counted() {
    let tracer = FccTracer::new("svc");
    let lib = FccTracerProvider::new(tracer.clone()).tracer("lib");
    let before = fcc::otel::invalid_parents();
    let bad =
        Context::new().with_remote_span_context(opentelemetry::trace::SpanContext::empty_context());
    let span = lib.start_with_context("orphan", &bad);
    assert!(span.span_context().is_valid());
    drop(span);
    let s = &tracer.completed_spans()[0];
    assert_eq!(s.parent_span_id, None);
    assert!(fcc::otel::invalid_parents() > before);
    // A malformed traceparent too.
    let headers: HashMap<String, String> = [("traceparent".to_owned(), "00-xyz".to_owned())].into();
    let cx = FccPropagator::default().extract(&headers);
    assert!(!cx.has_active_span());
    assert!(fcc::otel::invalid_parents() > before + 1);
}

#[test]
fn otel_api_span_options_are_kept_and_status_follows_the_api_rules() {
    let tracer = FccTracer::new("svc");
    let lib = FccTracerProvider::new(tracer.clone()).tracer("lib");
    let linked = tracer.start("linked").context().unwrap();
    let start = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
    let mut span = lib
        .span_builder("client.call")
        .with_kind(SpanKind::Client)
        .with_start_time(start)
        .with_attributes([KeyValue::new("http.request.method", "GET")])
        .start(&lib);
    span.add_link(
        opentelemetry::trace::SpanContext::new(
            opentelemetry::trace::TraceId::from_bytes(linked.trace_id.to_bytes()),
            opentelemetry::trace::SpanId::from_bytes(linked.span_id.to_bytes()),
            opentelemetry::trace::TraceFlags::SAMPLED,
            false,
            Default::default(),
        ),
        vec![KeyValue::new("why", "retry")],
    );
    span.set_status(Status::Ok);
    span.set_status(Status::error("ignored: Ok is final"));
    span.update_name("client.GET");
    // Ended on another thread.
    std::thread::spawn(move || {
        span.end_with_timestamp(start + std::time::Duration::from_millis(7))
    })
    .join()
    .unwrap();
    let spans = tracer.completed_spans();
    let s = by_name(&spans, "client.GET");
    assert_eq!(s.kind, SpanKind::Client);
    assert_eq!(s.start_time, start);
    assert_eq!(s.duration_ms(), 7.0);
    assert_eq!(s.status, fcc::trace::SpanStatus::Ok);
    assert_eq!(s.links.len(), 1);
    assert_eq!(s.links[0].context.span_id, linked.span_id);
    assert_eq!(s.attribute("http.request.method").unwrap().as_str(), "GET");
}

#[test]
fn otel_api_spans_never_ended_end_when_dropped_and_memory_stays_bounded() {
    let tracer = FccTracer::builder("svc")
        .completed_capacity(100)
        .build()
        .unwrap();
    let lib = FccTracerProvider::new(tracer.clone()).tracer("lib");
    for _ in 0..1000 {
        // Never `end()`ed: it ends, and is recorded, when dropped.
        let _span = lib.start("never.ended");
    }
    // Held only by a context: ends when the last context goes.
    let cx = Context::current_with_span(lib.start("in.context"));
    let copy = cx.clone();
    drop(cx);
    assert_eq!(tracer.completed_spans().len(), 100, "bounded");
    drop(copy);
    let spans = tracer.completed_spans();
    assert_eq!(spans.len(), 100);
    assert_eq!(
        tracer.dropped_spans(),
        901,
        "what the bound let go is counted"
    );
    assert_eq!(spans.last().unwrap().name, "in.context");
    assert!(spans.iter().all(|s| s.end_time >= s.start_time));
}

#[test]
fn meter_instruments_record_into_fcc_metrics_with_name_unit_and_description() {
    let metrics = FccMetrics::new();
    let meter = FccMeterProvider::new(metrics.clone()).meter("lib");
    let requests = meter
        .u64_counter("http.server.requests")
        .with_unit("{request}")
        .with_description("Requests served")
        .build();
    requests.add(
        3,
        &[KeyValue::new("route", "/a"), KeyValue::new("code", 200)],
    );
    let inflight = meter.i64_up_down_counter("http.server.active").build();
    inflight.add(5, &[]);
    inflight.add(-2, &[]);
    let latency = meter
        .f64_histogram("http.server.duration")
        .with_unit("s")
        .with_boundaries(vec![0.1, 1.0])
        .build();
    latency.record(0.5, &[]);
    let temp = meter.f64_gauge("room.temperature").build();
    temp.record(21.5, &[]);
    let _queue = meter
        .u64_observable_gauge("queue.depth")
        .with_callback(|o| o.observe(42, &[KeyValue::new("queue", "jobs")]))
        .build();
    // Bad input is refused and counted, not a panic.
    meter
        .f64_counter("http.server.requests.bad")
        .build()
        .add(-1.0, &[]);

    let snapshot = metrics.snapshot();
    let get = |name: &str| {
        snapshot
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("no {name}"))
    };
    let r = get("http.server.requests");
    assert_eq!(
        (r.metric_type, r.unit.as_str()),
        (MetricType::Counter, "{request}")
    );
    assert_eq!(r.description, "Requests served");
    assert_eq!(r.series[0].labels["code"], "200");
    assert_eq!(r.series[0].value, SeriesValue::Counter(3.0));
    assert_eq!(
        get("http.server.active").series[0].value,
        SeriesValue::Gauge(Some(3.0))
    );
    match &get("http.server.duration").series[0].value {
        SeriesValue::Histogram { bounds, counts, .. } => {
            assert_eq!(bounds, &[0.1, 1.0]);
            assert_eq!(counts, &[0, 1, 0]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        get("room.temperature").series[0].value,
        SeriesValue::Gauge(Some(21.5))
    );
    let q = get("queue.depth");
    assert_eq!(q.series[0].labels["queue"], "jobs");
    assert_eq!(q.series[0].value, SeriesValue::Gauge(Some(42.0)));
    assert!(metrics.stats().rejected >= 1);
}
