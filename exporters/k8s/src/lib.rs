//! # fcc-k8s: fcc events as Kubernetes Events
//!
//! When the application runs in a Kubernetes Pod, [`K8sEventSink`] writes
//! selected, infra-facing fcc events as `events.k8s.io/v1` Events about that
//! Pod, so an operator sees them where they look first:
//!
//! ```text
//! $ kubectl describe pod checkout-7d9f-x2x
//! Events:
//!   Type     Reason                          Age   From      Message
//!   Warning  McpclientConnectAttemptFailure  12s   checkout  dial tcp 10.0.3.7:443: connection refused
//! $ kubectl get events --field-selector involvedObject.name=checkout-7d9f-x2x
//! ```
//!
//! The emitting code does not change: it publishes fcc events as always, and
//! the sink is one more place they go (the Go seed's `K8sEventSink`).
//!
//! ## Set-up
//!
//! ```no_run
//! use fcc::Telemetry;
//! use fcc_k8s::K8sTelemetryExt;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let telemetry = Telemetry::builder()
//!     .service_name("checkout")
//!     .kubernetes_events()? // attached only when running in a cluster
//!     .install()?;
//! # Ok(()) }
//! ```
//!
//! [`K8sTelemetryExt::kubernetes_events`] attaches the sink only when
//! [`in_cluster`] is true (`KUBERNETES_SERVICE_HOST` is set and the Pod's
//! service-account token is mounted); elsewhere it leaves the builder as it
//! was, so the same binary runs on a laptop. It never reads a developer's
//! kubeconfig; pass one explicitly with
//! [`K8sEventSinkBuilder::kube_config`] and
//! [`K8sTelemetryExt::kubernetes_events_with`] if that is what you want.
//!
//! Installing never contacts the API server, so it never blocks start-up.
//! An unreachable or refusing server shows up in [`K8sStats`] and in one log
//! line per kind of error, never as a panic or a blocked emitter.
//!
//! ## Which events
//!
//! [`default_filter`] selects events of the infra-facing categories in
//! [`INFRA_CATEGORIES`] at `info` and above. These are about the Pod's
//! platform and dependencies: backends and MCP servers it connects to, its
//! runtime, gateway, message channels, plugins and federation peers, which
//! is what someone running `kubectl describe pod` is debugging.
//! Application-level events (simulation steps, personas, gates) stay in the
//! log and the store: they are not about the Pod, and their volume would
//! spend the spam budget in seconds. Replace the filter with
//! [`K8sEventSinkBuilder::filter`].
//!
//! ## What an Event looks like
//!
//! See [`mapping`] for every field: `type` Warning for warn and error,
//! `reason` and `action` in CamelCase (at most 128 characters), `note` from
//! the detail (at most 1024 bytes), `regarding` the Pod, `reportingController`
//! a qualified name derived from the service name, `reportingInstance` the
//! Pod's name.
//!
//! ## Behaving like client-go's recorder
//!
//! See [`recorder`]: repeats become a series (one PATCH of
//! `series.count` and `series.lastObservedTime`, not a new object), new
//! objects are limited per regarded object (burst 25, one more every 5
//! minutes), and the series cache is bounded. The sink's queue holds 1000
//! events and drops (and counts) beyond that. Transport errors, timeouts, 429
//! and 5xx are retried with backoff up to 5 tries; 403, 404 and 422 are not
//! retried, but logged once and counted.
//!
//! ## Deployment
//!
//! The Pod needs its identity from the downward API and a Role that lets its
//! ServiceAccount create and patch Events. Without `POD_NAME` or
//! `POD_NAMESPACE`, installing fails with an error naming the variable;
//! without `POD_UID`, `kubectl describe pod` would not show the Events, so it
//! is required too. A complete manifest is in `deploy/k8s/fcc-events-rbac.yaml`.
//!
//! ```yaml
//! # in the Deployment's container
//! env:
//!   - name: POD_NAME
//!     valueFrom: { fieldRef: { fieldPath: metadata.name } }
//!   - name: POD_NAMESPACE
//!     valueFrom: { fieldRef: { fieldPath: metadata.namespace } }
//!   - name: POD_UID
//!     valueFrom: { fieldRef: { fieldPath: metadata.uid } }
//! ---
//! apiVersion: rbac.authorization.k8s.io/v1
//! kind: Role
//! metadata: { name: fcc-events, namespace: shop }
//! rules:
//!   - apiGroups: ["events.k8s.io"]
//!     resources: ["events"]
//!     verbs: ["create", "patch"]
//! ---
//! apiVersion: rbac.authorization.k8s.io/v1
//! kind: RoleBinding
//! metadata: { name: fcc-events, namespace: shop }
//! subjects: [{ kind: ServiceAccount, name: checkout, namespace: shop }]
//! roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: fcc-events }
//! ```
//!
//! ## The Kubernetes version
//!
//! This is a library, so, as `k8s-openapi` asks, it does not choose the
//! Kubernetes API version: the application does, by depending on
//! `k8s-openapi = { version = "0.29", features = ["earliest"] }` (any
//! version works: `events.k8s.io/v1` is in all of them).

