//! The opt-in Prometheus scrape endpoint, checked by the real Prometheus
//! tools: `promtool check metrics` accepts what it serves, and a real
//! Prometheus server scrapes it on loopback and answers a query with the
//! recorded value. Both come from Debian's `prometheus` package, which
//! `.ci/run` installs. Slow clients stall neither scrapes nor shutdown, and
//! connections beyond the limit are closed at once.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use fcc::metrics::prometheus::PrometheusEndpoint;
use fcc::metrics::FccMetrics;
use fcc::{LogTarget, Telemetry};

fn get(addr: SocketAddr, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("a response");
    (head.to_owned(), body.to_owned())
}

fn tool(name: &str) -> String {
    let path = format!("/usr/bin/{name}");
    assert!(
        std::path::Path::new(&path).exists(),
        "{name} is missing: install Debian's `prometheus` package (apt-get install prometheus), as .ci/run does"
    );
    path
}

fn telemetry() -> Telemetry {
    let t = Telemetry::builder()
        .service_name("prom-test")
        .fmt(None)
        .log(LogTarget::Off)
        .prometheus("127.0.0.1:0")
        .build()
        .expect("telemetry");
    let m = t.metrics();
    m.record_gate_result("G-SEC-01", true);
    m.record_gate_result("G-SEC-01", true);
    m.record_ai_call("anthropic", "claude", 420.0, 1200);
    m.record_action_execution("qa", "test", false, 35.5);
    m.record_simulation_step(3, "N1");
    t.bus()
        .publish(&fcc::Event::info("gateway", "request", "ok").build());
    t
}

#[test]
fn the_endpoint_serves_what_promtool_accepts() {
    let t = telemetry();
    let addr = t.prometheus_addr().expect("listening");
    let (head, body) = get(addr, "/metrics");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    for line in [
        "# TYPE fcc_gate_result_total counter",
        "fcc_gate_result_total{gate_id=\"G-SEC-01\",passed=\"true\"} 2",
        "# TYPE fcc_ai_call_latency_seconds histogram",
        "fcc_ai_call_latency_seconds_count{model=\"claude\",provider=\"anthropic\"} 1",
        "fcc_ai_call_latency_seconds_sum{model=\"claude\",provider=\"anthropic\"} 0.42",
        "fcc_ai_call_tokens_total{model=\"claude\",provider=\"anthropic\"} 1200",
        "fcc_bus_published_total 1",
    ] {
        assert!(body.contains(line), "missing `{line}` in\n{body}");
    }
    let mut check = Command::new(tool("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = check.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(get(addr, "/other").0.starts_with("HTTP/1.1 404"));
}

#[test]
fn a_real_prometheus_scrapes_it() {
    let t = telemetry();
    let target = t.prometheus_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let web = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: fcc\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let mut server = Command::new(tool("prometheus"))
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
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = String::new();
    let found = loop {
        if Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(300));
        if TcpStream::connect(web).is_err() {
            continue;
        }
        last = get(web, "/api/v1/query?query=fcc_gate_result_total").1;
        if last.contains("\"G-SEC-01\"") {
            break true;
        }
    };
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        found,
        "Prometheus never had the metric; last answer: {last}"
    );
    let v: serde_json::Value = serde_json::from_str(&last).unwrap();
    let result = &v["data"]["result"][0];
    assert_eq!(result["metric"]["job"], "fcc");
    assert_eq!(result["metric"]["passed"], "true");
    assert_eq!(result["value"][1], "2");
}

/// Runs `f` on a thread and waits for it a while: a stalled server fails
/// the test instead of hanging it (a liveness check, not a timing one).
fn finishes<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, finished) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _ = done.send(f());
    });
    match finished.recv_timeout(Duration::from_secs(30)) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("sent nothing without panicking"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: still running after 30 s"),
    }
}

/// A scrape through a real HTTP client (reqwest on a tokio runtime).
fn try_scrape(addr: SocketAddr) -> Result<String, String> {
    finishes("a scrape", move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let response = reqwest::get(format!("http://{addr}/metrics"))
                .await
                .map_err(|e| format!("{e:?}"))?;
            if response.status() != 200 {
                return Err(format!("status {}", response.status()));
            }
            response.text().await.map_err(|e| format!("{e:?}"))
        })
    })
}

fn scrape(addr: SocketAddr) -> String {
    try_scrape(addr).expect("a scrape")
}

fn endpoint() -> PrometheusEndpoint {
    let metrics = FccMetrics::new();
    metrics.record_gate_result("G-SEC-01", true);
    PrometheusEndpoint::serve("127.0.0.1:0", metrics).expect("listening")
}

#[test]
fn slow_clients_stall_neither_scrapes_nor_shutdown() {
    let endpoint = endpoint();
    let addr = endpoint.local_addr();
    // One client sends half a request line and then nothing; another sends
    // one more byte of it now and then (slowloris), never finishing it.
    let mut silent = TcpStream::connect(addr).unwrap();
    silent.write_all(b"GET /metr").unwrap();
    let trickling = Arc::new(AtomicBool::new(true));
    // Stops the trickle even when an assertion fails, before `endpoint`
    // is dropped (locals drop in reverse order): the test then fails
    // instead of hanging on a server stuck with that client.
    struct StopTrickle(Arc<AtomicBool>);
    impl Drop for StopTrickle {
        fn drop(&mut self) {
            self.0.store(false, Ordering::Relaxed);
        }
    }
    let _stop = StopTrickle(Arc::clone(&trickling));
    let mut trickle = TcpStream::connect(addr).unwrap();
    let t = Arc::clone(&trickling);
    let trickler = std::thread::spawn(move || {
        for b in b"GET /metrics-but-very-slowly-".iter().cycle() {
            if !t.load(Ordering::Relaxed) || trickle.write_all(&[*b]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        trickle
    });
    std::thread::sleep(Duration::from_millis(300));

    for _ in 0..3 {
        let body = scrape(addr);
        assert!(
            body.contains("fcc_gate_result_total{gate_id=\"G-SEC-01\",passed=\"true\"} 1"),
            "{body}"
        );
    }

    // Dropped while both are connected (the server has not closed the
    // silent one): it returns.
    silent.set_nonblocking(true).unwrap();
    let still_open = silent.peek(&mut [0; 1]).unwrap_err();
    assert_eq!(still_open.kind(), std::io::ErrorKind::WouldBlock);
    finishes("dropping the endpoint", move || drop(endpoint));
    trickling.store(false, Ordering::Relaxed);
    let _ = (silent, trickler.join());
}

#[test]
fn connections_beyond_the_limit_are_closed_at_once() {
    let endpoint = endpoint();
    let addr = endpoint.local_addr();
    let held: Vec<TcpStream> = (0..PrometheusEndpoint::MAX_CONNECTIONS)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    let mut extra = TcpStream::connect(addr).unwrap();
    extra
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut buf = [0; 64];
    match extra.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("connection {} was not closed: {other:?}", held.len() + 1),
    }
    // Once the server has seen them close, scrapes are served again.
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(20);
    let body = loop {
        match try_scrape(addr) {
            Ok(body) => break body,
            Err(e) if Instant::now() > deadline => panic!("no scrape served: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    assert!(body.contains("fcc_gate_result_total"), "{body}");
}
