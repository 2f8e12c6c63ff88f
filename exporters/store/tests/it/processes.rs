//! Real processes: two writing one SQLite file both land every event, and a
//! writer killed mid-run leaves whole batches only. The test binary runs
//! itself as the child writer (`FCC_STORE_CHILD`).

use std::process::{Command, Stdio};
use std::time::Duration;

use fcc::{Event, EventType};
use fcc_store::EventStore;

const BATCH: i64 = 250;

/// The child: writes `FCC_STORE_BATCHES` batches (or until killed).
fn child() {
    let url = std::env::var("FCC_STORE_CHILD").unwrap();
    let tag: i64 = std::env::var("FCC_STORE_TAG").unwrap().parse().unwrap();
    let batches: i64 = std::env::var("FCC_STORE_BATCHES").unwrap().parse().unwrap();
    let store = EventStore::open(&url).unwrap();
    for b in 0..batches {
        let batch: Vec<Event> = (0..BATCH)
            .map(|i| {
                Event::builder(EventType::SimulationStep, "child")
                    .correlation_id(format!("w{tag}"))
                    .attr("n", tag * 1_000_000 + b * BATCH + i)
                    .build()
            })
            .collect();
        // Busy and locked are waited out (busy timeout) inside insert.
        store.insert(&batch).unwrap();
    }
}

/// `test`'s name as libtest knows it in this binary (its module path
/// without the crate).
fn child_test_name(test: &str) -> String {
    let module = module_path!().split_once("::").map_or("", |(_, m)| m);
    format!("{module}::{test}")
}

fn spawn(test: &str, url: &str, tag: i64, batches: i64) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            &child_test_name(test),
            "--nocapture",
            "--test-threads=1",
        ])
        .env("FCC_STORE_CHILD", url)
        .env("FCC_STORE_TAG", tag.to_string())
        .env("FCC_STORE_BATCHES", batches.to_string())
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn two_processes_writing_one_file_both_land_every_event() {
    if std::env::var("FCC_STORE_CHILD").is_ok() {
        return child();
    }
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("shared.db").display());
    EventStore::open(&url).unwrap();
    let a = spawn(
        "two_processes_writing_one_file_both_land_every_event",
        &url,
        1,
        40,
    );
    let b = spawn(
        "two_processes_writing_one_file_both_land_every_event",
        &url,
        2,
        40,
    );
    for mut c in [a, b] {
        assert!(c.wait().unwrap().success());
    }
    let store = EventStore::open(&url).unwrap();
    assert_eq!(store.count().unwrap(), 2 * 40 * BATCH as u64);
    for w in ["w1", "w2"] {
        let n = store
            .stream(&fcc_store::EventQuery::new().correlation_id(w).limit(5000))
            .count();
        assert_eq!(n, 40 * BATCH as usize);
    }
}

#[test]
fn a_writer_killed_mid_run_leaves_only_whole_batches() {
    if std::env::var("FCC_STORE_CHILD").is_ok() {
        return child();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("killed.db");
    let url = format!("sqlite://{}", path.display());
    EventStore::open(&url).unwrap();
    let mut c = spawn(
        "a_writer_killed_mid_run_leaves_only_whole_batches",
        &url,
        7,
        1_000_000,
    );
    // Let it write for a while, then kill it without warning (SIGKILL).
    let store = EventStore::open(&url).unwrap();
    while store.count().unwrap() < 20 * BATCH as u64 {
        std::thread::sleep(Duration::from_millis(20));
    }
    c.kill().unwrap();
    c.wait().unwrap();
    let count = EventStore::open(&url).unwrap().count().unwrap();
    assert!(count >= 20 * BATCH as u64);
    assert_eq!(
        count % BATCH as u64,
        0,
        "{count} rows: a batch was half written"
    );
    let conn = rusqlite::Connection::open(&path).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}
