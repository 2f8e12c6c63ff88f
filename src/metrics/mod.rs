//! Metrics: [`FccMetrics`], [`MetricPoint`], bound handles and the seed's
//! seven predefined metrics.
//!
//! # A tour
//!
//! ```
//! use fcc::metrics::FccMetrics;
//!
//! let metrics = FccMetrics::new();
//!
//! // The seed's convenience methods...
//! metrics.record_simulation_step(3, "N1");
//! metrics.record_gate_result("G-SEC-01", true);
//! metrics.record_ai_call("anthropic", "claude-3", 1200.0, 850);
//!
//! // ... generic operations ...
//! metrics.increment("my.custom.counter", &[("env", "prod")]).unwrap();
//! metrics.observe("my.custom.gauge", 42.0, &[("env", "prod")]).unwrap();
//! metrics.record("my.custom.latency", 12.5, &[("env", "prod")]).unwrap();
//!
//! // ... and queries.
//! assert_eq!(metrics.total("fcc.simulation.step"), 1.0);
//! assert_eq!(metrics.points_by_name("my.custom.gauge")[0].value, 42.0);
//!
//! // The fast path: look a label set up once, then update in nanoseconds.
//! let steps = metrics.counter("fcc.simulation.step", &[("node_id", "N1"), ("step", "4")]).unwrap();
//! steps.increment(1);
//! assert_eq!(metrics.total("fcc.simulation.step"), 2.0);
//! ```
//!
//! Values live in atomic cells, one per label set; totals are exact forever.
//! The seed's `points` list keeps the values recorded through the named
//! methods (`increment`, `add`, `observe`, `record` and the convenience
//! methods; handles update the cells only), the newest 10,000 by default, in
//! a ring of plain values (no allocation per point; `points()` builds the
//! [`MetricPoint`]s). Points past the capacity are let go and counted:
//! `stats().dropped_points` is exactly the points recorded minus the
//! capacity. A point's labels are its series' (sorted, one pair per key; a
//! value past the cardinality limit shows the overflow label).
//!
//! # Why not the OTel SDK's `MeterProvider`
//!
//! The plan was one SDK instrument per metric. fcc keeps its own cells and
//! encodes OTLP itself ([`crate::otlp::OtlpMetricsExporter`]), for two reasons
//! measured and read in `opentelemetry_sdk` 0.33:
//!
//! - **Speed.** The SDK's `Counter::add` with 3 attributes costs about 100 ns
//!   here and `Histogram::record` about 130 ns. The targets are 5 ns for a
//!   bound handle, 20 ns for dynamic labels and 25 ns for a histogram record.
//!   fcc's cells: 2 ns, under 10 ns for a static label set (about 20 for
//!   one built at run time, compared string by string) and 10 ns
//!   (`benches/metrics.rs`).
//! - **No way in.** The SDK's exported data (`ResourceMetrics`, `Metric`,
//!   `HistogramDataPoint`) has crate-private fields and no constructors, so
//!   values kept elsewhere cannot be handed to its exporters. Observable
//!   instruments would cover counters and gauges, but the OTel API has no
//!   observable histogram.
//!
//! What a user sees is the same as through the SDK: the same OTLP messages
//! (cumulative sums, gauges, explicit-bucket histograms with unit,
//! description, exemplars and the resource), sent every
//! `OTEL_METRIC_EXPORT_INTERVAL` over the tracer's OTLP set-up and tested
//! against a real OTLP receiver.
//!
//! # Bad input
//!
//! | input | answer |
//! |---|---|
//! | a name that is not an OTel instrument name | `MetricError::InvalidName` |
//! | one name used as two types | `MetricError::TypeConflict` |
//! | a negative counter increment | `MetricError::NegativeIncrement` (handles: counted in `stats().rejected`) |
//! | NaN or an infinity | `MetricError::NotFinite` (handles: counted) |
//! | more label sets than the limit (2,000 per metric, as the OTel SDK) | recorded in one overflow series labelled `otel.metric.overflow=true`, counted in `stats().overflowed` |
//!
//! Nothing is changed by a rejected value.
//!
//! # Exemplars
//!
//! A value recorded through a named method while a sampled span is current
//! (the [`ExemplarFilter`], `OTEL_METRICS_EXEMPLAR_FILTER`, can make it every
//! value, or none) can become its series' exemplar, exported over OTLP with the trace and
//! span id; the point in the log carries the ids too. A series takes one
//! exemplar per collection (the first value inside a sampled span after each
//! snapshot or export) and keeps it until the next, so updates inside spans
//! stay as cheap as outside. Handles skip this to stay at one atomic
//! operation.
//!
//! **Imports** (the table in ARCHITECTURE.md, checked by
//! `tests/it/import_direction.rs`): only `event`, `trace`, `internal`.

mod bridge;
mod cache;
mod clock;
mod exemplar;
mod handles;
mod hash;
mod image;
mod point;
mod predefined;
pub mod prometheus;
mod registry;
mod ring;
mod series;
mod shard;
mod snapshot;

pub use bridge::FccRecorder;
pub use exemplar::{Exemplar, ExemplarFilter};
pub use fcc_metrics::{FccMetrics, FccMetricsBuilder, MetricsStats};
pub use handles::{CounterHandle, GaugeHandle, HistogramHandle};
pub use point::{MetricError, MetricPoint, MetricType};
pub use predefined::PREDEFINED;
pub use registry::{DEFAULT_BUCKETS, OVERFLOW_LABEL};
pub use snapshot::{MetricSnapshot, SeriesSnapshot, SeriesValue};

mod fcc_metrics;

/// Points kept by default.
pub const DEFAULT_POINTS_CAPACITY: usize = 10_000;
/// Label sets per metric before the overflow series (the OTel SDK's default).
pub const DEFAULT_CARDINALITY_LIMIT: usize = 2_000;
