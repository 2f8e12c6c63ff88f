//! The store filters every reading command shares, and times on the command line.

use std::time::Duration;

use clap::Args;
use fcc::{Severity, Timestamp, TraceId};
use fcc_store::EventQuery;

use crate::error::CliError;

/// Where the demo stores its events, and what reading commands open by default.
pub const DEFAULT_STORE: &str = "sqlite://fcc-demo/events.db";

/// `--store`.
#[derive(Args, Debug, Clone)]
pub struct StoreArg {
    /// The store: sqlite://PATH or postgres://USER@HOST/DB
    #[arg(long, env = "FCC_STORE_URL", default_value = DEFAULT_STORE, value_name = "URL")]
    pub store: String,
}

/// The `EventStore` filters.
#[derive(Args, Debug, Clone, Default)]
pub struct Filters {
    /// Only this event type (repeatable), e.g. protocol.mcp.tool.failed
    #[arg(long = "type", value_name = "TYPE")]
    pub event_type: Vec<String>,
    /// Only this category (repeatable), e.g. protocol
    #[arg(long, value_name = "CATEGORY")]
    pub category: Vec<String>,
    /// Only events from this source
    #[arg(long)]
    pub source: Option<String>,
    /// Only this severity: debug, info, warn or error
    #[arg(long, value_parser = parse_severity)]
    pub severity: Option<Severity>,
    /// Only this correlation id
    #[arg(long, value_name = "ID")]
    pub correlation: Option<String>,
    /// Only this mission id
    #[arg(long, value_name = "ID")]
    pub mission: Option<String>,
    /// Only this trace (32 hex digits)
    #[arg(long, value_name = "TRACE_ID", value_parser = parse_trace)]
    pub trace: Option<TraceId>,
    /// From this time: RFC 3339 (2026-11-22T10:00:00Z) or an age (90s, 15m, 2h, 7d)
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub since: Option<Timestamp>,
    /// Before this time: RFC 3339 or an age
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub until: Option<Timestamp>,
}

impl Filters {
    /// The store query, newest first, at most `limit`.
    pub fn query(&self, limit: usize) -> EventQuery {
        let mut q = EventQuery::new().limit(limit);
        if !self.event_type.is_empty() {
            q = q.event_types(self.event_type.iter().cloned());
        }
        if !self.category.is_empty() {
            q = q.categories(self.category.iter().cloned());
        }
        if let Some(s) = &self.source {
            q = q.source(s.clone());
        }
        if let Some(s) = self.severity {
            q = q.severity(s);
        }
        if let Some(c) = &self.correlation {
            q = q.correlation_id(c.clone());
        }
        if let Some(m) = &self.mission {
            q = q.mission_id(m.clone());
        }
        if let Some(t) = self.trace {
            q = q.trace_id(t);
        }
        if let Some(t) = self.since {
            q = q.since(t);
        }
        if let Some(t) = self.until {
            q = q.until(t);
        }
        q
    }

    /// True when `event` passes these filters (for files, which have no query).
    pub fn matches(&self, e: &fcc::Event) -> bool {
        let ts = e.timestamp();
        (self.event_type.is_empty() || self.event_type.iter().any(|t| t == e.event_type().as_str()))
            && (self.category.is_empty() || self.category.iter().any(|c| c == e.category()))
            && self.source.as_deref().is_none_or(|s| s == e.source())
            && self.severity.is_none_or(|s| s == e.severity())
            && self
                .correlation
                .as_deref()
                .is_none_or(|c| Some(c) == e.correlation_id())
            && self
                .mission
                .as_deref()
                .is_none_or(|m| Some(m) == e.mission_id())
            && self.trace.is_none_or(|t| Some(t) == e.trace_id())
            && self.since.is_none_or(|s| ts >= s)
            && self.until.is_none_or(|u| ts < u)
    }
}

/// `debug`, `info`, `warn` (or `warning`) or `error`.
pub fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse::<Severity>().map_err(|e| e.to_string())
}

fn parse_trace(s: &str) -> Result<TraceId, String> {
    s.parse::<TraceId>().map_err(|e| {
        format!("`{s}` is not a trace id (32 lower-case hex digits, not all zero): {e}")
    })
}

/// RFC 3339, or an age before now: `90s`, `15m`, `2h`, `7d`.
pub fn parse_time(s: &str) -> Result<Timestamp, String> {
    if let Ok(age) = parse_age(s) {
        let micros = Timestamp::now().unix_micros() - age.as_micros() as i64;
        return Ok(Timestamp::from_unix_micros(micros));
    }
    Timestamp::parse_rfc3339(s).map_err(|e| {
        format!("`{s}` is neither an RFC 3339 time (2026-11-22T10:00:00Z) nor an age (90s, 15m, 2h, 7d): {e}")
    })
}

/// `90s`, `15m`, `2h`, `7d`, `250ms`.
pub fn parse_age(s: &str) -> Result<Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("`{s}`: expected a number then ms, s, m, h or d"))?;
    let secs = match unit {
        "ms" => return Ok(Duration::from_millis(n)),
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("`{s}`: the unit must be ms, s, m, h or d")),
    };
    Ok(Duration::from_secs(n.saturating_mul(secs)))
}

/// Reads every event the filters select from the store at `url`, newest
/// first, at most `limit` (any u64: more than the store can count is all).
pub fn read_store(
    url: &str,
    filters: &Filters,
    limit: Option<u64>,
) -> Result<Vec<fcc::Event>, CliError> {
    let store = crate::error::open_store(url)?;
    let shown = fcc_store::redact(url);
    match limit.map(|n| usize::try_from(n).unwrap_or(usize::MAX)) {
        Some(n) => store
            .query(&filters.query(n))
            .map_err(|e| CliError::runtime(format!("query on {shown} failed: {e}"))),
        None => store
            .stream(&filters.query(5000))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CliError::runtime(format!("query on {shown} failed: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_times() {
        assert_eq!(parse_age("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_age("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_age("15 minutes").is_err());
        assert!(parse_time("2026-11-22T10:00:00Z").is_ok());
        let e = parse_time("yesterday").unwrap_err();
        assert!(e.contains("RFC 3339") && e.contains("yesterday"), "{e}");
        let an_hour_ago = parse_time("1h").unwrap();
        let d = Timestamp::now().unix_micros() - an_hour_ago.unix_micros();
        assert!((3_599_000_000..3_601_000_000).contains(&d));
    }
}
