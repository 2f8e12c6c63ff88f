//! The OTLP configuration, as the specification's `OTEL_EXPORTER_OTLP_*`
//! variables set it: per-signal overrides of every setting, headers
//! percent-decoded and never shown, and a value that cannot be used is a
//! warning naming the variable and what was expected, with the default used.

use std::time::Duration;

use fcc::otlp::{OtlpCompression, OtlpConfig, OtlpProtocol, Temporality, DEFAULT_TIMEOUT};
use fcc::TelemetryBuilder;

fn config(vars: &[(&str, &str)]) -> OtlpConfig {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    OtlpConfig::from_vars(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
        .expect("an endpoint is set")
}

#[test]
fn no_endpoint_variable_means_no_otlp() {
    assert!(OtlpConfig::from_vars(|_| None).is_none());
    assert!(
        OtlpConfig::from_vars(|k| (k == "OTEL_EXPORTER_OTLP_HEADERS").then(|| "a=b".into()))
            .is_none()
    );
}

#[test]
fn per_signal_variables_override_the_general_ones() {
    let c = config(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=general"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "3000"),
        ("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "api-key=logs"),
        ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://metrics:4317"),
        ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "500"),
        ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip"),
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "https://traces.example/custom/path",
        ),
        ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "/etc/ca.pem"),
        ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/etc/client.pem"),
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", "/etc/client.key"),
    ]);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    // Traces: its own endpoint used as it is, its own compression and CA.
    assert_eq!(c.traces.endpoint, "https://traces.example/custom/path");
    assert_eq!(c.traces.compression, OtlpCompression::Gzip);
    assert_eq!(c.traces.timeout, Duration::from_millis(3000));
    assert_eq!(c.traces.headers.get("api-key"), Some("general"));
    assert_eq!(
        c.traces.tls.certificate.as_deref(),
        Some("/etc/ca.pem".as_ref())
    );
    // Logs: the general endpoint with its path, its own headers.
    assert_eq!(c.logs.endpoint, "http://collector:4318/v1/logs");
    assert_eq!(c.logs.headers.get("api-key"), Some("logs"));
    assert_eq!(c.logs.compression, OtlpCompression::None);
    assert_eq!(c.logs.tls.certificate, None);
    assert_eq!(
        c.logs.tls.client_key.as_deref(),
        Some("/etc/client.key".as_ref())
    );
    // Metrics: gRPC to its own endpoint (no path), its own timeout.
    assert_eq!(c.metrics.protocol, OtlpProtocol::Grpc);
    assert_eq!(c.metrics.endpoint, "http://metrics:4317");
    assert_eq!(c.metrics.timeout, Duration::from_millis(500));
    assert_eq!(c.traces.protocol, OtlpProtocol::HttpProtobuf);
}

#[test]
fn headers_are_percent_decoded_and_their_values_never_shown() {
    let c = config(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "Authorization=Bearer%20s3cr3t-token,x-tenant=a%2Cb,broken,bad=%zzs3cr3t-2",
        ),
    ]);
    assert_eq!(
        c.traces.headers.get("authorization"),
        Some("Bearer s3cr3t-token")
    );
    assert_eq!(c.metrics.headers.get("x-tenant"), Some("a,b"));
    assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
    let shown = format!("{c:?} {}", c.warnings.join(" "));
    assert!(!shown.contains("s3cr3t"), "a header value leaked: {shown}");
    assert!(c
        .warnings
        .iter()
        .all(|w| w.starts_with("OTEL_EXPORTER_OTLP_HEADERS")));
}

