//! `fcc-store`: fcc events in a durable `agent_events` table, SQLite (the
//! embedded default) or Postgres.
//!
//! - [`StoreSink`] is a [`fcc::sinks::Sink`]: it runs on the sink runtime's
//!   worker, so the emitting thread never waits for the database, and writes
//!   each batch in one transaction (idempotent by `event_id`).
//! - [`EventStore`] reads them back: [`EventQuery`] by time range, type,
//!   category, source, severity, correlation keys and trace id, newest first;
//!   [`EventStore::stream`] pages through large results.
//! - The schema is versioned ([`SCHEMA_VERSION`]); migrations run on open.
//!   [`EventStore::open_read_only`] is for readers: it never creates, writes
//!   or migrates a store, and reads an older schema as it is.
//!
//! ```
//! use fcc::{Event, EventType};
//! use fcc_store::{EventQuery, EventStore};
//!
//! let store = EventStore::open("sqlite::memory:").unwrap();
//! store.insert(&[Event::builder(EventType::ActionFailed, "ActionEngine").correlation_id("run-42").build()]).unwrap();
//! let found = store.query(&EventQuery::new().correlation_id("run-42")).unwrap();
//! assert_eq!(found[0].event_type(), &EventType::ActionFailed);
//! ```
//!
//! # The `agent_events` table
//!
//! One column per field of the event model (`event_id` is the primary key,
//! `timestamp` as RFC 3339 text plus `ts_micros` for ordering and ranges,
//! `payload` as JSON text in SQLite and `jsonb` in Postgres, `trace_id`,
//! `span_id`), and the legacy flat `event` column: see [`legacy_event_name`].
//!
//! # Bad input
//!
//! | input | answer |
//! |---|---|
//! | an unknown URL scheme, an empty path, a NUL byte in the URL | [`StoreError::Url`] |
//! | an unreachable database, an unwritable path | [`StoreError::Open`] naming the URL, password redacted |
//! | a NUL byte in a field (Postgres text cannot hold one) | stored as U+FFFD in Postgres, as is in SQLite |
//! | a payload over [`MAX_PAYLOAD_BYTES`] | stored as `{"fcc_payload_dropped": <bytes>}`, counted in [`StoreStats::payloads_dropped`] |
//! | a database that goes away mid-run | the batch is retried with backoff (reconnecting), then counted failed by the sink runtime |

mod pg_copy;
mod postgres;
mod query;
mod row;
mod schema;
mod sink;
mod sqlite;
mod sqlite_insert;
mod url;

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use fcc::{Event, Timestamp};

pub use query::EventQuery;
pub use row::{legacy_event_name, MAX_PAYLOAD_BYTES};
pub use schema::SCHEMA_VERSION;
pub use sink::{Retention, StoreSink, StoreStats, StoreStatsHandle, StoreTelemetryExt};
pub use url::{redact, StoreUrl, UrlError};

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// The URL is not a store URL.
    Url(UrlError),
    /// The database could not be opened or reached.
    Open {
        /// The URL, password redacted.
        url: String,
        /// Why.
        message: String,
    },
    /// A statement failed.
    Database {
        /// What was being done.
        what: String,
        /// The database's message.
        message: String,
        /// True when trying again may work (busy, locked, connection lost).
        transient: bool,
    },
    /// No store there: a missing or empty SQLite file, or a database
    /// without `agent_events` (only [`EventStore::open_read_only`], which
    /// never creates one, answers this).
    NotFound {
        /// The URL, password redacted.
        url: String,
        /// What was found instead.
        message: String,
    },
    /// A stored row could not be read back as an event.
    Corrupt {
        /// Which column and why.
        message: String,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Url(e) => e.fmt(f),
            StoreError::Open { url, message } => write!(f, "cannot open store {url}: {message}"),
            StoreError::NotFound { url, message } => write!(f, "no store at {url}: {message}"),
            StoreError::Database { what, message, .. } => {
                write!(f, "store {what} failed: {message}")
            }
            StoreError::Corrupt { message } => {
                write!(f, "unreadable row in agent_events: {message}")
            }
        }
    }
}

impl std::error::Error for StoreError {}

/// Why [`init`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum InitError {
    /// The telemetry set-up (see [`fcc::InstallError`]).
    Install(fcc::InstallError),
    /// The store named by `FCC_STORE_URL`.
    Store(StoreError),
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::Install(e) => e.fmt(f),
            InitError::Store(e) => write!(f, "FCC_STORE_URL: {e}"),
        }
    }
}

impl std::error::Error for InitError {}

/// [`fcc::init`] plus the store: telemetry from the `OTEL_*`/`FCC_*`
/// variables, with a StoreSink when `FCC_STORE_URL` is set, installed as the
/// process-wide subscriber.
pub fn init() -> Result<fcc::Telemetry, InitError> {
    fcc::TelemetryBuilder::from_env()
        .map_err(InitError::Install)?
        .store_from_env()
        .map_err(InitError::Store)?
        .install()
        .map_err(InitError::Install)
}

pub(crate) enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(Box<postgres::Pg>),
}

impl Backend {
    pub(crate) fn open(url: &str) -> Result<Backend, StoreError> {
        match StoreUrl::parse(url).map_err(StoreError::Url)? {
            StoreUrl::Sqlite(path) => Ok(Backend::Sqlite(sqlite::Sqlite::open(path.as_deref())?)),
            StoreUrl::Postgres(u) => Ok(Backend::Postgres(Box::new(postgres::Pg::open(&u)?))),
        }
    }

