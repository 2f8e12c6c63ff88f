//! A small simulated engine for the instrumentation tests: it only publishes
//! the catalog's simulation.* and action.* lifecycle events on a bus, as a
//! real engine would, and knows nothing of spans or metrics.

#![allow(dead_code)] // each test file uses what it needs

use fcc::{Event, EventBus, EventType, Outcome, Severity, Timestamp};
use serde_json::{json, Value};

/// The engine: publishes on `bus`, stamping events with `clock` when set
/// (microseconds since the epoch, one tick per event) so tests can say
/// exactly when each span starts and ends.
pub struct Engine<'a> {
    pub bus: &'a EventBus,
    clock: Option<std::cell::Cell<i64>>,
}

/// 2026-03-27T10:00:00Z, the seed's example time.
pub const T0: i64 = 1_774_605_600_000_000;

impl<'a> Engine<'a> {
    /// Events at the real time.
    pub fn new(bus: &'a EventBus) -> Self {
        Engine { bus, clock: None }
    }

    /// Events at T0, T0 + 1 ms, T0 + 2 ms, ...
    pub fn ticking(bus: &'a EventBus) -> Self {
        Engine {
            bus,
            clock: Some(std::cell::Cell::new(T0)),
        }
    }

    /// Publishes one event of run `run`; returns it.
    pub fn publish(&self, t: EventType, run: &str, payload: Value) -> Event {
        self.publish_with(t, run, payload, |b| b)
    }

    /// Like `publish`, with more fields set by `more`.
    pub fn publish_with(
        &self,
        t: EventType,
        run: &str,
        payload: Value,
        more: impl FnOnce(fcc::EventBuilder) -> fcc::EventBuilder,
    ) -> Event {
        let source = if t.as_str().starts_with("action.") {
            "ActionEngine"
        } else {
            "SimulationEngine"
        };
        let mut b = Event::builder(t, source)
            .correlation_id(run)
            .payload(payload);
        if let Some(c) = &self.clock {
            b = b.timestamp(Timestamp::from_unix_micros(c.get()));
            c.set(c.get() + 1000);
        }
        let e = more(b).build();
        self.bus.publish(&e);
        e
    }

    pub fn start(&self, run: &str) -> Event {
        self.publish(
            EventType::SimulationStarted,
            run,
            json!({"scenario_id": format!("SC-{run}")}),
        )
    }

    pub fn step(&self, run: &str, step: u32) -> Event {
        self.publish(
            EventType::SimulationStep,
            run,
            json!({"step": step, "node_id": format!("N{step}")}),
        )
    }

    pub fn complete(&self, run: &str) -> Event {
        self.publish_with(EventType::SimulationCompleted, run, json!({}), |b| {
            b.outcome(Outcome::Success)
        })
    }

    pub fn fail(&self, run: &str, why: &str) -> Event {
        self.publish_with(EventType::SimulationFailed, run, json!({}), |b| {
            b.outcome(Outcome::Failure)
                .severity(Severity::Error)
                .detail(why)
        })
    }

    /// An action of run `run`: started, then completed (or failed).
    pub fn action(&self, run: &str, action: &str, persona: &str, ok: bool) -> (Event, Event) {
        let payload = || json!({"persona_id": persona});
        let started = self.publish_with(EventType::ActionStarted, run, payload(), |b| {
            b.action(action)
        });
        let ended = if ok {
            self.publish_with(EventType::ActionCompleted, run, payload(), |b| {
                b.action(action).outcome(Outcome::Success)
            })
        } else {
            self.publish_with(EventType::ActionFailed, run, payload(), |b| {
                b.action(action)
                    .outcome(Outcome::Failure)
                    .severity(Severity::Error)
                    .detail(format!("{action} failed: tool timed out"))
            })
        };
        (started, ended)
    }

    /// A whole run: `steps` steps of `actions` actions each, then completed.
    pub fn run(&self, run: &str, steps: u32, actions: u32) {
        self.start(run);
        for s in 1..=steps {
            self.step(run, s);
            for a in 0..actions {
                self.action(run, &format!("a{a}"), "SQC", true);
            }
        }
        self.complete(run);
    }
}
