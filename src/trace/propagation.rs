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
#[non_exhaustive]
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
///
/// `get` gives one value per header; where a header may arrive more than
/// once (HTTP), use [`extract_all`], which the W3C rules need to see a
/// duplicated `traceparent` and to combine several `tracestate` headers.
pub fn extract<'a>(
    get: impl Fn(&str) -> Option<&'a str>,
) -> Result<Option<SpanContext>, TraceparentError> {
    extract_all(|k| get(k).into_iter().collect())
}

/// Like [`extract`], with every value of each header (`get_all` gives them in
/// the order received, empty when the header is absent).
///
/// W3C Trace Context Level 1, to the letter:
/// - more than one `traceparent` header is invalid (a new trace starts);
/// - `tracestate` is read only with a valid `traceparent`; several headers
///   are combined in order, as one comma-separated list;
/// - a `tracestate` with an invalid member, or more than 32 members, is
///   dropped whole; empty members are skipped; of a key given twice the
///   first (left-most, most recent) is kept.
///
/// ```
/// use fcc::trace::propagation;
/// let headers = [
///     ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
///     ("tracestate", "congo=t61rcWkgMzE"),
///     ("tracestate", "rojo=00f067aa0ba902b7"),
/// ];
/// let ctx = propagation::extract_all(|k| {
///     headers.iter().filter(|(n, _)| *n == k).map(|(_, v)| *v).collect()
/// })
/// .unwrap()
/// .unwrap();
/// assert_eq!(ctx.trace_state.as_deref(), Some("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"));
/// ```
pub fn extract_all<'a>(
    get_all: impl Fn(&str) -> Vec<&'a str>,
) -> Result<Option<SpanContext>, TraceparentError> {
    let parents = get_all(TRACEPARENT);
    let header = match parents.as_slice() {
        [] => return Ok(None),
        [one] => *one,
        [first, ..] => {
            return Err(TraceparentError {
                header: (*first).to_owned(),
                reason: "more than one traceparent header",
            })
        }
    };
    let mut ctx = parse_traceparent(header)?;
    ctx.trace_state = parse_tracestate(&get_all(TRACESTATE)).map(Arc::from);
    Ok(Some(ctx))
}

/// Parses a `traceparent` value into a remote context.
///
/// Version `00` is exactly `00-<32 hex>-<16 hex>-<2 hex>`; a later version
/// (not `ff`) is read by the same first 55 characters, followed by nothing
/// or by `-` and fields this version does not know; of its flags only
/// `sampled` is used. Hex digits are lower-case; all-zero ids are invalid.
pub fn parse_traceparent(header: &str) -> Result<SpanContext, TraceparentError> {
    let err = |reason| TraceparentError {
        header: header.to_owned(),
        reason,
    };
    // HTTP's optional white space around a field value.
    let h = header.trim_matches(|c| c == ' ' || c == '\t').as_bytes();
    let hex = |s: &[u8]| {
        s.iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    };
    // Field by field first, for a reason that names the field.
    let parts: Vec<&[u8]> = h.split(|b| *b == b'-').collect();
    if parts.len() < 4 {
        return Err(err("expected version-traceid-parentid-flags"));
    }
    if parts[0].len() != 2 || !hex(parts[0]) || parts[0] == b"ff" {
        return Err(err(
            "the version must be two lower-case hex digits other than ff",
        ));
    }
    if parts[1].len() != 32 || !hex(parts[1]) {
        return Err(err("the trace id must be 32 lower-case hex digits"));
    }
    if parts[2].len() != 16 || !hex(parts[2]) {
        return Err(err("the parent id must be 16 lower-case hex digits"));
    }
    if parts[3].len() < 2 || !hex(&parts[3][..2]) {
        return Err(err("the flags must be two lower-case hex digits"));
    }
    if parts[0] == b"00" && h.len() != 55 {
        return Err(err("version 00 has exactly four fields (55 characters)"));
    }
    // A later version: whatever follows the first 55 characters starts with '-'.
    if h.len() > 55 && h[55] != b'-' {
        return Err(err("a field after the flags must start with '-'"));
    }
    // The fields checked above sit at these positions.
    let (trace, span, flags) = (&h[3..35], &h[36..52], &h[53..55]);
    fn text(b: &[u8]) -> &str {
        std::str::from_utf8(b).unwrap_or("")
    }
    let trace_id = text(trace)
        .parse::<TraceId>()
        .map_err(|_| err("the trace id must not be all zeros"))?;
    let span_id = text(span)
        .parse::<SpanId>()
        .map_err(|_| err("the parent id must not be all zeros"))?;
    let flags = u8::from_str_radix(text(flags), 16).map_err(|_| err("bad flags"))?;
    Ok(SpanContext {
        trace_id,
        span_id,
        sampled: flags & 1 == 1,
        remote: true,
        trace_state: None,
    })
}

/// The most list members a `tracestate` may have.
pub const MAX_TRACESTATE_MEMBERS: usize = 32;

/// Combines `tracestate` header values and checks them against the W3C
/// grammar; `None` when there is nothing valid to pass on (see
/// [`extract_all`]).
pub fn parse_tracestate(headers: &[&str]) -> Option<String> {
    let mut members: Vec<(&str, &str)> = Vec::new();
    for header in headers {
        for member in header.split(',') {
            let member = member.trim_matches(|c| c == ' ' || c == '\t');
            if member.is_empty() {
                continue;
            }
            let (key, value) = member.split_once('=')?;
            if !valid_key(key) || !valid_value(value) {
                return None;
            }
            if !members.iter().any(|(k, _)| *k == key) {
                members.push((key, value));
            }
        }
    }
    if members.is_empty() || members.len() > MAX_TRACESTATE_MEMBERS {
        return None;
    }
    let mut out = String::new();
    for (i, (k, v)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    Some(out)
}

/// `simple-key = lcalpha 0*255( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )`
/// or `tenant-id "@" system-id`, tenant up to 241 characters starting with
/// a letter or digit, system up to 14 starting with a letter.
fn valid_key(key: &str) -> bool {
    let rest = |s: &[u8]| {
        s.iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-*/".contains(b))
    };
    let b = key.as_bytes();
    match key.split_once('@') {
        None => b.len() <= 256 && b.first().is_some_and(u8::is_ascii_lowercase) && rest(&b[1..]),
        Some((tenant, system)) => {
            let (t, s) = (tenant.as_bytes(), system.as_bytes());
            (1..=241).contains(&t.len())
                && (t[0].is_ascii_lowercase() || t[0].is_ascii_digit())
                && rest(&t[1..])
                && (1..=14).contains(&s.len())
                && s[0].is_ascii_lowercase()
                && rest(&s[1..])
        }
    }
}

/// `value = 0*255(chr) nblk-chr`, `nblk-chr = %x21-2B / %x2D-3C / %x3E-7E`,
/// `chr = %x20 / nblk-chr`.
fn valid_value(value: &str) -> bool {
    let b = value.as_bytes();
    let nblk = |c: &u8| (0x21..=0x7e).contains(c) && *c != b',' && *c != b'=';
    (1..=256).contains(&b.len())
        && b.last().is_some_and(nblk)
        && b.iter().all(|c| *c == b' ' || nblk(c))
}
