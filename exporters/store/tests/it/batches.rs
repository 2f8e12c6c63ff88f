//! How batches go in: SQLite through multi-row INSERTs of 100, 10 and 1
//! rows; Postgres through binary COPY, falling back to `INSERT ... ON
//! CONFLICT DO NOTHING` when a row is already stored. Every size, every
//! awkward value and every failure lands each event exactly once.

use fcc::sinks::{Sink, SinkOptions};
use fcc::{Event, EventType, LogTarget, Outcome, Severity, Telemetry, Timestamp};
use fcc_store::{EventQuery, EventStore, StoreSink};
use serde_json::json;

fn plain(i: i64) -> Event {
    Event::builder(EventType::SimulationStep, "SimulationEngine")
        .timestamp(Timestamp::from_unix_micros(
            1_774_605_600_000_000 + i * 1_000,
        ))
        .correlation_id(format!("run-{}", i % 3))
        .detail(format!("step {i}"))
        .attr("i", i)
        .build()
}

/// Quotes, backslashes, control characters, non-ASCII text, empty
/// strings, every optional field unset or set, nested JSON with nulls.
fn awkward() -> Vec<Event> {
    let tricky =
        "quote \" apostrophe ' backslash \\ tab \t newline \n cr \r é ✓ 🚀 \u{2028} \\N \\.";
    vec![
        Event::builder(EventType::ActionFailed, tricky)
            .timestamp(Timestamp::from_unix_micros(1_774_605_600_000_001))
            .category(tricky)
            .severity(Severity::Error)
            .outcome(Outcome::Timeout)
            .resource(tricky)
            .action("")
            .correlation_id("run-'1'")
            .task("t\"1")
            .mission_id("M-ü")
            .objective_id("O-🚀")
            .detail(tricky)
            .attr(tricky, tricky)
            .attr("null", serde_json::Value::Null)
            .attr(
                "nested",
                json!({"a": [1, "two\n", {"b": null}], "k\"": true}),
            )
            .trace_context(
                Some("0af7651916cd43dd8448eb211c80319c".parse().unwrap()),
                Some("00f067aa0ba902b7".parse().unwrap()),
            )
            .build(),
        // Nothing optional: every nullable column NULL, payload `{}`.
        Event::builder(EventType::custom("my.custom-type").unwrap(), "")
            .timestamp(Timestamp::from_unix_micros(1_774_605_600_000_002))
            .build(),
    ]
}

fn round_trip_awkward_values(store: &EventStore) {
    let events = awkward();
    assert_eq!(store.insert(&events).unwrap(), 2);
    let mut back = store.query(&EventQuery::new()).unwrap();
    back.reverse();
    assert_eq!(back, events);
    let legacy = store
        .query(&EventQuery::new().event_types(["my.custom-type"]))
        .unwrap();
    assert_eq!(legacy.len(), 1);
}

/// 100 + 100 + 10 + 10 + 10 + 7 rows: every statement size and the
/// remainder; then the same batch again plus new rows (only those count).
fn every_statement_size(store: &EventStore) {
    let all: Vec<Event> = (0..300).map(plain).collect();
    assert_eq!(store.insert(&all[..237]).unwrap(), 237);
    assert_eq!(
        store.insert(&all[..237]).unwrap(),
        0,
        "idempotent by event_id"
    );
    assert_eq!(store.insert(&all[200..]).unwrap(), 63);
    assert_eq!(store.insert(&[]).unwrap(), 0);
    let mut back = store.query(&EventQuery::new().limit(1_000)).unwrap();
    back.reverse();
    assert_eq!(back, all);
}

#[test]
fn sqlite_batches_of_every_size_go_in_whole() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("b.db").display());
    every_statement_size(&EventStore::open(&url).unwrap());
    let url = format!("sqlite://{}", dir.path().join("awkward.db").display());
    round_trip_awkward_values(&EventStore::open(&url).unwrap());
}

fn base_url() -> String {
    std::env::var("FCC_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

fn fresh(name: &str) -> String {
    let mut c = postgres::Client::connect(&base_url(), postgres::NoTls).expect("the test Postgres");
    c.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name};"
    ))
    .unwrap();
    format!("{}?options=-c%20search_path%3D{name}", base_url())
}

#[test]
fn postgres_copy_round_trips_awkward_values_and_every_size() {
    round_trip_awkward_values(&EventStore::open(&fresh("fcc_batch_awkward")).unwrap());
    every_statement_size(&EventStore::open(&fresh("fcc_batch_sizes")).unwrap());
}

#[test]
fn postgres_a_batch_holding_stored_events_goes_in_and_counts_them_once() {
    let url = fresh("fcc_batch_dup");
    let store = EventStore::open(&url).unwrap();
    let events: Vec<Event> = (0..3_000).map(plain).collect();
    // Rows 0..10 and 2,990..3,000 are there already: a COPY that meets
    // one fails, and its batch goes in by INSERT ... ON CONFLICT instead.
    assert_eq!(store.insert(&events[..10]).unwrap(), 10);
    assert_eq!(store.insert(&events[2_990..]).unwrap(), 10);
    // The same event twice in one batch.
    let once = plain(5_000);
    let twice = [once.clone(), once];
    assert_eq!(store.insert(&twice).unwrap(), 1);
    let sink = StoreSink::open(&url).unwrap();
    let stats = sink.stats();
    let t = Telemetry::builder()
        .log(LogTarget::Off)
        .fmt(None)
        .sink(sink, SinkOptions::default().batch_size(4_096))
        .build()
        .unwrap();
    for e in &events {
        t.bus().publish(e);
    }
    t.shutdown().unwrap();
    let s = stats.get();
    assert_eq!((s.inserted, s.duplicates), (2_980, 20), "{s:?}");
    assert_eq!(store.count().unwrap(), 3_001);
    let sink_stats = &t.sink_stats()[0];
    assert_eq!((sink_stats.written, sink_stats.failed), (3_000, 0));
}

