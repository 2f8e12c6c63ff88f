//! Every integration test of this crate in one binary (one link, not one
//! per file). Run them with `cargo nextest run`: it runs each test in a
//! process of its own, which the tests that install process-wide state
//! (a global subscriber, the OpenTelemetry globals, environment
//! variables, a counting allocator) rely on.

mod batches;
mod init_env;
mod postgres_store;
mod processes;
mod read_only;
mod sqlite_store;
