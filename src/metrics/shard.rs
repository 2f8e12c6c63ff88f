//! A histogram's per-thread parts: a thread that records into a histogram
//! series through its cache (`metrics.record(name, value, labels)`) writes
//! its own [`Shard`] with plain stores, no locked instruction (two per
//! record on the shared cell, the bucket's add and the sum's
//! compare-and-swap, and every load after one waits for it), and two
//! threads recording into one series touch no common cache line.
//!
//! Exact at every collection: a shard's only writer is its thread, which
//! brackets each record with a sequence count (odd while writing), and a
//! reader copies the shard again until it reads the same even count before
//! and after, so a record is in a collected value whole (bucket, sum, min
//! and max) or not at all. Readers hold the series' list of shards while
//! reading, and a shard leaves the list (its thread's cache let go of it, or
//! the thread ended) only under that lock, after its counts were added to
//! the series' shared cell: no record is lost or counted twice.
//!
//! Only histograms with up to 16 bounds (the default 15 included) have
//! shards; bound handles and the `metrics` facade record into the shared
//! cell, as do other threads' first records of a series (before their
//! cache holds it).

use std::sync::atomic::{fence, AtomicU64, Ordering};
use std::sync::{Arc, MutexGuard, PoisonError};

use super::series::{count16, Cell, Quad, Series};

/// Buckets of a histogram with up to 16 bounds.
const BUCKETS: usize = 17;

/// One thread's part of one histogram series.
#[repr(C, align(64))]
pub(crate) struct Shard {
    /// The series' bounds, padded with +inf to 16.
    bounds: [Quad; 4],
    /// Odd while the owning thread writes a record.
    seq: AtomicU64,
    sum: AtomicU64,
    min: AtomicU64,
    max: AtomicU64,
    buckets: [AtomicU64; BUCKETS],
}

/// A histogram's counts, sum, min and max, read whole.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HistogramRead {
    pub(crate) counts: Vec<u64>,
    pub(crate) sum: f64,
    /// +inf when empty.
    pub(crate) min: f64,
    /// -inf when empty.
    pub(crate) max: f64,
}

impl HistogramRead {
    fn add(&mut self, counts: &[u64], sum: f64, min: f64, max: f64) {
        for (c, n) in self.counts.iter_mut().zip(counts) {
            *c += n;
        }
        self.sum += sum;
        self.min = self.min.min(min);
        self.max = self.max.max(max);
    }
}

impl Shard {
    fn new(bounds: [Quad; 4]) -> Shard {
        Shard {
            bounds,
            seq: AtomicU64::new(0),
            sum: AtomicU64::new(0.0f64.to_bits()),
            min: AtomicU64::new(f64::INFINITY.to_bits()),
            max: AtomicU64::new(f64::NEG_INFINITY.to_bits()),
            buckets: Default::default(),
        }
    }

    /// Records `v` (finite). Only the owning thread calls this.
    #[inline(always)]
    pub(crate) fn observe(&self, v: f64) {
        let i = count16(&self.bounds, v).min(BUCKETS - 1);
        let s = self.seq.load(Ordering::Relaxed);
        let (sum, lo, hi) = (
            f64::from_bits(self.sum.load(Ordering::Relaxed)),
            f64::from_bits(self.min.load(Ordering::Relaxed)),
            f64::from_bits(self.max.load(Ordering::Relaxed)),
        );
        let bucket = &self.buckets[i];
        let n = bucket.load(Ordering::Relaxed);
        self.seq.store(s + 1, Ordering::Relaxed);
        // The odd count is seen before any of the record's stores.
        fence(Ordering::Release);
        bucket.store(n + 1, Ordering::Relaxed);
        self.sum.store((sum + v).to_bits(), Ordering::Relaxed);
        if v < lo {
            self.min.store(v.to_bits(), Ordering::Relaxed);
        }
        if v > hi {
            self.max.store(v.to_bits(), Ordering::Relaxed);
        }
        self.seq.store(s + 2, Ordering::Release);
    }

    /// A copy taken between two records (waits while one is being written).
    fn read(&self) -> ([u64; BUCKETS], f64, f64, f64) {
        loop {
            let before = self.seq.load(Ordering::Acquire);
            if before.is_multiple_of(2) {
                let counts = std::array::from_fn(|i| self.buckets[i].load(Ordering::Relaxed));
                let sum = f64::from_bits(self.sum.load(Ordering::Relaxed));
                let min = f64::from_bits(self.min.load(Ordering::Relaxed));
                let max = f64::from_bits(self.max.load(Ordering::Relaxed));
                fence(Ordering::Acquire);
                if self.seq.load(Ordering::Relaxed) == before {
                    return (counts, sum, min, max);
                }
            }
            std::thread::yield_now();
        }
    }
}

/// A thread cache's hold on its shard of a series: when the last of the
/// thread's entries holding it goes, the shard's counts move into the
/// series' shared cell and the shard leaves the series.
pub(crate) struct Lease {
    pub(crate) shard: Arc<Shard>,
    series: Arc<Series>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut shards = self.series.shard_list();
        // This thread is the shard's only writer, and it is here.
        let (counts, sum, min, max) = self.shard.read();
        if let Cell::Histogram {
            buckets,
            sum: total,
            min: lo,
            max: hi,
        } = &self.series.cell
        {
            for (b, n) in buckets.iter().zip(counts) {
                if n > 0 {
                    b.fetch_add(n, Ordering::Relaxed);
                }
            }
            total.add(sum);
            lo.update(|m| m.min(min));
            hi.update(|m| m.max(max));
        }
        shards.retain(|s| !Arc::ptr_eq(s, &self.shard));
    }
}

