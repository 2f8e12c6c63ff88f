//! Work handed to another task or thread stays in the spawning span's trace
//! with the one documented line at each kind of spawn: `tokio::spawn`
//! (`.in_current_context()`), `spawn_blocking`, `std::thread::spawn` and
//! `rayon::spawn` (`fcc::trace::in_current_context(..)`). The OTel context
//! travels too: its baggage, and an OTel-API span as the parent.

use std::sync::mpsc;

use fcc::trace::{in_current_context, FutureExt as _};
use fcc::{FccTracer, SpanData};
use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::trace::{Tracer as _, TracerProvider as _};
use opentelemetry::{Context, KeyValue};

fn by_name<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name}"))
}

/// What spawned work does: a span of its own, and the baggage it sees.
fn work(tracer: &FccTracer, name: &'static str) -> Option<String> {
    let _span = tracer.span(name);
    Context::current()
        .baggage()
        .get("tenant")
        .map(|v| v.as_str().to_owned())
}

/// Runs `spawn` inside a request span under an OTel context with baggage,
/// then checks that the spawned span is the request's child and saw the
/// baggage.
fn check(name: &'static str, spawn: impl FnOnce(FccTracer) -> Option<String>) {
    fcc::otel::activate();
    let tracer = FccTracer::new("spawn");
    let _baggage = Context::current_with_baggage([KeyValue::new("tenant", "acme")]).attach();
    let seen = {
        let _request = tracer.span("request");
        spawn(tracer.clone())
    };
    assert_eq!(seen.as_deref(), Some("acme"), "{name}: baggage travels");
    let spans = tracer.completed_spans();
    let (request, child) = (by_name(&spans, "request"), by_name(&spans, name));
    assert_eq!(child.trace_id, request.trace_id, "{name}: same trace");
    assert_eq!(
        child.parent_span_id,
        Some(request.span_id),
        "{name}: child of the spawning span"
    );
}

#[test]
fn tokio_spawn_keeps_the_parent() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    check("task", |t| {
        let _runtime = rt.enter();
        let task = async move { work(&t, "task") };
        rt.block_on(tokio::spawn(task.in_current_context()))
            .unwrap()
    });
}

#[test]
fn spawn_blocking_keeps_the_parent() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    check("blocking", |t| {
        let handle = rt.spawn_blocking(in_current_context(move || work(&t, "blocking")));
        rt.block_on(handle).unwrap()
    });
}

#[test]
fn std_thread_spawn_keeps_the_parent() {
    check("thread", |t| {
        std::thread::spawn(in_current_context(move || work(&t, "thread")))
            .join()
            .unwrap()
    });
}

#[test]
fn rayon_spawn_keeps_the_parent() {
    check("rayon", |t| {
        let (tx, rx) = mpsc::channel();
        rayon::spawn(in_current_context(move || {
            tx.send(work(&t, "rayon")).unwrap();
        }));
        rx.recv().unwrap()
    });
}

#[test]
fn an_otel_api_span_is_the_parent_of_spawned_work() {
    let tracer = FccTracer::new("spawn-otel");
    let lib = fcc::otel::FccTracerProvider::new(tracer.clone()).tracer("lib");
    lib.in_span("lib.batch", |_cx| {
        let t = tracer.clone();
        std::thread::spawn(in_current_context(move || {
            // The OTel API on the other thread sees the library's span too.
            lib_span_in_thread(&t)
        }))
        .join()
        .unwrap();
    });
    let spans = tracer.completed_spans();
    let (batch, item) = (by_name(&spans, "lib.batch"), by_name(&spans, "lib.item"));
    assert_eq!(item.parent_span_id, Some(batch.span_id));
    assert_eq!(item.trace_id, batch.trace_id);
}

fn lib_span_in_thread(tracer: &FccTracer) {
    let lib = fcc::otel::FccTracerProvider::new(tracer.clone()).tracer("lib");
    lib.in_span("lib.item", |_cx| {});
}

#[test]
fn without_the_line_spawned_work_is_a_root() {
    // What the wrapper fixes: a plain spawn starts a new trace.
    let tracer = FccTracer::new("orphan");
    {
        let _request = tracer.span("request");
        let t = tracer.clone();
        std::thread::spawn(move || drop(t.span("orphan")))
            .join()
            .unwrap();
    }
    let spans = tracer.completed_spans();
    assert_eq!(by_name(&spans, "orphan").parent_span_id, None);
}

#[test]
fn carried_context_run_on_the_spawning_thread_leaves_it_intact() {
    use opentelemetry::trace::TraceContextExt as _;
    fcc::otel::activate();
    let tracer = FccTracer::new("same-thread");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let outer = tracer.span("outer");
    let outer_id = outer.context().unwrap().span_id;
    let t = tracer.clone();
    // The carried context is the one already current here: entering it
    // again and leaving must not take `outer` out of the OTel context.
    rt.block_on(async move { drop(t.span("inline")) }.in_current_context());
    let t = tracer.clone();
    in_current_context(move || drop(t.span("inline.closure")))();
    let current = Context::current().span().span_context().span_id();
    assert_eq!(
        current.to_bytes(),
        outer_id.to_bytes(),
        "outer is still current"
    );
    drop(tracer.span("after"));
    drop(outer);
    let spans = tracer.completed_spans();
    for name in ["inline", "inline.closure", "after"] {
        assert_eq!(
            by_name(&spans, name).parent_span_id,
            Some(outer_id),
            "{name} under outer"
        );
    }
}
