//! The event model: one immutable [`Event`] struct shared by both seeds.
//!
//! An event says what happened ([`EventType`]), who said so (`source`, the Go
//! seed's Component), what it was about (`category`, `resource`, `action`),
//! how it ended ([`Outcome`]) and how much it matters ([`Severity`]). The
//! correlation keys (`correlation_id`, `task`, `mission_id`, `objective_id`)
//! tie events of one run together; `trace_id`/`span_id` tie them to the trace
//! that was active when they were emitted.
//!
//! Build events with [`Event::builder`], or with the Go seed's shortcut
//! constructors [`Event::debug`], [`Event::info`], [`Event::warn`] and
//! [`Event::error`]:
//!
//! ```
//! use fcc::{Event, EventType, Outcome, Severity};
//! use serde_json::json;
//!
//! // The Python seed's example.
//! let event = Event::builder(EventType::ActionCompleted, "ActionEngine")
//!     .payload(json!({"persona_id": "SQC", "action_type": "test"}))
//!     .correlation_id("run-42")
//!     .build();
//! assert_eq!(event.event_type(), &EventType::ActionCompleted);
//! assert_eq!(event.correlation_id(), Some("run-42"));
//! assert_eq!(event.category(), "action");
//!
//! // The Go seed's `events.Warn("mcpclient", "connect_attempt", err.Error())`.
//! let event = Event::warn("mcpclient", "connect_attempt", "connection refused")
//!     .category("backend")
//!     .resource("mcp_server:vendor")
//!     .outcome(Outcome::Failure)
//!     .build();
//! assert_eq!(event.severity(), Severity::Warn);
//! assert_eq!(event.event_type().as_str(), "mcpclient.connect_attempt");
//! ```
//!
//! An [`Event`] is a cheap handle: cloning it copies a pointer, never the
//! fields, so sinks and subscribers can keep events without cost.
//!
//! **Imports** (the table in ARCHITECTURE.md, checked by
//! `tests/it/import_direction.rs`): only `internal`.

mod builder;
pub mod catalog;
mod encode;
mod fields;
mod ids;
mod json;
mod level;
mod text;
mod time;

pub(crate) use builder::set_active_span_source;
pub use builder::EventBuilder;
pub use catalog::{Category, CustomEventType, EventType, EventTypeError};
pub use ids::{IdError, SpanId, TraceId};
pub use level::{Outcome, Severity, UnknownName};
pub use time::{Rfc3339Buf, Timestamp, TimestampError};

use serde_json::{Map, Value};
use std::fmt;
use std::sync::{Arc, OnceLock};
use uuid::Uuid;

/// The structured metadata of an event (the Go seed's Attrs).
pub type Payload = Map<String, Value>;

/// One structured event. Immutable once built; cloning is a pointer copy.
#[derive(Clone, PartialEq)]
pub struct Event(Arc<EventData>);

/// The fields. Text fields are [`text::Span`]s into `text` (one buffer,
/// inline while short); the payload is kept as `attrs` (see `text.rs`).
#[derive(Clone)]
struct EventData {
    event_id: Uuid,
    timestamp: Timestamp,
    event_type: EventType,
    source: text::Span,
    category: Option<text::Span>,
    severity: Severity,
    outcome: Option<Outcome>,
    resource: Option<text::Span>,
    action: Option<text::Span>,
    correlation_id: Option<text::Span>,
    task: Option<text::Span>,
    mission_id: Option<text::Span>,
    objective_id: Option<text::Span>,
    detail: Option<text::Span>,
    text: text::Text,
    attrs: text::Attrs,
    /// The payload as a map, built on first [`Event::payload`] call from
    /// inline `attrs`.
    materialized: OnceLock<Payload>,
    trace_id: Option<TraceId>,
    span_id: Option<SpanId>,
    /// The JSON form, encoded on first use (see [`Event::json`]).
    encoded: json::Encoded,
    /// About how many bytes the event holds, its JSON form included (set
    /// when it is built; see [`Event::approx_bytes`]).
    approx_bytes: u32,
}

impl Event {
    /// Starts an event of `event_type` from `source` (the emitting component).
    ///
    /// Every text argument of the builder takes anything that is
    /// `AsRef<str>` (`&str`, `String`, `&String`, `Cow<str>`, `Box<str>`):
    /// the event copies it into its own buffer.
    #[inline]
    pub fn builder(event_type: EventType, source: impl AsRef<str>) -> EventBuilder {
        let mut text = text::Text::new();
        let source = text.push(source.as_ref());
        EventBuilder(Arc::new(EventData {
            event_id: Uuid::nil(),
            timestamp: Timestamp::from_unix_micros(i64::MIN),
            event_type,
            source,
            category: None,
            severity: Severity::Info,
            outcome: None,
            resource: None,
            action: None,
            correlation_id: None,
            task: None,
            mission_id: None,
            objective_id: None,
            detail: None,
            text,
            attrs: text::Attrs::new(),
            materialized: OnceLock::new(),
            trace_id: None,
            span_id: None,
            encoded: json::Encoded::default(),
            approx_bytes: 0,
        }))
    }

