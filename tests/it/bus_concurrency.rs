//! The bus under many threads: no lost deliveries to stable subscribers, no
//! deadlock when subscribers publish or subscribe from inside a delivery.

use fcc::{Event, EventBus, EventFilter, EventType};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

#[test]
fn publishers_and_churning_subscribers_run_together() {
    const PUBLISHERS: usize = 4;
    const PER_THREAD: usize = 5_000;
    let bus = EventBus::new();
    let stable = Arc::new(AtomicUsize::new(0));
    let s = stable.clone();
    bus.subscribe_filtered(
        move |_: &Event| {
            s.fetch_add(1, Ordering::Relaxed);
        },
        EventFilter::new().event_types([EventType::SimulationStep]),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let churn_calls = Arc::new(AtomicUsize::new(0));
    let churn_cycles = Arc::new(AtomicUsize::new(0));
    let churners: Vec<_> = (0..2)
        .map(|_| {
            let (bus, stop, calls) = (bus.clone(), stop.clone(), churn_calls.clone());
            let calls_started = churn_cycles.clone();
            thread::spawn(move || {
                let mut cycles = 0;
                while !stop.load(Ordering::Relaxed) {
                    let c = calls.clone();
                    let id = bus.subscribe(move |_: &Event| {
                        c.fetch_add(1, Ordering::Relaxed);
                    });
                    assert!(bus.unsubscribe(id));
                    cycles += 1;
                    calls_started.fetch_add(1, Ordering::Relaxed);
                }
                cycles
            })
        })
        .collect();
    let publishers: Vec<_> = (0..PUBLISHERS)
        .map(|_| {
            let bus = bus.clone();
            let churn_cycles = churn_cycles.clone();
            thread::spawn(move || {
                // Publish only once subscribers are coming and going.
                while churn_cycles.load(Ordering::Relaxed) < 100 {
                    thread::yield_now();
                }
                let e = Event::builder(EventType::SimulationStep, "SimulationEngine").build();
                let mut delivered = 0;
                for _ in 0..PER_THREAD {
                    delivered += bus.publish(&e);
                }
                delivered
            })
        })
        .collect();
    let delivered: usize = publishers.into_iter().map(|p| p.join().unwrap()).sum();
    stop.store(true, Ordering::Relaxed);
    let cycles: usize = churners.into_iter().map(|c| c.join().unwrap()).sum();
    assert!(cycles > 0);
    assert_eq!(stable.load(Ordering::Relaxed), PUBLISHERS * PER_THREAD);
    assert_eq!(
        delivered,
        PUBLISHERS * PER_THREAD + churn_calls.load(Ordering::Relaxed)
    );
    assert_eq!(bus.subscriber_count(), 1);
}

#[test]
fn a_subscriber_may_publish_and_subscribe_from_inside_a_delivery() {
    let bus = EventBus::new();
    let inner = bus.clone();
    let followups = Arc::new(AtomicUsize::new(0));
    let f = followups.clone();
    bus.subscribe_filtered(
        move |_: &Event| {
            f.fetch_add(1, Ordering::Relaxed);
        },
        EventFilter::new().event_types([EventType::ActionCompleted]),
    );
    bus.subscribe_filtered(
        move |e: &Event| {
            inner.publish(
                &e.to_builder()
                    .event_type(EventType::ActionCompleted)
                    .build(),
            );
            inner.subscribe(|_: &Event| ());
        },
        EventFilter::new().event_types([EventType::ActionStarted]),
    );
    bus.publish(&Event::builder(EventType::ActionStarted, "ActionEngine").build());
    assert_eq!(followups.load(Ordering::Relaxed), 1);
    assert_eq!(bus.subscriber_count(), 3);
}

#[test]
fn published_and_delivered_counts_are_exact_across_threads_and_buses() {
    use fcc::{Event, EventBus, EventFilter, EventType};
    let a = EventBus::new();
    let b = EventBus::new();
    a.subscribe(|_: &Event| {});
    a.subscribe_filtered(
        |_: &Event| {},
        EventFilter::new().event_types([EventType::ActionStarted]),
    );
    b.subscribe(|_: &Event| {});
    // A subscriber that publishes from inside a delivery (the re-entrant path).
    let inner = b.clone();
    a.subscribe_filtered(
        move |_: &Event| {
            inner.publish(&Event::builder(EventType::ActionFailed, "nested").build());
        },
        EventFilter::new().event_types([EventType::ActionFailed]),
    );
    std::thread::scope(|s| {
        for _ in 0..4 {
            let (a, b) = (a.clone(), b.clone());
            s.spawn(move || {
                for i in 0..10_000 {
                    let t = if i % 2 == 0 {
                        EventType::ActionStarted
                    } else {
                        EventType::ActionCompleted
                    };
                    a.publish(&Event::builder(t.clone(), "x").build());
                    // Alternate buses on one thread.
                    b.publish(&Event::builder(t, "x").build());
                }
                a.publish(&Event::builder(EventType::ActionFailed, "x").build());
            });
        }
    });
    let sa = a.stats();
    assert_eq!(sa.published, 40_004);
    // all-subscriber: every event; type-filtered: the 20,000 started; the
    // nested publisher: the 4 failed.
    assert_eq!(sa.delivered, 40_004 + 20_000 + 4);
    let sb = b.stats();
    assert_eq!(sb.published, 40_004, "including the 4 nested publishes");
    assert_eq!(sb.delivered, 40_004);
}

#[test]
fn a_publish_from_a_thread_local_destructor_is_delivered_and_counted() {
    use std::sync::Mutex;
    // A thread-local whose destructor publishes. It is made before the
    // thread's first publish, so its destructor runs after fcc's own
    // per-thread state is gone: the publish must still be delivered.
    struct PublishOnExit(Mutex<Option<EventBus>>);
    impl Drop for PublishOnExit {
        fn drop(&mut self) {
            if let Some(bus) = self.0.lock().unwrap().take() {
                bus.publish(&Event::builder(EventType::ActionFailed, "exiting").build());
            }
        }
    }
    thread_local! {
        static ON_EXIT: PublishOnExit = const { PublishOnExit(Mutex::new(None)) };
    }
    let bus = EventBus::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    bus.subscribe(move |e: &Event| s.lock().unwrap().push(e.source().to_owned()));
    let on_thread = bus.clone();
    std::thread::spawn(move || {
        ON_EXIT.with(|g| *g.0.lock().unwrap() = Some(on_thread.clone()));
        on_thread.publish(&Event::builder(EventType::ActionStarted, "running").build());
    })
    .join()
    .unwrap();
    assert_eq!(*seen.lock().unwrap(), ["running", "exiting"]);
    let stats = bus.stats();
    assert_eq!((stats.published, stats.delivered), (2, 2));
    // The exited thread is no longer among the readers a change waits for.
    let id = bus.subscribe(|_: &Event| ());
    assert!(bus.unsubscribe(id));
}
