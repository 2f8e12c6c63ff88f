//! The [`EventBus`]: thread-safe, in-process publish/subscribe.
//!
//! `publish` calls every matching subscriber in the publishing thread and
//! returns how many deliveries succeeded. There is no broker and no network:
//! the bus is a routing table.
//!
//! ```
//! use fcc::{Event, EventBus, EventFilter, EventType};
//! use std::sync::{Arc, Mutex};
//!
//! let bus = EventBus::new();
//! let seen = Arc::new(Mutex::new(Vec::new()));
//!
//! // A global subscriber: every event.
//! let log = seen.clone();
//! let id = bus.subscribe(move |e: &Event| log.lock().unwrap().push(e.event_type().to_string()));
//!
//! // A type-filtered subscriber.
//! bus.subscribe_filtered(
//!     |e: &Event| println!("failed: {:?}", e.payload()),
//!     EventFilter::new().event_types([EventType::ActionCompleted, EventType::ActionFailed]),
//! );
//!
//! let event = Event::builder(EventType::ActionCompleted, "ActionEngine").build();
//! assert_eq!(bus.publish(&event), 2);
//! assert!(bus.unsubscribe(id));
//! assert!(!bus.unsubscribe(id));
//! assert_eq!(bus.publish(&event), 1);
//! assert_eq!(*seen.lock().unwrap(), ["action.completed"]);
//! ```
//!
//! # How it stays fast
//!
//! Subscribing builds a new routing table (one list of subscribers per
//! catalog event type, one per custom type named by a filter, one for "any
//! type") and swaps it in atomically. `publish` takes no lock: it loads the
//! current table, indexes it by the event's type and walks only the
//! subscribers that can match. Subscribers of other types cost nothing.
//!
//! # Failure isolation
//!
//! A subscriber that returns an error or panics is counted in
//! [`EventBus::stats`]; the other subscribers still get the event and the
//! publisher never sees the panic. (Rust's panic hook still prints the panic
//! message to stderr, as for any caught panic.)
//!
//! # Recording
//!
//! [`EventBus::start_recording`] keeps every published event in a bounded
//! history ([`DEFAULT_HISTORY_CAPACITY`] unless set with
//! [`EventBus::with_history_capacity`]); past the capacity the oldest events
//! are dropped and counted in [`EventBus::history_dropped`].

mod filter;
mod history;
mod subscriber;

pub use filter::EventFilter;
pub use history::DEFAULT_HISTORY_CAPACITY;
pub use subscriber::{DeliveryResult, Subscriber, SubscriberError, SubscriptionId};

use crate::event::{Event, EventType};
use arc_swap::ArcSwap;
use history::History;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Thread-safe in-process publish/subscribe. Cloning gives another handle to
/// the same bus.
#[derive(Clone)]
pub struct EventBus {
    inner: Arc<Inner>,
}

struct Inner {
    routes: ArcSwap<Routes>,
    registry: Mutex<Vec<Arc<Registration>>>,
    next_id: AtomicU64,
    history: History,
    failed: AtomicU64,
    panicked: AtomicU64,
}

struct Registration {
    id: u64,
    filter: EventFilter,
    only_by_type: bool,
    handler: Box<dyn Subscriber>,
}

type RouteList = Box<[Arc<Registration>]>;

/// The immutable routing table that `publish` reads.
struct Routes {
    catalog: Box<[RouteList]>,
    custom: HashMap<EventType, RouteList>,
    any_type: RouteList,
    count: usize,
}

impl Routes {
    fn build(regs: &[Arc<Registration>]) -> Routes {
        let for_type = |t: &EventType| -> RouteList {
            regs.iter()
                .filter(|r| {
                    let types = r.filter.selected_event_types();
                    types.is_empty() || types.contains(t)
                })
                .cloned()
                .collect()
        };
        let catalog = EventType::CATALOG.iter().map(for_type).collect();
        let mut custom = HashMap::new();
        for r in regs {
            for t in r.filter.selected_event_types() {
                if !t.is_catalog() && !custom.contains_key(t) {
                    custom.insert(t.clone(), for_type(t));
                }
            }
        }
        let any_type = regs
            .iter()
            .filter(|r| r.filter.selected_event_types().is_empty())
            .cloned()
            .collect();
        Routes {
            catalog,
            custom,
            any_type,
            count: regs.len(),
        }
    }

    #[inline]
    fn for_type(&self, t: &EventType) -> &[Arc<Registration>] {
        match t.catalog_index() {
            Some(i) => &self.catalog[i],
            None => self.custom.get(t).unwrap_or(&self.any_type),
        }
    }
}

