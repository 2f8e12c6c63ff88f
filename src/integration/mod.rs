//! Automatic tracing for the simulation and action engines, from their
//! events (the seed's `instrument_simulation_engine()` and
//! `instrument_action_engine()`).
//!
//! An engine, in fcc, is whatever publishes the catalog's `simulation.*` and
//! `action.*` lifecycle events on an [`EventBus`]. These functions subscribe
//! to those events and turn them into spans and the seed's predefined
//! metrics, without a change to the engine:
//!
//! | events | span | metric |
//! |---|---|---|
//! | `simulation.started` … `simulation.completed` / `simulation.failed` | `simulation.run` | |
//! | `simulation.step` … the run's next step, or its end | `simulation.step`, child of the run | `fcc.simulation.step` (`step`, `node_id`) |
//! | `simulation.budget.warning` / `.exceeded` | an event on the run's span | |
//! | `action.started` … `action.completed` / `action.failed` | `action.<type>` (`action.run` without a type) | `fcc.action.duration` (`persona_id`, `action_type`, `success`) |
//!
//! ```
//! use fcc::integration::{instrument_action_engine, instrument_simulation_engine};
//! use fcc::{Event, EventBus, EventType, FccMetrics, FccTracer};
//! use serde_json::json;
//!
//! let (bus, tracer, metrics) = (EventBus::new(), FccTracer::new("my-app"), FccMetrics::new());
//! let sims = instrument_simulation_engine(&bus, &tracer, &metrics);
//! let actions = instrument_action_engine(&bus, &tracer, &metrics);
//!
//! // The engines, unchanged: they only publish events.
//! let ev = |t, payload| Event::builder(t, "SimulationEngine").correlation_id("run-42").payload(payload).build();
//! bus.publish(&ev(EventType::SimulationStarted, json!({"scenario_id": "SC-001"})));
//! bus.publish(&ev(EventType::SimulationStep, json!({"step": 1, "node_id": "N1"})));
//! bus.publish(&ev(EventType::ActionStarted, json!({"persona_id": "SQC", "action_type": "test"})));
//! bus.publish(&ev(EventType::ActionCompleted, json!({"persona_id": "SQC", "action_type": "test", "duration_ms": 450.0})));
//! bus.publish(&ev(EventType::SimulationCompleted, json!({})));
//!
//! let spans = tracer.completed_spans(); // ended first, listed first
//! let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
//! assert_eq!(names, ["action.test", "simulation.step", "simulation.run"]);
//! let (action, step, run) = (&spans[0], &spans[1], &spans[2]);
//! assert_eq!(run.attribute("scenario_id"), Some(&"SC-001".into()));
//! assert_eq!(step.parent_span_id, Some(run.span_id));
//! assert_eq!(action.parent_span_id, Some(step.span_id));
//! assert_eq!(metrics.total("fcc.simulation.step"), 1.0);
//! assert_eq!(metrics.points_by_name("fcc.action.duration")[0].value, 450.0);
//! assert_eq!(sims.stats().completed, 1);
//! drop((sims, actions)); // unsubscribes
//! ```
//!
//! # The rules
//!
//! - **Times are the events'.** A span starts at its started event's
//!   timestamp and ends at its end event's, so a replayed file
//!   ([`EventReplay`](crate::EventReplay)) gives the spans of the original
//!   run.
//! - **Runs are told apart by their correlation id** (else the payload's
//!   `scenario_id`; with neither, one anonymous run at a time), so
//!   interleaved runs, from any number of threads, make separate trees. An
//!   action belongs to the run with its correlation id: when
//!   [`instrument_simulation_engine`] watches the same bus (any guard, any
//!   order), the action's span is a child of that run's current step (or of
//!   the run before its first step). Actions are paired with their end by
//!   correlation id and the payload's `action_id`, else the action's type;
//!   several open under one key end oldest first.
//! - **Where a trace starts.** A run (or an action outside any run) whose
//!   started event carries a trace id and span id (every event built inside
//!   a span does) becomes a child of that span: the span that was current
//!   where the engine published it, so a caller's trace stays whole (the
//!   demo's `mission.run` → `simulation.run` → `simulation.step` →
//!   `action.implement`). [`EngineConfig::parent_from_event`]`(false)` starts
//!   a new trace per run instead. Whenever a span lands in another trace
//!   than the event that started it, it links to the event's span.
//! - **Attributes** are the event's identifying fields (`source`,
//!   `correlation_id`, `mission_id`, `objective_id`, `task`, `resource`,
//!   `action`, `outcome`) and its payload's entries under their own names
//!   (`scenario_id`, `step`, `node_id`, `persona_id`), at most 32; the end
//!   event adds what the start did not say. A run gets `simulation.steps`.
//! - **Failure**: `simulation.failed` and `action.failed` end the span with
//!   error status (the event's `detail`, else the payload's `error`) and an
//!   `exception` event carrying it and the event's fields; a step the run
//!   failed in gets the error status too.
//! - **Metrics are recorded once per event**: a step's point on every
//!   `simulation.step` (the payload's `step`, else its number in the run;
//!   `node_id`, else the event's `objective_id`), an action's on every end
//!   event whose duration is known (the payload's `duration_ms`, else from
//!   its started event).
//! - **Unpaired events never panic.** An end or step with no open run or
//!   action is counted ([`EngineStats::unpaired`]) and makes no span; a
//!   second `simulation.started` for an open run ends the first one (error,
//!   counted unpaired). At most [`EngineConfig::max_open`] runs (and as
//!   many actions) are open; one more ends the oldest (error, counted
//!   [`evicted`](EngineStats::evicted)). One open longer than
//!   [`EngineConfig::timeout`] ends with error status and
//!   `fcc.engine.unfinished = "timeout"` (counted
//!   [`timed_out`](EngineStats::timed_out)).
//! - **No thread of its own**: expiry is checked on each incoming event
//!   (only the oldest open item is looked at), by
//!   [`EngineInstrumentation::sweep`] (call it from a timer if your engine
//!   can go quiet for long) and when the guard drops. Dropping the guard
//!   unsubscribes and ends what is still open with unset status and
//!   `fcc.engine.unfinished = "shutdown"`
//!   ([`abandoned`](EngineStats::abandoned)).
//! - The spans go to the tracer you pass, so through its pipeline: with
//!   [`Telemetry`](crate::Telemetry)'s tracer, OTLP (collector, Jaeger), the
//!   console and JSON files, like any other span.
//! - The work is done in the publishing thread, under one lock per
//!   instrumentation, and never calls back into the bus. Call each function
//!   once per bus: two guards of the same kind make every span twice.
//!
//! **Imports** (the table in ARCHITECTURE.md, checked by
//! `tests/it/import_direction.rs`): only `bus`, `event`, `export`, `metrics`, `trace`, `internal`.

