//! Metric exporters: the [`MetricExporter`] trait, [`ConsoleMetricExporter`]
//! and [`JsonFileMetricExporter`] (the seed's "Metric Exporters").

use std::io::{self, Write};
use std::path::Path;

use serde_json::{json, Value as Json};

use super::ExportError;
use crate::metrics::MetricPoint;

/// Receives metric points. Implement it for your own destination.
///
/// ```
/// use fcc::export::{ConsoleMetricExporter, MetricExporter};
/// use fcc::metrics::FccMetrics;
///
/// let metrics = FccMetrics::new();
/// metrics.record_simulation_step(3, "N1");
/// let mut out = Vec::new();
/// ConsoleMetricExporter::with_writer(&mut out).export(&metrics.points()).unwrap();
/// assert_eq!(
///     String::from_utf8(out).unwrap(),
///     "[METRIC] fcc.simulation.step=1.0 type=counter node_id=N1 step=3\n"
/// );
/// ```
pub trait MetricExporter: Send {
    /// Writes a batch of points.
    fn export(&mut self, points: &[MetricPoint]) -> Result<(), ExportError>;
}

/// One line per point, to stderr by default:
/// `[METRIC] fcc.simulation.step=1.0 type=counter node_id=N1 step=3`
/// (labels in key order).
pub struct ConsoleMetricExporter<W: Write + Send = io::Stderr> {
    out: W,
}

impl ConsoleMetricExporter {
    /// To stderr.
    pub fn new() -> ConsoleMetricExporter {
        ConsoleMetricExporter { out: io::stderr() }
    }
}

impl Default for ConsoleMetricExporter {
    fn default() -> Self {
        Self::new()
    }
}

impl<W: Write + Send> ConsoleMetricExporter<W> {
    /// To any writer.
    pub fn with_writer(out: W) -> ConsoleMetricExporter<W> {
        ConsoleMetricExporter { out }
    }

    /// The line for one point, without the newline.
    pub fn format(p: &MetricPoint) -> String {
        let mut line = format!("[METRIC] {}={:?} type={}", p.name, p.value, p.metric_type);
        for (k, v) in &p.labels {
            line.push(' ');
            line.push_str(k);
            line.push('=');
            line.push_str(v);
        }
        line
    }
}

impl<W: Write + Send> MetricExporter for ConsoleMetricExporter<W> {
    fn export(&mut self, points: &[MetricPoint]) -> Result<(), ExportError> {
        let mut text = String::new();
        for p in points {
            text.push_str(&Self::format(p));
            text.push('\n');
        }
        self.out
            .write_all(text.as_bytes())
            .and_then(|()| self.out.flush())
            .map_err(|e| ExportError::failed("console metrics", e))
    }
}

/// Appends points to a file, one JSON object per line (NDJSON), or, for a
/// path ending in `.json`, as items of one JSON array that is a valid
/// document after every export:
/// `{"name":"fcc.simulation.step","value":1.0,"metric_type":"counter","labels":{"node_id":"N1","step":"3"},"timestamp":"…"}`
/// plus `trace_id`/`span_id` when the point was recorded inside a span.
pub struct JsonFileMetricExporter {
    out: super::json_out::JsonOut,
}

impl JsonFileMetricExporter {
    /// Opens (creates, appends to) `path`, making its folder.
    pub fn new(path: impl AsRef<Path>) -> io::Result<JsonFileMetricExporter> {
        Ok(JsonFileMetricExporter {
            out: super::json_out::JsonOut::open(path.as_ref())?,
        })
    }

    /// One point as the JSON object written.
    pub fn to_json(p: &MetricPoint) -> Json {
        let mut o = json!({
            "name": p.name,
            "value": p.value,
            "metric_type": p.metric_type.as_str(),
            "labels": p.labels,
            "timestamp": p.timestamp.to_string(),
        });
        if let (Some(t), Some(s)) = (p.trace_id, p.span_id) {
            o["trace_id"] = Json::from(t.to_string());
            o["span_id"] = Json::from(s.to_string());
        }
        o
    }
}

impl MetricExporter for JsonFileMetricExporter {
    fn export(&mut self, points: &[MetricPoint]) -> Result<(), ExportError> {
        let items: Vec<Json> = points.iter().map(Self::to_json).collect();
        self.out.write(&items).map_err(|e| {
            ExportError::failed(
                "json file metrics",
                format!("{}: {e}", self.out.path().display()),
            )
        })
    }
}
