//! The collector config, compose file, Prometheus config and Grafana
//! provisioning agree with each other, with fcc's metric names and with the
//! README: every component a pipeline names is defined, ports match, and
//! every metric the dashboard queries is one fcc exports.

use std::collections::HashSet;
use std::path::PathBuf;

use fcc::metrics::prometheus::prometheus_name;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path} is not YAML: {e}"))
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn every_component_a_pipeline_names_is_defined() {
    let c = yaml("otel-collector.yaml");
    let pipelines = c["service"]["pipelines"].as_object().expect("pipelines");
    for signal in ["traces", "metrics", "logs"] {
        assert!(pipelines.contains_key(signal), "a {signal} pipeline");
    }
    for (signal, p) in pipelines {
        for kind in ["receivers", "processors", "exporters"] {
            for name in names(&p[kind]) {
                assert!(
                    c[kind].get(&name).is_some(),
                    "{signal} names {kind} `{name}`, which is not defined"
                );
            }
        }
        let processors = names(&p["processors"]);
        assert_eq!(
            processors.first().map(String::as_str),
            Some("memory_limiter"),
            "{signal}: memory_limiter first"
        );
        assert!(processors.contains(&"batch".to_owned()), "{signal}: batch");
        assert!(
            names(&p["exporters"]).contains(&"debug".to_owned()),
            "{signal}: debug"
        );
    }
    for ext in names(&c["service"]["extensions"]) {
        assert!(c["extensions"].get(&ext).is_some(), "extension {ext}");
    }
    // Every defined component is used (a typo'd name would leave one unused).
    for kind in ["receivers", "processors", "exporters"] {
        for name in c[kind].as_object().unwrap().keys() {
            assert!(
                pipelines.values().any(|p| names(&p[kind]).contains(name)),
                "{kind} `{name}` is unused"
            );
        }
    }
    assert!(names(&pipelines["traces"]["exporters"])
        .iter()
        .any(|e| e.starts_with("otlp/jaeger")));
    assert!(names(&pipelines["metrics"]["exporters"]).contains(&"prometheus".to_owned()));
}

fn port(endpoint: &Value) -> String {
    endpoint
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn ports_match_between_collector_compose_prometheus_grafana_and_readme() {
    let c = yaml("otel-collector.yaml");
    let compose = yaml("deploy/compose.yaml");
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let grpc = port(&c["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]);
    let http = port(&c["receivers"]["otlp"]["protocols"]["http"]["endpoint"]);
    let prom = port(&c["exporters"]["prometheus"]["endpoint"]);
    assert_eq!((grpc.as_str(), http.as_str()), ("4317", "4318"));
    let published: HashSet<String> = compose["services"]["collector"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p.as_str()
                .unwrap()
                .split(':')
                .next_back()
                .unwrap()
                .to_owned()
        })
        .collect();
    for p in [&grpc, &http, &prom] {
        assert!(
            published.contains(p),
            "compose publishes the collector's port {p}"
        );
    }
    let volumes = names(&compose["services"]["collector"]["volumes"]);
    assert!(
        volumes
            .iter()
            .any(|v| v.starts_with("../otel-collector.yaml:")),
        "{volumes:?}"
    );
    let jaeger = c["exporters"]["otlp/jaeger"]["endpoint"].as_str().unwrap();
    let host = jaeger.split(':').next().unwrap();
    assert!(
        compose["services"].get(host).is_some(),
        "the Jaeger exporter's host {host} is a compose service"
    );

    let p = yaml("deploy/prometheus.yml");
    let targets: Vec<String> = p["scrape_configs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|j| names(&j["static_configs"][0]["targets"]))
        .collect();
    assert!(
        targets.contains(&format!("collector:{prom}")),
        "{targets:?}"
    );

    let ds = yaml("deploy/grafana/provisioning/datasources/datasources.yaml");
    for d in ds["datasources"].as_array().unwrap() {
        let url = d["url"].as_str().unwrap();
        let (host, port) = url.trim_start_matches("http://").split_once(':').unwrap();
        let ports = names(&compose["services"][host]["ports"]);
        assert!(
            ports.iter().any(|p| p.ends_with(&format!(":{port}"))),
            "{url} is a published port of {host}"
        );
        assert!(
            readme.contains(&format!("localhost:{port}")),
            "README says where {host} is (localhost:{port})"
        );
    }
    for p in [&grpc, &http] {
        assert!(
            readme.contains(&format!("localhost:{p}")) || readme.contains(&format!(":{p}")),
            "README mentions port {p}"
        );
    }
    assert!(readme.contains("deploy/compose.yaml"));
}

#[test]
fn the_dashboard_queries_only_metrics_fcc_exports() {
    // The names the collector's prometheus exporter gives fcc's metrics.
    let metrics = fcc::FccMetrics::new();
    for (name, kind, unit, description) in fcc::telemetry::HEALTH_METRICS {
        metrics
            .describe(name, *kind, *unit, *description, None)
            .unwrap();
    }
    let mut known = HashSet::new();
    for m in metrics.snapshot() {
        let base = prometheus_name(&m.name, &m.unit, m.metric_type);
        if m.metric_type == fcc::metrics::MetricType::Histogram {
            // fcc's own endpoint exposes `ms` histograms in seconds (the
            // README's unit policy); the dashboard queries both names.
            let seconds = base.replace("_milliseconds", "_seconds");
            for suffix in ["_bucket", "_sum", "_count"] {
                known.insert(format!("{base}{suffix}"));
                known.insert(format!("{seconds}{suffix}"));
            }
        } else {
            known.insert(base);
        }
    }
    let dash: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("deploy/grafana/dashboards/fcc.json")).unwrap(),
    )
    .unwrap();
    let mut used = HashSet::new();
    for p in dash["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().into_iter().flatten() {
            let expr = t["expr"].as_str().unwrap();
            for token in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if token.starts_with("fcc_") {
                    assert!(
                        known.contains(token),
                        "panel `{}` queries {token}, which fcc does not export",
                        p["title"]
                    );
                    used.insert(
                        token
                            .trim_end_matches("_bucket")
                            .trim_end_matches("_count")
                            .to_owned(),
                    );
                }
            }
        }
    }
    for needed in [
        "fcc_bus_published_total",
        "fcc_sink_events_total",
        "fcc_sink_queue_depth",
        "fcc_sink_errors_total",
        "fcc_simulation_step_total",
        "fcc_gate_result_total",
        "fcc_ai_call_latency_milliseconds",
        "fcc_action_duration_milliseconds",
        "fcc_persona_activation_total",
        "fcc_deliverable_total",
        "fcc_ai_call_tokens_total",
    ] {
        assert!(used.contains(needed), "the dashboard shows {needed}");
    }
}

#[test]
fn promtool_accepts_the_prometheus_config() {
    let promtool = "/usr/bin/promtool";
    assert!(
        std::path::Path::new(promtool).exists(),
        "promtool is missing: install Debian's `prometheus` package, as .ci/run does"
    );
    let out = std::process::Command::new(promtool)
        .args(["check", "config", "--syntax-only"])
        .arg(root().join("deploy/prometheus.yml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
