//! The active span of this thread: a small stack of [`SpanContext`]s.
//!
//! Every span source pushes onto the same stack while its span is entered:
//! [`SpanGuard`](super::SpanGuard)s from [`FccTracer`](super::FccTracer),
//! `#[traced]` functions, and `tracing` spans through the
//! [`SpanLayer`](crate::layer::SpanLayer). That is what makes one trace tree out of all
//! three, and what events read when they capture `trace_id`/`span_id`.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::sync::Arc;

use super::otel_context as bridge;
use crate::internal::ids::{random_nonzero_u128, random_nonzero_u64, random_root_ids};
use crate::{SpanId, TraceId};

/// The identity of a span as it travels: ids, the sampled flag, whether it came
/// from another process, and the W3C `tracestate` to pass on.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpanContext {
    /// The trace this span belongs to.
    pub trace_id: TraceId,
    /// The span itself.
    pub span_id: SpanId,
    /// Whether the span is recorded and exported (W3C `sampled` flag).
    pub sampled: bool,
    /// True when the context was extracted from another process.
    pub remote: bool,
    /// The W3C `tracestate` header, passed on unchanged.
    pub trace_state: Option<Arc<str>>,
}

impl SpanContext {
    /// A context with the given ids, sampled, local, no trace state.
    pub fn new(trace_id: TraceId, span_id: SpanId) -> SpanContext {
        SpanContext {
            trace_id,
            span_id,
            sampled: true,
            remote: false,
            trace_state: None,
        }
    }
}

#[inline]
pub(crate) fn new_trace_id() -> TraceId {
    TraceId::new(random_nonzero_u128()).unwrap_or_else(|| TraceId::new(1).expect("1 is non-zero"))
}

#[inline]
pub(crate) fn new_span_id() -> SpanId {
    SpanId::new(random_nonzero_u64()).unwrap_or_else(|| SpanId::new(1).expect("1 is non-zero"))
}

/// A root span's trace id and span id, drawn together.
#[inline]
pub(crate) fn new_root_ids() -> (TraceId, SpanId) {
    let (trace, span) = random_root_ids();
    (
        TraceId::new(trace).unwrap_or_else(|| TraceId::new(1).expect("1 is non-zero")),
        SpanId::new(span).unwrap_or_else(|| SpanId::new(1).expect("1 is non-zero")),
    )
}

/// One entry of the stack: a context made current, and, for a span
/// entered on this thread by a [`SpanGuard`](super::SpanGuard), what the
/// span has recorded so far ([`super::local`]).
pub(crate) struct Frame {
    pub(crate) ctx: SpanContext,
    /// A local span whose record is kept in its frame.
    pub(crate) open: Option<super::local::Open>,
    /// A local span whose record is already in its ring, not yet
    /// published ([`super::local`]).
    pub(crate) in_ring: Option<super::ring_record::InRing>,
}

/// This thread's stack, the emptied attribute lists of its ended local
/// spans, kept for the next ones, and its rings to the export threads
/// ([`super::handover`]), so that a span's end takes its frame off and
/// hands its record over in one visit.
pub(crate) struct Line {
    pub(crate) frames: Vec<Frame>,
    pub(crate) lists: Vec<Vec<crate::trace::KeyValue>>,
    pub(crate) rings: Vec<super::handover::LocalRing>,
    /// A span ended in a visit, to be finished right after it
    /// ([`super::local`]).
    pub(crate) parked: Option<super::local::Parked>,
}

thread_local! {
    static STACK: RefCell<Line> = const {
        RefCell::new(Line {
            frames: Vec::new(),
            lists: Vec::new(),
            rings: Vec::new(),
            parked: None,
        })
    };
}

/// Runs `f` on this thread's stack; `None` when it is out of reach (the
/// thread is exiting, or this runs inside a visit to it).
#[inline(always)]
pub(crate) fn with_line<R>(f: impl FnOnce(&mut Line) -> R) -> Option<R> {
    STACK
        .try_with(|s| s.try_borrow_mut().ok().map(|mut s| f(&mut s)))
        .ok()
        .flatten()
}

/// The innermost active span context on this thread, if any.
///
/// ```
/// let tracer = fcc::trace::FccTracer::new("doc");
/// assert!(fcc::trace::current().is_none());
/// let span = tracer.span("work");
/// assert_eq!(fcc::trace::current().unwrap().span_id, span.context().unwrap().span_id);
/// ```
pub fn current() -> Option<SpanContext> {
    if bridge::active()
        && let Some(ctx) = bridge::otel_current()
    {
        return Some(ctx);
    }
    stack_top()
}

