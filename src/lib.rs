//! # fcc: OpenTelemetry-native events, tracing and metrics for Rust services
//!
//! Services emit structured lifecycle events ("mcp client connect attempt
//! failed", "gate G-SEC-01 passed", "simulation step 3") without knowing where
//! they go. fcc routes them to subscribers and sinks.
//!
//! The modules follow the data flow, each importing only the ones before it
//! (ARCHITECTURE.md in the repository has the map and the import table):
//!
//! 1. [`mod@event`]: the [`Event`] model and the 81-type [`EventType`] catalog.
//! 2. [`bus`]: the [`EventBus`] that delivers events to matching subscribers.
//! 3. [`serialization`]: [`EventSerializer`] writes and reads event files,
//!    [`EventReplay`] publishes them again.
//! 4. [`sinks`]: where events leave the process ([`sinks::LogSink`],
//!    [`sinks::JsonFileSink`], your own [`sinks::Sink`]), each on its own
//!    worker thread behind a bounded queue.
//! 5. [`trace`] and [`metrics`]: [`FccTracer`] and its spans, [`FccMetrics`].
//! 6. [`otel`]: fcc as the OpenTelemetry API's tracer, meter and propagator.
//! 7. [`export`]: the thread that batches finished spans and log records to
//!    exporters; [`otlp`] sends them (and metrics) to a collector.
//! 8. [`layer`]: the `tracing` integration: [`emit`], [`event!`] and the
//!    [`FanoutLayer`] (events travel as `tracing` events and enter the bus
//!    through it), [`SpanLayer`] for `tracing` spans.
//! 9. [`integration`]: [`instrument_simulation_engine`] and
//!    [`instrument_action_engine`] turn an engine's lifecycle events into
//!    spans and the predefined metrics.
//! 10. [`telemetry`]: [`Telemetry::builder`] and [`init`] wire it all up and
//!     return the guard that flushes everything on shutdown.
//!
//! ## A first run
//!
//! ```
//! use fcc::{Event, EventBus, EventFilter, EventReplay, EventSerializer, EventType};
//! use serde_json::json;
//!
//! let bus = EventBus::new();
//! bus.subscribe_filtered(
//!     |e: &Event| eprintln!("{} failed: {}", e.source(), e.payload()["error"]),
//!     EventFilter::new().event_types([EventType::ActionFailed]),
//! );
//!
//! bus.start_recording();
//! bus.publish(&Event::builder(EventType::ActionStarted, "ActionEngine").correlation_id("run-42").build());
//! bus.publish(
//!     &Event::builder(EventType::ActionFailed, "ActionEngine")
//!         .correlation_id("run-42")
//!         .payload(json!({"error": "tool timed out"}))
//!         .build(),
//! );
//! bus.stop_recording();
//!
//! let history = bus.get_history();
//! let text = EventSerializer::to_json_batch(&history);
//! let restored = EventSerializer::from_json_batch(&text).unwrap();
//! assert_eq!(restored, history);
//! assert_eq!(EventReplay::new(&bus).replay_filtered(&restored, Some("run-42"), None), 1);
//! ```

pub mod bus;
pub mod event;
mod internal;
pub mod serialization;

pub use bus::{BusStats, EventBus, EventFilter, Subscriber, SubscriberError, SubscriptionId};
pub use event::{
    Category, Event, EventBuilder, EventType, Outcome, Payload, Severity, SpanId, Timestamp,
    TraceId,
};
pub use serialization::{DecodeError, EventReplay, EventSerializer, FileFormat, SaveError};
pub mod layer;
pub mod sinks;

pub use layer::{emit, FanoutLayer};
pub mod export;
pub mod integration;
pub mod metrics;
pub mod otel;
pub mod otlp;
pub mod secrets;

/// The OpenTelemetry API fcc implements (0.33): write libraries against this
/// re-export and they are bridged to fcc, whatever else is in the build.
pub use opentelemetry;
pub mod telemetry;
pub mod trace;

