//! # fcc: OpenTelemetry-native events, tracing and metrics for Rust services
//!
//! Services emit structured lifecycle events ("mcp client connect attempt
//! failed", "gate G-SEC-01 passed", "simulation step 3") without knowing where
//! they go. fcc routes them to subscribers and sinks.
//!
//! The modules follow the data flow:
//!
//! 1. [`mod@event`]: the [`Event`] model and the 81-type [`EventType`] catalog.
//! 2. [`bus`]: the [`EventBus`] that delivers events to matching subscribers.
//! 3. [`serialization`]: [`EventSerializer`] writes and reads event files,
//!    [`EventReplay`] publishes them again.
//! 4. [`layer`]: [`emit`], [`event!`] and the [`FanoutLayer`]: events travel
//!    as `tracing` events and enter the bus through the layer.
//! 5. [`sinks`]: where events leave the process ([`sinks::LogSink`],
//!    [`sinks::JsonFileSink`], your own [`sinks::Sink`]), each on its own
//!    worker thread behind a bounded queue.
//! 6. [`telemetry`]: [`Telemetry::builder`] and [`init`] wire it all up and
//!    return the guard that flushes everything on shutdown.
//!
//! ## A first run
//!
//! ```
//! use fcc::{Event, EventBus, EventFilter, EventReplay, EventSerializer, EventType};
//! use serde_json::json;
//!
//! let bus = EventBus::new();
//! bus.subscribe_filtered(
//!     |e: &Event| eprintln!("{} failed: {}", e.source(), e.payload()["error"]),
//!     EventFilter::new().event_types([EventType::ActionFailed]),
//! );
//!
//! bus.start_recording();
//! bus.publish(&Event::builder(EventType::ActionStarted, "ActionEngine").correlation_id("run-42").build());
//! bus.publish(
//!     &Event::builder(EventType::ActionFailed, "ActionEngine")
//!         .correlation_id("run-42")
//!         .payload(json!({"error": "tool timed out"}))
//!         .build(),
//! );
//! bus.stop_recording();
//!
//! let history = bus.get_history();
//! let text = EventSerializer::to_json_batch(&history);
//! let restored = EventSerializer::from_json_batch(&text).unwrap();
//! assert_eq!(restored, history);
//! assert_eq!(EventReplay::new(&bus).replay_filtered(&restored, Some("run-42"), None), 1);
//! ```

pub mod bus;
pub mod event;
pub mod serialization;

pub use bus::{BusStats, EventBus, EventFilter, Subscriber, SubscriberError, SubscriptionId};
pub use event::{
    Category, Event, EventBuilder, EventType, Outcome, Payload, Severity, SpanId, Timestamp,
    TraceId,
};
pub use serialization::{DecodeError, EventReplay, EventSerializer, FileFormat, SaveError};
pub mod layer;
pub mod sinks;

pub use layer::{emit, FanoutLayer};
pub mod export;
pub mod otlp;
pub mod telemetry;
pub mod trace;

pub use trace::{FccTracer, SpanData};

pub use telemetry::{init, InstallError, LogTarget, Telemetry, TelemetryBuilder};
