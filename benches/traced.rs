//! One span, start to end, on the calling thread, with export on: fcc's
//! `#[traced]` against the OTel SDK used directly (`tracer.start` + `end`),
//! `#[tracing::instrument]` with tracing-opentelemetry, and fastrace's
//! `#[trace]` with a reporter; every pipeline hands spans to a background
//! exporter that discards them, so what is measured is the instrumentation.
//! Then fcc with real OTLP export (HTTP/protobuf to an in-process receiver),
//! and the no-tracer cost against the bare function and `tracing` with no
//! subscriber.
//!
//! Run: `cargo bench --bench traced`.

mod support;

use support::discard::{sdk_provider, Discard, FastraceDiscard, QUEUE};

#[path = "../tests/it/support/otlp_receiver/mod.rs"]
mod otlp_receiver;

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::Duration;

use criterion::Criterion;
use fcc::otlp::{OtlpConfig, OtlpProtocol, OtlpSpanExporter};
use fcc::{traced, FccTracer};
use opentelemetry::trace::{Tracer as _, TracerProvider as _};
use tracing_subscriber::layer::SubscriberExt;

static FCC: OnceLock<FccTracer> = OnceLock::new();

#[traced(tracer = FCC.get())]
fn fcc_work(x: u64) -> u64 {
    x.wrapping_mul(31)
}

#[traced]
fn fcc_work_global(x: u64) -> u64 {
    x.wrapping_mul(31)
}

#[tracing::instrument]
fn tracing_work(x: u64) -> u64 {
    x.wrapping_mul(31)
}

#[fastrace::trace]
fn fastrace_work(x: u64) -> u64 {
    x.wrapping_mul(31)
}

#[inline(never)]
fn bare_work(x: u64) -> u64 {
    x.wrapping_mul(31)
}

fn export_on(c: &mut Criterion) {
    let tracer = FCC.get_or_init(|| {
        FccTracer::builder("bench")
            .completed_capacity(0)
            .max_queue_size(QUEUE)
            .exporter(Discard)
            .build()
            .unwrap()
    });
    let mut group = c.benchmark_group("span_export_on");
    let mut n = 0u64;
    group.bench_function("fcc_traced", |b| {
        b.iter_custom(|iters| {
            let d = support::timed("fcc", iters, || {
                n += 1;
                black_box(fcc_work(black_box(n)));
            });
            let _ = tracer.flush(Duration::from_secs(60));
            d
        })
    });

    let provider = sdk_provider();
    let sdk = provider.tracer("bench");
    group.bench_function("otel_sdk_start_end", |b| {
        b.iter_custom(|iters| {
            let d = support::timed("sdk", iters, || {
                let span = sdk.start("work");
                drop(black_box(span));
            });
            let _ = provider.force_flush();
            d
        })
    });

    let provider2 = sdk_provider();
    let layer = tracing_opentelemetry::layer().with_tracer(provider2.tracer("bench"));
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    group.bench_function("tracing_instrument_tracing_opentelemetry", |b| {
        tracing::dispatcher::with_default(&dispatch, || {
            b.iter_custom(|iters| {
                let d = support::timed("tracing_otel", iters, || {
                    n += 1;
                    black_box(tracing_work(black_box(n)));
                });
                let _ = provider2.force_flush();
                d
            })
        })
    });

    fastrace::set_reporter(FastraceDiscard, fastrace::collector::Config::default());
    group.bench_function("fastrace_trace", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let chunk = left.min(1000);
                left -= chunk;
                let root = fastrace::Span::root("root", fastrace::collector::SpanContext::random());
                let _g = root.set_local_parent();
                total += support::timed("fastrace", chunk, || {
                    n += 1;
                    black_box(fastrace_work(black_box(n)));
                });
            }
            fastrace::flush();
            total
        })
    });
    group.finish();
    support::print_ratios(
        "One span with export on (fcc #[traced] vs peers)",
        &[
            ("fcc vs OTel SDK start+end", "fcc", "sdk"),
            (
                "fcc vs #[instrument] + tracing-opentelemetry",
                "fcc",
                "tracing_otel",
            ),
            ("fcc vs fastrace #[trace] (local span)", "fcc", "fastrace"),
        ],
    );
    let s = tracer.stats();
    println!(
        "  fcc pipeline: queued {} exported {} dropped {}",
        s.spans_queued, s.spans_exported, s.spans_dropped
    );
}

