//! An exporter that keeps every span it is given, for tests that look at
//! what a tracer exported.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fcc::export::{ExportError, SpanExporter};
use fcc::trace::{FccTracer, SpanData};

/// Keeps every span it is given.
#[derive(Clone, Default)]
pub struct Keep(pub Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for Keep {
    fn export(&mut self, spans: &[SpanData]) -> Result<(), ExportError> {
        self.0.lock().unwrap().extend_from_slice(spans);
        Ok(())
    }
}

impl Keep {
    /// Every span kept so far, after a flush of `tracer`.
    pub fn flushed(&self, tracer: &FccTracer) -> Vec<SpanData> {
        tracer.flush(Duration::from_secs(30)).unwrap();
        self.0.lock().unwrap().clone()
    }
}

/// A tracer of `service` that exports only to `keep`, with a queue of
/// `queue` spans.
pub fn exporting(service: &'static str, keep: &Keep, queue: usize) -> FccTracer {
    FccTracer::builder(service)
        .completed_capacity(0)
        .max_queue_size(queue)
        .exporter(keep.clone())
        .build()
        .unwrap()
}

/// The span named `name`.
pub fn named<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name} in {spans:?}"))
}
