//! The seed's `points` list as a bounded ring of plain values: a recorded
//! point costs a ticket (one atomic add), a load of the points' clock
//! ([`clock`]: its timestamp, to about a millisecond) and seven word stores,
//! no allocation and no lock. [`FccMetrics::points`](super::FccMetrics::points)
//! turns the last `capacity` of them into [`MetricPoint`]s.
//!
//! Each slot is a sequence lock: its writer, ticket `t`, stores `2t + 1`,
//! the words, then `2t + 2`; a reader keeps a slot only when it reads
//! `2t + 2` before and after the words (a point still being written is not
//! yet recorded; its `increment` has not returned). Slots are handed out in
//! ticket order, so ticket `t` writes its slot only after ticket
//! `t - slots` (a whole lap earlier) has finished with it: no two writers
//! ever share a slot, however late one of them is.
//!
//! Overflow: the ring has at least `capacity` slots and keeps the newest
//! `capacity` points; every point past them is let go and counted
//! (`MetricsStats::dropped_points` = points recorded - `capacity`, exact).

use std::sync::atomic::{fence, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use super::clock;
use super::point::{MetricPoint, MetricType};
use super::registry::Series;
use crate::{SpanId, Timestamp, TraceId};

struct Slot {
    seq: AtomicU64,
    /// The series' index in the registry's list, and the type in the top bits.
    series: AtomicU64,
    value: AtomicU64,
    /// Microseconds since the Unix epoch ([`clock`]).
    at: AtomicU64,
    trace_hi: AtomicU64,
    trace_lo: AtomicU64,
    span: AtomicU64,
}

impl Default for Slot {
    fn default() -> Self {
        Slot {
            seq: AtomicU64::new(0),
            series: AtomicU64::new(0),
            value: AtomicU64::new(0),
            at: AtomicU64::new(0),
            trace_hi: AtomicU64::new(0),
            trace_lo: AtomicU64::new(0),
            span: AtomicU64::new(0),
        }
    }
}

/// Waits until the writer a lap ahead of us in `slot` has finished.
#[cold]
#[inline(never)]
fn wait_for(slot: &Slot, before: u64) {
    while slot.seq.load(Ordering::Acquire) != before {
        std::thread::yield_now();
    }
}

/// Every series of a registry by index, for the ring's points (series are
/// never removed).
#[derive(Default)]
pub(crate) struct SeriesIndex(RwLock<Vec<(Arc<str>, Arc<Series>)>>);

impl SeriesIndex {
    /// Adds the series `make` builds given its index.
    pub(crate) fn add(&self, name: &Arc<str>, make: impl FnOnce(u64) -> Series) -> Arc<Series> {
        let mut v = self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let s = Arc::new(make(v.len() as u64));
        v.push((Arc::clone(name), Arc::clone(&s)));
        s
    }
}

pub(crate) struct PointRing {
    capacity: u64,
    slots: OnceLock<Box<[Slot]>>,
    /// Tickets handed out: points recorded so far.
    next: AtomicU64,
}

impl PointRing {
    pub(crate) fn new(capacity: usize) -> PointRing {
        PointRing {
            capacity: capacity as u64,
            slots: OnceLock::new(),
            next: AtomicU64::new(0),
        }
    }

    /// A power of two (the slot is `ticket & mask`, no division), at least
    /// `capacity` and 1,024 (a writer a lap behind is then very rare).
    #[cold]
    fn make_slots(&self) -> &[Slot] {
        self.slots.get_or_init(|| {
            let n = (self.capacity as usize).max(1024).next_power_of_two();
            (0..n).map(|_| Slot::default()).collect()
        })
    }

    /// Records a point of series `series` (an index in the [`SeriesIndex`]).
    #[inline]
    pub(crate) fn push(&self, series: u64, kind: MetricType, value: f64) {
        let at = clock::now_micros();
        let slots = match self.slots.get() {
            Some(slots) => slots,
            None => self.make_slots(),
        };
        let t = self.next.fetch_add(1, Ordering::Relaxed);
        let size = slots.len() as u64;
        let slot = &slots[(t & (size - 1)) as usize];
        // The previous ticket of this slot, a lap ago, must have finished.
        let before = if t >= size { 2 * (t - size) + 2 } else { 0 };
        if slot.seq.load(Ordering::Acquire) != before {
            wait_for(slot, before);
        }
        if t.is_multiple_of(clock::CHECK_EVERY) {
            clock::check();
        }
        let (trace, span) =
            crate::trace::current_ids().map_or((0, 0), |(t, s, _)| (t.get(), s.get()));
        slot.seq.store(2 * t + 1, Ordering::Relaxed);
        fence(Ordering::Release);
        slot.series
            .store(series | (kind as u64) << 62, Ordering::Relaxed);
        slot.value.store(value.to_bits(), Ordering::Relaxed);
        slot.at.store(at, Ordering::Relaxed);
        slot.trace_hi.store((trace >> 64) as u64, Ordering::Relaxed);
        slot.trace_lo.store(trace as u64, Ordering::Relaxed);
        slot.span.store(span, Ordering::Relaxed);
        slot.seq.store(2 * t + 2, Ordering::Release);
    }

    /// Points let go: recorded beyond the newest `capacity`.
    pub(crate) fn dropped(&self) -> u64 {
        self.next
            .load(Ordering::Acquire)
            .saturating_sub(self.capacity)
    }

    /// The kept points, oldest first, that `keep` accepts by name.
    pub(crate) fn points(
        &self,
        index: &SeriesIndex,
        keep: impl Fn(&str) -> bool,
    ) -> Vec<MetricPoint> {
        let Some(slots) = self.slots.get() else {
            return Vec::new();
        };
        let end = self.next.load(Ordering::Acquire);
        let start = end.saturating_sub(self.capacity);
        let series = index
            .0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mask = slots.len() as u64 - 1;
        let mut out = Vec::with_capacity((end - start) as usize);
        for t in start..end {
            let slot = &slots[(t & mask) as usize];
            if slot.seq.load(Ordering::Acquire) != 2 * t + 2 {
                continue; // still being written, or already replaced
            }
            let at = slot.at.load(Ordering::Relaxed);
            let words = [
                slot.series.load(Ordering::Relaxed),
                slot.value.load(Ordering::Relaxed),
                slot.trace_hi.load(Ordering::Relaxed),
                slot.trace_lo.load(Ordering::Relaxed),
                slot.span.load(Ordering::Relaxed),
            ];
            fence(Ordering::Acquire);
            if slot.seq.load(Ordering::Relaxed) != 2 * t + 2 {
                continue;
            }
            let [s, value, hi, lo, span] = words;
            let Some((name, series)) = series.get((s & !(3 << 62)) as usize) else {
                continue;
            };
            if !keep(name) {
                continue;
            }
            let kind = match s >> 62 {
                0 => MetricType::Counter,
                1 => MetricType::Gauge,
                _ => MetricType::Histogram,
            };
            let mut p = MetricPoint::new(name.to_string(), f64::from_bits(value), kind);
            p.timestamp = Timestamp::from_unix_micros(at as i64);
            p.labels = series
                .labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            p.trace_id = TraceId::new(u128::from(hi) << 64 | u128::from(lo));
            p.span_id = SpanId::new(span);
            out.push(p);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::metrics::{FccMetrics, MetricType};

    #[test]
    fn the_ring_keeps_the_newest_points_in_order_and_counts_the_rest() {
        let m = FccMetrics::builder().points_capacity(3).build();
        for i in 0..10 {
            m.record("lat", f64::from(i), &[("k", "v")]).unwrap();
        }
        let p = m.points();
        let values: Vec<f64> = p.iter().map(|p| p.value).collect();
        assert_eq!(values, [7.0, 8.0, 9.0]);
        assert!(p.iter().all(|p| p.metric_type == MetricType::Histogram));
        assert_eq!(p[0].labels["k"], "v");
        assert_eq!(m.stats().dropped_points, 7);
        // Totals stay exact whatever the ring let go.
        assert_eq!(m.total("lat"), 45.0);
        // Past a whole lap of the ring's slots (1,024 at least).
        for _ in 0..3000 {
            m.increment("c", &[]).unwrap();
        }
        assert_eq!(m.points_by_name("c").len(), 3);
        assert_eq!(m.stats().dropped_points, 3007);
    }

    #[test]
    fn points_from_many_threads_are_all_kept_and_whole() {
        let m = FccMetrics::builder().points_capacity(40_000).build();
        std::thread::scope(|s| {
            for t in 0..4 {
                let m = m.clone();
                s.spawn(move || {
                    let name = format!("t{t}");
                    for i in 0..10_000 {
                        m.observe(&name, f64::from(i), &[("thread", &name)])
                            .unwrap();
                    }
                });
            }
        });
        let p = m.points();
        assert_eq!(p.len(), 40_000);
        assert_eq!(m.stats().dropped_points, 0);
        for t in 0..4 {
            let name = format!("t{t}");
            let mine: Vec<f64> = p
                .iter()
                .filter(|p| p.name == name)
                .map(|p| p.value)
                .collect();
            assert_eq!(mine, (0..10_000).map(f64::from).collect::<Vec<_>>());
            assert!(p
                .iter()
                .filter(|p| p.name == name)
                .all(|p| p.labels["thread"] == name));
        }
    }

    #[test]
    fn points_are_stamped_when_recorded_never_later() {
        let m = FccMetrics::new();
        let mut bounds = Vec::new();
        // Far apart (the points' clock may sleep: the system clock), then
        // back to back (it ticks).
        for i in 0..2000 {
            let before = crate::Timestamp::now();
            m.increment("c", &[]).unwrap();
            bounds.push((before, crate::Timestamp::now()));
            if i < 3 {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
        let points = m.points();
        assert_eq!(points.len(), bounds.len());
        for (p, (before, after)) in points.iter().zip(bounds) {
            assert!(p.timestamp <= after, "stamped after it was recorded");
            // Generous: a loaded machine delays the clock's thread.
            assert!(
                p.timestamp.unix_micros() + 5_000_000 >= before.unix_micros(),
                "stamped long before it was recorded"
            );
        }
    }

    #[test]
    fn a_point_in_a_span_carries_its_ids() {
        let m = FccMetrics::new();
        let tracer = crate::FccTracer::new("t");
        let _span = tracer.span("s");
        m.increment("c", &[]).unwrap();
        let p = &m.points()[0];
        assert!(p.trace_id.is_some() && p.span_id.is_some());
    }
}
