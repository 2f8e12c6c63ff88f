//! fcc's spans written straight into an OTLP `ExportTraceServiceRequest`
//! (protobuf), with no intermediate message structs: each span is measured,
//! then written into one reused buffer. The SDK's route (fcc's span to the
//! SDK's `SpanData`, to `opentelemetry-proto` structs, to bytes) allocated
//! several times per attribute; this allocates nothing per span.
//!
//! Field numbers follow `opentelemetry/proto/trace/v1/trace.proto`,
//! `common/v1/common.proto` and `resource/v1/resource.proto`; the decoding
//! side of the tests is `opentelemetry-proto`'s generated code, so any
//! mismatch fails them.

use opentelemetry::{InstrumentationScope, KeyValue};
use std::sync::Arc;

use super::protobuf::*;

use crate::trace::{SpanData, SpanEvent, SpanKind, SpanLink, SpanStatus};

/// Span flags: the trace flags' sampled bit, and whether the parent is
/// remote (the `HAS_IS_REMOTE` and `IS_REMOTE` bits of the proto).
const SAMPLED: u32 = 0x01;
const HAS_IS_REMOTE: u32 = 0x100;
const IS_REMOTE: u32 = 0x200;

// --- trace.proto: Span, Event, Link, Status --------------------------------

fn event_len(e: &SpanEvent) -> usize {
    key_len(1) + 8 + len_field(2, e.name.len()) + kvs_len(3, &e.attributes)
}

fn put_event(out: &mut Vec<u8>, e: &SpanEvent) {
    put_len(out, 11, event_len(e));
    put_fixed64(out, 1, nanos(e.timestamp));
    put_bytes(out, 2, e.name.as_bytes());
    for kv in &e.attributes {
        put_kv(out, 3, kv);
    }
}

fn link_flags(l: &SpanLink) -> u32 {
    let sampled = if l.context.sampled { SAMPLED } else { 0 };
    sampled | HAS_IS_REMOTE | if l.context.remote { IS_REMOTE } else { 0 }
}

fn link_len(l: &SpanLink) -> usize {
    let state = l.context.trace_state.as_deref().unwrap_or("");
    len_field(1, 16)
        + len_field(2, 8)
        + if state.is_empty() {
            0
        } else {
            len_field(3, state.len())
        }
        + kvs_len(4, &l.attributes)
        + key_len(6)
        + 4
}

fn put_link(out: &mut Vec<u8>, l: &SpanLink) {
    put_len(out, 13, link_len(l));
    put_bytes(out, 1, &l.context.trace_id.to_bytes());
    put_bytes(out, 2, &l.context.span_id.to_bytes());
    if let Some(state) = l.context.trace_state.as_deref().filter(|s| !s.is_empty()) {
        put_bytes(out, 3, state.as_bytes());
    }
    for kv in &l.attributes {
        put_kv(out, 4, kv);
    }
    put_key(out, 6, FIXED32);
    out.extend_from_slice(&link_flags(l).to_le_bytes());
}

/// `Status` as (code, message).
fn status(s: &SpanStatus) -> (u32, &str) {
    match s {
        SpanStatus::Unset => (0, ""),
        SpanStatus::Ok => (1, ""),
        SpanStatus::Error { description } => (2, description),
    }
}

fn status_len(s: &SpanStatus) -> usize {
    let (code, message) = status(s);
    let message = if message.is_empty() {
        0
    } else {
        len_field(2, message.len())
    };
    message + uint_len(3, code)
}

