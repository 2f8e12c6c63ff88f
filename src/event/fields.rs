//! The event's fields, listed once: their names (with the JSON key each
//! one is written under) and the optional text fields as `(name, value)`
//! pairs, which the JSON line (`encode.rs`), the serde form (`json.rs`),
//! `Debug`, the size estimate, the OTel attributes and the `tracing` field
//! mapping all walk. A new optional text field is added here (and to the
//! struct, its setter and accessor); every writer picks it up.

use super::{Event, EventBuilder, EventData, Outcome, Severity};

/// A field's name and the bytes `,"name":` its JSON line writes before the
/// value (made by `field_names!` from the one spelling).
#[derive(Clone, Copy, Debug)]
pub(crate) struct FieldName {
    pub(crate) name: &'static str,
    pub(crate) json_key: &'static [u8],
}

macro_rules! field_names {
    ($($constant:ident = $name:literal),+ $(,)?) => {
        $(
            pub(crate) const $constant: FieldName = FieldName {
                name: $name,
                json_key: concat!(",\"", $name, "\":").as_bytes(),
            };
        )+
        impl Event {
            /// Every field of the JSON form, in the order it is written
            /// (the first six always, the rest when set).
            ///
            /// ```
            /// let e = fcc::Event::info("app", "start", "").build();
            /// let v: serde_json::Value = serde_json::from_str(e.json()).unwrap();
            /// assert!(v.as_object().unwrap().keys().all(|k| fcc::Event::FIELD_NAMES.contains(&k.as_str())));
            /// ```
            pub const FIELD_NAMES: &'static [&'static str] = &[$($name),+];
        }
    };
}

field_names! {
    EVENT_ID = "event_id",
    EVENT_TYPE = "event_type",
    TIMESTAMP = "timestamp",
    SOURCE = "source",
    CATEGORY = "category",
    SEVERITY = "severity",
    OUTCOME = "outcome",
    RESOURCE = "resource",
    ACTION = "action",
    CORRELATION_ID = "correlation_id",
    TASK = "task",
    MISSION_ID = "mission_id",
    OBJECTIVE_ID = "objective_id",
    DETAIL = "detail",
    PAYLOAD = "payload",
    TRACE_ID = "trace_id",
    SPAN_ID = "span_id",
}

/// How many optional text fields an event has.
pub(crate) const OPTIONAL_TEXT: usize = 8;

impl EventData {
    /// The optional text fields, in the JSON form's order, `None` when
    /// unset: the one list every writer walks.
    #[inline]
    pub(super) fn optional_text(&self) -> [(FieldName, Option<&str>); OPTIONAL_TEXT] {
        [
            (OUTCOME, self.outcome.map(Outcome::as_str)),
            (RESOURCE, self.opt(self.resource)),
            (ACTION, self.opt(self.action)),
            (CORRELATION_ID, self.opt(self.correlation_id)),
            (TASK, self.opt(self.task)),
            (MISSION_ID, self.opt(self.mission_id)),
            (OBJECTIVE_ID, self.opt(self.objective_id)),
            (DETAIL, self.opt(self.detail)),
        ]
    }
}

impl Event {
    /// The optional text fields that are set, as `(name, value)` in the
    /// JSON form's order (`outcome`, `resource`, `action`, `correlation_id`,
    /// `task`, `mission_id`, `objective_id`, `detail`): for writers that
    /// store every field under its own name.
    ///
    /// ```
    /// let e = fcc::Event::info("app", "start", "ready").build();
    /// let fields: Vec<_> = e.optional_text_fields().collect();
    /// assert_eq!(fields, [("action", "start"), ("detail", "ready")]);
    /// ```
    pub fn optional_text_fields(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.0
            .optional_text()
            .into_iter()
            .filter_map(|(f, v)| Some((f.name, v?)))
    }
}

impl EventBuilder {
    /// Sets the text field called `name` from its text (`source`,
    /// `category`, `severity`, or any optional text field). `Ok(None)`:
    /// no field has that name. `Err`: the text is not a valid value for it
    /// (an unknown severity or outcome).
    pub(crate) fn text_field(self, name: &str, text: String) -> Result<Option<Self>, String> {
        let parse_error = |e: super::UnknownName| format!("field `{name}`: {e}");
        Ok(Some(match name {
            "source" => self.source(text),
            "category" => self.category(text),
            "severity" => self.severity(text.parse::<Severity>().map_err(parse_error)?),
            "outcome" => self.outcome(text.parse::<Outcome>().map_err(parse_error)?),
            "resource" => self.resource(text),
            "action" => self.action(text),
            "correlation_id" => self.correlation_id(text),
            "task" => self.task(text),
            "mission_id" => self.mission_id(text),
            "objective_id" => self.objective_id(text),
            "detail" => self.detail(text),
            _ => return Ok(None),
        }))
    }
}

#[cfg(test)]
mod tests {
    use crate::event::{Event, EventType, Outcome, Severity, SpanId, TraceId};

    /// An event with every field set.
    fn full() -> Event {
        Event::builder(EventType::ActionFailed, "src")
            .category("cat")
            .severity(Severity::Error)
            .outcome(Outcome::Failure)
            .resource("r")
            .action("a")
            .correlation_id("c")
            .task("t")
            .mission_id("m")
            .objective_id("o")
            .detail("d")
            .attr("k", 1)
            .trace_context(TraceId::new(1), SpanId::new(2))
            .build()
    }

    #[test]
    fn the_json_form_has_every_listed_field_in_order_and_reads_back() {
        let e = full();
        let keys: Vec<String> = serde_json::from_str::<serde_json::Map<_, _>>(e.json())
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let mut listed: Vec<&str> = Event::FIELD_NAMES.to_vec();
        let mut got: Vec<&str> = keys.iter().map(String::as_str).collect();
        listed.sort_unstable();
        got.sort_unstable();
        assert_eq!(
            got, listed,
            "the JSON form writes exactly the listed fields"
        );
        let back: Event = serde_json::from_str(e.json()).unwrap();
        assert_eq!(back, e, "the decoder reads every field back");
    }

    #[test]
    fn every_optional_text_field_can_be_set_by_name() {
        let e = full();
        let mut b = Event::builder(EventType::ActionFailed, "src")
            .event_id(e.event_id())
            .timestamp(e.timestamp())
            .trace_context(e.trace_id(), e.span_id())
            .attr("k", 1);
        for (name, value) in e.optional_text_fields() {
            b = b.text_field(name, value.to_owned()).unwrap().unwrap();
        }
        b = b.text_field("category", "cat".into()).unwrap().unwrap();
        b = b.text_field("severity", "error".into()).unwrap().unwrap();
        assert_eq!(b.build(), e);
        let b = Event::builder(EventType::ActionFailed, "src");
        assert!(b
            .clone()
            .text_field("nope", String::new())
            .unwrap()
            .is_none());
        assert!(b.text_field("outcome", "sideways".into()).is_err());
    }
}
