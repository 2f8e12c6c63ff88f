//! `EventStore::open_read_only`: a reader never creates, writes or migrates a
//! store. A missing or empty one is `NotFound`; an older schema is read as it
//! is. SQLite files, and Postgres on 127.0.0.1:5432 (database `test`, trust
//! auth; `FCC_TEST_POSTGRES_URL` overrides), each test in its own schema.

use fcc::{Event, EventType, Timestamp};
use fcc_store::{EventQuery, EventStore, StoreError};

fn sample(i: i64) -> Event {
    Event::builder(EventType::ActionCompleted, "ActionEngine")
        .timestamp(Timestamp::from_unix_micros(
            1_774_605_600_000_000 + i * 1_000_000,
        ))
        .correlation_id("run-1")
        .detail(format!("event {i}"))
        .trace_context(Some(format!("{:032x}", 0xabc0 + i).parse().unwrap()), None)
        .build()
}

fn not_found(r: Result<EventStore, StoreError>) -> String {
    match r {
        Err(e @ StoreError::NotFound { .. }) => e.to_string(),
        Err(e) => panic!("not NotFound: {e:?}"),
        Ok(_) => panic!("opened"),
    }
}

#[test]
fn a_missing_or_empty_sqlite_file_is_not_found_and_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("sub/events.db");
    let e = not_found(EventStore::open_read_only(&format!(
        "sqlite://{}",
        missing.display()
    )));
    assert!(e.contains("was not found"), "{e}");
    assert!(!dir.path().join("sub").exists(), "no directory made");

    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, "").unwrap();
    let e = not_found(EventStore::open_read_only(&format!(
        "sqlite://{}",
        empty.display()
    )));
    assert!(e.contains("is empty, so agent_events was not found"), "{e}");
    assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0);

    // A database without agent_events (here one with another table).
    let other = dir.path().join("other.db");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE notes (t TEXT)")
        .unwrap();
    let before = std::fs::read(&other).unwrap();
    let e = not_found(EventStore::open_read_only(&format!(
        "sqlite://{}",
        other.display()
    )));
    assert!(e.contains("agent_events was not found in the file"), "{e}");
    assert!(std::fs::read(&other).unwrap() == before, "unchanged");

    not_found(EventStore::open_read_only("sqlite::memory:"));
    assert!(matches!(
        EventStore::open_read_only("mysql://x"),
        Err(StoreError::Url(_))
    ));
}

#[test]
fn a_sqlite_store_is_read_but_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("events.db").display());
    let events: Vec<Event> = (0..5).map(sample).collect();
    EventStore::open(&url).unwrap().insert(&events).unwrap();
    let store = EventStore::open_read_only(&url).unwrap();
    let mut back = store.query(&EventQuery::new()).unwrap();
    back.reverse();
    assert_eq!(back, events);
    assert_eq!(store.schema_version().unwrap(), fcc_store::SCHEMA_VERSION);
    let e = store.insert(&[sample(9)]).unwrap_err();
    assert!(e.to_string().contains("readonly"), "{e}");
    assert_eq!(store.count().unwrap(), 5);
    // What a writer adds later, the open reader sees.
    EventStore::open(&url)
        .unwrap()
        .insert(&[sample(7)])
        .unwrap();
    assert_eq!(store.count().unwrap(), 6);
}

const V1_SQLITE: &str = "CREATE TABLE fcc_schema_version (version BIGINT NOT NULL);
    INSERT INTO fcc_schema_version VALUES (1);
    CREATE TABLE agent_events (event_id TEXT PRIMARY KEY, ts_micros BIGINT NOT NULL,
      timestamp TEXT NOT NULL, event_type TEXT NOT NULL, category TEXT NOT NULL,
      source TEXT NOT NULL, resource TEXT, action TEXT, outcome TEXT, severity TEXT NOT NULL,
      correlation_id TEXT, task TEXT, mission_id TEXT, objective_id TEXT, detail TEXT,
      payload TEXT NOT NULL DEFAULT '{}', event TEXT NOT NULL);
    INSERT INTO agent_events VALUES ('0192f0c4-0000-7000-8000-000000000001', 1774605600000000,
      '2026-03-27T10:00:00.000000Z', 'workflow.started', 'workflow', 'orchestrator', NULL, NULL,
      NULL, 'info', 'run-1', NULL, NULL, NULL, NULL, '{}', 'workflow_started');";

