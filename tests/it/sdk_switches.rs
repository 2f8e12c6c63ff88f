//! The OpenTelemetry SDK's switches, set as a deployment sets them (the
//! `OTEL_*` variables) and checked where they show: at a real OTLP receiver,
//! on a Prometheus scrape, on the process's stdout and stderr.

use crate::support::otlp_receiver;

use std::process::Command;
use std::time::Duration;

use fcc::{Event, LogTarget, Telemetry, TelemetryBuilder};
use opentelemetry_proto::tonic::common::v1::KeyValue as ProtoKeyValue;
use opentelemetry_proto::tonic::metrics::v1::metric;
use otlp_receiver::{attr_str, OtlpReceiver, Received};

/// A service set up from `vars` (as its environment), that makes one span
/// with attributes and events, emits `events` bus events, records a counter
/// and a histogram inside the span, then shuts down.
fn run_service(vars: &[(&str, String)], events: usize) -> Telemetry {
    let t =
        TelemetryBuilder::from_vars(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .unwrap()
            .service_name("switches")
            .log(LogTarget::Off)
            .fmt(None)
            .metric_export_interval(Duration::from_secs(3600))
            .build()
            .unwrap();
    tracing::dispatcher::with_default(t.dispatch(), || {
        let mut span = t.tracer().span_with(
            "checkout",
            [
                fcc::trace::KeyValue::new("order.note", "fragile parcel"),
                fcc::trace::KeyValue::new("order.id", 42),
                fcc::trace::KeyValue::new("order.region", "eu"),
            ],
        );
        for i in 0..3 {
            span.add_event(format!("step {i}"), vec![]);
        }
        t.metrics()
            .increment("orders", &[("region", "eu")])
            .unwrap();
        t.metrics().record("order.ms", 12.5, &[]).unwrap();
        for i in 0..events {
            t.bus().publish(
                &Event::info("shop", "order.placed", format!("order {i}"))
                    .correlation_id("run-1")
                    .build(),
            );
        }
        drop(span);
    });
    t.flush(Duration::from_secs(20)).unwrap();
    t
}

fn otlp(rx: &OtlpReceiver) -> Vec<(&'static str, String)> {
    vec![("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint())]
}

fn with(
    mut v: Vec<(&'static str, String)>,
    more: &[(&'static str, &str)],
) -> Vec<(&'static str, String)> {
    v.extend(more.iter().map(|(k, val)| (*k, (*val).to_owned())));
    v
}

/// The resource attributes each signal's first request carried.
fn resources(r: &Received) -> [Vec<ProtoKeyValue>; 3] {
    let traces = r.traces.lock().unwrap();
    let logs = r.logs.lock().unwrap();
    let metrics = r.metrics.lock().unwrap();
    [
        traces[0].resource_spans[0]
            .resource
            .clone()
            .unwrap()
            .attributes,
        logs[0].resource_logs[0]
            .resource
            .clone()
            .unwrap()
            .attributes,
        metrics[0].resource_metrics[0]
            .resource
            .clone()
            .unwrap()
            .attributes,
    ]
}

#[test]
fn every_signal_reports_one_detected_resource_with_decoded_attributes() {
    let rx = OtlpReceiver::http("127.0.0.1:0");
    let vars = with(
        otlp(&rx),
        &[(
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment=prod%2Ceu, team=pay%20ments",
        )],
    );
    let t = run_service(&vars, 1);
    let _ = t.shutdown();
    let r = rx.stop();
    let [spans, logs, metrics] = resources(&r);
    for (signal, attrs) in [("traces", &spans), ("logs", &logs), ("metrics", &metrics)] {
        let get = |k: &str| attr_str(attrs, k);
        assert_eq!(
            get("deployment.environment").as_deref(),
            Some("prod,eu"),
            "{signal}"
        );
        assert_eq!(get("team").as_deref(), Some("pay ments"), "{signal}");
        assert_eq!(get("service.name").as_deref(), Some("switches"), "{signal}");
        assert_eq!(
            get("telemetry.sdk.language").as_deref(),
            Some("rust"),
            "{signal}"
        );
        assert_eq!(
            get("telemetry.sdk.name").as_deref(),
            Some("fcc"),
            "{signal}"
        );
        assert!(
            get("host.name").is_some() && get("os.type").is_some(),
            "{signal}"
        );
        assert_eq!(
            get("process.pid"),
            Some(format!("IntValue({})", std::process::id())),
            "{signal}"
        );
        // One instance id for the process, whichever signal says it.
        assert_eq!(
            get("service.instance.id"),
            attr_str(&spans, "service.instance.id"),
            "{signal}"
        );
    }
    assert!(attr_str(&spans, "service.instance.id").is_some());
}

#[test]
fn sdk_disabled_sends_nothing_and_the_service_runs() {
    let rx = OtlpReceiver::http("127.0.0.1:0");
    let vars = with(
        otlp(&rx),
        &[
            ("OTEL_SDK_DISABLED", "TRUE"),
            ("OTEL_METRICS_EXPORTER", "otlp,prometheus"),
            ("OTEL_TRACES_EXPORTER", "otlp,console"),
        ],
    );
    let t = run_service(&vars, 2);
    let stats = t.tracer().stats();
    assert_eq!((stats.spans_queued, stats.logs_exported), (0, 0));
    assert!(
        t.metric_export_stats().is_none(),
        "no OTLP metrics exporter"
    );
    assert!(t.prometheus_addr().is_none(), "no endpoint served");
    // fcc's own event sinks are not OpenTelemetry: the bus still delivers.
    assert_eq!(t.bus().stats().published, 2);
    t.shutdown().unwrap();
    let r = rx.stop();
    assert!(r.requests.lock().unwrap().is_empty());
}

#[test]
fn each_signal_goes_only_where_its_exporter_variable_says() {
    // (the variables, whether traces, logs and metrics arrive)
    type Case<'a> = (&'a [(&'a str, &'a str)], [bool; 3]);
    let cases: [Case; 4] = [
        (&[("OTEL_TRACES_EXPORTER", "none")], [false, true, true]),
        (&[("OTEL_LOGS_EXPORTER", "none")], [true, false, true]),
        (&[("OTEL_METRICS_EXPORTER", "none")], [true, true, false]),
        (
            &[
                ("OTEL_TRACES_EXPORTER", "none"),
                ("OTEL_LOGS_EXPORTER", "none"),
                ("OTEL_METRICS_EXPORTER", "otlp"),
            ],
            [false, false, true],
        ),
    ];
    for (switches, expected) in cases {
        let rx = OtlpReceiver::http("127.0.0.1:0");
        let t = run_service(&with(otlp(&rx), switches), 1);
        t.shutdown().unwrap();
        let r = rx.stop();
        let seen = ["traces", "logs", "metrics"].map(|s| !r.requests_for(s).is_empty());
        assert_eq!(seen, expected, "{switches:?}");
    }
}

#[test]
fn naming_otlp_without_an_endpoint_uses_the_specification_default() {
    // No endpoint variable: fcc sends nothing by default; naming `otlp`
    // sends to localhost:4318, as the specification says.
    let vars = [("OTEL_TRACES_EXPORTER", "otlp".to_owned())];
    let b =
        TelemetryBuilder::from_vars(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .unwrap()
            .fmt(None)
            .log(LogTarget::Off);
    let t = b.build().unwrap();
    assert!(t.tracer().otlp_enabled());
    let none = TelemetryBuilder::from_vars(|_| None)
        .unwrap()
        .fmt(None)
        .build()
        .unwrap();
    assert!(!none.tracer().otlp_enabled());
}

#[test]
fn batch_sizes_of_spans_and_log_records_are_their_own() {
    let rx = OtlpReceiver::http("127.0.0.1:0");
    let vars = with(
        otlp(&rx),
        &[
            ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "2"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "1"),
        ],
    );
    let t = run_service(&vars, 5);
    drop(t.tracer().span("second"));
    t.flush(Duration::from_secs(20)).unwrap();
    t.shutdown().unwrap();
    let r = rx.stop();
    let logs: Vec<usize> = r
        .logs
        .lock()
        .unwrap()
        .iter()
        .map(|req| {
            req.resource_logs
                .iter()
                .flat_map(|l| &l.scope_logs)
                .map(|s| s.log_records.len())
                .sum()
        })
        .collect();
    assert_eq!(logs.iter().sum::<usize>(), 5);
    assert!(logs.iter().all(|&n| n <= 2), "log batches {logs:?}");
    let spans: Vec<usize> = r
        .traces
        .lock()
        .unwrap()
        .iter()
        .map(|req| {
            req.resource_spans
                .iter()
                .flat_map(|s| &s.scope_spans)
                .map(|s| s.spans.len())
                .sum()
        })
        .collect();
    assert_eq!(spans, [1, 1], "one span per batch");
}

#[test]
fn limits_cut_spans_and_log_records_and_say_how_much() {
    let rx = OtlpReceiver::grpc("127.0.0.1:0");
    let vars = with(
        otlp(&rx),
        &[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "2"),
            ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "7"),
            ("OTEL_SPAN_EVENT_COUNT_LIMIT", "1"),
            ("OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT", "1"),
        ],
    );
    let t = run_service(&vars, 1);
    t.shutdown().unwrap();
    let r = rx.stop();
    let span = r
        .spans()
        .into_iter()
        .find(|s| s.span.name == "checkout")
        .unwrap()
        .span;
    assert_eq!(span.attributes.len(), 2);
    assert_eq!(
        attr_str(&span.attributes, "order.note").as_deref(),
        Some("fragile")
    );
    assert_eq!(span.dropped_attributes_count, 1);
    // Three events added, and the bus event emitted inside the span.
    assert_eq!((span.events.len(), span.dropped_events_count), (1, 3));
    let logs = r.logs();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].record.attributes.len(), 1);
}

fn exemplars_of(r: &Received, name: &str) -> usize {
    r.metric_requests()
        .iter()
        .flat_map(|req| &req.resource_metrics)
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .filter(|m| m.name == name)
        .map(|m| match &m.data {
            Some(metric::Data::Histogram(h)) => {
                h.data_points.iter().map(|p| p.exemplars.len()).sum()
            }
            Some(metric::Data::Sum(s)) => s.data_points.iter().map(|p| p.exemplars.len()).sum(),
            _ => 0,
        })
        .sum()
}

#[test]
fn the_exemplar_filter_decides_which_values_become_exemplars() {
    for (filter, inside_span, outside_span) in [
        ("trace_based", 1, 0),
        ("always_off", 0, 0),
        ("always_on", 1, 1),
    ] {
        let rx = OtlpReceiver::http("127.0.0.1:0");
        let vars = with(otlp(&rx), &[("OTEL_METRICS_EXEMPLAR_FILTER", filter)]);
        let t = run_service(&vars, 0); // order.ms recorded inside a span
        t.metrics().record("outside.ms", 1.0, &[]).unwrap();
        t.flush(Duration::from_secs(20)).unwrap();
        t.shutdown().unwrap();
        let r = rx.stop();
        assert!(exemplars_of(&r, "order.ms") >= inside_span, "{filter}");
        assert_eq!(
            exemplars_of(&r, "order.ms") > 0,
            inside_span > 0,
            "{filter}"
        );
        assert_eq!(
            exemplars_of(&r, "outside.ms") > 0,
            outside_span > 0,
            "{filter}"
        );
    }
}

#[test]
fn prometheus_is_served_at_the_otel_host_and_port() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let vars = [
        ("OTEL_METRICS_EXPORTER", "prometheus".to_owned()),
        ("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1".to_owned()),
        ("OTEL_EXPORTER_PROMETHEUS_PORT", port.to_string()),
    ];
    let t = run_service(&vars, 0);
    assert_eq!(t.prometheus_addr().map(|a| a.port()), Some(port));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let body = rt.block_on(async {
        reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    assert!(body.contains("orders_total{region=\"eu\"} 1"), "{body}");
    t.shutdown().unwrap();

    // Host and port without `prometheus` named: a warning, nothing served.
    let b =
        TelemetryBuilder::from_vars(|k| (k == "OTEL_EXPORTER_PROMETHEUS_PORT").then(|| "9".into()))
            .unwrap();
    assert!(
        b.warnings()[0].contains("OTEL_METRICS_EXPORTER"),
        "{:?}",
        b.warnings()
    );
}

/// Run by [`console_exporters_and_the_log_level_show_on_the_process_output`]
/// in a child process (set-up is process-wide there).
#[test]
#[ignore = "run in a child process by console_exporters_and_the_log_level_show_on_the_process_output"]
fn child_service_from_env() {
    let t = TelemetryBuilder::from_env().unwrap().install().unwrap();
    let span = t.tracer().span("child.work");
    tracing::info!(target: "shop", "plain log line");
    t.bus()
        .publish(&Event::info("shop", "order.placed", "order 1").build());
    t.metrics()
        .increment("orders", &[("region", "eu")])
        .unwrap();
    drop(span);
    t.shutdown().unwrap();
}

fn child(vars: &[(&str, &str)]) -> (String, String) {
    // libtest prints `test name ... ` before the test's own output, so
    // lines are matched with `contains`.
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--ignored",
        "--exact",
        &crate::support::test_path(module_path!(), "child_service_from_env"),
        "--nocapture",
        "--test-threads=1",
    ]);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("OTEL_") || k.starts_with("FCC_"))
    {
        cmd.env_remove(k);
    }
    cmd.env("FCC_LOG", "off").env("FCC_FMT", "off");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    (stdout, stderr)
}

