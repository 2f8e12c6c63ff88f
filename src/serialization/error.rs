//! Errors of reading and writing event files.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Why events could not be decoded, and where: the file, the line, the index
/// of the event (0-based), as far as they are known.
///
/// ```
/// let err = fcc::EventSerializer::from_json_batch(r#"{"event_count": 1, "events": []}"#).unwrap_err();
/// assert_eq!(err.to_string(), "event_count is 1 but the file holds 0 events");
/// ```
#[derive(Debug)]
pub struct DecodeError {
    path: Option<PathBuf>,
    line: Option<usize>,
    index: Option<usize>,
    kind: DecodeErrorKind,
}

/// What was wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The file could not be read.
    Io(io::Error),
    /// Not valid JSON, or an event with a missing or invalid field; the message
    /// names the field.
    Invalid(String),
    /// The `event_count` header does not match the number of events.
    EventCount {
        /// What the header says.
        declared: u64,
        /// How many events the file holds.
        actual: usize,
    },
    /// The last NDJSON line ends before its event does (a write cut short).
    Truncated,
}

impl DecodeError {
    pub(crate) fn new(kind: DecodeErrorKind) -> Self {
        Self {
            path: None,
            line: None,
            index: None,
            kind,
        }
    }

    pub(crate) fn invalid(message: impl fmt::Display) -> Self {
        Self::new(DecodeErrorKind::Invalid(message.to_string()))
    }

    pub(crate) fn at_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    pub(crate) fn at_index(mut self, index: usize) -> Self {
        self.index = Some(index);
        self
    }

    pub(crate) fn in_file(mut self, path: &Path) -> Self {
        self.path = Some(path.to_owned());
        self
    }

    /// The file, when decoding one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
    /// The 1-based line where the problem is, when known.
    pub fn line(&self) -> Option<usize> {
        self.line
    }
    /// The 0-based index of the offending event, when known.
    pub fn index(&self) -> Option<usize> {
        self.index
    }
    /// What was wrong.
    pub fn kind(&self) -> &DecodeErrorKind {
        &self.kind
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.path {
            write!(f, "{}", p.display())?;
            if let Some(l) = self.line {
                write!(f, ":{l}")?;
            }
            f.write_str(": ")?;
        } else if let Some(l) = self.line {
            write!(f, "line {l}: ")?;
        }
        if let Some(i) = self.index {
            write!(f, "event {i}: ")?;
        }
        match &self.kind {
            DecodeErrorKind::Io(e) => write!(f, "cannot read: {e}"),
            DecodeErrorKind::Invalid(m) => f.write_str(m),
            DecodeErrorKind::EventCount { declared, actual } => write!(
                f,
                "event_count is {declared} but the file holds {actual} events"
            ),
            DecodeErrorKind::Truncated => {
                f.write_str("the last line is cut short (no complete event and no newline)")
            }
        }
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            DecodeErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Why events could not be written to a file.
#[derive(Debug)]
pub struct SaveError {
    pub(crate) path: PathBuf,
    pub(crate) source: io::Error,
}

impl SaveError {
    /// The file that could not be written.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl fmt::Display for SaveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: cannot write events: {}",
            self.path.display(),
            self.source
        )
    }
}

impl std::error::Error for SaveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