    /// The Go seed's `events.Debug(component, action, detail)`.
    ///
    /// The event type is derived from component and action (see [`Event::warn`]).
    pub fn debug(component: &str, action: &str, detail: impl AsRef<str>) -> EventBuilder {
        Self::go_style(Severity::Debug, component, action, detail.as_ref())
    }

    /// The Go seed's `events.Info(component, action, detail)`; see [`Event::warn`].
    pub fn info(component: &str, action: &str, detail: impl AsRef<str>) -> EventBuilder {
        Self::go_style(Severity::Info, component, action, detail.as_ref())
    }

    /// The Go seed's `events.Warn(component, action, detail)`.
    ///
    /// Sets `source` to the component, `action` and `detail` as given, and the
    /// severity. The event type is `<component>.<action>` normalised to the
    /// custom-name rule (lower case, `CamelCase` to `snake_case`, other
    /// characters to `_`): `("mcpserver.GatewayServer", "Start")` gives
    /// `mcpserver.gateway_server.start`. When that name is a catalog type, the
    /// catalog type is used. Replace it with [`EventBuilder::event_type`].
    pub fn warn(component: &str, action: &str, detail: impl AsRef<str>) -> EventBuilder {
        Self::go_style(Severity::Warn, component, action, detail.as_ref())
    }

    /// The Go seed's `events.Error(component, action, detail)`; see [`Event::warn`].
    pub fn error(component: &str, action: &str, detail: impl AsRef<str>) -> EventBuilder {
        Self::go_style(Severity::Error, component, action, detail.as_ref())
    }

    fn go_style(severity: Severity, component: &str, action: &str, detail: &str) -> EventBuilder {
        Event::builder(derive_event_type(component, action), component)
            .severity(severity)
            .action(action)
            .detail(detail)
    }

    /// A builder holding a copy of this event's fields, for deriving a new event.
    /// The copy keeps `event_id` and `timestamp` unless they are set again.
    pub fn to_builder(&self) -> EventBuilder {
        // A copy of its own: the event's JSON form is not copied with it.
        EventBuilder(Arc::new((*self.0).clone()))
    }

    /// Unique id (UUID v7 when fcc generated it: time-ordered).
    pub fn event_id(&self) -> Uuid {
        self.0.event_id
    }
    /// When the event was built.
    pub fn timestamp(&self) -> Timestamp {
        self.0.timestamp
    }
    /// What happened.
    pub fn event_type(&self) -> &EventType {
        &self.0.event_type
    }
    /// The emitting component (the Go seed's Component).
    pub fn source(&self) -> &str {
        self.0.text.get(self.0.source)
    }
    /// The event family: as set, or else the event type's [`EventType::category`].
    pub fn category(&self) -> &str {
        match self.0.category {
            Some(c) => self.0.text.get(c),
            None => self.0.event_type.category(),
        }
    }
    /// How much it matters.
    pub fn severity(&self) -> Severity {
        self.0.severity
    }
    /// The normalised result, if the event reports one.
    pub fn outcome(&self) -> Option<Outcome> {
        self.0.outcome
    }
    /// The concrete thing the event is about (`mcp_server:vendor`).
    pub fn resource(&self) -> Option<&str> {
        self.0.opt(self.0.resource)
    }
    /// The event label (`connect_attempt`, `status_change`).
    pub fn action(&self) -> Option<&str> {
        self.0.opt(self.0.action)
    }
    /// Correlation id of the run or request.
    pub fn correlation_id(&self) -> Option<&str> {
        self.0.opt(self.0.correlation_id)
    }
    /// Task correlation key.
    pub fn task(&self) -> Option<&str> {
        self.0.opt(self.0.task)
    }
    /// Mission correlation key.
    pub fn mission_id(&self) -> Option<&str> {
        self.0.opt(self.0.mission_id)
    }
    /// Objective correlation key.
    pub fn objective_id(&self) -> Option<&str> {
        self.0.opt(self.0.objective_id)
    }
    /// Short human-readable context.
    pub fn detail(&self) -> Option<&str> {
        self.0.opt(self.0.detail)
    }
    /// About how many bytes of memory the event holds (its strings, payload
    /// and JSON form once encoded): what a sink queue's byte budget counts
    /// ([`SinkOptions::max_bytes`](crate::sinks::SinkOptions::max_bytes)).
    pub fn approx_bytes(&self) -> usize {
        self.0.approx_bytes as usize
    }

    /// Extra structured fields (the Go seed's Attrs).
    ///
    /// A payload of up to four fields set with [`EventBuilder::attr`] is
    /// kept inline; the map is made on the first call and kept.
    pub fn payload(&self) -> &Payload {
        self.0.payload()
    }

