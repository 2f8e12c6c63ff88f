//! The seed's "Optional OpenTelemetry Integration": `instrument_simulation_engine()`
//! and `instrument_action_engine()` "wire up automatic tracing for the
//! simulation and action engines without modifying their source code". The
//! engine here (tests/it/support/engine.rs) only publishes lifecycle events.

use crate::support::engine;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use engine::{Engine, T0};
use fcc::export::JsonFileSpanExporter;
use fcc::integration::{
    instrument_action_engine, instrument_simulation_engine, instrument_simulation_engine_with,
    EngineConfig,
};
use fcc::trace::{SpanData, SpanStatus, Value};
use fcc::{EventBus, EventType, FccMetrics, FccTracer, SpanId, TraceId};
use serde_json::json;

fn at_tick(n: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_micros(T0 as u64 + n * 1000)
}

fn named<'a>(spans: &'a [SpanData], name: &str) -> Vec<&'a SpanData> {
    spans.iter().filter(|s| s.name == name).collect()
}

fn string(s: &SpanData, key: &str) -> Option<String> {
    s.attribute(key).map(|v| v.as_str().into_owned())
}

/// "with tracer.span("simulation.run") ... tracer.span("simulation.step", {"node_id": "N1"})":
/// one run span from started to completed, one child per step from its
/// event to the next step's (the last to the run's end).
#[test]
fn a_run_is_one_span_with_a_child_per_step_spanning_step_to_next_step() {
    let (bus, tracer, metrics) = (EventBus::new(), FccTracer::new("t"), FccMetrics::new());
    let guard = instrument_simulation_engine(&bus, &tracer, &metrics);
    let engine = Engine::ticking(&bus);
    engine.start("run-42"); // tick 0
    engine.step("run-42", 1); // tick 1
    engine.step("run-42", 2); // tick 2
    engine.step("run-42", 3); // tick 3
    engine.complete("run-42"); // tick 4

    let spans = tracer.completed_spans();
    let runs = named(&spans, "simulation.run");
    let steps = named(&spans, "simulation.step");
    assert_eq!((runs.len(), steps.len(), spans.len()), (1, 3, 4));
    let run = runs[0];
    assert_eq!(
        run.parent_span_id, None,
        "no span around the engine: a new trace"
    );
    assert_eq!(string(run, "scenario_id").as_deref(), Some("SC-run-42"));
    assert_eq!(string(run, "correlation_id").as_deref(), Some("run-42"));
    assert_eq!(string(run, "source").as_deref(), Some("SimulationEngine"));
    assert_eq!(run.attribute("simulation.steps"), Some(&Value::I64(3)));
    assert_eq!((run.start_time, run.end_time), (at_tick(0), at_tick(4)));
    assert_eq!(run.status, SpanStatus::Ok);
    for (i, step) in steps.iter().enumerate() {
        let n = i as u64 + 1;
        assert_eq!(step.trace_id, run.trace_id);
        assert_eq!(step.parent_span_id, Some(run.span_id));
        assert_eq!(step.attribute("step"), Some(&Value::I64(n as i64)));
        assert_eq!(string(step, "node_id"), Some(format!("N{n}")));
        assert_eq!(
            (step.start_time, step.end_time),
            (at_tick(n), at_tick(n + 1))
        );
        assert_eq!(step.status, SpanStatus::Ok);
    }
    let stats = guard.stats();
    assert_eq!(
        (stats.started, stats.completed, stats.steps, stats.open),
        (1, 1, 3, 0)
    );
}

