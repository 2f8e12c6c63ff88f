//! Where values live: one [`Family`] per metric name, one [`Series`] per
//! label set, each an atomic cell. Lookups take read locks only; a new label
//! set takes the family's write lock once.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use super::exemplar::ExemplarState;
use super::hash::{label_hash, FxBuild};
use super::point::{valid_name, MetricError, MetricType};
use super::ring::SeriesIndex;
use super::shard::Shard;

pub(crate) use super::series::{search_bounds, Cell, Series};

/// The OTel SDK's default histogram boundaries (they suit milliseconds).
pub const DEFAULT_BUCKETS: &[f64] = &[
    0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0,
    10000.0,
];

/// What a lookup does with the series it finds
/// ([`Registry::with_series`]): types, not closures, so that `run` is
/// always inlined into the cache's hit path.
/// `Copy`: an operation is a plain value, so a cache lookup can try it and
/// still hold it for the slow path.
pub(crate) trait SeriesOp: Copy {
    type Out;
    /// Whether the thread cache gives an entry made for this operation its
    /// own shard of a histogram series (a `metrics` handle records into the
    /// shared cell).
    const PARTS: bool = true;
    /// `shard`: the calling thread's part of a histogram series, when its
    /// cache holds one (see [`super::shard`]).
    fn run(self, family: &Family, series: &Arc<Series>, shard: Option<&Shard>) -> Self::Out;
}

/// A checked value applied to its series by a named method; inside a
/// sampled span it may become the exemplar.
#[derive(Clone, Copy)]
pub(crate) enum Update {
    /// Adds a whole number to a counter.
    Count(u64),
    /// Adds a fractional amount to a counter.
    Fraction(f64),
    /// Sets a gauge.
    Set(f64),
    /// Records in a histogram.
    Observe(f64),
    /// Raises a counter to a total kept elsewhere (no exemplar).
    RaiseTo(u64),
}

impl Update {
    /// The value, as a point or an exemplar records it.
    pub(crate) fn value(self) -> f64 {
        match self {
            Update::Count(n) | Update::RaiseTo(n) => n as f64,
            Update::Fraction(v) | Update::Set(v) | Update::Observe(v) => v,
        }
    }
}

impl SeriesOp for Update {
    /// The series' index (for the point ring).
    type Out = u64;
    #[inline(always)]
    fn run(self, family: &Family, series: &Arc<Series>, shard: Option<&Shard>) -> u64 {
        match self {
            Update::Count(n) => series.count(n),
            Update::Fraction(v) => series.add_fraction(v),
            Update::Set(v) => series.set(v),
            Update::Observe(v) => match shard {
                Some(shard) => shard.observe(v),
                None => series.observe_out_of_line(v),
            },
            Update::RaiseTo(total) => {
                family.fed_totals.store(true, Ordering::Relaxed);
                series.raise_to(total);
                return series.index;
            }
        }
        series.maybe_exemplar(&family.exemplars, self.value());
        series.index
    }
}

/// The series itself (for a `metrics` handle).
#[derive(Clone, Copy)]
pub(crate) struct Fetch;

impl SeriesOp for Fetch {
    type Out = Arc<Series>;
    const PARTS: bool = false;
    fn run(self, _: &Family, series: &Arc<Series>, _: Option<&Shard>) -> Arc<Series> {
        Arc::clone(series)
    }
}

/// A metric: its description and its series.
pub(crate) struct Family {
    pub(crate) name: Arc<str>,
    pub(crate) kind: MetricType,
    pub(crate) unit: Cow<'static, str>,
    pub(crate) description: Cow<'static, str>,
    pub(crate) bounds: Arc<[f64]>,
    series: RwLock<HashMap<u64, Vec<Arc<Series>>, FxBuild>>,
    count: AtomicUsize,
    limit: usize,
    overflow: OnceLock<Arc<Series>>,
    pub(crate) overflowed: AtomicU64,
    rejected: Arc<AtomicU64>,
    /// The registry's exemplar filter and collections so far (see
    /// [`Series::maybe_exemplar`]).
    pub(crate) exemplars: Arc<ExemplarState>,
    /// A counter raised to totals kept elsewhere (`set_counter_total`): an
    /// observable counter, as OTLP's temporality preference sees it.
    pub(crate) fed_totals: AtomicBool,
    /// The registry's list of every series.
    index: Arc<SeriesIndex>,
}

/// The label an overflow series carries, as in the OTel SDK.
pub const OVERFLOW_LABEL: (&str, &str) = ("otel.metric.overflow", "true");

impl Family {
    /// The series for `labels`, made if new; past the cardinality limit, the
    /// overflow series (counted).
    pub(crate) fn series(&self, labels: &[(&str, &str)]) -> Arc<Series> {
        let repeated = |i: usize, k: &str| labels[..i].iter().any(|(k2, _)| *k2 == k);
        if labels.iter().enumerate().any(|(i, (k, _))| repeated(i, k)) {
            // A key given twice: the series keeps one pair per key (the
            // least, once sorted), so look it up by that set.
            let mut unique = labels.to_vec();
            unique.sort();
            unique.dedup_by(|a, b| a.0 == b.0);
            return self.series(&unique);
        }
        let hash = label_hash(labels);
        if let Ok(map) = self.series.read()
            && let Some(s) = map
                .get(&hash)
                .and_then(|v| v.iter().find(|s| s.matches(labels)))
        {
            return Arc::clone(s);
        }
        let Ok(mut map) = self.series.write() else {
            return self.overflow_series();
        };
        if let Some(s) = map
            .get(&hash)
            .and_then(|v| v.iter().find(|s| s.matches(labels)))
        {
            return Arc::clone(s);
        }
        if self.count.load(Ordering::Relaxed) >= self.limit {
            drop(map);
            self.overflowed.fetch_add(1, Ordering::Relaxed);
            return self.overflow_series();
        }
        let mut sorted: Vec<(Box<str>, Box<str>)> = labels
            .iter()
            .map(|(k, v)| (Box::from(*k), Box::from(*v)))
            .collect();
        sorted.sort();
        sorted.dedup_by(|a, b| a.0 == b.0);
        let s = self.index.add(&self.name, |index| Series {
            labels: sorted.into_boxed_slice(),
            cell: Cell::new(self.kind, &self.bounds),
            exemplar: std::sync::Mutex::new(None),
            exemplar_epoch: AtomicU64::new(0),
            search: search_bounds(&self.bounds),
            rejected: Arc::clone(&self.rejected),
            overflow: false,
            index,
            shards: std::sync::Mutex::new(Vec::new()),
        });
        map.entry(hash).or_default().push(Arc::clone(&s));
        self.count.fetch_add(1, Ordering::Relaxed);
        s
    }