mod client;
pub mod mapping;
mod pod;
pub mod recorder;
mod sink;

pub use mapping::{camel_case, check_qualified_name, controller_name, cut_note};
pub use pod::{PodEnvError, PodRef};
pub use sink::{K8sEventSink, K8sEventSinkBuilder, K8sStats, K8sStatsHandle};

use std::fmt;
use std::path::Path;

use fcc::{EventFilter, Severity, TelemetryBuilder};

/// The categories [`default_filter`] selects: the Go seed's infra-facing
/// components (`runtime`, `mcpclient`, `mcpserver`, `gateway`, `backend`)
/// and the catalog's infrastructure families (`messaging`, `plugin`, `federation`).
pub const INFRA_CATEGORIES: &[&str] = &[
    "backend",
    "runtime",
    "infra",
    "gateway",
    "mcpclient",
    "mcpserver",
    "messaging",
    "plugin",
    "federation",
];

/// Infra-facing events at `info` and above (see the crate docs for why).
///
/// ```
/// use fcc::{Event, EventType};
/// let filter = fcc_k8s::default_filter();
/// let backend = Event::warn("mcpclient", "connect_attempt", "refused").category("backend").build();
/// assert!(filter.matches(&backend));
/// assert!(!filter.matches(&Event::builder(EventType::SimulationStep, "engine").build()));
/// ```
pub fn default_filter() -> EventFilter {
    EventFilter::new()
        .categories(INFRA_CATEGORIES.iter().copied())
        .min_severity(Severity::Info)
}

/// Where the Pod's service-account token is mounted.
pub const SERVICE_ACCOUNT_TOKEN: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// True inside a Kubernetes Pod: `KUBERNETES_SERVICE_HOST` is set and the
/// service-account token is mounted.
pub fn in_cluster() -> bool {
    std::env::var_os("KUBERNETES_SERVICE_HOST").is_some_and(|h| !h.is_empty())
        && Path::new(SERVICE_ACCOUNT_TOKEN).exists()
}

/// Setting up a [`K8sEventSink`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum K8sError {
    /// A downward-API variable is missing.
    PodEnv(PodEnvError),
    /// The reporting controller is not a qualified name.
    #[non_exhaustive]
    Controller {
        /// The name given.
        value: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// No in-cluster configuration (not in a Pod, or the token is not mounted).
    NotInCluster(kube::config::InClusterError),
    /// The client's runtime thread could not be started.
    Runtime(std::io::Error),
    /// The Kubernetes client could not be made from the configuration.
    Client(kube::Error),
}

impl fmt::Display for K8sError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            K8sError::PodEnv(e) => e.fmt(f),
            K8sError::Controller { value, reason } => write!(
                f,
                "reportingController {value:?}: {reason}; use a qualified name such as \
                 `example.com/my-service`"
            ),
            K8sError::NotInCluster(e) => write!(
                f,
                "no in-cluster Kubernetes configuration ({e}): run inside a Pod with its \
                 service-account token mounted, or leave Kubernetes Events off outside one"
            ),
            K8sError::Runtime(e) => write!(
                f,
                "cannot start the Kubernetes client's runtime ({e}): the process may be at \
                 its limit of threads or memory"
            ),
            K8sError::Client(e) => write!(
                f,
                "cannot build the Kubernetes client ({e}): check the cluster configuration \
                 (KUBERNETES_SERVICE_HOST, the service-account CA and token)"
            ),
        }
    }
}

impl std::error::Error for K8sError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            K8sError::PodEnv(e) => Some(e),
            K8sError::NotInCluster(e) => Some(e),
            K8sError::Runtime(e) => Some(e),
            K8sError::Client(e) => Some(e),
            K8sError::Controller { .. } => None,
        }
    }
}

impl From<PodEnvError> for K8sError {
    fn from(e: PodEnvError) -> Self {
        K8sError::PodEnv(e)
    }
}

/// `.kubernetes_events()` on the `Telemetry` builder.
pub trait K8sTelemetryExt: Sized {
    /// Attaches a [`K8sEventSink`] with the defaults when [`in_cluster`];
    /// otherwise returns the builder unchanged. In a cluster, a missing
    /// `POD_NAME`, `POD_NAMESPACE` or `POD_UID` is an error naming it.
    fn kubernetes_events(self) -> Result<Self, K8sError>;

    /// Attaches the sink `builder` makes, in a cluster or not (its
    /// `reportingController` defaults to the builder's service name).
    fn kubernetes_events_with(self, builder: K8sEventSinkBuilder) -> Result<Self, K8sError>;
}

impl K8sTelemetryExt for TelemetryBuilder {
    fn kubernetes_events(self) -> Result<Self, K8sError> {
        if !in_cluster() {
            return Ok(self);
        }
        self.kubernetes_events_with(K8sEventSink::builder())
    }

    fn kubernetes_events_with(self, builder: K8sEventSinkBuilder) -> Result<Self, K8sError> {
        let sink = builder
            .default_controller(&self.resolved_service_name())
            .build()?;
        let options = sink.sink_options();
        Ok(self.sink(sink, options))
    }
}