    fn open_read_only(url: &str) -> Result<Backend, StoreError> {
        match StoreUrl::parse(url).map_err(StoreError::Url)? {
            StoreUrl::Sqlite(path) => Ok(Backend::Sqlite(sqlite::Sqlite::open_read_only(
                path.as_deref(),
            )?)),
            StoreUrl::Postgres(u) => Ok(Backend::Postgres(Box::new(postgres::Pg::open_read_only(
                &u,
            )?))),
        }
    }

    pub(crate) fn insert(&mut self, events: &[Event]) -> Result<(usize, usize), StoreError> {
        match self {
            Backend::Sqlite(s) => s.insert(events),
            Backend::Postgres(p) => {
                if p.is_closed() {
                    p.reconnect()?;
                }
                p.insert(events)
            }
        }
    }

    pub(crate) fn reconnect(&mut self) -> Result<(), StoreError> {
        match self {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(p) => p.reconnect(),
        }
    }

    fn query(
        &mut self,
        q: &EventQuery,
        after: Option<(i64, String)>,
    ) -> Result<Vec<Event>, StoreError> {
        match self {
            Backend::Sqlite(s) => s.query(q, after),
            Backend::Postgres(p) => p.query(q, after),
        }
    }

    pub(crate) fn delete_before(&mut self, micros: i64) -> Result<usize, StoreError> {
        match self {
            Backend::Sqlite(s) => s.delete_before(micros),
            Backend::Postgres(p) => p.delete_before(micros),
        }
    }

    pub(crate) fn keep_newest(&mut self, n: usize) -> Result<usize, StoreError> {
        match self {
            Backend::Sqlite(s) => s.keep_newest(n),
            Backend::Postgres(p) => p.keep_newest(n),
        }
    }

    fn count(&mut self) -> Result<u64, StoreError> {
        match self {
            Backend::Sqlite(s) => s.count(),
            Backend::Postgres(p) => p.count(),
        }
    }

    fn version(&mut self) -> Result<i64, StoreError> {
        match self {
            Backend::Sqlite(s) => s.version(),
            Backend::Postgres(p) => p.version(),
        }
    }
}

/// Reads (and, for tools and tests, writes) `agent_events`.
pub struct EventStore {
    backend: Mutex<Backend>,
}

impl fmt::Debug for EventStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EventStore")
    }
}

impl EventStore {
    /// Opens (and migrates) the store at `url`.
    pub fn open(url: &str) -> Result<EventStore, StoreError> {
        Ok(EventStore {
            backend: Mutex::new(Backend::open(url)?),
        })
    }

    /// Opens the existing store at `url` to read it: nothing is created,
    /// written or migrated (SQLite opens the file read-only; Postgres
    /// sessions are read-only). A missing or empty SQLite file, an in-memory
    /// database or a database without `agent_events` is
    /// [`StoreError::NotFound`]. A store of an older schema is read as it is
    /// (version 1 has no trace or span ids: they read as none).
    ///
    /// ```
    /// use fcc_store::{EventStore, StoreError};
    /// let e = EventStore::open_read_only("sqlite://no/such/events.db").unwrap_err();
    /// assert!(matches!(e, StoreError::NotFound { .. }));
    /// assert!(!std::path::Path::new("no/such").exists());
    /// ```
    pub fn open_read_only(url: &str) -> Result<EventStore, StoreError> {
        Ok(EventStore {
            backend: Mutex::new(Backend::open_read_only(url)?),
        })
    }

    fn with<R>(
        &self,
        f: impl FnOnce(&mut Backend) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let mut b = self.backend.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut b)
    }

    /// Writes events (one transaction; events already stored are skipped).
    /// Returns how many were new.
    pub fn insert(&self, events: &[Event]) -> Result<usize, StoreError> {
        self.with(|b| b.insert(events).map(|(new, _)| new))
    }

    /// The events matching `query`, newest first.
    pub fn query(&self, query: &EventQuery) -> Result<Vec<Event>, StoreError> {
        self.with(|b| b.query(query, None))
    }

    /// Every event matching `query` (its limit is the page size), newest
    /// first, fetched a page at a time.
    pub fn stream<'a>(
        &'a self,
        query: &EventQuery,
    ) -> impl Iterator<Item = Result<Event, StoreError>> + 'a {
        let page = query.clone().limit(query.limit.unwrap_or(1000).max(1));
        let mut after: Option<(i64, String)> = None;
        let mut buf = std::collections::VecDeque::new();
        let mut done = false;
        std::iter::from_fn(move || {
            if buf.is_empty() && !done {
                match self.with(|b| b.query(&page, after.clone())) {
                    Ok(events) => {
                        done = events.len() < page.limit.unwrap_or(1000);
                        if let Some(last) = events.last() {
                            after =
                                Some((last.timestamp().unix_micros(), last.event_id().to_string()));
                        }
                        buf.extend(events.into_iter().map(Ok));
                    }
                    Err(e) => {
                        done = true;
                        buf.push_back(Err(e));
                    }
                }
            }
            buf.pop_front()
        })
    }

    /// How many events are stored.
    pub fn count(&self) -> Result<u64, StoreError> {
        self.with(Backend::count)
    }

    /// The schema version of the store.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.with(Backend::version)
    }

    /// Deletes events older than `age`; returns how many.
    pub fn delete_older_than(&self, age: Duration) -> Result<usize, StoreError> {
        let cutoff = Timestamp::now().unix_micros() - age.as_micros() as i64;
        self.with(|b| b.delete_before(cutoff))
    }

    /// Keeps the newest `n` events, deletes the rest; returns how many.
    pub fn keep_newest(&self, n: usize) -> Result<usize, StoreError> {
        self.with(|b| b.keep_newest(n))
    }
}