impl Series {
    /// The series' shards, locked: readers and a leaving shard take it.
    fn shard_list(&self) -> MutexGuard<'_, Vec<Arc<Shard>>> {
        self.shards.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new shard of this series for the calling thread's cache, if it is
    /// a histogram with up to 16 bounds (and not the overflow series, which
    /// is never cached).
    pub(crate) fn lease(self: &Arc<Series>) -> Option<Lease> {
        let bounds: [Quad; 4] = (*self.search).try_into().ok()?;
        if self.overflow || !matches!(self.cell, Cell::Histogram { .. }) {
            return None;
        }
        let shard = Arc::new(Shard::new(bounds));
        self.shard_list().push(Arc::clone(&shard));
        Some(Lease {
            shard,
            series: Arc::clone(self),
        })
    }

    /// A histogram's value: its shared cell and every shard, each shard
    /// whole. `None` for other types.
    pub(crate) fn histogram(&self) -> Option<HistogramRead> {
        let Cell::Histogram {
            buckets,
            sum,
            min,
            max,
        } = &self.cell
        else {
            return None;
        };
        let shards = self.shard_list();
        let mut out = HistogramRead {
            counts: buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect(),
            sum: sum.load(),
            min: min.load(),
            max: max.load(),
        };
        for s in shards.iter() {
            let (counts, sum, min, max) = s.read();
            out.add(&counts, sum, min, max);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::metrics::{FccMetrics, SeriesValue};

    type Read = (Vec<u64>, u64, f64, Option<f64>, Option<f64>);

    /// The one series of histogram "lat", once there is one.
    fn try_histogram(m: &FccMetrics) -> Option<Read> {
        let snap = m.snapshot();
        let f = snap.iter().find(|f| f.name == "lat")?;
        match &f.series.first()?.value {
            SeriesValue::Histogram {
                counts,
                count,
                sum,
                min,
                max,
                ..
            } => Some((counts.clone(), *count, *sum, *min, *max)),
            _ => unreachable!(),
        }
    }

    fn histogram(m: &FccMetrics) -> Read {
        try_histogram(m).expect("histogram lat")
    }

    #[test]
    fn records_on_many_threads_are_all_counted_whole_while_collected() {
        const THREADS: u64 = 4;
        const EACH: u64 = 20_000;
        let m = FccMetrics::builder().points_capacity(0).build();
        let done = std::sync::atomic::AtomicU64::new(0);
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let (m, done) = (m.clone(), &done);
                s.spawn(move || {
                    for i in 0..EACH {
                        // Every value is 1.0 or 1000.0: each record adds 1
                        // to the count and 1 or 1000 to the sum, in bucket
                        // 1 or 10.
                        let v = if (i + t) % 3 == 0 { 1000.0 } else { 1.0 };
                        m.record("lat", v, &[("k", "v")]).unwrap();
                    }
                    done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                });
            }
            // Collections meanwhile: every one whole.
            let mut last = 0;
            while done.load(std::sync::atomic::Ordering::Relaxed) < THREADS {
                let Some((counts, count, sum, _, _)) = try_histogram(&m) else {
                    continue;
                };
                assert_eq!(count, counts.iter().sum::<u64>());
                assert_eq!(sum, (counts[1] + 1000 * counts[10]) as f64, "a torn record");
                assert!(count >= last, "a record counted and then lost");
                last = count;
            }
        });
        let (counts, count, sum, min, max) = histogram(&m);
        assert_eq!(count, THREADS * EACH);
        assert_eq!(counts[1] + counts[10], THREADS * EACH);
        assert_eq!(sum, (counts[1] + 1000 * counts[10]) as f64);
        assert_eq!((min, max), (Some(1.0), Some(1000.0)));
        assert_eq!(m.total("lat"), sum);
    }

    #[test]
    fn facade_and_named_records_of_one_series_add_up() {
        let m = FccMetrics::builder().points_capacity(0).build();
        let recorder = crate::metrics::FccRecorder::new(m.clone());
        let facade = || {
            metrics::with_local_recorder(&recorder, || {
                metrics::histogram!("lat", "k" => "v").record(2.0);
            });
        };
        // The facade's entry (no shard) is found by the named method's
        // label set; the named site gets its own entry with a shard.
        facade();
        for _ in 0..3 {
            m.record("lat", 4.0, &[("k", "v")]).unwrap();
        }
        facade();
        let (counts, count, sum, min, max) = histogram(&m);
        assert_eq!((count, counts[1], sum), (5, 5, 16.0));
        assert_eq!((min, max), (Some(2.0), Some(4.0)));
    }

    #[test]
    fn a_shard_let_go_keeps_its_counts() {
        let m = FccMetrics::builder().points_capacity(0).build();
        std::thread::scope(|s| {
            s.spawn(|| {
                for _ in 0..10 {
                    m.record("lat", 3.0, &[]).unwrap();
                }
            });
        });
        // The thread ended: its cache let go of its shard.
        let (counts, count, sum, min, max) = histogram(&m);
        assert_eq!((count, counts[1], sum), (10, 10, 30.0));
        assert_eq!((min, max), (Some(3.0), Some(3.0)));
        m.record("lat", 7.0, &[]).unwrap();
        m.record("lat", 7.0, &[]).unwrap();
        let (_, count, sum, min, max) = histogram(&m);
        assert_eq!((count, sum, min, max), (12, 44.0, Some(3.0), Some(7.0)));
    }
}
