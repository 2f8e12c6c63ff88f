//! The `SpanLayer`'s own record of `tracing` spans (its table by `tracing`
//! id): spans recorded later, that cross threads, that are entered twice,
//! and one layer cloned into two subscribers whose ids coincide.

use std::fmt;

use fcc::layer::SpanLayer;
use fcc::trace::SpanStatus;
use fcc::{FccTracer, SpanData};
use tracing_subscriber::layer::SubscriberExt as _;

fn by_name<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name}: {spans:#?}"))
}

/// A value whose `Debug` makes a `tracing` span of its own while the
/// layer records it.
struct MakesASpan;

impl fmt::Debug for MakesASpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _inner = tracing::info_span!("made.in.debug").entered();
        f.write_str("made")
    }
}

#[derive(Debug)]
struct Refused;

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("refused by upstream")
    }
}

impl std::error::Error for Refused {}

#[test]
fn fields_recorded_later_become_attributes_errors_and_may_make_spans() {
    let tracer = FccTracer::new("record");
    let subscriber = tracing_subscriber::registry().with(SpanLayer::new(tracer.clone()));
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!(
            "work",
            rows = tracing::field::Empty,
            note = tracing::field::Empty,
            cause = tracing::field::Empty
        );
        span.record("rows", 42_u64);
        span.record("note", tracing::field::debug(MakesASpan));
        span.record("cause", &Refused as &(dyn std::error::Error + 'static));
    });
    let spans = tracer.completed_spans();
    let work = by_name(&spans, "work");
    assert_eq!(work.attribute("rows").unwrap().as_str(), "42");
    assert_eq!(work.attribute("note").unwrap().as_str(), "made");
    assert_eq!(
        work.status,
        SpanStatus::error("refused by upstream"),
        "an error value fails the span"
    );
    let exception = work.events.iter().find(|e| e.name == "exception").unwrap();
    assert!(exception
        .attributes
        .iter()
        .any(|kv| kv.key.as_str() == "exception.message"
            && kv.value.as_str() == "refused by upstream"));
    // The span made while the value was formatted is recorded too.
    by_name(&spans, "made.in.debug");
}

#[test]
fn a_span_entered_on_two_threads_and_closed_on_the_second_is_one_span() {
    let tracer = FccTracer::new("threads");
    let subscriber = tracing_subscriber::registry().with(SpanLayer::new(tracer.clone()));
    let dispatch = tracing::Dispatch::new(subscriber);
    let span = tracing::dispatcher::with_default(&dispatch, || {
        let span = tracing::info_span!("request");
        span.in_scope(|| drop(tracing::info_span!("here")));
        span
    });
    let t = tracer.clone();
    let d = dispatch.clone();
    std::thread::spawn(move || {
        tracing::dispatcher::with_default(&d, || {
            span.in_scope(|| {
                drop(tracing::info_span!("there"));
                drop(t.span("fcc.there"));
            });
            drop(span);
        })
    })
    .join()
    .unwrap();
    let spans = tracer.completed_spans();
    assert_eq!(spans.iter().filter(|s| s.name == "request").count(), 1);
    let request = by_name(&spans, "request");
    for child in ["here", "there", "fcc.there"] {
        assert_eq!(
            by_name(&spans, child).parent_span_id,
            Some(request.span_id),
            "{child}"
        );
    }
}

#[test]
fn a_span_entered_twice_is_current_until_left_twice() {
    let tracer = FccTracer::new("twice");
    let subscriber = tracing_subscriber::registry().with(SpanLayer::new(tracer.clone()));
    tracing::subscriber::with_default(subscriber, || {
        let outer = tracing::info_span!("outer").entered();
        let span = tracing::info_span!("twice");
        let first = span.enter();
        let second = span.enter();
        drop(tracing::info_span!("in.both"));
        drop(second);
        drop(tracing::info_span!("in.first"));
        drop(first);
        drop(tracing::info_span!("after"));
        drop(outer);
    });
    let spans = tracer.completed_spans();
    let (outer, twice) = (by_name(&spans, "outer"), by_name(&spans, "twice"));
    assert_eq!(
        by_name(&spans, "in.both").parent_span_id,
        Some(twice.span_id)
    );
    assert_eq!(
        by_name(&spans, "in.first").parent_span_id,
        Some(twice.span_id)
    );
    assert_eq!(by_name(&spans, "after").parent_span_id, Some(outer.span_id));
    assert!(fcc::trace::current().is_none(), "nothing left on the stack");
}

#[test]
fn clones_of_one_layer_in_two_subscribers_keep_their_spans_apart() {
    let tracer = FccTracer::new("two");
    let layer = SpanLayer::new(tracer.clone());
    let first = tracing::Dispatch::new(tracing_subscriber::registry().with(layer.clone()));
    let second = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    // Two fresh registries hand out the same ids.
    let a = tracing::dispatcher::with_default(&first, || tracing::info_span!("a", n = 1_i64));
    let b = tracing::dispatcher::with_default(&second, || tracing::info_span!("b", n = 2_i64));
    assert_eq!(a.id(), b.id(), "the case this test is about");
    // Entered in order, the first left first: the second stays current.
    let in_a = a.enter();
    let in_b = b.enter();
    drop(in_a);
    drop(tracer.span("under.b"));
    drop(in_b);
    drop(tracer.span("under.nothing"));
    drop((a, b));
    let spans = tracer.completed_spans();
    let (a, b) = (by_name(&spans, "a"), by_name(&spans, "b"));
    assert_eq!(a.attribute("n").unwrap().as_str(), "1");
    assert_eq!(b.attribute("n").unwrap().as_str(), "2");
    assert_eq!(by_name(&spans, "under.b").parent_span_id, Some(b.span_id));
    assert_eq!(by_name(&spans, "under.nothing").parent_span_id, None);
}
