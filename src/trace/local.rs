//! Spans entered and ended on one thread: the [`SpanGuard`]s of
//! [`FccTracer::span`](super::FccTracer::span) and of synchronous
//! `#[traced]` functions, which is nearly every span.
//!
//! Such a span needs no box of its own. What it records lives in its frame
//! of the thread's context stack ([`Open`], beside its [`SpanContext`]):
//! written once when it starts, in the same visit to the stack that reads
//! its parent, and moved once, when it ends, into the thread's hand-over
//! ring to the export thread (the compact record of
//! `export::handoff`). The guard itself holds only the span's id and its
//! tracer. This is fastrace's shape (a thread-local line of raw spans whose
//! parents come from a thread-local stack), with each span handed over as
//! it ends rather than when its local root ends, so a flush sees every
//! ended span and a long-lived parent holds nothing back.
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
use super::context::{drop_top, new_root_ids, new_span_id, take_frame, with_line, Frame};
use super::otel_context as bridge;
use super::span::clock;
use super::tracer::TracerInner;
use super::{KeyValue, SpanContext, SpanData, SpanStatus};
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
    tracer: &TracerInner,
    name: &mut Option<Cow<'static, str>>,
    code: Option<&'static CodeLocation>,
    take_list: bool,
) -> Option<Started> {
    if bridge::active() {
        return None;
    }
    with_line(|line| {
        let parent = line.frames.last().map(|f| &f.ctx);
        let (trace_id, span_id) = match parent {
            None => new_root_ids(),
            Some(p) => (p.trace_id, new_span_id()),
        };
        let sampled = tracer.sampler.should_sample(parent, trace_id);
        let parent_id = parent.map(|p| p.span_id);
        let parent_is_remote = parent.is_some_and(|p| p.remote);
        let trace_state = parent.and_then(|p| p.trace_state.clone());
        let mut list = None;
        let attributes = if sampled {
            let spare = line.lists.pop().unwrap_or_default();
            if take_list {
                list = Some(spare);
                Vec::new()
            } else {
                spare
            }
        } else {
            Vec::new()
        };
        let name = name.take().unwrap_or(Cow::Borrowed(""));
        let start = clock::now();
        let frames = &mut line.frames;
        if frames.capacity() == 0 {
            super::context::connect_events();
        }
        frames.reserve(1);
        // Written where it stays (a `push` of the frame built on the stack
        // copied it there with `memcpy`).
        frames.spare_capacity_mut()[0].write(Frame {
            ctx: SpanContext {
                trace_id,
                span_id,
                sampled,
                remote: false,
                trace_state,
            },
            open: sampled.then_some(Open {
                name,
                parent: parent_id,
                parent_is_remote,
                code,
                start,
                attributes,
                rich: None,
            }),
        });
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

/// Gives back the list [`start`] handed out, filled.
#[inline]
pub(crate) fn give_list(span_id: SpanId, list: Vec<KeyValue>) {
    with_open(span_id, |open| open.attributes = list);
}

/// Runs `f` on the open span `span_id` of this thread; `None` when it is
/// not there (not recording, or the stack is out of reach).
#[inline]
pub(crate) fn with_open<R>(span_id: SpanId, f: impl FnOnce(&mut Open) -> R) -> Option<R> {
    with_line(|line| {
        let frame = match line.frames.last_mut() {
            Some(top) if top.ctx.span_id == span_id => top,
            _ => line.frames.iter_mut().rfind(|f| f.ctx.span_id == span_id)?,
        };
        frame.open.as_mut().map(f)
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
/// what it recorded to `tracer`, in one visit.
#[inline]
pub(crate) fn end(tracer: &TracerInner, span_id: SpanId) {
    let end = clock::now();
    with_line(|line| {
        let frames = &mut line.frames;
        match frames.last_mut() {
            // The normal case: the top, ended where it lies.
            Some(top) if top.ctx.span_id == span_id => {
                if let Some(open) = &mut top.open {
                    tracer.finish_local(&top.ctx, open, end);
                    keep_list(&mut line.lists, open);
                }
                drop_top(frames);
            }
            _ => {
                // Guards dropped out of order.
                if let Some(mut frame) = take_frame(frames, span_id)
                    && let Some(open) = &mut frame.open
                {
                    tracer.finish_local(&frame.ctx, open, end);
                    keep_list(&mut line.lists, open);
                }
            }
        }
        super::context::set_top_sampled(&line.frames);
    });
    if bridge::active() {
        bridge::unmirror(span_id);
    }
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

/// Keeps the tracer of a recording local span alive while it is open.
pub(crate) type Owner = Arc<TracerInner>;
