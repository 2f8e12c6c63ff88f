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
        context: Option<SpanContext>,
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
    /// future runs, wherever it is polled: for `tokio::spawn`.
    fn in_current_context(self) -> WithContext<Self> {
        WithContext {
            future: self,
            context: current(),
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
        let _entered = this.context.clone().map(super::attach);
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
