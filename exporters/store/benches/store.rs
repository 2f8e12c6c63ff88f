//! The store rows of issue 20, fcc and its peer side by side in one process
//! (each round runs fcc, then the peer, on fresh files or schemas; medians
//! of the rounds):
//!
//! - `e2e`: one structured event through `fcc::emit` to LogSink (file),
//!   JsonFileSink and the SQLite StoreSink, until stored (flush: every
//!   batch committed), ns per event; against the hand-batched SQLite insert
//!   loop alone (the durable floor), same rows, same batch size (512, the
//!   sink default). Also the StoreSink alone through `fcc::emit`.
//! - `sqlite`: 1M events through the SQLite StoreSink (block policy,
//!   batches of 4,096) until stored; against the hand-batched loop
//!   (`peers::sqlite_hand_batched`), batches of 4,096.
//! - `pg`: 1M events through the Postgres StoreSink; against one binary
//!   `COPY` per batch of 4,096 (`peers::postgres_copy`).
//! - `wal`: 2M events through StoreSink, the largest the WAL got.
//! - `naive`: StoreSink against one INSERT per event in its own transaction.
//! - `emit`: the emitting thread's CPU per `fcc::emit` with Log, JSON-file
//!   and SQLite store sinks attached, against tracing-subscriber's fmt JSON
//!   layer (all its work on the emitting thread).
//!
//! Run: `cargo bench -p fcc-store --bench store [-- SECTION...]` (no section:
//! `e2e sqlite pg`; `all`: every one). `FCC_BENCH_ROUNDS` (default 3) and
//! `FCC_BENCH_EVENTS` (default 1,000,000) change the sizes. Postgres at
//! `FCC_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`;
//! skipped with a note when it cannot be reached.

mod peers;

use std::time::{Duration, Instant};

use fcc::sinks::{DropPolicy, SinkOptions};
use fcc::{Event, LogTarget, Telemetry};
use fcc_store::{EventStore, StoreSink, StoreTelemetryExt};
use peers::{event, pg_url};

