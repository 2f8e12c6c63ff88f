//! Shared by the benches: time a routine inside criterion's `iter_custom`,
//! remember the mean per benchmark id, and print fcc-to-peer ratios at the end.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub mod discard;

static MEANS: Mutex<BTreeMap<String, (Duration, u64)>> = Mutex::new(BTreeMap::new());

/// Whether `timed` measures this thread's CPU time instead of wall time
/// (`FCC_BENCH_CLOCK=thread`): on a loaded machine, time the thread spent
/// descheduled is then not counted (for A/B runs of one-thread routines).
fn thread_clock() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("FCC_BENCH_CLOCK").is_ok_and(|v| v == "thread"))
}

/// Runs `routine` `iters` times, records the time under `id`, returns it.
pub fn timed(id: &str, iters: u64, mut routine: impl FnMut()) -> Duration {
    let (start, cpu) = (Instant::now(), thread_clock().then(thread_cpu_ns));
    for _ in 0..iters {
        routine();
    }
    let elapsed = match cpu {
        Some(c) => Duration::from_nanos(thread_cpu_ns() - c),
        None => start.elapsed(),
    };
    let mut means = MEANS.lock().unwrap();
    let slot = means.entry(id.to_owned()).or_default();
    slot.0 += elapsed;
    slot.1 += iters;
    elapsed
}

/// Records `elapsed` for `iters` iterations under `id` (for a routine timed
/// by its caller, such as one run on two threads at once).
pub fn record(id: &str, iters: u64, elapsed: Duration) -> Duration {
    let mut means = MEANS.lock().unwrap();
    let slot = means.entry(id.to_owned()).or_default();
    slot.0 += elapsed;
    slot.1 += iters;
    elapsed
}

/// A second thread that runs its routine as many times as asked, alongside
/// the caller's: for benches of two threads updating the same thing.
pub struct Helper {
    go: std::sync::mpsc::Sender<u64>,
    done: std::sync::mpsc::Receiver<()>,
}

impl Helper {
    /// Starts the thread; it waits for [`Helper::run`].
    pub fn new(mut routine: impl FnMut() + Send + 'static) -> Helper {
        let (go, go_rx) = std::sync::mpsc::channel::<u64>();
        let (done_tx, done) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            while let Ok(n) = go_rx.recv() {
                for _ in 0..n {
                    routine();
                }
                if done_tx.send(()).is_err() {
                    return;
                }
            }
        });
        Helper { go, done }
    }

    /// Runs `routine` `iters` times here while the helper runs its own
    /// `iters` times; records under `id` the time until both are done, per
    /// iteration (one thread's cost per operation with two at work).
    pub fn run(&self, id: &str, iters: u64, mut routine: impl FnMut()) -> Duration {
        let start = Instant::now();
        self.go.send(iters).unwrap();
        for _ in 0..iters {
            routine();
        }
        self.done.recv().unwrap();
        record(id, iters, start.elapsed())
    }
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
