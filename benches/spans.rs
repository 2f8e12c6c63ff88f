//! Issue 20's span rows, fcc and its peers side by side in one process, every
//! peer with its export running (a background exporter or reporter that
//! discards): a child span with one attribute under a current parent, a
//! `#[traced]` function, a root span (new trace), a `#[tracing::instrument]`
//! span through fcc's `SpanLayer`, and `#[traced]` with no tracer installed.
//! Prints one ratio table at the end.
//!
//! `cargo bench --bench spans` (a row alone: `cargo bench --bench spans -- child`)

mod support;

use support::discard::{sdk_provider, Discard, FastraceDiscard, QUEUE};

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::Duration;

use criterion::Criterion;
use fcc::{traced, FccTracer};
use opentelemetry::trace::{Span as _, TraceContextExt as _, Tracer as _, TracerProvider as _};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;

static FCC: OnceLock<FccTracer> = OnceLock::new();

#[traced(tracer = FCC.get())]
fn fcc_work(x: u64) -> u64 {
    x.wrapping_mul(31)
}

// Not inlined, as `bare_work` is not: the row compares two calls.
#[traced]
#[inline(never)]
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

/// fastrace's local spans are collected when their local parent ends: time
/// them under a root in chunks of 1,000, as an instrumented request would.
fn fastrace_chunked(id: &str, iters: u64, mut routine: impl FnMut()) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let chunk = left.min(1000);
        left -= chunk;
        let root = fastrace::Span::root("root", fastrace::collector::SpanContext::random());
        let _g = root.set_local_parent();
        total += support::timed(id, chunk, &mut routine);
    }
    fastrace::flush();
    total
}

fn flushed(tracer: &FccTracer, d: Duration) -> Duration {
    let _ = tracer.flush(Duration::from_secs(60));
    d
}

fn child(c: &mut Criterion, tracer: &FccTracer, sdk: &SdkTracerProvider) {
    let mut g = c.benchmark_group("child");
    g.bench_function("fcc", |b| {
        let _parent = tracer.span("parent");
        b.iter_custom(|iters| {
            let d = support::timed("child_fcc", iters, || {
                let mut s = tracer.span("child");
                s.set_attribute("k", 1_i64);
                drop(black_box(s));
            });
            flushed(tracer, d)
        })
    });
    g.bench_function("fastrace", |b| {
        b.iter_custom(|iters| {
            fastrace_chunked("child_fastrace", iters, || {
                let s = fastrace::local::LocalSpan::enter_with_local_parent("child")
                    .with_property(|| ("k", "1"));
                drop(black_box(s));
            })
        })
    });
    let t = sdk.tracer("bench");
    g.bench_function("otel_sdk", |b| {
        let parent = t.start("parent");
        let _cx = opentelemetry::Context::current_with_span(parent).attach();
        b.iter_custom(|iters| {
            let d = support::timed("child_sdk", iters, || {
                t.in_span("child", |cx| {
                    cx.span()
                        .set_attribute(opentelemetry::KeyValue::new("k", 1_i64))
                });
            });
            let _ = sdk.force_flush();
            d
        })
    });
    g.finish();
}

/// fcc's side of [`fastrace_chunked`]: the routine under a parent span
/// per chunk of 1,000 (a request's span), so both are timed as child spans
/// of an instrumented request.
fn fcc_chunked(tracer: &FccTracer, id: &str, iters: u64, mut routine: impl FnMut()) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let chunk = left.min(1000);
        left -= chunk;
        let _request = tracer.span("request");
        total += support::timed(id, chunk, &mut routine);
    }
    flushed(tracer, total)
}

fn traced_fn(c: &mut Criterion, tracer: &FccTracer) {
    let mut g = c.benchmark_group("traced");
    let mut n = 0u64;
    // fastrace's `#[trace]` records a span only under a local parent, so
    // both run under a request span (a root without one would time fcc
    // starting a new trace per call against fastrace doing nothing).
    g.bench_function("fcc", |b| {
        b.iter_custom(|iters| {
            fcc_chunked(tracer, "traced_fcc", iters, || {
                n += 1;
                black_box(fcc_work(black_box(n)));
            })
        })
    });
    g.bench_function("fastrace", |b| {
        b.iter_custom(|iters| {
            fastrace_chunked("traced_fastrace", iters, || {
                n += 1;
                black_box(fastrace_work(black_box(n)));
            })
        })
    });
    g.finish();
}

fn root(c: &mut Criterion, tracer: &FccTracer, sdk: &SdkTracerProvider) {
    let mut g = c.benchmark_group("root");
    g.bench_function("fcc", |b| {
        b.iter_custom(|iters| {
            let d = support::timed("root_fcc", iters, || {
                drop(black_box(tracer.start_with_parent("root", None)));
            });
            flushed(tracer, d)
        })
    });
    g.bench_function("fastrace", |b| {
        b.iter_custom(|iters| {
            let d = support::timed("root_fastrace", iters, || {
                let s = fastrace::Span::root("root", fastrace::collector::SpanContext::random());
                drop(black_box(s));
            });
            fastrace::flush();
            d
        })
    });
    let t = sdk.tracer("bench");
    g.bench_function("otel_sdk", |b| {
        b.iter_custom(|iters| {
            let d = support::timed("root_sdk", iters, || {
                let mut s = t.start("root");
                s.end();
                drop(black_box(s));
            });
            let _ = sdk.force_flush();
            d
        })
    });
    g.finish();
}

