//! [`Span`] (owned, may move between threads) and [`SpanGuard`] (entered on
//! this thread, the seed's `ctx`).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::sync::Arc;

use super::context::ContextGuard;
use super::tracer::TracerInner;
use super::{Key, KeyValue, SpanContext, SpanData, SpanEvent, SpanStatus, Value};
use crate::SpanId;

/// A started span. It ends, and goes to its tracer, when dropped or
/// [`end`](Span::end)ed. A `Span` from a disabled or unsampled start records
/// nothing and costs nothing; its methods are no-ops.
pub struct Span {
    // Dropped by hand (`Drop` below always leaves it `None`): a disabled
    // span then costs one compare when it drops, with no drop-glue call.
    inner: ManuallyDrop<Option<Inner>>,
}

struct Inner {
    ctx: SpanContext,
    data: Option<Box<SpanData>>,
    tracer: Arc<TracerInner>,
    unset_means_ok: bool,
    /// A start or end time was given by the caller (OTel API, `end_at`).
    given_times: bool,
    start: fastant::Instant,
}

/// A span's start and end readings of the span [`clock`].
pub(crate) type Times = (fastant::Instant, fastant::Instant);

/// The span clock: the CPU's time-stamp counter where it is reliable (a few
/// nanoseconds a read, against 25 ns for the system clock on these VMs),
/// anchored once to the wall clock.
pub(crate) mod clock {
    use std::sync::OnceLock;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    #[inline]
    pub(crate) fn now() -> fastant::Instant {
        fastant::Instant::now()
    }

    pub(crate) fn to_system_time(t: fastant::Instant) -> SystemTime {
        static ANCHOR: OnceLock<fastant::Anchor> = OnceLock::new();
        UNIX_EPOCH + Duration::from_nanos(t.as_unix_nanos(ANCHOR.get_or_init(fastant::Anchor::new)))
    }

    pub(crate) fn system_now() -> SystemTime {
        to_system_time(now())
    }

    /// Sets a span's start and end times from its clock readings, if given.
    #[inline]
    pub(crate) fn fill_times(data: &mut crate::trace::SpanData, times: Option<super::Times>) {
        if let Some((start, end)) = times {
            data.start_time = to_system_time(start);
            data.end_time = to_system_time(end);
        }
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.inner {
            Some(i) => f
                .debug_struct("Span")
                .field("name", &i.data.as_ref().map(|d| &d.name))
                .field("context", &i.ctx)
                .finish(),
            None => f.write_str("Span(disabled)"),
        }
    }
}

impl Span {
    pub(crate) fn started(
        ctx: SpanContext,
        data: Option<Box<SpanData>>,
        tracer: Arc<TracerInner>,
    ) -> Span {
        Span {
            inner: ManuallyDrop::new(Some(Inner {
                ctx,
                data,
                tracer,
                unset_means_ok: true,
                given_times: false,
                start: clock::now(),
            })),
        }
    }

    /// A span that records nothing (what `#[traced]` uses with no tracer).
    #[inline]
    pub const fn disabled() -> Span {
        Span {
            inner: ManuallyDrop::new(None),
        }
    }

    /// Leaves the status `Unset` at the end instead of `Ok` (the OTel
    /// convention, used for `tracing` spans).
    pub(crate) fn keep_unset_status(&mut self) {
        if let Some(i) = &mut *self.inner {
            i.unset_means_ok = false;
        }
    }

    /// Gives a span that has not been entered yet another parent (`None`: a
    /// new trace): new trace id, parent and sampling decision; the span id,
    /// name, start and whatever was recorded stay. A span that was not
    /// sampled and now is starts recording from here, named `name`.
    pub(crate) fn reparent(&mut self, parent: Option<&SpanContext>, name: Cow<'static, str>) {
        let Some(i) = &mut *self.inner else { return };
        let trace_id = parent.map_or_else(super::context::new_trace_id, |p| p.trace_id);
        let sampled = i.tracer.sampler.should_sample(parent, trace_id);
        i.ctx.trace_id = trace_id;
        i.ctx.sampled = sampled;
        i.ctx.trace_state = parent.and_then(|p| p.trace_state.clone());
        i.data = match (sampled, i.data.take()) {
            (false, _) => None,
            (true, data) => {
                let mut d = data.unwrap_or_else(|| {
                    let mut d = spare::take();
                    d.span_id = i.ctx.span_id;
                    d.name = name;
                    d
                });
                d.trace_id = trace_id;
                d.parent_span_id = parent.map(|p| p.span_id);
                d.parent_is_remote = parent.is_some_and(|p| p.remote);
                Some(d)
            }
        };
    }

