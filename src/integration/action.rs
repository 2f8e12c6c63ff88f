//! The action engine's events as one span per action, and the
//! `fcc.action.duration` metric (one point per execution).

use std::sync::{Mutex, MutexGuard};
use std::time::{Instant, SystemTime};

use super::simulation::run_key;
use super::spans::{self, End, Unfinished};
use super::table::Table;
use super::{EngineConfig, EngineStats, Part};
use crate::metrics::FccMetrics;
use crate::trace::{FccTracer, Span};
use crate::{Event, EventType, Timestamp};

/// The events this part handles.
pub(super) const EVENTS: [EventType; 3] = [
    EventType::ActionStarted,
    EventType::ActionCompleted,
    EventType::ActionFailed,
];

/// The action's type: the event's `action`, else the payload's `action_type`.
fn action_type(event: &Event) -> &str {
    event
        .action()
        .or_else(|| spans::payload_str(event, "action_type"))
        .unwrap_or("")
}

/// The key that pairs a started event with its end: the run's key (see
/// [`run_key`]) and the payload's `action_id`, else the action's type.
/// Several actions open under one key end oldest first.
fn action_key(event: &Event) -> String {
    let id = spans::payload_str(event, "action_id").unwrap_or_else(|| action_type(event));
    format!("{}\u{1f}{id}", run_key(event))
}

/// The span's name: `action.<type>` (`action.test`), `action.run` without a type.
fn span_name(event: &Event) -> String {
    match action_type(event) {
        "" => "action.run".to_owned(),
        t => format!("action.{t}"),
    }
}

struct Open {
    span: Span,
    start: SystemTime,
    at: Timestamp,
    /// The started event's persona, for an end event that does not say.
    persona: Option<String>,
}

struct State {
    actions: Table<String, Open>,
    stats: EngineStats,
    closed: bool,
}

/// What `instrument_action_engine` subscribes.
pub(super) struct Actions {
    bus_id: u64,
    tracer: FccTracer,
    metrics: FccMetrics,
    config: EngineConfig,
    state: Mutex<State>,
}

impl Actions {
    pub(super) fn new(
        bus_id: u64,
        tracer: FccTracer,
        metrics: FccMetrics,
        config: EngineConfig,
    ) -> Self {
        Actions {
            bus_id,
            tracer,
            metrics,
            state: Mutex::new(State {
                actions: Table::new(config.max_open),
                stats: EngineStats::default(),
                closed: false,
            }),
            config,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn expire(&self, state: &mut State, now: Instant) -> Vec<(Open, Unfinished)> {
        let timeout = self.config.timeout;
        let expired = state.actions.expire(now, timeout);
        state.stats.timed_out += expired.len() as u64;
        expired
            .into_iter()
            .map(|a| (a, Unfinished::TimedOut(timeout)))
            .collect()
    }
}

fn finish(open: Open, end: End<'_>) {
    spans::finish(open.span, open.start, end, "action");
}

impl Part for Actions {
    fn on_event(&self, event: &Event) {
        let now = Instant::now();
        let key = action_key(event);
        let started = *event.event_type() == EventType::ActionStarted;
        // The run's current step, looked up before this part's lock is
        // taken (the simulation part never waits for this one).
        let parent = if started {
            super::run_parent(self.bus_id, run_key(event)).or_else(|| {
                self.config
                    .parent_from_event
                    .then(|| spans::event_span(event))
                    .flatten()
            })
        } else {
            None
        };
        let mut unfinished;
        let mut ended = None;
        {
            let mut state = self.lock();
            if state.closed {
                return;
            }
            unfinished = self.expire(&mut state, now);
            if started {
                let span = spans::start(&self.tracer, span_name(event), event, parent.as_ref());
                let open = Open {
                    span,
                    start: event.timestamp().to_system_time(),
                    at: event.timestamp(),
                    persona: spans::payload_str(event, "persona_id").map(str::to_owned),
                };
                if let Some(old) = state.actions.open(key, open, now) {
                    state.stats.evicted += 1;
                    unfinished.push((old, Unfinished::Evicted));
                }
                state.stats.started += 1;
            } else {
                ended = state.actions.close(&key);
                match (&ended, event.event_type()) {
                    (None, _) => state.stats.unpaired += 1,
                    (Some(_), EventType::ActionFailed) => state.stats.failed += 1,
                    (Some(_), _) => state.stats.completed += 1,
                }
            }
        }
        for (open, why) in unfinished {
            finish(open, End::Unfinished(why));
        }
        if started {
            return;
        }
        let success = *event.event_type() == EventType::ActionCompleted;
        // The engine's own measure when it gives one, else started to end.
        let duration = spans::payload_f64(event, "duration_ms")
            .or_else(|| ended.as_ref().map(|o| o.at.millis_until(event.timestamp())));
        let persona = spans::payload_str(event, "persona_id")
            .map(str::to_owned)
            .or_else(|| ended.as_mut().and_then(|o| o.persona.take()))
            .unwrap_or_default();
        if let Some(open) = ended {
            finish(
                open,
                if success {
                    End::Done(event)
                } else {
                    End::Failed(event)
                },
            );
        }
        // An end with no start and no duration of its own says nothing
        // about how long the action took: no point.
        if let Some(ms) = duration {
            self.metrics.record_action_execution(
                &persona,
                action_type(event),
                success,
                ms.max(0.0),
            );
        }
    }

    fn sweep(&self) -> usize {
        let expired = self.expire(&mut self.lock(), Instant::now());
        let n = expired.len();
        for (open, why) in expired {
            finish(open, End::Unfinished(why));
        }
        n
    }

    fn close(&self) {
        let open = {
            let mut state = self.lock();
            state.closed = true;
            let open = state.actions.drain();
            state.stats.abandoned += open.len() as u64;
            open
        };
        for a in open {
            finish(a, End::Unfinished(Unfinished::Abandoned));
        }
    }

    fn stats(&self) -> EngineStats {
        let state = self.lock();
        EngineStats {
            open: state.actions.len(),
            ..state.stats
        }
    }
}
