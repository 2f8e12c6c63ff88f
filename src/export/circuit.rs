//! [`Circuit`]: an exporter whose export just failed (after all its tries)
//! rests before the next call, so that a collector that is down or hung
//! costs the export thread one failed batch per rest, not one per batch,
//! and the queue keeps draining to the exporters that work.
//!
//! While it rests, batches for that exporter are counted as not delivered
//! without a call. The first batch after the rest is the probe: if it goes
//! through, export resumes; if not, the next rest is longer (doubling with
//! jitter, from 1 s up to 30 s).

use std::time::{Duration, Instant};

use super::Backoff;

const FIRST_REST: Duration = Duration::from_secs(1);
const LONGEST_REST: Duration = Duration::from_secs(30);

/// One exporter's state: working, or resting until an instant.
#[derive(Debug)]
pub(crate) struct Circuit {
    resting_until: Option<Instant>,
    rests: Backoff,
}

impl Default for Circuit {
    fn default() -> Self {
        Circuit {
            resting_until: None,
            rests: Backoff::new(FIRST_REST, LONGEST_REST),
        }
    }
}

impl Circuit {
    /// Whether the exporter may be called now.
    pub(crate) fn allows(&self) -> bool {
        self.resting_until.is_none_or(|t| Instant::now() >= t)
    }

    /// How the call went: success closes the circuit, failure starts a rest.
    pub(crate) fn record(&mut self, ok: bool) {
        if ok {
            *self = Circuit::default();
        } else {
            let rest = self.rests.next_delay().unwrap_or(LONGEST_REST);
            self.resting_until = Some(Instant::now() + rest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_rests_and_a_success_resumes() {
        let mut c = Circuit::default();
        assert!(c.allows());
        c.record(false);
        assert!(!c.allows(), "resting after a failure");
        c.resting_until = Some(Instant::now());
        assert!(c.allows(), "the probe after the rest");
        c.record(true);
        assert!(c.allows() && c.resting_until.is_none());
    }

    #[test]
    fn rests_grow_while_probes_fail() {
        let mut c = Circuit::default();
        c.record(false);
        let first = c.resting_until.unwrap() - Instant::now();
        c.record(false);
        let second = c.resting_until.unwrap() - Instant::now();
        assert!(
            first <= FIRST_REST && second > FIRST_REST,
            "{first:?} then {second:?}"
        );
    }
}
