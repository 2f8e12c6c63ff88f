//! [`SpanLayer`]: `tracing` spans (`#[tracing::instrument]`, `info_span!`) as
//! fcc spans, in the same trace tree as [`FccTracer`] and `#[traced]` spans.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::Subscriber;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use super::is_quiet_target;
use super::span_table::SpanTable;
use crate::internal::thread::is_internal_thread;
use crate::trace::{current, FccTracer, KeyValue, Span, SpanContext, SpanKind, SpanStatus};
use crate::SpanId;

thread_local! {
    /// The `tracing` spans entered on this thread that pushed a context
    /// onto fcc's stack, innermost last: which layer's (its table's
    /// address), the `tracing` id and the fcc span id. Leaving one pops
    /// fcc's stack from here, without a lookup in the table.
    static ENTERED: RefCell<Vec<(usize, u64, SpanId)>> = const { RefCell::new(Vec::new()) };
}

/// Turns `tracing` spans into fcc spans.
///
/// The parent of a new `tracing` span is its explicit `parent:` if it has one,
/// otherwise the innermost span active on the thread, whichever kind it is; and
/// while a `tracing` span is entered, it is the parent of FccTracer and
/// `#[traced]` spans. Fields become attributes; a field named `error` marks the
/// span failed. Spans of exporter libraries (see
/// [`QUIET_TARGETS`](crate::layer::QUIET_TARGETS)) and of fcc's own threads are
/// ignored, so exporting never makes more spans to export.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
/// let tracer = fcc::trace::FccTracer::new("doc");
/// let subscriber = tracing_subscriber::registry().with(fcc::layer::SpanLayer::new(tracer.clone()));
/// tracing::subscriber::with_default(subscriber, || {
///     let _outer = tracing::info_span!("outer", user = "ada").entered();
///     let _inner = tracer.span("inner");
/// });
/// let spans = tracer.completed_spans();
/// assert_eq!(spans[0].name, "inner");
/// assert_eq!(spans[0].parent_span_id, Some(spans[1].span_id));
/// ```
#[derive(Debug)]
pub struct SpanLayer {
    tracer: FccTracer,
    /// The fcc span of each `tracing` span this layer follows (kept here,
    /// not in the registry's extensions: see [`SpanTable`]).
    pub(crate) spans: SpanTable,
}

impl SpanLayer {
    /// Records `tracing` spans with `tracer`.
    pub fn new(tracer: FccTracer) -> SpanLayer {
        SpanLayer {
            tracer,
            spans: SpanTable::new(),
        }
    }
}

/// A clone records with the same tracer and follows spans of its own (of
/// the subscriber it is added to): `tracing` ids are only unique within
/// one subscriber.
impl Clone for SpanLayer {
    fn clone(&self) -> SpanLayer {
        SpanLayer::new(self.tracer.clone())
    }
}

/// What the layer keeps for a `tracing` span.
pub(crate) struct TracingSpan {
    pub(crate) span: Span,
    /// Entered, or its context handed out: its parent can no longer change.
    pub(crate) started: bool,
    /// What few spans need, kept out of line.
    pub(crate) extra: Option<Box<TracingSpanExtra>>,
}

/// The rarely used part of a [`TracingSpan`].
#[derive(Default)]
pub(crate) struct TracingSpanExtra {
    /// The OTel context given to `set_parent` (its baggage flows into the
    /// span while it is entered).
    pub(crate) otel_parent: Option<opentelemetry::Context>,
    /// `otel.status_description`, for when `otel.status_code` says error.
    status_description: Option<String>,
    /// The fields of a root that was not sampled, kept in case
    /// `set_parent` gives it a sampled parent.
    pub(crate) unsampled_fields: Vec<(&'static str, opentelemetry::Value)>,
}

impl TracingSpan {
    pub(crate) fn new(span: Span) -> TracingSpan {
        TracingSpan {
            span,
            started: false,
            extra: None,
        }
    }

