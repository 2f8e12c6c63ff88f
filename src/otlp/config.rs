//! Where OTLP goes, from the standard `OTEL_EXPORTER_OTLP_*` variables.

use std::fmt;
use std::time::Duration;

/// The OTLP transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OtlpProtocol {
    /// OTLP/gRPC (collector port 4317).
    Grpc,
    /// OTLP/HTTP with protobuf bodies (collector port 4318); the spec's default.
    HttpProtobuf,
}

impl OtlpProtocol {
    /// `grpc` or `http/protobuf`, as in `OTEL_EXPORTER_OTLP_PROTOCOL`.
    pub fn as_str(self) -> &'static str {
        match self {
            OtlpProtocol::Grpc => "grpc",
            OtlpProtocol::HttpProtobuf => "http/protobuf",
        }
    }
}

/// A variable that makes no sense, named with its value and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpConfigError {
    /// The variable (or builder setting) at fault.
    pub variable: String,
    /// Its value (a password in a URL replaced by `***`).
    pub value: String,
    /// What is accepted.
    pub reason: String,
}

impl fmt::Display for OtlpConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={:?}: {}", self.variable, self.value, self.reason)
    }
}

impl std::error::Error for OtlpConfigError {}

/// Resolved OTLP endpoints for traces and logs (metrics come in the same way).
///
/// Resolution follows the OTel specification: a signal-specific variable
/// (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `..._LOGS_ENDPOINT`) is used as
/// is; otherwise `OTEL_EXPORTER_OTLP_ENDPOINT` is used, with `/v1/traces` or
/// `/v1/logs` appended for HTTP. `OTEL_EXPORTER_OTLP_PROTOCOL` is `grpc` or
/// `http/protobuf` (the default). `OTEL_EXPORTER_OTLP_TIMEOUT` (milliseconds,
/// default 10 000) bounds each export in all, retries included, on every
/// signal; a value that is not a whole number is a warning (in
/// [`warnings`](Self::warnings)) and the default is used. Headers
/// (`OTEL_EXPORTER_OTLP_HEADERS`) are read by the trace and log exporter.
///
/// ```
/// use fcc::otlp::{OtlpConfig, OtlpProtocol};
/// let vars = |k: &str| match k {
///     "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://collector:4318".to_owned()),
///     _ => None,
/// };
/// let c = OtlpConfig::from_vars(vars).unwrap().unwrap();
/// assert_eq!(c.protocol, OtlpProtocol::HttpProtobuf);
/// assert_eq!(c.traces_endpoint, "http://collector:4318/v1/traces");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct OtlpConfig {
    /// The transport.
    pub protocol: OtlpProtocol,
    /// Full URL spans are sent to.
    pub traces_endpoint: String,
    /// Full URL log records are sent to.
    pub logs_endpoint: String,
    /// Full URL metrics are sent to.
    pub metrics_endpoint: String,
    /// How long one export may take in all, retries included.
    pub timeout: Duration,
    /// Values that could not be used, each naming the variable, what was
    /// expected and the default taken instead (set-up prints them).
    pub warnings: Vec<String>,
}

