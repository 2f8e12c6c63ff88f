//! `fcc demo` exporting to a real OTLP receiver (gRPC, as a collector
//! listens on 4317): traces, metrics and log records arrive, and they
//! correlate: each log record and each stored row carries the trace id of a
//! received span. Also `fcc replay --to otlp` over OTLP/HTTP.

use crate::support::otlp_receiver;

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
        3 * (2 + 3 * (1 + 3 * 2 + 1)),
        "mission, simulation run, steps, actions, tool calls, gates"
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
        "fcc.metric_exports",
    ] {
        assert!(metric_names.contains(name), "{name} in {metric_names:?}");
    }
    assert!(stdout.contains("(OTLP exports: "), "{stdout}");
}

/// Runs `fcc demo --missions 2` exporting to `endpoint` (a collector that
/// does not work) and checks that nothing local is lost and that what did
/// not reach the collector is counted, metric exports included.
fn demo_keeps_everything_local(endpoint: &str, protocol: &str) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("events.db").display());
    let out = Command::new(env!("CARGO_BIN_EXE_fcc"))
        .args(["demo", "--missions", "2", "--store", &url])
        .current_dir(dir.path())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(5),
        "undelivered exports exit 5: {stdout}\n{stderr}"
    );
    // Nothing local is lost: every event is stored and every sink wrote all.
    let rows = EventStore::open(&url)
        .unwrap()
        .query(&EventQuery::new().limit(100_000))
        .unwrap();
    let summary_events: usize = stdout
        .lines()
        .map(str::trim)
        .find(|l| l.contains(" events, "))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .expect("the events line");
    assert_eq!(rows.len(), summary_events, "{stdout}");
    assert!(
        stdout.contains("  store      ") && stdout.contains(" 0 dropped, 0 failed"),
        "{stdout}"
    );
    assert!(stdout.contains("drops: 0 (none)"), "{stdout}");
    let spans_file = std::fs::read_to_string(dir.path().join("fcc-demo/spans.ndjson")).unwrap();
    assert_eq!(spans_file.lines().count(), 52, "2 missions x 26 spans");
    assert!(
        stdout.contains("  json file    52 delivered, 0 failed, 0 dropped"),
        "{stdout}"
    );
    // What did not reach the collector is counted, metric exports included.
    let undelivered = stdout
        .lines()
        .find(|l| l.starts_with("not delivered over OTLP: "))
        .expect("a line for what the collector did not get");
    let count = |what: &str| -> u64 {
        undelivered
            .split(what)
            .nth(1)
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{what} counted: {undelivered}"))
    };
    assert!(count("metric exports ") >= 1, "{undelivered}");
    assert_eq!(count("spans "), 52, "{undelivered}");
    assert!(count("log records ") > 0, "{undelivered}");
    assert!(stderr.contains("not delivered"), "{stderr}");
}

#[test]
fn with_the_collector_down_the_demo_keeps_everything_local_and_says_what_was_not_delivered() {
    // A port nothing listens on: every export is refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    demo_keeps_everything_local(&endpoint, "grpc");
}

#[test]
fn with_a_hung_collector_the_demo_does_not_wait_for_it() {
    // A collector that accepts connections and never answers, on either
    // protocol: the demo ends without waiting out the export timeout (10 s
    // by default, per export) and counts what it could not deliver.
    for protocol in ["grpc", "http/protobuf"] {
        let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", hung.local_addr().unwrap());
        let held = std::thread::spawn(move || {
            let mut open = Vec::new();
            for conn in hung.incoming() {
                match conn {
                    Ok(c) => open.push(c),
                    Err(_) => break,
                }
            }
        });
        demo_keeps_everything_local(&endpoint, protocol);
        drop(held);
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
