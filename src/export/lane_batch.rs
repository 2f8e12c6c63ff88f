//! What travels in an export lane: a [`Batch`] of spans or log records
//! ([`Item`]), shared by every lane it goes to and counted once when the
//! last lane is done with it, and the [`LaneExporter`] each lane calls.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use super::attribute_pool;
use super::pipeline::{Counters, LogExport, LogItem};
use super::{ExportError, SpanExporter};
use crate::trace::SpanData;

/// What a lane carries: spans or log records, each counted on its own counters.
pub(crate) trait Item: Send + Sync + Sized + 'static {
    /// The pipeline's (exported, failed) counters for this kind.
    fn counters(c: &Counters) -> (&AtomicU64, &AtomicU64);
    /// Gives the batch's allocations back once no lane holds it.
    fn recycle(_items: Vec<Self>) {}
}

impl Item for SpanData {
    fn counters(c: &Counters) -> (&AtomicU64, &AtomicU64) {
        (&c.spans_exported, &c.spans_failed)
    }
    fn recycle(items: Vec<Self>) {
        attribute_pool::give_back(items);
    }
}

impl Item for LogItem {
    fn counters(c: &Counters) -> (&AtomicU64, &AtomicU64) {
        (&c.logs_exported, &c.logs_failed)
    }
}

/// One batch, shared by every lane it goes to.
pub(crate) struct Batch<T: Item> {
    pub(crate) items: Vec<T>,
    lanes_left: AtomicUsize,
    undelivered: AtomicBool,
    counters: Arc<Counters>,
}

impl<T: Item> Batch<T> {
    pub(crate) fn new(items: Vec<T>, lanes: usize, counters: Arc<Counters>) -> Arc<Batch<T>> {
        Arc::new(Batch {
            items,
            lanes_left: AtomicUsize::new(lanes),
            undelivered: AtomicBool::new(false),
            counters,
        })
    }

    /// One lane is done with the batch (called exactly once per lane); the
    /// last one counts it.
    pub(super) fn done(&self, delivered: bool) {
        if !delivered {
            self.undelivered.store(true, Ordering::Relaxed);
        }
        if self.lanes_left.fetch_sub(1, Ordering::AcqRel) == 1 {
            let (exported, failed) = T::counters(&self.counters);
            let counter = if self.undelivered.load(Ordering::Relaxed) {
                failed
            } else {
                exported
            };
            counter.fetch_add(self.items.len() as u64, Ordering::Relaxed);
        }
    }

    /// Drops one holder's reference; the last gives the allocations back.
    pub(crate) fn release(batch: Arc<Batch<T>>) {
        if let Some(b) = Arc::into_inner(batch) {
            T::recycle(b.items);
        }
    }
}

/// An exporter a lane can drive: span exporters and the log exporter.
pub(crate) trait LaneExporter<T>: Send {
    fn export(&mut self, items: &[T]) -> Result<(), ExportError>;
    fn name(&self) -> String;
    fn is_remote(&self) -> bool;
    fn retries_itself(&self) -> bool;
    fn flush(&mut self) -> Result<(), ExportError>;
    fn shutdown(&mut self) -> Result<(), ExportError>;
}

impl LaneExporter<SpanData> for Box<dyn SpanExporter> {
    fn export(&mut self, items: &[SpanData]) -> Result<(), ExportError> {
        (**self).export(items)
    }
    fn name(&self) -> String {
        (**self).name().to_owned()
    }
    fn is_remote(&self) -> bool {
        (**self).is_remote()
    }
    fn retries_itself(&self) -> bool {
        (**self).retries_itself()
    }
    fn flush(&mut self) -> Result<(), ExportError> {
        (**self).flush()
    }
    fn shutdown(&mut self) -> Result<(), ExportError> {
        (**self).shutdown()
    }
}

impl LaneExporter<LogItem> for Box<dyn LogExport> {
    fn export(&mut self, items: &[LogItem]) -> Result<(), ExportError> {
        (**self).export(items)
    }
    fn name(&self) -> String {
        (**self).name().to_owned()
    }
    fn is_remote(&self) -> bool {
        (**self).is_remote()
    }
    fn retries_itself(&self) -> bool {
        (**self).retries_itself()
    }
    fn flush(&mut self) -> Result<(), ExportError> {
        Ok(())
    }
    fn shutdown(&mut self) -> Result<(), ExportError> {
        (**self).shutdown()
    }
}
