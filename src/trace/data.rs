//! Finished spans as plain data: [`SpanData`], [`SpanStatus`], [`SpanEvent`].

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

pub use opentelemetry::InstrumentationScope;

pub use opentelemetry::trace::SpanKind;
pub use opentelemetry::{Key, KeyValue, Value};

use crate::{SpanId, TraceId};

/// How a span ended (the seed's `status`: `"unset"`, `"ok"` or `"error"`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpanStatus {
    /// Nothing was said. `tracing` spans end like this unless they record an error.
    #[default]
    Unset,
    /// The operation succeeded. FccTracer and `#[traced]` spans that end
    /// without an error get this, as in the seed.
    Ok,
    /// The operation failed.
    Error {
        /// Why.
        description: Cow<'static, str>,
    },
}

impl SpanStatus {
    /// An error status.
    pub fn error(description: impl Into<Cow<'static, str>>) -> SpanStatus {
        SpanStatus::Error {
            description: description.into(),
        }
    }

    /// `"unset"`, `"ok"` or `"error"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            SpanStatus::Unset => "unset",
            SpanStatus::Ok => "ok",
            SpanStatus::Error { .. } => "error",
        }
    }
}

impl fmt::Display for SpanStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something that happened during a span, at a point in time.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SpanEvent {
    /// What happened; for fcc events, the event type.
    pub name: Cow<'static, str>,
    /// When.
    pub timestamp: SystemTime,
    /// Details.
    pub attributes: Vec<KeyValue>,
}

impl SpanEvent {
    /// An event called `name` at `timestamp` with these attributes.
    pub fn new(
        name: impl Into<Cow<'static, str>>,
        timestamp: SystemTime,
        attributes: Vec<KeyValue>,
    ) -> SpanEvent {
        SpanEvent {
            name: name.into(),
            timestamp,
            attributes,
        }
    }
}

/// A completed span (the seed's frozen `SpanData`). Fields may be added
/// (`#[non_exhaustive]`): outside fcc, start from [`SpanData::new`] and set
/// the fields you need.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use fcc::trace::{SpanData, SpanStatus};
///
/// let start = UNIX_EPOCH + Duration::from_secs(1_774_605_600);
/// let mut span = SpanData::new(
///     fcc::SpanId::new(0xabc123).unwrap(),
///     fcc::TraceId::new(0x7ace001).unwrap(),
///     "simulation.run",
///     start,
/// );
/// span.end_time = start + Duration::from_secs(5);
/// span.status = SpanStatus::Ok;
/// span.attributes = vec![fcc::trace::KeyValue::new("scenario_id", "SC-001")];
/// assert_eq!(span.duration_ms(), 5000.0);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SpanData {
    /// This span.
    pub span_id: SpanId,
    /// The trace it belongs to.
    pub trace_id: TraceId,
    /// The parent, for child spans.
    pub parent_span_id: Option<SpanId>,
    /// True when the parent lives in another process (from `traceparent`).
    pub parent_is_remote: bool,
    /// The operation.
    pub name: Cow<'static, str>,
    /// Server, client, internal, ...
    pub kind: SpanKind,
    /// When it started.
    pub start_time: SystemTime,
    /// When it ended.
    pub end_time: SystemTime,
    /// How it ended.
    pub status: SpanStatus,
    /// Key-value details.
    pub attributes: Vec<KeyValue>,
    /// Events during the span, oldest first.
    pub events: Vec<SpanEvent>,
    /// Events left out because the span had too many (128, as in the OTel
    /// SDK; see [`SpanLimits`](crate::export::SpanLimits)).
    pub dropped_events: u32,
    /// Attributes left out by the attribute count limit.
    pub dropped_attributes: u32,
    /// Spans this one is linked to (other traces it relates to).
    pub links: Vec<SpanLink>,
    /// Links left out by the link count limit.
    pub dropped_links: u32,
    /// The library that made the span, for spans started through the
    /// OpenTelemetry API (`global::tracer("lib")`); `None`: fcc itself.
    pub scope: Option<Arc<InstrumentationScope>>,
    /// A `#[traced]` function's `code.*` attributes, carried as one static
    /// reference until the span leaves its thread, then put first in
    /// `attributes` ([`SpanData::expand_code`]); never set on a span
    /// anyone outside `trace` and the export pipeline sees.
    pub(crate) code: Option<&'static CodeLocation>,
}

/// Where a `#[traced]` function is, for its span's `code.function.name`
/// and `code.file.path` attributes: one `static` per function, made by the
/// macro. Not a public API.
#[doc(hidden)]
#[derive(Debug, PartialEq, Eq)]
pub struct CodeLocation {
    /// `module::path::function`.
    pub function: &'static str,
    /// The source file.
    pub file: &'static str,
}

