//! Reading the `Telemetry` configuration from `OTEL_*` and `FCC_*` variables.

use super::{InstallError, LogTarget, TelemetryBuilder};
use crate::sinks::DropPolicy;
use std::path::PathBuf;
use std::time::Duration;
use tracing_subscriber::filter::LevelFilter;

/// The variables [`TelemetryBuilder::from_env`] reads, with their meaning
/// (the README's configuration tables say more). A name may list several
/// variables, `{TRACES,METRICS,LOGS}` standing for the three per-signal
/// variables. An `OTEL_*` value that cannot be used is a warning (see
/// [`TelemetryBuilder::warnings`]) and its default is used; an `FCC_*` value
/// that cannot be used is an [`InstallError::Config`].
pub const VARIABLES: &[(&str, &str)] = &[
    // The OpenTelemetry SDK's variables.
    ("OTEL_SDK_DISABLED", "`true`: no span sampled, nothing exported or served, OTel globals left as the API's no-ops; fcc's event sinks keep working (default `false`)"),
    ("OTEL_RESOURCE_ATTRIBUTES", "extra resource attributes, `key=value,...`, percent-decoded; an entry that cannot be read discards the whole value"),
    ("OTEL_SERVICE_NAME", "service name (default `unknown_service:<executable>`)"),
    ("OTEL_LOG_LEVEL", "how much fcc says about itself on stderr: `none`, `error`, `warn`, `info` (default), `debug`"),
    ("OTEL_PROPAGATORS", "global text-map propagators: `tracecontext`, `baggage`, `none`, comma-separated (default `tracecontext,baggage`); another name warns and is left out"),
    ("OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG", "sampling: `parentbased_always_on` (default), `parentbased_always_off`, `parentbased_traceidratio`, `always_on`, `always_off`, `traceidratio`; the ratio 0 to 1 (default 1.0)"),
    ("OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_EXPORT_TIMEOUT, OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "span batching: delay ms, export timeout ms, queue, batch (defaults 5000, 30000, 2048, 512)"),
    ("OTEL_BLRP_SCHEDULE_DELAY, OTEL_BLRP_EXPORT_TIMEOUT, OTEL_BLRP_MAX_QUEUE_SIZE, OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "log record batching: delay ms, export timeout ms, queue, batch (defaults 1000, 30000, 2048, 512)"),
    ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT, OTEL_ATTRIBUTE_COUNT_LIMIT", "general limits: characters per string value (default none), attributes per span or log record (default 128)"),
    ("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT, OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT, OTEL_SPAN_EVENT_COUNT_LIMIT, OTEL_SPAN_LINK_COUNT_LIMIT, OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT, OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "span limits, applied once per span on the export thread (defaults: the general ones, else no length limit and 128)"),
    ("OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT, OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT", "log record limits (defaults: the general ones, else no length limit and 128)"),
    ("OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER, OTEL_LOGS_EXPORTER", "`otlp`, `console` (stdout), `none`, comma-separated; metrics also `prometheus`; unset: OTLP when an OTLP endpoint variable is set, else none"),
    ("OTEL_METRIC_EXPORT_INTERVAL", "time between metric exports, in ms (default 60000)"),
    ("OTEL_METRIC_EXPORT_TIMEOUT", "bounds each OTLP metrics export with the OTLP timeout, in ms (default 30000)"),
    ("OTEL_METRICS_EXEMPLAR_FILTER", "`trace_based` (default), `always_on` or `always_off`"),
    ("OTEL_EXPORTER_PROMETHEUS_HOST, OTEL_EXPORTER_PROMETHEUS_PORT", "where `OTEL_METRICS_EXPORTER=prometheus` serves /metrics (default localhost:9464)"),
    // The OTLP exporter's variables: the signal's own, else the general one.
    ("OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_ENDPOINT", "the collector URL; the general one gets /v1/<signal> appended for HTTP, a signal's own is used as it is; unset: no OTLP unless an exporter variable names `otlp`"),
    ("OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_PROTOCOL", "`http/protobuf` (default) or `grpc`; `http/json` is not supported"),
    ("OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_HEADERS", "`name=value,...`, percent-decoded, sent with each export"),
    ("OTEL_EXPORTER_OTLP_TIMEOUT, OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_TIMEOUT", "each export in all, retries included, in ms (default 10000)"),
    ("OTEL_EXPORTER_OTLP_COMPRESSION, OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_COMPRESSION", "`gzip` or `none` (default)"),
    ("OTEL_EXPORTER_OTLP_CERTIFICATE, OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_CERTIFICATE", "a CA certificate (PEM file) to trust besides the system's and webpki's roots"),
    ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE, OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_CLIENT_CERTIFICATE", "the client certificate chain (PEM file) for mTLS"),
    ("OTEL_EXPORTER_OTLP_CLIENT_KEY, OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_CLIENT_KEY", "the client private key (PEM file) for mTLS"),
    ("OTEL_EXPORTER_OTLP_INSECURE, OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_INSECURE", "`true`: a gRPC endpoint without a scheme is plain text (default `false`: TLS)"),
    ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "`cumulative` (default), `delta` or `lowmemory`"),
    // fcc's own variables.
    ("FCC_LOG", "where LogSink writes: `stderr` (default), `stdout`, `off`, or a file path"),
    ("FCC_JSON_FILE", "attach a JsonFileSink appending NDJSON to this path"),
    ("FCC_JSON_FILE_MAX_BYTES", "rotate the JSON file past this size (default 67108864)"),
    ("FCC_QUEUE_CAPACITY", "events each sink queue holds (default 65536)"),
    ("FCC_QUEUE_MAX_BYTES", "bytes of events each sink queue holds, e.g. `8388608`, `512KiB`, `8MiB` (default 8 MiB); past it, as past the capacity, the drop policy applies"),
    ("FCC_DROP_POLICY", "`drop_newest` (default) or `block` when a sink queue is full"),
    ("FCC_FMT", "human-readable ordinary logs on stderr: `off`, `error`, `warn`, `info` (default), `debug`, `trace`"),
    ("FCC_RATE_LIMIT", "at most N events per call site and window (`100/s`, `20/min`, `off`: the default); the rest are counted and reported as one `fcc.events.suppressed` event per window"),
    ("FCC_SHUTDOWN_TIMEOUT_MS", "how long shutdown waits for sinks to flush (default 5000)"),
    ("FCC_OTEL_LOGS", "which plain `tracing` events become OTel log records, `RUST_LOG` syntax (`info`, `warn,my_crate=debug`, `off`); default `RUST_LOG`, else `info`"),
    ("FCC_PROMETHEUS_ADDR", "serve the metrics for Prometheus at http://ADDR/metrics (e.g. 127.0.0.1:9464), whatever `OTEL_METRICS_EXPORTER` says; unset: off"),
];

fn bad(variable: &'static str, value: &str, reason: impl Into<String>) -> InstallError {
    InstallError::Config {
        variable,
        value: value.to_owned(),
        reason: reason.into(),
    }
}

fn number(variable: &'static str, value: &str) -> Result<u64, InstallError> {
    match value.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(bad(variable, value, "expected a whole number above 0")),
    }
}

/// A size in bytes: a whole number, optionally with `KiB`, `MiB` or `GiB`.
fn bytes(variable: &'static str, value: &str) -> Result<u64, InstallError> {
    let v = value.trim();
    let (digits, unit) = match v.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => v.split_at(i),
        None => (v, ""),
    };
    let scale = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        _ => 0,
    };
    match digits.parse::<u64>() {
        Ok(n) if n > 0 && scale > 0 => Ok(n.saturating_mul(scale)),
        _ => Err(bad(
            variable,
            value,
            "expected a size above 0 in bytes, KiB, MiB or GiB (e.g. 8MiB)",
        )),
    }
}

