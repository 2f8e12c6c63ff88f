//! Bound handles: a metric and a label set looked up once, then updated in a
//! few nanoseconds (metrics-rs style).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::registry::Series;

/// A counter bound to one label set. Cheap to clone; send it anywhere.
///
/// ```
/// let metrics = fcc::metrics::FccMetrics::new();
/// let requests = metrics.counter("http.requests", &[("route", "/")]).unwrap();
/// requests.increment(1);
/// requests.increment(2);
/// assert_eq!(metrics.total("http.requests"), 3.0);
/// ```
#[derive(Clone)]
pub struct CounterHandle {
    pub(crate) series: Arc<Series>,
    pub(crate) rejected: Arc<AtomicU64>,
}

impl CounterHandle {
    /// Adds a whole number: one atomic add.
    #[inline]
    pub fn increment(&self, n: u64) {
        self.series.count(n);
    }

    /// Adds any non-negative finite amount; anything else is rejected and
    /// counted ([`MetricsStats::rejected`](super::MetricsStats)).
    #[inline]
    pub fn add(&self, v: f64) {
        if v.is_finite() && v >= 0.0 {
            if v.fract() == 0.0 && v < u64::MAX as f64 {
                self.series.count(v as u64);
            } else {
                self.series.add_fraction(v);
            }
        } else {
            self.rejected.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A gauge bound to one label set.
#[derive(Clone)]
pub struct GaugeHandle {
    pub(crate) series: Arc<Series>,
    pub(crate) rejected: Arc<AtomicU64>,
}

impl GaugeHandle {
    /// Sets the value; NaN and infinities are rejected and counted.
    #[inline]
    pub fn set(&self, v: f64) {
        if v.is_finite() {
            self.series.set(v);
        } else {
            self.rejected.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Adds `delta` (negative to lower it); non-finite deltas are rejected.
    #[inline]
    pub fn add(&self, delta: f64) {
        if delta.is_finite() {
            self.series.gauge_add(delta);
        } else {
            self.rejected.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A histogram bound to one label set.
#[derive(Clone)]
pub struct HistogramHandle {
    pub(crate) series: Arc<Series>,
    pub(crate) rejected: Arc<AtomicU64>,
}

impl HistogramHandle {
    /// Records one observation; NaN and infinities are rejected and counted.
    #[inline]
    pub fn record(&self, v: f64) {
        if v.is_finite() {
            self.series.observe(v);
        } else {
            self.rejected.fetch_add(1, Ordering::Relaxed);
        }
    }
}
