//! `#[traced]` functions, FccTracer spans and `tracing` spans in one trace,
//! sync and async, with an event inside.
//!
//! ```text
//! cargo run --example traced                                   # spans printed to stderr
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 cargo run --example traced   # to a collector
//! OTEL_EXPORTER_OTLP_PROTOCOL=grpc OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 cargo run --example traced
//! ```

use std::time::Duration;

use fcc::export::ConsoleSpanExporter;
use fcc::trace::FutureExt;
use fcc::{traced, EventType, LogTarget, TelemetryBuilder};
use tracing::Instrument;

#[traced("simulation.run")]
async fn run_simulation(scenario_id: &str, steps: u32) -> Result<u32, String> {
    let mut done = 0;
    for step in 1..=steps {
        // A plain tracing span (tracing's own `Instrument`) nests too.
        simulation_step(step)
            .instrument(tracing::info_span!("simulation.node", node_id = "N1"))
            .await?;
        done += 1;
    }
    let _ = scenario_id;
    Ok(done)
}

#[traced("simulation.step")]
async fn simulation_step(step: u32) -> Result<(), String> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    score(step);
    // Spawned work keeps its parent with in_current_context().
    tokio::spawn(persist(step).in_current_context())
        .await
        .map_err(|e| e.to_string())?;
    fcc::event!(EventType::SimulationStep, "simulation", step = step as i64);
    if step == 3 {
        return Err("budget exceeded at step 3".into());
    }
    Ok(())
}

#[traced]
fn score(step: u32) -> u64 {
    let _inner = tracing::info_span!("score.inner").entered();
    (0..10_000u64).map(|i| i ^ step as u64).sum()
}

#[traced(skip_all)]
async fn persist(step: u32) {
    let _ = step;
    tokio::task::yield_now().await;
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = TelemetryBuilder::from_env()?.log(LogTarget::Off);
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        builder = builder.service_name("traced-example");
    }
    let otlp = std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some();
    if !otlp {
        builder = builder.span_exporter(ConsoleSpanExporter::new());
    }
    let telemetry = builder.install()?;
    let result = run_simulation("SC-001", 4).await;
    eprintln!("simulation result: {result:?}");
    telemetry.shutdown()?;
    let s = telemetry.tracer().stats();
    eprintln!(
        "spans: {} exported, {} dropped, {} failed{}",
        s.spans_exported,
        s.spans_dropped,
        s.spans_failed,
        if otlp {
            format!("; {} events as OTel log records", s.logs_exported)
        } else {
            String::new()
        }
    );
    Ok(())
}
