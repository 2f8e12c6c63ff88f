//! Emission through tracing reaches the bus, LogSink and JsonFileSink, whole.

use fcc::{
    Event, EventFilter, EventSerializer, EventType, LogTarget, Outcome, Severity, Telemetry,
};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn telemetry(dir: &std::path::Path) -> Telemetry {
    Telemetry::builder()
        .log(LogTarget::File(dir.join("events.log")))
        .json_file(dir.join("events.ndjson"))
        .fmt(None)
        .build()
        .unwrap()
}

#[test]
fn emitted_events_reach_both_sinks_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let t = telemetry(dir.path());
    let mut emitted = Vec::new();
    tracing::dispatcher::with_default(t.dispatch(), || {
        for step in 0..50u64 {
            let e = Event::builder(EventType::SimulationStep, "SimulationEngine")
                .correlation_id("run-42")
                .attr("step", step)
                .build();
            emitted.push(e.clone());
            fcc::emit(e);
        }
    });
    t.shutdown().unwrap();
    let stored = EventSerializer::load(dir.path().join("events.ndjson")).unwrap();
    assert_eq!(stored, emitted);
    let log = std::fs::read_to_string(dir.path().join("events.log")).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 50);
    assert_eq!(lines[7]["level"], "INFO");
    assert_eq!(lines[7]["event_id"], emitted[7].event_id().to_string());
    assert_eq!(lines[7]["payload"]["step"], 7);
    // The Go seed's LogSink line: fractalog.Component("events"), so the
    // component tag right after the level, then the event's own JSON.
    assert_eq!(lines[7]["component"], "events");
    let line7 = log.lines().nth(7).unwrap();
    let event_json = serde_json::to_string(&emitted[7]).unwrap();
    assert_eq!(
        line7,
        format!(
            "{{\"level\":\"INFO\",\"component\":\"events\",{}",
            &event_json[1..]
        )
    );
    for s in t.sink_stats() {
        assert_eq!((s.written, s.dropped, s.failed), (50, 0, 0), "{s:?}");
    }
}

/// Telemetry with no file sinks and a subscriber that keeps every bus event.
fn recording_telemetry() -> (Telemetry, Arc<Mutex<Vec<Event>>>) {
    let t = Telemetry::builder()
        .log(LogTarget::Off)
        .fmt(None)
        .build()
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    t.bus()
        .subscribe(move |e: &Event| s.lock().unwrap().push(e.clone()));
    (t, seen)
}

#[test]
fn the_event_macro_sets_fields_and_payload() {
    let (t, seen) = recording_telemetry();
    tracing::dispatcher::with_default(t.dispatch(), || {
        fcc::event!(
            EventType::GovernanceGateFailed,
            "governance",
            correlation_id = "run-42",
            severity = Severity::Warn,
            outcome = Outcome::Rejected,
            detail = "missing sign-off",
            gate_id = "G-SEC-01",
            score = 0.4
        );
        fcc::event!(EventType::DemoStarted, "demo");
    });
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    let e = &seen[0];
    assert_eq!(
        (e.severity(), e.outcome(), e.correlation_id()),
        (Severity::Warn, Some(Outcome::Rejected), Some("run-42"))
    );
    assert_eq!(e.detail(), Some("missing sign-off"));
    assert_eq!(e.payload()["gate_id"], "G-SEC-01");
    assert_eq!(e.payload()["score"], 0.4);
}

#[test]
fn plain_tracing_events_with_an_event_type_are_bus_events() {
    let (t, seen) = recording_telemetry();
    tracing::dispatcher::with_default(t.dispatch(), || {
        tracing::warn!(
            event_type = "protocol.mcp.tool.failed",
            source = "mcpclient",
            correlation_id = "run-42",
            tool = "search",
            attempt = 3u64,
            ok = false,
            "tool call timed out"
        );
        tracing::info!(target: "my_lib::jobs", event_type = "billing.invoice.sent", amount = 12.5);
        tracing::info!(step = 3, "an ordinary log line, not a bus event");
        tracing::error!(event_type = "Not A Type", "rejected");
    });
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2, "{seen:?}");
    let e = &seen[0];
    assert_eq!(e.event_type(), &EventType::ProtocolMcpToolFailed);
    assert_eq!((e.source(), e.severity()), ("mcpclient", Severity::Warn));
    assert_eq!(e.detail(), Some("tool call timed out"));
    assert_eq!(e.payload()["tool"], "search");
    assert_eq!(e.payload()["attempt"], 3);
    assert_eq!(e.payload()["ok"], false);
    assert_eq!(
        seen[1].source(),
        "my_lib::jobs",
        "source defaults to the target"
    );
    assert_eq!(seen[1].payload()["amount"], 12.5);
    assert_eq!(t.rejected_events(), 1);
}

#[test]
fn sinks_attach_with_their_own_filter() {
    let dir = tempfile::tempdir().unwrap();
    let t = Telemetry::builder()
        .log(LogTarget::File(dir.path().join("warn.log")))
        .log_filter(EventFilter::new().min_severity(Severity::Warn))
        .fmt(None)
        .build()
        .unwrap();
    tracing::dispatcher::with_default(t.dispatch(), || {
        fcc::emit(Event::info("gateway", "route", "ok"));
        fcc::emit(Event::warn("gateway", "route", "slow"));
    });
    t.shutdown().unwrap();
    let log = std::fs::read_to_string(dir.path().join("warn.log")).unwrap();
    assert_eq!(log.lines().count(), 1);
    assert!(log.contains("\"detail\":\"slow\""));
}

#[test]
fn without_a_layer_emit_does_nothing_and_keeps_nothing() {
    let t = Telemetry::builder()
        .log(LogTarget::Off)
        .fmt(None)
        .build()
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    t.bus()
        .subscribe(move |e: &Event| s.lock().unwrap().push(e.event_type().to_string()));
    // tracing caches a callsite's interest when it is first hit; with one
    // dispatcher in the process, a first hit outside it would cache "never"
    // until interest is rebuilt. The first hit is inside, as in a service.
    let emit = |event_type: &str| fcc::emit(Event::info("x", event_type, ""));
    tracing::dispatcher::with_default(t.dispatch(), || emit("inside-1"));
    emit("outside"); // no dispatcher set on this thread
    tracing::dispatcher::with_default(t.dispatch(), || emit("inside-2"));
    assert_eq!(
        *seen.lock().unwrap(),
        ["x.inside-1", "x.inside-2"],
        "the event emitted outside went nowhere and was not left pending"
    );
    t.flush(Duration::from_secs(1)).unwrap();
}

/// LogSink is the single logging side effect for bus events: the fmt layer for
/// ordinary logs must not print them again.
#[test]
fn bus_events_are_not_logged_twice_by_the_fmt_layer() {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["run", "-q", "--example", "events", "--"])
        .arg(tempfile::tempdir().unwrap().path().join("e.ndjson"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let mentions = stderr
        .lines()
        .filter(|l| l.contains("tool call timed out") && !l.trim_start().starts_with("error"))
        .count();
    assert_eq!(mentions, 1, "{stderr}");
    assert!(
        stderr.contains("an ordinary log line"),
        "ordinary logs still shown"
    );
}
