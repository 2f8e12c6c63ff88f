//! Engine instrumentation under an engine that misbehaves or is busy:
//! unpaired events, runs that never end, too many open runs, and many runs
//! interleaved on several threads.

use crate::support::engine;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use engine::Engine;
use fcc::integration::{
    instrument_action_engine, instrument_action_engine_with, instrument_simulation_engine,
    instrument_simulation_engine_with, EngineConfig,
};
use fcc::trace::{SpanData, SpanStatus};
use fcc::{EventBus, EventType, FccMetrics, FccTracer};
use serde_json::json;

fn string(s: &SpanData, key: &str) -> Option<String> {
    s.attribute(key).map(|v| v.as_str().into_owned())
}

/// A completed without a started, a step with no run, an action end with no
/// start, a run started twice: no panic, no span for what never started,
/// and every one counted.
#[test]
fn unpaired_events_never_panic_and_are_counted() {
    let (bus, tracer, metrics) = (EventBus::new(), FccTracer::new("t"), FccMetrics::new());
    let sims = instrument_simulation_engine(&bus, &tracer, &metrics);
    let actions = instrument_action_engine(&bus, &tracer, &metrics);
    let engine = Engine::new(&bus);
    engine.complete("never-started");
    engine.fail("never-started", "?");
    engine.step("never-started", 1);
    engine.publish(EventType::ActionCompleted, "x", json!({}));
    engine.publish(EventType::ActionFailed, "x", json!({"duration_ms": 5.0}));
    engine.start("twice");
    engine.start("twice");
    engine.complete("twice");
    assert_eq!(bus.stats().panicked_deliveries, 0);
    assert_eq!(bus.stats().failed_deliveries, 0);

    let s = sims.stats();
    // complete, fail, step with no run; the first "twice" restarted.
    assert_eq!((s.unpaired, s.started, s.completed, s.open), (4, 2, 1, 0));
    assert_eq!(actions.stats().unpaired, 2);
    let spans = tracer.completed_spans();
    assert_eq!(spans.len(), 2, "the two runs of `twice` only");
    assert_eq!(
        spans[0].status,
        SpanStatus::error("simulation run restarted before it finished")
    );
    assert_eq!(
        string(&spans[0], "fcc.engine.unfinished").as_deref(),
        Some("superseded")
    );
    assert_eq!(spans[1].status, SpanStatus::Ok);
    // The step still happened; the unpaired action end with its own
    // duration is an execution; the one without says nothing.
    assert_eq!(metrics.total("fcc.simulation.step"), 1.0);
    assert_eq!(metrics.points_by_name("fcc.action.duration").len(), 1);
}

/// At most `max_open` runs are open: one more ends the oldest with error
/// status, counted as evicted; its late end is then unpaired.
#[test]
fn open_runs_are_bounded() {
    let (bus, tracer, metrics) = (EventBus::new(), FccTracer::new("t"), FccMetrics::new());
    let config = EngineConfig::default().max_open(2);
    let sims = instrument_simulation_engine_with(&bus, &tracer, &metrics, config.clone());
    let actions = instrument_action_engine_with(&bus, &tracer, &metrics, config);
    let engine = Engine::new(&bus);
    for run in ["r1", "r2", "r3"] {
        engine.start(run);
    }
    for a in ["a1", "a2", "a3"] {
        engine.publish_with(EventType::ActionStarted, "r3", json!({}), |b| b.action(a));
    }
    let s = sims.stats();
    assert_eq!((s.open, s.evicted), (2, 1));
    assert_eq!((actions.stats().open, actions.stats().evicted), (2, 1));
    let spans = tracer.completed_spans();
    assert_eq!(spans.len(), 2);
    assert_eq!(spans[0].name, "simulation.run");
    assert_eq!(string(&spans[0], "correlation_id").as_deref(), Some("r1"));
    assert_eq!(
        spans[0].status,
        SpanStatus::error("simulation run evicted: too many open at once")
    );
    assert_eq!(spans[1].name, "action.a1");
    assert_eq!(
        string(&spans[1], "fcc.engine.unfinished").as_deref(),
        Some("evicted")
    );
    engine.complete("r1");
    assert_eq!(sims.stats().unpaired, 1);
}

