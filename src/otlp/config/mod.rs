//! Where and how OTLP goes, from the standard `OTEL_EXPORTER_OTLP_*`
//! variables: one configuration per signal (traces, logs, metrics), each
//! variable with its per-signal override, as the OpenTelemetry
//! specification sets them.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub use super::headers::OtlpHeaders;
use super::Temporality;

mod env;
pub use env::parse_protocol;
use env::{check_endpoint, join};

/// The OTLP transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
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

/// How export bodies are compressed (`OTEL_EXPORTER_OTLP_COMPRESSION`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OtlpCompression {
    /// Sent as they are (the default).
    #[default]
    None,
    /// gzip: `Content-Encoding: gzip` over HTTP, `grpc-encoding: gzip` over gRPC.
    Gzip,
}

/// TLS settings of one signal: extra trust and a client certificate, by
/// file (PEM). The system's roots and webpki's are always trusted too.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OtlpTls {
    /// A CA certificate (PEM) to trust (`..._CERTIFICATE`).
    pub certificate: Option<PathBuf>,
    /// The client's certificate chain (PEM) for mTLS (`..._CLIENT_CERTIFICATE`).
    pub client_certificate: Option<PathBuf>,
    /// The client's private key (PEM) for mTLS (`..._CLIENT_KEY`).
    pub client_key: Option<PathBuf>,
    /// gRPC to an endpoint given without a scheme uses plain text when true,
    /// TLS when false (`..._INSECURE`, default false).
    pub insecure: bool,
}

impl OtlpTls {
    /// Trusts the CA certificate in `pem_file`.
    pub fn with_certificate(mut self, pem_file: impl Into<PathBuf>) -> Self {
        self.certificate = Some(pem_file.into());
        self
    }
    /// Presents this certificate chain and key (PEM files) to the collector.
    pub fn with_client_identity(
        mut self,
        certificate: impl Into<PathBuf>,
        key: impl Into<PathBuf>,
    ) -> Self {
        self.client_certificate = Some(certificate.into());
        self.client_key = Some(key.into());
        self
    }
}

/// How one signal is exported: endpoint, transport, headers, timeout,
/// compression and TLS. `Debug` redacts a password in the endpoint and
/// every header value.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OtlpSignal {
    /// The full URL exports are sent to.
    pub endpoint: String,
    /// The transport.
    pub protocol: OtlpProtocol,
    /// Headers sent with each export (API keys: never printed).
    pub headers: OtlpHeaders,
    /// How long one export may take in all, retries included.
    pub timeout: Duration,
    /// Body compression.
    pub compression: OtlpCompression,
    /// Extra trust and client identity for `https` endpoints.
    pub tls: OtlpTls,
}

impl fmt::Debug for OtlpSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpSignal")
            .field("endpoint", &crate::secrets::redact_url(&self.endpoint))
            .field("protocol", &self.protocol)
            .field("headers", &self.headers)
            .field("timeout", &self.timeout)
            .field("compression", &self.compression)
            .field("tls", &self.tls)
            .finish()
    }
}

/// A builder setting that makes no sense, named with its value and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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

