//! A sink's worker sleeps while nothing arrives (no wake-ups in an idle
//! process) and yet never sits on an event: an event emitted just as the
//! worker falls asleep is written without a flush, and housekeeping
//! (`Sink::idle`) still runs on the sink's own interval.

use fcc::sinks::{attach, Sink, SinkError, SinkOptions};
use fcc::{Event, EventBus, EventType};
use std::sync::mpsc;
use std::time::Duration;

/// Hands every event to the test; no housekeeping, so its worker sleeps
/// until the next event once idle.
struct Relay(mpsc::Sender<u64>);

impl Sink for Relay {
    fn name(&self) -> &str {
        "relay"
    }
    fn write(&mut self, batch: &[Event]) -> Result<(), SinkError> {
        for e in batch {
            let _ = self.0.send(e.payload()["n"].as_u64().unwrap());
        }
        Ok(())
    }
    fn idle_interval(&self) -> Option<Duration> {
        None
    }
}

fn numbered(n: u64) -> Event {
    Event::builder(EventType::SimulationStep, "test")
        .attr("n", n)
        .build()
}

/// Long enough never to be reached when the worker wakes; reached (and the
/// test fails) when an event is left waiting for a worker that sleeps on.
const NEVER: Duration = Duration::from_secs(20);

#[test]
fn events_emitted_as_the_worker_falls_asleep_are_written_without_a_flush() {
    let bus = EventBus::new();
    let (tx, rx) = mpsc::channel();
    let handle = attach(&bus, Box::new(Relay(tx)), SinkOptions::default()).unwrap();
    // Pauses around the worker's doze threshold (100 ms of empty queue), so
    // events land before, during and after it goes to sleep.
    let pauses_ms = [
        0u64, 1, 5, 20, 60, 95, 99, 100, 101, 105, 110, 130, 150, 250,
    ];
    let mut n = 0;
    for round in 0..3 {
        for p in pauses_ms {
            std::thread::sleep(Duration::from_millis(p + round));
            bus.publish(&numbered(n));
            assert_eq!(
                rx.recv_timeout(NEVER),
                Ok(n),
                "event {n} (after a {p} ms pause) sat in the queue of a sleeping worker"
            );
            n += 1;
        }
    }
    // Every event arrived above without a flush. The worker counts a batch
    // written after `write` returns, which can be just after the test got
    // its last event: the flush waits for that count, not for the events.
    handle.flush(NEVER).unwrap();
    let stats = handle.stats();
    assert_eq!((stats.written, stats.dropped, stats.queue_depth), (n, 0, 0));
}

/// Counts its housekeeping calls; asks for one every 50 ms.
struct Housekeeper(mpsc::Sender<()>);

impl Sink for Housekeeper {
    fn name(&self) -> &str {
        "housekeeper"
    }
    fn write(&mut self, _batch: &[Event]) -> Result<(), SinkError> {
        Ok(())
    }
    fn idle(&mut self) {
        let _ = self.0.send(());
    }
    fn idle_interval(&self) -> Option<Duration> {
        Some(Duration::from_millis(50))
    }
}

#[test]
fn a_sleeping_worker_still_wakes_for_housekeeping_on_the_sinks_interval() {
    let bus = EventBus::new();
    let (tx, rx) = mpsc::channel();
    let _handle = attach(&bus, Box::new(Housekeeper(tx)), SinkOptions::default()).unwrap();
    bus.publish(&numbered(0));
    // Well past the doze threshold: housekeeping calls keep coming.
    std::thread::sleep(Duration::from_millis(400));
    while rx.try_recv().is_ok() {}
    for _ in 0..3 {
        assert_eq!(
            rx.recv_timeout(NEVER),
            Ok(()),
            "idle() stopped once the worker slept"
        );
    }
}
