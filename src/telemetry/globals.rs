//! What set-up makes process-wide beyond the `tracing` subscriber: fcc's
//! tracer for `#[traced]`, the OpenTelemetry globals, the `metrics`
//! recorder; that only one set-up is alive at a time; and the warning for a
//! guard dropped too early.

use std::sync::atomic::{AtomicBool, Ordering};

use super::{InstallError, Telemetry};
use crate::otel::FccPropagator;

/// What [`TelemetryBuilder::install`](super::TelemetryBuilder::install) and [`TelemetryBuilder::layer`](super::TelemetryBuilder::layer) set
/// beyond the `tracing` subscriber.
pub(super) struct Globals {
    pub(super) propagator: FccPropagator,
    pub(super) otel: bool,
    /// Set the propagator even when `otel` is off (`OTEL_SDK_DISABLED`).
    pub(super) propagator_only: bool,
    pub(super) metrics_recorder: bool,
    pub(super) warnings: Vec<String>,
    pub(super) log_level: Option<crate::internal::diagnostics::DiagLevel>,
}

/// Whether a set-up Telemetry is alive (reserved by [`Reservation::take`],
/// cleared by its shutdown).
static SET_UP: AtomicBool = AtomicBool::new(false);

/// The right to set up, taken before anything is built: a second set-up,
/// even one racing the first, gets [`InstallError::AlreadySetUp`]. Released
/// when dropped, unless [`keep`](Reservation::keep) handed it to a
/// Telemetry (whose shutdown releases it).
#[must_use]
pub(super) struct Reservation {
    held: bool,
}

impl Reservation {
    pub(super) fn take() -> Result<Reservation, InstallError> {
        SET_UP
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .map(|_| Reservation { held: true })
            .map_err(|_| InstallError::AlreadySetUp)
    }

    pub(super) fn keep(mut self) {
        self.held = false;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.held {
            SET_UP.store(false, Ordering::Release);
        }
    }
}

/// The set-up Telemetry shut down.
pub(super) fn released() {
    SET_UP.store(false, Ordering::Release);
    after_shutdown::fire();
}

impl Telemetry {
    pub(super) fn set_globals(&self) {
        let Some(g) = self.globals.lock().ok().and_then(|mut g| g.take()) else {
            return;
        };
        if let Some(level) = g.log_level {
            crate::internal::diagnostics::set_level(level);
        }
        for w in &g.warnings {
            crate::internal::diagnostics::warn(w);
        }
        crate::trace::set_global(Some(self.tracer.clone()));
        self.parts.installed.store(true, Ordering::Release);
        after_shutdown::arm(&self.tracer);
        if g.otel {
            crate::otel::set_globals(&self.tracer, self.metrics(), g.propagator);
        } else if g.propagator_only {
            // OTEL_SDK_DISABLED: the providers stay the API's no-ops, but
            // context still propagates (the specification leaves
            // propagators out of the switch).
            opentelemetry::global::set_text_map_propagator(g.propagator);
        }
        if g.metrics_recorder
            && let Err(e) = crate::metrics::FccRecorder::install(self.metrics().clone())
        {
            crate::internal::diagnostics::warn(format_args!(
                "{e}; `metrics::` macros keep going to it, not to fcc"
            ));
        }
    }
}

/// `let _ = fcc::init()`: the guard is gone at once. The first span or event
/// recorded after the installed pipeline shut down says so, once.
mod after_shutdown {
    use std::sync::atomic::Ordering;
    use std::sync::{Arc, Mutex};

    use crate::internal::after_shutdown;
    use crate::trace::tracer::TracerInner;

    static ARMED: Mutex<Option<Arc<TracerInner>>> = Mutex::new(None);

    pub(super) fn arm(tracer: &crate::FccTracer) {
        after_shutdown::rearm();
        if let Ok(mut a) = ARMED.lock() {
            *a = Some(Arc::clone(&tracer.inner));
        }
    }

    pub(super) fn fire() {
        after_shutdown::fire();
        if let Some(t) = ARMED.lock().ok().and_then(|a| a.clone()) {
            t.shut_down.store(true, Ordering::Release);
        }
    }
}