/// Delivery counters of an [`EventBus`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BusStats {
    /// Deliveries where the subscriber returned an error.
    pub failed_deliveries: u64,
    /// Deliveries where the subscriber panicked.
    pub panicked_deliveries: u64,
    /// Events dropped from the history because it was full.
    pub history_dropped: u64,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    /// An empty bus with the default history capacity.
    pub fn new() -> Self {
        Self::with_history_capacity(DEFAULT_HISTORY_CAPACITY)
    }

    /// An empty bus whose recording keeps at most `capacity` events.
    pub fn with_history_capacity(capacity: usize) -> Self {
        EventBus {
            inner: Arc::new(Inner {
                routes: ArcSwap::from_pointee(Routes::build(&[])),
                registry: Mutex::new(Vec::new()),
                next_id: AtomicU64::new(1),
                history: History::new(capacity),
                failed: AtomicU64::new(0),
                panicked: AtomicU64::new(0),
            }),
        }
    }

    /// Delivers `event` to every matching subscriber, in subscription order, in
    /// this thread. Returns how many deliveries succeeded.
    pub fn publish(&self, event: &Event) -> usize {
        let inner = &*self.inner;
        if inner.history.is_recording() {
            inner.history.record(event);
        }
        let routes = inner.routes.load();
        let mut delivered = 0;
        for reg in routes.for_type(event.event_type()) {
            if !reg.only_by_type && !reg.filter.matches_except_type(event) {
                continue;
            }
            match catch_unwind(AssertUnwindSafe(|| reg.handler.on_event(event))) {
                Ok(Ok(())) => delivered += 1,
                Ok(Err(_)) => {
                    inner.failed.fetch_add(1, Ordering::Relaxed);
                }
                Err(_) => {
                    inner.panicked.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        delivered
    }

    /// Subscribes to every event.
    pub fn subscribe(&self, subscriber: impl Subscriber) -> SubscriptionId {
        self.subscribe_filtered(subscriber, EventFilter::new())
    }

    /// Subscribes to the events that `filter` matches.
    pub fn subscribe_filtered(
        &self,
        subscriber: impl Subscriber,
        filter: EventFilter,
    ) -> SubscriptionId {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let reg = Arc::new(Registration {
            id,
            only_by_type: filter.only_by_type(),
            filter,
            handler: Box::new(subscriber),
        });
        self.update(|regs| regs.push(reg));
        SubscriptionId(id)
    }

    /// Removes a subscription. Returns true if it was found. The subscriber is
    /// not called for events published after this returns, and is dropped once
    /// deliveries already under way have finished.
    pub fn unsubscribe(&self, id: SubscriptionId) -> bool {
        let mut found = false;
        self.update(|regs| {
            let before = regs.len();
            regs.retain(|r| r.id != id.0);
            found = regs.len() != before;
        });
        found
    }

    fn update(&self, change: impl FnOnce(&mut Vec<Arc<Registration>>)) {
        let mut regs = self
            .inner
            .registry
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        change(&mut regs);
        self.inner.routes.store(Arc::new(Routes::build(&regs)));
    }

    /// How many subscriptions there are.
    pub fn subscriber_count(&self) -> usize {
        self.inner.routes.load().count
    }

    /// Starts keeping published events in the history.
    pub fn start_recording(&self) {
        self.inner.history.set_recording(true);
    }

    /// Stops keeping published events; the history stays.
    pub fn stop_recording(&self) {
        self.inner.history.set_recording(false);
    }

    /// True while recording.
    pub fn is_recording(&self) -> bool {
        self.inner.history.is_recording()
    }

    /// The recorded events, oldest first.
    pub fn get_history(&self) -> Vec<Event> {
        self.inner.history.snapshot()
    }

    /// Empties the history and resets its drop count.
    pub fn clear_history(&self) {
        self.inner.history.clear();
    }

    /// How many recorded events were dropped because the history was full.
    pub fn history_dropped(&self) -> u64 {
        self.inner.history.dropped()
    }

    /// The most events the history keeps.
    pub fn history_capacity(&self) -> usize {
        self.inner.history.capacity()
    }

    /// Delivery counters.
    pub fn stats(&self) -> BusStats {
        BusStats {
            failed_deliveries: self.inner.failed.load(Ordering::Relaxed),
            panicked_deliveries: self.inner.panicked.load(Ordering::Relaxed),
            history_dropped: self.history_dropped(),
        }
    }

    /// How many deliveries panicked (also in [`EventBus::stats`]).
    pub fn panicked_deliveries(&self) -> u64 {
        self.inner.panicked.load(Ordering::Relaxed)
    }
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus")
            .field("subscribers", &self.subscriber_count())
            .field("recording", &self.is_recording())
            .field("stats", &self.stats())
            .finish()
    }
}
