//! A tight loop emitting the same event: with a rate limit, the first
//! events of each window per call site pass, the rest are counted and
//! reported in one `fcc.events.suppressed` event, and other call sites are
//! not affected. Nothing is lost silently.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fcc::layer::RateLimit;
use fcc::{Event, EventType, LogTarget, TelemetryBuilder};

#[test]
fn a_flood_from_one_call_site_is_limited_counted_and_reported() {
    let t = TelemetryBuilder::default()
        .log(LogTarget::Off)
        .fmt(None)
        // A long window, so the test does not depend on the clock.
        .rate_limit(Some(RateLimit::new(5, Duration::from_secs(3600))))
        .build()
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::<Event>::new()));
    let s = seen.clone();
    t.bus()
        .subscribe(move |e: &Event| s.lock().unwrap().push(e.clone()));
    tracing::dispatcher::with_default(t.dispatch(), || {
        for i in 0..1_000 {
            fcc::event!(
                EventType::ProtocolMcpToolFailed,
                "gateway",
                detail = format!("try {i}")
            );
        }
        for _ in 0..3 {
            fcc::event!(
                EventType::ProtocolMcpToolFailed,
                "gateway",
                detail = "elsewhere"
            );
        }
    });
    assert_eq!(t.suppressed_events(), 995);
    t.flush(Duration::from_secs(10)).unwrap();
    let seen = seen.lock().unwrap();
    let tool_failed = seen
        .iter()
        .filter(|e| *e.event_type() == EventType::ProtocolMcpToolFailed)
        .count();
    assert_eq!(tool_failed, 5 + 3, "5 from the loop, 3 from the other site");
    let summaries: Vec<&Event> = seen
        .iter()
        .filter(|e| e.event_type().as_str() == "fcc.events.suppressed")
        .collect();
    assert_eq!(summaries.len(), 1);
    let p = summaries[0].payload();
    assert_eq!(p["suppressed"], 995);
    assert_eq!(p["event_type"], "protocol.mcp.tool.failed");
    assert!(
        p["location"].as_str().unwrap().contains("flood.rs:"),
        "{p:?}"
    );
    assert_eq!(summaries[0].source(), "gateway");
    drop(seen);
    t.shutdown().unwrap();
}

#[test]
fn the_rate_limit_is_off_by_default_and_read_from_fcc_rate_limit() {
    let t = TelemetryBuilder::default()
        .log(LogTarget::Off)
        .fmt(None)
        .build()
        .unwrap();
    tracing::dispatcher::with_default(t.dispatch(), || {
        for _ in 0..100 {
            fcc::event!(EventType::ProtocolMcpToolFailed, "gateway");
        }
    });
    assert_eq!((t.suppressed_events(), t.bus().stats().published), (0, 100));
    let err = TelemetryBuilder::from_vars(|k| (k == "FCC_RATE_LIMIT").then(|| "lots".into()))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("FCC_RATE_LIMIT") && err.contains("N/s"),
        "{err}"
    );
    assert!(
        TelemetryBuilder::from_vars(|k| (k == "FCC_RATE_LIMIT").then(|| "50/s".into())).is_ok()
    );
}
