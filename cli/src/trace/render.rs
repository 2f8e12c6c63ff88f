//! How traces are printed: a waterfall of one trace and a list of traces
//! for people, one JSON document each for scripts.

use std::io::{self, Write};

use serde_json::{json, Map, Value};

use super::load::{Row, Span, Trace, Tree};
use crate::output::{paint, printable, severity_colour};

/// The bar's width in columns: the whole trace, first start to last end.
pub const BAR_WIDTH: usize = 40;

/// The widest span name column (indentation included).
const NAME_WIDTH: usize = 56;

/// Something shown under a span: an event of the store that carries the
/// span's id (or the trace's, under the root), or a span event that is not
/// one of them (an `exception`).
#[derive(Debug, Clone)]
pub struct Shown {
    pub at_us: i64,
    pub severity: Option<String>,
    pub name: String,
    pub source: Option<String>,
    pub detail: Option<String>,
}

/// `1.23 ms`: µs under a millisecond, ms under a second, s under a minute,
/// then minutes and seconds.
pub fn human_duration(us: i64) -> String {
    let us = us.max(0);
    match us {
        0..1_000 => format!("{us} µs"),
        1_000..1_000_000 => format!("{:.2} ms", us as f64 / 1e3),
        1_000_000..60_000_000 => format!("{:.2} s", us as f64 / 1e6),
        _ => format!("{}m{:02}s", us / 60_000_000, (us / 1_000_000) % 60),
    }
}

/// Where a span sits on a bar of `width` columns spanning `total_us`: the
/// blank columns before it and the columns it fills (at least one, never
/// past the end).
pub fn bar_cells(offset_us: i64, duration_us: i64, total_us: i64, width: usize) -> (usize, usize) {
    if width == 0 {
        return (0, 0);
    }
    if total_us <= 0 {
        return (0, width);
    }
    let scale = |us: i64| {
        ((us.clamp(0, total_us) as f64 / total_us as f64) * width as f64).round() as usize
    };
    let lead = scale(offset_us).min(width - 1);
    let end = scale(offset_us.saturating_add(duration_us.max(0))).clamp(lead + 1, width);
    (lead, end - lead)
}

/// Attributes worth a glance: not the code location or runtime bookkeeping.
fn key_attributes(attrs: &Map<String, Value>) -> String {
    let noise = |k: &str| {
        ["code.", "thread.", "otel.", "busy_ns", "idle_ns"]
            .iter()
            .any(|n| k.starts_with(n))
    };
    attrs
        .iter()
        .filter(|(k, _)| !noise(k))
        .take(8)
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s.clone(),
                v => v.to_string(),
            };
            format!("{}={}", printable(k), clip(&printable(&v), 40))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}

fn status_colour(status: &str) -> &'static str {
    match status {
        "error" => "31",
        "ok" => "32",
        _ => "2",
    }
}

/// One line about a trace: what it is, how big, how long.
fn headline(t: &Trace) -> String {
    format!(
        "trace {}  {}{}  {} spans  {}  {} errors",
        t.id,
        printable(&t.root().name),
        t.mission()
            .map(|m| format!("  mission {}", printable(&m)))
            .unwrap_or_default(),
        t.spans.len(),
        human_duration(t.duration_us()),
        t.errors()
    )
}

/// The waterfall: each span indented under its parent, with its duration,
/// its place on a bar scaled to the trace, its status and key attributes;
/// `items[span]` listed under it, merged with its children by time.
pub fn waterfall(
    out: &mut impl Write,
    trace: &Trace,
    tree: &Tree,
    shown: &[Shown],
    items: &[Vec<(i64, usize)>],
    colour: bool,
) -> io::Result<()> {
    let rows = tree.rows_with(&trace.spans, items);
    let name_of = |s: &Span, depth: usize| {
        let room = NAME_WIDTH.saturating_sub(2 * depth).max(8);
        clip(&printable(&s.name), room)
    };
    let width = rows
        .iter()
        .filter_map(|r| match *r {
            Row::Span { span, depth } => {
                Some(2 * depth + name_of(&trace.spans[span], depth).chars().count())
            }
            Row::Item { .. } => None,
        })
        .max()
        .unwrap_or(4)
        .max(4);
    let (start, total) = (trace.start_us(), trace.duration_us());
    writeln!(out, "{}", paint(colour, "1", &headline(trace)))?;
    writeln!(out)?;
    let head = format!(
        "{:<width$}  {:>9}  {:<bar$}  STATUS  ATTRIBUTES",
        "SPAN",
        "DURATION",
        format!("|0{:>w$}|", human_duration(total), w = BAR_WIDTH - 1),
        bar = BAR_WIDTH + 2
    );
    writeln!(out, "{}", paint(colour, "1", head.trim_end()))?;
    for row in rows {
        match row {
            Row::Span { span, depth } => {
                let s = &trace.spans[span];
                let name = name_of(s, depth);
                let pad = width - 2 * depth - name.chars().count();
                let (lead, fill) = bar_cells(s.start_us - start, s.duration_us(), total, BAR_WIDTH);
                let status = s.status.as_deref().unwrap_or("unset");
                let bar = paint(
                    colour,
                    if s.is_error() { "31" } else { "36" },
                    &"█".repeat(fill),
                );
                let mut line = format!(
                    "{}{}{}  {:>9}  |{}{}{}|  {}  {}",
                    "  ".repeat(depth),
                    if depth == 0 {
                        paint(colour, "1", &name)
                    } else {
                        name
                    },
                    " ".repeat(pad),
                    human_duration(s.duration_us()),
                    " ".repeat(lead),
                    bar,
                    " ".repeat(BAR_WIDTH - lead - fill),
                    paint(
                        colour,
                        status_colour(status),
                        &format!("{:<6}", printable(status))
                    ),
                    key_attributes(&s.attributes),
                );
                if let Some(d) = s.status_description.as_deref().filter(|_| s.is_error()) {
                    line.push_str(&format!("  ({})", clip(&printable(d), 80)));
                }
                if let Some(p) = s.parent_span_id.as_deref().filter(|_| depth == 0) {
                    let note = format!("  (parent {} not in the file)", printable(p));
                    line.push_str(&paint(colour, "2", &note));
                }
                writeln!(out, "{}", line.trim_end())?;
            }
            Row::Item { item, depth } => {
                let e = &shown[item];
                let sev = e.severity.as_deref().unwrap_or("");
                let sev_code = sev.parse().map_or("2", severity_colour);
                let mut line = format!(
                    "{}· +{} {} {}",
                    "  ".repeat(depth),
                    human_duration(e.at_us - start),
                    paint(colour, sev_code, &format!("{:<5}", printable(sev))),
                    printable(&e.name),
                );
                if let Some(src) = &e.source {
                    line.push_str(&format!("  {}", printable(src)));
                }
                if let Some(d) = &e.detail {
                    line.push_str(&format!("  {}", clip(&printable(d), 80)));
                }
                writeln!(out, "{}", paint(colour, "2", line.trim_end()))?;
            }
        }
    }
    Ok(())
}

