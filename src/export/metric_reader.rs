//! `OTEL_METRICS_EXPORTER=console`: every export interval, and once more
//! at shutdown, the current value of every series on stdout, one line each:
//!
//! `[METRIC] requests=12.0 type=counter route=/a` (counters and gauges),
//! `[METRIC] latency count=3 sum=7.5 type=histogram route=/a` (histograms).

use std::io::Write;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{bounded, RecvTimeoutError, Sender};

use crate::metrics::{FccMetrics, MetricSnapshot, SeriesValue};

/// Prints the metrics periodically on its own thread; dropping it prints
/// them one last time and stops the thread.
pub(crate) struct ConsoleMetricReader {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ConsoleMetricReader {
    pub(crate) fn start(
        metrics: FccMetrics,
        interval: Duration,
    ) -> std::io::Result<ConsoleMetricReader> {
        let (stop, stopped) = bounded::<()>(1);
        let thread = std::thread::Builder::new()
            .name("fcc-metrics-console".into())
            .spawn(move || {
                crate::internal::thread::mark_internal_thread();
                loop {
                    let last = !matches!(
                        stopped.recv_timeout(interval),
                        Err(RecvTimeoutError::Timeout)
                    );
                    let text = lines(&metrics.snapshot());
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
                    if last {
                        return;
                    }
                }
            })?;
        Ok(ConsoleMetricReader {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for ConsoleMetricReader {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The lines for a snapshot.
pub(crate) fn lines(snapshot: &[MetricSnapshot]) -> String {
    let mut text = String::new();
    for m in snapshot {
        for s in &m.series {
            let head = match &s.value {
                SeriesValue::Counter(v) => format!("[METRIC] {}={v:?} type=counter", m.name),
                SeriesValue::Gauge(Some(v)) => format!("[METRIC] {}={v:?} type=gauge", m.name),
                SeriesValue::Histogram { count, sum, .. } => format!(
                    "[METRIC] {} count={count} sum={sum:?} type=histogram",
                    m.name
                ),
                _ => continue,
            };
            text.push_str(&head);
            for (k, v) in &s.labels {
                text.push_str(&format!(" {k}={v}"));
            }
            text.push('\n');
        }
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_line_per_series() {
        let m = crate::metrics::FccMetrics::new();
        m.increment("requests", &[("route", "/a")]).unwrap();
        m.increment("requests", &[("route", "/a")]).unwrap();
        m.record("latency", 2.5, &[]).unwrap();
        let text = super::lines(&m.snapshot());
        assert!(
            text.contains("[METRIC] requests=2.0 type=counter route=/a\n"),
            "{text}"
        );
        assert!(
            text.contains("[METRIC] latency count=1 sum=2.5 type=histogram\n"),
            "{text}"
        );
    }
}
