//! Spans entered on one thread (`FccTracer::span`, synchronous `#[traced]`)
//! live in their frame of the thread's context stack until they end: they
//! nest, end out of order, record errors and events, stay out of the export
//! when not sampled, and reach the exporters whole whichever way they are
//! handed over.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fcc::export::{ExportError, SpanExporter};

use crate::support::kept_spans::{self, named, Keep};
use fcc::trace::{FccTracer, KeyValue, Sampler, SpanData, SpanStatus, Value};
use fcc::traced;

fn exporting(keep: &Keep, queue: usize) -> FccTracer {
    kept_spans::exporting("local", keep, queue)
}

#[test]
fn guards_dropped_out_of_order_end_both_spans_and_leave_the_stack_empty() {
    let keep = Keep::default();
    let tracer = exporting(&keep, 1024);
    let mut outer = tracer.span("outer");
    outer.set_attribute("who", "outer");
    let mut inner = tracer.span("inner");
    drop(outer);
    // The inner span is still current and still records.
    assert_eq!(
        fcc::trace::current().map(|c| c.span_id),
        inner.context().map(|c| c.span_id)
    );
    inner.set_attribute("who", "inner");
    let sibling = tracer.span("sibling");
    assert_eq!(
        sibling.context().unwrap().trace_id,
        inner.context().unwrap().trace_id
    );
    drop(sibling);
    drop(inner);
    assert!(fcc::trace::current().is_none(), "the stack is empty again");

    let spans = keep.flushed(&tracer);
    assert_eq!(spans.len(), 3);
    let (outer, inner, sibling) = (
        named(&spans, "outer"),
        named(&spans, "inner"),
        named(&spans, "sibling"),
    );
    assert_eq!(inner.parent_span_id, Some(outer.span_id));
    assert_eq!(sibling.parent_span_id, Some(inner.span_id));
    assert_eq!(outer.attribute("who"), Some(&Value::from("outer")));
    assert_eq!(inner.attribute("who"), Some(&Value::from("inner")));
    assert!(spans.iter().all(|s| s.status == SpanStatus::Ok));
}

#[test]
fn errors_events_and_statuses_on_a_guard_are_exported() {
    let keep = Keep::default();
    let tracer = exporting(&keep, 1024);
    {
        let mut failed = tracer.span("failed");
        failed.set_attribute("step", 3_i64);
        failed.record_error(&std::io::Error::other("disk on fire"));
    }
    {
        let mut noted = tracer.span("noted");
        noted.add_event("checkpoint", [KeyValue::new("at", 7_i64)]);
    }
    {
        let mut recovered = tracer.span("recovered");
        recovered.set_status(SpanStatus::error("first try failed"));
        recovered.set_status(SpanStatus::Ok);
    }
    {
        let mut set = tracer.span("set");
        set.set_attributes([KeyValue::new("a", 1_i64), KeyValue::new("b", 2_i64)]);
        set.set_status(SpanStatus::error("bad input"));
    }
    let spans = keep.flushed(&tracer);

    let failed = named(&spans, "failed");
    assert_eq!(failed.status, SpanStatus::error("disk on fire"));
    assert_eq!(failed.events.len(), 1);
    assert_eq!(failed.events[0].name, "exception");
    assert_eq!(failed.attribute("step"), Some(&Value::I64(3)));

    let noted = named(&spans, "noted");
    assert_eq!(noted.status, SpanStatus::Ok);
    assert_eq!(noted.events[0].name, "checkpoint");
    assert_eq!(noted.events[0].attributes, vec![KeyValue::new("at", 7_i64)]);

    assert_eq!(named(&spans, "recovered").status, SpanStatus::Ok);

    let set = named(&spans, "set");
    assert_eq!(set.status, SpanStatus::error("bad input"));
    assert_eq!(set.attribute("a"), Some(&Value::I64(1)));
    assert_eq!(set.attribute("b"), Some(&Value::I64(2)));
}

