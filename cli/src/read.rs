//! `fcc events`, `fcc export` and `fcc stats`: reading the store.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use fcc::{Event, EventSerializer};

use crate::error::CliError;
use crate::output::{self, Format};
use crate::query::{read_store, Filters, StoreArg};

/// `fcc events`.
#[derive(Args, Debug)]
pub struct EventsArgs {
    #[command(flatten)]
    pub store: StoreArg,
    #[command(flatten)]
    pub filters: Filters,
    /// At most this many events, newest first (0: none)
    #[arg(long, default_value_t = 50)]
    pub limit: u64,
    #[command(flatten)]
    pub format: Format,
}

pub fn events(args: EventsArgs) -> Result<(), CliError> {
    let events = read_store(&args.store.store, &args.filters, Some(args.limit))?;
    let mut out = std::io::stdout().lock();
    output::events(&mut out, &events, args.format).map_err(write_err)?;
    if !args.format.json && !args.format.ndjson && events.is_empty() {
        eprintln!(
            "no events match in {}",
            fcc_store::redact(&args.store.store)
        );
    }
    Ok(())
}

/// The file format of `fcc export`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// {"event_count": N, "events": [...]}: the seed's format, read back by `fcc replay`
    Json,
    /// One event per line
    Ndjson,
}

/// `fcc export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    pub store: StoreArg,
    #[command(flatten)]
    pub filters: Filters,
    /// Where to write (`-` for standard output)
    #[arg(long, short, value_name = "PATH")]
    pub out: PathBuf,
    /// json or ndjson (default: ndjson for a .ndjson or .jsonl file, json otherwise)
    #[arg(long, value_enum)]
    pub format: Option<ExportFormat>,
    /// At most this many events (default all)
    #[arg(long)]
    pub limit: Option<u64>,
}

pub fn export(args: ExportArgs) -> Result<(), CliError> {
    let mut events = read_store(&args.store.store, &args.filters, args.limit)?;
    // The store answers newest first; a file reads best oldest first, as it happened.
    events.reverse();
    let format =
        args.format
            .unwrap_or_else(|| match args.out.extension().and_then(|e| e.to_str()) {
                Some("ndjson" | "jsonl") => ExportFormat::Ndjson,
                _ => ExportFormat::Json,
            });
    let text = match format {
        ExportFormat::Json => EventSerializer::to_json_batch(&events) + "\n",
        ExportFormat::Ndjson => EventSerializer::to_ndjson(&events),
    };
    if args.out.as_os_str() == "-" {
        std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .map_err(write_err)?;
    } else {
        if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| CliError::runtime(format!("cannot create {}: {e}", dir.display())))?;
        }
        std::fs::write(&args.out, text)
            .map_err(|e| CliError::runtime(format!("cannot write {}: {e}", args.out.display())))?;
        eprintln!("exported {} events to {}", events.len(), args.out.display());
    }
    Ok(())
}

/// `fcc stats`.
#[derive(Args, Debug)]
pub struct StatsArgs {
    #[command(flatten)]
    pub store: StoreArg,
    #[command(flatten)]
    pub filters: Filters,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

/// Counts by type, source and severity.
#[derive(Default)]
pub struct Counts {
    pub total: u64,
    pub by_type: BTreeMap<String, u64>,
    pub by_source: BTreeMap<String, u64>,
    pub by_severity: BTreeMap<String, u64>,
}

impl Counts {
    pub fn add(&mut self, e: &Event) {
        self.total += 1;
        *self
            .by_type
            .entry(e.event_type().as_str().to_owned())
            .or_default() += 1;
        *self.by_source.entry(e.source().to_owned()).or_default() += 1;
        *self
            .by_severity
            .entry(e.severity().as_str().to_owned())
            .or_default() += 1;
    }
}

pub fn stats(args: StatsArgs) -> Result<(), CliError> {
    let events = read_store(&args.store.store, &args.filters, None)?;
    let mut counts = Counts::default();
    events.iter().for_each(|e| counts.add(e));
    let mut out = std::io::stdout().lock();
    if args.json {
        let v = serde_json::json!({
            "total": counts.total,
            "since": events.last().map(|e| e.timestamp().format_rfc3339().as_str().to_owned()),
            "until": events.first().map(|e| e.timestamp().format_rfc3339().as_str().to_owned()),
            "by_type": counts.by_type,
            "by_source": counts.by_source,
            "by_severity": counts.by_severity,
        });
        return writeln!(out, "{v:#}").map_err(write_err);
    }
    writeln!(out, "{} events", counts.total).map_err(write_err)?;
    for (title, map) in [
        ("TYPE", &counts.by_type),
        ("SOURCE", &counts.by_source),
        ("SEVERITY", &counts.by_severity),
    ] {
        let mut rows: Vec<(&String, &u64)> = map.iter().collect();
        rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let rows: Vec<Vec<String>> = rows
            .into_iter()
            .map(|(k, n)| vec![n.to_string(), k.clone()])
            .collect();
        writeln!(out).map_err(write_err)?;
        output::table(&mut out, &["COUNT", title], &rows, None).map_err(write_err)?;
    }
    Ok(())
}

/// Writing to stdout failed (a closed pipe is not worth a message).
pub fn write_err(e: std::io::Error) -> CliError {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        CliError {
            code: 0,
            message: String::new(),
        }
    } else {
        CliError::runtime(format!("cannot write the output: {e}"))
    }
}
