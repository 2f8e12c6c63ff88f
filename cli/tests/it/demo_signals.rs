//! `fcc demo` stopped by an orchestrator (SIGTERM) or Ctrl-C (SIGINT): it
//! stops starting missions, writes everything queued, prints its summary and
//! exits with the usual code; the summary's counts match what is stored.

#![cfg(unix)]

use crate::support;
use support::summary_total;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fcc_store::EventStore;

fn stop_demo_with(signal: i32, dir: &Path) -> (Option<i32>, String, String) {
    let url = format!("sqlite://{}", dir.join("events.db").display());
    let child = Command::new(env!("CARGO_BIN_EXE_fcc"))
        .args(["demo", "--duration", "10m", "--quiet", "--store", &url])
        .current_dir(dir)
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("FCC_STORE_URL")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Running: its events file has grown.
    let events = dir.join("fcc-demo/events.ndjson");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::metadata(&events).map_or(0, |m| m.len()) < 100_000 {
        assert!(Instant::now() < deadline, "the demo did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, signal) };
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        url,
    )
}

#[test]
fn sigterm_and_sigint_end_the_demo_with_its_summary_and_nothing_lost() {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let dir = tempfile::tempdir().unwrap();
        let (code, stdout, url) = stop_demo_with(signal, dir.path());
        assert_eq!(code, Some(0), "signal {signal}:\n{stdout}");
        assert!(stdout.contains("fcc demo: interrupted"), "{stdout}");
        assert!(stdout.contains("drops: 0 (none)"), "{stdout}");
        let total = summary_total(&stdout);
        assert!(total > 0);
        assert_eq!(EventStore::open(&url).unwrap().count().unwrap(), total);
        let ndjson = std::fs::read_to_string(dir.path().join("fcc-demo/events.ndjson")).unwrap();
        assert_eq!(ndjson.lines().count() as u64, total);
    }
}
