//! The simulated agent mission: an orchestrator runs objectives, personas
//! run actions on an action engine, the actions call tools through an MCP
//! client (some fail or time out, and the client's connection trouble is an
//! infra-facing Go-style event), AI calls are measured, deliverables are
//! produced and governance gates pass or fail.
//!
//! The mission is a simulation run and each objective one of its steps: the
//! engine publishes the catalog's `simulation.*` and `action.*` lifecycle
//! events with `fcc::emit` (correlation id: the mission id) and nothing
//! else; `fcc demo` turns on [`fcc::integration`], which makes the
//! `simulation.run`, `simulation.step` and `action.<type>` spans and the
//! `fcc.simulation.step` and `fcc.action.duration` metrics from those
//! events, so this file neither traces nor counts that work itself (each
//! step and action is one span and one point). What the instrumentation
//! does not cover stays here: the `mission.run` span around it all (the
//! simulation run becomes its child, as the events carry its trace), the
//! MCP tool calls and gates as `#[traced]` spans, and the persona,
//! deliverable, gate and AI-call metrics. Nothing here knows where events go.

use fcc::{traced, Event, EventType, FccMetrics, Outcome, Severity};

/// A small deterministic generator (xorshift64*), so a seed replays a run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const PERSONAS: &[&str] = &["architect", "developer", "qa", "security", "writer"];
const ACTIONS: &[&str] = &["plan", "implement", "review", "test", "document"];
const TOOLS: &[&str] = &["repo.search", "ci.run", "docs.fetch", "ticket.update"];
const GATES: &[&str] = &["G-SEC-01", "G-QA-02", "G-ARCH-03"];
const MODELS: &[(&str, &str)] = &[
    ("anthropic", "claude"),
    ("openai", "gpt"),
    ("local", "llama"),
];

/// Runs missions; counts the events it emits (for `--rate`).
pub struct Orchestrator<'a> {
    pub metrics: &'a FccMetrics,
    pub rng: Rng,
    pub emitted: u64,
}

