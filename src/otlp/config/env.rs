//! Reading the `OTEL_EXPORTER_OTLP_*` variables: each signal's settings
//! from its own variable, else the general one, else the specification's
//! default; a value that cannot be used is a warning that names the
//! variable, and the default is kept.

use std::path::PathBuf;
use std::time::Duration;

use super::*;

const SIGNALS: [(&str, &str); 3] = [
    ("TRACES", "v1/traces"),
    ("LOGS", "v1/logs"),
    ("METRICS", "v1/metrics"),
];

impl OtlpConfig {
    /// From the process environment; `None` when no endpoint is set.
    pub fn from_env() -> Option<OtlpConfig> {
        Self::from_vars(|k| std::env::var(k).ok())
    }

    /// From any variable lookup (tests, config files); `None` when no
    /// endpoint variable is set.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Option<OtlpConfig> {
        let get = |k: &str| {
            get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let any_endpoint = get("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
            || SIGNALS
                .iter()
                .any(|(s, _)| get(&format!("OTEL_EXPORTER_OTLP_{s}_ENDPOINT")).is_some());
        if !any_endpoint {
            return None;
        }
        Some(Self::resolve(get))
    }

    /// Like [`from_vars`](Self::from_vars), but with no endpoint variable
    /// set the specification's defaults are used (`http://localhost:4318`,
    /// or `:4317` for gRPC): for `OTEL_TRACES_EXPORTER=otlp` and friends.
    pub fn from_vars_or_default(get: impl Fn(&str) -> Option<String>) -> OtlpConfig {
        Self::resolve(|k: &str| {
            get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        })
    }

    /// Every signal's settings from the variables, defaults where unset.
    fn resolve(get: impl Fn(&str) -> Option<String>) -> OtlpConfig {
        let mut warnings = Vec::new();
        let mut signals = SIGNALS.iter().map(|(signal, path)| {
            // The per-signal variable, else the general one: (name, value).
            let var = |suffix: &str| {
                let specific = format!("OTEL_EXPORTER_OTLP_{signal}_{suffix}");
                match get(&specific) {
                    Some(v) => Some((specific, v, true)),
                    None => {
                        let general = format!("OTEL_EXPORTER_OTLP_{suffix}");
                        get(&general).map(|v| (general, v, false))
                    }
                }
            };
            resolve_signal(&var, path, &mut warnings)
        });
        let (traces, logs, metrics) = (
            signals.next().expect("three signals"),
            signals.next().expect("three signals"),
            signals.next().expect("three signals"),
        );
        drop(signals);
        let temporality = match get(TEMPORALITY) {
            None => Temporality::default(),
            Some(v) => Temporality::parse(&v).unwrap_or_else(|| {
                warnings.push(warning(
                    TEMPORALITY,
                    &v,
                    "cumulative, delta or lowmemory",
                    Temporality::default().as_str(),
                ));
                Temporality::default()
            }),
        };
        // A general variable is read once per signal: say it once.
        let mut seen = std::collections::HashSet::new();
        warnings.retain(|w| seen.insert(w.clone()));
        OtlpConfig {
            traces,
            logs,
            metrics,
            temporality,
            warnings,
        }
    }
}

const TEMPORALITY: &str = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE";

/// A value that cannot be used: the variable, what was expected, the default used.
pub(super) fn warning(variable: &str, value: &str, expected: &str, default: &str) -> String {
    format!("{variable}={value:?}: expected {expected}; using {default}")
}

/// One signal's settings; `var(suffix)` finds (variable, value, per-signal).
pub(super) fn resolve_signal(
    var: &impl Fn(&str) -> Option<(String, String, bool)>,
    path: &str,
    warnings: &mut Vec<String>,
) -> OtlpSignal {
    let mut warn = |variable: &str, value: &str, expected: &str, default: &str| {
        warnings.push(warning(variable, value, expected, default));
    };
    let protocol = match var("PROTOCOL") {
        None => OtlpProtocol::HttpProtobuf,
        Some((name, v, _)) => match v.to_ascii_lowercase().as_str() {
            "grpc" => OtlpProtocol::Grpc,
            "http/protobuf" => OtlpProtocol::HttpProtobuf,
            _ => {
                warn(
                    &name,
                    &v,
                    "grpc or http/protobuf (http/json is not supported)",
                    "http/protobuf",
                );
                OtlpProtocol::HttpProtobuf
            }
        },
    };
    let insecure = match var("INSECURE") {
        None => false,
        Some((name, v, _)) => match v.to_ascii_lowercase().as_str() {
            "true" => true,
            "false" => false,
            _ => {
                warn(&name, &v, "true or false", "false");
                false
            }
        },
    };
    let default = default_endpoint(path, protocol);
    let endpoint = match var("ENDPOINT") {
        None => default,
        Some((name, v, specific)) => match check_endpoint(&v, protocol, insecure) {
            Ok(url) if specific => url,
            Ok(url) => join(&url, path, protocol),
            Err(reason) => {
                // The general variable's warning reads the same for every signal.
                let shown = if specific {
                    default.clone()
                } else {
                    default_endpoint("", protocol)
                        .trim_end_matches('/')
                        .to_owned()
                };
                warn(&name, &crate::secrets::redact_url(&v), &reason, &shown);
                default
            }
        },
    };
    let timeout = match var("TIMEOUT") {
        None => DEFAULT_TIMEOUT,
        Some((name, v, _)) => match v.parse::<u64>() {
            Ok(ms) if ms > 0 => Duration::from_millis(ms),
            _ => {
                warn(
                    &name,
                    &v,
                    "milliseconds, a whole number above 0",
                    "10000 ms",
                );
                DEFAULT_TIMEOUT
            }
        },
    };
    let compression = match var("COMPRESSION") {
        None => OtlpCompression::None,
        Some((name, v, _)) => match v.to_ascii_lowercase().as_str() {
            "gzip" => OtlpCompression::Gzip,
            "none" => OtlpCompression::None,
            _ => {
                warn(&name, &v, "gzip or none", "none");
                OtlpCompression::None
            }
        },
    };
    let headers = match var("HEADERS") {
        None => OtlpHeaders::default(),
        Some((name, v, _)) => {
            let (headers, problems) = OtlpHeaders::parse(&name, &v);
            warnings.extend(problems);
            headers
        }
    };
    let file = |suffix| var(suffix).map(|(_, v, _)| PathBuf::from(v));
    OtlpSignal {
        endpoint,
        protocol,
        headers,
        timeout,
        compression,
        tls: OtlpTls {
            certificate: file("CERTIFICATE"),
            client_certificate: file("CLIENT_CERTIFICATE"),
            client_key: file("CLIENT_KEY"),
            insecure,
        },
    }
}

/// Parses `grpc` / `http/protobuf`.
pub fn parse_protocol(variable: &str, value: &str) -> Result<OtlpProtocol, OtlpConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "grpc" => Ok(OtlpProtocol::Grpc),
        "http/protobuf" => Ok(OtlpProtocol::HttpProtobuf),
        _ => Err(OtlpConfigError {
            variable: variable.to_owned(),
            value: value.to_owned(),
            reason: "expected grpc or http/protobuf (http/json is not supported)".into(),
        }),
    }
}

