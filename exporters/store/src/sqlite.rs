//! The SQLite backend: one file, WAL, a busy timeout, batches in one
//! transaction each, through prepared multi-row INSERTs of 100, 10 and 1
//! rows bound without copies (`sqlite_insert`).

use std::path::Path;
use std::time::Duration;

use fcc::Event;
use rusqlite::{params_from_iter, Connection, OpenFlags, ToSql};

use crate::query::{EventQuery, Param};
use crate::row::{from_text, to_row, COLUMNS};
use crate::schema::{migrations, Dialect, VERSION_TABLE};
use crate::sqlite_insert::RawInsert;
use crate::StoreError;

pub(crate) struct Sqlite {
    /// The prepared INSERTs, largest first (none until the first batch).
    /// Declared before `conn`: they are finalized before it closes.
    inserts: Vec<RawInsert>,
    conn: Connection,
    /// A version 1 table, read as it is (no trace or span id columns).
    v1: bool,
}

/// Rows per multi-row INSERT, largest first (19 parameters a row: 1,900
/// for the largest, well under SQLite's limit of 32,766). A batch goes in
/// as many 100-row statements as fit, then 10-row ones, then single rows.
const STATEMENT_ROWS: [usize; 3] = [100, 10, 1];

pub(crate) fn insert_sql(rows: usize) -> String {
    let one = |r: usize| {
        let base = r * COLUMNS.len();
        format!(
            "({})",
            (1..=COLUMNS.len())
                .map(|i| format!("?{}", base + i))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    format!(
        "INSERT OR IGNORE INTO agent_events ({}) VALUES {}",
        COLUMNS.join(", "),
        (0..rows).map(one).collect::<Vec<_>>().join(", ")
    )
}

fn err(what: &str, e: rusqlite::Error) -> StoreError {
    let busy = matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    );
    StoreError::Database {
        what: what.to_owned(),
        message: e.to_string(),
        transient: busy,
    }
}

impl Sqlite {
    pub(crate) fn open(path: Option<&Path>) -> Result<Sqlite, StoreError> {
        let conn = match path {
            None => Connection::open_in_memory(),
            Some(p) => {
                if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
                        url: format!("sqlite://{}", p.display()),
                        message: e.to_string(),
                    })?;
                }
                // No mutex: the connection is used by one thread at a time
                // (it is `!Sync`; the store and the sink own theirs).
                Connection::open_with_flags(
                    p,
                    OpenFlags::SQLITE_OPEN_READ_WRITE
                        | OpenFlags::SQLITE_OPEN_CREATE
                        | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
            }
        }
        .map_err(|e| StoreError::Open {
            url: path.map_or("sqlite::memory:".into(), |p| {
                format!("sqlite://{}", p.display())
            }),
            message: e.to_string(),
        })?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(|e| err("busy timeout", e))?;
        // 32 KiB pages for a new file (ignored for an existing one): batches
        // touch fewer pages and split fewer B-tree nodes per row; measured,
        // 83k events/s at 4 KiB with every other change, 201k at 32 KiB.
        conn.pragma_update(None, "page_size", 32_768)
            .map_err(|e| err("page_size", e))?;
        if path.is_some() {
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(|e| err("journal_mode=WAL", e))?;
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| err("synchronous", e))?;
        // Eleven B-trees change per row: a 64 MiB page cache keeps them warm.
        conn.pragma_update(None, "cache_size", -65_536)
            .map_err(|e| err("cache_size", e))?;
        // The WAL stays bounded: a checkpoint every 1,024 pages (32 MiB),
        // and a WAL that grew past 64 MiB (a long reader held a checkpoint
        // off) is cut back after the next one. It used to checkpoint every
        // 16,384 pages, and the WAL reached 512 MiB in a long demo for no
        // gain in throughput (exporters/store/benches/store.rs shows both).
        // Pages are read through a memory map.
        if path.is_some() {
            conn.pragma_update(None, "wal_autocheckpoint", 1_024)
                .map_err(|e| err("wal_autocheckpoint", e))?;
            conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)
                .map_err(|e| err("journal_size_limit", e))?;
            let _ = conn.pragma_update(None, "mmap_size", 268_435_456i64);
        }
        let mut s = Sqlite {
            inserts: Vec::new(),
            conn,
            v1: false,
        };
        s.migrate()?;
        Ok(s)
    }

    /// Opens an existing file read-only: nothing is created (not even its
    /// directory), written or migrated.
    pub(crate) fn open_read_only(path: Option<&Path>) -> Result<Sqlite, StoreError> {
        let Some(p) = path else {
            return Err(StoreError::NotFound {
                url: "sqlite::memory:".into(),
                message: "an in-memory database starts empty, so agent_events was not found".into(),
            });
        };
        let url = format!("sqlite://{}", p.display());
        let not_found = |message: String| StoreError::NotFound {
            url: url.clone(),
            message,
        };
        match std::fs::metadata(p) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(not_found(format!("the file {} was not found", p.display())))
            }
            Ok(m) if m.is_file() && m.len() == 0 => {
                return Err(not_found(format!(
                    "the file {} is empty, so agent_events was not found",
                    p.display()
                )))
            }
            _ => {}
        }
        let conn = Connection::open_with_flags(
            p,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StoreError::Open {
            url: url.clone(),
            message: e.to_string(),
        })?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(|e| err("busy timeout", e))?;
        conn.pragma_update(None, "cache_size", -65_536)
            .map_err(|e| err("cache_size", e))?;
        let _ = conn.pragma_update(None, "mmap_size", 268_435_456i64);
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info('agent_events')")
            .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
            .map_err(|e| StoreError::Open {
                url: url.clone(),
                message: e.to_string(),
            })?;
        if columns.is_empty() {
            return Err(not_found(format!(
                "agent_events was not found in the file {}",
                p.display()
            )));
        }
        Ok(Sqlite {
            inserts: Vec::new(),
            conn,
            v1: !columns.iter().any(|c| c == "trace_id"),
        })
    }

    /// The schema version found (0: none); creates nothing.
    pub(crate) fn version(&self) -> Result<i64, StoreError> {
        let exists: bool = self
            .conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'fcc_schema_version')",
                [],
                |r| r.get(0),
            )
            .map_err(|e| err("schema version", e))?;
        if !exists {
            return Ok(0);
        }
        self.conn
            .query_row(
                "SELECT COALESCE(MAX(version), 0) FROM fcc_schema_version",
                [],
                |r| r.get(0),
            )
            .map_err(|e| err("schema version", e))
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| err("migration", e))?;
        tx.execute(VERSION_TABLE, [])
            .map_err(|e| err("migration", e))?;
        let current: i64 = tx
            .query_row(
                "SELECT COALESCE(MAX(version), 0) FROM fcc_schema_version",
                [],
                |r| r.get(0),
            )
            .map_err(|e| err("migration", e))?;
        for (version, statements) in migrations(Dialect::Sqlite) {
            if version <= current {
                continue;
            }
            for sql in statements {
                tx.execute(&sql, [])
                    .map_err(|e| err(&format!("migration {version}"), e))?;
            }
            tx.execute(
                "INSERT INTO fcc_schema_version (version) VALUES (?1)",
                [version],
            )
            .map_err(|e| err("migration", e))?;
        }
        tx.commit().map_err(|e| err("migration", e))
    }

    /// Writes a batch in one transaction (see [`STATEMENT_ROWS`]); returns
    /// how many rows were new and how many payloads were replaced.
    pub(crate) fn insert(&mut self, events: &[Event]) -> Result<(usize, usize), StoreError> {
        let rows: Vec<_> = events.iter().map(to_row).collect();
        let dropped = rows.iter().filter(|r| r.payload_dropped).count();
        if self.inserts.is_empty() {
            self.inserts = STATEMENT_ROWS
                .iter()
                .map(|&n| RawInsert::prepare(&self.conn, n))
                .collect::<Result<_, _>>()
                .map_err(|e| err("prepare", e))?;
        }
        let tx = self.conn.transaction().map_err(|e| err("begin", e))?;
        let mut new = 0;
        let mut rest = &rows[..];
        for insert in &mut self.inserts {
            let n = insert.rows();
            while rest.len() >= n {
                new += insert.execute(&rest[..n]).map_err(|e| err("insert", e))?;
                rest = &rest[n..];
            }
        }
        tx.commit().map_err(|e| err("commit", e))?;
        Ok((new, dropped))
    }

    pub(crate) fn query(
        &self,
        q: &EventQuery,
        after: Option<(i64, String)>,
    ) -> Result<Vec<Event>, StoreError> {
        let (sql, params, ncols) = q.select_sql(Dialect::Sqlite, after, self.v1);
        let mut stmt = self.conn.prepare(&sql).map_err(|e| err("query", e))?;
        let values: Vec<Box<dyn ToSql>> = params
            .into_iter()
            .map(|p| -> Box<dyn ToSql> {
                match p {
                    Param::Int(i) => Box::new(i),
                    Param::Text(t) => Box::new(t),
                }
            })
            .collect();
        let rows = stmt
            .query_map(params_from_iter(values.iter()), |r| {
                (0..ncols)
                    .map(|i| r.get::<_, Option<String>>(i))
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(|e| err("query", e))?;
        let mut out = Vec::new();
        for row in rows {
            let row = row.map_err(|e| err("query", e))?;
            out.push(from_text(&row).map_err(|m| StoreError::Corrupt { message: m })?);
        }
        Ok(out)
    }

    pub(crate) fn delete_before(&mut self, micros: i64) -> Result<usize, StoreError> {
        self.conn
            .execute("DELETE FROM agent_events WHERE ts_micros < ?1", [micros])
            .map_err(|e| err("retention", e))
    }

    pub(crate) fn keep_newest(&mut self, n: usize) -> Result<usize, StoreError> {
        self.conn
            .execute(
                "DELETE FROM agent_events WHERE event_id IN (SELECT event_id FROM agent_events
                 ORDER BY ts_micros DESC, event_id DESC LIMIT -1 OFFSET ?1)",
                [crate::query::sql_count(n)],
            )
            .map_err(|e| err("retention", e))
    }

    pub(crate) fn count(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row("SELECT COUNT(*) FROM agent_events", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n as u64)
            .map_err(|e| err("count", e))
    }
}
