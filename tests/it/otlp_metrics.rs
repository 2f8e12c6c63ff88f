//! FccMetrics exported over OTLP (gRPC and HTTP/protobuf) to a real receiver:
//! sums, gauges and histograms with their labels, units and resource, fcc's
//! health metrics, a collector that is down, and cumulative, delta and
//! lowmemory temporality.

use crate::support::otlp_receiver;

use std::time::Duration;

use fcc::metrics::FccMetrics;
use fcc::otlp::{OtlpConfig, OtlpMetricsExporter, OtlpProtocol, Temporality};
use fcc::{Event, EventType, LogTarget, Telemetry};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, HistogramDataPoint, Metric, NumberDataPoint,
};
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

const DELTA: i32 = 1;
const CUMULATIVE: i32 = 2;

/// `name` in `request`, if it is there.
fn metric<'a>(request: &'a ExportMetricsServiceRequest, name: &str) -> Option<&'a Metric> {
    request.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .find(|m| m.name == name)
}

/// A sum's one point and its temporality.
fn sum(request: &ExportMetricsServiceRequest, name: &str) -> (NumberDataPoint, i32) {
    match metric(request, name).map(|m| &m.data) {
        Some(Some(metric::Data::Sum(s))) => (s.data_points[0].clone(), s.aggregation_temporality),
        other => panic!("{name}: {other:?}"),
    }
}

fn value(p: &NumberDataPoint) -> f64 {
    match p.value {
        Some(number_data_point::Value::AsDouble(v)) => v,
        other => panic!("{other:?}"),
    }
}

/// A histogram's one point and its temporality.
fn histogram(request: &ExportMetricsServiceRequest, name: &str) -> (HistogramDataPoint, i32) {
    match metric(request, name).map(|m| &m.data) {
        Some(Some(metric::Data::Histogram(h))) => {
            (h.data_points[0].clone(), h.aggregation_temporality)
        }
        other => panic!("{name}: {other:?}"),
    }
}

fn exporter(m: &FccMetrics, config: &OtlpConfig) -> OtlpMetricsExporter {
    OtlpMetricsExporter::start(m.clone(), config, "temporality", Duration::from_secs(3600)).unwrap()
}

/// Two exports with `temporality`: a counter incremented 3 then 2 times, a
/// histogram given 3 and 30 then 300, and a counter set to the totals 10
/// then 15 (as fcc's health metrics and OTel observable counters are).
fn two_exports(temporality: Option<Temporality>) -> Vec<ExportMetricsServiceRequest> {
    let receiver = OtlpReceiver::http("127.0.0.1:0");
    let mut config = OtlpConfig::new(&receiver.endpoint(), OtlpProtocol::HttpProtobuf).unwrap();
    if let Some(t) = temporality {
        config = config.with_temporality(t);
    }
    let m = FccMetrics::new();
    let exporter = exporter(&m, &config);
    for _ in 0..3 {
        m.increment("jobs", &[]).unwrap();
    }
    for v in [3.0, 30.0] {
        m.record("latency", v, &[]).unwrap();
    }
    m.set_counter_total("observed", 10, &[]).unwrap();
    exporter.flush(Duration::from_secs(20)).unwrap();
    for _ in 0..2 {
        m.increment("jobs", &[]).unwrap();
    }
    m.record("latency", 300.0, &[]).unwrap();
    m.set_counter_total("observed", 15, &[]).unwrap();
    exporter.flush(Duration::from_secs(20)).unwrap();
    assert_eq!(exporter.stats().exports, 2, "{:?}", exporter.stats());
    let requests = receiver.received.metric_requests();
    assert_eq!(requests.len(), 2);
    requests
}

