//! Turning a plain `tracing` event that carries fcc's marker into an [`Event`].

use crate::event::{Event, EventType, Payload, Severity};
use serde_json::Value;
use std::fmt;
use tracing::field::{Field, Visit};

/// Collects the fields of a marked tracing event.
pub(crate) struct EventFields {
    event_type: Option<String>,
    strings: Vec<(&'static str, String)>,
    payload: Payload,
}

/// Fields that map onto the event model rather than the payload: the
/// model's text fields ([`Event::FIELD_NAMES`] but the id, type, time,
/// payload and trace context), and `message` (the detail).
fn known(name: &str) -> Option<&'static str> {
    const NOT_TEXT: [&str; 6] = [
        "event_id",
        "event_type",
        "timestamp",
        "payload",
        "trace_id",
        "span_id",
    ];
    if name == "message" {
        return Some("message");
    }
    Event::FIELD_NAMES
        .iter()
        .find(|k| **k == name && !NOT_TEXT.contains(k))
        .copied()
}

impl EventFields {
    pub(crate) fn new() -> Self {
        Self {
            event_type: None,
            strings: Vec::new(),
            payload: Payload::new(),
        }
    }

    fn put(&mut self, field: &Field, value: Value) {
        let name = field.name();
        if name == "event_type" {
            self.event_type = Some(match value {
                Value::String(s) => s,
                other => other.to_string(),
            });
        } else if let Some(known) = known(name) {
            let text = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
            self.strings.push((known, text));
        } else {
            self.payload.insert(name.to_owned(), value);
        }
    }

    /// Builds the event; `Err` says why the fields do not make one.
    pub(crate) fn into_event(self, level: &tracing::Level, target: &str) -> Result<Event, String> {
        let raw = self.event_type.ok_or("no `event_type` field")?;
        let event_type: EventType = raw.parse().map_err(|e| format!("{e}"))?;
        let severity = match *level {
            tracing::Level::ERROR => Severity::Error,
            tracing::Level::WARN => Severity::Warn,
            tracing::Level::INFO => Severity::Info,
            _ => Severity::Debug,
        };
        let mut b = Event::builder(event_type, target)
            .severity(severity)
            .payload(Value::Object(self.payload));
        for (name, text) in self.strings {
            let name = if name == "message" { "detail" } else { name };
            b = b
                .text_field(name, text)?
                .unwrap_or_else(|| unreachable!("{name} is known"));
        }
        Ok(b.build())
    }
}

impl Visit for EventFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(
            field,
            serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number),
        );
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::Bool(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::String(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }
}
