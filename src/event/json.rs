//! The JSON form of an [`Event`], shared by every file, log line and store.
//!
//! ```json
//! {"event_id":"0192…","event_type":"action.completed","timestamp":"2026-03-27T10:00:05.000000Z",
//!  "source":"ActionEngine","category":"action","severity":"info","correlation_id":"run-42",
//!  "payload":{"persona_id":"SQC"}}
//! ```
//!
//! Optional fields that are unset are left out on writing and may be absent or
//! `null` on reading. Required on reading: `event_id`, `event_type`,
//! `timestamp`, `source`. `category` defaults to the event type's family,
//! `severity` to `info`, `payload` to `{}`. Unknown keys are ignored so that
//! newer writers stay readable.

use super::fields::{
    CATEGORY, EVENT_ID, EVENT_TYPE, PAYLOAD, SEVERITY, SOURCE, SPAN_ID, TIMESTAMP, TRACE_ID,
};
use super::{
    Event, EventBuilder, EventData, Outcome, Payload, Severity, SpanId, Timestamp, TraceId,
};
use serde::de::{self, Deserializer};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::sync::Arc;

/// An event's JSON form, encoded once by whichever sink needs it first and
/// shared by the rest (the JSON line of `JsonFileSink`, `LogSink`'s line,
/// `save_events`). Not part of the event's value: a clone starts empty (its
/// fields may be changed through a builder) and equality ignores it.
#[derive(Default)]
pub(super) struct Encoded(std::sync::OnceLock<(String, usize, usize)>);

impl Clone for Encoded {
    fn clone(&self) -> Self {
        Encoded::default()
    }
}

impl PartialEq for Encoded {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Event {
    /// The event's JSON form (one line, no newline): what `JsonFileSink`
    /// writes and what `LogSink`'s line is built from. Encoded on first use
    /// and kept with the event, so every sink that writes JSON shares one
    /// encoding.
    ///
    /// ```
    /// use fcc::{Event, EventType};
    /// let e = Event::builder(EventType::ActionCompleted, "ActionEngine").build();
    /// let v: serde_json::Value = serde_json::from_str(e.json()).unwrap();
    /// assert_eq!(v["event_type"], "action.completed");
    /// assert!(std::ptr::eq(e.json(), e.clone().json()), "encoded once");
    /// ```
    pub fn json(&self) -> &str {
        &self.encoded().0
    }

    /// The payload's JSON object, as `serde_json::to_string(event.payload())`
    /// writes it: a slice of [`Event::json`], so a store's `payload` column
    /// and the JSON line share one encoding.
    ///
    /// ```
    /// let e = fcc::Event::info("app", "start", "").attr("k", 1).build();
    /// assert_eq!(e.payload_json(), serde_json::to_string(e.payload()).unwrap());
    /// ```
    pub fn payload_json(&self) -> &str {
        let (json, start, end) = self.encoded();
        json.get(*start..*end).unwrap_or("{}")
    }

    /// On the last handle, frees the JSON form now, on this thread (a sink
    /// worker, whose thread or whose neighbour's allocated it), rather than
    /// where the rest of the event goes to be freed (an emitting thread,
    /// see `sinks::graveyard`), which would take the worker's allocator
    /// arena's lock for it. Other handles: nothing happens.
    pub(crate) fn free_json(&mut self) {
        if let Some(d) = Arc::get_mut(&mut self.0) {
            d.encoded = Encoded::default();
        }
    }