/// Publishes `events` through a StoreSink (block policy, batches of
/// `batch`); the wall time until every one is written (flush: committed).
/// The shutdown after it (SQLite checkpoints and removes its WAL when the
/// last connection closes) is not timed, as the peers' closing is not.
fn through_sink(url: &str, events: &[Event], batch: usize) -> Duration {
    let sink = StoreSink::open(url).expect("store");
    let t = Telemetry::builder()
        .log(LogTarget::Off)
        .fmt(None)
        .sink(
            sink,
            SinkOptions::default()
                .policy(DropPolicy::Block)
                .batch_size(batch),
        )
        .build()
        .unwrap();
    let start = Instant::now();
    for e in events {
        t.bus().publish(e);
    }
    t.flush(Duration::from_secs(600)).unwrap();
    let took = start.elapsed();
    t.shutdown().unwrap();
    let s = &t.sink_stats()[0];
    assert_eq!(s.written, events.len() as u64, "every event written");
    took
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn rounds() -> usize {
    std::env::var("FCC_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

fn n_events() -> u64 {
    std::env::var("FCC_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn row(label: &str, unit: &str, fcc: &[f64], peer: &[f64], goal: &str) {
    let (f, p) = (median(fcc.to_vec()), median(peer.to_vec()));
    let ratio = f / p;
    println!(
        "{label:<44} fcc {f:>10.0} {unit}  peer {p:>10.0} {unit}  fcc/peer {ratio:>5.2}  (goal {goal})"
    );
    println!("    rounds: fcc {fcc:.0?}  peer {peer:.0?}");
}

fn sqlite_url(path: &std::path::Path) -> String {
    format!("sqlite://{}", path.display())
}

/// A file with fcc's schema (and page size), for the peer.
fn fresh_sqlite(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    drop(EventStore::open(&sqlite_url(&path)).unwrap());
    path
}

/// Runs round `r` of fcc and its peer, fcc first in even rounds and the
/// peer first in odd ones (neither always gets the fresher machine).
fn side_by_side(
    r: usize,
    fcc: &mut Vec<f64>,
    peer: &mut Vec<f64>,
    run_fcc: impl FnOnce() -> f64,
    run_peer: impl FnOnce() -> f64,
) {
    if r.is_multiple_of(2) {
        fcc.push(run_fcc());
        peer.push(run_peer());
    } else {
        peer.push(run_peer());
        fcc.push(run_fcc());
    }
}

fn sqlite_rows(dir: &std::path::Path) {
    let n = n_events();
    let events: Vec<Event> = (0..n).map(peers::prepared).collect();
    let (mut fcc, mut peer) = (Vec::new(), Vec::new());
    for r in 0..rounds() {
        let url = sqlite_url(&dir.join(format!("sink-{r}.db")));
        let path = fresh_sqlite(dir, &format!("peer-{r}.db"));
        side_by_side(
            r,
            &mut fcc,
            &mut peer,
            || n as f64 / through_sink(&url, &events, 4096).as_secs_f64(),
            || n as f64 / peers::sqlite_hand_batched(&path, &events, 4096).as_secs_f64(),
        );
        assert_eq!(
            EventStore::open(&sqlite_url(&path))
                .unwrap()
                .count()
                .unwrap(),
            n
        );
    }
    row(
        &format!("SQLite StoreSink, {n} events vs hand-batched"),
        "ev/s",
        &fcc,
        &peer,
        ">= 1.3",
    );
}

fn pg_rows() {
    let n = n_events();
    if pg_url("fcc_bench_probe").is_none() {
        println!("Postgres skipped: no server at FCC_TEST_POSTGRES_URL");
        return;
    }
    let events: Vec<Event> = (0..n).map(peers::prepared).collect();
    let (mut fcc, mut peer) = (Vec::new(), Vec::new());
    for r in 0..rounds() {
        let peer_url = format!("fcc_bench_copy_{r}");
        let run_fcc = || {
            let url = pg_url(&format!("fcc_bench_sink_{r}")).unwrap();
            if std::env::var_os("FCC_BENCH_DIRECT").is_some() {
                // The store alone, no sink runtime: for profiling.
                let store = EventStore::open(&url).unwrap();
                let start = Instant::now();
                for chunk in events.chunks(4096) {
                    store.insert(chunk).unwrap();
                }
                n as f64 / start.elapsed().as_secs_f64()
            } else {
                n as f64 / through_sink(&url, &events, 4096).as_secs_f64()
            }
        };
        let run_peer = || {
            let url = pg_url(&peer_url).unwrap();
            drop(EventStore::open(&url).unwrap());
            let rate = n as f64 / peers::postgres_copy(&url, &events, 4096).as_secs_f64();
            assert_eq!(EventStore::open(&url).unwrap().count().unwrap(), n);
            rate
        };
        side_by_side(r, &mut fcc, &mut peer, run_fcc, run_peer);
    }
    row(
        &format!("Postgres StoreSink, {n} events vs binary COPY"),
        "ev/s",
        &fcc,
        &peer,
        ">= 1.25",
    );
}

/// ns per event from the first `fcc::emit` until LogSink, JsonFileSink and
/// the SQLite StoreSink have each written every event (flush); with
/// `store_only`, the StoreSink alone.
fn e2e_fcc(dir: &std::path::Path, n: u64, store_only: bool) -> f64 {
    let mut b = Telemetry::builder();
    if store_only {
        b = b.log(LogTarget::Off);
    } else {
        b = b
            .log(LogTarget::File(dir.join("events.log")))
            .json_file(dir.join("events.ndjson"))
            .json_file_max_bytes(u64::MAX);
    }
    let t = b
        .sink_options(SinkOptions::default().policy(DropPolicy::Block))
        .fmt(None)
        .store(&sqlite_url(&dir.join("events.db")))
        .unwrap()
        .build()
        .unwrap();
    let dispatch = t.dispatch().clone();
    let start = Instant::now();
    tracing::dispatcher::with_default(&dispatch, || {
        for i in 0..n {
            fcc::emit(event(i));
        }
    });
    t.flush(Duration::from_secs(600)).unwrap();
    let ns = start.elapsed().as_nanos() as f64 / n as f64;
    t.shutdown().unwrap();
    for s in t.sink_stats() {
        assert_eq!((s.written, s.dropped), (n, 0), "{}", s.name);
    }
    ns
}

fn e2e_rows(dir: &std::path::Path) {
    const N: u64 = 200_000;
    let events: Vec<Event> = (0..N).map(peers::prepared).collect();
    let (mut fcc, mut peer, mut alone) = (Vec::new(), Vec::new(), Vec::new());
    for r in 0..rounds() {
        let sub = dir.join(format!("e2e-{r}"));
        std::fs::create_dir_all(&sub).unwrap();
        let path = fresh_sqlite(&sub, "peer.db");
        // 512: the sinks' default batch size, which the e2e run uses.
        side_by_side(
            r,
            &mut fcc,
            &mut peer,
            || e2e_fcc(&sub, N, false),
            || peers::sqlite_hand_batched(&path, &events, 512).as_nanos() as f64 / N as f64,
        );
        let sub = dir.join(format!("e2e-alone-{r}"));
        std::fs::create_dir_all(&sub).unwrap();
        alone.push(e2e_fcc(&sub, N, true));
    }
    row(
        "emit -> SQLite store alone, until stored",
        "ns/ev",
        &alone,
        &peer,
        "(where the rest goes)",
    );
    row(
        "emit -> Log + JSON + SQLite store, until stored",
        "ns/ev",
        &fcc,
        &peer,
        "<= 1.1 of hand-batched inserts alone",
    );
}

/// Events per second through StoreSink into SQLite, and the largest the
/// WAL file got meanwhile (sampled every 5 ms by another thread).
fn wal_row(dir: &std::path::Path) {
    let path = dir.join("wal.db");
    let wal = path.with_extension("db-wal");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s = stop.clone();
    let watcher = std::thread::spawn(move || {
        let mut max = 0;
        while !s.load(std::sync::atomic::Ordering::Relaxed) {
            max = max.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
            std::thread::sleep(Duration::from_millis(5));
        }
        max
    });
    let events: Vec<Event> = (0..2_000_000).map(event).collect();
    let took = through_sink(&sqlite_url(&path), &events, 4096);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    println!(
        "SQLite, 2M events through StoreSink: {:.0} events/s, largest WAL {:.1} MiB",
        2e6 / took.as_secs_f64(),
        watcher.join().unwrap() as f64 / (1024.0 * 1024.0)
    );
}

/// Events per second, one INSERT per event in its own transaction.
fn naive(url: &str, n: u64) -> f64 {
    let store = EventStore::open(url).unwrap();
    let events: Vec<Event> = (0..n).map(|i| event(i + 10_000_000)).collect();
    let start = Instant::now();
    for e in &events {
        store.insert(std::slice::from_ref(e)).unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn naive_rows(dir: &std::path::Path) {
    let events: Vec<Event> = (0..300_000).map(event).collect();
    let fast =
        300_000.0 / through_sink(&sqlite_url(&dir.join("n-sink.db")), &events, 4096).as_secs_f64();
    let slow = naive(&sqlite_url(&dir.join("naive.db")), 3_000);
    println!(
        "SQLite   StoreSink {fast:>8.0} ev/s  naive {slow:>6.0} ev/s  ratio {:.1}x",
        fast / slow
    );
    if let Some(url) = pg_url("fcc_bench_naive") {
        let fast = 200_000.0 / through_sink(&url, &events[..200_000], 4096).as_secs_f64();
        let slow = naive(&pg_url("fcc_bench_naive2").unwrap(), 2_000);
        println!(
            "Postgres StoreSink {fast:>8.0} ev/s  naive {slow:>6.0} ev/s  ratio {:.1}x",
            fast / slow
        );
    }
}

/// Issue 20's row "the emitting thread's cost with all three sinks": CPU
/// time of the emitting thread per `fcc::emit` with LogSink (file),
/// JsonFileSink and the SQLite StoreSink attached (their workers are other
/// threads, not counted), against tracing-subscriber's fmt JSON layer
/// writing the same fields to a buffered file (all its work is on the
/// emitting thread). Best of 5 rounds of 20,000 each; the sinks drop
/// (counted) rather than block when their workers fall behind, so the
/// emitting thread never waits on them.
fn emit_row(dir: &std::path::Path) {
    const BATCH: u64 = 20_000;
    let t = Telemetry::builder()
        .log(LogTarget::File(dir.join("emit.log")))
        .json_file(dir.join("emit.ndjson"))
        .json_file_max_bytes(u64::MAX)
        .fmt(None)
        .store(&sqlite_url(&dir.join("emit.db")))
        .unwrap()
        .build()
        .unwrap();
    let file = std::io::BufWriter::new(std::fs::File::create(dir.join("fmt.json")).unwrap());
    let fmt = tracing::Dispatch::new(
        tracing_subscriber::fmt()
            .json()
            .with_writer(std::sync::Mutex::new(file))
            .finish(),
    );
    let (mut fcc, mut peer) = (f64::MAX, f64::MAX);
    for round in 0..6u64 {
        let ns = tracing::dispatcher::with_default(t.dispatch(), || {
            cpu_ns_per(BATCH, |i| fcc::emit(event(round * BATCH + i)))
        });
        t.flush(Duration::from_secs(120)).unwrap();
        let peer_ns = tracing::dispatcher::with_default(&fmt, || {
            cpu_ns_per(BATCH, |i| {
                tracing::info!(
                    event_type = "simulation.step",
                    source = "SimulationEngine",
                    correlation_id = "run-42",
                    step = round * BATCH + i,
                    node_id = "N1",
                    "simulation step"
                )
            })
        });
        if round > 0 {
            fcc = fcc.min(ns);
            peer = peer.min(peer_ns);
        }
    }
    let dropped: u64 = t.sink_stats().iter().map(|s| s.dropped).sum();
    println!(
        "{:<48} {fcc:>10.0} ns  fmt JSON {peer:>10.0} ns  ratio {:>5.2}  goal <= 0.5 (sinks dropped {dropped}, counted)",
        "emitting-thread CPU, Log + JSON + SQLite store",
        fcc / peer
    );
}

/// CPU time of this thread per call of `f(i)`, `i` in `0..n`, in ns.
fn cpu_ns_per(n: u64, mut f: impl FnMut(u64)) -> f64 {
    let before = cpu_ns();
    for i in 0..n {
        f(std::hint::black_box(i));
    }
    (cpu_ns() - before) as f64 / n as f64
}

fn cpu_ns() -> u64 {
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec.
    unsafe { clock_gettime(3, &mut ts) }; // CLOCK_THREAD_CPUTIME_ID
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}

extern "C" {
    fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let all = args.iter().any(|a| a == "all");
    let want = |s: &str| {
        all || args.iter().any(|a| a == s)
            || (args.is_empty() && ["e2e", "sqlite", "pg"].contains(&s))
    };
    println!("Issue 20 store rows (medians of {} rounds)", rounds());
    if want("e2e") {
        e2e_rows(dir.path());
    }
    if want("sqlite") {
        sqlite_rows(dir.path());
    }
    if want("pg") {
        pg_rows();
    }
    if want("wal") {
        wal_row(dir.path());
    }
    if want("naive") {
        naive_rows(dir.path());
    }
    if want("emit") {
        emit_row(dir.path());
    }
}
