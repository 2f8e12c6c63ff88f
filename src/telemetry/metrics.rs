//! The metrics half of the set-up: the FccMetrics a service records into,
//! fcc's own health metrics, and OTLP export when an endpoint is configured.

use std::sync::Arc;
use std::time::Duration;

use super::{InstallError, TelemetryBuilder};
use crate::bus::EventBus;
use crate::metrics::{FccMetrics, MetricType};
use crate::otlp::OtlpConfig;
use crate::sinks::SinkHandle;
use crate::trace::FccTracer;

pub(super) struct MetricSettings {
    metrics: Option<FccMetrics>,
    interval: Duration,
    prometheus: Option<String>,
}

impl Default for MetricSettings {
    fn default() -> Self {
        MetricSettings {
            metrics: None,
            interval: Duration::from_secs(60),
            prometheus: None,
        }
    }
}

/// fcc's own health, read at every export.
pub const HEALTH_METRICS: &[(&str, MetricType, &str, &str)] = &[
    (
        "fcc.bus.published",
        MetricType::Counter,
        "{event}",
        "Events published on the bus",
    ),
    (
        "fcc.bus.deliveries",
        MetricType::Counter,
        "{delivery}",
        "Deliveries to subscribers and sinks, by result: delivered, failed, panicked",
    ),
    (
        "fcc.sink.events",
        MetricType::Counter,
        "{event}",
        "Events per sink, by result: written, dropped, failed",
    ),
    (
        "fcc.sink.queue.depth",
        MetricType::Gauge,
        "{event}",
        "Events waiting in a sink's queue",
    ),
    (
        "fcc.sink.errors",
        MetricType::Counter,
        "{error}",
        "Failed sink writes (errors and panics)",
    ),
    (
        "fcc.spans",
        MetricType::Counter,
        "{span}",
        "Spans by export result: exported, dropped, failed",
    ),
    (
        "fcc.log_records",
        MetricType::Counter,
        "{record}",
        "OTel log records by export result",
    ),
    (
        "fcc.metric_exports",
        MetricType::Counter,
        "{export}",
        "OTLP metric exports by result: exported, failed",
    ),
];

impl MetricSettings {
    /// `OTEL_METRIC_EXPORT_INTERVAL` (milliseconds).
    pub(super) fn read_env(
        &mut self,
        lookup: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), InstallError> {
        if let Some(v) = lookup("FCC_PROMETHEUS_ADDR").filter(|v| !v.trim().is_empty()) {
            self.prometheus = Some(v);
        }
        if let Some(v) = lookup("OTEL_METRIC_EXPORT_INTERVAL") {
            match v.trim().parse::<u64>() {
                Ok(ms) if ms > 0 => self.interval = Duration::from_millis(ms),
                _ => {
                    return Err(InstallError::Config {
                        variable: "OTEL_METRIC_EXPORT_INTERVAL",
                        value: v,
                        reason: "expected milliseconds, a whole number above 0".into(),
                    })
                }
            }
        }
        Ok(())
    }
}

/// What `Telemetry` keeps for metrics.
pub(super) struct MetricsPart {
    pub(super) metrics: FccMetrics,
    pub(super) prometheus: Option<crate::metrics::prometheus::PrometheusEndpoint>,
    #[cfg(feature = "otlp")]
    pub(super) exporter: Option<crate::otlp::OtlpMetricsExporter>,
}

