//! Flush and shutdown: every sink, then the span and log export pipeline,
//! then the metrics exporter, each within its time; what goes over the
//! network can be given less time than local parts (`shutdown_within`).

use std::fmt;
use std::sync::atomic::Ordering;
use std::time::Duration;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use super::{globals, Telemetry};
use crate::export::ExportError;
use crate::internal::thread::is_internal_thread;
use crate::sinks::{FlushError, SinkHandle};
use crate::trace::FccTracer;

/// What flush and shutdown act on, shared by the [`Telemetry`] guard and
/// the signal watcher (`TelemetryBuilder::shutdown_on_signals`).
pub(super) struct Parts {
    /// Where the rate limit's last summaries go at flush and shutdown.
    pub(super) bus: crate::bus::EventBus,
    pub(super) limiter: Option<Arc<crate::layer::Limiter>>,
    pub(super) sinks: Vec<Arc<SinkHandle>>,
    pub(super) tracer: FccTracer,
    #[cfg(feature = "otlp")]
    pub(super) metrics_exporter: Option<Arc<crate::otlp::OtlpMetricsExporter>>,
    pub(super) shutdown_timeout: Duration,
    pub(super) shut_down: AtomicBool,
    pub(super) installed: AtomicBool,
}

/// Why a flush or shutdown did not finish cleanly: one error per sink that
/// did not, and the span/log export pipeline's error if it did not.
#[derive(Debug)]
#[non_exhaustive]
pub struct ShutdownError {
    /// Sinks that did not finish.
    pub sinks: Vec<FlushError>,
    /// The export pipeline (spans, OTel logs), if it did not finish.
    pub traces: Option<ExportError>,
    /// The OTLP metrics export, if it did not finish.
    pub metrics: Option<ExportError>,
}

impl fmt::Display for ShutdownError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self.sinks.iter().map(ToString::to_string).collect();
        parts.extend(self.traces.iter().map(ToString::to_string));
        parts.extend(self.metrics.iter().map(ToString::to_string));
        write!(
            f,
            "telemetry shutdown incomplete: {}; what those parts held may be lost \
             (give it more time: TelemetryBuilder::shutdown_timeout)",
            parts.join("; ")
        )
    }
}

impl std::error::Error for ShutdownError {
    /// The first part that did not finish (the rest are in the fields).
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.sinks
            .first()
            .map(|e| e as &(dyn std::error::Error + 'static))
            .or(self.traces.as_ref().map(|e| e as _))
            .or(self.metrics.as_ref().map(|e| e as _))
    }
}

impl Parts {
    /// Publishes what the rate limit has suppressed and not yet said.
    fn report_suppressed(&self) {
        if let Some(limiter) = &self.limiter {
            for summary in limiter.drain() {
                self.bus.publish(&summary);
            }
        }
    }

    /// Runs `op` on every sink (all of them, even after a failure), then
    /// `traces` on the export pipeline, and gathers the failures.
    fn each_part(
        &self,
        op: impl Fn(&SinkHandle) -> Result<(), FlushError>,
        traces: impl FnOnce(&FccTracer) -> Result<(), ExportError>,
        stop_metrics: bool,
        network: Duration,
    ) -> Result<(), ShutdownError> {
        let sinks: Vec<FlushError> = self.sinks.iter().filter_map(|s| op(s).err()).collect();
        // Sinks first: events they publish meanwhile still reach the pipeline.
        let traces = traces(&self.tracer).err();
        // Metrics last: the health metrics then show the final counts.
        #[cfg(feature = "otlp")]
        let metrics = self.metrics_exporter.as_ref().and_then(|e| {
            if stop_metrics {
                e.shutdown(network).err()
            } else {
                e.flush(network).err()
            }
        });
        #[cfg(not(feature = "otlp"))]
        let metrics = {
            let _ = (stop_metrics, network);
            None
        };
        if sinks.is_empty() && traces.is_none() && metrics.is_none() {
            Ok(())
        } else {
            Err(ShutdownError {
                sinks,
                traces,
                metrics,
            })
        }
    }

