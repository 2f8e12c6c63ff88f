//! [`TelemetryBuilder`]: what a set-up is made of, and how it is built
//! into a [`Telemetry`] guard (installed as the global subscriber, or as
//! layers for a registry the user builds).

use super::globals::{self, Globals};
use super::{error::InstallError, layers, metrics, shutdown, signals, traces};
use super::{FccLayer, Telemetry};
use crate::bus::{EventBus, EventFilter};
use crate::layer::SpanLayer;
use crate::layer::{is_quiet_target, FanoutLayer, EVENT_TARGET};
use crate::otel::FccPropagator;
use crate::sinks::{attach, JsonFileSink, LogSink, Sink, SinkOptions};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;
use tracing_subscriber::filter::{filter_fn, LevelFilter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

/// Where LogSink writes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogTarget {
    /// Standard error (the default).
    Stderr,
    /// Standard output.
    Stdout,
    /// A file, appended to.
    File(PathBuf),
    /// No LogSink.
    Off,
}

/// Configures a [`Telemetry`]; see the [module docs](crate::telemetry).
#[must_use]
pub struct TelemetryBuilder {
    pub(super) service_name: Option<String>,
    pub(super) log: LogTarget,
    pub(super) json_file: Option<PathBuf>,
    pub(super) json_file_max_bytes: u64,
    /// Sinks added; `None`: the builder's [`sink_options`](Self::sink_options).
    pub(super) sinks: Vec<(Box<dyn Sink>, Option<SinkOptions>)>,
    pub(super) sink_options: SinkOptions,
    pub(super) log_filter: EventFilter,
    pub(super) fmt: Option<LevelFilter>,
    pub(super) shutdown_timeout: Duration,
    pub(super) bus: Option<EventBus>,
    pub(super) traces: traces::TraceSettings,
    pub(super) metric_settings: metrics::MetricSettings,
    pub(super) propagator: FccPropagator,
    pub(super) otel_globals: bool,
    pub(super) metrics_recorder: bool,
    pub(super) plain_logs: tracing_subscriber::filter::Targets,
    pub(super) log_span_events: bool,
    pub(super) resource_attributes: Option<String>,
    pub(super) log_level: Option<crate::internal::diagnostics::DiagLevel>,
    pub(super) sdk_disabled: bool,
    pub(super) on_signals: bool,
    pub(super) rate_limit: Option<crate::layer::RateLimit>,
    pub(super) warnings: Vec<String>,
}

impl Default for TelemetryBuilder {
    fn default() -> Self {
        Self {
            service_name: None,
            log: LogTarget::Stderr,
            json_file: None,
            json_file_max_bytes: 64 * 1024 * 1024,
            sinks: Vec::new(),
            sink_options: SinkOptions::default(),
            log_filter: EventFilter::new(),
            fmt: Some(LevelFilter::INFO),
            shutdown_timeout: Duration::from_secs(5),
            bus: None,
            traces: traces::TraceSettings::default(),
            metric_settings: metrics::MetricSettings::default(),
            propagator: FccPropagator::default(),
            otel_globals: true,
            metrics_recorder: true,
            plain_logs: crate::layer::logs::parse_directives(
                crate::layer::logs::DEFAULT_LOG_DIRECTIVE,
            )
            .unwrap_or_default(),
            log_span_events: false,
            resource_attributes: None,
            log_level: None,
            sdk_disabled: false,
            on_signals: false,
            rate_limit: None,
            warnings: Vec::new(),
        }
    }
}

impl TelemetryBuilder {
    /// The service name (`OTEL_SERVICE_NAME`).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// What reading the configuration warned about: each names the variable,
    /// what was expected and the default used instead. Set-up prints them.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The service name [`build`](Self::build) will use: the one set (by
    /// [`service_name`](Self::service_name) or `OTEL_SERVICE_NAME` through
    /// `from_env`), else `unknown_service:<executable>`. For extensions that
    /// derive names from it (the Kubernetes sink's `reportingController`).
    pub fn resolved_service_name(&self) -> String {
        self.resource().service_name()
    }

