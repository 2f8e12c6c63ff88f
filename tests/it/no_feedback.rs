//! No feedback loops: what fcc's own workers and exporter libraries log never
//! reaches the bus, the OTel logs or the exported spans. This file installs
//! the process-wide subscriber, so it is its own test binary with one test.

use crate::support::otlp_receiver;

use fcc::sinks::{Sink, SinkError, SinkOptions};
use fcc::{Event, EventType, LogTarget, Telemetry};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A sink that, like a chatty exporter, logs and even emits bus events while
/// writing. Without the guard this would feed itself forever.
struct Chatty(Arc<AtomicU64>);

impl Sink for Chatty {
    fn name(&self) -> &str {
        "chatty"
    }
    fn write(&mut self, batch: &[Event]) -> Result<(), SinkError> {
        for e in batch {
            self.0.fetch_add(1, Ordering::Relaxed);
            fcc::emit(e.to_builder().event_id(uuid::Uuid::now_v7()).build());
            tracing::warn!(event_type = "exporter.batch.sent", "exported one event");
        }
        Ok(())
    }
}

#[test]
fn internal_threads_and_exporter_libraries_never_reach_the_bus_or_otel() {
    let receiver = otlp_receiver::OtlpReceiver::grpc("127.0.0.1:0");
    let written = Arc::new(AtomicU64::new(0));
    // No filter anywhere: tonic, hyper and h2 emit every trace-level event
    // and span they have while fcc exports over gRPC.
    let t = Telemetry::builder()
        .log(LogTarget::Off)
        .fmt(None)
        .sink(Chatty(written.clone()), SinkOptions::default())
        .otlp(Some(
            fcc::otlp::OtlpConfig::new(&receiver.endpoint(), fcc::otlp::OtlpProtocol::Grpc)
                .unwrap(),
        ))
        .install()
        .unwrap();
    let published = Arc::new(AtomicU64::new(0));
    let p = published.clone();
    t.bus().subscribe(move |_: &Event| {
        p.fetch_add(1, Ordering::Relaxed);
    });

    {
        let _app = t.tracer().span("app.work");
        let _inner = tracing::info_span!("app.inner").entered();
        for _ in 0..10 {
            fcc::emit(Event::builder(EventType::ActionStarted, "ActionEngine"));
        }
    }
    // fcc's own diagnostics target stays out.
    tracing::info!(target: "fcc::internal::sink", event_type = "fcc.sink.flushed", "flushed");
    // Suppression is by context, not by library name: the application's own
    // hyper, tonic, tower_http events are its data.
    tracing::info!(target: "hyper::proto::h1", event_type = "http.request.sent", "sent");
    tracing::warn!(target: "tonic::transport", event_type = "grpc.call.failed", "failed");
    tracing::info!(target: "tower_http::trace", event_type = "http.request.done", "done");
    // The same library events on one of fcc's threads stay out.
    std::thread::spawn(|| {
        fcc::sinks::runtime::mark_internal_thread();
        tracing::info!(target: "hyper::proto::h1", event_type = "http.request.sent", "sent");
        let _s = tracing::info_span!(target: "hyper::client", "connect").entered();
    })
    .join()
    .unwrap();

    t.flush(Duration::from_secs(5)).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    t.flush(Duration::from_secs(5)).unwrap();
    assert_eq!(published.load(Ordering::Relaxed), 13);
    assert_eq!(written.load(Ordering::Relaxed), 13);
    assert_eq!(t.rejected_events(), 0);
    // Twice more through the exporter: still exactly the application's data.
    for _ in 0..2 {
        t.flush(Duration::from_secs(20)).unwrap();
    }
    let spans = receiver.received.wait_spans(2);
    let mut names: Vec<String> = spans.iter().map(|s| s.span.name.clone()).collect();
    names.sort();
    assert_eq!(names, ["app.inner", "app.work"]);
    let logs = receiver.received.wait_logs(13);
    assert_eq!(
        logs.len(),
        13,
        "10 fcc events and the application's 3 library events"
    );
    let names: Vec<&str> = logs.iter().map(|l| l.record.event_name.as_str()).collect();
    assert_eq!(names.iter().filter(|n| **n == "action.started").count(), 10);
    for name in ["http.request.sent", "grpc.call.failed", "http.request.done"] {
        assert!(names.contains(&name), "{name} missing: {names:?}");
    }
    let inner = spans.iter().find(|s| s.span.name == "app.inner").unwrap();
    assert_eq!(
        inner.span.events.len(),
        10,
        "events as span events of the current span"
    );
    // A second set-up while this one is alive is refused with a clear error.
    let err = Telemetry::builder()
        .log(LogTarget::Off)
        .fmt(None)
        .install()
        .unwrap_err();
    assert!(matches!(err, fcc::InstallError::AlreadySetUp), "{err:?}");
    assert!(err.to_string().contains("already set up"), "{err}");
}