/// A failure ends the run with error status and the detail as an exception event.
#[test]
fn a_failed_run_has_error_status_and_an_exception_event() {
    let (bus, tracer, metrics) = (EventBus::new(), FccTracer::new("t"), FccMetrics::new());
    let guard = instrument_simulation_engine(&bus, &tracer, &metrics);
    let engine = Engine::ticking(&bus);
    engine.start("run-7");
    engine.step("run-7", 1);
    engine.fail("run-7", "budget exceeded at step 1");

    let spans = tracer.completed_spans();
    let run = named(&spans, "simulation.run")[0];
    assert_eq!(run.status, SpanStatus::error("budget exceeded at step 1"));
    assert_eq!(run.end_time, at_tick(2));
    let exception = run.events.iter().find(|e| e.name == "exception").unwrap();
    assert_eq!(exception.timestamp, at_tick(2));
    let attr = |k: &str| {
        exception
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == k)
            .map(|kv| kv.value.as_str().into_owned())
    };
    assert_eq!(
        attr("exception.message").as_deref(),
        Some("budget exceeded at step 1")
    );
    assert_eq!(attr("exception.type").as_deref(), Some("simulation.failed"));
    assert_eq!(attr("correlation_id").as_deref(), Some("run-7"));
    let step = named(&spans, "simulation.step")[0];
    assert_eq!(step.status, SpanStatus::error("budget exceeded at step 1"));
    assert!(step.events.is_empty(), "the exception is the run's");
    assert_eq!((guard.stats().failed, guard.stats().completed), (1, 0));
}

/// Actions become spans from started to completed or failed, named and
/// attributed from the event; within a run they are children of its step.
#[test]
fn actions_are_spans_named_from_the_event_under_their_runs_step() {
    let (bus, tracer, metrics) = (EventBus::new(), FccTracer::new("t"), FccMetrics::new());
    let _sims = instrument_simulation_engine(&bus, &tracer, &metrics);
    let actions = instrument_action_engine(&bus, &tracer, &metrics);
    let engine = Engine::ticking(&bus);
    engine.start("run-1"); // 0
    engine.step("run-1", 1); // 1
    engine.action("run-1", "test", "SQC", true); // 2, 3
    engine.action("run-1", "deploy", "OPS", false); // 4, 5
    engine.complete("run-1"); // 6

    let spans = tracer.completed_spans();
    let step = named(&spans, "simulation.step")[0];
    let test = named(&spans, "action.test")[0];
    assert_eq!(test.parent_span_id, Some(step.span_id));
    assert_eq!(test.trace_id, step.trace_id);
    assert_eq!((test.start_time, test.end_time), (at_tick(2), at_tick(3)));
    assert_eq!(test.status, SpanStatus::Ok);
    assert_eq!(string(test, "persona_id").as_deref(), Some("SQC"));
    assert_eq!(string(test, "action").as_deref(), Some("test"));
    assert_eq!(string(test, "source").as_deref(), Some("ActionEngine"));
    assert_eq!(string(test, "outcome").as_deref(), Some("success"));
    let deploy = named(&spans, "action.deploy")[0];
    assert_eq!(deploy.parent_span_id, Some(step.span_id));
    assert_eq!(
        deploy.status,
        SpanStatus::error("deploy failed: tool timed out")
    );
    assert!(deploy.events.iter().any(|e| e.name == "exception"));
    let s = actions.stats();
    assert_eq!((s.started, s.completed, s.failed, s.open), (2, 1, 1, 0));
}

/// Without the simulation instrumentation, an action outside any span is a
/// trace of its own; one without a type is `action.run`.
#[test]
fn an_action_outside_a_run_is_a_root_span() {
    let (bus, tracer, metrics) = (EventBus::new(), FccTracer::new("t"), FccMetrics::new());
    let _actions = instrument_action_engine(&bus, &tracer, &metrics);
    let engine = Engine::new(&bus);
    engine.publish(EventType::ActionStarted, "r", json!({}));
    engine.publish(EventType::ActionCompleted, "r", json!({}));
    let spans = tracer.completed_spans();
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].name, "action.run");
    assert_eq!(spans[0].parent_span_id, None);
}

