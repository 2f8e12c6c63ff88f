//! The global text-map propagator: W3C `traceparent`/`tracestate` and
//! `baggage`, chosen by `OTEL_PROPAGATORS`, reading fcc's current span.

use std::fmt;

use opentelemetry::baggage::{BaggageExt, KeyValueMetadata};
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry::Context;

use crate::internal::text::{is_token_byte, percent_decode, percent_encode};
use crate::trace::otel_context as bridge;
use crate::trace::propagation::{self, TRACEPARENT, TRACESTATE};

/// The W3C header a baggage list travels in.
pub const BAGGAGE: &str = "baggage";

/// The propagator names `OTEL_PROPAGATORS` knows.
pub const KNOWN_PROPAGATORS: &[&str] = &["tracecontext", "baggage", "none"];

/// fcc's text-map propagator: W3C Trace Context (strict, see
/// [`propagation::extract_all`]) and W3C Baggage, each switched on by
/// `OTEL_PROPAGATORS` (default `tracecontext,baggage`).
/// [`Telemetry`](crate::Telemetry) installs it as the global propagator.
///
/// Injecting with no explicit context uses fcc's current span, whichever
/// API started it.
///
/// ```
/// use std::collections::HashMap;
/// use opentelemetry::propagation::TextMapPropagator;
///
/// let propagator = fcc::otel::FccPropagator::default();
/// let tracer = fcc::FccTracer::new("doc");
/// let span = tracer.span("call");
/// let mut headers = HashMap::new();
/// propagator.inject(&mut headers);
/// assert!(headers["traceparent"].contains(&span.context().unwrap().span_id.to_string()));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct FccPropagator {
    trace_context: bool,
    baggage: bool,
    fields: Vec<String>,
}

impl Default for FccPropagator {
    fn default() -> Self {
        FccPropagator::new(true, true)
    }
}

impl fmt::Debug for FccPropagator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FccPropagator")
            .field("fields", &self.fields)
            .finish()
    }
}

impl FccPropagator {
    /// A propagator for the given formats.
    pub fn new(trace_context: bool, baggage: bool) -> FccPropagator {
        let mut fields = Vec::new();
        if trace_context {
            fields.extend([TRACEPARENT.to_owned(), TRACESTATE.to_owned()]);
        }
        if baggage {
            fields.push(BAGGAGE.to_owned());
        }
        FccPropagator {
            trace_context,
            baggage,
            fields,
        }
    }

    /// From an `OTEL_PROPAGATORS` value: a comma-separated list of
    /// `tracecontext`, `baggage`, `none`. Unknown names are left out and
    /// returned, so the caller can warn about them.
    ///
    /// ```
    /// let (p, unknown) = fcc::otel::FccPropagator::from_names("tracecontext, b3");
    /// assert_eq!(p.fields().collect::<Vec<_>>(), ["traceparent", "tracestate"]);
    /// assert_eq!(unknown, ["b3"]);
    /// ```
    pub fn from_names(value: &str) -> (FccPropagator, Vec<String>) {
        let (mut tc, mut bg, mut unknown) = (false, false, Vec::new());
        for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name.to_ascii_lowercase().as_str() {
                "tracecontext" => tc = true,
                "baggage" => bg = true,
                "none" => {}
                _ => unknown.push(name.to_owned()),
            }
        }
        (FccPropagator::new(tc, bg), unknown)
    }

    /// The field names this propagator writes and reads.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(String::as_str)
    }

    fn inject_span(&self, cx: &Context, injector: &mut dyn Injector) {
        if !self.trace_context {
            return;
        }
        let span = if cx.has_active_span() {
            bridge::from_otel(cx.span().span_context())
        } else {
            // A context without a span: the current fcc span, if this
            // thread entered it before the bridge was on.
            crate::trace::context::stack_top().filter(|t| !bridge::is_mirrored(t.span_id))
        };
        if let Some(span) = span {
            propagation::inject(&span, |k, v| injector.set(k, v));
        }
    }

    fn inject_baggage(&self, cx: &Context, injector: &mut dyn Injector) {
        if !self.baggage || cx.baggage().is_empty() {
            return;
        }
        let mut header = String::new();
        for (name, (value, metadata)) in cx.baggage().iter() {
            if !header.is_empty() {
                header.push(',');
            }
            percent_encode(name.as_str().trim(), &mut header);
            header.push('=');
            percent_encode(value.as_str().trim(), &mut header);
            let meta = metadata.as_str().trim();
            if !meta.is_empty() {
                header.push(';');
                header.push_str(meta);
            }
        }
        injector.set(BAGGAGE, header);
    }
}

impl TextMapPropagator for FccPropagator {
    fn inject(&self, injector: &mut dyn Injector) {
        bridge::activate();
        Context::map_current(|cx| self.inject_context(cx, injector));
    }

    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        self.inject_span(cx, injector);
        self.inject_baggage(cx, injector);
    }

    fn extract(&self, extractor: &dyn Extractor) -> Context {
        bridge::activate();
        Context::map_current(|cx| self.extract_with_context(cx, extractor))
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let mut out = cx.clone();
        if self.trace_context {
            let get_all = |k: &str| extractor.get_all(k).unwrap_or_default();
            match propagation::extract_all(get_all) {
                Ok(Some(span)) => out = out.with_remote_span_context(bridge::to_otel(&span)),
                Ok(None) => {}
                Err(_) => super::tracer::count_invalid_parent(),
            }
        }
        if self.baggage {
            let values = extractor.get_all(BAGGAGE).unwrap_or_default();
            if !values.is_empty()
                && let Some(baggage) = parse_baggage(&values)
            {
                out = out.with_baggage(baggage);
            }
        }
        out
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(&self.fields)
    }
}

/// The W3C Baggage limits.
const MAX_BAGGAGE_BYTES: usize = 8192;
const MAX_BAGGAGE_MEMBERS: usize = 64;

/// Parses `baggage` headers (several are one list). An entry without
/// `key=value`, or whose key or value does not decode, is left out; a list
/// over 8192 bytes is dropped whole, and only the first 64 entries are kept.
fn parse_baggage(values: &[&str]) -> Option<Vec<KeyValueMetadata>> {
    if values.iter().map(|v| v.len()).sum::<usize>() > MAX_BAGGAGE_BYTES {
        return None;
    }
    let mut out = Vec::new();
    for member in values.iter().flat_map(|v| v.split(',')) {
        if out.len() == MAX_BAGGAGE_MEMBERS {
            break;
        }
        let mut parts = member.split(';');
        let Some((key, value)) = parts.next().and_then(|kv| kv.split_once('=')) else {
            continue;
        };
        let key = key.trim();
        if key.is_empty() || !key.bytes().all(is_token_byte) {
            continue;
        }
        let Some(value) = percent_decode(value.trim()) else {
            continue;
        };
        let metadata: Vec<&str> = parts.map(str::trim).collect();
        out.push(KeyValueMetadata::new(
            key.to_owned(),
            value,
            metadata.join(";").as_str(),
        ));
    }
    (!out.is_empty()).then_some(out)
}
