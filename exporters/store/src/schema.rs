//! The `agent_events` schema and its versioned migrations.
//!
//! Indexes: time; type, source and each correlation key with time (the
//! optional keys and `trace_id` as partial indexes, so events without them
//! cost nothing to index). Severity and category are few-valued: their
//! queries filter the time index instead of paying an index on every insert.
//!
//! Each migration runs once, in order, inside one transaction with the
//! version bump, so opening a store of any older version brings it up to
//! date, and opening a current one changes nothing.

/// SQL dialect differences.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = 2;

/// Migrations: `(version, statements)`; version N takes the store from N-1 to N.
pub(crate) fn migrations(d: Dialect) -> Vec<(i64, Vec<String>)> {
    let payload = match d {
        Dialect::Sqlite => "TEXT NOT NULL DEFAULT '{}'",
        Dialect::Postgres => "JSONB NOT NULL DEFAULT '{}'::jsonb",
    };
    vec![
        (
            1,
            vec![
                format!(
                    "CREATE TABLE IF NOT EXISTS agent_events (
                        event_id TEXT PRIMARY KEY,
                        ts_micros BIGINT NOT NULL,
                        timestamp TEXT NOT NULL,
                        event_type TEXT NOT NULL,
                        category TEXT NOT NULL,
                        source TEXT NOT NULL,
                        resource TEXT,
                        action TEXT,
                        outcome TEXT,
                        severity TEXT NOT NULL,
                        correlation_id TEXT,
                        task TEXT,
                        mission_id TEXT,
                        objective_id TEXT,
                        detail TEXT,
                        payload {payload},
                        event TEXT NOT NULL
                    )"
                ),
                "CREATE INDEX IF NOT EXISTS agent_events_ts ON agent_events (ts_micros)".into(),
                "CREATE INDEX IF NOT EXISTS agent_events_type ON agent_events (event_type, ts_micros)".into(),
                "CREATE INDEX IF NOT EXISTS agent_events_corr ON agent_events (correlation_id, ts_micros) WHERE correlation_id IS NOT NULL".into(),
            ],
        ),
        (
            2,
            vec![
                "ALTER TABLE agent_events ADD COLUMN trace_id TEXT".into(),
                "ALTER TABLE agent_events ADD COLUMN span_id TEXT".into(),
                "CREATE INDEX IF NOT EXISTS agent_events_trace ON agent_events (trace_id) WHERE trace_id IS NOT NULL".into(),
                "CREATE INDEX IF NOT EXISTS agent_events_source ON agent_events (source, ts_micros)".into(),
                "CREATE INDEX IF NOT EXISTS agent_events_task ON agent_events (task, ts_micros) WHERE task IS NOT NULL".into(),
                "CREATE INDEX IF NOT EXISTS agent_events_mission ON agent_events (mission_id, ts_micros) WHERE mission_id IS NOT NULL".into(),
                "CREATE INDEX IF NOT EXISTS agent_events_objective ON agent_events (objective_id, ts_micros) WHERE objective_id IS NOT NULL".into(),
            ],
        ),
    ]
}

pub(crate) const VERSION_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS fcc_schema_version (version BIGINT NOT NULL)";
