//! The subscription table: one [`Registration`] per subscription, and the
//! immutable [`Routes`] built from them that `publish` reads.

use super::filter::EventFilter;
use super::subscriber::Subscriber;
use crate::event::EventType;
use std::collections::HashMap;
use std::sync::Arc;

/// One subscription: its process-unique id, its filter and its subscriber.
pub(super) struct Registration {
    pub(super) id: u64,
    pub(super) filter: EventFilter,
    /// The filter selects by event type only, so the routing table has
    /// already done all of its matching.
    pub(super) only_by_type: bool,
    pub(super) handler: Box<dyn Subscriber>,
}

pub(super) type RouteList = Box<[Arc<Registration>]>;

/// The immutable routing table that `publish` reads: one list of
/// subscribers per catalog event type, one per custom type named by a
/// filter, one for "any type". A table holds its subscribers alive; the
/// per-thread caches that hold tables are in `thread_cache`.
pub(super) struct Routes {
    catalog: Box<[RouteList]>,
    custom: HashMap<EventType, RouteList>,
    any_type: RouteList,
    pub(super) count: usize,
}

impl Routes {
    pub(super) fn build(regs: &[Arc<Registration>]) -> Routes {
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

    /// The subscribers that can match an event of type `t`, in subscription
    /// order.
    #[inline]
    pub(super) fn for_type(&self, t: &EventType) -> &[Arc<Registration>] {
        match t.catalog_index() {
            Some(i) => &self.catalog[i],
            None => self.custom.get(t).unwrap_or(&self.any_type),
        }
    }
}
