//! An [`Event`] as OTel attributes: shared by span events and log records.

use std::borrow::Cow;

use serde_json::Value as Json;

use crate::trace::{Key, KeyValue, SpanEvent, Value};
use crate::Event;

/// The event's fields as attributes: the model's names (`event_type`,
/// `event_id`, `source`, `category`, `severity`, then the set ones of
/// [`Event::optional_text_fields`]) and payload entries as
/// `payload.<key>`. Empty fields are left out. The type is the span event's
/// or log record's name, so it is not repeated here except as `event_type`.
pub(crate) fn event_attributes(e: &Event) -> Vec<KeyValue> {
    let mut kv = Vec::with_capacity(8 + e.payload_len());
    kv.push(KeyValue::new(
        "event_type",
        e.event_type().as_str().to_owned(),
    ));
    kv.push(KeyValue::new("event_id", e.event_id().to_string()));
    kv.push(KeyValue::new("source", e.source().to_owned()));
    kv.push(KeyValue::new("category", e.category().to_owned()));
    kv.push(KeyValue::new("severity", e.severity().as_str()));
    for (k, v) in e.optional_text_fields() {
        kv.push(KeyValue::new(k, v.to_owned()));
    }
    for (k, v) in e.payload_entries() {
        kv.push(KeyValue::new(
            Key::from(format!("payload.{k}")),
            json_value(v),
        ));
    }
    kv
}

pub(crate) fn json_value(v: &Json) -> Value {
    match v {
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::I64(i),
            None => n
                .as_f64()
                .map_or_else(|| Value::from(n.to_string()), Value::F64),
        },
        Json::String(s) => Value::from(s.clone()),
        other => Value::from(other.to_string()),
    }
}

/// The event as a span event: named by its type, at its time.
pub(crate) fn span_event(e: &Event) -> SpanEvent {
    SpanEvent {
        name: Cow::Owned(e.event_type().as_str().to_owned()),
        timestamp: e.timestamp().to_system_time(),
        attributes: event_attributes(e),
    }
}

#[cfg(feature = "otlp")]
/// Most custom event names kept as `&'static str` for OTel's `EventName`.
const MAX_INTERNED: usize = 4096;

/// The event type as a `&'static str` (OTel's log `EventName` must be one):
/// catalog names are static already; custom names are interned, up to
/// [`MAX_INTERNED`] distinct ones, after which `fcc.custom` is used (the real
/// name is still in the `event_type` attribute).
#[cfg(feature = "otlp")]
pub(crate) fn static_event_name(e: &Event) -> &'static str {
    if let Some(n) = e.event_type().static_name() {
        return n;
    }
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static INTERNED: OnceLock<Mutex<HashMap<String, &'static str>>> = OnceLock::new();
    let name = e.event_type().as_str();
    let Ok(mut map) = INTERNED.get_or_init(Default::default).lock() else {
        return "fcc.custom";
    };
    if let Some(n) = map.get(name) {
        return n;
    }
    if map.len() >= MAX_INTERNED {
        return "fcc.custom";
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    map.insert(name.to_owned(), leaked);
    leaked
}
