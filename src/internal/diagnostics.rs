//! fcc's own diagnostics: what fcc says about itself on stderr (a
//! configuration value it could not use, a guard dropped too early, a
//! shutdown that could not flush), as `fcc: ...` lines.
//!
//! `OTEL_LOG_LEVEL` sets how much, as the OpenTelemetry SDKs read it:
//! `none` (or `off`), `error`, `warn`, `info` (the default), `debug` (also
//! `verbose`, `all`). It also sets which of fcc's internal `tracing` events
//! (target `fcc::internal`) the human-readable log shows. It takes effect when
//! telemetry is installed.

use std::sync::atomic::{AtomicU8, Ordering};

/// How much fcc says about itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum DiagLevel {
    Off = 0,
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
}

static LEVEL: AtomicU8 = AtomicU8::new(DiagLevel::Info as u8);

impl DiagLevel {
    /// An `OTEL_LOG_LEVEL` value, case-insensitive.
    pub(crate) fn parse(value: &str) -> Option<DiagLevel> {
        Some(match value.trim().to_ascii_lowercase().as_str() {
            "none" | "off" => DiagLevel::Off,
            "error" => DiagLevel::Error,
            "warn" | "warning" => DiagLevel::Warn,
            "info" | "" => DiagLevel::Info,
            "debug" | "verbose" | "trace" | "all" => DiagLevel::Debug,
            _ => return None,
        })
    }

    /// The `tracing` level up to which fcc's internal events are shown.
    pub(crate) fn tracing_level(self) -> tracing_subscriber::filter::LevelFilter {
        use tracing_subscriber::filter::LevelFilter;
        match self {
            DiagLevel::Off => LevelFilter::OFF,
            DiagLevel::Error => LevelFilter::ERROR,
            // fcc's internal `info` events are chatter (an exporter's
            // connection retries): shown from `debug` on.
            DiagLevel::Warn | DiagLevel::Info => LevelFilter::WARN,
            DiagLevel::Debug => LevelFilter::TRACE,
        }
    }
}

/// Sets the process's level.
pub(crate) fn set_level(level: DiagLevel) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// The process's level.
pub(crate) fn level() -> DiagLevel {
    match LEVEL.load(Ordering::Relaxed) {
        0 => DiagLevel::Off,
        1 => DiagLevel::Error,
        2 => DiagLevel::Warn,
        3 => DiagLevel::Info,
        _ => DiagLevel::Debug,
    }
}

/// Prints `fcc: {message}` on stderr when `at` is within the level.
pub(crate) fn say(at: DiagLevel, message: impl std::fmt::Display) {
    if at != DiagLevel::Off && at <= level() {
        eprintln!("fcc: {message}");
    }
}

/// A warning: a value fcc could not use, work it could not do.
pub(crate) fn warn(message: impl std::fmt::Display) {
    say(DiagLevel::Warn, message);
}

/// An error: something was lost.
pub(crate) fn error(message: impl std::fmt::Display) {
    say(DiagLevel::Error, message);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_as_the_sdks_spell_them() {
        assert_eq!(DiagLevel::parse("NONE"), Some(DiagLevel::Off));
        assert_eq!(DiagLevel::parse("Warn"), Some(DiagLevel::Warn));
        assert_eq!(DiagLevel::parse("verbose"), Some(DiagLevel::Debug));
        assert_eq!(DiagLevel::parse("loud"), None);
        assert!(DiagLevel::Error < DiagLevel::Warn);
    }
}
