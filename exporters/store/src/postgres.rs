//! The Postgres backend: a batch is one binary `COPY` (one transaction).
//! When it meets a row already stored (a retried batch whose commit was
//! lost with its connection, a replay; SQLSTATE 23505), the batch goes again
//! as one `INSERT ... SELECT FROM unnest(...) ON CONFLICT (event_id) DO
//! NOTHING` over column arrays, which skips and counts those rows: either
//! way the batch is idempotent by `event_id`.

use fcc::Event;
use postgres::types::ToSql;
use postgres::{Client, NoTls, Statement};
use std::time::Duration;

use crate::pg_copy::{self, CopyFailure};
use crate::query::{EventQuery, Param};
use crate::row::{from_text, to_row, COLUMNS};
use crate::schema::{migrations, Dialect, VERSION_TABLE};
use crate::url::redact;
use crate::StoreError;
use std::io::Write as _;

pub(crate) struct Pg {
    client: Client,
    url: String,
    insert_sql: String,
    /// The `COPY ... FROM STDIN (FORMAT binary)` statement, prepared on
    /// this connection (cleared on reconnect).
    copy_stmt: Option<Statement>,
    /// The batch's COPY data, reused.
    copy_buf: Vec<u8>,
    /// Sessions are read-only (`default_transaction_read_only`).
    read_only: bool,
    /// A version 1 table, read as it is (no trace or span id columns).
    v1: bool,
}

/// How long opening a store retries a migration that failed transiently.
pub(crate) const OPEN_RETRY_FOR: Duration = Duration::from_secs(10);

/// Makes every transaction of the session read-only: a reader cannot write
/// even by mistake.
const READ_ONLY: &str = "SET default_transaction_read_only = on";

pub(crate) fn err(what: &str, e: postgres::Error) -> StoreError {
    err_ref(what, &e)
}

pub(crate) fn err_ref(what: &str, e: &postgres::Error) -> StoreError {
    StoreError::Database {
        what: what.to_owned(),
        message: match e.as_db_error() {
            Some(db) => format!("{}: {}", db.code().code(), db.message()),
            None => e.to_string(),
        },
        transient: e.is_closed()
            || e.as_db_error()
                .is_none_or(|db| transient_sqlstate(db.code().code())),
    }
}

/// Whether a SQLSTATE says "try again" (the server or the moment) rather
/// than "this batch cannot go in" (the data, the schema, the permissions),
/// by its class as Postgres documents them (Appendix A). A retry is safe:
/// inserts are `ON CONFLICT (event_id) DO NOTHING`, so a batch whose commit
/// outcome was unknown is counted exactly once.
pub(crate) fn transient_sqlstate(code: &str) -> bool {
    matches!(
        code.get(..2),
        // connection exception; transaction rollback (serialization failure,
        // deadlock); insufficient resources (disk full, out of memory, too
        // many connections); operator intervention (57P01 admin shutdown as
        // in a failover, 57P02 crash shutdown, 57P03 cannot connect now,
        // 57014 statement timeout); system error (I/O); lock not available
        Some("08" | "40" | "53" | "57" | "58")
    ) || code == "55P03"
}

impl Pg {
    /// Connects and migrates. A server that cannot be reached fails at once
    /// (a wrong URL should not hang a service's start); once it answered, a
    /// transient failure of the migration (its backend terminated by a
    /// failover, `57P01`; the server restarting, `57P03`; a deadlock) is
    /// retried with a new connection for up to [`OPEN_RETRY_FOR`]. The
    /// migration is one transaction, so a retry starts it from the top.
    pub(crate) fn open(url: &str) -> Result<Pg, StoreError> {
        let mut pg = Pg::connect(url, false)?;
        let mut backoff =
            fcc::export::Backoff::new(Duration::from_millis(100), Duration::from_secs(1))
                .within(OPEN_RETRY_FOR);
        loop {
            let failure = match pg.migrate() {
                Ok(()) => return Ok(pg),
                Err(
                    e @ StoreError::Database {
                        transient: true, ..
                    },
                ) => e,
                Err(e) => return Err(e),
            };
            // Reconnect (the server may still be coming back) until it
            // answers or the time is up; then the last failure is the error.
            loop {
                if !backoff.wait() {
                    return Err(failure);
                }
                if !pg.is_closed() || pg.reconnect().is_ok() {
                    break;
                }
            }
        }
    }

