//! `fcc trace` and `fcc traces` on what a real demo wrote: missions as
//! trees of spans with the store's events under them, errors first, and
//! the documented exit codes for ids and files that are not there. Nothing
//! here depends on span names (the demo's are being restructured) or on
//! timings.

use crate::support;
use support::{fcc, text};

use std::collections::HashMap;
use std::path::Path;
use std::process::Output;

use serde_json::Value;

/// A small demo in `dir` (its default paths, fcc-demo/...).
fn demo(dir: &Path) {
    let out = fcc(&["demo", "--missions", "3", "--objectives", "2", "-q"], dir);
    assert!(out.status.success(), "demo: {}", text(&out.stderr));
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(&out.stdout)))
}

fn ids(list: &Value) -> Vec<String> {
    list["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["trace_id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn traces_lists_every_mission_slowest_first_and_slowest_n() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    demo(d);
    let list = json(&fcc(&["traces", "--json"], d));
    assert_eq!(list["trace_count"], 3, "{list:#}");
    assert_eq!(list["skipped_lines"], 0);
    let traces = list["traces"].as_array().unwrap();
    assert_eq!(traces.len(), 3);
    let mut missions: Vec<&str> = traces
        .iter()
        .map(|t| t["mission"].as_str().unwrap())
        .collect();
    missions.sort();
    assert_eq!(
        missions,
        ["M-0001", "M-0002", "M-0003"],
        "one trace a mission"
    );
    for t in traces {
        assert!(t["span_count"].as_u64().unwrap() > 3, "{t:#}");
        assert!(t["root"].as_str().is_some_and(|r| !r.is_empty()));
    }
    let durations: Vec<f64> = traces
        .iter()
        .map(|t| t["duration_ms"].as_f64().unwrap())
        .collect();
    assert!(
        durations.windows(2).all(|w| w[0] >= w[1]),
        "slowest first: {durations:?}"
    );

    let one = json(&fcc(&["traces", "--slowest", "1", "--json"], d));
    assert_eq!(ids(&one), ids(&list)[..1], "--slowest 1 is the slowest");

    let human = fcc(&["traces"], d);
    assert!(human.status.success());
    let human = text(&human.stdout);
    assert!(human.starts_with("TRACE_ID"), "{human}");
    assert_eq!(
        human.lines().count(),
        4,
        "a header and a row a trace:\n{human}"
    );
    for id in ids(&list) {
        assert!(human.contains(&id), "{id} in\n{human}");
    }
}

#[test]
fn a_trace_with_an_error_span_is_listed_first_and_shows_why() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    demo(d);
    let list = json(&fcc(&["traces", "--json"], d));
    let fastest = ids(&list).pop().unwrap();
    // Every span made ok (the engine instrumentation marks the demo's failed
    // actions), then the fastest trace gets one failed span.
    let spans = std::fs::read_to_string(d.join("fcc-demo/spans.ndjson")).unwrap();
    let mut marked = false;
    let lines: Vec<String> = spans
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            if v["status"] == "error" {
                v["status"] = "ok".into();
            }
            if !marked && v["trace_id"] == fastest.as_str() && !v["parent_span_id"].is_null() {
                marked = true;
                v["status"] = "error".into();
                v["status_description"] = "injected: the tool failed".into();
            }
            v.to_string()
        })
        .collect();
    std::fs::write(d.join("failed.ndjson"), lines.join("\n") + "\n").unwrap();
    let list = json(&fcc(&["traces", "--spans", "failed.ndjson", "--json"], d));
    assert_eq!(ids(&list)[0], fastest, "errors first, before slower traces");
    assert_eq!(list["traces"][0]["error_count"], 1);

    let out = fcc(&["trace", &fastest, "--spans", "failed.ndjson"], d);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let human = text(&out.stdout);
    assert!(human.contains("1 errors"), "{human}");
    let line = human
        .lines()
        .find(|l| l.contains("injected: the tool failed"))
        .expect(&human);
    assert!(line.contains("error"), "{line}");
}

