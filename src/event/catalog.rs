//! The event-type catalog: 81 types in 23 categories, from the seed's table.
//!
//! Every catalog type is a variant of [`EventType`] with a dotted name
//! (`protocol.mcp.tool.failed`); its [`Category`] is the first segment.
//!
//! The seed's prose says "21 categories", but its table lists 23 families
//! whose counts sum to 81. The table is the contract (see DESIGN.md), so there
//! are 23 [`Category`] values here.
//!
//! # Custom event types
//!
//! Names outside the catalog are welcome: [`EventType::custom`] (or
//! `str::parse`) accepts any name that follows the catalog's own rule:
//!
//! - two or more segments separated by `.`;
//! - each segment starts with a lower-case ASCII letter and continues with
//!   lower-case letters, digits, `_` or `-`;
//! - at most 255 bytes in all.
//!
//! A name that is in the catalog always parses to its catalog variant, so
//! `EventType::custom("action.started")` is `EventType::ActionStarted`. The
//! category of a custom type is its first segment. Use
//! [`EventType::is_catalog`] to tell the two apart.
//!
//! ```
//! use fcc::{Category, EventType};
//! let t: EventType = "protocol.mcp.tool.failed".parse().unwrap();
//! assert_eq!(t, EventType::ProtocolMcpToolFailed);
//! assert_eq!(t.catalog_category(), Some(Category::Protocol));
//!
//! let custom = EventType::custom("billing.invoice.sent").unwrap();
//! assert_eq!(custom.category(), "billing");
//! assert!(!custom.is_catalog());
//! assert!(EventType::custom("Billing Invoice").is_err());
//! ```

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// Why a name is not a valid event type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTypeError {
    input: String,
    reason: &'static str,
}

impl fmt::Display for EventTypeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not in the catalog and not a valid custom event type: {}",
            self.input, self.reason
        )
    }
}

impl std::error::Error for EventTypeError {}

/// A validated event-type name outside the catalog. Build one with
/// [`EventType::custom`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomEventType(Arc<str>);

impl CustomEventType {
    /// The dotted name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CustomEventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

/// Checks `name` against the custom-name rule in the module docs.
fn check_custom_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("the name is empty");
    }
    if name.len() > 255 {
        return Err("longer than 255 bytes");
    }
    let mut segments = 0;
    for seg in name.split('.') {
        segments += 1;
        let mut bytes = seg.bytes();
        match bytes.next() {
            None => return Err("it has an empty segment (`..` or a leading or trailing `.`)"),
            Some(b'a'..=b'z') => {}
            Some(_) => return Err("each segment must start with a lower-case letter"),
        }
        if !bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-')) {
            return Err("segments may hold only lower-case letters, digits, `_` and `-`");
        }
    }
    if segments < 2 {
        return Err("it needs at least two dot-separated segments, like `billing.invoice_sent`");
    }
    Ok(())
}

macro_rules! catalog {
    ($(
        $(#[$cdoc:meta])* $cat:ident => $family:literal, $display:literal {
            $($var:ident => $name:literal,)+
        }
    )+) => {
        /// A family of catalog event types (the seed table's "Category" column).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Category {
            $($(#[$cdoc])* $cat,)+
        }

        impl Category {
            /// Every category, in the seed table's order.
            pub const ALL: &'static [Category] = &[$(Category::$cat),+];

            /// The family segment used in dotted names and in `Event::category`
            /// (`"objectmodel"`).
            pub const fn as_str(self) -> &'static str {
                match self { $(Category::$cat => $family,)+ }
            }

            /// The name in the seed's table (`"Object Model"`).
            pub const fn display_name(self) -> &'static str {
                match self { $(Category::$cat => $display,)+ }
            }

            /// The catalog types of this category, in the seed table's order.
            pub const fn event_types(self) -> &'static [EventType] {
                match self { $(Category::$cat => &[$(EventType::$var),+],)+ }
            }

            /// The category whose family segment is `family`, if any.
            pub fn from_family(family: &str) -> Option<Category> {
                match family { $($family => Some(Category::$cat),)+ _ => None }
            }
        }

        #[allow(clippy::enum_variant_names)]
        #[derive(Clone, Copy)]
        #[repr(u8)]
        enum CatalogIndex { $($($var,)+)+ }

        /// The type of an event: one of the 81 catalog types, or a custom name.
        ///
        /// See the [module docs](crate::event::catalog) for the custom-name rule.
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum EventType {
            $($(
                #[doc = concat!("`", $name, "`")]
                $var,
            )+)+
            /// A validated name outside the catalog.
            Custom(CustomEventType),
        }

        impl EventType {
            /// All 81 catalog types, in the seed table's order.
            pub const CATALOG: &'static [EventType] = &[$($(EventType::$var,)+)+];

            /// The dotted name of a catalog type as a `&'static str`; `None`
            /// for a custom type.
            pub fn static_name(&self) -> Option<&'static str> {
                match self {
                    $($(EventType::$var => Some($name),)+)+
                    EventType::Custom(_) => None,
                }
            }

            /// The dotted name.
            pub fn as_str(&self) -> &str {
                match self {
                    $($(EventType::$var => $name,)+)+
                    EventType::Custom(c) => c.as_str(),
                }
            }

            /// The catalog category, or `None` for a custom type.
            pub const fn catalog_category(&self) -> Option<Category> {
                match self {
                    $($(EventType::$var => Some(Category::$cat),)+)+
                    EventType::Custom(_) => None,
                }
            }

            /// Position in [`EventType::CATALOG`], or `None` for a custom type.
            #[inline]
            pub const fn catalog_index(&self) -> Option<usize> {
                match self {
                    $($(EventType::$var => Some(CatalogIndex::$var as usize),)+)+
                    EventType::Custom(_) => None,
                }
            }

            fn lookup(name: &str) -> Option<EventType> {
                match name {
                    $($($name => Some(EventType::$var),)+)+
                    _ => None,
                }
            }
        }
    };
}

