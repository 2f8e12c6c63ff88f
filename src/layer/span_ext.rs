//! [`OpenTelemetrySpanExt`]: OpenTelemetry contexts on `tracing` spans, as
//! tracing-opentelemetry offers them, for spans recorded by fcc's
//! [`SpanLayer`].

use std::borrow::Cow;
use std::fmt;
use std::time::SystemTime;

use opentelemetry::trace::{SpanContext as OtelSpanContext, Status, TraceContextExt};
use opentelemetry::{Context, Key, KeyValue, Value};

use super::spans::TracingSpan;
use super::SpanLayer;
use crate::otel::tracer::{apply_status, count_invalid_parent, push_link};
use crate::trace::otel_context as bridge;
use crate::trace::SpanEvent;

/// OpenTelemetry contexts, links, attributes and status on `tracing` spans
/// recorded by fcc's [`SpanLayer`].
///
/// # Migrating from tracing-opentelemetry
///
/// The trait has the same name and methods as
/// `tracing_opentelemetry::OpenTelemetrySpanExt`, so most code changes only
/// its `use` line. Before:
///
/// ```text
/// use tracing_opentelemetry::OpenTelemetrySpanExt;
///
/// let provider = SdkTracerProvider::builder().with_batch_exporter(exporter).build();
/// global::set_tracer_provider(provider.clone());
/// global::set_text_map_propagator(TraceContextPropagator::new());
/// tracing_subscriber::registry()
///     .with(EnvFilter::from_default_env())
///     .with(tracing_subscriber::fmt::layer())
///     .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("app")))
///     .init();
/// ```
///
/// After (fcc sets the providers and the propagator, from `OTEL_*`):
///
/// ```text
/// use fcc::OpenTelemetrySpanExt;
///
/// let (fcc_layer, _telemetry) = fcc::Telemetry::builder().fmt(None).layer()?;
/// tracing_subscriber::registry()
///     .with(EnvFilter::from_default_env())
///     .with(tracing_subscriber::fmt::layer())
///     .with(fcc_layer)
///     .init();
/// ```
///
/// | tracing-opentelemetry | fcc |
/// |---|---|
/// | `span.set_parent(cx)` | the same; `Err(AlreadyStarted)` once the span was entered or its `context()` taken, as there |
/// | `span.context()` | the same: a `Context` whose span is the fcc span (plus the parent's baggage) |
/// | `span.add_link(sc)`, `add_link_with_attributes` | the same |
/// | `span.set_attribute(k, v)`, `set_status(s)` | the same (`Ok` is final, `Unset` changes nothing) |
/// | `span.add_event(name, attrs)`, `add_event_with_timestamp` | the same |
/// | fields `otel.name`, `otel.kind`, `otel.status_code`, `otel.status_description` | the same: name, kind (`server`, `client`, `producer`, `consumer`, `internal`) and status, not attributes |
/// | `with_error_fields_to_exceptions` | always: an error-valued field is an `exception` event and error status |
/// | `tracing::info!` inside spans as span events | log records; span events too with [`TelemetryBuilder::log_span_events`](crate::TelemetryBuilder::log_span_events) |
///
/// ```
/// use fcc::OpenTelemetrySpanExt;
/// use opentelemetry::propagation::TextMapPropagator;
/// use opentelemetry::trace::TraceContextExt;
/// use tracing_subscriber::layer::SubscriberExt;
/// use std::collections::HashMap;
///
/// let tracer = fcc::FccTracer::new("doc");
/// let subscriber = tracing_subscriber::registry().with(fcc::layer::SpanLayer::new(tracer.clone()));
/// tracing::subscriber::with_default(subscriber, || {
///     let headers = HashMap::from([(
///         "traceparent".to_owned(),
///         "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned(),
///     )]);
///     let parent = fcc::otel::FccPropagator::default().extract(&headers);
///     let span = tracing::info_span!("request", otel.kind = "server");
///     span.set_parent(parent).unwrap();
///     let cx = span.context();
///     assert_eq!(cx.span().span_context().trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// });
/// let request = &tracer.completed_spans()[0];
/// assert_eq!(request.parent_span_id.unwrap().to_string(), "00f067aa0ba902b7");
/// assert_eq!(request.kind, fcc::trace::SpanKind::Server);
/// ```
pub trait OpenTelemetrySpanExt {
    /// Makes the span a child of the span in `cx` (for example a context a
    /// propagator extracted from an incoming request), or a new trace when
    /// `cx` holds no valid span. The baggage of `cx` is current while the
    /// span is entered. Call it before the span is entered.
    fn set_parent(&self, cx: Context) -> Result<(), SetParentError>;

    /// Links the span to another span (for example the trace of a message
    /// it handles). Invalid span contexts are ignored.
    fn add_link(&self, cx: OtelSpanContext) {
        self.add_link_with_attributes(cx, Vec::new());
    }

    /// [`add_link`](Self::add_link) with attributes on the link.
    fn add_link_with_attributes(&self, cx: OtelSpanContext, attributes: Vec<KeyValue>);

