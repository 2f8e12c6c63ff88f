//! The `metrics` facade lands in FccMetrics: counters, gauges, histograms,
//! labels, descriptions, and refusals counted instead of panics.

use fcc::metrics::{FccMetrics, FccRecorder, MetricType, SeriesValue};

#[test]
fn facade_calls_reach_fcc_metrics() {
    let fcc = FccMetrics::new();
    let recorder = FccRecorder::new(fcc.clone());
    metrics::with_local_recorder(&recorder, || {
        metrics::describe_counter!("jobs.done", metrics::Unit::Count, "Jobs finished");
        metrics::describe_histogram!("job.duration", metrics::Unit::Seconds, "Job run time");
        let c = metrics::counter!("jobs.done", "queue" => "high");
        c.increment(2);
        c.increment(3);
        metrics::counter!("jobs.done", "queue" => "low").absolute(10);
        let g = metrics::gauge!("jobs.waiting");
        g.set(5.0);
        g.increment(2.0);
        g.decrement(4.0);
        metrics::histogram!("job.duration", "queue" => "high").record(0.5);
        metrics::histogram!("job.duration", "queue" => "high").record(1.5);
    });
    assert_eq!(fcc.total("jobs.done"), 15.0);
    let snap = fcc.snapshot();
    let jobs = snap.iter().find(|m| m.name == "jobs.done").unwrap();
    assert_eq!(jobs.metric_type, MetricType::Counter);
    assert_eq!(jobs.description, "Jobs finished");
    let duration_unit = &snap.iter().find(|m| m.name == "job.duration").unwrap().unit;
    assert_eq!(duration_unit, "s");
    assert_eq!(jobs.series.len(), 2);
    let waiting = snap.iter().find(|m| m.name == "jobs.waiting").unwrap();
    assert_eq!(waiting.series[0].value, SeriesValue::Gauge(Some(3.0)));
    let duration = snap.iter().find(|m| m.name == "job.duration").unwrap();
    match &duration.series[0].value {
        SeriesValue::Histogram { count, sum, .. } => assert_eq!((*count, *sum), (2, 2.0)),
        other => panic!("{other:?}"),
    }
    assert_eq!(duration.series[0].labels["queue"], "high");
}

#[test]
fn bad_names_and_type_conflicts_are_counted_not_panics() {
    let fcc = FccMetrics::new();
    fcc.increment("shared.name", &[]).unwrap();
    let recorder = FccRecorder::new(fcc.clone());
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("9 not valid").increment(1);
        metrics::gauge!("shared.name").set(1.0); // already a counter
        metrics::counter!("NaN.gauge").increment(1);
        metrics::gauge!("ok.gauge").set(f64::NAN);
    });
    assert_eq!(fcc.stats().rejected, 3);
    assert_eq!(fcc.total("shared.name"), 1.0);
}

/// A macro's static key is found by its address after the first call; a
/// key built at run time with the same name and labels, another
/// recorder, or another type still get what they should.
#[test]
fn static_and_runtime_keys_with_the_same_labels_are_one_series() {
    let fcc = FccMetrics::new();
    let other = FccMetrics::new();
    let (recorder, other_recorder) = (
        FccRecorder::new(fcc.clone()),
        FccRecorder::new(other.clone()),
    );
    let queue = String::from("high");
    metrics::with_local_recorder(&recorder, || {
        for _ in 0..3 {
            metrics::counter!("jobs.done", "queue" => "high").increment(1);
            metrics::counter!("jobs.done", "queue" => queue.clone()).increment(10);
        }
        // The same name as another type: refused, nothing recorded.
        metrics::histogram!("jobs.done", "queue" => "high").record(1.0);
    });
    metrics::with_local_recorder(&other_recorder, || {
        metrics::counter!("jobs.done", "queue" => "high").increment(100);
    });
    assert_eq!(fcc.total("jobs.done"), 33.0);
    assert_eq!(other.total("jobs.done"), 100.0);
    assert_eq!(fcc.stats().rejected, 1);
    let snap = fcc.snapshot();
    let done = snap.iter().find(|f| f.name == "jobs.done").unwrap();
    assert_eq!(done.series.len(), 1);
}