pub use integration::{instrument_action_engine, instrument_simulation_engine};
pub use layer::{OpenTelemetrySpanExt, SpanLayer};
pub use metrics::{FccMetrics, MetricPoint};
pub use trace::{FccTracer, SpanData};

/// Wraps a function in a span (the seed's `@traced`).
///
/// The span is named after the function, or `#[traced("name")]` /
/// `#[traced(name = "name")]`. It is a child of whatever span is current when
/// the function is called, and is current while the body runs, so spans and
/// events inside nest under it; for `async fn` it is entered on every poll.
///
/// - Parameters are recorded as attributes: numbers, `bool` and strings as
///   themselves, anything else through `Debug` (like `#[tracing::instrument]`,
///   a parameter that is not `Debug` must be skipped; a parameter of a generic
///   type goes through `Debug` too). `skip(a, b)` leaves some
///   out, `skip_all` all of them; `self` is never recorded.
/// - `code.function.name` (module path and name) and `code.file.path` are set.
/// - A function returning `Result` that returns `Err(e)` ends with error
///   status and an `exception` event (`exception.type`, `exception.message`).
/// - `tracer = expr` uses that tracer (an `FccTracer`, a reference to one, or
///   an `Option` of either, such as the seed's `tracer=None` parameter).
///   Without it, a parameter named `tracer` whose type is one of those (the
///   seed's `fn do_work(data, tracer: Option<&FccTracer>)`) is the tracer,
///   and is not recorded as an attribute; otherwise the global tracer that
///   [`Telemetry`] installs. With no tracer (`None`, or none installed), the
///   function runs as if unannotated, for about a nanosecond more.
/// - With the global tracer, the body of a synchronous function runs as a
///   closure (not for an `unsafe fn`, a `#[track_caller]` one or one that
///   returns `impl Trait`): with no tracer installed the function is its
///   body and one check before it, and may inline like a plain function.
///   Parameters the body uses are then dropped when the body ends, inside
///   the span, rather than after it.
///
/// ```
/// use fcc::{traced, FccTracer};
///
/// #[traced("my_operation")]
/// fn do_work(data: &str, tracer: Option<&FccTracer>) -> usize {
///     data.len()
/// }
///
/// #[traced(tracer = tracer, skip(tracer))]
/// fn checked(n: i64, tracer: Option<&FccTracer>) -> Result<i64, String> {
///     if n < 0 { Err(format!("{n} is negative")) } else { Ok(n * 2) }
/// }
///
/// let tracer = FccTracer::new("my-app");
/// assert_eq!(do_work("abc", None), 3); // no tracer: no span
/// assert_eq!(do_work("abcd", Some(&tracer)), 4); // the parameter is the tracer
/// assert_eq!(tracer.completed_spans()[0].name, "my_operation");
/// assert!(checked(-1, Some(&tracer)).is_err());
/// let span = &tracer.completed_spans()[1];
/// assert_eq!(span.name, "checked");
/// assert_eq!(span.status.as_str(), "error");
/// assert_eq!(span.attribute("n"), Some(&fcc::trace::Value::I64(-1)));
/// ```
pub use fcc_macros::traced;

pub use telemetry::{init, InstallError, LogTarget, Telemetry, TelemetryBuilder};

/// The id generators, for `benches/ids.rs`. Not a public API.
#[doc(hidden)]
pub mod __bench {
    /// A new trace id, as a root span makes one.
    #[inline]
    pub fn new_trace_id() -> crate::TraceId {
        crate::trace::context::new_trace_id()
    }

    /// A new span id.
    #[inline]
    pub fn new_span_id() -> crate::SpanId {
        crate::trace::context::new_span_id()
    }

    /// A root span's trace id and span id.
    #[inline]
    pub fn new_root_ids() -> (crate::TraceId, crate::SpanId) {
        crate::trace::context::new_root_ids()
    }

    /// A new event id (UUID v7) for a time already read (ms since the epoch).
    #[inline]
    pub fn new_event_id_at(now_ms: u64) -> uuid::Uuid {
        crate::internal::ids::new_v7_at(now_ms)
    }
}
