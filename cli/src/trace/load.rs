//! Reading a spans file (what `JsonFileSpanExporter` writes: NDJSON, or one
//! JSON array for a `.json` path), grouping the spans by trace and laying
//! each trace out as a tree.
//!
//! Nothing here knows span names: a root is a span with no parent in the
//! file, a mission is whichever identifying attribute a trace carries.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value};

/// One span as the JSON file exporters write it. Unknown fields are ignored,
/// so a newer exporter's extra fields do not break an older `fcc`.
#[derive(Debug, Clone, Deserialize)]
pub struct Span {
    pub trace_id: String,
    pub span_id: String,
    #[serde(default)]
    pub parent_span_id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub kind: Option<String>,
    pub start_time: String,
    pub end_time: String,
    /// `"ok"`, `"error"` or `"unset"` (anything else is shown as it is).
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub status_description: Option<String>,
    #[serde(default)]
    pub attributes: Map<String, Value>,
    /// The span's own events (fcc events published in it, `exception`, ...).
    #[serde(default)]
    pub events: Vec<Value>,
    /// Start and end, microseconds since the Unix epoch (from the times).
    #[serde(skip)]
    pub start_us: i64,
    #[serde(skip)]
    pub end_us: i64,
}

impl Span {
    /// Microseconds from start to end (0 if the file says it ended first).
    pub fn duration_us(&self) -> i64 {
        (self.end_us - self.start_us).max(0)
    }
    /// True for an error status.
    pub fn is_error(&self) -> bool {
        self.status.as_deref() == Some("error")
    }
}

/// The spans of one trace, sorted by start time.
#[derive(Debug)]
pub struct Trace {
    pub id: String,
    pub spans: Vec<Span>,
}

/// Attribute keys that name what a trace is about, most telling first.
const MISSION_KEYS: &[&str] = &[
    "mission_id",
    "mission.id",
    "mission",
    "scenario_id",
    "simulation.scenario_id",
];

impl Trace {
    /// The earliest span without a parent (the earliest span if every span
    /// has one, e.g. when the root was lost).
    pub fn root(&self) -> &Span {
        self.spans
            .iter()
            .find(|s| s.parent_span_id.is_none())
            .unwrap_or(&self.spans[0])
    }
    pub fn start_us(&self) -> i64 {
        self.spans.iter().map(|s| s.start_us).min().unwrap_or(0)
    }
    pub fn end_us(&self) -> i64 {
        self.spans.iter().map(|s| s.end_us).max().unwrap_or(0)
    }
    /// From the first start to the last end.
    pub fn duration_us(&self) -> i64 {
        (self.end_us() - self.start_us()).max(0)
    }
    /// How many spans ended with an error status.
    pub fn errors(&self) -> usize {
        self.spans.iter().filter(|s| s.is_error()).count()
    }
    /// The mission (or scenario) the trace is about: the first of
    /// [`MISSION_KEYS`] on the root, then on the other spans, then on their
    /// events' attributes.
    pub fn mission(&self) -> Option<String> {
        let text = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            v => Some(v.to_string()),
        };
        let from = |attrs: &Map<String, Value>| {
            MISSION_KEYS
                .iter()
                .find_map(|k| attrs.get(*k).and_then(text))
        };
        let root = self.root();
        from(&root.attributes)
            .or_else(|| self.spans.iter().find_map(|s| from(&s.attributes)))
            .or_else(|| {
                self.spans.iter().flat_map(|s| &s.events).find_map(|e| {
                    e.get("attributes")
                        .and_then(Value::as_object)
                        .and_then(from)
                })
            })
    }

    /// The spans as a forest: roots are spans whose parent is not in the
    /// trace (or that are caught in a parent cycle); children by start time.
    pub fn tree(&self) -> Tree {
        let mut index: HashMap<&str, usize> = HashMap::new();
        for (i, s) in self.spans.iter().enumerate() {
            index.entry(s.span_id.as_str()).or_insert(i);
        }
        let mut children = vec![Vec::new(); self.spans.len()];
        let mut roots = Vec::new();
        for (i, s) in self.spans.iter().enumerate() {
            match s.parent_span_id.as_deref().and_then(|p| index.get(p)) {
                Some(&p) if p != i => children[p].push(i),
                _ => roots.push(i),
            }
        }
        let mut tree = Tree { roots, children };
        // A parent cycle never reaches a root: its spans become roots too.
        let seen: HashSet<usize> = tree.preorder().into_iter().map(|(i, _)| i).collect();
        for i in 0..self.spans.len() {
            if !seen.contains(&i) {
                tree.children.iter_mut().for_each(|c| c.retain(|&x| x != i));
                tree.roots.push(i);
            }
        }
        tree
    }
}