impl Orchestrator<'_> {
    fn emit(&mut self, e: fcc::EventBuilder) {
        self.emitted += 1;
        fcc::emit(e);
    }

    /// One mission of `objectives` objectives; true when every gate passed.
    #[traced("mission.run")]
    pub fn run_mission(&mut self, mission_id: &str, objectives: u32) -> bool {
        let base = |t| {
            Event::builder(t, "Orchestrator")
                .mission_id(mission_id)
                .correlation_id(mission_id)
        };
        self.emit(base(EventType::WorkflowStarted).detail(format!("{objectives} objectives")));
        self.emit(base(EventType::SimulationStarted));
        let mut passed = true;
        for o in 1..=objectives {
            passed &= self.run_objective(mission_id, &format!("{mission_id}-O{o}"), o);
        }
        let done = if passed {
            base(EventType::WorkflowCompleted).outcome(Outcome::Success)
        } else {
            base(EventType::WorkflowFailed)
                .outcome(Outcome::Failure)
                .severity(Severity::Warn)
                .detail("a governance gate failed")
        };
        self.emit(base(EventType::SimulationCompleted));
        self.emit(done);
        passed
    }

    /// One objective: one step of the simulation run (its span is made from
    /// the `simulation.step` event).
    fn run_objective(&mut self, mission_id: &str, objective_id: &str, step: u32) -> bool {
        let persona = PERSONAS[self.rng.below(PERSONAS.len() as u64) as usize];
        let ev = |t| {
            Event::builder(t, "Orchestrator")
                .mission_id(mission_id)
                .objective_id(objective_id)
                .correlation_id(mission_id)
        };
        self.emit(ev(EventType::PersonaActivated).attr("persona_id", persona));
        self.metrics.record_persona_activation(persona);
        self.emit(
            ev(EventType::SimulationStep)
                .attr("step", step as i64)
                .attr("node_id", objective_id),
        );
        for a in 0..3 {
            let action = ACTIONS[((step as usize) + a) % ACTIONS.len()];
            self.run_action(mission_id, objective_id, persona, action);
        }
        self.emit(ev(EventType::DeliverableCreated).attr("persona_id", persona));
        self.metrics.record_deliverable(persona, "report");
        self.emit(ev(EventType::PersonaDeactivated).attr("persona_id", persona));
        self.evaluate_gate(mission_id, objective_id)
    }

    /// One action on the action engine: its span and its
    /// `fcc.action.duration` point are made from `action.started` and
    /// `action.completed`/`action.failed` (which says `duration_ms`).
    fn run_action(&mut self, mission_id: &str, objective_id: &str, persona: &str, action: &str) {
        let ev = |t| {
            Event::builder(t, "ActionEngine")
                .mission_id(mission_id)
                .objective_id(objective_id)
                .correlation_id(mission_id)
                .action(action)
                .attr("persona_id", persona)
        };
        self.emit(ev(EventType::ActionStarted));
        let tool = TOOLS[self.rng.below(TOOLS.len() as u64) as usize];
        let tool_ok = self.call_tool(mission_id, tool);
        let (provider, model) = MODELS[self.rng.below(MODELS.len() as u64) as usize];
        let latency = 40.0 + self.rng.below(900) as f64;
        self.metrics
            .record_ai_call(provider, model, latency, 200 + self.rng.below(3000));
        let duration = latency + self.rng.below(200) as f64;
        let done = if tool_ok {
            ev(EventType::ActionCompleted).outcome(Outcome::Success)
        } else {
            ev(EventType::ActionFailed)
                .outcome(Outcome::Failure)
                .severity(Severity::Error)
                .detail(format!("tool {tool} failed"))
        };
        self.emit(done.attr("duration_ms", duration));
    }

    /// An MCP tool call: 8% fail, 4% time out; a failure also says the
    /// backend connection had trouble (an infra-facing Go-style event).
    #[traced("mcp.tool.call", skip(mission_id))]
    fn call_tool(&mut self, mission_id: &str, tool: &str) -> bool {
        let ev = |t| {
            Event::builder(t, "McpClient")
                .mission_id(mission_id)
                .correlation_id(mission_id)
                .resource(format!("mcp_tool:{tool}"))
        };
        self.emit(ev(EventType::ProtocolMcpToolCalled));
        let roll = self.rng.below(100);
        if roll < 12 {
            let (outcome, why) = if roll < 4 {
                (Outcome::Timeout, "no answer within 30s")
            } else {
                (Outcome::Failure, "connection reset by peer")
            };
            self.emit(
                Event::warn(
                    "mcpclient",
                    "connect_attempt",
                    format!("mcp_server:vendor: {why}"),
                )
                .category("backend")
                .resource("mcp_server:vendor")
                .mission_id(mission_id)
                .outcome(outcome),
            );
            self.emit(
                ev(EventType::ProtocolMcpToolFailed)
                    .outcome(outcome)
                    .severity(Severity::Error)
                    .detail(why),
            );
            false
        } else {
            self.emit(ev(EventType::ProtocolMcpToolCompleted).outcome(Outcome::Success));
            true
        }
    }

    /// A governance gate: 90% pass.
    #[traced("gate.evaluate", skip(mission_id))]
    fn evaluate_gate(&mut self, mission_id: &str, objective_id: &str) -> bool {
        let gate = GATES[self.rng.below(GATES.len() as u64) as usize];
        let ev = |t| {
            Event::builder(t, "Governance")
                .mission_id(mission_id)
                .objective_id(objective_id)
                .correlation_id(mission_id)
                .resource(format!("gate:{gate}"))
        };
        self.emit(ev(EventType::GovernanceGateEvaluated));
        let passed = self.rng.chance(0.9);
        self.metrics.record_gate_result(gate, passed);
        self.emit(if passed {
            ev(EventType::GovernanceGatePassed)
                .outcome(Outcome::Success)
                .detail(format!("gate {gate} passed"))
        } else {
            ev(EventType::GovernanceGateFailed)
                .outcome(Outcome::Failure)
                .severity(Severity::Warn)
                .detail(format!("gate {gate} failed: unresolved findings"))
        });
        passed
    }
}
