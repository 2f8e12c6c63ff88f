//! The SQLite store: round trip, queries, streaming, idempotence, migrations,
//! retention, replay, Telemetry, concurrent writers and bad input.

use std::time::Duration;

use fcc::{
    Event, EventBus, EventReplay, EventType, LogTarget, Outcome, Severity, Telemetry, Timestamp,
};
use fcc_store::{
    legacy_event_name, EventQuery, EventStore, Retention, StoreError, StoreSink, StoreTelemetryExt,
};

fn url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("events.db").display())
}

fn sample(i: i64) -> Event {
    Event::builder(
        if i % 3 == 0 {
            EventType::ActionFailed
        } else {
            EventType::ActionCompleted
        },
        if i % 2 == 0 { "ActionEngine" } else { "Gate" },
    )
    .timestamp(Timestamp::from_unix_micros(
        1_774_605_600_000_000 + i * 1_000_000,
    ))
    .correlation_id(format!("run-{}", i % 4))
    .task(format!("task-{}", i % 5))
    .mission_id("m-1")
    .objective_id(format!("o-{}", i % 2))
    .resource("persona:SQC")
    .action("deploy")
    .outcome(Outcome::Failure)
    .severity(if i % 3 == 0 {
        Severity::Error
    } else {
        Severity::Info
    })
    .detail(format!("event {i}"))
    .attr("i", i)
    .attr("nested", serde_json::json!({"a": [1, 2.5, "x"]}))
    .trace_context(
        Some(format!("{:032x}", 0xabc0 + i).parse().unwrap()),
        Some(format!("{:016x}", 0x10 + i).parse().unwrap()),
    )
    .build()
}

#[test]
fn events_round_trip_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(&url(&dir)).unwrap();
    let events: Vec<Event> = (0..20).map(sample).collect();
    assert_eq!(store.insert(&events).unwrap(), 20);
    let mut back = store.query(&EventQuery::new()).unwrap();
    back.reverse(); // newest first
    assert_eq!(back, events);
    assert_eq!(store.schema_version().unwrap(), fcc_store::SCHEMA_VERSION);
}

#[test]
fn queries_by_every_key_newest_first() {
    let store = EventStore::open("sqlite::memory:").unwrap();
    let events: Vec<Event> = (0..60).map(sample).collect();
    store.insert(&events).unwrap();
    let n = |q: EventQuery| store.query(&q).unwrap().len();
    assert_eq!(n(EventQuery::new().correlation_id("run-1")), 15);
    assert_eq!(n(EventQuery::new().task("task-2")), 12);
    assert_eq!(n(EventQuery::new().mission_id("m-1")), 60);
    assert_eq!(n(EventQuery::new().objective_id("o-0")), 30);
    assert_eq!(n(EventQuery::new().source("Gate")), 30);
    assert_eq!(n(EventQuery::new().severity(Severity::Error)), 20);
    assert_eq!(n(EventQuery::new().event_types(["action.failed"])), 20);
    assert_eq!(n(EventQuery::new().categories(["action"])), 60);
    assert_eq!(
        n(EventQuery::new().trace_id(events[7].trace_id().unwrap())),
        1
    );
    let t0 = events[10].timestamp();
    let t1 = events[20].timestamp();
    let range = store.query(&EventQuery::new().since(t0).until(t1)).unwrap();
    assert_eq!(range.len(), 10);
    assert_eq!(range[0], events[19], "newest first");
    let limited = store
        .query(&EventQuery::new().correlation_id("run-0").limit(3))
        .unwrap();
    assert_eq!(
        limited
            .iter()
            .map(|e| e.detail().unwrap())
            .collect::<Vec<_>>(),
        ["event 56", "event 52", "event 48"]
    );
    assert!(n(EventQuery::new().correlation_id("nope")) == 0);
}

