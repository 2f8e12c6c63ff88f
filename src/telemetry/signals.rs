//! Flushing on `SIGINT` and `SIGTERM`, opt-in with
//! [`TelemetryBuilder::shutdown_on_signals`](super::TelemetryBuilder::shutdown_on_signals).
//!
//! An orchestrator stops a service with `SIGTERM`, a user with Ctrl-C
//! (`SIGINT`); by default either kills the process and loses what the sinks
//! and exporters still hold. With the opt-in, a watcher thread (fed by a
//! self-pipe: nothing runs in the signal handler itself) shuts telemetry down
//! within the shutdown timeout and then exits the process with the usual code
//! of a process ended by that signal, 128 + its number (130 for `SIGINT`,
//! 143 for `SIGTERM`). A second signal while it flushes exits at once.

use std::sync::Arc;

use super::shutdown::Parts;

/// Starts the watcher for `parts`.
#[cfg(unix)]
pub(super) fn watch(parts: Arc<Parts>) -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("fcc-signals".into())
        .spawn(move || {
            crate::internal::thread::mark_internal_thread();
            let mut flushing = false;
            for signal in signals.forever() {
                let name = if signal == SIGINT {
                    "SIGINT"
                } else {
                    "SIGTERM"
                };
                if flushing {
                    crate::internal::diagnostics::warn(format_args!("{name} again: exiting now"));
                    std::process::exit(128 + signal);
                }
                flushing = true;
                crate::internal::diagnostics::warn(format_args!(
                    "{name}: writing what telemetry holds, then exiting (send it again to exit now)"
                ));
                let parts = Arc::clone(&parts);
                let _ = std::thread::Builder::new()
                    .name("fcc-signal-flush".into())
                    .spawn(move || {
                        crate::internal::thread::mark_internal_thread();
                        if let Err(e) = parts.shutdown_within(parts.shutdown_timeout) {
                            crate::internal::diagnostics::error(e);
                        }
                        std::process::exit(128 + signal);
                    });
            }
        })?;
    Ok(())
}

/// Signals are a Unix matter; elsewhere the opt-in does nothing.
#[cfg(not(unix))]
pub(super) fn watch(_parts: Arc<Parts>) -> std::io::Result<()> {
    Ok(())
}
