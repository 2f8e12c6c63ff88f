//! Finished spans go to the export thread through rings of this thread's
//! own, not one channel send per span.
//!
//! Each thread that ends spans for a pipeline gets two single-producer
//! single-consumer rings (`internal::spsc`) with the export thread, kept in
//! the thread's line beside its span stack ([`super::context`]), so that a
//! span's end reaches its ring in the same visit that takes its frame off
//! (no second thread-local, no lookup but a compare). `done` carries
//! finished spans *by value* as compact records (ids, name, clock
//! readings, a few flags: 112 bytes), `attributes` carries their
//! attributes, moved one after another out of the span's own list. A span
//! with more than that (events, links, an error status, times given by the
//! caller) travels whole, in a box: the rare case, which allocates. The
//! export thread builds each span's `SpanData` from its record. The span's
//! box and list never leave the thread
//! ([`super::span`] keeps them for its next span, hot in this core's
//! cache); the rings are written in order, which the hardware streams. The
//! export thread gives each span a list of its own on the way out. A span
//! in a steady stream allocates nothing and frees nothing on its thread,
//! and a push is a plain store and a release store: no atomic
//! read-modify-write, no lock, no system call.
//!
//! A local span's record is written into `done` when the span starts and
//! published when it ends (`super::ring_record`); a ring is published in
//! order, up to its first record of a span still open. The export thread
//! skips records that are not ended spans (moved to their frame, or open
//! when their thread exited), dropping their attributes.
//!
//! `done` holds as many spans as the pipeline's queue
//! (`OTEL_BSP_MAX_QUEUE_SIZE`), at most [`MAX_DONE`], `attributes` four
//! per span. The export thread drains every
//! registered ring on its poll, when a ring is a quarter full (the producer
//! wakes it), on flush and at shutdown; a ring whose thread has exited is
//! drained and then forgotten, so no span is lost with its thread. When
//! `done` is full the span takes the shared channel, as every span did
//! before, where a full queue drops it and counts it; when `attributes` is
//! full a span travels whole, its list with it.
//!
//! Ordering with events: an event emitted inside a span travels on the
//! channel and must reach the export thread before that span's end. The
//! export thread therefore counts what each ring holds *first*, then drains
//! the channel, then takes only the counted spans: every event sent before
//! one of those spans ended was on the channel before the count was taken.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use super::__private::CodeLocation;
use super::local::Open;
use super::span::clock::fill_times;
use super::span::Times;
use super::{InstrumentationScope, KeyValue, SpanContext, SpanData, SpanKind, SpanStatus};
use crate::internal::doorbell::Doorbell;
use crate::internal::spsc::{self, Consumer, Producer};
use crate::{SpanId, TraceId};

/// Most finished spans a thread hands over before the export thread drains
/// them (less when the pipeline's queue is smaller: a thread never holds
/// more than `OTEL_BSP_MAX_QUEUE_SIZE`).
/// Small on purpose: a ring is used over and over, so one that fits in the
/// core's cache (512 records of 112 bytes: 56 KiB, their attributes about
/// 110 KiB) stays there, and a program with many threads pays that much per
/// thread.
const MAX_DONE: usize = 512;
/// Attribute slots per span slot.
const ATTRIBUTES_PER_SPAN: usize = 4;
/// A producer looks at its ring's fill every this many spans.
const CHECK_EVERY: u32 = 32;

/// The pipeline's side: every thread's rings, and whom to wake.
pub(crate) struct Handoff {
    id: u64,
    /// Each thread's `done` ring holds this many spans.
    capacity: usize,
    rings: Mutex<Vec<WorkerRing>>,
    closed: AtomicBool,
    /// The export thread, woken when a ring fills up.
    pub(crate) thread: OnceLock<std::thread::Thread>,
    /// Rung after each hand-over: wakes the export thread once it dozes.
    doorbell: Arc<Doorbell>,
    /// Published records that are no spans (moved to their frames, or
    /// open when their thread exited), not yet taken: left out of the
    /// count of spans waiting.
    not_spans: AtomicUsize,
}