/// After a COPY that met a stored row (the batch then went in by INSERT),
/// the same connection's next batches are stored and counted exactly: a
/// failed COPY must not leave the connection a response out of step, which
/// would make a later batch look committed when it is not.
#[test]
fn postgres_batches_after_a_duplicate_copy_are_all_stored() {
    let url = fresh("fcc_batch_after_dup");
    let store = EventStore::open(&url).unwrap();
    let events: Vec<Event> = (0..2_000).map(plain).collect();
    assert_eq!(store.insert(&events[..100]).unwrap(), 100);
    assert_eq!(store.count().unwrap(), 100);
    let mut stored_to = 100;
    for round in 0..5 {
        // Half stored already, half new: the COPY fails on a duplicate.
        let dup = &events[stored_to - 50..stored_to + 50];
        assert_eq!(store.insert(dup).unwrap(), 50, "round {round}");
        stored_to += 50;
        // Then a batch of new rows only, by COPY on the same connection.
        let fresh_from = 1_000 + 100 * round;
        assert_eq!(
            store.insert(&events[fresh_from..fresh_from + 100]).unwrap(),
            100
        );
        assert_eq!(
            store.count().unwrap(),
            (stored_to + 100 * (round + 1)) as u64,
            "round {round}"
        );
    }
}

/// A BEFORE INSERT trigger that fails the row whose detail is `boom`:
/// with SQLSTATE 40001 (try again) the first time only, or with 23514
/// (a check violation: this batch cannot go in) every time.
fn fail_on_boom(url: &str, once: bool) {
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    // A sequence is not rolled back with the failed COPY: it counts tries.
    let (condition, code) = if once {
        ("nextval('boom_seq') = 1", "40001")
    } else {
        ("true", "23514")
    };
    c.batch_execute(&format!(
        "CREATE SEQUENCE boom_seq;
         CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF NEW.detail = 'boom' THEN
             IF {condition} THEN
               RAISE EXCEPTION 'injected failure' USING ERRCODE = '{code}';
             END IF;
           END IF;
           RETURN NEW;
         END $$;
         CREATE TRIGGER boom BEFORE INSERT ON agent_events
           FOR EACH ROW EXECUTE FUNCTION boom();"
    ))
    .unwrap();
}

fn with_boom(i: i64) -> Event {
    if i == 600 {
        plain(i).to_builder().detail("boom").build()
    } else {
        plain(i)
    }
}

#[test]
fn postgres_a_copy_failing_mid_batch_is_retried_and_loses_nothing() {
    let url = fresh("fcc_batch_retry");
    drop(EventStore::open(&url).unwrap());
    fail_on_boom(&url, true);
    let mut sink = StoreSink::open(&url).unwrap();
    let stats = sink.stats();
    // One batch: row 600 fails the COPY after 600 rows went to the server,
    // with more chunks of COPY data still to send.
    let events: Vec<Event> = (0..5_000).map(with_boom).collect();
    sink.write(&events).unwrap();
    let s = stats.get();
    assert!(s.retries >= 1, "the failed COPY was retried: {s:?}");
    assert_eq!((s.inserted, s.duplicates), (5_000, 0), "{s:?}");
    let store = EventStore::open(&url).unwrap();
    assert_eq!(store.count().unwrap(), 5_000);
    let mut back = store.query(&EventQuery::new().limit(10_000)).unwrap();
    back.reverse();
    assert_eq!(back, events);
}

#[test]
fn postgres_a_copy_that_cannot_go_in_fails_its_batch_only() {
    let url = fresh("fcc_batch_fail");
    drop(EventStore::open(&url).unwrap());
    fail_on_boom(&url, false);
    let mut sink = StoreSink::open(&url).unwrap();
    let stats = sink.stats();
    let good: Vec<Event> = (0..500).map(plain).collect();
    // Row 600 fails early in a batch whose COPY data is several chunks:
    // the error comes back while the rest is still being sent.
    let bad: Vec<Event> = (500..8_000).map(with_boom).collect();
    sink.write(&good).unwrap();
    // 23514 is not worth a retry: the batch fails whole, nothing of it stays.
    assert!(sink.write(&bad).is_err());
    // The same connection takes the next batch.
    let more: Vec<Event> = (8_000..8_100).map(plain).collect();
    sink.write(&more).unwrap();
    let s = stats.get();
    assert_eq!((s.inserted, s.retries, s.reconnects), (600, 0, 0), "{s:?}");
    let store = EventStore::open(&url).unwrap();
    assert_eq!(store.count().unwrap(), 600);
    assert!(store
        .query(&EventQuery::new().limit(2_000))
        .unwrap()
        .iter()
        .all(|e| e.detail() != Some("boom")));
}
