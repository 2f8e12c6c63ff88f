//! The seed's tracing sections ("Tracing", "The @traced Decorator", "Span
//! Exporters", "Optional OpenTelemetry Integration"), example by example.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use fcc::export::{ConsoleSpanExporter, JsonFileSpanExporter, SpanExporter};
use fcc::trace::{KeyValue, SpanData, SpanStatus};
use fcc::{traced, FccTracer, SpanId, TraceId};

fn seed_span() -> SpanData {
    // span_id="abc-123", trace_id="trace-001" in the seed; W3C ids here.
    let start = UNIX_EPOCH + Duration::from_secs(1_774_605_600); // 2026-03-27T10:00:00Z
    let mut span = SpanData::new(
        SpanId::new(0xabc123).unwrap(),
        "abc12345000000000000000000000001"
            .parse::<TraceId>()
            .unwrap(),
        "simulation.run",
        start,
    );
    span.end_time = start + Duration::from_secs(5);
    span.status = SpanStatus::Ok;
    span.attributes = vec![KeyValue::new("scenario_id", "SC-001")];
    span
}

#[test]
fn span_data_duration_ms() {
    assert_eq!(seed_span().duration_ms(), 5000.0);
}

#[test]
fn fcc_tracer_nests_spans_and_collects_them() {
    let tracer = FccTracer::new("my-app");
    {
        let mut ctx = tracer.span("simulation.run");
        ctx.set_attribute("scenario_id", "SC-001");
        {
            let mut step_ctx =
                tracer.span_with("simulation.step", [KeyValue::new("node_id", "N1")]);
            step_ctx.set_attribute("persona_id", "SQC");
        }
    }
    let spans = tracer.completed_spans();
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(names, ["simulation.step", "simulation.run"]);
    let (step, run) = (&spans[0], &spans[1]);
    assert_eq!(step.trace_id, run.trace_id);
    assert_eq!(step.parent_span_id, Some(run.span_id));
    assert_eq!(run.parent_span_id, None);
    assert_eq!(step.attribute("node_id"), Some(&"N1".into()));
    assert_eq!(step.attribute("persona_id"), Some(&"SQC".into()));
    assert_eq!(run.attribute("scenario_id"), Some(&"SC-001".into()));
    assert!(run.duration_ms() >= step.duration_ms());
}

fn process(data: &[u8]) -> usize {
    data.len()
}

#[traced("my_operation", tracer = tracer, skip(tracer))]
fn do_work(data: &[u8], tracer: Option<&FccTracer>) -> usize {
    process(data)
}

#[test]
fn traced_with_and_without_a_tracer() {
    let tracer = FccTracer::new("my-app");
    assert_eq!(do_work(b"abc", Some(&tracer)), 3); // with tracing
    assert_eq!(do_work(b"abcd", None), 4); // without tracing (no overhead)
    let spans = tracer.completed_spans();
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].name, "my_operation");
}

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn console_exporter_prints_the_seed_line() {
    let out = Shared::default();
    ConsoleSpanExporter::with_writer(out.clone())
        .export(&[seed_span()])
        .unwrap();
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    assert_eq!(
        text,
        "[SPAN] simulation.run trace=abc12345... 5000.0ms status=ok scenario_id=SC-001\n"
    );
}

#[test]
fn json_file_exporter_writes_one_object_per_span() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traces/run-42.json");
    let mut json_exporter = JsonFileSpanExporter::new(&path).unwrap();
    json_exporter.export(&[seed_span()]).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let all: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let v = &all[0];
    assert_eq!(v["name"], "simulation.run");
    assert_eq!(v["trace_id"], "abc12345000000000000000000000001");
    assert_eq!(v["span_id"], "0000000000abc123");
    assert_eq!(v["parent_span_id"], serde_json::Value::Null);
    assert_eq!(v["start_time"], "2026-03-27T10:00:00.000000Z");
    assert_eq!(v["duration_ms"], 5000.0);
    assert_eq!(v["status"], "ok");
    assert_eq!(v["attributes"]["scenario_id"], "SC-001");
}

#[test]
fn json_file_exporter_refuses_an_unwritable_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let err = JsonFileSpanExporter::new(file.join("below-a-file.json"))
        .err()
        .unwrap();
    assert!(!err.to_string().is_empty());
}

#[test]
fn attached_exporters_receive_every_finished_span() {
    let out = Shared::default();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spans.ndjson");
    let tracer = FccTracer::builder("my-app")
        .exporter(ConsoleSpanExporter::with_writer(out.clone()))
        .exporter(JsonFileSpanExporter::new(&path).unwrap())
        .build()
        .unwrap();
    for i in 0..3 {
        let mut s = tracer.span("simulation.step");
        s.set_attribute("step", i as i64);
    }
    tracer.flush(Duration::from_secs(5)).unwrap();
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text
        .lines()
        .all(|l| l.starts_with("[SPAN] simulation.step trace=")));
    assert!(text.contains(" step=2"));
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 3);
    let stats = tracer.stats();
    assert_eq!((stats.spans_queued, stats.spans_exported), (3, 3));
    // The seed's completed_spans still works with exporters attached.
    assert_eq!(tracer.completed_spans().len(), 3);
}

