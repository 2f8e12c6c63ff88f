//! One structured event end to end on the emitting thread, with LogSink and
//! JsonFileSink attached, against tracing-subscriber's fmt JSON layer writing
//! the same fields to a file. Then the throughput check: 1 million events from
//! 2 threads, with the block policy (every one written) and with drop-newest
//! (written + dropped = emitted, exactly).
//!
//! Run: `cargo bench --bench emit`.

mod support;

use criterion::{black_box, Criterion};
use fcc::sinks::{DropPolicy, SinkOptions};
use fcc::{Event, EventType, LogTarget, Telemetry};
use std::fs::File;
use std::io::BufWriter;
use std::sync::Mutex;
use std::time::{Duration, Instant};

fn fcc_event(n: u64) -> Event {
    Event::builder(EventType::SimulationStep, "SimulationEngine")
        .correlation_id("run-42")
        .detail("simulation step")
        .attr("step", n)
        .attr("node_id", "N1")
        .build()
}

/// The peer's event: the same fields as `fcc_event`, through tracing's fmt JSON layer.
fn peer_event(n: u64) {
    tracing::info!(
        event_type = "simulation.step",
        source = "SimulationEngine",
        correlation_id = "run-42",
        step = n,
        node_id = "N1",
        "simulation step"
    );
}

fn fmt_json_dispatch(path: &std::path::Path) -> tracing::Dispatch {
    let file = BufWriter::new(File::create(path).unwrap());
    tracing::Dispatch::new(
        tracing_subscriber::fmt()
            .json()
            .with_writer(Mutex::new(file))
            .finish(),
    )
}

fn telemetry(dir: &std::path::Path, policy: DropPolicy) -> Telemetry {
    Telemetry::builder()
        .log(LogTarget::File(dir.join("events.log")))
        .json_file(dir.join("events.ndjson"))
        .json_file_max_bytes(u64::MAX)
        .sink_options(SinkOptions::default().policy(policy))
        .fmt(None)
        .build()
        .expect("telemetry")
}

fn bench_emit(c: &mut Criterion, dir: &std::path::Path) {
    let mut group = c.benchmark_group("emit_one_event");
    let t = telemetry(dir, DropPolicy::DropNewest);
    let mut n = 0u64;
    group.bench_function("fcc_emit_log_and_json_sinks", |b| {
        tracing::dispatcher::with_default(t.dispatch(), || {
            b.iter_custom(|iters| {
                let d = support::timed("fcc", iters, || {
                    n += 1;
                    fcc::emit(fcc_event(black_box(n)));
                });
                // Let the workers catch up between samples so queues do not overflow.
                let _ = t.flush(Duration::from_secs(30));
                d
            })
        })
    });
    let stats = t.sink_stats();
    drop(t);

    let dispatch = fmt_json_dispatch(&dir.join("fmt.json"));
    let mut m = 0u64;
    group.bench_function("tracing_fmt_json_layer", |b| {
        tracing::dispatcher::with_default(&dispatch, || {
            b.iter_custom(|iters| {
                support::timed("fmt_json", iters, || {
                    m += 1;
                    peer_event(black_box(m));
                })
            })
        })
    });
    group.finish();
    support::print_ratios(
        "One event on the emitting thread (fcc: LogSink + JsonFileSink attached)",
        &[("fcc emit vs tracing fmt JSON layer", "fcc", "fmt_json")],
    );
    for s in stats {
        println!(
            "  fcc sink {:<9} written {:>9} dropped {:>6} failed {}",
            s.name, s.written, s.dropped, s.failed
        );
    }
}

/// CPU time of the emitting thread alone, per event, in batches of 20,000
/// with the sinks drained between batches (best of 5 batches).
fn emitting_thread_cpu(dir: &std::path::Path) {
    const BATCH: u64 = 20_000;
    let t = telemetry(dir, DropPolicy::DropNewest);
    let mut fcc_best = f64::MAX;
    tracing::dispatcher::with_default(t.dispatch(), || {
        for round in 0..6 {
            let ns = support::cpu_ns_per_iter(BATCH, || fcc::emit(fcc_event(black_box(round))));
            if round > 0 {
                fcc_best = fcc_best.min(ns);
            }
            t.flush(Duration::from_secs(30)).unwrap();
        }
    });
    let dispatch = fmt_json_dispatch(&dir.join("fmt-cpu.json"));
    let mut peer_best = f64::MAX;
    tracing::dispatcher::with_default(&dispatch, || {
        for round in 0..6u64 {
            let ns = support::cpu_ns_per_iter(BATCH, || {
                peer_event(black_box(round));
            });
            if round > 0 {
                peer_best = peer_best.min(ns);
            }
        }
    });
    println!("\nEmitting-thread CPU per event (best of 5 x {BATCH}; worker threads excluded)");
    println!("  fcc emit (LogSink + JsonFileSink attached) {fcc_best:>8.0} ns");
    println!("  tracing fmt JSON layer                     {peer_best:>8.0} ns");
    println!(
        "  fcc/peer                                   {:>8.2}",
        fcc_best / peer_best
    );
    let dropped: u64 = t.sink_stats().iter().map(|s| s.dropped).sum();
    println!("  dropped by fcc sinks: {dropped}");
}

