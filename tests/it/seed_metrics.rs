//! The seed's "Metrics" and "Metric Exporters" sections, example by example.

use fcc::export::{ConsoleMetricExporter, JsonFileMetricExporter, MetricExporter};
use fcc::metrics::{FccMetrics, MetricPoint, MetricType, PREDEFINED};

#[test]
fn metric_point() {
    let point = MetricPoint::new("fcc.simulation.step", 1.0, MetricType::Counter)
        .label("node_id", "N1")
        .label("step", "3");
    assert_eq!(point.name, "fcc.simulation.step");
    assert_eq!(point.value, 1.0);
    assert_eq!(point.metric_type.as_str(), "counter");
    assert_eq!(point.labels.len(), 2);
}

#[test]
fn seven_predefined_metrics_and_the_convenience_methods() {
    let metrics = FccMetrics::new();
    metrics.record_simulation_step(3, "N1");
    metrics.record_persona_activation("SQC");
    metrics.record_gate_result("G-SEC-01", true);
    metrics.record_deliverable("SQC", "test");
    metrics.record_ai_call("anthropic", "claude-3", 1200.0, 850);
    metrics.record_action_execution("SQC", "test", true, 450.0);
    assert_eq!(PREDEFINED.len(), 7);
    let names: Vec<String> = metrics.points().into_iter().map(|p| p.name).collect();
    assert_eq!(
        names,
        [
            "fcc.simulation.step",
            "fcc.persona.activation",
            "fcc.gate.result",
            "fcc.deliverable",
            "fcc.ai.call.latency",
            "fcc.ai.call.tokens",
            "fcc.action.duration"
        ]
    );
    let gate = &metrics.points_by_name("fcc.gate.result")[0];
    assert_eq!(gate.labels["gate_id"], "G-SEC-01");
    assert_eq!(gate.labels["passed"], "true");
    assert_eq!(metrics.total("fcc.ai.call.tokens"), 850.0);
    assert_eq!(metrics.total("fcc.ai.call.latency"), 1200.0);
    let snapshot = metrics.snapshot();
    let latency = snapshot
        .iter()
        .find(|m| m.name == "fcc.ai.call.latency")
        .unwrap();
    assert_eq!(
        (latency.unit.as_str(), latency.metric_type),
        ("ms", MetricType::Histogram)
    );
    match &latency.series[0].value {
        fcc::metrics::SeriesValue::Histogram {
            count,
            sum,
            counts,
            bounds,
            ..
        } => {
            assert_eq!((*count, *sum), (1, 1200.0));
            // 1200 falls in (1000, 2500].
            let i = bounds.iter().position(|b| *b == 2500.0).unwrap();
            assert_eq!(counts[i], 1);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn generic_operations_and_queries() {
    let metrics = FccMetrics::new();
    metrics
        .increment("my.custom.counter", &[("env", "prod")])
        .unwrap();
    metrics
        .increment("my.custom.counter", &[("env", "prod")])
        .unwrap();
    metrics
        .observe("my.custom.gauge", 42.0, &[("env", "prod")])
        .unwrap();
    for step in 0..3 {
        metrics.record_simulation_step(step, "N1");
    }
    assert_eq!(metrics.points().len(), 6);
    let sim_points = metrics.points_by_name("fcc.simulation.step");
    assert_eq!(sim_points.len(), 3);
    assert_eq!(metrics.total("fcc.simulation.step"), 3.0);
    assert_eq!(metrics.total("my.custom.counter"), 2.0);
    assert_eq!(metrics.total("my.custom.gauge"), 42.0);
    assert_eq!(metrics.total("never.recorded"), 0.0);
}

#[test]
fn console_exporter_prints_the_seed_line() {
    let metrics = FccMetrics::new();
    metrics.record_simulation_step(3, "N1");
    let mut out = Vec::new();
    ConsoleMetricExporter::with_writer(&mut out)
        .export(&metrics.points())
        .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "[METRIC] fcc.simulation.step=1.0 type=counter node_id=N1 step=3\n"
    );
}

#[test]
fn json_file_exporter_writes_one_object_per_point() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics/run-42.json");
    let metrics = FccMetrics::new();
    metrics.record_simulation_step(3, "N1");
    metrics.observe("queue.depth", 7.5, &[]).unwrap();
    let mut json_exporter = JsonFileMetricExporter::new(&path).unwrap();
    json_exporter.export(&metrics.points()).unwrap();
    // A `.json` path holds one JSON array (an `.ndjson` path, one per line).
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["name"], "fcc.simulation.step");
    assert_eq!(lines[0]["value"], 1.0);
    assert_eq!(lines[0]["metric_type"], "counter");
    assert_eq!(lines[0]["labels"]["step"], "3");
    assert_eq!(lines[1]["metric_type"], "gauge");
    assert!(lines[1]["timestamp"].as_str().unwrap().ends_with('Z'));
}

/// The seed: "custom exporters implement the MetricExporter ABC".
struct Collect(Vec<String>);
impl MetricExporter for Collect {
    fn export(&mut self, points: &[MetricPoint]) -> Result<(), fcc::export::ExportError> {
        self.0.extend(points.iter().map(|p| p.name.clone()));
        Ok(())
    }
}

#[test]
fn a_custom_exporter() {
    let metrics = FccMetrics::new();
    metrics.record_persona_activation("SQC");
    let mut c = Collect(Vec::new());
    c.export(&metrics.points()).unwrap();
    assert_eq!(c.0, ["fcc.persona.activation"]);
}