    fn overflow_series(&self) -> Arc<Series> {
        Arc::clone(self.overflow.get_or_init(|| {
            self.index.add(&self.name, |index| Series {
                labels: Box::new([(OVERFLOW_LABEL.0.into(), OVERFLOW_LABEL.1.into())]),
                cell: Cell::new(self.kind, &self.bounds),
                exemplar: std::sync::Mutex::new(None),
                exemplar_epoch: AtomicU64::new(0),
                search: search_bounds(&self.bounds),
                rejected: Arc::clone(&self.rejected),
                overflow: true,
                index,
                shards: std::sync::Mutex::new(Vec::new()),
            })
        }))
    }

    /// Every series, the overflow one last.
    pub(crate) fn all_series(&self) -> Vec<Arc<Series>> {
        let mut out: Vec<Arc<Series>> = self
            .series
            .read()
            .map(|m| m.values().flatten().cloned().collect())
            .unwrap_or_default();
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        out.extend(self.overflow.get().cloned());
        out
    }
}

/// All metrics of one [`FccMetrics`](super::FccMetrics).
pub(crate) struct Registry {
    pub(super) id: u64,
    families: RwLock<HashMap<Box<str>, Arc<Family>, FxBuild>>,
    pub(crate) cardinality_limit: usize,
    rejected: Arc<AtomicU64>,
    /// The exemplar filter, and the collections (snapshots) so far: each
    /// starts a new exemplar period.
    pub(crate) exemplars: Arc<ExemplarState>,
    /// Every series, by index (how the point ring names them).
    pub(crate) index: Arc<SeriesIndex>,
}

impl Registry {
    pub(crate) fn new(cardinality_limit: usize, rejected: Arc<AtomicU64>) -> Registry {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Registry {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            families: RwLock::new(HashMap::default()),
            cardinality_limit: cardinality_limit.max(1),
            rejected,
            exemplars: Arc::new(ExemplarState::default()),
            index: Arc::new(SeriesIndex::default()),
        }
    }

    /// The family `name` of type `kind`, made with defaults if new.
    #[inline]
    pub(crate) fn family(&self, name: &str, kind: MetricType) -> Result<Arc<Family>, MetricError> {
        if let Ok(map) = self.families.read()
            && let Some(f) = map.get(name)
        {
            return check_kind(f, kind);
        }
        self.declare(name, kind, Cow::Borrowed(""), Cow::Borrowed(""), None)
    }

    /// Declares a metric with its unit, description and (histograms) boundaries.
    pub(crate) fn declare(
        &self,
        name: &str,
        kind: MetricType,
        unit: Cow<'static, str>,
        description: Cow<'static, str>,
        bounds: Option<&[f64]>,
    ) -> Result<Arc<Family>, MetricError> {
        if !valid_name(name) {
            return Err(MetricError::InvalidName {
                name: name.to_owned(),
            });
        }
        let mut map = self
            .families
            .write()
            .map_err(|_| MetricError::InvalidName {
                name: name.to_owned(),
            })?;
        if let Some(f) = map.get(name) {
            return check_kind(f, kind);
        }
        let mut b: Vec<f64> = bounds
            .unwrap_or(DEFAULT_BUCKETS)
            .iter()
            .copied()
            .filter(|x| x.is_finite())
            .collect();
        b.sort_by(f64::total_cmp);
        b.dedup();
        let f = Arc::new(Family {
            name: Arc::from(name),
            kind,
            unit,
            description,
            bounds: b.into(),
            series: RwLock::new(HashMap::default()),
            count: AtomicUsize::new(0),
            limit: self.cardinality_limit,
            rejected: Arc::clone(&self.rejected),
            overflow: OnceLock::new(),
            overflowed: AtomicU64::new(0),
            exemplars: Arc::clone(&self.exemplars),
            fed_totals: AtomicBool::new(false),
            index: Arc::clone(&self.index),
        });
        map.insert(Box::from(name), Arc::clone(&f));
        Ok(f)
    }

    pub(crate) fn get(&self, name: &str) -> Option<Arc<Family>> {
        self.families.read().ok()?.get(name).cloned()
    }

    pub(crate) fn all(&self) -> Vec<Arc<Family>> {
        let mut v: Vec<Arc<Family>> = self
            .families
            .read()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }
}

fn check_kind(f: &Arc<Family>, kind: MetricType) -> Result<Arc<Family>, MetricError> {
    if f.kind == kind {
        Ok(Arc::clone(f))
    } else {
        Err(MetricError::TypeConflict {
            name: f.name.to_string(),
            existing: f.kind,
            requested: kind,
        })
    }
}
