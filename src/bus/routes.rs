//! The subscription table: one [`Registration`] per subscription, and the
//! immutable [`Routes`] built from them that `publish` reads.
//!
//! `publish` is a walk over a short array, so the table is laid out for it:
//! every list (one per catalog type, one per custom type named by a filter,
//! one for "any type") is a range of one flat array of [`Route`]s, and a
//! route holds what the walk needs inline (the subscriber's address, the
//! function that calls it, the filter to check, if any). Delivering to a
//! subscriber then takes as few dependent loads as a plain
//! `Vec<Box<dyn Fn>>` loop: the table, the route, the call.

use super::filter::EventFilter;
use super::subscriber::Subscriber;
use crate::event::{Event, EventType};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

/// One subscription: its process-unique id, its filter and its subscriber.
pub(super) struct Registration {
    pub(super) id: u64,
    pub(super) filter: EventFilter,
    /// The subscriber, from `Box::into_raw` of the type `call` and `drop`
    /// were made for.
    data: *mut (),
    /// Calls the subscriber (see [`call_as`]).
    call: unsafe fn(*const (), &Event) -> bool,
    /// Drops it.
    drop: unsafe fn(*mut ()),
}

// SAFETY: `data` owns a subscriber, which is `Send + Sync` (`Subscriber:
// Send + Sync`), and is only read until the registration drops it.
unsafe impl Send for Registration {}
// SAFETY: as above.
unsafe impl Sync for Registration {}

impl Registration {
    pub(super) fn new<S: Subscriber>(id: u64, subscriber: S, filter: EventFilter) -> Self {
        Registration {
            id,
            filter,
            data: Box::into_raw(Box::new(subscriber)).cast(),
            call: call_as::<S>,
            drop: drop_as::<S>,
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: `data` came from `Box::into_raw` of the type `drop` was
        // made for, and nothing uses it after the registration.
        unsafe { (self.drop)(self.data) }
    }
}

/// # Safety
/// `data` must come from `Box::<S>::into_raw` and not be used again.
unsafe fn drop_as<S>(data: *mut ()) {
    // SAFETY: the caller's contract.
    drop(unsafe { Box::from_raw(data.cast::<S>()) });
}

/// Delivers to a subscriber of type `S` at `data`, and says whether it took
/// the event (its error, if any, is dropped: the bus only counts it). One is
/// made for each subscriber type, where the type is still known, so the
/// subscriber's code is called directly, not through `dyn Subscriber`.
///
/// # Safety
/// `data` must point to a live `S`.
unsafe fn call_as<S: Subscriber>(data: *const (), event: &Event) -> bool {
    // SAFETY: the caller's contract.
    let subscriber = unsafe { &*data.cast::<S>() };
    subscriber.on_event(event).is_ok()
}

/// One entry of a list: what delivering to one subscriber needs.
pub(super) struct Route {
    data: *const (),
    call: unsafe fn(*const (), &Event) -> bool,
    /// The filter still to check, or null when the list's event type was
    /// all it asked for.
    filter: *const EventFilter,
}

impl Route {
    /// Delivers `event` if the subscriber's filter matches it: None when it
    /// does not, else whether the subscriber took it.
    #[inline(always)]
    pub(super) fn deliver(&self, event: &Event) -> Option<bool> {
        // SAFETY: `filter` and `data` point into a `Registration` that the
        // table holding this route keeps alive (`Routes::regs`), and `call`
        // was made for `data`'s type.
        unsafe {
            if !self.filter.is_null() && !(*self.filter).matches_except_type(event) {
                return None;
            }
            Some((self.call)(self.data, event))
        }
    }
}

/// The immutable routing table that `publish` reads. A table holds its
/// subscribers alive; the per-thread caches that hold tables are in
/// `thread_cache`.
pub(super) struct Routes {
    /// Every list, one after the other.
    routes: Box<[Route]>,
    /// Each catalog type's list, as a range of `routes`.
    catalog: Box<[(u32, u32)]>,
    custom: HashMap<EventType, (u32, u32)>,
    any_type: (u32, u32),
    /// What the routes point into.
    regs: Box<[Arc<Registration>]>,
}

// SAFETY: the routes' pointers point into `regs`, which is `Send + Sync`,
// and are only read.
unsafe impl Send for Routes {}
// SAFETY: as above.
unsafe impl Sync for Routes {}

impl Routes {
    pub(super) fn build(regs: &[Arc<Registration>]) -> Routes {
        let mut routes = Vec::new();
        let mut list = |t: Option<&EventType>| -> (u32, u32) {
            let start = routes.len();
            for r in regs {
                let types = r.filter.selected_event_types();
                if !(types.is_empty() || t.is_some_and(|t| types.contains(t))) {
                    continue;
                }
                routes.push(Route {
                    data: r.data.cast_const(),
                    call: r.call,
                    filter: if r.filter.only_by_type() {
                        std::ptr::null()
                    } else {
                        &r.filter
                    },
                });
            }
            (to_u32(start), to_u32(routes.len()))
        };
        let catalog = EventType::CATALOG.iter().map(|t| list(Some(t))).collect();
        let mut custom = HashMap::new();
        for r in regs {
            for t in r.filter.selected_event_types() {
                if !t.is_catalog() && !custom.contains_key(t) {
                    custom.insert(t.clone(), list(Some(t)));
                }
            }
        }
        let any_type = list(None);
        Routes {
            routes: routes.into_boxed_slice(),
            catalog,
            custom,
            any_type,
            regs: regs.into(),
        }
    }

    /// How many subscriptions the table holds.
    pub(super) fn count(&self) -> usize {
        self.regs.len()
    }

    /// The routes that can match an event of type `t`, in subscription
    /// order.
    #[inline]
    pub(super) fn for_type(&self, t: &EventType) -> &[Route] {
        let (start, end) = match t.catalog_index() {
            Some(i) => self.catalog[i],
            None => *self.custom.get(t).unwrap_or(&self.any_type),
        };
        let range: Range<usize> = start as usize..end as usize;
        // SAFETY: `build` made every range within `routes`.
        unsafe { self.routes.get_unchecked(range) }
    }
}

fn to_u32(n: usize) -> u32 {
    // A table of four billion routes would not fit in memory first.
    u32::try_from(n).expect("routing table too large")
}
