//! Spans entered and ended on one thread: the [`SpanGuard`]s of
//! [`FccTracer::span`](super::FccTracer::span) and of synchronous
//! `#[traced]` functions, which is nearly every span.
//!
//! Such a span needs no box of its own. When its tracer exports, its
//! record goes straight into the thread's hand-over ring to the export
//! thread when it starts, and its end only fills in the clock reading and
//! publishes it ([`super::ring_record`]; the rings, which the thread's
//! line holds beside the stack, in [`super::handover`]): one visit to one
//! thread-local per start and per end, and the record written once, where
//! it stays. This is fastrace's shape (a thread-local line of raw spans
//! whose parents come from a thread-local stack), with each span published
//! as it ends rather than when its local root ends, so a flush sees every
//! ended span and a long-lived parent holds nothing back. A span whose
//! record cannot stay in the ring (a parent in front of its ended
//! children, a full ring, a tracer without exporters) keeps it in its frame
//! of the stack ([`Open`], beside its [`SpanContext`]), and it is moved to
//! the ring when the span ends. The guard itself holds only the span's id.
//!
//! The tracer is kept alive by the outermost of its recording spans on the
//! stack: a span whose parent frame is a recording span of the same tracer
//! holds only its address ([`Open::tracer`]), not an `Arc` of its own (two
//! atomic read-modify-writes per span). Frames leave the stack innermost
//! first; when a guard is dropped out of order, the frame above the one
//! leaving takes over its `Arc` ([`take_frame_out_of_order`]).
//!
//! What a compact record cannot carry (events, an error status) goes into
//! a box the span takes when first needed ([`Open::rich`]); such a span,
//! and every span of a tracer without exporters, ends through the
//! [`SpanData`] path. While the OpenTelemetry bridge is on, or when the
//! stack is out of reach (the thread is exiting), a guard holds a boxed
//! [`Span`](super::Span) instead, entered as before.

use std::borrow::Cow;
use std::sync::Arc;

use super::__private::CodeLocation;
use super::context::{drop_top, new_root_ids, new_span_id, with_line, Frame, Line};
use super::handover::{self, Finished, RecordState};
use super::otel_context as bridge;
use super::ring_record::{self, InRing};
use super::span::clock;
use super::tracer::TracerInner;
use super::{KeyValue, SpanContext, SpanData, SpanKind, SpanStatus};
use crate::SpanId;

/// Emptied attribute lists a thread keeps for its next spans (as many as
/// spans open at once, at most).
const SPARE_LISTS: usize = 16;

/// What an entered local span has recorded so far, in its frame of the
/// stack.
pub(crate) struct Open {
    pub(crate) name: Cow<'static, str>,
    pub(crate) parent: Option<SpanId>,
    pub(crate) parent_is_remote: bool,
    pub(crate) code: Option<&'static CodeLocation>,
    pub(crate) start: fastant::Instant,
    pub(crate) attributes: Vec<KeyValue>,
    /// The span's tracer: alive while the span is open, kept so by
    /// `owner` or by the frame below (see the module docs).
    pub(crate) tracer: *const TracerInner,
    /// The span's own hold on its tracer, when the frame below does not
    /// keep it alive.
    pub(crate) owner: Option<Arc<TracerInner>>,
    /// Events and an error status, when the span has any: it then ends as
    /// a whole [`SpanData`] (this box).
    pub(crate) rich: Option<Box<SpanData>>,
}

impl Open {
    /// The box for what a compact record cannot carry.
    fn rich(&mut self) -> &mut SpanData {
        self.rich.get_or_insert_with(super::span::spare_box)
    }

    /// The span as [`SpanData`] (times still to fill from the clock
    /// readings), its status `Ok` unless an error was recorded: for spans
    /// that do not travel as a compact record. Leaves the name and list
    /// taken.
    pub(crate) fn take_data(&mut self, ctx: &SpanContext) -> Box<SpanData> {
        let mut d = self.rich.take().unwrap_or_else(super::span::spare_box);
        d.span_id = ctx.span_id;
        d.trace_id = ctx.trace_id;
        d.parent_span_id = self.parent;
        d.parent_is_remote = self.parent_is_remote;
        d.name = std::mem::replace(&mut self.name, Cow::Borrowed(""));
        d.code = self.code;
        d.attributes = std::mem::take(&mut self.attributes);
        if d.status == SpanStatus::Unset {
            d.status = SpanStatus::Ok;
        }
        d
    }
}

