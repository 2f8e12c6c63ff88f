//! Store URLs: `sqlite://path/to/events.db`, `sqlite::memory:`,
//! `postgres://user:password@host:port/database`.

use std::fmt;
use std::path::PathBuf;

/// Where events are stored.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreUrl {
    /// An SQLite file (created if missing), or `None` for an in-memory database.
    Sqlite(Option<PathBuf>),
    /// A Postgres connection string (`postgres://` or `postgresql://`).
    Postgres(String),
}

impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreUrl({self})")
    }
}

/// The URL with any password replaced by `***`, for messages.
impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::Sqlite(None) => f.write_str("sqlite::memory:"),
            StoreUrl::Sqlite(Some(p)) => write!(f, "sqlite://{}", p.display()),
            StoreUrl::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

/// `scheme://user:secret@host` becomes `scheme://user:***@host`: fcc's one
/// redaction ([`fcc::secrets::redact_url`]), for store URLs.
pub fn redact(url: &str) -> String {
    fcc::secrets::redact_url(url)
}

/// Why a URL was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlError {
    /// The URL, password redacted.
    pub url: String,
    /// What is accepted.
    pub reason: &'static str,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid store URL {:?}: {}", self.url, self.reason)
    }
}

impl std::error::Error for UrlError {}

impl StoreUrl {
    /// Parses a store URL.
    ///
    /// ```
    /// use fcc_store::StoreUrl;
    /// assert_eq!(StoreUrl::parse("sqlite://events.db").unwrap(), StoreUrl::Sqlite(Some("events.db".into())));
    /// assert!(StoreUrl::parse("mysql://x").is_err());
    /// ```
    pub fn parse(url: &str) -> Result<StoreUrl, UrlError> {
        let err = |reason| UrlError {
            url: redact(url),
            reason,
        };
        let url = url.trim();
        if url.contains('\0') {
            return Err(err("the URL contains a NUL byte"));
        }
        if url == "sqlite::memory:" || url == "sqlite://:memory:" {
            return Ok(StoreUrl::Sqlite(None));
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(err("sqlite:// needs a file path, e.g. sqlite://events.db"));
            }
            return Ok(StoreUrl::Sqlite(Some(PathBuf::from(path))));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            if url.split_once("://").is_some_and(|(_, r)| r.is_empty()) {
                return Err(err("postgres:// needs a host"));
            }
            return Ok(StoreUrl::Postgres(url.to_owned()));
        }
        Err(err(
            "expected sqlite://PATH, sqlite::memory: or postgres://USER@HOST/DB",
        ))
    }
}