    /// The payload's entries in the order of its JSON form, without
    /// building the map [`payload`](Self::payload) returns (fcc's own
    /// readers use this: a short payload is kept inline).
    pub(crate) fn payload_entries(&self) -> impl Iterator<Item = (&str, &Value)> + '_ {
        self.0.attrs()
    }

    /// How many payload entries.
    pub(crate) fn payload_len(&self) -> usize {
        self.0.attrs.len()
    }

    /// Payload entry `key`, without building the map.
    pub(crate) fn payload_get(&self, key: &str) -> Option<&Value> {
        self.0.attrs().find_map(|(k, v)| (k == key).then_some(v))
    }
    /// Trace that was active when the event was emitted.
    pub fn trace_id(&self) -> Option<TraceId> {
        self.0.trace_id
    }
    /// Span that was active when the event was emitted.
    pub fn span_id(&self) -> Option<SpanId> {
        self.0.span_id
    }

    /// True when this is the only handle left: dropping it frees the event.
    pub(crate) fn is_last_handle(&self) -> bool {
        Arc::strong_count(&self.0) == 1
    }
}

impl EventData {
    /// The text of an optional field.
    #[inline]
    fn opt(&self, span: Option<text::Span>) -> Option<&str> {
        span.map(|s| self.text.get(s))
    }
    /// The category as set (`None`: the type's).
    fn category_set(&self) -> Option<&str> {
        self.opt(self.category)
    }
}

impl PartialEq for EventData {
    fn eq(&self, o: &Self) -> bool {
        self.event_id == o.event_id
            && self.timestamp == o.timestamp
            && self.event_type == o.event_type
            && self.text.get(self.source) == o.text.get(o.source)
            && self.category_set() == o.category_set()
            && self.severity == o.severity
            && self.optional_text().map(|(_, v)| v) == o.optional_text().map(|(_, v)| v)
            && self.trace_id == o.trace_id
            && self.span_id == o.span_id
            && self.attrs.len() == o.attrs.len()
            // As maps compare: the same entries, in any order (at most
            // four a side when either is inline).
            && match (&self.attrs, &o.attrs) {
                (text::Attrs::Map(a), text::Attrs::Map(b)) => a == b,
                _ => self
                    .attrs()
                    .all(|(k, v)| o.attrs().any(|(ok, ov)| ok == k && ov == v)),
            }
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.0;
        let mut s = f.debug_struct("Event");
        s.field("event_id", &d.event_id)
            .field("timestamp", &d.timestamp)
            .field("event_type", &d.event_type.as_str())
            .field("source", &self.source())
            .field("category", &self.category())
            .field("severity", &d.severity);
        for (name, value) in d.optional_text() {
            if let Some(v) = value {
                s.field(name.name, &v);
            }
        }
        if d.attrs.len() > 0 {
            s.field("payload", self.payload());
        }
        if let Some(t) = d.trace_id {
            s.field("trace_id", &t);
        }
        if let Some(sp) = d.span_id {
            s.field("span_id", &sp);
        }
        s.finish()
    }
}

/// `<component>.<action>` normalised to the custom-name rule.
fn derive_event_type(component: &str, action: &str) -> EventType {
    let mut segments: Vec<String> = component.split('.').filter_map(normalize_segment).collect();
    if segments.is_empty() {
        segments.push("app".to_owned());
    }
    segments.push(normalize_segment(action).unwrap_or_else(|| "event".to_owned()));
    let mut name = segments.join(".");
    name.truncate(255);
    let name = name.trim_end_matches(['.', '_', '-']);
    name.parse()
        .unwrap_or_else(|_| EventType::custom("app.event").expect("valid literal"))
}

fn normalize_segment(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len() + 4);
    let mut prev_lower = false;
    for c in raw.chars() {
        if c.is_ascii_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = false;
        } else if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
            prev_lower = true;
        } else if c == '-' || c == '_' {
            out.push(c);
            prev_lower = false;
        } else if !out.ends_with('_') {
            out.push('_');
            prev_lower = false;
        }
    }
    let trimmed = out.trim_matches(['_', '-']);
    if trimmed.is_empty() {
        return None;
    }
    let mut seg = String::with_capacity(trimmed.len() + 1);
    if !trimmed.starts_with(|c: char| c.is_ascii_lowercase()) {
        seg.push('x');
    }
    seg.push_str(trimmed);
    seg.truncate(63);
    Some(seg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_style_types_are_normalised() {
        let t = |c, a| derive_event_type(c, a).as_str().to_owned();
        assert_eq!(
            t("mcpclient", "connect_attempt"),
            "mcpclient.connect_attempt"
        );
        assert_eq!(
            t("mcpserver.GatewayServer", "Start"),
            "mcpserver.gateway_server.start"
        );
        assert_eq!(t("runtime.k8s", "pod create!"), "runtime.k8s.pod_create");
        assert_eq!(t("", ""), "app.event");
        assert_eq!(t("9lives", "status change"), "x9lives.status_change");
        assert_eq!(
            derive_event_type("workflow", "started"),
            EventType::WorkflowStarted
        );
    }
}
