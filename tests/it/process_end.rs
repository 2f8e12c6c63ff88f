//! How a process ends, and what telemetry keeps: `SIGTERM` and `SIGINT`
//! with `shutdown_on_signals`, a second signal, a panic on another thread
//! followed by `std::process::exit` with `flush_on_panic`, and
//! `Telemetry::exit`. Each case runs in a child process (this test binary,
//! re-run on one ignored test) whose events sit in a sink that writes its
//! file only when flushed: only a flush gets them there.

#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use fcc::sinks::SinkOptions;
use fcc::{Event, LogTarget, TelemetryBuilder};

const EVENTS: usize = 500;

/// The child: set up as `FCC_END` says, emit, say "ready", then end that way.
#[test]
#[ignore = "run in a child process by the tests below"]
fn child() {
    let mode = std::env::var("FCC_END").unwrap();
    let file = std::env::var("FCC_END_FILE").unwrap();
    let mut b = TelemetryBuilder::default().log(LogTarget::Off).fmt(None);
    if mode == "signal_slow" {
        // Flushed first, and slow: the first signal's flush hangs here.
        b = b.sink(Slow, SinkOptions::default());
    }
    let t = b
        .sink(HoldUntilFlush::new(file), SinkOptions::default())
        .shutdown_on_signals(mode.starts_with("signal"))
        .shutdown_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    for i in 0..EVENTS {
        t.bus()
            .publish(&Event::info("end", "event", format!("event {i}")).build());
    }
    match mode.as_str() {
        "panic_then_exit" => {
            t.flush_on_panic();
            let _ = std::thread::spawn(|| panic!("worker failed")).join();
            std::process::exit(3);
        }
        "exit" => t.exit(4),
        "plain_exit" => std::process::exit(4),
        _ => {
            println!("ready");
            std::thread::sleep(Duration::from_secs(120));
        }
    }
}

/// A sink that takes a minute to flush.
struct Slow;

impl fcc::sinks::Sink for Slow {
    fn name(&self) -> &str {
        "slow"
    }
    fn write(&mut self, _: &[Event]) -> Result<(), fcc::sinks::SinkError> {
        Ok(())
    }
    fn flush(&mut self) -> Result<(), fcc::sinks::SinkError> {
        std::thread::sleep(Duration::from_secs(60));
        Ok(())
    }
}

/// A sink that keeps what it gets in memory and writes it to its file only
/// when flushed (as a batching exporter does): only a flush gets the
/// events to the file, so the file says whether one happened.
struct HoldUntilFlush {
    path: String,
    held: Vec<String>,
}

impl HoldUntilFlush {
    fn new(path: String) -> Self {
        HoldUntilFlush {
            path,
            held: Vec::new(),
        }
    }
}

impl fcc::sinks::Sink for HoldUntilFlush {
    fn name(&self) -> &str {
        "held"
    }
    fn write(&mut self, batch: &[Event]) -> Result<(), fcc::sinks::SinkError> {
        self.held
            .extend(batch.iter().map(|e| e.detail().unwrap_or("").to_owned()));
        Ok(())
    }
    fn flush(&mut self) -> Result<(), fcc::sinks::SinkError> {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| fcc::sinks::SinkError::io("open", e))?;
        for line in self.held.drain(..) {
            writeln!(f, "{line}").map_err(|e| fcc::sinks::SinkError::io("write", e))?;
        }
        Ok(())
    }
}

/// Runs the child in `mode`, sending `signals` once it is ready; its exit
/// code and the lines in its file.
fn run(mode: &str, signals: &[i32]) -> (Option<i32>, usize) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.ndjson");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            &crate::support::test_path(module_path!(), "child"),
            "--nocapture",
            "--test-threads=1",
        ])
        .env("FCC_END", mode)
        .env("FCC_END_FILE", &file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    if !signals.is_empty() {
        let out = BufReader::new(child.stdout.take().unwrap());
        for line in out.lines() {
            if line.unwrap().contains("ready") {
                break;
            }
        }
        for (n, &s) in signals.iter().enumerate() {
            if n > 0 {
                // The next signal once the child says it is flushing (two
                // signals sent at once are one to the kernel).
                for line in stderr.by_ref() {
                    if line.unwrap().contains("writing what telemetry holds") {
                        break;
                    }
                }
            }
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(child.id() as i32, s) };
        }
    }
    // Drain what is left of its stderr (it must not block on a full pipe).
    stderr.for_each(drop);
    let status = child.wait().unwrap();
    let lines = std::fs::read_to_string(&file)
        .map(|t| t.lines().count())
        .unwrap_or(0);
    (status.code(), lines)
}

#[test]
fn sigterm_writes_every_queued_event_then_exits_143() {
    assert_eq!(run("signal", &[libc::SIGTERM]), (Some(143), EVENTS));
}

#[test]
fn sigint_writes_every_queued_event_then_exits_130() {
    assert_eq!(run("signal", &[libc::SIGINT]), (Some(130), EVENTS));
}

#[test]
fn a_second_signal_exits_at_once_while_the_first_one_flushes() {
    // The slow sink holds the flush for a minute; the second SIGTERM ends
    // the process before the file's sink is reached.
    assert_eq!(
        run("signal_slow", &[libc::SIGTERM, libc::SIGTERM]),
        (Some(143), 0)
    );
}

#[test]
fn without_the_opt_in_a_signal_ends_the_process_as_before() {
    // The library does not take a process's signals unasked.
    assert_eq!(run("no_handler", &[libc::SIGTERM]), (None, 0));
}

#[test]
fn a_panic_on_another_thread_then_process_exit_keeps_the_events_with_the_hook() {
    assert_eq!(run("panic_then_exit", &[]), (Some(3), EVENTS));
}

#[test]
fn telemetry_exit_writes_before_exiting_and_a_plain_exit_does_not() {
    assert_eq!(run("exit", &[]), (Some(4), EVENTS));
    assert_eq!(run("plain_exit", &[]), (Some(4), 0));
}
