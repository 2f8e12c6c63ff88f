//! The one-context rule at run time: fcc's thread-local span stack and the
//! OpenTelemetry `Context` agree once the bridge is on.
//!
//! fcc keeps its own stack (no `Context` clone, no allocation per span). The
//! OTel crate keeps its current context in a private thread-local with no
//! hook, so the only way for `Context::current()` to see an fcc span is to
//! attach a context holding it. That costs an allocation and an attach per
//! entered span, so it is done only in a process that uses the OTel API: the
//! bridge turns on ([`activate`]) the first time fcc's global tracer
//! provider hands out a tracer or fcc's propagator is used, and stays on.
//!
//! While on:
//! - every fcc span entered on a thread is also attached as an OTel
//!   `Context` whose span context is that span ([`mirror`]), unless it is
//!   the OTel context's span already, and detached when it is left
//!   ([`unmirror`]);
//! - fcc's `current()` reads the OTel context first, so an OTel span (from
//!   `tracer.in_span`, or a remote context attached after `extract`) is the
//!   parent of the next fcc span and is what events record.
//!
//! Spans entered before activation on the thread that activates are
//! mirrored at that moment; on other threads, fcc's own stack answers until
//! their next span.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use opentelemetry::trace::{
    SpanContext as OtelSpanContext, SpanId as OtelSpanId, TraceContextExt, TraceFlags,
    TraceId as OtelTraceId, TraceState,
};
use opentelemetry::Context;

use crate::trace::SpanContext;
use crate::{SpanId, TraceId};

static ACTIVE: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// One entry per fcc span entered while the bridge is on, innermost
    /// last: the guard of the context attached for it, or `None` where the
    /// span was already current in the OTel context (nothing attached).
    static MIRROR: RefCell<Vec<(SpanId, Option<opentelemetry::ContextGuard>)>> = const { RefCell::new(Vec::new()) };
}

/// Whether the bridge is on: one relaxed load on the span hot path.
#[inline(always)]
pub(crate) fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed)
}

/// Turns the bridge on for the rest of the process (idempotent). fcc's
/// OTel globals call it; call it yourself if you read `Context::current()`
/// through other means before any of them is used.
///
/// ```
/// fcc::otel::activate();
/// let tracer = fcc::FccTracer::new("doc");
/// let span = tracer.span("work");
/// use opentelemetry::trace::TraceContextExt;
/// let cx = opentelemetry::Context::current();
/// assert_eq!(
///     cx.span().span_context().span_id().to_bytes(),
///     span.context().unwrap().span_id.to_bytes()
/// );
/// ```
pub fn activate() {
    if ACTIVE.swap(true, Ordering::AcqRel) {
        return;
    }
    // Events built from here on read the OTel context too.
    super::context::connect_events();
    // Spans this thread is already inside become visible to the OTel API.
    for ctx in super::context::stack_snapshot() {
        mirror(&ctx);
    }
}

/// Attaches `ctx` as the current OTel context on this thread.
#[cold]
#[inline(never)]
pub(crate) fn mirror(ctx: &SpanContext) {
    mirror_in(ctx, None);
}

/// Attaches `ctx` on top of `base` (its baggage and other values), or of
/// the current OTel context.
#[cold]
#[inline(never)]
pub(crate) fn mirror_in(ctx: &SpanContext, base: Option<&Context>) {
    // Already current (an OTel context carried into a spawned task, a span
    // entered again): keep its span object rather than cover it with a
    // copy, but still record the entry so that leaving pops this one.
    let already = base.is_none() && otel_current().is_some_and(|c| c.span_id == ctx.span_id);
    let guard = (!already).then(|| context_with(ctx, base).attach());
    let _ = MIRROR.try_with(|m| {
        if let Ok(mut m) = m.try_borrow_mut() {
            m.push((ctx.span_id, guard));
        }
    });
}

/// An OTel `Context` holding `ctx` as its span, on top of `base` (its
/// baggage and other values), or of the current OTel context.
pub(crate) fn context_with(ctx: &SpanContext, base: Option<&Context>) -> Context {
    let sc = to_otel(ctx);
    match base {
        Some(base) => base.with_remote_span_context(sc),
        None => Context::map_current(|cx| cx.with_remote_span_context(sc)),
    }
}

/// Detaches what [`mirror`] attached for `span_id`, if anything.
#[cold]
#[inline(never)]
pub(crate) fn unmirror(span_id: SpanId) {
    let guard = MIRROR
        .try_with(|m| {
            let mut m = m.try_borrow_mut().ok()?;
            let i = m.iter().rposition(|(id, _)| *id == span_id)?;
            Some(m.remove(i).1)
        })
        .ok()
        .flatten();
    // Dropped outside the borrow: detaching may drop spans, which end.
    drop(guard);
}

/// Whether `span_id` is attached to this thread's OTel context.
pub(crate) fn is_mirrored(span_id: SpanId) -> bool {
    MIRROR
        .try_with(|m| {
            m.try_borrow()
                .is_ok_and(|m| m.iter().any(|(id, _)| *id == span_id))
        })
        .unwrap_or(false)
}

/// The span of the current OTel context, when it holds a valid one.
#[inline]
pub(crate) fn otel_current() -> Option<SpanContext> {
    // The OTel crate panics if its thread-local is gone (thread exit);
    // telemetry must not.
    std::panic::catch_unwind(|| Context::map_current(from_otel_context)).unwrap_or(None)
}

/// The span context a `Context` holds, when valid.
pub(crate) fn from_otel_context(cx: &Context) -> Option<SpanContext> {
    if !cx.has_active_span() {
        return None;
    }
    from_otel(cx.span().span_context())
}

/// fcc's span context as OTel's.
pub(crate) fn to_otel(ctx: &SpanContext) -> OtelSpanContext {
    let state = ctx
        .trace_state
        .as_deref()
        .and_then(|s| TraceState::from_key_value(members(s)).ok())
        .unwrap_or_default();
    OtelSpanContext::new(
        OtelTraceId::from_bytes(ctx.trace_id.to_bytes()),
        OtelSpanId::from_bytes(ctx.span_id.to_bytes()),
        if ctx.sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        },
        ctx.remote,
        state,
    )
}

fn members(s: &str) -> Vec<(&str, &str)> {
    s.split(',')
        .filter_map(|m| m.trim().split_once('='))
        .collect()
}

/// OTel's span context as fcc's; `None` when it is not valid.
pub(crate) fn from_otel(sc: &OtelSpanContext) -> Option<SpanContext> {
    if !sc.is_valid() {
        return None;
    }
    let trace_id = TraceId::from_bytes(sc.trace_id().to_bytes())?;
    let span_id = SpanId::from_bytes(sc.span_id().to_bytes())?;
    let header = sc.trace_state().header();
    Some(SpanContext {
        trace_id,
        span_id,
        sampled: sc.is_sampled(),
        remote: sc.is_remote(),
        trace_state: (!header.is_empty()).then(|| Arc::from(header)),
    })
}
