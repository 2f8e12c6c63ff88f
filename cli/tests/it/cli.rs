//! The `fcc` binary as a user runs it: its output, files and exit codes.

use crate::support;
use support::{fcc, text};

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use fcc::{Event, EventSerializer, EventType};
use fcc_store::EventStore;

/// Runs a small demo into `dir`; returns the store URL.
fn demo(dir: &Path) -> (String, Output) {
    let url = format!("sqlite://{}", dir.join("events.db").display());
    let out = fcc(&["demo", "--missions", "4", "--store", &url], dir);
    (url, out)
}

#[test]
fn the_demo_stores_logs_and_traces_every_event_and_loses_none() {
    let dir = tempfile::tempdir().unwrap();
    let (url, out) = demo(dir.path());
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("fcc demo: 4 missions"), "{stdout}");
    assert!(stdout.contains("drops: 0 (none)"), "{stdout}");
    assert!(stdout.contains("OTLP       not exported"), "{stdout}");
    let total: u64 = stdout
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_suffix(" events/s sustained with every sink on")
                .map(str::to_owned)
        })
        .and_then(|l| {
            l.split(" events,")
                .next()
                .map(|n| n.trim().parse().unwrap())
        })
        .expect("the events line");
    let store = EventStore::open(&url).unwrap();
    assert_eq!(store.count().unwrap(), total);
    let ndjson = EventSerializer::load(dir.path().join("fcc-demo/events.ndjson")).unwrap();
    assert_eq!(ndjson.len() as u64, total);
    let log = std::fs::read_to_string(dir.path().join("fcc-demo/log.ndjson")).unwrap();
    assert_eq!(log.lines().count() as u64, total);
    // Every stored event carries the trace of the span it was emitted in.
    let spans = std::fs::read_to_string(dir.path().join("fcc-demo/spans.ndjson")).unwrap();
    let rows = store
        .query(&fcc_store::EventQuery::new().limit(100_000))
        .unwrap();
    assert!(rows
        .iter()
        .all(|e| e.trace_id().is_some() && e.span_id().is_some()));
    let trace = rows[0].trace_id().unwrap().to_string();
    assert!(spans.contains(&trace), "the span file has trace {trace}");
    for name in [
        "mission.run",
        "simulation.run",
        "simulation.step",
        "\"action.",
        "mcp.tool.call",
        "gate.evaluate",
    ] {
        assert!(spans.contains(name), "{name}");
    }
}

#[test]
fn events_queries_the_store_with_filters_and_formats() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _) = demo(dir.path());
    let d = dir.path();
    let out = fcc(&["events", "--store", &url, "--limit", "5"], d);
    assert!(out.status.success());
    let table = text(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 6, "{table}");
    assert!(lines[0].starts_with("TIME") && lines[0].contains("SEVERITY  TYPE"));
    let col = lines[0].find("TYPE").unwrap();
    assert!(
        lines[1..]
            .iter()
            .all(|l| l.len() > col && !l[col..].starts_with(' ')),
        "aligned: {table}"
    );

    let out = fcc(
        &[
            "events",
            "--store",
            &url,
            "--type",
            "action.failed",
            "--type",
            "action.completed",
            "--json",
            "--limit",
            "1000",
        ],
        d,
    );
    let events = EventSerializer::from_json_batch(&text(&out.stdout)).unwrap();
    assert!(!events.is_empty());
    assert!(events.iter().all(|e| matches!(
        e.event_type(),
        EventType::ActionFailed | EventType::ActionCompleted
    )));

    let out = fcc(
        &[
            "events",
            "--store",
            &url,
            "--severity",
            "error",
            "--mission",
            "M-0002",
            "--ndjson",
            "--limit",
            "1000",
        ],
        d,
    );
    let events = EventSerializer::from_ndjson(&text(&out.stdout)).unwrap();
    assert!(events
        .iter()
        .all(|e| e.severity() == fcc::Severity::Error && e.mission_id() == Some("M-0002")));

    let out = fcc(
        &["events", "--store", &url, "--since", "2999-01-01T00:00:00Z"],
        d,
    );
    assert!(out.status.success());
    assert_eq!(text(&out.stdout).lines().count(), 1, "header only");
    assert!(text(&out.stderr).contains("no events match"));
}

#[test]
fn errors_say_what_to_fix_and_exit_with_the_documented_codes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = fcc(&["events", "--store", "sqlite://missing.db"], d);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("no store at sqlite://missing.db"),
        "{}",
        text(&out.stderr)
    );
    let out = fcc(&["events", "--since", "yesterday"], d);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--since"),
        "{}",
        text(&out.stderr)
    );
    let out = fcc(
        &[
            "events",
            "--store",
            "postgres://app:s3cret@127.0.0.1:1/none",
        ],
        d,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        !err.contains("s3cret") && err.contains("127.0.0.1:1"),
        "{err}"
    );
    let out = fcc(&["replay", "nope.json"], d);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    std::fs::write(d.join("notes.txt"), "hello\n").unwrap();
    let out = fcc(&["replay", "notes.txt"], d);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("notes.txt is not an fcc events file"));
    let out = fcc(&["replay", "notes.txt", "--to", "otlp"], d);
    assert_eq!(out.status.code(), Some(2));
    let out = fcc(&["demo", "--rate", "0"], d);
    assert_eq!(out.status.code(), Some(2));
    for cmd in ["demo", "events", "tail", "replay", "export", "stats"] {
        let out = fcc(&[cmd, "--help"], d);
        assert!(out.status.success(), "{cmd} --help");
        assert!(text(&out.stdout).contains("Usage: fcc"), "{cmd}");
    }
    assert!(text(&fcc(&["--help"], d).stdout).contains("5  the demo finished but lost events"));
}

