//! A local span's record is written into its thread's ring when the span
//! starts and published when it ends. Spans end innermost first, so an
//! open parent's record stands in front of its ended children: it moves to
//! its frame, and every ended span is still seen by a flush, whole, with
//! the attributes it had before and after the move, and counted once.

use std::time::Duration;

use crate::support::kept_spans::{self, named, Keep};
use fcc::trace::{FccTracer, KeyValue, SpanData, Value};
use fcc::traced;

fn exporting(keep: &Keep, queue: usize) -> FccTracer {
    kept_spans::exporting("ring", keep, queue)
}

fn names(spans: &[SpanData]) -> Vec<String> {
    let mut names: Vec<String> = spans.iter().map(|s| s.name.to_string()).collect();
    names.sort();
    names
}

#[test]
fn a_flush_sees_children_that_ended_under_a_parent_still_open() {
    let keep = Keep::default();
    let tracer = exporting(&keep, 1024);
    let mut parent = tracer.span("parent");
    parent.set_attribute("before", 1_i64);
    for i in 0..3_i64 {
        let mut child = tracer.span("child");
        child.set_attribute("i", i);
    }
    let spans = keep.flushed(&tracer);
    assert_eq!(
        names(&spans),
        ["child", "child", "child"],
        "the parent is still open"
    );
    // The parent goes on recording after it moved out of its children's way.
    parent.set_attribute("after", 2_i64);
    let parent_id = parent.context().unwrap().span_id;
    drop(parent);
    let spans = keep.flushed(&tracer);
    assert_eq!(spans.len(), 4);
    let parent = named(&spans, "parent");
    assert_eq!(parent.span_id, parent_id);
    assert_eq!(parent.attribute("before"), Some(&Value::I64(1)));
    assert_eq!(parent.attribute("after"), Some(&Value::I64(2)));
    assert_eq!(parent.attributes.len(), 2);
    let mut seen: Vec<i64> = spans
        .iter()
        .filter(|s| s.name == "child")
        .map(|s| {
            assert_eq!(s.parent_span_id, Some(parent_id));
            assert_eq!(s.attributes.len(), 1, "{s:?}");
            match s.attribute("i") {
                Some(Value::I64(i)) => *i,
                other => panic!("child attribute i: {other:?}"),
            }
        })
        .collect();
    seen.sort();
    assert_eq!(seen, [0, 1, 2]);
    let stats = tracer.stats();
    assert_eq!(
        (stats.spans_queued, stats.spans_exported),
        (4, 4),
        "moved records are not spans"
    );
}

#[test]
fn attributes_set_after_a_child_started_stay_with_their_span() {
    let keep = Keep::default();
    let tracer = exporting(&keep, 1024);
    {
        let mut outer = tracer.span("outer");
        outer.set_attribute("a", "first");
        let mut inner = tracer.span("inner");
        inner.set_attribute("b", "inner's");
        // The outer record is no longer the newest: it moves to its frame.
        outer.set_attributes([KeyValue::new("c", "after the child")]);
        inner.set_attribute("d", "inner's too");
        drop(inner);
        outer.set_attribute("e", "last");
    }
    let spans = keep.flushed(&tracer);
    let outer = named(&spans, "outer");
    let keys: Vec<&str> = outer.attributes.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, ["a", "c", "e"]);
    let inner = named(&spans, "inner");
    let keys: Vec<&str> = inner.attributes.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, ["b", "d"]);
    assert_eq!(inner.parent_span_id, Some(outer.span_id));
}

#[test]
fn an_outer_guard_dropped_first_is_published_while_its_child_stays_open() {
    let keep = Keep::default();
    let tracer = exporting(&keep, 1024);
    let outer = tracer.span("outer");
    let mut inner = tracer.span("inner");
    inner.set_attribute("k", "v");
    drop(outer);
    assert_eq!(names(&keep.flushed(&tracer)), ["outer"]);
    // A sibling started and ended now finds the inner record open in front
    // of it: the inner span moves to its frame, the sibling is published.
    drop(tracer.span("sibling"));
    assert_eq!(names(&keep.flushed(&tracer)), ["outer", "sibling"]);
    drop(inner);
    let spans = keep.flushed(&tracer);
    assert_eq!(names(&spans), ["inner", "outer", "sibling"]);
    assert_eq!(
        named(&spans, "inner").attribute("k"),
        Some(&Value::from("v"))
    );
    assert_eq!(
        named(&spans, "sibling").parent_span_id,
        Some(named(&spans, "inner").span_id)
    );
}

#[traced(tracer = TRACER.get())]
fn traced_step(n: u64, label: &str) -> u64 {
    n + label.len() as u64
}

