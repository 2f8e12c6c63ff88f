//! Round trips through every format are exact for every field.

use fcc::{Event, EventSerializer, EventType, FileFormat, Outcome, Severity, Timestamp};
use serde_json::json;

fn full_event() -> Event {
    Event::builder(EventType::ProtocolMcpToolFailed, "mcpclient")
        .timestamp("2026-03-27T10:00:05.123456Z".parse().unwrap())
        .category("backend")
        .resource("mcp_server:vendor")
        .action("tool_call")
        .outcome(Outcome::Timeout)
        .severity(Severity::Error)
        .correlation_id("run-42")
        .task("t")
        .mission_id("m")
        .objective_id("o")
        .detail("ünïcødé \"quoted\"\nnewline \u{1F600}")
        .payload(json!({
            "null": null, "bool": true, "int": -42, "big": u64::MAX, "float": 0.1,
            "tiny": 5e-324, "huge": 1.7976931348623157e308, "string": "s",
            "array": [1, "two", [3.5], {"four": 4}], "object": {"nested": {"deep": [null]}}
        }))
        .trace_context(
            Some("4bf92f3577b34da6a3ce929d0e0e4736".parse().unwrap()),
            Some("00f067aa0ba902b7".parse().unwrap()),
        )
        .build()
}

fn minimal_event() -> Event {
    Event::builder(
        EventType::custom("billing.invoice.sent").unwrap(),
        "billing",
    )
    .build()
}

#[test]
fn one_event_round_trips_exactly() {
    for e in [full_event(), minimal_event()] {
        let json = EventSerializer::to_json(&e);
        let back = EventSerializer::from_json(&json).unwrap();
        assert_eq!(back, e);
        assert_eq!(EventSerializer::to_json(&back), json);
    }
}

#[test]
fn the_json_form_names_every_field_and_leaves_out_unset_ones() {
    let v: serde_json::Value =
        serde_json::from_str(&EventSerializer::to_json(&full_event())).unwrap();
    for key in [
        "event_id",
        "event_type",
        "timestamp",
        "source",
        "category",
        "severity",
        "outcome",
        "resource",
        "action",
        "correlation_id",
        "task",
        "mission_id",
        "objective_id",
        "detail",
        "payload",
        "trace_id",
        "span_id",
    ] {
        assert!(v.get(key).is_some(), "{key} missing");
    }
    assert_eq!(v["timestamp"], "2026-03-27T10:00:05.123456Z");
    assert_eq!(v["event_type"], "protocol.mcp.tool.failed");
    assert_eq!(v["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    let min: serde_json::Value =
        serde_json::from_str(&EventSerializer::to_json(&minimal_event())).unwrap();
    let keys: Vec<&str> = min
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut keys = keys;
    keys.sort();
    assert_eq!(
        keys,
        [
            "category",
            "event_id",
            "event_type",
            "payload",
            "severity",
            "source",
            "timestamp"
        ]
    );
}

#[test]
fn timestamps_keep_every_microsecond() {
    for micros in [
        0,
        1,
        999_999,
        1_774_605_605_123_456,
        -1,
        253_402_300_799_999_999,
    ] {
        let e = Event::builder(EventType::NodeExited, "n")
            .timestamp(Timestamp::from_unix_micros(micros))
            .build();
        let back = EventSerializer::from_json(&EventSerializer::to_json(&e)).unwrap();
        assert_eq!(back.timestamp().unix_micros(), micros);
    }
}

#[test]
fn seed_written_events_with_python_style_fields_load() {
    // What the Python seed writes: +00:00 offsets, null correlation ids, no Go fields.
    let json = r#"{"event_id": "6f1c2a9e-8d4b-4f7a-9c3e-2b1d0e5f7a8c", "event_type": "action.completed",
        "timestamp": "2026-03-27T10:00:00.250000+00:00", "source": "ActionEngine",
        "payload": {"persona_id": "SQC"}, "correlation_id": null, "future_field": 1}"#;
    let e = EventSerializer::from_json(json).unwrap();
    assert_eq!(e.event_type(), &EventType::ActionCompleted);
    assert_eq!(e.timestamp().to_string(), "2026-03-27T10:00:00.250000Z");
    assert_eq!(e.correlation_id(), None);
    assert_eq!(e.severity(), Severity::Info);
    assert_eq!(e.category(), "action");
}

#[test]
fn batches_files_and_ndjson_round_trip() {
    let events = vec![full_event(), minimal_event(), full_event()];
    let batch = EventSerializer::to_json_batch(&events);
    assert!(batch.starts_with(r#"{"event_count":3,"events":[{"#));
    assert_eq!(EventSerializer::from_json_batch(&batch).unwrap(), events);

    let dir = tempfile::tempdir().unwrap();
    let json_path = dir.path().join("events.json");
    EventSerializer::save(&events, &json_path).unwrap();
    let text = std::fs::read_to_string(&json_path).unwrap();
    assert!(text.starts_with("{\n  \"event_count\": 3,\n  \"events\": ["));
    assert_eq!(EventSerializer::detect_format(&text), FileFormat::Json);
    assert_eq!(EventSerializer::load(&json_path).unwrap(), events);

    let nd_path = dir.path().join("events.ndjson");
    EventSerializer::save_ndjson(&events[..1], &nd_path).unwrap();
    EventSerializer::append_ndjson(&events[1..], &nd_path).unwrap();
    let text = std::fs::read_to_string(&nd_path).unwrap();
    assert_eq!(text.lines().count(), 3);
    assert_eq!(EventSerializer::detect_format(&text), FileFormat::Ndjson);
    assert_eq!(EventSerializer::load(&nd_path).unwrap(), events);
    assert_eq!(
        EventSerializer::from_ndjson(&EventSerializer::to_ndjson(&events)).unwrap(),
        events
    );
}

#[test]
fn empty_and_single_line_files_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.json");
    EventSerializer::save(&[], &empty).unwrap();
    assert!(EventSerializer::load(&empty).unwrap().is_empty());
    let compact = dir.path().join("compact.json");
    std::fs::write(&compact, EventSerializer::to_json_batch(&[minimal_event()])).unwrap();
    assert_eq!(EventSerializer::load(&compact).unwrap().len(), 1);
    let one_line = dir.path().join("one.ndjson");
    std::fs::write(&one_line, EventSerializer::to_json(&minimal_event())).unwrap();
    assert_eq!(EventSerializer::load(&one_line).unwrap().len(), 1);
    let array = r#"[]"#;
    assert!(EventSerializer::from_json_batch(array).unwrap().is_empty());
}