#[test]
fn trace_with_no_id_shows_the_slowest_mission_as_a_tree_with_its_events() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    demo(d);
    let slowest = ids(&json(&fcc(&["traces", "--slowest", "1", "--json"], d))).remove(0);
    let doc = json(&fcc(&["trace", "--json"], d));
    assert_eq!(doc["trace_id"], slowest.as_str(), "the slowest mission");
    assert!(doc["mission"].as_str().is_some());
    assert_eq!(doc["events_from"], "sqlite://fcc-demo/events.db");
    let spans = doc["spans"].as_array().unwrap();
    assert_eq!(spans.len() as u64, doc["span_count"].as_u64().unwrap());

    // Depth-first: one root; every other span's parent is in the tree,
    // before it, one level up.
    let mut depth_of: HashMap<&str, u64> = HashMap::new();
    for (i, s) in spans.iter().enumerate() {
        let depth = s["depth"].as_u64().unwrap();
        match s["parent_span_id"].as_str() {
            None => assert!(i == 0 && depth == 0, "the root comes first: {s:#}"),
            Some(p) => {
                let parent = depth_of
                    .get(p)
                    .unwrap_or_else(|| panic!("parent {p} of {s:#}"));
                assert_eq!(depth, parent + 1, "{s:#}");
            }
        }
        depth_of.insert(s["span_id"].as_str().unwrap(), depth);
    }
    assert!(
        depth_of.values().max().unwrap() >= &2,
        "nested children: {doc:#}"
    );
    assert_eq!(spans[0]["name"], doc["root"]);

    // The store's events sit under the span they carry, all of this trace.
    let mut events = 0;
    for s in spans {
        for e in s["events"].as_array().unwrap() {
            events += 1;
            assert_eq!(e["trace_id"], doc["trace_id"]);
            assert_eq!(e["span_id"], s["span_id"], "{e:#}");
        }
    }
    assert!(events > 0, "the store's events are shown");

    // The waterfall: the same spans in the same order, children indented
    // deeper than their parent, events one level under their span.
    let out = fcc(&["trace"], d);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let human = text(&out.stdout);
    let plain = std::process::Command::new(env!("CARGO_BIN_EXE_fcc"))
        .arg("trace")
        .current_dir(d)
        .env_remove("NO_COLOR")
        .env_remove("FCC_STORE_URL")
        .output()
        .unwrap();
    assert_eq!(
        text(&plain.stdout),
        human,
        "no colour off a terminal, NO_COLOR or not"
    );
    assert!(!human.contains('\x1b'));
    assert!(human.starts_with(&format!("trace {slowest}")), "{human}");
    let rows: Vec<&str> = human.lines().skip(3).collect();
    let span_rows: Vec<&str> = rows
        .iter()
        .copied()
        .filter(|l| !l.trim_start().starts_with('·'))
        .collect();
    assert_eq!(span_rows.len(), spans.len(), "{human}");
    for (row, s) in span_rows.iter().zip(spans) {
        let indent = row.len() - row.trim_start().len();
        assert_eq!(indent as u64, 2 * s["depth"].as_u64().unwrap(), "{row}");
        assert!(
            row.trim_start().starts_with(s["name"].as_str().unwrap()),
            "{row}"
        );
        assert_eq!(row.matches('|').count(), 2, "a bar: {row}");
    }
    assert_eq!(
        rows.len() - span_rows.len(),
        events,
        "each event once:\n{human}"
    );
    // An event sits one level under a span on the path to it.
    let mut path: Vec<usize> = Vec::new();
    for row in &rows {
        let indent = row.len() - row.trim_start().len();
        if row.trim_start().starts_with('·') {
            assert!(path.contains(&(indent - 2)), "{row}\n{human}");
        } else {
            path.retain(|&i| i < indent);
            path.push(indent);
        }
    }
}

#[test]
fn trace_by_id_and_ids_that_are_not_there() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    demo(d);
    let all = ids(&json(&fcc(&["traces", "--json"], d)));
    for id in &all {
        let doc = json(&fcc(&["trace", id, "--json"], d));
        assert_eq!(&doc["trace_id"], id.as_str());
        assert!(doc["spans"].as_array().unwrap().len() > 3);
        let upper = fcc(&["trace", &id.to_uppercase(), "--json"], d);
        assert_eq!(json(&upper)["trace_id"], id.as_str(), "hex in any case");
    }

    // One digit off: exit 3, and the real id is named first.
    let id = &all[0];
    let last = if id.ends_with('0') { "1" } else { "0" };
    let near = format!("{}{last}", &id[..31]);
    let out = fcc(&["trace", &near], d);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains(&near) && err.contains("nearest"), "{err}");
    let named: Vec<&str> = err.lines().skip(1).map(str::trim).collect();
    assert_eq!(named.len(), all.len().min(5), "{err}");
    assert_eq!(named[0], id, "the closest first: {err}");

    for bad in ["xyz", &id[..31], &format!("{}g", &id[..31])] {
        let out = fcc(&["trace", bad], d);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("32 hex digits"));
    }
}

#[test]
fn a_corrupt_line_is_skipped_with_a_warning_and_the_rest_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    demo(d);
    let spans = std::fs::read_to_string(d.join("fcc-demo/spans.ndjson")).unwrap();
    let mut lines: Vec<&str> = spans.lines().collect();
    let n = lines.len();
    lines.insert(1, "{\"trace_id\": \x1b[31m not json");
    // The last line torn, as by a crash mid-write.
    let torn = lines[n][..lines[n].len() / 2].to_owned();
    lines[n] = torn.as_str();
    std::fs::write(d.join("bad.ndjson"), lines.join("\n")).unwrap();

    let out = fcc(&["traces", "--spans", "bad.ndjson", "--json"], d);
    let list = json(&out);
    assert_eq!(list["trace_count"], 3, "the rest read");
    assert_eq!(list["skipped_lines"], 2);
    let err = text(&out.stderr);
    assert!(
        err.contains("line 2") && err.contains(&format!("line {}", n + 1)),
        "{err}"
    );
    assert!(err.contains("skipped 2 lines"), "{err}");
    assert!(!err.contains('\x1b'), "the file's text escaped: {err}");

    let out = fcc(&["trace", "--spans", "bad.ndjson"], d);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("line 2"));
}

#[test]
fn a_missing_spans_file_is_not_found_and_a_missing_store_only_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for cmd in ["trace", "traces"] {
        let out = fcc(&[cmd], d);
        assert_eq!(out.status.code(), Some(3), "{cmd}");
        let err = text(&out.stderr);
        assert!(
            err.contains("fcc-demo/spans.ndjson") && err.contains("fcc demo"),
            "{err}"
        );
    }
    let out = fcc(&["trace", "--spans", "no/such.ndjson"], d);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("no/such.ndjson"));

    demo(d);
    let url = format!("sqlite://{}", d.join("none.db").display());
    let out = fcc(&["trace", "--store", &url], d);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("no event store"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !text(&out.stdout).contains('·'),
        "no events without a store"
    );
    assert!(!d.join("none.db").exists(), "the store is never created");
    let doc = json(&fcc(&["trace", "--store", &url, "--json"], d));
    assert!(doc["events_from"].is_null() && doc["events_note"].is_string());

    let out = fcc(&["trace", "--store", "mysql://x/y"], d);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a store URL of no supported scheme"
    );
}
