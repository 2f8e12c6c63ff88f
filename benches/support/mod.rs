//! Shared by the benches: time a routine inside criterion's `iter_custom`,
//! remember the mean per benchmark id, and print fcc-to-peer ratios at the end.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub mod discard;

static MEANS: Mutex<BTreeMap<String, (Duration, u64)>> = Mutex::new(BTreeMap::new());

/// Runs `routine` `iters` times, records the time under `id`, returns it.
pub fn timed(id: &str, iters: u64, mut routine: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        routine();
    }
    let elapsed = start.elapsed();
    let mut means = MEANS.lock().unwrap();
    let slot = means.entry(id.to_owned()).or_default();
    slot.0 += elapsed;
    slot.1 += iters;
    elapsed
}

/// Mean nanoseconds per iteration recorded under `id`.
pub fn mean_ns(id: &str) -> Option<f64> {
    let means = MEANS.lock().unwrap();
    means
        .get(id)
        .filter(|(_, n)| *n > 0)
        .map(|(d, n)| d.as_nanos() as f64 / *n as f64)
}

/// Prints one row per (label, fcc id, peer id): both means and fcc/peer.
pub fn print_ratios(title: &str, rows: &[(&str, &str, &str)]) {
    println!("\n{title}");
    println!(
        "{:<44} {:>12} {:>12} {:>10}",
        "comparison", "fcc ns", "peer ns", "fcc/peer"
    );
    for (label, fcc, peer) in rows {
        match (mean_ns(fcc), mean_ns(peer)) {
            (Some(a), Some(b)) if b >= 0.1 => {
                println!("{label:<44} {a:>12.2} {b:>12.2} {:>10.2}", a / b)
            }
            (Some(a), Some(b)) => println!("{label:<44} {a:>12.2} {b:>12.2} {:>10}", "n/a"),
            _ => println!("{label:<44} (not run: filtered out)"),
        }
    }
    if std::env::var_os("FCC_BENCH_ITERS").is_some() {
        // For `perf stat -e instructions`: total instructions / iterations.
        for (id, (_, n)) in MEANS.lock().unwrap().iter() {
            println!("  iterations {id}: {n}");
        }
    }
}

/// CPU time this thread has used, in nanoseconds (not wall time: the sinks'
/// worker threads competing for the same cores do not count).
pub fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Runs `routine` `iters` times and returns the emitting thread's CPU ns per iteration.
pub fn cpu_ns_per_iter(iters: u64, mut routine: impl FnMut()) -> f64 {
    let start = thread_cpu_ns();
    for _ in 0..iters {
        routine();
    }
    (thread_cpu_ns() - start) as f64 / iters as f64
}
