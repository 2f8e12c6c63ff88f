//! OTLP metrics: FccMetrics' cells, read every `OTEL_METRIC_EXPORT_INTERVAL`
//! and sent as sums, gauges and explicit-bucket histograms, cumulative or
//! delta as [`Temporality`] prefers (src/otlp/encode.rs,
//! src/otlp/temporality.rs).
//!
//! FccMetrics keeps its own atomic cells (a bound counter is one atomic add),
//! so it does not record through the OTel SDK's instruments; this exporter
//! encodes the OTLP messages itself, with `opentelemetry-proto`'s types, and
//! sends them over gRPC (tonic) or HTTP/protobuf (hyper) from its own thread,
//! with the same connections, headers, TLS and compression as the other
//! signals.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

use super::encode::encode;
use super::sender::{OtlpSender, METRICS_METHOD};
use super::temporality::Deltas;
use super::{OtlpConfig, Temporality};
use crate::export::{ExportError, ExportOperation};
use crate::internal::round_trip::{round_trip, NoAnswer};
use crate::internal::thread::mark_internal_thread;
use crate::metrics::FccMetrics;

pub(super) fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

/// The resource as OTLP has it.
fn resource(resource: &crate::otel::FccResource) -> Resource {
    Resource {
        attributes: resource
            .attributes()
            .iter()
            .map(|a| {
                let value = match &a.value {
                    opentelemetry::Value::I64(i) => any_value::Value::IntValue(*i),
                    opentelemetry::Value::F64(f) => any_value::Value::DoubleValue(*f),
                    opentelemetry::Value::Bool(b) => any_value::Value::BoolValue(*b),
                    other => any_value::Value::StringValue(other.as_str().into_owned()),
                };
                KeyValue {
                    key: a.key.to_string(),
                    value: Some(AnyValue { value: Some(value) }),
                    ..Default::default()
                }
            })
            .collect(),
        ..Default::default()
    }
}

enum Msg {
    Flush(Sender<()>),
    Stop(Sender<()>),
}

/// Counters of the metrics exporter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MetricExportStats {
    /// Exports the collector accepted.
    pub exports: u64,
    /// Exports given up on after the retries.
    pub failed: u64,
    /// The last error, if any.
    pub last_error: Option<String>,
}

/// Sends an [`FccMetrics`]' values over OTLP every interval, on its own
/// thread; `flush` sends now; `shutdown` (or drop) sends a last time.
pub struct OtlpMetricsExporter {
    tx: Sender<Msg>,
    thread: Mutex<Option<JoinHandle<()>>>,
    exports: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    last_error: Arc<Mutex<Option<String>>>,
    abandoned: Arc<Mutex<bool>>,
}

impl std::fmt::Debug for OtlpMetricsExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpMetricsExporter")
            .field("stats", &self.stats())
            .finish()
    }
}

impl OtlpMetricsExporter {
    /// Starts exporting `metrics` to `config.metrics_endpoint` every
    /// `interval`, reporting as `service_name` (with the detected resource
    /// and `OTEL_RESOURCE_ATTRIBUTES`, see [`FccResource`](crate::otel::FccResource)).
    pub fn start(
        metrics: FccMetrics,
        config: &OtlpConfig,
        service_name: &str,
        interval: Duration,
    ) -> Result<OtlpMetricsExporter, ExportError> {
        let service = crate::otel::FccResource::from_env(service_name);
        Self::start_with_resource(metrics, config, &service, interval)
    }

    /// [`start`](Self::start) with a resource already resolved.
    pub fn start_with_resource(
        metrics: FccMetrics,
        config: &OtlpConfig,
        service: &crate::otel::FccResource,
        interval: Duration,
    ) -> Result<OtlpMetricsExporter, ExportError> {
        let (tx, rx) = bounded::<Msg>(16);
        let (ready_tx, ready_rx) = bounded::<Result<(), ExportError>>(1);
        let exports = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let last_error = Arc::new(Mutex::new(None));
        let abandoned = Arc::new(Mutex::new(false));
        let (e, f, l, a) = (
            exports.clone(),
            failed.clone(),
            last_error.clone(),
            abandoned.clone(),
        );
        let config = config.clone();
        let resource = resource(service);
        let thread = std::thread::Builder::new()
            .name("fcc-metrics-export".into())
            .spawn(move || {
                mark_internal_thread();
                let sender = match OtlpSender::new(&config.metrics, METRICS_METHOD, "otlp metrics")
                {
                    Ok(s) => s,
                    Err(err) => {
                        let _ = ready_tx.send(Err(err));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                let start = SystemTime::now();
                let worker = Worker {
                    sender,
                    circuit: Default::default(),
                    metrics,
                    resource,
                    start,
                    temporality: config.temporality,
                    deltas: Deltas::new(start),
                    exports: e,
                    failed: f,
                    last_error: l,
                    abandoned: a,
                };
                worker.run(rx, interval);
            })
            .map_err(|e| ExportError::cannot_start("otlp metrics", e))?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(e);
            }
            Err(_) => return Err(ExportError::stopped("otlp metrics")),
        }
        Ok(OtlpMetricsExporter {
            tx,
            thread: Mutex::new(Some(thread)),
            exports,
            failed,
            last_error,
            abandoned,
        })
    }

