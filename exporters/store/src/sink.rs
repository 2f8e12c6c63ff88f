//! [`StoreSink`]: the sink that writes `agent_events`, and the `Telemetry`
//! builder's `.store(url)`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fcc::sinks::{Sink, SinkError};
use fcc::{Event, TelemetryBuilder, Timestamp};

use crate::{Backend, StoreError};

/// What to delete, on a schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Retention {
    /// Events older than this.
    OlderThan(Duration),
    /// All but the newest this many.
    KeepNewest(usize),
}

#[derive(Default)]
struct Counters {
    inserted: AtomicU64,
    duplicates: AtomicU64,
    payloads_dropped: AtomicU64,
    retries: AtomicU64,
    reconnects: AtomicU64,
    retention_deleted: AtomicU64,
}

/// What a [`StoreSink`] did, readable while it runs (the sink runtime's
/// [`SinkStats`](fcc::sinks::SinkStats) count batches written, failed and dropped).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreStats {
    /// Rows inserted.
    pub inserted: u64,
    /// Events already stored (a retried batch, a replay): skipped.
    pub duplicates: u64,
    /// Payloads over [`MAX_PAYLOAD_BYTES`](crate::MAX_PAYLOAD_BYTES) replaced by their size.
    pub payloads_dropped: u64,
    /// Batch attempts that failed and were tried again.
    pub retries: u64,
    /// New database connections after a lost one.
    pub reconnects: u64,
    /// Rows deleted by retention.
    pub retention_deleted: u64,
}

/// A handle on a [`StoreSink`]'s counters, kept after the sink is attached.
#[derive(Clone)]
pub struct StoreStatsHandle(Arc<Counters>);

impl StoreStatsHandle {
    /// The counters now.
    pub fn get(&self) -> StoreStats {
        let c = &self.0;
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StoreStats {
            inserted: g(&c.inserted),
            duplicates: g(&c.duplicates),
            payloads_dropped: g(&c.payloads_dropped),
            retries: g(&c.retries),
            reconnects: g(&c.reconnects),
            retention_deleted: g(&c.retention_deleted),
        }
    }
}

/// Persists events to `agent_events` (the Go seed's StoreSink: persistence
/// only, it never logs). Each batch is one transaction; a batch that fails
/// for a reason that may pass (busy, locked, connection lost) is tried again
/// with backoff from 50 ms, reconnecting, for up to 30 s by default; the
/// sink runtime's bounded queue meanwhile drops and counts what does not fit.
pub struct StoreSink {
    backend: Backend,
    counters: Arc<Counters>,
    retry_for: Duration,
    retention: Option<(Retention, Duration, Instant)>,
}

impl StoreSink {
    /// Opens (and migrates) the store; an unreachable database or a bad URL
    /// is an error now, not later.
    pub fn open(url: &str) -> Result<StoreSink, StoreError> {
        Ok(StoreSink {
            backend: Backend::open(url)?,
            counters: Arc::new(Counters::default()),
            retry_for: Duration::from_secs(30),
            retention: None,
        })
    }

    /// How long a failing batch is retried before the runtime counts it failed.
    pub fn retry_for(mut self, d: Duration) -> Self {
        self.retry_for = d;
        self
    }

    /// Applies `retention` now and then every `every`, on the sink's worker.
    pub fn retention(mut self, retention: Retention, every: Duration) -> Self {
        self.retention = Some((retention, every, Instant::now() - every));
        self
    }

    /// The sink's counters, readable after it is attached.
    pub fn stats(&self) -> StoreStatsHandle {
        StoreStatsHandle(Arc::clone(&self.counters))
    }

    fn apply_retention(&mut self) {
        let Some((rule, every, last)) = self.retention else {
            return;
        };
        if last.elapsed() < every {
            return;
        }
        let deleted = match rule {
            Retention::OlderThan(age) => {
                let cutoff = Timestamp::now().unix_micros() - age.as_micros() as i64;
                self.backend.delete_before(cutoff)
            }
            Retention::KeepNewest(n) => self.backend.keep_newest(n),
        };
        if let Ok(n) = deleted {
            self.counters
                .retention_deleted
                .fetch_add(n as u64, Ordering::Relaxed);
        }
        self.retention = Some((rule, every, Instant::now()));
    }
}

impl Sink for StoreSink {
    fn name(&self) -> &str {
        "store"
    }

    /// Retention also runs while no events arrive.
    fn idle(&mut self) {
        self.apply_retention();
    }

    /// Wakes when retention is next due; never without retention.
    fn idle_interval(&self) -> Option<Duration> {
        self.retention.map(|(_, every, last)| {
            every
                .saturating_sub(last.elapsed())
                .max(Duration::from_millis(10))
        })
    }

    fn write(&mut self, batch: &[Event]) -> Result<(), SinkError> {
        let mut backoff =
            fcc::export::Backoff::new(Duration::from_millis(50), Duration::from_secs(2))
                .within(self.retry_for);
        loop {
            match self.backend.insert(batch) {
                Ok((new, dropped)) => {
                    let c = &self.counters;
                    c.inserted.fetch_add(new as u64, Ordering::Relaxed);
                    c.duplicates
                        .fetch_add((batch.len() - new) as u64, Ordering::Relaxed);
                    c.payloads_dropped
                        .fetch_add(dropped as u64, Ordering::Relaxed);
                    self.apply_retention();
                    return Ok(());
                }
                Err(
                    StoreError::Database {
                        transient: true, ..
                    }
                    | StoreError::Open { .. },
                ) if backoff.wait() => {
                    self.counters.retries.fetch_add(1, Ordering::Relaxed);
                    if self.backend.reconnect().is_ok() {
                        self.counters.reconnects.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Err(e) => return Err(SinkError::new(e)),
            }
        }
    }
}

/// `.store(url)` on the `Telemetry` builder (the Go seed's control plane:
/// LogSink always, StoreSink when a store is configured).
pub trait StoreTelemetryExt: Sized {
    /// Attaches a [`StoreSink`] for `url`; opening it is checked now. It
    /// gets the builder's sink options (capacity, drop policy:
    /// `FCC_QUEUE_CAPACITY`, `FCC_DROP_POLICY`, `.sink_options(...)`), like
    /// every built-in sink.
    fn store(self, url: &str) -> Result<Self, StoreError>;
    /// Attaches one when `FCC_STORE_URL` is set.
    fn store_from_env(self) -> Result<Self, StoreError>;
}

impl StoreTelemetryExt for TelemetryBuilder {
    fn store(self, url: &str) -> Result<Self, StoreError> {
        Ok(self.sink_with_defaults(StoreSink::open(url)?))
    }

    fn store_from_env(self) -> Result<Self, StoreError> {
        match std::env::var("FCC_STORE_URL") {
            Ok(url) if !url.trim().is_empty() => self.store(&url),
            _ => Ok(self),
        }
    }
}
