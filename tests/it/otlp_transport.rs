//! Every OTLP signal (traces, logs, metrics) over both protocols reaches a
//! collector the way production runs it: TLS with a CA the test made, mTLS,
//! gzip (the receiver gunzips each body itself, or reads gRPC's frame flag)
//! and headers, all configured by the `OTEL_EXPORTER_OTLP_*` variables.

use crate::support::otlp_receiver;
use crate::support::tls;

use std::time::Duration;

use fcc::{Event, LogTarget, Telemetry, TelemetryBuilder};
use otlp_receiver::{OtlpReceiver, Received};
use tls::TestPki;

const SIGNALS: [&str; 3] = ["traces", "logs", "metrics"];

/// What one run of a service exporting one span, one event (a log record)
/// and one counter saw: the errors of each signal's last export.
struct Outcome {
    span_error: Option<String>,
    metric_error: Option<String>,
    spans_exported: u64,
    logs_exported: u64,
    metric_exports: u64,
}

/// Sets up fcc from `vars` (as the environment would), exports one item
/// of each signal, flushes and shuts down.
fn export_each_signal(vars: &[(&str, String)]) -> Outcome {
    let t: Telemetry =
        TelemetryBuilder::from_vars(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .unwrap()
            .service_name("transport-test")
            .log(LogTarget::Off)
            .fmt(None)
            .metric_export_interval(Duration::from_secs(3600))
            .build()
            .unwrap();
    drop(t.tracer().span("transport.span"));
    t.bus()
        .publish(&Event::info("transport-test", "transport.event", "hello").build());
    t.metrics().increment("transport.counter", &[]).unwrap();
    let _ = t.flush(Duration::from_secs(20));
    let stats = t.tracer().stats();
    let metrics = t.metric_export_stats().expect("OTLP metrics are on");
    let outcome = Outcome {
        span_error: stats.last_error.clone(),
        metric_error: metrics.last_error.clone(),
        spans_exported: stats.spans_exported,
        logs_exported: stats.logs_exported,
        metric_exports: metrics.exports,
    };
    let _ = t.shutdown();
    outcome
}

fn vars(
    receiver: &OtlpReceiver,
    protocol: &str,
    more: &[(&'static str, String)],
) -> Vec<(&'static str, String)> {
    let mut v = vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.to_owned()),
        // A refused handshake is not retried for long.
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "3000".to_owned()),
    ];
    v.extend(more.iter().cloned());
    v
}

fn receiver(
    protocol: &str,
    config: Option<std::sync::Arc<tokio_rustls::rustls::ServerConfig>>,
) -> OtlpReceiver {
    match (protocol, config) {
        ("grpc", None) => OtlpReceiver::grpc("127.0.0.1:0"),
        ("grpc", Some(c)) => OtlpReceiver::grpc_tls(c),
        (_, None) => OtlpReceiver::http("127.0.0.1:0"),
        (_, Some(c)) => OtlpReceiver::http_tls(c),
    }
}

fn alpn(protocol: &str) -> &'static [u8] {
    if protocol == "grpc" {
        b"h2"
    } else {
        b"http/1.1"
    }
}

fn assert_every_signal_arrived(r: &Received, o: &Outcome, what: &str) {
    for signal in SIGNALS {
        assert!(
            !r.requests_for(signal).is_empty(),
            "{what}: no {signal} arrived (span error {:?}, metric error {:?})",
            o.span_error,
            o.metric_error
        );
    }
    assert!(
        o.spans_exported >= 1 && o.logs_exported >= 1 && o.metric_exports >= 1,
        "{what}"
    );
    assert_eq!(
        r.spans()
            .iter()
            .filter(|s| s.span.name == "transport.span")
            .count(),
        1
    );
}

#[test]
fn every_signal_over_tls_trusts_the_configured_ca() {
    let pki = TestPki::new();
    for protocol in ["grpc", "http/protobuf"] {
        let rx = receiver(protocol, Some(pki.server_config(false, alpn(protocol))));
        let v = vars(
            &rx,
            protocol,
            &[(
                "OTEL_EXPORTER_OTLP_CERTIFICATE",
                pki.ca.display().to_string(),
            )],
        );
        assert!(v[0].1.starts_with("https://"), "{v:?}");
        let o = export_each_signal(&v);
        let r = rx.stop();
        assert_every_signal_arrived(&r, &o, protocol);
    }
}

