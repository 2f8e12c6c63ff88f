//! [`Backoff`]: the one retry schedule every retry loop in fcc uses (the
//! span pipeline's lanes, fcc's OTLP client for spans and metrics, the
//! export circuit's rests, the store sink and its Postgres connection, the
//! Kubernetes client): doubling delays with jitter, a cap per delay, and a
//! bound on the number of tries and on the total time.

use std::time::{Duration, Instant};

/// Delays between tries: doubling from `first` up to `max`, each drawn
/// from its upper half ("equal jitter": `d/2 + rand(0..=d/2)`), so that
/// many clients that failed together do not retry together. It stops
/// giving delays after the configured number of tries, or when the next
/// delay would end past the deadline.
///
/// ```
/// use std::time::Duration;
/// use fcc::export::Backoff;
///
/// let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2)).tries(3);
/// let first = backoff.next_delay().unwrap();
/// assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
/// let second = backoff.next_delay().unwrap();
/// assert!(second >= Duration::from_millis(100) && second <= Duration::from_millis(200));
/// assert_eq!(backoff.next_delay(), None, "three tries: two delays");
/// ```
#[derive(Clone, Debug)]
pub struct Backoff {
    next: Duration,
    max: Duration,
    retries_left: u32,
    deadline: Option<Instant>,
}

impl Backoff {
    /// Delays from `first`, doubling, at most `max` each; unbounded tries
    /// until [`tries`](Self::tries) or [`within`](Self::within) bound them.
    pub fn new(first: Duration, max: Duration) -> Backoff {
        Backoff {
            next: first,
            max: max.max(first),
            retries_left: u32::MAX,
            deadline: None,
        }
    }

    /// At most `tries` tries in all (the first one included): `tries - 1`
    /// delays.
    pub fn tries(mut self, tries: u32) -> Backoff {
        self.retries_left = tries.saturating_sub(1);
        self
    }

    /// No delay that would end more than `total` from now.
    pub fn within(mut self, total: Duration) -> Backoff {
        self.deadline = Some(Instant::now() + total);
        self
    }

    /// The time left before the deadline set by [`within`](Self::within)
    /// (`None`: no deadline).
    pub fn time_left(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// The delay before the next try, or `None` when no try is left.
    pub fn next_delay(&mut self) -> Option<Duration> {
        self.next_delay_at_least(Duration::ZERO)
    }

    /// Like [`next_delay`](Self::next_delay), but no shorter than `hint`
    /// (a server's `Retry-After`); `None` if that would pass the deadline.
    pub fn next_delay_at_least(&mut self, hint: Duration) -> Option<Duration> {
        if self.retries_left == 0 {
            return None;
        }
        let half = self.next / 2;
        let jitter = half.mul_f64(unit_random());
        let delay = (half + jitter).max(hint);
        if self.deadline.is_some_and(|d| Instant::now() + delay > d) {
            self.retries_left = 0;
            return None;
        }
        self.retries_left -= 1;
        self.next = (self.next * 2).min(self.max);
        Some(delay)
    }

    /// Sleeps for the next delay; `false` (at once) when no try is left.
    pub fn wait(&mut self) -> bool {
        match self.next_delay() {
            Some(d) => {
                std::thread::sleep(d);
                true
            }
            None => false,
        }
    }
}

/// A uniform number in `[0, 1]`.
fn unit_random() -> f64 {
    (crate::internal::ids::random_nonzero_u64() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_with_jitter_up_to_the_cap() {
        for _ in 0..200 {
            let mut b =
                Backoff::new(Duration::from_millis(100), Duration::from_millis(400)).tries(6);
            let expected_max = [100, 200, 400, 400, 400];
            for max in expected_max {
                let d = b.next_delay().unwrap();
                let max = Duration::from_millis(max);
                assert!(
                    d >= max / 2 && d <= max,
                    "{d:?} not in [{:?}, {max:?}]",
                    max / 2
                );
            }
            assert_eq!(b.next_delay(), None);
        }
    }

    #[test]
    fn jitter_spreads_the_delays() {
        let delays: std::collections::HashSet<Duration> = (0..50)
            .map(|_| {
                Backoff::new(Duration::from_secs(1), Duration::from_secs(1))
                    .next_delay()
                    .unwrap()
            })
            .collect();
        assert!(delays.len() > 40, "{} distinct of 50", delays.len());
    }

    #[test]
    fn the_total_time_bounds_the_tries() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(60))
            .within(Duration::from_millis(10));
        assert_eq!(
            b.next_delay(),
            None,
            "the first delay would already pass the deadline"
        );
        let mut b = Backoff::new(Duration::from_millis(1), Duration::from_millis(1))
            .within(Duration::from_secs(60));
        assert!(b.next_delay().is_some());
    }

    #[test]
    fn a_server_hint_lengthens_the_delay() {
        let mut b = Backoff::new(Duration::from_millis(10), Duration::from_millis(10));
        let d = b.next_delay_at_least(Duration::from_secs(3)).unwrap();
        assert_eq!(d, Duration::from_secs(3));
        let mut b = Backoff::new(Duration::from_millis(10), Duration::from_millis(10))
            .within(Duration::from_secs(1));
        assert_eq!(b.next_delay_at_least(Duration::from_secs(3)), None);
    }

    #[test]
    fn one_try_means_no_delay() {
        assert_eq!(
            Backoff::new(Duration::from_millis(1), Duration::from_millis(1))
                .tries(1)
                .next_delay(),
            None
        );
        assert_eq!(
            Backoff::new(Duration::from_millis(1), Duration::from_millis(1))
                .tries(0)
                .next_delay(),
            None
        );
    }
}