    /// The resource every signal reports (see [`FccResource`](crate::otel::FccResource)).
    fn resource(&self) -> crate::otel::FccResource {
        let attributes = self.resource_attributes.clone();
        crate::otel::FccResource::detect(self.service_name.as_deref(), move |k| {
            (k == "OTEL_RESOURCE_ATTRIBUTES")
                .then(|| attributes.clone())
                .flatten()
        })
        .0
    }

    /// Where LogSink writes (default stderr).
    pub fn log(mut self, target: LogTarget) -> Self {
        self.log = target;
        self
    }
    /// Which events LogSink writes (default all).
    pub fn log_filter(mut self, filter: EventFilter) -> Self {
        self.log_filter = filter;
        self
    }
    /// Adds a JsonFileSink appending NDJSON to `path`.
    pub fn json_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.json_file = Some(path.into());
        self
    }
    /// Rotate the JSON file past this size.
    pub fn json_file_max_bytes(mut self, bytes: u64) -> Self {
        self.json_file_max_bytes = bytes;
        self
    }
    /// Adds any sink with its own options (which win over
    /// [`sink_options`](Self::sink_options) and `FCC_QUEUE_CAPACITY` /
    /// `FCC_DROP_POLICY`).
    pub fn sink(mut self, sink: impl Sink, options: SinkOptions) -> Self {
        self.sinks.push((Box::new(sink), Some(options)));
        self
    }
    /// Adds any sink with the options every built-in sink gets: the
    /// builder's [`sink_options`](Self::sink_options), `FCC_QUEUE_CAPACITY`
    /// and `FCC_DROP_POLICY`, whenever they are set. Extensions that attach
    /// a sink for the user (the store's `.store(url)`) use this, so the
    /// user's capacity and drop policy hold for every sink.
    pub fn sink_with_defaults(mut self, sink: impl Sink) -> Self {
        self.sinks.push((Box::new(sink), None));
        self
    }
    /// On `SIGINT` or `SIGTERM`, write what the sinks and exporters hold
    /// (within the [shutdown timeout](Self::shutdown_timeout)) and then exit
    /// the process with 128 + the signal's number; a second signal exits at
    /// once. Off by default: a library must not take a process's signals
    /// unasked. Unix only (elsewhere it does nothing).
    ///
    /// Without it (or when the process ends by `std::process::exit` or a
    /// panic in `main`, where the guard's `Drop` cannot run), what is still
    /// queued is lost: see [`Telemetry::flush_on_panic`] and [`Telemetry::exit`].
    pub fn shutdown_on_signals(mut self, on: bool) -> Self {
        self.on_signals = on;
        self
    }
    /// Floods: at most `limit` events per call site (type, source and line
    /// of code) in each window; the rest are counted and reported as one
    /// `fcc.events.suppressed` event per window (see
    /// [`RateLimit`](crate::layer::RateLimit)). Off by default
    /// (`FCC_RATE_LIMIT=100/s` sets it).
    pub fn rate_limit(mut self, limit: Option<crate::layer::RateLimit>) -> Self {
        self.rate_limit = limit;
        self
    }
    /// Queue, batch and drop policy for the built-in sinks and those added
    /// with [`sink_with_defaults`](Self::sink_with_defaults).
    pub fn sink_options(mut self, options: SinkOptions) -> Self {
        self.sink_options = options;
        self
    }
    /// Human-readable ordinary logs on stderr at this level; `None` turns them off.
    pub fn fmt(mut self, level: Option<LevelFilter>) -> Self {
        self.fmt = level;
        self
    }
    /// How long shutdown waits for each sink.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }
    /// Publish on this bus (default a new one), to share it with subscribers.
    pub fn bus(mut self, bus: EventBus) -> Self {
        self.bus = Some(bus);
        self
    }

    /// The propagator the globals get (default from `OTEL_PROPAGATORS`:
    /// `tracecontext,baggage`).
    pub fn propagator(mut self, propagator: FccPropagator) -> Self {
        self.propagator = propagator;
        self
    }
    /// Whether [`install`](Self::install) and [`layer`](Self::layer) make
    /// fcc the OpenTelemetry globals: tracer provider, meter provider and
    /// propagator (default true).
    pub fn otel_globals(mut self, on: bool) -> Self {
        self.otel_globals = on;
        self
    }
    /// Whether [`install`](Self::install) and [`layer`](Self::layer) install
    /// fcc's recorder for the `metrics` crate's macros (default true; when
    /// another recorder is already set, a warning, not an error).
    pub fn metrics_recorder(mut self, on: bool) -> Self {
        self.metrics_recorder = on;
        self
    }
    /// Which plain `tracing` events become OTel log records, as a
    /// `RUST_LOG`-style list (`FCC_OTEL_LOGS`, else `RUST_LOG`, default
    /// `info`); `"off"` turns them off.
    pub fn otel_log_filter(mut self, directives: &str) -> Result<Self, InstallError> {
        self.plain_logs = crate::layer::logs::parse_directives(directives).map_err(|reason| {
            InstallError::Config {
                variable: "otel_log_filter",
                value: directives.to_owned(),
                reason,
            }
        })?;
        Ok(self)
    }
    /// Also attach plain `tracing` events to their span as span events
    /// (tracing-opentelemetry's behaviour; default off, so the volume is not
    /// doubled). fcc's bus events are span events always.
    pub fn log_span_events(mut self, on: bool) -> Self {
        self.log_span_events = on;
        self
    }

    /// Starts the sinks and builds the pipeline without installing it globally.
    pub fn build(self) -> Result<Telemetry, InstallError> {
        let (layer, fmt_layer, mut telemetry) = self.build_parts()?;
        let subscriber = tracing_subscriber::registry().with(layer).with(fmt_layer);
        telemetry.dispatch = tracing::Dispatch::new(subscriber);
        Ok(telemetry)
    }

    /// fcc as a layer for a `tracing` registry you build, with the guard. The
    /// globals are set as by [`install`](Self::install) (fcc's tracer for
    /// `#[traced]`, the OTel providers and propagator, the `metrics`
    /// recorder), but not the `tracing` subscriber: that is yours.
    ///
    /// ```no_run
    /// use tracing_subscriber::layer::SubscriberExt;
    /// use tracing_subscriber::util::SubscriberInitExt;
    ///
    /// let (fcc_layer, _telemetry) = fcc::Telemetry::builder().fmt(None).layer()?;
    /// tracing_subscriber::registry()
    ///     .with(fcc_layer)
    ///     .with(tracing_subscriber::fmt::layer())
    ///     .init();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn layer(self) -> Result<(FccLayer, Telemetry), InstallError> {
        let reservation = globals::Reservation::take()?;
        let (layer, _fmt, telemetry) = self.build_parts()?;
        telemetry.set_globals();
        reservation.keep();
        Ok((layer, telemetry))
    }

    fn build_parts(self) -> Result<(FccLayer, FmtLayer, Telemetry), InstallError> {
        let resource = self.resource();
        let bus = self.bus.unwrap_or_default();
        // Open every file first, so a bad path fails before any thread starts.
        let mut sinks: Vec<(Box<dyn Sink>, SinkOptions)> = Vec::new();
        let log_options = self.sink_options.clone().filter(self.log_filter.clone());
        match &self.log {
            LogTarget::Stderr => sinks.push((Box::new(LogSink::stderr()), log_options)),
            LogTarget::Stdout => sinks.push((Box::new(LogSink::stdout()), log_options)),
            LogTarget::File(p) => sinks.push((Box::new(LogSink::file(p)?), log_options)),
            LogTarget::Off => {}
        }
        if let Some(path) = &self.json_file {
            let sink = JsonFileSink::new(path)?.max_bytes(self.json_file_max_bytes);
            sinks.push((Box::new(sink), self.sink_options.clone()));
        }
        let defaults = &self.sink_options;
        sinks.extend(
            self.sinks
                .into_iter()
                .map(|(sink, options)| (sink, options.unwrap_or_else(|| defaults.clone()))),
        );
        let mut handles = Vec::new();
        for (sink, options) in sinks {
            handles.push(attach(&bus, sink, options).map_err(InstallError::Thread)?);
        }
        let service_name = resource.service_name();
        let otlp = self.traces.otlp_config();
        let tracer = self.traces.build_tracer(&resource)?;
        traces::forward_events(&bus, &tracer);
        let fanout = FanoutLayer::new(bus.clone()).with_rate_limit(self.rate_limit);
        // No `Option` here: a `None` layer's level hint (OFF) would disable
        // callsites first seen with no dispatcher.
        let fmt_layer = match self.fmt {
            Some(level) => fmt_layer(level),
            None => Box::new(tracing_subscriber::layer::Identity::new()),
        };
        let exports_logs = tracer
            .pipeline()
            .is_some_and(crate::export::pipeline::Pipeline::exports_logs);
        let plain_logs = (exports_logs || self.log_span_events).then(|| layers::PlainLogs {
            tracer: tracer.clone(),
            filter: self.plain_logs,
            span_events: self.log_span_events,
        });
        let layer = FccLayer {
            spans: SpanLayer::new(tracer.clone()),
            fanout: fanout.clone(),
            logs: plain_logs,
        };
        let metrics = metrics::start(
            self.metric_settings,
            otlp.as_ref(),
            &resource,
            &bus,
            &handles,
            &tracer,
        )?;
        let parts = Arc::new(shutdown::Parts {
            bus: bus.clone(),
            limiter: fanout.limiter().cloned(),
            sinks: handles.clone(),
            tracer: tracer.clone(),
            #[cfg(feature = "otlp")]
            metrics_exporter: metrics.exporter.clone(),
            shutdown_timeout: self.shutdown_timeout,
            shut_down: AtomicBool::new(false),
            installed: AtomicBool::new(false),
        });
        if self.on_signals {
            signals::watch(Arc::clone(&parts)).map_err(InstallError::Thread)?;
        }
        let telemetry = Telemetry {
            metrics,
            tracer,
            bus,
            fanout,
            parts,
            sinks: handles,
            dispatch: tracing::Dispatch::none(),
            service_name,
            globals: std::sync::Mutex::new(Some(Globals {
                propagator: self.propagator,
                otel: self.otel_globals,
                propagator_only: self.sdk_disabled,
                metrics_recorder: self.metrics_recorder,
                warnings: self.warnings,
                log_level: self.log_level,
            })),
        };
        Ok((layer, fmt_layer, telemetry))
    }

    /// Builds the pipeline and installs it as the process-wide `tracing`
    /// subscriber, fcc's tracer for `#[traced]`, the OpenTelemetry globals
    /// (tracer and meter providers, propagator) and the `metrics` recorder.
    ///
    /// When a `tracing` subscriber is already installed (by fcc or anyone),
    /// this fails with [`InstallError::AlreadyInstalled`] and changes
    /// nothing: use [`layer`](Self::layer) to add fcc to it.
    pub fn install(self) -> Result<Telemetry, InstallError> {
        let reservation = globals::Reservation::take()?;
        let telemetry = self.build()?;
        tracing::dispatcher::set_global_default(telemetry.dispatch.clone())
            .map_err(|_| InstallError::AlreadyInstalled)?;
        telemetry.set_globals();
        reservation.keep();
        Ok(telemetry)
    }
}

type FmtLayer = Box<
    dyn Layer<tracing_subscriber::layer::Layered<FccLayer, tracing_subscriber::Registry>>
        + Send
        + Sync,
>;

/// Human-readable ordinary logs on stderr.
fn fmt_layer(level: LevelFilter) -> FmtLayer {
    let filter: tracing_subscriber::filter::FilterFn = filter_fn(|meta| {
        // Bus events are logged once, by LogSink; fcc's own diagnostics below
        // WARN are not for users.
        let bus_event = meta.target() == EVENT_TARGET
            || meta.is_event() && meta.fields().field("event_type").is_some();
        let chatter = is_quiet_target(meta.target())
            && *meta.level() > crate::internal::diagnostics::level().tracing_level();
        !bus_event && !chatter
    });
    Box::new(
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(level)
            .with_filter(filter),
    )
}