#[test]
fn console_exporters_and_the_log_level_show_on_the_process_output() {
    let (stdout, stderr) = child(&[
        ("OTEL_TRACES_EXPORTER", "console"),
        ("OTEL_LOGS_EXPORTER", "console"),
        ("OTEL_METRICS_EXPORTER", "console"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "zero"),
    ]);
    assert!(
        stdout.lines().any(|l| l.contains("[SPAN] child.work ")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("[LOG] ") && l.contains(" INFO plain log line")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("[LOG] ") && l.contains("order.placed")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.ends_with("[METRIC] orders=1.0 type=counter region=eu")),
        "{stdout}"
    );
    assert!(
        stderr.contains("fcc: OTEL_BSP_MAX_QUEUE_SIZE=\"zero\" not used"),
        "{stderr}"
    );

    // OTEL_LOG_LEVEL=none: fcc says nothing about itself.
    let (_, quiet) = child(&[
        ("OTEL_LOG_LEVEL", "none"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "zero"),
    ]);
    assert!(!quiet.contains("fcc:"), "{quiet}");
}

#[test]
fn values_are_read_case_insensitively_and_empty_is_unset() {
    let rx = OtlpReceiver::grpc("127.0.0.1:0");
    let vars = with(
        otlp(&rx),
        &[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "GRPC"),
            ("OTEL_TRACES_SAMPLER", "Always_Off"),
            ("OTEL_PROPAGATORS", " "),
            ("OTEL_TRACES_EXPORTER", ""),
        ],
    );
    let b =
        TelemetryBuilder::from_vars(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .unwrap();
    assert!(b.warnings().is_empty(), "{:?}", b.warnings());
    let t = run_service(&vars, 1);
    t.shutdown().unwrap();
    let r = rx.stop();
    assert!(r.requests_for("traces").is_empty(), "always_off: no span");
    assert!(!r.requests_for("logs").is_empty(), "over gRPC");
}