/// A local span just started: its id, and whether it records.
pub(crate) struct Started {
    pub(crate) span_id: SpanId,
    pub(crate) recording: bool,
    /// A spare attribute list taken for the caller to fill outside the
    /// visit (see [`start`]).
    pub(crate) list: Option<Vec<KeyValue>>,
}

/// Starts a span of `tracer` under this thread's innermost span and makes
/// it current, in one visit to the stack. With `take_list`, a recording
/// span's attribute list is handed to the caller, to be filled outside the
/// visit (arguments' `Debug` is the user's code, which may look at the
/// stack) and given back with [`give_list`]. `None` when the bridge is on
/// or the stack is out of reach: the caller takes the boxed path.
#[inline(always)]
pub(crate) fn start(
    tracer: &Arc<TracerInner>,
    name: &mut Option<Cow<'static, str>>,
    code: Option<&'static CodeLocation>,
    take_list: bool,
) -> Option<Started> {
    if bridge::active() {
        return None;
    }
    with_line(|line| {
        let Line {
            frames,
            lists,
            rings,
            ..
        } = line;
        let parent_frame = frames.last();
        let parent = parent_frame.map(|f| &f.ctx);
        let (trace_id, span_id) = match parent {
            None => new_root_ids(),
            Some(p) => (p.trace_id, new_span_id()),
        };
        let sampled = tracer.sampler.should_sample(parent, trace_id);
        let tracer_at = Arc::as_ptr(tracer);
        // A recording parent of the same tracer keeps it alive.
        let kept_below = parent_frame.is_some_and(|f| {
            f.open
                .as_ref()
                .is_some_and(|o| std::ptr::eq(o.tracer, tracer_at))
                || f.in_ring
                    .as_ref()
                    .is_some_and(|r| std::ptr::eq(r.tracer, tracer_at))
        });
        let owner = (sampled && !kept_below).then(|| Arc::clone(tracer));
        let parent_id = parent.map(|p| p.span_id);
        let parent_is_remote = parent.is_some_and(|p| p.remote);
        let trace_state = parent.and_then(|p| p.trace_state.clone());
        let name = name.take().unwrap_or(Cow::Borrowed(""));
        let start = clock::now();
        // The span's record goes straight into its ring when there is room
        // (see `ring_record`); the list lent to the caller is a spare one.
        let ring = match &tracer.handoff {
            Some(h) if sampled => {
                handover::ring(rings, h).and_then(|r| if r.has_room() { Some(r) } else { None })
            }
            _ => None,
        };
        let list = (sampled && take_list).then(|| lists.pop().unwrap_or_default());
        if frames.capacity() == 0 {
            super::context::connect_events();
        }
        frames.reserve(1);
        // Written where it stays, field by field (a frame built first, even
        // in `write`, was built on the stack and copied there).
        let slot = frames.spare_capacity_mut()[0].as_mut_ptr();
        // SAFETY: `slot` is the vector's first spare slot, room for one
        // frame; every field is written before the length takes it in. The
        // ring had room for the record.
        unsafe {
            std::ptr::addr_of_mut!((*slot).ctx).write(SpanContext {
                trace_id,
                span_id,
                sampled,
                remote: false,
                trace_state,
            });
            let open = std::ptr::addr_of_mut!((*slot).open);
            let in_ring = std::ptr::addr_of_mut!((*slot).in_ring);
            if let Some(ring) = ring {
                ring.done.next_slot().write(Finished {
                    trace_id,
                    span_id,
                    parent: parent_id,
                    name,
                    code,
                    scope: None,
                    times: Some((start, start)),
                    attributes: 0,
                    status_ok: true,
                    parent_is_remote,
                    kind: SpanKind::Internal,
                    state: RecordState::Open,
                    full: None,
                });
                ring.done.advance();
                ring.open += 1;
                open.write(None);
                in_ring.write(Some(InRing {
                    ring: ring.id(),
                    slot: ring.done.tail() - 1,
                    tracer: tracer_at,
                    owner,
                }));
            } else {
                in_ring.write(None);
                if sampled {
                    // With `take_list`, the caller fills a list and gives
                    // it back.
                    let attributes = if take_list {
                        Vec::new()
                    } else {
                        lists.pop().unwrap_or_default()
                    };
                    open.write(Some(Open {
                        name,
                        parent: parent_id,
                        parent_is_remote,
                        code,
                        start,
                        attributes,
                        tracer: tracer_at,
                        owner,
                        rich: None,
                    }));
                } else {
                    open.write(None);
                }
            }
        }
        // SAFETY: the slot past the end was just written.
        unsafe { frames.set_len(frames.len() + 1) };
        super::context::set_top_sampled(frames);
        Started {
            span_id,
            recording: sampled,
            list,
        }
    })
}