#[test]
fn a_wrong_ca_fails_with_a_clear_error_and_nothing_is_sent() {
    let pki = TestPki::new();
    for protocol in ["grpc", "http/protobuf"] {
        let rx = receiver(protocol, Some(pki.server_config(false, alpn(protocol))));
        let v = vars(
            &rx,
            protocol,
            &[(
                "OTEL_EXPORTER_OTLP_CERTIFICATE",
                pki.wrong_ca.display().to_string(),
            )],
        );
        let o = export_each_signal(&v);
        let r = rx.stop();
        assert!(
            r.requests.lock().unwrap().is_empty(),
            "{protocol}: nothing gets through"
        );
        assert_eq!(
            (o.spans_exported, o.logs_exported, o.metric_exports),
            (0, 0, 0)
        );
        for error in [&o.span_error, &o.metric_error] {
            let e = error.as_deref().unwrap_or_default().to_lowercase();
            assert!(
                e.contains("certificate")
                    || e.contains("unknownissuer")
                    || e.contains("unknown issuer"),
                "{protocol}: the error names the certificate problem: {error:?}"
            );
        }
    }
}

#[test]
fn mtls_presents_the_client_certificate() {
    let pki = TestPki::new();
    for protocol in ["grpc", "http/protobuf"] {
        let rx = receiver(protocol, Some(pki.server_config(true, alpn(protocol))));
        let ca = (
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
            pki.ca.display().to_string(),
        );
        // Without a client certificate the collector refuses the handshake.
        let refused = export_each_signal(&vars(&rx, protocol, std::slice::from_ref(&ca)));
        assert_eq!(
            refused.spans_exported + refused.metric_exports,
            0,
            "{protocol}"
        );
        assert!(rx.received.requests.lock().unwrap().is_empty());
        let o = export_each_signal(&vars(
            &rx,
            protocol,
            &[
                ca,
                (
                    "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
                    pki.client_cert.display().to_string(),
                ),
                (
                    "OTEL_EXPORTER_OTLP_CLIENT_KEY",
                    pki.client_key.display().to_string(),
                ),
            ],
        ));
        let r = rx.stop();
        assert_every_signal_arrived(&r, &o, protocol);
    }
}

#[test]
fn gzip_compresses_every_signal_on_both_protocols() {
    for protocol in ["grpc", "http/protobuf"] {
        for gzip in [true, false] {
            let rx = receiver(protocol, None);
            let compression = if gzip { "gzip" } else { "none" };
            let o = export_each_signal(&vars(
                &rx,
                protocol,
                &[("OTEL_EXPORTER_OTLP_COMPRESSION", compression.to_owned())],
            ));
            let r = rx.stop();
            assert_every_signal_arrived(&r, &o, protocol);
            for req in r.requests.lock().unwrap().iter() {
                assert_eq!(req.gzip, gzip, "{protocol} {compression}: {req:?}");
            }
        }
    }
}

#[test]
fn headers_reach_the_collector_on_every_signal() {
    for protocol in ["grpc", "http/protobuf"] {
        let rx = receiver(protocol, None);
        let o = export_each_signal(&vars(
            &rx,
            protocol,
            &[
                (
                    "OTEL_EXPORTER_OTLP_HEADERS",
                    "api-key=s3cr3t%20value,x-tenant=core".to_owned(),
                ),
                (
                    "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
                    "api-key=metrics-key".to_owned(),
                ),
            ],
        ));
        let r = rx.stop();
        assert_every_signal_arrived(&r, &o, protocol);
        for signal in SIGNALS {
            for req in r.requests_for(signal) {
                let expected = if signal == "metrics" {
                    "metrics-key"
                } else {
                    "s3cr3t value"
                };
                assert_eq!(req.header("api-key"), Some(expected), "{protocol} {signal}");
            }
        }
    }
}

#[test]
fn an_unreadable_certificate_file_is_a_clear_error_at_set_up() {
    for (var, needle) in [
        (
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
            "cannot read the CA certificate",
        ),
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", "mTLS needs both"),
    ] {
        let vars = [
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "https://localhost:4318".to_owned(),
            ),
            (var, "/nonexistent/fcc-test.pem".to_owned()),
        ];
        let err = TelemetryBuilder::from_vars(|k| {
            vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
        })
        .unwrap()
        .log(LogTarget::Off)
        .fmt(None)
        .build()
        .err()
        .unwrap_or_else(|| panic!("{var}: set-up went on"));
        let text = err.to_string();
        assert!(text.contains(needle), "{text}");
        if var.ends_with("CERTIFICATE") {
            assert!(text.contains("/nonexistent/fcc-test.pem"), "{text}");
        }
    }
}
