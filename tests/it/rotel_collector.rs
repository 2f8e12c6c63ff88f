//! fcc against a real collector: rotel (a Rust OpenTelemetry collector,
//! `pip install rotel`; `.ci/run` installs it) receives fcc's spans, log
//! records and metrics over gRPC and over HTTP/protobuf, decodes them with its
//! own code and forwards them over OTLP to a receiver in the test, where they
//! are checked. Then the collector is stopped and started again: what fcc
//! sends while it is down is counted as failed, and export resumes when it
//! is back.

use crate::support::otlp_receiver;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fcc::otlp::{OtlpConfig, OtlpProtocol};
use fcc::{Event, LogTarget, Telemetry};
use otlp_receiver::{attr_str, OtlpReceiver};

/// The rotel binary: `ROTEL_AGENT`, else the one the `rotel` Python
/// package carries.
fn rotel_bin() -> String {
    if let Ok(p) = std::env::var("ROTEL_AGENT") {
        return p;
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import rotel, os; print(os.path.join(os.path.dirname(rotel.__file__), 'rotel-agent'))",
        ])
        .output()
        .expect("python3 runs");
    let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        out.status.success() && std::path::Path::new(&path).exists(),
        "rotel is not installed: `pip install rotel` (.ci/run does), or set ROTEL_AGENT"
    );
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A rotel collector listening on `grpc` and `http` ports, forwarding
/// everything over OTLP/gRPC to `downstream`.
struct Rotel {
    child: Child,
    grpc: u16,
    http: u16,
}

impl Rotel {
    fn start(grpc: u16, http: u16, downstream: &str) -> Rotel {
        let child = Command::new(rotel_bin())
            .args([
                "start",
                "--otlp-grpc-endpoint",
                &format!("127.0.0.1:{grpc}"),
                "--otlp-http-endpoint",
                &format!("127.0.0.1:{http}"),
                "--exporter",
                "otlp",
                "--otlp-exporter-endpoint",
                downstream,
                "--otlp-exporter-protocol",
                "grpc",
                "--batch-timeout",
                "50ms",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("rotel starts");
        let rotel = Rotel { child, grpc, http };
        rotel.wait_listening();
        rotel
    }

    fn wait_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        for port in [self.grpc, self.http] {
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(Instant::now() < deadline, "rotel did not listen on {port}");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Rotel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn telemetry(endpoint: &str, protocol: OtlpProtocol) -> Telemetry {
    Telemetry::builder()
        .service_name("via-rotel")
        .log(LogTarget::Off)
        .fmt(None)
        .otlp(Some(OtlpConfig::new(endpoint, protocol).unwrap()))
        .metric_export_interval(Duration::from_secs(3600))
        .build()
        .unwrap()
}

fn send_one_of_each(t: &Telemetry, name: &str) {
    tracing::dispatcher::with_default(t.dispatch(), || {
        let _span = t
            .tracer()
            .span_with(name.to_owned(), [fcc::trace::KeyValue::new("order.id", 42)]);
        t.bus().publish(
            &Event::info("shop", "order.placed", "order 42")
                .correlation_id("run-7")
                .build(),
        );
    });
    t.metrics()
        .increment("orders", &[("region", "eu")])
        .unwrap();
    t.flush(Duration::from_secs(20)).unwrap();
}

#[test]
fn spans_logs_and_metrics_pass_through_a_real_collector_on_both_protocols() {
    let downstream = OtlpReceiver::grpc("127.0.0.1:0");
    let rotel = Rotel::start(free_port(), free_port(), &downstream.endpoint());
    for (protocol, port) in [
        (OtlpProtocol::Grpc, rotel.grpc),
        (OtlpProtocol::HttpProtobuf, rotel.http),
    ] {
        let t = telemetry(&format!("http://127.0.0.1:{port}"), protocol);
        let name = format!("checkout.{}", protocol.as_str());
        send_one_of_each(&t, &name);
        let stats = t.tracer().stats();
        assert_eq!(
            (stats.spans_exported, stats.logs_exported),
            (1, 1),
            "{stats:?}"
        );
        assert_eq!(t.metric_export_stats().unwrap().exports, 1);
        t.shutdown().unwrap();

        // What rotel decoded and forwarded.
        let spans = downstream.received.wait_spans_named(&name);
        let span = &spans[0];
        assert_eq!(span.service_name.as_deref(), Some("via-rotel"));
        assert_eq!(span.scope, "fcc");
        assert_eq!(
            attr_str(&span.span.attributes, "order.id").as_deref(),
            Some("IntValue(42)")
        );
        assert_eq!(span.span.trace_id.len(), 16);
    }
    let logs = downstream.received.wait_logs(2);
    assert!(logs
        .iter()
        .all(|l| l.service_name.as_deref() == Some("via-rotel")));
    assert!(logs
        .iter()
        .all(|l| attr_str(&l.record.attributes, "correlation_id").as_deref() == Some("run-7")));
    let metrics = downstream.received.wait_metric_named("orders");
    assert!(!metrics.is_empty());
    rotel.stop();
}

#[test]
fn a_collector_restart_costs_what_was_sent_while_it_was_down_and_no_more() {
    let downstream = OtlpReceiver::grpc("127.0.0.1:0");
    let (grpc, http) = (free_port(), free_port());
    let rotel = Rotel::start(grpc, http, &downstream.endpoint());
    let mut config =
        OtlpConfig::new(&format!("http://127.0.0.1:{grpc}"), OtlpProtocol::Grpc).unwrap();
    config.traces.timeout = Duration::from_secs(2);
    let t = Telemetry::builder()
        .service_name("via-rotel")
        .log(LogTarget::Off)
        .fmt(None)
        .otel_logs(false)
        .otlp(Some(config))
        .metric_export_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    drop(t.tracer().span("before"));
    t.flush(Duration::from_secs(20)).unwrap();
    assert_eq!(t.tracer().stats().spans_exported, 1);
    // Forwarded before the collector goes (it batches for 50 ms; what it
    // holds when killed is its loss, not fcc's).
    assert_eq!(downstream.received.wait_spans_named("before").len(), 1);

    rotel.stop();
    drop(t.tracer().span("while.down"));
    let _ = t.flush(Duration::from_secs(20));
    let down = t.tracer().stats();
    assert_eq!((down.spans_exported, down.spans_failed), (1, 1), "{down:?}");

    let _rotel = Rotel::start(grpc, http, &downstream.endpoint());
    // The exporter rests after a failure (1 s); then export resumes.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut n = 0;
    while t.tracer().stats().spans_exported < 2 {
        assert!(Instant::now() < deadline, "{:?}", t.tracer().stats());
        n += 1;
        drop(t.tracer().span(format!("after.{n}")));
        let _ = t.flush(Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(200));
    }
    // The first spans after the restart may still meet the exporter's
    // rest (counted failed); the one counted exported arrives.
    let after = format!("after.{n}");
    assert!(!downstream.received.wait_spans_named(&after).is_empty());
    let names: Vec<String> = downstream
        .received
        .spans()
        .into_iter()
        .map(|s| s.span.name)
        .collect();
    assert!(!names.contains(&"while.down".to_owned()), "{names:?}");
    let s = t.tracer().stats();
    assert_eq!(s.spans_exported + s.spans_failed, 2 + n as u64, "{s:?}");
    t.shutdown().unwrap();
}
