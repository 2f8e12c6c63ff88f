//! start_recording / stop_recording / get_history / clear_history, bounded.

use fcc::{Event, EventBus, EventType};

fn step(n: u64) -> Event {
    Event::builder(EventType::SimulationStep, "SimulationEngine")
        .attr("step", n)
        .build()
}

#[test]
fn records_only_while_recording_in_publish_order() {
    let bus = EventBus::new();
    bus.publish(&step(0));
    bus.start_recording();
    assert!(bus.is_recording());
    let (e1, e2) = (step(1), step(2));
    bus.publish(&e1);
    bus.publish(&e2);
    bus.stop_recording();
    bus.publish(&step(3));
    assert_eq!(bus.get_history(), vec![e1, e2]);
    bus.clear_history();
    assert!(bus.get_history().is_empty());
}

#[test]
fn records_events_even_without_subscribers() {
    let bus = EventBus::new();
    bus.start_recording();
    bus.publish(&step(1));
    assert_eq!(bus.get_history().len(), 1);
}

#[test]
fn history_is_bounded_keeps_the_newest_and_counts_drops() {
    let bus = EventBus::with_history_capacity(3);
    assert_eq!(bus.history_capacity(), 3);
    bus.start_recording();
    for n in 0..10 {
        bus.publish(&step(n));
    }
    let kept: Vec<u64> = bus
        .get_history()
        .iter()
        .map(|e| e.payload()["step"].as_u64().unwrap())
        .collect();
    assert_eq!(kept, [7, 8, 9]);
    assert_eq!(bus.history_dropped(), 7);
    assert_eq!(bus.stats().history_dropped, 7);
    bus.clear_history();
    assert_eq!(bus.history_dropped(), 0);
}

#[test]
fn zero_capacity_keeps_nothing_and_counts_everything() {
    let bus = EventBus::with_history_capacity(0);
    bus.start_recording();
    bus.publish(&step(1));
    assert!(bus.get_history().is_empty());
    assert_eq!(bus.history_dropped(), 1);
}