/// A custom exporter (the seed: "for Prometheus, Datadog, or a database").
struct Failing;

impl SpanExporter for Failing {
    fn export(&mut self, _: &[SpanData]) -> Result<(), fcc::export::ExportError> {
        Err(fcc::export::ExportError::failed(
            "failing",
            "database is down",
        ))
    }
}

#[test]
fn a_failing_exporter_is_retried_then_counted_and_others_still_export() {
    let out = Shared::default();
    let tracer = FccTracer::builder("my-app")
        .export_retries(1)
        .exporter(Failing)
        .exporter(ConsoleSpanExporter::with_writer(out.clone()))
        .build()
        .unwrap();
    drop(tracer.span("one"));
    tracer.flush(Duration::from_secs(5)).unwrap();
    let s = tracer.stats();
    assert_eq!((s.spans_failed, s.export_errors), (1, 2), "{s:?}");
    assert_eq!(s.last_error.as_deref(), Some("failing: database is down"));
    assert_eq!(
        String::from_utf8(out.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .count(),
        1
    );
}

#[test]
fn otel_is_always_available() {
    let tracer = FccTracer::new("my-app");
    assert!(tracer.otel_available());
    assert!(!tracer.otlp_enabled());
}

/// The seed's `tracer.span("name", attributes)` with plain Rust pairs: one
/// value type in an array, mixed value types with `fcc::attrs!`, and
/// OpenTelemetry key-values as before.
#[test]
fn span_attributes_as_plain_rust_pairs() {
    let tracer = FccTracer::new("seed");
    drop(tracer.span_with("a", [("scenario_id", "SC-001"), ("node_id", "N1")]));
    drop(tracer.span_with(
        "b",
        fcc::attrs![
            ("scenario_id", "SC-001"),
            ("step", 3),
            ("ok", true),
            ("ms", 1.5)
        ],
    ));
    let scenario = String::from("SC-002");
    drop(tracer.span_with("c", vec![("scenario_id", scenario.as_str())]));
    drop(tracer.span_with("d", [KeyValue::new("step", 4_i64)]));
    let spans = tracer.completed_spans();
    let get = |i: usize, k: &str| spans[i].attribute(k).cloned();
    use fcc::trace::Value;
    assert_eq!(get(0, "node_id"), Some(Value::from("N1")));
    assert_eq!(get(1, "step"), Some(Value::I64(3)));
    assert_eq!(get(1, "ok"), Some(Value::Bool(true)));
    assert_eq!(get(1, "ms"), Some(Value::F64(1.5)));
    assert_eq!(get(2, "scenario_id"), Some(Value::from("SC-002")));
    assert_eq!(get(3, "step"), Some(Value::I64(4)));
}

/// The seed's `JsonFileSpanExporter("traces/run-42.json")`: a `.json` path
/// holds one JSON document, an array of the seed's span objects, that a
/// strict parser accepts after every export and after shutdown; `.ndjson`
/// keeps one object per line. The metric exporter does the same.
#[test]
fn json_file_exporters_write_a_valid_json_document_for_a_json_path() {
    use fcc::export::{JsonFileMetricExporter, JsonFileSpanExporter, MetricExporter};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traces/run-42.json");
    let parse = |p: &std::path::Path| -> Vec<serde_json::Value> {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).expect("a valid JSON array")
    };
    let tracer = FccTracer::builder("seed")
        .exporter(JsonFileSpanExporter::new(&path).unwrap())
        .schedule_delay(Duration::from_secs(3600))
        .build()
        .unwrap();
    assert!(parse(&path).is_empty(), "valid before any span");
    for round in 1..=3 {
        drop(tracer.span_with("simulation.run", [("scenario_id", "SC-001")]));
        tracer.flush(Duration::from_secs(10)).unwrap();
        let spans = parse(&path);
        assert_eq!(spans.len(), round);
        assert_eq!(spans[0]["name"], "simulation.run");
        assert_eq!(spans[0]["attributes"]["scenario_id"], "SC-001");
    }
    tracer.shutdown(Duration::from_secs(10)).unwrap();
    assert_eq!(parse(&path).len(), 3, "valid after shutdown");

    let metrics = fcc::metrics::FccMetrics::new();
    metrics.record_simulation_step(3, "N1");
    let mpath = dir.path().join("metrics.json");
    let mut m = JsonFileMetricExporter::new(&mpath).unwrap();
    m.export(&metrics.points()).unwrap();
    m.export(&metrics.points()).unwrap();
    let points = parse(&mpath);
    assert_eq!(points.len(), 2);
    assert_eq!(points[0]["name"], "fcc.simulation.step");
}
