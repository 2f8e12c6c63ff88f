//! A realistic first run: `Telemetry` is set up from the environment, an
//! action engine emits lifecycle events inside `#[traced]` spans, subscribers
//! react, LogSink writes JSON lines, the run is recorded, saved, loaded and
//! replayed, and the spans are printed (or sent over OTLP when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set).
//!
//! ```text
//! cargo run --example quickstart [-- PATH]
//! ```
//!
//! PATH is where the events are saved (default `target/quickstart-events.json`);
//! LogSink writes to `target/quickstart-log.ndjson` unless `FCC_LOG` says
//! otherwise; every event is also stored in `agent_events` in the SQLite file
//! `target/quickstart.db` (or `FCC_STORE_URL`), which is queried back at the end.

use fcc::export::ConsoleSpanExporter;
use fcc::{
    traced, Event, EventBus, EventFilter, EventReplay, EventSerializer, EventType, LogTarget,
    Outcome, Severity, TelemetryBuilder,
};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A tiny stand-in for the seed's ActionEngine: runs persona actions and
/// emits started/completed/failed events. It knows neither the bus nor a sink.
struct ActionEngine;

impl ActionEngine {
    #[traced("action.run")]
    fn run(&self, run_id: &str, persona_id: &str, action_type: &str) -> Result<(), String> {
        let event = |t: EventType| {
            Event::builder(t, "ActionEngine")
                .correlation_id(run_id)
                .resource(format!("persona:{persona_id}"))
                .action(action_type)
                .attr("persona_id", persona_id)
                .attr("action_type", action_type)
        };
        fcc::emit(event(EventType::ActionStarted));
        let started = Instant::now();
        let result = simulate(persona_id, action_type);
        let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        let done = match &result {
            Ok(()) => event(EventType::ActionCompleted).outcome(Outcome::Success),
            Err(reason) => event(EventType::ActionFailed)
                .outcome(Outcome::Failure)
                .severity(Severity::Error)
                .detail(reason.clone()),
        };
        fcc::emit(done.attr("duration_ms", duration_ms));
        result
    }
}

