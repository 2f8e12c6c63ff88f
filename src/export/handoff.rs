//! Finished spans go to the export thread through a ring of this thread's
//! own, not one channel send per span.
//!
//! Each thread that ends spans for a pipeline gets two single-producer
//! single-consumer rings ([`rtrb`]) with the export thread: `done` carries
//! finished spans' boxes to it, `spare` brings the emptied boxes back (with
//! their attribute list's capacity), so a span in a steady stream allocates
//! nothing and frees nothing. Both hold as many as the pipeline's queue
//! (`OTEL_BSP_MAX_QUEUE_SIZE`, at most 65,536): a thread keeps at most as
//! many spare boxes (about 250 bytes each, plus their lists) as it had spans
//! in flight at once, until it exits. A push is a plain store and a release store:
//! no atomic read-modify-write, no lock, no system call. The export thread
//! drains every registered ring on its poll, when a ring is a quarter full
//! (the producer wakes it), on flush and at shutdown; a ring whose thread
//! has exited is drained and then forgotten, so no span is lost with its
//! thread. When a ring is full the span takes the shared channel, as every
//! span did before, where a full queue drops it and counts it.
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
use crate::trace::SpanData;

/// Most finished spans a thread hands over before the export thread drains
/// them (less when the pipeline's queue is smaller: a thread never holds
/// more than `OTEL_BSP_MAX_QUEUE_SIZE`).
const MAX_DONE: usize = 1 << 16;
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
/// not have its times yet.
struct Finished(Box<SpanData>, Option<Times>);

struct WorkerRing {
    done: Consumer<Finished>,
    spare: Producer<Box<SpanData>>,
}

struct LocalRing {
    handoff: Arc<Handoff>,
    done: Producer<Finished>,
    spare: Consumer<Box<SpanData>>,
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
        let (spare_tx, spare_rx) = RingBuffer::new(self.capacity);
        let mut rings = self.rings.lock().unwrap_or_else(|p| p.into_inner());
        rings.push(WorkerRing {
            done: done_rx,
            spare: spare_tx,
        });
        LocalRing {
            handoff: Arc::clone(self),
            done: done_tx,
            spare: spare_rx,
            pushes: 0,
        }
    }

    /// An empty span box for this thread: one given back by the export
    /// thread, else a new one.
    #[inline]
    pub(crate) fn span_box(self: &Arc<Self>) -> Box<SpanData> {
        self.with_local(|r| r.spare.pop().ok())
            .flatten()
            .unwrap_or_else(|| Box::new(blank()))
    }

    /// Hands a finished span over; gives it back when this thread cannot
    /// (its ring is full, it is exiting, the pipeline has shut down).
    #[inline]
    pub(crate) fn send(
        self: &Arc<Self>,
        span: Box<SpanData>,
        times: Option<Times>,
    ) -> Result<(), (Box<SpanData>, Option<Times>)> {
        let mut span = Some(Finished(span, times));
        let sent = self.with_local(|r| {
            let Some(s) = span.take() else { return false };
            match r.done.push(s) {
                Ok(()) => {
                    r.pushes = r.pushes.wrapping_add(1);
                    let cap = r.handoff.capacity;
                    if r.pushes % CHECK_EVERY == 0 && r.done.slots() < cap - cap / 4 {
                        r.handoff.wake();
                    }
                    true
                }
                Err(rtrb::PushError::Full(s)) => {
                    span = Some(s);
                    r.handoff.wake();
                    false
                }
            }
        });
        match (sent, span) {
            (Some(true), _) => Ok(()),
            (_, Some(Finished(s, t))) => Err((s, t)),
            // Unreachable: a span not sent is still in `span`.
            (_, None) => Ok(()),
        }
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

    /// Takes up to `counts[i]` spans from ring `i` to `out`, gives their
    /// boxes back emptied, and forgets rings whose thread has exited once
    /// they are empty.
    /// `queued` counts them, under the same lock [`queued`](Self::queued) reads.
    pub(crate) fn take(
        &self,
        counts: &[usize],
        queued: &AtomicU64,
        lists: &mut Lists,
        mut out: impl FnMut(SpanData),
    ) {
        let mut rings = self.rings.lock().unwrap_or_else(|p| p.into_inner());
        for (ring, &n) in rings.iter_mut().zip(counts) {
            for _ in 0..n {
                let Ok(Finished(mut b, times)) = ring.done.pop() else {
                    break;
                };
                fill_times(&mut b, times);
                queued.fetch_add(1, Ordering::Relaxed);
                let mut span = std::mem::replace(&mut *b, blank());
                // The list's capacity goes back with the box; the span keeps
                // its own copy only when it has attributes.
                if span.attributes.is_empty() {
                    b.attributes = std::mem::take(&mut span.attributes);
                } else {
                    b.attributes = lists.take();
                }
                out(span);
                // A full spare ring (the thread made more boxes than its
                // ring holds): the box is freed here.
                let _ = ring.spare.push(b);
            }
        }
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

/// What a recycled box holds between spans: [`SpanData::new`]'s defaults.
fn blank() -> SpanData {
    let one = crate::SpanId::new(1).expect("1 is non-zero");
    SpanData::new(
        one,
        crate::TraceId::new(1).expect("1 is non-zero"),
        "",
        std::time::UNIX_EPOCH,
    )
}
