//! What set-up says on stderr, seen as a user sees it: each case runs in a
//! child process (this test binary again, told which case by
//! `FCC_TEST_CHILD`) and the parent reads its stderr.
//!
//! - `let _ = fcc::init()` drops the guard at once: the first span after it
//!   prints one warning naming `let _guard = fcc::init()?`.
//! - An unknown name in `OTEL_PROPAGATORS` is a warning listing the known
//!   ones; the known names still work.
//! - A `metrics` recorder set before fcc stays, with a warning (no panic);
//!   `.metrics_recorder(false)` leaves the facade alone without one.

use std::process::Command;

fn run_child(case: &str, env: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        &crate::support::test_path(module_path!(), "child"),
        "--nocapture",
        "--test-threads=1",
    ])
    .env("FCC_TEST_CHILD", case)
    .env("FCC_LOG", "off")
    .env("FCC_FMT", "off")
    .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
    .env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The child's side, run by the tests below in a child process; in a normal
/// test run (no `FCC_TEST_CHILD`) it does nothing and passes.
#[test]
fn child() {
    match std::env::var("FCC_TEST_CHILD").as_deref() {
        Ok("dropped_guard") => {
            #[allow(clippy::let_underscore_must_use, let_underscore_drop)]
            let _ = fcc::init();
            for _ in 0..3 {
                let _span = fcc::trace::global().map(|t| t.span("after.shutdown"));
                tracing::info_span!("tracing.after.shutdown").in_scope(|| {});
            }
        }
        Ok("second_setup") => {
            let (_layer, first) = fcc::Telemetry::builder().fmt(None).layer().unwrap();
            drop(first);
            let (_layer, _second) = fcc::Telemetry::builder().fmt(None).layer().unwrap();
            let _span = fcc::trace::global().map(|t| t.span("work"));
        }
        Ok("kept_guard") => {
            let _guard = fcc::init().unwrap();
            let _span = fcc::trace::global().map(|t| t.span("work"));
        }
        Ok("propagators") => {
            let _guard = fcc::init().unwrap();
            let _span = fcc::trace::global().map(|t| t.span("work"));
            let mut headers = std::collections::HashMap::new();
            opentelemetry::global::get_text_map_propagator(|p| p.inject(&mut headers));
            eprintln!("INJECTED {}", headers.contains_key("traceparent"));
        }
        Ok("recorder_exists") => {
            metrics::set_global_recorder(metrics::NoopRecorder).unwrap();
            let guard = fcc::init().expect("set-up goes on without the recorder");
            metrics::counter!("orders").increment(1);
            eprintln!("FCC_TOTAL {}", guard.metrics().total("orders"));
        }
        Ok("recorder_skipped") => {
            let guard = fcc::TelemetryBuilder::from_env()
                .unwrap()
                .metrics_recorder(false)
                .install()
                .unwrap();
            metrics::counter!("orders").increment(1);
            eprintln!("FCC_TOTAL {}", guard.metrics().total("orders"));
        }
        _ => {}
    }
}

#[test]
fn a_dropped_guard_warns_once_at_the_next_span() {
    let (ok, stderr) = run_child("dropped_guard", &[]);
    assert!(ok, "{stderr}");
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("after telemetry shut down"))
        .collect();
    assert_eq!(warnings.len(), 1, "once: {stderr}");
    assert!(
        warnings[0].contains("let _guard = fcc::init()?"),
        "{stderr}"
    );
    // A kept guard says nothing; nor does a new set-up after a shutdown.
    for case in ["kept_guard", "second_setup"] {
        let (ok, stderr) = run_child(case, &[]);
        assert!(ok, "{case}: {stderr}");
        assert!(!stderr.contains("shut down"), "{case}: {stderr}");
    }
}

#[test]
fn an_unknown_propagator_is_a_warning_listing_the_known_ones() {
    let (ok, stderr) = run_child("propagators", &[("OTEL_PROPAGATORS", "tracecontext,xray")]);
    assert!(ok, "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.contains("OTEL_PROPAGATORS"))
        .unwrap_or_else(|| panic!("no warning: {stderr}"));
    assert!(line.contains("\"xray\""), "{line}");
    for known in fcc::otel::KNOWN_PROPAGATORS {
        assert!(line.contains(known), "{known} listed: {line}");
    }
    assert!(
        stderr.contains("INJECTED true"),
        "tracecontext still injects: {stderr}"
    );
}

#[test]
fn an_existing_metrics_recorder_stays_with_a_warning() {
    let (ok, stderr) = run_child("recorder_exists", &[]);
    assert!(ok, "no panic: {stderr}");
    assert!(
        stderr.contains("`metrics` recorder is already installed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("FCC_TOTAL 0"),
        "the user's recorder keeps the facade: {stderr}"
    );
    let (ok, stderr) = run_child("recorder_skipped", &[]);
    assert!(ok, "{stderr}");
    assert!(!stderr.contains("already installed"), "{stderr}");
    assert!(stderr.contains("FCC_TOTAL 0"), "skipped: {stderr}");
}
