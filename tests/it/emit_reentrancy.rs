//! An event emitted while another is being dispatched (from a user's layer
//! that runs before fcc's, a `Debug` impl, a sink) does not take the outer
//! event's place: both reach the bus, each once.

use std::sync::{Arc, Mutex};

use fcc::{Event, EventType, LogTarget, TelemetryBuilder};
use tracing_subscriber::layer::SubscriberExt;

thread_local! {
    /// How many more fcc events the layer below answers with one of its own.
    static BUDGET: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// A user's layer, before fcc's, that emits an fcc event of its own while
/// it sees one (as long as its budget lasts).
struct EmitsInside;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for EmitsInside {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() == "fcc::event" && BUDGET.with(|b| b.get()) > 0 {
            BUDGET.with(|b| b.set(b.get() - 1));
            fcc::emit(Event::builder(EventType::WorkflowCompleted, "inner-layer"));
        }
    }
}

#[test]
fn an_emit_inside_an_emit_loses_neither_event() {
    let (layer, telemetry) = TelemetryBuilder::default()
        .log(LogTarget::Off)
        .fmt(None)
        .layer()
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    telemetry.bus().subscribe(move |e: &Event| {
        s.lock().unwrap().push(e.source().to_owned());
    });
    let subscriber = tracing_subscriber::registry().with(EmitsInside).with(layer);
    tracing::subscriber::with_default(subscriber, || {
        for _ in 0..1_000 {
            BUDGET.with(|b| b.set(1));
            fcc::emit(Event::builder(EventType::WorkflowStarted, "outer"));
        }
    });
    let seen = seen.lock().unwrap();
    let count = |who: &str| seen.iter().filter(|s| *s == who).count();
    assert_eq!((count("outer"), count("inner-layer")), (1_000, 1_000));
    telemetry.shutdown().unwrap();
}
