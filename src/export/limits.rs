//! Span and log record limits, as the OpenTelemetry SDK applies them:
//! how many attributes, events and links a span keeps, how many attributes
//! a log record keeps, and how long a string value may be
//! (`OTEL_ATTRIBUTE_*`, `OTEL_SPAN_*`, `OTEL_EVENT_*`, `OTEL_LINK_*`,
//! `OTEL_LOGRECORD_*`).
//!
//! fcc applies them on the export thread, once per span, before any
//! exporter sees it: the hot path keeps recording at full speed, and every
//! exporter (OTLP, console, JSON file) gets the same limited span. What is
//! cut is counted in the span (`dropped_attributes`, `dropped_events`,
//! `dropped_links`, sent to OTLP as its dropped counts).
//!
//! ```
//! use fcc::export::SpanLimits;
//! use fcc::trace::{KeyValue, SpanData};
//!
//! let limits = SpanLimits::default().attribute_count(1).attribute_value_length(3);
//! let mut span = SpanData::new(fcc::SpanId::new(1).unwrap(), fcc::TraceId::new(1).unwrap(), "op", std::time::SystemTime::now());
//! span.attributes = vec![KeyValue::new("a", "abcdef"), KeyValue::new("b", 1)];
//! limits.apply(&mut span);
//! assert_eq!(span.attributes, vec![KeyValue::new("a", "abc")]);
//! assert_eq!(span.dropped_attributes, 1);
//! ```

use opentelemetry::{Array, StringValue, Value};

use crate::trace::{KeyValue, SpanData};

/// What a span keeps (defaults: the specification's, 128 of each, string
/// values unlimited).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpanLimits {
    /// Attributes per span (`OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`, else
    /// `OTEL_ATTRIBUTE_COUNT_LIMIT`).
    pub attribute_count: usize,
    /// Characters per string value, `None`: unlimited
    /// (`OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT`, else `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`).
    pub attribute_value_length: Option<usize>,
    /// Events per span (`OTEL_SPAN_EVENT_COUNT_LIMIT`).
    pub event_count: usize,
    /// Links per span (`OTEL_SPAN_LINK_COUNT_LIMIT`).
    pub link_count: usize,
    /// Attributes per event (`OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT`).
    pub event_attribute_count: usize,
    /// Attributes per link (`OTEL_LINK_ATTRIBUTE_COUNT_LIMIT`).
    pub link_attribute_count: usize,
}

impl Default for SpanLimits {
    fn default() -> Self {
        SpanLimits {
            attribute_count: 128,
            attribute_value_length: None,
            event_count: 128,
            link_count: 128,
            event_attribute_count: 128,
            link_attribute_count: 128,
        }
    }
}

impl SpanLimits {
    /// Attributes per span.
    pub fn attribute_count(mut self, n: usize) -> Self {
        self.attribute_count = n;
        self
    }
    /// Characters per string value (also in arrays, events and links).
    pub fn attribute_value_length(mut self, n: usize) -> Self {
        self.attribute_value_length = Some(n);
        self
    }
    /// Events per span.
    pub fn event_count(mut self, n: usize) -> Self {
        self.event_count = n;
        self
    }
    /// Links per span.
    pub fn link_count(mut self, n: usize) -> Self {
        self.link_count = n;
        self
    }
    /// Attributes per event.
    pub fn event_attribute_count(mut self, n: usize) -> Self {
        self.event_attribute_count = n;
        self
    }
    /// Attributes per link.
    pub fn link_attribute_count(mut self, n: usize) -> Self {
        self.link_attribute_count = n;
        self
    }

    /// Whether these are the defaults with no length limit, where a span
    /// recorded by fcc can only exceed the count limits.
    fn nothing_to_cut(&self, span: &SpanData) -> bool {
        self.attribute_value_length.is_none()
            && span.attributes.len() <= self.attribute_count
            && span.events.len() <= self.event_count
            && span.links.len() <= self.link_count
            && span
                .events
                .iter()
                .all(|e| e.attributes.len() <= self.event_attribute_count)
            && span
                .links
                .iter()
                .all(|l| l.attributes.len() <= self.link_attribute_count)
    }

    /// Cuts `span` to the limits, counting what goes. Attributes set first
    /// are kept, as the SDK keeps them.
    pub fn apply(&self, span: &mut SpanData) {
        if self.nothing_to_cut(span) {
            return;
        }
        let len = self.attribute_value_length;
        span.dropped_attributes += cut(&mut span.attributes, self.attribute_count, len);
        if span.events.len() > self.event_count {
            span.dropped_events += (span.events.len() - self.event_count) as u32;
            span.events.truncate(self.event_count);
        }
        for e in &mut span.events {
            cut(&mut e.attributes, self.event_attribute_count, len);
        }
        if span.links.len() > self.link_count {
            span.dropped_links += (span.links.len() - self.link_count) as u32;
            span.links.truncate(self.link_count);
        }
        for l in &mut span.links {
            cut(&mut l.attributes, self.link_attribute_count, len);
        }
    }
}

