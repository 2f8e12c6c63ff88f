//! New ids: UUID v7 event ids, and the random source behind them and behind
//! trace and span ids.
//!
//! # Event ids
//!
//! `uuid::Uuid::now_v7()` asks the kernel for randomness on every call (a
//! `getrandom` syscall, most of an event's cost). fcc builds ids in user
//! space from the generator below:
//!
//! `unix_ms (48) | ver 7 (4) | counter hi (12) | var 0b10 (2) | counter lo (30) | random (32)`
//!
//! The 42-bit counter starts at a random value each millisecond and counts
//! up, so ids from one thread sort in creation order (RFC 9562, method 1).
//!
//! # The random source
//!
//! Ids must not be guessable from earlier ones (whoever sees a few could
//! otherwise name spans and traces they never saw, and forge parents that
//! join them), and a forked child must not repeat its parent's ids. Each
//! thread keys a ChaCha8 stream cipher with 32 bytes from the OS
//! (`getrandom`) and hands out its keystream: a CSPRNG, which splitmix64
//! (fcc's generator before issue 18, item 8) is not: one output of that gives
//! away its state, and with it every id after.
//!
//! - ChaCha with 8 rounds: the best published attack reaches 7, and "Too
//!   Much Crypto" (Aumasson, 2019) argues 8 are enough; 12 or 20 would cost
//!   1.5 or 2.5 times as much per byte, for ids.
//! - RustCrypto's `chacha20` crate, `rng` feature only (no cipher API): pure
//!   Rust, maintained, what `rand` 0.10's `StdRng` and `ThreadRng` are built
//!   on, with SIMD backends picked at run time (AVX2, SSE2; NEON). Its block
//!   function (`ChaChaCore`, as `ChaCha8Rng` uses it) computes four 64-byte
//!   blocks at once; fcc keeps them in a per-thread 256-byte buffer, so an id
//!   is a compare and two to six loads, and every 32nd span id pays a refill.
//!   The keystream is the cost that remains: about 0.4 ns a byte on the
//!   2 GHz Zen 1 it was measured on, 3 ns per span id more than splitmix64's
//!   arithmetic (`benches/ids.rs`; BENCHMARKS.md).
//! - Not `rand::ThreadRng`: since `rand` 0.9 it no longer reseeds in a forked
//!   child, and it would bring all of `rand` for two calls.
//!
//! # Fork
//!
//! A forked child inherits its parent's thread-local generator state and so,
//! left alone, would make the same ids as its parent. A `pthread_atfork`
//! child handler bumps a process-wide fork generation (one relaxed atomic
//! add, async-signal-safe); each thread's state keeps the generation it was
//! seeded in, compares it on every id (one relaxed load of a value that only
//! changes at fork) and reseeds from the OS when it differs. A child made by
//! `fork()` (libc's, `nix`'s, Python's `os.fork` in an embedding) runs the
//! handlers; one made by a raw `clone` syscall does not, and is not covered.
//! Should `pthread_atfork` fail (only for lack of memory), the check falls
//! back to comparing the process id, a syscall per id.
//!
//! Ids are never zero (the W3C invalid id): a zero draw is drawn again.

use std::cell::Cell;

use chacha20::rand_core::block::Generator as _;
use chacha20::rand_core::SeedableRng as _;
use chacha20::variants::Legacy;
use chacha20::{ChaChaCore, R8};
use uuid::Uuid;

/// ChaCha8 with a 64-bit block counter, as `chacha20::ChaCha8Rng` uses it.
type Core = ChaChaCore<R8, Legacy>;

/// 32-bit words of keystream per refill: four 64-byte ChaCha blocks, which
/// the AVX2 and NEON backends compute together.
const WORDS: usize = 64;

/// The generation of a thread that has made no id yet (no fork generation
/// reaches it).
const UNSEEDED: usize = usize::MAX;

/// One thread's generator and the event-id clock it drives, all in `Cell`s
/// (no borrow flag to set and clear per id). No field needs dropping, so
/// the thread-local is a plain const-initialised slot: no lazy-init or
/// destructor check on the way in; "not seeded yet" and "seeded before a
/// fork" are the one generation comparison.
struct State {
    /// The fork generation the key was drawn in, or [`UNSEEDED`].
    generation: Cell<usize>,
    /// The next unused word of `buf` (`WORDS`: none left).
    pos: Cell<usize>,
    /// Keystream not handed out yet, from `pos` on.
    buf: [Cell<u32>; WORDS],
    /// The cipher, keyed from the OS; `None` until the first id (and while
    /// a refill runs).
    core: Cell<Option<Core>>,
    /// The millisecond of the last event id.
    ms: Cell<u64>,
    /// The counter of the last event id.
    counter: Cell<u64>,
}