/// A trace's spans as a forest, by index into [`Trace::spans`].
#[derive(Debug)]
pub struct Tree {
    pub roots: Vec<usize>,
    pub children: Vec<Vec<usize>>,
}

/// One line of a waterfall: a span, or an item shown under a span (an
/// event), each with its depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    Span { span: usize, depth: usize },
    Item { item: usize, depth: usize },
}

impl Tree {
    /// Spans in depth-first order with their depth (no recursion: a deep
    /// chain cannot overflow the stack).
    pub fn preorder(&self) -> Vec<(usize, usize)> {
        self.rows(&vec![Vec::new(); self.children.len()])
            .into_iter()
            .filter_map(|r| match r {
                Row::Span { span, depth } => Some((span, depth)),
                Row::Item { .. } => None,
            })
            .collect()
    }

    /// Depth-first rows; `items[span]` are `(time_us, item)` pairs shown
    /// one level under that span, merged by time with its child spans.
    /// Visits each span once, whatever the parent links say.
    pub fn rows_with(&self, spans: &[Span], items: &[Vec<(i64, usize)>]) -> Vec<Row> {
        let mut out = Vec::new();
        let mut seen = vec![false; self.children.len()];
        let mut stack: Vec<Row> = self
            .roots
            .iter()
            .rev()
            .map(|&span| Row::Span { span, depth: 0 })
            .collect();
        while let Some(row) = stack.pop() {
            out.push(row);
            let Row::Span { span, depth } = row else {
                continue;
            };
            if std::mem::replace(&mut seen[span], true) {
                out.pop();
                continue;
            }
            // (time, events before spans at the same time, row)
            let mut next: Vec<(i64, u8, Row)> = self.children[span]
                .iter()
                .map(|&c| {
                    let at = spans.get(c).map_or(0, |s| s.start_us);
                    (
                        at,
                        1,
                        Row::Span {
                            span: c,
                            depth: depth + 1,
                        },
                    )
                })
                .collect();
            if let Some(list) = items.get(span) {
                next.extend(list.iter().map(|&(at, item)| {
                    (
                        at,
                        0,
                        Row::Item {
                            item,
                            depth: depth + 1,
                        },
                    )
                }));
            }
            next.sort_by_key(|&(at, kind, _)| (at, kind));
            stack.extend(next.into_iter().rev().map(|(_, _, r)| r));
        }
        out
    }

    fn rows(&self, items: &[Vec<(i64, usize)>]) -> Vec<Row> {
        self.rows_with(&[], items)
    }
}

/// What reading a spans file found.
#[derive(Debug, Default)]
pub struct Loaded {
    /// By trace id.
    pub traces: BTreeMap<String, Trace>,
    /// Lines (or array items) that were not a span: (line number, why).
    pub skipped: Vec<(usize, String)>,
}

/// Reads every span of `r`. A line that is not a span is skipped and
/// recorded with its number; the rest is read. A file that is one JSON
/// array (a `.json` span file) is read item by item.
pub fn read(mut r: impl Read) -> std::io::Result<Loaded> {
    let mut bytes = Vec::new();
    r.read_to_end(&mut bytes)?;
    let mut loaded = Loaded::default();
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    if start.is_some_and(|i| bytes[i] == b'[') {
        if let Ok(items) = serde_json::from_slice::<Vec<Value>>(&bytes) {
            for (n, item) in items.into_iter().enumerate() {
                add(&mut loaded, n + 1, span_from(item));
            }
            return Ok(finish(loaded));
        }
    }
    // NDJSON; also an array written one item a line, whose brackets and
    // commas are stripped (so a torn array still gives its whole items).
    for (n, line) in BufReader::new(&bytes[..]).split(b'\n').enumerate() {
        let line = line?;
        let mut text = line.trim_ascii();
        text = text.strip_prefix(b"[").unwrap_or(text).trim_ascii();
        text = text.strip_suffix(b"]").unwrap_or(text).trim_ascii();
        text = text.strip_suffix(b",").unwrap_or(text).trim_ascii();
        if text.is_empty() {
            continue;
        }
        let span = serde_json::from_slice::<Value>(text)
            .map_err(|e| e.to_string())
            .and_then(span_from);
        add(&mut loaded, n + 1, span);
    }
    Ok(finish(loaded))
}