/// What a log record keeps (defaults: 128 attributes, string values
/// unlimited).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogLimits {
    /// Attributes per record (`OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT`, else
    /// `OTEL_ATTRIBUTE_COUNT_LIMIT`).
    pub attribute_count: usize,
    /// Characters per string value (`OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT`,
    /// else `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`).
    pub attribute_value_length: Option<usize>,
}

impl Default for LogLimits {
    fn default() -> Self {
        LogLimits {
            attribute_count: 128,
            attribute_value_length: None,
        }
    }
}

impl LogLimits {
    /// Attributes per record.
    pub fn attribute_count(mut self, n: usize) -> Self {
        self.attribute_count = n;
        self
    }
    /// Characters per string value.
    pub fn attribute_value_length(mut self, n: usize) -> Self {
        self.attribute_value_length = Some(n);
        self
    }

    /// Cuts a record's attributes; returns how many went.
    pub(crate) fn apply(&self, attributes: &mut Vec<KeyValue>) -> u32 {
        cut(
            attributes,
            self.attribute_count,
            self.attribute_value_length,
        )
    }
}

/// Keeps the first `count` attributes, each string cut to `len`
/// characters; returns how many attributes went.
fn cut(attributes: &mut Vec<KeyValue>, count: usize, len: Option<usize>) -> u32 {
    let dropped = attributes.len().saturating_sub(count) as u32;
    attributes.truncate(count);
    if let Some(len) = len {
        for kv in attributes.iter_mut() {
            truncate_value(&mut kv.value, len);
        }
    }
    dropped
}

fn truncate_str(s: &str, len: usize) -> Option<String> {
    let (end, _) = s.char_indices().nth(len)?;
    Some(s[..end].to_owned())
}

fn truncate_value(v: &mut Value, len: usize) {
    match v {
        Value::String(s) => {
            if let Some(t) = truncate_str(s.as_str(), len) {
                *s = StringValue::from(t);
            }
        }
        Value::Array(Array::String(items)) => {
            for s in items.iter_mut() {
                if let Some(t) = truncate_str(s.as_str(), len) {
                    *s = StringValue::from(t);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{SpanEvent, SpanLink};
    use std::time::SystemTime;

    fn span() -> SpanData {
        let mut s = SpanData::new(
            crate::SpanId::new(1).unwrap(),
            crate::TraceId::new(1).unwrap(),
            "op",
            SystemTime::now(),
        );
        s.attributes = (0..5)
            .map(|i| KeyValue::new(format!("k{i}"), "héllo"))
            .collect();
        s.events = (0..4)
            .map(|i| SpanEvent {
                name: format!("e{i}").into(),
                timestamp: SystemTime::now(),
                attributes: vec![KeyValue::new("a", 1), KeyValue::new("b", 2)],
            })
            .collect();
        s.links = (0..3)
            .map(|_| SpanLink {
                context: crate::trace::SpanContext::new(
                    crate::TraceId::new(2).unwrap(),
                    crate::SpanId::new(2).unwrap(),
                ),
                attributes: vec![KeyValue::new("x", "yyyy"), KeyValue::new("z", 1)],
            })
            .collect();
        s
    }

    #[test]
    fn every_limit_cuts_and_counts() {
        let mut s = span();
        SpanLimits::default()
            .attribute_count(2)
            .attribute_value_length(2)
            .event_count(3)
            .link_count(1)
            .event_attribute_count(1)
            .link_attribute_count(1)
            .apply(&mut s);
        assert_eq!(
            s.attributes,
            vec![KeyValue::new("k0", "hé"), KeyValue::new("k1", "hé")]
        );
        assert_eq!(
            (s.dropped_attributes, s.dropped_events, s.dropped_links),
            (3, 1, 2)
        );
        assert_eq!(s.events.len(), 3);
        assert!(s
            .events
            .iter()
            .all(|e| e.attributes == vec![KeyValue::new("a", 1)]));
        assert_eq!(s.links[0].attributes, vec![KeyValue::new("x", "yy")]);
    }

    #[test]
    fn defaults_leave_a_span_alone() {
        let mut s = span();
        let before = s.clone();
        SpanLimits::default().apply(&mut s);
        assert_eq!(s, before);
    }

    #[test]
    fn log_limits() {
        let mut attrs = vec![
            KeyValue::new("a", "abcdef"),
            KeyValue::new("b", Value::Array(Array::String(vec!["xyz1".into()]))),
            KeyValue::new("c", 3),
        ];
        let dropped = LogLimits::default()
            .attribute_count(2)
            .attribute_value_length(3)
            .apply(&mut attrs);
        assert_eq!(dropped, 1);
        assert_eq!(attrs[0], KeyValue::new("a", "abc"));
        assert_eq!(
            attrs[1],
            KeyValue::new("b", Value::Array(Array::String(vec!["xyz".into()])))
        );
    }
}