impl State {
    const fn new() -> State {
        State {
            generation: Cell::new(UNSEEDED),
            pos: Cell::new(WORDS),
            buf: [const { Cell::new(0) }; WORDS],
            core: Cell::new(None),
            ms: Cell::new(0),
            counter: Cell::new(0),
        }
    }

    /// The next `N` words of keystream: a compare and `N` loads while the
    /// buffer lasts and no fork happened.
    #[inline(always)]
    fn words<const N: usize>(&self) -> [u32; N] {
        const { assert!(N <= WORDS) };
        let pos = self.pos.get();
        if pos <= WORDS - N && self.generation.get() == fork::generation() {
            self.pos.set(pos + N);
            std::array::from_fn(|i| self.buf[pos + i].get())
        } else {
            self.words_slow()
        }
    }

    /// Reseeds if this thread has no key yet or this process is a forked
    /// child of the one that drew it, then refills (the few words left over
    /// are dropped: keystream is never handed out twice).
    #[cold]
    #[inline(never)]
    fn words_slow<const N: usize>(&self) -> [u32; N] {
        let mut core = self.core.take();
        if core.is_none() || self.generation.get() != fork::generation() {
            fork::watch();
            self.generation.set(fork::generation());
            core = Some(Core::from_seed(os_seed()));
            // A new counter start at the next event id: the parent goes on
            // counting from where both were.
            self.ms.set(0);
            self.counter.set(0);
        }
        let mut block = [0u32; WORDS];
        if let Some(core) = &mut core {
            core.generate(&mut block);
        }
        self.core.set(core);
        for (cell, word) in self.buf.iter().zip(block) {
            cell.set(word);
        }
        self.pos.set(0);
        self.words()
    }

    #[inline(always)]
    fn nonzero_u64(&self) -> u64 {
        loop {
            let [lo, hi] = self.words();
            let v = u64::from(lo) | (u64::from(hi) << 32);
            if v != 0 {
                return v;
            }
        }
    }

    #[inline(always)]
    fn nonzero_u128(&self) -> u128 {
        loop {
            let w: [u32; 4] = self.words();
            let v = u128::from(w[0])
                | (u128::from(w[1]) << 32)
                | (u128::from(w[2]) << 64)
                | (u128::from(w[3]) << 96);
            if v != 0 {
                return v;
            }
        }
    }
}

thread_local! {
    static STATE: State = const { State::new() };
}

/// Runs `f` on this thread's state; `None` only while the thread is torn
/// down (and only should a dependency make the cipher need dropping).
#[inline(always)]
fn with_state<R>(f: impl FnOnce(&State) -> R) -> Option<R> {
    STATE.try_with(f).ok()
}

/// 32 bytes from the OS to key a generator.
fn os_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    if getrandom::fill(&mut seed).is_err() {
        weak_seed(&mut seed);
    }
    seed
}

/// Only when the OS gives no randomness (a sandbox that forbids the call, a
/// kernel too early in boot): ids must still be made, and must still differ
/// between threads, processes and calls, though they are then guessable.
#[cold]
fn weak_seed(seed: &mut [u8; 32]) {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    let here = std::ptr::from_ref(seed) as usize;
    let hasher = BuildHasherDefault::<DefaultHasher>::default();
    for (i, chunk) in seed.chunks_exact_mut(8).enumerate() {
        let word = hasher.hash_one((i, nanos, call, here, std::process::id()));
        chunk.copy_from_slice(&word.to_le_bytes());
    }
}

/// A random `u64` straight from the OS, for a thread being torn down.
#[cold]
fn os_u64() -> u64 {
    u64::from_le_bytes(os_seed()[..8].try_into().unwrap_or([9; 8]))
}

const COUNTER_BITS: u32 = 42;

/// A counter start for a new millisecond: random, in the lower half of the
/// range so it has room to count up.
#[inline(always)]
fn fresh_counter(st: &State) -> u64 {
    let [lo, hi] = st.words();
    (u64::from(lo) | (u64::from(hi) << 32)) >> (64 - COUNTER_BITS + 1)
}

