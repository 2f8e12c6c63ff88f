//! `fcc tail --file` follows an NDJSON file like `tail -F`: a long backlog,
//! then a rotation (the file renamed away, a new one created) and a
//! truncation while it runs, and every event is printed exactly once.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use fcc::{Event, EventSerializer, EventType};

/// Long enough for a slow machine; only a hung tail gets near it.
const DEADLINE: Duration = Duration::from_secs(120);

fn ev(n: u32) -> Event {
    Event::builder(EventType::SimulationStep, "engine")
        .detail(format!("step {n}"))
        .build()
}

fn ndjson(range: std::ops::Range<u32>) -> String {
    EventSerializer::to_ndjson(&range.map(ev).collect::<Vec<_>>())
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// `fcc tail --file events.ndjson --ndjson` in `dir`, stopping after `max`;
/// its stdout lines arrive on the receiver as they are printed.
fn spawn_tail(dir: &Path, max: u32) -> (Child, Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fcc"))
        .args([
            "tail",
            "--file",
            "events.ndjson",
            "--ndjson",
            "-n",
            "1000000",
        ])
        .args(["--interval", "20ms", "--max", &max.to_string()])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Collects lines until there are `n` in all, the output ends, or the deadline.
fn collect(rx: &Receiver<String>, got: &mut Vec<String>, n: usize, start: Instant) {
    while got.len() < n {
        let left = DEADLINE.saturating_sub(start.elapsed());
        match rx.recv_timeout(left) {
            Ok(line) => got.push(line),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Each printed event's step number, and how many times it was printed.
fn steps(lines: &[String]) -> BTreeMap<u32, usize> {
    let mut seen = BTreeMap::new();
    for l in lines {
        let e = EventSerializer::from_json(l).unwrap();
        let n = e.detail().unwrap().strip_prefix("step ").unwrap();
        *seen.entry(n.parse().unwrap()).or_default() += 1;
    }
    seen
}

/// Waits for the child to exit (it stops at `--max`); kills it at the deadline.
fn finish(mut child: Child, start: Instant) -> (bool, String) {
    while start.elapsed() < DEADLINE {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            return (status.success(), err);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    (false, "killed at the deadline".into())
}

fn assert_each_once(seen: &BTreeMap<u32, usize>, total: u32, err: &str) {
    let missing: Vec<u32> = (0..total).filter(|n| !seen.contains_key(n)).collect();
    let twice: Vec<(&u32, &usize)> = seen.iter().filter(|(_, c)| **c > 1).collect();
    assert!(
        missing.is_empty() && twice.is_empty() && seen.len() == total as usize,
        "{} missing (first {:?}), {} repeated (first {:?}); stderr: {err}",
        missing.len(),
        missing.first(),
        twice.len(),
        twice.first()
    );
}

#[test]
fn tail_file_follows_a_rotation_and_prints_every_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = d.join("events.ndjson");
    let backlog = 3000;
    std::fs::write(&file, ndjson(0..backlog)).unwrap();
    let total = 7100;
    let start = Instant::now();
    let (child, rx) = spawn_tail(d, total);
    let mut got = Vec::new();
    collect(&rx, &mut got, backlog as usize, start);
    assert_eq!(got.len(), backlog as usize, "the backlog, before rotating");

    // Written to the old file just before it is rotated: still printed.
    append(&file, &ndjson(backlog..3050));
    std::fs::rename(&file, d.join("events.ndjson.1")).unwrap();
    // The new file is longer than the old: its size alone does not tell.
    append(&file, &ndjson(3050..7050));
    append(&file, &ndjson(7050..total));

    collect(&rx, &mut got, total as usize, start);
    let (ok, err) = finish(child, start);
    assert_each_once(&steps(&got), total, &err);
    assert!(ok, "{err}");
}

#[test]
fn tail_file_reads_a_truncated_file_again_from_the_top() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = d.join("events.ndjson");
    std::fs::write(&file, ndjson(0..20)).unwrap();
    let start = Instant::now();
    let (child, rx) = spawn_tail(d, 25);
    let mut got = Vec::new();
    collect(&rx, &mut got, 20, start);
    assert_eq!(got.len(), 20, "the backlog, before truncating");
    // Truncated in place (copytruncate), then shorter than before.
    std::fs::write(&file, ndjson(20..25)).unwrap();
    collect(&rx, &mut got, 25, start);
    let (ok, err) = finish(child, start);
    assert_each_once(&steps(&got), 25, &err);
    assert!(ok, "{err}");
}