impl Drop for LocalRing {
    fn drop(&mut self) {
        // Dropping the producers publishes everything written: the records
        // of spans still open and those moved are no spans.
        let not_spans = (self.open + self.moved) as usize;
        if not_spans > 0 {
            self.handoff
                .not_spans
                .fetch_add(not_spans, Ordering::Relaxed);
        }
    }
}

/// A finished span on its way, as a compact record (112 bytes): the
/// fields a plain span has set, its clock readings when its data does not
/// have its times yet, and how many of the next entries of the
/// `attributes` ring are its attributes. A span that is not plain (events,
/// links, an error status, dropped counts, given times, or attributes that
/// do not fit the ring) travels whole, boxed, in `full`.
pub(crate) struct Finished {
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
    pub(crate) parent: Option<SpanId>,
    pub(crate) name: Cow<'static, str>,
    pub(crate) code: Option<&'static CodeLocation>,
    pub(crate) scope: Option<Arc<InstrumentationScope>>,
    pub(crate) times: Option<Times>,
    pub(crate) attributes: u32,
    pub(crate) status_ok: bool,
    pub(crate) parent_is_remote: bool,
    pub(crate) kind: SpanKind,
    pub(crate) state: RecordState,
    pub(crate) full: Option<Box<SpanData>>,
}

/// Where a record stands. A local span's record is written into the ring
/// when the span starts and published once it has ended
/// ([`super::local`]); only `Ended` records are spans to export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RecordState {
    Ended,
    /// Its span is still open: published only when its thread exits (the
    /// span is lost with its guard, as it always was).
    Open,
    /// Its span moved to its frame of the stack, to end from there (a
    /// later record); its attributes here are copies, dropped unread.
    Moved,
}

// The size the docs above give.
const _: () = assert!(std::mem::size_of::<Finished>() <= 112);

impl Finished {
    /// Pushes the span, as the exporters see it, onto `out`, its
    /// attributes (read from the `attributes` ring) in a list from
    /// `new_list`. Built where it stays: a span is 280 bytes, and each move
    /// of it was a `memcpy`.
    #[inline(always)]
    fn push_span(
        self,
        attributes: &mut Consumer<KeyValue>,
        new_list: &mut impl FnMut() -> Vec<KeyValue>,
        out: &mut Vec<SpanData>,
    ) -> bool {
        if self.state != RecordState::Ended {
            // No span to export: its attributes go with it.
            for _ in 0..self.attributes {
                drop(attributes.pop());
            }
            return false;
        }
        if let Some(mut full) = self.full {
            fill_times(&mut full, self.times);
            full.expand_code();
            out.push(*full);
            return true;
        }
        out.reserve(1);
        let span = out.spare_capacity_mut()[0].write(SpanData::new(
            self.span_id,
            self.trace_id,
            self.name,
            SystemTime::UNIX_EPOCH,
        ));
        span.parent_span_id = self.parent;
        span.parent_is_remote = self.parent_is_remote;
        span.kind = self.kind;
        span.scope = self.scope;
        if self.status_ok {
            span.status = SpanStatus::Ok;
        }
        fill_times(span, self.times);
        if self.attributes > 0 || self.code.is_some() {
            let mut list = new_list();
            if let Some(code) = self.code {
                list.extend(code.attributes());
            }
            if self.attributes > 0 {
                // Published before the span, so all there.
                for _ in 0..self.attributes {
                    match attributes.pop() {
                        Some(kv) => list.push(kv),
                        None => debug_assert!(false, "a span's attributes are pushed before it"),
                    }
                }
            }
            span.attributes = list;
        }
        // SAFETY: the slot past the end was just written.
        unsafe { out.set_len(out.len() + 1) };
        true
    }
}

struct WorkerRing {
    done: Consumer<Finished>,
    attributes: Consumer<KeyValue>,
}

