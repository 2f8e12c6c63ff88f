//! The seed's seven predefined metrics and its convenience methods.
//!
//! | metric | type | unit | labels | recorded by |
//! |---|---|---|---|---|
//! | `fcc.simulation.step` | counter | `{step}` | `node_id`, `step` | `record_simulation_step` |
//! | `fcc.persona.activation` | counter | `{activation}` | `persona_id` | `record_persona_activation` |
//! | `fcc.gate.result` | counter | `{evaluation}` | `gate_id`, `passed` | `record_gate_result` |
//! | `fcc.deliverable` | counter | `{deliverable}` | `persona_id`, `action_type` | `record_deliverable` |
//! | `fcc.ai.call.latency` | histogram | `ms` | `provider`, `model` | `record_ai_call` |
//! | `fcc.ai.call.tokens` | counter | `{token}` | `provider`, `model` | `record_ai_call` |
//! | `fcc.action.duration` | histogram | `ms` | `persona_id`, `action_type`, `success` | `record_action_execution` |

use super::{FccMetrics, MetricType};

/// The predefined metrics: name, type, unit, description.
pub const PREDEFINED: &[(&str, MetricType, &str, &str)] = &[
    (
        "fcc.simulation.step",
        MetricType::Counter,
        "{step}",
        "Simulation steps run",
    ),
    (
        "fcc.persona.activation",
        MetricType::Counter,
        "{activation}",
        "Persona activations",
    ),
    (
        "fcc.gate.result",
        MetricType::Counter,
        "{evaluation}",
        "Governance gate evaluations, by outcome",
    ),
    (
        "fcc.deliverable",
        MetricType::Counter,
        "{deliverable}",
        "Deliverables produced",
    ),
    (
        "fcc.ai.call.latency",
        MetricType::Histogram,
        "ms",
        "AI provider call latency",
    ),
    (
        "fcc.ai.call.tokens",
        MetricType::Counter,
        "{token}",
        "Tokens used by AI provider calls",
    ),
    (
        "fcc.action.duration",
        MetricType::Histogram,
        "ms",
        "Action execution time, by success",
    ),
];

pub(super) fn declare(m: &FccMetrics) {
    for (name, kind, unit, description) in PREDEFINED {
        // The names are valid and new: this cannot fail.
        let _ = m.describe(name, *kind, *unit, *description, None);
    }
}

fn bool_str(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

impl FccMetrics {
    /// One simulation step on a node.
    pub fn record_simulation_step(&self, step: u64, node_id: &str) {
        let step = step.to_string();
        let _ = self.increment(
            "fcc.simulation.step",
            &[("node_id", node_id), ("step", &step)],
        );
    }

    /// A persona became active.
    pub fn record_persona_activation(&self, persona_id: &str) {
        let _ = self.increment("fcc.persona.activation", &[("persona_id", persona_id)]);
    }

    /// A governance gate was evaluated.
    pub fn record_gate_result(&self, gate_id: &str, passed: bool) {
        let _ = self.increment(
            "fcc.gate.result",
            &[("gate_id", gate_id), ("passed", bool_str(passed))],
        );
    }

    /// A deliverable was produced.
    pub fn record_deliverable(&self, persona_id: &str, action_type: &str) {
        let _ = self.increment(
            "fcc.deliverable",
            &[("persona_id", persona_id), ("action_type", action_type)],
        );
    }

    /// An AI provider call: its latency (histogram) and tokens (counter). A
    /// latency that is not a finite number is not recorded.
    pub fn record_ai_call(&self, provider: &str, model: &str, latency_ms: f64, tokens: u64) {
        let labels = [("provider", provider), ("model", model)];
        let _ = self.record("fcc.ai.call.latency", latency_ms, &labels);
        let _ = self.add("fcc.ai.call.tokens", tokens as f64, &labels);
    }

    /// An action ran: its duration, by success.
    pub fn record_action_execution(
        &self,
        persona_id: &str,
        action_type: &str,
        success: bool,
        duration_ms: f64,
    ) {
        let _ = self.record(
            "fcc.action.duration",
            duration_ms,
            &[
                ("persona_id", persona_id),
                ("action_type", action_type),
                ("success", bool_str(success)),
            ],
        );
    }
}
