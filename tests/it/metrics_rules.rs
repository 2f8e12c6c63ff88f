//! FccMetrics' rules: bad input is refused or counted and changes nothing;
//! totals stay exact; label sets are bounded; handles are exact under
//! concurrency; points recorded in a span carry its ids; collection hooks
//! may use the metrics they collect for.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use fcc::metrics::{FccMetrics, MetricError, MetricType, SeriesValue, OVERFLOW_LABEL};

#[test]
fn invalid_names_are_refused() {
    let m = FccMetrics::new();
    for name in ["", "9lives", "has space", "ümlaut", &"x".repeat(256)] {
        let err = m.increment(name, &[]).unwrap_err();
        assert!(
            matches!(err, MetricError::InvalidName { .. }),
            "{name}: {err}"
        );
    }
    assert!(m.increment("ok.name_with-all/chars", &[]).is_ok());
    assert_eq!(m.stats().metrics, 7 + 1);
}

#[test]
fn one_name_cannot_be_two_types() {
    let m = FccMetrics::new();
    m.increment("jobs", &[]).unwrap();
    let err = m.observe("jobs", 3.0, &[]).unwrap_err();
    assert_eq!(
        err,
        MetricError::TypeConflict {
            name: "jobs".into(),
            existing: MetricType::Counter,
            requested: MetricType::Gauge
        }
    );
    assert!(
        m.histogram("fcc.simulation.step", &[]).is_err(),
        "predefined types hold too"
    );
    assert_eq!(m.total("jobs"), 1.0);
}

#[test]
fn negative_and_non_finite_values_are_refused_and_change_nothing() {
    let m = FccMetrics::new();
    m.add("c", 2.0, &[]).unwrap();
    assert!(matches!(
        m.add("c", -1.0, &[]),
        Err(MetricError::NegativeIncrement { .. })
    ));
    assert!(matches!(
        m.add("c", f64::NAN, &[]),
        Err(MetricError::NotFinite { .. })
    ));
    assert!(matches!(
        m.observe("g", f64::INFINITY, &[]),
        Err(MetricError::NotFinite { .. })
    ));
    assert!(matches!(
        m.record("h", f64::NEG_INFINITY, &[]),
        Err(MetricError::NotFinite { .. })
    ));
    assert_eq!(m.total("c"), 2.0);
    assert_eq!(m.points().len(), 1);
    // Handles count instead of returning errors.
    let c = m.counter("c", &[]).unwrap();
    c.add(-5.0);
    c.add(f64::NAN);
    let g = m.gauge("g2", &[]).unwrap();
    g.set(f64::NAN);
    let h = m.histogram("h2", &[]).unwrap();
    h.record(f64::INFINITY);
    assert_eq!(m.stats().rejected, 4);
    assert_eq!(m.total("c"), 2.0);
    assert_eq!(m.total("h2"), 0.0);
}

#[test]
fn totals_stay_exact_when_points_are_let_go() {
    let m = FccMetrics::builder().points_capacity(10).build();
    for _ in 0..1000 {
        m.increment("events", &[("k", "v")]).unwrap();
    }
    m.add("events", 0.5, &[("k", "w")]).unwrap();
    assert_eq!(m.points().len(), 10);
    assert_eq!(m.stats().dropped_points, 991);
    assert_eq!(m.total("events"), 1000.5);
}

#[test]
fn label_order_does_not_matter() {
    let m = FccMetrics::new();
    m.increment("x", &[("a", "1"), ("b", "2")]).unwrap();
    m.increment("x", &[("b", "2"), ("a", "1")]).unwrap();
    let snap = m.snapshot();
    let x = snap.iter().find(|s| s.name == "x").unwrap();
    assert_eq!(x.series.len(), 1);
    assert_eq!(x.series[0].value, SeriesValue::Counter(2.0));
}