/// A started event published inside a span carries its trace id: the run
/// joins that trace as a child of the span (default), or starts its own
/// trace and links to it.
#[test]
fn a_run_joins_or_links_to_the_trace_of_the_event_that_started_it() {
    let caller_trace: TraceId = "4bf92f3577b34da6a3ce929d0e0e4736".parse().unwrap();
    let caller_span = SpanId::new(0x00f0_67aa_0ba9_02b7).unwrap();
    let with_caller = |b: fcc::EventBuilder| b.trace_context(Some(caller_trace), Some(caller_span));
    for parent_from_event in [true, false] {
        let (bus, tracer, metrics) = (EventBus::new(), FccTracer::new("t"), FccMetrics::new());
        let config = EngineConfig::default().parent_from_event(parent_from_event);
        let _g = instrument_simulation_engine_with(&bus, &tracer, &metrics, config);
        let engine = Engine::new(&bus);
        engine.publish_with(EventType::SimulationStarted, "r", json!({}), with_caller);
        engine.complete("r");
        let run = tracer.completed_spans().remove(0);
        if parent_from_event {
            assert_eq!(run.trace_id, caller_trace);
            assert_eq!(run.parent_span_id, Some(caller_span));
            assert!(
                run.links.is_empty(),
                "its parent already says where it came from"
            );
        } else {
            assert_ne!(run.trace_id, caller_trace);
            assert_eq!(run.parent_span_id, None);
            assert_eq!(run.links.len(), 1);
            assert_eq!(run.links[0].context.trace_id, caller_trace);
            assert_eq!(run.links[0].context.span_id, caller_span);
        }
    }
}

/// An action published in another trace than its run's (another service's
/// request, say) is a child of the run's step and links to that trace.
#[test]
fn an_action_from_another_trace_links_to_it() {
    let (bus, tracer, metrics) = (EventBus::new(), FccTracer::new("t"), FccMetrics::new());
    let _sims = instrument_simulation_engine(&bus, &tracer, &metrics);
    let _actions = instrument_action_engine(&bus, &tracer, &metrics);
    let engine = Engine::new(&bus);
    engine.start("r");
    engine.step("r", 1);
    let other = FccTracer::new("other-service");
    let elsewhere = other.span("request");
    let started = engine.publish_with(EventType::ActionStarted, "r", json!({}), |b| b.action("x"));
    drop(elsewhere);
    engine.publish_with(EventType::ActionCompleted, "r", json!({}), |b| {
        b.action("x")
    });
    engine.complete("r");
    let spans = tracer.completed_spans();
    let step = named(&spans, "simulation.step")[0];
    let action = named(&spans, "action.x")[0];
    assert_eq!(action.parent_span_id, Some(step.span_id));
    assert_eq!(action.links.len(), 1);
    assert_eq!(Some(action.links[0].context.trace_id), started.trace_id());
    assert_eq!(Some(action.links[0].context.span_id), started.span_id());
}

/// The seed's predefined metrics come from the same events, once each:
/// `fcc.simulation.step` per step event, `fcc.action.duration` per action end.
#[test]
fn metrics_are_recorded_once_per_event() {
    let (bus, tracer, metrics) = (EventBus::new(), FccTracer::new("t"), FccMetrics::new());
    let _sims = instrument_simulation_engine(&bus, &tracer, &metrics);
    let _actions = instrument_action_engine(&bus, &tracer, &metrics);
    let engine = Engine::ticking(&bus);
    engine.run("a", 3, 2);
    engine.run("b", 2, 1);
    assert_eq!(metrics.total("fcc.simulation.step"), 5.0);
    let steps = metrics.points_by_name("fcc.simulation.step");
    assert_eq!(steps.len(), 5);
    assert!(steps.iter().any(
        |p| p.labels.get("node_id").map(String::as_str) == Some("N3")
            && p.labels.get("step").map(String::as_str) == Some("3")
    ));
    let durations = metrics.points_by_name("fcc.action.duration");
    assert_eq!(durations.len(), 3 * 2 + 2);
    // Each action took one tick (1 ms) from started to completed.
    assert!(durations.iter().all(|p| p.value == 1.0), "{durations:?}");
    assert!(durations
        .iter()
        .all(
            |p| p.labels.get("persona_id").map(String::as_str) == Some("SQC")
                && p.labels.get("success").map(String::as_str) == Some("true")
        ));
    // The engine's own duration wins over the events' times.
    engine.publish_with(EventType::ActionStarted, "c", json!({}), |b| b.action("t"));
    engine.publish_with(
        EventType::ActionFailed,
        "c",
        json!({"duration_ms": 450.0, "persona_id": "SQC"}),
        |b| b.action("t"),
    );
    let last = metrics.points_by_name("fcc.action.duration").pop().unwrap();
    assert_eq!(last.value, 450.0);
    assert_eq!(
        last.labels.get("success").map(String::as_str),
        Some("false")
    );
    assert_eq!(
        last.labels.get("action_type").map(String::as_str),
        Some("t")
    );
}