#[test]
fn a_value_that_cannot_be_used_warns_and_the_default_is_used() {
    for (var, value, expected, check) in [
        (
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "http/json",
            "grpc or http/protobuf",
            (|c: &OtlpConfig| c.traces.protocol == OtlpProtocol::HttpProtobuf)
                as fn(&OtlpConfig) -> bool,
        ),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "soon", "milliseconds", |c| {
            c.logs.timeout == DEFAULT_TIMEOUT
        }),
        (
            "OTEL_EXPORTER_OTLP_COMPRESSION",
            "brotli",
            "gzip or none",
            |c| c.metrics.compression == OtlpCompression::None,
        ),
        (
            "OTEL_EXPORTER_OTLP_INSECURE",
            "maybe",
            "true or false",
            |c| !c.traces.tls.insecure,
        ),
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "ftp://x",
            "a URL",
            |c| c.traces.endpoint == "http://localhost:4318/v1/traces",
        ),
        (
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
            "http://:4318",
            "host",
            |c| c.logs.endpoint == "http://localhost:4318/v1/logs",
        ),
        (
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "http://collector:99999",
            "port",
            |c| c.metrics.endpoint == "http://localhost:4318/v1/metrics",
        ),
        (
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            "weekly",
            "cumulative, delta or lowmemory; using cumulative",
            |c| c.temporality == Temporality::Cumulative,
        ),
    ] {
        let mut vars = vec![(var, value)];
        if !var.ends_with("ENDPOINT") {
            vars.push(("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"));
        }
        let c = config(&vars);
        assert_eq!(c.warnings.len(), 1, "{var}: {:?}", c.warnings);
        let w = &c.warnings[0];
        assert!(
            w.contains(var) && w.contains(value) && w.contains(expected) && w.contains("using"),
            "{w}"
        );
        assert!(check(&c), "{var}={value}: the default is used: {c:?}");
        // The set-up carries the same warning (and prints it at install).
        let b = TelemetryBuilder::from_vars(|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
        .expect("a bad OTLP value is not an error");
        assert!(b.warnings().contains(w), "{:?}", b.warnings());
    }
}

#[test]
fn https_is_accepted_and_a_scheme_less_grpc_endpoint_follows_insecure() {
    let c = config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318")]);
    assert_eq!(c.traces.endpoint, "https://collector:4318/v1/traces");
    let grpc = |insecure: Option<&str>| {
        let mut vars = vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ];
        if let Some(i) = insecure {
            vars.push(("OTEL_EXPORTER_OTLP_INSECURE", i));
        }
        config(&vars).traces.endpoint
    };
    assert_eq!(grpc(None), "https://collector:4317");
    assert_eq!(grpc(Some("false")), "https://collector:4317");
    assert_eq!(grpc(Some("true")), "http://collector:4317");
    assert_eq!(
        config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://[::1]:4318")])
            .traces
            .endpoint,
        "http://[::1]:4318/v1/traces"
    );
}

#[test]
fn builder_settings_apply_to_every_signal() {
    let c = OtlpConfig::new("https://collector:4318", OtlpProtocol::HttpProtobuf)
        .unwrap()
        .with_compression(OtlpCompression::Gzip)
        .with_headers(fcc::otlp::OtlpHeaders::from_pairs([("api-key", "k")]))
        .with_timeout(Duration::from_secs(2));
    for s in [&c.traces, &c.logs, &c.metrics] {
        assert_eq!(s.compression, OtlpCompression::Gzip);
        assert_eq!(s.headers.get("api-key"), Some("k"));
        assert_eq!(s.timeout, Duration::from_secs(2));
    }
    assert!(OtlpConfig::new("ftp://collector", OtlpProtocol::Grpc).is_err());
}

#[test]
fn the_metrics_temporality_preference_is_read_in_any_case() {
    let temporality = |value: Option<&str>| {
        let mut vars = vec![("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")];
        if let Some(v) = value {
            vars.push(("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", v));
        }
        let c = config(&vars);
        assert!(c.warnings.is_empty(), "{value:?}: {:?}", c.warnings);
        c.temporality
    };
    assert_eq!(temporality(None), Temporality::Cumulative, "the default");
    assert_eq!(temporality(Some("DELTA")), Temporality::Delta);
    assert_eq!(temporality(Some("lowmemory")), Temporality::LowMemory);
    assert_eq!(temporality(Some("LowMemory")), Temporality::LowMemory);
    assert_eq!(temporality(Some(" Cumulative ")), Temporality::Cumulative);
    // Metrics only: there is no general variable.
    let c = config(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
        ("OTEL_EXPORTER_OTLP_TEMPORALITY_PREFERENCE", "delta"),
    ]);
    assert_eq!(c.temporality, Temporality::Cumulative);
    // The builder's setting.
    let c = OtlpConfig::new("http://collector:4318", OtlpProtocol::Grpc).unwrap();
    assert_eq!(c.temporality, Temporality::Cumulative);
    assert_eq!(
        c.with_temporality(Temporality::Delta).temporality,
        Temporality::Delta
    );
}
