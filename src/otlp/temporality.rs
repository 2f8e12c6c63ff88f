//! Metrics temporality (`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`)
//! and, for delta, what the exporter remembers between exports.
//!
//! FccMetrics keeps running totals only. For a delta sum or histogram the
//! exporter subtracts the totals of the last export the collector accepted
//! (an export that failed is not remembered, so the next delta covers its
//! interval too and nothing is lost) and sends the difference, starting at
//! that export's time.

#[cfg(feature = "otlp")]
use std::collections::{BTreeMap, HashMap};
#[cfg(feature = "otlp")]
use std::time::SystemTime;

#[cfg(feature = "otlp")]
use crate::metrics::{MetricSnapshot, MetricType, SeriesValue};

/// Which sums and histograms are exported as deltas, as the OpenTelemetry
/// specification's `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` sets it
/// (case-insensitive; an unknown value is a warning and the default is used).
///
/// fcc exports UpDownCounters as gauges, and gauges have no temporality, so
/// only counters and histograms are concerned. Counters set to totals kept
/// elsewhere at each collection ([`FccMetrics::set_counter_total`]: fcc's
/// own health metrics, OTel observable counters) are fcc's asynchronous
/// counters; every other counter and every histogram is synchronous.
///
/// [`FccMetrics::set_counter_total`]: crate::metrics::FccMetrics::set_counter_total
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Temporality {
    /// `cumulative`, the default: every sum and histogram is the total since
    /// the exporter started.
    #[default]
    Cumulative,
    /// `delta`: counters (synchronous and asynchronous) and histograms are
    /// what changed since the last export; UpDownCounters stay cumulative.
    Delta,
    /// `lowmemory`: synchronous counters and histograms are delta;
    /// asynchronous counters and UpDownCounters stay cumulative.
    LowMemory,
}

impl Temporality {
    /// `cumulative`, `delta` or `lowmemory`, as in the variable.
    pub fn as_str(self) -> &'static str {
        match self {
            Temporality::Cumulative => "cumulative",
            Temporality::Delta => "delta",
            Temporality::LowMemory => "lowmemory",
        }
    }

    /// The preference named by `value`, in any case; `None` if unknown.
    pub(crate) fn parse(value: &str) -> Option<Temporality> {
        [
            Temporality::Cumulative,
            Temporality::Delta,
            Temporality::LowMemory,
        ]
        .into_iter()
        .find(|t| value.eq_ignore_ascii_case(t.as_str()))
    }

    /// Whether a metric of `kind` is exported as a delta; `fed_by_totals`:
    /// a counter set to totals at collection (an asynchronous counter).
    #[cfg(feature = "otlp")]
    pub(crate) fn is_delta(self, kind: MetricType, fed_by_totals: bool) -> bool {
        match (self, kind) {
            (Temporality::Cumulative, _) | (_, MetricType::Gauge) => false,
            (Temporality::Delta, _) | (Temporality::LowMemory, MetricType::Histogram) => true,
            (Temporality::LowMemory, MetricType::Counter) => !fed_by_totals,
        }
    }
}

/// One metric of an export, and whether its values are deltas.
#[cfg(feature = "otlp")]
pub(crate) struct Interval {
    pub(crate) metric: MetricSnapshot,
    pub(crate) delta: bool,
}

/// A series: its metric's name and its labels.
#[cfg(feature = "otlp")]
type Key = (String, BTreeMap<String, String>);

/// The totals of the last delivered export, for the delta metrics.
#[cfg(feature = "otlp")]
pub(crate) struct Deltas {
    /// When they were read (at first, when the exporter started): where the
    /// next delta interval starts.
    since: SystemTime,
    totals: HashMap<Key, SeriesValue>,
}

/// The totals an export was made from, remembered if it is delivered.
#[cfg(feature = "otlp")]
#[must_use]
pub(crate) struct Pending {
    at: SystemTime,
    totals: Vec<(Key, SeriesValue)>,
}

#[cfg(feature = "otlp")]
impl Deltas {
    pub(crate) fn new(start: SystemTime) -> Deltas {
        Deltas {
            since: start,
            totals: HashMap::new(),
        }
    }

    /// Where the delta points of the next export start.
    pub(crate) fn since(&self) -> SystemTime {
        self.since
    }

    /// The metrics of `snapshot` (read `at`) to export: those `delta`
    /// selects as what changed since the last delivered export (a series
    /// that did not change is left out, as the OTel SDK does), the others as
    /// they are; and the totals to remember once the export is delivered.
    pub(crate) fn intervals(
        &self,
        snapshot: Vec<MetricSnapshot>,
        delta: impl Fn(&MetricSnapshot) -> bool,
        at: SystemTime,
    ) -> (Vec<Interval>, Pending) {
        let mut totals = Vec::new();
        let intervals = snapshot
            .into_iter()
            .map(|mut metric| {
                let delta = delta(&metric);
                if delta {
                    let name = metric.name.clone();
                    metric.series.retain_mut(|s| {
                        let key = (name.clone(), s.labels.clone());
                        let change = change_since(&s.value, self.totals.get(&key));
                        totals.push((key, std::mem::replace(&mut s.value, change)));
                        changed(&s.value)
                    });
                }
                Interval { metric, delta }
            })
            .collect();
        (intervals, Pending { at, totals })
    }

    /// The export made with `pending` was delivered: the next deltas start there.
    pub(crate) fn delivered(&mut self, pending: Pending) {
        self.since = pending.at;
        self.totals.extend(pending.totals);
    }
}

