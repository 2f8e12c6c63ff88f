//! Plain `tracing` events as OpenTelemetry log records.
//!
//! Every `tracing` event that is not a bus event (`tracing::info!("...")` in
//! the service or in any library) becomes an OTel log record: the message as
//! body, the level as severity, the other fields as attributes, the target
//! as `code.namespace`-style attribute `target`, and the current trace and
//! span ids. Which events: a `RUST_LOG`-style directive list
//! (`info`, `warn,my_crate=debug`, ...; `FCC_OTEL_LOGS`, else `RUST_LOG`,
//! else `info`). As span events too only when asked
//! ([`TelemetryBuilder::log_span_events`](crate::TelemetryBuilder::log_span_events)),
//! as tracing-opentelemetry does, so the volume is not doubled by default.

use std::borrow::Cow;

use tracing::field::Field;
use tracing_subscriber::filter::Targets;

use super::spans::{OtelValues, PutField};
use crate::trace::{current_ids, KeyValue};

pub use crate::export::LogRecord;

/// The directive used when neither `FCC_OTEL_LOGS` nor `RUST_LOG` is set.
pub const DEFAULT_LOG_DIRECTIVE: &str = "info";

/// Parses a `RUST_LOG`-style directive list (`target=level` pairs and a bare
/// default level; span and field filters are not supported).
pub fn parse_directives(value: &str) -> Result<Targets, String> {
    value
        .parse::<Targets>()
        .map_err(|e| format!("expected a RUST_LOG-style list such as `info,my_crate=debug`: {e}"))
}

/// Builds the record of `event`.
pub(crate) fn record(event: &tracing::Event<'_>) -> LogRecord {
    let meta = event.metadata();
    let mut fields = LogFields {
        body: None,
        attributes: Vec::new(),
    };
    event.record(&mut OtelValues(&mut fields));
    LogRecord {
        timestamp: crate::trace::span::clock::system_now(),
        level: *meta.level(),
        target: Cow::Borrowed(meta.target()),
        body: fields.body,
        attributes: fields.attributes,
        span: current_ids(),
    }
}

struct LogFields {
    body: Option<String>,
    attributes: Vec<KeyValue>,
}

impl PutField for LogFields {
    fn put(&mut self, field: &Field, value: opentelemetry::Value) {
        let name = field.name();
        if name == "message" {
            self.body = Some(value.as_str().into_owned());
        } else if let Some(stripped) = name.strip_prefix("log.") {
            // The `log` crate's bridge fields (log.target, log.file, ...).
            let _ = stripped;
        } else {
            self.attributes.push(KeyValue::new(
                opentelemetry::Key::from_static_str(name),
                value,
            ));
        }
    }
}
