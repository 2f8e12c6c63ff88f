//! The peers of the store bench, written the way a competent user would
//! write them by hand, into the same `agent_events` table (created by
//! `EventStore::open`, so the schema and, for SQLite, the page size are
//! fcc's) with the same rows and the same durability settings:
//!
//! - SQLite: one prepared single-row INSERT, reused, one transaction per
//!   batch, on a connection with fcc's PRAGMAs (WAL, synchronous=NORMAL,
//!   64 MiB cache, checkpoint every 1,024 pages, mmap).
//! - Postgres: one binary `COPY ... FROM STDIN` per batch (its own
//!   transaction) through the postgres crate's `BinaryCopyInWriter`.
//!
//! Both convert each event to its row the obvious way (owned strings for the
//! id, the payload through `serde_json::to_string`, the legacy `event`
//! column by `str::replace`), inside the timed loop: what fcc does too.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use fcc::{Event, EventType};
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use rusqlite::{params, Connection};

/// The bench's event: the emit bench's `simulation.step`.
pub fn event(i: u64) -> Event {
    Event::builder(EventType::SimulationStep, "SimulationEngine")
        .correlation_id("run-42")
        .detail("simulation step")
        .attr("step", i)
        .attr("node_id", "N1")
        .build()
}

/// `event(i)` for the peers' pre-built event lists, its payload map made
/// before the timed loop (events keep a short payload inline and make the
/// map on the first `payload()` call; before that change the map was made
/// when the event was built, outside the peers' timing too).
pub fn prepared(i: u64) -> Event {
    let e = event(i);
    let _ = e.payload();
    e
}

const COLUMNS: &str = "event_id, ts_micros, timestamp, event_type, category, source, resource, \
     action, outcome, severity, correlation_id, task, mission_id, objective_id, detail, payload, \
     trace_id, span_id, event";

/// A connection with the PRAGMAs fcc's SQLite store sets (the page size is
/// the file's: fcc created it).
pub fn sqlite_conn(path: &std::path::Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
    conn.pragma_update(None, "cache_size", -65_536).unwrap();
    conn.pragma_update(None, "wal_autocheckpoint", 1_024)
        .unwrap();
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)
        .unwrap();
    conn.pragma_update(None, "mmap_size", 268_435_456i64)
        .unwrap();
    conn
}

/// Inserts `events` by hand, `batch` rows per transaction; returns the
/// wall time. The file must already hold fcc's schema.
pub fn sqlite_hand_batched(path: &std::path::Path, events: &[Event], batch: usize) -> Duration {
    let mut conn = sqlite_conn(path);
    let sql = format!(
        "INSERT INTO agent_events ({COLUMNS}) VALUES \
         (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"
    );
    let start = Instant::now();
    for chunk in events.chunks(batch) {
        let tx = conn.transaction().unwrap();
        {
            let mut st = tx.prepare_cached(&sql).unwrap();
            for e in chunk {
                let ts = e.timestamp();
                st.execute(params![
                    e.event_id().to_string(),
                    ts.unix_micros(),
                    ts.format_rfc3339().as_str(),
                    e.event_type().as_str(),
                    e.category(),
                    e.source(),
                    e.resource(),
                    e.action(),
                    e.outcome().map(|o| o.as_str()),
                    e.severity().as_str(),
                    e.correlation_id(),
                    e.task(),
                    e.mission_id(),
                    e.objective_id(),
                    e.detail(),
                    serde_json::to_string(e.payload()).unwrap(),
                    e.trace_id().map(|t| t.to_string()),
                    e.span_id().map(|s| s.to_string()),
                    e.event_type().as_str().replace(['.', '-'], "_"),
                ])
                .unwrap();
            }
        }
        tx.commit().unwrap();
    }
    start.elapsed()
}

/// A `jsonb` value for binary COPY: version 1, then the JSON text.
#[derive(Debug)]
struct Jsonb(String);

impl ToSql for Jsonb {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(&[1]);
        out.extend_from_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSONB
    }
    to_sql_checked!();
}

/// Copies `events` into Postgres by hand, one binary COPY per `batch`
/// rows; returns the wall time. `url` must already hold fcc's schema.
pub fn postgres_copy(url: &str, events: &[Event], batch: usize) -> Duration {
    use postgres::binary_copy::BinaryCopyInWriter;
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let t = Type::TEXT;
    let types = [
        t.clone(),
        Type::INT8,
        t.clone(),
        t.clone(),
        t.clone(),
        t.clone(),
        t.clone(),
        t.clone(),
        t.clone(),
        t.clone(),
        t.clone(),
        t.clone(),
        t.clone(),
        t.clone(),
        t.clone(),
        Type::JSONB,
        t.clone(),
        t.clone(),
        t,
    ];
    let sql = format!("COPY agent_events ({COLUMNS}) FROM STDIN (FORMAT binary)");
    let start = Instant::now();
    for chunk in events.chunks(batch) {
        let sink = client.copy_in(&sql).unwrap();
        let mut w = BinaryCopyInWriter::new(sink, &types);
        for e in chunk {
            let ts = e.timestamp();
            w.write(&[
                &e.event_id().to_string(),
                &ts.unix_micros(),
                &ts.format_rfc3339().as_str(),
                &e.event_type().as_str(),
                &e.category(),
                &e.source(),
                &e.resource(),
                &e.action(),
                &e.outcome().map(|o| o.as_str()),
                &e.severity().as_str(),
                &e.correlation_id(),
                &e.task(),
                &e.mission_id(),
                &e.objective_id(),
                &e.detail(),
                &Jsonb(serde_json::to_string(e.payload()).unwrap()),
                &e.trace_id().map(|t| t.to_string()),
                &e.span_id().map(|s| s.to_string()),
                &e.event_type().as_str().replace(['.', '-'], "_"),
            ])
            .unwrap();
        }
        w.finish().unwrap();
    }
    start.elapsed()
}

/// A fresh Postgres schema and the URL that uses it; `None` without a
/// server. A checkpoint first, so that no run pays for the last one's WAL.
pub fn pg_url(schema: &str) -> Option<String> {
    let base = std::env::var("FCC_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let mut c = postgres::Client::connect(&base, postgres::NoTls).ok()?;
    c.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};"
    ))
    .ok()?;
    let _ = c.batch_execute("CHECKPOINT");
    Some(format!("{base}?options=-c%20search_path%3D{schema}"))
}
