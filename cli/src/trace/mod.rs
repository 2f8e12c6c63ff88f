//! `fcc trace` and `fcc traces`: the spans a run wrote (the demo's
//! `fcc-demo/spans.ndjson`), as trees, without Jaeger.
//!
//! Generic over span names: a root is a span whose parent is not in the
//! file, a trace's mission is the first `mission_id` (or `mission.id`,
//! `mission`, `scenario_id`, `simulation.scenario_id`) attribute it carries.

mod load;
mod nearest;
mod render;

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::Value;

use crate::error::CliError;
use crate::output::{self, printable};
use crate::query::StoreArg;
use crate::read::write_err;
use load::{Loaded, Trace};
use render::Shown;

/// Where `fcc demo` writes its spans.
pub const DEFAULT_SPANS: &str = "fcc-demo/spans.ndjson";

/// How many skipped lines are named one by one.
const NAMED_SKIPS: usize = 10;

/// `fcc trace --help`, after the options.
pub const TRACE_HELP: &str = "\
With no TRACE_ID: the slowest trace that has a mission (a mission_id, \
mission.id, mission, scenario_id or simulation.scenario_id attribute), else \
the slowest trace.

A TRACE_ID that is not in the file exits 3 and names up to 5 present ids \
nearest to it: the longest shared prefix first, then the smallest edit \
(Levenshtein) distance. One that is not 32 hex digits exits 2.

Events of the store that carry the trace id are shown under the span whose \
span_id they carry (under the root otherwise); without a store the spans are \
shown alone, with a note on stderr. Lines of the spans file that are not \
spans are skipped with a warning naming their line numbers.

--json prints one document:
  {\"trace_id\", \"root\": root span name, \"mission\": string|null,
   \"span_count\", \"error_count\", \"duration_ms\", \"start_time\", \"end_time\",
   \"spans_file\", \"skipped_lines\",
   \"events_from\": store URL|null, \"events_note\": why none|null,
   \"spans\": [ depth-first: {\"span_id\", \"parent_span_id\", \"name\", \"kind\",
     \"depth\" (0 for a root), \"start_time\", \"end_time\", \"start_offset_ms\",
     \"duration_ms\", \"status\", \"status_description\", \"attributes\",
     \"span_events\": the span's own events,
     \"events\": the store's events under it, oldest first, as `fcc export` writes them} ]}";

/// `fcc traces --help`, after the options.
pub const TRACES_HELP: &str = "\
Order: traces with error spans first (most errors first), then by duration, \
slowest first. --slowest N keeps the N slowest traces, in that order.

--json prints one document:
  {\"spans_file\", \"skipped_lines\", \"trace_count\": traces in the file,
   \"traces\": [ {\"trace_id\", \"root\", \"mission\": string|null, \"span_count\",
     \"error_count\", \"duration_ms\", \"start_time\", \"end_time\"} ]}";

/// `--spans`.
#[derive(Args, Debug, Clone)]
pub struct SpansArg {
    /// The spans file (NDJSON, or a JSON array), as `fcc demo` writes it
    #[arg(long, default_value = DEFAULT_SPANS, value_name = "PATH")]
    pub spans: PathBuf,
}

/// `fcc trace`.
#[derive(Args, Debug)]
pub struct TraceArgs {
    /// The trace (32 hex digits); default: the slowest mission
    #[arg(value_parser = parse_trace_id)]
    pub trace_id: Option<String>,
    #[command(flatten)]
    pub spans: SpansArg,
    #[command(flatten)]
    pub store: StoreArg,
    /// Print one JSON document (its shape: see --help)
    #[arg(long)]
    pub json: bool,
}

/// `fcc traces`.
#[derive(Args, Debug)]
pub struct TracesArgs {
    #[command(flatten)]
    pub spans: SpansArg,
    /// Only the N slowest traces
    #[arg(long, value_name = "N")]
    pub slowest: Option<usize>,
    /// Print one JSON document (its shape: see --help)
    #[arg(long)]
    pub json: bool,
}

fn parse_trace_id(s: &str) -> Result<String, String> {
    if load::is_trace_id(s) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(format!(
            "`{}` is not a trace id (32 hex digits)",
            printable(s)
        ))
    }
}

/// Reads the spans file, warning on stderr about the lines it skipped.
fn load(path: &Path) -> Result<Loaded, CliError> {
    let shown = printable(&path.display().to_string());
    let loaded = load::read_file(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            CliError::not_found(format!(
                "no spans file {shown}: `fcc demo` writes it (or pass --spans PATH)"
            ))
        } else {
            CliError::runtime(format!("cannot read {shown}: {e}"))
        }
    })?;
    for (line, why) in loaded.skipped.iter().take(NAMED_SKIPS) {
        eprintln!(
            "fcc: warning: {shown} line {line}: {}; skipped",
            printable(why)
        );
    }
    if !loaded.skipped.is_empty() {
        eprintln!(
            "fcc: warning: skipped {} lines of {shown} that are not spans{}",
            loaded.skipped.len(),
            if loaded.skipped.len() > NAMED_SKIPS {
                format!(" (the first {NAMED_SKIPS} named above)")
            } else {
                String::new()
            }
        );
    }
    Ok(loaded)
}

