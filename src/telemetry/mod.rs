//! One-call set-up: [`Telemetry::builder`] and [`init`].
//!
//! The builder makes one `tracing` Registry with the [`FanoutLayer`] (the
//! bus's entrance) and an optional human-readable `fmt` layer for ordinary
//! logs; it starts the sinks (LogSink always unless turned off, a JsonFileSink
//! when asked, any others you add) and returns a [`Telemetry`] guard. Dropping
//! the guard, or calling [`Telemetry::shutdown`], writes everything queued and
//! flushes every sink within a timeout.
//!
//! ```no_run
//! use fcc::{EventType, Telemetry};
//!
//! let telemetry = Telemetry::builder()
//!     .service_name("orchestrator")
//!     .json_file("events.ndjson")
//!     .install()?; // the process-wide tracing subscriber
//! fcc::event!(EventType::WorkflowStarted, "orchestrator", correlation_id = "run-42");
//! telemetry.shutdown()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! In tests, use [`TelemetryBuilder::build`] and run code under
//! `tracing::dispatcher::with_default(telemetry.dispatch(), ...)` so that each
//! test has its own pipeline.
//!
//! Environment variables: see [`env::VARIABLES`] and [`TelemetryBuilder::from_env`].
//!
//! **Imports** (the table in ARCHITECTURE.md, checked by
//! `tests/it/import_direction.rs`): only `bus`, `event`, `export`, `internal`, `layer`, `metrics`, `otel`, `otlp`, `secrets`, `sinks`, `trace`.

pub mod env;
mod globals;
mod layers;
mod metrics;
mod shutdown;
mod signals;
mod switches;
mod traces;

mod builder;
mod error;

pub use builder::{LogTarget, TelemetryBuilder};
pub use error::InstallError;
pub use shutdown::ShutdownError;

pub use layers::FccLayer;

pub use metrics::HEALTH_METRICS;

use crate::bus::EventBus;
use crate::layer::FanoutLayer;
use crate::sinks::{SinkHandle, SinkStats};
use crate::trace::FccTracer;
use globals::Globals;
use std::fmt;
use std::sync::Arc;

/// The running pipeline. Dropping it flushes and stops every sink.
#[must_use = "dropping the Telemetry guard shuts fcc down at once, and every later span, \
              event and metric is lost: keep it alive, `let _guard = fcc::init()?;`"]
pub struct Telemetry {
    metrics: metrics::MetricsPart,
    tracer: FccTracer,
    bus: EventBus,
    fanout: FanoutLayer,
    sinks: Vec<Arc<SinkHandle>>,
    dispatch: tracing::Dispatch,
    service_name: String,
    globals: std::sync::Mutex<Option<Globals>>,
    /// What flush and shutdown act on (shared with the signal watcher).
    parts: Arc<shutdown::Parts>,
}

impl Telemetry {
    /// A builder with the defaults (LogSink on stderr, fmt logs at info).
    pub fn builder() -> TelemetryBuilder {
        TelemetryBuilder::default()
    }
    /// The bus, to subscribe in-process handlers.
    pub fn bus(&self) -> &EventBus {
        &self.bus
    }
    /// The `tracing` dispatcher, for `tracing::dispatcher::with_default`.
    pub fn dispatch(&self) -> &tracing::Dispatch {
        &self.dispatch
    }
    /// The metrics: record here; exported over OTLP when configured, with
    /// fcc's own health metrics ([`HEALTH_METRICS`]).
    pub fn metrics(&self) -> &crate::metrics::FccMetrics {
        &self.metrics.metrics
    }
    /// How OTLP metric exports went (`None` without OTLP metrics).
    #[cfg(feature = "otlp")]
    pub fn metric_export_stats(&self) -> Option<crate::otlp::MetricExportStats> {
        self.metrics.exporter.as_ref().map(|e| e.stats())
    }
    /// Where the Prometheus scrape endpoint listens, when one was asked for
    /// (always `None` without the `prometheus` feature).
    pub fn prometheus_addr(&self) -> Option<std::net::SocketAddr> {
        #[cfg(feature = "prometheus")]
        return self.metrics.prometheus.as_ref().map(|p| p.local_addr());
        #[cfg(not(feature = "prometheus"))]
        None
    }
    /// The tracer: what `#[traced]` and `tracing` spans use once installed.
    pub fn tracer(&self) -> &FccTracer {
        &self.tracer
    }
    /// The service name in use.
    pub fn service_name(&self) -> &str {
        &self.service_name
    }
    /// Each sink's counters.
    pub fn sink_stats(&self) -> Vec<SinkStats> {
        self.sinks.iter().map(|s| s.stats()).collect()
    }
    /// Events held back by the [rate limit](TelemetryBuilder::rate_limit)
    /// (each also counted in an `fcc.events.suppressed` event).
    pub fn suppressed_events(&self) -> u64 {
        self.fanout.limiter().map_or(0, |l| l.suppressed())
    }
    /// Marked `tracing` events that were not valid events.
    pub fn rejected_events(&self) -> u64 {
        self.fanout.rejected()
    }
}

impl fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telemetry")
            .field("service_name", &self.service_name)
            .field("sinks", &self.sink_stats())
            .finish()
    }
}

/// Sets up telemetry from the environment ([`TelemetryBuilder::from_env`]) and
/// installs it as the process-wide `tracing` subscriber.
///
/// Keep the guard: `let _guard = fcc::init()?;`. `let _ = fcc::init()` drops
/// it at once, which shuts everything down; the first span or event after
/// that prints a warning saying so.
#[must_use = "dropping the Telemetry guard shuts fcc down at once: `let _guard = fcc::init()?;`"]
pub fn init() -> Result<Telemetry, InstallError> {
    TelemetryBuilder::from_env()?.install()
}
