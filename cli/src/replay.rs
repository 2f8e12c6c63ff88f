//! `fcc replay`: events from a file or a store query, published again on a
//! bus with the chosen sinks (for example, saved events re-exported as OTLP
//! log records, or a JSON file loaded into Postgres).

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::Args;
use fcc::sinks::{DropPolicy, SinkOptions};
use fcc::{EventReplay, EventSerializer, LogTarget, TelemetryBuilder};
use fcc_store::StoreTelemetryExt;

use crate::error::{load_error, store_error, CliError};
use crate::query::{read_store, Filters, StoreArg};

/// Where replayed events go.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// LogSink on stderr, or into a file.
    Log(Option<PathBuf>),
    /// JsonFileSink (NDJSON).
    Json(PathBuf),
    /// StoreSink.
    Store(String),
    /// OTLP log records (endpoint from OTEL_EXPORTER_OTLP_* or --otlp-endpoint).
    Otlp,
}

impl FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (kind, arg) = match s.split_once(':') {
            Some((k, a)) if !matches!(k, "sqlite" | "postgres" | "postgresql") => (k, Some(a)),
            _ => (s, None),
        };
        match (kind, arg) {
            ("log", None) => Ok(Target::Log(None)),
            ("log", Some(p)) if !p.is_empty() => Ok(Target::Log(Some(p.into()))),
            ("json", Some(p)) if !p.is_empty() => Ok(Target::Json(p.into())),
            ("store", Some(u)) if !u.is_empty() => Ok(Target::Store(u.to_owned())),
            ("otlp", None) => Ok(Target::Otlp),
            _ => Err(format!(
                "`{s}`: expected log, log:PATH, json:PATH, store:URL or otlp"
            )),
        }
    }
}

/// `fcc replay`.
#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// A JSON ({"event_count", "events"}) or NDJSON events file
    #[arg(
        value_name = "FILE",
        required_unless_present = "from_store",
        conflicts_with = "from_store"
    )]
    pub file: Option<PathBuf>,
    /// Replay a store query instead of a file (see --store and the filters)
    #[arg(long)]
    pub from_store: bool,
    #[command(flatten)]
    pub store: StoreArg,
    #[command(flatten)]
    pub filters: Filters,
    /// Where to send them (repeatable): log, log:PATH, json:PATH, store:URL, otlp
    #[arg(long = "to", value_name = "SINK", default_value = "log")]
    pub to: Vec<Target>,
    /// The OTLP endpoint for `--to otlp` (default OTEL_EXPORTER_OTLP_ENDPOINT)
    #[arg(long, value_name = "URL")]
    pub otlp_endpoint: Option<String>,
}

pub fn replay(args: ReplayArgs) -> Result<(), CliError> {
    let wants_otlp = args.to.contains(&Target::Otlp);
    if wants_otlp
        && args.otlp_endpoint.is_none()
        && std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_none()
        && std::env::var_os("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT").is_none()
    {
        return Err(CliError::usage(
            "--to otlp needs an endpoint: set OTEL_EXPORTER_OTLP_ENDPOINT or pass --otlp-endpoint",
        ));
    }
    let mut events = match &args.file {
        Some(path) => {
            let shown = path.display().to_string();
            let events = EventSerializer::load(path).map_err(|e| load_error(&shown, e))?;
            events
                .into_iter()
                .filter(|e| args.filters.matches(e))
                .collect()
        }
        None => {
            let mut v = read_store(&args.store.store, &args.filters, None)?;
            v.reverse();
            v
        }
    };
    events.sort_by_key(|e| e.timestamp());

    let endpoint = args.otlp_endpoint.clone();
    let mut builder = TelemetryBuilder::from_vars(|k| match k {
        "OTEL_EXPORTER_OTLP_ENDPOINT" if wants_otlp => {
            endpoint.clone().or_else(|| std::env::var(k).ok())
        }
        k if k.starts_with("OTEL_EXPORTER_OTLP") && !wants_otlp => None,
        _ => std::env::var(k).ok(),
    })
    .map_err(CliError::usage)?
    .fmt(None)
    .log(LogTarget::Off)
    .sink_options(SinkOptions::default().policy(DropPolicy::Block));
    let mut described = Vec::new();
    for t in &args.to {
        let what = match t {
            Target::Log(None) => {
                builder = builder.log(LogTarget::Stderr);
                "the log (stderr)".to_owned()
            }
            Target::Log(Some(p)) => {
                builder = builder.log(LogTarget::File(p.clone()));
                format!("the log {}", p.display())
            }
            Target::Json(p) => {
                builder = builder.json_file(p.clone());
                format!("the NDJSON file {}", p.display())
            }
            Target::Store(url) => {
                builder = builder.store(url).map_err(|e| store_error(url, e))?;
                format!("the store {}", fcc_store::redact(url))
            }
            Target::Otlp => "OTLP log records".to_owned(),
        };
        described.push(what);
    }
    let telemetry = builder.build().map_err(CliError::usage)?;
    EventReplay::new(telemetry.bus()).replay(&events);
    let n = events.len();
    telemetry
        .flush(Duration::from_secs(30))
        .map_err(|e| CliError::runtime(format!("replay did not finish: {e}")))?;
    let lost: u64 = telemetry
        .sink_stats()
        .iter()
        .map(|s| s.dropped + s.failed)
        .sum();
    let logs_failed = telemetry.tracer().stats().logs_failed;
    telemetry
        .shutdown()
        .map_err(|e| CliError::runtime(format!("replay did not finish: {e}")))?;
    let to = described.join(", ");
    // One line, and it agrees with the exit code: 0 only when all arrived.
    if lost + logs_failed > 0 {
        return Err(CliError::lost(format!(
            "{n} events replayed to {to}, but not all were delivered: \
             {lost} not written by a sink, {logs_failed} log records not exported"
        )));
    }
    eprintln!("replayed {n} events to {to}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        assert_eq!("log".parse(), Ok(Target::Log(None)));
        assert_eq!(
            "json:out.ndjson".parse(),
            Ok(Target::Json("out.ndjson".into()))
        );
        assert_eq!(
            "store:sqlite://x.db".parse(),
            Ok(Target::Store("sqlite://x.db".into()))
        );
        assert_eq!("otlp".parse(), Ok(Target::Otlp));
        assert!("kafka:topic"
            .parse::<Target>()
            .unwrap_err()
            .contains("expected log"));
        assert!("json:".parse::<Target>().is_err());
    }
}