#[test]
fn an_unsampled_guard_is_current_but_records_nothing() {
    let keep = Keep::default();
    let tracer = FccTracer::builder("local")
        .completed_capacity(0)
        .sampler(Sampler::AlwaysOff)
        .exporter(keep.clone())
        .build()
        .unwrap();
    {
        let mut off = tracer.span("off");
        assert!(!off.is_recording());
        off.set_attribute("ignored", true);
        off.record_error("ignored too");
        let ctx = fcc::trace::current().expect("the span is current");
        assert_eq!(Some(ctx.span_id), off.context().map(|c| c.span_id));
        assert!(!ctx.sampled);
        let child = tracer.span("child");
        assert!(!child.is_recording());
    }
    assert!(fcc::trace::current().is_none());
    assert!(keep.flushed(&tracer).is_empty());
}

#[test]
fn attributes_that_do_not_fit_the_ring_still_arrive_in_order() {
    let keep = Keep::default();
    // A queue of 2: the attribute ring holds 8, so 20 do not fit.
    let tracer = exporting(&keep, 2);
    // One span in flight at a time: the queue holds two.
    for round in 0..10_i64 {
        {
            let mut wide = tracer.span("wide");
            for i in 0..20_i64 {
                wide.set_attribute(format!("a{i}"), round * 100 + i);
            }
        }
        tracer.flush(Duration::from_secs(30)).unwrap();
        {
            let mut narrow = tracer.span("narrow");
            narrow.set_attribute("round", round);
        }
        tracer.flush(Duration::from_secs(30)).unwrap();
    }
    let spans = keep.flushed(&tracer);
    assert_eq!(spans.len(), 20, "every span arrives: {:?}", tracer.stats());
    let mut rounds = Vec::new();
    for s in spans.iter().filter(|s| s.name == "wide") {
        let values: Vec<i64> = s
            .attributes
            .iter()
            .map(|kv| match &kv.value {
                Value::I64(v) => *v,
                other => panic!("{other:?}"),
            })
            .collect();
        let round = values[0] / 100;
        assert_eq!(values, (0..20).map(|i| round * 100 + i).collect::<Vec<_>>());
        rounds.push(round);
    }
    rounds.sort();
    assert_eq!(rounds, (0..10).collect::<Vec<_>>());
    for s in spans.iter().filter(|s| s.name == "narrow") {
        assert_eq!(s.attributes.len(), 1);
    }
}

static TRACED: std::sync::OnceLock<FccTracer> = std::sync::OnceLock::new();

/// A value whose `Debug` starts a span: it runs while `#[traced]` records
/// its arguments.
struct Chatty;
impl std::fmt::Debug for Chatty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let _inside = TRACED.get().unwrap().span("inside.debug");
        f.write_str("Chatty")
    }
}

#[traced(tracer = TRACED.get())]
fn takes_chatty(value: &Chatty, n: u32) -> Result<u32, String> {
    let _ = value;
    if n == 0 {
        Err("n is zero".into())
    } else {
        Ok(n)
    }
}

#[test]
fn a_traced_arguments_debug_may_start_spans_and_errors_are_recorded() {
    let tracer = TRACED.get_or_init(|| FccTracer::new("local"));
    assert_eq!(takes_chatty(&Chatty, 2), Ok(2));
    assert!(takes_chatty(&Chatty, 0).is_err());
    assert!(fcc::trace::current().is_none());

    let spans = tracer.completed_spans();
    let calls: Vec<&SpanData> = spans.iter().filter(|s| s.name == "takes_chatty").collect();
    let insides: Vec<&SpanData> = spans.iter().filter(|s| s.name == "inside.debug").collect();
    assert_eq!((calls.len(), insides.len()), (2, 2));
    for (call, inside) in calls.iter().zip(&insides) {
        // The argument was recorded, and the span its Debug started is the
        // call's child.
        assert_eq!(call.attribute("value"), Some(&Value::from("Chatty")));
        assert_eq!(
            call.attribute("n"),
            Some(&Value::I64(if call.status == SpanStatus::Ok {
                2
            } else {
                0
            }))
        );
        assert_eq!(inside.parent_span_id, Some(call.span_id));
        assert!(call.attribute("code.function.name").is_some());
    }
    assert_eq!(calls[0].status, SpanStatus::Ok);
    assert_eq!(calls[1].status, SpanStatus::error("n is zero"));
    assert_eq!(calls[1].events[0].name, "exception");
}

