//! What the CLI tests share: running the `fcc` binary as a user does.

#![allow(dead_code)] // each test file uses what it needs

/// The OTLP receiver the root crate's tests use.
#[path = "../../../../tests/it/support/otlp_receiver/mod.rs"]
pub mod otlp_receiver;

use std::path::Path;
use std::process::{Command, Output};

/// Runs `fcc args` in `dir`, with no collector or store from the environment.
pub fn fcc(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fcc"))
        .args(args)
        .current_dir(dir)
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("FCC_STORE_URL")
        .env("NO_COLOR", "1")
        .output()
        .expect("run fcc")
}

/// Output bytes as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The demo summary's total: the N of its "N events, ... events/s" line.
pub fn summary_total(stdout: &str) -> u64 {
    stdout
        .lines()
        .find_map(|l| l.trim().split_once(" events, ").map(|(n, _)| n.to_owned()))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no events line in:\n{stdout}"))
}
