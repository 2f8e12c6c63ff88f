//! [`EventBuilder`]: every field of an [`Event`] optional until `build()`,
//! which fills the id and time, captures the active span's ids and measures
//! the event for the sinks' byte budgets.

use super::*;

/// Builds an [`Event`]; every setter is optional. `build()` fills `event_id`
/// (UUID v7) and `timestamp` (now) unless they were set.
#[derive(Clone)]
#[must_use = "an EventBuilder does nothing until `build()`"]
pub struct EventBuilder(pub(super) Arc<EventData>);

macro_rules! string_setters {
    ($($(#[$doc:meta])* $name:ident),+) => {$(
        $(#[$doc])*
        #[inline]
        pub fn $name(mut self, value: impl AsRef<str>) -> Self {
            let d = self.d();
            d.$name = Some(d.text.push(value.as_ref()));
            self
        }
    )+};
}

impl EventBuilder {
    string_setters!(
        /// Event family (defaults to the event type's category).
        category,
        /// The concrete thing the event is about.
        resource,
        /// The event label.
        action,
        /// Correlation id of the run or request.
        correlation_id,
        /// Task correlation key.
        task,
        /// Mission correlation key.
        mission_id,
        /// Objective correlation key.
        objective_id,
        /// Short human-readable context.
        detail
    );

    /// Replaces the event type.
    pub fn event_type(mut self, event_type: EventType) -> Self {
        self.d().event_type = event_type;
        self
    }
    /// Replaces the source.
    pub fn source(mut self, source: impl AsRef<str>) -> Self {
        let d = self.d();
        d.source = d.text.push(source.as_ref());
        self
    }
    /// Severity (default info).
    pub fn severity(mut self, severity: Severity) -> Self {
        self.d().severity = severity;
        self
    }
    /// The normalised result.
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.d().outcome = Some(outcome);
        self
    }
    /// Replaces the payload. A JSON object becomes the payload; any other value
    /// is stored under the key `"value"`.
    pub fn payload(mut self, payload: Value) -> Self {
        match payload {
            Value::Object(map) => self.d().set_payload(map),
            Value::Null => self.d().set_payload(Payload::new()),
            other => {
                self.d().set_payload(Payload::new());
                self.d().set_attr("value", other);
            }
        }
        self
    }
    /// Adds one payload field (the Go seed's `Attrs[key] = value`).
    #[inline]
    pub fn attr(mut self, key: impl AsRef<str>, value: impl Into<Value>) -> Self {
        self.d().set_attr(key.as_ref(), value.into());
        self
    }
    /// Sets the id (normally generated).
    pub fn event_id(mut self, id: Uuid) -> Self {
        self.d().event_id = id;
        self
    }
    /// Sets the time (normally now).
    pub fn timestamp(mut self, timestamp: Timestamp) -> Self {
        self.d().timestamp = timestamp;
        self
    }
    /// Sets the trace context (normally captured from the active span).
    pub fn trace_context(mut self, trace_id: Option<TraceId>, span_id: Option<SpanId>) -> Self {
        self.d().trace_id = trace_id;
        self.d().span_id = span_id;
        self
    }
    /// True when a trace id is already set.
    pub fn has_trace_context(&self) -> bool {
        self.0.trace_id.is_some()
    }

    /// Finishes the event. When no trace context was set, the active span's
    /// (see `fcc::trace::current`) is captured.
    pub fn build(mut self) -> Event {
        let d = self.d();
        let unset_time = Timestamp::from_unix_micros(i64::MIN).unix_micros();
        if d.timestamp.unix_micros() == unset_time {
            // One clock read for both the time and the id.
            d.timestamp = Timestamp::now();
        }
        if d.event_id.is_nil() {
            let ms = d.timestamp.unix_micros().div_euclid(1000).max(0) as u64;
            d.event_id = crate::internal::ids::new_v7_at(ms);
        }
        if d.category_set() == Some(d.event_type.category()) {
            d.category = None;
        }
        if d.trace_id.is_none()
            && let Some((trace_id, span_id)) = active_span_ids()
        {
            d.trace_id = Some(trace_id);
            d.span_id = Some(span_id);
        }
        d.approx_bytes = d.measure();
        Event(self.0)
    }

    /// The fields, to change: the builder's own (a clone of a builder
    /// shares them until either changes them). The builder holds its event
    /// in the `Arc` that `build` hands on, so the fields are never moved.
    #[inline]
    pub(super) fn d(&mut self) -> &mut EventData {
        Arc::make_mut(&mut self.0)
    }
}

/// Where [`EventBuilder::build`] finds the active span's ids.
///
/// The model knows nothing of tracing: `trace` hands it this function when a
/// thread enters its first span or the OpenTelemetry bridge turns on. Until
/// then no span can be active, and events carry no trace context.
static ACTIVE_SPAN_IDS: OnceLock<ActiveSpanIds> = OnceLock::new();

/// Returns the active span's trace and span ids, if a span is active.
type ActiveSpanIds = fn() -> Option<(TraceId, SpanId)>;

/// Tells the model where the active span's ids come from (called by `trace`).
pub(crate) fn set_active_span_source(source: ActiveSpanIds) {
    let _ = ACTIVE_SPAN_IDS.set(source);
}

#[inline]
fn active_span_ids() -> Option<(TraceId, SpanId)> {
    ACTIVE_SPAN_IDS.get().and_then(|source| source())
}

impl EventData {
    /// The event's bytes (the struct with its inline text, what its text
    /// and payload hold on the heap) and its JSON form's (about as long as
    /// its text and payload, kept once encoded).
    pub(super) fn measure(&self) -> u32 {
        fn value(v: &Value, depth: u32) -> usize {
            const SLOT: usize = std::mem::size_of::<Value>();
            match v {
                Value::String(s) => SLOT + s.len(),
                Value::Array(a) if depth < 8 => {
                    SLOT + a.iter().map(|v| value(v, depth + 1)).sum::<usize>()
                }
                Value::Object(m) if depth < 8 => {
                    SLOT + m
                        .iter()
                        .map(|(k, v)| 48 + k.len() + value(v, depth + 1))
                        .sum::<usize>()
                }
                _ => SLOT,
            }
        }
        let payload: usize = self
            .attrs()
            .map(|(k, v)| k.len() + value(v, 0))
            .sum::<usize>();
        let payload_heap = match &self.attrs {
            super::text::Attrs::Map(m) => 48 * m.len() + payload,
            // Inline: the keys are in the text; what the values hold.
            super::text::Attrs::Inline { .. } => payload,
        };
        let json = self.text.len() + payload + 160;
        let total =
            std::mem::size_of::<EventData>() + 16 + self.text.heap_bytes() + payload_heap + json;
        u32::try_from(total).unwrap_or(u32::MAX)
    }
}

impl From<EventBuilder> for Event {
    fn from(b: EventBuilder) -> Event {
        b.build()
    }
}
