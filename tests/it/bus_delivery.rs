//! Who gets an event, what publish returns, and how failures stay contained.

use fcc::{Event, EventBus, EventFilter, EventType, Severity, Subscriber, SubscriberError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

fn ev(t: EventType) -> Event {
    Event::builder(t, "ActionEngine").build()
}

type Log = Arc<Mutex<Vec<String>>>;

fn recorder(log: &Log, name: &'static str) -> impl Fn(&Event) + Send + Sync + 'static {
    let log = log.clone();
    move |e: &Event| {
        log.lock()
            .unwrap()
            .push(format!("{name}:{}", e.event_type()))
    }
}

#[test]
fn publish_with_no_subscribers_delivers_nothing() {
    assert_eq!(EventBus::new().publish(&ev(EventType::ActionStarted)), 0);
}

#[test]
fn global_subscribers_get_everything_in_subscription_order() {
    let bus = EventBus::new();
    let log = Log::default();
    bus.subscribe(recorder(&log, "a"));
    bus.subscribe_filtered(
        recorder(&log, "typed"),
        EventFilter::new().event_types([EventType::ActionFailed]),
    );
    bus.subscribe(recorder(&log, "b"));
    assert_eq!(bus.publish(&ev(EventType::ActionStarted)), 2);
    assert_eq!(bus.publish(&ev(EventType::ActionFailed)), 3);
    assert_eq!(
        *log.lock().unwrap(),
        [
            "a:action.started",
            "b:action.started",
            "a:action.failed",
            "typed:action.failed",
            "b:action.failed"
        ]
    );
}

#[test]
fn type_filters_select_only_their_types() {
    let bus = EventBus::new();
    let log = Log::default();
    bus.subscribe_filtered(
        recorder(&log, "done"),
        EventFilter::new().event_types([EventType::ActionCompleted, EventType::ActionFailed]),
    );
    for t in EventType::CATALOG {
        bus.publish(&ev(t.clone()));
    }
    assert_eq!(
        *log.lock().unwrap(),
        ["done:action.completed", "done:action.failed"]
    );
}

#[test]
fn all_filter_dimensions_must_match() {
    let bus = EventBus::new();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    bus.subscribe_filtered(
        move |_: &Event| {
            h.fetch_add(1, Ordering::Relaxed);
        },
        EventFilter::new()
            .event_types([EventType::SimulationStep])
            .sources(["SimulationEngine"])
            .correlation_ids(["run-42"]),
    );
    let step = |source: &str, corr: Option<&str>| {
        let b = Event::builder(EventType::SimulationStep, source);
        match corr {
            Some(c) => b.correlation_id(c).build(),
            None => b.build(),
        }
    };
    assert_eq!(bus.publish(&step("SimulationEngine", Some("run-42"))), 1);
    assert_eq!(bus.publish(&step("SimulationEngine", Some("run-7"))), 0);
    assert_eq!(bus.publish(&step("SimulationEngine", None)), 0);
    assert_eq!(bus.publish(&step("Other", Some("run-42"))), 0);
    assert_eq!(
        bus.publish(
            &Event::builder(EventType::SimulationStarted, "SimulationEngine")
                .correlation_id("run-42")
                .build()
        ),
        0
    );
    assert_eq!(hits.load(Ordering::Relaxed), 1);
}

#[test]
fn category_and_min_severity_filters() {
    let bus = EventBus::new();
    let log = Log::default();
    bus.subscribe_filtered(
        recorder(&log, "infra"),
        EventFilter::new()
            .categories(["backend"])
            .min_severity(Severity::Warn),
    );
    bus.publish(
        &Event::warn("mcpclient", "connect_attempt", "refused")
            .category("backend")
            .build(),
    );
    bus.publish(
        &Event::info("mcpclient", "connect_attempt", "ok")
            .category("backend")
            .build(),
    );
    bus.publish(&Event::error("mcpclient", "connect_attempt", "refused").build()); // category mcpclient
    bus.publish(
        &Event::error("gateway", "crash", "")
            .category("backend")
            .build(),
    );
    assert_eq!(
        *log.lock().unwrap(),
        ["infra:mcpclient.connect_attempt", "infra:gateway.crash"]
    );
}

#[test]
fn custom_types_route_like_catalog_types() {
    let bus = EventBus::new();
    let log = Log::default();
    let invoice = EventType::custom("billing.invoice.sent").unwrap();
    bus.subscribe_filtered(
        recorder(&log, "billing"),
        EventFilter::new().event_types([invoice.clone()]),
    );
    bus.subscribe(recorder(&log, "all"));
    assert_eq!(bus.publish(&ev(invoice)), 2);
    assert_eq!(
        bus.publish(&ev(EventType::custom("billing.invoice.paid").unwrap())),
        1
    );
    assert_eq!(
        *log.lock().unwrap(),
        [
            "billing:billing.invoice.sent",
            "all:billing.invoice.sent",
            "all:billing.invoice.paid"
        ]
    );
}

#[test]
fn unsubscribe_stops_delivery_reports_whether_found_and_drops_the_subscriber() {
    struct DropFlag(Arc<AtomicUsize>);
    impl Drop for DropFlag {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let flag = DropFlag(dropped.clone());
    let bus = EventBus::new();
    let id = bus.subscribe(move |_: &Event| {
        let _keep = &flag;
    });
    assert_eq!(bus.subscriber_count(), 1);
    assert_eq!(bus.publish(&ev(EventType::NodeEntered)), 1);
    assert!(bus.unsubscribe(id));
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "the handler is dropped once nothing delivers to it"
    );
    assert!(!bus.unsubscribe(id));
    assert_eq!(bus.subscriber_count(), 0);
    assert_eq!(bus.publish(&ev(EventType::NodeEntered)), 0);
}

#[test]
fn a_panicking_subscriber_is_isolated_and_counted() {
    let bus = EventBus::new();
    let log = Log::default();
    bus.subscribe(recorder(&log, "before"));
    bus.subscribe(|e: &Event| {
        if e.event_type() == &EventType::PluginError {
            panic!("subscriber bug");
        }
    });
    bus.subscribe(recorder(&log, "after"));
    assert_eq!(bus.publish(&ev(EventType::PluginError)), 2);
    assert_eq!(bus.publish(&ev(EventType::PluginLoaded)), 3);
    assert_eq!(bus.panicked_deliveries(), 1);
    assert_eq!(bus.stats().panicked_deliveries, 1);
    assert_eq!(log.lock().unwrap().len(), 4);
}

#[test]
fn subscriber_errors_are_failed_deliveries() {
    struct Picky;
    impl Subscriber for Picky {
        fn on_event(&self, e: &Event) -> Result<(), SubscriberError> {
            if e.severity() >= Severity::Warn {
                Err(SubscriberError::new("no warnings please"))
            } else {
                Ok(())
            }
        }
    }
    let bus = EventBus::new();
    bus.subscribe(Picky);
    bus.subscribe(|_: &Event| -> Result<(), std::io::Error> { Ok(()) });
    assert_eq!(bus.publish(&Event::warn("x", "y", "").build()), 1);
    assert_eq!(bus.publish(&Event::info("x", "y", "").build()), 2);
    assert_eq!(bus.stats().failed_deliveries, 1);
    assert_eq!(bus.stats().panicked_deliveries, 0);
}

#[test]
fn clones_of_a_bus_share_subscribers() {
    let bus = EventBus::new();
    let other = bus.clone();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    other.subscribe(move |_: &Event| {
        h.fetch_add(1, Ordering::Relaxed);
    });
    bus.publish(&ev(EventType::DemoStarted));
    assert_eq!(hits.load(Ordering::Relaxed), 1);
}

/// A subscription id names one bus's subscriber: another bus's
/// `unsubscribe` with it removes nothing.
#[test]
fn an_id_from_one_bus_never_unsubscribes_from_another() {
    let (a, b) = (fcc::EventBus::new(), fcc::EventBus::new());
    let id_a = a.subscribe(|_: &fcc::Event| {});
    let id_b = b.subscribe(|_: &fcc::Event| {});
    assert_ne!(id_a, id_b);
    assert!(
        !b.unsubscribe(id_a),
        "B has no subscription named by A's id"
    );
    assert_eq!((a.subscriber_count(), b.subscriber_count()), (1, 1));
    assert!(a.unsubscribe(id_a) && b.unsubscribe(id_b));
    assert_eq!((a.subscriber_count(), b.subscriber_count()), (0, 0));
}

/// A subscriber whose `Drop` publishes on another bus, dropped while a
/// thread swaps in a new routing table (it was unsubscribed on another
/// thread): the event being published still goes to this bus's subscribers
/// only, and the one published from `Drop` to the other bus's.
#[test]
fn a_subscriber_dropped_during_a_table_swap_cannot_misroute_events() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    struct PublishOnDrop(fcc::EventBus);
    impl fcc::bus::Subscriber for PublishOnDrop {
        fn on_event(&self, _: &fcc::Event) -> Result<(), fcc::bus::SubscriberError> {
            Ok(())
        }
    }
    impl Drop for PublishOnDrop {
        fn drop(&mut self) {
            self.0
                .publish(&fcc::Event::info("drop", "goodbye", "from drop").build());
        }
    }

    let (one, two) = (fcc::EventBus::new(), fcc::EventBus::new());
    let (on_one, on_two) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let c = on_one.clone();
    one.subscribe(move |_: &fcc::Event| {
        c.fetch_add(1, Ordering::Relaxed);
    });
    let c = on_two.clone();
    two.subscribe(move |_: &fcc::Event| {
        c.fetch_add(1, Ordering::Relaxed);
    });
    let dropper = one.subscribe(PublishOnDrop(two.clone()));
    let event = fcc::Event::info("test", "ping", "x").build();
    one.publish(&event); // this thread now holds a table listing `dropper`
    assert_eq!(on_one.load(Ordering::Relaxed), 1);
    // Unsubscribed elsewhere: this thread's table still holds it.
    let other = one.clone();
    std::thread::spawn(move || assert!(other.unsubscribe(dropper)))
        .join()
        .unwrap();
    // The next publish swaps tables; the old one's last reference goes, the
    // dropper's `Drop` publishes on `two` in the middle of the swap.
    one.publish(&event);
    assert_eq!(
        on_two.load(Ordering::Relaxed),
        1,
        "the Drop's event, on two"
    );
    assert_eq!(on_one.load(Ordering::Relaxed), 2, "one's event, on one");
    one.publish(&event);
    assert_eq!(
        (
            on_one.load(Ordering::Relaxed),
            on_two.load(Ordering::Relaxed)
        ),
        (3, 1)
    );
}