/// Whether `frame` is the local span `span_id`'s own (a context attached
/// with a span's ids has a frame with the same id, and no record).
#[inline(always)]
fn is_span(frame: &Frame, span_id: SpanId) -> bool {
    frame.ctx.span_id == span_id && (frame.open.is_some() || frame.in_ring.is_some())
}

/// This thread's frame of the entered local span `span_id`: the top in the
/// normal case.
#[inline(always)]
fn find_frame(frames: &mut [Frame], span_id: SpanId) -> Option<&mut Frame> {
    match frames.last() {
        Some(top) if is_span(top, span_id) => frames.last_mut(),
        _ => frames.iter_mut().rfind(|f| is_span(f, span_id)),
    }
}

/// Runs `f` on the frame of the local span `span_id`, with the line's
/// spare lists and rings, in one visit; `None` when it is not there.
#[inline(always)]
fn with_span_frame<R>(
    span_id: SpanId,
    f: impl FnOnce(&mut Frame, &mut Vec<Vec<KeyValue>>, &mut Vec<handover::LocalRing>) -> R,
) -> Option<R> {
    with_line(|line| {
        let Line {
            frames,
            lists,
            rings,
            ..
        } = line;
        find_frame(frames, span_id).map(|frame| f(frame, lists, rings))
    })
    .flatten()
}

/// Adds an attribute to the local span `span_id`.
#[inline]
pub(crate) fn add_attribute(span_id: SpanId, kv: KeyValue) {
    with_span_frame(span_id, |frame, lists, rings| {
        ring_record::add_attribute(frame, lists, rings, kv)
    });
}

/// Whether the local span `span_id` has a box for what a compact record
/// cannot carry.
pub(crate) fn has_rich(span_id: SpanId) -> bool {
    with_line(|line| {
        find_frame(&mut line.frames, span_id)
            .and_then(|f| f.open.as_ref())
            .is_some_and(|o| o.rich.is_some())
    })
    .unwrap_or(false)
}

/// Adds the attributes in `list` to the local span `span_id`: the list
/// [`start`] handed out, filled, or one from [`spare_list`]. The emptied
/// list is kept for the next span.
#[inline]
pub(crate) fn give_list(span_id: SpanId, mut list: Vec<KeyValue>) {
    with_span_frame(span_id, |frame, lists, rings| {
        if frame.in_ring.is_some() {
            ring_record::add_list(frame, lists, rings, &mut list);
        } else {
            let Some(open) = frame.open.as_mut() else {
                return;
            };
            if open.attributes.is_empty() {
                // The usual case: `start` left a list that owns nothing
                // (forgotten, not dropped: a call of its own, for nothing
                // to free), and the span takes this one.
                list = std::mem::replace(&mut open.attributes, list);
                if list.capacity() == 0 {
                    std::mem::forget(list);
                    return;
                }
            } else {
                open.attributes.append(&mut list);
            }
        }
        if list.capacity() > 0 && lists.len() < SPARE_LISTS {
            lists.push(list);
        }
    });
}

/// An empty attribute list, one this thread kept if it has one.
pub(crate) fn spare_list() -> Vec<KeyValue> {
    with_line(|line| line.lists.pop())
        .flatten()
        .unwrap_or_default()
}

