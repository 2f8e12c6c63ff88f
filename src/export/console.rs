//! [`ConsoleSpanExporter`]: the seed's one-line span format.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::{ExportError, SpanExporter};
use crate::trace::{SpanData, Value};

/// Prints each span on one line, to stderr by default:
///
/// `[SPAN] simulation.run trace=abc12345... 5000.0ms status=ok scenario_id=SC-001`
///
/// (the first 8 digits of the trace id, the duration with one decimal, the
/// status, then the attributes as `key=value`).
pub struct ConsoleSpanExporter<W: Write + Send = io::Stderr> {
    out: W,
}

impl ConsoleSpanExporter {
    /// To stderr.
    pub fn new() -> ConsoleSpanExporter {
        ConsoleSpanExporter { out: io::stderr() }
    }
}

impl Default for ConsoleSpanExporter {
    fn default() -> Self {
        Self::new()
    }
}

impl<W: Write + Send> ConsoleSpanExporter<W> {
    /// To any writer (stdout, a file, a buffer in tests).
    pub fn with_writer(out: W) -> ConsoleSpanExporter<W> {
        ConsoleSpanExporter { out }
    }

    /// The line for one span, without the newline.
    pub fn format(span: &SpanData) -> String {
        let trace = span.trace_id.to_string();
        let mut line = format!(
            "[SPAN] {} trace={}... {:.1}ms status={}",
            span.name,
            &trace[..8],
            span.duration_ms(),
            span.status
        );
        for kv in &span.attributes {
            let _ = match &kv.value {
                Value::String(s) => write!(line, " {}={}", kv.key, s.as_str()),
                other => write!(line, " {}={}", kv.key, other),
            };
        }
        line
    }
}

impl<W: Write + Send> SpanExporter for ConsoleSpanExporter<W> {
    fn export(&mut self, spans: &[SpanData]) -> Result<(), ExportError> {
        let mut text = String::new();
        for s in spans {
            text.push_str(&Self::format(s));
            text.push('\n');
        }
        self.out
            .write_all(text.as_bytes())
            .map_err(|e| ExportError::failed("console", e))
    }

    fn name(&self) -> &str {
        "console"
    }

    fn flush(&mut self) -> Result<(), ExportError> {
        self.out
            .flush()
            .map_err(|e| ExportError::failed("console", e))
    }
}
