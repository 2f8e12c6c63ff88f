//! Which threads are fcc's own.
//!
//! fcc's workers (sink workers, the export thread and its lanes, the OTLP
//! runtimes, the metric reader, the signal watcher) mark themselves once;
//! the layers and the OTel tracer then drop what those threads record, so
//! fcc never feeds its own logs and spans back into itself. Suppression
//! follows the thread, never a library's name (DESIGN.md).

thread_local! {
    static INTERNAL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// True on fcc's own worker threads. Layers use it to keep fcc's own logs out
/// of the bus and OpenTelemetry (no feedback loops).
pub fn is_internal_thread() -> bool {
    INTERNAL.try_with(|c| c.get()).unwrap_or(false)
}

/// Marks the current thread as one of fcc's own (see [`is_internal_thread`]).
/// It also enters OpenTelemetry's suppressed context for the thread's life,
/// so OTel-instrumented code that fcc's exporters run (an instrumented HTTP
/// client, say) records nothing either.
pub fn mark_internal_thread() {
    let first = INTERNAL.try_with(|c| !c.replace(true)).unwrap_or(false);
    if first {
        // Kept for the thread's life: the thread is fcc's from here on.
        std::mem::forget(opentelemetry::Context::enter_telemetry_suppressed_scope());
    }
}
