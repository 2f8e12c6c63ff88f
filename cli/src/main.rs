//! `fcc`: run the demo mission, then query, tail, replay, export and count
//! the events it stored.
//!
//! ```text
//! fcc demo                      # a simulated agent mission into fcc-demo/
//! fcc events --severity error   # what failed
//! fcc stats --since 1h          # counts by type, source and severity
//! fcc tail                      # follow new events
//! fcc export -o run.json        # the seed's {"event_count", "events"} file
//! fcc replay run.json --to otlp # saved events as OTLP log records
//! fcc traces --slowest 5        # the traces the demo wrote, errors first
//! fcc trace                     # the slowest mission as a waterfall
//! ```

mod demo;
mod error;
mod output;
mod query;
mod read;
mod replay;
mod tail;
mod trace;

use clap::{Parser, Subcommand};

use error::EXIT_CODES;

/// OpenTelemetry-native events, tracing and metrics: the fcc command.
#[derive(Parser, Debug)]
#[command(name = "fcc", version, about, after_help = EXIT_CODES, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a simulated agent mission through every sink, then summarise it
    #[command(after_help = "The store defaults to sqlite://fcc-demo/events.db; set \
        OTEL_EXPORTER_OTLP_ENDPOINT (e.g. http://localhost:4318) to also export \
        traces, metrics and log records to a collector.")]
    Demo(demo::DemoArgs),
    /// Query stored events (newest first)
    Events(read::EventsArgs),
    /// Print the latest events, then follow new ones (store or NDJSON file)
    Tail(tail::TailArgs),
    /// Publish events from a file or a store query again, to chosen sinks
    Replay(replay::ReplayArgs),
    /// Write a store query to a JSON (event_count) or NDJSON file
    Export(read::ExportArgs),
    /// Count stored events by type, source and severity
    Stats(read::StatsArgs),
    /// Show one trace of a spans file as an indented waterfall, with its events
    #[command(after_long_help = trace::TRACE_HELP)]
    Trace(trace::TraceArgs),
    /// List the traces of a spans file: root, mission, spans, duration, errors
    #[command(after_long_help = trace::TRACES_HELP)]
    Traces(trace::TracesArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(a) => demo::demo(a),
        Command::Events(a) => read::events(a),
        Command::Tail(a) => tail::tail(a),
        Command::Replay(a) => replay::replay(a),
        Command::Export(a) => read::export(a),
        Command::Stats(a) => read::stats(a),
        Command::Trace(a) => trace::trace(a),
        Command::Traces(a) => trace::traces(a),
    };
    if let Err(e) = result {
        if !e.message.is_empty() {
            eprintln!("fcc: {}", e.message);
        }
        std::process::exit(e.code);
    }
}