    pub(super) fn flush_within(
        &self,
        timeout: Duration,
        network: Duration,
    ) -> Result<(), ShutdownError> {
        let network = network.min(timeout);
        self.report_suppressed();
        self.each_part(
            |s| s.flush(timeout),
            |t| t.flush_within(timeout, network),
            false,
            network,
        )
    }

    pub(super) fn shutdown_within(&self, network: Duration) -> Result<(), ShutdownError> {
        if self.shut_down.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let timeout = self.shutdown_timeout;
        let network = network.min(timeout);
        self.report_suppressed();
        let result = self.each_part(
            |s| s.shutdown(timeout),
            |t| t.shutdown_within(timeout, network),
            true,
            network,
        );
        crate::sinks::graveyard::sweep_all();
        if self.installed.load(Ordering::Acquire) {
            globals::released();
        }
        result
    }
}

impl Telemetry {
    /// Waits until every sink has written, and every span and OTel log record
    /// has been exported, of what was queued before this call.
    pub fn flush(&self, timeout: Duration) -> Result<(), ShutdownError> {
        self.parts.flush_within(timeout, timeout)
    }

    /// Like [`flush`](Self::flush), but what goes over the network (OTLP
    /// spans, log records and metrics) is waited for at most `network`: a
    /// collector that is down or hung does not hold the caller up, and what
    /// it has not taken stays queued for it.
    pub fn flush_within(&self, timeout: Duration, network: Duration) -> Result<(), ShutdownError> {
        self.parts.flush_within(timeout, network)
    }

    /// Writes everything queued, flushes and stops every sink and the export
    /// pipeline, within the shutdown timeout
    /// ([`TelemetryBuilder::shutdown_timeout`](super::TelemetryBuilder::shutdown_timeout)). Idempotent.
    pub fn shutdown(&self) -> Result<(), ShutdownError> {
        self.parts.shutdown_within(self.parts.shutdown_timeout)
    }

    /// Like [`shutdown`](Self::shutdown), but what goes over the network is
    /// given at most `network`: what a collector that is down or hung has not
    /// taken by then is counted as not delivered ([`TraceStats::exporters`],
    /// [`metric_export_stats`](Self::metric_export_stats)) and left behind,
    /// while local sinks and exporters still get the whole shutdown timeout.
    ///
    /// [`TraceStats::exporters`]: crate::export::TraceStats::exporters
    pub fn shutdown_within(&self, network: Duration) -> Result<(), ShutdownError> {
        self.parts.shutdown_within(network)
    }
}

impl Telemetry {
    /// Flushes every sink and exporter when any thread panics (after the
    /// panic hook that was there before, which still prints the message).
    ///
    /// The guard's `Drop` runs when `main` unwinds, but not when the build
    /// aborts on panic (`panic = "abort"`), nor when another thread panics
    /// and the program then calls `std::process::exit`: there, what is
    /// still queued would be lost. The hook holds no reference that keeps
    /// telemetry alive, and does nothing once it has shut down.
    ///
    /// ```no_run
    /// let telemetry = fcc::Telemetry::builder().install()?;
    /// telemetry.flush_on_panic();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn flush_on_panic(&self) {
        let parts = Arc::downgrade(&self.parts);
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            if let Some(parts) = parts.upgrade()
                && !parts.shut_down.load(Ordering::Acquire)
            {
                let t = parts.shutdown_timeout;
                if let Err(e) = parts.flush_within(t, t) {
                    crate::internal::diagnostics::error(e);
                }
            }
        }));
    }

    /// Shuts telemetry down (within the shutdown timeout), then ends the
    /// process with `code`: `std::process::exit` runs no destructor, so
    /// calling it directly loses what the guard still holds.
    pub fn exit(self, code: i32) -> ! {
        if let Err(e) = self.shutdown() {
            crate::internal::diagnostics::error(e);
        }
        std::process::exit(code)
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown()
            && !is_internal_thread()
        {
            crate::internal::diagnostics::error(e);
        }
    }
}
