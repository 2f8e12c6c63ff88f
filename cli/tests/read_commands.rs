//! The reading commands (`events`, `stats`, `export`, `tail`) as a user runs
//! them: limits, stores they must not create or change, and store URLs they
//! cannot use, with the documented exit codes.

use std::path::Path;
use std::process::{Command, Output};

use fcc::{Event, EventSerializer, EventType};
use fcc_store::EventStore;

fn fcc(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fcc"))
        .args(args)
        .current_dir(dir)
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("FCC_STORE_URL")
        .env("NO_COLOR", "1")
        .output()
        .expect("run fcc")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

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
