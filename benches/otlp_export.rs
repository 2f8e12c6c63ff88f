//! Export throughput over OTLP, end to end: a burst of spans (three
//! attributes each) made on one thread and flushed until the collector has
//! answered for every one, over gRPC and over HTTP/protobuf, fcc against the
//! OTel SDK's `BatchSpanProcessor` with opentelemetry-otlp (tonic for gRPC,
//! its blocking reqwest client for HTTP, as its docs set them up).
//!
//! The receiver runs in a child process (this binary, re-run), so the CPU
//! measured is the service's own: the threads that make spans and the ones
//! that batch, encode and send them. Both sides batch 512 spans per export
//! and queue the whole burst (nothing is dropped; the receiver's count is
//! checked). Printed: spans per second (wall), process CPU per span, and
//! fcc's ratio to the SDK (goal: at least 2x the throughput).
//!
//! Run: `cargo bench --bench otlp_export`.

mod support;

#[path = "../tests/support/otlp_receiver.rs"]
mod otlp_receiver;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fcc::otlp::{OtlpConfig, OtlpProtocol, OtlpSpanExporter};
use fcc::trace::KeyValue;
use fcc::FccTracer;
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};

const BURST: usize = 100_000;
const ROUNDS: usize = 3;

/// A receiver in a child process: its port, and its count at the end.
struct Receiver {
    child: Child,
    port: u16,
}

impl Receiver {
    fn start(protocol: &str) -> Receiver {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env("FCC_BENCH_RECEIVER", protocol)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        Receiver {
            child,
            port: line.trim().parse().unwrap(),
        }
    }

    /// Stops it; the spans it received.
    fn finish(mut self) -> usize {
        drop(self.child.stdin.take());
        let mut out = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        let _ = self.child.wait();
        out.trim().parse().unwrap()
    }
}

/// The child: serves until its stdin closes, then prints what it received.
fn serve(protocol: &str) {
    let rx = match protocol {
        "grpc" => otlp_receiver::OtlpReceiver::grpc("127.0.0.1:0"),
        _ => otlp_receiver::OtlpReceiver::http("127.0.0.1:0"),
    };
    println!("{}", rx.addr.port());
    std::io::stdout().flush().unwrap();
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    let received = rx.stop();
    let n: usize = received
        .traces
        .lock()
        .unwrap()
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum();
    println!("{n}");
}

/// Process CPU time (every thread), in nanoseconds.
fn process_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Best of the rounds: (spans per second, CPU ns per span).
fn measure(mut burst: impl FnMut(usize), mut flush: impl FnMut()) -> (f64, f64) {
    burst(10_000); // warm-up: connections, allocations
    flush();
    let (mut rate, mut cpu) = (0f64, f64::MAX);
    for _ in 0..ROUNDS {
        let (t, c) = (Instant::now(), process_cpu_ns());
        burst(BURST);
        flush();
        let wall = t.elapsed().as_secs_f64();
        rate = rate.max(BURST as f64 / wall);
        cpu = cpu.min((process_cpu_ns() - c) as f64 / BURST as f64);
    }
    (rate, cpu)
}

fn fcc_run(protocol: OtlpProtocol, endpoint: &str) -> (f64, f64) {
    let config = OtlpConfig::new(endpoint, protocol).unwrap();
    let tracer = FccTracer::builder("bench-export")
        .completed_capacity(0)
        .max_queue_size(BURST + 10_000)
        .max_export_batch_size(512)
        .exporter(OtlpSpanExporter::new(&config, "bench-export").unwrap())
        .build()
        .unwrap();
    let result = measure(
        |n| {
            for i in 0..n {
                let _s = tracer.span_with(
                    "export.op",
                    [
                        KeyValue::new("order.id", i as i64),
                        KeyValue::new("route", "/orders"),
                        KeyValue::new("ok", true),
                    ],
                );
            }
        },
        || tracer.flush(Duration::from_secs(120)).unwrap(),
    );
    let s = tracer.stats();
    assert_eq!(
        (s.spans_dropped, s.spans_failed),
        (0, 0),
        "fcc lost spans: {:?}",
        s.last_error
    );
    result
}

fn sdk_run(protocol: OtlpProtocol, endpoint: &str) -> (f64, f64) {
    // tonic needs a Tokio runtime when the exporter is built; reqwest's
    // blocking client must be built outside one.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let exporter = match protocol {
        OtlpProtocol::Grpc => {
            let _g = rt.enter();
            use opentelemetry_otlp::WithExportConfig;
            opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .build()
                .unwrap()
        }
        _ => {
            use opentelemetry_otlp::WithExportConfig;
            opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_endpoint(format!("{endpoint}/v1/traces"))
                .build()
                .unwrap()
        }
    };
    let batch = BatchConfigBuilder::default()
        .with_max_queue_size(BURST + 10_000)
        .with_max_export_batch_size(512)
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(
            BatchSpanProcessor::builder(exporter)
                .with_batch_config(batch)
                .build(),
        )
        .build();
    let tracer = provider.tracer("bench-export");
    let result = measure(
        |n| {
            for i in 0..n {
                let mut s = tracer.start("export.op");
                s.set_attribute(opentelemetry::KeyValue::new("order.id", i as i64));
                s.set_attribute(opentelemetry::KeyValue::new("route", "/orders"));
                s.set_attribute(opentelemetry::KeyValue::new("ok", true));
                s.end();
            }
        },
        || provider.force_flush().unwrap(),
    );
    provider.shutdown().unwrap();
    drop(rt);
    result
}

fn main() {
    if let Ok(protocol) = std::env::var("FCC_BENCH_RECEIVER") {
        return serve(&protocol);
    }
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` lists benches; this one is a program
    }
    println!(
        "\nOTLP export of {BURST} spans (3 attributes) to a receiver in another process, best of {ROUNDS}"
    );
    for (name, protocol, scheme) in [
        ("grpc", OtlpProtocol::Grpc, "grpc"),
        ("http/protobuf", OtlpProtocol::HttpProtobuf, "http"),
    ] {
        let mut rows = Vec::new();
        for who in ["fcc", "sdk"] {
            let rx = Receiver::start(scheme);
            let endpoint = format!("http://127.0.0.1:{}", rx.port);
            let (rate, cpu) = match who {
                "fcc" => fcc_run(protocol, &endpoint),
                _ => sdk_run(protocol, &endpoint),
            };
            let got = rx.finish();
            let expected = 10_000 + ROUNDS * BURST;
            assert_eq!(got, expected, "{who} over {name}: the receiver's count");
            rows.push((who, rate, cpu));
        }
        println!("  {name}:");
        for (who, rate, cpu) in &rows {
            println!("    {who:<4} {rate:>10.0} spans/s   {cpu:>7.0} ns CPU per span");
        }
        let (f, s) = (rows[0], rows[1]);
        println!(
            "    fcc / sdk: {:.2}x the throughput, {:.2}x less CPU per span",
            f.1 / s.1,
            s.2 / f.2
        );
    }
}