    /// The span's ids, `None` when disabled.
    pub fn context(&self) -> Option<SpanContext> {
        self.inner.as_ref().map(|i| i.ctx.clone())
    }

    pub(crate) fn context_ref(&self) -> Option<&SpanContext> {
        self.inner.as_ref().map(|i| &i.ctx)
    }

    /// True when the span is sampled and will be exported.
    pub fn is_recording(&self) -> bool {
        self.data().is_some()
    }

    fn data(&self) -> Option<&SpanData> {
        self.inner.as_ref().and_then(|i| i.data.as_deref())
    }

    pub(crate) fn data_mut(&mut self) -> Option<&mut SpanData> {
        self.inner.as_mut().and_then(|i| i.data.as_deref_mut())
    }

    /// Sets (or adds) an attribute.
    pub fn set_attribute(&mut self, key: impl Into<Key>, value: impl Into<Value>) {
        if let Some(d) = self.data_mut() {
            d.attributes.push(KeyValue::new(key, value));
        }
    }

    /// Adds several attributes.
    pub fn set_attributes(&mut self, attributes: impl super::Attributes) {
        if let Some(d) = self.data_mut() {
            attributes.push_into(&mut d.attributes);
        }
    }

    /// Sets how the span ended.
    pub fn set_status(&mut self, status: SpanStatus) {
        if let Some(d) = self.data_mut() {
            d.status = status;
        }
    }

    /// Marks the span failed with `error`: error status and an `exception`
    /// event with `exception.type` (the Rust type name) and `exception.message`.
    pub fn record_error<E: fmt::Display + ?Sized>(&mut self, error: &E) {
        if let Some(d) = self.data_mut() {
            let (event, status) = error_event(error);
            d.push_event(event);
            d.status = status;
        }
    }

    /// Adds an event with attributes.
    pub fn add_event(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        attributes: impl IntoIterator<Item = KeyValue>,
    ) {
        if let Some(d) = self.data_mut() {
            d.push_event(SpanEvent {
                name: name.into(),
                timestamp: clock::system_now(),
                attributes: attributes.into_iter().collect(),
            });
        }
    }

    /// Makes this span current on this thread until the guard drops.
    #[inline]
    pub fn enter(&self) -> ContextGuard {
        match &*self.inner {
            Some(i) => ContextGuard::enter(i.ctx.clone()),
            None => ContextGuard::enter_nothing(),
        }
    }

    /// Enters the span and keeps it entered for the guard's life.
    pub fn entered(self) -> SpanGuard {
        let entered = self.enter();
        SpanGuard::new(self, entered)
    }

    /// Ends the span now.
    pub fn end(self) {
        drop(self)
    }

    /// Ends the span with the given end time.
    pub fn end_at(mut self, end: std::time::SystemTime) {
        if let Some(i) = &mut *self.inner {
            i.given_times = true;
            if let Some(d) = i.data.as_deref_mut() {
                d.end_time = end;
            }
        }
        drop(self)
    }

    /// Sets the start time (the OTel API's `with_start_time`).
    pub(crate) fn set_start_time(&mut self, start: std::time::SystemTime) {
        if let Some(i) = &mut *self.inner {
            i.given_times = true;
            if let Some(d) = i.data.as_deref_mut() {
                d.start_time = start;
            }
        }
    }
}

impl Drop for Span {
    #[inline]
    fn drop(&mut self) {
        if self.inner.is_some() {
            self.end_now();
        }
    }
}

/// Span boxes kept on the thread that last ended a span in them, so the
/// next span there writes into memory already in this core's cache (a box
/// recycled through the export thread came back cold: its first stores
/// were a third of a span's cost). At most [`SPARE_BOXES`] a thread, as
/// many as spans open at once.
mod spare {
    use std::cell::RefCell;

    use crate::trace::SpanData;

    pub(super) const SPARE_BOXES: usize = 16;

    thread_local! {
        // Boxes, not values: a span holds its data in a box, and the box
        // itself is what is kept warm and handed out again.
        #[allow(clippy::vec_box)]
        static SPARE: RefCell<Vec<Box<SpanData>>> = const { RefCell::new(Vec::new()) };
    }

