//! The event recorder's memory, as client-go's keeps it: series of repeated
//! events and a spam limit per regarded object. Plain data and `Instant`s
//! passed in, so the rules are tested without a clock or a server.
//!
//! **Series.** A repeat of an event with the same type, reason and action
//! (the regarded Pod, controller and instance are the sink's own, so the same
//! too) while its series is live is not a new object: the first repeat
//! PATCHes `series: {count: 2, lastObservedTime}` at once, as client-go does;
//! later repeats only count, and the count is PATCHed at most once per
//! refresh interval, at flush and when the series ends. A series ends when no
//! repeat came for the series window (client-go's 6 minutes); the next
//! occurrence is a new Event.
//!
//! **Spam limit.** Each new Event object spends a token from the bucket of
//! the object it regards: 25 at first, one more every 5 minutes (client-go's
//! `EventSourceObjectSpamFilter`). With no token left the event is dropped and
//! counted. Repeats folded into a series spend none: they cost the API server
//! at most one PATCH per refresh interval.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use fcc::Event;

use crate::mapping::Fields;

/// A live series: the object it lives in and its counts.
#[derive(Debug)]
pub(crate) struct Series {
    /// The Event object's name.
    pub name: String,
    /// Occurrences so far (1: not a series yet).
    pub count: i32,
    /// The count the server has.
    pub sent_count: i32,
    /// Time of the latest occurrence, unix microseconds.
    pub last_observed_micros: i64,
    /// When the latest occurrence arrived.
    pub last_seen: Instant,
    /// When the count was last PATCHed (or the object created).
    pub last_sent: Instant,
    /// The first event, to re-create the object if it expired.
    pub first: Event,
}

/// What to do with an event.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// A new Event object.
    Create,
    /// The first repeat: PATCH the series now.
    Patch {
        name: String,
        count: i32,
        last_observed_micros: i64,
    },
    /// A later repeat: counted, PATCHed later.
    Folded,
}

/// Series by key, bounded.
pub(crate) struct SeriesCache {
    series: HashMap<Fields, Series>,
    capacity: usize,
    window: Duration,
    refresh: Duration,
}

/// A PATCH that is due.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct DuePatch {
    pub key: Fields,
    pub name: String,
    pub count: i32,
    pub last_observed_micros: i64,
}

