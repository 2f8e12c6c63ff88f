//! W3C Trace Context Level 1, rule by rule, with the specification's own
//! examples and the cases of its test suite (w3c/trace-context test/test.py).

use fcc::trace::propagation::{extract_all, parse_tracestate};

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const PARENT: &str = "b7ad6b7169203331";

fn extract(headers: &[(&str, &str)]) -> Option<fcc::trace::SpanContext> {
    extract_all(|k| {
        headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| *v)
            .collect()
    })
    .ok()
    .flatten()
}

fn parent(value: &str) -> Option<fcc::trace::SpanContext> {
    extract(&[("traceparent", value)])
}

#[test]
fn the_spec_examples_are_accepted() {
    let sampled = parent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
    assert_eq!(
        sampled.trace_id.to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(sampled.span_id.to_string(), "00f067aa0ba902b7");
    assert!(sampled.sampled && sampled.remote);
    assert!(
        !parent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
            .unwrap()
            .sampled
    );
    // Optional white space around the value.
    assert!(parent(&format!(" \t00-{TRACE}-{PARENT}-01 \t")).is_some());
}

#[test]
fn a_malformed_traceparent_starts_a_new_trace() {
    let ok = format!("00-{TRACE}-{PARENT}-01");
    for bad in [
        String::new(),
        "garbage".to_owned(),
        // version
        format!("ff-{TRACE}-{PARENT}-01"),
        format!("0-{TRACE}-{PARENT}-01"),
        format!("000-{TRACE}-{PARENT}-01"),
        format!(".0-{TRACE}-{PARENT}-01"),
        format!("0G-{TRACE}-{PARENT}-01"),
        // version 00 has exactly four fields
        format!("{ok}-what-the-future-will-be-like"),
        format!("{ok}."),
        // trace id: upper case, zeros, illegal characters, length
        format!("00-{}-{PARENT}-01", TRACE.to_uppercase()),
        format!("00-{}-{PARENT}-01", "0".repeat(32)),
        format!("00-{}.-{PARENT}-01", &TRACE[..31]),
        format!("00-{TRACE}0-{PARENT}-01"),
        format!("00-{}-{PARENT}-01", &TRACE[..31]),
        // parent id
        format!("00-{TRACE}-{}-01", PARENT.to_uppercase()),
        format!("00-{TRACE}-{}-01", "0".repeat(16)),
        format!("00-{TRACE}-{}.-01", &PARENT[..15]),
        format!("00-{TRACE}-{PARENT}0-01"),
        format!("00-{TRACE}-{}-01", &PARENT[..15]),
        // flags
        format!("00-{TRACE}-{PARENT}-.0"),
        format!("00-{TRACE}-{PARENT}-0x"),
        format!("00-{TRACE}-{PARENT}-010"),
        format!("00-{TRACE}-{PARENT}-0"),
    ] {
        assert!(parent(&bad).is_none(), "accepted {bad:?}");
    }
}

#[test]
fn later_versions_are_read_by_their_first_four_fields() {
    let p = parent(&format!("cc-{TRACE}-{PARENT}-01")).unwrap();
    assert_eq!(p.trace_id.to_string(), TRACE);
    assert!(parent(&format!(
        "cc-{TRACE}-{PARENT}-01-what-the-future-will-be-like"
    ))
    .is_some());
    assert!(
        parent(&format!(
            "cc-{TRACE}-{PARENT}-01.what-the-future-will-be-like"
        ))
        .is_none(),
        "what follows the flags starts with '-'"
    );
    // Only the sampled bit is known: other flag bits are ignored.
    assert!(parent(&format!("cc-{TRACE}-{PARENT}-09")).unwrap().sampled);
}

#[test]
fn a_duplicated_traceparent_starts_a_new_trace_and_drops_tracestate() {
    let tp = format!("00-{TRACE}-{PARENT}-01");
    let other = format!("00-{}-{PARENT}-01", "1".repeat(32));
    assert!(extract(&[
        ("traceparent", &tp),
        ("traceparent", &other),
        ("tracestate", "foo=1")
    ])
    .is_none());
    assert!(extract(&[("traceparent", &tp), ("traceparent", &tp)]).is_none());
}

#[test]
fn tracestate_is_kept_only_with_a_valid_traceparent() {
    let tp = format!("00-{TRACE}-{PARENT}-01");
    let ctx = extract(&[
        ("traceparent", &tp),
        ("tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
    ])
    .unwrap();
    assert_eq!(
        ctx.trace_state.as_deref(),
        Some("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
    );
    assert!(extract(&[("traceparent", "00-bad"), ("tracestate", "foo=1")]).is_none());
}

#[test]
fn tracestate_headers_are_combined_and_checked_against_the_grammar() {
    // Several headers are one list, in order.
    assert_eq!(
        parse_tracestate(&["foo=1", "bar=2"]).as_deref(),
        Some("foo=1,bar=2")
    );
    // Empty members and white space around members are skipped.
    assert_eq!(
        parse_tracestate(&["foo=1 , ,\tbar=2"]).as_deref(),
        Some("foo=1,bar=2")
    );
    // Multi-tenant keys; values with inner spaces and any printable but , and =.
    assert_eq!(
        parse_tracestate(&["t61rcwkgmze@congo=a b!~, 1a-_*/@sys-_*/=x"]).as_deref(),
        Some("t61rcwkgmze@congo=a b!~,1a-_*/@sys-_*/=x")
    );
    // The first of a duplicated key is kept.
    assert_eq!(parse_tracestate(&["foo=1,foo=2"]).as_deref(), Some("foo=1"));
    // Invalid members drop the whole header.
    for bad in [
        "",
        "foo",
        "foo=",
        "FOO=1",
        "1foo=1",
        "foo=1,bar=",
        "foo=bar=baz",
        "foo=a,b",
        "foo@=1",
        "foo@Bar=1",
        "foo@1bar=1",
        "foo@abcdefghijklmno=1",
        "foo=\u{7f}",
        "foo=é",
    ] {
        assert_eq!(parse_tracestate(&[bad]), None, "kept {bad:?}");
    }
    let long_key = format!("a{}=1", "b".repeat(256));
    assert_eq!(parse_tracestate(&[&long_key]), None, "key over 256");
    let long_value = format!("a={}", "b".repeat(257));
    assert_eq!(parse_tracestate(&[&long_value]), None, "value over 256");
    assert!(parse_tracestate(&[&format!("a{}=1", "b".repeat(255))]).is_some());
}

#[test]
fn tracestate_keeps_up_to_32_members() {
    let members: Vec<String> = (0..32).map(|i| format!("k{i}=v")).collect();
    assert!(parse_tracestate(&[&members.join(",")]).is_some());
    let members: Vec<String> = (0..33).map(|i| format!("k{i}=v")).collect();
    assert_eq!(parse_tracestate(&[&members.join(",")]), None);
    // Split over two headers, the limit is on the combined list.
    assert_eq!(
        parse_tracestate(&[&members[..20].join(","), &members[20..].join(",")]),
        None
    );
}
