//! Saving, loading and replaying events.
//!
//! Two file formats:
//!
//! - **JSON**, the seed's format: one object with an `event_count` header.
//!   ```json
//!   {
//!     "event_count": 2,
//!     "events": [
//!       {"event_id": "…", "event_type": "action.completed", …},
//!       {"event_id": "…", "event_type": "action.failed", …}
//!     ]
//!   }
//!   ```
//! - **NDJSON**: one event object per line, so a file can be appended to and
//!   a crash loses at most the line being written.
//!
//! [`EventSerializer::load`] tells the two apart by their first line. Each event
//! is in the form described in [`mod@crate::event`]'s JSON docs. Every error names
//! the file, the line and the event index, and nothing is returned (or
//! replayed) from a file with an error in it.
//!
//! ```
//! use fcc::{Event, EventSerializer, EventType};
//!
//! let event = Event::builder(EventType::ActionCompleted, "ActionEngine").build();
//! let json = EventSerializer::to_json(&event);
//! assert_eq!(EventSerializer::from_json(&json).unwrap(), event);
//!
//! let batch = EventSerializer::to_json_batch(&[event.clone(), event.clone()]);
//! assert!(batch.starts_with("{\"event_count\":2,"));
//! assert_eq!(EventSerializer::from_json_batch(&batch).unwrap().len(), 2);
//! ```
//!
//! **Imports** (the table in ARCHITECTURE.md, checked by
//! `tests/it/import_direction.rs`): only `bus`, `event`, `internal`.

mod error;
mod replay;

pub use error::{DecodeError, DecodeErrorKind, SaveError};
pub use replay::EventReplay;

use crate::event::Event;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// The two file formats [`EventSerializer`] reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// `{"event_count": N, "events": [...]}`.
    Json,
    /// One event object per line.
    Ndjson,
}

/// Converts events to and from JSON text and files.
#[derive(Debug, Clone, Copy)]
pub struct EventSerializer;

#[derive(Deserialize)]
struct Wrapped<'a> {
    event_count: u64,
    #[serde(borrow)]
    events: Vec<&'a RawValue>,
}

fn line_of(text: &str, offset: usize) -> usize {
    1 + text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

fn json_error(e: &serde_json::Error, first_line: usize) -> DecodeError {
    // serde_json appends " at line L column C"; the line is reported separately.
    let msg = e.to_string();
    let msg = match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg,
    };
    DecodeError::invalid(msg).at_line(first_line + e.line().max(1) - 1)
}

impl EventSerializer {
    /// One event as a compact JSON object.
    pub fn to_json(event: &Event) -> String {
        serde_json::to_string(event).unwrap_or_default()
    }

    /// One event from a JSON object.
    pub fn from_json(json: &str) -> Result<Event, DecodeError> {
        serde_json::from_str(json).map_err(|e| json_error(&e, 1))
    }

    /// Events in the seed's `{"event_count": N, "events": [...]}` format, compact.
    pub fn to_json_batch(events: &[Event]) -> String {
        let mut out = Vec::with_capacity(64 + events.len() * 320);
        write_wrapped(&mut out, events, false);
        String::from_utf8(out).unwrap_or_default()
    }

    /// Events from the seed's format; a bare JSON array of events is accepted too.
    pub fn from_json_batch(json: &str) -> Result<Vec<Event>, DecodeError> {
        let start = json.len() - json.trim_start().len();
        if json[start..].starts_with('[') {
            let raws: Vec<&RawValue> = serde_json::from_str(json).map_err(|e| json_error(&e, 1))?;
            return decode_raws(json, &raws);
        }
        let wrapped: Wrapped<'_> = serde_json::from_str(json).map_err(|e| json_error(&e, 1))?;
        let events = decode_raws(json, &wrapped.events)?;
        if wrapped.event_count != events.len() as u64 {
            return Err(DecodeError::new(DecodeErrorKind::EventCount {
                declared: wrapped.event_count,
                actual: events.len(),
            }));
        }
        Ok(events)
    }

    /// Events as NDJSON: one compact object per line, each line ending in `\n`.
    pub fn to_ndjson(events: &[Event]) -> String {
        let mut out = Vec::with_capacity(events.len() * 320);
        write_ndjson(&mut out, events);
        String::from_utf8(out).unwrap_or_default()
    }

    /// Events from NDJSON. Blank lines are skipped. A last line that is cut short
    /// (no newline and no complete object) is a [`DecodeErrorKind::Truncated`] error.
    pub fn from_ndjson(text: &str) -> Result<Vec<Event>, DecodeError> {
        let mut events = Vec::new();
        let mut lines = text.split_inclusive('\n').enumerate().peekable();
        while let Some((n, line)) = lines.next() {
            let body = line.trim();
            if body.is_empty() {
                continue;
            }
            let is_last_unterminated = lines.peek().is_none() && !line.ends_with('\n');
            match serde_json::from_str::<Event>(body) {
                Ok(e) => events.push(e),
                Err(e) if e.is_eof() && is_last_unterminated => {
                    return Err(DecodeError::new(DecodeErrorKind::Truncated)
                        .at_line(n + 1)
                        .at_index(events.len()));
                }
                Err(e) => return Err(json_error(&e, n + 1).at_index(events.len())),
            }
        }
        Ok(events)
    }