impl SeriesCache {
    pub fn new(capacity: usize, window: Duration, refresh: Duration) -> Self {
        Self {
            series: HashMap::new(),
            capacity: capacity.max(1),
            window,
            refresh,
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Notes one occurrence of `key` and says what to send.
    pub fn observe(&mut self, key: &Fields, event_micros: i64, now: Instant) -> Step {
        let Some(s) = self.series.get_mut(key) else {
            return Step::Create;
        };
        if now.duration_since(s.last_seen) > self.window {
            // The series ended; its last count was sent by `due`/`flush`
            // unless nobody called them, in which case it is lost with the
            // entry (the caller sends pending counts before observing).
            self.series.remove(key);
            return Step::Create;
        }
        s.count = s.count.saturating_add(1);
        s.last_observed_micros = s.last_observed_micros.max(event_micros);
        s.last_seen = now;
        if s.count == 2 {
            Step::Patch {
                name: s.name.clone(),
                count: 2,
                last_observed_micros: s.last_observed_micros,
            }
        } else {
            Step::Folded
        }
    }

    /// A new object `name` was created for `first` (count 1 or, re-created, `count`).
    /// Evicts the least recently seen series when full and returns its
    /// unsent count, if any, to PATCH.
    pub fn created(
        &mut self,
        key: Fields,
        name: String,
        first: Event,
        count: i32,
        now: Instant,
    ) -> Option<DuePatch> {
        let mut evicted = None;
        if !self.series.contains_key(&key) && self.series.len() >= self.capacity {
            if let Some(oldest) = self
                .series
                .iter()
                .min_by_key(|(_, s)| s.last_seen)
                .map(|(k, _)| k.clone())
            {
                if let Some(s) = self.series.remove(&oldest) {
                    evicted = pending(oldest, &s);
                }
            }
        }
        let micros = first.timestamp().unix_micros();
        let last = self
            .series
            .get(&key)
            .map_or(micros, |s| s.last_observed_micros.max(micros));
        self.series.insert(
            key,
            Series {
                name,
                count,
                sent_count: count,
                last_observed_micros: last,
                last_seen: now,
                last_sent: now,
                first,
            },
        );
        evicted
    }

    /// The server now has `count` for `key`.
    pub fn sent(&mut self, key: &Fields, count: i32, now: Instant) {
        if let Some(s) = self.series.get_mut(key) {
            s.sent_count = s.sent_count.max(count);
            s.last_sent = now;
        }
    }

    /// Forgets `key` (its object is gone and could not be re-created).
    pub fn forget(&mut self, key: &Fields) -> Option<Series> {
        self.series.remove(key)
    }

    /// The first event of `key`'s series, to re-create an expired object.
    pub fn get(&self, key: &Fields) -> Option<&Series> {
        self.series.get(key)
    }

    /// PATCHes due now: counts unsent for the refresh interval, and (`all`)
    /// every unsent count. Series idle past the window are removed after
    /// their last count is returned.
    pub fn due(&mut self, now: Instant, all: bool) -> Vec<DuePatch> {
        let mut out = Vec::new();
        let mut ended = Vec::new();
        for (k, s) in &self.series {
            let idle = now.duration_since(s.last_seen) > self.window;
            if idle {
                ended.push(k.clone());
            }
            if s.count > s.sent_count
                && (all || idle || now.duration_since(s.last_sent) >= self.refresh)
            {
                out.extend(pending(k.clone(), s));
            }
        }
        for k in ended {
            self.series.remove(&k);
        }
        out
    }
}

fn pending(key: Fields, s: &Series) -> Option<DuePatch> {
    (s.count > s.sent_count && s.count >= 2).then(|| DuePatch {
        key,
        name: s.name.clone(),
        count: s.count,
        last_observed_micros: s.last_observed_micros,
    })
}

/// Token buckets per regarded object: `burst` at first, one more per `every`.
pub(crate) struct SpamFilter {
    buckets: HashMap<String, (f64, Instant)>,
    burst: f64,
    every: Duration,
}

/// Most regarded objects tracked (the sink regards one Pod; this bounds misuse).
const MAX_BUCKETS: usize = 4096;

impl SpamFilter {
    pub fn new(burst: u32, every: Duration) -> Self {
        Self {
            buckets: HashMap::new(),
            burst: f64::from(burst.max(1)),
            every: every.max(Duration::from_millis(1)),
        }
    }

    /// Spends a token of `object`'s bucket; false when it has none.
    pub fn allow(&mut self, object: &str, now: Instant) -> bool {
        if !self.buckets.contains_key(object) && self.buckets.len() >= MAX_BUCKETS {
            self.buckets.clear();
        }
        let (tokens, last) = self
            .buckets
            .entry(object.to_owned())
            .or_insert((self.burst, now));
        let refill = now.duration_since(*last).as_secs_f64() / self.every.as_secs_f64();
        *tokens = (*tokens + refill).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(reason: &str) -> Fields {
        Fields {
            type_: "Warning",
            reason: reason.into(),
            action: "Connect".into(),
        }
    }

    #[test]
    fn repeats_become_a_series_patched_at_two_then_per_refresh() {
        let t0 = Instant::now();
        let mut c = SeriesCache::new(10, Duration::from_secs(360), Duration::from_secs(30));
        let k = key("Failed");
        let e = Event::info("a", "b", "c").build();
        let b = e.timestamp().unix_micros();
        assert_eq!(c.observe(&k, b, t0), Step::Create);
        assert_eq!(c.created(k.clone(), "pod.1".into(), e, 1, t0), None);
        let s = c.observe(&k, b + 2, t0 + Duration::from_secs(1));
        assert_eq!(
            s,
            Step::Patch {
                name: "pod.1".into(),
                count: 2,
                last_observed_micros: b + 2
            }
        );
        c.sent(&k, 2, t0 + Duration::from_secs(1));
        assert_eq!(
            c.observe(&k, b + 3, t0 + Duration::from_secs(2)),
            Step::Folded
        );
        assert_eq!(
            c.observe(&k, b + 4, t0 + Duration::from_secs(3)),
            Step::Folded
        );
        assert!(c.due(t0 + Duration::from_secs(10), false).is_empty());
        let due = c.due(t0 + Duration::from_secs(31), false);
        assert_eq!(due.len(), 1);
        assert_eq!((due[0].count, due[0].last_observed_micros), (4, b + 4));
        c.sent(&k, 4, t0 + Duration::from_secs(31));
        assert!(c.due(t0 + Duration::from_secs(32), true).is_empty());
        // After the window the series ends and the next occurrence is new.
        assert_eq!(
            c.observe(&k, 9, t0 + Duration::from_secs(400)),
            Step::Create
        );
    }

    #[test]
    fn an_ended_series_sends_its_last_count_then_goes() {
        let t0 = Instant::now();
        let mut c = SeriesCache::new(10, Duration::from_secs(60), Duration::from_secs(3600));
        let k = key("R");
        c.created(
            k.clone(),
            "n".into(),
            Event::info("a", "b", "c").build(),
            1,
            t0,
        );
        c.observe(&k, 5, t0);
        c.sent(&k, 2, t0);
        c.observe(&k, 6, t0);
        let due = c.due(t0 + Duration::from_secs(61), false);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].count, 3);
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn the_cache_is_bounded_and_evicts_with_the_unsent_count() {
        let t0 = Instant::now();
        let mut c = SeriesCache::new(2, Duration::from_secs(360), Duration::from_secs(30));
        let e = || Event::info("a", "b", "c").build();
        c.created(key("A"), "a".into(), e(), 1, t0);
        c.observe(&key("A"), 1, t0);
        c.created(key("B"), "b".into(), e(), 1, t0 + Duration::from_secs(1));
        let evicted = c.created(key("C"), "c".into(), e(), 1, t0 + Duration::from_secs(2));
        assert_eq!(c.len(), 2);
        assert_eq!(
            evicted.map(|d| (d.name, d.count)),
            Some(("a".to_owned(), 2))
        );
        assert!(c.get(&key("A")).is_none());
    }

    #[test]
    fn spam_filter_allows_a_burst_then_one_per_period() {
        let t0 = Instant::now();
        let mut f = SpamFilter::new(25, Duration::from_secs(300));
        let allowed = (0..40).filter(|_| f.allow("pod", t0)).count();
        assert_eq!(allowed, 25);
        assert!(f.allow("other-pod", t0), "buckets are per object");
        assert!(!f.allow("pod", t0 + Duration::from_secs(299)));
        assert!(f.allow("pod", t0 + Duration::from_secs(301)));
        assert!(!f.allow("pod", t0 + Duration::from_secs(302)));
    }
}
