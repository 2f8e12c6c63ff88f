//! `EventBus::publish` against a plain `Vec<Box<dyn Fn(&Event)>>` loop (the
//! floor, issue 20's peer), the same list behind a `std::sync::RwLock` (the
//! least a hand-written bus needs to let other threads subscribe while it
//! publishes) and `tokio::sync::broadcast`, with 0, 1, 8 and 64 subscribers.
//!
//! Every subscriber does the cheapest realistic work: it bumps its own atomic
//! counter. Two shapes:
//! - `all_match/N`: N subscribers that all want the event;
//! - `one_matches/N`: N subscribers filtered on N different event types, one of
//!   which is the published type (the plain loop checks the type in each closure,
//!   as a hand-written bus would).
//!
//! Run: `cargo bench --bench publish`. The ratio table prints at the end.

mod support;

use criterion::{black_box, Criterion};
use fcc::{Event, EventBus, EventFilter, EventType};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

type Plain = Vec<Box<dyn Fn(&Event)>>;
type Locked = std::sync::RwLock<Vec<Box<dyn Fn(&Event) + Send + Sync>>>;
type Broadcast = tokio::sync::broadcast::Sender<Event>;
/// A broadcast receiver, the type it wants (None: any) and its counter.
type Receiver = (
    tokio::sync::broadcast::Receiver<Event>,
    Option<EventType>,
    Arc<AtomicU64>,
);

const SIZES: [usize; 4] = [0, 1, 8, 64];

fn counter_handler(c: Arc<AtomicU64>) -> impl Fn(&Event) + Send + Sync + 'static {
    move |_: &Event| {
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// The event types of an `n`-subscriber `one_matches` run: index 0 matches.
fn types(n: usize) -> Vec<EventType> {
    EventType::CATALOG.iter().cycle().take(n).cloned().collect()
}

fn setups(n: usize, one_matches: bool) -> (EventBus, Plain, Locked, Broadcast, Vec<Receiver>) {
    let bus = EventBus::new();
    let mut plain: Plain = Vec::new();
    let locked: Locked = Default::default();
    let (tx, _) = tokio::sync::broadcast::channel(1024);
    let mut rxs = Vec::new();
    for t in types(n) {
        let c = Arc::new(AtomicU64::new(0));
        if one_matches {
            bus.subscribe_filtered(
                counter_handler(c.clone()),
                EventFilter::new().event_types([t.clone()]),
            );
            let h = counter_handler(c.clone());
            let want = t.clone();
            plain.push(Box::new(move |e: &Event| {
                if e.event_type() == &want {
                    h(e)
                }
            }));
            let h = counter_handler(c.clone());
            let want = t.clone();
            locked.write().unwrap().push(Box::new(move |e: &Event| {
                if e.event_type() == &want {
                    h(e)
                }
            }));
            rxs.push((tx.subscribe(), Some(t), c));
        } else {
            bus.subscribe(counter_handler(c.clone()));
            plain.push(Box::new(counter_handler(c.clone())));
            locked
                .write()
                .unwrap()
                .push(Box::new(counter_handler(c.clone())));
            rxs.push((tx.subscribe(), None, c));
        }
    }
    (bus, plain, locked, tx, rxs)
}

fn bench_shape(c: &mut Criterion, shape: &str, one_matches: bool) {
    let mut group = c.benchmark_group(format!("publish/{shape}"));
    let event = Event::builder(EventType::CATALOG[0].clone(), "ActionEngine").build();
    for n in SIZES {
        let (bus, plain, locked, tx, mut rxs) = setups(n, one_matches);
        let id = |who: &str| format!("{shape}/{n}/{who}");
        let fcc_id = id("fcc");
        group.bench_function(format!("fcc/{n}"), |b| {
            b.iter_custom(|iters| {
                support::timed(&fcc_id, iters, || {
                    black_box(bus.publish(black_box(&event)));
                })
            })
        });
        let plain_id = id("plain");
        group.bench_function(format!("plain_loop/{n}"), |b| {
            b.iter_custom(|iters| {
                support::timed(&plain_id, iters, || {
                    for h in &plain {
                        h(black_box(&event));
                    }
                })
            })
        });
        let locked_id = id("rwlock");
        group.bench_function(format!("rwlock_loop/{n}"), |b| {
            b.iter_custom(|iters| {
                support::timed(&locked_id, iters, || {
                    for h in locked.read().unwrap().iter() {
                        h(black_box(&event));
                    }
                })
            })
        });
        let bc_id = id("broadcast");
        group.bench_function(format!("tokio_broadcast/{n}"), |b| {
            b.iter_custom(|iters| {
                support::timed(&bc_id, iters, || {
                    let _ = tx.send(black_box(&event).clone());
                    for (rx, want, c) in rxs.iter_mut() {
                        if let Ok(e) = rx.try_recv()
                            && want.as_ref().is_none_or(|w| e.event_type() == w)
                        {
                            c.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
        });
    }
    group.finish();
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    bench_shape(&mut c, "all_match", false);
    bench_shape(&mut c, "one_matches", true);
    c.final_summary();

    let mut rows = Vec::new();
    let labels: Vec<(String, String, String)> = ["all_match", "one_matches"]
        .iter()
        .flat_map(|shape| {
            SIZES.iter().flat_map(move |n| {
                ["plain", "rwlock", "broadcast"]
                    .into_iter()
                    .map(move |peer| {
                        (
                            format!("{shape}/{n}: fcc vs {peer}"),
                            format!("{shape}/{n}/fcc"),
                            format!("{shape}/{n}/{peer}"),
                        )
                    })
            })
        })
        .collect();
    for (l, a, b) in &labels {
        rows.push((l.as_str(), a.as_str(), b.as_str()));
    }
    support::print_ratios("EventBus::publish, mean per publish", &rows);
    let scale = [
        (
            "one_matches: 64 subscribers vs 1 (fcc)",
            "one_matches/64/fcc",
            "one_matches/1/fcc",
        ),
        (
            "one_matches: 64 subscribers vs 1 (plain)",
            "one_matches/64/plain",
            "one_matches/1/plain",
        ),
    ];
    support::print_ratios("Cost of subscribers that do not match", &scale);
}
