//! `fcc tail`: the latest events, then new ones as they arrive, from the
//! store (polled) or an NDJSON file (followed like `tail -f`, across
//! truncation and rotation).

use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
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

fn tail_file(path: &PathBuf, args: &TailArgs, p: &mut Printer) -> Result<(), CliError> {
    let shown = path.display();
    let open = || {
        std::fs::File::open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => CliError::not_found(format!("no such file: {shown}")),
            _ => CliError::runtime(format!("cannot read {shown}: {e}")),
        })
    };
    let mut file = open()?;
    let mut text = String::new();
    file.read_to_string(&mut text)
        .map_err(|e| CliError::bad_data(format!("{shown} is not text: {e}")))?;
    let mut offset = text.len() as u64;
    // The last complete lines only: a partial last line is read when it ends.
    let complete = text.rfind('\n').map_or(0, |i| i + 1);
    offset -= (text.len() - complete) as u64;
    let mut first: Vec<Event> = text[..complete]
        .lines()
        .enumerate()
        .filter_map(|(i, l)| decode(l, i + 1, path))
        .filter(|e| args.filters.matches(e))
        .collect();
    let skip = first.len().saturating_sub(args.lines);
    for e in first.drain(skip..) {
        if !p.print(&e)? {
            return Ok(());
        }
    }
    let mut line_no = text[..complete].lines().count();
    let mut pending = String::new();
    loop {
        std::thread::sleep(args.interval);
        let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if len < offset {
            // Truncated or rotated: start again from the top of the new file.
            file = open()?;
            offset = 0;
            pending.clear();
        }
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| CliError::runtime(format!("cannot read {shown}: {e}")))?;
        let mut buf = String::new();
        let n = file
            .read_to_string(&mut buf)
            .map_err(|e| CliError::runtime(format!("cannot read {shown}: {e}")))?;
        offset += n as u64;
        pending.push_str(&buf);
        while let Some(i) = pending.find('\n') {
            let line: String = pending.drain(..=i).collect();
            line_no += 1;
            if let Some(e) = decode(line.trim_end(), line_no, path) {
                if args.filters.matches(&e) && !p.print(&e)? {
                    return Ok(());
                }
            }
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
