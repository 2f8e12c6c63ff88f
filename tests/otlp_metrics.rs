//! FccMetrics exported over OTLP (gRPC and HTTP/protobuf) to a real receiver:
//! sums, gauges and histograms with their labels, units and resource, fcc's
//! health metrics, and a collector that is down.

#[path = "support/otlp_receiver.rs"]
mod otlp_receiver;

use std::time::Duration;

use fcc::otlp::{OtlpConfig, OtlpProtocol};
use fcc::{Event, EventType, LogTarget, Telemetry};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point, Metric};
use otlp_receiver::{attr_str, OtlpReceiver};

fn telemetry(endpoint: &str, protocol: OtlpProtocol) -> Telemetry {
    Telemetry::builder()
        .service_name("metrics-test")
        .log(LogTarget::Off)
        .fmt(None)
        .otlp(Some(OtlpConfig::new(endpoint, protocol).unwrap()))
        .metric_export_interval(Duration::from_secs(3600))
        .build()
        .unwrap()
}

fn record(t: &Telemetry) {
    let m = t.metrics();
    m.record_simulation_step(3, "N1");
    m.record_ai_call("anthropic", "claude-3", 1200.0, 850);
    m.record_ai_call("anthropic", "claude-3", 30.0, 50);
    let requests = m.counter("http.requests", &[("route", "/orders")]).unwrap();
    requests.increment(41);
    m.increment("http.requests", &[("route", "/orders")])
        .unwrap();
    m.observe("queue.depth", 7.0, &[]).unwrap();
    tracing::dispatcher::with_default(t.dispatch(), || {
        fcc::emit(Event::builder(EventType::WorkflowStarted, "orchestrator"));
    });
}

/// The last request's metrics by name.
fn last_metrics(r: &otlp_receiver::Received) -> (Vec<Metric>, Option<String>) {
    let reqs = r.metric_requests();
    let last = reqs.last().expect("a metrics request");
    let rm = &last.resource_metrics[0];
    let service = rm
        .resource
        .as_ref()
        .and_then(|r| attr_str(&r.attributes, "service.name"));
    (rm.scope_metrics[0].metrics.clone(), service)
}

fn check(r: &otlp_receiver::Received) {
    let (metrics, service) = last_metrics(r);
    assert_eq!(service.as_deref(), Some("metrics-test"));
    let get = |n: &str| {
        metrics
            .iter()
            .find(|m| m.name == n)
            .unwrap_or_else(|| panic!("no {n}"))
    };
    let value = |p: &opentelemetry_proto::tonic::metrics::v1::NumberDataPoint| match p.value {
        Some(number_data_point::Value::AsDouble(v)) => v,
        other => panic!("{other:?}"),
    };
    match &get("http.requests").data {
        Some(metric::Data::Sum(s)) => {
            assert!(s.is_monotonic);
            assert_eq!(s.aggregation_temporality, 2, "cumulative");
            assert_eq!(s.data_points.len(), 1);
            assert_eq!(value(&s.data_points[0]), 42.0);
            assert_eq!(
                attr_str(&s.data_points[0].attributes, "route").as_deref(),
                Some("/orders")
            );
        }
        other => panic!("{other:?}"),
    }
    let step = get("fcc.simulation.step");
    assert_eq!(step.unit, "{step}");
    assert!(!step.description.is_empty());
    match &get("queue.depth").data {
        Some(metric::Data::Gauge(g)) => assert_eq!(value(&g.data_points[0]), 7.0),
        other => panic!("{other:?}"),
    }
    let latency = get("fcc.ai.call.latency");
    assert_eq!(latency.unit, "ms");
    match &latency.data {
        Some(metric::Data::Histogram(h)) => {
            let p = &h.data_points[0];
            assert_eq!(
                (p.count, p.sum, p.min, p.max),
                (2, Some(1230.0), Some(30.0), Some(1200.0))
            );
            assert_eq!(p.bucket_counts.len(), p.explicit_bounds.len() + 1);
            assert_eq!(p.bucket_counts.iter().sum::<u64>(), 2);
            assert_eq!(
                attr_str(&p.attributes, "model").as_deref(),
                Some("claude-3")
            );
        }
        other => panic!("{other:?}"),
    }
    match &get("fcc.ai.call.tokens").data {
        Some(metric::Data::Sum(s)) => assert_eq!(value(&s.data_points[0]), 900.0),
        other => panic!("{other:?}"),
    }
    // fcc's own health: the bus event reached the (here, no) sinks; spans and
    // log records are counted.
    assert!(metrics.iter().any(|m| m.name == "fcc.log_records"));
    assert!(metrics.iter().any(|m| m.name == "fcc.spans"));
}

#[test]
fn grpc_metrics_export() {
    let receiver = OtlpReceiver::grpc("127.0.0.1:0");
    let t = telemetry(&receiver.endpoint(), OtlpProtocol::Grpc);
    record(&t);
    t.flush(Duration::from_secs(20)).unwrap();
    check(&receiver.received);
}