mod action;
mod simulation;
mod spans;
mod table;

use std::fmt;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::bus::{EventBus, EventFilter, SubscriptionId};
use crate::metrics::FccMetrics;
use crate::trace::{FccTracer, SpanContext};
use crate::Event;

/// The default [`EngineConfig::max_open`].
pub const DEFAULT_MAX_OPEN: usize = 1024;
/// The default [`EngineConfig::timeout`]: ten minutes.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// How the instrumentation bounds what is open, and where traces start.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EngineConfig {
    /// Most runs (or actions) open at once ([`DEFAULT_MAX_OPEN`]).
    pub max_open: usize,
    /// Age after which an open run or action is ended as timed out
    /// ([`DEFAULT_TIMEOUT`]), measured on this process's monotonic clock
    /// from when its started event arrived.
    pub timeout: Duration,
    /// Whether a run's span is a child of the span its started event was
    /// published in (default `true`; see the module docs).
    pub parent_from_event: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_open: DEFAULT_MAX_OPEN,
            timeout: DEFAULT_TIMEOUT,
            parent_from_event: true,
        }
    }
}

impl EngineConfig {
    /// Most runs (or actions) open at once (at least 1).
    #[must_use]
    pub fn max_open(mut self, n: usize) -> Self {
        self.max_open = n.max(1);
        self
    }
    /// Age after which an open run or action times out.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
    /// `false`: every run starts a trace of its own (linked to the span its
    /// started event was published in).
    #[must_use]
    pub fn parent_from_event(mut self, on: bool) -> Self {
        self.parent_from_event = on;
        self
    }
}

/// What an instrumentation has seen; see the module docs for each rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EngineStats {
    /// Runs (or actions) whose started event opened a span.
    pub started: u64,
    /// Ended by their completed event.
    pub completed: u64,
    /// Ended by their failed event.
    pub failed: u64,
    /// Step spans opened (simulation only).
    pub steps: u64,
    /// Open now.
    pub open: usize,
    /// Ends and steps that matched nothing open, and runs restarted before
    /// they ended.
    pub unpaired: u64,
    /// Ended because they were open longer than the timeout.
    pub timed_out: u64,
    /// Ended because too many were open.
    pub evicted: u64,
    /// Still open when the guard dropped.
    pub abandoned: u64,
}

/// One kind of engine's handling, behind the guard.
trait Part: Send + Sync {
    fn on_event(&self, event: &Event);
    /// Ends what has timed out; returns how many.
    fn sweep(&self) -> usize;
    /// Stops: ignores later events and ends what is open.
    fn close(&self);
    fn stats(&self) -> EngineStats;
}