/// A thread's end of its rings to one pipeline, kept in the thread's line
/// ([`super::context::Line`]), the most recently used first.
pub(crate) struct LocalRing {
    handoff: Arc<Handoff>,
    // Declared before `done`: dropped (and so published) first, as every
    // publish does.
    pub(crate) attributes: Producer<KeyValue>,
    pub(crate) done: Producer<Finished>,
    pushes: u32,
    /// Records moved to their frames, not yet published.
    pub(crate) moved: u32,
    /// Records of spans still open, written and not published.
    pub(crate) open: u32,
    /// Records before this index are published; the records from it on
    /// are the spans' still open, written when they started.
    pub(crate) committed: usize,
    /// Attributes before this index are published (those of the
    /// published records).
    pub(crate) attributes_committed: usize,
}

impl LocalRing {
    /// The pipeline this ring hands to.
    #[inline(always)]
    pub(crate) fn id(&self) -> u64 {
        self.handoff.id
    }

    /// Before publishing `moved` records that are no spans: the pipeline's
    /// count of spans waiting leaves them out (counted first, so that the
    /// export thread's taking them never runs the count below zero).
    #[inline(always)]
    pub(crate) fn published_moved(&mut self, moved: u32) {
        if moved > 0 {
            self.moved -= moved;
            self.handoff
                .not_spans
                .fetch_add(moved as usize, Ordering::Relaxed);
        }
    }

    /// Whether one more record fits.
    #[inline(always)]
    pub(crate) fn has_room(&mut self) -> bool {
        self.done.has_room(1)
    }

    /// Whether its pipeline has shut down.
    #[inline(always)]
    pub(crate) fn is_closed(&self) -> bool {
        self.handoff.closed.load(Ordering::Relaxed)
    }

    /// After a publish: rings the doorbell and, every [`CHECK_EVERY`]
    /// spans, wakes the export thread when the ring is a quarter full.
    #[inline(always)]
    pub(crate) fn pushed(&mut self) {
        self.handoff.doorbell.ring();
        self.pushes = self.pushes.wrapping_add(1);
        let cap = self.handoff.capacity;
        if self.pushes.is_multiple_of(CHECK_EVERY) && self.done.len() > cap / 4 {
            self.handoff.wake();
        }
    }

    /// Hands an ended local span over as a compact record, moving its name
    /// and attributes out of `open` (its list emptied, its capacity kept);
    /// false when the ring is full, and `open` is untouched.
    #[inline(always)]
    pub(crate) fn push_local(&mut self, ctx: &SpanContext, open: &mut Open, times: Times) -> bool {
        if !self.done.has_room(1) {
            self.handoff.wake();
            return false;
        }
        let n = open.attributes.len();
        if n > 0 {
            if !self.attributes.has_room(n) {
                return false;
            }
            move_attributes(&mut open.attributes, &mut self.attributes);
        }
        // SAFETY: room for one was checked above; the slot is written
        // before it is taken in. (Written where it stays: a record built
        // first was built on the stack and copied.)
        unsafe {
            self.done.next_slot().write(Finished {
                trace_id: ctx.trace_id,
                span_id: ctx.span_id,
                parent: open.parent,
                name: std::mem::replace(&mut open.name, Cow::Borrowed("")),
                code: open.code,
                scope: None,
                times: Some(times),
                attributes: n as u32,
                status_ok: true,
                parent_is_remote: open.parent_is_remote,
                kind: SpanKind::Internal,
                state: RecordState::Ended,
                full: None,
            });
            self.done.advance();
        }
        true
    }

    /// Hands a finished span over, moving it out of `span` (left as a
    /// blank box holds it, its list emptied with its capacity kept); false
    /// when the ring is full, and `span` is untouched.
    #[inline]
    fn push_span(&mut self, span: &mut SpanData, times: Option<Times>) -> bool {
        if !self.done.has_room(1) {
            self.handoff.wake();
            return false;
        }
        let n = span.attributes.len();
        // Room for the attributes, from the ring's limit last seen.
        let room = n == 0 || self.attributes.has_room(n);
        // SAFETY: room for one was checked above; the slot is written (in
        // place, on either branch) before it is taken in.
        let slot = unsafe { self.done.next_slot() };
        // Clock readings: the span's times are not set yet (given times come
        // without them, and travel whole).
        if times.is_some() && span.is_plain() && room {
            move_attributes(&mut span.attributes, &mut self.attributes);
            let status_ok = matches!(span.status, SpanStatus::Ok);
            // What is left in `span` is what a blank box holds (the status,
            // if Ok, back to Unset), its list emptied with its capacity kept.
            span.status = SpanStatus::Unset;
            // SAFETY: see `slot`.
            unsafe {
                slot.write(Finished {
                    trace_id: span.trace_id,
                    span_id: span.span_id,
                    parent: span.parent_span_id,
                    name: std::mem::replace(&mut span.name, Cow::Borrowed("")),
                    code: span.code.take(),
                    scope: span.scope.take(),
                    times,
                    attributes: n as u32,
                    status_ok,
                    parent_is_remote: span.parent_is_remote,
                    kind: std::mem::replace(&mut span.kind, SpanKind::Internal),
                    state: RecordState::Ended,
                    full: None,
                })
            };
        } else {
            // SAFETY: see `slot`.
            unsafe { slot.write(full_record(span, times)) };
        }
        // SAFETY: written just above.
        unsafe { self.done.advance() };
        true
    }
}

