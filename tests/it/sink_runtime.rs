//! The sink runtime: every event accounted for, under drop-newest and block,
//! through errors and panics.

use fcc::sinks::{attach, DropPolicy, Sink, SinkError, SinkOptions};
use fcc::{Event, EventBus, EventType};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// Counts what it receives; can be held shut to make the queue fill up.
struct Gate {
    open: Arc<AtomicBool>,
    got: Arc<Mutex<Vec<u64>>>,
}

impl Sink for Gate {
    fn name(&self) -> &str {
        "gate"
    }
    fn write(&mut self, batch: &[Event]) -> Result<(), SinkError> {
        while !self.open.load(Ordering::Acquire) {
            thread::sleep(Duration::from_millis(1));
        }
        let mut got = self.got.lock().unwrap();
        got.extend(batch.iter().map(|e| e.payload()["n"].as_u64().unwrap()));
        Ok(())
    }
}

fn numbered(n: u64) -> Event {
    Event::builder(EventType::SimulationStep, "bench")
        .attr("n", n)
        .build()
}

fn gate(open: bool) -> (Gate, Arc<AtomicBool>, Arc<Mutex<Vec<u64>>>) {
    let flag = Arc::new(AtomicBool::new(open));
    let got = Arc::new(Mutex::new(Vec::new()));
    (
        Gate {
            open: flag.clone(),
            got: got.clone(),
        },
        flag,
        got,
    )
}

#[test]
fn drop_newest_counts_every_drop_and_written_plus_dropped_is_offered() {
    let bus = EventBus::new();
    let (sink, open, got) = gate(false);
    let handle = attach(
        &bus,
        Box::new(sink),
        SinkOptions::default().capacity(16).batch_size(4),
    )
    .unwrap();
    let offered = 1_000;
    let mut accepted = 0;
    for n in 0..offered {
        accepted += bus.publish(&numbered(n));
    }
    open.store(true, Ordering::Release);
    handle.flush(Duration::from_secs(5)).unwrap();
    let s = handle.stats();
    assert!(
        s.dropped > 0,
        "the shut sink must have made the queue overflow"
    );
    assert_eq!(s.written + s.dropped, offered, "{s:?}");
    assert_eq!(s.written as usize, accepted);
    assert_eq!(got.lock().unwrap().len() as u64, s.written);
    assert_eq!(
        bus.stats().failed_deliveries,
        s.dropped,
        "a drop is a failed delivery on the bus too"
    );
    let kept = got.lock().unwrap().clone();
    assert!(kept.windows(2).all(|w| w[0] < w[1]), "order kept");
}

#[test]
fn block_policy_loses_nothing_from_two_threads() {
    let bus = EventBus::new();
    let (sink, _open, got) = gate(true);
    let handle = attach(
        &bus,
        Box::new(sink),
        SinkOptions::default()
            .capacity(64)
            .policy(DropPolicy::Block),
    )
    .unwrap();
    let per_thread = 50_000u64;
    let threads: Vec<_> = (0..2u64)
        .map(|t| {
            let bus = bus.clone();
            thread::spawn(move || {
                for n in 0..per_thread {
                    bus.publish(&numbered(t * per_thread + n));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    handle.shutdown(Duration::from_secs(10)).unwrap();
    let s = handle.stats();
    assert_eq!((s.written, s.dropped, s.failed), (2 * per_thread, 0, 0));
    let mut got = got.lock().unwrap().clone();
    got.sort_unstable();
    assert!(
        got.iter().copied().eq(0..2 * per_thread),
        "every event exactly once"
    );
}

/// Fails on odd batches, panics on events with n == 13.
struct Flaky {
    calls: u64,
    written: Arc<Mutex<Vec<u64>>>,
}

impl Sink for Flaky {
    fn name(&self) -> &str {
        "flaky"
    }
    fn write(&mut self, batch: &[Event]) -> Result<(), SinkError> {
        self.calls += 1;
        let ns: Vec<u64> = batch
            .iter()
            .map(|e| e.payload()["n"].as_u64().unwrap())
            .collect();
        if ns.contains(&13) {
            panic!("sink bug on 13");
        }
        if ns.contains(&20) {
            return Err(SinkError::new("disk full"));
        }
        self.written.lock().unwrap().extend(ns);
        Ok(())
    }
}

#[test]
fn errors_and_panics_are_counted_and_the_worker_keeps_going_and_others_are_unharmed() {
    let bus = EventBus::new();
    let written = Arc::new(Mutex::new(Vec::new()));
    let flaky = attach(
        &bus,
        Box::new(Flaky {
            calls: 0,
            written: written.clone(),
        }),
        SinkOptions::default().batch_size(1),
    )
    .unwrap();
    let (healthy_sink, _open, healthy_got) = gate(true);
    let healthy = attach(&bus, Box::new(healthy_sink), SinkOptions::default()).unwrap();
    for n in 0..40 {
        bus.publish(&numbered(n));
        // One event per batch, so the failures hit exactly 13 and 20.
        flaky.flush(Duration::from_secs(5)).unwrap();
    }
    healthy.flush(Duration::from_secs(5)).unwrap();
    let s = flaky.stats();
    assert_eq!(
        (s.written, s.failed, s.errors, s.panics),
        (38, 2, 1, 1),
        "{s:?}"
    );
    assert_eq!(written.lock().unwrap().len(), 38);
    assert_eq!(healthy_got.lock().unwrap().len(), 40);
    assert_eq!(healthy.stats().written, 40);
}

#[test]
fn after_shutdown_events_are_dropped_and_counted() {
    let bus = EventBus::new();
    let (sink, _open, got) = gate(true);
    let handle = attach(&bus, Box::new(sink), SinkOptions::default()).unwrap();
    bus.publish(&numbered(1));
    handle.shutdown(Duration::from_secs(5)).unwrap();
    handle.shutdown(Duration::from_secs(5)).unwrap(); // idempotent
    bus.publish(&numbered(2));
    let s = handle.stats();
    assert_eq!((s.written, s.dropped), (1, 1));
    assert_eq!(*got.lock().unwrap(), [1]);
    assert!(handle.flush(Duration::from_millis(100)).is_err());
}

#[test]
fn flush_times_out_with_a_clear_error_when_the_sink_is_stuck() {
    let bus = EventBus::new();
    let (sink, open, _got) = gate(false);
    let handle = attach(&bus, Box::new(sink), SinkOptions::default()).unwrap();
    bus.publish(&numbered(1));
    let err = handle.flush(Duration::from_millis(50)).unwrap_err();
    assert!(
        err.to_string()
            .contains("sink `gate` did not flush in time"),
        "{err}"
    );
    open.store(true, Ordering::Release);
    handle.flush(Duration::from_secs(5)).unwrap();
}
