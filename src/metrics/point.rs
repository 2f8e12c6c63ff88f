//! [`MetricPoint`], [`MetricType`] and the errors of recording.

use std::collections::BTreeMap;
use std::fmt;

use crate::{SpanId, Timestamp, TraceId};

/// Counter, gauge or histogram (the seed's `metric_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MetricType {
    /// Monotonically increasing.
    Counter,
    /// A point-in-time value.
    Gauge,
    /// A distribution.
    Histogram,
}

impl MetricType {
    /// `"counter"`, `"gauge"` or `"histogram"`.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
        }
    }
}

impl fmt::Display for MetricType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One recorded value (the seed's `MetricPoint`).
///
/// ```
/// use fcc::metrics::{MetricPoint, MetricType};
/// let point = MetricPoint::new("fcc.simulation.step", 1.0, MetricType::Counter)
///     .label("node_id", "N1")
///     .label("step", "3");
/// assert_eq!(point.labels["step"], "3");
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct MetricPoint {
    /// The metric.
    pub name: String,
    /// The increment, the gauge value or the observation.
    pub value: f64,
    /// Counter, gauge or histogram.
    pub metric_type: MetricType,
    /// The label set, sorted by key.
    pub labels: BTreeMap<String, String>,
    /// When it was recorded. For the points [`FccMetrics`](super::FccMetrics)
    /// keeps: to about a millisecond, never later (see
    /// [`FccMetrics::points`](super::FccMetrics::points)).
    pub timestamp: Timestamp,
    /// The trace current when it was recorded (an exemplar's link), if any.
    pub trace_id: Option<TraceId>,
    /// The span current when it was recorded, if any.
    pub span_id: Option<SpanId>,
}

impl MetricPoint {
    /// A point recorded now, with no labels and no trace.
    pub fn new(name: impl Into<String>, value: f64, metric_type: MetricType) -> MetricPoint {
        MetricPoint {
            name: name.into(),
            value,
            metric_type,
            labels: BTreeMap::new(),
            timestamp: Timestamp::now(),
            trace_id: None,
            span_id: None,
        }
    }

    /// Adds a label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> MetricPoint {
        self.labels.insert(key.into(), value.into());
        self
    }
}

/// Why a value was not recorded. Nothing was changed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MetricError {
    /// Not a valid OTel instrument name: a letter, then up to 254 letters,
    /// digits, `_`, `.`, `-` or `/`.
    InvalidName {
        /// The name given.
        name: String,
    },
    /// The name is already a metric of another type.
    TypeConflict {
        /// The metric.
        name: String,
        /// Its type.
        existing: MetricType,
        /// The type asked for.
        requested: MetricType,
    },
    /// A counter only goes up.
    NegativeIncrement {
        /// The counter.
        name: String,
        /// The increment given.
        value: f64,
    },
    /// NaN or an infinity.
    NotFinite {
        /// The metric.
        name: String,
        /// The value given.
        value: f64,
    },
}

impl fmt::Display for MetricError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetricError::InvalidName { name } => write!(
                f,
                "invalid metric name {name:?}: expected a letter, then up to 254 letters, digits, `_`, `.`, `-` or `/`"
            ),
            MetricError::TypeConflict {
                name,
                existing,
                requested,
            } => write!(f, "metric {name:?} is a {existing}, not a {requested}"),
            MetricError::NegativeIncrement { name, value } => {
                write!(f, "counter {name:?} cannot go down: increment {value}")
            }
            MetricError::NotFinite { name, value } => {
                write!(f, "metric {name:?}: {value} is not a finite number")
            }
        }
    }
}

impl std::error::Error for MetricError {}

/// The OTel instrument-name rule.
pub(crate) fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 255
        && b[0].is_ascii_alphabetic()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-' | b'/'))
}
