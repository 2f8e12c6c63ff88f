//! [`FccTracer`]: starts spans, keeps the completed ones, and hands ended
//! spans to its span pipeline (`SpanPipeline`, the contract `export`
//! implements; `trace` knows no exporter).

use std::any::Any;
use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwapOption;

use super::context::{current, new_root_ids, new_span_id};
use super::{Sampler, Span, SpanContext, SpanData, SpanGuard};

/// The completed-spans buffer of a standalone tracer: 10,000 spans.
pub const DEFAULT_COMPLETED_CAPACITY: usize = 10_000;

#[derive(Default)]
pub(crate) struct Completed {
    spans: VecDeque<SpanData>,
    capacity: usize,
    dropped: u64,
}

impl Completed {
    pub(crate) fn push(&mut self, span: SpanData) {
        if self.capacity == 0 {
            return;
        }
        if self.spans.len() == self.capacity {
            self.spans.pop_front();
            self.dropped += 1;
        }
        self.spans.push_back(span);
    }
}

pub(crate) struct TracerInner {
    service_name: Cow<'static, str>,
    pub(crate) sampler: Sampler,
    pub(crate) completed: Arc<Mutex<Completed>>,
    keep_completed: bool,
    pub(crate) pipeline: Option<Box<dyn SpanPipeline>>,
    /// The pipeline's hand-over, which local spans reach without a call
    /// through `pipeline`.
    pub(crate) handoff: Option<Arc<super::handover::Handoff>>,
    /// Set when the installed Telemetry that owns this tracer shut down.
    pub(crate) shut_down: std::sync::atomic::AtomicBool,
}

/// Creates spans that nest automatically and collects them when they end.
///
/// A standalone tracer (`FccTracer::new`) keeps its completed spans in a
/// bounded buffer, as the seed's tracer does. Built with exporters
/// ([`FccTracer::builder`]), it hands finished spans to a background thread
/// that batches them to every exporter (console, JSON file, OTLP, your own);
/// the thread that ends a span only moves a pointer into a queue.
///
/// ```
/// use fcc::trace::FccTracer;
///
/// let tracer = FccTracer::new("my-app");
/// {
///     let mut ctx = tracer.span("simulation.run");
///     ctx.set_attribute("scenario_id", "SC-001");
///     {
///         let mut step = tracer.span_with("simulation.step", [fcc::trace::KeyValue::new("node_id", "N1")]);
///         step.set_attribute("persona_id", "SQC");
///     }
/// }
/// let spans = tracer.completed_spans();
/// assert_eq!(spans[0].name, "simulation.step");
/// assert_eq!(spans[0].parent_span_id, Some(spans[1].span_id));
/// assert_eq!(spans[0].trace_id, spans[1].trace_id);
/// ```
///
/// # `otel_available`
///
/// The seed's tracer reports whether the OTel SDK is installed. In fcc the
/// OTel data model is always the engine: spans carry W3C ids and export as
/// OTel spans, so [`FccTracer::otel_available`] is always `true`; whether they
/// leave the process over OTLP depends on the `otlp` feature and the
/// endpoint ([`FccTracer::otlp_enabled`]).
#[derive(Clone)]
pub struct FccTracer {
    pub(crate) inner: Arc<TracerInner>,
}

impl fmt::Debug for FccTracer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FccTracer")
            .field("service_name", &self.inner.service_name)
            .field("sampler", &self.inner.sampler)
            .field("exporting", &self.inner.pipeline.is_some())
            .finish()
    }
}

/// Where a tracer with exporters hands its ended spans: the export
/// pipeline. `trace` defines the span data and this contract; `export`,
/// which sits above it, implements it ([`crate::export`]'s pipeline) and
/// plugs it in when a tracer is built with exporters.
pub(crate) trait SpanPipeline: Send + Sync + 'static {
    /// Takes an ended span out of `span`, leaving it blank
    /// ([`SpanData::blank`]) but for its attribute list's capacity, which
    /// stays for the thread's next span; `times` are its clock readings
    /// when its data does not have them yet. Never blocks.
    fn send_span(&self, span: &mut SpanData, times: Option<super::span::Times>);
    /// Where this thread's local spans go as compact records
    /// ([`super::handover`]), read once when the tracer is put together.
    fn handoff(&self) -> Arc<super::handover::Handoff>;
    /// Waits, at most `timeout`, until every span ended so far has reached
    /// the completed-spans buffer and the exporters.
    fn catch_up(&self, timeout: Duration);
    /// The pipeline itself, for `export` to reach its own type.
    fn as_any(&self) -> &dyn Any;
}

impl FccTracer {
    /// A standalone tracer that keeps up to [`DEFAULT_COMPLETED_CAPACITY`]
    /// completed spans and exports nothing.
    pub fn new(service_name: impl Into<Cow<'static, str>>) -> FccTracer {
        let built = FccTracer::assemble(
            service_name.into(),
            Sampler::default(),
            DEFAULT_COMPLETED_CAPACITY,
            |_| Ok::<_, std::convert::Infallible>(None),
        );
        match built {
            Ok(tracer) => tracer,
            Err(never) => match never {},
        }
    }

