//! EventReplay: lists, files, filters, and invalid files that publish nothing.

use fcc::{Event, EventBus, EventReplay, EventSerializer, EventType};
use std::sync::{Arc, Mutex};

fn run_events() -> Vec<Event> {
    let mk = |t, src: &str, corr: &str| Event::builder(t, src).correlation_id(corr).build();
    vec![
        mk(EventType::ActionStarted, "ActionEngine", "run-42"),
        mk(EventType::SimulationStep, "SimulationEngine", "run-42"),
        mk(EventType::ActionCompleted, "ActionEngine", "run-42"),
        mk(EventType::ActionStarted, "ActionEngine", "run-7"),
    ]
}

fn bus_with_log() -> (EventBus, Arc<Mutex<Vec<Event>>>) {
    let bus = EventBus::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    bus.subscribe(move |e: &Event| l.lock().unwrap().push(e.clone()));
    (bus, log)
}

#[test]
fn replay_republishes_in_order_and_counts_deliveries() {
    let (bus, log) = bus_with_log();
    bus.subscribe(|_: &Event| ());
    let events = run_events();
    assert_eq!(EventReplay::new(&bus).replay(&events), 8);
    assert_eq!(
        *log.lock().unwrap(),
        events,
        "same events, same ids, same order"
    );
}

#[test]
fn replay_filtered_by_correlation_id_source_or_both() {
    let (bus, log) = bus_with_log();
    let events = run_events();
    let replay = EventReplay::new(&bus);
    assert_eq!(
        replay.replay_filtered(&events, Some("run-42"), Some("ActionEngine")),
        2
    );
    assert_eq!(replay.replay_filtered(&events, Some("run-42"), None), 3);
    assert_eq!(
        replay.replay_filtered(&events, None, Some("ActionEngine")),
        3
    );
    assert_eq!(replay.replay_filtered(&events, None, None), 4);
    assert_eq!(replay.replay_filtered(&events, Some("nope"), None), 0);
    assert_eq!(log.lock().unwrap().len(), 12);
}

#[test]
fn replay_from_a_saved_file_in_either_format() {
    let dir = tempfile::tempdir().unwrap();
    let events = run_events();
    let json = dir.path().join("events.json");
    let ndjson = dir.path().join("events.ndjson");
    EventSerializer::save(&events, &json).unwrap();
    EventSerializer::save_ndjson(&events, &ndjson).unwrap();
    for path in [json, ndjson] {
        let (bus, log) = bus_with_log();
        assert_eq!(EventReplay::new(&bus).replay_from_file(&path).unwrap(), 4);
        assert_eq!(*log.lock().unwrap(), events);
    }
}

#[test]
fn an_invalid_file_publishes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let events = run_events();
    let good = EventSerializer::to_ndjson(&events);
    let cases = [
        (
            "count.json",
            EventSerializer::to_json_batch(&events)
                .replace("\"event_count\":4", "\"event_count\":5"),
        ),
        (
            "type.ndjson",
            good.replacen("action.completed", "Action Completed", 1),
        ),
        ("cut.ndjson", good[..good.len() - 30].to_owned()),
        ("junk.json", "{ not json".to_owned()),
    ];
    for (name, text) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let (bus, log) = bus_with_log();
        bus.start_recording();
        let err = EventReplay::new(&bus).replay_from_file(&path).unwrap_err();
        assert!(err.to_string().contains(name), "{err}");
        assert!(log.lock().unwrap().is_empty(), "{name}: nothing delivered");
        assert!(bus.get_history().is_empty(), "{name}: nothing published");
    }
    let (bus, _) = bus_with_log();
    assert!(EventReplay::new(&bus)
        .replay_from_file(dir.path().join("missing.json"))
        .is_err());
}