/// A trace's summary, as `fcc traces --json` gives it.
pub fn summary_json(t: &Trace) -> Value {
    let last = t.spans.iter().max_by_key(|s| s.end_us);
    json!({
        "trace_id": t.id,
        "root": t.root().name,
        "mission": t.mission(),
        "span_count": t.spans.len(),
        "error_count": t.errors(),
        "duration_ms": t.duration_us() as f64 / 1e3,
        "start_time": t.spans.first().map(|s| s.start_time.as_str()),
        "end_time": last.map(|s| s.end_time.as_str()),
    })
}

/// The list of traces as a table.
pub fn list(out: &mut impl Write, traces: &[&Trace]) -> io::Result<()> {
    let rows: Vec<Vec<String>> = traces
        .iter()
        .map(|t| {
            vec![
                t.id.clone(),
                t.root().name.clone(),
                t.mission().unwrap_or_else(|| "-".into()),
                t.spans.len().to_string(),
                human_duration(t.duration_us()),
                t.errors().to_string(),
                t.spans
                    .first()
                    .map_or(String::new(), |s| s.start_time.clone()),
            ]
        })
        .collect();
    crate::output::table(
        out,
        &[
            "TRACE_ID", "ROOT", "MISSION", "SPANS", "DURATION", "ERRORS", "STARTED",
        ],
        &rows,
        None,
    )
}

/// One trace as a JSON document: its summary and its spans depth-first,
/// each with its depth and the store's events placed under it.
pub fn trace_json(trace: &Trace, tree: &Tree, events: &[Vec<Value>]) -> Value {
    let start = trace.start_us();
    let spans: Vec<Value> = tree
        .preorder()
        .into_iter()
        .map(|(i, depth)| {
            let s = &trace.spans[i];
            json!({
                "span_id": s.span_id,
                "parent_span_id": s.parent_span_id,
                "name": s.name,
                "kind": s.kind,
                "depth": depth,
                "start_time": s.start_time,
                "end_time": s.end_time,
                "start_offset_ms": (s.start_us - start) as f64 / 1e3,
                "duration_ms": s.duration_us() as f64 / 1e3,
                "status": s.status,
                "status_description": s.status_description,
                "attributes": s.attributes,
                "span_events": s.events,
                "events": events.get(i).cloned().unwrap_or_default(),
            })
        })
        .collect();
    let mut doc = summary_json(trace);
    doc["spans"] = Value::Array(spans);
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_trace_and_stay_inside() {
        assert_eq!(
            bar_cells(0, 100, 100, 40),
            (0, 40),
            "the root fills the bar"
        );
        assert_eq!(bar_cells(50, 25, 100, 40), (20, 10));
        assert_eq!(
            bar_cells(99, 0, 100, 40),
            (39, 1),
            "an instant is one column"
        );
        assert_eq!(bar_cells(100, 0, 100, 40), (39, 1), "never past the end");
        assert_eq!(
            bar_cells(10, 1_000, 100, 40),
            (4, 36),
            "clipped to the trace"
        );
        assert_eq!(bar_cells(0, 0, 0, 40), (0, 40), "a zero-length trace");
        for off in 0..=100 {
            let (lead, fill) = bar_cells(off, 7, 100, 40);
            assert!(fill >= 1 && lead + fill <= 40, "{off}: {lead}+{fill}");
        }
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human_duration(29), "29 µs");
        assert_eq!(human_duration(2_941), "2.94 ms");
        assert_eq!(human_duration(1_500_000), "1.50 s");
        assert_eq!(human_duration(125_000_000), "2m05s");
        assert_eq!(human_duration(-5), "0 µs");
    }
}