catalog! {
    /// `action.*`: the action engine.
    Action => "action", "Action" {
        ActionStarted => "action.started",
        ActionCompleted => "action.completed",
        ActionFailed => "action.failed",
    }
    /// `benchmark.*`
    Benchmark => "benchmark", "Benchmark" {
        BenchmarkStarted => "benchmark.started",
        BenchmarkCompleted => "benchmark.completed",
        BenchmarkRegression => "benchmark.regression",
    }
    /// `collaboration.*`
    Collaboration => "collaboration", "Collaboration" {
        CollaborationSessionCreated => "collaboration.session.created",
        CollaborationSessionStarted => "collaboration.session.started",
        CollaborationSessionCompleted => "collaboration.session.completed",
        CollaborationTurnTaken => "collaboration.turn.taken",
        CollaborationMaturityAssessed => "collaboration.maturity.assessed",
    }
    /// `compliance.*`
    Compliance => "compliance", "Compliance" {
        ComplianceAuditStarted => "compliance.audit.started",
        ComplianceAuditCompleted => "compliance.audit.completed",
        ComplianceFindingRaised => "compliance.finding.raised",
        ComplianceRemediationRequired => "compliance.remediation.required",
    }
    /// `deliverable.*`
    Deliverable => "deliverable", "Deliverable" {
        DeliverableCreated => "deliverable.created",
        DeliverableReviewed => "deliverable.reviewed",
    }
    /// `demo.*`
    Demo => "demo", "Demo" {
        DemoStarted => "demo.started",
        DemoStepCompleted => "demo.step.completed",
        DemoCompleted => "demo.completed",
    }
    /// `ecosystem.*`
    Ecosystem => "ecosystem", "Ecosystem" {
        EcosystemHealthCheck => "ecosystem.health.check",
        EcosystemProjectStatus => "ecosystem.project.status",
    }
    /// `federation.*`
    Federation => "federation", "Federation" {
        FederationEntityResolved => "federation.entity.resolved",
        FederationNamespaceRegistered => "federation.namespace.registered",
        FederationChangeDetected => "federation.change.detected",
    }
    /// `governance.*`: gates.
    Governance => "governance", "Governance" {
        GovernanceGateEvaluated => "governance.gate.evaluated",
        GovernanceGatePassed => "governance.gate.passed",
        GovernanceGateFailed => "governance.gate.failed",
    }
    /// `knowledge.*`: the knowledge graph.
    Knowledge => "knowledge", "Knowledge" {
        KnowledgeGraphBuilt => "knowledge.graph.built",
        KnowledgeGraphExported => "knowledge.graph.exported",
        KnowledgeGraphEntityCreated => "knowledge.graph.entity.created",
        KnowledgeGraphEntityUpdated => "knowledge.graph.entity.updated",
        KnowledgeGraphEdgeCreated => "knowledge.graph.edge.created",
        KnowledgeGraphQueryExecuted => "knowledge.graph.query.executed",
        KnowledgeGraphFederationNamespaceRegistered => "knowledge.graph.federation.namespace.registered",
        KnowledgeGraphFederationMerged => "knowledge.graph.federation.merged",
        KnowledgeGraphFederationCrossEdgeAdded => "knowledge.graph.federation.cross_edge.added",
        KnowledgeGraphFederationEntityResolved => "knowledge.graph.federation.entity.resolved",
    }
    /// `messaging.*`
    Messaging => "messaging", "Messaging" {
        MessagingDlqEnqueued => "messaging.dlq.enqueued",
        MessagingCircuitOpen => "messaging.circuit.open",
        MessagingCircuitClosed => "messaging.circuit.closed",
        MessagingPriorityEscalated => "messaging.priority.escalated",
    }
    /// `node.*`
    Node => "node", "Node" {
        NodeEntered => "node.entered",
        NodeExited => "node.exited",
    }
    /// `objectmodel.*`
    ObjectModel => "objectmodel", "Object Model" {
        ObjectmodelFacadeRegistered => "objectmodel.facade.registered",
        ObjectmodelQueryExecuted => "objectmodel.query.executed",
    }
    /// `persona.*`
    Persona => "persona", "Persona" {
        PersonaActivated => "persona.activated",
        PersonaDeactivated => "persona.deactivated",
    }
    /// `plugin.*`
    Plugin => "plugin", "Plugin" {
        PluginLoaded => "plugin.loaded",
        PluginError => "plugin.error",
    }
    /// `protocol.*`: A2A, MCP and bridges.
    Protocol => "protocol", "Protocol" {
        ProtocolA2aTaskReceived => "protocol.a2a.task.received",
        ProtocolA2aTaskCompleted => "protocol.a2a.task.completed",
        ProtocolA2aTaskFailed => "protocol.a2a.task.failed",
        ProtocolA2aCardRequested => "protocol.a2a.card.requested",
        ProtocolMcpToolCalled => "protocol.mcp.tool.called",
        ProtocolMcpToolCompleted => "protocol.mcp.tool.completed",
        ProtocolMcpToolFailed => "protocol.mcp.tool.failed",
        ProtocolMcpResourceRead => "protocol.mcp.resource.read",
        ProtocolMcpPromptRendered => "protocol.mcp.prompt.rendered",
        ProtocolBridgeError => "protocol.bridge.error",
    }
    /// `rag.*`
    Rag => "rag", "RAG" {
        RagQueryStarted => "rag.query.started",
        RagQueryCompleted => "rag.query.completed",
        RagIndexBuilt => "rag.index.built",
    }
    /// `search.*`
    Search => "search", "Search" {
        SearchIndexBuilt => "search.index.built",
        SearchQueryExecuted => "search.query.executed",
    }
    /// `simulation.*`
    Simulation => "simulation", "Simulation" {
        SimulationStarted => "simulation.started",
        SimulationStep => "simulation.step",
        SimulationCompleted => "simulation.completed",
        SimulationFailed => "simulation.failed",
        SimulationBudgetWarning => "simulation.budget.warning",
        SimulationBudgetExceeded => "simulation.budget.exceeded",
    }
    /// `tutorial.*`
    Tutorial => "tutorial", "Tutorial" {
        TutorialProgressUpdated => "tutorial.progress.updated",
        TutorialCheckpointReached => "tutorial.checkpoint.reached",
        TutorialCompleted => "tutorial.completed",
    }
    /// `vertical.*`
    Vertical => "vertical", "Vertical" {
        VerticalLoaded => "vertical.loaded",
    }
    /// `viz.*`
    Viz => "viz", "Viz" {
        VizDataUpdated => "viz.data.updated",
        VizFilterChanged => "viz.filter.changed",
        VizSelectionChanged => "viz.selection.changed",
    }
    /// `workflow.*`
    Workflow => "workflow", "Workflow" {
        WorkflowStarted => "workflow.started",
        WorkflowCompleted => "workflow.completed",
        WorkflowFailed => "workflow.failed",
    }
}

impl EventType {
    /// Number of catalog types (81).
    pub const CATALOG_LEN: usize = Self::CATALOG.len();

    /// A custom (or catalog) type from a dotted name; see the module docs for the rule.
    pub fn custom(name: &str) -> Result<EventType, EventTypeError> {
        name.parse()
    }

    /// The family of this type: the first dotted segment (`"protocol"`), which is
    /// the catalog category's [`Category::as_str`] for catalog types.
    pub fn category(&self) -> &str {
        match self.catalog_category() {
            Some(c) => c.as_str(),
            None => self.as_str().split('.').next().unwrap_or_default(),
        }
    }

    /// True for the 81 catalog types.
    pub const fn is_catalog(&self) -> bool {
        !matches!(self, EventType::Custom(_))
    }
}

impl FromStr for EventType {
    type Err = EventTypeError;
    fn from_str(s: &str) -> Result<Self, EventTypeError> {
        if let Some(known) = EventType::lookup(s) {
            return Ok(known);
        }
        check_custom_name(s).map_err(|reason| EventTypeError {
            input: s.to_owned(),
            reason,
        })?;
        Ok(EventType::Custom(CustomEventType(Arc::from(s))))
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl fmt::Debug for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventType({})", self.as_str())
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}
