//! An unsubscribed subscriber (and what it owns) is dropped when
//! `unsubscribe` returns, or, when another thread is delivering at that
//! moment, as soon as that delivery ends: never kept alive by a thread that
//! published once and went idle.

use fcc::{Event, EventBus};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};

/// Owned by a subscriber: counts its drop, and marks itself dead so a call
/// after the drop is seen.
struct Owned {
    alive: AtomicBool,
    drops: Arc<AtomicUsize>,
}

impl Drop for Owned {
    fn drop(&mut self) {
        self.alive.store(false, Ordering::SeqCst);
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

fn owning_subscriber(
    drops: &Arc<AtomicUsize>,
    calls_after_drop: &Arc<AtomicU64>,
) -> impl Fn(&Event) + Send + Sync + 'static {
    let owned = Owned {
        alive: AtomicBool::new(true),
        drops: drops.clone(),
    };
    let bad = calls_after_drop.clone();
    move |_: &Event| {
        if !owned.alive.load(Ordering::SeqCst) {
            bad.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn event() -> Event {
    Event::info("test", "tick", "x").build()
}

/// Runs `f` on a thread that then stays alive and idle until the returned
/// sender is dropped.
fn idle_after(
    f: impl FnOnce() + Send + 'static,
) -> (mpsc::Sender<()>, std::thread::JoinHandle<()>) {
    let (done_tx, done_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let handle = std::thread::spawn(move || {
        f();
        done_tx.send(()).unwrap();
        let _ = release_rx.recv();
    });
    done_rx.recv().unwrap();
    (release_tx, handle)
}

#[test]
fn a_subscriber_is_dropped_when_unsubscribe_returns_though_threads_that_published_are_idle() {
    let bus = EventBus::new();
    let drops = Arc::new(AtomicUsize::new(0));
    let bad = Arc::new(AtomicU64::new(0));
    let id = bus.subscribe(owning_subscriber(&drops, &bad));
    // Three threads publish once each and then sit idle, as a worker pool's
    // threads do between jobs; one publishes on another bus afterwards.
    let mut idle = Vec::new();
    for _ in 0..3 {
        let b = bus.clone();
        idle.push(idle_after(move || {
            assert_eq!(b.publish(&event()), 1);
        }));
    }
    let other = EventBus::new();
    let b = bus.clone();
    idle.push(idle_after(move || {
        b.publish(&event());
        other.publish(&event());
    }));
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    assert!(bus.unsubscribe(id));
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "the subscriber outlived unsubscribe: an idle thread's cached table kept it"
    );
    // The idle threads publish again: nothing is delivered to the dropped one.
    for (release, handle) in idle {
        drop(release);
        handle.join().unwrap();
    }
    assert_eq!(bus.publish(&event()), 0);
    assert_eq!(bad.load(Ordering::SeqCst), 0);
}

#[test]
fn a_subscriber_unsubscribed_during_a_delivery_is_dropped_when_that_delivery_ends() {
    let bus = EventBus::new();
    let drops = Arc::new(AtomicUsize::new(0));
    let bad = Arc::new(AtomicU64::new(0));
    // A slow subscriber first, so the delivery is under way while we unsubscribe.
    let inside = Arc::new(Barrier::new(2));
    let resume = Arc::new(Barrier::new(2));
    let (i, r) = (inside.clone(), resume.clone());
    bus.subscribe(move |_: &Event| {
        i.wait();
        r.wait();
    });
    let id = bus.subscribe(owning_subscriber(&drops, &bad));
    let b = bus.clone();
    let (release, handle) = {
        let (done_tx, done_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let handle = std::thread::spawn(move || {
            b.publish(&event());
            done_tx.send(()).unwrap();
            let _ = release_rx.recv();
        });
        inside.wait();
        assert!(bus.unsubscribe(id));
        // The delivery may still call it ("deliveries under way"), so it lives.
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        resume.wait();
        done_rx.recv().unwrap();
        (release_tx, handle)
    };
    // The delivery ended and the thread is idle: the subscriber is gone.
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    drop(release);
    handle.join().unwrap();
    assert_eq!(bad.load(Ordering::SeqCst), 0);
}

#[test]
fn a_subscriber_that_unsubscribes_itself_is_dropped_when_its_delivery_ends() {
    let bus = EventBus::new();
    let drops = Arc::new(AtomicUsize::new(0));
    let bad = Arc::new(AtomicU64::new(0));
    let id = Arc::new(std::sync::OnceLock::new());
    let (b, my_id, inner) = (bus.clone(), id.clone(), owning_subscriber(&drops, &bad));
    let sub = bus.subscribe(move |e: &Event| {
        inner(e);
        b.unsubscribe(*my_id.get().unwrap());
    });
    id.set(sub).unwrap();
    // `b` (a handle to the bus) lives in the subscriber: dropping the
    // subscriber drops it too, without deadlock.
    assert_eq!(bus.publish(&event()), 1);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert_eq!(bus.publish(&event()), 0);
    assert_eq!(bus.subscriber_count(), 0);
}

#[test]
fn churn_under_concurrent_publishing_reclaims_every_subscriber_and_calls_none_after_its_drop() {
    const PUBLISHERS: usize = 4;
    const ROUNDS: usize = 3_000;
    let buses = [EventBus::new(), EventBus::new()];
    let drops = Arc::new(AtomicUsize::new(0));
    let bad = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let parked = Arc::new(Barrier::new(PUBLISHERS + 1));
    let release = Arc::new(Barrier::new(PUBLISHERS + 1));
    let publishers: Vec<_> = (0..PUBLISHERS)
        .map(|t| {
            let (buses, stop, parked, release) =
                (buses.clone(), stop.clone(), parked.clone(), release.clone());
            std::thread::spawn(move || {
                let e = event();
                let mut n = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    buses[(n + t) % 2].publish(&e);
                    n += 1;
                }
                // Idle but alive while the main thread checks the drops.
                parked.wait();
                release.wait();
            })
        })
        .collect();
    let mut live = Vec::new();
    for round in 0..ROUNDS {
        let bus = &buses[round % 2];
        live.push((round % 2, bus.subscribe(owning_subscriber(&drops, &bad))));
        if live.len() > 8 {
            let (b, id) = live.remove(round % live.len());
            assert!(buses[b].unsubscribe(id));
        }
    }
    stop.store(true, Ordering::Relaxed);
    parked.wait();
    for (b, id) in live.drain(..) {
        assert!(buses[b].unsubscribe(id));
    }
    assert_eq!(
        drops.load(Ordering::SeqCst),
        ROUNDS,
        "every subscriber is dropped once, with the publishing threads idle but alive"
    );
    release.wait();
    for p in publishers {
        p.join().unwrap();
    }
    assert_eq!(
        bad.load(Ordering::SeqCst),
        0,
        "a subscriber was called after its drop"
    );
}

/// Makes this process's `membarrier` calls fail with `EPERM`, as a sandbox
/// that forbids it does (a seccomp filter; nextest gives each test a
/// process of its own). Must run before the process's first bus is made.
#[cfg(target_os = "linux")]
fn forbid_membarrier() {
    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let mut filter = [
        // The system call's number.
        stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0),
        libc::sock_filter {
            code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
            jt: 0,
            jf: 1,
            k: libc::SYS_membarrier as u32,
        },
        stmt(
            libc::BPF_RET | libc::BPF_K,
            libc::SECCOMP_RET_ERRNO | libc::EPERM as u32,
        ),
        stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW),
    ];
    let program = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_mut_ptr(),
    };
    // SAFETY: plain prctl calls; the filter outlives the call (the kernel
    // copies it).
    unsafe {
        assert_eq!(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
        assert_eq!(
            libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &program as *const libc::sock_fprog
            ),
            0
        );
        // MEMBARRIER_CMD_QUERY, now refused.
        assert_eq!(libc::syscall(libc::SYS_membarrier, 0, 0), -1);
    }
}

#[cfg(target_os = "linux")]
#[test]
fn without_membarrier_unsubscribed_subscribers_are_still_dropped_when_unsubscribe_returns() {
    forbid_membarrier();
    let bus = EventBus::new();
    let drops = Arc::new(AtomicUsize::new(0));
    let bad = Arc::new(AtomicU64::new(0));
    // Threads that published once and went idle: without a process-wide
    // fence the bus must still know they are not reading, or every change
    // would leave them a table (and its subscribers) to hold.
    let mut idle = Vec::new();
    for _ in 0..3 {
        let b = bus.clone();
        idle.push(idle_after(move || {
            b.publish(&event());
        }));
    }
    for round in 1..=200 {
        let id = bus.subscribe(owning_subscriber(&drops, &bad));
        assert_eq!(bus.publish(&event()), 1);
        assert!(bus.unsubscribe(id));
        assert_eq!(drops.load(Ordering::SeqCst), round, "round {round}");
    }
    // And under concurrent publishing, nothing is called after its drop.
    let stop = Arc::new(AtomicBool::new(false));
    let publishers: Vec<_> = (0..2)
        .map(|_| {
            let (b, stop) = (bus.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    b.publish(&event());
                }
            })
        })
        .collect();
    for _ in 0..500 {
        let id = bus.subscribe(owning_subscriber(&drops, &bad));
        assert!(bus.unsubscribe(id));
    }
    stop.store(true, Ordering::Relaxed);
    for p in publishers {
        p.join().unwrap();
    }
    for (release, handle) in idle {
        drop(release);
        handle.join().unwrap();
    }
    assert_eq!(drops.load(Ordering::SeqCst), 700);
    assert_eq!(bad.load(Ordering::SeqCst), 0);
}
