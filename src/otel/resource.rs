//! The resource: what every span, log record and metric says about the
//! process that made it.
//!
//! [`FccResource::detect`] resolves it once per set-up, as the OpenTelemetry
//! SDKs do, from lowest to highest precedence:
//!
//! 1. detected attributes: `service.instance.id` (a random UUID, one per
//!    process), `host.name`, `host.arch`, `os.type`, `process.pid`,
//!    `process.executable.name`, `process.runtime.name`, and
//!    `telemetry.sdk.name` (`fcc`), `telemetry.sdk.language` (`rust`),
//!    `telemetry.sdk.version`;
//! 2. `OTEL_RESOURCE_ATTRIBUTES`: `key=value` pairs, comma-separated, keys
//!    and values percent-decoded (`team=a%2Cb` is `a,b`). As the
//!    specification asks, a value with an entry that cannot be read (no `=`,
//!    an empty key, a bad `%` escape) is discarded whole, with a warning;
//! 3. the service name ([`TelemetryBuilder::service_name`](crate::TelemetryBuilder::service_name)
//!    or `OTEL_SERVICE_NAME`), else a `service.name` from
//!    `OTEL_RESOURCE_ATTRIBUTES`, else `unknown_service:<executable>`.
//!
//! The process's command line is not detected: it often holds secrets.
//!
//! ```
//! use fcc::otel::FccResource;
//!
//! let lookup = |k: &str| (k == "OTEL_RESOURCE_ATTRIBUTES").then(|| "team=a%2Cb".to_owned());
//! let (resource, warnings) = FccResource::detect(Some("checkout"), lookup);
//! assert!(warnings.is_empty());
//! assert_eq!(resource.get("team").as_deref(), Some("a,b"));
//! assert_eq!(resource.get("service.name").as_deref(), Some("checkout"));
//! assert_eq!(resource.get("telemetry.sdk.language").as_deref(), Some("rust"));
//! ```

use std::sync::OnceLock;

use opentelemetry::{KeyValue, Value};

/// The resource attributes of a set-up, resolved once (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct FccResource {
    attributes: Vec<KeyValue>,
}

impl FccResource {
    /// Detects the resource, reading `OTEL_RESOURCE_ATTRIBUTES` through
    /// `lookup`; `service_name` wins over a `service.name` found there.
    /// Returns what could not be read as warnings.
    pub fn detect(
        service_name: Option<&str>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> (FccResource, Vec<String>) {
        let mut r = FccResource {
            attributes: detected(),
        };
        let mut warnings = Vec::new();
        if let Some(v) = lookup("OTEL_RESOURCE_ATTRIBUTES") {
            match parse_attributes(&v) {
                Ok(pairs) => {
                    for (k, v) in pairs {
                        r.set(k, v);
                    }
                }
                Err(reason) => warnings.push(format!(
                    "OTEL_RESOURCE_ATTRIBUTES not used: {reason}; expected key=value pairs \
                     separated by commas, percent-encoded where needed"
                )),
            }
        }
        match service_name {
            Some(name) => r.set("service.name".to_owned(), name.to_owned()),
            None if r.get("service.name").is_none() => {
                r.set("service.name".to_owned(), default_service_name())
            }
            None => {}
        }
        (r, warnings)
    }

    /// The resource of `service_name` with the detected attributes and
    /// `OTEL_RESOURCE_ATTRIBUTES` from the process environment (warnings
    /// dropped).
    pub fn from_env(service_name: &str) -> FccResource {
        Self::detect(Some(service_name), |k| std::env::var(k).ok()).0
    }

    /// The attributes, each key once.
    pub fn attributes(&self) -> &[KeyValue] {
        &self.attributes
    }

    /// The value of `key` as a string, if it is set.
    pub fn get(&self, key: &str) -> Option<String> {
        self.attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.as_str().into_owned())
    }

    /// `service.name`.
    pub fn service_name(&self) -> String {
        self.get("service.name").unwrap_or_default()
    }

    fn set(&mut self, key: String, value: impl Into<Value>) {
        let value = value.into();
        match self.attributes.iter_mut().find(|kv| kv.key.as_str() == key) {
            Some(kv) => kv.value = value,
            None => self.attributes.push(KeyValue::new(key, value)),
        }
    }
}

/// `unknown_service:<executable>`, as the OpenTelemetry SDKs default it.
fn default_service_name() -> String {
    match executable_name() {
        Some(name) => format!("unknown_service:{name}"),
        None => "unknown_service".to_owned(),
    }
}