/// fcc with real OTLP export, in batches of 20,000 spans with the exporter
/// drained between batches; best of 5, calling-thread CPU and wall time.
fn otlp_on() {
    const BATCH: u64 = 20_000;
    let receiver = otlp_receiver::OtlpReceiver::http("127.0.0.1:0");
    let config = OtlpConfig::new(&receiver.endpoint(), OtlpProtocol::HttpProtobuf).unwrap();
    let tracer = FccTracer::builder("bench-otlp")
        .completed_capacity(0)
        .max_queue_size(QUEUE)
        .exporter(OtlpSpanExporter::new(&config, "bench-otlp").unwrap())
        .build()
        .unwrap();
    let (mut cpu_best, mut wall_best) = (f64::MAX, f64::MAX);
    for round in 0..6u64 {
        let start = std::time::Instant::now();
        let cpu = support::cpu_ns_per_iter(BATCH, || {
            black_box(fcc_otlp(black_box(round), &tracer));
        });
        let wall = start.elapsed().as_nanos() as f64 / BATCH as f64;
        if round > 0 {
            cpu_best = cpu_best.min(cpu);
            wall_best = wall_best.min(wall);
        }
        tracer.flush(Duration::from_secs(120)).unwrap();
    }
    let s = tracer.stats();
    println!("\nfcc #[traced] with OTLP/HTTP export to a receiver (best of 5 x {BATCH})");
    println!("  calling-thread CPU {cpu_best:>6.0} ns, wall {wall_best:>6.0} ns per span");
    println!(
        "  exported {} dropped {} failed {}; the receiver got {}",
        s.spans_exported,
        s.spans_dropped,
        s.spans_failed,
        receiver.received.spans().len()
    );
}

#[traced(tracer = tracer, skip(tracer))]
fn fcc_otlp(x: u64, tracer: &FccTracer) -> u64 {
    x.wrapping_mul(31)
}

fn no_tracer(c: &mut Criterion) {
    let mut group = c.benchmark_group("span_no_tracer");
    let mut n = 0u64;
    group.bench_function("fcc_traced_no_tracer", |b| {
        b.iter_custom(|iters| {
            support::timed("fcc_off", iters, || {
                n += 1;
                black_box(fcc_work_global(black_box(n)));
            })
        })
    });
    group.bench_function("bare_function", |b| {
        b.iter_custom(|iters| {
            support::timed("bare", iters, || {
                n += 1;
                black_box(bare_work(black_box(n)));
            })
        })
    });
    group.bench_function("tracing_instrument_no_subscriber", |b| {
        b.iter_custom(|iters| {
            support::timed("tracing_off", iters, || {
                n += 1;
                black_box(tracing_work(black_box(n)));
            })
        })
    });
    group.finish();
    let (fcc, bare) = (
        support::mean_ns("fcc_off").unwrap_or(0.0),
        support::mean_ns("bare").unwrap_or(0.0),
    );
    support::print_ratios(
        "No tracer installed",
        &[(
            "fcc #[traced] vs tracing #[instrument], no subscriber",
            "fcc_off",
            "tracing_off",
        )],
    );
    println!(
        "  fcc #[traced] overhead over the bare function: {:.2} ns",
        fcc - bare
    );
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    // No global tracer is ever installed in this process.
    no_tracer(&mut c);
    export_on(&mut c);
    c.final_summary();
    otlp_on();
}