    /// A blank box: this thread's last one, else a new one.
    #[inline]
    pub(crate) fn take() -> Box<SpanData> {
        SPARE
            .try_with(|s| s.try_borrow_mut().ok().and_then(|mut s| s.pop()))
            .ok()
            .flatten()
            .unwrap_or_else(|| Box::new(SpanData::blank()))
    }

    /// Keeps a blank box (its attribute list emptied, capacity kept) for
    /// this thread's next span.
    #[inline]
    pub(crate) fn keep(b: Box<SpanData>) {
        let _ = SPARE.try_with(|s| {
            if let Ok(mut s) = s.try_borrow_mut()
                && s.len() < SPARE_BOXES
            {
                s.push(b);
            }
        });
    }
}

pub(crate) use spare::{keep as keep_box, take as spare_box};

impl Span {
    fn end_now(&mut self) {
        if let Some(Inner {
            data: Some(mut data),
            tracer,
            unset_means_ok,
            given_times,
            start,
            ..
        }) = self.inner.take()
        {
            let end = clock::now();
            if unset_means_ok && data.status == SpanStatus::Unset {
                data.status = SpanStatus::Ok;
            }
            if given_times {
                // A start or end time given by the caller (OTel API) is kept.
                if data.start_time == std::time::UNIX_EPOCH {
                    data.start_time = clock::to_system_time(start);
                }
                if data.end_time == std::time::UNIX_EPOCH {
                    data.end_time = clock::to_system_time(end);
                }
                tracer.finish(&mut data, None);
            } else {
                // Clock readings become wall-clock times where the span is
                // exported, off this thread.
                tracer.finish(&mut data, Some((start, end)));
            }
            spare::keep(data);
        }
    }
}

/// A span entered on this thread: the seed's `with tracer.span(...) as ctx`.
/// It ends, and is left, when dropped. It is not `Send`: across `.await`,
/// use [`FutureExt::in_span`](super::FutureExt::in_span); for a span that
/// ends on another thread, [`FccTracer::start`](super::FccTracer::start).
///
/// ```
/// let tracer = fcc::trace::FccTracer::new("doc");
/// {
///     let mut step = tracer.span("simulation.step");
///     step.set_attribute("node_id", "N1");
///     assert!(step.is_recording());
/// }
/// assert_eq!(tracer.completed_spans()[0].name, "simulation.step");
/// ```
#[must_use = "the span ends as soon as the guard is dropped"]
pub struct SpanGuard {
    state: GuardState,
    // Entered on this thread: the guard must be dropped where it was made.
    _not_send: PhantomData<*const ()>,
}

enum GuardState {
    Disabled,
    /// The span lives in its frame of this thread's stack
    /// ([`super::local`]), with what keeps its tracer alive (not
    /// `recording`: not sampled, only the frame).
    Local {
        recording: bool,
        span_id: SpanId,
    },
    /// A boxed span made current: started while the OpenTelemetry bridge
    /// was on, or with the stack out of reach. Declared first: the context
    /// is left before the span ends.
    Entered {
        _entered: ContextGuard,
        span: Span,
    },
}

impl SpanGuard {
    /// `span`, entered by `entered`.
    #[inline]
    pub(crate) fn new(span: Span, entered: ContextGuard) -> SpanGuard {
        SpanGuard {
            state: GuardState::Entered {
                _entered: entered,
                span,
            },
            _not_send: PhantomData,
        }
    }

    /// A local span just started ([`super::local::start`]).
    #[inline]
    pub(crate) fn local(started: &super::local::Started) -> SpanGuard {
        SpanGuard {
            state: GuardState::Local {
                recording: started.recording,
                span_id: started.span_id,
            },
            _not_send: PhantomData,
        }
    }

    /// A guard of a disabled span, entered nowhere.
    #[inline]
    pub(crate) const fn disabled() -> SpanGuard {
        SpanGuard {
            state: GuardState::Disabled,
            _not_send: PhantomData,
        }
    }

    /// The span's ids, `None` when disabled.
    pub fn context(&self) -> Option<SpanContext> {
        match &self.state {
            GuardState::Disabled => None,
            GuardState::Local { span_id, .. } => super::local::context(*span_id),
            GuardState::Entered { span, .. } => span.context(),
        }
    }

    /// True when the span is sampled and will be exported.
    pub fn is_recording(&self) -> bool {
        match &self.state {
            GuardState::Disabled => false,
            GuardState::Local { recording, .. } => *recording,
            GuardState::Entered { span, .. } => span.is_recording(),
        }
    }