/// A layer that does nothing: `registry()` with it is the floor under any
/// layer's `#[instrument]` cost (the slab slot, the span stack, the ids).
struct NoopLayer;
impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for NoopLayer {}

fn fcc_dispatch(tracer: &FccTracer) -> tracing::Dispatch {
    tracing::Dispatch::new(
        tracing_subscriber::registry().with(fcc::layer::SpanLayer::new(tracer.clone())),
    )
}

fn noop_dispatch() -> tracing::Dispatch {
    tracing::Dispatch::new(tracing_subscriber::registry().with(NoopLayer))
}

fn instrument(c: &mut Criterion, tracer: &FccTracer) {
    let mut g = c.benchmark_group("instrument");
    let mut n = 0u64;
    let fcc_dispatch = fcc_dispatch(tracer);
    g.bench_function("fcc_span_layer", |b| {
        tracing::dispatcher::with_default(&fcc_dispatch, || {
            b.iter_custom(|iters| {
                let d = support::timed("instrument_fcc", iters, || {
                    n += 1;
                    black_box(tracing_work(black_box(n)));
                });
                flushed(tracer, d)
            })
        })
    });
    let noop_dispatch = noop_dispatch();
    g.bench_function("registry_noop_layer", |b| {
        tracing::dispatcher::with_default(&noop_dispatch, || {
            b.iter_custom(|iters| {
                support::timed("instrument_noop", iters, || {
                    n += 1;
                    black_box(tracing_work(black_box(n)));
                })
            })
        })
    });
    g.bench_function("fastrace", |b| {
        b.iter_custom(|iters| {
            fastrace_chunked("instrument_fastrace", iters, || {
                n += 1;
                black_box(fastrace_work(black_box(n)));
            })
        })
    });
    let provider = sdk_provider();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("bench"));
    let otel_dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    g.bench_function("tracing_opentelemetry", |b| {
        tracing::dispatcher::with_default(&otel_dispatch, || {
            b.iter_custom(|iters| {
                let d = support::timed("instrument_totel", iters, || {
                    n += 1;
                    black_box(tracing_work(black_box(n)));
                });
                let _ = provider.force_flush();
                d
            })
        })
    });
    g.finish();
}

fn no_tracer(c: &mut Criterion) {
    let mut g = c.benchmark_group("off");
    let mut n = 0u64;
    g.bench_function("fcc_traced", |b| {
        b.iter_custom(|iters| {
            support::timed("off_fcc", iters, || {
                n += 1;
                black_box(fcc_work_global(black_box(n)));
            })
        })
    });
    g.bench_function("bare_function", |b| {
        b.iter_custom(|iters| {
            support::timed("off_bare", iters, || {
                n += 1;
                black_box(bare_work(black_box(n)));
            })
        })
    });
    g.bench_function("tracing_no_subscriber", |b| {
        b.iter_custom(|iters| {
            support::timed("off_tracing", iters, || {
                n += 1;
                black_box(tracing_work(black_box(n)));
            })
        })
    });
    g.finish();
}

/// Spans per run in `span_loop`: fewer than a thread's hand-over ring holds.
const RUN: u64 = 256;

/// `FCC_SPAN_LOOP=child|root|traced|instrument N`: only N fcc spans of that row, in
/// runs of [`RUN`] (`span_run`) with a flush between runs, so that the
/// export thread never falls behind and the calling thread always takes
/// its steady-state path: for callgrind with `--toggle-collect='*span_run*'`
/// (no criterion or flush in the count). `fastrace_child|fastrace_root|
/// fastrace_traced`: the same rows through fastrace, local spans under a
/// root per run, as the criterion rows time them. `instrument` runs
/// `#[tracing::instrument]` through fcc's `SpanLayer`; `instrument_noop`
/// the same through `registry()` and a layer that does nothing (the floor),
/// `instrument_totel` through tracing-opentelemetry.
#[inline(never)]
fn span_loop(mode: &str, n: u64) {
    let tracer = FCC.get_or_init(|| {
        FccTracer::builder("bench")
            .completed_capacity(0)
            .max_queue_size(QUEUE)
            .exporter(Discard)
            .build()
            .unwrap()
    });
    if mode.starts_with("fastrace_") {
        fastrace::set_reporter(FastraceDiscard, fastrace::collector::Config::default());
    }
    let _parent = matches!(mode.trim_end_matches("_noflush"), "child" | "traced")
        .then(|| tracer.span("parent"));
    let provider = mode.starts_with("instrument_totel").then(sdk_provider);
    let dispatch = match (mode.trim_end_matches("_noflush"), &provider) {
        ("instrument", _) => Some(fcc_dispatch(tracer)),
        ("instrument_noop", _) => Some(noop_dispatch()),
        ("instrument_totel", Some(p)) => Some(tracing::Dispatch::new(
            tracing_subscriber::registry()
                .with(tracing_opentelemetry::layer().with_tracer(p.tracer("bench"))),
        )),
        _ => None,
    };
    let _dispatch = dispatch.map(|d| tracing::dispatcher::set_default(&d));
    let mut i = 0;
    while i < n {
        let run = RUN.min(n - i);
        match mode.strip_prefix("fastrace_") {
            Some(peer) => {
                let root = fastrace::Span::root("root", fastrace::collector::SpanContext::random());
                let _g = root.set_local_parent();
                fastrace_run(peer, i, run);
            }
            None => {
                span_run(tracer, mode.trim_end_matches("_noflush"), i, run);
                if !mode.ends_with("_noflush") {
                    tracer.flush(Duration::from_secs(60)).unwrap();
                    if let Some(p) = &provider {
                        let _ = p.force_flush();
                    }
                }
            }
        }
        i += run;
    }
    fastrace::flush();
    tracer.flush(Duration::from_secs(60)).unwrap();
    let s = tracer.stats();
    eprintln!(
        "queued {} exported {} dropped {} failed {}",
        s.spans_queued, s.spans_exported, s.spans_dropped, s.spans_failed
    );
}