/// Runs `f` on the open span `span_id` of this thread (moved out of its
/// ring first, if its record is there); `None` when it is not there (not
/// recording, or the stack is out of reach).
#[inline]
pub(crate) fn with_open<R>(span_id: SpanId, f: impl FnOnce(&mut Open) -> R) -> Option<R> {
    with_span_frame(span_id, |frame, lists, rings| {
        ring_record::open_in_frame(frame, lists, rings).map(f)
    })
    .flatten()
}

/// The context of the entered span `span_id`.
pub(crate) fn context(span_id: SpanId) -> Option<SpanContext> {
    with_line(|line| {
        line.frames
            .iter()
            .rfind(|f| f.ctx.span_id == span_id)
            .map(|f| f.ctx.clone())
    })
    .flatten()
}

/// Records into the span's box for what a compact record cannot carry.
pub(crate) fn with_rich(span_id: SpanId, f: impl FnOnce(&mut SpanData)) {
    with_open(span_id, |open| f(open.rich()));
}

/// Ends the local span `span_id`: takes its frame off the stack and hands
/// what it recorded to its ring, in one visit. A span that does not travel
/// as a compact record (events, an error, a tracer without exporters, a
/// full ring) is parked in the line and finished after the visit.
#[inline]
pub(crate) fn end(span_id: SpanId) {
    let end = clock::now();
    let after = with_line(|line| {
        let Line {
            frames,
            lists,
            rings,
            parked,
        } = line;
        let mut after = After::default();
        let mut settle = None;
        match frames.last_mut() {
            // The normal case: the top, ended where it lies.
            Some(top) if is_span(top, span_id) => {
                after = end_frame(top, end, lists, rings, parked, &mut settle);
                drop_top(frames);
            }
            _ => {
                // Guards dropped out of order.
                if let Some(mut frame) = take_frame_out_of_order(frames, span_id) {
                    after = end_frame(&mut frame, end, lists, rings, parked, &mut settle);
                }
            }
        }
        // Its record published (with the frame gone, so that no open
        // record of its own stands in the way).
        if let Some(id) = settle
            && let Some(ring) = ring_record::ring_by_id(rings, id)
        {
            ring_record::settle(frames, lists, ring);
        }
        super::context::set_top_sampled(frames);
        after
    });
    if let Some(after) = after {
        // The span's own hold on its tracer, let go outside the visit: the
        // last one shuts its pipeline down.
        drop(after.release);
        if after.parked {
            finish_parked();
        }
    }
    if bridge::active() {
        bridge::unmirror(span_id);
    }
}

/// What is left to do once a span's frame is off the stack, outside the
/// visit (the tracer's buffer or pipeline may run code that looks at the
/// stack; a tracer's last `Arc` may shut its pipeline down). Two words, so
/// that the usual case (nothing) costs no copies.
#[derive(Default)]
struct After {
    /// The span's own hold on its tracer, to let go.
    release: Option<Arc<TracerInner>>,
    /// A span was parked in the line ([`Parked`]) to be finished.
    parked: bool,
}

/// A span that did not travel as a compact record, to be finished through
/// its tracer once the visit is over.
pub(crate) type Parked = (Arc<TracerInner>, Box<SpanData>, super::span::Times);

#[cold]
#[inline(never)]
fn finish_parked() {
    if let Some(Some((tracer, data, times))) = with_line(|line| line.parked.take()) {
        tracer.finish_box(data, times);
    }
}

