//! Tracing: [`FccTracer`], [`SpanData`], `#[traced]`, the [`SpanLayer`](crate::layer::SpanLayer) for
//! `tracing` spans, context propagation and sampling.
//!
//! # A tour
//!
//! A span is one timed operation. [`FccTracer::span`] starts one and makes it
//! current until its guard drops; spans started meanwhile, on this thread,
//! become its children: they get its trace id and record it as
//! `parent_span_id`.
//!
//! ```
//! use fcc::trace::FccTracer;
//!
//! let tracer = FccTracer::new("my-app");
//! {
//!     let mut run = tracer.span("simulation.run");
//!     run.set_attribute("scenario_id", "SC-001");
//!     let _step = tracer.span_with("simulation.step", [fcc::trace::KeyValue::new("node_id", "N1")]);
//! }
//! for span in tracer.completed_spans() {
//!     println!("{} {:.3}ms parent={:?}", span.name, span.duration_ms(), span.parent_span_id);
//! }
//! ```
//!
//! `#[traced]` (see [`crate::traced`]) wraps a function in a span; with no
//! tracer installed it is a no-op. `tracing` spans join the same tree through
//! the [`SpanLayer`](crate::layer::SpanLayer), which [`Telemetry`](crate::Telemetry) installs.
//!
//! Where spans go: the tracer keeps a bounded buffer of completed spans
//! ([`FccTracer::completed_spans`]) and, when built with exporters, batches
//! them to each [`SpanExporter`](crate::export::SpanExporter) on a background
//! thread: the console, a JSON file, OTLP.
//!
//! Across `.await` and `tokio::spawn`, see [`FutureExt`]; across processes,
//! [`propagation`]. Which spans are recorded: [`Sampler`].
//!
//! **Imports** (the table in ARCHITECTURE.md, checked by
//! `tests/it/import_direction.rs`): only `event`, `internal`.

mod attributes;
pub(crate) mod context;
mod data;
mod future;
pub(crate) mod handover;
pub(crate) mod local;
pub(crate) mod otel_context;
pub mod propagation;
mod ring_record;
mod sampler;
pub(crate) mod span;
pub(crate) mod tracer;

pub use attributes::{AttributeValue, Attributes, IntoAttribute};
pub use context::{attach, current, ContextGuard, SpanContext};
pub(crate) use context::{current_ids, in_sampled_span};
pub use data::{
    InstrumentationScope, Key, KeyValue, SpanData, SpanEvent, SpanKind, SpanLink, SpanStatus,
    Value, MAX_EVENTS_PER_SPAN,
};
pub use future::{in_current_context, FutureExt, InSpan, WithContext};
pub use sampler::{Sampler, SamplerError};
pub use span::{Span, SpanGuard};
pub use tracer::{global, set_global, FccTracer, DEFAULT_COMPLETED_CAPACITY};

/// What `#[traced]` expands to. Not a public API.
#[doc(hidden)]
pub mod __private {
    use std::borrow::Cow;

    pub use super::data::CodeLocation;
    pub use super::future::Traced;
    use super::{FccTracer, KeyValue, Span, SpanGuard};