#[test]
fn too_many_label_sets_go_to_one_overflow_series_and_are_counted() {
    let m = FccMetrics::builder().cardinality_limit(3).build();
    for i in 0..10 {
        m.increment("users", &[("user_id", &i.to_string())])
            .unwrap();
    }
    m.increment("users", &[("user_id", "0")]).unwrap(); // an existing set still works
    let snap = m.snapshot();
    let users = snap.iter().find(|s| s.name == "users").unwrap();
    assert_eq!(users.series.len(), 4, "3 label sets + overflow");
    let overflow = users.series.last().unwrap();
    assert_eq!(overflow.labels[OVERFLOW_LABEL.0], OVERFLOW_LABEL.1);
    assert_eq!(overflow.value, SeriesValue::Counter(7.0));
    assert_eq!(m.stats().overflowed, 7);
    assert_eq!(m.total("users"), 11.0, "nothing lost");
}

#[test]
fn handles_are_exact_across_threads() {
    let m = FccMetrics::new();
    let c = m.counter("hits", &[("route", "/")]).unwrap();
    let h = m.histogram("latency", &[("route", "/")]).unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            let (c, h) = (c.clone(), h.clone());
            s.spawn(move || {
                for i in 0..100_000u64 {
                    c.increment(1);
                    h.record((i % 100) as f64);
                }
            });
        }
    });
    assert_eq!(m.total("hits"), 400_000.0);
    let snap = m.snapshot();
    let lat = snap.iter().find(|s| s.name == "latency").unwrap();
    match &lat.series[0].value {
        SeriesValue::Histogram {
            count,
            counts,
            min,
            max,
            sum,
            ..
        } => {
            assert_eq!(*count, 400_000);
            assert_eq!(counts.iter().sum::<u64>(), 400_000);
            assert_eq!((*min, *max), (Some(0.0), Some(99.0)));
            assert_eq!(*sum, 4.0 * 100_000.0 / 100.0 * (0..100).sum::<u64>() as f64);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn gauges_keep_the_last_value() {
    let m = FccMetrics::new();
    let g = m.gauge("queue.depth", &[]).unwrap();
    g.set(3.0);
    g.set(1.0);
    let snap = m.snapshot();
    let q = snap.iter().find(|s| s.name == "queue.depth").unwrap();
    assert_eq!(q.series[0].value, SeriesValue::Gauge(Some(1.0)));
}

#[test]
fn a_point_recorded_in_a_span_carries_its_ids() {
    let m = FccMetrics::new();
    let tracer = fcc::FccTracer::new("t");
    let ctx = {
        let span = tracer.span("work");
        m.record_persona_activation("SQC");
        span.context().unwrap()
    };
    m.record_persona_activation("DEV");
    let points = m.points();
    assert_eq!(points[0].trace_id, Some(ctx.trace_id));
    assert_eq!(points[0].span_id, Some(ctx.span_id));
    assert_eq!(points[1].trace_id, None);
}

#[test]
fn a_series_takes_one_exemplar_per_collection() {
    let m = FccMetrics::new();
    let tracer = fcc::FccTracer::new("t");
    let labels = [("model", "m1")];
    let exemplar = |m: &FccMetrics| {
        let snap = m.snapshot();
        let f = snap.iter().find(|f| f.name == "latency").unwrap();
        f.series[0].exemplar.clone()
    };
    m.record("latency", 0.5, &labels).unwrap();
    assert_eq!(exemplar(&m), None, "outside a span: no exemplar");

    let a = {
        let span = tracer.span("a");
        m.record("latency", 1.0, &labels).unwrap();
        m.record("latency", 2.0, &labels).unwrap();
        span.context().unwrap()
    };
    let e = exemplar(&m).expect("an exemplar");
    assert_eq!(
        (e.value, e.trace_id, e.span_id),
        (1.0, Some(a.trace_id), Some(a.span_id))
    );

    let b = {
        let span = tracer.span("b");
        m.record("latency", 3.0, &labels).unwrap();
        span.context().unwrap()
    };
    m.record("latency", 4.0, &labels).unwrap();
    let e = exemplar(&m).expect("an exemplar");
    assert_eq!(
        (e.value, e.trace_id, e.span_id),
        (3.0, Some(b.trace_id), Some(b.span_id))
    );
    assert_eq!(
        exemplar(&m),
        Some(e.clone()),
        "kept while nothing replaces it"
    );

    // Inside an unsampled context (nested in a sampled span) nothing is
    // taken; back in the sampled span, the next value is.
    let c = {
        let span = tracer.span("c");
        {
            let mut unsampled = span.context().unwrap();
            unsampled.sampled = false;
            unsampled.span_id = fcc::SpanId::from_bytes([7; 8]).unwrap();
            let _guard = fcc::trace::attach(unsampled);
            m.record("latency", 5.0, &labels).unwrap();
        }
        m.record("latency", 6.0, &labels).unwrap();
        span.context().unwrap()
    };
    let e = exemplar(&m).expect("an exemplar");
    assert_eq!(
        (e.value, e.trace_id, e.span_id),
        (6.0, Some(c.trace_id), Some(c.span_id))
    );
}

/// Runs `f` on a thread and waits for it a while: a deadlock in `f` fails
/// the test instead of hanging it (a liveness check, not a timing one).
fn finishes(what: &str, f: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        f();
        let _ = done.send(());
    });
    match finished.recv_timeout(Duration::from_secs(20)) {
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = worker.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: still running after 20 s (deadlock)")
        }
    }
}

