//! The current state of every series, for exporters.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use super::registry::{Cell, Registry};
use super::MetricType;

/// One metric's series as they are now.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct MetricSnapshot {
    /// The metric.
    pub name: String,
    /// Its type.
    pub metric_type: MetricType,
    /// Its unit (UCUM, as OTel), possibly empty.
    pub unit: String,
    /// Its description, possibly empty.
    pub description: String,
    /// One entry per label set.
    pub series: Vec<SeriesSnapshot>,
}

/// One label set's value.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SeriesSnapshot {
    /// The labels, sorted.
    pub labels: BTreeMap<String, String>,
    /// The value.
    pub value: SeriesValue,
    /// The last value recorded inside a sampled span, if any.
    pub exemplar: Option<super::Exemplar>,
}

/// A series' value by metric type.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum SeriesValue {
    /// The running total.
    Counter(f64),
    /// The last value set (`None`: never set).
    Gauge(Option<f64>),
    /// The distribution.
    Histogram {
        /// Upper bounds of the buckets but the last (which is +inf).
        bounds: Vec<f64>,
        /// Observations per bucket (`bounds.len() + 1` of them).
        counts: Vec<u64>,
        /// Observations.
        count: u64,
        /// Their sum.
        sum: f64,
        /// The smallest (`None` when empty).
        min: Option<f64>,
        /// The largest.
        max: Option<f64>,
    },
}

pub(super) fn take(registry: &Registry) -> Vec<MetricSnapshot> {
    registry.exemplars.epoch.fetch_add(1, Ordering::Relaxed);
    registry
        .all()
        .into_iter()
        .map(|f| MetricSnapshot {
            name: f.name.to_string(),
            metric_type: f.kind,
            unit: f.unit.to_string(),
            description: f.description.to_string(),
            series: f
                .all_series()
                .iter()
                .map(|s| SeriesSnapshot {
                    exemplar: s.exemplar.lock().ok().and_then(|e| e.clone()),
                    labels: s
                        .labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                    value: match &s.cell {
                        Cell::Counter { .. } => SeriesValue::Counter(s.total()),
                        Cell::Gauge { value, updates, .. } => SeriesValue::Gauge(
                            (updates.load(Ordering::Relaxed) > 0).then(|| value.load()),
                        ),
                        Cell::Histogram { .. } => {
                            let h = s.histogram().unwrap_or_else(|| unreachable!());
                            // A bound handle's record (the shared cell) may
                            // show its bucket before its sum, min and max.
                            let seen = |v: f64| v.is_finite().then_some(v);
                            SeriesValue::Histogram {
                                bounds: f.bounds.to_vec(),
                                count: h.counts.iter().sum(),
                                counts: h.counts,
                                sum: h.sum,
                                min: seen(h.min),
                                max: seen(h.max),
                            }
                        }
                    },
                })
                .collect(),
        })
        .collect()
}
