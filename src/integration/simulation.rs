//! The simulation engine's events as a `simulation.run` span with a
//! `simulation.step` child per step, and the `fcc.simulation.step` metric.

use std::sync::{Mutex, MutexGuard};
use std::time::{Instant, SystemTime};

use super::spans::{self, End, Unfinished};
use super::table::Table;
use super::{EngineConfig, EngineStats, Part};
use crate::metrics::FccMetrics;
use crate::trace::{FccTracer, Span, SpanContext};
use crate::{Event, EventType};

/// The span names, as in the seed's tracing example.
pub(super) const RUN: &str = "simulation.run";
pub(super) const STEP: &str = "simulation.step";

/// The events this part handles.
pub(super) const EVENTS: [EventType; 6] = [
    EventType::SimulationStarted,
    EventType::SimulationStep,
    EventType::SimulationCompleted,
    EventType::SimulationFailed,
    EventType::SimulationBudgetWarning,
    EventType::SimulationBudgetExceeded,
];

/// The key that tells runs apart: the correlation id, else the payload's
/// `scenario_id`, else the empty string (one anonymous run at a time).
pub(super) fn run_key(event: &Event) -> &str {
    event
        .correlation_id()
        .or_else(|| spans::payload_str(event, "scenario_id"))
        .unwrap_or("")
}

struct Timed {
    span: Span,
    context: Option<SpanContext>,
    start: SystemTime,
}

impl Timed {
    fn new(span: Span, event: &Event) -> Timed {
        Timed {
            context: span.context(),
            start: event.timestamp().to_system_time(),
            span,
        }
    }
}

struct Run {
    run: Timed,
    step: Option<Timed>,
    steps: u64,
}

impl Run {
    fn finish(self, end: End<'_>) {
        let Run {
            mut run,
            step,
            steps,
        } = self;
        if let Some(step) = step {
            let step_end = match &end {
                End::Failed(e) => End::FailedWithin(e),
                End::Done(e) => End::Next(e),
                End::Unfinished(why) => End::Unfinished(*why),
                End::FailedWithin(e) => End::FailedWithin(e),
                End::Next(e) => End::Next(e),
            };
            spans::finish(step.span, step.start, step_end, "simulation step");
        }
        run.span.set_attribute("simulation.steps", steps as i64);
        spans::finish(run.span, run.start, end, "simulation run");
    }
}

struct State {
    runs: Table<String, Run>,
    stats: EngineStats,
    closed: bool,
}

/// What `instrument_simulation_engine` subscribes.
pub(super) struct Simulation {
    tracer: FccTracer,
    metrics: FccMetrics,
    config: EngineConfig,
    state: Mutex<State>,
}

/// Spans to end once the lock is released.
type Ending = (Run, Unfinished);