/// The top of fcc's own stack, ignoring the OTel context.
pub(crate) fn stack_top() -> Option<SpanContext> {
    STACK
        .try_with(|s| {
            s.try_borrow()
                .ok()
                .and_then(|s| s.frames.last().map(|f| f.ctx.clone()))
        })
        .ok()
        .flatten()
}

/// Hands the event model the way to the active span's ids
/// ([`crate::event`] does not import `trace`: the arrow points this way).
#[cold]
pub(crate) fn connect_events() {
    crate::event::set_active_span_source(|| current_ids().map(|(t, s, _)| (t, s)));
}

/// The current trace and span ids, for events (no clone of the trace state).
#[inline]
pub(crate) fn current_ids() -> Option<(TraceId, SpanId, bool)> {
    if bridge::active()
        && let Some(ctx) = bridge::otel_current()
    {
        return Some((ctx.trace_id, ctx.span_id, ctx.sampled));
    }
    STACK
        .try_with(|s| {
            s.try_borrow().ok().and_then(|s| {
                s.frames
                    .last()
                    .map(|f| (f.ctx.trace_id, f.ctx.span_id, f.ctx.sampled))
            })
        })
        .ok()
        .flatten()
}

thread_local! {
    /// Whether the top of [`STACK`] is sampled: one plain load for the
    /// metrics' exemplar check on every update.
    static TOP_SAMPLED: Cell<bool> = const { Cell::new(false) };
}

/// Whether the innermost active span on this thread is sampled.
#[inline(always)]
pub(crate) fn in_sampled_span() -> bool {
    TOP_SAMPLED.try_with(Cell::get).unwrap_or(false)
}

#[inline(always)]
pub(crate) fn set_top_sampled(stack: &[Frame]) {
    let _ = TOP_SAMPLED.try_with(|t| t.set(stack.last().is_some_and(|f| f.ctx.sampled)));
}

pub(crate) fn push(ctx: SpanContext) {
    if bridge::active() {
        bridge::mirror(&ctx);
    }
    let _ = STACK.try_with(|s| push_onto(s, ctx));
}

/// [`push`], with the OTel context it is mirrored on top of (the context a
/// parent was extracted into, with its baggage).
pub(crate) fn push_in(ctx: SpanContext, otel_base: &opentelemetry::Context) {
    if bridge::active() {
        bridge::mirror_in(&ctx, Some(otel_base));
    }
    // A closure of its own: sharing push()'s would keep that one out of line.
    let _ = STACK.try_with(|s| push_onto(s, ctx));
}

#[inline(always)]
fn push_onto(stack: &RefCell<Line>, ctx: SpanContext) {
    if let Ok(mut s) = stack.try_borrow_mut() {
        push_borrowed(&mut s.frames, ctx);
    }
}

/// Pushes a frame for `ctx` (no local span of its own) onto the borrowed
/// stack (what every push does once it has it).
#[inline(always)]
pub(crate) fn push_borrowed(stack: &mut Vec<Frame>, ctx: SpanContext) {
    if stack.capacity() == 0 {
        // This thread's first span: from now on events look here.
        connect_events();
    }
    // Room first, then the frame written field by field where it stays: a
    // frame is mostly its (here empty) local span, and `push` built the
    // whole frame on the stack and copied it there with `memcpy`.
    stack.reserve(1);
    let slot = stack.spare_capacity_mut()[0].as_mut_ptr();
    // SAFETY: `slot` is the vector's first spare slot, room for one frame;
    // both fields are written before the length takes it in.
    unsafe {
        std::ptr::addr_of_mut!((*slot).ctx).write(ctx);
        std::ptr::addr_of_mut!((*slot).open).write(None);
        std::ptr::addr_of_mut!((*slot).in_ring).write(None);
        stack.set_len(stack.len() + 1);
    }
    set_top_sampled(stack);
}

/// This thread's stack, innermost last (for mirroring it into the OTel
/// context when the bridge turns on).
pub(crate) fn stack_snapshot() -> Vec<SpanContext> {
    STACK
        .try_with(|s| {
            s.try_borrow()
                .map(|s| s.frames.iter().map(|f| f.ctx.clone()).collect())
                .unwrap_or_default()
        })
        .unwrap_or_default()
}

