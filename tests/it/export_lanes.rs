//! Each exporter exports on its own lane: a destination that hangs holds up
//! only itself, its full queue drops and counts, and a shutdown that cannot
//! wait for it counts what it still held, exactly once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, Sender};
use fcc::export::{ExportError, ExporterStats, SpanExporter, TraceStats};
use fcc::trace::{FccTracer, SpanData};

/// Keeps every span it is given.
#[derive(Clone, Default)]
struct Keep(Arc<Mutex<Vec<String>>>);

impl SpanExporter for Keep {
    fn export(&mut self, spans: &[SpanData]) -> Result<(), ExportError> {
        let mut kept = self.0.lock().unwrap();
        kept.extend(spans.iter().map(|s| s.name.to_string()));
        Ok(())
    }
    fn name(&self) -> &str {
        "keep"
    }
}

/// A collector that accepts and never answers: each export waits until the
/// test opens the gate (or the test ends and the gate is dropped).
struct Hung {
    gate: Receiver<()>,
    entered: Sender<()>,
}

impl SpanExporter for Hung {
    fn export(&mut self, _: &[SpanData]) -> Result<(), ExportError> {
        let _ = self.entered.try_send(());
        let _ = self.gate.recv();
        Ok(())
    }
    fn name(&self) -> &str {
        "hung"
    }
    fn is_remote(&self) -> bool {
        true
    }
}

fn hung() -> (Hung, Sender<()>, Receiver<()>) {
    let (open, gate) = bounded(0);
    let (entered, wait_entered) = bounded(1);
    (Hung { gate, entered }, open, wait_entered)
}

fn exporter<'a>(stats: &'a TraceStats, name: &str) -> &'a ExporterStats {
    stats
        .exporters
        .iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("no exporter {name} in {stats:?}"))
}

/// A tracer exporting to a hung exporter and to `Keep`, with the hung one
/// already stuck in its first export of one batch.
fn stuck_tracer(batch: usize, queue: usize) -> (FccTracer, Keep, Sender<()>) {
    let keep = Keep::default();
    let (hung, open, entered) = hung();
    let tracer = FccTracer::builder("lanes")
        .exporter(hung)
        .exporter(keep.clone())
        .max_export_batch_size(batch)
        .max_queue_size(queue)
        .build()
        .unwrap();
    end_spans(&tracer, batch);
    entered.recv().unwrap();
    (tracer, keep, open)
}

fn end_spans(tracer: &FccTracer, n: usize) {
    for i in 0..n {
        drop(tracer.span(format!("span-{i}")));
    }
}

#[test]
fn a_hung_exporter_holds_up_no_other() {
    let (tracer, keep, open) = stuck_tracer(10, 2048);
    end_spans(&tracer, 30);
    // Local exporters are waited for; the network one for nothing more.
    let r = tracer.flush_within(Duration::from_secs(30), Duration::ZERO);
    assert!(
        r.as_ref()
            .is_err_and(|e| e.to_string().contains("hung did not finish")),
        "{r:?}"
    );
    assert_eq!(keep.0.lock().unwrap().len(), 40, "every span reached keep");
    let stats = tracer.stats();
    assert_eq!(exporter(&stats, "keep").exported, 40);
    let h = exporter(&stats, "hung");
    assert!(h.remote && h.busy_for.is_some(), "{h:?}");
    assert_eq!(h.exported, 0);
    assert_eq!(h.pending, 40, "one batch in flight, three queued: {h:?}");
    assert_eq!(
        stats.queue_depth, 0,
        "back-pressure never waits on a network exporter"
    );
    drop(open);
}

#[test]
fn a_full_lane_drops_its_batches_and_counts_them() {
    let (tracer, keep, open) = stuck_tracer(10, 50);
    for _ in 0..10 {
        end_spans(&tracer, 10);
        // Each batch is handed out before the next is made: nothing is
        // dropped by the export queue itself, only by the full lane.
        tracer
            .flush_within(Duration::from_secs(30), Duration::ZERO)
            .ok();
    }
    let stats = tracer.stats();
    let h = exporter(&stats, "hung");
    assert_eq!(
        h.pending, 50,
        "the lane holds at most its queue size: {h:?}"
    );
    assert_eq!(h.dropped, 60, "{h:?}");
    assert_eq!(exporter(&stats, "keep").exported, 110);
    assert_eq!(keep.0.lock().unwrap().len(), 110);
    assert_eq!(stats.spans_dropped, 0);
    assert_eq!(stats.spans_failed, 60, "spans some exporter did not get");
    drop(open);
}

#[test]
fn a_shutdown_that_cannot_wait_counts_what_the_hung_exporter_held() {
    let (tracer, keep, open) = stuck_tracer(10, 2048);
    end_spans(&tracer, 25);
    let r = tracer.shutdown_within(Duration::from_secs(30), Duration::from_millis(1));
    assert!(r.is_err(), "the hung exporter did not finish");
    let stats = tracer.stats();
    assert_eq!(
        exporter(&stats, "keep").exported,
        35,
        "local spans all written"
    );
    assert_eq!(keep.0.lock().unwrap().len(), 35);
    let h = exporter(&stats, "hung").clone();
    assert_eq!((h.failed, h.pending, h.exported), (35, 0, 0), "{h:?}");
    assert_eq!(stats.spans_exported + stats.spans_failed, 35);
    // The export it was stuck in returns later: nothing is counted twice.
    drop(open);
    std::thread::sleep(Duration::from_millis(50));
    let after = tracer.stats();
    let a = exporter(&after, "hung");
    assert_eq!(
        (a.exported, a.failed, a.dropped, a.pending),
        (0, 35, 0, 0),
        "{a:?}"
    );
    assert_eq!(after.spans_exported + after.spans_failed, 35);
}

#[test]
fn a_slow_exporter_that_answers_is_waited_for() {
    // The gate opens after the first export started: flush waits for it.
    let (tracer, _keep, open) = stuck_tracer(5, 2048);
    std::thread::spawn(move || {
        // Open the gate for every export from now on.
        while open.send(()).is_ok() {}
    });
    end_spans(&tracer, 5);
    tracer.flush(Duration::from_secs(30)).unwrap();
    let stats = tracer.stats();
    let h = exporter(&stats, "hung");
    assert_eq!((h.exported, h.failed, h.pending), (10, 0, 0), "{h:?}");
    assert!(h.slowest_answer.is_some());
    assert_eq!(stats.spans_exported, 10);
}