pub(super) fn start(
    settings: MetricSettings,
    otlp: Option<&OtlpConfig>,
    service_name: &str,
    bus: &EventBus,
    sinks: &[Arc<SinkHandle>],
    tracer: &FccTracer,
) -> Result<MetricsPart, InstallError> {
    let metrics = settings
        .metrics
        .unwrap_or_else(|| FccMetrics::builder().points_capacity(0).build());
    for (name, kind, unit, description) in HEALTH_METRICS {
        let _ = metrics.describe(name, *kind, *unit, *description, None);
    }
    let sinks: Vec<Arc<SinkHandle>> = sinks.to_vec();
    let tracer = tracer.clone();
    let bus = bus.clone();
    metrics.on_collect(move |m| {
        let b = bus.stats();
        let _ = m.set_counter_total("fcc.bus.published", b.published, &[]);
        for (result, n) in [
            ("delivered", b.delivered),
            ("failed", b.failed_deliveries),
            ("panicked", b.panicked_deliveries),
        ] {
            let _ = m.set_counter_total("fcc.bus.deliveries", n, &[("result", result)]);
        }
        for s in sinks.iter().map(|s| s.stats()) {
            let sink = s.name.as_str();
            for (result, n) in [
                ("written", s.written),
                ("dropped", s.dropped),
                ("failed", s.failed),
            ] {
                let _ = m.set_counter_total(
                    "fcc.sink.events",
                    n,
                    &[("sink", sink), ("result", result)],
                );
            }
            let _ = m.observe(
                "fcc.sink.queue.depth",
                s.queue_depth as f64,
                &[("sink", sink)],
            );
            let _ = m.set_counter_total("fcc.sink.errors", s.errors + s.panics, &[("sink", sink)]);
        }
        let t = tracer.stats();
        for (result, n) in [
            ("exported", t.spans_exported),
            ("dropped", t.spans_dropped),
            ("failed", t.spans_failed),
        ] {
            let _ = m.set_counter_total("fcc.spans", n, &[("result", result)]);
        }
        for (result, n) in [
            ("exported", t.logs_exported),
            ("dropped", t.logs_dropped),
            ("failed", t.logs_failed),
        ] {
            let _ = m.set_counter_total("fcc.log_records", n, &[("result", result)]);
        }
    });
    #[cfg(feature = "otlp")]
    let exporter = match otlp {
        Some(config) => Some(
            crate::otlp::OtlpMetricsExporter::start(
                metrics.clone(),
                config,
                service_name,
                settings.interval,
            )
            .map_err(InstallError::Exporter)?,
        ),
        None => None,
    };
    #[cfg(feature = "otlp")]
    if let Some(e) = &exporter {
        // Failed exports show in the next export (and on Prometheus).
        let (exported, failed) = e.counters();
        metrics.on_collect(move |m| {
            for (result, n) in [("exported", &exported), ("failed", &failed)] {
                let total = n.load(std::sync::atomic::Ordering::Relaxed);
                let _ = m.set_counter_total("fcc.metric_exports", total, &[("result", result)]);
            }
        });
    }
    #[cfg(not(feature = "otlp"))]
    let _ = (otlp, service_name);
    let prometheus = match settings.prometheus {
        Some(addr) => Some(
            crate::metrics::prometheus::PrometheusEndpoint::serve(&addr, metrics.clone()).map_err(
                |e| InstallError::Config {
                    variable: "FCC_PROMETHEUS_ADDR",
                    value: addr.clone(),
                    reason: format!("cannot listen there: {e}"),
                },
            )?,
        ),
        None => None,
    };
    Ok(MetricsPart {
        metrics,
        prometheus,
        #[cfg(feature = "otlp")]
        exporter,
    })
}

impl TelemetryBuilder {
    /// Record into this FccMetrics (default: a new one keeping no points).
    pub fn metrics(mut self, metrics: FccMetrics) -> Self {
        self.metric_settings.metrics = Some(metrics);
        self
    }
    /// How often metrics are exported over OTLP (default 60 s;
    /// `OTEL_METRIC_EXPORT_INTERVAL`).
    pub fn metric_export_interval(mut self, interval: Duration) -> Self {
        self.metric_settings.interval = interval.max(Duration::from_millis(1));
        self
    }
    /// Serves the metrics for Prometheus to scrape at `http://<addr>/metrics`
    /// (`FCC_PROMETHEUS_ADDR`; off by default). For users without a
    /// collector: names follow the OTel-to-Prometheus rules, see
    /// [`prometheus`](crate::metrics::prometheus). A taken port is an install error.
    pub fn prometheus(mut self, addr: impl Into<String>) -> Self {
        self.metric_settings.prometheus = Some(addr.into());
        self
    }
}