#[test]
fn stream_pages_through_large_results() {
    let store = EventStore::open("sqlite::memory:").unwrap();
    let events: Vec<Event> = (0..2_500).map(sample).collect();
    store.insert(&events).unwrap();
    let streamed: Vec<Event> = store
        .stream(&EventQuery::new().limit(1000))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(streamed.len(), 2_500);
    assert_eq!(streamed.first(), events.last());
    assert_eq!(streamed.last(), events.first());
}

#[test]
fn inserting_twice_keeps_one_row() {
    let store = EventStore::open("sqlite::memory:").unwrap();
    let events: Vec<Event> = (0..10).map(sample).collect();
    assert_eq!(store.insert(&events).unwrap(), 10);
    assert_eq!(store.insert(&events).unwrap(), 0);
    assert_eq!(store.count().unwrap(), 10);
}

#[test]
fn an_older_schema_is_upgraded_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        // The version 1 schema, as an older fcc left it, with one row.
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE fcc_schema_version (version BIGINT NOT NULL);
             INSERT INTO fcc_schema_version VALUES (1);
             CREATE TABLE agent_events (event_id TEXT PRIMARY KEY, ts_micros BIGINT NOT NULL,
               timestamp TEXT NOT NULL, event_type TEXT NOT NULL, category TEXT NOT NULL,
               source TEXT NOT NULL, resource TEXT, action TEXT, outcome TEXT, severity TEXT NOT NULL,
               correlation_id TEXT, task TEXT, mission_id TEXT, objective_id TEXT, detail TEXT,
               payload TEXT NOT NULL DEFAULT '{}', event TEXT NOT NULL);
             INSERT INTO agent_events VALUES ('0192f0c4-0000-7000-8000-000000000001', 1774605600000000,
               '2026-03-27T10:00:00.000000Z', 'workflow.started', 'workflow', 'orchestrator', NULL, NULL,
               NULL, 'info', 'run-1', NULL, NULL, NULL, NULL, '{}', 'workflow_started');",
        )
        .unwrap();
    }
    let store = EventStore::open(&format!("sqlite://{}", path.display())).unwrap();
    assert_eq!(store.schema_version().unwrap(), 2);
    let old = store
        .query(&EventQuery::new().correlation_id("run-1"))
        .unwrap();
    assert_eq!(old.len(), 1);
    assert_eq!(old[0].trace_id(), None);
    store.insert(&[sample(1)]).unwrap();
    assert_eq!(
        store
            .query(&EventQuery::new().trace_id(sample(1).trace_id().unwrap()))
            .unwrap()
            .len(),
        1
    );
    // Opening again changes nothing.
    drop(store);
    let again = EventStore::open(&format!("sqlite://{}", path.display())).unwrap();
    assert_eq!(
        (again.schema_version().unwrap(), again.count().unwrap()),
        (2, 2)
    );
}

#[test]
fn retention_by_age_and_by_count() {
    let store = EventStore::open("sqlite::memory:").unwrap();
    let now = Timestamp::now().unix_micros();
    let events: Vec<Event> = (0..10)
        .map(|i| {
            sample(i)
                .to_builder()
                .timestamp(Timestamp::from_unix_micros(now - i * 3_600_000_000))
                .build()
        })
        .collect();
    store.insert(&events).unwrap();
    assert_eq!(
        store
            .delete_older_than(Duration::from_secs(5 * 3600 + 60))
            .unwrap(),
        4
    );
    assert_eq!(store.keep_newest(3).unwrap(), 3);
    let left: Vec<Event> = store.query(&EventQuery::new()).unwrap();
    assert_eq!(left, events[..3].to_vec());
}

#[test]
fn counts_past_what_sql_can_take_mean_no_limit() {
    let store = EventStore::open("sqlite::memory:").unwrap();
    store
        .insert(&(0..5).map(sample).collect::<Vec<_>>())
        .unwrap();
    assert!(store.query(&EventQuery::new().limit(0)).unwrap().is_empty());
    let all = EventQuery::new().limit(usize::MAX);
    assert_eq!(store.query(&all).unwrap().len(), 5);
    assert_eq!(store.stream(&all).filter(Result::is_ok).count(), 5);
    assert_eq!(store.keep_newest(usize::MAX).unwrap(), 0);
    assert_eq!(store.count().unwrap(), 5);
}