/// Starts a span under this thread's innermost span and makes it current,
/// in one visit to the stack (what [`FccTracer::span`](super::FccTracer::span)
/// does: [`current`] then [`push`] would visit it twice). `start` is given
/// the parent. While the OTel bridge is on, its context may hold the
/// parent: then the two steps run as usual.
#[inline]
pub(crate) fn start_entered(
    start: impl FnOnce(Option<&SpanContext>) -> super::Span,
) -> (super::Span, ContextGuard) {
    let mut start = Some(start);
    if !bridge::active() {
        let done = STACK
            .try_with(|s| {
                let mut s = s.try_borrow_mut().ok()?;
                let span = (start.take()?)(s.frames.last().map(|f| &f.ctx));
                let guard = match span.context_ref() {
                    Some(ctx) => {
                        push_borrowed(&mut s.frames, ctx.clone());
                        ContextGuard {
                            span_id: Some(ctx.span_id),
                            _not_send: PhantomData,
                        }
                    }
                    None => ContextGuard::enter_nothing(),
                };
                Some((span, guard))
            })
            .ok()
            .flatten();
        if let Some(done) = done {
            return done;
        }
    }
    // The bridge is on, or the stack is out of reach (the thread is
    // exiting, or this runs inside a visit to it).
    let span = match start {
        Some(start) => start(current().as_ref()),
        None => super::Span::disabled(),
    };
    let guard = span.enter();
    (span, guard)
}

/// Removes `span_id` from the stack: the top in the normal case, or the
/// innermost match when guards were dropped out of order.
pub(crate) fn pop(span_id: SpanId) {
    // A frame of its own: not a local span's, which only its guard's end
    // takes off (a context attached with a span's own ids shares its id).
    let plain = |f: &Frame| f.ctx.span_id == span_id && f.open.is_none() && f.in_ring.is_none();
    with_line(|l| {
        let frames = &mut l.frames;
        if frames.last().is_some_and(plain) {
            drop_top(frames);
        } else if let Some(i) = frames.iter().rposition(plain) {
            // Guards dropped out of order: a plain frame owns no tracer, so
            // no frame above relies on it (see `local`).
            drop(frames.remove(i));
        }
        set_top_sampled(frames);
    });
    if bridge::active() {
        bridge::unmirror(span_id);
    }
}

/// Removes the top frame. Once its span has ended, the frame owns nothing
/// but its trace state (the name was moved out or is borrowed, the list,
/// the box and its hold on the tracer taken): then it is let go without running the drop glue of
/// every field (a call of its own, a fifth of a span's end).
#[inline(always)]
pub(crate) fn drop_top(frames: &mut Vec<Frame>) {
    let Some(top) = frames.last_mut() else {
        return;
    };
    let owns_nothing = top.open.as_ref().is_none_or(|o| {
        matches!(o.name, Cow::Borrowed(_))
            && o.attributes.capacity() == 0
            && o.rich.is_none()
            && o.owner.is_none()
    }) && top.in_ring.as_ref().is_none_or(|r| r.owner.is_none());
    if owns_nothing {
        let trace_state = top.ctx.trace_state.take();
        // SAFETY: the top frame owns nothing now (checked above: its
        // trace state was taken, its open span holds no owned name, list
        // or box), so shortening the vector past it leaks nothing.
        unsafe { frames.set_len(frames.len() - 1) };
        drop(trace_state);
    } else {
        frames.pop();
    }
}

/// Makes a context current on this thread until dropped; see [`attach`].
#[must_use = "the context is current only while the guard lives"]
#[derive(Debug)]
pub struct ContextGuard {
    span_id: Option<SpanId>,
    // Entering is per thread: the guard must be dropped where it was made.
    _not_send: PhantomData<*const ()>,
}

impl ContextGuard {
    pub(crate) fn enter(ctx: SpanContext) -> ContextGuard {
        let span_id = ctx.span_id;
        push(ctx);
        ContextGuard {
            span_id: Some(span_id),
            _not_send: PhantomData,
        }
    }

    #[inline]
    pub(crate) const fn enter_nothing() -> ContextGuard {
        ContextGuard {
            span_id: None,
            _not_send: PhantomData,
        }
    }
}

impl Drop for ContextGuard {
    #[inline]
    fn drop(&mut self) {
        if let Some(id) = self.span_id {
            pop(id);
        }
    }
}

/// Makes `ctx` the parent of spans started on this thread while the guard
/// lives: use it with a context extracted from an incoming request
/// ([`propagation::extract`](super::propagation::extract)) or captured on
/// another thread with [`current`].
///
/// ```
/// let tracer = fcc::trace::FccTracer::new("doc");
/// let parent = tracer.span("request");
/// let ctx = parent.context().unwrap();
/// std::thread::spawn(move || {
///     let _g = fcc::trace::attach(ctx.clone());
///     let child = tracer.span("worker");
///     assert_eq!(child.context().unwrap().trace_id, ctx.trace_id);
/// })
/// .join()
/// .unwrap();
/// ```
pub fn attach(ctx: SpanContext) -> ContextGuard {
    ContextGuard::enter(ctx)
}
