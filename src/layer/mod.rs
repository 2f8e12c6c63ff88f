//! Events through `tracing`: [`emit`], the [`event!`](crate::event!) macro and
//! the [`FanoutLayer`], the bus's entrance.
//!
//! An fcc event is a `tracing` event. [`emit`] hands the whole [`Event`] to
//! the layer through a thread-local slot, so nothing is rebuilt from strings;
//! the `tracing` event it produces has target [`EVENT_TARGET`] and one field,
//! `event_type`, for other layers to see. The [`FanoutLayer`] takes the event,
//! adds the trace context and publishes it on the [`EventBus`], whose sinks and
//! subscribers do the rest.
//!
//! # Plain `tracing` events that are bus events
//!
//! A library can emit without depending on fcc's builder. The rule: **a
//! `tracing` event with a field named `event_type` is a bus event.** Fields
//! named like the event model (`source`, `category`, `resource`, `action`,
//! `outcome`, `severity`, `correlation_id`, `task`, `mission_id`,
//! `objective_id`, `detail`) fill it; the message becomes `detail`; every other
//! field goes into the payload. `source` defaults to the event's target, and
//! `severity` to its level (TRACE counts as debug).
//!
//! ```
//! tracing::warn!(
//!     event_type = "protocol.mcp.tool.failed",
//!     source = "mcpclient",
//!     correlation_id = "run-42",
//!     tool = "search",
//!     attempt = 3,
//!     "tool call timed out"
//! );
//! ```
//!
//! An `event_type` that is neither in the catalog nor a valid custom name makes
//! no bus event; the layer counts it ([`FanoutLayer::rejected`]) and prints
//! the reason for the first one to stderr. All other `tracing` events are ordinary logs and never
//! reach the bus.
//!
//! # No feedback loops
//!
//! Events from fcc's own worker threads and runtimes (see
//! [`is_internal_thread`]), and fcc's own diagnostics ([`QUIET_TARGETS`]),
//! never reach the bus. Libraries are not filtered by name: an
//! application's `hyper` or `sqlx` events are its own.
//!
//! **Imports** (the table in ARCHITECTURE.md, checked by
//! `tests/it/import_direction.rs`): only `bus`, `event`, `export`, `otel`, `trace`, `internal`.

mod fields;
pub mod logs;
mod rate_limit;
mod span_ext;
mod span_table;
mod spans;

pub(crate) use rate_limit::Limiter;
pub use rate_limit::RateLimit;
pub use span_ext::{OpenTelemetrySpanExt, SetParentError};
pub use spans::SpanLayer;

use crate::bus::EventBus;
use crate::event::{Event, Severity};
use crate::internal::thread::is_internal_thread;
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// The `tracing` target of events made by [`emit`].
pub const EVENT_TARGET: &str = "fcc::event";

/// The target prefix of fcc's own diagnostics, which never reach the bus
/// or OpenTelemetry.
///
/// Feedback is suppressed by context, not by library name: events and spans
/// made on fcc's own threads (its sink workers, export threads and the
/// runtimes they drive, see [`is_internal_thread`]) are dropped, whatever
/// their target. The same libraries used by the application (`tower_http`,
/// `hyper`, `reqwest`, `sqlx`, `tonic`, `h2`) are the application's data
/// and are recorded.
pub const QUIET_TARGETS: &[&str] = &["fcc::internal"];

/// True when `target` belongs to a library in [`QUIET_TARGETS`].
pub fn is_quiet_target(target: &str) -> bool {
    QUIET_TARGETS.iter().any(|q| {
        target.starts_with(q)
            && matches!(
                target.as_bytes().get(q.len()),
                None | Some(b':') | Some(b'_')
            )
    })
}

/// Where an event was emitted (`file:line`), for the rate limit.
type CallSite = &'static std::panic::Location<'static>;

thread_local! {
    static PENDING: Cell<Option<(Event, CallSite)>> = const { Cell::new(None) };
    /// Whether an `emit` is dispatching on this thread.
    static EMITTING: Cell<bool> = const { Cell::new(false) };
    /// Events emitted while another was dispatching (see [`emit`]).
    static DEFERRED: std::cell::RefCell<std::collections::VecDeque<(Event, CallSite)>> =
        const { std::cell::RefCell::new(std::collections::VecDeque::new()) };
}

