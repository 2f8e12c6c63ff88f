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
//! The price of that per-thread table is deferred reclamation: after
//! `unsubscribe` returns the subscriber is never called again, but it is
//! dropped only once no thread holds a table that lists it, that is once every
//! other thread that published on the bus has published again (on any bus) or
//! exited. The thread that unsubscribes releases its own table at once.
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
use std::cell::Cell;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

static NEXT_BUS_ID: AtomicU64 = AtomicU64::new(1);

/// The routing table a thread used last, and which bus and generation it is.
///
/// Invariant: `routes` is replaced only while `depth` is 0, so a `&Routes`
/// taken from it stays valid for the whole delivery that set `depth` to 1.
/// A publish from inside a delivery (depth 1) loads its own table instead.
struct RoutesCache {
    bus: Cell<u64>,
    generation: Cell<u64>,
    depth: Cell<u32>,
    routes: Cell<Option<Arc<Routes>>>,
    /// This thread's publish counters for `bus` (same invariant as `routes`).
    counts: Cell<Option<Arc<ThreadCounts>>>,
}

/// One thread's publish counters for one bus, on its own cache line: only
/// that thread writes them, so publishing never shares a line with others.
#[repr(align(64))]
#[derive(Default)]
struct ThreadCounts {
    published: AtomicU64,
    delivered: AtomicU64,
}

impl ThreadCounts {
    /// Single-writer increment: a load and a store, no locked instruction.
    #[inline]
    fn bump(&self, delivered: usize) {
        self.published.store(
            self.published.load(Ordering::Relaxed) + 1,
            Ordering::Relaxed,
        );
        self.delivered.store(
            self.delivered.load(Ordering::Relaxed) + delivered as u64,
            Ordering::Relaxed,
        );
    }
}

/// Most buses a thread keeps counters for before reusing the oldest slot.
const COUNTED_BUSES: usize = 32;

thread_local! {
    static ROUTES_CACHE: RoutesCache = const {
        RoutesCache {
            bus: Cell::new(0),
            generation: Cell::new(0),
            depth: Cell::new(0),
            routes: Cell::new(None),
            counts: Cell::new(None),
        }
    };
    /// This thread's counters per bus it has published on.
    static THREAD_COUNTS: std::cell::RefCell<Vec<(u64, Arc<ThreadCounts>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Resets the cache's depth even if a delivery unwinds.
struct DepthGuard<'a>(&'a Cell<u32>);

impl Drop for DepthGuard<'_> {
    fn drop(&mut self) {
        self.0.set(0);
    }
}

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
    /// Every live thread's counters (see `ThreadCounts`); counters no thread
    /// holds any more are folded into `retired` (see `register_counts`).
    thread_counts: Mutex<Vec<Arc<ThreadCounts>>>,
    /// The totals of folded counters.
    retired: ThreadCounts,
    /// Publishes that bypassed the per-thread cache.
    shared_counts: ThreadCounts,
}

impl Inner {
    /// This thread's counters for this bus, made and registered if new.
    fn counts_for_this_thread(&self) -> Arc<ThreadCounts> {
        let found = THREAD_COUNTS.try_with(|t| {
            let mut t = t.try_borrow_mut().ok()?;
            if let Some((_, c)) = t.iter().find(|(id, _)| *id == self.id) {
                return Some(Arc::clone(c));
            }
            let c = Arc::new(ThreadCounts::default());
            self.register_counts(&c);
            if t.len() >= COUNTED_BUSES {
                t.remove(0);
            }
            t.push((self.id, Arc::clone(&c)));
            Some(c)
        });
        found.ok().flatten().unwrap_or_else(|| {
            let c = Arc::new(ThreadCounts::default());
            self.register_counts(&c);
            c
        })
    }