fn kind(k: &SpanKind) -> u32 {
    match k {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

fn span_len(s: &SpanData) -> usize {
    len_field(1, 16)
        + len_field(2, 8)
        + s.parent_span_id.map_or(0, |_| len_field(4, 8))
        + len_field(5, s.name.len())
        + uint_len(6, kind(&s.kind))
        + 2 * (key_len(7) + 8)
        + kvs_len(9, &s.attributes)
        + uint_len(10, s.dropped_attributes)
        + s.events
            .iter()
            .map(|e| len_field(11, event_len(e)))
            .sum::<usize>()
        + uint_len(12, s.dropped_events)
        + s.links
            .iter()
            .map(|l| len_field(13, link_len(l)))
            .sum::<usize>()
        + uint_len(14, s.dropped_links)
        + match status_len(&s.status) {
            0 => 0,
            n => len_field(15, n),
        }
        + key_len(16)
        + 4
}

/// Writes `s`, whose body is `len` bytes (its [`span_len`]).
fn put_span(out: &mut Vec<u8>, s: &SpanData, len: usize) {
    put_len(out, 2, len); // ScopeSpans.spans
    put_bytes(out, 1, &s.trace_id.to_bytes());
    put_bytes(out, 2, &s.span_id.to_bytes());
    if let Some(p) = s.parent_span_id {
        put_bytes(out, 4, &p.to_bytes());
    }
    put_bytes(out, 5, s.name.as_bytes());
    put_uint(out, 6, kind(&s.kind));
    put_fixed64(out, 7, nanos(s.start_time));
    put_fixed64(out, 8, nanos(s.end_time));
    for kv in &s.attributes {
        put_kv(out, 9, kv);
    }
    put_uint(out, 10, s.dropped_attributes);
    for e in &s.events {
        put_event(out, e);
    }
    put_uint(out, 12, s.dropped_events);
    for l in &s.links {
        put_link(out, l);
    }
    put_uint(out, 14, s.dropped_links);
    let n = status_len(&s.status);
    if n > 0 {
        put_len(out, 15, n);
        let (code, message) = status(&s.status);
        if !message.is_empty() {
            put_bytes(out, 2, message.as_bytes());
        }
        put_uint(out, 3, code);
    }
    // Exported spans are sampled ones.
    let remote = if s.parent_is_remote { IS_REMOTE } else { 0 };
    put_key(out, 16, FIXED32);
    out.extend_from_slice(&(SAMPLED | HAS_IS_REMOTE | remote).to_le_bytes());
}

// --- the request ------------------------------------------------------------

/// One scope's spans in a request: the scope (`None`: fcc's), its
/// `InstrumentationScope` message, and its spans' total size.
type ScopeGroup<'a> = (Option<&'a Arc<InstrumentationScope>>, Vec<u8>, usize);

/// Writes `ExportTraceServiceRequest`s for one resource.
pub(crate) struct TraceEncoder {
    /// The `Resource` message, written once.
    resource: Vec<u8>,
    /// fcc's own `InstrumentationScope` message, written once.
    scope: Vec<u8>,
}

fn scope_message(name: &str, version: Option<&str>, attributes: &[KeyValue]) -> Vec<u8> {
    let mut out = Vec::new();
    put_bytes(&mut out, 1, name.as_bytes());
    if let Some(v) = version.filter(|v| !v.is_empty()) {
        put_bytes(&mut out, 2, v.as_bytes());
    }
    for kv in attributes {
        put_kv(&mut out, 3, kv);
    }
    out
}

impl TraceEncoder {
    pub(crate) fn new(resource: &[KeyValue]) -> TraceEncoder {
        let mut r = Vec::new();
        for kv in resource {
            put_kv(&mut r, 1, kv);
        }
        TraceEncoder {
            resource: r,
            scope: scope_message("fcc", Some(env!("CARGO_PKG_VERSION")), &[]),
        }
    }

    /// The request for `spans`, written into `out` (cleared first). Spans
    /// go under their instrumentation scope: fcc's, or the library's that
    /// made them through the OTel API.
    pub(crate) fn encode(&self, spans: &[SpanData], out: &mut Vec<u8>) {
        out.clear();
        // The scopes in order of first appearance (few: fcc's and the
        // libraries'), each with its message and its spans' total size.
        let mut scopes: Vec<ScopeGroup<'_>> = Vec::new();
        // Each span is measured once: for its scope's size, then its prefix.
        let lens: Vec<usize> = spans.iter().map(span_len).collect();
        for (s, &body) in spans.iter().zip(&lens) {
            let len = len_field(2, body);
            match scopes.iter_mut().find(|g| same_scope(g.0, &s.scope)) {
                Some(g) => g.2 += len,
                None => {
                    let message = match &s.scope {
                        None => self.scope.clone(),
                        Some(sc) => {
                            let attrs: Vec<KeyValue> = sc.attributes().cloned().collect();
                            scope_message(sc.name(), sc.version(), &attrs)
                        }
                    };
                    scopes.push((s.scope.as_ref(), message, len));
                }
            }
        }
        let scope_spans_len =
            |(_, message, spans): &(_, Vec<u8>, usize)| len_field(1, message.len()) + spans;
        let resource_spans_len = len_field(1, self.resource.len())
            + scopes
                .iter()
                .map(|g| len_field(2, scope_spans_len(g)))
                .sum::<usize>();
        out.reserve(len_field(1, resource_spans_len));
        put_len(out, 1, resource_spans_len); // ExportTraceServiceRequest.resource_spans
        put_bytes(out, 1, &self.resource); // ResourceSpans.resource
        for g in &scopes {
            put_len(out, 2, scope_spans_len(g)); // ResourceSpans.scope_spans
            put_bytes(out, 1, &g.1); // ScopeSpans.scope
            for (s, &len) in spans.iter().zip(&lens) {
                if same_scope(g.0, &s.scope) {
                    put_span(out, s, len);
                }
            }
        }
        debug_assert_eq!(out.len(), len_field(1, resource_spans_len));
    }
}

/// Whether a span of `scope` belongs to the group of `group` (`None`: fcc's).
fn same_scope(
    group: Option<&Arc<InstrumentationScope>>,
    scope: &Option<Arc<InstrumentationScope>>,
) -> bool {
    match (group, scope) {
        (None, None) => true,
        (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::{Array, Value};
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value;
    use prost::Message;
    use std::time::SystemTime;

    #[test]
    fn varint_lengths() {
        for v in [
            0u64,
            1,
            127,
            128,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(out.len(), varint_len(v), "{v}");
        }
    }

    #[test]
    fn what_is_written_decodes_as_the_proto_says() {
        let mut s = SpanData::new(
            crate::SpanId::new(7).unwrap(),
            crate::TraceId::new(9).unwrap(),
            "op",
            SystemTime::now(),
        );
        s.parent_span_id = crate::SpanId::new(3);
        s.parent_is_remote = true;
        s.kind = SpanKind::Server;
        s.status = SpanStatus::error("boom");
        s.attributes = vec![
            KeyValue::new("s", "x".repeat(200)),
            KeyValue::new("i", -5),
            KeyValue::new("f", 1.5),
            KeyValue::new("b", true),
            KeyValue::new(
                "a",
                Value::Array(Array::String(vec!["p".into(), "q".into()])),
            ),
        ];
        s.events.push(SpanEvent {
            name: "e".into(),
            timestamp: SystemTime::now(),
            attributes: vec![KeyValue::new("k", 1)],
        });
        s.dropped_events = 2;
        let lib = Arc::new(
            InstrumentationScope::builder("lib")
                .with_version("1.0")
                .build(),
        );
        let mut t = s.clone();
        t.scope = Some(lib);
        let enc = TraceEncoder::new(&[KeyValue::new("service.name", "svc")]);
        let mut out = Vec::new();
        enc.encode(&[s.clone(), t, s.clone()], &mut out);
        let req = ExportTraceServiceRequest::decode(out.as_slice()).unwrap();
        let rs = &req.resource_spans[0];
        assert_eq!(
            rs.resource.as_ref().unwrap().attributes[0].key,
            "service.name"
        );
        assert_eq!(rs.scope_spans.len(), 2);
        assert_eq!(rs.scope_spans[0].scope.as_ref().unwrap().name, "fcc");
        assert_eq!(rs.scope_spans[0].spans.len(), 2);
        assert_eq!(rs.scope_spans[1].scope.as_ref().unwrap().version, "1.0");
        let span = &rs.scope_spans[0].spans[0];
        assert_eq!(span.trace_id, crate::TraceId::new(9).unwrap().to_bytes());
        assert_eq!(
            span.parent_span_id,
            crate::SpanId::new(3).unwrap().to_bytes()
        );
        assert_eq!((span.kind, span.flags), (2, 0x301));
        assert_eq!(span.status.as_ref().unwrap().code, 2);
        assert_eq!(span.status.as_ref().unwrap().message, "boom");
        assert_eq!(span.attributes.len(), 5);
        assert_eq!(
            span.attributes[1].value.as_ref().unwrap().value,
            Some(any_value::Value::IntValue(-5))
        );
        match &span.attributes[4].value.as_ref().unwrap().value {
            Some(any_value::Value::ArrayValue(a)) => assert_eq!(a.values.len(), 2),
            other => panic!("{other:?}"),
        }
        assert_eq!((span.events.len(), span.dropped_events_count), (1, 2));
        assert_eq!(span.start_time_unix_nano, nanos(s.start_time));
        assert!(span.start_time_unix_nano > 0);
    }
}
