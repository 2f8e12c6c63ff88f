//! fcc as the global OpenTelemetry `MeterProvider`: instruments from
//! `global::meter("lib")` record into an [`FccMetrics`] and leave through its
//! pipeline (OTLP, Prometheus, console, JSON) with their names, units and
//! descriptions.
//!
//! | OTel instrument | fcc metric |
//! |---|---|
//! | `Counter`, `ObservableCounter` | counter (a monotonic sum) |
//! | `UpDownCounter`, `ObservableUpDownCounter` | gauge (its current value) |
//! | `Gauge`, `ObservableGauge` | gauge |
//! | `Histogram` | histogram (the builder's boundaries, if given) |
//!
//! Observable instruments' callbacks run before each collection (export,
//! snapshot). Attribute values become label strings. A measurement fcc
//! refuses (a negative counter increment, NaN, a name already used as another
//! type) is counted in `FccMetrics::stats().rejected`, never a panic.

use std::borrow::Cow;
use std::sync::Arc;

use opentelemetry::metrics::{
    AsyncInstrument, AsyncInstrumentBuilder, Counter, Gauge, Histogram, HistogramBuilder,
    InstrumentBuilder, InstrumentProvider, Meter, ObservableCounter, ObservableGauge,
    ObservableUpDownCounter, SyncInstrument, UpDownCounter,
};
use opentelemetry::{InstrumentationScope, KeyValue, Value};

use crate::metrics::{FccMetrics, MetricType};

/// The OpenTelemetry `MeterProvider` backed by an [`FccMetrics`].
///
/// ```
/// use opentelemetry::metrics::MeterProvider as _;
///
/// let metrics = fcc::FccMetrics::new();
/// let meter = fcc::otel::FccMeterProvider::new(metrics.clone()).meter("my-lib");
/// let requests = meter.u64_counter("http.requests").with_unit("{request}").build();
/// requests.add(2, &[opentelemetry::KeyValue::new("route", "/users")]);
/// assert_eq!(metrics.total("http.requests"), 2.0);
/// ```
#[derive(Clone, Debug)]
pub struct FccMeterProvider {
    metrics: FccMetrics,
}

impl FccMeterProvider {
    /// A provider whose meters record into `metrics`.
    pub fn new(metrics: FccMetrics) -> FccMeterProvider {
        FccMeterProvider { metrics }
    }
}

impl opentelemetry::metrics::MeterProvider for FccMeterProvider {
    fn meter_with_scope(&self, _scope: InstrumentationScope) -> Meter {
        Meter::new(Arc::new(Instruments {
            metrics: self.metrics.clone(),
        }))
    }
}

struct Instruments {
    metrics: FccMetrics,
}

#[derive(Clone, Copy)]
enum Op {
    Add,
    GaugeAdd,
    Set,
    Record,
    /// An observed cumulative total.
    Total,
}

/// One instrument: its name and what a measurement does.
struct Instrument {
    metrics: FccMetrics,
    name: Arc<str>,
    op: Op,
}

impl Instrument {
    fn apply(&self, value: f64, attributes: &[KeyValue]) {
        let strings: Vec<Cow<'_, str>> = attributes.iter().map(|kv| label(&kv.value)).collect();
        let labels: Vec<(&str, &str)> = attributes
            .iter()
            .zip(&strings)
            .map(|(kv, v)| (kv.key.as_str(), v.as_ref()))
            .collect();
        let m = &self.metrics;
        let name = &*self.name;
        let result = match self.op {
            Op::Add => m.add(name, value, &labels),
            Op::GaugeAdd => m.gauge(name, &labels).map(|g| g.add(value)),
            Op::Set => m.observe(name, value, &labels),
            Op::Record => m.record(name, value, &labels),
            Op::Total if value.is_finite() && value >= 0.0 => {
                m.set_counter_total(name, value.round() as u64, &labels)
            }
            Op::Total => m.add(name, value, &labels),
        };
        if result.is_err() {
            // Refused (negative increment, NaN, a name of another type): counted.
            m.count_rejected();
        }
    }
}

fn label(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => Cow::Borrowed(s.as_str()),
        other => Cow::Owned(other.to_string()),
    }
}

macro_rules! sync_instrument {
    ($($t:ty),*) => {$(
        impl SyncInstrument<$t> for Instrument {
            fn measure(&self, measurement: $t, attributes: &[KeyValue]) {
                self.apply(measurement as f64, attributes);
            }
        }
        impl AsyncInstrument<$t> for Instrument {
            fn observe(&self, measurement: $t, attributes: &[KeyValue]) {
                self.apply(measurement as f64, attributes);
            }
        }
    )*};
}
sync_instrument!(u64, i64, f64);

impl Instruments {
    fn instrument(
        &self,
        name: &str,
        kind: MetricType,
        unit: &Option<Cow<'static, str>>,
        description: &Option<Cow<'static, str>>,
        buckets: Option<&[f64]>,
        op: Op,
    ) -> Arc<Instrument> {
        let _ = self.metrics.describe(
            name,
            kind,
            unit.clone().unwrap_or_default(),
            description.clone().unwrap_or_default(),
            buckets,
        );
        Arc::new(Instrument {
            metrics: self.metrics.clone(),
            name: Arc::from(name),
            op,
        })
    }

