//! An event as an `agent_events` row, and back.

use fcc::{Event, EventType, Outcome, Severity, SpanId, Timestamp, TraceId};
use std::borrow::Cow;

use serde_json::Value;

/// The legacy flat `event` column: the event type with `.` and `-` turned
/// into `_` (`protocol.mcp.tool.failed` → `protocol_mcp_tool_failed`), the
/// single-token name older readers of the Go seed's store expect.
pub fn legacy_event_name(event_type: &str) -> String {
    event_type.replace(['.', '-'], "_")
}

/// The columns of `agent_events`, in insert order.
pub(crate) const COLUMNS: &[&str] = &[
    "event_id",
    "ts_micros",
    "timestamp",
    "event_type",
    "category",
    "source",
    "resource",
    "action",
    "outcome",
    "severity",
    "correlation_id",
    "task",
    "mission_id",
    "objective_id",
    "detail",
    "payload",
    "trace_id",
    "span_id",
    "event",
];

/// The largest payload stored as is (1 MiB of JSON). A larger one is
/// replaced by `{"fcc_payload_dropped": <its size in bytes>}`; the rest of the
/// event is kept and the replacement counted.
pub const MAX_PAYLOAD_BYTES: usize = 1 << 20;

/// One row's values as text (NULL: `None`, borrowed from the event where
/// they can be), `ts_micros` as a number.
pub(crate) struct Row<'a> {
    pub ts_micros: i64,
    /// Columns 1.. of [`COLUMNS`] but `timestamp`/`event_id`, which are the
    /// stack buffers below (`text[0]` and `text[1]` stay `None`).
    pub text: [Option<Cow<'a, str>>; 18],
    pub payload_dropped: bool,
    pub(crate) id: IdText,
    pub(crate) ts: TsText,
}

/// `event_id` text on the stack.
pub(crate) struct IdText(pub(crate) [u8; 36]);
/// `timestamp` text on the stack.
pub(crate) struct TsText(pub(crate) fcc::event::Rfc3339Buf);

impl Row<'_> {
    /// `event_id` as text (from a stack buffer: no allocation per row).
    pub fn id(&self) -> &str {
        std::str::from_utf8(&self.id.0).unwrap_or("")
    }
    /// `timestamp` as text.
    pub fn ts(&self) -> &str {
        self.ts.0.as_str()
    }
    /// Column `i` of the text columns, with the two buffers in place.
    pub fn text_at(&self, i: usize) -> Option<&str> {
        match i {
            0 => Some(self.id()),
            1 => Some(self.ts()),
            _ => self.text[i].as_deref(),
        }
    }
}

pub(crate) fn to_row(e: &Event) -> Row<'_> {
    fn s(v: Option<&str>) -> Option<Cow<'_, str>> {
        v.map(Cow::Borrowed)
    }
    fn b(v: &str) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(v))
    }
    let o = |v: String| Some(Cow::Owned(v));
    // The payload's JSON is a slice of the event's JSON line, encoded once
    // for the JSON sinks and the store alike.
    let payload = e.payload_json();
    let payload_dropped = payload.len() > MAX_PAYLOAD_BYTES;
    let payload = if payload_dropped {
        Cow::Owned(format!("{{\"fcc_payload_dropped\":{}}}", payload.len()))
    } else {
        Cow::Borrowed(payload)
    };
    let mut id = [0u8; 36];
    e.event_id().hyphenated().encode_lower(&mut id);
    Row {
        payload_dropped,
        id: IdText(id),
        ts: TsText(e.timestamp().format_rfc3339()),
        ts_micros: e.timestamp().unix_micros(),
        text: [
            None,
            None,
            b(e.event_type().as_str()),
            b(e.category()),
            b(e.source()),
            s(e.resource()),
            s(e.action()),
            e.outcome().map(|x| Cow::Borrowed(x.as_str())),
            b(e.severity().as_str()),
            s(e.correlation_id()),
            s(e.task()),
            s(e.mission_id()),
            s(e.objective_id()),
            s(e.detail()),
            Some(payload),
            e.trace_id().map(|t| Cow::Owned(t.to_string())),
            e.span_id().map(|t| Cow::Owned(t.to_string())),
            o(legacy_event_name(e.event_type().as_str())),
        ],
    }
}

/// Rebuilds an event from the text columns (same order as [`COLUMNS`], minus
/// `ts_micros`). A row that does not parse is an error naming the column.
pub(crate) fn from_text(cols: &[Option<String>]) -> Result<Event, String> {
    let get = |i: usize| cols.get(i).and_then(|c| c.as_deref());
    let req = |i: usize, name: &str| get(i).ok_or_else(|| format!("column {name} is NULL"));
    let id = req(0, "event_id")?
        .parse::<uuid::Uuid>()
        .map_err(|e| format!("event_id: {e}"))?;
    let ts =
        Timestamp::parse_rfc3339(req(1, "timestamp")?).map_err(|e| format!("timestamp: {e}"))?;
    let et: EventType = req(2, "event_type")?
        .parse()
        .map_err(|e| format!("event_type: {e}"))?;
    let mut b = Event::builder(et, req(4, "source")?)
        .event_id(id)
        .timestamp(ts)
        .category(req(3, "category")?);
    let text = [
        (5, "resource"),
        (6, "action"),
        (9, "correlation_id"),
        (10, "task"),
        (11, "mission_id"),
        (12, "objective_id"),
        (13, "detail"),
    ];
    for (i, name) in text {
        if let Some(v) = get(i) {
            b = match name {
                "resource" => b.resource(v),
                "action" => b.action(v),
                "correlation_id" => b.correlation_id(v),
                "task" => b.task(v),
                "mission_id" => b.mission_id(v),
                "objective_id" => b.objective_id(v),
                _ => b.detail(v),
            };
        }
    }
    if let Some(o) = get(7) {
        b = b.outcome(o.parse::<Outcome>().map_err(|e| format!("outcome: {e}"))?);
    }
    b = b.severity(
        req(8, "severity")?
            .parse::<Severity>()
            .map_err(|e| format!("severity: {e}"))?,
    );
    if let Some(p) = get(14) {
        let v: Value = serde_json::from_str(p).map_err(|e| format!("payload: {e}"))?;
        b = b.payload(v);
    }
    let trace = get(15)
        .map(|t| t.parse::<TraceId>())
        .transpose()
        .map_err(|e| format!("trace_id: {e}"))?;
    let span = get(16)
        .map(|t| t.parse::<SpanId>())
        .transpose()
        .map_err(|e| format!("span_id: {e}"))?;
    b = b.trace_context(trace, span);
    Ok(b.build())
}

#[cfg(test)]
mod tests {
    use super::COLUMNS;

    /// The event model lists its fields once (`Event::FIELD_NAMES`); the
    /// table is persistent, so a new field also needs a migration here.
    /// This fails until it has one, naming the field.
    #[test]
    fn every_event_field_has_a_column() {
        for field in fcc::Event::FIELD_NAMES {
            assert!(
                COLUMNS.contains(field),
                "event field `{field}` has no agent_events column: add a migration and map it in row.rs"
            );
        }
    }
}
