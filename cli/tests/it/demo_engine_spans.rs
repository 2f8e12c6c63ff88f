//! `fcc demo` traces its engines from their events (issue 19, item 1): each
//! simulation step and each action is exactly one span, in the mission's
//! tree, and one metric point; nothing is traced or counted twice.

use crate::support;
use support::{fcc, text};

use std::collections::HashMap;

use fcc::{EventSerializer, EventType};
use serde_json::Value;

/// The value printed after `name` in the summary's metrics block.
fn summary_metric(stdout: &str, name: &str) -> f64 {
    stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix(name).map(str::trim))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in:\n{stdout}"))
}

fn attr(span: &Value, key: &str) -> String {
    match &span["attributes"][key] {
        Value::String(s) => s.clone(),
        Value::Null => panic!("{} has no {key}: {span}", span["name"]),
        other => other.to_string(),
    }
}

#[test]
fn each_step_and_action_is_one_span_in_the_mission_tree_and_one_metric_point() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("events.db").display());
    let out = fcc(
        &[
            "demo",
            "--missions",
            "5",
            "--objectives",
            "4",
            "--store",
            &url,
        ],
        dir.path(),
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains("  engines      5 simulation runs (20 steps), 60 actions; 0 unpaired, 0 timed out, 0 evicted, 0 left open"),
        "{stdout}"
    );

    let events = EventSerializer::load(dir.path().join("fcc-demo/events.ndjson")).unwrap();
    let spans: Vec<Value> = std::fs::read_to_string(dir.path().join("fcc-demo/spans.ndjson"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let by_id: HashMap<&str, &Value> = spans
        .iter()
        .map(|s| (s["span_id"].as_str().unwrap(), s))
        .collect();
    let parent = |s: &Value| -> &Value {
        let id = s["parent_span_id"].as_str().expect("a parent");
        by_id[id]
    };
    let name = |s: &Value| s["name"].as_str().unwrap().to_owned();
    let count = |n: &str| spans.iter().filter(|s| name(s) == n).count();

    // What the demo no longer traces itself.
    assert_eq!(count("objective.run"), 0, "steps are the instrumentation's");
    assert_eq!(count("action.run"), 0, "actions are the instrumentation's");
    assert_eq!(count("mission.run"), 5);
    assert_eq!(count("simulation.run"), 5);

    // Each step event: one step span, under its mission's run, under the mission.
    let steps: Vec<_> = events
        .iter()
        .filter(|e| *e.event_type() == EventType::SimulationStep)
        .collect();
    assert_eq!(steps.len(), 20);
    for e in &steps {
        let mission = e.mission_id().unwrap();
        let step = e.payload()["step"].to_string();
        let found: Vec<&Value> = spans
            .iter()
            .filter(|s| {
                name(s) == "simulation.step"
                    && attr(s, "correlation_id") == mission
                    && attr(s, "step") == step
            })
            .collect();
        assert_eq!(found.len(), 1, "step {step} of {mission}");
        let run = parent(found[0]);
        assert_eq!(name(run), "simulation.run");
        assert_eq!(attr(run, "mission_id"), mission);
        assert_eq!(
            name(parent(run)),
            "mission.run",
            "the mission's tree stays whole"
        );
        assert_eq!(run["trace_id"], parent(run)["trace_id"]);
    }
    assert_eq!(count("simulation.step"), steps.len());

    // Each action: one span, under the step of its objective, ok or error as it ended.
    let ends: Vec<_> = events
        .iter()
        .filter(|e| {
            matches!(
                e.event_type(),
                EventType::ActionCompleted | EventType::ActionFailed
            )
        })
        .collect();
    assert_eq!(ends.len(), 60);
    let mut durations = 0.0;
    for e in &ends {
        let (mission, objective, action) = (
            e.mission_id().unwrap(),
            e.objective_id().unwrap(),
            e.action().unwrap(),
        );
        let found: Vec<&Value> = spans
            .iter()
            .filter(|s| {
                name(s) == format!("action.{action}")
                    && attr(s, "correlation_id") == mission
                    && attr(s, "objective_id") == objective
            })
            .collect();
        assert_eq!(found.len(), 1, "{action} of {objective}");
        let span = found[0];
        let failed = *e.event_type() == EventType::ActionFailed;
        assert_eq!(span["status"], if failed { "error" } else { "ok" });
        let step = parent(span);
        assert_eq!(name(step), "simulation.step");
        assert_eq!(attr(step, "node_id"), objective);
        durations += e.payload()["duration_ms"].as_f64().unwrap();
    }
    let action_spans = spans
        .iter()
        .filter(|s| name(s).starts_with("action."))
        .count();
    assert_eq!(action_spans, ends.len());

    // One metric point per step and per action: the summary's totals are
    // the events' own counts and durations.
    assert_eq!(summary_metric(&stdout, "fcc.simulation.step"), 20.0);
    assert_eq!(summary_metric(&stdout, "fcc.action.duration"), durations);
}