/// Endpoints with any password replaced by `***`.
impl fmt::Debug for OtlpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::secrets::redact_url;
        f.debug_struct("OtlpConfig")
            .field("protocol", &self.protocol)
            .field("traces_endpoint", &redact_url(&self.traces_endpoint))
            .field("logs_endpoint", &redact_url(&self.logs_endpoint))
            .field("metrics_endpoint", &redact_url(&self.metrics_endpoint))
            .field("timeout", &self.timeout)
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// `OTEL_EXPORTER_OTLP_TIMEOUT`'s default, as the specification sets it.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl OtlpConfig {
    /// From the process environment; `Ok(None)` when no endpoint is set.
    pub fn from_env() -> Result<Option<OtlpConfig>, OtlpConfigError> {
        Self::from_vars(|k| std::env::var(k).ok())
    }

    /// From any variable lookup (tests, config files).
    pub fn from_vars(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<OtlpConfig>, OtlpConfigError> {
        let get = |k: &str| {
            get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let protocol = match get("OTEL_EXPORTER_OTLP_PROTOCOL") {
            None => OtlpProtocol::HttpProtobuf,
            Some(p) => parse_protocol("OTEL_EXPORTER_OTLP_PROTOCOL", &p)?,
        };
        let generic = get("OTEL_EXPORTER_OTLP_ENDPOINT");
        let signals = [
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "v1/traces"),
            ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "v1/logs"),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "v1/metrics"),
        ];
        if generic.is_none() && signals.iter().all(|(v, _)| get(v).is_none()) {
            return Ok(None);
        }
        if let Some(g) = &generic {
            check_endpoint("OTEL_EXPORTER_OTLP_ENDPOINT", g)?;
        }
        let mut resolved = Vec::with_capacity(3);
        for (var, path) in signals {
            let url = match get(var) {
                Some(v) => {
                    check_endpoint(var, &v)?;
                    v
                }
                None => match &generic {
                    Some(g) => join(g, path, protocol),
                    None => default_endpoint(path, protocol),
                },
            };
            resolved.push(url);
        }
        let metrics_endpoint = resolved.pop().unwrap_or_default();
        let logs_endpoint = resolved.pop().unwrap_or_default();
        let traces_endpoint = resolved.pop().unwrap_or_default();
        let mut warnings = Vec::new();
        let timeout = match get("OTEL_EXPORTER_OTLP_TIMEOUT") {
            None => DEFAULT_TIMEOUT,
            Some(v) => match v.parse::<u64>() {
                Ok(ms) if ms > 0 => Duration::from_millis(ms),
                _ => {
                    warnings.push(format!(
                        "OTEL_EXPORTER_OTLP_TIMEOUT={v:?}: expected milliseconds, a whole \
                         number above 0; using {} ms",
                        DEFAULT_TIMEOUT.as_millis()
                    ));
                    DEFAULT_TIMEOUT
                }
            },
        };
        Ok(Some(OtlpConfig {
            protocol,
            traces_endpoint,
            logs_endpoint,
            metrics_endpoint,
            timeout,
            warnings,
        }))
    }

    /// One base endpoint for every signal (a builder setting rather than a
    /// variable); paths are appended for HTTP as with `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn new(endpoint: &str, protocol: OtlpProtocol) -> Result<OtlpConfig, OtlpConfigError> {
        check_endpoint("otlp endpoint", endpoint)?;
        Ok(OtlpConfig {
            protocol,
            traces_endpoint: join(endpoint, "v1/traces", protocol),
            logs_endpoint: join(endpoint, "v1/logs", protocol),
            metrics_endpoint: join(endpoint, "v1/metrics", protocol),
            timeout: DEFAULT_TIMEOUT,
            warnings: Vec::new(),
        })
    }

    /// The same, with another bound on each export (retries included).
    pub fn with_timeout(mut self, timeout: Duration) -> OtlpConfig {
        self.timeout = timeout;
        self
    }
}

/// Parses `grpc` / `http/protobuf`.
pub fn parse_protocol(variable: &str, value: &str) -> Result<OtlpProtocol, OtlpConfigError> {
    match value {
        "grpc" => Ok(OtlpProtocol::Grpc),
        "http/protobuf" => Ok(OtlpProtocol::HttpProtobuf),
        other => Err(OtlpConfigError {
            variable: variable.to_owned(),
            value: other.to_owned(),
            reason: "expected grpc or http/protobuf (http/json is not supported)".into(),
        }),
    }
}

fn default_endpoint(path: &str, protocol: OtlpProtocol) -> String {
    match protocol {
        OtlpProtocol::Grpc => "http://localhost:4317".to_owned(),
        OtlpProtocol::HttpProtobuf => format!("http://localhost:4318/{path}"),
    }
}

fn join(base: &str, path: &str, protocol: OtlpProtocol) -> String {
    match protocol {
        OtlpProtocol::Grpc => base.to_owned(),
        OtlpProtocol::HttpProtobuf => format!("{}/{path}", base.trim_end_matches('/')),
    }
}

/// `http://host[:port][/path]`: a scheme, a host, a port that is a number.
fn check_endpoint(variable: &str, value: &str) -> Result<(), OtlpConfigError> {
    let err = |reason: &str| OtlpConfigError {
        variable: variable.to_owned(),
        value: crate::secrets::redact_url(value),
        reason: reason.to_owned(),
    };
    let rest = if let Some(r) = value.strip_prefix("http://") {
        r
    } else if value.starts_with("https://") {
        return Err(err(
            "https needs TLS, which this build of fcc does not include; send to a local collector over http://",
        ));
    } else {
        return Err(err("expected a URL such as http://localhost:4317"));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (h, Some(p)),
        _ => (authority, None),
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(err("the URL has no host"));
    }
    if let Some(p) = port {
        match p.parse::<u16>() {
            Ok(n) if n > 0 => {}
            _ => return Err(err("the port must be a number from 1 to 65535")),
        }
    }
    Ok(())
}
