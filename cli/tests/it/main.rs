//! Every integration test of this crate in one binary (one link, not one
//! per file). Run them with `cargo nextest run`: it runs each test in a
//! process of its own, which the tests that install process-wide state
//! (a global subscriber, the OpenTelemetry globals, environment
//! variables, a counting allocator) rely on.

mod support;

mod cli;
mod demo_engine_spans;
mod demo_faults;
mod demo_otlp;
mod demo_signals;
mod deploy_config;
mod exit_codes;
mod read_commands;
mod tail_file;
mod trace_command;
