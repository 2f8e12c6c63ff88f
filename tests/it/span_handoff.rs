//! Finished spans reach the export thread through per-thread rings: every
//! span is delivered at flush (whether its thread is idle, busy or gone) and
//! at shutdown, the counters stay exact, recycled span boxes carry nothing
//! over from the span before, and an event inside a span still joins it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fcc::export::{ExportError, SpanExporter};
use fcc::trace::{FccTracer, KeyValue, SpanData};

/// Keeps every span it is given.
#[derive(Clone, Default)]
struct Keep(Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for Keep {
    fn export(&mut self, spans: &[SpanData]) -> Result<(), ExportError> {
        self.0.lock().unwrap().extend_from_slice(spans);
        Ok(())
    }
}

fn tracer(keep: &Keep, queue: usize) -> FccTracer {
    FccTracer::builder("handoff")
        .completed_capacity(0)
        .max_queue_size(queue)
        .exporter(keep.clone())
        .build()
        .unwrap()
}

#[test]
fn spans_of_threads_that_exited_are_all_delivered_at_flush() {
    let keep = Keep::default();
    let tracer = tracer(&keep, 1 << 16);
    // More spans per thread than a ring holds: some take the channel.
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let tracer = tracer.clone();
            std::thread::spawn(move || {
                for i in 0..3_000_i64 {
                    let mut s = tracer.span(format!("t{t}"));
                    s.set_attribute("i", i);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    tracer.flush(Duration::from_secs(30)).unwrap();
    let spans = keep.0.lock().unwrap();
    assert_eq!(spans.len(), 12_000);
    for t in 0..4 {
        let mut seen: Vec<i64> = spans
            .iter()
            .filter(|s| s.name == format!("t{t}"))
            .map(|s| match s.attribute("i") {
                Some(fcc::trace::Value::I64(i)) => *i,
                other => panic!("{other:?}"),
            })
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..3_000).collect::<Vec<_>>(), "thread {t}");
    }
    let s = tracer.stats();
    assert_eq!(
        (s.spans_queued, s.spans_exported),
        (12_000, 12_000),
        "{s:?}"
    );
    assert_eq!((s.spans_dropped, s.queue_depth), (0, 0), "{s:?}");
}

#[test]
fn an_idle_threads_spans_are_delivered_at_flush_and_shutdown() {
    let keep = Keep::default();
    let tracer = tracer(&keep, 1 << 12);
    let (ended_tx, ended_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let t = tracer.clone();
    let worker = std::thread::spawn(move || {
        for _ in 0..10 {
            drop(t.span("idle.before_flush"));
        }
        ended_tx.send(()).unwrap();
        go_rx.recv().unwrap();
        for _ in 0..5 {
            drop(t.span("idle.before_shutdown"));
        }
        ended_tx.send(()).unwrap();
        // Stays alive (and idle) until the test is done with it.
        go_rx.recv().unwrap();
    });
    ended_rx.recv().unwrap();
    tracer.flush(Duration::from_secs(10)).unwrap();
    assert_eq!(keep.0.lock().unwrap().len(), 10);
    assert_eq!(tracer.stats().spans_queued, 10);
    go_tx.send(()).unwrap();
    ended_rx.recv().unwrap();
    tracer.shutdown(Duration::from_secs(10)).unwrap();
    assert_eq!(keep.0.lock().unwrap().len(), 15);
    let s = tracer.stats();
    assert_eq!((s.spans_queued, s.spans_exported), (15, 15), "{s:?}");
    go_tx.send(()).unwrap();
    worker.join().unwrap();
    // After shutdown a span is refused and counted, not lost silently.
    drop(tracer.span("after"));
    assert_eq!(tracer.stats().spans_dropped, 1);
}

#[test]
fn a_recycled_span_carries_nothing_over() {
    let keep = Keep::default();
    let tracer = tracer(&keep, 1 << 12);
    for round in 0..3 {
        {
            let mut s = tracer.span("full");
            s.set_attribute("a", 1_i64);
            s.add_event("e", [KeyValue::new("x", 1_i64)]);
            s.set_status(fcc::trace::SpanStatus::error("bad"));
            let _child = tracer.span("child");
        }
        // Let the export thread give the boxes back to this thread.
        tracer.flush(Duration::from_secs(10)).unwrap();
        drop(tracer.span("plain"));
        tracer.flush(Duration::from_secs(10)).unwrap();
        let spans = keep.0.lock().unwrap();
        let plain = spans.last().unwrap();
        assert_eq!(plain.name, "plain", "round {round}");
        assert!(plain.attributes.is_empty(), "{plain:?}");
        assert!(plain.events.is_empty(), "{plain:?}");
        assert_eq!(plain.parent_span_id, None);
        assert_eq!(plain.status, fcc::trace::SpanStatus::Ok);
    }
}

#[test]
fn spans_of_two_tracers_on_one_thread_each_reach_their_own() {
    let (a, b) = (Keep::default(), Keep::default());
    let (ta, tb) = (tracer(&a, 1 << 12), tracer(&b, 1 << 12));
    for _ in 0..100 {
        drop(ta.span("a"));
        drop(tb.span("b"));
    }
    ta.flush(Duration::from_secs(10)).unwrap();
    tb.flush(Duration::from_secs(10)).unwrap();
    let a = a.0.lock().unwrap();
    let b = b.0.lock().unwrap();
    assert_eq!((a.len(), b.len()), (100, 100));
    assert!(a.iter().all(|s| s.name == "a") && b.iter().all(|s| s.name == "b"));
}

/// A span travels as a compact record when plain and whole when not (an
/// event, an error, a given end time, more attributes than the ring has
/// room for): either way every part of it reaches the exporter.
#[test]
fn every_part_of_a_span_arrives_whether_plain_or_not() {
    let keep = Keep::default();
    // A queue of 4: the attribute ring has room for 16.
    let tracer = tracer(&keep, 4);
    let flush = || tracer.flush(Duration::from_secs(10)).unwrap();
    let mut remote = fcc::trace::SpanContext::new(
        fcc::TraceId::new(0x7ace).unwrap(),
        fcc::SpanId::new(0x9a4e).unwrap(),
    );
    remote.remote = true;
    let end = std::time::UNIX_EPOCH + Duration::from_secs(2_000_000_000);
    {
        let _in_remote = fcc::trace::attach(remote.clone());
        let mut s = tracer.span("plain");
        s.set_attribute("a", 1_i64);
        s.set_attribute("b", "two");
    }
    flush();
    {
        let mut s = tracer.span("with_event");
        s.set_attribute("a", 1_i64);
        s.add_event("e", [KeyValue::new("x", 1_i64)]);
    }
    flush();
    {
        let mut s = tracer.span("failed");
        s.record_error("no route");
    }
    flush();
    {
        let s = tracer.start("ended_at");
        s.end_at(end);
    }
    flush();
    {
        let mut s = tracer.span("many_attributes");
        for i in 0..20_i64 {
            s.set_attribute(format!("k{i}"), i);
        }
    }
    flush();
    let spans = keep.0.lock().unwrap();
    let by_name = |n: &str| spans.iter().find(|s| s.name == n).unwrap();

    let plain = by_name("plain");
    assert_eq!(plain.trace_id, remote.trace_id);
    assert_eq!(plain.parent_span_id, Some(remote.span_id));
    assert!(plain.parent_is_remote);
    assert_eq!(plain.status, fcc::trace::SpanStatus::Ok);
    assert_eq!(
        plain.attributes,
        vec![KeyValue::new("a", 1_i64), KeyValue::new("b", "two")]
    );
    assert!(plain.start_time > std::time::UNIX_EPOCH && plain.end_time >= plain.start_time);

    let with_event = by_name("with_event");
    assert_eq!(with_event.events.len(), 1);
    assert_eq!(with_event.events[0].name, "e");
    assert_eq!(with_event.attributes, vec![KeyValue::new("a", 1_i64)]);
    assert!(with_event.end_time >= with_event.start_time);

    let failed = by_name("failed");
    assert_eq!(failed.status, fcc::trace::SpanStatus::error("no route"));
    assert_eq!(failed.events[0].name, "exception");

    let ended_at = by_name("ended_at");
    assert_eq!(ended_at.end_time, end);
    assert!(ended_at.start_time > std::time::UNIX_EPOCH);

    let many = by_name("many_attributes");
    assert_eq!(many.attributes.len(), 20);
    assert!(many
        .attributes
        .iter()
        .enumerate()
        .all(|(i, kv)| kv.key.as_str() == format!("k{i}")
            && kv.value == fcc::trace::Value::I64(i as i64)));
    assert_eq!(spans.len(), 5);
    assert_eq!(tracer.stats().spans_dropped, 0);
}
