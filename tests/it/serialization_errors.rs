//! Bad input: each case gets an error that names the file, line or index and
//! what is wrong.

use fcc::serialization::DecodeErrorKind;
use fcc::{Event, EventSerializer, EventType};
use std::path::PathBuf;

fn good() -> String {
    EventSerializer::to_json(&Event::builder(EventType::ActionStarted, "ActionEngine").build())
}

fn write(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[test]
fn malformed_json_names_file_and_line() {
    let (_d, path) = write(
        "bad.json",
        "{\n  \"event_count\": 1,\n  \"events\": [\n    {\"event_id\": oops}\n  ]\n}\n",
    );
    let err = EventSerializer::load(&path).unwrap_err();
    assert_eq!(err.line(), Some(4));
    let msg = err.to_string();
    assert!(msg.starts_with(&format!("{}:4: ", path.display())), "{msg}");
    assert!(msg.contains("expected value"), "{msg}");
}

#[test]
fn a_missing_required_field_names_the_field_and_the_event() {
    let second =
        r#"{"event_type": "action.failed", "timestamp": "2026-03-27T10:00:00Z", "source": "x"}"#;
    let text = format!(
        "{{\n\"event_count\": 2,\n\"events\": [\n{},\n{}\n]}}",
        good(),
        second
    );
    let (_d, path) = write("missing.json", &text);
    let err = EventSerializer::load(&path).unwrap_err();
    assert_eq!(err.index(), Some(1));
    assert_eq!(err.line(), Some(5));
    let msg = err.to_string();
    assert!(msg.contains("event 1: missing field `event_id`"), "{msg}");
}

#[test]
fn an_unknown_event_type_that_is_no_valid_custom_name_is_rejected() {
    let bad = good().replace("action.started", "Action Started");
    let err = EventSerializer::from_json(&bad).unwrap_err().to_string();
    assert!(
        err.contains("field `event_type`: `Action Started` is not in the catalog"),
        "{err}"
    );
    // A valid custom name is accepted.
    let custom = good().replace("action.started", "billing.invoice.sent");
    assert_eq!(
        EventSerializer::from_json(&custom)
            .unwrap()
            .event_type()
            .as_str(),
        "billing.invoice.sent"
    );
}

#[test]
fn invalid_field_values_name_the_field() {
    for (from, to, field) in [
        (
            "\"severity\":\"info\"",
            "\"severity\":\"fatal\"",
            "severity",
        ),
        ("\"timestamp\":\"", "\"timestamp\":\"x", "timestamp"),
    ] {
        let bad = good().replace(from, to);
        assert_ne!(bad, good());
        let err = EventSerializer::from_json(&bad).unwrap_err().to_string();
        assert!(err.contains(&format!("field `{field}`")), "{err}");
    }
    let with_trace = good().replace("\"payload\"", "\"trace_id\":\"xyz\",\"payload\"");
    assert!(EventSerializer::from_json(&with_trace)
        .unwrap_err()
        .to_string()
        .contains("field `trace_id`"));
    let mut v: serde_json::Value = serde_json::from_str(&good()).unwrap();
    v["event_id"] = "00000000-0000-0000-0000-000000000000".into();
    let nil = v.to_string();
    assert!(EventSerializer::from_json(&nil)
        .unwrap_err()
        .to_string()
        .contains("nil UUID"));
}

#[test]
fn a_wrong_event_count_is_an_error() {
    let text = format!("{{\"event_count\": 3, \"events\": [{}]}}", good());
    let (_d, path) = write("count.json", &text);
    let err = EventSerializer::load(&path).unwrap_err();
    assert!(matches!(
        err.kind(),
        DecodeErrorKind::EventCount {
            declared: 3,
            actual: 1
        }
    ));
    assert_eq!(
        err.to_string(),
        format!(
            "{}: event_count is 3 but the file holds 1 events",
            path.display()
        )
    );
    let missing = format!("{{\"events\": [{}]}}", good());
    assert!(EventSerializer::from_json_batch(&missing)
        .unwrap_err()
        .to_string()
        .contains("missing field `event_count`"));
    let negative = format!("{{\"event_count\": -1, \"events\": [{}]}}", good());
    assert!(EventSerializer::from_json_batch(&negative).is_err());
}

#[test]
fn a_missing_file_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.json");
    let err = EventSerializer::load(&path).unwrap_err();
    assert!(
        matches!(err.kind(), DecodeErrorKind::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
    );
    assert!(err
        .to_string()
        .starts_with(&format!("{}: cannot read", path.display())));
}

#[test]
fn an_unreadable_file_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    // A directory cannot be read as a file, even by root.
    let err = EventSerializer::load(dir.path()).unwrap_err();
    assert!(matches!(err.kind(), DecodeErrorKind::Io(_)), "{err}");
    let (_d, path) = write("binary.json", "");
    std::fs::write(&path, [0xff, 0xfe, 0x00]).unwrap();
    assert!(EventSerializer::load(&path)
        .unwrap_err()
        .to_string()
        .contains("cannot read"));
}

#[test]
fn a_truncated_last_ndjson_line_names_the_line() {
    let full = format!("{}\n{}\n", good(), good());
    let cut = &format!("{full}{}", good())[..full.len() + 40];
    let (_d, path) = write("cut.ndjson", cut);
    let err = EventSerializer::load(&path).unwrap_err();
    assert!(matches!(err.kind(), DecodeErrorKind::Truncated));
    assert_eq!((err.line(), err.index()), (Some(3), Some(2)));
    assert_eq!(
        err.to_string(),
        format!(
            "{}:3: event 2: the last line is cut short (no complete event and no newline)",
            path.display()
        )
    );
}

#[test]
fn a_bad_line_in_the_middle_of_ndjson_is_not_called_truncated() {
    let text = format!("{}\n{{\"event_id\":\n{}\n", good(), good());
    let (_d, path) = write("mid.ndjson", &text);
    let err = EventSerializer::load(&path).unwrap_err();
    assert!(matches!(err.kind(), DecodeErrorKind::Invalid(_)));
    assert_eq!(err.line(), Some(2));
}

#[test]
fn saving_into_a_missing_directory_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/events.json");
    let err = EventSerializer::save(&[], &path).unwrap_err();
    assert_eq!(err.path(), path);
    assert!(err.to_string().contains("cannot write events"));
    assert!(!path.exists());
}
