//! W3C Trace Context: `traceparent` and `tracestate` HTTP headers, so a trace
//! crosses services.
//!
//! ```
//! use std::collections::HashMap;
//! use fcc::trace::{propagation, FccTracer};
//!
//! let tracer = FccTracer::new("client");
//! let span = tracer.span("call");
//! let mut headers = HashMap::new();
//! propagation::inject(&span.context().unwrap(), |k, v| { headers.insert(k.to_owned(), v); });
//!
//! // ... in the server:
//! let remote = propagation::extract(|k| headers.get(k).map(String::as_str)).unwrap().unwrap();
//! let _g = fcc::trace::attach(remote);
//! let server_span = tracer.span("handle");
//! assert_eq!(server_span.context().unwrap().trace_id, span.context().unwrap().trace_id);
//! ```

use std::fmt;
use std::sync::Arc;

use super::SpanContext;
use crate::{SpanId, TraceId};

/// The `traceparent` header name.
pub const TRACEPARENT: &str = "traceparent";
/// The `tracestate` header name.
pub const TRACESTATE: &str = "tracestate";

/// Why an incoming `traceparent` was refused. The request still goes on; it
/// just starts a new trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceparentError {
    /// The header as received.
    pub header: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for TraceparentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid traceparent {:?}: {}", self.header, self.reason)
    }
}

impl std::error::Error for TraceparentError {}

/// Writes `traceparent` (and `tracestate` when there is one) through `set`.
pub fn inject(ctx: &SpanContext, mut set: impl FnMut(&str, String)) {
    set(TRACEPARENT, format_traceparent(ctx));
    if let Some(state) = ctx.trace_state.as_deref().filter(|s| !s.is_empty()) {
        set(TRACESTATE, state.to_owned());
    }
}

/// The `traceparent` value for `ctx`: `00-<trace id>-<span id>-<flags>`.
pub fn format_traceparent(ctx: &SpanContext) -> String {
    format!(
        "00-{}-{}-{:02x}",
        ctx.trace_id,
        ctx.span_id,
        u8::from(ctx.sampled)
    )
}

/// Reads `traceparent`/`tracestate` through `get`. `Ok(None)` when there is no
/// `traceparent`; an error when it is malformed (the spec says: ignore it and
/// start a new trace, which is what `?`-less callers do with `.ok().flatten()`).
pub fn extract<'a>(
    get: impl Fn(&str) -> Option<&'a str>,
) -> Result<Option<SpanContext>, TraceparentError> {
    let Some(header) = get(TRACEPARENT) else {
        return Ok(None);
    };
    let mut ctx = parse_traceparent(header)?;
    ctx.trace_state = get(TRACESTATE)
        .map(str::trim)
        .filter(|s| valid_tracestate(s))
        .map(Arc::from);
    Ok(Some(ctx))
}

/// Parses a `traceparent` value into a remote context.
pub fn parse_traceparent(header: &str) -> Result<SpanContext, TraceparentError> {
    let err = |reason| TraceparentError {
        header: header.to_owned(),
        reason,
    };
    let h = header.trim();
    let parts: Vec<&str> = h.split('-').collect();
    if parts.len() < 4 {
        return Err(err("expected version-traceid-spanid-flags"));
    }
    let hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    };
    let (version, trace, span, flags) = (parts[0], parts[1], parts[2], parts[3]);
    if !hex(version, 2) || version == "ff" {
        return Err(err(
            "the version must be two lower-case hex digits other than ff",
        ));
    }
    if version == "00" && parts.len() != 4 {
        return Err(err("version 00 has exactly four fields"));
    }
    if !hex(trace, 32) {
        return Err(err("the trace id must be 32 lower-case hex digits"));
    }
    if !hex(span, 16) {
        return Err(err("the parent id must be 16 lower-case hex digits"));
    }
    if !hex(flags, 2) {
        return Err(err("the flags must be two lower-case hex digits"));
    }
    let trace_id = trace
        .parse::<TraceId>()
        .map_err(|_| err("the trace id must not be all zeros"))?;
    let span_id = span
        .parse::<SpanId>()
        .map_err(|_| err("the parent id must not be all zeros"))?;
    let flags = u8::from_str_radix(flags, 16).map_err(|_| err("bad flags"))?;
    Ok(SpanContext {
        trace_id,
        span_id,
        sampled: flags & 1 == 1,
        remote: true,
        trace_state: None,
    })
}

/// A loose check of the W3C `tracestate` rules: at most 32 `key=value`
/// members and 512 characters. An invalid one is dropped, not passed on.
fn valid_tracestate(s: &str) -> bool {
    if s.is_empty() || s.len() > 512 {
        return false;
    }
    let members: Vec<&str> = s
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .collect();
    members.len() <= 32
        && members.iter().all(|m| {
            m.split_once('=').is_some_and(|(k, v)| {
                !k.is_empty()
                    && k.len() <= 256
                    && !v.is_empty()
                    && v.len() <= 256
                    && k.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-*/@".contains(&b)
                    })
                    && v.bytes()
                        .all(|b| (0x20..=0x7e).contains(&b) && b != b',' && b != b'=')
            })
        })
}
