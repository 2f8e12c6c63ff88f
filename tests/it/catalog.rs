//! The catalog matches the seed's table, row by row.

use fcc::{Category, EventType};
use std::collections::HashSet;

/// (category as written in the seed's table, count, its event types)
const SEED_TABLE: &[(&str, usize, &str)] = &[
    ("Action", 3, "action.started, action.completed, action.failed"),
    ("Benchmark", 3, "benchmark.started, benchmark.completed, benchmark.regression"),
    ("Collaboration", 5, "collaboration.session.created, collaboration.session.started, collaboration.session.completed, collaboration.turn.taken, collaboration.maturity.assessed"),
    ("Compliance", 4, "compliance.audit.started, compliance.audit.completed, compliance.finding.raised, compliance.remediation.required"),
    ("Deliverable", 2, "deliverable.created, deliverable.reviewed"),
    ("Demo", 3, "demo.started, demo.step.completed, demo.completed"),
    ("Ecosystem", 2, "ecosystem.health.check, ecosystem.project.status"),
    ("Federation", 3, "federation.entity.resolved, federation.namespace.registered, federation.change.detected"),
    ("Governance", 3, "governance.gate.evaluated, governance.gate.passed, governance.gate.failed"),
    ("Knowledge", 10, "knowledge.graph.built, knowledge.graph.exported, knowledge.graph.entity.created, knowledge.graph.entity.updated, knowledge.graph.edge.created, knowledge.graph.query.executed, knowledge.graph.federation.namespace.registered, knowledge.graph.federation.merged, knowledge.graph.federation.cross_edge.added, knowledge.graph.federation.entity.resolved"),
    ("Messaging", 4, "messaging.dlq.enqueued, messaging.circuit.open, messaging.circuit.closed, messaging.priority.escalated"),
    ("Node", 2, "node.entered, node.exited"),
    ("Object Model", 2, "objectmodel.facade.registered, objectmodel.query.executed"),
    ("Persona", 2, "persona.activated, persona.deactivated"),
    ("Plugin", 2, "plugin.loaded, plugin.error"),
    ("Protocol", 10, "protocol.a2a.task.received, protocol.a2a.task.completed, protocol.a2a.task.failed, protocol.a2a.card.requested, protocol.mcp.tool.called, protocol.mcp.tool.completed, protocol.mcp.tool.failed, protocol.mcp.resource.read, protocol.mcp.prompt.rendered, protocol.bridge.error"),
    ("RAG", 3, "rag.query.started, rag.query.completed, rag.index.built"),
    ("Search", 2, "search.index.built, search.query.executed"),
    ("Simulation", 6, "simulation.started, simulation.step, simulation.completed, simulation.failed, simulation.budget.warning, simulation.budget.exceeded"),
    ("Tutorial", 3, "tutorial.progress.updated, tutorial.checkpoint.reached, tutorial.completed"),
    ("Vertical", 1, "vertical.loaded"),
    ("Viz", 3, "viz.data.updated, viz.filter.changed, viz.selection.changed"),
    ("Workflow", 3, "workflow.started, workflow.completed, workflow.failed"),
];

#[test]
fn catalog_has_the_seed_tables_81_types_in_23_categories() {
    // The seed's prose says 21 categories; its table (the contract) has 23 rows.
    assert_eq!(SEED_TABLE.len(), 23);
    assert_eq!(Category::ALL.len(), 23);
    assert_eq!(EventType::CATALOG.len(), 81);
    assert_eq!(EventType::CATALOG_LEN, 81);
    let total: usize = SEED_TABLE.iter().map(|(_, n, _)| n).sum();
    assert_eq!(total, 81);
}

#[test]
fn each_category_holds_exactly_the_seed_tables_types_in_order() {
    for ((display, count, names), category) in SEED_TABLE.iter().zip(Category::ALL) {
        assert_eq!(category.display_name(), *display);
        let expected: Vec<&str> = names.split(", ").collect();
        assert_eq!(
            expected.len(),
            *count,
            "the table's own count for {display}"
        );
        let actual: Vec<&str> = category
            .event_types()
            .iter()
            .map(EventType::as_str)
            .collect();
        assert_eq!(actual, expected, "category {display}");
        for t in category.event_types() {
            assert_eq!(t.catalog_category(), Some(*category));
            assert_eq!(t.category(), category.as_str());
            assert!(t.as_str().starts_with(&format!("{}.", category.as_str())));
        }
    }
}

#[test]
fn names_are_unique_and_parse_back_to_the_same_variant() {
    let mut seen = HashSet::new();
    for (i, t) in EventType::CATALOG.iter().enumerate() {
        assert!(seen.insert(t.as_str()), "duplicate {t}");
        assert_eq!(t.as_str().parse::<EventType>().unwrap(), *t);
        assert_eq!(t.catalog_index(), Some(i));
        assert!(t.is_catalog());
        assert_eq!(t.to_string(), t.as_str());
    }
}

#[test]
fn categories_resolve_from_their_family_segment() {
    for c in Category::ALL {
        assert_eq!(Category::from_family(c.as_str()), Some(*c));
    }
    assert_eq!(Category::ObjectModel.as_str(), "objectmodel");
    assert_eq!(Category::from_family("billing"), None);
}

#[test]
fn custom_names_follow_the_documented_rule() {
    for ok in [
        "billing.invoice.sent",
        "runtime.k8s.pod_created",
        "a.b",
        "gateway.route-added",
    ] {
        let t = EventType::custom(ok).unwrap();
        assert!(!t.is_catalog(), "{ok}");
        assert_eq!(t.as_str(), ok);
        assert_eq!(t.category(), ok.split('.').next().unwrap());
        assert_eq!(t.catalog_index(), None);
    }
    // A catalog name is never custom.
    assert_eq!(
        EventType::custom("workflow.failed").unwrap(),
        EventType::WorkflowFailed
    );

    let long = format!("a.{}", "b".repeat(254));
    for (bad, why) in [
        ("", "empty"),
        ("single", "at least two"),
        ("Billing.invoice", "lower-case letter"),
        ("billing..invoice", "empty segment"),
        (".billing", "empty segment"),
        ("billing.invoice.", "empty segment"),
        ("billing.1invoice", "lower-case letter"),
        ("billing.invoice sent", "only lower-case letters"),
        ("billing.invoice/sent", "only lower-case letters"),
        (long.as_str(), "255 bytes"),
    ] {
        let err = EventType::custom(bad).unwrap_err().to_string();
        assert!(err.contains(why), "{bad:?}: {err}");
        assert!(err.contains("not in the catalog"), "{err}");
    }
}
