//! Sustained events per second into SQLite and Postgres through StoreSink
//! (batches in one transaction each), against the naive sink: one INSERT per
//! event in its own transaction. Then the emitting thread's cost per event
//! with and without the store attached.
//!
//! Run: `cargo bench -p fcc-store --bench store` (Postgres at
//! `FCC_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`;
//! skipped with a note when it cannot be reached).

use std::time::{Duration, Instant};

use fcc::sinks::{DropPolicy, SinkOptions};
use fcc::{Event, EventType, LogTarget, Telemetry};
use fcc_store::{EventStore, StoreSink};

fn event(i: u64) -> Event {
    Event::builder(EventType::SimulationStep, "SimulationEngine")
        .correlation_id("run-42")
        .detail("simulation step")
        .attr("step", i)
        .attr("node_id", "N1")
        .build()
}

/// Events per second through StoreSink: publish `n`, shut down (everything written).
fn through_sink(url: &str, n: u64) -> f64 {
    let sink = StoreSink::open(url).expect("store");
    let t = Telemetry::builder()
        .log(LogTarget::Off)
        .fmt(None)
        .sink(
            sink,
            SinkOptions::default()
                .policy(DropPolicy::Block)
                .batch_size(4096),
        )
        .build()
        .unwrap();
    let events: Vec<Event> = (0..n).map(event).collect();
    let start = Instant::now();
    for e in &events {
        t.bus().publish(e);
    }
    t.shutdown().unwrap();
    let secs = start.elapsed().as_secs_f64();
    let s = &t.sink_stats()[0];
    assert_eq!(s.written, n, "every event written");
    n as f64 / secs
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

fn report(name: &str, fast: f64, slow: f64, goal: f64) {
    println!(
        "{name:<9} StoreSink {fast:>10.0} events/s   naive {slow:>8.0} events/s   ratio {:>6.1}x   goal {goal:.0}/s: {}",
        fast / slow,
        if fast >= goal { "met" } else { "NOT met" }
    );
}

fn pg_url(schema: &str) -> Option<String> {
    let base = std::env::var("FCC_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let mut c = postgres::Client::connect(&base, postgres::NoTls).ok()?;
    c.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};"
    ))
    .ok()?;
    Some(format!("{base}?options=-c%20search_path%3D{schema}"))
}

/// CPU time of this thread per publish, in ns (sinks' workers excluded).
fn publish_cpu_ns(t: &Telemetry, n: u64) -> f64 {
    let events: Vec<Event> = (0..n).map(event).collect();
    let before = cpu_ns();
    for e in &events {
        t.bus().publish(e);
    }
    (cpu_ns() - before) as f64 / n as f64
}

fn cpu_ns() -> u64 {
    let mut ts = libc_timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec.
    unsafe { clock_gettime(3, &mut ts) }; // CLOCK_THREAD_CPUTIME_ID
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[repr(C)]
struct libc_timespec {
    tv_sec: i64,
    tv_nsec: i64,
}

extern "C" {
    fn clock_gettime(clock: i32, ts: *mut libc_timespec) -> i32;
}

/// Events per second through StoreSink into SQLite, and the largest the
/// WAL file got meanwhile (sampled every 5 ms by another thread).
fn sqlite_with_wal(path: &std::path::Path, n: u64) -> (f64, u64) {
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
    let rate = through_sink(&format!("sqlite://{}", path.display()), n);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    (rate, watcher.join().unwrap())
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    // A long run: the WAL must stay bounded (it reached 512 MiB before).
    let (rate, wal) = sqlite_with_wal(&dir.path().join("wal.db"), 2_000_000);
    println!(
        "\nSQLite, 2M events through StoreSink: {rate:.0} events/s, largest WAL {:.1} MiB",
        wal as f64 / (1024.0 * 1024.0)
    );
    println!("\nSustained writes (best of 3)");
    let sqlite = |i: usize| {
        format!(
            "sqlite://{}",
            dir.path().join(format!("bench-{i}.db")).display()
        )
    };
    let fast = (0..3)
        .map(|i| through_sink(&sqlite(i), 300_000))
        .fold(0.0, f64::max);
    let slow = naive(&sqlite(9), 3_000);
    report("SQLite", fast, slow, 200_000.0);
    match pg_url("fcc_bench") {
        Some(url) => {
            let fast = (0..3)
                .map(|i| {
                    let url = pg_url(&format!("fcc_bench_{i}")).unwrap_or_else(|| url.clone());
                    through_sink(&url, 200_000)
                })
                .fold(0.0, f64::max);
            let slow = naive(&url, 2_000);
            report("Postgres", fast, slow, 50_000.0);
        }
        None => println!("Postgres  skipped: no server at FCC_TEST_POSTGRES_URL"),
    }

    // The emitting thread: publish with no sink, then with the store attached.
    let plain = Telemetry::builder()
        .log(LogTarget::Off)
        .fmt(None)
        .build()
        .unwrap();
    let with_store = Telemetry::builder()
        .log(LogTarget::Off)
        .fmt(None)
        .sink(
            StoreSink::open(&sqlite(20)).unwrap(),
            SinkOptions::default(),
        )
        .build()
        .unwrap();
    let (mut a, mut b) = (f64::MAX, f64::MAX);
    for _ in 0..5 {
        a = a.min(publish_cpu_ns(&plain, 20_000));
        b = b.min(publish_cpu_ns(&with_store, 20_000));
        with_store.flush(Duration::from_secs(60)).unwrap();
    }
    println!(
        "Emitting thread CPU per publish (event already built): no sink {a:.0} ns, store attached {b:.0} ns (the enqueue)"
    );
}
