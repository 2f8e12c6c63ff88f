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
//! type"), swaps it in atomically and bumps the bus's generation. `publish`
//! takes no lock: each thread keeps the table it last used, and checks with
//! one atomic load that it is still current (reloading it when not); it
//! indexes the table by the event's type and walks only the subscribers that
//! can match. Subscribers of other types cost nothing.
//!
//! Those cached tables hold their subscribers alive, so `unsubscribe` makes
//! every thread let its table go before it returns: the subscriber is dropped
//! then, or, if another thread is delivering an event at that moment, as soon
//! as that delivery ends, however idle the threads are afterwards (see
//! `thread_cache` for how, at no cost to `publish`).
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
//!
//! **Imports** (the table in ARCHITECTURE.md, checked by
//! `tests/it/import_direction.rs`): only `event`, `internal`.

mod counts;
mod filter;
mod history;
mod routes;
mod subscriber;
mod thread_cache;

pub use filter::EventFilter;
pub use history::DEFAULT_HISTORY_CAPACITY;
pub use subscriber::{DeliveryResult, Subscriber, SubscriberError, SubscriptionId};

use crate::event::Event;
use arc_swap::ArcSwap;
use counts::BusCounts;
use history::History;
use routes::{Registration, Routes};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use thread_cache::{Source, ROUTES_CACHE};

static NEXT_BUS_ID: AtomicU64 = AtomicU64::new(1);

/// Thread-safe in-process publish/subscribe. Cloning gives another handle to
/// the same bus.
#[derive(Clone)]
pub struct EventBus {
    inner: Arc<Inner>,
}

struct Inner {
    id: u64,
    generation: AtomicU64,
    routes: ArcSwap<Routes>,
    registry: Mutex<Vec<Arc<Registration>>>,
    history: History,
    failed: AtomicU64,
    panicked: AtomicU64,
    counts: BusCounts,
}

/// Delivery counters of an [`EventBus`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BusStats {
    /// Events published.
    pub published: u64,
    /// Successful deliveries (one event to one subscriber).
    pub delivered: u64,
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
                id: NEXT_BUS_ID.fetch_add(1, Ordering::Relaxed),
                generation: AtomicU64::new(0),
                routes: ArcSwap::from_pointee(Routes::build(&[])),
                registry: Mutex::new(Vec::new()),
                history: History::new(capacity),
                failed: AtomicU64::new(0),
                panicked: AtomicU64::new(0),
                counts: BusCounts::default(),
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
        // Writers store the table before bumping the generation, so a table
        // loaded after reading generation G is at least as new as G's.
        let source = Source {
            bus: inner.id,
            generation: inner.generation.load(Ordering::Acquire),
            routes: &inner.routes,
            counts: &inner.counts,
        };
        let cached = ROUTES_CACHE
            .try_with(|cache| cache.publish(&source, |routes| Self::deliver(inner, routes, event)));
        match cached {
            Ok(Some(delivered)) => delivered,
            // Re-entrant publish, or the thread is exiting: use a table of our own.
            _ => {
                let delivered = Self::deliver(inner, &inner.routes.load_full(), event);
                inner.counts.shared.add(delivered);
                delivered
            }
        }
    }

    /// Calls the matching subscribers. One `catch_unwind` guards the whole
    /// loop; after a panic the loop resumes with the next subscriber, so the
    /// happy path pays for no per-subscriber landing pad.
    #[inline]
    fn deliver(inner: &Inner, routes: &Routes, event: &Event) -> usize {
        let list = routes.for_type(event.event_type());
        let mut delivered = 0;
        let mut next = 0;
        while next < list.len() {
            let run = catch_unwind(AssertUnwindSafe(|| {
                while let Some(reg) = list.get(next) {
                    next += 1;
                    if !reg.only_by_type && !reg.filter.matches_except_type(event) {
                        continue;
                    }
                    match reg.handler.on_event(event) {
                        Ok(()) => delivered += 1,
                        Err(_) => {
                            inner.failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }));
            if run.is_err() {
                inner.panicked.fetch_add(1, Ordering::Relaxed);
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
        // One counter for the process: an id names one subscription of one
        // bus, so another bus's `unsubscribe` never finds it.
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
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
    /// not called for events published after this returns, and is dropped
    /// before this returns, or, when other threads are delivering events at
    /// that moment, as soon as those deliveries end.
    pub fn unsubscribe(&self, id: SubscriptionId) -> bool {
        let mut found = false;
        self.update(|regs| {
            let before = regs.len();
            regs.retain(|r| r.id != id.0);
            found = regs.len() != before;
        });
        if found {
            // Threads' cached tables still list the subscriber: let them go.
            thread_cache::reclaim_cached_tables();
        }
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
        self.inner.generation.fetch_add(1, Ordering::Release);
        drop(regs);
    }

    /// This bus's identity (unique in the process).
    pub(crate) fn id(&self) -> u64 {
        self.inner.id
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
        let inner = &self.inner;
        let (published, delivered) = inner.counts.totals();
        BusStats {
            published,
            delivered,
            failed_deliveries: inner.failed.load(Ordering::Relaxed),
            panicked_deliveries: inner.panicked.load(Ordering::Relaxed),
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
