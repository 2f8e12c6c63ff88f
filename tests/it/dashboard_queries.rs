//! Every query of the Grafana dashboard (`deploy/grafana/dashboards/fcc.json`)
//! returns data from fcc's own Prometheus endpoint, scraped by a real
//! Prometheus (Debian's package, which `.ci/run` installs), after a service
//! has recorded what the demo records.
//!
//! The unit policy: fcc's endpoint exposes durations in seconds (Prometheus'
//! base unit, as `promtool check metrics` wants: `fcc_action_duration_seconds`);
//! a collector's OTLP-to-Prometheus exporter keeps the instrument's unit
//! (`fcc_action_duration_milliseconds`). The dashboard's duration panels
//! query both names (`... or 1000 * ...seconds...`), so each path fills them.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fcc::{LogTarget, Telemetry};

/// Every `expr` in the dashboard.
fn dashboard_queries() -> Vec<String> {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/grafana/dashboards/fcc.json"),
    )
    .unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut out = Vec::new();
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(serde_json::Value::String(e)) = m.get("expr") {
                    out.push(e.clone());
                }
                m.values().for_each(|v| walk(v, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(&json, &mut out);
    out
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Prometheus' instant query: how many series the answer holds.
fn series(web: SocketAddr, query: &str) -> Option<usize> {
    let mut s = TcpStream::connect(web).ok()?;
    write!(
        s,
        "GET /api/v1/query?query={} HTTP/1.1\r\nHost: {web}\r\nConnection: close\r\n\r\n",
        percent_encode(query)
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let body = text.split_once("\r\n\r\n")?.1;
    // The body may be chunked: take the JSON object inside.
    let json = &body[body.find('{')?..=body.rfind('}')?];
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    v["data"]["result"].as_array().map(Vec::len)
}

#[test]
fn every_dashboard_query_has_data_from_fccs_own_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let t = Telemetry::builder()
        .service_name("dashboard-test")
        .fmt(None)
        .log(LogTarget::Off)
        .json_file(dir.path().join("events.ndjson"))
        .prometheus("127.0.0.1:0")
        .metric_export_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let target = t.prometheus_addr().unwrap();
    let web: SocketAddr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: fcc-direct\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let mut server = Command::new("/usr/bin/prometheus")
        .arg(format!(
            "--config.file={}",
            dir.path().join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address={web}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus (Debian's package; .ci/run installs it)");
    let queries = dashboard_queries();
    assert!(queries.len() >= 10, "{queries:?}");
    // What the demo records, every 100 ms, so every rate has two samples.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut missing = queries.clone();
    let mut round = 0u64;
    while !missing.is_empty() && Instant::now() < deadline {
        round += 1;
        let m = t.metrics();
        m.record_simulation_step(round, "N1");
        m.record_persona_activation("SQC");
        m.record_gate_result("G-SEC-01", round.is_multiple_of(2));
        m.record_deliverable("SQC", "report");
        m.record_ai_call("anthropic", "claude", 120.0 + round as f64, 300);
        m.record_action_execution("qa", "test", !round.is_multiple_of(3), 35.5);
        t.bus()
            .publish(&fcc::Event::info("gateway", "request", "ok").build());
        std::thread::sleep(Duration::from_millis(100));
        if round.is_multiple_of(10) {
            missing.retain(|q| series(web, q).is_none_or(|n| n == 0));
        }
    }
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        missing.is_empty(),
        "dashboard queries with no data: {missing:#?}"
    );
    t.shutdown().unwrap();
}