/// A new time-ordered UUID v7.
#[cfg(test)]
pub(crate) fn new_v7() -> Uuid {
    use std::time::{SystemTime, UNIX_EPOCH};
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    new_v7_at(now_ms)
}

/// A new UUID v7 for a time already read (milliseconds since the epoch).
pub(crate) fn new_v7_at(now_ms: u64) -> Uuid {
    with_state(|st| {
        // Drawn first: a fork reseeds here and restarts the counter.
        let [random] = st.words();
        let mut ms = now_ms.max(st.ms.get());
        let counter = if ms == st.ms.get() {
            let next = st.counter.get() + 1;
            if next >> COUNTER_BITS != 0 {
                // Counter exhausted within one millisecond: borrow the next one.
                ms += 1;
                fresh_counter(st)
            } else {
                next
            }
        } else {
            fresh_counter(st)
        };
        st.ms.set(ms);
        st.counter.set(counter);
        let value = (u128::from(ms & 0xFFFF_FFFF_FFFF) << 80)
            | (0x7u128 << 76)
            | (u128::from(counter >> 30) << 64)
            | (0b10u128 << 62)
            | (u128::from(counter & 0x3FFF_FFFF) << 32)
            | u128::from(random);
        Uuid::from_u128(value)
    })
    .unwrap_or_else(Uuid::now_v7)
}

/// A random non-zero `u64` (span ids, backoff jitter).
#[inline]
pub(crate) fn random_nonzero_u64() -> u64 {
    with_state(State::nonzero_u64).unwrap_or_else(|| loop {
        let v = os_u64();
        if v != 0 {
            return v;
        }
    })
}

/// A random non-zero `u128` (trace ids).
#[inline]
pub(crate) fn random_nonzero_u128() -> u128 {
    with_state(State::nonzero_u128).unwrap_or_else(|| loop {
        let v = (u128::from(os_u64()) << 64) | u128::from(os_u64());
        if v != 0 {
            return v;
        }
    })
}

/// A root span's ids, a non-zero trace id and a non-zero span id, in one
/// visit to the thread's generator.
#[inline]
pub(crate) fn random_root_ids() -> (u128, u64) {
    with_state(|st| loop {
        let w: [u32; 6] = st.words();
        let trace = u128::from(w[0])
            | (u128::from(w[1]) << 32)
            | (u128::from(w[2]) << 64)
            | (u128::from(w[3]) << 96);
        let span = u64::from(w[4]) | (u64::from(w[5]) << 32);
        if trace != 0 && span != 0 {
            return (trace, span);
        }
    })
    .unwrap_or_else(|| (random_nonzero_u128(), random_nonzero_u64()))
}

/// The process's fork generation, bumped in every forked child.
#[cfg(all(
    unix,
    not(any(target_os = "emscripten", target_os = "l4re", target_os = "nuttx"))
))]
mod fork {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    static GENERATION: AtomicUsize = AtomicUsize::new(0);
    /// Set once a handler is registered; a race between threads may register
    /// two, which only bumps the generation twice per fork.
    static WATCHING: AtomicBool = AtomicBool::new(false);
    /// Set when `pthread_atfork` failed: compare process ids instead.
    static BY_PID: AtomicBool = AtomicBool::new(false);

    /// The generation only ever grows in a child, before any of the child's
    /// code runs, on the one thread the child has.
    extern "C" fn in_child() {
        GENERATION.fetch_add(1, Ordering::Relaxed);
    }

    /// Registers the child handler, once per process (a child inherits its
    /// parent's handlers). No lock: a fork while another thread holds one
    /// would leave it held in the child.
    pub(super) fn watch() {
        if WATCHING.load(Ordering::Acquire) {
            return;
        }
        // SAFETY: `pthread_atfork` takes three optional function pointers;
        // the child handler is a plain `extern "C" fn()` with no captured
        // state that only does a lock-free atomic add, which is safe to run
        // in a forked child (async-signal-safe), and it lives as long as
        // the program (a static function).
        let rc = unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
        if rc == 0 {
            WATCHING.store(true, Ordering::Release);
        } else {
            BY_PID.store(true, Ordering::Relaxed);
        }
    }

