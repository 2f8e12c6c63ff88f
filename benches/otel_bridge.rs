//! What the OpenTelemetry bridge costs, A/B in one process: `#[traced]` and a
//! child span before the bridge is on (a service that uses only fcc) and
//! after (a process that uses the OTel API); `Context::current()` inside an
//! fcc span; an OTel-API `tracer.in_span` through fcc against the OTel SDK's
//! own, both with export running.
//!
//! `cargo bench --bench otel_bridge`

mod support;

use support::discard::{sdk_provider, Discard, QUEUE};

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::Duration;

use criterion::Criterion;
use fcc::{traced, FccTracer};
use opentelemetry::trace::{TraceContextExt as _, Tracer as _, TracerProvider as _};

static FCC: OnceLock<FccTracer> = OnceLock::new();

#[traced(tracer = FCC.get())]
fn fcc_work(x: u64) -> u64 {
    x.wrapping_mul(31)
}

/// `#[traced]` and a child span with one attribute, under a parent.
fn fcc_cases(c: &mut Criterion, tracer: &FccTracer, tag: &str) {
    let mut group = c.benchmark_group(format!("bridge_{tag}"));
    let parent = tracer.span("parent");
    let mut n = 0u64;
    let id = format!("traced_{tag}");
    group.bench_function("fcc_traced", |b| {
        b.iter_custom(|iters| {
            let d = support::timed(&id, iters, || {
                n += 1;
                black_box(fcc_work(black_box(n)));
            });
            let _ = tracer.flush(Duration::from_secs(60));
            d
        })
    });
    let id = format!("child_{tag}");
    group.bench_function("fcc_child_span", |b| {
        b.iter_custom(|iters| {
            let d = support::timed(&id, iters, || {
                let mut s = tracer.span("child");
                s.set_attribute("k", 1_i64);
                drop(black_box(s));
            });
            let _ = tracer.flush(Duration::from_secs(60));
            d
        })
    });
    drop(parent);
    group.finish();
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let tracer = FCC.get_or_init(|| {
        FccTracer::builder("bench")
            .completed_capacity(0)
            .max_queue_size(QUEUE)
            .exporter(Discard)
            .build()
            .unwrap()
    });
    // A: nothing has used the OTel API yet.
    fcc_cases(&mut c, tracer, "off");
    // B: the process uses the OTel API from here on.
    let lib = fcc::otel::FccTracerProvider::new(tracer.clone()).tracer("lib");
    fcc_cases(&mut c, tracer, "on");

    let mut group = c.benchmark_group("otel_api");
    {
        let _span = tracer.span("outer");
        group.bench_function("context_current_in_fcc_span", |b| {
            b.iter_custom(|iters| {
                support::timed("context_current", iters, || {
                    let cx = opentelemetry::Context::current();
                    black_box(cx.span().span_context().span_id());
                })
            })
        });
    }
    group.bench_function("fcc_in_span", |b| {
        b.iter_custom(|iters| {
            let d = support::timed("fcc_in_span", iters, || {
                lib.in_span("work", |cx| black_box(cx.has_active_span()));
            });
            let _ = tracer.flush(Duration::from_secs(60));
            d
        })
    });
    let provider = sdk_provider();
    let sdk = provider.tracer("bench");
    group.bench_function("otel_sdk_in_span", |b| {
        b.iter_custom(|iters| {
            let d = support::timed("sdk_in_span", iters, || {
                sdk.in_span("work", |cx| black_box(cx.has_active_span()));
            });
            let _ = provider.force_flush();
            d
        })
    });
    group.finish();
    c.final_summary();
    support::print_ratios(
        "The bridge, A/B (on / off: goal <= 1.05 for a service using only fcc, which stays off)",
        &[
            ("#[traced], bridge on / off", "traced_on", "traced_off"),
            ("child span, bridge on / off", "child_on", "child_off"),
        ],
    );
    support::print_ratios(
        "The OTel API through fcc",
        &[(
            "tracer.in_span: fcc / OTel SDK (goal <= 0.5)",
            "fcc_in_span",
            "sdk_in_span",
        )],
    );
    if let Some(ns) = support::mean_ns("context_current") {
        println!("  Context::current() inside an fcc span: {ns:.1} ns (goal <= 50)");
    }
}
