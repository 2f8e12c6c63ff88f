//! Spans and events exported over OTLP (gRPC and HTTP/protobuf) to a real
//! OTLP receiver, and what happens when the collector is down or misnamed.

use crate::support::otlp_receiver;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fcc::export::{ExportError, SpanExporter};

use fcc::otlp::{OtlpConfig, OtlpProtocol};
use fcc::trace::KeyValue;
use fcc::{Event, EventType, LogTarget, Severity, Telemetry, TelemetryBuilder};
use otlp_receiver::{attr_str, OtlpReceiver, Received};

fn telemetry(endpoint: &str, protocol: OtlpProtocol) -> Telemetry {
    Telemetry::builder()
        .service_name("otlp-test")
        .log(LogTarget::Off)
        .fmt(None)
        .otlp(Some(OtlpConfig::new(endpoint, protocol).unwrap()))
        .build()
        .unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Nested FccTracer and `tracing` spans, one event inside, one failing span.
fn run_workload(t: &Telemetry) {
    tracing::dispatcher::with_default(t.dispatch(), || {
        let tracer = t.tracer();
        let mut run = tracer.span_with("simulation.run", [KeyValue::new("scenario_id", "SC-001")]);
        run.set_attribute("steps", 3_i64);
        {
            let _step = tracing::info_span!("simulation.step", node_id = "N1").entered();
            fcc::emit(
                Event::builder(EventType::SimulationBudgetWarning, "engine")
                    .severity(Severity::Warn)
                    .correlation_id("run-42")
                    .detail("step 3 slow")
                    .attr("step", 3)
                    .build(),
            );
            let mut call = tracer.span("ai.call");
            call.record_error(&std::io::Error::other("quota exceeded"));
        }
    });
}

fn check_export(received: &Received) {
    let spans = received.wait_spans(3);
    assert_eq!(spans.len(), 3, "{spans:#?}");
    let by_name = |n: &str| {
        spans
            .iter()
            .find(|s| s.span.name == n)
            .unwrap_or_else(|| panic!("no span {n}"))
    };
    let run = by_name("simulation.run");
    let step = by_name("simulation.step");
    let call = by_name("ai.call");
    for s in [run, step, call] {
        assert_eq!(s.service_name.as_deref(), Some("otlp-test"));
        assert_eq!(s.span.trace_id, run.span.trace_id, "one trace");
    }
    assert!(run.span.parent_span_id.is_empty());
    assert_eq!(
        step.span.parent_span_id, run.span.span_id,
        "tracing span under FccTracer span"
    );
    assert_eq!(
        call.span.parent_span_id, step.span.span_id,
        "FccTracer span under tracing span"
    );
    assert_eq!(
        attr_str(&run.span.attributes, "scenario_id").as_deref(),
        Some("SC-001")
    );
    assert!(attr_str(&run.span.attributes, "steps")
        .unwrap()
        .contains('3'));
    assert_eq!(
        attr_str(&step.span.attributes, "node_id").as_deref(),
        Some("N1")
    );
    // Status: ok for FccTracer spans, unset for tracing spans, error + exception.
    assert_eq!(run.span.status.as_ref().unwrap().code, 1);
    assert_eq!(step.span.status.as_ref().map_or(0, |s| s.code), 0);
    let status = call.span.status.as_ref().unwrap();
    assert_eq!(
        (status.code, status.message.as_str()),
        (2, "quota exceeded")
    );
    let exception = call
        .span
        .events
        .iter()
        .find(|e| e.name == "exception")
        .unwrap();
    assert_eq!(
        attr_str(&exception.attributes, "exception.message").as_deref(),
        Some("quota exceeded")
    );
    assert_eq!(
        attr_str(&exception.attributes, "exception.type").as_deref(),
        Some("std::io::error::Error")
    );
    // The fcc event is a span event on the span current at emission.
    let ev = step
        .span
        .events
        .iter()
        .find(|e| e.name == "simulation.budget.warning")
        .unwrap_or_else(|| panic!("no span event: {:#?}", step.span.events));
    assert_eq!(
        attr_str(&ev.attributes, "correlation_id").as_deref(),
        Some("run-42")
    );

    // ... and an OTel log record with the trace context.
    let logs = received.wait_logs(1);
    assert_eq!(logs.len(), 1, "{logs:#?}");
    let log = &logs[0];
    assert_eq!(log.service_name.as_deref(), Some("otlp-test"));
    assert_eq!(log.record.event_name, "simulation.budget.warning");
    assert_eq!(log.record.severity_number, 13, "WARN");
    assert_eq!(log.record.severity_text, "WARN");
    assert_eq!(hex(&log.record.trace_id), hex(&run.span.trace_id));
    assert_eq!(hex(&log.record.span_id), hex(&step.span.span_id));
    assert_eq!(
        attr_str(&log.record.attributes, "source").as_deref(),
        Some("engine")
    );
    assert_eq!(
        attr_str(&log.record.attributes, "payload.step").as_deref(),
        Some("IntValue(3)")
    );
    let body = log.record.body.as_ref().and_then(|b| b.value.as_ref());
    assert!(format!("{body:?}").contains("step 3 slow"));
}

#[test]
fn grpc_export_carries_ids_links_attributes_events_status_and_resource() {
    let receiver = OtlpReceiver::grpc("127.0.0.1:0");
    let t = telemetry(&receiver.endpoint(), OtlpProtocol::Grpc);
    assert!(t.tracer().otlp_enabled());
    run_workload(&t);
    t.flush(Duration::from_secs(20)).unwrap();
    check_export(&receiver.received);
    let stats = t.tracer().stats();
    assert_eq!(
        (
            stats.spans_exported,
            stats.logs_exported,
            stats.spans_failed
        ),
        (3, 1, 0)
    );
}

#[test]
fn http_protobuf_export_carries_the_same() {
    let receiver = OtlpReceiver::http("127.0.0.1:0");
    let t = telemetry(&receiver.endpoint(), OtlpProtocol::HttpProtobuf);
    run_workload(&t);
    t.shutdown().unwrap();
    check_export(&receiver.received);
}

#[test]
fn collector_down_drops_with_a_count_and_export_resumes_when_it_is_back() {
    let receiver = OtlpReceiver::grpc("127.0.0.1:0");
    let addr = receiver.addr.to_string();
    let endpoint = receiver.endpoint();
    let received = receiver.stop();
    let t = telemetry(&endpoint, OtlpProtocol::Grpc);
    let tracer = t.tracer().clone();
    for _ in 0..5 {
        drop(tracer.span("while.down"));
    }
    // The application never blocks: ending spans only queues them. The
    // flush waits for the retries to give up.
    t.flush(Duration::from_secs(30)).unwrap();
    let stats = tracer.stats();
    assert_eq!(stats.spans_failed, 5, "{stats:?}");
    assert!(stats.export_errors >= 1, "{stats:?}");
    assert!(stats.last_error.is_some());

    let back = OtlpReceiver::grpc_with(&addr, received.clone());
    // After a failed batch the exporter rests (at most 1 s the first time);
    // the first batch after the rest goes through.
    std::thread::sleep(Duration::from_millis(1100));
    drop(tracer.span("after.restart"));
    t.flush(Duration::from_secs(30)).unwrap();
    let spans = back.received.wait_spans(1);
    let names: Vec<&str> = spans.iter().map(|s| s.span.name.as_str()).collect();
    assert_eq!(names, ["after.restart"]);
    assert_eq!(tracer.stats().spans_exported, 1);
}

/// An exporter that holds the export thread until the test lets it go.
struct Stuck(std::sync::mpsc::Receiver<()>, Arc<AtomicU64>);

impl SpanExporter for Stuck {
    fn export(&mut self, spans: &[fcc::SpanData]) -> Result<(), ExportError> {
        let _ = self.0.recv();
        self.1.fetch_add(spans.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

#[test]
fn a_full_export_queue_drops_spans_and_counts_them() {
    let (release, rx) = std::sync::mpsc::channel();
    let exported = Arc::new(AtomicU64::new(0));
    let tracer = fcc::FccTracer::builder("q")
        .max_queue_size(16)
        .max_export_batch_size(1)
        .exporter(Stuck(rx, exported.clone()))
        .build()
        .unwrap();
    // The exporter's lane is stuck on the first span; 16 more fit in its
    // queue, 16 in the export queue and 16 in this thread's hand-over ring
    // (`export/handoff.rs`, as large as the queue); the rest are dropped, by
    // one or the other, without blocking.
    for _ in 0..200 {
        drop(tracer.span("flood"));
    }
    drop(release);
    tracer.shutdown(Duration::from_secs(20)).unwrap();
    let s = tracer.stats();
    let lane = &s.exporters[0];
    assert!(
        s.spans_dropped + lane.dropped >= 200 - 16 - 16 - 16 - 1 - 1,
        "{s:?}"
    );
    assert_eq!(s.spans_queued + s.spans_dropped, 200, "{s:?}");
    assert_eq!(lane.exported + lane.dropped, s.spans_queued, "{s:?}");
    assert_eq!(s.spans_exported + s.spans_failed, s.spans_queued, "{s:?}");
    assert_eq!(exported.load(Ordering::Relaxed), s.spans_exported);
}

#[test]
fn no_endpoint_means_no_otlp() {
    let b = TelemetryBuilder::from_vars(|_| None).unwrap();
    let t = b.log(LogTarget::Off).fmt(None).build().unwrap();
    assert!(!t.tracer().otlp_enabled());
}

#[test]
fn the_traced_example_exports_nested_sync_and_async_spans_over_otlp() {
    let receiver = OtlpReceiver::http("127.0.0.1:0");
    let out = std::process::Command::new(env!("CARGO"))
        .args(["run", "-q", "--example", "traced"])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .env_remove("OTEL_SERVICE_NAME")
        .env_remove("OTEL_EXPORTER_OTLP_PROTOCOL")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("[SPAN]"),
        "no console output when OTLP is on: {stderr}"
    );
    let spans = receiver.received.spans();
    let names = |n: &str| spans.iter().filter(|s| s.span.name == n).count();
    assert_eq!(names("simulation.run"), 1);
    assert_eq!(names("simulation.step"), 3);
    assert_eq!(names("simulation.node"), 3);
    assert_eq!(names("persist"), 3);
    let run = spans
        .iter()
        .find(|s| s.span.name == "simulation.run")
        .unwrap();
    assert!(spans.iter().all(|s| s.span.trace_id == run.span.trace_id));
    assert!(spans
        .iter()
        .all(|s| s.service_name.as_deref() == Some("traced-example")));
    let logs = receiver.received.logs();
    assert_eq!(logs.len(), 3, "one simulation.step event per finished step");
    assert!(logs
        .iter()
        .all(|l| l.record.event_name == "simulation.step"));
}
