//! [`EventFilter`]: which events a subscriber or sink wants.

use crate::event::{Event, EventType, Severity};

/// Selects events by type, source, correlation id, category and severity.
///
/// Every dimension left empty matches anything; all the dimensions that are
/// set must match (logical AND); within one dimension any listed value
/// matches (logical OR). This is the seed's `EventFilter` with two more
/// dimensions from the Go seed that sinks need: categories and a minimum
/// severity.
///
/// ```
/// use fcc::{Event, EventFilter, EventType, Severity};
///
/// // The seed's full filter.
/// let filter = EventFilter::new()
///     .event_types([EventType::SimulationStep])
///     .sources(["SimulationEngine"])
///     .correlation_ids(["run-42"]);
///
/// let step = Event::builder(EventType::SimulationStep, "SimulationEngine")
///     .correlation_id("run-42")
///     .build();
/// assert!(filter.matches(&step));
/// assert!(!filter.matches(&Event::builder(EventType::SimulationStep, "Other").build()));
///
/// // Everything at warn or above in the `backend` category.
/// let infra = EventFilter::new().categories(["backend"]).min_severity(Severity::Warn);
/// assert!(EventFilter::new().matches(&step));
/// assert!(!infra.matches(&step));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventFilter {
    event_types: Vec<EventType>,
    sources: Vec<String>,
    correlation_ids: Vec<String>,
    categories: Vec<String>,
    min_severity: Option<Severity>,
}

impl EventFilter {
    /// A filter that matches every event.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only these event types.
    pub fn event_types(mut self, types: impl IntoIterator<Item = EventType>) -> Self {
        self.event_types.extend(types);
        self
    }

    /// Only events from these sources.
    pub fn sources<S: Into<String>>(mut self, sources: impl IntoIterator<Item = S>) -> Self {
        self.sources.extend(sources.into_iter().map(Into::into));
        self
    }

    /// Only events with one of these correlation ids.
    pub fn correlation_ids<S: Into<String>>(mut self, ids: impl IntoIterator<Item = S>) -> Self {
        self.correlation_ids.extend(ids.into_iter().map(Into::into));
        self
    }

    /// Only events whose [`Event::category`] is one of these.
    pub fn categories<S: Into<String>>(mut self, categories: impl IntoIterator<Item = S>) -> Self {
        self.categories
            .extend(categories.into_iter().map(Into::into));
        self
    }

    /// Only events at this severity or above.
    pub fn min_severity(mut self, severity: Severity) -> Self {
        self.min_severity = Some(severity);
        self
    }

    /// The event types this filter selects (empty: any).
    pub fn selected_event_types(&self) -> &[EventType] {
        &self.event_types
    }

    /// True when `event` passes every dimension.
    pub fn matches(&self, event: &Event) -> bool {
        (self.event_types.is_empty() || self.event_types.contains(event.event_type()))
            && self.matches_except_type(event)
    }

    /// True when every dimension but the event type is empty.
    pub(crate) fn only_by_type(&self) -> bool {
        self.sources.is_empty()
            && self.correlation_ids.is_empty()
            && self.categories.is_empty()
            && self.min_severity.is_none()
    }

    /// Every dimension but the event type (which the bus's routing already checked).
    pub(crate) fn matches_except_type(&self, event: &Event) -> bool {
        if self.only_by_type() {
            return true;
        }
        self.min_severity.is_none_or(|min| event.severity() >= min)
            && (self.sources.is_empty() || self.sources.iter().any(|s| s == event.source()))
            && (self.correlation_ids.is_empty()
                || event
                    .correlation_id()
                    .is_some_and(|c| self.correlation_ids.iter().any(|x| x == c)))
            && (self.categories.is_empty() || self.categories.iter().any(|c| c == event.category()))
    }
}