    /// The exported and failed counters themselves (for fcc's health
    /// metrics, read at each collection).
    pub(crate) fn counters(&self) -> (Arc<AtomicU64>, Arc<AtomicU64>) {
        (Arc::clone(&self.exports), Arc::clone(&self.failed))
    }

    /// Export counters.
    pub fn stats(&self) -> MetricExportStats {
        MetricExportStats {
            exports: self.exports.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            last_error: self.last_error.lock().ok().and_then(|e| e.clone()),
        }
    }

    fn request(
        &self,
        make: fn(Sender<()>) -> Msg,
        operation: ExportOperation,
        timeout: Duration,
    ) -> Result<(), ExportError> {
        match round_trip(&self.tx, make, Instant::now() + timeout, || {}) {
            Ok(()) | Err(NoAnswer::Gone) => Ok(()), // Gone: already stopped
            Err(NoAnswer::QueueFull | NoAnswer::NotAnswered) => {
                Err(ExportError::timed_out("otlp metrics", operation, timeout))
            }
        }
    }

    /// Exports now and waits for it.
    pub fn flush(&self, timeout: Duration) -> Result<(), ExportError> {
        self.request(Msg::Flush, ExportOperation::Flush, timeout)
    }

    /// Exports a last time and stops the thread. If that export has not
    /// finished within `timeout` (a hung collector), it is counted failed
    /// and the thread is left to end by itself.
    pub fn shutdown(&self, timeout: Duration) -> Result<(), ExportError> {
        if self.abandoned.lock().is_ok_and(|a| *a) {
            return Ok(()); // a shutdown already gave up on it
        }
        let r = self.request(Msg::Stop, ExportOperation::Shutdown, timeout);
        match &r {
            Ok(()) => {
                if let Some(t) = self.thread.lock().ok().and_then(|mut t| t.take()) {
                    let _ = t.join();
                }
            }
            Err(_) => {
                if let Ok(mut abandoned) = self.abandoned.lock()
                    && !*abandoned
                {
                    *abandoned = true;
                    self.failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        r
    }
}

impl Drop for OtlpMetricsExporter {
    fn drop(&mut self) {
        let _ = self.shutdown(Duration::from_secs(5));
    }
}

struct Worker {
    /// Sends each export, retrying by the OTLP rules within the signal's
    /// timeout (`OTEL_EXPORTER_OTLP_TIMEOUT`).
    sender: OtlpSender,
    /// Rests after a failed export, so a collector that is down or hung
    /// costs one failed export per rest.
    circuit: crate::export::circuit::Circuit,
    metrics: FccMetrics,
    resource: Resource,
    start: SystemTime,
    /// Which sums and histograms go as deltas
    /// (`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`).
    temporality: Temporality,
    /// The totals of the last delivered export, for deltas.
    deltas: Deltas,
    exports: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    last_error: Arc<Mutex<Option<String>>>,
    abandoned: Arc<Mutex<bool>>,
}

impl Worker {
    /// Counts one export's outcome, unless a shutdown that could not wait
    /// has already counted it failed.
    fn count(&self, counter: &AtomicU64) {
        if let Ok(abandoned) = self.abandoned.lock()
            && !*abandoned
        {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn run(mut self, rx: Receiver<Msg>, interval: Duration) {
        let mut next = Instant::now() + interval;
        loop {
            match rx.recv_timeout(next.saturating_duration_since(Instant::now())) {
                Ok(Msg::Flush(ack)) => {
                    self.export();
                    let _ = ack.send(());
                }
                Ok(Msg::Stop(ack)) => {
                    self.export();
                    let _ = ack.send(());
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {
                    self.export();
                    next = Instant::now() + interval;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.export();
                    return;
                }
            }
        }
    }

    /// One export; a panic in the client counts as a failure, and the
    /// thread goes on.
    fn export(&mut self) {
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.export_retrying()));
        if ok.is_err() {
            self.count(&self.failed);
            if let Ok(mut l) = self.last_error.lock() {
                *l = Some("the OTLP client panicked".into());
            }
        }
    }

    /// One export, tried up to 4 times with [`Backoff`](crate::export::Backoff)
    /// from 100 ms, all within the timeout; none while the circuit rests
    /// after a failure (counted failed).
    fn export_retrying(&mut self) {
        if !self.circuit.allows() {
            self.count(&self.failed);
            return;
        }
        let now = SystemTime::now();
        let (metrics, temporality) = (&self.metrics, self.temporality);
        let (intervals, pending) = self.deltas.intervals(
            metrics.snapshot(),
            |m| temporality.is_delta(m.metric_type, metrics.fed_by_totals(&m.name)),
            now,
        );
        let since = self.deltas.since();
        let request = encode(&intervals, &self.resource, self.start, since, now);
        match self.sender.send(request.encode_to_vec()) {
            Ok(()) => {
                // Only now are these totals the collector's: a failed
                // export leaves its interval to the next delta.
                self.deltas.delivered(pending);
                self.count(&self.exports);
                self.circuit.record(true);
            }
            Err(e) => {
                if let Ok(mut l) = self.last_error.lock() {
                    *l = Some(e.to_string());
                }
                self.circuit.record(false);
                self.count(&self.failed);
            }
        }
    }
}
