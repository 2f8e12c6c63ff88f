//! Finished spans go to the export thread through rings of this thread's
//! own, not one channel send per span.
//!
//! Each thread that ends spans for a pipeline gets two single-producer
//! single-consumer rings ([`rtrb`]) with the export thread: `done` carries
//! finished spans *by value* (their clock readings with them), `attributes`
//! carries their attributes, moved one after another out of the span's own
//! list. The span's box and list never leave the thread
//! ([`crate::trace::span`] keeps them for its next span, hot in this core's
//! cache); the rings are written in order, which the hardware streams. The
//! export thread gives each span a list of its own on the way out. A span
//! in a steady stream allocates nothing and frees nothing on its thread,
//! and a push is a plain store and a release store: no atomic
//! read-modify-write, no lock, no system call.
//!
//! `done` holds as many spans as the pipeline's queue
//! (`OTEL_BSP_MAX_QUEUE_SIZE`), at most [`MAX_DONE`] (about 260 bytes
//! each), `attributes` four per span. The export thread drains every
//! registered ring on its poll, when a ring is a quarter full (the producer
//! wakes it), on flush and at shutdown; a ring whose thread has exited is
//! drained and then forgotten, so no span is lost with its thread. When
//! `done` is full the span takes the shared channel, as every span did
//! before, where a full queue drops it and counts it; when `attributes` is
//! full a span takes its list with it.
//!
//! Ordering with events: an event emitted inside a span travels on the
//! channel and must reach the export thread before that span's end. The
//! export thread therefore counts what each ring holds *first*, then drains
//! the channel, then takes only the counted spans: every event sent before
//! one of those spans ended was on the channel before the count was taken.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use rtrb::{Consumer, Producer, RingBuffer};

use super::attribute_pool::Lists;
use crate::trace::span::clock::fill_times;
use crate::trace::span::Times;
use crate::trace::{KeyValue, SpanData};

/// Most finished spans a thread hands over before the export thread drains
/// them (less when the pipeline's queue is smaller: a thread never holds
/// more than `OTEL_BSP_MAX_QUEUE_SIZE`).
/// Small on purpose: a ring is used over and over, so one that fits in the
/// core's cache (512 spans: about 130 KiB, their attributes about as much)
/// stays there, and a program with many threads pays that much per thread.
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
    pub(crate) thread: OnceLock<std::thread::Thread>,
}

/// A finished span on its way, with its clock readings when its data does
/// not have its times yet, and how many of the next entries of the
/// `attributes` ring are its attributes (0: its list, if any, came along).
struct Finished {
    span: SpanData,
    times: Option<Times>,
    attributes: u32,
}

struct WorkerRing {
    done: Consumer<Finished>,
    attributes: Consumer<KeyValue>,
}

struct LocalRing {
    handoff: Arc<Handoff>,
    done: Producer<Finished>,
    attributes: Producer<KeyValue>,
    pushes: u32,
}

thread_local! {
    static LOCAL: RefCell<Vec<LocalRing>> = const { RefCell::new(Vec::new()) };
}

impl Handoff {
    pub(crate) fn new(max_queue: usize) -> Arc<Handoff> {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Arc::new(Handoff {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            capacity: max_queue.clamp(1, MAX_DONE),
            rings: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
            thread: OnceLock::new(),
        })
    }

    fn wake(&self) {
        if let Some(t) = self.thread.get() {
            t.unpark();
        }
    }

    /// Runs `f` on this thread's rings for this pipeline, registering them
    /// first if need be; `None` when the thread is exiting or the pipeline
    /// has shut down.
    #[inline]
    fn with_local<R>(self: &Arc<Self>, f: impl FnOnce(&mut LocalRing) -> R) -> Option<R> {
        if self.closed.load(Ordering::Relaxed) {
            return None;
        }
        LOCAL
            .try_with(|local| {
                let mut local = local.try_borrow_mut().ok()?;
                let at = match local.iter().position(|r| r.handoff.id == self.id) {
                    Some(at) => at,
                    None => {
                        // Rings of pipelines that have shut down are let go.
                        local.retain(|r| !r.handoff.closed.load(Ordering::Relaxed));
                        local.push(self.register());
                        local.len() - 1
                    }
                };
                Some(f(&mut local[at]))
            })
            .ok()
            .flatten()
    }

