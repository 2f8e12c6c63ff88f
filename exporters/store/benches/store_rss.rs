//! Issue 20's memory row: the extra RSS of a process that offers 1M events
//! to a SQLite StoreSink whose database is blocked (another connection holds
//! the write lock, so the sink's insert waits and retries and its queue
//! fills). The queue's count limit is set to 1M, so only its byte budget
//! ([`SinkOptions::max_bytes`], default 8 MiB) bounds it; the `count` case
//! lifts the byte budget too (the queue as it was: bounded by count only).
//! Each case runs in a process of its own; RSS is read from
//! `/proc/self/status` (VmRSS after the events were offered, VmHWM the peak)
//! against VmRSS before. Then the lock is released and the run checks that
//! every event was written or counted dropped, and that the store holds the
//! written ones.
//!
//! Run: `cargo bench -p fcc-store --bench store_rss`.

mod peers;

use std::time::Duration;

use fcc::sinks::SinkOptions;
use fcc::{LogTarget, Telemetry};
use fcc_store::{EventStore, StoreSink};

const N: u64 = 1_000_000;

/// A `/proc/self/status` field in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn case(bounded_by_bytes: bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blocked.db");
    let url = format!("sqlite://{}", path.display());
    let sink = StoreSink::open(&url)
        .unwrap()
        .retry_for(Duration::from_secs(600));
    let store_stats = sink.stats();
    let mut options = SinkOptions::default().capacity(N as usize);
    if !bounded_by_bytes {
        options = options.max_bytes(usize::MAX);
    }
    let t = Telemetry::builder()
        .log(LogTarget::Off)
        .fmt(None)
        .sink(sink, options)
        .build()
        .unwrap();
    // Block the store: another connection takes the write lock.
    let blocker = peers::sqlite_conn(&path);
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let bus = t.bus().clone();
    // The worker is now waiting in its first insert.
    bus.publish(&peers::event(0));
    std::thread::sleep(Duration::from_millis(200));
    let before = status_kib("VmRSS");
    for i in 1..N {
        bus.publish(&peers::event(i));
    }
    let after = status_kib("VmRSS");
    let peak = status_kib("VmHWM");
    let queued = t.sink_stats()[0].queue_depth;
    blocker.execute_batch("ROLLBACK").unwrap();
    t.flush(Duration::from_secs(600)).unwrap();
    t.shutdown().unwrap();
    let s = &t.sink_stats()[0];
    assert_eq!(s.written + s.dropped + s.failed, N, "{s:?}");
    assert_eq!(s.failed, 0);
    let stored = EventStore::open(&url).unwrap().count().unwrap();
    assert_eq!(stored, s.written);
    assert_eq!(store_stats.get().inserted, s.written);
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "{:<38} extra RSS {:>7.1} MiB (peak {:>7.1} MiB over the start), queued {queued:>7} when the last was offered, written {:>7}, dropped {:>7}",
        if bounded_by_bytes {
            "queue bounded by bytes (8 MiB default)"
        } else {
            "queue bounded by count only (1M)"
        },
        mib(after.saturating_sub(before)),
        mib(peak.saturating_sub(before)),
        s.written,
        s.dropped
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--case") {
        case(args.get(i + 1).map(String::as_str) == Some("bytes"));
        return;
    }
    println!("1M events offered to a blocked SQLite StoreSink (drop-newest), one process each:");
    for which in ["bytes", "count"] {
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--case", which])
            .status()
            .unwrap();
        assert!(status.success());
    }
}
