//! Exactly one layer retries an OTLP export: opentelemetry-otlp retries by
//! the OTLP rules (UNAVAILABLE is retryable: 1 try + 3 retries), and fcc's
//! span pipeline does not retry on top of it (it did: 16 calls per batch).
//! A collector that refuses and then recovers gets the batch.

#[path = "support/otlp_receiver.rs"]
mod otlp_receiver;

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
fn a_refused_batch_is_tried_four_times_in_all() {
    let receiver = otlp_receiver::OtlpReceiver::grpc("127.0.0.1:0");
    receiver
        .received
        .refuse_traces
        .store(usize::MAX, Ordering::SeqCst);
    let tracer = tracer(&receiver);
    drop(tracer.span("refused"));
    let _ = tracer.flush(Duration::from_secs(20));
    assert_eq!(
        receiver.received.trace_calls.load(Ordering::SeqCst),
        4,
        "one try and the exporter's 3 retries, nothing on top"
    );
    let stats = tracer.stats();
    assert_eq!(stats.spans_failed, 1, "{stats:?}");
    assert_eq!(stats.spans_exported, 0);
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
    assert_eq!(receiver.received.trace_calls.load(Ordering::SeqCst), 4);
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
