//! Errors a person can act on, and the exit codes scripts can rely on.

use std::fmt;

/// The exit codes, as `fcc --help` lists them.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  failed while running (a store, file or network error)
  2  bad command line (unknown flag, bad value)
  3  not found (no such file or store)
  4  bad input data (a file that is not fcc events)
  5  the demo finished but lost events (dropped or failed), or replay
     did not deliver every event";

/// A failure with the exit code it maps to.
#[derive(Debug)]
pub struct CliError {
    pub code: i32,
    pub message: String,
}

impl CliError {
    pub fn runtime(message: impl fmt::Display) -> Self {
        Self {
            code: 1,
            message: message.to_string(),
        }
    }
    pub fn usage(message: impl fmt::Display) -> Self {
        Self {
            code: 2,
            message: message.to_string(),
        }
    }
    pub fn not_found(message: impl fmt::Display) -> Self {
        Self {
            code: 3,
            message: message.to_string(),
        }
    }
    pub fn bad_data(message: impl fmt::Display) -> Self {
        Self {
            code: 4,
            message: message.to_string(),
        }
    }
    pub fn lost(message: impl fmt::Display) -> Self {
        Self {
            code: 5,
            message: message.to_string(),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Opening a store to read it: read-only, never created, written or
/// migrated. A missing or empty store is "not found"; see [`store_error`].
pub fn open_store(url: &str) -> Result<fcc_store::EventStore, CliError> {
    fcc_store::EventStore::open_read_only(url).map_err(|e| store_error(url, e))
}

/// A store that could not be opened, said once: a URL of no supported
/// scheme is a usage error (the message names the schemes), a missing store
/// is "not found", the rest a runtime error naming the URL without its
/// password.
pub fn store_error(url: &str, e: fcc_store::StoreError) -> CliError {
    use fcc_store::StoreError;
    match e {
        StoreError::Url(e) => CliError::usage(e),
        StoreError::NotFound { .. } => {
            CliError::not_found(format!("{e}; run `fcc demo` first, or pass --store"))
        }
        // Its message already says "cannot open store URL: ...".
        StoreError::Open { .. } => CliError::runtime(e),
        e => CliError::runtime(format!(
            "cannot open the store {}: {e}",
            fcc_store::redact(url)
        )),
    }
}

/// A decode error of an events file: bad data, or not found.
pub fn load_error(path: &str, e: fcc::DecodeError) -> CliError {
    let io_not_found = matches!(e.kind(), fcc::serialization::DecodeErrorKind::Io(io) if io.kind() == std::io::ErrorKind::NotFound);
    if io_not_found || !std::path::Path::new(path).exists() {
        CliError::not_found(format!("no such file: {path}"))
    } else {
        CliError::bad_data(format!("{path} is not an fcc events file: {e}"))
    }
}
