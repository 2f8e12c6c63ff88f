//! `fcc demo`: the main job. A simulated agent mission emitting catalog
//! events through the bus to every configured sink; its simulation and
//! action engines are traced from their events by
//! [`fcc::instrument_simulation_engine`] and [`fcc::instrument_action_engine`]
//! (the mission and its tool calls and gates with `#[traced]`), and
//! FccMetrics' predefined metrics are recorded; then a summary of what
//! happened and where it went.

mod mission;

use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use fcc::export::JsonFileSpanExporter;
use fcc::sinks::{DropPolicy, SinkOptions};
use fcc::{LogTarget, TelemetryBuilder};
use fcc_store::StoreTelemetryExt;
use indicatif::{ProgressBar, ProgressStyle};

use crate::error::{store_error, CliError};
use crate::query::{parse_age, DEFAULT_STORE};
use crate::read::Counts;
use mission::{Orchestrator, Rng};

/// The export queue's size in the demo (`OTEL_BSP_MAX_QUEUE_SIZE` overrides).
const EXPORT_QUEUE: u64 = 16_384;

/// `fcc demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// How many missions to run (default 100; unlimited with --duration)
    #[arg(long)]
    pub missions: Option<u64>,
    /// Run for this long (90s, 5m), mission after mission
    #[arg(long, value_parser = parse_age)]
    pub duration: Option<Duration>,
    /// Emit at most this many events per second (default: as fast as the pipeline goes)
    #[arg(long)]
    pub rate: Option<u64>,
    /// Objectives per mission
    #[arg(long, default_value_t = 3)]
    pub objectives: u32,
    /// Where events are stored
    #[arg(long, env = "FCC_STORE_URL", default_value = DEFAULT_STORE, value_name = "URL")]
    pub store: String,
    /// The NDJSON events file (JsonFileSink)
    #[arg(long, default_value = "fcc-demo/events.ndjson", value_name = "PATH")]
    pub json: PathBuf,
    /// Where LogSink writes: a path, `stderr` or `off`
    #[arg(long, default_value = "fcc-demo/log.ndjson", value_name = "PATH")]
    pub log: String,
    /// The NDJSON spans file (besides OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set)
    #[arg(long, default_value = "fcc-demo/spans.ndjson", value_name = "PATH")]
    pub spans: PathBuf,
    /// Seed of the simulation (the same seed makes the same run)
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// No progress bar, even on a terminal
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn demo(args: DemoArgs) -> Result<(), CliError> {
    if args.rate == Some(0) {
        return Err(CliError::usage("--rate must be above 0"));
    }
    let missions = match (args.missions, args.duration) {
        (Some(n), _) => n,
        (None, Some(_)) => u64::MAX,
        (None, None) => 100,
    };
    let log = match args.log.as_str() {
        "stderr" => LogTarget::Stderr,
        "off" => LogTarget::Off,
        path => LogTarget::File(path.into()),
    };
    let spans = JsonFileSpanExporter::new(&args.spans).map_err(|e| {
        CliError::runtime(format!(
            "cannot write spans to {}: {e}",
            args.spans.display()
        ))
    })?;
    let otlp = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
        .ok()
        .filter(|s| !s.is_empty());
    // A deeper export queue than the SDK default (2048) unless the user set
    // one: the demo waits for it to drain rather than lose spans.
    let builder = TelemetryBuilder::from_vars(|k| {
        std::env::var(k)
            .ok()
            .or_else(|| (k == "OTEL_BSP_MAX_QUEUE_SIZE").then(|| EXPORT_QUEUE.to_string()))
    })
    .map_err(CliError::usage)?
    .service_name(std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "fcc-demo".into()))
    .fmt(None)
    .log(log)
    .json_file(&args.json)
    .span_exporter(spans)
    // Nothing may be lost: emitters wait for a slow sink instead.
    .sink_options(SinkOptions::default().policy(DropPolicy::Block))
    // At the end, local sinks and exporters get all the time they need.
    .shutdown_timeout(Duration::from_secs(120))
    .store(&args.store)
    .map_err(|e| store_error(&args.store, e))?;
    let telemetry = builder.install().map_err(CliError::runtime)?;

    let counts = Arc::new(Mutex::new(Counts::default()));
    let c = counts.clone();
    telemetry.bus().subscribe(move |e: &fcc::Event| {
        if let Ok(mut c) = c.lock() {
            c.add(e);
        }
    });

    // Ctrl-C or an orchestrator's SIGTERM ends the run early, cleanly: no
    // new mission starts, everything queued is written, the summary is
    // printed, and the exit code is the usual one. A second signal exits at
    // once (130 / 143).
    let interrupted = Arc::new(std::sync::atomic::AtomicBool::new(false));
    #[cfg(unix)]
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let flag = Arc::clone(&interrupted);
        signal_hook::flag::register_conditional_shutdown(signal, 128 + signal, Arc::clone(&flag))
            .and_then(|_| signal_hook::flag::register(signal, flag))
            .map_err(|e| CliError::runtime(format!("cannot watch signals: {e}")))?;
    }
    // The engines publish lifecycle events; these turn them into the
    // simulation, step and action spans and their metrics.
    let engines = [
        fcc::instrument_simulation_engine(telemetry.bus(), telemetry.tracer(), telemetry.metrics()),
        fcc::instrument_action_engine(telemetry.bus(), telemetry.tracer(), telemetry.metrics()),
    ];
    let stopping = || interrupted.load(std::sync::atomic::Ordering::Relaxed);
    let bar = progress(&args, missions);
    let started = Instant::now();
    let mut orchestrator = Orchestrator {
        metrics: telemetry.metrics(),
        rng: Rng::new(args.seed),
        emitted: 0,
    };
    let (mut passed, mut run) = (0u64, 0u64);
    while run < missions && args.duration.is_none_or(|d| started.elapsed() < d) && !stopping() {
        run += 1;
        let ok = orchestrator.run_mission(&format!("M-{run:04}"), args.objectives.max(1));
        passed += u64::from(ok);
        bar.inc(1);
        // Back-pressure on the export queue (spans and OTel-bound events),
        // which drops when full: the demo must lose nothing.
        while telemetry.tracer().stats().queue_depth > EXPORT_QUEUE / 4 && !stopping() {
            std::thread::sleep(Duration::from_micros(200));
        }
        if let Some(rate) = args.rate {
            let due = Duration::from_secs_f64(orchestrator.emitted as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
    }
    // Whatever an engine left open ends now, before the pipeline drains.
    let engine_stats = engines.map(|e| e.stats());
    // Local sinks and exporters get all the time they need (nothing local
    // may be lost); the collector only as long as it has shown it needs.
    let stopped = telemetry.shutdown_within(network_wait(&telemetry));
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    let counted = counts
        .lock()
        .map_err(|_| CliError::runtime("the event counter panicked"))?;
    if stopping() {
        println!("fcc demo: interrupted; stopped after {run} missions, everything queued written");
    }
    let report = Report {
        missions: run,
        passed,
        elapsed,
        counts: &counted,
        telemetry: &telemetry,
        args: &args,
        otlp: otlp.as_deref(),
        engines: engine_stats,
    };
    let lost = report.print();
    drop(counted);
    // A collector that did not answer in time is counted in the summary,
    // not an error of the run; a local part that did not finish is.
    if let Err(e) = stopped {
        if !e.sinks.is_empty() {
            return Err(CliError::runtime(format!(
                "the pipeline did not drain: {e}"
            )));
        }
    }
    if lost > 0 {
        return Err(CliError::lost(format!(
            "{lost} events, spans, log records or metric exports were lost or not delivered (see above)"
        )));
    }
    Ok(())
}

/// How long the end of the run waits for the collector. One that has shown
/// it is not answering (an export failed or was dropped, or one has been
/// waiting without any answer yet) gets 20 ms, so an outage adds almost
/// nothing to the run; any other gets 1 s, or four times its slowest answer
/// if that is longer (at most 5 s), and the run ends as soon as it has
/// answered. What it has not taken by then is counted undelivered.
fn network_wait(telemetry: &fcc::Telemetry) -> Duration {
    let stats = telemetry.tracer().stats();
    let remote = || stats.exporters.iter().filter(|e| e.remote);
    let not_answering = remote().any(|e| {
        e.failed > 0 || e.dropped > 0 || (e.busy_for.is_some() && e.slowest_answer.is_none())
    }) || telemetry
        .metric_export_stats()
        .is_some_and(|m| m.failed > 0);
    if not_answering {
        return Duration::from_millis(20);
    }
    let slowest = remote().filter_map(|e| e.slowest_answer).max();
    (slowest.unwrap_or_default() * 4).clamp(Duration::from_secs(1), Duration::from_secs(5))
}

fn progress(args: &DemoArgs, missions: u64) -> ProgressBar {
    if args.quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    if missions == u64::MAX {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {pos} missions, {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(100));
        return bar;
    }
    let bar = ProgressBar::new(missions);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} missions, {per_sec}, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

struct Report<'a> {
    missions: u64,
    passed: u64,
    elapsed: Duration,
    counts: &'a Counts,
    telemetry: &'a fcc::Telemetry,
    args: &'a DemoArgs,
    otlp: Option<&'a str>,
    /// The simulation and action engines' instrumentation.
    engines: [fcc::integration::EngineStats; 2],
}

