//! One series: a label set's atomic cell (a counter, a gauge or a
//! histogram's buckets, sum, min and max), updated without locks, and its
//! exemplar; a histogram's bucket search.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::exemplar::Exemplar;
use super::point::MetricType;

/// An `f64` updated atomically.
#[derive(Default)]
pub(crate) struct AtomicF64(pub(crate) AtomicU64);

impl AtomicF64 {
    pub(crate) fn new(v: f64) -> Self {
        AtomicF64(AtomicU64::new(v.to_bits()))
    }
    #[inline]
    pub(crate) fn load(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
    #[inline]
    pub(crate) fn store(&self, v: f64) {
        self.0.store(v.to_bits(), Ordering::Relaxed)
    }
    #[inline]
    pub(crate) fn add(&self, v: f64) {
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some((f64::from_bits(b) + v).to_bits())
            });
    }
    /// [`add`](Self::add), given a guess of the current bits (read early).
    #[inline]
    pub(crate) fn add_from(&self, mut current: u64, v: f64) {
        loop {
            let next = (f64::from_bits(current) + v).to_bits();
            match self
                .0
                .compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(now) => current = now,
            }
        }
    }
    #[inline]
    pub(crate) fn update(&self, f: impl Fn(f64) -> f64) {
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some(f(f64::from_bits(b)).to_bits())
            });
    }
}

/// The value of one series.
pub(crate) enum Cell {
    Counter {
        /// Whole increments (the fast path of handles).
        whole: AtomicU64,
        /// Fractional increments.
        fraction: AtomicF64,
    },
    Gauge {
        value: AtomicF64,
        /// Updates so far (0: never set).
        updates: AtomicU64,
        /// Every value set, summed (the seed's `total` for a gauge).
        observed: AtomicF64,
    },
    Histogram {
        /// Per bucket; the count is their sum (one atomic operation fewer).
        buckets: Box<[AtomicU64]>,
        sum: AtomicF64,
        min: AtomicF64,
        max: AtomicF64,
    },
}

impl Cell {
    pub(crate) fn new(kind: MetricType, bounds: &[f64]) -> Cell {
        match kind {
            MetricType::Counter => Cell::Counter {
                whole: AtomicU64::new(0),
                fraction: AtomicF64::new(0.0),
            },
            MetricType::Gauge => Cell::Gauge {
                value: AtomicF64::new(0.0),
                updates: AtomicU64::new(0),
                observed: AtomicF64::new(0.0),
            },
            MetricType::Histogram => Cell::Histogram {
                buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
                sum: AtomicF64::new(0.0),
                min: AtomicF64::new(f64::INFINITY),
                max: AtomicF64::new(f64::NEG_INFINITY),
            },
        }
    }
}

/// Four histogram boundaries, aligned for whole vector loads.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C, align(32))]
pub(crate) struct Quad(pub(crate) [f64; 4]);

/// A histogram's bounds as [`Series::search`] keeps them: padded with
/// +inf to a multiple of 4, and to 16 when fewer (the default 15 included),
/// so that the common case is one straight-line count.
pub(crate) fn search_bounds(bounds: &[f64]) -> Box<[Quad]> {
    let n = bounds.len().next_multiple_of(4).max(16);
    let mut q = vec![Quad([f64::INFINITY; 4]); n / 4];
    for (i, b) in bounds.iter().enumerate() {
        q[i / 4].0[i % 4] = *b;
    }
    q.into_boxed_slice()
}

/// The bucket of `v` (finite): bucket `i` holds `(bounds[i-1], bounds[i]]`,
/// the last one up to +inf, so `i` is the number of bounds below `v`.
/// Counting, not a binary search: no branch to mispredict and no chain of
/// dependent loads when values vary.
#[inline(always)]
pub(crate) fn bucket_of(search: &[Quad], v: f64) -> usize {
    match <&[Quad; 4]>::try_from(search) {
        Ok(sixteen) => count16(sixteen, v),
        Err(_) => count_any(search, v),
    }
}

fn count_any(search: &[Quad], v: f64) -> usize {
    search
        .iter()
        .map(|q| q.0.iter().map(|b| usize::from(*b < v)).sum::<usize>())
        .sum()
}

