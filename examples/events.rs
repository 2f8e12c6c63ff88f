//! Events through `tracing`: `fcc::emit`, `fcc::event!` and plain marked
//! `tracing` events reach the bus, LogSink (JSON lines on stderr) and a
//! JsonFileSink, while ordinary logs go to the human-readable fmt layer. With
//! `OTEL_EXPORTER_OTLP_ENDPOINT` set, every event is also an OTel log record
//! (EventName = the event type, trace context set) sent over OTLP, and a span
//! event on the span it was emitted in.
//!
//! ```text
//! cargo run --example events [-- PATH]      # PATH: the NDJSON file (default target/events.ndjson)
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 cargo run --example events
//! ```

use fcc::{Event, EventSerializer, EventType, Outcome, Severity};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/events.ndjson".to_owned());
    let _ = std::fs::remove_file(&path);
    let telemetry = fcc::TelemetryBuilder::from_env()?
        .service_name("events-example")
        .json_file(&path)
        .install()?;
    let workflow = telemetry.tracer().span("workflow.run");

    tracing::info!("an ordinary log line: the fmt layer shows it, the bus never sees it");

    // The builder and emit.
    fcc::emit(
        Event::builder(EventType::WorkflowStarted, "orchestrator")
            .correlation_id("run-42")
            .mission_id("m-1"),
    );
    // The event! macro: event-model keys set fields, other keys go to the payload.
    fcc::event!(
        EventType::GovernanceGatePassed,
        "governance",
        correlation_id = "run-42",
        outcome = Outcome::Success,
        gate_id = "G-SEC-01"
    );
    // The Go seed's style.
    fcc::emit(
        Event::warn("mcpclient", "connect_attempt", "connection refused")
            .category("backend")
            .resource("mcp_server:vendor")
            .outcome(Outcome::Failure)
            .correlation_id("run-42"),
    );
    // A library that does not depend on fcc's builder: a plain tracing event
    // with an `event_type` field is a bus event.
    tracing::error!(
        event_type = "protocol.mcp.tool.failed",
        source = "mcpclient",
        correlation_id = "run-42",
        tool = "search",
        "tool call timed out"
    );
    fcc::event!(
        EventType::WorkflowCompleted,
        "orchestrator",
        correlation_id = "run-42",
        severity = Severity::Info
    );

    drop(workflow);
    telemetry.shutdown()?;
    let stored = EventSerializer::load(&path)?;
    eprintln!("\n{} events in {path}:", stored.len());
    for e in &stored {
        eprintln!(
            "  {:<5} {:<28} {}",
            e.severity(),
            e.event_type(),
            e.detail().unwrap_or("")
        );
    }
    for s in telemetry.sink_stats() {
        eprintln!(
            "sink {:<9} written {} dropped {} failed {}",
            s.name, s.written, s.dropped, s.failed
        );
    }
    let t = telemetry.tracer().stats();
    if telemetry.tracer().otlp_enabled() {
        eprintln!(
            "otlp: {} OTel log records and {} spans exported",
            t.logs_exported, t.spans_exported
        );
    }
    Ok(())
}