/// This thread's ring to `handoff`'s pipeline, from the thread's `rings`
/// (registered on first use); `None` once the pipeline has shut down.
/// The ring used last is first: the usual case is one compare.
#[inline(always)]
pub(crate) fn ring<'a>(
    rings: &'a mut Vec<LocalRing>,
    handoff: &Arc<Handoff>,
) -> Option<&'a mut LocalRing> {
    if handoff.closed.load(Ordering::Relaxed) {
        return None;
    }
    match rings.first() {
        Some(r) if r.handoff.id == handoff.id => rings.first_mut(),
        _ => Some(ring_slow(rings, handoff)),
    }
}

/// [`ring`] when the first one is another pipeline's: moves this
/// pipeline's to the front, registering it first if need be.
#[cold]
#[inline(never)]
fn ring_slow<'a>(rings: &'a mut Vec<LocalRing>, handoff: &Arc<Handoff>) -> &'a mut LocalRing {
    // Rings of pipelines that have shut down are let go (once no open
    // span's record is in them).
    rings.retain(|r| r.open > 0 || !r.handoff.closed.load(Ordering::Relaxed));
    match rings.iter().position(|r| r.handoff.id == handoff.id) {
        Some(at) => rings.swap(0, at),
        None => rings.insert(0, handoff.register()),
    }
    &mut rings[0]
}

impl Handoff {
    /// The side of a pipeline whose export thread rings `doorbell`'s
    /// worker; each thread's `done` ring holds at most `max_queue` spans.
    pub(crate) fn new(max_queue: usize, doorbell: Arc<Doorbell>) -> Arc<Handoff> {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Arc::new(Handoff {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            capacity: max_queue.clamp(1, MAX_DONE),
            rings: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
            thread: OnceLock::new(),
            doorbell,
            not_spans: AtomicUsize::new(0),
        })
    }

    fn wake(&self) {
        if let Some(t) = self.thread.get() {
            t.unpark();
        }
    }

    #[cold]
    fn register(self: &Arc<Self>) -> LocalRing {
        let (done_tx, done_rx) = spsc::ring(self.capacity);
        let (attributes_tx, attributes_rx) = spsc::ring(self.capacity * ATTRIBUTES_PER_SPAN);
        let mut rings = self.rings.lock().unwrap_or_else(|p| p.into_inner());
        rings.push(WorkerRing {
            done: done_rx,
            attributes: attributes_rx,
        });
        LocalRing {
            handoff: Arc::clone(self),
            done: done_tx,
            attributes: attributes_tx,
            pushes: 0,
            open: 0,
            moved: 0,
            committed: 0,
            attributes_committed: 0,
        }
    }

    /// Hands a finished span over through this thread's ring, moving it
    /// out of `span` (left as a blank box holds it, its list emptied with
    /// its capacity kept); false when this thread cannot (its ring is
    /// full, it is exiting or inside a visit to its line, the pipeline has
    /// shut down), and `span` is untouched.
    #[inline]
    pub(crate) fn send(self: &Arc<Self>, span: &mut SpanData, times: Option<Times>) -> bool {
        super::context::with_line(|line| {
            let Some(r) = ring(&mut line.rings, self) else {
                return false;
            };
            let sent = r.push_span(span, times);
            if sent {
                super::ring_record::settle(&mut line.frames, &mut line.lists, r);
            }
            sent
        })
        .unwrap_or(false)
    }

