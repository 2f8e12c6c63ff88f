//! Configuration from OTEL_* and FCC_* variables, and its errors.

use fcc::telemetry::env::VARIABLES;
use fcc::{Event, EventSerializer, InstallError, TelemetryBuilder};
use std::collections::HashMap;

fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

#[test]
fn valid_variables_configure_the_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("fcc.log");
    let json = dir.path().join("fcc.ndjson");
    let t = TelemetryBuilder::from_vars(vars(&[
        ("OTEL_SERVICE_NAME", "orchestrator"),
        ("FCC_LOG", log.to_str().unwrap()),
        ("FCC_JSON_FILE", json.to_str().unwrap()),
        ("FCC_QUEUE_CAPACITY", "128"),
        ("FCC_DROP_POLICY", "block"),
        ("FCC_FMT", "off"),
        ("FCC_SHUTDOWN_TIMEOUT_MS", "2000"),
    ]))
    .unwrap()
    .build()
    .unwrap();
    assert_eq!(t.service_name(), "orchestrator");
    let names: Vec<String> = t.sink_stats().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["log", "json_file"]);
    tracing::dispatcher::with_default(t.dispatch(), || {
        fcc::emit(Event::info("orchestrator", "start", ""))
    });
    t.shutdown().unwrap();
    assert_eq!(EventSerializer::load(&json).unwrap().len(), 1);
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 1);
}

#[test]
fn defaults_follow_the_otel_convention() {
    let t = TelemetryBuilder::from_vars(vars(&[("FCC_LOG", "off"), ("FCC_FMT", "off")]))
        .unwrap()
        .build()
        .unwrap();
    assert!(
        t.service_name().starts_with("unknown_service:"),
        "{}",
        t.service_name()
    );
    assert!(t.sink_stats().is_empty());
}

#[test]
fn invalid_values_name_the_variable_and_value() {
    for (var, value, says) in [
        (
            "FCC_QUEUE_CAPACITY",
            "lots",
            "expected a whole number above 0",
        ),
        ("FCC_QUEUE_CAPACITY", "0", "expected a whole number above 0"),
        (
            "FCC_DROP_POLICY",
            "drop_oldest",
            "expected drop_newest or block",
        ),
        ("FCC_FMT", "loud", "expected off, error, warn"),
        ("FCC_SHUTDOWN_TIMEOUT_MS", "-5", "whole number"),
        ("FCC_JSON_FILE_MAX_BYTES", "1e9", "whole number"),
        ("FCC_QUEUE_MAX_BYTES", "8MB", "in bytes, KiB, MiB or GiB"),
        ("FCC_QUEUE_MAX_BYTES", "0", "in bytes, KiB, MiB or GiB"),
        ("FCC_QUEUE_MAX_BYTES", "-1KiB", "in bytes, KiB, MiB or GiB"),
    ] {
        let err = TelemetryBuilder::from_vars(vars(&[(var, value)]))
            .err()
            .expect(var);
        assert!(matches!(err, InstallError::Config { .. }));
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!("invalid {var}={value:?}: ")),
            "{msg}"
        );
        assert!(msg.contains(says), "{msg}");
    }
}

#[test]
fn queue_byte_budgets_are_read_with_their_units() {
    for ok in ["1048576", "512KiB", "8MiB", "1 GiB", "8mib"] {
        let b = TelemetryBuilder::from_vars(vars(&[("FCC_QUEUE_MAX_BYTES", ok)]));
        assert!(b.is_ok(), "{ok}: {:?}", b.err());
    }
}

#[test]
fn every_variable_is_documented() {
    let names: Vec<&str> = VARIABLES.iter().map(|(n, _)| *n).collect();
    for v in [
        "OTEL_SERVICE_NAME",
        "FCC_LOG",
        "FCC_JSON_FILE",
        "FCC_QUEUE_CAPACITY",
        "FCC_QUEUE_MAX_BYTES",
        "FCC_DROP_POLICY",
        "FCC_FMT",
    ] {
        assert!(names.contains(&v), "{v}");
    }
}

#[test]
fn sampler_and_batch_variables_that_cannot_be_used_warn_and_keep_the_default() {
    use fcc::TelemetryBuilder;
    for (var, value) in [
        ("OTEL_TRACES_SAMPLER", "sometimes"),
        ("OTEL_TRACES_SAMPLER_ARG", "1.5"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "0"),
        ("OTEL_BSP_SCHEDULE_DELAY", "soon"),
        ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "-1"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "1m"),
    ] {
        let b = TelemetryBuilder::from_vars(|k| {
            if k == var {
                Some(value.to_owned())
            } else if k == "OTEL_TRACES_SAMPLER" {
                Some("traceidratio".to_owned())
            } else {
                None
            }
        })
        .unwrap_or_else(|e| panic!("{var}={value} failed set-up: {e}"));
        let w = b.warnings();
        assert_eq!(w.len(), 1, "{var}={value}: {w:?}");
        assert!(w[0].contains(var) && w[0].contains(value), "{w:?}");
    }
    let ok = TelemetryBuilder::from_vars(|k| match k {
        "OTEL_TRACES_SAMPLER" => Some("parentbased_traceidratio".into()),
        "OTEL_TRACES_SAMPLER_ARG" => Some("0.25".into()),
        _ => None,
    })
    .unwrap();
    assert!(ok.warnings().is_empty(), "{:?}", ok.warnings());
}