    /// A read-only session on an existing `agent_events` (the one the
    /// search path finds): nothing is created or migrated.
    pub(crate) fn open_read_only(url: &str) -> Result<Pg, StoreError> {
        let mut pg = Pg::connect(url, true)?;
        let columns: Vec<String> = pg
            .client
            .query(
                "SELECT attname::text FROM pg_attribute
                 WHERE attrelid = to_regclass('agent_events') AND attnum > 0 AND NOT attisdropped",
                &[],
            )
            .map_err(|e| err("opening", e))?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if columns.is_empty() {
            return Err(StoreError::NotFound {
                url: redact(url),
                message: "agent_events was not found on the database's search path".into(),
            });
        }
        pg.v1 = !columns.iter().any(|c| c == "trace_id");
        Ok(pg)
    }

    fn connect(url: &str, read_only: bool) -> Result<Pg, StoreError> {
        let mut client = Client::connect(url, NoTls).map_err(|e| StoreError::Open {
            url: redact(url),
            message: e.to_string(),
        })?;
        if read_only {
            client
                .batch_execute(READ_ONLY)
                .map_err(|e| err("opening read-only", e))?;
        }
        let names: Vec<String> = (1..=COLUMNS.len()).map(|i| format!("c{i}")).collect();
        let casts: Vec<String> = COLUMNS
            .iter()
            .enumerate()
            .map(|(i, c)| match *c {
                "ts_micros" => format!("${}::bigint[]", i + 1),
                _ => format!("${}::text[]", i + 1),
            })
            .collect();
        let select: Vec<String> = COLUMNS
            .iter()
            .zip(&names)
            .map(|(c, n)| {
                if *c == "payload" {
                    format!("{n}::jsonb")
                } else {
                    n.clone()
                }
            })
            .collect();
        let insert_sql = format!(
            "INSERT INTO agent_events ({}) SELECT {} FROM unnest({}) AS t({}) ON CONFLICT (event_id) DO NOTHING",
            COLUMNS.join(", "),
            select.join(", "),
            casts.join(", "),
            names.join(", ")
        );
        Ok(Pg {
            client,
            url: url.to_owned(),
            insert_sql,
            copy_stmt: None,
            copy_buf: Vec::new(),
            read_only,
            v1: false,
        })
    }