#[test]
fn the_sink_applies_retention_on_its_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let sink = StoreSink::open(&url(&dir))
        .unwrap()
        .retention(Retention::KeepNewest(5), Duration::ZERO);
    let stats = sink.stats();
    let t = Telemetry::builder()
        .log(LogTarget::Off)
        .fmt(None)
        .sink(sink, Default::default())
        .build()
        .unwrap();
    let bus = t.bus().clone();
    for i in 0..12 {
        bus.publish(&sample(i));
    }
    t.shutdown().unwrap();
    let store = EventStore::open(&url(&dir)).unwrap();
    assert_eq!(store.count().unwrap(), 5);
    assert_eq!(stats.get().inserted, 12);
    assert!(stats.get().retention_deleted >= 7);
}

#[test]
fn telemetry_store_keeps_every_event_on_a_clean_shutdown_and_replays() {
    let dir = tempfile::tempdir().unwrap();
    let t = Telemetry::builder()
        .log(LogTarget::Off)
        .fmt(None)
        .store(&url(&dir))
        .unwrap()
        .build()
        .unwrap();
    tracing::dispatcher::with_default(t.dispatch(), || {
        for i in 0..1_000 {
            fcc::emit(sample(i));
        }
    });
    t.shutdown().unwrap();
    let store = EventStore::open(&url(&dir)).unwrap();
    assert_eq!(store.count().unwrap(), 1_000);
    let row = &store.query(&EventQuery::new().limit(1)).unwrap()[0];
    assert_eq!(row.detail(), Some("event 999"));

    // Replay from the store, like from a file.
    let bus = EventBus::new();
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let s = seen.clone();
    bus.subscribe(move |_: &Event| {
        s.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    });
    let mut events = store
        .query(&EventQuery::new().correlation_id("run-2").limit(10_000))
        .unwrap();
    events.reverse();
    EventReplay::new(&bus).replay(&events);
    assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), 250);
}

#[test]
fn two_writers_on_one_file_both_land_every_event() {
    let dir = tempfile::tempdir().unwrap();
    let u = url(&dir);
    EventStore::open(&u).unwrap();
    std::thread::scope(|s| {
        for w in 0..2i64 {
            let u = u.clone();
            s.spawn(move || {
                // Separate connections, as two processes would have.
                let store = EventStore::open(&u).unwrap();
                for chunk in 0..20i64 {
                    let batch: Vec<Event> = (0..50)
                        .map(|i| sample(w * 1_000_000 + chunk * 50 + i))
                        .collect();
                    store.insert(&batch).unwrap();
                }
            });
        }
    });
    assert_eq!(EventStore::open(&u).unwrap().count().unwrap(), 2_000);
}

