//! fcc as the global OpenTelemetry `TracerProvider`: a span started through
//! the OTel API (`global::tracer("lib").in_span(..)`) is an fcc span, with
//! fcc's sampler, limits and exporters.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use opentelemetry::trace::{SpanBuilder, SpanContext as OtelSpanContext, Status, TraceContextExt};
use opentelemetry::{Context, InstrumentationScope, KeyValue};

use crate::trace::otel_context as bridge;
use crate::trace::{FccTracer, Span, SpanContext, SpanEvent, SpanLink, SpanStatus};

static INVALID_PARENTS: AtomicU64 = AtomicU64::new(0);

pub(crate) fn count_invalid_parent() {
    INVALID_PARENTS.fetch_add(1, Ordering::Relaxed);
}

/// How many remote contexts were refused (a malformed `traceparent`) and
/// OTel-API spans were given a parent context holding an invalid
/// span context (all-zero ids): each became a new trace.
pub fn invalid_parents() -> u64 {
    INVALID_PARENTS.load(Ordering::Relaxed)
}

/// The OpenTelemetry `TracerProvider` backed by an [`FccTracer`].
/// [`Telemetry`](crate::Telemetry) installs one as the global provider;
/// build one yourself for a tracer that is not the global one.
///
/// ```
/// use opentelemetry::trace::{Tracer as _, TracerProvider as _};
///
/// let fcc_tracer = fcc::FccTracer::new("my-app");
/// let provider = fcc::otel::FccTracerProvider::new(fcc_tracer.clone());
/// provider.tracer("my-lib").in_span("lib.call", |_cx| {});
/// let span = &fcc_tracer.completed_spans()[0];
/// assert_eq!(span.name, "lib.call");
/// assert_eq!(span.scope.as_ref().unwrap().name(), "my-lib");
/// ```
#[derive(Clone, Debug)]
pub struct FccTracerProvider {
    tracer: FccTracer,
}

impl FccTracerProvider {
    /// A provider whose tracers start spans with `tracer`.
    pub fn new(tracer: FccTracer) -> FccTracerProvider {
        FccTracerProvider { tracer }
    }
}

impl opentelemetry::trace::TracerProvider for FccTracerProvider {
    type Tracer = OtelTracer;

    fn tracer_with_scope(&self, scope: InstrumentationScope) -> OtelTracer {
        // From here on the process uses the OTel API: keep its context in step.
        bridge::activate();
        OtelTracer {
            tracer: self.tracer.clone(),
            scope: Arc::new(scope),
        }
    }
}

/// An OpenTelemetry `Tracer` for one instrumentation scope (library).
#[derive(Clone, Debug)]
pub struct OtelTracer {
    tracer: FccTracer,
    scope: Arc<InstrumentationScope>,
}

impl OtelTracer {
    /// The parent for a span started with `parent_cx`.
    fn parent(parent_cx: &Context) -> Option<SpanContext> {
        if parent_cx.has_active_span() {
            let parent = bridge::from_otel(parent_cx.span().span_context());
            if parent.is_none() {
                count_invalid_parent();
            }
            return parent;
        }
        // No span in the context. fcc spans entered since the bridge is on
        // are in the current OTel context, so a context without one is
        // either an explicit root (`Context::new()`) or the current context
        // of a thread that entered its span before the bridge was on.
        crate::trace::context::stack_top().filter(|top| !bridge::is_mirrored(top.span_id))
    }
}

impl opentelemetry::trace::Tracer for OtelTracer {
    type Span = OtelSpan;

    fn build_with_context(&self, builder: SpanBuilder, parent_cx: &Context) -> OtelSpan {
        // fcc's own threads, and code run in a suppressed context, record nothing.
        if parent_cx.is_telemetry_suppressed() || crate::internal::thread::is_internal_thread() {
            return OtelSpan {
                span: Span::disabled(),
                otel_context: OtelSpanContext::empty_context(),
            };
        }
        let parent = Self::parent(parent_cx);
        let mut span = self.tracer.start_with_parent(builder.name, parent.as_ref());
        span.keep_unset_status();
        if let Some(start) = builder.start_time {
            span.set_start_time(start);
        }
        let ctx = span.context_ref().cloned();
        if let Some(d) = span.data_mut() {
            d.scope = Some(Arc::clone(&self.scope));
            if let Some(kind) = builder.span_kind {
                d.kind = kind;
            }
            if let Some(attributes) = builder.attributes {
                d.attributes.extend(attributes);
            }
            for e in builder.events.into_iter().flatten() {
                d.push_event(SpanEvent {
                    name: e.name,
                    timestamp: e.timestamp,
                    attributes: e.attributes,
                });
            }
            for l in builder.links.into_iter().flatten() {
                push_link(d, &l.span_context, l.attributes);
            }
        }
        let otel_context = ctx
            .as_ref()
            .map(bridge::to_otel)
            .unwrap_or_else(OtelSpanContext::empty_context);
        OtelSpan { span, otel_context }
    }
}

/// Sets an OTel-API status by the API's rule: `Ok` is final, `Unset`
/// changes nothing.
pub(crate) fn apply_status(d: &mut crate::trace::SpanData, status: Status) {
    match status {
        Status::Unset => {}
        _ if d.status == SpanStatus::Ok => {}
        Status::Ok => d.status = SpanStatus::Ok,
        Status::Error { description } => d.status = SpanStatus::error(description),
    }
}

pub(crate) fn push_link(
    d: &mut crate::trace::SpanData,
    sc: &OtelSpanContext,
    attributes: Vec<KeyValue>,
) {
    if let Some(context) = bridge::from_otel(sc)
        && d.links.len() < crate::trace::MAX_EVENTS_PER_SPAN
    {
        d.links.push(SpanLink {
            context,
            attributes,
        });
    }
}

/// A span started through the OpenTelemetry API: an fcc [`Span`] behind the
/// OTel `Span` trait. It ends when [`end`](opentelemetry::trace::Span::end)
/// is called or it is dropped (so a span that is never ended still ends, and
/// is exported, when its last context goes away).
#[derive(Debug)]
pub struct OtelSpan {
    span: Span,
    otel_context: OtelSpanContext,
}

impl opentelemetry::trace::Span for OtelSpan {
    fn add_event_with_timestamp<T>(
        &mut self,
        name: T,
        timestamp: SystemTime,
        attributes: Vec<KeyValue>,
    ) where
        T: Into<Cow<'static, str>>,
    {
        if let Some(d) = self.span.data_mut() {
            d.push_event(SpanEvent {
                name: name.into(),
                timestamp,
                attributes,
            });
        }
    }

    fn span_context(&self) -> &OtelSpanContext {
        &self.otel_context
    }

    fn is_recording(&self) -> bool {
        self.span.is_recording()
    }

    fn set_attribute(&mut self, attribute: KeyValue) {
        if let Some(d) = self.span.data_mut() {
            d.attributes.push(attribute);
        }
    }

    fn set_status(&mut self, status: Status) {
        if let Some(d) = self.span.data_mut() {
            apply_status(d, status);
        }
    }

    fn update_name<T>(&mut self, new_name: T)
    where
        T: Into<Cow<'static, str>>,
    {
        if let Some(d) = self.span.data_mut() {
            d.name = new_name.into();
        }
    }

    fn add_link(&mut self, span_context: OtelSpanContext, attributes: Vec<KeyValue>) {
        if let Some(d) = self.span.data_mut() {
            push_link(d, &span_context, attributes);
        }
    }

    fn end_with_timestamp(&mut self, timestamp: SystemTime) {
        std::mem::replace(&mut self.span, Span::disabled()).end_at(timestamp);
    }
}