/// OTLP export of traces, logs and metrics, each signal configured on its own.
///
/// Each setting is read from its per-signal variable
/// (`OTEL_EXPORTER_OTLP_TRACES_*`, `..._LOGS_*`, `..._METRICS_*`), else from
/// the general one (`OTEL_EXPORTER_OTLP_*`), else the specification's default:
///
/// | setting | variable suffix | default |
/// |---|---|---|
/// | endpoint | `ENDPOINT` | `http://localhost:4318/v1/{signal}` (HTTP), `http://localhost:4317` (gRPC) |
/// | protocol | `PROTOCOL` | `http/protobuf` (or `grpc`) |
/// | headers | `HEADERS` | none; `k=v,k2=v2`, values percent-decoded |
/// | timeout | `TIMEOUT` | 10 000 ms |
/// | compression | `COMPRESSION` | `none` (or `gzip`) |
/// | CA certificate | `CERTIFICATE` | system and webpki roots only |
/// | client certificate and key (mTLS) | `CLIENT_CERTIFICATE`, `CLIENT_KEY` | none |
/// | plain gRPC to a scheme-less endpoint | `INSECURE` | `false` |
///
/// Metrics alone also read `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`
/// (no general variable): `cumulative` (the default), `delta` or
/// `lowmemory`, in any case; see [`Temporality`].
///
/// A per-signal endpoint is used as it is; the general one gets
/// `/v1/traces`, `/v1/logs` or `/v1/metrics` appended for HTTP. A value that
/// cannot be used is a warning in [`warnings`](Self::warnings) naming the
/// variable and what was expected (never a header value), and the default is
/// used; set-up prints them.
///
/// ```
/// use fcc::otlp::{OtlpCompression, OtlpConfig, OtlpProtocol};
/// let vars = |k: &str| match k {
///     "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("https://collector:4318".to_owned()),
///     "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL" => Some("grpc".to_owned()),
///     "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT" => Some("https://collector:4317".to_owned()),
///     "OTEL_EXPORTER_OTLP_COMPRESSION" => Some("gzip".to_owned()),
///     "OTEL_EXPORTER_OTLP_HEADERS" => Some("api-key=abc%3D".to_owned()),
///     _ => None,
/// };
/// let c = OtlpConfig::from_vars(vars).unwrap();
/// assert_eq!(c.traces.endpoint, "https://collector:4318/v1/traces");
/// assert_eq!(c.metrics.protocol, OtlpProtocol::Grpc);
/// assert_eq!(c.logs.compression, OtlpCompression::Gzip);
/// assert_eq!(c.logs.headers.get("api-key"), Some("abc="));
/// assert!(c.warnings.is_empty());
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct OtlpConfig {
    /// Spans.
    pub traces: OtlpSignal,
    /// Log records (events and `tracing` logs).
    pub logs: OtlpSignal,
    /// Metrics.
    pub metrics: OtlpSignal,
    /// Which metric sums and histograms are sent as deltas
    /// (`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`).
    pub temporality: Temporality,
    /// Values that could not be used, each naming the variable, what was
    /// expected and the default taken instead (set-up prints them).
    pub warnings: Vec<String>,
}

/// `OTEL_EXPORTER_OTLP_TIMEOUT`'s default, as the specification sets it.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl OtlpConfig {
    /// One base endpoint for every signal (a builder setting rather than a
    /// variable); paths are appended for HTTP as with `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn new(endpoint: &str, protocol: OtlpProtocol) -> Result<OtlpConfig, OtlpConfigError> {
        let endpoint =
            check_endpoint(endpoint, protocol, false).map_err(|reason| OtlpConfigError {
                variable: "otlp endpoint".into(),
                value: crate::secrets::redact_url(endpoint),
                reason,
            })?;
        let signal = |path| OtlpSignal {
            endpoint: join(&endpoint, path, protocol),
            protocol,
            headers: OtlpHeaders::default(),
            timeout: DEFAULT_TIMEOUT,
            compression: OtlpCompression::None,
            tls: OtlpTls::default(),
        };
        Ok(OtlpConfig {
            traces: signal("v1/traces"),
            logs: signal("v1/logs"),
            metrics: signal("v1/metrics"),
            temporality: Temporality::default(),
            warnings: Vec::new(),
        })
    }

    fn each(mut self, f: impl Fn(&mut OtlpSignal)) -> OtlpConfig {
        for s in [&mut self.traces, &mut self.logs, &mut self.metrics] {
            f(s);
        }
        self
    }

    /// Another bound on each export (retries included), on every signal.
    pub fn with_timeout(self, timeout: Duration) -> OtlpConfig {
        self.each(|s| s.timeout = timeout)
    }

    /// These headers on every signal.
    pub fn with_headers(self, headers: OtlpHeaders) -> OtlpConfig {
        self.each(|s| s.headers = headers.clone())
    }

    /// This compression on every signal.
    pub fn with_compression(self, compression: OtlpCompression) -> OtlpConfig {
        self.each(|s| s.compression = compression)
    }

    /// These TLS settings on every signal.
    pub fn with_tls(self, tls: OtlpTls) -> OtlpConfig {
        self.each(|s| s.tls = tls.clone())
    }

    /// This temporality for metric sums and histograms.
    pub fn with_temporality(mut self, temporality: Temporality) -> OtlpConfig {
        self.temporality = temporality;
        self
    }
}