    /// How many spans each ring holds now (the export thread takes these
    /// after draining the channel; see the module docs).
    pub(crate) fn count(&self) -> Vec<usize> {
        let rings = self.rings.lock().unwrap_or_else(|p| p.into_inner());
        rings.iter().map(|r| r.done.len()).collect()
    }

    /// `queued`'s value (spans taken from the rings and from the channel)
    /// plus what the rings hold, read together, and what they hold.
    pub(crate) fn queued(&self, queued: &AtomicU64) -> (u64, usize) {
        let rings = self.rings.lock().unwrap_or_else(|p| p.into_inner());
        let records: usize = rings.iter().map(|r| r.done.len()).sum();
        let waiting = records.saturating_sub(self.not_spans.load(Ordering::Relaxed));
        (queued.load(Ordering::Relaxed) + waiting as u64, waiting)
    }

    /// Takes up to `counts[i]` spans from ring `i` onto `out` (calling
    /// `pushed` after each), each with its attributes in a list from
    /// `new_list`, and forgets rings whose thread has exited once they are
    /// empty. `queued` counts them, under the same lock
    /// [`queued`](Self::queued) reads.
    pub(crate) fn take(
        &self,
        counts: &[usize],
        queued: &AtomicU64,
        mut new_list: impl FnMut() -> Vec<KeyValue>,
        out: &mut Vec<SpanData>,
        mut pushed: impl FnMut(&mut Vec<SpanData>),
    ) {
        let mut rings = self.rings.lock().unwrap_or_else(|p| p.into_inner());
        let (mut taken, mut not_spans) = (0, 0);
        for (ring, &n) in rings.iter_mut().zip(counts) {
            for _ in 0..n {
                let Some(finished) = ring.done.pop() else {
                    break;
                };
                if finished.push_span(&mut ring.attributes, &mut new_list, out) {
                    taken += 1;
                    pushed(out);
                } else {
                    not_spans += 1;
                }
            }
        }
        // One add for them all, still under the lock.
        queued.fetch_add(taken, Ordering::Relaxed);
        if not_spans > 0 {
            self.not_spans.fetch_sub(not_spans, Ordering::Relaxed);
        }
        rings.retain(|r| {
            // Abandoned (acquire) first: then emptiness sees its last span.
            let gone = r.done.is_abandoned();
            !(gone && r.done.is_empty())
        });
    }

    /// Refuses further spans (they take the channel, which counts them
    /// dropped once the export thread is gone).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
    }
}

/// Moves a span's attributes, in order, into the `attributes` ring (not
/// published: see `local::settle`); the list is left empty with its capacity. The caller
/// has checked there is room for them all.
#[inline]
pub(crate) fn move_attributes(list: &mut Vec<KeyValue>, ring: &mut Producer<KeyValue>) {
    let n = list.len();
    if n == 0 {
        return;
    }
    // SAFETY: the list forgets its `n` values (`set_len(0)`) and each is
    // moved out once, into the ring, which the caller checked has room for
    // them all; nothing in between can panic. (By hand: `drain` cost 85
    // instructions for one attribute.)
    unsafe {
        list.set_len(0);
        let from = list.as_ptr();
        for i in 0..n {
            ring.write(std::ptr::read(from.add(i)));
        }
    }
}

/// The record of a span that is not plain: the whole span, boxed (the rare
/// case), leaving a blank that keeps nothing of it.
#[cold]
fn full_record(span: &mut SpanData, times: Option<Times>) -> Finished {
    let full = Box::new(std::mem::replace(span, SpanData::blank()));
    Finished {
        trace_id: full.trace_id,
        span_id: full.span_id,
        parent: None,
        name: Cow::Borrowed(""),
        code: None,
        scope: None,
        times,
        attributes: 0,
        status_ok: false,
        parent_is_remote: false,
        kind: SpanKind::Internal,
        state: RecordState::Ended,
        full: Some(full),
    }
}
