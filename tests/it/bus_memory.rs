//! The bus stays bounded however threads and buses come and go: a thread
//! publishing round-robin on more buses than it keeps counters for, and
//! thousands of short-lived threads, leave its memory where it was; the
//! counts stay exact. Measured with a counting allocator (this test binary's
//! global allocator), not by looking inside.

use std::sync::atomic::{AtomicUsize, Ordering};

use fcc::{Event, EventBus};

use crate::support::alloc::live;

#[test]
fn publishing_across_many_buses_and_threads_stays_bounded_and_counted() {
    let buses: Vec<EventBus> = (0..64).map(|_| EventBus::new()).collect();
    let delivered = std::sync::Arc::new(AtomicUsize::new(0));
    for b in &buses {
        let d = delivered.clone();
        b.subscribe(move |_: &Event| {
            d.fetch_add(1, Ordering::Relaxed);
        });
    }
    let event = Event::info("mem", "tick", "x").build();
    let round = |buses: &[EventBus]| {
        for b in buses {
            b.publish(&event);
        }
    };
    // Warm up: every (thread, bus) pair and the allocator's caches exist.
    for _ in 0..20 {
        round(&buses);
    }
    let before = live();
    // One thread cycling over 64 buses (it keeps counters for 32 at a time)...
    for _ in 0..2_000 {
        round(&buses);
    }
    // ...and 10,000 threads that publish once and exit.
    for _ in 0..10_000 {
        std::thread::scope(|s| {
            s.spawn(|| buses[0].publish(&event));
        });
    }
    let grown = live() - before;
    // Unbounded, each of those 138,000 (thread, bus) counters would stay:
    // over 17 MB. Bounded, the lists only breathe (up to 64 entries a bus).
    assert!(
        grown < 1024 * 1024,
        "the bus grew by {grown} bytes over 128,000 publishes and 10,000 threads"
    );
    let published: u64 = buses.iter().map(|b| b.stats().published).sum();
    let expected = 64 * (20 + 2_000) + 10_000;
    assert_eq!(published, expected);
    assert_eq!(delivered.load(Ordering::Relaxed) as u64, expected);
}