    /// Which format `text` holds, judged by its first non-blank line: NDJSON when
    /// that line is (or starts) an event object, JSON otherwise.
    pub fn detect_format(text: &str) -> FileFormat {
        let first = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("");
        match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(first) {
            Ok(obj) if obj.contains_key("events") && !obj.contains_key("event_id") => {
                FileFormat::Json
            }
            Ok(_) => FileFormat::Ndjson,
            Err(_) if first.starts_with('{') && first.contains("\"event_id\"") => {
                FileFormat::Ndjson
            }
            Err(_) => FileFormat::Json,
        }
    }

    /// Writes events to `path` in the seed's JSON format (pretty-printed). The
    /// file is written next to its final name and renamed into place, so a crash
    /// never leaves half a file.
    pub fn save(events: &[Event], path: impl AsRef<Path>) -> Result<(), SaveError> {
        let mut out = Vec::with_capacity(64 + events.len() * 360);
        write_wrapped(&mut out, events, true);
        write_atomically(path.as_ref(), &out)
    }

    /// Writes events to `path` as NDJSON, replacing the file (atomically, as `save`).
    pub fn save_ndjson(events: &[Event], path: impl AsRef<Path>) -> Result<(), SaveError> {
        let mut out = Vec::with_capacity(events.len() * 320);
        write_ndjson(&mut out, events);
        write_atomically(path.as_ref(), &out)
    }

    /// Appends events to an NDJSON file, creating it if needed.
    pub fn append_ndjson(events: &[Event], path: impl AsRef<Path>) -> Result<(), SaveError> {
        let path = path.as_ref();
        let mut out = Vec::with_capacity(events.len() * 320);
        write_ndjson(&mut out, events);
        let result = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(&out));
        result.map_err(|source| SaveError {
            path: path.to_owned(),
            source,
        })
    }

    /// Reads a file in either format (see [`EventSerializer::detect_format`]).
    pub fn load(path: impl AsRef<Path>) -> Result<Vec<Event>, DecodeError> {
        let path = path.as_ref();
        let text = fs::read_to_string(path)
            .map_err(|e| DecodeError::new(DecodeErrorKind::Io(e)).in_file(path))?;
        let parsed = match Self::detect_format(&text) {
            FileFormat::Json => Self::from_json_batch(&text),
            FileFormat::Ndjson => Self::from_ndjson(&text),
        };
        parsed.map_err(|e| e.in_file(path))
    }
}

fn decode_raws(text: &str, raws: &[&RawValue]) -> Result<Vec<Event>, DecodeError> {
    raws.iter()
        .enumerate()
        .map(|(i, raw)| {
            let offset = raw.get().as_ptr() as usize - text.as_ptr() as usize;
            serde_json::from_str::<Event>(raw.get())
                .map_err(|e| json_error(&e, line_of(text, offset)).at_index(i))
        })
        .collect()
}

fn write_wrapped(out: &mut Vec<u8>, events: &[Event], pretty: bool) {
    let sep: &[u8] = if pretty { b",\n    " } else { b"," };
    if pretty {
        let _ = write!(
            out,
            "{{\n  \"event_count\": {},\n  \"events\": [",
            events.len()
        );
    } else {
        let _ = write!(out, "{{\"event_count\":{},\"events\":[", events.len());
    }
    for (i, e) in events.iter().enumerate() {
        out.extend_from_slice(if i == 0 && pretty {
            b"\n    "
        } else if i == 0 {
            b""
        } else {
            sep
        });
        let _ = serde_json::to_writer(&mut *out, e);
    }
    out.extend_from_slice(if pretty && !events.is_empty() {
        b"\n  ]\n}\n"
    } else if pretty {
        b"]\n}\n"
    } else {
        b"]}"
    });
}

/// Appends `events` as NDJSON lines to `out`: the one NDJSON writer, shared
/// with [`JsonFileSink`](crate::sinks::JsonFileSink).
pub(crate) fn write_ndjson(out: &mut Vec<u8>, events: &[Event]) {
    for e in events {
        out.extend_from_slice(e.json().as_bytes());
        out.push(b'\n');
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), SaveError> {
    let err = |source: io::Error| SaveError {
        path: path.to_owned(),
        source,
    };
    let name = path.file_name().ok_or_else(|| {
        err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a file name",
        ))
    })?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let write = || -> io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        err(e)
    })
}
