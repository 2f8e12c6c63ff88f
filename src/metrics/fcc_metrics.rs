//! [`FccMetrics`]: the seed's counters, gauges and histograms with their
//! queries (`points`, `total`, `snapshot`), recording into the registry
//! through the per-thread cache.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::cache::{Pin, Site};
use super::registry::{Registry, Update};
use super::ring::PointRing;
use super::*;
use std::panic::Location;

/// Counters, gauges and histograms with the seed's queries.
#[derive(Clone)]
pub struct FccMetrics {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) registry: Registry,
    pub(super) points: PointRing,
    pub(super) keep_points: bool,
    pub(super) rejected: Arc<AtomicU64>,
    pub(super) on_collect: Mutex<Vec<CollectHook>>,
}

/// Shared so that a collection can copy the list and run it outside the lock.
type CollectHook = Arc<dyn Fn(&FccMetrics) + Send + Sync>;

thread_local! {
    /// The FccMetrics (by address of their `Inner`) whose hooks this thread
    /// is running: a snapshot taken inside a hook does not run them again.
    static COLLECTING: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Counters of what FccMetrics refused or let go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MetricsStats {
    /// Values refused by handles (negative counter increments, NaN, infinities).
    pub rejected: u64,
    /// Values recorded into overflow series, over all metrics.
    pub overflowed: u64,
    /// Points the bounded log let go.
    pub dropped_points: u64,
    /// Metrics defined.
    pub metrics: usize,
}

/// Configures an [`FccMetrics`].
#[must_use]
pub struct FccMetricsBuilder {
    points: usize,
    cardinality_limit: usize,
}

impl FccMetricsBuilder {
    /// How many points [`FccMetrics::points`] keeps (0: none).
    pub fn points_capacity(mut self, n: usize) -> Self {
        self.points = n;
        self
    }
    /// Label sets per metric before values go to the overflow series.
    pub fn cardinality_limit(mut self, n: usize) -> Self {
        self.cardinality_limit = n;
        self
    }
    /// Builds it, with the seven predefined metrics declared.
    pub fn build(self) -> FccMetrics {
        let rejected = Arc::new(AtomicU64::new(0));
        let m = FccMetrics {
            inner: Arc::new(Inner {
                registry: Registry::new(self.cardinality_limit, Arc::clone(&rejected)),
                points: PointRing::new(self.points),
                keep_points: self.points > 0,
                rejected,
                on_collect: Mutex::new(Vec::new()),
            }),
        };
        predefined::declare(&m);
        m
    }
}

impl Default for FccMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for FccMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FccMetrics")
            .field("stats", &self.stats())
            .finish()
    }
}

#[inline(always)]
fn finite(name: &str, value: f64) -> Result<(), MetricError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(not_finite(name, value))
    }
}

#[cold]
#[inline(never)]
fn not_finite(name: &str, value: f64) -> MetricError {
    MetricError::NotFinite {
        name: name.to_owned(),
        value,
    }
}

impl FccMetrics {
    /// Keeps [`DEFAULT_POINTS_CAPACITY`] points, [`DEFAULT_CARDINALITY_LIMIT`] label sets per metric.
    pub fn new() -> FccMetrics {
        Self::builder().build()
    }

    /// Other sizes.
    pub fn builder() -> FccMetricsBuilder {
        FccMetricsBuilder {
            points: DEFAULT_POINTS_CAPACITY,
            cardinality_limit: DEFAULT_CARDINALITY_LIMIT,
        }
    }

    /// Declares a metric with its unit and description (optional: using a
    /// name declares it with neither). Histograms may give bucket boundaries.
    pub fn describe(
        &self,
        name: &str,
        metric_type: MetricType,
        unit: impl Into<Cow<'static, str>>,
        description: impl Into<Cow<'static, str>>,
        buckets: Option<&[f64]>,
    ) -> Result<(), MetricError> {
        self.inner
            .registry
            .declare(name, metric_type, unit.into(), description.into(), buckets)
            .map(drop)
    }

    // The named methods are always inlined: the thread cache's hit is a
    // few dozen instructions and everything else is a call. Left to the
    // compiler, `record` went out of line once the point ring's push grew,
    // and returned its `Result` through memory.

    /// Adds 1 to a counter.
    #[inline(always)]
    #[track_caller]
    pub fn increment(&self, name: &str, labels: &[(&str, &str)]) -> Result<(), MetricError> {
        self.update(name, MetricType::Counter, labels, Update::Count(1))
    }