/// A run that never ends times out after the configured age: ended with
/// error status, counted. Expiry is checked on the next event and by sweep().
#[test]
fn runs_that_never_end_time_out() {
    let (bus, tracer, metrics) = (EventBus::new(), FccTracer::new("t"), FccMetrics::new());
    let config = EngineConfig::default().timeout(Duration::ZERO);
    let sims = instrument_simulation_engine_with(&bus, &tracer, &metrics, config.clone());
    let actions = instrument_action_engine_with(&bus, &tracer, &metrics, config);
    let engine = Engine::new(&bus);
    engine.start("stuck");
    engine.publish_with(EventType::ActionStarted, "stuck", json!({}), |b| {
        b.action("x")
    });
    // Any age is past a zero timeout; make sure the clock has moved.
    std::thread::sleep(Duration::from_millis(2));
    // Lazily, on the next event: the action part sees this one.
    engine.publish_with(EventType::ActionStarted, "other", json!({}), |b| {
        b.action("y")
    });
    assert_eq!(actions.stats().timed_out, 1);
    assert_eq!(
        sims.stats().timed_out,
        0,
        "no simulation event has come yet"
    );
    assert_eq!(sims.sweep(), 1);
    let s = sims.stats();
    assert_eq!((s.timed_out, s.open), (1, 0));
    let spans = tracer.completed_spans();
    let run = spans.iter().find(|s| s.name == "simulation.run").unwrap();
    assert!(
        matches!(&run.status, SpanStatus::Error { description } if description.contains("not finished within"))
    );
    assert_eq!(
        string(run, "fcc.engine.unfinished").as_deref(),
        Some("timeout")
    );
    let x = spans.iter().find(|s| s.name == "action.x").unwrap();
    assert_eq!(
        string(x, "fcc.engine.unfinished").as_deref(),
        Some("timeout")
    );
    // Its end, arriving later, is unpaired.
    engine.complete("stuck");
    assert_eq!(sims.stats().unpaired, 1);

    // With the default timeout nothing that young expires.
    let (bus, tracer) = (EventBus::new(), FccTracer::new("t"));
    let sims = instrument_simulation_engine(&bus, &tracer, &metrics);
    Engine::new(&bus).start("young");
    assert_eq!(sims.sweep(), 0);
    assert_eq!(sims.stats().open, 1);
}

/// Runs interleaved on several threads, two at a time per thread, give one
/// separate tree each: every step under its own run, every action under a
/// step of its own run.
#[test]
fn concurrent_interleaved_runs_give_separate_trees() {
    const THREADS: usize = 6;
    const RUNS: usize = 20; // per thread, two interleaved at a time
    const STEPS: u32 = 4;
    let (bus, tracer, metrics) = (EventBus::new(), FccTracer::new("t"), FccMetrics::new());
    let sims = instrument_simulation_engine(&bus, &tracer, &metrics);
    let actions = instrument_action_engine(&bus, &tracer, &metrics);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let bus = &bus;
            s.spawn(move || {
                let engine = Engine::new(bus);
                for pair in 0..RUNS / 2 {
                    let runs = [
                        format!("t{t}-r{}", 2 * pair),
                        format!("t{t}-r{}", 2 * pair + 1),
                    ];
                    runs.iter().for_each(|r| drop(engine.start(r)));
                    for step in 1..=STEPS {
                        for r in &runs {
                            engine.step(r, step);
                            engine.action(r, "plan", "SQC", true);
                            engine.action(r, "test", "SQC", step != 2);
                        }
                    }
                    runs.iter().for_each(|r| drop(engine.complete(r)));
                }
            });
        }
    });
    let total_runs = THREADS * RUNS;
    let spans = tracer.completed_spans();
    assert_eq!(tracer.dropped_spans(), 0);
    let by_id: HashMap<_, _> = spans.iter().map(|s| (s.span_id, s)).collect();
    let runs: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "simulation.run")
        .collect();
    assert_eq!(runs.len(), total_runs);
    let traces: HashSet<_> = runs.iter().map(|r| r.trace_id).collect();
    assert_eq!(traces.len(), total_runs, "one trace per run");
    let run_of = |s: &SpanData| string(s, "correlation_id").unwrap();
    let mut steps_per_run: HashMap<String, u32> = HashMap::new();
    let mut actions_seen = 0;
    for s in &spans {
        let parent = s.parent_span_id.map(|p| by_id[&p]);
        match s.name.as_ref() {
            "simulation.run" => assert!(parent.is_none()),
            "simulation.step" => {
                let parent = parent.unwrap();
                assert_eq!(parent.name, "simulation.run");
                assert_eq!(run_of(parent), run_of(s));
                *steps_per_run.entry(run_of(s)).or_default() += 1;
            }
            "action.plan" | "action.test" => {
                let parent = parent.unwrap();
                assert_eq!(parent.name, "simulation.step");
                assert_eq!(
                    run_of(parent),
                    run_of(s),
                    "an action under another run's step"
                );
                assert_eq!(parent.trace_id, s.trace_id);
                actions_seen += 1;
            }
            other => panic!("unexpected span {other}"),
        }
    }
    assert!(steps_per_run.values().all(|n| *n == STEPS));
    assert_eq!(steps_per_run.len(), total_runs);
    assert_eq!(actions_seen, total_runs * STEPS as usize * 2);
    let (s, a) = (sims.stats(), actions.stats());
    assert_eq!(
        (s.started, s.completed, s.unpaired, s.open),
        (total_runs as u64, total_runs as u64, 0, 0)
    );
    assert_eq!(
        (a.completed, a.failed, a.unpaired),
        (total_runs as u64 * 7, total_runs as u64, 0)
    );
    assert_eq!(
        metrics.total("fcc.simulation.step"),
        (total_runs as u32 * STEPS) as f64
    );
}
