//! Every integration test of this crate in one binary (one link, not one
//! per file). Run them with `cargo nextest run`: it runs each test in a
//! process of its own, which the tests that install process-wide state
//! (a global subscriber, the OpenTelemetry globals, environment
//! variables, a counting allocator) rely on.

mod support;

#[global_allocator]
static ALLOCATOR: support::alloc::Counting = support::alloc::Counting;

mod architecture_map;
mod bus_concurrency;
mod bus_delivery;
mod bus_memory;
mod bus_reclamation;
mod catalog;
mod dashboard_queries;
mod emit_reentrancy;
mod emit_to_sinks;
mod engine_bounds;
mod engine_instrumentation;
mod event_model;
mod export_lanes;
mod flood;
mod full_disk;
mod http_interop;
mod id_fork;
mod import_direction;
mod local_spans;
mod main_job;
mod metrics_bridge;
mod metrics_rules;
mod no_feedback;
mod otel_api;
mod otel_globals;
mod otlp_config;
mod otlp_export;
mod otlp_metrics;
mod otlp_retry;
mod otlp_transport;
mod process_end;
mod prometheus_endpoint;
mod recording;
mod replay;
mod ring_records;
mod rotel_collector;
mod sdk_switches;
mod seed_examples;
mod seed_metrics;
mod seed_tracing;
mod serialization_errors;
mod serialization_roundtrip;
mod setup_composed;
mod setup_warnings;
mod sink_doze;
mod sink_faults;
mod sink_memory;
mod sink_runtime;
mod span_doze;
mod span_ext;
mod span_handoff;
mod span_layer;
mod spawn_context;
mod telemetry_config;
mod trace_tree;
mod traced;
mod traced_global;
mod user_sdk_exporter;
mod w3c_trace_context;