#[test]
fn delta_sends_what_changed_since_the_last_export() {
    let r = two_exports(Some(Temporality::Delta));
    let ((first, t1), (second, t2)) = (sum(&r[0], "jobs"), sum(&r[1], "jobs"));
    assert_eq!((value(&first), t1), (3.0, DELTA));
    assert_eq!((value(&second), t2), (2.0, DELTA));
    // Consecutive intervals: the first starts when the exporter started.
    assert!(first.start_time_unix_nano < first.time_unix_nano);
    assert_eq!(second.start_time_unix_nano, first.time_unix_nano);
    assert!(second.start_time_unix_nano < second.time_unix_nano);
    // Asynchronous counters are delta too.
    let (observed, t) = sum(&r[1], "observed");
    assert_eq!((value(&observed), t), (5.0, DELTA));

    let ((first, t1), (second, t2)) = (histogram(&r[0], "latency"), histogram(&r[1], "latency"));
    assert_eq!((t1, t2), (DELTA, DELTA));
    assert_eq!(
        (first.count, first.sum, first.min, first.max),
        (2, Some(33.0), Some(3.0), Some(30.0))
    );
    assert_eq!(first.bucket_counts.iter().sum::<u64>(), 2);
    // The second interval's buckets hold its one value, 300, only.
    let bucket = second.explicit_bounds.partition_point(|b| *b < 300.0);
    let mut expected = vec![0; second.explicit_bounds.len() + 1];
    expected[bucket] = 1;
    assert_eq!(second.bucket_counts, expected);
    assert_eq!((second.count, second.sum), (1, Some(300.0)));
    // 300 is the largest ever, so the interval's; its smallest is unknown.
    assert_eq!((second.min, second.max), (None, Some(300.0)));
    assert_eq!(second.start_time_unix_nano, first.time_unix_nano);
}

#[test]
fn cumulative_is_the_default_and_sends_totals() {
    let r = two_exports(None);
    let ((first, t1), (second, t2)) = (sum(&r[0], "jobs"), sum(&r[1], "jobs"));
    assert_eq!((value(&first), t1), (3.0, CUMULATIVE));
    assert_eq!((value(&second), t2), (5.0, CUMULATIVE));
    assert_eq!(second.start_time_unix_nano, first.start_time_unix_nano);
    let (second, t) = histogram(&r[1], "latency");
    assert_eq!(t, CUMULATIVE);
    assert_eq!(
        (second.count, second.sum, second.min, second.max),
        (3, Some(333.0), Some(3.0), Some(300.0))
    );
    assert_eq!(value(&sum(&r[1], "observed").0), 15.0);
}

#[test]
fn lowmemory_keeps_counters_set_to_totals_cumulative() {
    let r = two_exports(Some(Temporality::LowMemory));
    let (jobs, t) = sum(&r[1], "jobs");
    assert_eq!((value(&jobs), t), (2.0, DELTA));
    let (latency, t) = histogram(&r[1], "latency");
    assert_eq!((latency.count, t), (1, DELTA));
    let (observed, t) = sum(&r[1], "observed");
    assert_eq!((value(&observed), t), (15.0, CUMULATIVE));
    assert_eq!(
        observed.start_time_unix_nano,
        sum(&r[0], "observed").0.start_time_unix_nano
    );
}

#[test]
fn a_delta_the_collector_missed_is_sent_with_the_next() {
    let receiver = OtlpReceiver::grpc("127.0.0.1:0");
    let addr = receiver.addr.to_string();
    let config = OtlpConfig::new(&receiver.endpoint(), OtlpProtocol::Grpc)
        .unwrap()
        .with_temporality(Temporality::Delta)
        .with_timeout(Duration::from_secs(2));
    let m = FccMetrics::new();
    let exporter = exporter(&m, &config);
    m.add("jobs", 3.0, &[]).unwrap();
    exporter.flush(Duration::from_secs(20)).unwrap();
    assert_eq!(exporter.stats().exports, 1);

    let received = receiver.stop();
    m.add("jobs", 2.0, &[]).unwrap();
    exporter.flush(Duration::from_secs(20)).unwrap();
    assert_eq!(exporter.stats().failed, 1, "{:?}", exporter.stats());

    let back = OtlpReceiver::grpc_with(&addr, received);
    m.add("jobs", 4.0, &[]).unwrap();
    // After a failed export the exporter rests (at most 1 s the first
    // time); exports meanwhile are failed without a call, and lose nothing.
    let give_up = std::time::Instant::now() + Duration::from_secs(30);
    while exporter.stats().exports < 2 {
        assert!(
            std::time::Instant::now() < give_up,
            "{:?}",
            exporter.stats()
        );
        std::thread::sleep(Duration::from_millis(100));
        exporter.flush(Duration::from_secs(20)).unwrap();
    }
    let r = back.received.metric_requests();
    assert_eq!(r.len(), 2, "the one while down never arrived");
    let ((first, _), (second, t)) = (sum(&r[0], "jobs"), sum(&r[1], "jobs"));
    assert_eq!(value(&first), 3.0);
    assert_eq!((value(&second), t), (6.0, DELTA), "both intervals");
    assert_eq!(second.start_time_unix_nano, first.time_unix_nano);
}