    /// Adds `value` (not negative, finite) to a counter.
    #[inline]
    #[track_caller]
    pub fn add(&self, name: &str, value: f64, labels: &[(&str, &str)]) -> Result<(), MetricError> {
        finite(name, value)?;
        if value < 0.0 {
            return Err(MetricError::NegativeIncrement {
                name: name.to_owned(),
                value,
            });
        }
        let update = if value.fract() == 0.0 && value < u64::MAX as f64 {
            Update::Count(value as u64)
        } else {
            Update::Fraction(value)
        };
        self.update(name, MetricType::Counter, labels, update)
    }

    /// Sets a gauge (the seed's `observe`).
    #[inline(always)]
    #[track_caller]
    pub fn observe(
        &self,
        name: &str,
        value: f64,
        labels: &[(&str, &str)],
    ) -> Result<(), MetricError> {
        // A value that is not finite is refused past the hit, in `update_missed`.
        self.update(name, MetricType::Gauge, labels, Update::Set(value))
    }

    /// Records one observation in a histogram.
    #[inline(always)]
    #[track_caller]
    pub fn record(
        &self,
        name: &str,
        value: f64,
        labels: &[(&str, &str)],
    ) -> Result<(), MetricError> {
        // A value that is not finite is refused past the hit, in `update_missed`.
        self.update(name, MetricType::Histogram, labels, Update::Observe(value))
    }

    /// A counter bound to `labels`.
    pub fn counter(
        &self,
        name: &str,
        labels: &[(&str, &str)],
    ) -> Result<CounterHandle, MetricError> {
        let f = self.inner.registry.family(name, MetricType::Counter)?;
        Ok(CounterHandle {
            series: f.series(labels),
            rejected: Arc::clone(&self.inner.rejected),
        })
    }

    /// A gauge bound to `labels`.
    pub fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> Result<GaugeHandle, MetricError> {
        let f = self.inner.registry.family(name, MetricType::Gauge)?;
        Ok(GaugeHandle {
            series: f.series(labels),
            rejected: Arc::clone(&self.inner.rejected),
        })
    }

    /// A histogram bound to `labels`.
    pub fn histogram(
        &self,
        name: &str,
        labels: &[(&str, &str)],
    ) -> Result<HistogramHandle, MetricError> {
        let f = self.inner.registry.family(name, MetricType::Histogram)?;
        Ok(HistogramHandle {
            series: f.series(labels),
            rejected: Arc::clone(&self.inner.rejected),
        })
    }

    /// What every named method does after checking its value: apply it to
    /// the series, keep it as the exemplar inside a sampled span, log the point.
    #[inline(always)]
    #[track_caller]
    fn update(
        &self,
        name: &str,
        kind: MetricType,
        labels: &[(&str, &str)],
        update: Update,
    ) -> Result<(), MetricError> {
        let site = Site::caller(Location::caller());
        // One slow path for a miss and a refused value: with the value's
        // error made here too, the caller's drop of the `Result` became a
        // jump table on a tag stored to memory on every call.
        let hit = match update.value().is_finite() {
            true => self
                .inner
                .registry
                .hit(site, Pin::Args, name, kind, labels, update),
            false => None,
        };
        let Some(series) = hit else {
            return self.update_missed(site, name, kind, labels, update);
        };
        if self.inner.keep_points {
            self.inner.points.push(series, kind, update.value());
        }
        Ok(())
    }

    /// [`update`](Self::update) past the pinned hit, out of line: the hit
    /// returns the series' index in registers, not a `Result` in memory.
    #[inline(never)]
    fn update_missed(
        &self,
        site: Site,
        name: &str,
        kind: MetricType,
        labels: &[(&str, &str)],
        update: Update,
    ) -> Result<(), MetricError> {
        finite(name, update.value())?;
        let series = self
            .inner
            .registry
            .missed(site, Pin::Args, name, kind, labels, update)?;
        if self.inner.keep_points {
            self.inner.points.push(series, kind, update.value());
        }
        Ok(())
    }

    /// The kept points, oldest first (the seed's `metrics.points`).
    ///
    /// A point's timestamp comes from a millisecond clock that a background
    /// thread (`fcc-points-clock`) advances while points are being
    /// recorded, and that sleeps when none are: it is never later than the
    /// moment of recording and, unless the machine keeps that thread from
    /// running, at most about a millisecond earlier. Reading the CPU's
    /// clock for every point would cost as much as the rest of the point.
    pub fn points(&self) -> Vec<MetricPoint> {
        self.inner
            .points
            .points(&self.inner.registry.index, |_| true)
    }

