//! A Rust counterpart of every code example in the seeds' event-bus sections,
//! in the seeds' order.

use fcc::{Event, EventBus, EventFilter, EventReplay, EventSerializer, EventType, Outcome};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Go seed: `e := events.Warn("mcpclient", "connect_attempt", err.Error()); e.Category = "backend"; ...; bus.Emit(ctx, e)`
#[test]
fn go_seed_warn_example() {
    let bus = EventBus::new();
    let seen = Arc::new(Mutex::new(None));
    let s = seen.clone();
    bus.subscribe(move |e: &Event| *s.lock().unwrap() = Some(e.clone()));
    let err = "dial tcp 10.0.0.7:443: connection refused";
    let e = Event::warn("mcpclient", "connect_attempt", err)
        .category("backend")
        .resource("mcp_server:vendor")
        .outcome(Outcome::Failure)
        .build();
    assert_eq!(bus.publish(&e), 1);
    let got = seen.lock().unwrap().clone().unwrap();
    assert_eq!(
        (got.source(), got.category(), got.resource()),
        ("mcpclient", "backend", Some("mcp_server:vendor"))
    );
    assert_eq!(got.detail(), Some(err));
}

/// `Event(event_type=EventType.ACTION_COMPLETED, source="ActionEngine", payload={...}, correlation_id="run-42")`
fn seed_event() -> Event {
    Event::builder(EventType::ActionCompleted, "ActionEngine")
        .payload(json!({"persona_id": "SQC", "action_type": "test"}))
        .correlation_id("run-42")
        .build()
}

#[test]
fn python_seed_event_example() {
    let event = seed_event();
    assert_eq!(event.event_id().to_string().len(), 36); // UUID string
    assert!(event.timestamp().to_string().ends_with('Z')); // ISO 8601
    assert_eq!(event.event_type(), &EventType::ActionCompleted);
    assert_eq!(event.correlation_id(), Some("run-42"));
}

/// `bus = EventBus(); delivered = bus.publish(event)`
#[test]
fn publishing_example() {
    let bus = EventBus::new();
    bus.subscribe(|_: &Event| ());
    let delivered = bus.publish(&seed_event());
    assert_eq!(delivered, 1, "Delivered to {delivered} subscribers");
}

/// Global, type-filtered and full-filter subscribers, then unsubscribe.
#[test]
fn subscribing_examples() {
    let bus = EventBus::new();
    let received = Arc::new(AtomicUsize::new(0));
    let my_handler = {
        let r = received.clone();
        move |e: &Event| {
            println!("Received: {}", e.event_type());
            r.fetch_add(1, Ordering::Relaxed);
        }
    };
    let global = bus.subscribe(my_handler.clone());
    bus.subscribe_filtered(
        my_handler.clone(),
        EventFilter::new().event_types([EventType::ActionCompleted, EventType::ActionFailed]),
    );
    bus.subscribe_filtered(
        my_handler,
        EventFilter::new()
            .event_types([EventType::SimulationStep])
            .sources(["SimulationEngine"])
            .correlation_ids(["run-42"]),
    );
    bus.publish(&seed_event());
    bus.publish(
        &Event::builder(EventType::SimulationStep, "SimulationEngine")
            .correlation_id("run-42")
            .build(),
    );
    assert_eq!(received.load(Ordering::Relaxed), 4);

    let removed = bus.unsubscribe(global); // True if found and removed
    assert!(removed);
}

/// The seed's `EventFilter` dataclass: empty tuples are wildcards, dimensions AND.
#[test]
fn event_filter_example() {
    let any = EventFilter::new();
    assert!(any.matches(&seed_event()));
    let narrow = EventFilter::new()
        .event_types([EventType::ActionCompleted])
        .sources(["Other"]);
    assert!(!narrow.matches(&seed_event()));
}

/// `start_recording(); publish(e1); publish(e2); stop_recording(); get_history(); clear_history()`
#[test]
fn recording_example() {
    let bus = EventBus::new();
    let (event_1, event_2) = (seed_event(), seed_event());
    bus.start_recording();
    bus.publish(&event_1);
    bus.publish(&event_2);
    bus.stop_recording();
    let history = bus.get_history();
    assert_eq!(history, [event_1, event_2]);
    bus.clear_history();
    assert!(bus.get_history().is_empty());
}

/// `to_json`/`from_json`, `to_json_batch`/`from_json_batch`, `save`/`load`.
#[test]
fn serialization_example() {
    let (event, event_1, event_2) = (seed_event(), seed_event(), seed_event());
    let json_str = EventSerializer::to_json(&event);
    let restored = EventSerializer::from_json(&json_str).unwrap();
    assert_eq!(restored, event);

    let json_batch = EventSerializer::to_json_batch(&[event_1.clone(), event_2.clone()]);
    let restored_batch = EventSerializer::from_json_batch(&json_batch).unwrap();
    assert_eq!(restored_batch, [event_1.clone(), event_2.clone()]);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.json");
    EventSerializer::save(&[event_1.clone(), event_2.clone()], &path).unwrap();
    let loaded = EventSerializer::load(&path).unwrap();
    assert_eq!(loaded, [event_1, event_2]);

    // The file format: {"event_count": 2, "events": [...]}
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(file["event_count"], 2);
    assert_eq!(file["events"][0]["event_type"], "action.completed");
}

/// `EventReplay(bus)`: `replay`, `replay_from_file`, `replay_filtered`.
#[test]
fn replay_example() {
    let bus = EventBus::new();
    bus.subscribe(|_: &Event| ());
    let events = vec![
        seed_event(),
        Event::builder(EventType::ActionFailed, "Other").build(),
    ];
    let replay = EventReplay::new(&bus);
    let total_delivered = replay.replay(&events);
    assert_eq!(total_delivered, 2);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.json");
    EventSerializer::save(&events, &path).unwrap();
    assert_eq!(replay.replay_from_file(&path).unwrap(), 2);

    let total_delivered = replay.replay_filtered(&events, Some("run-42"), Some("ActionEngine"));
    assert_eq!(total_delivered, 1);
}