#[test]
fn a_hook_may_take_a_snapshot_which_does_not_run_the_hooks_again() {
    let m = FccMetrics::new();
    let runs = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&runs);
    m.on_collect(move |m| {
        r.fetch_add(1, Ordering::SeqCst);
        let before = m.snapshot();
        let seen = before.iter().any(|f| f.name == "hook.seen");
        m.observe("hook.seen", if seen { 1.0 } else { 0.0 }, &[])
            .unwrap();
    });
    let runs_in = Arc::clone(&runs);
    finishes("a snapshot inside a hook", move || {
        let gauge = |snap: &[fcc::metrics::MetricSnapshot]| {
            let f = snap
                .iter()
                .find(|f| f.name == "hook.seen")
                .expect("set by the hook");
            f.series[0].value.clone()
        };
        let first = m.snapshot();
        assert_eq!(
            runs_in.load(Ordering::SeqCst),
            1,
            "the nested snapshot ran no hook"
        );
        assert_eq!(gauge(&first), SeriesValue::Gauge(Some(0.0)));
        let second = m.snapshot();
        assert_eq!(runs_in.load(Ordering::SeqCst), 2);
        assert_eq!(
            gauge(&second),
            SeriesValue::Gauge(Some(1.0)),
            "the nested snapshot saw the gauge"
        );
    });
}

#[test]
fn a_hook_may_register_a_hook_which_runs_from_the_next_collection() {
    let m = FccMetrics::new();
    let late = Arc::new(AtomicUsize::new(0));
    let registered = Arc::new(AtomicUsize::new(0));
    let (l, r) = (Arc::clone(&late), Arc::clone(&registered));
    m.on_collect(move |m| {
        if r.fetch_add(1, Ordering::SeqCst) == 0 {
            let l = Arc::clone(&l);
            m.on_collect(move |_| {
                l.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    let late_in = Arc::clone(&late);
    finishes("a hook registering a hook", move || {
        m.snapshot();
        assert_eq!(
            late_in.load(Ordering::SeqCst),
            0,
            "not in the collection that registered it"
        );
        m.snapshot();
        assert_eq!(late_in.load(Ordering::SeqCst), 1);
        m.snapshot();
        assert_eq!(late_in.load(Ordering::SeqCst), 2);
    });
    assert_eq!(registered.load(Ordering::SeqCst), 3);
}
