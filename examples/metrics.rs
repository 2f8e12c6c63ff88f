//! Metrics through all three paths: FccMetrics' named methods (the seed's
//! API), bound handles (the fast path) and the `metrics` crate facade. They
//! are exported over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and
//! printed to the console otherwise.
//!
//! ```text
//! cargo run --example metrics
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 cargo run --example metrics
//! ```

use fcc::export::{ConsoleMetricExporter, MetricExporter};
use fcc::metrics::{FccMetrics, SeriesValue};
use fcc::{LogTarget, TelemetryBuilder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let otlp = std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some();
    // Keep points for the console; a service exporting over OTLP needs none.
    let metrics = FccMetrics::builder()
        .points_capacity(if otlp { 0 } else { 1_000 })
        .build();
    let mut builder = TelemetryBuilder::from_env()?
        .log(LogTarget::Off)
        .metrics(metrics.clone());
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        builder = builder.service_name("metrics-example");
    }
    let telemetry = builder.install()?;

    // 1. The seed's API.
    for step in 1..=3 {
        metrics.record_simulation_step(step, "N1");
    }
    metrics.record_persona_activation("SQC");
    metrics.record_gate_result("G-SEC-01", true);
    metrics.record_deliverable("SQC", "test");
    metrics.record_ai_call("anthropic", "claude-3", 1200.0, 850);
    metrics.record_action_execution("SQC", "test", true, 450.0);
    metrics.increment("my.custom.counter", &[("env", "prod")])?;
    metrics.observe("my.custom.gauge", 42.0, &[("env", "prod")])?;

    // 2. Bound handles: looked up once, then one atomic operation.
    let requests = metrics.counter("http.requests", &[("route", "/orders")])?;
    let latency = metrics.histogram("http.latency", &[("route", "/orders")])?;
    for i in 0..1_000u32 {
        requests.increment(1);
        latency.record(f64::from(i % 250));
    }

    // 3. The `metrics` facade, as any library would use it: `install()`
    //    set fcc's recorder (`FccRecorder`) for it.
    metrics::counter!("cache.hits", "cache" => "sessions").increment(7);
    metrics::gauge!("cache.entries", "cache" => "sessions").set(120.0);

    if !otlp {
        ConsoleMetricExporter::new().export(&metrics.points())?;
        for m in metrics.snapshot() {
            for s in &m.series {
                let labels: Vec<String> =
                    s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let value = match &s.value {
                    SeriesValue::Counter(v) => format!("{v}"),
                    SeriesValue::Gauge(v) => format!("{v:?}"),
                    SeriesValue::Histogram { count, sum, .. } => format!("count={count} sum={sum}"),
                    // SeriesValue is #[non_exhaustive]: kinds added later.
                    _ => "?".to_owned(),
                };
                eprintln!(
                    "[SERIES] {} {} {} {}",
                    m.name,
                    m.metric_type,
                    value,
                    labels.join(" ")
                );
            }
        }
    }
    telemetry.shutdown()?;
    eprintln!(
        "http.requests total {}; rejected {}",
        metrics.total("http.requests"),
        metrics.stats().rejected
    );
    Ok(())
}