impl TelemetryBuilder {
    /// A builder configured from the process environment (see [`VARIABLES`]).
    pub fn from_env() -> Result<Self, InstallError> {
        Self::from_vars(|k| std::env::var(k).ok())
    }

    /// A builder configured from `lookup` (a variable name to its value), for
    /// tests and for configuration that does not come from the environment.
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, InstallError> {
        let mut b = TelemetryBuilder::default();
        let mut warnings = Vec::new();
        let disabled = super::switches::sdk_disabled(&lookup, &mut warnings);
        b.traces.read_env(&lookup, &mut warnings);
        b.metric_settings.read_env(&lookup, &mut warnings);
        if b.metric_settings.otlp_named {
            b.traces.ensure_otlp(&lookup);
        }
        if disabled {
            // No-op providers: spans are not recorded, nothing is exported
            // or served, and the OTel globals stay the API's no-ops. fcc's
            // own event sinks (the log line, the JSON file, the store) are
            // not OpenTelemetry and keep working.
            b.traces.disable();
            b.metric_settings.disable();
            b.otel_globals = false;
            b.sdk_disabled = true;
        }
        b.warnings.extend(warnings);
        b.warnings.extend(b.traces.otlp_warnings());
        if let Some(name) = lookup("OTEL_SERVICE_NAME").filter(|s| !s.is_empty()) {
            b = b.service_name(name);
        }
        if let Some(v) = lookup("OTEL_LOG_LEVEL") {
            match crate::internal::diagnostics::DiagLevel::parse(&v) {
                Some(level) => b.log_level = Some(level),
                None => b.warnings.push(format!(
                    "OTEL_LOG_LEVEL={v:?} not understood; expected none, error, warn, info or \
                     debug; using info"
                )),
            }
        }
        if let Some(v) = lookup("OTEL_RESOURCE_ATTRIBUTES") {
            let (_, warnings) = crate::otel::FccResource::detect(None, |_| Some(v.clone()));
            b.warnings.extend(warnings);
            b.resource_attributes = Some(v);
        }
        if let Some(v) = lookup("FCC_LOG") {
            b.log = match v.as_str() {
                "stderr" | "" => LogTarget::Stderr,
                "stdout" => LogTarget::Stdout,
                "off" | "none" => LogTarget::Off,
                path => LogTarget::File(PathBuf::from(path)),
            };
        }
        if let Some(v) = lookup("FCC_JSON_FILE").filter(|s| !s.is_empty()) {
            b = b.json_file(v);
        }
        if let Some(v) = lookup("FCC_JSON_FILE_MAX_BYTES") {
            b.json_file_max_bytes = number("FCC_JSON_FILE_MAX_BYTES", &v)?;
        }
        if let Some(v) = lookup("FCC_QUEUE_CAPACITY") {
            let n = number("FCC_QUEUE_CAPACITY", &v)?;
            b.sink_options = b
                .sink_options
                .capacity(usize::try_from(n).unwrap_or(usize::MAX));
        }
        if let Some(v) = lookup("FCC_QUEUE_MAX_BYTES") {
            let n = bytes("FCC_QUEUE_MAX_BYTES", &v)?;
            b.sink_options = b
                .sink_options
                .max_bytes(usize::try_from(n).unwrap_or(usize::MAX));
        }
        if let Some(v) = lookup("FCC_DROP_POLICY") {
            let policy: DropPolicy = v
                .parse()
                .map_err(|e: String| bad("FCC_DROP_POLICY", &v, e))?;
            b.sink_options = b.sink_options.policy(policy);
        }
        if let Some(v) = lookup("FCC_FMT") {
            b.fmt = match v.to_ascii_lowercase().as_str() {
                "off" | "none" => None,
                "error" => Some(LevelFilter::ERROR),
                "warn" => Some(LevelFilter::WARN),
                "info" | "" => Some(LevelFilter::INFO),
                "debug" => Some(LevelFilter::DEBUG),
                "trace" => Some(LevelFilter::TRACE),
                _ => {
                    return Err(bad(
                        "FCC_FMT",
                        &v,
                        "expected off, error, warn, info, debug or trace",
                    ))
                }
            };
        }
        // Empty is unset, as for every OTEL_* variable.
        if let Some(v) = lookup("OTEL_PROPAGATORS").filter(|v| !v.trim().is_empty()) {
            let (propagator, unknown) = crate::otel::FccPropagator::from_names(&v);
            for name in unknown {
                b.warnings.push(format!(
                    "OTEL_PROPAGATORS: unknown propagator {name:?} ignored (known: {})",
                    crate::otel::KNOWN_PROPAGATORS.join(", ")
                ));
            }
            b.propagator = propagator;
        }
        if let Some(v) = lookup("FCC_OTEL_LOGS").filter(|v| !v.trim().is_empty()) {
            b.plain_logs = crate::layer::logs::parse_directives(&v)
                .map_err(|reason| bad("FCC_OTEL_LOGS", &v, reason))?;
        } else if let Some(v) = lookup("RUST_LOG").filter(|v| !v.trim().is_empty()) {
            // RUST_LOG is shared with EnvFilter, whose span and field filters
            // fcc does not read: a warning, not an error.
            match crate::layer::logs::parse_directives(&v) {
                Ok(t) => b.plain_logs = t,
                Err(reason) => b.warnings.push(format!(
                    "RUST_LOG={v:?} not used for OTel logs ({reason}); set FCC_OTEL_LOGS"
                )),
            }
        }
        if let Some(v) = lookup("FCC_RATE_LIMIT").filter(|v| !v.trim().is_empty()) {
            b.rate_limit = match v.trim() {
                "off" | "none" => None,
                other => Some(
                    other
                        .parse()
                        .map_err(|reason: String| bad("FCC_RATE_LIMIT", &v, reason))?,
                ),
            };
        }
        if let Some(v) = lookup("FCC_SHUTDOWN_TIMEOUT_MS") {
            b.shutdown_timeout = Duration::from_millis(number("FCC_SHUTDOWN_TIMEOUT_MS", &v)?);
        }
        Ok(b)
    }
}