    /// The current fork generation: a relaxed load is enough, since in a
    /// child the handler ran on this very thread, before `fork` returned.
    #[inline(always)]
    pub(super) fn generation() -> usize {
        if BY_PID.load(Ordering::Relaxed) {
            // The high bit keeps process ids apart from generation counts.
            std::process::id() as usize | !(usize::MAX >> 1)
        } else {
            GENERATION.load(Ordering::Relaxed)
        }
    }
}

/// No `fork` here: the generation never changes.
#[cfg(not(all(
    unix,
    not(any(target_os = "emscripten", target_os = "l4re", target_os = "nuttx"))
)))]
mod fork {
    pub(super) fn watch() {}

    #[inline(always)]
    pub(super) fn generation() -> usize {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::time::{SystemTime, UNIX_EPOCH};

    #[test]
    fn ids_are_v7_rfc_variant_unique_and_ordered() {
        let ids: Vec<Uuid> = (0..100_000).map(|_| new_v7()).collect();
        for w in ids.windows(2) {
            assert!(w[0] < w[1]);
        }
        let id = ids[0];
        assert_eq!(id.get_version_num(), 7);
        assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
        let (secs, _) = id.get_timestamp().unwrap().to_unix();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(now.abs_diff(secs) < 5);
    }

    #[test]
    fn a_new_fork_generation_reseeds_and_restarts_the_counter() {
        let words = |st: &State| st.buf.each_ref().map(Cell::get);
        let _ = new_v7();
        let (buf, ms) = with_state(|st| (words(st), st.ms.get())).unwrap();
        assert_ne!(ms, 0);
        // As after the child handler: this thread was seeded in another
        // generation than the current one.
        with_state(|st| st.generation.set(st.generation.get().wrapping_add(1))).unwrap();
        let _ = random_nonzero_u64();
        let (new_buf, ms) = with_state(|st| (words(st), st.ms.get())).unwrap();
        assert_ne!(buf, new_buf, "new keystream");
        assert_eq!(ms, 0, "a fresh counter at the next event id");
        assert_eq!(
            with_state(|st| st.generation.get()).unwrap(),
            fork::generation()
        );
    }

    /// Many ids on several threads at once, each thread with its own key:
    /// no id twice, none zero, every kind (the root span's pair too).
    #[test]
    fn ids_are_nonzero_and_distinct_across_threads() {
        const THREADS: usize = 4;
        const PER_THREAD: usize = 50_000;
        type Ids = (Vec<u64>, Vec<u128>, Vec<Uuid>);
        let per_thread: Vec<Ids> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..THREADS)
                .map(|_| {
                    s.spawn(|| {
                        let mut ids: Ids = Default::default();
                        for _ in 0..PER_THREAD {
                            let (trace, span) = random_root_ids();
                            ids.0.extend([span, random_nonzero_u64()]);
                            ids.1.extend([trace, random_nonzero_u128()]);
                            ids.2.push(new_v7());
                        }
                        ids
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let spans: HashSet<u64> = per_thread.iter().flat_map(|t| t.0.clone()).collect();
        let traces: HashSet<u128> = per_thread.iter().flat_map(|t| t.1.clone()).collect();
        let events: HashSet<Uuid> = per_thread.iter().flat_map(|t| t.2.clone()).collect();
        let n = THREADS * PER_THREAD;
        assert_eq!((spans.len(), traces.len(), events.len()), (2 * n, 2 * n, n));
        assert!(!spans.contains(&0) && !traces.contains(&0));
    }

    /// The buffer's end: draws of every size across many refills hand out
    /// each word once (no overlap, no word skipped but the tail at a refill).
    #[test]
    fn draws_across_refills_do_not_repeat() {
        let mut seen = HashSet::new();
        for i in 0..10_000 {
            let fresh = match i % 3 {
                0 => seen.insert(u128::from(random_nonzero_u64()) | 1 << 127),
                1 => seen.insert(random_nonzero_u128()),
                _ => {
                    let (t, s) = random_root_ids();
                    seen.insert(t) && seen.insert(u128::from(s) | 1 << 127)
                }
            };
            assert!(fresh, "draw {i} repeated an earlier one");
        }
    }

    #[test]
    fn the_weak_seed_still_differs_per_call() {
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        weak_seed(&mut a);
        weak_seed(&mut b);
        assert_ne!(a, b);
        assert_ne!(a, [0u8; 32]);
    }
}
