//! A slow sink holds at most its byte budget of events
//! (`SinkOptions::max_bytes`), whatever the count capacity: measured with a
//! counting allocator (this binary's global allocator), under drop-newest
//! (the rest counted as dropped) and under block (the emitter waits,
//! nothing is lost).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fcc::sinks::{attach, DropPolicy, Sink, SinkError, SinkOptions};
use fcc::{Event, EventBus, EventType};

use crate::support::alloc::{live, peak, reset_peak};

/// Writes nothing until opened, then writes slowly.
struct Sluggish {
    open: Arc<AtomicBool>,
}

impl Sink for Sluggish {
    fn name(&self) -> &str {
        "sluggish"
    }
    fn write(&mut self, batch: &[Event]) -> Result<(), SinkError> {
        while !self.open.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(1));
        }
        // Slower than the emitter (a batch of 64 every 5 ms), so a queue
        // without a byte budget would grow by most of what is emitted.
        let _ = batch;
        std::thread::sleep(Duration::from_millis(5));
        Ok(())
    }
}

/// An event of a realistic size (strings, a payload), about 1 KiB in all.
fn event(n: u64) -> Event {
    Event::builder(EventType::ActionCompleted, "McpClient")
        .correlation_id(format!("run-{n}"))
        .detail("x".repeat(200))
        .attr("n", n)
        .attr("tool", "repo.search")
        .attr(
            "args",
            serde_json::json!({"query": "y".repeat(100), "limit": 50}),
        )
        .build()
}

const BUDGET: usize = 1 << 20;
/// What the budget does not cover: the queue's slots, the batch buffer, the
/// spent-event yard, allocator slack.
const SLACK: isize = 3 << 20;

#[test]
fn drop_newest_keeps_a_slow_sink_within_its_byte_budget_and_counts_the_rest() {
    let bus = EventBus::new();
    let open = Arc::new(AtomicBool::new(false));
    let options = SinkOptions::default()
        .capacity(1_000_000)
        .max_bytes(BUDGET)
        .policy(DropPolicy::DropNewest);
    let handle = attach(&bus, Box::new(Sluggish { open: open.clone() }), options).unwrap();
    let size = event(0).approx_bytes();
    assert!(size > 600, "a realistic event: {size} bytes");
    let before = live();
    const N: u64 = 20_000; // about 20 MB if the queue kept them all
    for n in 0..N {
        bus.publish(&event(n));
    }
    let grown = live() - before;
    assert!(
        grown < BUDGET as isize + SLACK,
        "a stuck sink held {grown} bytes with a budget of {BUDGET}"
    );
    open.store(true, Ordering::Release);
    handle.flush(Duration::from_secs(60)).unwrap();
    let s = handle.stats();
    assert_eq!(s.written + s.dropped, N, "{s:?}");
    assert!(s.dropped > N / 2, "most did not fit: {s:?}");
    assert!(
        s.written as usize * size <= BUDGET + size * 600,
        "written {} events of about {size} bytes: more than the budget (plus the batch in hand) held",
        s.written
    );
}

#[test]
fn block_waits_for_room_in_the_byte_budget_and_loses_nothing() {
    let bus = EventBus::new();
    let open = Arc::new(AtomicBool::new(true));
    let options = SinkOptions::default()
        .capacity(1_000_000)
        .max_bytes(BUDGET)
        .batch_size(64)
        .policy(DropPolicy::Block);
    let handle = attach(&bus, Box::new(Sluggish { open }), options).unwrap();
    let before = live();
    reset_peak();
    const N: u64 = 20_000;
    for n in 0..N {
        bus.publish(&event(n));
    }
    let grown_peak = peak() - before;
    handle.flush(Duration::from_secs(60)).unwrap();
    let s = handle.stats();
    assert_eq!((s.written, s.dropped), (N, 0), "{s:?}");
    assert!(
        grown_peak < BUDGET as isize + SLACK,
        "the queue grew to {grown_peak} bytes with a budget of {BUDGET}"
    );
}