fn add(loaded: &mut Loaded, n: usize, span: Result<Span, String>) {
    match span {
        Ok(s) => loaded
            .traces
            .entry(s.trace_id.clone())
            .or_insert_with(|| Trace {
                id: s.trace_id.clone(),
                spans: Vec::new(),
            })
            .spans
            .push(s),
        Err(why) => loaded.skipped.push((n, why)),
    }
}

fn finish(mut loaded: Loaded) -> Loaded {
    for t in loaded.traces.values_mut() {
        t.spans.sort_by_key(|s| (s.start_us, s.end_us));
    }
    loaded
}

fn span_from(v: Value) -> Result<Span, String> {
    let mut s: Span = serde_json::from_value(v).map_err(|e| format!("not a span: {e}"))?;
    s.trace_id = s.trace_id.to_ascii_lowercase();
    if !is_trace_id(&s.trace_id) {
        return Err(format!("not a span: trace_id `{}`", s.trace_id));
    }
    let time = |t: &str| {
        fcc::Timestamp::parse_rfc3339(t)
            .map(|t| t.unix_micros())
            .map_err(|e| format!("not a span: time `{t}`: {e}"))
    };
    s.start_us = time(&s.start_time)?;
    s.end_us = time(&s.end_time)?;
    Ok(s)
}

/// 32 hex digits.
pub fn is_trace_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Reads the spans file at `path`.
pub fn read_file(path: &Path) -> std::io::Result<Loaded> {
    read(std::fs::File::open(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(trace: &str, span: &str, parent: Option<&str>, start: u32, end: u32) -> String {
        serde_json::json!({
            "trace_id": trace, "span_id": span, "parent_span_id": parent, "name": span,
            "start_time": format!("2026-01-01T00:00:00.{start:06}Z"),
            "end_time": format!("2026-01-01T00:00:00.{end:06}Z"),
            "status": "ok", "attributes": {}, "extra": "ignored",
        })
        .to_string()
    }

    #[test]
    fn bad_lines_are_skipped_by_number_and_trees_nest() {
        let t = "0123456789abcdef0123456789abcdef";
        let text = [
            line(t, "b", Some("a"), 2, 5),
            "{not json".to_owned(),
            line(t, "a", None, 1, 9),
            String::new(),
            line(t, "c", Some("b"), 3, 4),
            line(t, "x", Some("y"), 6, 7),
            r#"{"trace_id": "nope"}"#.to_owned(),
        ]
        .join("\n");
        let loaded = read(text.as_bytes()).unwrap();
        let lines: Vec<usize> = loaded.skipped.iter().map(|s| s.0).collect();
        assert_eq!(lines, [2, 7]);
        let trace = &loaded.traces[t];
        assert_eq!(trace.root().span_id, "a");
        assert_eq!(trace.duration_us(), 8);
        let order: Vec<(&str, usize)> = trace
            .tree()
            .preorder()
            .into_iter()
            .map(|(i, d)| (trace.spans[i].span_id.as_str(), d))
            .collect();
        assert_eq!(order, [("a", 0), ("b", 1), ("c", 2), ("x", 0)]);
    }

    #[test]
    fn a_json_array_file_and_a_parent_cycle() {
        let t = "0123456789abcdef0123456789abcdef";
        let text = format!(
            "[\n{},\n{}\n]\n",
            line(t, "a", Some("b"), 1, 2),
            line(t, "b", Some("a"), 1, 3)
        );
        let loaded = read(text.as_bytes()).unwrap();
        assert!(loaded.skipped.is_empty());
        let tree = loaded.traces[t].tree();
        assert_eq!(tree.preorder().len(), 2, "each span once, none lost");
    }
}
