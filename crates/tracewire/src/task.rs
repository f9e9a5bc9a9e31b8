//! Keeping the trace across `tokio::spawn` and `spawn_blocking`.
//!
//! A boundary's span is current only while the future it wraps is polled: a task spawned from a handler
//! runs on its own, outside that future, so what it does would start new traces. [`spawn`] and
//! [`spawn_blocking`] (or [`InCurrentTrace::in_current_trace`] on any future) carry what is current where
//! the task is made — the OpenTelemetry context (the server span) and the `tracing` span — into the task,
//! so its outgoing calls, queries and `tracing` spans land under the span that made it.
//!
//! ```
//! # async fn handler() {
//! // Instead of tokio::spawn / tokio::task::spawn_blocking:
//! let audit = tracewire::task::spawn(async { /* an outgoing call, a query … */ });
//! let report = tracewire::task::spawn_blocking(|| { /* blocking work that is traced */ 42 });
//! let (_, n) = (audit.await, report.await);
//! # }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::Context;
use pin_project_lite::pin_project;

/// Runs `future` as a new Tokio task under what is current here: the OpenTelemetry context and the
/// `tracing` span. Like `tokio::spawn` otherwise.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let answer = tracewire::task::spawn(async { 42 }).await.unwrap();
/// assert_eq!(answer, 42);
/// # }
/// ```
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(future.in_current_trace())
}

/// Runs `f` on Tokio's blocking pool under what is current here (the OpenTelemetry context and the
/// `tracing` span), so the work it does and the calls it makes (through `Handle::block_on`, say) join
/// the trace. Like `tokio::task::spawn_blocking` otherwise.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use opentelemetry::trace::TraceContextExt;
/// let valid = tracewire::task::spawn_blocking(|| {
///     opentelemetry::Context::current().span().span_context().is_valid()
/// });
/// assert!(!valid.await.unwrap()); // nothing was current here
/// # }
/// ```
pub fn spawn_blocking<F, R>(f: F) -> tokio::task::JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let cx = Context::current();
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        let _attached = cx.attach();
        f()
    })
}

/// Carries what is current (the OpenTelemetry context and the `tracing` span) into a future that runs
/// elsewhere: a task of your own executor, a `JoinSet`, a stream driven later.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use tracewire::task::InCurrentTrace;
/// let mut tasks = tokio::task::JoinSet::new();
/// tasks.spawn(async { 1 }.in_current_trace());
/// assert_eq!(tasks.join_next().await.unwrap().unwrap(), 1);
/// # }
/// ```
pub trait InCurrentTrace: Future + Sized {
    /// This future, polled with the OpenTelemetry context and the `tracing` span that are current now.
    fn in_current_trace(self) -> Traced<Self> {
        Traced {
            inner: self,
            cx: Context::current(),
            span: tracing::Span::current(),
        }
    }
}

impl<F: Future> InCurrentTrace for F {}

pin_project! {
    /// A future polled under the context and `tracing` span current where it was made
    /// ([`InCurrentTrace::in_current_trace`]).
    ///
    /// ```
    /// use tracewire::task::{InCurrentTrace, Traced};
    /// let traced: Traced<_> = async {}.in_current_trace();
    /// # drop(traced);
    /// ```
    #[derive(Debug)]
    pub struct Traced<F> {
        #[pin]
        inner: F,
        cx: Context,
        span: tracing::Span,
    }
}

impl<F: Future> Future for Traced<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        // The `tracing` span first: entering it may make its own OpenTelemetry context current; the
        // context captured with it goes on top, as it was where the future was made.
        let _entered = this.span.enter();
        let _attached = this.cx.clone().attach();
        this.inner.poll(task)
    }
}
