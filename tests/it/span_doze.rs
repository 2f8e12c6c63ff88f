//! The export thread sleeps while no spans come (no wake-ups in an idle
//! process) and yet never sits on one: spans ended as it falls asleep are
//! exported on the schedule, without a flush.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fcc::export::{ExportError, SpanExporter};
use fcc::trace::{FccTracer, SpanData};

/// Keeps every span it is given.
#[derive(Clone, Default)]
struct Keep(Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for Keep {
    fn export(&mut self, spans: &[SpanData]) -> Result<(), ExportError> {
        self.0.lock().unwrap().extend_from_slice(spans);
        Ok(())
    }
}

/// Long enough never to be reached when the thread wakes; reached (and the
/// test fails) when a span waits for an export thread that sleeps on.
const NEVER: Duration = Duration::from_secs(20);

#[test]
fn spans_ended_as_the_export_thread_falls_asleep_are_exported_without_a_flush() {
    let keep = Keep::default();
    let tracer = FccTracer::builder("doze")
        .completed_capacity(0)
        .schedule_delay(Duration::from_millis(10))
        .exporter(keep.clone())
        .build()
        .unwrap();
    // Pauses around the export thread's doze threshold (100 ms of nothing).
    let pauses_ms = [0u64, 5, 60, 95, 99, 100, 101, 105, 130, 250];
    for (n, p) in pauses_ms.iter().enumerate() {
        std::thread::sleep(Duration::from_millis(*p));
        drop(tracer.span(format!("s{n}")));
        let start = Instant::now();
        while keep.0.lock().unwrap().len() < n + 1 {
            assert!(
                start.elapsed() < NEVER,
                "span {n} (after a {p} ms pause) waited on a sleeping export thread"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    assert_eq!(keep.0.lock().unwrap().len(), pauses_ms.len());
}
