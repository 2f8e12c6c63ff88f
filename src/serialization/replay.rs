//! [`EventReplay`]: publish saved events through a bus again.

use super::{DecodeError, EventSerializer};
use crate::bus::{EventBus, EventFilter};
use crate::event::Event;
use std::path::Path;

/// Re-publishes saved events through an [`EventBus`], for tests (reproduce a
/// sequence), debugging (watch subscribers handle a failed run again) and
/// audits.
///
/// ```
/// use fcc::{Event, EventBus, EventReplay, EventType};
///
/// let bus = EventBus::new();
/// bus.subscribe(|_: &Event| ());
/// let events = vec![
///     Event::builder(EventType::ActionStarted, "ActionEngine").correlation_id("run-42").build(),
///     Event::builder(EventType::ActionCompleted, "ActionEngine").correlation_id("run-7").build(),
/// ];
/// let replay = EventReplay::new(&bus);
/// assert_eq!(replay.replay(&events), 2);
/// assert_eq!(replay.replay_filtered(&events, Some("run-42"), Some("ActionEngine")), 1);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct EventReplay<'a> {
    bus: &'a EventBus,
}

impl<'a> EventReplay<'a> {
    /// Replays through `bus`.
    pub fn new(bus: &'a EventBus) -> Self {
        Self { bus }
    }

    /// Publishes each event in order; returns the total number of successful
    /// deliveries.
    pub fn replay<'e>(&self, events: impl IntoIterator<Item = &'e Event>) -> usize {
        events.into_iter().map(|e| self.bus.publish(e)).sum()
    }

    /// Loads a file (either format, see [`EventSerializer::load`]) and replays it.
    /// An invalid file is an error and nothing is published.
    pub fn replay_from_file(&self, path: impl AsRef<Path>) -> Result<usize, DecodeError> {
        let events = EventSerializer::load(path)?;
        Ok(self.replay(&events))
    }

    /// Replays only the events with this correlation id and/or source
    /// (`None`: any).
    pub fn replay_filtered<'e>(
        &self,
        events: impl IntoIterator<Item = &'e Event>,
        correlation_id: Option<&str>,
        source: Option<&str>,
    ) -> usize {
        let mut filter = EventFilter::new();
        if let Some(c) = correlation_id {
            filter = filter.correlation_ids([c]);
        }
        if let Some(s) = source {
            filter = filter.sources([s]);
        }
        self.replay_matching(events, &filter)
    }

    /// Replays only the events that `filter` matches.
    pub fn replay_matching<'e>(
        &self,
        events: impl IntoIterator<Item = &'e Event>,
        filter: &EventFilter,
    ) -> usize {
        self.replay(events.into_iter().filter(|e| filter.matches(e)))
    }
}
