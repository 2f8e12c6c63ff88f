//! The points' clock: a process-wide wall clock in microseconds, advanced
//! every millisecond by a background thread (`fcc-points-clock`) while
//! points are being recorded faster than it ticks, so that a point reads one
//! shared word. Reading the CPU's time-stamp counter for every point cost
//! about as much as the rest of the point on this project's machines
//! (`rdtsc` does not overlap with the locked adds around it), and the
//! kernel's coarse clock more.
//!
//! What a point's timestamp means: while the ticker runs, the wall clock
//! at its last tick, so never after the moment the point was recorded and,
//! while the ticker gets a core, at most about a millisecond before it (a
//! point's order among the others is its place in the list, not its
//! timestamp). While the ticker sleeps, a point reads the system clock
//! itself (exact, and a few tens of nanoseconds). The ticker sleeps after
//! [`AWAKE_TICKS`] ticks and is woken by a point that finds it asleep less
//! than a tick after another one did: points more than a thousand a second
//! apart, or fewer, never wake it (a thread ticking a thousand times a second
//! would cost more than it saves), and an idle process has no ticker
//! wake-ups. The ring checks the clock against the system's every
//! [`CHECK_EVERY`] points; a ticker that has fallen [`STALE`] behind (a
//! starved core, a process that forked without it) is replaced.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Between two ticks.
const TICK: Duration = Duration::from_millis(1);
/// Ticks before the ticker sleeps until points come fast again.
pub(crate) const AWAKE_TICKS: u32 = 100;
/// The ring compares the clock with the system's once every this many points.
pub(crate) const CHECK_EVERY: u64 = 1024;
/// A clock this far behind the system's has lost its ticker.
const STALE: Duration = Duration::from_millis(100);

/// The wall clock at the last tick, in microseconds since the Unix epoch,
/// shifted left by one; the low bit is set while the ticker sleeps.
static NOW: AtomicU64 = AtomicU64::new(SLEEPING);
const SLEEPING: u64 = 1;

/// The running ticker's number: a ticker whose number is no longer this
/// one stops (it was replaced).
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// The running ticker, to wake it.
static TICKER: Mutex<Option<std::thread::Thread>> = Mutex::new(None);

/// No thread could be started: every point reads the system clock.
static NO_TICKER: AtomicBool = AtomicBool::new(false);

/// When a point last found the ticker asleep (microseconds).
static LAST_MISS: AtomicU64 = AtomicU64::new(0);

fn system_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
        // Never 0 (a clock set before 1970): 0 would read as "no time".
        .max(1)
}

/// Now, in microseconds since the Unix epoch (see the module doc).
#[inline(always)]
pub(crate) fn now_micros() -> u64 {
    let w = NOW.load(Ordering::Relaxed);
    if w & SLEEPING != 0 {
        return wake(w);
    }
    w >> 1
}

/// The ticker sleeps: this point reads the system clock, and wakes the
/// ticker when another point found it asleep less than a tick ago (one of
/// the points that find it so does).
#[cold]
#[inline(never)]
fn wake(seen: u64) -> u64 {
    let now = system_micros();
    let previous = LAST_MISS.swap(now, Ordering::Relaxed);
    if now.saturating_sub(previous) < TICK.as_micros() as u64
        && !NO_TICKER.load(Ordering::Relaxed)
        && NOW
            .compare_exchange(seen, now << 1, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        let mut ticker = lock_ticker();
        match ticker.as_ref() {
            Some(t) => t.unpark(),
            None => replace(&mut ticker),
        }
    }
    now
}

fn lock_ticker() -> std::sync::MutexGuard<'static, Option<std::thread::Thread>> {
    TICKER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Starts a ticker in place of `ticker` (which stops, if it still runs).
fn replace(ticker: &mut Option<std::thread::Thread>) {
    let generation = GENERATION.fetch_add(1, Ordering::Relaxed) + 1;
    if let Some(old) = ticker.take() {
        old.unpark();
    }
    *ticker = std::thread::Builder::new()
        .name("fcc-points-clock".into())
        .spawn(move || tick(generation))
        .ok()
        .map(|h| h.thread().clone());
    if ticker.is_none() {
        NO_TICKER.store(true, Ordering::Relaxed);
        NOW.store(SLEEPING, Ordering::Relaxed);
    }
}

fn tick(generation: u64) {
    let mine = || GENERATION.load(Ordering::Relaxed) == generation;
    while mine() {
        for _ in 0..AWAKE_TICKS {
            std::thread::sleep(TICK);
            if !mine() {
                return;
            }
            NOW.store(system_micros() << 1, Ordering::Relaxed);
        }
        // Asleep until points find the bit and unpark us (a point that did
        // so between the store and the park makes the park return at once;
        // a spurious return just ticks again).
        NOW.fetch_or(SLEEPING, Ordering::Relaxed);
        std::thread::park();
    }
}

/// The ring's check, once every [`CHECK_EVERY`] points: a clock that has
/// fallen [`STALE`] behind the system's gets a new ticker, and the points
/// meanwhile read the system clock.
#[cold]
#[inline(never)]
pub(crate) fn check() {
    let w = NOW.load(Ordering::Relaxed);
    if w & SLEEPING != 0 {
        return;
    }
    let behind = system_micros().saturating_sub(w >> 1);
    if behind > STALE.as_micros() as u64 {
        replace(&mut lock_ticker());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_is_never_ahead_of_the_system_and_runs_while_read_often() {
        let mut last = 0;
        // Reads far apart (the ticker sleeps or runs, whatever other tests
        // do meanwhile), then back to back (it runs).
        for pause in [3, 3, 0, 0, 0] {
            for _ in 0..1000 {
                let before = system_micros();
                let t = now_micros();
                let after = system_micros();
                assert!(t <= after, "ahead of the system clock");
                // Generous: a loaded machine delays the ticker.
                assert!(t + 5_000_000 >= before, "{t} long before {before}");
                last = last.max(t);
                if pause > 0 {
                    std::thread::sleep(Duration::from_millis(pause));
                    break;
                }
            }
        }
        check();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while now_micros() <= last {
            assert!(std::time::Instant::now() < deadline, "the clock stopped");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