    /// Anything `tracer = ...` may name.
    #[diagnostic::on_unimplemented(
        message = "`#[traced(tracer = ...)]` needs an `FccTracer`, not `{Self}`",
        label = "not a tracer",
        note = "give an `FccTracer`, a reference to one, or an `Option` of either (`None`: no span)"
    )]
    pub trait AsTracer {
        /// The tracer, if there is one.
        fn as_tracer(&self) -> Option<&FccTracer>;
    }
    impl AsTracer for FccTracer {
        fn as_tracer(&self) -> Option<&FccTracer> {
            Some(self)
        }
    }
    impl<T: AsTracer + ?Sized> AsTracer for &T {
        fn as_tracer(&self) -> Option<&FccTracer> {
            (**self).as_tracer()
        }
    }
    impl<T: AsTracer> AsTracer for Option<T> {
        fn as_tracer(&self) -> Option<&FccTracer> {
            self.as_ref().and_then(AsTracer::as_tracer)
        }
    }
    impl<T: AsTracer + ?Sized> AsTracer for std::sync::Arc<T> {
        fn as_tracer(&self) -> Option<&FccTracer> {
            (**self).as_tracer()
        }
    }

    /// Starts a `#[traced]` span with the global tracer; attributes
    /// (the arguments) are only built when it is recording, and the code
    /// location is one static reference until the span is exported.
    #[inline(always)]
    pub fn start_global(
        name: &'static str,
        code: &'static CodeLocation,
        attributes: impl FnOnce(&mut Vec<KeyValue>),
    ) -> Span {
        if !super::tracer::global_is_set() {
            return Span::disabled();
        }
        start_global_set(name, code, attributes)
    }

    /// Moved into a `#[traced]` body's closure and spent there, which
    /// makes the closure `FnOnce` (not `Copy`, on purpose).
    pub struct Once;

    impl Once {
        /// Takes the token by value (what makes its closure `FnOnce`).
        #[inline(always)]
        pub fn spend(self) {}
    }

    /// Whether a global tracer is installed: all a `#[traced]` function
    /// that runs its body through [`run_traced`] does before its body when
    /// none is (one load).
    #[inline(always)]
    pub fn global_is_set() -> bool {
        super::tracer::global_is_set()
    }

    /// Runs a `#[traced]` function's body in a span of the global tracer,
    /// entered while it runs. `body` first records the arguments into the
    /// list it is given (when the span records), then runs. Out of line,
    /// so that the function itself, when no tracer is installed, is its
    /// body and one load and branch before it.
    #[inline(never)]
    pub fn run_traced<R>(
        name: &'static str,
        code: &'static CodeLocation,
        body: impl FnOnce(Option<&mut Vec<KeyValue>>) -> R,
    ) -> R {
        traced_call(name, code, body, |_, _| {})
    }

    /// [`run_traced`] for a body that returns a `Result`: an error marks
    /// the span failed.
    #[inline(never)]
    pub fn run_traced_result<T, E: std::fmt::Display>(
        name: &'static str,
        code: &'static CodeLocation,
        body: impl FnOnce(Option<&mut Vec<KeyValue>>) -> Result<T, E>,
    ) -> Result<T, E> {
        traced_call(name, code, body, |span, out| {
            if let Err(e) = out {
                span.record_error(e);
            }
        })
    }

    /// What both run: the span started and entered, the body called with
    /// the span's list, `ended` given the span (left, not yet ended) and
    /// the body's value.
    #[inline(always)]
    fn traced_call<R>(
        name: &'static str,
        code: &'static CodeLocation,
        body: impl FnOnce(Option<&mut Vec<KeyValue>>) -> R,
        ended: impl FnOnce(&mut Span, &R),
    ) -> R {
        let Some(tracer) = super::global() else {
            // Removed since the caller looked.
            return body(None);
        };
        let mut span = start_with(&tracer, name, code, |_| {});
        let entered = span.enter();
        let out = {
            let mut attach = Attach::new(&mut span);
            body(attach.list.as_mut())
        };
        drop(entered);
        ended(&mut span, &out);
        out
    }

    /// The span's attribute list, lent to a `#[traced]` body to record the
    /// arguments into, and put back when the body ends, even by a panic.
    struct Attach<'a> {
        span: &'a mut Span,
        list: Option<Vec<KeyValue>>,
    }

    impl<'a> Attach<'a> {
        fn new(span: &'a mut Span) -> Attach<'a> {
            // The span's own list (a reused box keeps its capacity); none
            // when it does not record.
            let list = span.data_mut().map(|d| std::mem::take(&mut d.attributes));
            Attach { span, list }
        }
    }

    impl Drop for Attach<'_> {
        fn drop(&mut self) {
            if let (Some(list), Some(d)) = (self.list.take(), self.span.data_mut()) {
                d.attributes = list;
            }
        }
    }

    /// The rest of [`start_global`], out of line: inlined, it would make
    /// every `#[traced]` function save more registers even with no tracer.
    #[inline(never)]
    fn start_global_set(
        name: &'static str,
        code: &'static CodeLocation,
        attributes: impl FnOnce(&mut Vec<KeyValue>),
    ) -> Span {
        match super::global() {
            Some(t) => start_with(&t, name, code, attributes),
            None => Span::disabled(),
        }
    }

    /// Starts a `#[traced]` span with the given tracer (`tracer = ...`).
    #[inline]
    pub fn start_with_tracer(
        tracer: &dyn AsTracer,
        name: &'static str,
        code: &'static CodeLocation,
        attributes: impl FnOnce(&mut Vec<KeyValue>),
    ) -> Span {
        match tracer.as_tracer() {
            Some(t) => start_with(t, name, code, attributes),
            None => Span::disabled(),
        }
    }

    #[inline]
    fn start_with(
        tracer: &FccTracer,
        name: &'static str,
        code: &'static CodeLocation,
        attributes: impl FnOnce(&mut Vec<KeyValue>),
    ) -> Span {
        let mut span = tracer.start(Cow::Borrowed(name));
        if let Some(d) = span.data_mut() {
            d.code = Some(code);
            // Straight into the span's own list (a reused box keeps its capacity).
            attributes(&mut d.attributes);
        }
        span
    }

    /// [`start_with_tracer`], entered: what a synchronous `#[traced]`
    /// function with a tracer runs first (the span's parent read and the
    /// span made current in one visit to the context stack). The
    /// attributes are built once the span is current.
    #[inline]
    pub fn start_entered_with_tracer(
        tracer: &dyn AsTracer,
        name: &'static str,
        code: &'static CodeLocation,
        attributes: impl FnOnce(&mut Vec<KeyValue>),
    ) -> SpanGuard {
        match tracer.as_tracer() {
            Some(t) => start_entered_with(t, name, code, attributes),
            None => SpanGuard::disabled(),
        }
    }

    #[inline]
    fn start_entered_with(
        tracer: &FccTracer,
        name: &'static str,
        code: &'static CodeLocation,
        attributes: impl FnOnce(&mut Vec<KeyValue>),
    ) -> SpanGuard {
        let mut name = Some(Cow::Borrowed(name));
        match super::local::start(&tracer.inner, &mut name, Some(code), true) {
            Some(started) => {
                let guard = SpanGuard::local(&started);
                // Outside the visit to the stack: an argument's `Debug` is
                // the user's code, and may look at the current span.
                if let Some(mut list) = started.list {
                    attributes(&mut list);
                    super::local::give_list(started.span_id, list);
                }
                guard
            }
            None => {
                let mut guard = tracer.span_boxed(name.unwrap_or_default(), Some(code));
                guard.set_attributes_with(attributes);
                guard
            }
        }
    }

    /// Records an `Err` on a `#[traced]` function's span (a [`Span`], or
    /// the [`SpanGuard`] of a synchronous function, still entered).
    pub fn record_err<S: RecordErr + ?Sized, E: std::fmt::Display>(span: &mut S, error: &E) {
        span.record_err(error);
    }

    /// What `record_err` records on.
    pub trait RecordErr {
        /// Marks the span failed with `error`.
        fn record_err<E: std::fmt::Display>(&mut self, error: &E);
    }
    impl RecordErr for Span {
        fn record_err<E: std::fmt::Display>(&mut self, error: &E) {
            self.record_error(error);
        }
    }
    impl RecordErr for SpanGuard {
        fn record_err<E: std::fmt::Display>(&mut self, error: &E) {
            self.record_error(error);
        }
    }

    /// An argument as an attribute value: numbers, bools and strings as
    /// themselves, anything else through `Debug`.
    pub struct Arg<'a, T: ?Sized>(pub &'a T);

    /// Typed values (autoref specialization: tried first).
    pub trait TypedArg {
        /// The value.
        fn attribute_value(&self) -> opentelemetry::Value;
    }
    /// `Debug` fallback.
    pub trait DebugArg {
        /// The value.
        fn attribute_value(&self) -> opentelemetry::Value;
    }
    macro_rules! typed {
        ($($t:ty => $conv:expr),* $(,)?) => {$(
            impl TypedArg for Arg<'_, $t> {
                fn attribute_value(&self) -> opentelemetry::Value {
                    #[allow(clippy::redundant_closure_call)]
                    ($conv)(self.0)
                }
            }
        )*};
    }
    typed! {
        bool => |v: &bool| (*v).into(),
        i8 => |v: &i8| i64::from(*v).into(), i16 => |v: &i16| i64::from(*v).into(),
        i32 => |v: &i32| i64::from(*v).into(), i64 => |v: &i64| (*v).into(),
        u8 => |v: &u8| i64::from(*v).into(), u16 => |v: &u16| i64::from(*v).into(),
        u32 => |v: &u32| i64::from(*v).into(),
        u64 => |v: &u64| i64::try_from(*v).map_or_else(|_| v.to_string().into(), Into::into),
        usize => |v: &usize| i64::try_from(*v).map_or_else(|_| v.to_string().into(), Into::into),
        isize => |v: &isize| (*v as i64).into(),
        f32 => |v: &f32| f64::from(*v).into(), f64 => |v: &f64| (*v).into(),
        str => |v: &str| v.to_owned().into(),
        String => |v: &String| v.clone().into(),
        &str => |v: &&str| (*v).to_owned().into(),
    }
    impl<T: std::fmt::Debug + ?Sized> DebugArg for &Arg<'_, T> {
        fn attribute_value(&self) -> opentelemetry::Value {
            format!("{:?}", self.0).into()
        }
    }
}
