//! `fcc demo` with the collector up, down (connection refused) and hung
//! (accepts, never answers), side by side: an outage must cost the run at
//! most 1.2x its time with the collector up (issue 17). Each sample is one
//! `fcc demo --missions 100` process over OTLP/gRPC; the ratios are printed
//! at the end.

#![allow(missing_docs)] // criterion_group! makes an undocumented fn

#[path = "../../tests/it/support/otlp_receiver/mod.rs"]
mod otlp_receiver;

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};

fn demo(endpoint: &str) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("events.db").display());
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_fcc"))
        .args(["demo", "--missions", "100", "--quiet", "--store", &url])
        .current_dir(dir.path())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        .output()
        .unwrap();
    let took = started.elapsed();
    assert!(
        matches!(out.status.code(), Some(0 | 5)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn outage(c: &mut Criterion) {
    let up = otlp_receiver::OtlpReceiver::grpc("127.0.0.1:0");
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let down = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let hung = TcpListener::bind("127.0.0.1:0").unwrap();
    let hung_endpoint = format!("http://{}", hung.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in hung.incoming().flatten() {
            held.push(conn);
        }
    });
    let cases = [
        ("collector up", up.endpoint()),
        ("collector down", down),
        ("collector hung", hung_endpoint),
    ];
    let mut g = c.benchmark_group("demo_100_missions");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    let mut means = Vec::new();
    for (name, endpoint) in &cases {
        let mut total = Duration::ZERO;
        let mut runs = 0u32;
        g.bench_function(*name, |b| {
            b.iter_custom(|iters| {
                let mut t = Duration::ZERO;
                for _ in 0..iters {
                    t += demo(endpoint);
                }
                total += t;
                runs += iters as u32;
                t
            })
        });
        means.push((*name, total / runs.max(1)));
    }
    g.finish();
    let up_time = means[0].1.as_secs_f64();
    for (name, mean) in &means {
        println!(
            "{name:<15} {:>8.3} s   {:.2}x the collector-up run (goal <= 1.2x)",
            mean.as_secs_f64(),
            mean.as_secs_f64() / up_time
        );
    }
}

criterion_group!(benches, outage);
criterion_main!(benches);