impl Simulation {
    pub(super) fn new(tracer: FccTracer, metrics: FccMetrics, config: EngineConfig) -> Self {
        Simulation {
            tracer,
            metrics,
            state: Mutex::new(State {
                runs: Table::new(config.max_open),
                stats: EngineStats::default(),
                closed: false,
            }),
            config,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The span an action of run `key` belongs under: its current step, or
    /// the run itself before its first step.
    pub(super) fn parent_of(&self, key: &str) -> Option<SpanContext> {
        let state = self.lock();
        let run = state.runs.newest(key)?;
        run.step
            .as_ref()
            .and_then(|s| s.context.clone())
            .or_else(|| run.run.context.clone())
    }

    fn expire(&self, state: &mut State, now: Instant, out: &mut Vec<Ending>) {
        let timeout = self.config.timeout;
        for run in state.runs.expire(now, timeout) {
            state.stats.timed_out += 1;
            out.push((run, Unfinished::TimedOut(timeout)));
        }
    }

    fn start_run(&self, event: &Event) -> Run {
        let parent = self
            .config
            .parent_from_event
            .then(|| spans::event_span(event))
            .flatten();
        let span = spans::start(&self.tracer, RUN, event, parent.as_ref());
        Run {
            run: Timed::new(span, event),
            step: None,
            steps: 0,
        }
    }
}

impl Part for Simulation {
    fn on_event(&self, event: &Event) {
        let now = Instant::now();
        let key = run_key(event);
        let mut unfinished = Vec::new();
        let mut finished: Option<Run> = None;
        let mut ended_step: Option<Timed> = None;
        let mut step_metric: Option<(u64, String)> = None;
        {
            let mut state = self.lock();
            if state.closed {
                return;
            }
            self.expire(&mut state, now, &mut unfinished);
            let state = &mut *state;
            match event.event_type() {
                EventType::SimulationStarted => {
                    if let Some(old) = state.runs.close(key) {
                        state.stats.unpaired += 1;
                        unfinished.push((old, Unfinished::Superseded));
                    }
                    let run = self.start_run(event);
                    if let Some(old) = state.runs.open(key.to_owned(), run, now) {
                        state.stats.evicted += 1;
                        unfinished.push((old, Unfinished::Evicted));
                    }
                    state.stats.started += 1;
                }
                EventType::SimulationStep => {
                    let node = spans::payload_str(event, "node_id")
                        .or_else(|| event.objective_id())
                        .unwrap_or("unknown");
                    let given = spans::payload_f64(event, "step")
                        .filter(|s| *s >= 0.0)
                        .map(|s| s as u64);
                    match state.runs.newest_mut(key) {
                        Some(run) => {
                            run.steps += 1;
                            ended_step = run.step.take();
                            let mut span =
                                spans::start(&self.tracer, STEP, event, run.run.context.as_ref());
                            if given.is_none() {
                                span.set_attribute("step", run.steps as i64);
                            }
                            run.step = Some(Timed::new(span, event));
                            state.stats.steps += 1;
                            step_metric = Some((given.unwrap_or(run.steps), node.to_owned()));
                        }
                        None => {
                            state.stats.unpaired += 1;
                            step_metric = Some((given.unwrap_or(0), node.to_owned()));
                        }
                    }
                }
                EventType::SimulationCompleted | EventType::SimulationFailed => {
                    match state.runs.close(key) {
                        Some(run) => {
                            if *event.event_type() == EventType::SimulationFailed {
                                state.stats.failed += 1;
                            } else {
                                state.stats.completed += 1;
                            }
                            finished = Some(run);
                        }
                        None => state.stats.unpaired += 1,
                    }
                }
                EventType::SimulationBudgetWarning | EventType::SimulationBudgetExceeded => {
                    if let Some(run) = state.runs.newest_mut(key) {
                        spans::add_event(&mut run.run.span, event);
                    }
                }
                _ => {}
            }
        }
        // Spans end and metrics are recorded outside the lock.
        if let Some(step) = ended_step {
            spans::finish(step.span, step.start, End::Next(event), "simulation step");
        }
        if let Some(run) = finished {
            let end = if *event.event_type() == EventType::SimulationFailed {
                End::Failed(event)
            } else {
                End::Done(event)
            };
            run.finish(end);
        }
        for (run, why) in unfinished {
            run.finish(End::Unfinished(why));
        }
        if let Some((step, node)) = step_metric {
            self.metrics.record_simulation_step(step, &node);
        }
    }

    fn sweep(&self) -> usize {
        let mut unfinished = Vec::new();
        self.expire(&mut self.lock(), Instant::now(), &mut unfinished);
        let n = unfinished.len();
        for (run, why) in unfinished {
            run.finish(End::Unfinished(why));
        }
        n
    }

    fn close(&self) {
        let runs = {
            let mut state = self.lock();
            state.closed = true;
            let runs = state.runs.drain();
            state.stats.abandoned += runs.len() as u64;
            runs
        };
        for run in runs {
            run.finish(End::Unfinished(Unfinished::Abandoned));
        }
    }

    fn stats(&self) -> EngineStats {
        let state = self.lock();
        EngineStats {
            open: state.runs.len(),
            ..state.stats
        }
    }
}
