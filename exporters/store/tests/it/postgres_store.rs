//! The Postgres store against the real server on 127.0.0.1:5432 (database
//! `test`, trust auth; `FCC_TEST_POSTGRES_URL` overrides). Each test works in
//! its own schema.

use std::time::Duration;

use fcc::{Event, EventType, LogTarget, Severity, Telemetry, Timestamp};
use fcc_store::{EventQuery, EventStore, StoreError, StoreSink};

fn base_url() -> String {
    std::env::var("FCC_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh schema; the URL that uses it, tagged with an application name.
fn fresh(name: &str) -> String {
    let mut c = postgres::Client::connect(&base_url(), postgres::NoTls).expect("the test Postgres");
    c.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name};"
    ))
    .unwrap();
    format!(
        "{}?options=-c%20search_path%3D{name}&application_name={name}",
        base_url()
    )
}

/// Waits (up to 30 s) until a backend of `application_name` waits on a
/// lock, then terminates it as an administrator or a failover does (57P01).
/// How many were terminated: 0 when none waited in time.
fn terminate_when_waiting_on_a_lock(admin: &mut postgres::Client, application_name: &str) -> i64 {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let killed: i64 = admin
            .query_one(
                "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
                 WHERE application_name = $1 AND wait_event_type = 'Lock'",
                &[&application_name],
            )
            .unwrap()
            .get(0);
        if killed > 0 || std::time::Instant::now() >= deadline {
            return killed;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn sample(i: i64) -> Event {
    Event::builder(EventType::GovernanceGatePassed, "governance")
        .timestamp(Timestamp::from_unix_micros(
            1_774_605_600_000_000 + i * 1_000,
        ))
        .correlation_id(format!("run-{}", i % 3))
        .severity(if i % 2 == 0 {
            Severity::Warn
        } else {
            Severity::Info
        })
        .detail(format!("gate {i}"))
        .attr("i", i)
        .build()
}

#[test]
fn round_trip_queries_and_idempotence() {
    let url = fresh("fcc_pg_roundtrip");
    let store = EventStore::open(&url).unwrap();
    assert_eq!(store.schema_version().unwrap(), fcc_store::SCHEMA_VERSION);
    let events: Vec<Event> = (0..30).map(sample).collect();
    assert_eq!(store.insert(&events).unwrap(), 30);
    assert_eq!(store.insert(&events).unwrap(), 0, "idempotent by event_id");
    let mut back = store.query(&EventQuery::new()).unwrap();
    back.reverse();
    assert_eq!(back, events);
    assert_eq!(
        store
            .query(&EventQuery::new().correlation_id("run-1"))
            .unwrap()
            .len(),
        10
    );
    assert_eq!(
        store
            .query(&EventQuery::new().severity(Severity::Warn))
            .unwrap()
            .len(),
        15
    );
    let streamed: Vec<Event> = store
        .stream(&EventQuery::new().limit(7))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(streamed.len(), 30);
    assert_eq!(store.keep_newest(10).unwrap(), 20);
    // Opening again migrates nothing.
    assert_eq!(EventStore::open(&url).unwrap().count().unwrap(), 10);
}

#[test]
fn nul_bytes_become_replacement_characters() {
    let url = fresh("fcc_pg_nul");
    let store = EventStore::open(&url).unwrap();
    let e = Event::builder(EventType::ActionFailed, "a\0b")
        .detail("x\0y")
        .attr("k", "v\0w")
        .build();
    assert_eq!(store.insert(&[e]).unwrap(), 1);
    let back = &store.query(&EventQuery::new()).unwrap()[0];
    assert_eq!(back.source(), "a\u{FFFD}b");
    assert_eq!(back.detail(), Some("x\u{FFFD}y"));
    assert_eq!(back.payload()["k"], "v\u{FFFD}w");
}

#[test]
fn an_unreachable_database_is_an_error_naming_the_url_without_its_password() {
    let e = EventStore::open("postgres://someone:s3cret@127.0.0.1:1/test").unwrap_err();
    assert!(matches!(e, StoreError::Open { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("postgres://someone:***@127.0.0.1:1/test"),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");
    // The password as a query parameter, in the error and its Debug.
    for url in [
        "postgres://someone@127.0.0.1:1/test?password=s3cret",
        "postgres://someone@127.0.0.1:1/test?sslmode=disable&PASSWORD=s3cret",
    ] {
        let e = EventStore::open(url).unwrap_err();
        for text in [e.to_string(), format!("{e:?}")] {
            assert!(!text.contains("s3cret"), "{text}");
            assert!(text.contains("=***"), "{text}");
        }
    }
}

#[test]
fn terminated_connections_are_retried_without_loss_or_duplicates() {
    let name = "fcc_pg_terminate";
    let url = fresh(name);
    let sink = StoreSink::open(&url).unwrap();
    let stats = sink.stats();
    let t = Telemetry::builder()
        .log(LogTarget::Off)
        .fmt(None)
        .sink(sink, Default::default())
        .build()
        .unwrap();
    let bus = t.bus().clone();
    for i in 0..500 {
        bus.publish(&sample(i));
    }
    t.flush(Duration::from_secs(30)).unwrap();
    // Kill the sink's connection, as a Postgres restart would.
    let mut admin = postgres::Client::connect(&base_url(), postgres::NoTls).unwrap();
    let killed: i64 = admin
        .query_one(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
            &[&name],
        )
        .unwrap()
        .get(0);
    assert!(killed >= 1, "the sink's backend was found");
    for i in 500..1_000 {
        bus.publish(&sample(i));
    }
    t.shutdown().unwrap();
    let store = EventStore::open(&url).unwrap();
    assert_eq!(
        store.count().unwrap(),
        1_000,
        "nothing lost, nothing doubled"
    );
    let s = stats.get();
    assert_eq!(s.inserted, 1_000);
    assert!(s.retries >= 1 && s.reconnects >= 1, "{s:?}");
    let sink_stats = &t.sink_stats()[0];
    assert_eq!((sink_stats.failed, sink_stats.dropped), (0, 0));
}

#[test]
fn an_older_schema_is_upgraded_on_open() {
    let url = fresh("fcc_pg_upgrade");
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    c.batch_execute(
        "CREATE TABLE fcc_schema_version (version BIGINT NOT NULL);
         INSERT INTO fcc_schema_version VALUES (1);
         CREATE TABLE agent_events (event_id TEXT PRIMARY KEY, ts_micros BIGINT NOT NULL,
           timestamp TEXT NOT NULL, event_type TEXT NOT NULL, category TEXT NOT NULL,
           source TEXT NOT NULL, resource TEXT, action TEXT, outcome TEXT, severity TEXT NOT NULL,
           correlation_id TEXT, task TEXT, mission_id TEXT, objective_id TEXT, detail TEXT,
           payload JSONB NOT NULL DEFAULT '{}'::jsonb, event TEXT NOT NULL);",
    )
    .unwrap();
    let store = EventStore::open(&url).unwrap();
    assert_eq!(store.schema_version().unwrap(), 2);
    let e = sample(1)
        .to_builder()
        .trace_context(
            Some("0af7651916cd43dd8448eb211c80319c".parse().unwrap()),
            None,
        )
        .build();
    store.insert(std::slice::from_ref(&e)).unwrap();
    assert_eq!(
        store
            .query(&EventQuery::new().trace_id(e.trace_id().unwrap()))
            .unwrap(),
        vec![e]
    );
}

/// A failover or `pg_ctl stop` ends a connection in the middle of an insert
/// with SQLSTATE 57P01 (admin shutdown): that is transient, the batch is
/// retried on a new connection, and every event is stored and counted once.
#[test]
fn an_admin_shutdown_during_an_insert_is_retried_and_counted_exactly() {
    let name = "fcc_pg_admin_shutdown";
    let url = fresh(name);
    let sink = StoreSink::open(&url).unwrap();
    let stats = sink.stats();
    let t = Telemetry::builder()
        .log(LogTarget::Off)
        .fmt(None)
        .sink(sink, Default::default())
        .build()
        .unwrap();
    // Hold the table, so the sink's next insert waits inside Postgres.
    let mut holder = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let mut lock = holder.transaction().unwrap();
    lock.batch_execute("LOCK TABLE agent_events IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let bus = t.bus().clone();
    for i in 0..200 {
        bus.publish(&sample(i));
    }
    // The insert is waiting on the lock: end its connection as an
    // administrator (or a failover) does.
    let mut admin = postgres::Client::connect(&base_url(), postgres::NoTls).unwrap();
    assert!(
        terminate_when_waiting_on_a_lock(&mut admin, name) >= 1,
        "the insert never waited"
    );
    lock.rollback().unwrap();
    t.shutdown().unwrap();
    let s = stats.get();
    let sink_stats = &t.sink_stats()[0];
    assert_eq!((sink_stats.failed, sink_stats.dropped), (0, 0), "{s:?}");
    assert_eq!(EventStore::open(&url).unwrap().count().unwrap(), 200);
    assert_eq!(s.inserted, 200);
    assert!(s.retries >= 1, "{s:?}");
}

#[test]
fn opening_retries_a_migration_whose_backend_is_terminated() {
    // A failover (57P01) while a service starts: the store's migration is
    // cut off mid-transaction; opening reconnects and migrates again.
    let name = "fcc_pg_open_terminated";
    let url = fresh(name);
    let mut admin = postgres::Client::connect(&base_url(), postgres::NoTls).unwrap();
    // The lock every migration takes first: holding it parks the open there.
    admin
        .execute("SELECT pg_advisory_lock(7746501)", &[])
        .unwrap();
    let opening = std::thread::spawn({
        let url = url.clone();
        move || EventStore::open(&url)
    });
    let killed = terminate_when_waiting_on_a_lock(&mut admin, name);
    assert_eq!(killed, 1, "the migration's backend was found waiting");
    admin
        .execute("SELECT pg_advisory_unlock(7746501)", &[])
        .unwrap();
    let store = opening
        .join()
        .unwrap()
        .expect("the open retried after 57P01");
    assert_eq!(store.schema_version().unwrap(), fcc_store::SCHEMA_VERSION);
    assert_eq!(store.insert(&[sample(1)]).unwrap(), 1);
}
