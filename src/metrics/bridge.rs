//! The `metrics` crate bridge: any library's `metrics::counter!("x", "k" =>
//! "v").increment(1)` lands in an [`FccMetrics`], its queries and its OTLP
//! export.
//!
//! ```
//! use fcc::metrics::{FccMetrics, FccRecorder};
//!
//! let fcc = FccMetrics::new();
//! let recorder = FccRecorder::new(fcc.clone());
//! metrics::with_local_recorder(&recorder, || {
//!     metrics::counter!("jobs.done", "queue" => "high").increment(3);
//!     metrics::gauge!("jobs.waiting").set(12.0);
//!     metrics::histogram!("job.duration").record(0.25);
//! });
//! assert_eq!(fcc.total("jobs.done"), 3.0);
//! assert_eq!(fcc.total("job.duration"), 0.25);
//! ```
//!
//! A name that is not a valid OTel instrument name, or one already used as
//! another type, gets a handle that does nothing; the refusal is counted in
//! [`MetricsStats::rejected`](super::MetricsStats).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, SharedString, Unit};

use super::cache::{Pin, Site, CACHED_LABELS};
use super::registry::{Fetch, Series};
use super::{FccMetrics, MetricType};

/// A `metrics::Recorder` writing into an [`FccMetrics`].
#[derive(Clone, Debug)]
pub struct FccRecorder {
    metrics: FccMetrics,
}

impl FccRecorder {
    /// Records into `metrics`.
    pub fn new(metrics: FccMetrics) -> FccRecorder {
        FccRecorder { metrics }
    }

    /// Installs a recorder for `metrics` as the process-wide `metrics` recorder.
    pub fn install(metrics: FccMetrics) -> Result<(), String> {
        metrics::set_global_recorder(FccRecorder::new(metrics))
            .map_err(|_| "a global `metrics` recorder is already installed".to_owned())
    }

    fn reject(&self) {
        self.metrics.inner.rejected.fetch_add(1, Ordering::Relaxed);
    }

    fn describe(
        &self,
        key: KeyName,
        kind: MetricType,
        unit: Option<Unit>,
        description: SharedString,
    ) {
        let unit = unit.map_or("", |u| u.as_canonical_label());
        if self
            .metrics
            .describe(key.as_str(), kind, unit, description.into_owned(), None)
            .is_err()
        {
            self.reject();
        }
    }
}

impl metrics::Recorder for FccRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(key, MetricType::Counter, unit, description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(key, MetricType::Gauge, unit, description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(key, MetricType::Histogram, unit, description);
    }

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        match self.series(key, MetricType::Counter) {
            Some(s) => Counter::from_arc(s),
            None => Counter::noop(),
        }
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        match self.series(key, MetricType::Gauge) {
            Some(s) => Gauge::from_arc(s),
            None => Gauge::noop(),
        }
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        match self.series(key, MetricType::Histogram) {
            Some(s) => Histogram::from_arc(s),
            None => Histogram::noop(),
        }
    }
}

impl FccRecorder {
    /// The series itself is the `metrics` handle: registering costs a
    /// lookup and a reference count, no allocation. The key's hash (computed
    /// once for a macro's static key) picks the thread cache's slot, as a
    /// call site does for `increment`; a static key is recognised by its
    /// address, any other key's labels are compared.
    #[inline(always)]
    fn series(&self, key: &Key, kind: MetricType) -> Option<Arc<Series>> {
        // A macro's static key, seen before on this thread: found by its
        // address, nothing compared (see `Pin::Key`).
        let hit = self.metrics.inner.registry.pinned_hit(
            Site::hashed(key.get_hash()),
            key_pin(key),
            kind,
            Fetch,
        );
        if hit.is_some() {
            return hit;
        }
        self.series_by_labels(key, kind)
    }

    /// Any other key: its labels are compared (out of line, so that the
    /// pinned hit above stays small).
    #[inline(never)]
    fn series_by_labels(&self, key: &Key, kind: MetricType) -> Option<Arc<Series>> {
        // On the stack, sized to the key (filling a 16-pair buffer for 3
        // labels cost more than the lookup).
        match key.labels().len() {
            0..=4 => self.fetch_n::<4>(key, kind),
            5..=CACHED_LABELS => self.fetch_n::<CACHED_LABELS>(key, kind),
            _ => {
                let all: Vec<(&str, &str)> = key.labels().map(|l| (l.key(), l.value())).collect();
                self.fetch(key, kind, &all)
            }
        }
    }

    #[inline(always)]
    fn fetch_n<const N: usize>(&self, key: &Key, kind: MetricType) -> Option<Arc<Series>> {
        let mut buf = [("", ""); N];
        let mut n = 0;
        for (slot, l) in buf.iter_mut().zip(key.labels()) {
            *slot = (l.key(), l.value());
            n += 1;
        }
        self.fetch(key, kind, &buf[..n])
    }

    #[inline(always)]
    fn fetch(&self, key: &Key, kind: MetricType, labels: &[(&str, &str)]) -> Option<Arc<Series>> {
        let site = Site::hashed(key.get_hash());
        match self.metrics.inner.registry.with_series(
            site,
            key_pin(key),
            key.name(),
            kind,
            labels,
            Fetch,
        ) {
            Ok(s) => Some(s),
            Err(_) => {
                self.reject();
                None
            }
        }
    }
}

/// A key stands for its name and labels by its address when it lies in the
/// read-only image (a `metrics` macro's `static` key).
#[inline(always)]
fn key_pin(key: &Key) -> Pin {
    Pin::Key(std::ptr::from_ref(key) as usize, std::mem::size_of::<Key>())
}

impl metrics::CounterFn for Series {
    fn increment(&self, value: u64) {
        self.count(value);
    }
    fn absolute(&self, value: u64) {
        self.raise_to(value);
    }
}

impl metrics::GaugeFn for Series {
    fn increment(&self, value: f64) {
        self.gauge_add_checked(value);
    }
    fn decrement(&self, value: f64) {
        self.gauge_add_checked(-value);
    }
    fn set(&self, value: f64) {
        if value.is_finite() {
            Series::set(self, value);
        } else {
            self.rejected.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl metrics::HistogramFn for Series {
    fn record(&self, value: f64) {
        if value.is_finite() {
            self.observe(value);
        } else {
            self.rejected.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Series {
    fn gauge_add_checked(&self, delta: f64) {
        if delta.is_finite() {
            self.gauge_add(delta);
        } else {
            self.rejected.fetch_add(1, Ordering::Relaxed);
        }
    }
}