/// Most events emitted from inside other emits that wait for their turn
/// (a subscriber that emits for every event it gets must not grow this
/// without bound); past it they are dropped, with a warning.
const MAX_DEFERRED: usize = 4096;

/// Emits an event through `tracing`: the installed [`FanoutLayer`] publishes
/// it on the bus (and so to every sink). With no layer installed, nothing
/// happens, as with `tracing` and no subscriber.
///
/// ```
/// use fcc::{Event, EventType};
/// fcc::emit(Event::builder(EventType::GovernanceGatePassed, "governance").attr("gate_id", "G-SEC-01"));
/// ```
#[track_caller]
pub fn emit(event: impl Into<Event>) {
    let event = event.into();
    let site = std::panic::Location::caller();
    // An emit from inside another's dispatch (a layer before fcc's, a
    // `Debug` impl, a bus subscriber) would be dropped by `tracing` (it
    // dispatches nothing while dispatching) and would take the outer event's
    // place: it waits instead, and goes when the outer dispatch is done.
    if EMITTING.try_with(Cell::get).unwrap_or(false) {
        let _ = DEFERRED.try_with(|d| {
            let mut d = d.borrow_mut();
            if d.len() < MAX_DEFERRED {
                d.push_back((event, site));
            } else {
                crate::internal::diagnostics::warn(
                    "events emitted from inside other emits are being dropped (over 4096 waiting)",
                );
            }
        });
        return;
    }
    /// Lowers the flag even if a layer panics.
    struct Emitting;
    impl Drop for Emitting {
        fn drop(&mut self) {
            let _ = EMITTING.try_with(|e| e.set(false));
        }
    }
    let _ = EMITTING.try_with(|e| e.set(true));
    let _emitting = Emitting;
    let mut next = Some((event, site));
    while let Some((event, site)) = next {
        dispatch(event, site);
        next = DEFERRED
            .try_with(|d| d.borrow_mut().pop_front())
            .ok()
            .flatten();
    }
}

/// Hands one event to the installed layers through a `tracing` event.
fn dispatch(event: Event, site: CallSite) {
    /// Clears the flag even if a layer panics.
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            let _ = PENDING.try_with(Cell::take);
        }
    }
    let _reset = Reset;
    let severity = event.severity();
    let _ = PENDING.try_with(|p| p.set(Some((event, site))));
    macro_rules! at {
        ($level:expr) => {
            tracing::event!(target: "fcc::event", $level, event_type = PENDING_TYPE)
        };
    }
    match severity {
        Severity::Debug => at!(tracing::Level::DEBUG),
        Severity::Info => at!(tracing::Level::INFO),
        Severity::Warn => at!(tracing::Level::WARN),
        Severity::Error => at!(tracing::Level::ERROR),
    }
    // If no layer took it, `_reset` drops it.
}

/// The `event_type` field value of [`emit`]'s tracing events: other layers see
/// this marker; the real type travels with the event.
const PENDING_TYPE: &str = "fcc";

