//! [`SpanLayer`]: `tracing` spans (`#[tracing::instrument]`, `info_span!`) as
//! fcc spans, in the same trace tree as [`FccTracer`] and `#[traced]` spans.

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::Subscriber;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use super::is_quiet_target;
use crate::internal::thread::is_internal_thread;
use crate::trace::{current, FccTracer, KeyValue, Span, SpanContext, SpanKind, SpanStatus};

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
#[derive(Clone, Debug)]
pub struct SpanLayer {
    tracer: FccTracer,
}

impl SpanLayer {
    /// Records `tracing` spans with `tracer`.
    pub fn new(tracer: FccTracer) -> SpanLayer {
        SpanLayer { tracer }
    }
}

/// What the layer keeps in a `tracing` span's extensions.
pub(crate) struct TracingSpan {
    pub(crate) span: Span,
    /// Entered, or its context handed out: its parent can no longer change.
    /// (Atomic so that entering needs only the extensions' read lock.)
    pub(crate) started: AtomicBool,
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
    fn new(span: Span) -> TracingSpan {
        TracingSpan {
            span,
            started: AtomicBool::new(false),
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

impl<S> Layer<S> for SpanLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let meta = attrs.metadata();
        if is_quiet_target(meta.target()) || is_internal_thread() {
            return;
        }
        let Some(span_ref) = ctx.span(id) else { return };
        let parent: Option<SpanContext> = if let Some(p) = attrs.parent() {
            ctx.span(p).and_then(|p| {
                let extensions = p.extensions();
                let t = extensions.get::<TracingSpan>()?;
                // Its child has its trace now: its parent can no longer change.
                t.started.store(true, Ordering::Relaxed);
                t.span.context()
            })
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
        span_ref.extensions_mut().insert(t);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(s) = ctx.span(id)
            && let Some(t) = s.extensions_mut().get_mut::<TracingSpan>()
            && t.span.is_recording()
        {
            values.record(&mut OtelValues(t));
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(s) = ctx.span(id)
            && let Some(t) = s.extensions().get::<TracingSpan>()
        {
            t.started.store(true, Ordering::Relaxed);
            if let Some(c) = t.span.context() {
                match t.extra.as_ref().and_then(|e| e.otel_parent.as_ref()) {
                    Some(base) => crate::trace::context::push_in(c, base),
                    None => crate::trace::context::push(c),
                }
            }
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(s) = ctx.span(id)
            && let Some(c) = s
                .extensions()
                .get::<TracingSpan>()
                .and_then(|t| t.span.context_ref().map(|c| c.span_id))
        {
            crate::trace::context::pop(c);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(s) = ctx.span(&id) {
            // Dropping the span ends it and hands it to the tracer.
            drop(s.extensions_mut().remove::<TracingSpan>());
        }
    }
}

impl PutField for TracingSpan {
    fn put(&mut self, field: &Field, value: opentelemetry::Value) {
        self.put_named(field.name(), value);
    }
    fn put_error(&mut self, field: &Field, error: &(dyn std::error::Error + 'static)) {
        if field.name().starts_with("otel.") {
            self.put(field, error.to_string().into());
        } else {
            self.span.record_error(error);
        }
    }
}

impl TracingSpan {
    fn put_named(&mut self, name: &'static str, value: opentelemetry::Value) {
        // tracing-opentelemetry's field conventions: set the span's name,
        // kind and status, not attributes.
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
                if name == "error" {
                    self.span
                        .set_status(SpanStatus::error(value.as_str().into_owned()));
                }
                self.span.set_attributes([KeyValue::new(
                    opentelemetry::Key::from_static_str(name),
                    value,
                )]);
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
