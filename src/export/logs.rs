//! OTel log records on their way out: what becomes one ([`LogItem`]), the
//! exporters that take them ([`LogExport`]: OTLP's, and the console's for
//! `OTEL_LOGS_EXPORTER=console`), and a plain `tracing` event as a span event.

use std::borrow::Cow;
use std::io::Write;
use std::time::SystemTime;

use super::event_attributes::event_attributes;
use super::{ExportError, LogLimits};
use crate::event::Severity;
use crate::trace::{KeyValue, SpanEvent};
use crate::Event;
use crate::{SpanId, TraceId};

/// One log record made from a plain `tracing` event, as plain data.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct LogRecord {
    /// When it happened.
    pub timestamp: SystemTime,
    /// The `tracing` level.
    pub level: tracing::Level,
    /// The `tracing` target (module path by default).
    pub target: Cow<'static, str>,
    /// The message, if the event had one.
    pub body: Option<String>,
    /// The other fields.
    pub attributes: Vec<KeyValue>,
    /// The span it happened in: trace id, span id, sampled.
    pub span: Option<(TraceId, SpanId, bool)>,
}

/// What becomes an OTel log record: a bus event, or a plain `tracing` event.
pub(crate) enum LogItem {
    Event(Event),
    Record(LogRecord),
}

/// Receives log records, on its lane's thread.
pub(crate) trait LogExport: Send {
    fn export(&mut self, logs: &[LogItem]) -> Result<(), ExportError>;
    /// The name in stats and the demo's summary.
    fn name(&self) -> &str;
    /// Sends over the network (its lane is not waited for as a local one).
    fn is_remote(&self) -> bool {
        false
    }
    /// Retries failed exports itself (the lane then does not).
    fn retries_itself(&self) -> bool {
        false
    }
    fn shutdown(&mut self) -> Result<(), ExportError> {
        Ok(())
    }
}

/// `OTEL_LOGS_EXPORTER=console`: one line per log record on stdout,
/// `[LOG] <time> <SEVERITY> <body> key=value ...` (a bus event's body is
/// its event type; its fields follow as attributes).
pub(crate) struct ConsoleLogExporter<W: Write + Send> {
    out: W,
    limits: LogLimits,
}

impl ConsoleLogExporter<std::io::Stdout> {
    pub(crate) fn stdout(limits: LogLimits) -> Self {
        ConsoleLogExporter {
            out: std::io::stdout(),
            limits,
        }
    }
}

impl<W: Write + Send> ConsoleLogExporter<W> {
    fn line(&self, item: &LogItem) -> String {
        let (time, severity, body, attributes): (_, &str, Cow<'_, str>, _) = match item {
            LogItem::Event(e) => (
                e.timestamp(),
                match e.severity() {
                    Severity::Debug => "DEBUG",
                    Severity::Info => "INFO",
                    Severity::Warn => "WARN",
                    Severity::Error => "ERROR",
                },
                Cow::Borrowed(e.event_type().as_str()),
                event_attributes(e),
            ),
            LogItem::Record(r) => (
                crate::event::Timestamp::from(r.timestamp),
                r.level.as_str(),
                Cow::Borrowed(r.body.as_deref().unwrap_or("")),
                r.attributes.clone(),
            ),
        };
        let mut attributes = attributes;
        self.limits.apply(&mut attributes);
        let mut line = format!("[LOG] {time} {severity} {body}");
        for kv in attributes {
            line.push_str(&format!(" {}={}", kv.key, kv.value));
        }
        escape_controls(&line)
    }
}

impl<W: Write + Send> LogExport for ConsoleLogExporter<W> {
    fn export(&mut self, logs: &[LogItem]) -> Result<(), ExportError> {
        let mut text = String::new();
        for item in logs {
            text.push_str(&self.line(item));
            text.push('\n');
        }
        self.out
            .write_all(text.as_bytes())
            .and_then(|()| self.out.flush())
            .map_err(|e| ExportError::failed("console logs", e))
    }
    fn name(&self) -> &str {
        "console logs"
    }
}

/// A line with control characters (an `ESC` that would rewrite a
/// terminal, a `\r`, a newline inside a value) written as escapes.
fn escape_controls(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A plain `tracing` event as a span event: its message as the name
/// (tracing-opentelemetry's convention), level and target as attributes.
pub(crate) fn log_span_event(r: &LogRecord) -> SpanEvent {
    let mut attributes = Vec::with_capacity(r.attributes.len() + 2);
    attributes.push(KeyValue::new("level", r.level.as_str()));
    attributes.push(KeyValue::new("target", r.target.clone()));
    attributes.extend(r.attributes.iter().cloned());
    SpanEvent {
        name: r.body.clone().map_or(Cow::Borrowed("log"), Into::into),
        timestamp: r.timestamp,
        attributes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_console_line_has_time_severity_body_and_attributes() {
        let e = Event::warn("mcp", "connect", "refused\u{1b}[2J")
            .correlation_id("run-1")
            .build();
        let kind = e.event_type().as_str().to_owned();
        let mut out = Vec::new();
        ConsoleLogExporter {
            out: &mut out,
            limits: LogLimits::default(),
        }
        .export(&[LogItem::Event(e)])
        .unwrap();
        let line = String::from_utf8(out).unwrap();
        assert!(line.starts_with("[LOG] "), "{line}");
        assert!(line.contains(&format!(" WARN {kind} ")), "{line}");
        assert!(line.contains("correlation_id=run-1"), "{line}");
        assert!(
            !line.contains('\u{1b}') && line.contains("\\u{1b}[2J"),
            "{line}"
        );
        assert!(line.ends_with('\n') && line.lines().count() == 1, "{line}");
    }
}