impl CodeLocation {
    /// The two attributes, in the order `#[traced]` has always set them.
    pub(crate) fn attributes(&'static self) -> [KeyValue; 2] {
        [
            KeyValue::new("code.function.name", self.function),
            KeyValue::new("code.file.path", self.file),
        ]
    }
}

/// A link from a span to another span, possibly of another trace.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SpanLink {
    /// The linked span.
    pub context: super::SpanContext,
    /// Details of the link.
    pub attributes: Vec<KeyValue>,
}

impl SpanLink {
    /// A link to the span `context`, with these attributes.
    pub fn new(context: super::SpanContext, attributes: Vec<KeyValue>) -> SpanLink {
        SpanLink {
            context,
            attributes,
        }
    }
}

/// The most events a span keeps (the OTel default `OTEL_SPAN_EVENT_COUNT_LIMIT`).
pub const MAX_EVENTS_PER_SPAN: usize = 128;

impl SpanData {
    /// A span that starts and ends at `start`, with no parent, status or attributes.
    pub fn new(
        span_id: SpanId,
        trace_id: TraceId,
        name: impl Into<Cow<'static, str>>,
        start: SystemTime,
    ) -> SpanData {
        SpanData {
            span_id,
            trace_id,
            parent_span_id: None,
            parent_is_remote: false,
            name: name.into(),
            kind: SpanKind::Internal,
            start_time: start,
            end_time: start,
            status: SpanStatus::Unset,
            attributes: Vec::new(),
            events: Vec::new(),
            dropped_events: 0,
            dropped_attributes: 0,
            links: Vec::new(),
            dropped_links: 0,
            scope: None,
            code: None,
        }
    }

    /// Takes an ended span out for good, leaving a blank: with its code
    /// attributes put first and its times set from `times`, its clock
    /// readings (for the completed-spans buffer and the channel fallback;
    /// the hand-over rings finish this on the export thread).
    pub(crate) fn take_finished(&mut self, times: Option<super::span::Times>) -> SpanData {
        let mut span = std::mem::replace(self, SpanData::blank());
        span.expand_code();
        super::span::clock::fill_times(&mut span, times);
        span
    }

    /// True when the span has set nothing but its ids, name, kind, scope,
    /// attributes, code location and an unset or ok status: what the
    /// export hand-over carries as a compact record (anything else, such as
    /// events, links or an error, travels whole). Times given by the caller
    /// are not looked at here: such a span is handed over without clock
    /// readings, which is how the hand-over tells.
    #[inline]
    pub(crate) fn is_plain(&self) -> bool {
        matches!(self.status, SpanStatus::Unset | SpanStatus::Ok)
            && self.events.is_empty()
            && self.links.is_empty()
            && (self.dropped_events | self.dropped_attributes | self.dropped_links) == 0
    }

    /// Puts a `#[traced]` span's code attributes first in its list.
    #[inline]
    pub(crate) fn expand_code(&mut self) {
        if let Some(code) = self.code.take() {
            self.attributes.splice(0..0, code.attributes());
        }
    }

    /// How long the span took, in milliseconds.
    pub fn duration_ms(&self) -> f64 {
        self.end_time
            .duration_since(self.start_time)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }

    /// The value of attribute `key`, if set.
    pub fn attribute(&self, key: &str) -> Option<&Value> {
        self.attributes
            .iter()
            .rev()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| &kv.value)
    }

    /// What a reused span box holds between spans: [`SpanData::new`]'s
    /// defaults.
    #[inline]
    pub(crate) fn blank() -> SpanData {
        const ONE_SPAN: SpanId = match SpanId::new(1) {
            Some(id) => id,
            None => unreachable!(),
        };
        const ONE_TRACE: TraceId = match TraceId::new(1) {
            Some(id) => id,
            None => unreachable!(),
        };
        SpanData::new(ONE_SPAN, ONE_TRACE, "", SystemTime::UNIX_EPOCH)
    }

    /// [`blank`](Self::blank), keeping `list` (emptied) as its attribute
    /// list: a reused box keeps its list's capacity.
    #[inline(always)]
    pub(crate) fn blank_with_list(mut list: Vec<KeyValue>) -> SpanData {
        if !list.is_empty() {
            list.clear();
        }
        SpanData {
            attributes: list,
            ..SpanData::blank()
        }
    }

    /// Adds an event, or counts it as dropped past [`MAX_EVENTS_PER_SPAN`].
    pub(crate) fn push_event(&mut self, event: SpanEvent) {
        if self.events.len() < MAX_EVENTS_PER_SPAN {
            self.events.push(event);
        } else {
            self.dropped_events = self.dropped_events.saturating_add(1);
        }
    }
}