/// 16 bounds below `v`, in eight SSE2 compares: LLVM makes a chain of
/// scalar compares out of the plain loop over a fixed array.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn count16(q: &[Quad; 4], v: f64) -> usize {
    use std::arch::x86_64::{
        __m128i, _mm_add_epi64, _mm_castpd_si128, _mm_cmplt_pd, _mm_cvtsi128_si64, _mm_load_pd,
        _mm_set1_pd, _mm_unpackhi_epi64,
    };
    // SAFETY: SSE2 is part of the x86_64 baseline; every load reads two
    // `f64`s of a `Quad`, which is 32-byte aligned.
    unsafe {
        let x = _mm_set1_pd(v);
        // All ones (-1) per bound below `v`.
        let lt = |q: &Quad, at: usize| -> __m128i {
            _mm_castpd_si128(_mm_cmplt_pd(_mm_load_pd(q.0.as_ptr().add(at)), x))
        };
        let a = _mm_add_epi64(
            _mm_add_epi64(lt(&q[0], 0), lt(&q[0], 2)),
            _mm_add_epi64(lt(&q[1], 0), lt(&q[1], 2)),
        );
        let b = _mm_add_epi64(
            _mm_add_epi64(lt(&q[2], 0), lt(&q[2], 2)),
            _mm_add_epi64(lt(&q[3], 0), lt(&q[3], 2)),
        );
        let s = _mm_add_epi64(a, b);
        _mm_cvtsi128_si64(_mm_add_epi64(s, _mm_unpackhi_epi64(s, s))).wrapping_neg() as usize
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub(crate) fn count16(q: &[Quad; 4], v: f64) -> usize {
    count_any(q, v)
}

/// One label set of one metric.
pub(crate) struct Series {
    pub(crate) labels: Box<[(Box<str>, Box<str>)]>,
    pub(crate) cell: Cell,
    /// The first value recorded through a named method inside a sampled
    /// span since the collection numbered `exemplar_epoch` (kept until
    /// replaced).
    pub(crate) exemplar: std::sync::Mutex<Option<Exemplar>>,
    pub(crate) exemplar_epoch: AtomicU64,
    /// Histogram boundaries (empty for other types) padded with +inf to a
    /// multiple of 4, and up to 16 to 16, for the bucket search (no value is
    /// above +inf): see [`bucket_of`].
    pub(crate) search: Box<[Quad]>,
    /// Where refused values are counted (the owning FccMetrics' counter).
    pub(crate) rejected: Arc<AtomicU64>,
    /// The overflow series (never cached per thread: reaching it is counted).
    pub(crate) overflow: bool,
    /// Its place in the registry's [`SeriesIndex`] (how a point names it).
    pub(crate) index: u64,
    /// A histogram's per-thread parts (see [`super::shard`]).
    pub(crate) shards: std::sync::Mutex<Vec<Arc<super::shard::Shard>>>,
}

impl Series {
    /// Adds to a counter (`n` whole, `f` fractional).
    #[inline]
    pub(crate) fn count(&self, n: u64) {
        if let Cell::Counter { whole, .. } = &self.cell {
            whole.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Raises a counter to `total` (never lowers it).
    pub(crate) fn raise_to(&self, total: u64) {
        if let Cell::Counter { whole, .. } = &self.cell {
            whole.fetch_max(total, Ordering::Relaxed);
        }
    }

    #[inline]
    pub(crate) fn add_fraction(&self, v: f64) {
        if let Cell::Counter { fraction, .. } = &self.cell {
            fraction.add(v);
        }
    }

    #[inline]
    pub(crate) fn set(&self, v: f64) {
        if let Cell::Gauge {
            value,
            updates,
            observed,
        } = &self.cell
        {
            value.store(v);
            updates.fetch_add(1, Ordering::Relaxed);
            observed.add(v);
        }
    }

    pub(crate) fn gauge_add(&self, delta: f64) {
        if let Cell::Gauge {
            value,
            updates,
            observed,
        } = &self.cell
        {
            value.add(delta);
            updates.fetch_add(1, Ordering::Relaxed);
            observed.add(value.load());
        }
    }

    #[inline(always)]
    pub(crate) fn observe(&self, v: f64) {
        if let Cell::Histogram {
            buckets,
            sum,
            min,
            max,
        } = &self.cell
        {
            // The words the CAS and the min/max checks need, read before
            // the bucket's locked add (after it they would wait for it).
            let (s, lo, hi) = (sum.0.load(Ordering::Relaxed), min.load(), max.load());
            let i = bucket_of(&self.search, v);
            if let Some(b) = buckets.get(i) {
                b.fetch_add(1, Ordering::Relaxed);
            }
            sum.add_from(s, v);
            if v < lo {
                min.update(|m| m.min(v));
            }
            if v > hi {
                max.update(|m| m.max(v));
            }
        }
    }

    /// [`observe`](Self::observe) as a call: a named method's record
    /// reaches the shared cell only without a shard (more than 16 bounds, or
    /// not cached), and inlined there it made the shard's path a call too.
    #[inline(never)]
    pub(crate) fn observe_out_of_line(&self, v: f64) {
        self.observe(v);
    }

    /// The seed's total for this series: counter value, sum of gauge values,
    /// sum of observations.
    pub(crate) fn total(&self) -> f64 {
        match &self.cell {
            Cell::Counter { whole, fraction } => {
                whole.load(Ordering::Relaxed) as f64 + fraction.load()
            }
            Cell::Gauge { observed, .. } => observed.load(),
            Cell::Histogram { .. } => self.histogram().map_or(0.0, |h| h.sum),
        }
    }

    pub(crate) fn matches(&self, labels: &[(&str, &str)]) -> bool {
        self.labels.len() == labels.len()
            && labels.iter().all(|(k, v)| {
                self.labels
                    .iter()
                    .any(|(sk, sv)| **sk == **k && **sv == **v)
            })
    }
}

#[cfg(test)]
mod bucket_tests {
    use super::{bucket_of, search_bounds};

    /// The vector count (16 bounds or fewer) and the general count agree
    /// with the definition, the number of bounds below the value, for
    /// values on, between, below and above the bounds; a value equal to a
    /// bound falls in the bucket that bound closes.
    #[test]
    fn the_bucket_is_the_number_of_bounds_below_the_value() {
        let default = [
            0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 25.0,
        ];
        let sets: Vec<Vec<f64>> = vec![
            vec![],
            vec![1.0],
            vec![-1.0, 0.0, 1.0],
            default.to_vec(),
            (0..16).map(|i| i as f64).collect(),
            (0..17).map(|i| i as f64 * 0.5).collect(),
            (0..40).map(|i| (i as f64 - 20.0) * 3.0).collect(),
        ];
        for bounds in &sets {
            let search = search_bounds(bounds);
            let mut values = vec![f64::MIN, -1e300, -0.0, 0.0, 1e300, f64::MAX];
            for b in bounds {
                values.extend([*b, b - 1e-9, b + 1e-9, b.next_down(), b.next_up()]);
            }
            for v in values {
                let want = bounds.iter().filter(|b| **b < v).count();
                assert_eq!(bucket_of(&search, v), want, "value {v} in {bounds:?}");
            }
        }
    }
}