/// Keeps an engine instrumented; dropping it unsubscribes from the bus and
/// ends the spans still open (unset status, counted
/// [`abandoned`](EngineStats::abandoned)).
#[must_use = "dropping the guard stops the instrumentation at once"]
pub struct EngineInstrumentation {
    bus: EventBus,
    id: SubscriptionId,
    part: Arc<dyn Part>,
    kind: &'static str,
}

impl fmt::Debug for EngineInstrumentation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineInstrumentation")
            .field("engine", &self.kind)
            .field("stats", &self.stats())
            .finish()
    }
}

impl EngineInstrumentation {
    /// What it has seen so far.
    pub fn stats(&self) -> EngineStats {
        self.part.stats()
    }

    /// Ends the runs or actions open longer than the timeout now (this also
    /// happens on every event it receives); returns how many.
    pub fn sweep(&self) -> usize {
        self.part.sweep()
    }
}

impl Drop for EngineInstrumentation {
    fn drop(&mut self) {
        self.bus.unsubscribe(self.id);
        self.part.close();
        let this = Arc::as_ptr(&self.part).cast::<()>();
        registry().retain(|(_, s)| s.strong_count() > 0 && s.as_ptr().cast::<()>() != this);
    }
}

/// The simulation instrumentations alive, by bus: where an action looks
/// for the run it belongs to.
type Registry = Vec<(u64, Weak<simulation::Simulation>)>;

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    static SIMULATIONS: Mutex<Registry> = Mutex::new(Vec::new());
    SIMULATIONS.lock().unwrap_or_else(|p| p.into_inner())
}

/// The span an action of run `key` on bus `bus_id` belongs under.
fn run_parent(bus_id: u64, key: &str) -> Option<SpanContext> {
    let sims: Vec<Arc<simulation::Simulation>> = registry()
        .iter()
        .filter(|(b, _)| *b == bus_id)
        .filter_map(|(_, s)| s.upgrade())
        .collect();
    sims.iter().find_map(|s| s.parent_of(key))
}

fn subscribe(
    bus: &EventBus,
    part: Arc<dyn Part>,
    events: &[crate::EventType],
    kind: &'static str,
) -> EngineInstrumentation {
    let p = Arc::clone(&part);
    let id = bus.subscribe_filtered(
        move |e: &Event| p.on_event(e),
        EventFilter::new().event_types(events.iter().cloned()),
    );
    EngineInstrumentation {
        bus: bus.clone(),
        id,
        part,
        kind,
    }
}

/// Traces the simulation engine publishing on `bus`: a `simulation.run`
/// span per run with a `simulation.step` child per step, made with
/// `tracer`, and the `fcc.simulation.step` metric in `metrics`. See the
/// module docs.
pub fn instrument_simulation_engine(
    bus: &EventBus,
    tracer: &FccTracer,
    metrics: &FccMetrics,
) -> EngineInstrumentation {
    instrument_simulation_engine_with(bus, tracer, metrics, EngineConfig::default())
}

/// [`instrument_simulation_engine`] with other bounds or parenting.
pub fn instrument_simulation_engine_with(
    bus: &EventBus,
    tracer: &FccTracer,
    metrics: &FccMetrics,
    config: EngineConfig,
) -> EngineInstrumentation {
    let sim = Arc::new(simulation::Simulation::new(
        tracer.clone(),
        metrics.clone(),
        config,
    ));
    {
        let mut sims = registry();
        sims.retain(|(_, s)| s.strong_count() > 0);
        sims.push((bus.id(), Arc::downgrade(&sim)));
    }
    subscribe(bus, sim, &simulation::EVENTS, "simulation")
}

/// Traces the action engine publishing on `bus`: a span per action, made
/// with `tracer`, and the `fcc.action.duration` metric in `metrics`. See
/// the module docs.
pub fn instrument_action_engine(
    bus: &EventBus,
    tracer: &FccTracer,
    metrics: &FccMetrics,
) -> EngineInstrumentation {
    instrument_action_engine_with(bus, tracer, metrics, EngineConfig::default())
}

/// [`instrument_action_engine`] with other bounds or parenting.
pub fn instrument_action_engine_with(
    bus: &EventBus,
    tracer: &FccTracer,
    metrics: &FccMetrics,
    config: EngineConfig,
) -> EngineInstrumentation {
    let actions = action::Actions::new(bus.id(), tracer.clone(), metrics.clone(), config);
    subscribe(bus, Arc::new(actions), &action::EVENTS, "action")
}
