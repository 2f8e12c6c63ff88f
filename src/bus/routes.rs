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
/// subscribers alive; when a replaced one is freed is in `readers`.
pub(super) struct Routes {
    /// Each catalog type's list, in the table itself: finding it costs no
    /// load beyond the table's.
    catalog: [List; CATALOG_LEN],
    custom: HashMap<EventType, List>,
    any_type: List,
    /// Every list, one after the other: owns what the lists point into (a
    /// `Vec`, not a `Box`, so that moving it keeps those pointers valid).
    _routes: Vec<Route>,
    /// What the routes point into.
    regs: Box<[Arc<Registration>]>,
}

const CATALOG_LEN: usize = EventType::CATALOG.len();

/// One list: a slice of `Routes::_routes`, kept as a pointer and a length
/// so that walking it takes no other load.
#[derive(Clone, Copy)]
struct List {
    start: *const Route,
    len: usize,
}

// SAFETY: the lists point into `routes` and the routes into `regs`, which
// the table owns and which are `Send + Sync`; all are only read.
unsafe impl Send for Routes {}
// SAFETY: as above.
unsafe impl Sync for Routes {}

impl Routes {
    pub(super) fn build(regs: &[Arc<Registration>]) -> Routes {
        // Each list as a range of `routes` first, then as pointers once
        // `routes` is in its final place.
        let mut routes = Vec::new();
        let mut list = |t: Option<&EventType>| -> Range<usize> {
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
            start..routes.len()
        };
        let catalog: Vec<Range<usize>> = EventType::CATALOG.iter().map(|t| list(Some(t))).collect();
        let mut custom = HashMap::new();
        for r in regs {
            for t in r.filter.selected_event_types() {
                if !t.is_catalog() && !custom.contains_key(t) {
                    custom.insert(t.clone(), list(Some(t)));
                }
            }
        }
        let any_type = list(None);
        let as_list = |range: Range<usize>| List {
            len: range.len(),
            start: routes[range].as_ptr(),
        };
        Routes {
            catalog: std::array::from_fn(|i| as_list(catalog[i].clone())),
            custom: custom.into_iter().map(|(t, r)| (t, as_list(r))).collect(),
            any_type: as_list(any_type),
            regs: regs.into(),
            _routes: routes,
        }
    }

    /// How many subscriptions the table holds.
    pub(super) fn count(&self) -> usize {
        self.regs.len()
    }

    /// The routes that can match an event of type `t`, in subscription
    /// order.
    #[inline(always)]
    pub(super) fn for_type(&self, t: &EventType) -> &[Route] {
        let list = match t.catalog_index() {
            // SAFETY: a catalog index is below `CATALOG_LEN`.
            Some(i) => unsafe { *self.catalog.get_unchecked(i) },
            None => self.custom_list(t),
        };
        // SAFETY: `build` made every list a slice of `_routes`, whose
        // buffer lives as long as `self` and never moves.
        unsafe { std::slice::from_raw_parts(list.start, list.len) }
    }

    #[inline(never)]
    fn custom_list(&self, t: &EventType) -> List {
        *self.custom.get(t).unwrap_or(&self.any_type)
    }
}