/// Dropping the guard unsubscribes: later events make no spans and no
/// points; what was open ends with unset status.
#[test]
fn dropping_the_guard_unsubscribes_and_ends_what_is_open() {
    let (bus, tracer, metrics) = (EventBus::new(), FccTracer::new("t"), FccMetrics::new());
    let sims = instrument_simulation_engine(&bus, &tracer, &metrics);
    let actions = instrument_action_engine(&bus, &tracer, &metrics);
    assert_eq!(bus.subscriber_count(), 2);
    let engine = Engine::new(&bus);
    engine.start("open");
    engine.publish_with(EventType::ActionStarted, "open", json!({}), |b| {
        b.action("x")
    });
    assert_eq!(sims.stats().open, 1);
    drop(sims);
    drop(actions);
    assert_eq!(bus.subscriber_count(), 0);
    let spans = tracer.completed_spans();
    assert_eq!(spans.len(), 2);
    for s in &spans {
        assert_eq!(s.status, SpanStatus::Unset, "{}", s.name);
        assert_eq!(
            string(s, "fcc.engine.unfinished").as_deref(),
            Some("shutdown")
        );
    }
    engine.run("later", 2, 1);
    assert_eq!(tracer.completed_spans().len(), 2, "nothing after the drop");
    assert_eq!(metrics.total("fcc.simulation.step"), 0.0);
    assert_eq!(metrics.total("fcc.action.duration"), 0.0);
}

/// The spans take the tracer's normal pipeline: here its JSON file exporter.
#[test]
fn the_spans_go_through_the_tracers_exporters() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spans.ndjson");
    let tracer = FccTracer::builder("t")
        .exporter(JsonFileSpanExporter::new(&path).unwrap())
        .build()
        .unwrap();
    let (bus, metrics) = (EventBus::new(), FccMetrics::new());
    let _sims = instrument_simulation_engine(&bus, &tracer, &metrics);
    let _actions = instrument_action_engine(&bus, &tracer, &metrics);
    Engine::new(&bus).run("r", 2, 1);
    tracer.shutdown(Duration::from_secs(10)).unwrap();
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let names: Vec<&str> = lines.iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "action.a0",
            "simulation.step",
            "action.a0",
            "simulation.step",
            "simulation.run"
        ]
    );
    let run_id = lines[4]["span_id"].as_str().unwrap();
    assert_eq!(lines[1]["parent_span_id"], run_id);
    assert_eq!(lines[4]["attributes"]["scenario_id"], "SC-r");
}

/// The README's example, as written there.
#[test]
fn the_readme_example() {
    use fcc::{instrument_action_engine, instrument_simulation_engine, Event, EventType};
    let (bus, tracer, metrics) = (
        fcc::EventBus::new(),
        fcc::FccTracer::new("my-app"),
        fcc::FccMetrics::new(),
    );
    let _sims = instrument_simulation_engine(&bus, &tracer, &metrics);
    let _actions = instrument_action_engine(&bus, &tracer, &metrics);

    let ev = |t| {
        Event::builder(t, "SimulationEngine")
            .correlation_id("run-42")
            .attr("scenario_id", "SC-001")
    };
    bus.publish(&ev(EventType::SimulationStarted).build());
    bus.publish(
        &ev(EventType::SimulationStep)
            .attr("step", 1)
            .attr("node_id", "N1")
            .build(),
    );
    bus.publish(&ev(EventType::SimulationCompleted).build());
    let spans = tracer.completed_spans();
    assert_eq!(spans[1].name, "simulation.run");
    assert_eq!(spans[0].parent_span_id, Some(spans[1].span_id));
    assert_eq!(metrics.total("fcc.simulation.step"), 1.0);
    assert_eq!(string(&spans[1], "scenario_id").as_deref(), Some("SC-001"));
}
