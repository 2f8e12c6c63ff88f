//! fcc as the OpenTelemetry API's implementation: the global
//! `TracerProvider` ([`FccTracerProvider`]), `MeterProvider`
//! ([`FccMeterProvider`]) and text-map propagator ([`FccPropagator`]).
//!
//! [`Telemetry::install`](crate::Telemetry) sets all three, so a library
//! written against the `opentelemetry` crate (this version: the one fcc
//! re-exports as [`fcc::opentelemetry`](crate::opentelemetry)) is traced,
//! measured and propagated by fcc without knowing it:
//!
//! ```
//! use opentelemetry::trace::{Tracer as _, TracerProvider as _};
//!
//! let tracer = fcc::FccTracer::new("service");
//! let lib = fcc::otel::FccTracerProvider::new(tracer.clone()).tracer("lib");
//! {
//!     let _request = tracer.span("request");
//!     // A library's span: a child of the fcc span around it...
//!     lib.in_span("lib.query", |_cx| {
//!         // ...and the parent of fcc spans inside it.
//!         let _inner = tracer.span("inner");
//!     });
//! }
//! let spans = tracer.completed_spans(); // inner, lib.query, request
//! assert_eq!(spans[0].parent_span_id, Some(spans[1].span_id));
//! assert_eq!(spans[1].parent_span_id, Some(spans[2].span_id));
//! assert_eq!(spans[0].trace_id, spans[2].trace_id);
//! ```
//!
//! # How fcc's context and the OTel context relate
//!
//! There is one current span per thread, whichever API made it:
//!
//! - fcc keeps its own thread-local stack of span contexts: `FccTracer`,
//!   `#[traced]` and `tracing` spans (through the
//!   [`SpanLayer`](crate::layer::SpanLayer)) push onto it while entered. This
//!   is the hot path: no `Context` clone, no allocation.
//! - The OTel API keeps its own thread-local `Context` stack, private to the
//!   `opentelemetry` crate, with no hook. So fcc joins it from the moment the
//!   process uses the OTel API: the first time a tracer is obtained from
//!   [`FccTracerProvider`] or [`FccPropagator`] injects or extracts (or
//!   [`activate`] is called), the *bridge* turns on. From then on every fcc
//!   span entered is also attached as an OTel `Context` holding its span
//!   context, and fcc's current span is read from the OTel context first.
//! - Hence both directions: `Context::current()` inside an fcc span holds
//!   that span; an OTel span (`tracer.in_span`) or a remote context attached
//!   after `extract` is the parent of the next fcc span and is what fcc
//!   events record as `trace_id`/`span_id`.
//! - A service that never touches the OTel API never pays for the bridge
//!   (one relaxed atomic load per span).
//!
//! Spans a thread entered before the bridge turned on are visible to the
//! OTel API on the thread that turned it on, and as a fallback (a context
//! with no span) on the others.
//!
//! What each kind of span does, exactly:
//!
//! | made by | its parent | while entered, `Context::current()` holds |
//! |---|---|---|
//! | `FccTracer::span`, `#[traced]` | [`trace::current()`](crate::trace::current): the OTel context's span if it has one, else fcc's stack top | a copy of its span context on top of the current OTel context (baggage kept) |
//! | a `tracing` span (the [`SpanLayer`](crate::layer::SpanLayer)) | its explicit `parent:`, else `current()`; [`set_parent(cx)`](crate::OpenTelemetrySpanExt::set_parent) before the first enter replaces it | the same, on top of the `cx` given to `set_parent` (its baggage) |
//! | the OTel API (`tracer.in_span`, `start_with_context`) | the span of the given context; with none, fcc's stack top when it is not mirrored (else a root) | the OTel span object itself (the OTel API attaches it) |
//! | a remote parent (`extract` + `attach`) | | the remote span context, which is the parent of the next span of any kind |
//!
//! Across threads and tasks nothing flows by itself, in fcc as in the OTel
//! SDK: [`FutureExt::in_current_context`](crate::trace::FutureExt::in_current_context)
//! for `tokio::spawn`, [`trace::in_current_context`](crate::trace::in_current_context)
//! for `std::thread::spawn`, `spawn_blocking` and `rayon::spawn`. Both take
//! fcc's current span and, once the bridge is on, the OTel `Context` (its
//! baggage, an OTel span object) and make them current where the work runs.
//!
//! Feedback is suppressed by context: fcc's own export threads (and the
//! blocking-pool threads of its runtimes) are marked internal and run in
//! OTel's suppressed context, so what tonic, h2, hyper or reqwest log or
//! trace there is never recorded, while the same libraries used by the
//! application are.
//!
//! # Other major versions of the OTel API
//!
//! Cargo builds a library that depends on another major version of
//! `opentelemetry` (0.32, say) against that version, which has its own
//! globals: fcc does not see its spans, and it sees no fcc context. Keep
//! libraries on the version fcc bridges; `cargo tree -d -i opentelemetry`
//! shows whether two versions are in a build.
//!
//! **Imports** (the table in ARCHITECTURE.md, checked by
//! `tests/it/import_direction.rs`): only `metrics`, `trace`, `internal`.

mod meter;
mod propagator;
mod resource;
pub(crate) mod tracer;

pub use crate::trace::otel_context::activate;
pub use meter::FccMeterProvider;
pub use propagator::{FccPropagator, BAGGAGE, KNOWN_PROPAGATORS};
pub use resource::FccResource;
pub use tracer::{invalid_parents, FccTracerProvider, OtelSpan, OtelTracer};

/// Sets fcc's providers and `propagator` as the OpenTelemetry globals
/// (what [`Telemetry::install`](crate::Telemetry) does).
pub fn set_globals(
    tracer: &crate::FccTracer,
    metrics: &crate::FccMetrics,
    propagator: FccPropagator,
) {
    opentelemetry::global::set_tracer_provider(FccTracerProvider::new(tracer.clone()));
    opentelemetry::global::set_meter_provider(FccMeterProvider::new(metrics.clone()));
    opentelemetry::global::set_text_map_propagator(propagator);
}
