//! Messages and exit codes agree: a store URL of no supported scheme is a
//! usage error (2), a store that cannot be opened is said once, and `replay`
//! exits 5 exactly when it says not every event was delivered.

use crate::support;
use support::{fcc, text};

use std::path::Path;

use fcc::{Event, EventSerializer, EventType};

/// `saved.json` with `n` events in `dir`.
fn saved(dir: &Path, n: u32) {
    let events: Vec<Event> = (0..n)
        .map(|i| {
            Event::builder(EventType::SimulationStep, "engine")
                .detail(format!("step {i}"))
                .build()
        })
        .collect();
    EventSerializer::save(&events, dir.join("saved.json")).unwrap();
}

#[test]
fn a_store_url_of_no_supported_scheme_is_a_usage_error_naming_the_schemes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    saved(d, 2);
    let bad = "mysql://app:s3cret@db/events";
    let target = format!("store:{bad}");
    let runs: [&[&str]; 8] = [
        &["events", "--store", bad],
        &["stats", "--store", bad],
        &["export", "--store", bad, "-o", "-"],
        &["tail", "--store", bad, "--max", "1"],
        &["replay", "--from-store", "--store", bad],
        &["replay", "saved.json", "--to", &target],
        &["demo", "--missions", "1", "--store", bad],
        &["demo", "--missions", "1", "--store", "sqlite://"],
    ];
    for args in runs {
        let out = fcc(args, d);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("invalid store URL"), "{args:?}: {err}");
        assert!(!err.contains("s3cret"), "{args:?}: {err}");
        assert_eq!(err.matches("store").count(), 1, "said once: {err}");
    }
    let err = text(&fcc(&["stats", "--store", bad], d).stderr);
    for scheme in ["sqlite://PATH", "sqlite::memory:", "postgres://"] {
        assert!(err.contains(scheme), "{scheme}: {err}");
    }
}

#[test]
fn a_store_that_cannot_be_opened_is_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "postgres://app:s3cret@{}/none",
        closed.local_addr().unwrap()
    );
    drop(closed);
    let target = format!("store:{url}");
    saved(d, 2);
    let runs: [&[&str]; 3] = [
        &["stats", "--store", &url],
        &["demo", "--missions", "1", "--store", &url],
        &["replay", "saved.json", "--to", &target],
    ];
    for args in runs {
        let out = fcc(args, d);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.matches("cannot open").count(), 1, "{args:?}: {err}");
        assert!(
            err.contains("cannot open store postgres://app:***@127.0.0.1:"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn replay_exits_5_exactly_when_it_says_not_every_event_was_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    saved(d, 20);
    // A port nothing listens on: no log record can be exported.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let out = fcc(
        &[
            "replay",
            "saved.json",
            "--to",
            "otlp",
            "--otlp-endpoint",
            &endpoint,
        ],
        d,
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert_eq!(err.lines().count(), 1, "one message: {err}");
    assert!(
        err.contains("20 events replayed to OTLP log records, but not all were delivered")
            && err.contains("20 log records not exported"),
        "{err}"
    );

    let out = fcc(&["replay", "saved.json", "--to", "json:out.ndjson"], d);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(
        err.trim(),
        "replayed 20 events to the NDJSON file out.ndjson"
    );
}
