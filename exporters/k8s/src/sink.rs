//! [`K8sEventSink`]: fcc events in, `events.k8s.io/v1` Events out.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fcc::sinks::{DropPolicy, Sink, SinkError, SinkOptions};
use fcc::{Event, EventFilter};

use crate::client::{ApiClient, CallError, RetryPolicy};
use crate::mapping::{check_qualified_name, controller_name, series_patch, Fields, Reporter};
use crate::recorder::{DuePatch, SeriesCache, SpamFilter, Step};
use crate::{default_filter, K8sError, PodRef};

macro_rules! stats {
    ($($(#[$doc:meta])* $field:ident,)+) => {
        #[derive(Default)]
        struct Counters { $($field: AtomicU64,)+ }

        /// What a [`K8sEventSink`] did with the events it got. Every event
        /// lands in exactly one of `created`, `already_existed`, `repeats`,
        /// `spam_dropped`, `forbidden`, `not_found`, `invalid` and `failed`.
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct K8sStats { $($(#[$doc])* pub $field: u64,)+ }

        impl K8sStatsHandle {
            /// The counters now.
            pub fn get(&self) -> K8sStats {
                K8sStats { $($field: self.0.$field.load(Ordering::Relaxed),)+ }
            }
        }
    };
}

stats! {
    /// New Event objects created (201).
    created,
    /// Creates answered 409: the object was already there (a retried POST).
    already_existed,
    /// Events that repeated a live series instead of making an object.
    repeats,
    /// Series PATCHes the server accepted.
    series_patches,
    /// Series re-created because their object had expired (PATCH 404).
    series_recreated,
    /// Events over the spam limit, dropped.
    spam_dropped,
    /// Refused with 403: the ServiceAccount lacks `create`/`patch` on `events.k8s.io` `events`.
    forbidden,
    /// Refused with 404 (the namespace does not exist).
    not_found,
    /// Refused with 422 or 400: the server found the Event invalid.
    invalid,
    /// Given up after the last retry (transport errors, timeouts, 5xx), or another status.
    failed,
    /// Extra attempts after transport errors, timeouts, 429 and 5xx.
    retries,
}

/// A handle on a [`K8sEventSink`]'s counters, kept after the sink is attached.
#[derive(Clone, Default)]
pub struct K8sStatsHandle(Arc<Counters>);

impl K8sStatsHandle {
    fn add(&self, f: impl Fn(&Counters) -> &AtomicU64, n: u64) {
        f(&self.0).fetch_add(n, Ordering::Relaxed);
    }
}

/// Configures a [`K8sEventSink`]; every setting has the documented default.
#[derive(Clone)]
pub struct K8sEventSinkBuilder {
    pod: Option<PodRef>,
    controller: Option<String>,
    config: Option<kube::Config>,
    filter: EventFilter,
    queue: usize,
    burst: u32,
    refill: Duration,
    series_capacity: usize,
    series_window: Duration,
    series_refresh: Duration,
    policy: RetryPolicy,
    stats: K8sStatsHandle,
}

impl Default for K8sEventSinkBuilder {
    fn default() -> Self {
        Self {
            pod: None,
            controller: None,
            config: None,
            filter: default_filter(),
            queue: 1000,
            burst: 25,
            refill: Duration::from_secs(300),
            series_capacity: 1000,
            series_window: Duration::from_secs(6 * 60),
            series_refresh: Duration::from_secs(30),
            policy: RetryPolicy {
                attempts: 5,
                first_backoff: Duration::from_millis(200),
                max_backoff: Duration::from_secs(5),
                timeout: Duration::from_secs(10),
            },
            stats: K8sStatsHandle::default(),
        }
    }
}

impl K8sEventSinkBuilder {
    /// The Pod the Events regard (default: [`PodRef::from_env`] at build).
    pub fn pod(mut self, pod: PodRef) -> Self {
        self.pod = Some(pod);
        self
    }
    /// `reportingController`, a qualified name such as `example.com/checkout`
    /// (default: the service name made valid, see [`controller_name`](crate::controller_name)).
    pub fn reporting_controller(mut self, name: impl Into<String>) -> Self {
        self.controller = Some(name.into());
        self
    }
    /// How to reach the API server (default: in-cluster, `kube::Config::incluster()`).
    /// A developer's kubeconfig is only used when passed here.
    pub fn kube_config(mut self, config: kube::Config) -> Self {
        self.config = Some(config);
        self
    }
    /// Which events become Kubernetes Events (default [`default_filter`]).
    pub fn filter(mut self, filter: EventFilter) -> Self {
        self.filter = filter;
        self
    }
    /// Most events waiting for the API server (default 1000, client-go's);
    /// more are dropped and counted by the sink runtime, never blocking the emitter.
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.queue = n.max(1);
        self
    }
    /// Spam limit per regarded object: `burst` new Events, then one more per `every`
    /// (default 25 and 5 minutes).
    pub fn spam_limit(mut self, burst: u32, every: Duration) -> Self {
        self.burst = burst;
        self.refill = every;
        self
    }
    /// Series: most kept (default 1000), how long one lives without a repeat
    /// (default 6 minutes) and how often a growing count is PATCHed (default 30 s).
    pub fn series(mut self, capacity: usize, window: Duration, refresh: Duration) -> Self {
        self.series_capacity = capacity;
        self.series_window = window;
        self.series_refresh = refresh;
        self
    }
    /// Tries per request in all (default 5) and the first backoff (default
    /// 200 ms, doubling up to 5 s).
    pub fn retries(mut self, attempts: u32, first_backoff: Duration) -> Self {
        self.policy.attempts = attempts.max(1);
        self.policy.first_backoff = first_backoff;
        self
    }
    /// Longest wait for one answer (default 10 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.policy.timeout = timeout;
        self
    }
    /// The sink's counters, readable before and after it is attached.
    pub fn stats(&self) -> K8sStatsHandle {
        self.stats.clone()
    }

    pub(crate) fn default_controller(mut self, service: &str) -> Self {
        if self.controller.is_none() {
            self.controller = Some(controller_name(service));
        }
        self
    }

    /// Checks the settings and makes the client. Does not contact the API
    /// server: an unreachable one shows up as retried, then `failed`, events.
    pub fn build(self) -> Result<K8sEventSink, K8sError> {
        let pod = match self.pod {
            Some(p) => p,
            None => PodRef::from_env()?,
        };
        let controller = self.controller.unwrap_or_else(|| controller_name("fcc"));
        check_qualified_name(&controller).map_err(|reason| K8sError::Controller {
            value: controller.clone(),
            reason,
        })?;
        let config = match self.config {
            Some(c) => c,
            None => kube::Config::incluster().map_err(K8sError::NotInCluster)?,
        };
        let client = ApiClient::new(config, pod.namespace(), self.policy)?;
        let options = SinkOptions::default()
            .capacity(self.queue)
            .batch_size(64)
            .policy(DropPolicy::DropNewest)
            .poll_interval(Duration::from_millis(50))
            .filter(self.filter);
        let regarding = format!(
            "{}/{}/{}",
            pod.namespace(),
            pod.name(),
            pod.uid_str().unwrap_or("")
        );
        Ok(K8sEventSink {
            reporter: Reporter { controller, pod },
            regarding,
            client,
            cache: SeriesCache::new(
                self.series_capacity,
                self.series_window,
                self.series_refresh,
            ),
            spam: SpamFilter::new(self.burst, self.refill),
            stats: self.stats,
            options,
            logged: HashSet::new(),
            last_nanos: 0,
        })
    }
}

/// Writes selected events as Kubernetes Events regarding the application's
/// Pod, with client-go's series and spam limit. See the [crate docs](crate).
pub struct K8sEventSink {
    reporter: Reporter,
    regarding: String,
    client: ApiClient,
    cache: SeriesCache,
    spam: SpamFilter,
    stats: K8sStatsHandle,
    options: SinkOptions,
    logged: HashSet<&'static str>,
    last_nanos: i128,
}

impl K8sEventSink {
    /// A builder with the defaults.
    pub fn builder() -> K8sEventSinkBuilder {
        K8sEventSinkBuilder::default()
    }

    /// The options to attach it with: its filter, a bounded drop-newest queue.
    pub fn sink_options(&self) -> SinkOptions {
        self.options.clone()
    }

    /// Its counters.
    pub fn stats(&self) -> K8sStatsHandle {
        self.stats.clone()
    }

    fn record(&mut self, event: &Event) {
        let fields = Fields::of(event);
        let now = Instant::now();
        match self
            .cache
            .observe(&fields, event.timestamp().unix_micros(), now)
        {
            Step::Create => {
                if !self.spam.allow(&self.regarding, now) {
                    self.stats.add(|c| &c.spam_dropped, 1);
                    return;
                }
                self.create(event, fields, 1, now);
            }
            Step::Patch {
                name,
                count,
                last_observed_micros,
            } => {
                self.stats.add(|c| &c.repeats, 1);
                self.patch(DuePatch {
                    key: fields,
                    name,
                    count,
                    last_observed_micros,
                });
            }
            Step::Folded => self.stats.add(|c| &c.repeats, 1),
        }
    }

    /// POSTs a new object for `event` (as a series of `count` if > 1).
    /// Returns whether the server has it.
    fn create(&mut self, event: &Event, fields: Fields, count: i32, now: Instant) -> bool {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128)
            .max(self.last_nanos + 1);
        self.last_nanos = nanos;
        let name = self.reporter.event_name(nanos);
        let series = (count > 1).then(|| {
            let last = self
                .cache
                .get(&fields)
                .map_or(event.timestamp().unix_micros(), |s| s.last_observed_micros);
            (count, last)
        });
        let k8s = self
            .reporter
            .k8s_event(event, &fields, name.clone(), series);
        let mut retried = 0;
        let result = self.client.create(&k8s, &mut retried);
        self.stats.add(|c| &c.retries, retried);
        let stored = match result {
            Ok(()) => {
                if count == 1 {
                    self.stats.add(|c| &c.created, 1);
                }
                true
            }
            Err(CallError::Status { code: 409, .. }) => {
                if count == 1 {
                    self.stats.add(|c| &c.already_existed, 1);
                }
                true
            }
            Err(e) => {
                if count == 1 {
                    self.refused(&e);
                }
                self.log_once(&e);
                false
            }
        };
        if stored {
            if let Some(evicted) = self.cache.created(fields, name, event.clone(), count, now) {
                self.patch(evicted);
            }
        }
        stored
    }

    fn patch(&mut self, due: DuePatch) {
        let mut retried = 0;
        let body = series_patch(due.count, due.last_observed_micros);
        let result = self.client.patch(&due.name, &body, &mut retried);
        self.stats.add(|c| &c.retries, retried);
        match result {
            Ok(()) => {
                self.stats.add(|c| &c.series_patches, 1);
                self.cache.sent(&due.key, due.count, Instant::now());
            }
            Err(CallError::Status { code: 404, .. }) => {
                // The object expired (Events live about an hour): as client-go
                // does, create a new one carrying the series.
                if let Some(first) = self.cache.get(&due.key).map(|s| s.first.clone()) {
                    if self.create(&first, due.key.clone(), due.count, Instant::now()) {
                        self.stats.add(|c| &c.series_recreated, 1);
                    } else {
                        self.cache.forget(&due.key);
                    }
                }
            }
            Err(e) => {
                // The count stays unsent and is tried again when next due.
                self.log_once(&e);
                self.cache.sent(&due.key, 0, Instant::now());
            }
        }
    }

    fn refused(&self, e: &CallError) {
        let counter: fn(&Counters) -> &AtomicU64 = match e {
            CallError::Status { code: 403, .. } => |c| &c.forbidden,
            CallError::Status { code: 404, .. } => |c| &c.not_found,
            CallError::Status {
                code: 400 | 422, ..
            } => |c| &c.invalid,
            _ => |c| &c.failed,
        };
        self.stats.add(counter, 1);
    }

    /// Logs the first error of each kind (on fcc's quiet internal target, so
    /// it never comes back as an event), then only counts.
    fn log_once(&mut self, e: &CallError) {
        let (kind, hint) = match e {
            CallError::Status { code: 403, .. } => (
                "forbidden",
                "the Pod's ServiceAccount needs a Role with create and patch on events.k8s.io events (see the fcc-k8s docs)",
            ),
            CallError::Status { code: 404, .. } => ("not_found", "the namespace or Event does not exist"),
            CallError::Status { code: 400 | 422, .. } => ("invalid", "the API server rejected the Event"),
            CallError::Status { .. } => ("status", "the API server refused the request"),
            CallError::Transport(_) => ("transport", "the API server could not be reached"),
        };
        if self.logged.insert(kind) {
            tracing::warn!(
                target: "fcc::internal::k8s",
                error = ?e,
                namespace = self.reporter.pod.namespace(),
                "Kubernetes Events are not being written: {hint}; further errors of this kind are only counted"
            );
        }
    }

    fn send_due(&mut self, all: bool) {
        for due in self.cache.due(Instant::now(), all) {
            self.patch(due);
        }
    }
}

impl Sink for K8sEventSink {
    fn name(&self) -> &str {
        "k8s_events"
    }

    fn write(&mut self, batch: &[Event]) -> Result<(), SinkError> {
        for event in batch {
            self.record(event);
        }
        self.send_due(false);
        Ok(())
    }

    /// Series counts are PATCHed on their refresh interval while idle too.
    fn idle(&mut self) {
        self.send_due(false);
    }

    /// PATCHes every unsent series count.
    fn flush(&mut self) -> Result<(), SinkError> {
        self.send_due(true);
        Ok(())
    }
}
