//! Helpers shared by the integration tests.

pub mod alloc;
pub mod engine;
pub mod otlp_receiver;
pub mod tls;

/// The name libtest knows the test `name` of the module `module_path` by
/// (`module_path!()` without the crate), for tests that run the test binary
/// again on one of their own tests in a child process.
pub fn test_path(module_path: &str, name: &str) -> String {
    let module = module_path.split_once("::").map_or("", |(_, m)| m);
    format!("{module}::{name}")
}
