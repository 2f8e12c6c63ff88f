//! Spans made from lifecycle events: started at the event's time, with its
//! identifying fields as attributes, ended by a later event or left unfinished.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use serde_json::Value as Json;

use crate::export::event_attributes::{json_value, span_event};
use crate::trace::{FccTracer, KeyValue, Span, SpanContext, SpanEvent, SpanLink, SpanStatus};
use crate::Event;

/// Most payload entries copied onto a span as attributes.
const MAX_PAYLOAD_ATTRIBUTES: usize = 32;

/// The event's fields that name what a span is about, as attribute keys.
const IDENTIFYING: [&str; 7] = [
    "source",
    "correlation_id",
    "mission_id",
    "objective_id",
    "task",
    "resource",
    "action",
];

/// Attribute saying why a span ended without its end event.
pub(super) const UNFINISHED: &str = "fcc.engine.unfinished";

/// The span that was current where `event` was published, if it says.
pub(super) fn event_span(event: &Event) -> Option<SpanContext> {
    Some(SpanContext::new(event.trace_id()?, event.span_id()?))
}

/// A string field of the payload.
pub(super) fn payload_str<'a>(event: &'a Event, key: &str) -> Option<&'a str> {
    event.payload_get(key).and_then(Json::as_str)
}

/// A number field of the payload.
pub(super) fn payload_f64(event: &Event, key: &str) -> Option<f64> {
    event.payload_get(key).and_then(Json::as_f64)
}

/// Starts span `name` for `event` under `parent` (`None`: a new trace), at
/// the event's time. It links to the event's span when that span is in
/// another trace.
pub(super) fn start(
    tracer: &FccTracer,
    name: impl Into<Cow<'static, str>>,
    event: &Event,
    parent: Option<&SpanContext>,
) -> Span {
    let mut span = tracer.start_with_parent(name, parent);
    span.set_start_time(event.timestamp().to_system_time());
    let trace_id = span.context_ref().map(|c| c.trace_id);
    let link = event_span(event).filter(|from| Some(from.trace_id) != trace_id);
    if let Some(d) = span.data_mut() {
        identify(&mut d.attributes, event);
        if let Some(context) = link {
            d.links.push(SpanLink {
                context,
                attributes: vec![KeyValue::new(
                    "event_type",
                    event.event_type().as_str().to_owned(),
                )],
            });
        }
    }
    span
}

/// Appends the event's identifying fields and scalar payload entries that
/// `attributes` does not have yet (the first event to say something wins).
pub(super) fn identify(attributes: &mut Vec<KeyValue>, event: &Event) {
    let has = |a: &[KeyValue], k: &str| a.iter().any(|kv| kv.key.as_str() == k);
    let fields = [
        Some(event.source()),
        event.correlation_id(),
        event.mission_id(),
        event.objective_id(),
        event.task(),
        event.resource(),
        event.action(),
    ];
    for (key, value) in IDENTIFYING.iter().zip(fields) {
        if let Some(v) = value.filter(|v| !v.is_empty())
            && !has(attributes, key)
        {
            attributes.push(KeyValue::new(*key, v.to_owned()));
        }
    }
    if let Some(o) = event.outcome()
        && !has(attributes, "outcome")
    {
        attributes.push(KeyValue::new("outcome", o.as_str()));
    }
    for (k, v) in event.payload_entries().take(MAX_PAYLOAD_ATTRIBUTES) {
        if !v.is_null() && !has(attributes, k) {
            attributes.push(KeyValue::new(k.to_owned(), json_value(v)));
        }
    }
}

/// How a span ends.
pub(super) enum End<'a> {
    /// Its end event arrived: ok.
    Done(&'a Event),
    /// Its end event says it failed: error status and an `exception` event.
    Failed(&'a Event),
    /// Like `Failed`, without the `exception` event (a step the run failed in).
    FailedWithin(&'a Event),
    /// Ended by the next step's event: ok, at that event's time.
    Next(&'a Event),
    /// It never got its end event.
    Unfinished(Unfinished),
}

/// Why a span ended without its end event.
#[derive(Clone, Copy, Debug)]
pub(super) enum Unfinished {
    /// Open longer than the configured timeout: error.
    TimedOut(Duration),
    /// The oldest open one when the table was full: error.
    Evicted,
    /// Another started event came for the same run: error.
    Superseded,
    /// Still open when the instrumentation stopped: unset.
    Abandoned,
}

impl Unfinished {
    fn as_str(self) -> &'static str {
        match self {
            Unfinished::TimedOut(_) => "timeout",
            Unfinished::Evicted => "evicted",
            Unfinished::Superseded => "superseded",
            Unfinished::Abandoned => "shutdown",
        }
    }

    fn status(self, what: &str) -> SpanStatus {
        match self {
            Unfinished::TimedOut(t) => SpanStatus::error(format!(
                "{what} not finished within {:.3} s",
                t.as_secs_f64()
            )),
            Unfinished::Evicted => {
                SpanStatus::error(format!("{what} evicted: too many open at once"))
            }
            Unfinished::Superseded => {
                SpanStatus::error(format!("{what} restarted before it finished"))
            }
            Unfinished::Abandoned => SpanStatus::Unset,
        }
    }
}

/// What a failure event says went wrong.
pub(super) fn failure_message(event: &Event) -> String {
    event
        .detail()
        .or_else(|| payload_str(event, "error"))
        .map_or_else(|| format!("{} received", event.event_type()), str::to_owned)
}

/// Ends `span` (started at `start`) as `end` says; `what` names it in
/// error descriptions ("simulation run").
pub(super) fn finish(mut span: Span, start: SystemTime, end: End<'_>, what: &str) {
    let at = match &end {
        End::Done(e) | End::Failed(e) | End::FailedWithin(e) | End::Next(e) => {
            e.timestamp().to_system_time()
        }
        End::Unfinished(_) => crate::trace::span::clock::system_now(),
    };
    match end {
        End::Done(e) => {
            if let Some(d) = span.data_mut() {
                identify(&mut d.attributes, e);
            }
            span.set_status(SpanStatus::Ok);
        }
        End::Next(_) => span.set_status(SpanStatus::Ok),
        End::Failed(e) => {
            let message = failure_message(e);
            if let Some(d) = span.data_mut() {
                identify(&mut d.attributes, e);
                let mut exception = span_event(e);
                exception.name = Cow::Borrowed("exception");
                exception.attributes.splice(
                    0..0,
                    [
                        KeyValue::new(
                            "exception.type",
                            payload_str(e, "error_type")
                                .unwrap_or(e.event_type().as_str())
                                .to_owned(),
                        ),
                        KeyValue::new("exception.message", message.clone()),
                    ],
                );
                d.push_event(exception);
            }
            span.set_status(SpanStatus::error(message));
        }
        End::FailedWithin(e) => span.set_status(SpanStatus::error(failure_message(e))),
        End::Unfinished(why) => {
            span.set_attribute(UNFINISHED, why.as_str());
            let status = why.status(what);
            if status == SpanStatus::Unset {
                span.keep_unset_status();
            }
            span.set_status(status);
        }
    }
    // Events that arrive out of order never make a span end before it starts.
    span.end_at(at.max(start));
}

/// Adds `event` to `span` as a span event at its time (budget warnings).
pub(super) fn add_event(span: &mut Span, event: &Event) {
    if let Some(d) = span.data_mut() {
        let e: SpanEvent = span_event(event);
        d.push_event(e);
    }
}
