//! Building events: defaults, every field, the Go seed's shortcuts.

use fcc::{Event, EventType, Outcome, Severity, SpanId, Timestamp, TraceId};
use serde_json::json;

#[test]
fn builder_fills_id_time_category_and_severity_defaults() {
    let before = Timestamp::now();
    let e = Event::builder(EventType::SimulationStep, "SimulationEngine").build();
    let after = Timestamp::now();
    assert_eq!(e.event_id().get_version_num(), 7);
    assert!(before <= e.timestamp() && e.timestamp() <= after);
    assert_eq!(e.category(), "simulation");
    assert_eq!(e.severity(), Severity::Info);
    assert!(e.payload().is_empty());
    assert_eq!(e.outcome(), None);
    assert_eq!(e.trace_id(), None);
}

#[test]
fn ids_are_unique_and_time_ordered() {
    let ids: Vec<_> = (0..1000)
        .map(|_| {
            Event::builder(EventType::NodeEntered, "g")
                .build()
                .event_id()
        })
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, ids, "v7 ids from one thread sort in creation order");
}

#[test]
fn every_field_is_kept() {
    let trace: TraceId = "4bf92f3577b34da6a3ce929d0e0e4736".parse().unwrap();
    let span: SpanId = "00f067aa0ba902b7".parse().unwrap();
    let ts: Timestamp = "2026-03-27T10:00:05.123456Z".parse().unwrap();
    let e = Event::builder(EventType::ProtocolMcpToolFailed, "mcpclient")
        .timestamp(ts)
        .category("backend")
        .resource("mcp_server:vendor")
        .action("tool_call")
        .outcome(Outcome::Timeout)
        .severity(Severity::Error)
        .correlation_id("run-42")
        .task("task-1")
        .mission_id("m-1")
        .objective_id("o-1")
        .detail("deadline exceeded after 30s")
        .payload(json!({"tool": "search"}))
        .attr("attempt", 3)
        .trace_context(Some(trace), Some(span))
        .build();
    assert_eq!(e.timestamp(), ts);
    assert_eq!(e.category(), "backend");
    assert_eq!(e.resource(), Some("mcp_server:vendor"));
    assert_eq!(e.action(), Some("tool_call"));
    assert_eq!(e.outcome(), Some(Outcome::Timeout));
    assert_eq!(e.severity(), Severity::Error);
    assert_eq!(e.correlation_id(), Some("run-42"));
    assert_eq!(e.task(), Some("task-1"));
    assert_eq!(e.mission_id(), Some("m-1"));
    assert_eq!(e.objective_id(), Some("o-1"));
    assert_eq!(e.detail(), Some("deadline exceeded after 30s"));
    assert_eq!(e.payload()["tool"], "search");
    assert_eq!(e.payload()["attempt"], 3);
    assert_eq!(e.trace_id(), Some(trace));
    assert_eq!(e.span_id(), Some(span));
}

#[test]
fn clones_share_and_derived_events_leave_the_original_alone() {
    let e = Event::builder(EventType::ActionStarted, "ActionEngine").build();
    let shared = e.clone();
    assert_eq!(shared, e);
    let derived = e.to_builder().severity(Severity::Error).build();
    assert_eq!(e.severity(), Severity::Info);
    assert_eq!(derived.severity(), Severity::Error);
    assert_eq!(
        derived.event_id(),
        e.event_id(),
        "to_builder keeps the id unless set"
    );
}

#[test]
fn go_seed_shortcuts_set_component_action_detail_and_severity() {
    let err = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
    let e = Event::warn("mcpclient", "connect_attempt", err.to_string())
        .category("backend")
        .resource("mcp_server:vendor")
        .outcome(Outcome::Failure)
        .build();
    assert_eq!(e.source(), "mcpclient");
    assert_eq!(e.action(), Some("connect_attempt"));
    assert_eq!(e.detail(), Some("connection refused"));
    assert_eq!(e.severity(), Severity::Warn);
    assert_eq!(e.category(), "backend");
    assert_eq!(e.event_type().as_str(), "mcpclient.connect_attempt");

    assert_eq!(
        Event::debug("gateway", "route", "").build().severity(),
        Severity::Debug
    );
    assert_eq!(
        Event::info("gateway", "route", "").build().severity(),
        Severity::Info
    );
    assert_eq!(
        Event::error("gateway", "route", "").build().severity(),
        Severity::Error
    );
    let typed = Event::info("orchestrator", "status_change", "ready")
        .event_type(EventType::WorkflowStarted)
        .build();
    assert_eq!(typed.event_type(), &EventType::WorkflowStarted);
}

#[test]
fn non_object_payloads_are_kept_under_value() {
    let e = Event::builder(EventType::VizDataUpdated, "viz")
        .payload(json!([1, 2]))
        .build();
    assert_eq!(e.payload()["value"], json!([1, 2]));
    let e = Event::builder(EventType::VizDataUpdated, "viz")
        .payload(json!(null))
        .build();
    assert!(e.payload().is_empty());
}

#[test]
fn severity_orders_and_outcome_parses() {
    assert!(
        Severity::Debug < Severity::Info
            && Severity::Info < Severity::Warn
            && Severity::Warn < Severity::Error
    );
    for s in Severity::ALL {
        assert_eq!(s.as_str().parse::<Severity>().unwrap(), *s);
    }
    for o in Outcome::ALL {
        assert_eq!(o.as_str().parse::<Outcome>().unwrap(), *o);
    }
    let err = "fatal".parse::<Severity>().unwrap_err().to_string();
    assert_eq!(
        err,
        "unknown severity `fatal`: expected one of debug, info, warn, error"
    );
    assert!("exploded"
        .parse::<Outcome>()
        .unwrap_err()
        .to_string()
        .contains("success, failure, timeout"));
}