/// Errors first (most first), then slowest first.
fn ordered(loaded: &Loaded) -> Vec<&Trace> {
    let mut traces: Vec<&Trace> = loaded.traces.values().collect();
    traces.sort_by(|a, b| {
        b.errors()
            .cmp(&a.errors())
            .then(b.duration_us().cmp(&a.duration_us()))
            .then(a.id.cmp(&b.id))
    });
    traces
}

/// `fcc traces`.
pub fn traces(args: TracesArgs) -> Result<(), CliError> {
    let loaded = load(&args.spans.spans)?;
    let mut traces = ordered(&loaded);
    if let Some(n) = args.slowest {
        let mut by_time = traces.clone();
        by_time.sort_by(|a, b| b.duration_us().cmp(&a.duration_us()).then(a.id.cmp(&b.id)));
        let keep: std::collections::HashSet<&str> =
            by_time.iter().take(n).map(|t| t.id.as_str()).collect();
        traces.retain(|t| keep.contains(t.id.as_str()));
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        let doc = serde_json::json!({
            "spans_file": args.spans.spans.display().to_string(),
            "skipped_lines": loaded.skipped.len(),
            "trace_count": loaded.traces.len(),
            "traces": traces.iter().map(|t| render::summary_json(t)).collect::<Vec<_>>(),
        });
        return writeln!(out, "{doc:#}").map_err(write_err);
    }
    render::list(&mut out, &traces).map_err(write_err)?;
    if loaded.traces.is_empty() {
        eprintln!(
            "no traces in {}",
            printable(&args.spans.spans.display().to_string())
        );
    }
    Ok(())
}

/// `fcc trace`.
pub fn trace(args: TraceArgs) -> Result<(), CliError> {
    let path = printable(&args.spans.spans.display().to_string());
    let loaded = load(&args.spans.spans)?;
    let trace = match &args.trace_id {
        Some(id) => loaded.traces.get(id).ok_or_else(|| {
            let near = nearest::nearest(id, loaded.traces.keys().map(String::as_str), 5);
            let mut msg = format!("no trace {id} in {path} ({} traces)", loaded.traces.len());
            if !near.is_empty() {
                msg.push_str("; the nearest:");
                near.iter().for_each(|n| msg.push_str(&format!("\n  {n}")));
            }
            CliError::not_found(msg)
        })?,
        None => {
            let slowest = |missions: bool| {
                loaded
                    .traces
                    .values()
                    .filter(|t| !missions || t.mission().is_some())
                    .max_by(|a, b| a.duration_us().cmp(&b.duration_us()).then(b.id.cmp(&a.id)))
            };
            slowest(true)
                .or_else(|| slowest(false))
                .ok_or_else(|| CliError::not_found(format!("no traces in {path}")))?
        }
    };
    let tree = trace.tree();
    let events = store_events(&args.store.store, &trace.id)?;
    let by_span = place(trace, events.as_ref().map_or(&[][..], |e| &e[..]));
    let mut out = std::io::stdout().lock();
    if args.json {
        let mut doc = render::trace_json(trace, &tree, &by_span.json);
        doc["spans_file"] = args.spans.spans.display().to_string().into();
        doc["skipped_lines"] = loaded.skipped.len().into();
        let (from, note) = match &events {
            Ok(_) => (Some(fcc_store::redact(&args.store.store)), None),
            Err(note) => (None, Some(note.clone())),
        };
        doc["events_from"] = from.into();
        doc["events_note"] = note.into();
        return writeln!(out, "{doc:#}").map_err(write_err);
    }
    if let Err(note) = &events {
        eprintln!("fcc: note: {note}; showing the spans without events");
    }
    let colour = output::colour();
    render::waterfall(
        &mut out,
        trace,
        &tree,
        &by_span.shown,
        &by_span.items,
        colour,
    )
    .map_err(write_err)
}