#[test]
fn http_metrics_export_and_a_last_export_at_shutdown() {
    let receiver = OtlpReceiver::http("127.0.0.1:0");
    let t = telemetry(&receiver.endpoint(), OtlpProtocol::HttpProtobuf);
    record(&t);
    t.shutdown().unwrap();
    check(&receiver.received);
    // The health metrics report the log record exported before the last export.
    let (metrics, _) = last_metrics(&receiver.received);
    let logs = metrics
        .iter()
        .find(|m| m.name == "fcc.log_records")
        .unwrap();
    match &logs.data {
        Some(metric::Data::Sum(s)) => {
            let exported = s
                .data_points
                .iter()
                .find(|p| attr_str(&p.attributes, "result").as_deref() == Some("exported"))
                .unwrap();
            assert_eq!(
                exported.value,
                Some(number_data_point::Value::AsDouble(1.0))
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn sink_health_metrics_count_written_events() {
    let receiver = OtlpReceiver::http("127.0.0.1:0");
    let dir = tempfile::tempdir().unwrap();
    let t = Telemetry::builder()
        .log(LogTarget::File(dir.path().join("events.log")))
        .fmt(None)
        .otlp(Some(
            OtlpConfig::new(&receiver.endpoint(), OtlpProtocol::HttpProtobuf).unwrap(),
        ))
        .build()
        .unwrap();
    tracing::dispatcher::with_default(t.dispatch(), || {
        for _ in 0..5 {
            fcc::emit(Event::builder(EventType::ActionStarted, "ActionEngine"));
        }
    });
    t.shutdown().unwrap();
    let (metrics, _) = last_metrics(&receiver.received);
    let events = metrics
        .iter()
        .find(|m| m.name == "fcc.sink.events")
        .unwrap();
    let Some(metric::Data::Sum(s)) = &events.data else {
        panic!()
    };
    let written = s
        .data_points
        .iter()
        .find(|p| {
            attr_str(&p.attributes, "sink").as_deref() == Some("log")
                && attr_str(&p.attributes, "result").as_deref() == Some("written")
        })
        .unwrap();
    assert_eq!(written.value, Some(number_data_point::Value::AsDouble(5.0)));
    let published = metrics
        .iter()
        .find(|m| m.name == "fcc.bus.published")
        .unwrap();
    let Some(metric::Data::Sum(s)) = &published.data else {
        panic!()
    };
    assert_eq!(
        s.data_points[0].value,
        Some(number_data_point::Value::AsDouble(5.0))
    );
}

#[test]
fn a_collector_that_is_down_is_counted_and_never_blocks_recording() {
    let receiver = OtlpReceiver::http("127.0.0.1:0");
    let endpoint = receiver.endpoint();
    drop(receiver.stop());
    let m = fcc::metrics::FccMetrics::new();
    let exporter = fcc::otlp::OtlpMetricsExporter::start(
        m.clone(),
        &OtlpConfig::new(&endpoint, OtlpProtocol::HttpProtobuf).unwrap(),
        "down",
        Duration::from_secs(3600),
    )
    .unwrap();
    m.increment("still.counting", &[]).unwrap();
    exporter.flush(Duration::from_secs(30)).unwrap();
    let s = exporter.stats();
    assert_eq!((s.exports, s.failed), (0, 1), "{s:?}");
    assert!(s.last_error.is_some());
    assert_eq!(m.total("still.counting"), 1.0);
}

#[test]
fn the_metrics_example_exports_all_three_paths_over_otlp() {
    let receiver = OtlpReceiver::http("127.0.0.1:0");
    let out = std::process::Command::new(env!("CARGO"))
        .args(["run", "-q", "--example", "metrics"])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .env_remove("OTEL_SERVICE_NAME")
        .env_remove("OTEL_EXPORTER_OTLP_PROTOCOL")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("[METRIC]"),
        "no console output when OTLP is on"
    );
    let (metrics, service) = last_metrics(&receiver.received);
    assert_eq!(service.as_deref(), Some("metrics-example"));
    for name in [
        "fcc.simulation.step",
        "http.requests",
        "http.latency",
        "cache.hits",
        "cache.entries",
    ] {
        assert!(metrics.iter().any(|m| m.name == name), "{name} missing");
    }
}

#[test]
fn a_value_recorded_in_a_span_is_exported_as_an_exemplar_with_its_ids() {
    let receiver = OtlpReceiver::grpc("127.0.0.1:0");
    let t = telemetry(&receiver.endpoint(), OtlpProtocol::Grpc);
    let ctx = {
        let span = t.tracer().span("ai.call");
        t.metrics()
            .record_ai_call("anthropic", "claude-3", 640.0, 12);
        span.context().unwrap()
    };
    t.metrics().record("outside.span", 1.0, &[]).unwrap();
    t.flush(Duration::from_secs(20)).unwrap();
    let (metrics, _) = last_metrics(&receiver.received);
    let latency = metrics
        .iter()
        .find(|m| m.name == "fcc.ai.call.latency")
        .unwrap();
    let Some(metric::Data::Histogram(h)) = &latency.data else {
        panic!()
    };
    let ex = &h.data_points[0].exemplars;
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].trace_id, ctx.trace_id.to_bytes().to_vec());
    assert_eq!(ex[0].span_id, ctx.span_id.to_bytes().to_vec());
    let outside = metrics.iter().find(|m| m.name == "outside.span").unwrap();
    let Some(metric::Data::Histogram(h)) = &outside.data else {
        panic!()
    };
    assert!(h.data_points[0].exemplars.is_empty());
}