/// Emits an event built from a type, a source and `key = value` pairs.
///
/// Keys named like event-model fields (`correlation_id`, `task`, `mission_id`,
/// `objective_id`, `detail`, `resource`, `action`, `category`, `severity`,
/// `outcome`) set them; every other key becomes a payload field.
///
/// ```
/// use fcc::{EventType, Severity};
/// fcc::event!(EventType::SimulationStep, "SimulationEngine",
///     correlation_id = "run-42", severity = Severity::Debug, step = 3, node_id = "N1");
/// ```
#[macro_export]
macro_rules! event {
    ($event_type:expr, $source:expr $(, $($fields:tt)*)?) => {
        $crate::emit($crate::__event_fields!($crate::Event::builder($event_type, $source); $($($fields)*)?))
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __event_fields {
    ($b:expr;) => { $b };
    ($b:expr; $key:ident = $value:expr $(, $($rest:tt)*)?) => {
        $crate::__event_fields!($crate::__event_field!($b, $key, $value); $($($rest)*)?)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __event_field {
    ($b:expr, correlation_id, $v:expr) => {
        $b.correlation_id($v)
    };
    ($b:expr, task, $v:expr) => {
        $b.task($v)
    };
    ($b:expr, mission_id, $v:expr) => {
        $b.mission_id($v)
    };
    ($b:expr, objective_id, $v:expr) => {
        $b.objective_id($v)
    };
    ($b:expr, detail, $v:expr) => {
        $b.detail($v)
    };
    ($b:expr, resource, $v:expr) => {
        $b.resource($v)
    };
    ($b:expr, action, $v:expr) => {
        $b.action($v)
    };
    ($b:expr, category, $v:expr) => {
        $b.category($v)
    };
    ($b:expr, severity, $v:expr) => {
        $b.severity($v)
    };
    ($b:expr, outcome, $v:expr) => {
        $b.outcome($v)
    };
    ($b:expr, $key:ident, $v:expr) => {
        $b.attr(stringify!($key), $v)
    };
}

/// The bus's entrance: a `tracing_subscriber` layer that turns fcc events into
/// [`Event`]s and publishes them on its [`EventBus`].
#[derive(Clone)]
pub struct FanoutLayer {
    bus: EventBus,
    rejected: Arc<AtomicU64>,
    limiter: Option<Arc<Limiter>>,
}

impl FanoutLayer {
    /// A layer publishing on `bus`.
    pub fn new(bus: EventBus) -> Self {
        Self {
            bus,
            rejected: Arc::new(AtomicU64::new(0)),
            limiter: None,
        }
    }

    /// The same, with at most `limit` events per call site and window
    /// (see [`RateLimit`]).
    pub(crate) fn with_rate_limit(mut self, limit: Option<RateLimit>) -> Self {
        self.limiter = limit.map(|l| Arc::new(Limiter::new(l)));
        self
    }

    /// The rate limiter, if one is set.
    pub(crate) fn limiter(&self) -> Option<&Arc<Limiter>> {
        self.limiter.as_ref()
    }

    /// Publishes `e`, emitted at `site`, unless the rate limit holds it back.
    fn publish_limited(&self, e: &Event, site: &dyn std::fmt::Display) {
        if let Some(limiter) = &self.limiter {
            let (pass, summary) = limiter.check(e, site);
            if let Some(summary) = summary {
                self.bus.publish(&summary);
            }
            if !pass {
                return;
            }
        }
        self.bus.publish(e);
    }

    /// The bus it publishes on.
    pub fn bus(&self) -> &EventBus {
        &self.bus
    }

    /// Marked `tracing` events that did not make a valid event.
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }
}

impl<S> tracing_subscriber::Layer<S> for FanoutLayer
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        if crate::internal::after_shutdown::fired() {
            crate::internal::after_shutdown::warn();
        }
        if meta.target() == EVENT_TARGET {
            if let Some((e, site)) = PENDING.try_with(Cell::take).ok().flatten()
                && !is_internal_thread()
            {
                self.publish_limited(&e, site);
            }
            return;
        }
        if meta.fields().field("event_type").is_none()
            || is_internal_thread()
            || is_quiet_target(meta.target())
        {
            return;
        }
        let mut visitor = fields::EventFields::new();
        event.record(&mut visitor);
        match visitor.into_event(meta.level(), meta.target()) {
            Ok(e) => {
                let site = format_args!(
                    "{}:{}",
                    meta.file().unwrap_or("?"),
                    meta.line().unwrap_or(0)
                );
                self.publish_limited(&e, &site);
            }
            Err(why) => {
                if self.rejected.fetch_add(1, Ordering::Relaxed) == 0 {
                    crate::internal::diagnostics::warn(format_args!(
                        "a tracing event at {}:{} is not a bus event: {why}",
                        meta.file().unwrap_or("?"),
                        meta.line().unwrap_or(0)
                    ));
                }
            }
        }
    }
}