    fn sync<T>(&self, b: &InstrumentBuilder<'_, T>, kind: MetricType, op: Op) -> Arc<Instrument> {
        self.instrument(&b.name, kind, &b.unit, &b.description, None, op)
    }

    fn histogram<T>(&self, b: &HistogramBuilder<'_, T>) -> Arc<Instrument> {
        let buckets = b.boundaries.as_deref();
        self.instrument(
            &b.name,
            MetricType::Histogram,
            &b.unit,
            &b.description,
            buckets,
            Op::Record,
        )
    }

    fn observable<I, M: 'static>(
        &self,
        b: AsyncInstrumentBuilder<'_, I, M>,
        kind: MetricType,
        op: Op,
    ) where
        Instrument: AsyncInstrument<M>,
    {
        let instrument = self.instrument(&b.name, kind, &b.unit, &b.description, None, op);
        let callbacks = b.callbacks;
        self.metrics.on_collect(move |_| {
            for callback in &callbacks {
                // A panicking callback must not stop collection.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    callback(&*instrument as &dyn AsyncInstrument<M>)
                }));
            }
        });
    }
}

impl InstrumentProvider for Instruments {
    fn u64_counter(&self, b: InstrumentBuilder<'_, Counter<u64>>) -> Counter<u64> {
        Counter::new(self.sync(&b, MetricType::Counter, Op::Add))
    }
    fn f64_counter(&self, b: InstrumentBuilder<'_, Counter<f64>>) -> Counter<f64> {
        Counter::new(self.sync(&b, MetricType::Counter, Op::Add))
    }
    fn u64_observable_counter(
        &self,
        b: AsyncInstrumentBuilder<'_, ObservableCounter<u64>, u64>,
    ) -> ObservableCounter<u64> {
        self.observable(b, MetricType::Counter, Op::Total);
        ObservableCounter::new()
    }
    fn f64_observable_counter(
        &self,
        b: AsyncInstrumentBuilder<'_, ObservableCounter<f64>, f64>,
    ) -> ObservableCounter<f64> {
        self.observable(b, MetricType::Counter, Op::Total);
        ObservableCounter::new()
    }
    fn i64_up_down_counter(
        &self,
        b: InstrumentBuilder<'_, UpDownCounter<i64>>,
    ) -> UpDownCounter<i64> {
        UpDownCounter::new(self.sync(&b, MetricType::Gauge, Op::GaugeAdd))
    }
    fn f64_up_down_counter(
        &self,
        b: InstrumentBuilder<'_, UpDownCounter<f64>>,
    ) -> UpDownCounter<f64> {
        UpDownCounter::new(self.sync(&b, MetricType::Gauge, Op::GaugeAdd))
    }
    fn i64_observable_up_down_counter(
        &self,
        b: AsyncInstrumentBuilder<'_, ObservableUpDownCounter<i64>, i64>,
    ) -> ObservableUpDownCounter<i64> {
        self.observable(b, MetricType::Gauge, Op::Set);
        ObservableUpDownCounter::new()
    }
    fn f64_observable_up_down_counter(
        &self,
        b: AsyncInstrumentBuilder<'_, ObservableUpDownCounter<f64>, f64>,
    ) -> ObservableUpDownCounter<f64> {
        self.observable(b, MetricType::Gauge, Op::Set);
        ObservableUpDownCounter::new()
    }
    fn u64_gauge(&self, b: InstrumentBuilder<'_, Gauge<u64>>) -> Gauge<u64> {
        Gauge::new(self.sync(&b, MetricType::Gauge, Op::Set))
    }
    fn f64_gauge(&self, b: InstrumentBuilder<'_, Gauge<f64>>) -> Gauge<f64> {
        Gauge::new(self.sync(&b, MetricType::Gauge, Op::Set))
    }
    fn i64_gauge(&self, b: InstrumentBuilder<'_, Gauge<i64>>) -> Gauge<i64> {
        Gauge::new(self.sync(&b, MetricType::Gauge, Op::Set))
    }
    fn u64_observable_gauge(
        &self,
        b: AsyncInstrumentBuilder<'_, ObservableGauge<u64>, u64>,
    ) -> ObservableGauge<u64> {
        self.observable(b, MetricType::Gauge, Op::Set);
        ObservableGauge::new()
    }
    fn i64_observable_gauge(
        &self,
        b: AsyncInstrumentBuilder<'_, ObservableGauge<i64>, i64>,
    ) -> ObservableGauge<i64> {
        self.observable(b, MetricType::Gauge, Op::Set);
        ObservableGauge::new()
    }
    fn f64_observable_gauge(
        &self,
        b: AsyncInstrumentBuilder<'_, ObservableGauge<f64>, f64>,
    ) -> ObservableGauge<f64> {
        self.observable(b, MetricType::Gauge, Op::Set);
        ObservableGauge::new()
    }
    fn f64_histogram(&self, b: HistogramBuilder<'_, Histogram<f64>>) -> Histogram<f64> {
        Histogram::new(self.histogram(&b))
    }
    fn u64_histogram(&self, b: HistogramBuilder<'_, Histogram<u64>>) -> Histogram<u64> {
        Histogram::new(self.histogram(&b))
    }
}
