//! `fcc::OpenTelemetrySpanExt` on `tracing` spans, written the way
//! tracing-opentelemetry users write it, and the `otel.*` field conventions.

use std::collections::HashMap;

use fcc::layer::SpanLayer;
use fcc::trace::{SpanKind, SpanStatus};
use fcc::{FccTracer, OpenTelemetrySpanExt, SpanData};
use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::{
    SpanContext, SpanId, Status, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Context, KeyValue};
use tracing_subscriber::layer::SubscriberExt as _;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

fn with_fcc<R>(f: impl FnOnce() -> R) -> (R, Vec<SpanData>) {
    let tracer = FccTracer::new("span-ext");
    let subscriber = tracing_subscriber::registry().with(SpanLayer::new(tracer.clone()));
    let out = tracing::subscriber::with_default(subscriber, f);
    (out, tracer.completed_spans())
}

fn incoming() -> Context {
    let headers = HashMap::from([
        ("traceparent".to_owned(), format!("00-{TRACE}-{PARENT}-01")),
        ("baggage".to_owned(), "tenant=acme".to_owned()),
    ]);
    fcc::otel::FccPropagator::default().extract(&headers)
}

fn by_name<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name}"))
}

#[test]
fn set_parent_joins_the_remote_trace_and_brings_its_baggage() {
    let (baggage, spans) = with_fcc(|| {
        let request = tracing::info_span!("request");
        request.set_parent(incoming()).unwrap();
        let _entered = request.enter();
        let _child = tracing::info_span!("child").entered();
        Context::current()
            .baggage()
            .get("tenant")
            .map(|v| v.as_str().to_owned())
    });
    assert_eq!(baggage.as_deref(), Some("acme"), "baggage inside the span");
    let (request, child) = (by_name(&spans, "request"), by_name(&spans, "child"));
    assert_eq!(request.trace_id.to_string(), TRACE);
    assert_eq!(request.parent_span_id.unwrap().to_string(), PARENT);
    assert!(request.parent_is_remote);
    assert_eq!(child.trace_id, request.trace_id);
    assert_eq!(child.parent_span_id, Some(request.span_id));
}

#[test]
fn set_parent_after_the_span_started_changes_nothing_and_says_why() {
    let ((entered, context_taken), spans) = with_fcc(|| {
        let a = tracing::info_span!("a");
        drop(a.enter());
        let entered = a.set_parent(incoming());
        let b = tracing::info_span!("b");
        let _ = b.context();
        (entered, b.set_parent(incoming()))
    });
    assert_eq!(entered, Err(fcc::layer::SetParentError::AlreadyStarted));
    assert_eq!(
        context_taken,
        Err(fcc::layer::SetParentError::AlreadyStarted)
    );
    assert!(entered.unwrap_err().to_string().contains("already entered"));
    for s in &spans {
        assert_ne!(
            s.trace_id.to_string(),
            TRACE,
            "{} kept its own trace",
            s.name
        );
        assert_eq!(s.parent_span_id, None);
    }
}

#[test]
fn set_parent_without_fcc_says_which_part_is_missing() {
    let plain = tracing_subscriber::registry();
    let err = tracing::subscriber::with_default(plain, || {
        tracing::info_span!("x").set_parent(incoming())
    });
    assert_eq!(err, Err(fcc::layer::SetParentError::LayerNotFound));
    assert!(err.unwrap_err().to_string().contains("layer()"));
    // A span that fcc's layer filters out, or a disabled span: disabled.
    use tracing_subscriber::Layer as _;
    let tracer = FccTracer::new("filtered");
    let filtered = tracing_subscriber::registry()
        .with(SpanLayer::new(tracer).with_filter(tracing_subscriber::filter::LevelFilter::WARN));
    let err = tracing::subscriber::with_default(filtered, || {
        tracing::info_span!("below.warn").set_parent(incoming())
    });
    assert_eq!(err, Err(fcc::layer::SetParentError::SpanDisabled));
    let none = tracing::Span::none().set_parent(incoming());
    assert_eq!(none, Err(fcc::layer::SetParentError::SpanDisabled));
    assert!(!tracing::Span::none().context().has_active_span());
}

#[test]
fn an_invalid_or_empty_parent_makes_a_counted_root() {
    let before = fcc::otel::invalid_parents();
    let (_, spans) = with_fcc(|| {
        let outer = tracing::info_span!("outer");
        let _o = outer.enter();
        let invalid = Context::new().with_remote_span_context(SpanContext::new(
            TraceId::INVALID,
            SpanId::INVALID,
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        ));
        let a = tracing::info_span!("invalid");
        a.set_parent(invalid).unwrap();
        let b = tracing::info_span!("empty");
        b.set_parent(Context::new()).unwrap();
    });
    assert!(fcc::otel::invalid_parents() > before, "counted");
    let outer = by_name(&spans, "outer");
    for name in ["invalid", "empty"] {
        let s = by_name(&spans, name);
        assert_eq!(s.parent_span_id, None, "{name} is a root");
        assert_ne!(s.trace_id, outer.trace_id, "{name} starts a new trace");
    }
}