#[test]
fn an_older_sqlite_schema_is_read_as_it_is_and_not_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(V1_SQLITE)
        .unwrap();
    let before = std::fs::read(&path).unwrap();
    let store = EventStore::open_read_only(&format!("sqlite://{}", path.display())).unwrap();
    assert_eq!(store.schema_version().unwrap(), 1);
    let old = store
        .query(&EventQuery::new().correlation_id("run-1"))
        .unwrap();
    assert_eq!(old.len(), 1);
    assert_eq!(old[0].trace_id(), None);
    let by_trace = EventQuery::new().trace_id(sample(1).trace_id().unwrap());
    assert!(store.query(&by_trace).unwrap().is_empty());
    assert_eq!(store.stream(&EventQuery::new().limit(1)).count(), 1);
    drop(store);
    assert!(std::fs::read(&path).unwrap() == before, "unchanged");
}

fn pg_base() -> String {
    std::env::var("FCC_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh schema; a client on it and the URL that uses it.
fn pg_fresh(name: &str) -> (postgres::Client, String) {
    let mut c = postgres::Client::connect(&pg_base(), postgres::NoTls).expect("the test Postgres");
    c.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name};"
    ))
    .unwrap();
    let url = format!(
        "{}?options=-c%20search_path%3D{name}&application_name={name}",
        pg_base()
    );
    (
        postgres::Client::connect(&url, postgres::NoTls).unwrap(),
        url,
    )
}

fn pg_tables(c: &mut postgres::Client) -> i64 {
    c.query_one(
        "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema()",
        &[],
    )
    .unwrap()
    .get(0)
}

#[test]
fn postgres_without_agent_events_is_not_found_and_nothing_is_created() {
    let (mut c, url) = pg_fresh("fcc_ro_empty");
    let e = not_found(EventStore::open_read_only(&url));
    assert!(e.contains("agent_events was not found"), "{e}");
    assert_eq!(pg_tables(&mut c), 0);
}

#[test]
fn postgres_is_read_in_a_read_only_session_and_an_older_schema_as_it_is() {
    let (mut c, url) = pg_fresh("fcc_ro_read");
    EventStore::open(&url)
        .unwrap()
        .insert(&[sample(1), sample(2)])
        .unwrap();
    let store = EventStore::open_read_only(&url).unwrap();
    assert_eq!(store.query(&EventQuery::new()).unwrap().len(), 2);
    let e = store.insert(&[sample(3)]).unwrap_err();
    assert!(e.to_string().contains("read-only"), "{e}");
    assert_eq!(store.count().unwrap(), 2);

    let (mut c1, url1) = pg_fresh("fcc_ro_v1");
    c1.batch_execute(&V1_SQLITE.replace(
        "payload TEXT NOT NULL DEFAULT '{}'",
        "payload JSONB NOT NULL DEFAULT '{}'::jsonb",
    ))
    .unwrap();
    let store = EventStore::open_read_only(&url1).unwrap();
    assert_eq!(store.schema_version().unwrap(), 1);
    let old = store.query(&EventQuery::new()).unwrap();
    assert_eq!(old.len(), 1);
    assert_eq!(old[0].trace_id(), None);
    let by_trace = EventQuery::new().trace_id(sample(1).trace_id().unwrap());
    assert!(store.query(&by_trace).unwrap().is_empty());
    let columns: i64 = c1
        .query_one(
            "SELECT COUNT(*) FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = 'agent_events'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(columns, 17, "no columns added");
    assert_eq!(pg_tables(&mut c), 2);
}