    /// Adds a thread's new counters. Counters that no thread holds any more
    /// (the thread exited, or dropped this bus from its 32 slots) are folded
    /// into `retired` and their slot freed, whenever the list has doubled
    /// since the last fold: the list stays within twice the number of
    /// (thread, bus) pairs alive, however many come and go.
    fn register_counts(&self, c: &Arc<ThreadCounts>) {
        let mut all = self.thread_counts.lock().unwrap_or_else(|p| p.into_inner());
        if all.len() >= 64 && all.len().is_power_of_two() {
            let live = std::mem::take(&mut *all);
            for counts in live {
                // Unique: no thread can write it again; its counts are final.
                match Arc::try_unwrap(counts) {
                    Ok(done) => {
                        let r = &self.retired;
                        r.published
                            .fetch_add(done.published.into_inner(), Ordering::Relaxed);
                        r.delivered
                            .fetch_add(done.delivered.into_inner(), Ordering::Relaxed);
                    }
                    Err(counts) => all.push(counts),
                }
            }
        }
        all.push(Arc::clone(c));
    }
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
                thread_counts: Mutex::new(Vec::new()),
                retired: ThreadCounts::default(),
                shared_counts: ThreadCounts::default(),
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
        let generation = inner.generation.load(Ordering::Acquire);
        let cached = ROUTES_CACHE.try_with(|cache| {
            if cache.depth.get() != 0 {
                return None;
            }
            // What the swap replaces is dropped only after the delivery (it
            // is declared before the guard): dropping an old table can drop
            // a subscriber whose `Drop` publishes on another bus, and that
            // publish must find the cache whole and this delivery done.
            let mut replaced: (Option<Arc<ThreadCounts>>, Option<Arc<Routes>>) = (None, None);
            if cache.bus.get() != inner.id || cache.generation.get() != generation {
                if cache.bus.get() != inner.id {
                    replaced.0 = cache.counts.replace(Some(inner.counts_for_this_thread()));
                }
                replaced.1 = cache.routes.replace(Some(inner.routes.load_full()));
                cache.bus.set(inner.id);
                cache.generation.set(generation);
            }
            cache.depth.set(1);
            let _guard = DepthGuard(&cache.depth);
            // SAFETY: `routes` and `counts` are only replaced while depth is 0
            // (see `RoutesCache`), and depth stays 1 until `_guard` drops
            // after the delivery, so both outlive these borrows.
            let (routes, counts) = unsafe {
                (
                    (*cache.routes.as_ptr()).as_deref(),
                    (*cache.counts.as_ptr()).as_deref(),
                )
            };
            let delivered = routes.map(|r| Self::deliver(inner, r, event))?;
            if let Some(c) = counts {
                c.bump(delivered);
            }
            Some(delivered)
        });
        match cached {
            Ok(Some(delivered)) => delivered,
            // Re-entrant publish, or the thread is exiting: use a table of our own.
            _ => {
                let delivered = Self::deliver(inner, &inner.routes.load_full(), event);
                inner
                    .shared_counts
                    .published
                    .fetch_add(1, Ordering::Relaxed);
                inner
                    .shared_counts
                    .delivered
                    .fetch_add(delivered as u64, Ordering::Relaxed);
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
        self.inner.generation.fetch_add(1, Ordering::Release);
        drop(regs);
        // Release this thread's copy of the old table now (other threads
        // release theirs on their next publish).
        let _ = ROUTES_CACHE.try_with(|cache| {
            if cache.depth.get() == 0 && cache.bus.get() == self.inner.id {
                cache.bus.set(0);
                cache.routes.set(None);
            }
        });
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
        // Under the lock: a fold moves counts into `retired` atomically with
        // respect to this read.
        let all = inner
            .thread_counts
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut published = get(&inner.shared_counts.published) + get(&inner.retired.published);
        let mut delivered = get(&inner.shared_counts.delivered) + get(&inner.retired.delivered);
        for c in all.iter() {
            published += get(&c.published);
            delivered += get(&c.delivered);
        }
        drop(all);
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