    /// Puts a tracer together; `pipeline` is given the completed-spans
    /// buffer (when one is kept) and returns the export pipeline, if any.
    /// [`FccTracer::builder`] (in `export`) calls it.
    pub(crate) fn assemble<E>(
        service_name: Cow<'static, str>,
        sampler: Sampler,
        completed_capacity: usize,
        pipeline: impl FnOnce(Option<Arc<Mutex<Completed>>>) -> Result<Option<Box<dyn SpanPipeline>>, E>,
    ) -> Result<FccTracer, E> {
        let completed = Arc::new(Mutex::new(Completed {
            spans: VecDeque::new(),
            capacity: completed_capacity,
            dropped: 0,
        }));
        let keep_completed = completed_capacity > 0;
        let pipeline = pipeline(keep_completed.then(|| Arc::clone(&completed)))?;
        let handoff = pipeline.as_ref().map(|p| p.handoff());
        Ok(FccTracer {
            inner: Arc::new(TracerInner {
                service_name,
                sampler,
                completed,
                keep_completed,
                pipeline,
                handoff,
                shut_down: std::sync::atomic::AtomicBool::new(false),
            }),
        })
    }

    /// The export pipeline this tracer hands its spans to, if it has one.
    pub(crate) fn span_pipeline(&self) -> Option<&dyn SpanPipeline> {
        self.inner.pipeline.as_deref()
    }

    /// The service this tracer reports as (`service.name`).
    pub fn service_name(&self) -> &str {
        &self.inner.service_name
    }

    /// Always `true`: see the type's docs.
    pub fn otel_available(&self) -> bool {
        true
    }

    /// Starts a span, child of the current one, and makes it current until
    /// the guard drops (the seed's `with tracer.span(name) as ctx`).
    pub fn span(&self, name: impl Into<Cow<'static, str>>) -> SpanGuard {
        self.span_at(name.into(), None)
    }

    /// [`span`](Self::span) with a `#[traced]` function's code location.
    #[inline]
    pub(crate) fn span_at(
        &self,
        name: Cow<'static, str>,
        code: Option<&'static super::__private::CodeLocation>,
    ) -> SpanGuard {
        let mut name = Some(name);
        match super::local::start(&self.inner, &mut name, code, false) {
            Some(started) => SpanGuard::local(&started),
            None => self.span_boxed(name.unwrap_or_default(), code),
        }
    }

    /// The span of [`span`](Self::span), boxed and entered: while the
    /// OpenTelemetry bridge is on (the OTel context may hold the parent,
    /// and the span is mirrored there), or with the stack out of reach.
    #[cold]
    pub(crate) fn span_boxed(
        &self,
        name: Cow<'static, str>,
        code: Option<&'static super::__private::CodeLocation>,
    ) -> SpanGuard {
        let (mut span, entered) =
            super::context::start_entered(|parent| self.start_with_parent(name, parent));
        if let Some(d) = span.data_mut() {
            d.code = code;
        }
        SpanGuard::new(span, entered)
    }

    /// Like [`span`](Self::span) with initial attributes.
    pub fn span_with(
        &self,
        name: impl Into<Cow<'static, str>>,
        attributes: impl super::Attributes,
    ) -> SpanGuard {
        let mut guard = self.span(name);
        guard.set_attributes(attributes);
        guard
    }

    /// Starts a span, child of the current one, without entering it: for
    /// futures ([`FutureExt::in_span`](super::FutureExt::in_span)) and spans
    /// that end on another thread.
    pub fn start(&self, name: impl Into<Cow<'static, str>>) -> Span {
        self.start_with_parent(name, current().as_ref())
    }

    /// Starts a span with an explicit parent (`None`: a new trace).
    pub fn start_with_parent(
        &self,
        name: impl Into<Cow<'static, str>>,
        parent: Option<&SpanContext>,
    ) -> Span {
        let (trace_id, span_id) = match parent {
            None => new_root_ids(),
            Some(p) => (p.trace_id, new_span_id()),
        };
        let sampled = self.inner.sampler.should_sample(parent, trace_id);
        let ctx = SpanContext {
            trace_id,
            span_id,
            sampled,
            remote: false,
            trace_state: parent.and_then(|p| p.trace_state.clone()),
        };
        let data = sampled.then(|| {
            // Times are filled in from the span clock when the span ends.
            // A box this thread ended its last span in, at SpanData::new's defaults.
            let mut d = super::span::spare_box();
            d.span_id = ctx.span_id;
            d.trace_id = trace_id;
            d.name = name.into();
            d.parent_span_id = parent.map(|p| p.span_id);
            d.parent_is_remote = parent.is_some_and(|p| p.remote);
            d
        });
        Span::started(ctx, data, Arc::clone(&self.inner))
    }