/// Ends the span in `frame`: its record in the ring gets its end, or its
/// [`Open`] record goes to the ring; `settle` is set to the ring to
/// publish. What cannot go that way is parked for after the visit.
#[inline(always)]
fn end_frame(
    frame: &mut Frame,
    end: fastant::Instant,
    lists: &mut Vec<Vec<KeyValue>>,
    rings: &mut Vec<super::handover::LocalRing>,
    parked: &mut Option<Parked>,
    settle: &mut Option<u64>,
) -> After {
    if let Some(in_ring) = &frame.in_ring {
        let (id, slot) = (in_ring.ring, in_ring.slot);
        match ring_record::ring_by_id(rings, id) {
            Some(ring) if !ring.is_closed() => {
                // SAFETY: the span's tracer is alive while it is open (see
                // the module docs).
                let tracer = unsafe { &*in_ring.tracer };
                if tracer.shut_down.load(std::sync::atomic::Ordering::Relaxed) {
                    crate::internal::after_shutdown::warn();
                }
                // SAFETY: an open record is never published.
                let record = unsafe { ring.done.written(slot) };
                if let Some(times) = &mut record.times {
                    times.1 = end;
                }
                record.state = RecordState::Ended;
                ring.open -= 1;
                *settle = Some(id);
                return After {
                    release: frame.in_ring.take().and_then(|r| r.owner),
                    parked: false,
                };
            }
            // Its pipeline has shut down: it ends as any other span then
            // (where it is counted).
            _ => {
                ring_record::open_in_frame(frame, lists, rings);
            }
        }
    }
    let Some(open) = &mut frame.open else {
        return After::default();
    };
    let after = hand_over(&frame.ctx, open, end, rings, parked, settle);
    keep_list(lists, open);
    after
}

/// Hands an ended span's record to its tracer's ring; what cannot go that
/// way is parked for after the visit.
#[inline(always)]
fn hand_over(
    ctx: &SpanContext,
    open: &mut Open,
    end: fastant::Instant,
    rings: &mut Vec<super::handover::LocalRing>,
    parked: &mut Option<Parked>,
    settle: &mut Option<u64>,
) -> After {
    // SAFETY: the span's tracer is alive while it is open: `open.owner`
    // or a frame below holds an `Arc` of it (see the module docs).
    let tracer = unsafe { &*open.tracer };
    if tracer.shut_down.load(std::sync::atomic::Ordering::Relaxed) {
        crate::internal::after_shutdown::warn();
    }
    let times = (open.start, end);
    if open.rich.is_none()
        && let Some(h) = &tracer.handoff
        && let Some(r) = super::handover::ring(rings, h)
        && r.push_local(ctx, open, times)
    {
        *settle = Some(r.id());
        return After {
            release: open.owner.take(),
            parked: false,
        };
    }
    park(ctx, open, times, parked)
}

#[cold]
#[inline(never)]
fn park(
    ctx: &SpanContext,
    open: &mut Open,
    times: super::span::Times,
    parked: &mut Option<Parked>,
) -> After {
    let tracer = open.owner.take().unwrap_or_else(|| {
        // SAFETY: as in `hand_over`, an `Arc` of it is alive; this makes
        // one more.
        unsafe {
            Arc::increment_strong_count(open.tracer);
            Arc::from_raw(open.tracer)
        }
    });
    *parked = Some((tracer, open.take_data(ctx), times));
    After {
        release: None,
        parked: true,
    }
}

/// Takes `span_id`'s frame off the stack when it is not the top (its
/// guard dropped before those of spans started inside it). The frame above
/// it takes over its hold on their tracer when it relied on it.
#[cold]
fn take_frame_out_of_order(frames: &mut Vec<Frame>, span_id: SpanId) -> Option<Frame> {
    let i = frames.iter().rposition(|f| is_span(f, span_id))?;
    let mut frame = frames.remove(i);
    if let Some((_, Some(owner))) = hold(&mut frame)
        && let Some((tracer, above)) = frames.get_mut(i).and_then(hold)
        && above.is_none()
        && std::ptr::eq(tracer, Arc::as_ptr(owner))
    {
        *above = Some(Arc::clone(owner));
    }
    Some(frame)
}

/// A recording local span's tracer and its own hold on it.
fn hold(frame: &mut Frame) -> Option<(*const TracerInner, &mut Option<Arc<TracerInner>>)> {
    if let Some(open) = &mut frame.open {
        return Some((open.tracer, &mut open.owner));
    }
    frame.in_ring.as_mut().map(|r| (r.tracer, &mut r.owner))
}

/// Keeps an ended span's emptied attribute list for the next span (or
/// lets it go); the span's list is left without one.
#[inline(always)]
fn keep_list(lists: &mut Vec<Vec<KeyValue>>, open: &mut Open) {
    if open.attributes.capacity() > 0 {
        let list = std::mem::take(&mut open.attributes);
        if lists.len() < SPARE_LISTS {
            lists.push(list);
        }
    }
}