    /// The kept points of one metric.
    pub fn points_by_name(&self, name: &str) -> Vec<MetricPoint> {
        self.inner
            .points
            .points(&self.inner.registry.index, |n| n == name)
    }

    /// The sum of every value ever recorded for `name` (counters: the count;
    /// gauges: the values set; histograms: the observations), exact however
    /// many points were let go. 0 for an unknown name.
    pub fn total(&self, name: &str) -> f64 {
        self.inner
            .registry
            .get(name)
            .map_or(0.0, |f| f.all_series().iter().map(|s| s.total()).sum())
    }

    /// Rejections, overflows and dropped points.
    pub fn stats(&self) -> MetricsStats {
        let families = self.inner.registry.all();
        MetricsStats {
            rejected: self.inner.rejected.load(Ordering::Relaxed),
            overflowed: families
                .iter()
                .map(|f| f.overflowed.load(Ordering::Relaxed))
                .sum(),
            dropped_points: self.inner.points.dropped(),
            metrics: families.len(),
        }
    }

    /// Which recorded values may become exemplars (default
    /// [`ExemplarFilter::TraceBased`]; `OTEL_METRICS_EXEMPLAR_FILTER`).
    pub fn set_exemplar_filter(&self, filter: ExemplarFilter) {
        self.inner.registry.exemplars.set_filter(filter);
    }

    /// The current value of every series of every metric (after running
    /// the [`on_collect`](Self::on_collect) hooks).
    ///
    /// Taken inside one of this FccMetrics' hooks, it does not run the hooks
    /// again (that would never end): it returns the values as they are at
    /// that moment.
    pub fn snapshot(&self) -> Vec<MetricSnapshot> {
        self.run_hooks();
        snapshot::take(&self.inner.registry)
    }

    /// Runs the hooks registered so far, holding no lock while they run:
    /// a hook may take a snapshot, register a hook or record values.
    fn run_hooks(&self) {
        let id = Arc::as_ptr(&self.inner) as usize;
        if COLLECTING.with(|c| c.borrow().contains(&id)) {
            return;
        }
        let hooks: Vec<CollectHook> = self
            .inner
            .on_collect
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if hooks.is_empty() {
            return;
        }
        /// Leaves the thread's list even when a hook panics.
        struct Running(usize);
        impl Drop for Running {
            fn drop(&mut self) {
                COLLECTING.with(|c| c.borrow_mut().retain(|&i| i != self.0));
            }
        }
        COLLECTING.with(|c| c.borrow_mut().push(id));
        let _running = Running(id);
        for h in &hooks {
            h(self);
        }
    }

    /// Counts a value refused on a path that returns no error (handles,
    /// bridges), in [`stats().rejected`](Self::stats).
    pub(crate) fn count_rejected(&self) {
        self.inner.rejected.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs `hook` before every snapshot (each export): for values read from
    /// elsewhere, such as fcc's own queue depths.
    ///
    /// Hooks run outside every lock, so a hook may record values, take a
    /// [`snapshot`](Self::snapshot) (which then runs no hook) or register
    /// another hook (which runs from the next collection on). Snapshots
    /// taken on several threads at once run the hooks on each of them
    /// concurrently.
    pub fn on_collect(&self, hook: impl Fn(&FccMetrics) + Send + Sync + 'static) {
        self.inner
            .on_collect
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Arc::new(hook));
    }

    /// Whether counter `name` has been set to totals kept elsewhere
    /// ([`set_counter_total`](Self::set_counter_total)): fcc's health
    /// metrics and OTel observable counters, read at each collection.
    #[cfg(feature = "otlp")]
    pub(crate) fn fed_by_totals(&self, name: &str) -> bool {
        self.inner
            .registry
            .get(name)
            .is_some_and(|f| f.fed_totals.load(Ordering::Relaxed))
    }

    /// Sets a counter to a running total kept elsewhere (a count read from
    /// another component). A total below the current value is ignored: a
    /// counter never goes down.
    #[track_caller]
    pub fn set_counter_total(
        &self,
        name: &str,
        total: u64,
        labels: &[(&str, &str)],
    ) -> Result<(), MetricError> {
        self.inner
            .registry
            .with_series(
                Site::caller(Location::caller()),
                Pin::Args,
                name,
                MetricType::Counter,
                labels,
                Update::RaiseTo(total),
            )
            .map(drop)
    }
}
