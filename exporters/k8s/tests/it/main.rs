//! Every integration test of this crate in one binary (one link, not one
//! per file). Run them with `cargo nextest run`: it runs each test in a
//! process of its own, which the tests that install process-wide state
//! (a global subscriber, the OpenTelemetry globals, environment
//! variables, a counting allocator) rely on.

mod support;

mod k8s_env;
mod k8s_sink;
mod k8s_telemetry;
mod mock_apiserver_rules;
