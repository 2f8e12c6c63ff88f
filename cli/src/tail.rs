//! `fcc tail`: the latest events, then new ones as they arrive, from the
//! store (polled) or an NDJSON file (followed like `tail -F`: by inode,
//! across truncation and rotation, reading each byte once).

use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use fcc::{Event, EventSerializer};

use crate::error::{open_store, CliError};
use crate::output::event_line;
use crate::query::{parse_age, Filters, StoreArg};
use crate::read::write_err;

/// `fcc tail`.
#[derive(Args, Debug)]
pub struct TailArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// Follow this NDJSON file instead of the store
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub filters: Filters,
    /// How many of the latest events to print first
    #[arg(long, short = 'n', default_value_t = 10)]
    pub lines: usize,
    /// How often to look for new events
    #[arg(long, default_value = "500ms", value_parser = parse_age)]
    pub interval: Duration,
    /// Exit after printing this many events (default: follow until interrupted)
    #[arg(long)]
    pub max: Option<u64>,
    /// Print each event as a JSON line
    #[arg(long)]
    pub ndjson: bool,
}

struct Printer {
    printed: u64,
    max: Option<u64>,
    ndjson: bool,
}

impl Printer {
    /// Prints `e`; false once `--max` is reached.
    fn print(&mut self, e: &Event) -> Result<bool, CliError> {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", event_line(e, self.ndjson))
            .and_then(|_| out.flush())
            .map_err(write_err)?;
        self.printed += 1;
        Ok(self.max.is_none_or(|m| self.printed < m))
    }
}

pub fn tail(args: TailArgs) -> Result<(), CliError> {
    let mut p = Printer {
        printed: 0,
        max: args.max,
        ndjson: args.ndjson,
    };
    if args.max == Some(0) {
        return Ok(());
    }
    match &args.file {
        Some(path) => tail_file(path, &args, &mut p),
        None => tail_store(&args, &mut p),
    }
}

fn tail_store(args: &TailArgs, p: &mut Printer) -> Result<(), CliError> {
    let store = open_store(&args.store.store)?;
    let shown = fcc_store::redact(&args.store.store);
    let fail = |e| CliError::runtime(format!("query on {shown} failed: {e}"));
    let mut latest = store
        .query(&args.filters.query(args.lines.max(1)))
        .map_err(fail)?;
    latest.truncate(args.lines);
    latest.reverse();
    // The newest time printed, and the ids printed at that time (a later
    // poll asks from that time inclusive, so none is missed or repeated).
    let mut since = latest.last().map(|e| e.timestamp());
    let mut at_since: HashSet<u128> = HashSet::new();
    for e in &latest {
        if !p.print(e)? {
            return Ok(());
        }
        note(&mut since, &mut at_since, e);
    }
    if since.is_none() {
        since = Some(fcc::Timestamp::now());
    }
    loop {
        std::thread::sleep(args.interval);
        let mut filters = args.filters.clone();
        filters.since = since;
        let mut new: Vec<Event> = store
            .stream(&filters.query(1000))
            .collect::<Result<_, _>>()
            .map_err(fail)?;
        new.reverse();
        for e in new {
            if Some(e.timestamp()) == since && at_since.contains(&e.event_id().as_u128()) {
                continue;
            }
            if !p.print(&e)? {
                return Ok(());
            }
            note(&mut since, &mut at_since, &e);
        }
    }
}

fn note(since: &mut Option<fcc::Timestamp>, at: &mut HashSet<u128>, e: &Event) {
    if *since != Some(e.timestamp()) {
        at.clear();
        *since = Some(e.timestamp());
    }
    at.insert(e.event_id().as_u128());
}

fn tail_file(path: &Path, args: &TailArgs, p: &mut Printer) -> Result<(), CliError> {
    let mut f = Followed::open(path)?;
    // The backlog in one pass; only the last `--lines` matching events are kept.
    let mut latest: VecDeque<Event> = VecDeque::new();
    while let Some((no, line)) = f.next_line()? {
        if let Some(e) = decode_bytes(&line, no, path).filter(|e| args.filters.matches(e)) {
            latest.push_back(e);
            if latest.len() > args.lines {
                latest.pop_front();
            }
        }
    }
    for e in latest {
        if !p.print(&e)? {
            return Ok(());
        }
    }
    let mut show = |no: usize, line: &[u8]| -> Result<bool, CliError> {
        match decode_bytes(line, no, path).filter(|e| args.filters.matches(e)) {
            Some(e) => p.print(&e),
            None => Ok(true),
        }
    };
    loop {
        while let Some((no, line)) = f.next_line()? {
            if !show(no, &line)? {
                return Ok(());
            }
        }
        match f.change() {
            Change::None => std::thread::sleep(args.interval),
            Change::Truncated => f.restart()?,
            Change::Rotated => {
                // What was written to the old file before the switch, its
                // unended last line included, then the new file from the top.
                while let Some((no, line)) = f.next_line()? {
                    if !show(no, &line)? {
                        return Ok(());
                    }
                }
                if let Some((no, line)) = f.take_partial() {
                    if !show(no, &line)? {
                        return Ok(());
                    }
                }
                match Followed::open(path) {
                    Ok(new) => f = new,
                    // Gone again between the look and the open: look later.
                    Err(_) => std::thread::sleep(args.interval),
                }
            }
        }
    }
}

