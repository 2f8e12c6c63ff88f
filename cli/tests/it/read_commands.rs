//! The reading commands (`events`, `stats`, `export`, `tail`) as a user runs
//! them: limits, stores they must not create or change, and store URLs they
//! cannot use, with the documented exit codes.

use crate::support;
use support::{fcc, text};

use std::path::Path;
use std::process::Output;

use fcc::{Event, EventSerializer, EventType};
use fcc_store::EventStore;

fn ev(n: u32) -> Event {
    Event::builder(EventType::SimulationStep, "engine")
        .detail(format!("step {n}"))
        .build()
}

/// A store of `n` events in `dir`; returns its URL.
fn store_of(dir: &Path, n: u32) -> String {
    let url = format!("sqlite://{}", dir.join("events.db").display());
    let events: Vec<Event> = (0..n).map(ev).collect();
    EventStore::open(&url).unwrap().insert(&events).unwrap();
    url
}

#[test]
fn limit_zero_reads_none_and_any_u64_limit_works() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = store_of(d, 3);
    let out = fcc(&["events", "--store", &url, "--limit", "0", "--ndjson"], d);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "", "no events");
    let out = fcc(&["events", "--store", &url, "--limit", "0"], d);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 1, "header only");

    let max = u64::MAX.to_string();
    for limit in [max.as_str(), "9223372036854775808", "9223372036854775807"] {
        let out = fcc(
            &["events", "--store", &url, "--limit", limit, "--ndjson"],
            d,
        );
        assert!(out.status.success(), "{limit}: {}", text(&out.stderr));
        let got = EventSerializer::from_ndjson(&text(&out.stdout)).unwrap();
        assert_eq!(got.len(), 3, "{limit}");
    }
    let out = fcc(
        &["events", "--store", &url, "--limit", "18446744073709551616"],
        d,
    );
    assert_eq!(out.status.code(), Some(2), "past u64: a usage error");

    for (limit, n) in [("0", 0), (max.as_str(), 3)] {
        let out = fcc(&["export", "--store", &url, "--limit", limit, "-o", "-"], d);
        assert!(out.status.success(), "{limit}: {}", text(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["event_count"].as_u64(), Some(n), "{limit}");
    }
}

/// Each reading command on `url`.
fn each_read(url: &str) -> [Vec<String>; 4] {
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    [
        v(&["stats", "--store", url]),
        v(&["events", "--store", url]),
        v(&["export", "--store", url, "-o", "-"]),
        v(&["tail", "--store", url, "--max", "1", "--interval", "10ms"]),
    ]
}

fn run(args: &[String], dir: &Path) -> Output {
    fcc(&args.iter().map(String::as_str).collect::<Vec<_>>(), dir)
}

#[test]
fn a_missing_or_empty_store_is_not_found_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("empty.db"), "").unwrap();
    for (file, what) in [
        ("empty.db", "is empty, so agent_events was not found"),
        ("sub/missing.db", "was not found"),
    ] {
        let url = format!("sqlite://{file}");
        for args in each_read(&url) {
            let out = run(&args, d);
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
            assert!(
                err.contains(&format!("no store at {url}: the file {file} {what}")),
                "{args:?}: {err}"
            );
            assert_eq!(err.lines().count(), 1, "one message: {err}");
        }
    }
    assert!(!d.join("sub").exists(), "nothing created");
    assert_eq!(std::fs::metadata(d.join("empty.db")).unwrap().len(), 0);
    let mut left: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["empty.db"], "no journal or WAL files either");
}

#[test]
fn a_read_only_store_is_read_and_left_as_it_was() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = store_of(d, 4);
    let db = d.join("events.db");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
    let before = std::fs::read(&db).unwrap();
    let out = fcc(&["stats", "--store", &url, "--json"], d);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["total"].as_u64(), Some(4));
    for args in each_read(&url) {
        let out = run(&args, d);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    }
    assert!(std::fs::read(&db).unwrap() == before, "unchanged");
}

#[test]
fn a_store_of_the_older_schema_is_read_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = d.join("v1.db");
    // The version 1 schema (no trace_id or span_id), as an older fcc left it.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TABLE fcc_schema_version (version BIGINT NOT NULL);
             INSERT INTO fcc_schema_version VALUES (1);
             CREATE TABLE agent_events (event_id TEXT PRIMARY KEY, ts_micros BIGINT NOT NULL,
               timestamp TEXT NOT NULL, event_type TEXT NOT NULL, category TEXT NOT NULL,
               source TEXT NOT NULL, resource TEXT, action TEXT, outcome TEXT,
               severity TEXT NOT NULL, correlation_id TEXT, task TEXT, mission_id TEXT,
               objective_id TEXT, detail TEXT, payload TEXT NOT NULL DEFAULT '{}',
               event TEXT NOT NULL);
             INSERT INTO agent_events VALUES ('0192f0c4-0000-7000-8000-000000000001',
               1774605600000000, '2026-03-27T10:00:00.000000Z', 'workflow.started', 'workflow',
               'orchestrator', NULL, NULL, NULL, 'info', 'run-1', NULL, NULL, NULL, 'old',
               '{}', 'workflow_started');",
        )
        .unwrap();
    let before = std::fs::read(&db).unwrap();
    let out = fcc(&["events", "--store", "sqlite://v1.db", "--ndjson"], d);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let got = EventSerializer::from_ndjson(&text(&out.stdout)).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].detail(), got[0].trace_id()), (Some("old"), None));
    assert!(std::fs::read(&db).unwrap() == before, "not migrated");
}

/// Stored text with terminal control sequences (`ESC [2J` clears the
/// screen, `\r` rewrites the line) is shown escaped by `events` (table) and
/// `tail` (lines), and left to JSON's own escaping by `--json`.
#[test]
fn control_characters_in_stored_text_never_reach_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("events.db").display());
    let evil = Event::builder(EventType::SimulationStep, "engine\u{1b}[31m")
        .detail("fine\r\u{1b}[2Jgone\nnext")
        .mission_id("m\u{7}")
        .build();
    EventStore::open(&url).unwrap().insert(&[evil]).unwrap();
    for args in [
        vec!["events", "--store", url.as_str()],
        vec!["tail", "--store", url.as_str(), "-n", "1", "--max", "1"],
    ] {
        let out = fcc(&args, dir.path());
        let stdout = text(&out.stdout);
        assert!(
            out.status.success(),
            "{args:?}: {stdout}{}",
            text(&out.stderr)
        );
        assert!(
            !stdout.chars().any(|c| c.is_control() && c != '\n'),
            "{args:?} printed a control character: {stdout:?}"
        );
        assert!(
            stdout.contains("fine\\r\\u{1b}[2Jgone\\nnext"),
            "{args:?}: {stdout}"
        );
        assert!(stdout.contains("engine\\u{1b}[31m"), "{args:?}: {stdout}");
    }
    let json = text(&fcc(&["events", "--store", &url, "--json"], dir.path()).stdout);
    assert!(json.contains("\\u001b[2J"), "{json}");
}