static TRACER: std::sync::OnceLock<FccTracer> = std::sync::OnceLock::new();

#[test]
fn traced_arguments_go_with_their_record_under_an_open_parent() {
    let keep = Keep::default();
    let tracer = TRACER.get_or_init(|| exporting(&keep, 1024));
    let request = tracer.span("request");
    for n in 0..5 {
        traced_step(n, "step");
    }
    drop(request);
    let spans = keep.flushed(tracer);
    assert_eq!(spans.len(), 6);
    let mut ns: Vec<i64> = spans
        .iter()
        .filter(|s| s.name == "traced_step")
        .map(|s| {
            assert_eq!(s.attribute("label"), Some(&Value::from("step")));
            match s.attribute("n") {
                Some(Value::I64(n)) => *n,
                other => panic!("n: {other:?}"),
            }
        })
        .collect();
    ns.sort();
    assert_eq!(ns, [0, 1, 2, 3, 4]);
}

#[test]
fn a_thread_that_exits_with_a_span_open_loses_only_that_span() {
    let keep = Keep::default();
    let tracer = exporting(&keep, 1024);
    let t = tracer.clone();
    std::thread::spawn(move || {
        let open = t.span("never ended");
        drop(t.span("ended"));
        // The guard is leaked: its span never ends.
        std::mem::forget(open);
    })
    .join()
    .unwrap();
    let spans = keep.flushed(&tracer);
    assert_eq!(names(&spans), ["ended"]);
    let stats = tracer.stats();
    assert_eq!((stats.spans_queued, stats.spans_exported), (1, 1));
}

#[test]
fn spans_ended_after_their_pipeline_shut_down_are_counted_dropped() {
    let keep = Keep::default();
    let tracer = exporting(&keep, 1024);
    let parent = tracer.span("parent");
    let child = tracer.span("child");
    tracer.shutdown(Duration::from_secs(30)).unwrap();
    drop(child);
    drop(parent);
    assert!(keep.0.lock().unwrap().is_empty());
    let stats = tracer.stats();
    assert_eq!(stats.spans_dropped, 2, "{stats:?}");
}

#[test]
fn a_context_attached_with_a_spans_own_ids_does_not_end_it_or_free_its_tracer() {
    let keep = Keep::default();
    let tracer = exporting(&keep, 1024);
    let handle = tracer.clone();
    let parent = tracer.span("parent");
    let attached = fcc::trace::attach(parent.context().unwrap());
    // The parent's end takes its own frame, not the attached one above it.
    drop(parent);
    let child = tracer.span("child");
    drop(attached);
    drop(tracer);
    // Only the child's frame keeps the tracer now.
    drop(child);
    let spans = keep.flushed(&handle);
    assert_eq!(names(&spans), ["child", "parent"]);
    assert_eq!(
        named(&spans, "child").parent_span_id,
        Some(named(&spans, "parent").span_id),
        "the attached context was the child's parent"
    );
    assert!(fcc::trace::current().is_none());
}

#[test]
fn moved_records_are_never_counted_as_spans_queued() {
    let keep = Keep::default();
    let tracer = exporting(&keep, 1024);
    let parent = tracer.span("parent");
    // The child's end moves the parent's record out of its way: the ring
    // now holds a moved record and the child.
    drop(tracer.span("child"));
    let before = tracer.stats().spans_queued;
    assert_eq!(before, 1, "one span ended");
    let spans = keep.flushed(&tracer);
    assert_eq!(names(&spans), ["child"]);
    assert_eq!(tracer.stats().spans_queued, 1);
    drop(parent);
    keep.flushed(&tracer);
    assert_eq!(tracer.stats().spans_queued, 2);
}

#[test]
fn every_span_keeps_its_own_attributes_while_the_export_thread_drains() {
    let keep = Keep::default();
    let tracer = exporting(&keep, 1 << 16);
    const N: i64 = 20_000;
    let request = tracer.span("request");
    for i in 0..N {
        let mut span = tracer.span(format!("s{i}"));
        span.set_attribute("i", i);
        if i % 3 == 0 {
            span.set_attribute("third", true);
        }
    }
    drop(request);
    let spans = keep.flushed(&tracer);
    assert_eq!(spans.len() as i64, N + 1);
    for span in spans.iter().filter(|s| s.name != "request") {
        let i: i64 = span.name[1..].parse().unwrap();
        assert_eq!(span.attribute("i"), Some(&Value::I64(i)), "{span:?}");
        let expected = if i % 3 == 0 { 2 } else { 1 };
        assert_eq!(span.attributes.len(), expected, "{span:?}");
    }
}
