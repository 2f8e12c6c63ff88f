//! [`Subscriber`]: what the bus delivers events to.

use crate::event::Event;
use std::borrow::Cow;
use std::fmt;

/// Receives events from an [`EventBus`](crate::EventBus).
///
/// Closures implement it: `Fn(&Event)` and `Fn(&Event) -> Result<(), E>` for
/// any displayable `E`. A delivery counts as successful unless the subscriber
/// returns an error or panics; both are caught, counted, and never reach the
/// publisher or the other subscribers.
///
/// ```
/// use fcc::{Event, EventBus, EventType, Subscriber, SubscriberError};
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// struct Counter(AtomicUsize);
/// impl Subscriber for Counter {
///     fn on_event(&self, _event: &Event) -> Result<(), SubscriberError> {
///         self.0.fetch_add(1, Ordering::Relaxed);
///         Ok(())
///     }
/// }
///
/// let bus = EventBus::new();
/// bus.subscribe(Counter(AtomicUsize::new(0)));
/// bus.subscribe(|e: &Event| -> Result<(), String> { Err(format!("cannot handle {}", e.event_type())) });
/// let delivered = bus.publish(&Event::builder(EventType::ActionStarted, "ActionEngine").build());
/// assert_eq!(delivered, 1);
/// assert_eq!(bus.stats().failed_deliveries, 1);
/// ```
pub trait Subscriber: Send + Sync + 'static {
    /// Handles one event.
    fn on_event(&self, event: &Event) -> Result<(), SubscriberError>;
}

/// A subscriber's reason for refusing an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriberError(Cow<'static, str>);

impl SubscriberError {
    /// An error with this message.
    pub fn new(message: impl fmt::Display) -> Self {
        Self(Cow::Owned(message.to_string()))
    }

    /// An error with a fixed message (no allocation, for hot paths).
    pub const fn from_static(message: &'static str) -> Self {
        Self(Cow::Borrowed(message))
    }
}

impl fmt::Display for SubscriberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SubscriberError {}

/// What a subscriber closure may return: `()` or `Result<(), E: Display>`.
pub trait DeliveryResult {
    /// Into the subscriber's result.
    fn into_delivery_result(self) -> Result<(), SubscriberError>;
}

impl DeliveryResult for () {
    fn into_delivery_result(self) -> Result<(), SubscriberError> {
        Ok(())
    }
}

impl<E: fmt::Display> DeliveryResult for Result<(), E> {
    fn into_delivery_result(self) -> Result<(), SubscriberError> {
        self.map_err(SubscriberError::new)
    }
}

impl<F, R> Subscriber for F
where
    F: Fn(&Event) -> R + Send + Sync + 'static,
    R: DeliveryResult,
{
    fn on_event(&self, event: &Event) -> Result<(), SubscriberError> {
        self(event).into_delivery_result()
    }
}

/// Names one subscription of one bus, for
/// [`EventBus::unsubscribe`](crate::EventBus::unsubscribe): ids are unique in
/// the process, so one bus's id never removes another bus's subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriptionId(pub(crate) u64);