impl Report<'_> {
    /// Prints the summary; returns how much was lost.
    fn print(&self) -> u64 {
        let mut o = String::new();
        // Writing to a String cannot fail; stdout is written once at the end,
        // and a closed pipe (`fcc demo | head`) is not an error.
        macro_rules! println {
            ($($t:tt)*) => {{ let _ = writeln!(o, $($t)*); }};
        }
        let c = self.counts;
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        println!(
            "fcc demo: {} missions ({} passed every gate) in {:.2} s",
            self.missions, self.passed, secs
        );
        println!(
            "  {} events, {:.0} events/s sustained with every sink on{}",
            c.total,
            c.total as f64 / secs,
            if self.args.rate.is_some() {
                " (rate-limited by --rate)"
            } else {
                ""
            }
        );
        println!("\nevents by severity:");
        for (s, n) in &c.by_severity {
            println!("  {s:<6} {n}");
        }
        println!("\nevents by type:");
        let mut types: Vec<_> = c.by_type.iter().collect();
        types.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (t, n) in types {
            println!("  {n:>7}  {t}");
        }
        let t = self.telemetry.tracer().stats();
        println!("\nspans: {} ended", t.spans_queued + t.spans_dropped);
        let [sim, act] = &self.engines;
        println!(
            "  engines      {} simulation runs ({} steps), {} actions; {} unpaired, {} timed out, {} evicted, {} left open",
            sim.started,
            sim.steps,
            act.started,
            sim.unpaired + act.unpaired,
            sim.timed_out + act.timed_out,
            sim.evicted + act.evicted,
            sim.open + act.open,
        );
        for e in &t.exporters {
            println!(
                "  {:<12} {} delivered, {} failed, {} dropped",
                e.name, e.exported, e.failed, e.dropped
            );
        }
        println!("\nmetrics:");
        let m = self.telemetry.metrics();
        for name in [
            "fcc.simulation.step",
            "fcc.persona.activation",
            "fcc.gate.result",
            "fcc.deliverable",
            "fcc.ai.call.latency",
            "fcc.ai.call.tokens",
            "fcc.action.duration",
        ] {
            println!("  {name:<24} {}", m.total(name));
        }
        let exports = self.telemetry.metric_export_stats();
        if let Some(e) = &exports {
            println!("  (OTLP exports: {} sent, {} failed)", e.exports, e.failed);
        }
        let metrics_lost = exports.as_ref().map_or(0, |e| e.failed);
        let sinks = self.telemetry.sink_stats();
        let sink_lost: u64 = sinks.iter().map(|s| s.dropped + s.failed).sum();
        let undelivered = |remote: bool, logs: bool| -> u64 {
            t.exporters
                .iter()
                .filter(|e| e.remote == remote && (e.name == "otlp logs") == logs)
                .map(|e| e.failed + e.dropped)
                .sum()
        };
        // Local: the export queue (it drops when full) and the files.
        let spans_lost = t.spans_dropped + undelivered(false, false);
        let logs_lost = t.logs_dropped;
        let local = sink_lost + spans_lost + logs_lost;
        if local == 0 {
            println!("\ndrops: 0 (none)");
        } else {
            println!(
                "\ndrops: {local} (sinks {sink_lost}, spans {spans_lost}, span events and log records {logs_lost})",
            );
        }
        let (spans_out, logs_out) = (undelivered(true, false), undelivered(true, true));
        let remote = spans_out + logs_out + metrics_lost;
        if self.otlp.is_some() {
            println!(
                "not delivered over OTLP: {remote} (spans {spans_out}, log records {logs_out}, metric exports {metrics_lost}; last export error: {})",
                t.last_error
                    .as_deref()
                    .or(exports.as_ref().and_then(|e| e.last_error.as_deref()))
                    .unwrap_or("none")
            );
        }
        let lost = local + remote;
        for s in &sinks {
            println!(
                "  {:<10} {} written, {} dropped, {} failed",
                s.name, s.written, s.dropped, s.failed
            );
        }
        println!("\nwhere it went:");
        println!("  store      {}", fcc_store::redact(&self.args.store));
        println!("  events     {}", self.args.json.display());
        println!("  log        {}", self.args.log);
        println!("  spans      {}", self.args.spans.display());
        match self.otlp {
            Some(e) => println!(
                "  OTLP       {} (traces, metrics, {} log records)",
                fcc::secrets::redact_url(e),
                t.logs_exported
            ),
            None => println!("  OTLP       not exported (set OTEL_EXPORTER_OTLP_ENDPOINT)"),
        }
        println!(
            "\nnext: fcc events --store {}   |   fcc stats",
            fcc_store::redact(&self.args.store)
        );
        let _ = std::io::stdout().lock().write_all(o.as_bytes());
        lost
    }
}
