//! Flood control: at most so many events per call site in a time window.
//!
//! A tight error loop that emits the same event (same type, same source, same
//! line of code) thousands of times a second fills every sink with copies.
//! With a [`RateLimit`] set ([`TelemetryBuilder::rate_limit`](crate::TelemetryBuilder::rate_limit),
//! `FCC_RATE_LIMIT=100/s`) the first events of each window go through, the
//! rest are counted, and when the window ends the count goes out as one
//! `fcc.events.suppressed` event (warn, same source, with the event type,
//! the call site and the number), so nothing is lost silently. Counts still
//! pending at flush or shutdown go out then.
//!
//! Off by default: fcc's promise is that every event reaches every sink, and
//! a limit is a choice a service makes knowing its own rates.
//!
//! ```
//! use fcc::layer::RateLimit;
//! use std::time::Duration;
//! assert_eq!("100/s".parse::<RateLimit>(), Ok(RateLimit::new(100, Duration::from_secs(1))));
//! assert_eq!("20/min".parse::<RateLimit>(), Ok(RateLimit::new(20, Duration::from_secs(60))));
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::{Event, EventType, Severity};

/// At most `events` per call site in each window of `per`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Events let through per window and call site.
    pub events: u32,
    /// The window.
    pub per: Duration,
}

impl RateLimit {
    /// `events` per `per` and call site.
    pub fn new(events: u32, per: Duration) -> RateLimit {
        RateLimit {
            events: events.max(1),
            per: per.max(Duration::from_millis(1)),
        }
    }

    /// `events` per second and call site.
    pub fn per_second(events: u32) -> RateLimit {
        Self::new(events, Duration::from_secs(1))
    }
}

impl std::str::FromStr for RateLimit {
    type Err = String;
    /// `N/s`, `N/min` or `N/h`.
    fn from_str(s: &str) -> Result<RateLimit, String> {
        let bad = || format!("expected N/s, N/min or N/h (e.g. 100/s), not {s:?}");
        let (n, unit) = s.trim().split_once('/').ok_or_else(bad)?;
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        let per = match unit.trim() {
            "s" | "sec" => Duration::from_secs(1),
            "min" | "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        if n == 0 {
            return Err(bad());
        }
        Ok(RateLimit::new(n, per))
    }
}

/// Most call sites tracked; past it, new sites go unlimited until old ones
/// are forgotten (a site idle for two windows is).
const MAX_SITES: usize = 4096;

struct Site {
    window: Instant,
    passed: u32,
    suppressed: u64,
    event_type: EventType,
    source: String,
    location: String,
}

impl Site {
    /// The summary of what this site's window suppressed, if anything.
    fn summary(&mut self) -> Option<Event> {
        if self.suppressed == 0 {
            return None;
        }
        let n = std::mem::take(&mut self.suppressed);
        let kind = EventType::custom("fcc.events.suppressed").ok()?;
        Some(
            Event::builder(kind, &self.source)
                .severity(Severity::Warn)
                .detail(format!(
                    "{n} {} events from {} at {} suppressed by the rate limit",
                    self.event_type.as_str(),
                    self.source,
                    self.location
                ))
                .attr("event_type", self.event_type.as_str())
                .attr("location", self.location.as_str())
                .attr("suppressed", n)
                .build(),
        )
    }
}

/// The limit and each call site's window.
pub(crate) struct Limiter {
    limit: RateLimit,
    /// By a hash of (event type, source, call site): looking a site up
    /// allocates nothing. Two sites whose 64-bit hashes collide would share
    /// a window; the summary names the first.
    sites: Mutex<HashMap<u64, Site>>,
    suppressed: AtomicU64,
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Limiter {
        Limiter {
            limit,
            sites: Mutex::new(HashMap::new()),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Events suppressed so far (each also counted in a summary event).
    pub(crate) fn suppressed(&self) -> u64 {
        self.suppressed.load(Ordering::Relaxed)
    }

    /// Whether `e` (emitted at `location`) goes through, and the summary of
    /// its site's previous window to publish first.
    pub(crate) fn check(
        &self,
        e: &Event,
        location: &dyn std::fmt::Display,
    ) -> (bool, Option<Event>) {
        use std::hash::{BuildHasher, Hash, Hasher};
        /// Feeds what `Display` writes to a hasher, without a `String`.
        struct HashWriter<'a, H>(&'a mut H);
        impl<H: Hasher> std::fmt::Write for HashWriter<'_, H> {
            fn write_str(&mut self, s: &str) -> std::fmt::Result {
                self.0.write(s.as_bytes());
                Ok(())
            }
        }
        static KEYS: std::sync::OnceLock<std::collections::hash_map::RandomState> =
            std::sync::OnceLock::new();
        let mut h = KEYS.get_or_init(Default::default).build_hasher();
        e.event_type().as_str().hash(&mut h);
        e.source().hash(&mut h);
        let _ = std::fmt::write(&mut HashWriter(&mut h), format_args!("{location}"));
        let key = h.finish();
        let now = Instant::now();
        let mut sites = self.sites.lock().unwrap_or_else(|p| p.into_inner());
        if !sites.contains_key(&key) && sites.len() >= MAX_SITES {
            let per = self.limit.per;
            sites.retain(|_, s| s.suppressed > 0 || now.duration_since(s.window) < per * 2);
            if sites.len() >= MAX_SITES {
                return (true, None);
            }
        }
        let site = sites.entry(key).or_insert_with(|| Site {
            window: now,
            passed: 0,
            suppressed: 0,
            event_type: e.event_type().clone(),
            source: e.source().to_owned(),
            location: location.to_string(),
        });
        let mut summary = None;
        if now.duration_since(site.window) >= self.limit.per {
            summary = site.summary();
            site.window = now;
            site.passed = 0;
        }
        if site.passed < self.limit.events {
            site.passed += 1;
            (true, summary)
        } else {
            site.suppressed += 1;
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            (false, summary)
        }
    }

    /// The summaries of every window with suppressed events (at flush and
    /// shutdown).
    pub(crate) fn drain(&self) -> Vec<Event> {
        let mut sites = self.sites.lock().unwrap_or_else(|p| p.into_inner());
        sites.values_mut().filter_map(Site::summary).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing() {
        assert_eq!("5/s".parse(), Ok(RateLimit::per_second(5)));
        for bad in ["0/s", "5", "5/week", "x/s"] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_first_events_pass_the_rest_are_counted_and_summarised() {
        let l = Limiter::new(RateLimit::new(3, Duration::from_secs(3600)));
        let e = Event::error("db", "query", "failed").build();
        let passed = (0..10).filter(|_| l.check(&e, &"a.rs:1").0).count();
        assert_eq!((passed, l.suppressed()), (3, 7));
        // Another call site has its own window.
        assert!(l.check(&e, &"a.rs:2").0);
        let summaries = l.drain();
        assert_eq!(summaries.len(), 1);
        assert_eq!(summaries[0].payload()["suppressed"], 7);
        assert_eq!(summaries[0].payload()["location"], "a.rs:1");
        assert!(l.drain().is_empty(), "said once");
    }
}