#[test]
fn a_guard_open_when_the_otel_bridge_turns_on_ends_cleanly() {
    use opentelemetry::trace::TraceContextExt as _;
    let tracer = FccTracer::new("local");
    let before = tracer.span("before");
    let before_id = before.context().unwrap().span_id;
    fcc::otel::activate();
    // Now mirrored into the OTel context.
    let cx = opentelemetry::Context::current();
    assert_eq!(
        cx.span().span_context().span_id().to_bytes(),
        before_id.to_bytes()
    );
    {
        let after = tracer.span("after");
        let cx = opentelemetry::Context::current();
        assert_eq!(
            cx.span().span_context().span_id().to_bytes(),
            after.context().unwrap().span_id.to_bytes()
        );
    }
    drop(before);
    assert!(!opentelemetry::Context::current().has_active_span());
    assert!(fcc::trace::current().is_none());
    let spans = tracer.completed_spans();
    assert_eq!(
        named(&spans, "after").parent_span_id,
        Some(named(&spans, "before").span_id)
    );
}

/// Keeps every span it is given, and how many it had when it was shut down.
#[derive(Clone, Default)]
struct KeepUntilShutdown {
    spans: Arc<Mutex<Vec<SpanData>>>,
    at_shutdown: Arc<Mutex<Option<Vec<String>>>>,
}

impl SpanExporter for KeepUntilShutdown {
    fn export(&mut self, spans: &[SpanData]) -> Result<(), ExportError> {
        self.spans.lock().unwrap().extend_from_slice(spans);
        Ok(())
    }
    fn shutdown(&mut self) -> Result<(), ExportError> {
        let names = self
            .spans
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.name.to_string())
            .collect();
        *self.at_shutdown.lock().unwrap() = Some(names);
        Ok(())
    }
}

/// A child span of the same tracer holds no `Arc` of its own: its parent's
/// frame keeps the tracer alive. When the parent's guard ends first and the
/// user's own handle is already gone, the child's frame must take that
/// over, or the tracer (and its export thread) would be gone before the
/// child ends.
#[test]
fn a_dropped_tracer_lives_until_its_last_open_span_ends_whichever_guard_ends_first() {
    for parent_first in [true, false] {
        let keep = KeepUntilShutdown::default();
        let tracer = FccTracer::builder("local")
            .completed_capacity(0)
            .exporter(keep.clone())
            .build()
            .unwrap();
        let parent = tracer.span("parent");
        let mut child = tracer.span("child");
        let grandchild = tracer.span("grandchild");
        drop(tracer);
        if parent_first {
            drop(parent);
            drop(grandchild);
            child.set_attribute("still", "recording");
            drop(child);
        } else {
            drop(grandchild);
            drop(child);
            drop(parent);
        }
        // The last span's end let the tracer go: its pipeline shut down and
        // exported all three first.
        let at_shutdown = keep.at_shutdown.lock().unwrap().clone();
        let mut names = at_shutdown.expect("the exporter is shut down once the tracer is gone");
        names.sort();
        assert_eq!(
            names,
            ["child", "grandchild", "parent"],
            "parent_first: {parent_first}"
        );
        let spans = keep.spans.lock().unwrap().clone();
        if parent_first {
            assert_eq!(
                named(&spans, "child").attribute("still"),
                Some(&Value::from("recording"))
            );
        }
    }
}