    /// The OTel `Context` of this span: its span context, on top of its
    /// parent's context (baggage). Empty when fcc does not record the span.
    fn context(&self) -> Context;

    /// Sets an attribute, whether or not the span has a field of that name.
    fn set_attribute(&self, key: impl Into<Key>, value: impl Into<Value>);

    /// Sets the status by the OTel API's rule (`Ok` is final, `Unset` is
    /// ignored).
    fn set_status(&self, status: Status);

    /// Adds a span event now.
    fn add_event(&self, name: impl Into<Cow<'static, str>>, attributes: Vec<KeyValue>) {
        self.add_event_with_timestamp(name, crate::trace::span::clock::system_now(), attributes);
    }

    /// Adds a span event at `timestamp`.
    fn add_event_with_timestamp(
        &self,
        name: impl Into<Cow<'static, str>>,
        timestamp: SystemTime,
        attributes: Vec<KeyValue>,
    );
}

/// Why [`OpenTelemetrySpanExt::set_parent`] changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SetParentError {
    /// The span's subscriber has no fcc [`SpanLayer`] (add fcc with
    /// `Telemetry::builder().layer()` or install it with
    /// `Telemetry::install`).
    LayerNotFound,
    /// The span was already entered or its `context()` handed out: its
    /// children may carry the old trace, so the parent stays.
    AlreadyStarted,
    /// The span is disabled (filtered out, or made where fcc records
    /// nothing, such as fcc's own threads).
    SpanDisabled,
}

impl fmt::Display for SetParentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SetParentError::LayerNotFound => {
                "fcc's SpanLayer is not in this span's subscriber \
                 (install fcc, or add Telemetry::builder().layer() to your registry)"
            }
            SetParentError::AlreadyStarted => {
                "the span was already entered or its context taken: set the parent \
                 right after creating the span"
            }
            SetParentError::SpanDisabled => "the span is disabled: fcc does not record it",
        })
    }
}

impl std::error::Error for SetParentError {}

/// Runs `f` on fcc's record of `span`, under the layer's lock on it: `f`
/// must not make, enter or record `tracing` spans.
fn with_fcc_span<R>(
    span: &tracing::Span,
    f: impl FnOnce(&mut TracingSpan) -> R,
) -> Result<R, SetParentError> {
    span.with_subscriber(|(id, dispatch)| {
        let layer = dispatch
            .downcast_ref::<SpanLayer>()
            .ok_or(SetParentError::LayerNotFound)?;
        layer
            .spans
            .with(id.into_u64(), f)
            .ok_or(SetParentError::SpanDisabled)
    })
    .unwrap_or(Err(SetParentError::SpanDisabled))
}

impl OpenTelemetrySpanExt for tracing::Span {
    fn set_parent(&self, cx: Context) -> Result<(), SetParentError> {
        // The caller holds an OTel context: the process uses the OTel API.
        bridge::activate();
        let name = self.metadata().map_or("", |m| m.name());
        let parent = bridge::from_otel_context(&cx);
        with_fcc_span(self, |t| {
            if t.started {
                return Err(SetParentError::AlreadyStarted);
            }
            if t.span.context_ref().is_none() {
                return Err(SetParentError::SpanDisabled);
            }
            if parent.is_none() && cx.has_active_span() {
                count_invalid_parent();
            }
            t.span.reparent(parent.as_ref(), Cow::Borrowed(name));
            t.record_kept_fields();
            t.extra.get_or_insert_with(Default::default).otel_parent = Some(cx);
            Ok(())
        })?
    }

    fn add_link_with_attributes(&self, cx: OtelSpanContext, attributes: Vec<KeyValue>) {
        let _ = with_fcc_span(self, |t| {
            if let Some(d) = t.span.data_mut() {
                push_link(d, &cx, attributes);
            }
        });
    }

    fn context(&self) -> Context {
        with_fcc_span(self, |t| {
            t.started = true;
            let base = t.extra.as_ref().and_then(|e| e.otel_parent.clone());
            Some((t.span.context()?, base))
        })
        .ok()
        .flatten()
        .map(|(c, base)| bridge::context_with(&c, base.as_ref()))
        .unwrap_or_default()
    }

    fn set_attribute(&self, key: impl Into<Key>, value: impl Into<Value>) {
        let (key, value) = (key.into(), value.into());
        let _ = with_fcc_span(self, |t| t.span.set_attribute(key, value));
    }

    fn set_status(&self, status: Status) {
        let _ = with_fcc_span(self, |t| {
            if let Some(d) = t.span.data_mut() {
                apply_status(d, status);
            }
        });
    }

    fn add_event_with_timestamp(
        &self,
        name: impl Into<Cow<'static, str>>,
        timestamp: SystemTime,
        attributes: Vec<KeyValue>,
    ) {
        let event = SpanEvent {
            name: name.into(),
            timestamp,
            attributes,
        };
        let _ = with_fcc_span(self, |t| {
            if let Some(d) = t.span.data_mut() {
                d.push_event(event);
            }
        });
    }
}