#[inline(never)]
fn span_run(tracer: &FccTracer, mode: &str, from: u64, run: u64) {
    for i in from..from + run {
        match mode {
            "child" => {
                let mut s = tracer.span("child");
                s.set_attribute("k", 1_i64);
                drop(black_box(s));
            }
            "root" => drop(black_box(tracer.start_with_parent("root", None))),
            "instrument" | "instrument_noop" | "instrument_totel" => {
                black_box(tracing_work(black_box(i)));
            }
            _ => {
                black_box(fcc_work(black_box(i)));
            }
        }
    }
}

#[inline(never)]
fn fastrace_run(mode: &str, from: u64, run: u64) {
    for i in from..from + run {
        match mode {
            "child" => {
                let s = fastrace::local::LocalSpan::enter_with_local_parent("child")
                    .with_property(|| ("k", "1"));
                drop(black_box(s));
            }
            "root" => {
                let s = fastrace::Span::root("root", fastrace::collector::SpanContext::random());
                drop(black_box(s));
            }
            _ => {
                black_box(fastrace_work(black_box(i)));
            }
        }
    }
}

fn main() {
    if let Ok(mode) = std::env::var("FCC_SPAN_LOOP") {
        let n = std::env::args()
            .filter_map(|a| a.parse().ok())
            .next()
            .unwrap_or(1_000_000);
        return span_loop(&mode, n);
    }
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    // No global fcc tracer is ever installed in this process.
    no_tracer(&mut c);
    let tracer = FCC.get_or_init(|| {
        FccTracer::builder("bench")
            .completed_capacity(0)
            .max_queue_size(QUEUE)
            .exporter(Discard)
            .build()
            .unwrap()
    });
    fastrace::set_reporter(FastraceDiscard, fastrace::collector::Config::default());
    let sdk = sdk_provider();
    child(&mut c, tracer, &sdk);
    traced_fn(&mut c, tracer);
    root(&mut c, tracer, &sdk);
    instrument(&mut c, tracer);
    c.final_summary();
    support::print_ratios(
        "Issue 20, span rows (fcc / peer, same run)",
        &[
            (
                "child span, 1 attr / fastrace (<= 0.9)",
                "child_fcc",
                "child_fastrace",
            ),
            (
                "child span, 1 attr / OTel SDK in_span",
                "child_fcc",
                "child_sdk",
            ),
            (
                "#[traced] / fastrace #[trace] (<= 0.9)",
                "traced_fcc",
                "traced_fastrace",
            ),
            (
                "root span / fastrace root (<= 0.25)",
                "root_fcc",
                "root_fastrace",
            ),
            ("root span / OTel SDK root", "root_fcc", "root_sdk"),
            (
                "#[instrument] via SpanLayer / fastrace",
                "instrument_fcc",
                "instrument_fastrace",
            ),
            (
                "#[instrument] via SpanLayer / t-otel (< 0.2)",
                "instrument_fcc",
                "instrument_totel",
            ),
            (
                "#[instrument] via SpanLayer / no-op layer",
                "instrument_fcc",
                "instrument_noop",
            ),
            (
                "#[instrument] registry + no-op layer / t-otel",
                "instrument_noop",
                "instrument_totel",
            ),
            ("no tracer / plain call (<= 1.2)", "off_fcc", "off_bare"),
            (
                "no tracer / tracing, no subscriber",
                "off_fcc",
                "off_tracing",
            ),
        ],
    );
    let _ = tracer.flush(Duration::from_secs(60));
    let s = tracer.stats();
    println!(
        "  fcc pipeline: queued {} exported {} dropped {} failed (the discarding lane's queue was full) {}",
        s.spans_queued, s.spans_exported, s.spans_dropped, s.spans_failed
    );
}