fn throughput(dir: &std::path::Path, policy: DropPolicy) {
    const PER_THREAD: u64 = 500_000;
    let sub = dir.join(format!("{policy:?}"));
    std::fs::create_dir_all(&sub).unwrap();
    let t = telemetry(&sub, policy);
    let start = Instant::now();
    std::thread::scope(|s| {
        for k in 0..2 {
            let dispatch = t.dispatch().clone();
            s.spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    for n in 0..PER_THREAD {
                        fcc::emit(fcc_event(k * PER_THREAD + n));
                    }
                })
            });
        }
    });
    let emitted_in = start.elapsed();
    t.shutdown().expect("shutdown");
    let total = start.elapsed();
    let emitted = 2 * PER_THREAD;
    println!(
        "\n1M events from 2 threads, {policy:?}: emitted in {:.2} s ({:.0}/s), all written in {:.2} s ({:.0}/s)",
        emitted_in.as_secs_f64(),
        emitted as f64 / emitted_in.as_secs_f64(),
        total.as_secs_f64(),
        emitted as f64 / total.as_secs_f64()
    );
    for s in t.sink_stats() {
        println!(
            "  {:<9} written {:>8} dropped {:>8} failed {}",
            s.name, s.written, s.dropped, s.failed
        );
        assert_eq!(s.failed, 0);
        match policy {
            DropPolicy::Block => assert_eq!(s.written, emitted, "block policy loses nothing"),
            _ => assert_eq!(
                s.written + s.dropped,
                emitted,
                "every event written or counted as dropped"
            ),
        }
    }
}

/// Wall time per event from the first emit until every event is written
/// and flushed, `threads` emitting threads, fcc (LogSink + JsonFileSink,
/// block policy) against the fmt JSON layer (its BufWriter flushed at the
/// end). Best of 3 runs of `total` events each.
fn end_to_end(dir: &std::path::Path, threads: u64, total: u64) -> (f64, f64) {
    let per_thread = total / threads;
    let run = |emit: &(dyn Fn(u64) + Sync), finish: &dyn Fn()| {
        let start = Instant::now();
        std::thread::scope(|s| {
            for k in 0..threads {
                s.spawn(move || {
                    for n in 0..per_thread {
                        emit(k * per_thread + n);
                    }
                });
            }
        });
        finish();
        start.elapsed().as_nanos() as f64 / (per_thread * threads) as f64
    };
    let mut fcc_best = f64::MAX;
    let mut peer_best = f64::MAX;
    for round in 0..3 {
        let sub = dir.join(format!("e2e-{threads}-{round}"));
        std::fs::create_dir_all(&sub).unwrap();
        let t = telemetry(&sub, DropPolicy::Block);
        let dispatch = t.dispatch().clone();
        fcc_best = fcc_best.min(run(
            &|n| tracing::dispatcher::with_default(&dispatch, || fcc::emit(fcc_event(n))),
            &|| t.flush(Duration::from_secs(60)).unwrap(),
        ));
        for s in t.sink_stats() {
            assert_eq!((s.written, s.dropped), (per_thread * threads, 0));
        }
        drop(t);
        if std::env::var_os("E2E_FCC_ONLY").is_some() {
            continue; // for profiling fcc alone
        }
        let file = Mutex::new(BufWriter::new(File::create(sub.join("fmt.json")).unwrap()));
        let file: &'static Mutex<BufWriter<File>> = Box::leak(Box::new(file));
        let dispatch = tracing::Dispatch::new(
            tracing_subscriber::fmt()
                .json()
                .with_writer(move || LockedFile(file))
                .finish(),
        );
        peer_best = peer_best.min(run(
            &|n| tracing::dispatcher::with_default(&dispatch, || peer_event(n)),
            &|| {
                use std::io::Write;
                file.lock().unwrap().flush().unwrap()
            },
        ));
    }
    (fcc_best, peer_best)
}

/// The fmt layer's writer for a file shared by threads: one line per write.
struct LockedFile(&'static Mutex<BufWriter<File>>);

impl std::io::Write for LockedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.lock().unwrap().flush()
    }
}

fn end_to_end_table(dir: &std::path::Path) {
    const TOTAL: u64 = 200_000;
    let (one_fcc, one_peer) = end_to_end(dir, 1, TOTAL);
    let (two_fcc, two_peer) = end_to_end(dir, 2, TOTAL);
    println!("\nEnd to end until written and flushed, ns/event (best of 3 x {TOTAL})");
    println!(
        "{:<44} {:>10} {:>10} {:>9}",
        "comparison", "fcc", "fmt JSON", "fcc/peer"
    );
    for (label, f, p) in [
        ("1 thread: Log + JSON file vs fmt JSON", one_fcc, one_peer),
        ("2 threads: Log + JSON file vs fmt JSON", two_fcc, two_peer),
    ] {
        println!("{label:<44} {f:>10.0} {p:>10.0} {:>9.2}", f / p);
    }
    println!(
        "  fcc 2 threads / 1 thread: {:.2} (goal: <= 1)",
        two_fcc / one_fcc
    );
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    if std::env::args().any(|a| a == "--e2e-only") {
        end_to_end_table(dir.path());
        return;
    }
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    bench_emit(&mut c, dir.path());
    c.final_summary();
    emitting_thread_cpu(dir.path());
    end_to_end_table(dir.path());
    throughput(dir.path(), DropPolicy::Block);
    throughput(dir.path(), DropPolicy::DropNewest);
}
