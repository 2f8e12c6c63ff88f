//! The JSON line of an event, written straight into a byte buffer.
//!
//! Byte for byte what `serde_json::to_string(&event)` gives through the
//! `Serialize` impl in `json.rs` (a test holds them together), without
//! serde's per-field machinery: field names are constants, strings that need
//! no escaping (nearly all) are copied whole after one scan, ids and
//! timestamps are formatted on the stack. Payload values other than strings
//! go through `serde_json`. The optional fields come from the one list in
//! `fields.rs`.

use super::fields::{CATEGORY, EVENT_TYPE, PAYLOAD, SEVERITY, SOURCE, TIMESTAMP};
use super::EventData;
use serde_json::Value;
use std::io::Write as _;

/// Appends `"s"`, escaped as `serde_json` escapes it.
#[inline]
fn string(out: &mut Vec<u8>, s: &str) {
    // serde_json escapes exactly `"`, `\` and the C0 controls.
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// Appends `,"name":"value"`.
#[inline]
fn field(out: &mut Vec<u8>, name: &'static [u8], value: &str) {
    out.extend_from_slice(name);
    string(out, value);
}

fn payload(out: &mut Vec<u8>, d: &EventData) {
    out.push(b'{');
    for (i, (key, value)) in d.attrs().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, key);
        out.push(b':');
        match value {
            Value::String(s) => string(out, s),
            other => {
                let _ = serde_json::to_writer(&mut *out, other);
            }
        }
    }
    out.push(b'}');
}

/// Appends the event's JSON object (no newline); returns where its
/// payload's JSON object lies in `out`.
pub(super) fn event(out: &mut Vec<u8>, d: &EventData, category: &str) -> std::ops::Range<usize> {
    // The opening and the ids' keys are whole literals (one copy, one
    // `write!`), as fast as before the field list; `fields.rs`'s test holds
    // every key to `Event::FIELD_NAMES`.
    out.extend_from_slice(b"{\"event_id\":\"");
    let mut id = uuid::Uuid::encode_buffer();
    out.extend_from_slice(d.event_id.hyphenated().encode_lower(&mut id).as_bytes());
    out.push(b'"');
    field(out, EVENT_TYPE.json_key, d.event_type.as_str());
    field(
        out,
        TIMESTAMP.json_key,
        d.timestamp.format_rfc3339().as_str(),
    );
    field(out, SOURCE.json_key, d.text.get(d.source));
    field(out, CATEGORY.json_key, category);
    field(out, SEVERITY.json_key, d.severity.as_str());
    for (name, value) in d.optional_text() {
        if let Some(v) = value {
            field(out, name.json_key, v);
        }
    }
    out.extend_from_slice(PAYLOAD.json_key);
    let start = out.len();
    payload(out, d);
    let payload_json = start..out.len();
    // Lower-case hex ids need no escaping.
    if let Some(t) = d.trace_id {
        let _ = write!(out, ",\"trace_id\":\"{t}\"");
    }
    if let Some(s) = d.span_id {
        let _ = write!(out, ",\"span_id\":\"{s}\"");
    }
    out.push(b'}');
    payload_json
}

#[cfg(test)]
mod tests {
    use crate::event::{Event, EventType, Outcome, Severity, SpanId, TraceId};
    use serde_json::json;

    /// The fast writer and the `Serialize` impl agree byte for byte.
    fn agree(e: &Event) {
        assert_eq!(e.json(), serde_json::to_string(e).unwrap());
    }

    #[test]
    fn matches_serde_for_every_field_and_every_escape() {
        agree(&Event::builder(EventType::ActionStarted, "ActionEngine").build());
        let tricky = "quote \" backslash \\ newline \n tab \t nul \0 bell \u{7} esc \u{1b} us \u{1f} del \u{7f} é ✓ 🚀 \u{2028}";
        agree(
            &Event::builder(EventType::custom("my.custom_type").unwrap(), tricky)
                .category(tricky)
                .severity(Severity::Error)
                .outcome(Outcome::Failure)
                .resource(tricky)
                .action("a")
                .correlation_id("run-42")
                .task("t")
                .mission_id("M-1")
                .objective_id("O-1")
                .detail(tricky)
                .attr(tricky, tricky)
                .attr("int", -42)
                .attr("big", u64::MAX)
                .attr("float", 1.5e-7)
                .attr("bool", true)
                .attr("null", serde_json::Value::Null)
                .attr(
                    "nested",
                    json!({"a": [1, "two\n", {"b": null}], "k\"": 2.0}),
                )
                .trace_context(
                    TraceId::new(0x0af7651916cd43dd8448eb211c80319c),
                    SpanId::new(0x00f067aa0ba902b7),
                )
                .build(),
        );
        agree(&Event::warn("mcpserver.GatewayServer", "Start", "").build());
    }
}
