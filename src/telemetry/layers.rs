//! [`FccLayer`]: everything fcc hooks into a `tracing` registry, as one layer.

use tracing::span::{Attributes, Id, Record};
use tracing::Subscriber;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use crate::internal::thread::is_internal_thread;
use crate::layer::SpanLayer;
use crate::layer::{is_quiet_target, logs, FanoutLayer, EVENT_TARGET};
use crate::trace::FccTracer;

/// fcc's part of a `tracing` subscriber: `tracing` spans as fcc spans (the
/// [`SpanLayer`]), bus events into the [`EventBus`](crate::EventBus) (the
/// [`FanoutLayer`]) and plain `tracing` events as OTel log records.
///
/// [`TelemetryBuilder::layer`](super::TelemetryBuilder::layer) returns one to
/// add to a registry you build, beside your own `fmt`, `EnvFilter` and other
/// layers; [`TelemetryBuilder::install`](super::TelemetryBuilder::install)
/// builds a registry with it for you. Add it once: each span is then
/// exported once.
pub struct FccLayer {
    pub(crate) spans: SpanLayer,
    pub(crate) fanout: FanoutLayer,
    pub(crate) logs: Option<PlainLogs>,
}

impl std::fmt::Debug for FccLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FccLayer")
            .field(
                "otel_logs",
                &self.logs.as_ref().map(|l| l.filter.to_string()),
            )
            .finish_non_exhaustive()
    }
}

/// Plain `tracing` events to OTel log records.
pub(crate) struct PlainLogs {
    pub(crate) tracer: FccTracer,
    pub(crate) filter: Targets,
    pub(crate) span_events: bool,
}

impl PlainLogs {
    fn on_event(&self, event: &tracing::Event<'_>) {
        let meta = event.metadata();
        if meta.target() == EVENT_TARGET
            || meta.fields().field("event_type").is_some()
            || !self.filter.would_enable(meta.target(), meta.level())
            || is_quiet_target(meta.target())
            || is_internal_thread()
        {
            return;
        }
        let Some(pipeline) = self.tracer.pipeline() else {
            return;
        };
        let record = logs::record(event);
        let join = self.span_events && record.span.is_some_and(|(_, _, sampled)| sampled);
        pipeline.send_log(record, join);
    }
}

impl<S> Layer<S> for FccLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        self.spans.on_new_span(attrs, id, ctx);
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        self.spans.on_record(id, values, ctx);
    }
    fn on_follows_from(&self, span: &Id, follows: &Id, ctx: Context<'_, S>) {
        self.spans.on_follows_from(span, follows, ctx);
    }
    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        self.spans.on_enter(id, ctx);
    }
    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        self.spans.on_exit(id, ctx);
    }
    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        self.spans.on_close(id, ctx);
    }
    // SAFETY: `tracing-subscriber`'s contract for this method: return a
    // pointer to a value of exactly the type `id` names. `Self` for its own
    // TypeId, the `SpanLayer` field for `SpanLayer`'s (for
    // `OpenTelemetrySpanExt`); both live as long as `self`.
    unsafe fn downcast_raw(&self, id: std::any::TypeId) -> Option<*const ()> {
        if id == std::any::TypeId::of::<Self>() {
            Some(self as *const Self as *const ())
        } else if id == std::any::TypeId::of::<SpanLayer>() {
            Some(&self.spans as *const SpanLayer as *const ())
        } else {
            None
        }
    }
    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        self.fanout.on_event(event, ctx);
        if let Some(l) = &self.logs {
            l.on_event(event);
        }
    }
}
