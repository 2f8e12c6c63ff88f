//! Helpers shared by the integration tests.

pub mod alloc;
pub mod engine;
pub mod kept_spans;
pub mod otlp_receiver;
pub mod tls;

/// The name libtest knows the test `name` of the module `module_path` by
/// (`module_path!()` without the crate), for tests that run the test binary
/// again on one of their own tests in a child process.
pub fn test_path(module_path: &str, name: &str) -> String {
    let module = module_path.split_once("::").map_or("", |(_, m)| m);
    format!("{module}::{name}")
}

/// Every `.rs` file under `dir` of this crate (`src`, say), sorted: for the
/// tests that read the source tree (import directions, the architecture map).
pub fn rust_files(dir: &str) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir),
        &mut out,
    );
    out.sort();
    out
}