    /// A new connection after the old one broke (the server restarted, or
    /// the backend was terminated).
    pub(crate) fn reconnect(&mut self) -> Result<(), StoreError> {
        self.copy_stmt = None;
        self.client = Client::connect(&self.url, NoTls).map_err(|e| StoreError::Open {
            url: redact(&self.url),
            message: e.to_string(),
        })?;
        if self.read_only {
            self.client
                .batch_execute(READ_ONLY)
                .map_err(|e| err("opening read-only", e))?;
        }
        Ok(())
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// The schema version found (0: none); creates nothing.
    pub(crate) fn version(&mut self) -> Result<i64, StoreError> {
        let exists: bool = self
            .client
            .query_one("SELECT to_regclass('fcc_schema_version') IS NOT NULL", &[])
            .map(|r| r.get(0))
            .map_err(|e| err("schema version", e))?;
        if !exists {
            return Ok(0);
        }
        self.client
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM fcc_schema_version",
                &[],
            )
            .map(|r| r.get(0))
            .map_err(|e| err("schema version", e))
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let mut tx = self.client.transaction().map_err(|e| err("migration", e))?;
        // Two processes opening one database migrate one after the other.
        tx.execute("SELECT pg_advisory_xact_lock(7746501)", &[])
            .map_err(|e| err("migration", e))?;
        tx.batch_execute(VERSION_TABLE)
            .map_err(|e| err("migration", e))?;
        let current: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM fcc_schema_version",
                &[],
            )
            .map(|r| r.get(0))
            .map_err(|e| err("migration", e))?;
        for (version, statements) in migrations(Dialect::Postgres) {
            if version <= current {
                continue;
            }
            for sql in statements {
                tx.batch_execute(&sql)
                    .map_err(|e| err(&format!("migration {version}"), e))?;
            }
            tx.execute(
                "INSERT INTO fcc_schema_version (version) VALUES ($1)",
                &[&version],
            )
            .map_err(|e| err("migration", e))?;
        }
        tx.commit().map_err(|e| err("migration", e))
    }

    /// Writes a batch (one transaction); returns how many rows were new and
    /// how many payloads were replaced. Binary COPY first; a batch holding
    /// an event already stored goes again through [`Pg::insert_skipping`].
    pub(crate) fn insert(&mut self, events: &[Event]) -> Result<(usize, usize), StoreError> {
        // A COPY that did not finish (refused before copy mode, a row
        // already stored, any error mid-stream) leaves the connection a
        // response out of step (rust-postgres #789: copy_in sends two
        // Syncs): its next statement would read the previous one's answer,
        // and a later batch could look committed when it is not. The
        // connection is replaced after every failed COPY; failures are rare
        // (a retry after a lost commit, a replay), so this costs nothing in
        // a steady stream.
        match self.copy(events) {
            Ok(done) => Ok(done),
            Err(CopyFailure::Duplicate) => {
                self.reconnect()?;
                self.insert_skipping(events)
            }
            Err(CopyFailure::Refused(e)) => {
                let failure = err("copy", e);
                let _ = self.reconnect();
                Err(failure)
            }
            Err(CopyFailure::Failed(e)) => {
                let _ = self.reconnect();
                Err(e)
            }
        }
    }

    /// One binary COPY of the batch (its own transaction: all rows or none).
    fn copy(&mut self, events: &[Event]) -> Result<(usize, usize), CopyFailure> {
        /// Sent to the server as the buffer reaches this, so that it works
        /// on the rows while the next ones are encoded.
        const CHUNK: usize = 256 << 10;
        let stmt = match &self.copy_stmt {
            Some(s) => s.clone(),
            None => {
                let sql = format!(
                    "COPY agent_events ({}) FROM STDIN (FORMAT binary)",
                    COLUMNS.join(", ")
                );
                let s = self.client.prepare(&sql).map_err(CopyFailure::from)?;
                self.copy_stmt = Some(s.clone());
                s
            }
        };
        // In an explicit transaction: the batch counts as stored only once
        // its COMMIT is answered, a round trip of its own after the COPY.
        let mut tx = self.client.transaction().map_err(CopyFailure::from)?;
        let mut writer = match tx.copy_in(&stmt) {
            Ok(w) => w,
            Err(e) => return Err(CopyFailure::Refused(e)),
        };
        let mut buf = std::mem::take(&mut self.copy_buf);
        buf.clear();
        buf.extend_from_slice(pg_copy::HEADER);
        let mut dropped = 0;
        let mut result = Ok(());
        for e in events {
            let row = to_row(e);
            dropped += usize::from(row.payload_dropped);
            pg_copy::row(&mut buf, &row);
            if buf.len() >= CHUNK {
                result = writer.write_all(&buf).map_err(CopyFailure::from_io);
                buf.clear();
                if result.is_err() {
                    break;
                }
            }
        }
        let result = result.and_then(|()| {
            buf.extend_from_slice(pg_copy::TRAILER);
            writer.write_all(&buf).map_err(CopyFailure::from_io)?;
            writer.finish().map_err(CopyFailure::from)
        });
        let result = result.and_then(|n| tx.commit().map(|()| n).map_err(CopyFailure::from));
        if buf.capacity() <= 4 * CHUNK {
            self.copy_buf = buf;
        }
        result.map(|n| (n as usize, dropped))
    }

    /// The batch as one `INSERT ... ON CONFLICT (event_id) DO NOTHING` in
    /// one transaction: rows already stored are skipped (and not counted new).
    fn insert_skipping(&mut self, events: &[Event]) -> Result<(usize, usize), StoreError> {
        let mut dropped = 0;
        let mut ts: Vec<i64> = Vec::with_capacity(events.len());
        let mut cols: Vec<Vec<Option<String>>> =
            (0..18).map(|_| Vec::with_capacity(events.len())).collect();
        for e in events {
            let row = to_row(e);
            dropped += usize::from(row.payload_dropped);
            ts.push(row.ts_micros);
            for (i, col) in cols.iter_mut().enumerate() {
                col.push(row.text_at(i).map(|s| pg_copy::pg_str(s).into_owned()));
            }
        }
        let mut params: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(COLUMNS.len());
        params.push(&cols[0]);
        params.push(&ts);
        for c in &cols[1..] {
            params.push(c);
        }
        let mut tx = self.client.transaction().map_err(|e| err("begin", e))?;
        let stmt = tx
            .prepare(&self.insert_sql)
            .map_err(|e| err("prepare", e))?;
        let n = tx.execute(&stmt, &params).map_err(|e| err("insert", e))?;
        tx.commit().map_err(|e| err("commit", e))?;
        Ok((n as usize, dropped))
    }

    pub(crate) fn query(
        &mut self,
        q: &EventQuery,
        after: Option<(i64, String)>,
    ) -> Result<Vec<Event>, StoreError> {
        let (sql, params, ncols) = q.select_sql(Dialect::Postgres, after, self.v1);
        let owned: Vec<Box<dyn ToSql + Sync>> = params
            .into_iter()
            .map(|p| -> Box<dyn ToSql + Sync> {
                match p {
                    Param::Int(i) => Box::new(i),
                    Param::Text(t) => Box::new(t),
                }
            })
            .collect();
        let refs: Vec<&(dyn ToSql + Sync)> = owned.iter().map(|b| b.as_ref()).collect();
        let rows = self
            .client
            .query(&sql, &refs)
            .map_err(|e| err("query", e))?;
        rows.iter()
            .map(|r| {
                let text: Vec<Option<String>> = (0..ncols).map(|i| r.get(i)).collect();
                from_text(&text).map_err(|m| StoreError::Corrupt { message: m })
            })
            .collect()
    }

    pub(crate) fn delete_before(&mut self, micros: i64) -> Result<usize, StoreError> {
        self.client
            .execute("DELETE FROM agent_events WHERE ts_micros < $1", &[&micros])
            .map(|n| n as usize)
            .map_err(|e| err("retention", e))
    }

    pub(crate) fn keep_newest(&mut self, n: usize) -> Result<usize, StoreError> {
        self.client
            .execute(
                "DELETE FROM agent_events WHERE event_id IN (SELECT event_id FROM agent_events
                 ORDER BY ts_micros DESC, event_id DESC OFFSET $1)",
                &[&crate::query::sql_count(n)],
            )
            .map(|n| n as usize)
            .map_err(|e| err("retention", e))
    }

    pub(crate) fn count(&mut self) -> Result<u64, StoreError> {
        self.client
            .query_one("SELECT COUNT(*) FROM agent_events", &[])
            .map(|r| r.get::<_, i64>(0) as u64)
            .map_err(|e| err("count", e))
    }
}

#[cfg(test)]
mod tests {
    use super::transient_sqlstate;

    #[test]
    fn sqlstates_by_class() {
        for code in [
            "57P01", "57P02", "57P03", "08006", "08001", "40001", "40P01", "53300", "53100",
            "58030", "55P03",
        ] {
            assert!(transient_sqlstate(code), "{code}");
        }
        for code in ["23505", "22001", "42P01", "42501", "28P01", "XX000"] {
            assert!(!transient_sqlstate(code), "{code}");
        }
    }
}
