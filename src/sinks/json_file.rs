//! [`JsonFileSink`]: events appended to an NDJSON file, rotated by size.

use super::{Sink, SinkError};
use crate::event::Event;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Appends events to an NDJSON file that [`EventSerializer::load`] reads and
/// [`EventReplay`] replays.
///
/// - Each batch is one `write_all` of whole lines, so a crash loses at most the
///   line being written. On open, a cut-short last line left by a crash is
///   removed (and counted in [`JsonFileSink::repaired_bytes`]) so the file
///   stays loadable.
/// - When the file would grow past `max_bytes` (default 64 MiB) it is rotated:
///   `events.ndjson` becomes `events.ndjson.1`, `.1` becomes `.2`, and so on up to
///   `max_files` kept files (default 5); the oldest is deleted.
///
/// [`EventSerializer::load`]: crate::EventSerializer::load
/// [`EventReplay`]: crate::EventReplay
pub struct JsonFileSink {
    path: PathBuf,
    file: File,
    size: u64,
    max_bytes: u64,
    max_files: usize,
    buf: Vec<u8>,
    repaired: u64,
}

impl JsonFileSink {
    /// Opens (or creates) `path` for appending. An unwritable path is an error now.
    pub fn new(path: impl AsRef<Path>) -> Result<Self, SinkError> {
        let path = path.as_ref().to_owned();
        let (file, size, repaired) = open_repaired(&path)?;
        Ok(Self {
            path,
            file,
            size,
            max_bytes: 64 * 1024 * 1024,
            max_files: 5,
            buf: Vec::with_capacity(64 * 1024),
            repaired,
        })
    }

    /// Rotate when the file would grow past this many bytes.
    pub fn max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes.max(1);
        self
    }

    /// How many rotated files to keep besides the current one.
    pub fn max_files(mut self, max_files: usize) -> Self {
        self.max_files = max_files;
        self
    }

    /// Bytes of a cut-short last line removed when the file was opened.
    pub fn repaired_bytes(&self) -> u64 {
        self.repaired
    }

    /// The current file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn rotated(&self, n: usize) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    fn rotate(&mut self) -> Result<(), SinkError> {
        let err = |what: &str, p: &Path, e| {
            SinkError::io(
                format_args!("json file sink: cannot {what} {}", p.display()),
                e,
            )
        };
        if self.max_files == 0 {
            fs::remove_file(&self.path).map_err(|e| err("remove", &self.path, e))?;
        } else {
            let _ = fs::remove_file(self.rotated(self.max_files));
            for n in (1..self.max_files).rev() {
                let from = self.rotated(n);
                if from.exists() {
                    fs::rename(&from, self.rotated(n + 1)).map_err(|e| err("rotate", &from, e))?;
                }
            }
            fs::rename(&self.path, self.rotated(1)).map_err(|e| err("rotate", &self.path, e))?;
        }
        let (file, size, _) = open_repaired(&self.path)?;
        self.file = file;
        self.size = size;
        Ok(())
    }
}

/// Makes the folder `path` goes in, as tracing-appender does, so a file
/// under a folder that does not exist yet (`target/events.ndjson` outside
/// the repository) just works; where it cannot, the error names the folder.
pub(crate) fn create_parent_dir(path: &Path) -> std::io::Result<()> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) if !dir.is_dir() => fs::create_dir_all(dir).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "cannot create the folder {} for {}: {e}",
                    dir.display(),
                    path.display()
                ),
            )
        }),
        _ => Ok(()),
    }
}

/// Opens for append, cutting off a partial last line. Returns (file, size, bytes cut).
fn open_repaired(path: &Path) -> Result<(File, u64, u64), SinkError> {
    create_parent_dir(path).map_err(|e| {
        SinkError::io(
            format_args!("json file sink: cannot open {}", path.display()),
            e,
        )
    })?;
    let mut file = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
        .map_err(|e| {
            SinkError::io(
                format_args!("json file sink: cannot open {}", path.display()),
                e,
            )
        })?;
    let io = |e| {
        SinkError::io(
            format_args!("json file sink: cannot read {}", path.display()),
            e,
        )
    };
    let size = file.metadata().map_err(io)?.len();
    if size == 0 {
        return Ok((file, 0, 0));
    }
    // Find the last newline in the file's tail.
    let mut keep = 0u64;
    let mut end = size;
    let mut chunk = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let len = (end - start) as usize;
        file.seek(SeekFrom::Start(start)).map_err(io)?;
        file.read_exact(&mut chunk[..len]).map_err(io)?;
        if let Some(i) = chunk[..len].iter().rposition(|&b| b == b'\n') {
            keep = start + i as u64 + 1;
            break;
        }
        end = start;
    }
    if keep < size {
        file.set_len(keep).map_err(io)?;
    }
    Ok((file, keep, size - keep))
}

impl Sink for JsonFileSink {
    fn name(&self) -> &str {
        "json_file"
    }

    fn write(&mut self, batch: &[Event]) -> Result<(), SinkError> {
        self.buf.clear();
        crate::serialization::write_ndjson(&mut self.buf, batch);
        if self.size > 0 && self.size + self.buf.len() as u64 > self.max_bytes {
            self.rotate()?;
        }
        if let Err(e) = self.file.write_all(&self.buf) {
            // A partial write (a full disk) may have left half a line: cut it
            // off so the file stays loadable, and count the whole lines that
            // made it as written (one event per line).
            let before = self.size;
            let mut landed = 0;
            if let Ok((file, size, _)) = open_repaired(&self.path) {
                let kept = (size.saturating_sub(before) as usize).min(self.buf.len());
                landed = self.buf[..kept].iter().filter(|&&b| b == b'\n').count();
                self.file = file;
                self.size = size;
            }
            return Err(SinkError::io(
                format_args!("json file sink: cannot write {}", self.path.display()),
                e,
            )
            .with_written(landed));
        }
        self.size += self.buf.len() as u64;
        Ok(())
    }

    /// No housekeeping: the worker sleeps until the next event.
    fn idle_interval(&self) -> Option<std::time::Duration> {
        None
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.file.sync_data().map_err(|e| {
            SinkError::io(
                format_args!("json file sink: cannot sync {}", self.path.display()),
                e,
            )
        })
    }
}
