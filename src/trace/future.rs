//! Spans across `.await` and across tasks.
//!
//! A [`SpanGuard`](super::SpanGuard) is tied to its thread, so it cannot be
//! held across an `.await` in a task that may move. Instead, give the span to
//! the future: [`FutureExt::in_span`] enters it every time the future is
//! polled and ends it when the future completes. To carry the current span
//! into a spawned task, wrap the task with [`FutureExt::in_current_context`]:
//!
//! ```
//! use fcc::trace::{FccTracer, FutureExt};
//!
//! # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! # rt.block_on(async {
//! let tracer = FccTracer::new("doc");
//! let parent = tracer.start("request");
//! let t = tracer.clone();
//! async move {
//!     // `tokio::spawn(work.in_current_context())` keeps the parent link.
//!     let work = async move { let _child = t.span("db.query"); };
//!     tokio::spawn(work.in_current_context()).await.unwrap();
//! }
//! .in_span(parent)
//! .await;
//! let spans = tracer.completed_spans();
//! assert_eq!(spans[0].parent_span_id, Some(spans[1].span_id));
//! # });
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::otel_context as bridge;
use super::{current, Span, SpanContext};

pin_project! {
    /// A future run inside a span; see [`FutureExt::in_span`].
    #[must_use = "futures do nothing unless polled"]
    pub struct InSpan<F> {
        #[pin]
        future: F,
        span: Option<Span>,
    }
}

pin_project! {
    /// A future run with a captured context as its parent; see
    /// [`FutureExt::in_current_context`].
    #[must_use = "futures do nothing unless polled"]
    pub struct WithContext<F> {
        #[pin]
        future: F,
        context: Captured,
    }
}

/// The current span, and once the process uses the OTel API the current
/// OTel `Context` too (its baggage and the OTel span object), taken on one
/// thread to be made current on another.
#[derive(Clone, Debug)]
struct Captured {
    span: Option<SpanContext>,
    otel: Option<opentelemetry::Context>,
}

impl Captured {
    fn now() -> Captured {
        Captured {
            span: current(),
            // The OTel crate panics if its thread-local is gone (thread
            // exit); telemetry must not.
            otel: bridge::active()
                .then(|| std::panic::catch_unwind(opentelemetry::Context::current).ok())
                .flatten(),
        }
    }

    /// Makes the captured context current until the guard drops.
    fn enter(&self) -> CapturedGuard {
        // The OTel context first: fcc's span is then mirrored on top of it
        // (or found already there).
        let otel = self.otel.clone().and_then(|cx| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cx.attach())).ok()
        });
        CapturedGuard {
            _span: self.span.clone().map(super::attach),
            _otel: otel,
        }
    }
}

/// Declared in drop order: fcc's span first, then the OTel context.
struct CapturedGuard {
    _span: Option<super::ContextGuard>,
    _otel: Option<opentelemetry::ContextGuard>,
}

/// Wraps a closure so that it runs with this thread's current span (and
/// OTel context) as its parent, wherever it runs: the one line to add at a
/// `std::thread::spawn`, `tokio::task::spawn_blocking` or `rayon::spawn`
/// (for futures, [`FutureExt::in_current_context`]).
///
/// ```
/// let tracer = fcc::FccTracer::new("doc");
/// let t = tracer.clone();
/// {
///     let _request = tracer.span("request");
///     std::thread::spawn(fcc::trace::in_current_context(move || {
///         let _work = t.span("background.work");
///     }))
///     .join()
///     .unwrap();
/// }
/// let spans = tracer.completed_spans(); // background.work, request
/// assert_eq!(spans[0].parent_span_id, Some(spans[1].span_id));
/// ```
pub fn in_current_context<F, R>(f: F) -> impl FnOnce() -> R + Send + 'static
where
    F: FnOnce() -> R + Send + 'static,
{
    let captured = Captured::now();
    move || {
        let _entered = captured.enter();
        f()
    }
}

/// Trace helpers for every future.
pub trait FutureExt: Future + Sized {
    /// Runs the future inside `span`: entered on every poll, ended when the
    /// future completes (or is dropped).
    fn in_span(self, span: Span) -> InSpan<Self> {
        InSpan {
            future: self,
            span: Some(span),
        }
    }

    /// Captures this thread's current span now and makes it current while the
    /// future runs, wherever it is polled: for `tokio::spawn`. Once the
    /// process uses the OTel API, the current OTel `Context` travels too:
    /// its baggage, and an OTel span in it, which is kept alive (not ended)
    /// until the future is dropped.
    fn in_current_context(self) -> WithContext<Self> {
        WithContext {
            future: self,
            context: Captured::now(),
        }
    }
}

impl<F: Future> FutureExt for F {}

impl<F: Future> Future for InSpan<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let out = {
            let _entered = this.span.as_ref().map(Span::enter);
            this.future.poll(cx)
        };
        if out.is_ready() {
            this.span.take();
        }
        out
    }
}

impl<F: Future> Future for WithContext<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _entered = this.context.enter();
        this.future.poll(cx)
    }
}

pin_project! {
    /// What `#[traced]` async functions await: like [`InSpan`], but hands the
    /// span back with the output so the macro can record an `Err`.
    #[doc(hidden)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Traced<F> {
        #[pin]
        future: F,
        span: Option<Span>,
    }
}

impl<F> Traced<F> {
    #[doc(hidden)]
    pub fn new(span: Span, future: F) -> Traced<F> {
        Traced {
            future,
            span: Some(span),
        }
    }
}

impl<F: Future> Future for Traced<F> {
    type Output = (F::Output, Span);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let out = {
            let _entered = this.span.as_ref().map(Span::enter);
            this.future.poll(cx)
        };
        match out {
            Poll::Ready(v) => Poll::Ready((v, this.span.take().unwrap_or(Span::disabled()))),
            Poll::Pending => Poll::Pending,
        }
    }
}
