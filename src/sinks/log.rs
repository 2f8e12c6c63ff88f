//! [`LogSink`]: one JSON line per event, the single built-in logging side
//! effect for bus events.

use super::{Sink, SinkError};
use crate::event::{Event, Severity};
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Writes one JSON line per event: the event's JSON form with `level` first
/// (`DEBUG`, `INFO`, `WARN`, `ERROR`, as slog and tracing spell it) and the
/// component tag the Go seed's `fractalog.Component("events")` gives every
/// line of this logger, `"component":"events"`.
///
/// ```text
/// {"level":"WARN","component":"events","event_id":"…","event_type":"mcpclient.connect_attempt","timestamp":"…","source":"mcpclient","category":"backend","severity":"warn","outcome":"failure","resource":"mcp_server:vendor","action":"connect_attempt","detail":"connection refused","payload":{}}
/// ```
///
/// It runs on its sink worker, so the writer is non-blocking for emitters;
/// each batch is formatted into one buffer and written with one `write_all`,
/// so a failed write fails exactly that batch.
pub struct LogSink {
    out: Box<dyn Write + Send>,
    target: String,
    line: Vec<u8>,
}

impl LogSink {
    /// Lines to standard error.
    pub fn stderr() -> Self {
        Self::writer(io::stderr(), "stderr")
    }

    /// Lines to standard output.
    pub fn stdout() -> Self {
        Self::writer(io::stdout(), "stdout")
    }

    /// Lines appended to a file, created if missing. An unwritable path is an
    /// error now, not later.
    pub fn file(path: impl AsRef<Path>) -> Result<Self, SinkError> {
        let path = path.as_ref();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| {
                SinkError::io(format_args!("log sink: cannot open {}", path.display()), e)
            })?;
        Ok(Self::writer(
            file,
            &PathBuf::from(path).display().to_string(),
        ))
    }

    /// Lines to any writer; `target` names it in errors.
    pub fn writer(out: impl Write + Send + 'static, target: &str) -> Self {
        Self {
            out: Box::new(out),
            target: target.to_owned(),
            line: Vec::with_capacity(64 * 1024),
        }
    }

    /// Appends the line for `event` (with its trailing newline) to `out`.
    pub fn format_line(event: &Event, out: &mut Vec<u8>) {
        let level: &[u8] = match event.severity() {
            Severity::Debug => b"{\"level\":\"DEBUG\",\"component\":\"events\",",
            Severity::Info => b"{\"level\":\"INFO\",\"component\":\"events\",",
            Severity::Warn => b"{\"level\":\"WARN\",\"component\":\"events\",",
            Severity::Error => b"{\"level\":\"ERROR\",\"component\":\"events\",",
        };
        // The event's shared encoding with its opening brace replaced by
        // `{"level":"…","component":"events",`.
        let json = event.json().as_bytes();
        out.extend_from_slice(level);
        out.extend_from_slice(json.get(1..).unwrap_or_default());
        out.push(b'\n');
    }
}

impl Sink for LogSink {
    fn name(&self) -> &str {
        "log"
    }

    fn write(&mut self, batch: &[Event]) -> Result<(), SinkError> {
        self.line.clear();
        for event in batch {
            Self::format_line(event, &mut self.line);
        }
        let result = self
            .out
            .write_all(&self.line)
            .and_then(|()| self.out.flush());
        if self.line.capacity() > 1 << 20 {
            self.line = Vec::with_capacity(64 * 1024);
        }
        result.map_err(|e| {
            SinkError::io(format_args!("log sink: cannot write to {}", self.target), e)
        })
    }

    /// No housekeeping: the worker sleeps until the next event.
    fn idle_interval(&self) -> Option<std::time::Duration> {
        None
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.out.flush().map_err(|e| {
            SinkError::io(format_args!("log sink: cannot write to {}", self.target), e)
        })
    }
}
