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
//! type") and swaps it in. `publish` takes no lock and counts no reference:
//! it marks its thread as delivering, reads the table through a plain
//! pointer, indexes it by the event's type and walks only the subscribers
//! that can match; subscribers of other types cost nothing. Each entry
//! holds the subscriber's address and a function made for its type, so a
//! closure subscriber is called as directly as from a `Vec<Box<dyn Fn>>`.
//!
//! A replaced table is freed as soon as no thread can be reading it, so
//! `unsubscribe` drops the subscriber before it returns, or, if a thread is
//! delivering an event at that moment (this one included, when a subscriber
//! unsubscribes), as soon as that thread's outermost delivery ends, however
//! idle the threads are afterwards (see `readers` for how, at almost no
//! cost to `publish`).
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
mod readers;
mod routes;
mod subscriber;

pub use filter::EventFilter;
pub use history::DEFAULT_HISTORY_CAPACITY;
pub use subscriber::{DeliveryResult, Subscriber, SubscriberError, SubscriptionId};

use crate::event::Event;
use counts::{BusCounts, ThreadCounts};
use history::History;
use readers::{Entered, Readers, Reading};
use routes::{Registration, Routes};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

static NEXT_BUS_ID: AtomicU64 = AtomicU64::new(1);

/// Thread-safe in-process publish/subscribe. Cloning gives another handle to
/// the same bus.
#[derive(Clone)]
pub struct EventBus {
    inner: Arc<Inner>,
}

struct Inner {
    id: u64,
    /// The table `publish` reads: the registry's (both change together,
    /// under its lock); the one it replaced stays readable until retired
    /// (see `readers`).
    current: AtomicPtr<Routes>,
    /// The subscriptions and the table built from them.
    registry: Mutex<(Vec<Arc<Registration>>, Arc<Routes>)>,
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

impl Inner {
    fn registry(&self) -> MutexGuard<'_, (Vec<Arc<Registration>>, Arc<Routes>)> {
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl EventBus {
    /// An empty bus with the default history capacity.
    pub fn new() -> Self {
        Self::with_history_capacity(DEFAULT_HISTORY_CAPACITY)
    }

    /// An empty bus whose recording keeps at most `capacity` events.
    pub fn with_history_capacity(capacity: usize) -> Self {
        // Before anyone can publish on it: which fences its handshake uses.
        crate::internal::fence::init_paired();
        let routes = Arc::new(Routes::build(&[]));
        EventBus {
            inner: Arc::new(Inner {
                id: NEXT_BUS_ID.fetch_add(1, Ordering::Relaxed),
                current: AtomicPtr::new(Arc::as_ptr(&routes).cast_mut()),
                registry: Mutex::new((Vec::new(), routes)),
                history: History::new(capacity),
                failed: AtomicU64::new(0),
                panicked: AtomicU64::new(0),
                counts: BusCounts::default(),
            }),
        }
    }

    /// Delivers `event` to every matching subscriber, in subscription order, in
    /// this thread. Returns how many deliveries succeeded.
    #[inline]
    pub fn publish(&self, event: &Event) -> usize {
        let inner = &*self.inner;
        if inner.history.is_recording() {
            inner.history.record(event);
        }
        match Readers::enter(inner.id) {
            Some((reading, counts)) => Self::deliver_counted(inner, reading, counts, event),
            None => Self::publish_slow(inner, event),
        }
    }

    /// Delivers and counts the publish in this thread's counters.
    #[inline(always)]
    fn deliver_counted(
        inner: &Inner,
        reading: Reading,
        counts: &ThreadCounts,
        event: &Event,
    ) -> usize {
        let delivered = Self::deliver(inner, &reading, event);
        // Before the mark is cleared: clearing it may free parked tables,
        // whose subscribers' `Drop` may switch the counters.
        counts.bump(delivered);
        drop(reading);
        delivered
    }

    /// `publish` on a thread's first publish to this bus (or its first since
    /// it published to another), from inside a delivery of another bus, or
    /// while the thread exits.
    #[cold]
    #[inline(never)]
    fn publish_slow(inner: &Inner, event: &Event) -> usize {
        match Readers::enter_slow(inner.id, || inner.counts.for_this_thread(inner.id)) {
            Entered::Counted(reading, counts) => {
                Self::deliver_counted(inner, reading, counts, event)
            }
            Entered::Uncounted(reading) => {
                let delivered = Self::deliver(inner, &reading, event);
                drop(reading);
                inner.counts.shared.add(delivered);
                delivered
            }
            Entered::Exited => {
                // Not registered any more: a counted table of our own.
                let routes = Arc::clone(&inner.registry().1);
                let delivered = Self::deliver_to(inner, &routes, event);
                drop(routes);
                inner.counts.shared.add(delivered);
                delivered
            }
        }
    }

    /// Delivers through the bus's current table, which `_reading` keeps
    /// from being freed.
    #[inline(always)]
    fn deliver(inner: &Inner, _reading: &Reading, event: &Event) -> usize {
        // SAFETY: `current` points to the table the registry holds or to one
        // a change replaced after this thread's mark was set (which then
        // parks it until the mark is cleared; see `readers`).
        let routes = unsafe { &*inner.current.load(Ordering::Acquire) };
        Self::deliver_to(inner, routes, event)
    }

    /// Calls the matching subscribers. One `catch_unwind` guards the whole
    /// loop; after a panic the loop resumes with the next subscriber, so the
    /// happy path pays for no per-subscriber landing pad.
    #[inline(always)]
    fn deliver_to(inner: &Inner, routes: &Routes, event: &Event) -> usize {
        let list = routes.for_type(event.event_type());
        let mut delivered = 0;
        let mut next = 0;
        while next < list.len() {
            let run = catch_unwind(AssertUnwindSafe(|| {
                while let Some(route) = list.get(next) {
                    next += 1;
                    match route.deliver(event) {
                        Some(true) => delivered += 1,
                        Some(false) => {
                            inner.failed.fetch_add(1, Ordering::Relaxed);
                        }
                        None => {}
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
        let reg = Arc::new(Registration::new(id, subscriber, filter));
        self.update(|regs| regs.push(reg));
        SubscriptionId(id)
    }

    /// Removes a subscription. Returns true if it was found. The subscriber is
    /// not called for events published after this returns, and is dropped
    /// before this returns, or, when threads are delivering events at that
    /// moment (this one, if a subscriber unsubscribes), as soon as each of
    /// them has ended its outermost delivery.
    pub fn unsubscribe(&self, id: SubscriptionId) -> bool {
        let mut found = false;
        self.update(|regs| {
            let before = regs.len();
            regs.retain(|r| r.id != id.0);
            found = regs.len() != before;
        });
        found
    }

    /// Changes the subscriptions: builds the new table, swaps it in, and
    /// retires the old one once no thread can be reading it.
    fn update(&self, change: impl FnOnce(&mut Vec<Arc<Registration>>)) {
        let inner = &*self.inner;
        let old = {
            let mut registry = inner.registry();
            let (regs, routes) = &mut *registry;
            change(regs);
            let new = Arc::new(Routes::build(regs));
            inner
                .current
                .store(Arc::as_ptr(&new).cast_mut(), Ordering::Release);
            std::mem::replace(routes, new)
        };
        // Outside the lock: freeing the old table may run a subscriber's
        // `Drop`, which may publish or change subscriptions.
        Readers::retire(old);
    }

    /// This bus's identity (unique in the process).
    pub(crate) fn id(&self) -> u64 {
        self.inner.id
    }

    /// How many subscriptions there are.
    pub fn subscriber_count(&self) -> usize {
        self.inner.registry().1.count()
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
