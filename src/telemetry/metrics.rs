//! The metrics half of the set-up: the FccMetrics a service records into,
//! fcc's own health metrics, and OTLP export when an endpoint is configured.

use std::sync::Arc;
use std::time::Duration;

use super::switches::{exporters, millis, ExporterName::*};
use super::{InstallError, TelemetryBuilder};
use crate::bus::EventBus;
use crate::metrics::{ExemplarFilter, FccMetrics, MetricType};
use crate::otlp::OtlpConfig;
use crate::sinks::SinkHandle;
use crate::trace::FccTracer;

pub(super) struct MetricSettings {
    metrics: Option<FccMetrics>,
    interval: Duration,
    /// Bounds each OTLP metrics export (`OTEL_METRIC_EXPORT_TIMEOUT`).
    export_timeout: Duration,
    prometheus: Option<String>,
    /// Metrics go over OTLP when a configuration is there (`OTEL_METRICS_EXPORTER`).
    otlp: bool,
    /// `otlp` was named in `OTEL_METRICS_EXPORTER`.
    pub(super) otlp_named: bool,
    /// Printed on stdout every interval (`OTEL_METRICS_EXPORTER=console`).
    console: bool,
    exemplar_filter: Option<ExemplarFilter>,
}

impl Default for MetricSettings {
    fn default() -> Self {
        MetricSettings {
            metrics: None,
            interval: Duration::from_secs(60),
            export_timeout: Duration::from_secs(30),
            prometheus: None,
            otlp: true,
            otlp_named: false,
            console: false,
            exemplar_filter: None,
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
    /// `OTEL_METRICS_EXPORTER`, `OTEL_METRIC_EXPORT_INTERVAL` / `_TIMEOUT`,
    /// `OTEL_METRICS_EXEMPLAR_FILTER`, `OTEL_EXPORTER_PROMETHEUS_HOST` /
    /// `_PORT` and `FCC_PROMETHEUS_ADDR`. What cannot be used is a warning,
    /// and the default is kept.
    pub(super) fn read_env(
        &mut self,
        lookup: &impl Fn(&str) -> Option<String>,
        warnings: &mut Vec<String>,
    ) {
        self.interval = millis(
            lookup,
            "OTEL_METRIC_EXPORT_INTERVAL",
            self.interval,
            warnings,
        );
        self.export_timeout = millis(
            lookup,
            "OTEL_METRIC_EXPORT_TIMEOUT",
            self.export_timeout,
            warnings,
        );
        if let Some(v) = lookup("OTEL_METRICS_EXEMPLAR_FILTER").filter(|v| !v.trim().is_empty()) {
            match ExemplarFilter::parse(&v) {
                Some(f) => self.exemplar_filter = Some(f),
                None => warnings.push(format!(
                    "OTEL_METRICS_EXEMPLAR_FILTER={v:?} not understood: expected always_on, \
                     always_off or trace_based; using trace_based"
                )),
            }
        }
        let host = lookup("OTEL_EXPORTER_PROMETHEUS_HOST").filter(|v| !v.trim().is_empty());
        let port = lookup("OTEL_EXPORTER_PROMETHEUS_PORT").filter(|v| !v.trim().is_empty());
        let mut prometheus = false;
        if let Some(list) = exporters(
            lookup,
            "OTEL_METRICS_EXPORTER",
            &[Otlp, Console, Prometheus],
            warnings,
        ) {
            self.otlp = list.contains(&Otlp);
            self.otlp_named = self.otlp;
            self.console = list.contains(&Console);
            prometheus = list.contains(&Prometheus);
        }
        if prometheus {
            let host = host.as_deref().map_or("localhost", str::trim);
            let port = match port.as_deref().map(|p| (p, p.trim().parse::<u16>())) {
                None => 9464,
                Some((_, Ok(p))) => p,
                Some((p, Err(_))) => {
                    warnings.push(format!(
                        "OTEL_EXPORTER_PROMETHEUS_PORT={p:?} not used: expected a port \
                         number (0 to 65535); using 9464"
                    ));
                    9464
                }
            };
            // An IPv6 literal takes brackets in an address.
            let host = if host.contains(':') && !host.starts_with('[') {
                format!("[{host}]")
            } else {
                host.to_owned()
            };
            self.prometheus = Some(format!("{host}:{port}"));
        } else if host.is_some() || port.is_some() {
            warnings.push(
                "OTEL_EXPORTER_PROMETHEUS_HOST/_PORT are set but OTEL_METRICS_EXPORTER does not \
                 name `prometheus`: no Prometheus endpoint is served"
                    .to_owned(),
            );
        }
        // fcc's own variable, for an address outside the OTel scheme.
        if let Some(v) = lookup("FCC_PROMETHEUS_ADDR").filter(|v| !v.trim().is_empty()) {
            self.prometheus = Some(v);
        }
    }

    /// `OTEL_SDK_DISABLED=true`: nothing is exported or served.
    pub(super) fn disable(&mut self) {
        self.otlp = false;
        self.console = false;
        self.prometheus = None;
    }
}

/// Where a Prometheus address comes from, for set-up errors.
const PROMETHEUS_VARIABLES: &str = "FCC_PROMETHEUS_ADDR or OTEL_EXPORTER_PROMETHEUS_HOST/_PORT";

/// What `Telemetry` keeps for metrics.
pub(super) struct MetricsPart {
    pub(super) metrics: FccMetrics,
    #[cfg(feature = "prometheus")]
    pub(super) prometheus: Option<crate::metrics::prometheus::PrometheusEndpoint>,
    /// Stops (printing one last time) when dropped.
    pub(super) _console: Option<crate::export::metric_reader::ConsoleMetricReader>,
    #[cfg(feature = "otlp")]
    pub(super) exporter: Option<Arc<crate::otlp::OtlpMetricsExporter>>,
}

pub(super) fn start(
    settings: MetricSettings,
    otlp: Option<&OtlpConfig>,
    resource: &crate::otel::FccResource,
    bus: &EventBus,
    sinks: &[Arc<SinkHandle>],
    tracer: &FccTracer,
) -> Result<MetricsPart, InstallError> {
    let metrics = settings
        .metrics
        .unwrap_or_else(|| FccMetrics::builder().points_capacity(0).build());
    if let Some(filter) = settings.exemplar_filter {
        metrics.set_exemplar_filter(filter);
    }
    let otlp = otlp.filter(|_| settings.otlp).map(|c| {
        let mut c = c.clone();
        c.metrics.timeout = c.metrics.timeout.min(settings.export_timeout);
        c
    });
    let otlp = otlp.as_ref();
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
        Some(config) => Some(Arc::new(
            crate::otlp::OtlpMetricsExporter::start_with_resource(
                metrics.clone(),
                config,
                resource,
                settings.interval,
            )
            .map_err(InstallError::Exporter)?,
        )),
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
    let _ = (otlp, resource);
    let console = if settings.console {
        let reader = crate::export::metric_reader::ConsoleMetricReader::start(
            metrics.clone(),
            settings.interval,
        )
        .map_err(InstallError::Thread)?;
        Some(reader)
    } else {
        None
    };
    #[cfg(feature = "prometheus")]
    let prometheus = match settings.prometheus {
        Some(addr) => Some(
            crate::metrics::prometheus::PrometheusEndpoint::serve(&addr, metrics.clone()).map_err(
                |e| InstallError::Config {
                    variable: PROMETHEUS_VARIABLES,
                    value: addr.clone(),
                    reason: format!("cannot listen there: {e}"),
                },
            )?,
        ),
        None => None,
    };
    #[cfg(not(feature = "prometheus"))]
    if let Some(addr) = settings.prometheus {
        return Err(InstallError::Config {
            variable: PROMETHEUS_VARIABLES,
            value: addr,
            reason:
                "this build of fcc has no Prometheus endpoint (enable the `prometheus` feature)"
                    .into(),
        });
    }
    Ok(MetricsPart {
        metrics,
        #[cfg(feature = "prometheus")]
        prometheus,
        _console: console,
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
    /// [`prometheus`](crate::metrics::prometheus). A taken port is an install
    /// error, and so is a build without the `prometheus` feature.
    pub fn prometheus(mut self, addr: impl Into<String>) -> Self {
        self.metric_settings.prometheus = Some(addr.into());
        self
    }
}

#[cfg(all(test, not(feature = "prometheus")))]
mod tests {
    use crate::{InstallError, LogTarget, Telemetry};

    /// `cargo test --lib --no-default-features`: the endpoint needs its feature.
    #[test]
    fn asking_for_the_endpoint_without_the_feature_is_a_config_error() {
        let e = Telemetry::builder()
            .fmt(None)
            .log(LogTarget::Off)
            .prometheus("127.0.0.1:0")
            .build()
            .map(drop)
            .unwrap_err();
        match e {
            InstallError::Config { value, reason, .. } => {
                assert_eq!(value, "127.0.0.1:0");
                assert!(reason.contains("`prometheus` feature"), "{reason}");
            }
            other => panic!("{other}"),
        }
    }
}
