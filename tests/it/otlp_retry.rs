//! OTLP export under faults. Exactly one layer retries an export: opentelemetry-otlp retries by
//! the OTLP rules (UNAVAILABLE is retryable: 1 try + 3 retries), and fcc's
//! span pipeline does not retry on top of it (it did: 16 calls per batch).
//! A collector that refuses and then recovers gets the batch.

use crate::support::otlp_receiver;

use std::sync::atomic::Ordering;
use std::time::Duration;

use fcc::otlp::{OtlpConfig, OtlpProtocol, OtlpSpanExporter};
use fcc::FccTracer;

fn tracer(receiver: &otlp_receiver::OtlpReceiver) -> FccTracer {
    let config = OtlpConfig::new(&receiver.endpoint(), OtlpProtocol::Grpc).unwrap();
    FccTracer::builder("retry")
        .exporter(OtlpSpanExporter::new(&config, "retry").unwrap())
        .export_retries(3)
        .build()
        .unwrap()
}

#[test]
fn a_collector_that_recovers_gets_the_batch() {
    let receiver = otlp_receiver::OtlpReceiver::grpc("127.0.0.1:0");
    receiver.received.refuse_traces.store(2, Ordering::SeqCst);
    let tracer = tracer(&receiver);
    drop(tracer.span("delivered"));
    tracer.flush(Duration::from_secs(20)).unwrap();
    assert_eq!(receiver.received.trace_calls.load(Ordering::SeqCst), 3);
    let spans = receiver.received.wait_spans(1);
    assert_eq!(spans[0].span.name, "delivered");
    let stats = tracer.stats();
    assert_eq!(
        (stats.spans_exported, stats.spans_failed),
        (1, 0),
        "{stats:?}"
    );
}

#[test]
fn a_collector_that_stays_down_rests_the_exporter_until_it_is_back() {
    let receiver = otlp_receiver::OtlpReceiver::grpc("127.0.0.1:0");
    receiver
        .received
        .refuse_traces
        .store(usize::MAX, Ordering::SeqCst);
    let tracer = tracer(&receiver);
    drop(tracer.span("first"));
    let _ = tracer.flush(Duration::from_secs(20));
    assert_eq!(
        receiver.received.trace_calls.load(Ordering::SeqCst),
        4,
        "one try and the exporter's 3 retries, nothing on top"
    );
    let stats = tracer.stats();
    assert_eq!(
        (stats.spans_failed, stats.spans_exported),
        (1, 0),
        "{stats:?}"
    );
    // Resting: the next batch is counted as not delivered, without a call.
    drop(tracer.span("while.down"));
    let _ = tracer.flush(Duration::from_secs(20));
    assert_eq!(
        receiver.received.trace_calls.load(Ordering::SeqCst),
        4,
        "no call while resting"
    );
    assert_eq!(tracer.stats().spans_failed, 2);
    // Back up: after the rest (at most 1 s) the next batch goes through.
    receiver.received.refuse_traces.store(0, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(1100));
    drop(tracer.span("after"));
    tracer.flush(Duration::from_secs(20)).unwrap();
    assert_eq!(receiver.received.trace_calls.load(Ordering::SeqCst), 5);
    let spans = receiver.received.wait_spans(1);
    assert_eq!(spans[0].span.name, "after");
    assert_eq!(tracer.stats().spans_exported, 1);
}

/// A collector that accepts connections and never answers.
fn hung_collector() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    (listener, endpoint)
}

#[test]
fn a_hung_collector_costs_one_timeout_then_a_rest() {
    let (listener, endpoint) = hung_collector();
    let accepted = std::thread::spawn(move || {
        // Hold every connection open without a byte of answer.
        let mut held = Vec::new();
        listener.set_nonblocking(true).unwrap();
        for _ in 0..300 {
            if let Ok((c, _)) = listener.accept() {
                held.push(c);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        held.len()
    });
    let config = OtlpConfig::new(&endpoint, OtlpProtocol::Grpc)
        .unwrap()
        .with_timeout(Duration::from_millis(300));
    let tracer = FccTracer::builder("hung")
        .exporter(OtlpSpanExporter::new(&config, "hung").unwrap())
        .build()
        .unwrap();
    drop(tracer.span("first"));
    let _ = tracer.flush(Duration::from_secs(30));
    let stats = tracer.stats();
    assert_eq!(stats.spans_failed, 1, "{stats:?}");
    let error = stats.last_error.unwrap_or_default();
    // The bound hit: fcc's (all tries) or the client's own per-try timeout,
    // which is set to the same value; whichever fires first.
    assert!(
        error.contains("OTEL_EXPORTER_OTLP_TIMEOUT") || error.contains("Timeout expired"),
        "bounded: {error}"
    );
    let errors = stats.export_errors;
    drop(tracer.span("second"));
    let _ = tracer.flush(Duration::from_secs(30));
    let stats = tracer.stats();
    assert_eq!(stats.spans_failed, 2);
    assert_eq!(stats.export_errors, errors, "no call while resting");
    assert!(accepted.join().unwrap() >= 1, "the collector did accept");
}

#[test]
fn the_timeout_variable_is_read_and_a_bad_value_warns() {
    let vars = |timeout: &'static str| {
        move |k: &str| match k {
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://collector:4318".to_owned()),
            "OTEL_EXPORTER_OTLP_TIMEOUT" => Some(timeout.to_owned()),
            _ => None,
        }
    };
    let c = OtlpConfig::from_vars(vars("2500")).unwrap();
    assert_eq!(c.traces.timeout, Duration::from_millis(2500));
    assert_eq!(c.metrics.timeout, Duration::from_millis(2500));
    assert!(c.warnings.is_empty());
    for bad in ["abc", "0", "-5"] {
        let c = OtlpConfig::from_vars(vars(bad)).unwrap();
        assert_eq!(c.logs.timeout, fcc::otlp::DEFAULT_TIMEOUT, "{bad}");
        assert_eq!(c.warnings.len(), 1);
        assert!(
            c.warnings[0].contains("OTEL_EXPORTER_OTLP_TIMEOUT")
                && c.warnings[0].contains("milliseconds"),
            "{:?}",
            c.warnings
        );
    }
}

#[test]
fn a_password_in_the_endpoint_never_shows() {
    let vars = |endpoint: &'static str| {
        move |k: &str| (k == "OTEL_EXPORTER_OTLP_ENDPOINT").then(|| endpoint.to_owned())
    };
    let bad = OtlpConfig::from_vars(vars("http://app:hunter2@collector:notaport")).unwrap();
    assert_eq!(bad.warnings.len(), 1, "{:?}", bad.warnings);
    for shown in [bad.warnings[0].clone(), format!("{bad:?}")] {
        assert!(!shown.contains("hunter2"), "{shown}");
    }
    assert!(
        bad.warnings[0].contains("app:***@collector"),
        "{:?}",
        bad.warnings
    );
    let built = fcc::otlp::OtlpConfig::new(
        "http://app:hunter2@collector:notaport",
        fcc::otlp::OtlpProtocol::Grpc,
    )
    .unwrap_err();
    for shown in [built.to_string(), format!("{built:?}")] {
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("app:***@collector"), "{shown}");
    }
    let good = OtlpConfig::from_vars(vars("http://app:hunter2@collector:4318")).unwrap();
    let debug = format!("{good:?}");
    assert!(
        !debug.contains("hunter2") && debug.contains("app:***@collector:4318"),
        "{debug}"
    );
    assert!(
        good.traces.endpoint.contains("hunter2"),
        "the exporter still gets the real URL"
    );
}
