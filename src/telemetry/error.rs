//! Why set-up failed: [`InstallError`], one variant per cause, each naming
//! what and where.

use std::fmt;

use crate::export::ExportError;
use crate::otlp::OtlpConfigError;
use crate::sinks::SinkError;

/// Why telemetry could not be set up. Each variant names what and where.
#[derive(Debug)]
#[non_exhaustive]
pub enum InstallError {
    /// A configuration value is invalid.
    Config {
        /// The variable or setting.
        variable: &'static str,
        /// Its value.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// A sink could not start (an unwritable path, say).
    Sink(SinkError),
    /// A worker thread could not be started.
    Thread(std::io::Error),
    /// The OTLP configuration is invalid (an endpoint that is not a URL, say).
    Otlp(OtlpConfigError),
    /// The span/log export pipeline could not start.
    Exporter(ExportError),
    /// A process-wide `tracing` subscriber is already installed: add fcc to
    /// it with [`TelemetryBuilder::layer`](super::TelemetryBuilder::layer) instead.
    AlreadyInstalled,
    /// fcc is already set up in this process: a [`Telemetry`](super::Telemetry) from
    /// `install()` or `layer()` is alive. Keep that one (its
    /// [`tracer`](super::Telemetry::tracer), [`metrics`](super::Telemetry::metrics) and
    /// [`bus`](super::Telemetry::bus) can be shared). Once it has shut down,
    /// [`layer`](super::TelemetryBuilder::layer) may set up again; `install` cannot
    /// (the `tracing` global subscriber is set once per process, so it fails
    /// with [`AlreadyInstalled`](InstallError::AlreadyInstalled)), and the
    /// `metrics` facade keeps its first recorder.
    AlreadySetUp,
}

impl fmt::Display for InstallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstallError::Config {
                variable,
                value,
                reason,
            } => {
                write!(f, "invalid {variable}={value:?}: {reason}")
            }
            InstallError::Sink(e) => write!(f, "cannot start sink: {e}"),
            InstallError::Thread(e) => write!(f, "cannot start a sink worker thread: {e}"),
            InstallError::Otlp(e) => write!(f, "invalid OTLP configuration: {e}"),
            InstallError::Exporter(e) => write!(f, "cannot start span export: {e}"),
            InstallError::AlreadyInstalled => f.write_str(
                "a global tracing subscriber is already installed (by fcc or another library); \
                 to add fcc to your own subscriber, use `Telemetry::builder().layer()` \
                 and `.with(layer)` on your registry",
            ),
            InstallError::AlreadySetUp => f.write_str(
                "fcc is already set up in this process (a Telemetry guard from install() \
                 or layer() is alive): keep using that one, or shut it down first",
            ),
        }
    }
}

impl std::error::Error for InstallError {}

impl From<SinkError> for InstallError {
    fn from(e: SinkError) -> Self {
        InstallError::Sink(e)
    }
}
