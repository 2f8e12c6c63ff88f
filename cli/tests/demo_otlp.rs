//! `fcc demo` exporting to a real OTLP receiver (gRPC, as a collector
//! listens on 4317): traces, metrics and log records arrive, and they
//! correlate: each log record and each stored row carries the trace id of a
//! received span. Also `fcc replay --to otlp` over OTLP/HTTP.

#[path = "../../tests/support/otlp_receiver.rs"]
mod otlp_receiver;

use std::collections::HashSet;
use std::process::Command;

use fcc_store::{EventQuery, EventStore};
use otlp_receiver::OtlpReceiver;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn the_demo_exports_correlated_traces_metrics_and_logs() {
    let receiver = OtlpReceiver::grpc("127.0.0.1:0");
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("events.db").display());
    let out = Command::new(env!("CARGO_BIN_EXE_fcc"))
        .args(["demo", "--missions", "3", "--store", &url])
        .current_dir(dir.path())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        .env("OTEL_SERVICE_NAME", "fcc-demo-test")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("OTLP       {}", receiver.endpoint())),
        "{stdout}"
    );
    let received = receiver.stop();

    let store = EventStore::open(&url).unwrap();
    let rows = store.query(&EventQuery::new().limit(100_000)).unwrap();
    let spans = received.spans();
    let logs = received.logs();
    assert_eq!(
        spans.len(),
        3 * (1 + 3 * (1 + 3 * 2 + 1)),
        "mission, objectives, actions, tool calls, gates"
    );
    assert_eq!(logs.len(), rows.len(), "one log record per event");
    assert!(spans
        .iter()
        .all(|s| s.service_name.as_deref() == Some("fcc-demo-test")));

    let span_ids: HashSet<(String, String)> = spans
        .iter()
        .map(|s| (hex(&s.span.trace_id), hex(&s.span.span_id)))
        .collect();
    for l in &logs {
        let ids = (hex(&l.record.trace_id), hex(&l.record.span_id));
        assert!(
            span_ids.contains(&ids),
            "log record {:?} is in a received span",
            l.record.event_name
        );
    }
    for e in &rows {
        let ids = (
            e.trace_id().unwrap().to_string(),
            e.span_id().unwrap().to_string(),
        );
        assert!(
            span_ids.contains(&ids),
            "stored {} is in a received span",
            e.event_type()
        );
    }
    let metric_names: HashSet<String> = received
        .metric_requests()
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .map(|m| m.name.clone())
        .collect();
    for name in [
        "fcc.simulation.step",
        "fcc.gate.result",
        "fcc.ai.call.latency",
        "fcc.action.duration",
        "fcc.bus.published",
    ] {
        assert!(metric_names.contains(name), "{name} in {metric_names:?}");
    }
}

#[test]
fn replay_re_exports_saved_events_as_otlp_log_records() {
    let receiver = OtlpReceiver::http("127.0.0.1:0");
    let dir = tempfile::tempdir().unwrap();
    let events: Vec<fcc::Event> = (0..25)
        .map(|i| fcc::Event::info("gateway", "request", format!("request {i}")).build())
        .collect();
    fcc::EventSerializer::save(&events, dir.path().join("saved.json")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fcc"))
        .args([
            "replay",
            "saved.json",
            "--to",
            "otlp",
            "--otlp-endpoint",
            &receiver.endpoint(),
        ])
        .current_dir(dir.path())
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let logs = receiver.stop().logs();
    assert_eq!(logs.len(), 25);
    let bodies: HashSet<String> = logs
        .iter()
        .filter_map(|l| match l.record.body.as_ref()?.value.as_ref()? {
            opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(s) => {
                Some(s.clone())
            }
            _ => None,
        })
        .collect();
    assert!(bodies.contains("request 0") && bodies.contains("request 24"));
}
