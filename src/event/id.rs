//! Fast UUID v7 event ids.
//!
//! `uuid::Uuid::now_v7()` asks the kernel for randomness on every call (a
//! `getrandom` syscall, most of an event's cost). fcc seeds a per-thread
//! generator from it once and then builds ids in user space:
//!
//! `unix_ms (48) | ver 7 (4) | counter hi (12) | var 0b10 (2) | counter lo (30) | random (32)`
//!
//! The 42-bit counter starts at a random value each millisecond and counts
//! up, so ids from one thread sort in creation order (RFC 9562, method 1).

use std::cell::Cell;
use uuid::Uuid;

struct State {
    ms: Cell<u64>,
    counter: Cell<u64>,
    rng: Cell<u64>,
}

thread_local! {
    static STATE: State = State {
        ms: Cell::new(0),
        counter: Cell::new(0),
        rng: Cell::new(u64::from_le_bytes(Uuid::new_v4().as_bytes()[..8].try_into().unwrap_or([7; 8])) | 1),
    };
}

fn splitmix(state: &Cell<u64>) -> u64 {
    let s = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
    state.set(s);
    let mut z = s;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const COUNTER_BITS: u32 = 42;

/// A counter start for a new millisecond: random, in the lower half of the
/// range so it has room to count up.
fn fresh_counter(rng: &Cell<u64>) -> u64 {
    splitmix(rng) >> (64 - COUNTER_BITS + 1)
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
    STATE
        .try_with(|st| {
            let mut ms = now_ms.max(st.ms.get());
            let counter = if ms == st.ms.get() {
                let next = st.counter.get() + 1;
                if next >> COUNTER_BITS != 0 {
                    // Counter exhausted within one millisecond: borrow the next one.
                    ms += 1;
                    fresh_counter(&st.rng)
                } else {
                    next
                }
            } else {
                fresh_counter(&st.rng)
            };
            st.ms.set(ms);
            st.counter.set(counter);
            let random = splitmix(&st.rng) as u32;
            let value = (u128::from(ms & 0xFFFF_FFFF_FFFF) << 80)
                | (0x7u128 << 76)
                | (u128::from(counter >> 30) << 64)
                | (0b10u128 << 62)
                | (u128::from(counter & 0x3FFF_FFFF) << 32)
                | u128::from(random);
            Uuid::from_u128(value)
        })
        .unwrap_or_else(|_| Uuid::now_v7())
}

/// A random non-zero `u64` from this thread's generator (trace and span ids).
pub(crate) fn random_nonzero_u64() -> u64 {
    STATE
        .try_with(|st| splitmix(&st.rng))
        .unwrap_or_else(|_| {
            u64::from_le_bytes(Uuid::new_v4().as_bytes()[..8].try_into().unwrap_or([9; 8]))
        })
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