/// The store's events of one trace, oldest first; `Err` says why there are
/// none to show (no store: not an error). A URL of no supported scheme is.
fn store_events(url: &str, trace_id: &str) -> Result<Result<Vec<fcc::Event>, String>, CliError> {
    use fcc_store::StoreError;
    let shown = fcc_store::redact(url);
    let store = match fcc_store::EventStore::open_read_only(url) {
        Ok(s) => s,
        Err(StoreError::Url(e)) => return Err(CliError::usage(e)),
        Err(StoreError::NotFound { .. }) => {
            return Ok(Err(format!("no event store at {shown}")));
        }
        Err(e) => return Ok(Err(format!("cannot open the event store {shown}: {e}"))),
    };
    let Ok(id) = trace_id.parse::<fcc::TraceId>() else {
        return Ok(Ok(Vec::new()));
    };
    let query = fcc_store::EventQuery::new().trace_id(id).limit(1000);
    match store.stream(&query).collect::<Result<Vec<_>, _>>() {
        Ok(mut events) => {
            events.reverse();
            Ok(Ok(events))
        }
        Err(e) => Ok(Err(format!("cannot read events from {shown}: {e}"))),
    }
}

/// What goes under each span (by index into the trace's spans).
struct Placed {
    /// For the waterfall: everything shown, and per span `(time, index)`.
    shown: Vec<Shown>,
    items: Vec<Vec<(i64, usize)>>,
    /// For `--json`: the store's events per span.
    json: Vec<Vec<Value>>,
}

/// Store events under the span whose id they carry, else under the root;
/// span events that are not store events (no `event_id`, e.g. an
/// `exception`) under their own span.
fn place(trace: &Trace, events: &[fcc::Event]) -> Placed {
    let n = trace.spans.len();
    let mut placed = Placed {
        shown: Vec::new(),
        items: vec![Vec::new(); n],
        json: vec![Vec::new(); n],
    };
    let mut index = std::collections::HashMap::new();
    for (i, s) in trace.spans.iter().enumerate() {
        index.entry(s.span_id.as_str()).or_insert(i);
    }
    let index_of = |id: &str| index.get(id).copied();
    let root = index_of(&trace.root().span_id).unwrap_or(0);
    for e in events {
        let at = e
            .span_id()
            .and_then(|s| index_of(&s.to_string()))
            .unwrap_or(root);
        placed.items[at].push((e.timestamp().unix_micros(), placed.shown.len()));
        placed.shown.push(Shown {
            at_us: e.timestamp().unix_micros(),
            severity: Some(e.severity().as_str().to_owned()),
            name: e.event_type().as_str().to_owned(),
            source: Some(e.source().to_owned()),
            detail: e.detail().map(str::to_owned),
        });
        let json = serde_json::from_str(&fcc::EventSerializer::to_json(e)).unwrap_or(Value::Null);
        placed.json[at].push(json);
    }
    for (i, s) in trace.spans.iter().enumerate() {
        for e in &s.events {
            let attrs = e.get("attributes").and_then(Value::as_object);
            if attrs.is_some_and(|a| a.contains_key("event_id")) {
                continue;
            }
            let Some(at) = e
                .get("timestamp")
                .and_then(Value::as_str)
                .and_then(|t| fcc::Timestamp::parse_rfc3339(t).ok())
            else {
                continue;
            };
            let text = |k: &str| {
                attrs
                    .and_then(|a| a.get(k))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            placed.items[i].push((at.unix_micros(), placed.shown.len()));
            placed.shown.push(Shown {
                at_us: at.unix_micros(),
                severity: None,
                name: e
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("event")
                    .to_owned(),
                source: text("exception.type"),
                detail: text("exception.message"),
            });
        }
    }
    placed
}