#[test]
fn export_then_replay_round_trips_through_files_and_stores() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _) = demo(dir.path());
    let d = dir.path();
    let total = EventStore::open(&url).unwrap().count().unwrap();
    let out = fcc(&["export", "--store", &url, "-o", "out/all.json"], d);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json = std::fs::read_to_string(d.join("out/all.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["event_count"].as_u64(), Some(total));
    let events = EventSerializer::load(d.join("out/all.json")).unwrap();
    assert!(
        events
            .windows(2)
            .all(|w| w[0].timestamp() <= w[1].timestamp()),
        "oldest first"
    );

    let out = fcc(
        &[
            "export",
            "--store",
            &url,
            "--category",
            "governance",
            "-o",
            "gov.ndjson",
        ],
        d,
    );
    assert!(out.status.success());
    let gov = EventSerializer::load(d.join("gov.ndjson")).unwrap();
    assert!(!gov.is_empty() && gov.iter().all(|e| e.category() == "governance"));
    assert!(std::fs::read_to_string(d.join("gov.ndjson"))
        .unwrap()
        .starts_with("{\"event_id\""));

    let copy = format!("sqlite://{}", d.join("copy.db").display());
    let store_target = format!("store:{copy}");
    let out = fcc(
        &[
            "replay",
            "out/all.json",
            "--to",
            "json:replayed.ndjson",
            "--to",
            &store_target,
        ],
        d,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!("replayed {total} events")),
        "{total}: {}",
        text(&out.stderr)
    );
    assert_eq!(
        EventSerializer::load(d.join("replayed.ndjson"))
            .unwrap()
            .len() as u64,
        total
    );
    assert_eq!(EventStore::open(&copy).unwrap().count().unwrap(), total);
    // Replaying the same events into the same store adds nothing: ids are kept.
    let out = fcc(
        &[
            "replay",
            "--from-store",
            "--store",
            &url,
            "--to",
            &store_target,
        ],
        d,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(EventStore::open(&copy).unwrap().count().unwrap(), total);
}

#[test]
fn stats_counts_by_type_source_and_severity() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _) = demo(dir.path());
    let out = fcc(&["stats", "--store", &url, "--json"], dir.path());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let total = EventStore::open(&url).unwrap().count().unwrap();
    assert_eq!(v["total"].as_u64(), Some(total));
    for by in ["by_type", "by_source", "by_severity"] {
        let sum: u64 = v[by]
            .as_object()
            .unwrap()
            .values()
            .map(|n| n.as_u64().unwrap())
            .sum();
        assert_eq!(sum, total, "{by}");
    }
    assert!(v["by_source"]["McpClient"].as_u64().unwrap() > 0);
    let out = fcc(&["stats", "--store", &url, "--since", "1h"], dir.path());
    let t = text(&out.stdout);
    assert!(
        t.starts_with(&format!("{total} events")) && t.contains("COUNT  SEVERITY"),
        "{t}"
    );
}

fn spawn_tail(args: &[&str], dir: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_fcc"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn ev(n: u32) -> Event {
    Event::builder(EventType::SimulationStep, "engine")
        .detail(format!("step {n}"))
        .build()
}

#[test]
fn tail_follows_an_ndjson_file_and_skips_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let file: PathBuf = dir.path().join("events.ndjson");
    EventSerializer::save_ndjson(&[ev(1), ev(2), ev(3)], &file).unwrap();
    let child = spawn_tail(
        &[
            "tail",
            "--file",
            "events.ndjson",
            "-n",
            "2",
            "--max",
            "4",
            "--interval",
            "20ms",
        ],
        dir.path(),
    );
    std::thread::sleep(std::time::Duration::from_millis(200));
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap();
    use std::io::Write;
    writeln!(f, "not json").unwrap();
    f.write_all(EventSerializer::to_ndjson(&[ev(4), ev(5)]).as_bytes())
        .unwrap();
    drop(f);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let details: Vec<String> = text(&out.stdout)
        .lines()
        .map(|l| l.rsplit("engine ").next().unwrap().to_owned())
        .collect();
    assert_eq!(details, ["step 2", "step 3", "step 4", "step 5"]);
    assert!(
        text(&out.stderr).contains("events.ndjson:4: skipped, not an event"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn tail_follows_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = EventStore::open(&url).unwrap();
    store.insert(&[ev(1), ev(2)]).unwrap();
    let child = spawn_tail(
        &[
            "tail",
            "--store",
            &url,
            "-n",
            "1",
            "--max",
            "3",
            "--ndjson",
            "--interval",
            "20ms",
        ],
        dir.path(),
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    store.insert(&[ev(3)]).unwrap();
    store.insert(&[ev(4)]).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let got = EventSerializer::from_ndjson(&text(&out.stdout)).unwrap();
    let details: Vec<&str> = got.iter().map(|e| e.detail().unwrap()).collect();
    assert_eq!(details, ["step 2", "step 3", "step 4"]);
}