pub(super) fn default_endpoint(path: &str, protocol: OtlpProtocol) -> String {
    match protocol {
        OtlpProtocol::Grpc => "http://localhost:4317".to_owned(),
        OtlpProtocol::HttpProtobuf => format!("http://localhost:4318/{path}"),
    }
}

pub(super) fn join(base: &str, path: &str, protocol: OtlpProtocol) -> String {
    match protocol {
        OtlpProtocol::Grpc => base.to_owned(),
        OtlpProtocol::HttpProtobuf => format!("{}/{path}", base.trim_end_matches('/')),
    }
}

/// `http(s)://host[:port][/path]`: a scheme, a host, a port that is a
/// number. For gRPC an endpoint without a scheme is `https://` unless
/// `insecure` (the specification's `OTEL_EXPORTER_OTLP_INSECURE`). Returns
/// the URL to use, or why it cannot be used.
pub(super) fn check_endpoint(
    value: &str,
    protocol: OtlpProtocol,
    insecure: bool,
) -> Result<String, String> {
    let (url, rest) = if let Some(r) = value.strip_prefix("http://") {
        (value.to_owned(), r)
    } else if let Some(r) = value.strip_prefix("https://") {
        (value.to_owned(), r)
    } else if protocol == OtlpProtocol::Grpc && !value.contains("://") {
        let scheme = if insecure { "http" } else { "https" };
        (format!("{scheme}://{value}"), value)
    } else {
        return Err("a URL such as http://localhost:4318".into());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let (host, port) = match host_port.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((h, rest)) => (h, rest.strip_prefix(':')),
            None => ("", None),
        },
        None => match host_port.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        },
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err("a URL with a host, such as http://collector:4318".into());
    }
    if let Some(p) = port {
        match p.parse::<u16>() {
            Ok(n) if n > 0 => {}
            _ => return Err("a URL whose port is a number from 1 to 65535".into()),
        }
    }
    Ok(url)
}