/// Deterministic work: deploys by the QA persona fail, the rest succeed.
fn simulate(persona_id: &str, action_type: &str) -> Result<(), String> {
    let checksum: u64 = (0..20_000u64)
        .map(|i| i.wrapping_mul(31) ^ action_type.len() as u64)
        .sum();
    std::hint::black_box(checksum);
    if persona_id == "SQC" && action_type == "deploy" {
        Err("deploy gate G-SEC-01 not passed".to_owned())
    } else {
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/quickstart-events.json".to_owned());
    let mut builder = TelemetryBuilder::from_env()?;
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        builder = builder.service_name("quickstart");
    }
    if std::env::var_os("FCC_LOG").is_none() {
        builder = builder.log(LogTarget::File("target/quickstart-log.ndjson".into()));
    }
    if std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_none() {
        builder = builder.span_exporter(ConsoleSpanExporter::new());
    }
    let store_url = std::env::var("FCC_STORE_URL")
        .unwrap_or_else(|_| "sqlite://target/quickstart.db".to_owned());
    let builder = fcc_store::StoreTelemetryExt::store(builder, &store_url)?;
    let telemetry = builder.install()?;
    let bus: EventBus = telemetry.bus().clone();

    // A global subscriber: one line per event.
    bus.subscribe(|e: &Event| {
        println!(
            "  {:<5} {:<17} {:<7} {:<12} {}",
            e.severity(),
            e.event_type(),
            e.correlation_id().unwrap_or("-"),
            e.resource().unwrap_or(""),
            e.action().unwrap_or("")
        )
    });
    // A typed subscriber: failures only.
    let failures = Arc::new(Mutex::new(Vec::new()));
    let f = failures.clone();
    bus.subscribe_filtered(
        move |e: &Event| f.lock().unwrap().push(e.detail().unwrap_or("").to_owned()),
        EventFilter::new().event_types([EventType::ActionFailed]),
    );
    // A fully filtered subscriber: completions of run-42 only.
    let completed_42 = Arc::new(Mutex::new(0usize));
    let c = completed_42.clone();
    bus.subscribe_filtered(
        move |_: &Event| *c.lock().unwrap() += 1,
        EventFilter::new()
            .event_types([EventType::ActionCompleted])
            .sources(["ActionEngine"])
            .correlation_ids(["run-42"]),
    );

    println!("Running two runs of the action engine, recording every event:");
    bus.start_recording();
    let engine = ActionEngine;
    let plan = [
        ("run-42", "SQC", "test"),
        ("run-42", "SQC", "review"),
        ("run-42", "SQC", "deploy"),
        ("run-43", "DEV", "build"),
        ("run-43", "DEV", "deploy"),
    ];
    for (run, persona, action) in plan {
        let _ = engine.run(run, persona, action);
    }
    bus.stop_recording();

    let history = bus.get_history();
    println!(
        "\n{} events recorded; {} completions in run-42; failures: {:?}",
        history.len(),
        completed_42.lock().unwrap(),
        failures.lock().unwrap()
    );

    if let Some(dir) = std::path::Path::new(&path).parent() {
        std::fs::create_dir_all(dir)?;
    }
    EventSerializer::save(&history, &path)?;
    println!("Saved to {path}");

    let loaded = EventSerializer::load(&path)?;
    println!(
        "Loaded {} events back; identical: {}",
        loaded.len(),
        loaded == history
    );

    // Replay run-42 into a fresh bus that tallies what happened.
    let audit_bus = EventBus::new();
    let tally = Arc::new(Mutex::new(BTreeMap::<String, usize>::new()));
    let t = tally.clone();
    audit_bus.subscribe(move |e: &Event| {
        *t.lock()
            .unwrap()
            .entry(e.event_type().to_string())
            .or_default() += 1
    });
    let delivered =
        EventReplay::new(&audit_bus).replay_filtered(&loaded, Some("run-42"), Some("ActionEngine"));
    println!("Replayed run-42 from the file: {delivered} deliveries");
    for (event_type, n) in tally.lock().unwrap().iter() {
        println!("  {event_type:<17} {n}");
    }
    let stats = bus.stats();
    println!(
        "Bus: {} subscribers, {} failed and {} panicked deliveries, {} history drops",
        bus.subscriber_count(),
        stats.failed_deliveries,
        stats.panicked_deliveries,
        stats.history_dropped
    );
    println!("Spans, printed by the console span exporter when telemetry shuts down:");
    telemetry.shutdown()?;
    for s in telemetry.sink_stats() {
        println!(
            "Sink {}: {} written, {} dropped, {} failed",
            s.name, s.written, s.dropped, s.failed
        );
    }
    let t = telemetry.tracer().stats();
    println!(
        "Spans: {} exported, {} dropped, {} failed",
        t.spans_exported, t.spans_dropped, t.spans_failed
    );

    // The durable copy: query agent_events back.
    let store = fcc_store::EventStore::open(&store_url)?;
    println!(
        "\nStored in {} ({} rows in agent_events in all):",
        fcc_store::redact(&store_url),
        store.count()?
    );
    println!("  run-42, newest first:");
    let run_42 = fcc_store::EventQuery::new()
        .correlation_id("run-42")
        .limit(10);
    for e in store.query(&run_42)? {
        println!(
            "    {} {:<17} {:<5} {}",
            e.timestamp(),
            e.event_type(),
            e.severity(),
            e.action().unwrap_or("")
        );
    }
    println!("  errors:");
    let errors = fcc_store::EventQuery::new()
        .severity(Severity::Error)
        .limit(5);
    for e in store.query(&errors)? {
        println!(
            "    {} {:<17} {}",
            e.correlation_id().unwrap_or("-"),
            e.event_type(),
            e.detail().unwrap_or("")
        );
    }
    Ok(())
}