    /// The id of a recording local span.
    #[inline(always)]
    fn local_id(&self) -> Option<SpanId> {
        match &self.state {
            GuardState::Local {
                recording: true,
                span_id,
            } => Some(*span_id),
            _ => None,
        }
    }

    fn boxed(&mut self) -> Option<&mut Span> {
        match &mut self.state {
            GuardState::Entered { span, .. } => Some(span),
            _ => None,
        }
    }

    /// Sets (or adds) an attribute.
    #[inline]
    pub fn set_attribute(&mut self, key: impl Into<Key>, value: impl Into<Value>) {
        if let Some(id) = self.local_id() {
            super::local::add_attribute(id, KeyValue::new(key, value));
        } else if let Some(span) = self.boxed() {
            span.set_attribute(key, value);
        }
    }

    /// Adds several attributes.
    pub fn set_attributes(&mut self, attributes: impl super::Attributes) {
        if let Some(id) = self.local_id() {
            // The list is filled outside the visit to the stack: an
            // iterator is the user's code.
            let mut list = super::local::spare_list();
            attributes.push_into(&mut list);
            super::local::give_list(id, list);
        } else if let Some(span) = self.boxed() {
            span.set_attributes(attributes);
        }
    }

    /// Lets `fill` push attributes onto a boxed span's list (the fallback
    /// of a `#[traced]` start).
    pub(crate) fn set_attributes_with(&mut self, fill: impl FnOnce(&mut Vec<KeyValue>)) {
        if let Some(d) = self.boxed().and_then(Span::data_mut) {
            fill(&mut d.attributes);
        }
    }

    /// Sets how the span ended (spans of an [`FccTracer`](super::FccTracer)
    /// end `Ok` unless set otherwise).
    pub fn set_status(&mut self, status: SpanStatus) {
        if let Some(id) = self.local_id() {
            if super::local::has_rich(id) || matches!(status, SpanStatus::Error { .. }) {
                super::local::with_rich(id, |d| d.status = status);
            }
        } else if let Some(span) = self.boxed() {
            span.set_status(status);
        }
    }

    /// Marks the span failed with `error`: error status and an `exception`
    /// event with `exception.type` (the Rust type name) and `exception.message`.
    pub fn record_error<E: fmt::Display + ?Sized>(&mut self, error: &E) {
        if let Some(id) = self.local_id() {
            let (event, status) = error_event(error);
            super::local::with_rich(id, |d| {
                d.push_event(event);
                d.status = status;
            });
        } else if let Some(span) = self.boxed() {
            span.record_error(error);
        }
    }

    /// Adds an event with attributes.
    pub fn add_event(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        attributes: impl IntoIterator<Item = KeyValue>,
    ) {
        if let Some(id) = self.local_id() {
            let event = SpanEvent {
                name: name.into(),
                timestamp: clock::system_now(),
                attributes: attributes.into_iter().collect(),
            };
            super::local::with_rich(id, |d| d.push_event(event));
        } else if let Some(span) = self.boxed() {
            span.add_event(name, attributes);
        }
    }
}

/// The `exception` event and error status of `error`.
fn error_event<E: fmt::Display + ?Sized>(error: &E) -> (SpanEvent, SpanStatus) {
    let message = error.to_string();
    let event = SpanEvent {
        name: Cow::Borrowed("exception"),
        timestamp: clock::system_now(),
        attributes: vec![
            KeyValue::new("exception.type", std::any::type_name::<E>()),
            KeyValue::new("exception.message", message.clone()),
        ],
    };
    (event, SpanStatus::error(message))
}

impl Drop for SpanGuard {
    #[inline]
    fn drop(&mut self) {
        match &self.state {
            GuardState::Local {
                recording: true,
                span_id,
            } => super::local::end(*span_id),
            GuardState::Local {
                recording: false,
                span_id,
            } => super::context::pop(*span_id),
            // The boxed span leaves, then ends, as its fields drop.
            GuardState::Entered { .. } | GuardState::Disabled => {}
        }
    }
}

impl fmt::Debug for SpanGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            GuardState::Disabled => f.write_str("SpanGuard(disabled)"),
            GuardState::Local { span_id, .. } => f
                .debug_struct("SpanGuard")
                .field("context", &super::local::context(*span_id))
                .finish(),
            GuardState::Entered { span, .. } => fmt::Debug::fmt(span, f),
        }
    }
}