    /// After `set_parent` made an unsampled root sampled: record the fields
    /// it was created with.
    pub(crate) fn record_kept_fields(&mut self) {
        if !self.span.is_recording() {
            return;
        }
        let kept = self
            .extra
            .as_mut()
            .map(|e| std::mem::take(&mut e.unsampled_fields));
        for (name, value) in kept.into_iter().flatten() {
            self.put_named(name, value);
        }
    }
}

/// Collects field values by name (for an unsampled root's fields).
struct KeptFields(Vec<(&'static str, opentelemetry::Value)>);

impl PutField for KeptFields {
    fn put(&mut self, field: &Field, value: opentelemetry::Value) {
        self.0.push((field.name(), value));
    }
}

/// Field values kept aside, to be put into a span under the table's lock
/// (a value's `Debug` is user code, which may make spans of its own).
#[derive(Default)]
struct Recorded(Vec<(&'static str, Result<opentelemetry::Value, String>)>);

impl PutField for Recorded {
    fn put(&mut self, field: &Field, value: opentelemetry::Value) {
        self.0.push((field.name(), Ok(value)));
    }
    fn put_error(&mut self, field: &Field, error: &(dyn std::error::Error + 'static)) {
        self.0.push((field.name(), Err(error.to_string())));
    }
}

/// An error value's text, recorded as the error it was.
#[derive(Debug)]
struct ErrorText(String);

impl fmt::Display for ErrorText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ErrorText {}

impl<S> Layer<S> for SpanLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _ctx: Context<'_, S>) {
        let meta = attrs.metadata();
        if is_quiet_target(meta.target()) || is_internal_thread() {
            return;
        }
        let parent: Option<SpanContext> = if let Some(p) = attrs.parent() {
            self.spans
                .with(p.into_u64(), |t| {
                    // Its child has its trace now: its parent can no longer change.
                    t.started = true;
                    t.span.context()
                })
                .flatten()
        } else if attrs.is_contextual() {
            current()
        } else {
            None
        };
        let mut span = self
            .tracer
            .start_with_parent(Cow::Borrowed(meta.name()), parent.as_ref());
        span.keep_unset_status();
        let mut t = TracingSpan::new(span);
        if t.span.is_recording() {
            attrs.record(&mut OtelValues(&mut t));
        } else if parent.is_none() && t.span.context_ref().is_some() {
            // An unsampled root may yet get a sampled parent (set_parent).
            let mut kept = KeptFields(Vec::new());
            attrs.record(&mut OtelValues(&mut kept));
            if !kept.0.is_empty() {
                t.extra
                    .get_or_insert_with(Default::default)
                    .unsampled_fields = kept.0;
            }
        }
        // A record left under this id (none should be) ends here, unlocked.
        drop(self.spans.insert(id.into_u64(), t));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        let id = id.into_u64();
        if values.is_empty() || self.spans.with(id, |t| t.span.is_recording()) != Some(true) {
            return;
        }
        let mut recorded = Recorded::default();
        values.record(&mut OtelValues(&mut recorded));
        self.spans.with(id, |t| {
            for (name, value) in recorded.0 {
                match value {
                    Ok(value) => t.put_named(name, value),
                    Err(text) => t.put_error_named(name, &ErrorText(text)),
                }
            }
        });
    }

    fn on_enter(&self, id: &Id, _ctx: Context<'_, S>) {
        let entered = self.spans.with(id.into_u64(), |t| {
            t.started = true;
            let c = t.span.context()?;
            let base = t.extra.as_ref().and_then(|e| e.otel_parent.clone());
            Some((c, base))
        });
        let Some((c, base)) = entered.flatten() else {
            return;
        };
        let entry = (self.spans.key(), id.into_u64(), c.span_id);
        // Pushed outside the table's lock.
        match base {
            Some(base) => crate::trace::context::push_in(c, &base),
            None => crate::trace::context::push(c),
        }
        let _ = ENTERED.try_with(|e| {
            if let Ok(mut e) = e.try_borrow_mut() {
                e.push(entry);
            }
        });
    }

    fn on_exit(&self, id: &Id, _ctx: Context<'_, S>) {
        let key = (self.spans.key(), id.into_u64());
        let left = ENTERED.try_with(|e| {
            let mut e = e.try_borrow_mut().ok()?;
            // The innermost entry: a span entered twice is left twice.
            let i = e.iter().rposition(|&(t, i, _)| (t, i) == key)?;
            if i + 1 == e.len() {
                e.pop().map(|(_, _, span_id)| span_id)
            } else {
                Some(e.remove(i).2)
            }
        });
        if let Ok(Some(span_id)) = left {
            crate::trace::context::pop(span_id);
        }
    }

    fn on_close(&self, id: Id, _ctx: Context<'_, S>) {
        // Dropping the span, outside the table's lock, ends it and hands it
        // to the tracer.
        drop(self.spans.remove(id.into_u64()));
    }
}

impl PutField for TracingSpan {
    fn put(&mut self, field: &Field, value: opentelemetry::Value) {
        self.put_named(field.name(), value);
    }
    fn put_error(&mut self, field: &Field, error: &(dyn std::error::Error + 'static)) {
        self.put_error_named(field.name(), error);
    }
}

impl TracingSpan {
    fn put_error_named(&mut self, name: &'static str, error: &(dyn std::error::Error + 'static)) {
        if name.starts_with("otel.") {
            self.put_named(name, error.to_string().into());
        } else {
            self.span.record_error(error);
        }
    }

    #[inline]
    fn put_named(&mut self, name: &'static str, value: opentelemetry::Value) {
        if name.starts_with("otel.") {
            return self.put_otel(name, value);
        }
        if name == "error" {
            self.span
                .set_status(SpanStatus::error(value.as_str().into_owned()));
        }
        if let Some(d) = self.span.data_mut() {
            d.attributes.push(KeyValue::new(
                opentelemetry::Key::from_static_str(name),
                value,
            ));
        }
    }

    /// `otel.*` fields, tracing-opentelemetry's conventions: they set the
    /// span's name, kind and status, not attributes.
    #[cold]
    fn put_otel(&mut self, name: &'static str, value: opentelemetry::Value) {
        match name {
            "otel.name" => {
                if let Some(d) = self.span.data_mut() {
                    d.name = value.as_str().into_owned().into();
                }
            }
            "otel.kind" => {
                if let (Some(kind), Some(d)) = (parse_kind(&value.as_str()), self.span.data_mut()) {
                    d.kind = kind;
                }
            }
            "otel.status_code" => {
                let code = value.as_str();
                if code.eq_ignore_ascii_case("error") {
                    let description = self
                        .extra
                        .as_ref()
                        .and_then(|e| e.status_description.clone())
                        .unwrap_or_default();
                    self.span.set_status(SpanStatus::error(description));
                } else if code.eq_ignore_ascii_case("ok") {
                    self.span.set_status(SpanStatus::Ok);
                }
            }
            "otel.status_description" => {
                let description = value.as_str().into_owned();
                if let Some(d) = self.span.data_mut()
                    && let SpanStatus::Error { .. } = d.status
                {
                    d.status = SpanStatus::error(description.clone());
                }
                self.extra
                    .get_or_insert_with(Default::default)
                    .status_description = Some(description);
            }
            name => {
                if let Some(d) = self.span.data_mut() {
                    d.attributes.push(KeyValue::new(
                        opentelemetry::Key::from_static_str(name),
                        value,
                    ));
                }
            }
        }
    }
}

/// `otel.kind`'s value, as tracing-opentelemetry reads it (any case).
fn parse_kind(kind: &str) -> Option<SpanKind> {
    Some(match kind.to_ascii_lowercase().as_str() {
        "server" => SpanKind::Server,
        "client" => SpanKind::Client,
        "producer" => SpanKind::Producer,
        "consumer" => SpanKind::Consumer,
        "internal" => SpanKind::Internal,
        _ => return None,
    })
}

/// Takes `tracing` field values as OTel attribute values (see [`OtelValues`]).
pub(crate) trait PutField {
    /// One field's value.
    fn put(&mut self, field: &Field, value: opentelemetry::Value);
    /// An error value: by default its `Display` text, as `tracing` does.
    fn put_error(&mut self, field: &Field, error: &(dyn std::error::Error + 'static)) {
        self.put(field, error.to_string().into());
    }
}

/// A `tracing` visitor that hands each field to a [`PutField`] as an OTel
/// value: numbers, bools and strings as themselves (a `u64` past `i64` as
/// text), anything else through `Debug`.
pub(crate) struct OtelValues<'a, P>(pub(crate) &'a mut P);

impl<P: PutField> Visit for OtelValues<'_, P> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.put(field, value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.put(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.put(
            field,
            i64::try_from(value).map_or_else(|_| value.to_string().into(), Into::into),
        );
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.put(field, value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.put(field, value.to_owned().into());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0.put_error(field, value);
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.put(field, format!("{value:?}").into());
    }
}