#[test]
fn context_holds_the_span_and_is_what_a_propagator_injects() {
    let ((cx_span, headers), spans) = with_fcc(|| {
        let span = tracing::info_span!("outgoing");
        span.set_parent(incoming()).unwrap();
        let cx = span.context();
        let mut headers = HashMap::new();
        fcc::otel::FccPropagator::default().inject_context(&cx, &mut headers);
        (cx.span().span_context().span_id().to_string(), headers)
    });
    let s = by_name(&spans, "outgoing");
    assert_eq!(cx_span, s.span_id.to_string());
    assert_eq!(
        headers["traceparent"],
        format!("00-{TRACE}-{}-01", s.span_id)
    );
    assert_eq!(
        headers["baggage"], "tenant=acme",
        "the parent's baggage goes on"
    );
}

#[test]
fn attributes_status_events_and_links_land_on_the_span() {
    let linked = SpanContext::new(
        TraceId::from_hex(TRACE).unwrap(),
        SpanId::from_hex(PARENT).unwrap(),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    let (_, spans) = with_fcc(|| {
        let span = tracing::info_span!("work");
        span.set_attribute("db.system", "postgresql");
        span.add_event("cache.miss", vec![KeyValue::new("key", "k1")]);
        span.add_link(linked.clone());
        span.add_link(SpanContext::empty_context());
        span.set_status(Status::error("timeout"));
        span.set_status(Status::Unset);
        let ok = tracing::info_span!("ok");
        ok.set_status(Status::Ok);
        ok.set_status(Status::error("ignored: Ok is final"));
    });
    let work = by_name(&spans, "work");
    assert_eq!(work.attribute("db.system").unwrap().as_str(), "postgresql");
    assert_eq!(work.events[0].name, "cache.miss");
    assert_eq!(work.links.len(), 1, "the invalid link is ignored");
    assert_eq!(work.links[0].context.span_id.to_string(), PARENT);
    assert_eq!(work.status, SpanStatus::error("timeout"));
    assert_eq!(by_name(&spans, "ok").status, SpanStatus::Ok);
}

#[test]
fn otel_fields_set_name_kind_and_status_not_attributes() {
    let (_, spans) = with_fcc(|| {
        let _a = tracing::info_span!(
            "handler",
            otel.name = "GET /orders/{id}",
            otel.kind = "Server",
            route = "/orders/{id}"
        )
        .entered();
        // Recorded later, description before code.
        let b = tracing::info_span!(
            "call",
            otel.kind = "client",
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty
        );
        b.record("otel.status_description", "upstream 503");
        b.record("otel.status_code", "ERROR");
        let c = tracing::info_span!("fine", otel.status_code = "ok", otel.kind = "nonsense");
        drop(c);
    });
    let a = by_name(&spans, "GET /orders/{id}");
    assert_eq!(a.kind, SpanKind::Server);
    assert_eq!(a.attribute("route").unwrap().as_str(), "/orders/{id}");
    let b = by_name(&spans, "call");
    assert_eq!(b.kind, SpanKind::Client);
    assert_eq!(b.status, SpanStatus::error("upstream 503"));
    let c = by_name(&spans, "fine");
    assert_eq!(c.status, SpanStatus::Ok);
    assert_eq!(c.kind, SpanKind::Internal, "an unknown kind is ignored");
    for s in &spans {
        assert!(
            s.attributes
                .iter()
                .all(|kv| !kv.key.as_str().starts_with("otel.")),
            "{}: {:?}",
            s.name,
            s.attributes
        );
    }
}

#[test]
fn an_unsampled_root_given_a_sampled_parent_keeps_its_fields() {
    // Roots are never sampled here; a sampled remote parent is followed.
    let tracer = FccTracer::builder("ratio")
        .sampler(fcc::trace::Sampler::ParentBased(Box::new(
            fcc::trace::Sampler::AlwaysOff,
        )))
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(SpanLayer::new(tracer.clone()));
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!(
            "http.request",
            otel.name = "GET /orders",
            otel.kind = "server",
            url.path = "/orders"
        );
        span.set_parent(incoming()).unwrap();
        drop(span.enter());
        // Without a parent it stays unsampled and records nothing.
        drop(tracing::info_span!("unsampled.root"));
    });
    let spans = tracer.completed_spans();
    assert_eq!(spans.len(), 1, "{spans:?}");
    let s = &spans[0];
    assert_eq!(s.name, "GET /orders");
    assert_eq!(s.kind, SpanKind::Server);
    assert_eq!(s.attribute("url.path").unwrap().as_str(), "/orders");
    assert_eq!(s.trace_id.to_string(), TRACE);
}

#[test]
fn a_span_with_an_explicit_child_cannot_change_its_parent() {
    let (result, spans) = with_fcc(|| {
        let parent = tracing::info_span!("parent");
        let _child = tracing::info_span!(parent: &parent, "child");
        parent.set_parent(incoming())
    });
    assert_eq!(result, Err(fcc::layer::SetParentError::AlreadyStarted));
    let (parent, child) = (by_name(&spans, "parent"), by_name(&spans, "child"));
    assert_eq!(child.trace_id, parent.trace_id, "one trace");
    assert_eq!(child.parent_span_id, Some(parent.span_id));
}
