//! [`JsonFileSpanExporter`]: spans as JSON objects, in an NDJSON file or, for
//! a `*.json` path, one JSON array.

use std::io;
use std::path::Path;
use std::time::SystemTime;

use serde_json::{json, Map, Value as Json};

use super::{ExportError, SpanExporter};
use crate::trace::{KeyValue, SpanData, SpanStatus, Value};
use crate::Timestamp;

/// Appends spans to a file, one JSON object per line (NDJSON), or, for a
/// path ending in `.json`, as items of one JSON array that is a valid
/// document after every export:
///
/// ```json
/// {"span_id":"…","trace_id":"…","parent_span_id":"…","name":"simulation.run","kind":"internal",
///  "start_time":"2026-03-27T10:00:00.000000Z","end_time":"…","duration_ms":5000.0,
///  "status":"ok","attributes":{"scenario_id":"SC-001"},"events":[…]}
/// ```
///
/// `parent_span_id` is `null` for roots; an error status adds
/// `status_description`. The file is opened (and its folder made) when the
/// exporter is created, so a bad path is an error there, not later.
pub struct JsonFileSpanExporter {
    out: super::json_out::JsonOut,
}

impl JsonFileSpanExporter {
    /// Opens (creates, appends to) `path`, making its folder.
    pub fn new(path: impl AsRef<Path>) -> io::Result<JsonFileSpanExporter> {
        Ok(JsonFileSpanExporter {
            out: super::json_out::JsonOut::open(path.as_ref())?,
        })
    }

    /// The file written to.
    pub fn path(&self) -> &Path {
        self.out.path()
    }

    /// One span as the JSON object written.
    pub fn to_json(span: &SpanData) -> Json {
        let mut o = json!({
            "span_id": span.span_id.to_string(),
            "trace_id": span.trace_id.to_string(),
            "parent_span_id": span.parent_span_id.map(|p| p.to_string()),
            "name": span.name,
            "kind": format!("{:?}", span.kind).to_lowercase(),
            "start_time": rfc3339(span.start_time),
            "end_time": rfc3339(span.end_time),
            "duration_ms": span.duration_ms(),
            "status": span.status.as_str(),
            "attributes": attributes(&span.attributes),
            "events": span.events.iter().map(|e| json!({
                "name": e.name,
                "timestamp": rfc3339(e.timestamp),
                "attributes": attributes(&e.attributes),
            })).collect::<Vec<_>>(),
        });
        if let SpanStatus::Error { description } = &span.status {
            o["status_description"] = Json::from(description.as_ref());
        }
        o
    }
}

fn rfc3339(t: SystemTime) -> String {
    Timestamp::from(t).to_string()
}

pub(crate) fn attribute_json(v: &Value) -> Json {
    match v {
        Value::Bool(b) => Json::from(*b),
        Value::I64(i) => Json::from(*i),
        Value::F64(f) => Json::from(*f),
        Value::String(s) => Json::from(s.as_str()),
        other => Json::from(other.to_string()),
    }
}

fn attributes(kvs: &[KeyValue]) -> Json {
    let mut m = Map::new();
    for kv in kvs {
        m.insert(kv.key.to_string(), attribute_json(&kv.value));
    }
    Json::Object(m)
}

impl SpanExporter for JsonFileSpanExporter {
    fn export(&mut self, spans: &[SpanData]) -> Result<(), ExportError> {
        let items: Vec<Json> = spans.iter().map(Self::to_json).collect();
        self.out.write(&items).map_err(|e| {
            ExportError::failed("json file", format!("{}: {e}", self.out.path().display()))
        })
    }

    fn name(&self) -> &str {
        "json file"
    }

    fn flush(&mut self) -> Result<(), ExportError> {
        self.out.sync().map_err(|e| {
            ExportError::failed("json file", format!("{}: {e}", self.out.path().display()))
        })
    }
}