/// What became of the followed path since the file was opened.
enum Change {
    None,
    /// The same file, now shorter than what was read (`copytruncate`).
    Truncated,
    /// The path names another file (renamed away, a new one created).
    Rotated,
}

/// An NDJSON file followed like `tail -F`: read once, line by line, through
/// a buffer, noticing when its path is rotated or truncated.
struct Followed<'a> {
    path: &'a Path,
    reader: BufReader<File>,
    /// The device and inode of the open file (where there are inodes).
    id: Option<(u64, u64)>,
    /// Bytes read from the open file.
    read: u64,
    /// Lines completed in the open file.
    line_no: usize,
    /// The last line, not ended yet: completed by a later read.
    partial: Vec<u8>,
}

impl<'a> Followed<'a> {
    fn open(path: &'a Path) -> Result<Self, CliError> {
        let shown = path.display();
        let file = File::open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => CliError::not_found(format!("no such file: {shown}")),
            _ => CliError::runtime(format!("cannot read {shown}: {e}")),
        })?;
        let id = file.metadata().ok().and_then(|m| file_id(&m));
        Ok(Followed {
            path,
            reader: BufReader::with_capacity(64 * 1024, file),
            id,
            read: 0,
            line_no: 0,
            partial: Vec::new(),
        })
    }

    /// The next complete line and its number, or `None` at the end of what
    /// is written so far (an unended line waits for its end).
    fn next_line(&mut self) -> Result<Option<(usize, Vec<u8>)>, CliError> {
        let n = self
            .reader
            .read_until(b'\n', &mut self.partial)
            .map_err(|e| CliError::runtime(format!("cannot read {}: {e}", self.path.display())))?;
        self.read += n as u64;
        if self.partial.last() != Some(&b'\n') {
            return Ok(None);
        }
        self.line_no += 1;
        Ok(Some((self.line_no, std::mem::take(&mut self.partial))))
    }

    /// The unended last line, if any (once the file is done with).
    fn take_partial(&mut self) -> Option<(usize, Vec<u8>)> {
        (!self.partial.is_empty()).then(|| (self.line_no + 1, std::mem::take(&mut self.partial)))
    }

    fn change(&self) -> Change {
        let Ok(meta) = std::fs::metadata(self.path) else {
            // Renamed away and not yet replaced: keep the old file for now.
            return Change::None;
        };
        if file_id(&meta) != self.id {
            Change::Rotated
        } else if meta.len() < self.read {
            Change::Truncated
        } else {
            Change::None
        }
    }

    /// Truncated: read it again from the top.
    fn restart(&mut self) -> Result<(), CliError> {
        self.reader
            .seek(SeekFrom::Start(0))
            .map_err(|e| CliError::runtime(format!("cannot read {}: {e}", self.path.display())))?;
        self.read = 0;
        self.line_no = 0;
        self.partial.clear();
        Ok(())
    }
}

#[cfg(unix)]
fn file_id(m: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_id(_: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

/// A line as read, its end of line included.
fn decode_bytes(line: &[u8], line_no: usize, path: &Path) -> Option<Event> {
    match std::str::from_utf8(line) {
        Ok(text) => decode(text.trim_end_matches(['\n', '\r']), line_no, path),
        Err(err) => {
            eprintln!(
                "fcc tail: {}:{line_no}: skipped, not UTF-8 text: {err}",
                path.display()
            );
            None
        }
    }
}

/// One NDJSON line; a bad one is reported on stderr and skipped, so one
/// broken writer does not stop the tail.
fn decode(line: &str, line_no: usize, path: &std::path::Path) -> Option<Event> {
    if line.trim().is_empty() {
        return None;
    }
    match EventSerializer::from_json(line) {
        Ok(e) => Some(e),
        Err(err) => {
            eprintln!(
                "fcc tail: {}:{line_no}: skipped, not an event: {err}",
                path.display()
            );
            None
        }
    }
}
