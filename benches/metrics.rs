//! Recording a metric on the calling thread: fcc's bound handle, fcc with
//! dynamic labels (3 labels, points log off) and histogram records, against
//! the OTel SDK's `Counter::add`/`Histogram::record` with the same 3 labels
//! and a bare `AtomicU64::fetch_add` (the floor). Export runs on both sides
//! meanwhile, every 500 ms: fcc's over OTLP/gRPC to a real receiver on
//! loopback, the SDK's through its `PeriodicReader` to a discarding exporter.
//!
//! Also: 10 labels against the SDK with the same 10, `FccMetrics::new()`
//! (the seed's defaults: points kept), two threads updating one series
//! (counter and histogram, against the SDK's two threads) and the `metrics`
//! facade into fcc's recorder against metrics-exporter-prometheus'.
//!
//! Run: `cargo bench --bench metrics`.

#[path = "../tests/it/support/otlp_receiver/mod.rs"]
mod otlp_receiver;
mod support;

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::Criterion;
use fcc::metrics::FccMetrics;
use fcc::otlp::{OtlpConfig, OtlpMetricsExporter, OtlpProtocol};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};

/// The SDK's reader exports to this, which discards.
struct Discard;
impl PushMetricExporter for Discard {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        black_box(metrics);
        Ok(())
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

/// Both sides export this often while the benches run.
const EXPORT_EVERY: Duration = Duration::from_millis(500);

const LABELS: [(&str, &str); 3] = [("service", "api"), ("route", "/orders"), ("status", "200")];
const LABELS10: [(&str, &str); 10] = [
    ("service", "api"),
    ("route", "/orders"),
    ("status", "200"),
    ("method", "GET"),
    ("region", "eu-west-1"),
    ("zone", "b"),
    ("host", "web-17"),
    ("version", "1.4.2"),
    ("tenant", "acme-corp"),
    ("protocol", "http/1.1"),
];

/// The next recorded value: a sawtooth over [0, 900) in steps of 7.3 (the
/// same values `(v + 7.3) % 900.0` gives: the subtraction is exact there),
/// without `fmod`, a libm call of about 34 instructions that every row paid
/// on top of the record it measures.
#[inline(always)]
fn next_value(v: f64) -> f64 {
    let v = v + 7.3;
    if v >= 900.0 {
        v - 900.0
    } else {
        v
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("metric_record");
    let m = FccMetrics::builder().points_capacity(0).build();
    let receiver = otlp_receiver::OtlpReceiver::grpc("127.0.0.1:0");
    let config = OtlpConfig::new(&receiver.endpoint(), OtlpProtocol::Grpc).unwrap();
    let export = OtlpMetricsExporter::start(m.clone(), &config, "bench", EXPORT_EVERY).unwrap();
    let handle = m.counter("requests", &LABELS).unwrap();
    let hist = m.histogram("latency", &LABELS).unwrap();
    let floor = AtomicU64::new(0);

    group.bench_function("atomic_u64_fetch_add", |b| {
        b.iter_custom(|iters| {
            support::timed("atomic", iters, || {
                floor.fetch_add(black_box(1), Ordering::Relaxed);
            })
        })
    });
    group.bench_function("fcc_counter_handle", |b| {
        b.iter_custom(|iters| {
            support::timed("fcc_handle", iters, || handle.increment(black_box(1)))
        })
    });
    group.bench_function("fcc_counter_dynamic_3_labels", |b| {
        b.iter_custom(|iters| {
            support::timed("fcc_dynamic", iters, || {
                let _ = m.increment(black_box("requests"), black_box(&LABELS));
            })
        })
    });
    group.bench_function("fcc_counter_dynamic_10_labels", |b| {
        b.iter_custom(|iters| {
            support::timed("fcc_dynamic_10", iters, || {
                let _ = m.increment(black_box("requests"), black_box(&LABELS10));
            })
        })
    });
    // The seed's defaults: `FccMetrics::new()` keeps the last 10,000 points.
    let with_points = FccMetrics::new();
    group.bench_function("fcc_counter_dynamic_3_labels_points_on", |b| {
        b.iter_custom(|iters| {
            support::timed("fcc_points_on", iters, || {
                let _ = with_points.increment(black_box("requests"), black_box(&LABELS));
            })
        })
    });
    let mut v = 0.0f64;
    // Inside a sampled span every update may become an exemplar: one per
    // series per collection is taken, the rest cost a check.
    let tracer = fcc::FccTracer::new("bench");
    {
        let _span = tracer.span("in_span");
        group.bench_function("fcc_counter_dynamic_3_labels_in_span", |b| {
            b.iter_custom(|iters| {
                support::timed("fcc_dynamic_in_span", iters, || {
                    let _ = m.increment(black_box("requests"), black_box(&LABELS));
                })
            })
        });
    }
    group.bench_function("fcc_histogram_handle", |b| {
        b.iter_custom(|iters| {
            support::timed("fcc_hist", iters, || {
                v = next_value(v);
                hist.record(black_box(v));
            })
        })
    });
    group.bench_function("fcc_histogram_dynamic_3_labels", |b| {
        b.iter_custom(|iters| {
            support::timed("fcc_hist_dynamic", iters, || {
                v = next_value(v);
                let _ = m.record(black_box("latency"), black_box(v), black_box(&LABELS));
            })
        })
    });

    // Two threads updating one series: the same call on a second thread
    // meanwhile (each thread's time per operation, both at work).
    let other = m.clone();
    let helper = support::Helper::new(move || {
        let _ = other.increment(black_box("requests"), black_box(&LABELS));
    });
    group.bench_function("fcc_counter_dynamic_3_labels_2_threads", |b| {
        b.iter_custom(|iters| {
            helper.run("fcc_dynamic_2t", iters, || {
                let _ = m.increment(black_box("requests"), black_box(&LABELS));
            })
        })
    });
    let other = m.clone();
    let mut w = 0.0f64;
    let helper = support::Helper::new(move || {
        w = next_value(w);
        let _ = other.record(black_box("latency"), black_box(w), black_box(&LABELS));
    });
    group.bench_function("fcc_histogram_dynamic_3_labels_2_threads", |b| {
        b.iter_custom(|iters| {
            helper.run("fcc_hist_dynamic_2t", iters, || {
                v = next_value(v);
                let _ = m.record(black_box("latency"), black_box(v), black_box(&LABELS));
            })
        })
    });

    let provider = SdkMeterProvider::builder()
        .with_reader(
            PeriodicReader::builder(Discard)
                .with_interval(EXPORT_EVERY)
                .build(),
        )
        .build();
    let meter = provider.meter("bench");
    let counter = meter.u64_counter("requests").build();
    let histogram = meter.f64_histogram("latency").build();
    let attrs: Vec<KeyValue> = LABELS.iter().map(|(k, v)| KeyValue::new(*k, *v)).collect();
    group.bench_function("otel_sdk_counter_add_3_labels", |b| {
        b.iter_custom(|iters| {
            support::timed("sdk_counter", iters, || {
                counter.add(black_box(1), black_box(&attrs))
            })
        })
    });
    let attrs10: Vec<KeyValue> = LABELS10
        .iter()
        .map(|(k, v)| KeyValue::new(*k, *v))
        .collect();
    group.bench_function("otel_sdk_counter_add_10_labels", |b| {
        b.iter_custom(|iters| {
            support::timed("sdk_counter_10", iters, || {
                counter.add(black_box(1), black_box(&attrs10))
            })
        })
    });
    group.bench_function("otel_sdk_histogram_record_3_labels", |b| {
        b.iter_custom(|iters| {
            support::timed("sdk_hist", iters, || {
                v = next_value(v);
                histogram.record(black_box(v), black_box(&attrs));
            })
        })
    });
    let (other, other_attrs) = (counter.clone(), attrs.clone());
    let helper = support::Helper::new(move || {
        other.add(black_box(1), black_box(&other_attrs));
    });
    group.bench_function("otel_sdk_counter_add_3_labels_2_threads", |b| {
        b.iter_custom(|iters| {
            helper.run("sdk_counter_2t", iters, || {
                counter.add(black_box(1), black_box(&attrs))
            })
        })
    });
    let (other, other_attrs) = (histogram.clone(), attrs.clone());
    let mut w = 0.0f64;
    let helper = support::Helper::new(move || {
        w = next_value(w);
        other.record(black_box(w), black_box(&other_attrs));
    });
    group.bench_function("otel_sdk_histogram_record_3_labels_2_threads", |b| {
        b.iter_custom(|iters| {
            helper.run("sdk_hist_2t", iters, || {
                v = next_value(v);
                histogram.record(black_box(v), black_box(&attrs));
            })
        })
    });
    // The `metrics` facade: fcc's recorder and metrics-exporter-prometheus',
    // same macro, same 3 labels.
    let fcc_recorder = fcc::metrics::FccRecorder::new(m.clone());
    let prom = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    group.bench_function("metrics_facade_fcc_recorder", |b| {
        metrics::with_local_recorder(&fcc_recorder, || {
            b.iter_custom(|iters| {
                support::timed("facade_fcc", iters, || {
                    metrics::counter!("requests", "service" => "api", "route" => "/orders", "status" => "200")
                        .increment(black_box(1));
                })
            })
        })
    });
    group.bench_function("metrics_facade_prometheus_recorder", |b| {
        metrics::with_local_recorder(&prom, || {
            b.iter_custom(|iters| {
                support::timed("facade_prom", iters, || {
                    metrics::counter!("requests", "service" => "api", "route" => "/orders", "status" => "200")
                        .increment(black_box(1));
                })
            })
        })
    });
    group.finish();
    support::print_ratios(
        "Recording one value (3 labels)",
        &[
            (
                "fcc bound counter vs AtomicU64::fetch_add",
                "fcc_handle",
                "atomic",
            ),
            (
                "fcc dynamic counter vs OTel SDK Counter::add",
                "fcc_dynamic",
                "sdk_counter",
            ),
            (
                "fcc dynamic counter, 10 labels vs OTel SDK",
                "fcc_dynamic_10",
                "sdk_counter_10",
            ),
            (
                "fcc 10 labels vs fcc 3 labels",
                "fcc_dynamic_10",
                "fcc_dynamic",
            ),
            (
                "FccMetrics::new() (points on) vs points off",
                "fcc_points_on",
                "fcc_dynamic",
            ),
            (
                "fcc dynamic counter, in a span vs outside",
                "fcc_dynamic_in_span",
                "fcc_dynamic",
            ),
            (
                "fcc bound histogram vs OTel SDK Histogram::record",
                "fcc_hist",
                "sdk_hist",
            ),
            (
                "fcc dynamic histogram vs OTel SDK Histogram::record",
                "fcc_hist_dynamic",
                "sdk_hist",
            ),
            (
                "fcc dynamic counter, 2 threads vs OTel SDK 2 threads",
                "fcc_dynamic_2t",
                "sdk_counter_2t",
            ),
            (
                "fcc dynamic counter, 2 threads vs 1 thread",
                "fcc_dynamic_2t",
                "fcc_dynamic",
            ),
            (
                "fcc dynamic histogram, 2 threads vs OTel SDK 2 threads",
                "fcc_hist_dynamic_2t",
                "sdk_hist_2t",
            ),
            (
                "fcc dynamic histogram, 2 threads vs 1 thread",
                "fcc_hist_dynamic_2t",
                "fcc_hist_dynamic",
            ),
            (
                "metrics::counter! fcc vs metrics-exporter-prometheus",
                "facade_fcc",
                "facade_prom",
            ),
        ],
    );
    println!("  fcc total requests: {}", m.total("requests"));
    println!(
        "  points-on FccMetrics: {} points kept, {} let go",
        with_points.points().len(),
        with_points.stats().dropped_points
    );
    export.shutdown(Duration::from_secs(5)).unwrap();
    println!(
        "  fcc metric exports during the run: {}, SDK: running",
        export.stats().exports
    );
}

/// `FCC_METRICS_LOOP=<op> valgrind --tool=callgrind
/// --toggle-collect='*loops::<op>*' <bench binary>`: one operation in a
/// loop, for instruction counts (deterministic, unlike times on this VM).
mod loops {
    use super::{black_box, next_value, FccMetrics, LABELS, LABELS10};

    pub const N: u64 = 100_000;

    #[inline(never)]
    pub fn dynamic3(m: &FccMetrics) {
        for _ in 0..N {
            let _ = m.increment(black_box("requests"), black_box(&LABELS));
        }
    }
    #[inline(never)]
    pub fn dynamic10(m: &FccMetrics) {
        for _ in 0..N {
            let _ = m.increment(black_box("requests"), black_box(&LABELS10));
        }
    }
    #[inline(never)]
    pub fn points(m: &FccMetrics) {
        for _ in 0..N {
            let _ = m.increment(black_box("requests"), black_box(&LABELS));
        }
    }
    #[inline(never)]
    pub fn histogram(m: &FccMetrics) {
        let mut v = 0.0f64;
        for _ in 0..N {
            v = next_value(v);
            let _ = m.record(black_box("latency"), black_box(v), black_box(&LABELS));
        }
    }
    #[inline(never)]
    pub fn facade(m: &FccMetrics) {
        let r = fcc::metrics::FccRecorder::new(m.clone());
        metrics::with_local_recorder(&r, facade_inner);
    }
    #[inline(never)]
    fn facade_inner() {
        for _ in 0..N {
            metrics::counter!("requests", "service" => "api", "route" => "/orders", "status" => "200")
                .increment(black_box(1));
        }
    }

    /// Runs `op` twice (the first fills the caches) and reports.
    pub fn run(op: &str) {
        let m = FccMetrics::builder().points_capacity(0).build();
        let with_points = FccMetrics::new();
        for _ in 0..2 {
            match op {
                "dynamic3" => dynamic3(&m),
                "dynamic10" => dynamic10(&m),
                "points" => points(&with_points),
                "histogram" => histogram(&m),
                "facade" => facade(&m),
                _ => panic!("FCC_METRICS_LOOP: dynamic3, dynamic10, points, histogram or facade"),
            }
        }
        println!("{op}: {N} operations per call");
    }
}

fn main() {
    if let Ok(op) = std::env::var("FCC_METRICS_LOOP") {
        loops::run(&op);
        return;
    }
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    bench(&mut c);
    c.final_summary();
}