    fn encoded(&self) -> &(String, usize, usize) {
        self.0.encoded.0.get_or_init(|| {
            // About the line's length (its text, ids, time, keys): one
            // allocation, kept as is unless a large value made it grow
            // well past its length (it is counted in the sinks' byte
            // budgets at about its length).
            let mut out = Vec::with_capacity(self.0.text.len() + 64 * self.0.attrs.len() + 256);
            let payload = super::encode::event(&mut out, &self.0, self.category());
            // Built from `&str`s and serde_json's output only: valid UTF-8.
            let mut json = String::from_utf8(out)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            if json.capacity() > json.len() + json.len() / 4 + 256 {
                json.shrink_to_fit();
            }
            (json, payload.start, payload.end)
        })
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = &*self.0;
        let mut st = s.serialize_struct("Event", Event::FIELD_NAMES.len())?;
        st.serialize_field(
            EVENT_ID.name,
            d.event_id
                .hyphenated()
                .encode_lower(&mut uuid::Uuid::encode_buffer()) as &str,
        )?;
        st.serialize_field(EVENT_TYPE.name, d.event_type.as_str())?;
        st.serialize_field(TIMESTAMP.name, d.timestamp.format_rfc3339().as_str())?;
        st.serialize_field(SOURCE.name, self.source())?;
        st.serialize_field(CATEGORY.name, self.category())?;
        st.serialize_field(SEVERITY.name, d.severity.as_str())?;
        for (name, value) in d.optional_text() {
            match value {
                Some(v) => st.serialize_field(name.name, v)?,
                None => st.skip_field(name.name)?,
            }
        }
        st.serialize_field(PAYLOAD.name, &Attrs(d))?;
        match d.trace_id {
            Some(t) => st.serialize_field(TRACE_ID.name, &t.to_string())?,
            None => st.skip_field(TRACE_ID.name)?,
        }
        match d.span_id {
            Some(sp) => st.serialize_field(SPAN_ID.name, &sp.to_string())?,
            None => st.skip_field(SPAN_ID.name)?,
        }
        st.end()
    }
}

/// The payload as a JSON object, from its inline entries or its map.
struct Attrs<'a>(&'a EventData);

impl Serialize for Attrs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.attrs())
    }
}

#[derive(Deserialize)]
struct WireEvent<'a> {
    #[serde(borrow)]
    event_id: Cow<'a, str>,
    #[serde(borrow)]
    event_type: Cow<'a, str>,
    #[serde(borrow)]
    timestamp: Cow<'a, str>,
    source: String,
    #[serde(default)]
    category: Option<String>,
    #[serde(default, borrow)]
    severity: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    outcome: Option<Cow<'a, str>>,
    #[serde(default)]
    resource: Option<String>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    correlation_id: Option<String>,
    #[serde(default)]
    task: Option<String>,
    #[serde(default)]
    mission_id: Option<String>,
    #[serde(default)]
    objective_id: Option<String>,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    payload: Option<Payload>,
    #[serde(default, borrow)]
    trace_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    span_id: Option<Cow<'a, str>>,
}

fn field<T, E: std::fmt::Display, D: de::Error>(name: &str, r: Result<T, E>) -> Result<T, D> {
    r.map_err(|e| D::custom(format_args!("field `{name}`: {e}")))
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = WireEvent::deserialize(d)?;
        let event_id = field("event_id", uuid::Uuid::parse_str(&w.event_id))?;
        if event_id.is_nil() {
            return Err(de::Error::custom(
                "field `event_id`: the nil UUID is not an event id",
            ));
        }
        let event_type = field("event_type", w.event_type.parse())?;
        let timestamp = field("timestamp", Timestamp::parse_rfc3339(&w.timestamp))?;
        let severity = match w.severity {
            Some(s) => field("severity", s.parse::<Severity>())?,
            None => Severity::Info,
        };
        let outcome = match w.outcome {
            Some(o) => Some(field("outcome", o.parse::<Outcome>())?),
            None => None,
        };
        let trace_id = match w.trace_id {
            Some(t) => Some(field("trace_id", t.parse::<TraceId>())?),
            None => None,
        };
        let span_id = match w.span_id {
            Some(s) => Some(field("span_id", s.parse::<SpanId>())?),
            None => None,
        };
        let mut b = Event::builder(event_type, &w.source)
            .event_id(event_id)
            .timestamp(timestamp)
            .severity(severity)
            .trace_context(trace_id, span_id);
        b.d().outcome = outcome;
        let text = [
            (
                w.category,
                EventBuilder::category as fn(EventBuilder, String) -> EventBuilder,
            ),
            (w.resource, EventBuilder::resource),
            (w.action, EventBuilder::action),
            (w.correlation_id, EventBuilder::correlation_id),
            (w.task, EventBuilder::task),
            (w.mission_id, EventBuilder::mission_id),
            (w.objective_id, EventBuilder::objective_id),
            (w.detail, EventBuilder::detail),
        ];
        for (value, set) in text {
            if let Some(v) = value {
                b = set(b, v);
            }
        }
        if let Some(p) = w.payload {
            b.d().set_payload(p);
        }
        let data = b.d();
        // A category equal to the type's family is the default: store it as such
        // so that an event equals itself after a round trip.
        if data.category_set() == Some(data.event_type.category()) {
            data.category = None;
        }
        data.approx_bytes = data.measure();
        Ok(Event(b.0))
    }
}