/// `now` less `before` (the totals of the last delivered export, `None`
/// for a series new since). Totals only grow; should they not have (bounds
/// that differ), `now` is taken as all new.
#[cfg(feature = "otlp")]
fn change_since(now: &SeriesValue, before: Option<&SeriesValue>) -> SeriesValue {
    match (now, before) {
        (SeriesValue::Counter(n), Some(SeriesValue::Counter(b))) if n >= b => {
            SeriesValue::Counter(n - b)
        }
        (
            SeriesValue::Histogram {
                bounds,
                counts,
                count,
                sum,
                min,
                max,
            },
            Some(SeriesValue::Histogram {
                bounds: b_bounds,
                counts: b_counts,
                count: b_count,
                sum: b_sum,
                min: b_min,
                max: b_max,
            }),
        ) if bounds == b_bounds
            && counts.len() == b_counts.len()
            && counts.iter().zip(b_counts).all(|(n, b)| n >= b) =>
        {
            // fcc keeps only the all-time smallest and largest values: the
            // interval's are known only when it holds every observation or
            // when they moved during it (then they are its own). Otherwise
            // min and max are left out of the point, as OTLP allows.
            let moved = |now: &Option<f64>, before: &Option<f64>, past: fn(f64, f64) -> bool| match (
                now, before,
            ) {
                (Some(n), _) if *b_count == 0 => Some(*n),
                (Some(n), Some(b)) if past(*n, *b) => Some(*n),
                _ => None,
            };
            SeriesValue::Histogram {
                bounds: bounds.clone(),
                counts: counts.iter().zip(b_counts).map(|(n, b)| n - b).collect(),
                count: count.saturating_sub(*b_count),
                sum: sum - b_sum,
                min: moved(min, b_min, |n, b| n < b),
                max: moved(max, b_max, |n, b| n > b),
            }
        }
        _ => now.clone(),
    }
}

/// Whether a delta holds anything.
#[cfg(feature = "otlp")]
fn changed(delta: &SeriesValue) -> bool {
    match delta {
        SeriesValue::Counter(v) => *v != 0.0,
        SeriesValue::Histogram { count, .. } => *count > 0,
        SeriesValue::Gauge(_) => true,
    }
}

#[cfg(all(test, feature = "otlp"))]
mod tests {
    use super::*;
    use crate::metrics::FccMetrics;
    use std::time::Duration;

    fn counter(snapshot: &[Interval], name: &str) -> Option<f64> {
        let m = snapshot.iter().find(|i| i.metric.name == name)?;
        match m.metric.series.first()?.value {
            SeriesValue::Counter(v) => Some(v),
            _ => None,
        }
    }

    #[test]
    fn parsing_ignores_case_and_knows_three_names() {
        assert_eq!(Temporality::parse("DELTA"), Some(Temporality::Delta));
        assert_eq!(
            Temporality::parse("LowMemory"),
            Some(Temporality::LowMemory)
        );
        assert_eq!(
            Temporality::parse("cumulative"),
            Some(Temporality::Cumulative)
        );
        assert_eq!(Temporality::parse("low_memory"), None);
    }

    #[test]
    fn lowmemory_keeps_counters_fed_by_totals_cumulative() {
        use MetricType::*;
        let t = Temporality::LowMemory;
        assert!(t.is_delta(Counter, false) && t.is_delta(Histogram, false));
        assert!(!t.is_delta(Counter, true) && !t.is_delta(Gauge, false));
        assert!(Temporality::Delta.is_delta(Counter, true));
        assert!(!Temporality::Cumulative.is_delta(Histogram, false));
    }

    #[test]
    fn an_undelivered_export_is_covered_by_the_next_and_unchanged_series_are_left_out() {
        let m = FccMetrics::new();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        let mut d = Deltas::new(t0);
        m.add("a", 3.0, &[]).unwrap();
        m.add("b", 1.0, &[]).unwrap();
        let (first, delivered) = d.intervals(m.snapshot(), |_| true, t0 + Duration::from_secs(1));
        assert_eq!(
            (counter(&first, "a"), counter(&first, "b")),
            (Some(3.0), Some(1.0))
        );
        d.delivered(delivered);
        assert_eq!(d.since(), t0 + Duration::from_secs(1));
        m.add("a", 2.0, &[]).unwrap();
        let (second, lost) = d.intervals(m.snapshot(), |_| true, t0 + Duration::from_secs(2));
        assert_eq!(counter(&second, "a"), Some(2.0));
        assert_eq!(counter(&second, "b"), None, "b did not change");
        drop(lost); // not delivered
        m.add("a", 4.0, &[]).unwrap();
        let (third, _) = d.intervals(m.snapshot(), |_| true, t0 + Duration::from_secs(3));
        assert_eq!(counter(&third, "a"), Some(6.0));
        assert_eq!(d.since(), t0 + Duration::from_secs(1));
    }

    #[test]
    fn a_histogram_delta_has_the_interval_buckets_and_only_extremes_it_knows() {
        let m = FccMetrics::new();
        let t0 = SystemTime::UNIX_EPOCH;
        let mut d = Deltas::new(t0);
        for v in [3.0, 30.0] {
            m.record("h", v, &[]).unwrap();
        }
        let (_, delivered) = d.intervals(m.snapshot(), |_| true, t0);
        d.delivered(delivered);
        for v in [20.0, 300.0] {
            m.record("h", v, &[]).unwrap();
        }
        let (second, _) = d.intervals(m.snapshot(), |_| true, t0);
        let SeriesValue::Histogram {
            counts,
            count,
            sum,
            min,
            max,
            ..
        } = &second
            .iter()
            .find(|i| i.metric.name == "h")
            .unwrap()
            .metric
            .series[0]
            .value
        else {
            panic!()
        };
        assert_eq!((*count, *sum), (2, 320.0));
        assert_eq!(counts.iter().sum::<u64>(), 2);
        assert_eq!(
            (*min, *max),
            (None, Some(300.0)),
            "20 is not the all-time min"
        );
    }
}
