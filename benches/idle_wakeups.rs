//! Idle CPU: how often fcc's threads wake up when there is nothing to do.
//!
//! Installs fcc as the demo does (LogSink to a file, the JSON file sink, the
//! SQLite StoreSink, a JSON span exporter, OTLP to a collector that is not
//! there, metrics with the Prometheus endpoint), emits a little, waits for
//! it to settle, then counts the context switches of every thread but this
//! one over a few seconds of doing nothing (`/proc/self/task/*/status`).
//! Issue 20's goal: at most 10 wake-ups a second.
//!
//! `cargo bench --bench idle_wakeups` (a plain binary: the figure is a count,
//! not a duration).

use std::time::{Duration, Instant};

use fcc::{Event, EventType, LogTarget, Telemetry};
use fcc_store::StoreTelemetryExt;

/// Context switches (voluntary + involuntary) of every thread but the caller.
fn switches_of_other_threads() -> (u64, usize) {
    let me = std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
    let mut total = 0;
    let mut threads = 0;
    for task in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        if Some(task.file_name().to_string_lossy().into_owned()) == me {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(task.path().join("status")) else {
            continue;
        };
        threads += 1;
        for line in status.lines() {
            if let Some(n) = line
                .strip_prefix("voluntary_ctxt_switches:")
                .or_else(|| line.strip_prefix("nonvoluntary_ctxt_switches:"))
            {
                total += n.trim().parse::<u64>().unwrap_or(0);
            }
        }
    }
    (total, threads)
}

fn main() {
    if !std::path::Path::new("/proc/self/task").exists() {
        println!("idle_wakeups: needs /proc (Linux); skipped");
        return;
    }
    let seconds: u64 = std::env::var("IDLE_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir().unwrap();
    let telemetry = Telemetry::builder()
        .service_name("idle-bench")
        .fmt(None)
        .log(LogTarget::File(dir.path().join("log.ndjson")))
        .json_file(dir.path().join("events.ndjson"))
        .span_exporter(
            fcc::export::JsonFileSpanExporter::new(dir.path().join("spans.ndjson")).unwrap(),
        )
        .otlp(Some(
            fcc::otlp::OtlpConfig::new("http://127.0.0.1:9", fcc::otlp::OtlpProtocol::HttpProtobuf)
                .unwrap(),
        ))
        .prometheus("127.0.0.1:0")
        .store(&format!(
            "sqlite://{}",
            dir.path().join("events.db").display()
        ))
        .unwrap()
        .install()
        .unwrap();
    for i in 0..100 {
        let _span = telemetry.tracer().span("work");
        fcc::emit(Event::builder(EventType::SimulationStep, "bench").attr("step", i));
        let _ = telemetry.metrics().increment("idle_bench_total", &[]);
    }
    telemetry.flush(Duration::from_secs(5)).ok();
    // Let every worker finish what it had and reach its idle state.
    std::thread::sleep(Duration::from_secs(2));
    let (before, threads) = switches_of_other_threads();
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    let (after, _) = switches_of_other_threads();
    let per_second = (after - before) as f64 / started.elapsed().as_secs_f64();
    println!(
        "idle wake-ups: {per_second:.1}/s over {seconds} s across {threads} threads (goal <= 10/s)"
    );
    drop(telemetry);
}