fn executable_name() -> Option<String> {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
}

/// `OTEL_RESOURCE_ATTRIBUTES`: every entry readable, or the reason why not.
fn parse_attributes(value: &str) -> Result<Vec<(String, String)>, String> {
    let decode = |s: &str, what: &str| {
        crate::internal::text::percent_decode(s.trim())
            .ok_or_else(|| format!("the {what} {s:?} has a bad percent escape"))
    };
    value
        .split(',')
        .filter(|entry| !entry.trim().is_empty())
        .map(|entry| {
            let (k, v) = entry
                .split_once('=')
                .ok_or_else(|| format!("the entry {entry:?} has no '='"))?;
            let key = decode(k, "key")?;
            if key.is_empty() {
                return Err(format!("the entry {entry:?} has an empty key"));
            }
            Ok((key, decode(v, "value")?))
        })
        .collect()
}

/// What is detected once per process (semantic conventions' names).
fn detected() -> Vec<KeyValue> {
    static DETECTED: OnceLock<Vec<KeyValue>> = OnceLock::new();
    DETECTED
        .get_or_init(|| {
            let mut v = vec![
                KeyValue::new("service.instance.id", uuid::Uuid::new_v4().to_string()),
                KeyValue::new("telemetry.sdk.name", "fcc"),
                KeyValue::new("telemetry.sdk.language", "rust"),
                KeyValue::new("telemetry.sdk.version", env!("CARGO_PKG_VERSION")),
                KeyValue::new("host.arch", host_arch()),
                KeyValue::new("os.type", std::env::consts::OS),
                KeyValue::new("process.pid", i64::from(std::process::id())),
                KeyValue::new("process.runtime.name", "rust"),
            ];
            if let Some(host) = host_name() {
                v.push(KeyValue::new("host.name", host));
            }
            if let Some(exe) = executable_name() {
                v.push(KeyValue::new("process.executable.name", exe));
            }
            v
        })
        .clone()
}

/// The semantic conventions' `host.arch` values.
fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "x86",
        "arm" => "arm32",
        "powerpc64" => "ppc64",
        "s390x" => "s390x",
        other => other,
    }
}

fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(attrs: Option<&str>, name: Option<&str>) -> (FccResource, Vec<String>) {
        let attrs = attrs.map(str::to_owned);
        FccResource::detect(name, move |k| {
            (k == "OTEL_RESOURCE_ATTRIBUTES")
                .then(|| attrs.clone())
                .flatten()
        })
    }

    #[test]
    fn detected_attributes_are_there_and_the_instance_id_is_stable() {
        let (a, _) = detect(None, Some("svc"));
        let (b, _) = detect(None, Some("svc"));
        for key in [
            "service.instance.id",
            "host.arch",
            "os.type",
            "process.pid",
            "telemetry.sdk.name",
            "telemetry.sdk.version",
        ] {
            assert!(a.get(key).is_some(), "{key}");
        }
        assert_eq!(a.get("service.instance.id"), b.get("service.instance.id"));
        assert_eq!(a.get("process.pid"), Some(std::process::id().to_string()));
    }

    #[test]
    fn resource_attributes_are_percent_decoded_and_override_detected_ones() {
        let (r, w) = detect(
            Some("k8s.pod.name=api%2D1, note=a%20b%2Cc ,host.arch=weird"),
            None,
        );
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(r.get("k8s.pod.name").as_deref(), Some("api-1"));
        assert_eq!(r.get("note").as_deref(), Some("a b,c"));
        assert_eq!(r.get("host.arch").as_deref(), Some("weird"));
    }

    #[test]
    fn service_name_precedence() {
        let (r, _) = detect(Some("service.name=from-attrs"), Some("explicit"));
        assert_eq!(r.service_name(), "explicit");
        let (r, _) = detect(Some("service.name=from-attrs"), None);
        assert_eq!(r.service_name(), "from-attrs");
        let (r, _) = detect(None, None);
        assert!(r.service_name().starts_with("unknown_service"));
    }

    #[test]
    fn a_bad_entry_discards_the_whole_value_with_a_warning() {
        for bad in ["team=a,oops", "=x", "team=%zz", "team=a,%ff=b"] {
            let (r, w) = detect(Some(bad), Some("svc"));
            assert_eq!(r.get("team"), None, "{bad}");
            assert_eq!(w.len(), 1, "{bad}");
            assert!(
                w[0].starts_with("OTEL_RESOURCE_ATTRIBUTES not used"),
                "{}",
                w[0]
            );
        }
    }
}
