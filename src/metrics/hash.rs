//! Hashing and comparing short strings (metric names, label keys and
//! values) fast: a word-at-a-time hash and a `memcmp`-free equality, both
//! reading short tails with overlapping loads instead of copying them into a
//! buffer (a copy then a wide load stalls on store forwarding).

use std::hash::{BuildHasherDefault, Hasher};

/// A word-at-a-time hash (FxHash's), much faster than SipHash for short keys.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

pub(crate) const K: u64 = 0x517c_c1b7_2722_0a95;

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            // Loads, not a copy into a buffer: a copy then a wide load stalls
            // on store forwarding, which dominated short label values.
            self.0 = (self.0.rotate_left(5) ^ short_word(rest) ^ rest.len() as u64).wrapping_mul(K);
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.0 = (self.0.rotate_left(5) ^ i as u64).wrapping_mul(K);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(K);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type FxBuild = BuildHasherDefault<FxHasher>;

/// Up to 8 bytes as a word, exactly (given the length), each byte at its
/// own position: overlapping loads, no copy into a buffer.
#[inline(always)]
fn short_word(rest: &[u8]) -> u64 {
    let n = rest.len();
    if n.wrapping_sub(4) <= 4 {
        // 4 to 8 bytes: the first 4 and the last 4, the last shifted to
        // their own place (where they overlap, the bytes are the same).
        let lo = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as u64;
        let hi = u32::from_le_bytes([rest[n - 4], rest[n - 3], rest[n - 2], rest[n - 1]]) as u64;
        lo | hi << ((n - 4) * 8)
    } else if n > 0 && n < 4 {
        rest[0] as u64 | (rest[n / 2] as u64) << 8 | (rest[n - 1] as u64) << 16
    } else {
        0
    }
}

/// The top byte of a fingerprint of a string over 8 bytes (a hash). `0xF5`
/// to `0xFF` never occur in UTF-8, so the three kinds of fingerprint below
/// never equal one another.
const LONG: u64 = 0xF5 << 56;

/// A string's fingerprint for the per-thread series cache, one word:
/// - up to 7 bytes: the bytes, with `0xF8 | length` as the top byte (exact);
/// - 8 bytes: the bytes (exact; the last byte of UTF-8 is below `0xF5`);
/// - longer: a hash, top byte `0xF5` (a match is confirmed byte for byte).
#[inline(always)]
pub(crate) fn fingerprint(s: &str) -> u64 {
    let b = s.as_bytes();
    let n = b.len();
    /// By length: `0xF8 | length` in the top byte below 8 bytes, nothing at 8.
    const TAG: [u64; 9] = {
        let mut t = [0u64; 9];
        let mut n = 0;
        while n < 8 {
            t[n] = (0xF8 | n as u64) << 56;
            n += 1;
        }
        t
    };
    if n <= 8 {
        short_word(b) | TAG[n]
    } else {
        let mut h = FxHasher::default();
        h.write(b);
        h.finish() >> 8 | LONG
    }
}

/// Whether a fingerprint is a hash (its string is over 8 bytes), so that a
/// match must be confirmed byte for byte.
#[inline]
pub(crate) fn is_hash(fingerprint: u64) -> bool {
    fingerprint >> 56 == LONG >> 56
}

/// Byte equality without a `memcmp` call (label keys and values are short).
#[inline(always)]
pub(crate) fn fast_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    if a.len() <= 8 {
        short_word(a) == short_word(b)
    } else {
        a == b
    }
}

/// The hash of a label set, the same whatever order the pairs come in.
#[inline]
pub(crate) fn label_hash(labels: &[(&str, &str)]) -> u64 {
    let mut sum = labels.len() as u64;
    for (k, v) in labels {
        let mut h = FxHasher::default();
        h.write(k.as_bytes());
        h.write_u8(0xff);
        h.write(v.as_bytes());
        sum = sum.wrapping_add(h.finish());
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::{fast_eq, fingerprint, is_hash};
    use std::collections::HashMap;

    /// Every string of up to 8 bytes over a small alphabet (with NUL and a
    /// multi-byte character), and some long ones: two different strings of
    /// up to 8 bytes never share a fingerprint, and a long string's never
    /// equals a short one's.
    #[test]
    fn fingerprints_of_short_strings_are_exact_and_long_ones_apart() {
        let alphabet = ["", "\0", "a", "b", "é"];
        let mut strings: Vec<String> = vec![String::new()];
        for _ in 0..8 {
            let next: Vec<String> = strings
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .filter(|s| s.len() <= 8)
                .collect();
            strings.extend(next);
            strings.sort();
            strings.dedup();
        }
        assert!(strings.len() > 1000);
        let mut seen: HashMap<u64, &str> = HashMap::new();
        for s in &strings {
            assert!(!is_hash(fingerprint(s)), "{s:?}");
            if let Some(other) = seen.insert(fingerprint(s), s) {
                assert_eq!(other, s, "{other:?} and {s:?} share a fingerprint");
            }
        }
        for long in ["abcdefghi", "\0\0\0\0\0\0\0\0\0", "ééééé", &"x".repeat(100)] {
            let fp = fingerprint(long);
            assert!(!seen.contains_key(&fp), "{long:?} looks short");
            assert!(is_hash(fp));
        }
        for a in strings.iter().step_by(7) {
            for b in strings.iter().step_by(11) {
                assert_eq!(fast_eq(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }
}