    /// The completed spans, oldest first (waits for the export thread to
    /// catch up first, at most 5 s).
    pub fn completed_spans(&self) -> Vec<SpanData> {
        if let Some(p) = &self.inner.pipeline {
            p.catch_up(Duration::from_secs(5));
        }
        match self.inner.completed.lock() {
            Ok(c) => c.spans.iter().cloned().collect(),
            Err(poisoned) => poisoned.into_inner().spans.iter().cloned().collect(),
        }
    }

    /// How many completed spans the bounded buffer has let go.
    pub fn dropped_spans(&self) -> u64 {
        self.inner.completed.lock().map_or(0, |c| c.dropped)
    }

    /// Empties the completed-spans buffer.
    pub fn clear_completed(&self) {
        if let Ok(mut c) = self.inner.completed.lock() {
            c.spans.clear();
        }
    }
}

impl TracerInner {
    /// Takes an ended span; `times` are its start and end clock readings
    /// when its data does not have them yet. Either way `span` is left
    /// blank for the thread's next span.
    #[inline]
    pub(crate) fn finish(&self, span: &mut SpanData, times: Option<super::span::Times>) {
        if self.shut_down.load(std::sync::atomic::Ordering::Relaxed) {
            crate::internal::after_shutdown::warn();
        }
        self.finish_data(span, times);
    }

    /// Takes an ended local span that did not travel as a compact record
    /// ([`super::local`]), its times still to fill from `times`.
    pub(crate) fn finish_box(&self, mut data: Box<SpanData>, times: super::span::Times) {
        self.finish_data(&mut data, Some(times));
        super::span::keep_box(data);
    }

    #[inline(always)]
    fn finish_data(&self, span: &mut SpanData, times: Option<super::span::Times>) {
        match &self.pipeline {
            Some(p) => p.send_span(span, times),
            None if self.keep_completed => {
                let span = span.take_finished(times);
                if let Ok(mut c) = self.completed.lock() {
                    c.push(span);
                }
            }
            None => {
                // Nothing keeps it: empty the box, keeping its list's room.
                let list = std::mem::take(&mut span.attributes);
                *span = SpanData::blank_with_list(list);
            }
        }
    }
}

static GLOBAL: ArcSwapOption<TracerInner> = ArcSwapOption::const_empty();
static GLOBAL_SET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Installs `tracer` as the one `#[traced]` functions and the
/// [`SpanLayer`](crate::layer::SpanLayer) use by default (`None` removes it).
/// [`Telemetry::install`](crate::Telemetry) does this for you.
pub fn set_global(tracer: Option<FccTracer>) {
    // One change at a time, so the flag and the tracer always agree when
    // set_global returns, whoever else calls it; the tracer is stored before
    // the flag goes up and after it goes down, so a span start that sees the
    // flag up finds a tracer (or, racing a removal, none: a disabled span).
    static CHANGING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = CHANGING.lock().unwrap_or_else(|p| p.into_inner());
    match tracer {
        Some(t) => {
            GLOBAL.store(Some(t.inner));
            GLOBAL_SET.store(true, std::sync::atomic::Ordering::Release);
        }
        None => {
            GLOBAL_SET.store(false, std::sync::atomic::Ordering::Release);
            GLOBAL.store(None);
        }
    }
}

/// The globally installed tracer, if any.
pub fn global() -> Option<FccTracer> {
    if !GLOBAL_SET.load(std::sync::atomic::Ordering::Relaxed) {
        return None;
    }
    GLOBAL.load_full().map(|inner| FccTracer { inner })
}

/// The fast check `#[traced]` makes: one relaxed load when nothing is installed.
#[inline(always)]
pub(crate) fn global_is_set() -> bool {
    GLOBAL_SET.load(std::sync::atomic::Ordering::Relaxed)
}

#[cfg(test)]
mod global_tests {
    use super::*;
    use std::sync::atomic::Ordering;

    /// Many thousand interleavings of set_global(Some) and set_global(None)
    /// from two threads, with spans starting on a third: no panic, and at
    /// every quiet point the flag and the tracer agree.
    #[test]
    fn set_global_and_span_starts_race_safely() {
        let tracer = FccTracer::new("race");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s = stop.clone();
        let starter = std::thread::spawn(move || {
            let mut spans = 0u64;
            while !s.load(Ordering::Relaxed) {
                static CODE: crate::trace::__private::CodeLocation =
                    crate::trace::__private::CodeLocation {
                        function: "race",
                        file: file!(),
                    };
                let span = crate::trace::__private::start_global("race.span", &CODE, |_| {});
                spans += u64::from(span.is_recording());
            }
            spans
        });
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        for _ in 0..20_000 {
            let (b, t) = (barrier.clone(), tracer.clone());
            let setter = std::thread::spawn(move || {
                b.wait();
                set_global(Some(t));
            });
            barrier.wait();
            set_global(None);
            setter.join().unwrap();
            assert_eq!(
                GLOBAL_SET.load(Ordering::Acquire),
                GLOBAL.load().is_some(),
                "the flag and the tracer disagree"
            );
        }
        set_global(None);
        stop.store(true, Ordering::Relaxed);
        starter.join().unwrap();
    }
}
