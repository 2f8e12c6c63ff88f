//! Exemplars: one recorded value per series and collection, linking the
//! series to the trace it was recorded in, chosen by an [`ExemplarFilter`]
//! (`OTEL_METRICS_EXEMPLAR_FILTER`).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};

use super::registry::Series;

/// A value kept for a series, with the span current when it was recorded.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Exemplar {
    /// The value recorded.
    pub value: f64,
    /// When.
    pub timestamp: std::time::SystemTime,
    /// The trace current then (none for a value recorded outside a span
    /// under [`ExemplarFilter::AlwaysOn`]).
    pub trace_id: Option<crate::TraceId>,
    /// The span current then.
    pub span_id: Option<crate::SpanId>,
}

/// Which recorded values may become exemplars, as the OpenTelemetry
/// metrics SDK defines it (`OTEL_METRICS_EXEMPLAR_FILTER`).
///
/// ```
/// use fcc::metrics::{ExemplarFilter, FccMetrics};
///
/// let metrics = FccMetrics::new();
/// metrics.set_exemplar_filter(ExemplarFilter::AlwaysOn);
/// metrics.record("latency", 2.0, &[]).unwrap(); // outside any span
/// let snapshot = metrics.snapshot();
/// let latency = snapshot.iter().find(|f| f.name == "latency").unwrap();
/// let exemplar = latency.series[0].exemplar.as_ref().unwrap();
/// assert_eq!((exemplar.value, exemplar.trace_id), (2.0, None));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExemplarFilter {
    /// Every value may be one (`always_on`).
    AlwaysOn,
    /// None (`always_off`).
    AlwaysOff,
    /// Values recorded inside a sampled span (`trace_based`, the default).
    #[default]
    TraceBased,
}

impl ExemplarFilter {
    /// `always_on`, `always_off` or `trace_based` (case-insensitive).
    pub fn parse(value: &str) -> Option<ExemplarFilter> {
        match value.trim().to_ascii_lowercase().as_str() {
            "always_on" => Some(ExemplarFilter::AlwaysOn),
            "always_off" => Some(ExemplarFilter::AlwaysOff),
            "trace_based" => Some(ExemplarFilter::TraceBased),
            _ => None,
        }
    }

    fn from_u8(v: u8) -> ExemplarFilter {
        match v {
            0 => ExemplarFilter::AlwaysOn,
            1 => ExemplarFilter::AlwaysOff,
            _ => ExemplarFilter::TraceBased,
        }
    }

    fn as_u8(self) -> u8 {
        match self {
            ExemplarFilter::AlwaysOn => 0,
            ExemplarFilter::AlwaysOff => 1,
            ExemplarFilter::TraceBased => 2,
        }
    }
}

/// A registry's filter and its count of collections (each collection
/// starts a new exemplar period).
pub(crate) struct ExemplarState {
    pub(crate) epoch: AtomicU64,
    filter: AtomicU8,
}

impl Default for ExemplarState {
    fn default() -> Self {
        ExemplarState {
            epoch: AtomicU64::new(1),
            filter: AtomicU8::new(ExemplarFilter::TraceBased.as_u8()),
        }
    }
}

impl ExemplarState {
    pub(crate) fn filter(&self) -> ExemplarFilter {
        ExemplarFilter::from_u8(self.filter.load(Ordering::Relaxed))
    }

    pub(crate) fn set_filter(&self, filter: ExemplarFilter) {
        if filter == ExemplarFilter::AlwaysOn {
            ALWAYS_ON_SOMEWHERE.store(true, Ordering::Relaxed);
        }
        self.filter.store(filter.as_u8(), Ordering::Relaxed);
    }
}

/// Set (for good) once any registry's filter is [`ExemplarFilter::AlwaysOn`]:
/// until then an update outside a sampled span is done with the exemplar
/// after two plain loads (this and the thread's sampled-span flag), with no
/// look at its registry's filter.
static ALWAYS_ON_SOMEWHERE: AtomicBool = AtomicBool::new(false);

impl Series {
    /// Keeps `value` as the exemplar when the filter lets it (by default:
    /// a sampled span is current) and this series has none since the last
    /// collection. So a series updated inside spans pays the lock and the
    /// clock once per export interval, not on every update.
    #[inline(always)]
    pub(crate) fn maybe_exemplar(&self, state: &ExemplarState, value: f64) {
        if crate::trace::in_sampled_span() || ALWAYS_ON_SOMEWHERE.load(Ordering::Relaxed) {
            self.exemplar_check(state, value);
        }
    }

    /// Whether `value` may be the exemplar under the registry's filter,
    /// and this series has none in this period yet.
    #[inline(always)]
    fn exemplar_check(&self, state: &ExemplarState, value: f64) {
        let eligible = match state.filter.load(Ordering::Relaxed) {
            2 => crate::trace::in_sampled_span(),
            0 => true,
            _ => false,
        };
        if eligible {
            let epoch = state.epoch.load(Ordering::Relaxed);
            if self.exemplar_epoch.load(Ordering::Relaxed) != epoch {
                self.take_exemplar(epoch, value, state.filter());
            }
        }
    }

    #[cold]
    fn take_exemplar(&self, epoch: u64, value: f64, filter: ExemplarFilter) {
        let (trace_id, span_id) = match crate::trace::current_ids() {
            Some((t, s, true)) => (Some(t), Some(s)),
            _ if filter == ExemplarFilter::AlwaysOn => (None, None),
            _ => return,
        };
        // Another thread may be here too; the last one's value stays.
        if let Ok(mut e) = self.exemplar.try_lock() {
            *e = Some(Exemplar {
                value,
                timestamp: std::time::SystemTime::now(),
                trace_id,
                span_id,
            });
            self.exemplar_epoch.store(epoch, Ordering::Relaxed);
        }
    }
}