#[test]
fn the_legacy_flat_event_column() {
    assert_eq!(
        legacy_event_name("protocol.mcp.tool.failed"),
        "protocol_mcp_tool_failed"
    );
    assert_eq!(
        legacy_event_name("mcpclient.connect-attempt"),
        "mcpclient_connect_attempt"
    );
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(&url(&dir)).unwrap();
    store.insert(&[sample(3)]).unwrap();
    drop(store);
    let c = rusqlite::Connection::open(dir.path().join("events.db")).unwrap();
    let flat: String = c
        .query_row("SELECT event FROM agent_events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(flat, "action_failed");
}

#[test]
fn bad_urls_and_paths_are_clear_errors() {
    for (u, needle) in [
        ("mysql://x", "expected sqlite://"),
        ("sqlite://", "needs a file path"),
        ("", "expected sqlite://"),
        ("sqlite://a\0b", "NUL"),
    ] {
        let e = EventStore::open(u).unwrap_err();
        assert!(matches!(e, StoreError::Url(_)), "{u}: {e}");
        assert!(e.to_string().contains(needle), "{u}: {e}");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let e = EventStore::open(&format!("sqlite://{}/below.db", file.display())).unwrap_err();
    assert!(matches!(e, StoreError::Open { .. }), "{e}");
    assert!(e.to_string().contains("below.db"), "{e}");
    let e = Telemetry::builder().store("nope://x").err().unwrap();
    assert!(e.to_string().contains("nope://x"));
}

#[test]
fn a_huge_payload_is_replaced_by_its_size_and_the_event_kept() {
    let dir = tempfile::tempdir().unwrap();
    let sink = StoreSink::open(&url(&dir)).unwrap();
    let stats = sink.stats();
    let t = Telemetry::builder()
        .log(LogTarget::Off)
        .fmt(None)
        .sink(sink, Default::default())
        .build()
        .unwrap();
    let big = "x".repeat(fcc_store::MAX_PAYLOAD_BYTES + 10);
    t.bus().publish(
        &Event::builder(EventType::ActionFailed, "a")
            .attr("blob", big)
            .attr("nul", "a\0b")
            .build(),
    );
    t.bus().publish(&sample(1));
    t.shutdown().unwrap();
    assert_eq!(stats.get().payloads_dropped, 1);
    let store = EventStore::open(&url(&dir)).unwrap();
    let rows = store.query(&EventQuery::new().source("a")).unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].payload().get("fcc_payload_dropped").is_some());
    assert_eq!(store.count().unwrap(), 2);
}

#[test]
fn an_idle_sink_still_applies_retention() {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(&url(&dir)).unwrap();
    store
        .insert(&(0..10).map(sample).collect::<Vec<_>>())
        .unwrap();
    let sink = StoreSink::open(&url(&dir))
        .unwrap()
        .retention(Retention::KeepNewest(3), Duration::from_millis(10));
    // No event is ever published: only the idle hook can prune.
    let t = Telemetry::builder()
        .log(LogTarget::Off)
        .fmt(None)
        .sink(sink, Default::default())
        .build()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while store.count().unwrap() > 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(store.count().unwrap(), 3);
    drop(t);
}

/// `FCC_QUEUE_CAPACITY` and `FCC_DROP_POLICY` hold for the StoreSink that
/// `.store(url)` attaches, as for every built-in sink: while the database is
/// locked by another writer, a small queue drops (and counts) what does not
/// fit under `drop_newest`, and makes the emitter wait under `block`.
#[test]
fn the_store_sink_takes_the_configured_capacity_and_drop_policy() {
    const N: i64 = 2_000;
    for policy in ["drop_newest", "block"] {
        let dir = tempfile::tempdir().unwrap();
        let url = url(&dir);
        drop(EventStore::open(&url).unwrap()); // the schema, before the lock
        let vars = [("FCC_QUEUE_CAPACITY", "16"), ("FCC_DROP_POLICY", policy)];
        let t = fcc::TelemetryBuilder::from_vars(|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
        .unwrap()
        .log(LogTarget::Off)
        .fmt(None)
        .store(&url)
        .unwrap()
        .build()
        .unwrap();
        // Another writer holds the database: the sink's writes wait.
        let lock = rusqlite::Connection::open(dir.path().join("events.db")).unwrap();
        lock.execute_batch("BEGIN EXCLUSIVE").unwrap();
        let bus = t.bus().clone();
        let emitter = std::thread::spawn(move || {
            for i in 0..N {
                bus.publish(&sample(i));
            }
        });
        std::thread::sleep(Duration::from_millis(300));
        lock.execute_batch("COMMIT").unwrap();
        emitter.join().unwrap();
        t.flush(Duration::from_secs(30)).unwrap();
        let stats = t.sink_stats();
        let store = stats.iter().find(|s| s.name.contains("store")).unwrap();
        let rows = EventStore::open(&url).unwrap().count().unwrap();
        assert_eq!(rows + store.dropped, N as u64, "{policy}: {store:?}");
        match policy {
            "block" => assert_eq!(store.dropped, 0, "{store:?}"),
            _ => assert!(store.dropped > 0, "capacity 16 not applied: {store:?}"),
        }
        t.shutdown().unwrap();
    }
}
