//! The cost of new ids: trace, span and event (UUID v7) ids as fcc makes
//! them, against a copy of the generator fcc used before issue 18, item 8 (a
//! per-thread splitmix64, fast but predictable from earlier ids and repeated
//! by a forked child); then a root span (a trace id and a span id) and a
//! child span (a span id) end to end, with a tracer that keeps and exports
//! nothing.
//!
//! Run: `cargo bench --bench ids`.

mod support;

use std::cell::Cell;
use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use criterion::Criterion;
use fcc::FccTracer;

/// The generator before issue 18, item 8, as it was in `src/event/id.rs`.
mod splitmix {
    use std::cell::Cell;
    use uuid::Uuid;

    struct State {
        ms: Cell<u64>,
        counter: Cell<u64>,
        rng: Cell<u64>,
    }

    thread_local! {
        static STATE: State = State {
            ms: Cell::new(0),
            counter: Cell::new(0),
            rng: Cell::new(u64::from_le_bytes(Uuid::new_v4().as_bytes()[..8].try_into().unwrap_or([7; 8])) | 1),
        };
    }

    fn splitmix(state: &Cell<u64>) -> u64 {
        let s = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        state.set(s);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    const COUNTER_BITS: u32 = 42;

    fn fresh_counter(rng: &Cell<u64>) -> u64 {
        splitmix(rng) >> (64 - COUNTER_BITS + 1)
    }

    pub fn new_v7_at(now_ms: u64) -> Uuid {
        STATE
            .try_with(|st| {
                let mut ms = now_ms.max(st.ms.get());
                let counter = if ms == st.ms.get() {
                    let next = st.counter.get() + 1;
                    if next >> COUNTER_BITS != 0 {
                        ms += 1;
                        fresh_counter(&st.rng)
                    } else {
                        next
                    }
                } else {
                    fresh_counter(&st.rng)
                };
                st.ms.set(ms);
                st.counter.set(counter);
                let random = splitmix(&st.rng) as u32;
                let value = (u128::from(ms & 0xFFFF_FFFF_FFFF) << 80)
                    | (0x7u128 << 76)
                    | (u128::from(counter >> 30) << 64)
                    | (0b10u128 << 62)
                    | (u128::from(counter & 0x3FFF_FFFF) << 32)
                    | u128::from(random);
                Uuid::from_u128(value)
            })
            .unwrap_or_else(|_| Uuid::now_v7())
    }

    fn random_nonzero_u64() -> u64 {
        STATE
            .try_with(|st| splitmix(&st.rng))
            .unwrap_or_else(|_| {
                u64::from_le_bytes(Uuid::new_v4().as_bytes()[..8].try_into().unwrap_or([9; 8]))
            })
            .max(1)
    }

    pub fn new_trace_id() -> fcc::TraceId {
        let v = ((random_nonzero_u64() as u128) << 64) | random_nonzero_u64() as u128;
        fcc::TraceId::new(v).unwrap_or_else(|| fcc::TraceId::new(1).expect("1 is non-zero"))
    }

    pub fn new_span_id() -> fcc::SpanId {
        fcc::SpanId::new(random_nonzero_u64())
            .unwrap_or_else(|| fcc::SpanId::new(1).expect("1 is non-zero"))
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn ids(c: &mut Criterion) {
    let mut group = c.benchmark_group("new_id");
    let ms = Cell::new(now_ms());
    group.bench_function("splitmix_trace_id", |b| {
        b.iter_custom(|iters| {
            support::timed("splitmix_trace", iters, || {
                black_box(splitmix::new_trace_id());
            })
        })
    });
    group.bench_function("fcc_trace_id", |b| {
        b.iter_custom(|iters| {
            support::timed("fcc_trace", iters, || {
                black_box(fcc::__bench::new_trace_id());
            })
        })
    });
    group.bench_function("splitmix_span_id", |b| {
        b.iter_custom(|iters| {
            support::timed("splitmix_span", iters, || {
                black_box(splitmix::new_span_id());
            })
        })
    });
    group.bench_function("fcc_span_id", |b| {
        b.iter_custom(|iters| {
            support::timed("fcc_span", iters, || {
                black_box(fcc::__bench::new_span_id());
            })
        })
    });
    group.bench_function("splitmix_root_ids", |b| {
        b.iter_custom(|iters| {
            support::timed("splitmix_root", iters, || {
                black_box((splitmix::new_trace_id(), splitmix::new_span_id()));
            })
        })
    });
    group.bench_function("fcc_root_ids", |b| {
        b.iter_custom(|iters| {
            support::timed("fcc_root", iters, || {
                black_box(fcc::__bench::new_root_ids());
            })
        })
    });
    // The time moves on between samples (a new millisecond draws a new
    // counter start), but not inside one: the per-id cost of a busy thread.
    group.bench_function("splitmix_event_id", |b| {
        b.iter_custom(|iters| {
            ms.set(now_ms());
            support::timed("splitmix_event", iters, || {
                black_box(splitmix::new_v7_at(black_box(ms.get())));
            })
        })
    });
    group.bench_function("fcc_event_id", |b| {
        b.iter_custom(|iters| {
            ms.set(now_ms());
            support::timed("fcc_event", iters, || {
                black_box(fcc::__bench::new_event_id_at(black_box(ms.get())));
            })
        })
    });
    group.finish();
}

fn spans(c: &mut Criterion) {
    let tracer = FccTracer::builder("bench-ids")
        .completed_capacity(0)
        .build()
        .unwrap();
    let mut group = c.benchmark_group("span");
    group.bench_function("fcc_root_span", |b| {
        b.iter_custom(|iters| {
            support::timed("fcc_root_span", iters, || {
                drop(black_box(tracer.start_with_parent("root", None)));
            })
        })
    });
    let parent = tracer.span("parent");
    group.bench_function("fcc_child_span", |b| {
        b.iter_custom(|iters| {
            support::timed("fcc_child_span", iters, || {
                drop(black_box(tracer.start("child")));
            })
        })
    });
    drop(parent);
    group.finish();
}

fn report() {
    println!("\nNew ids: fcc against the splitmix64 generator it had before (issue 18, item 8)");
    println!(
        "{:<26} {:>14} {:>10} {:>10}",
        "id", "splitmix ns", "fcc ns", "fcc/old"
    );
    for (label, old, new) in [
        ("trace id", "splitmix_trace", "fcc_trace"),
        ("span id", "splitmix_span", "fcc_span"),
        ("root span's two ids", "splitmix_root", "fcc_root"),
        ("event id (UUID v7)", "splitmix_event", "fcc_event"),
    ] {
        match (support::mean_ns(old), support::mean_ns(new)) {
            (Some(a), Some(b)) => println!("{label:<26} {a:>14.2} {b:>10.2} {:>10.2}", b / a),
            _ => println!("{label:<26} (not run: filtered out)"),
        }
    }
    for (label, id) in [
        ("root span, start to end", "fcc_root_span"),
        ("child span, start to end", "fcc_child_span"),
    ] {
        if let Some(ns) = support::mean_ns(id) {
            println!("{label:<26} {:>14} {ns:>10.2}", "");
        }
    }
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    ids(&mut c);
    spans(&mut c);
    c.final_summary();
    report();
}