    #[cold]
    fn register(self: &Arc<Self>) -> LocalRing {
        let (done_tx, done_rx) = RingBuffer::new(self.capacity);
        let (attributes_tx, attributes_rx) = RingBuffer::new(self.capacity * ATTRIBUTES_PER_SPAN);
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
        }
    }

    /// Hands a finished span over, moving it out of `span` (left blank, its
    /// list emptied with its capacity kept); false when this thread cannot
    /// (its ring is full, it is exiting, the pipeline has shut down), and
    /// `span` is untouched.
    #[inline]
    pub(crate) fn send(self: &Arc<Self>, span: &mut SpanData, times: Option<Times>) -> bool {
        self.with_local(|r| {
            let Ok(mut slot) = r.done.write_chunk_uninit(1) else {
                r.handoff.wake();
                return false;
            };
            let n = span.attributes.len();
            // The attributes go first, one after another, when they all fit;
            // else the list goes with the span.
            let moved = n > 0 && r.attributes.slots() >= n;
            if moved {
                for kv in span.attributes.drain(..) {
                    // Cannot fail: there was room for all of them.
                    let _ = r.attributes.push(kv);
                }
            }
            let list = if moved || n == 0 {
                std::mem::take(&mut span.attributes)
            } else {
                Vec::new()
            };
            let to = slot.as_mut_slices().0.as_mut_ptr().cast::<Finished>();
            // SAFETY: `to` is the uninitialized slot this chunk hands out;
            // the span's fields are copied there once, and `span` is then
            // overwritten (not dropped) with a blank, so each owned field
            // has one owner. The slot is committed only once written.
            unsafe {
                std::ptr::copy_nonoverlapping(span as *const SpanData, &raw mut (*to).span, 1);
                std::ptr::write(span as *mut SpanData, SpanData::blank_with_list(list));
                (&raw mut (*to).times).write(times);
                (&raw mut (*to).attributes).write(if moved { n as u32 } else { 0 });
                slot.commit(1);
            }
            r.pushes = r.pushes.wrapping_add(1);
            let cap = r.handoff.capacity;
            if r.pushes % CHECK_EVERY == 0 && r.done.slots() < cap - cap / 4 {
                r.handoff.wake();
            }
            true
        })
        .unwrap_or(false)
    }

    /// How many spans each ring holds now (the export thread takes these
    /// after draining the channel; see the module docs).
    pub(crate) fn count(&self) -> Vec<usize> {
        let rings = self.rings.lock().unwrap_or_else(|p| p.into_inner());
        rings.iter().map(|r| r.done.slots()).collect()
    }

    /// `queued`'s value (spans taken from the rings and from the channel)
    /// plus what the rings hold, read together, and what they hold.
    pub(crate) fn queued(&self, queued: &AtomicU64) -> (u64, usize) {
        let rings = self.rings.lock().unwrap_or_else(|p| p.into_inner());
        let waiting: usize = rings.iter().map(|r| r.done.slots()).sum();
        (queued.load(Ordering::Relaxed) + waiting as u64, waiting)
    }

    /// Takes up to `counts[i]` spans from ring `i` to `out`, each with its
    /// attributes in a list of its own, and forgets rings whose thread has
    /// exited once they are empty.
    /// `queued` counts them, under the same lock [`queued`](Self::queued) reads.
    pub(crate) fn take(
        &self,
        counts: &[usize],
        queued: &AtomicU64,
        lists: &mut Lists,
        mut out: impl FnMut(SpanData),
    ) {
        let mut rings = self.rings.lock().unwrap_or_else(|p| p.into_inner());
        let mut taken = 0;
        for (ring, &n) in rings.iter_mut().zip(counts) {
            for _ in 0..n {
                let Ok(Finished {
                    mut span,
                    times,
                    attributes,
                }) = ring.done.pop()
                else {
                    break;
                };
                fill_times(&mut span, times);
                if attributes > 0 {
                    let mut list = lists.take();
                    if let Some(code) = span.code.take() {
                        list.extend(code.attributes());
                    }
                    // Pushed before the span, so all there (read_chunk
                    // cannot fail).
                    match ring.attributes.read_chunk(attributes as usize) {
                        Ok(chunk) => list.extend(chunk),
                        Err(_) => debug_assert!(false, "a span's attributes are pushed before it"),
                    }
                    span.attributes = list;
                } else {
                    span.expand_code();
                }
                taken += 1;
                out(span);
            }
        }
        // One add for them all, still under the lock.
        queued.fetch_add(taken, Ordering::Relaxed);
        rings.retain(|r| {
            let gone = r.done.is_abandoned();
            // rtrb's advice: see the producer's last writes before looking.
            std::sync::atomic::fence(Ordering::Acquire);
            !(gone && r.done.is_empty())
        });
    }

    /// Refuses further spans (they take the channel, which counts them
    /// dropped once the export thread is gone).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
    }
}
