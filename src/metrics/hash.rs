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
pub(crate) fn short_word(rest: &[u8]) -> u64 {
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
    use super::{fast_eq, short_word};
    use std::collections::HashMap;

    /// Every string of up to 8 bytes over a small alphabet (with NUL and a
    /// multi-byte character): given its length, two different strings never
    /// share a word, and `fast_eq` agrees with `==`.
    #[test]
    fn short_words_are_exact_given_the_length() {
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
        let mut seen: HashMap<(usize, u64), &str> = HashMap::new();
        for s in &strings {
            let key = (s.len(), short_word(s.as_bytes()));
            if let Some(other) = seen.insert(key, s) {
                assert_eq!(other, s, "{other:?} and {s:?} share a word");
            }
        }
        for a in strings.iter().step_by(7) {
            for b in strings.iter().step_by(11) {
                assert_eq!(fast_eq(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }
}
