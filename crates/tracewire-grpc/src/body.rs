//! The response body of a traced call, on either side. gRPC sends a call's status after the last
//! message, in the trailers, so the call's span ends here: with the trailers' status, with the error
//! the body fails with, or — dropped before either — as cancelled.

use std::any::Any;
use std::error::Error;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::call::Call;

pin_project! {
    /// The response body of a call through [`GrpcServerService`](crate::GrpcServerService) or
    /// [`GrpcClientService`](crate::GrpcClientService): the inner body, unchanged, ending the call's span
    /// when its trailers arrive, it fails, or it is dropped.
    ///
    /// ```
    /// # async fn demo(channel: tonic::transport::Channel) {
    /// use tower_layer::Layer;
    /// use tracewire_grpc::{CallBody, GrpcClientLayer, GrpcClientService};
    /// // A generated client over the traced channel reads its responses through `CallBody`.
    /// let traced: GrpcClientService<tonic::transport::Channel> =
    ///     GrpcClientLayer::new("http://127.0.0.1:50051").layer(channel);
    /// # let _ = traced;
    /// # let _: Option<CallBody<tonic::body::Body>> = None;
    /// # }
    /// ```
    pub struct CallBody<B> {
        #[pin]
        inner: B,
        call: Option<Box<Call>>,
        // The server's handler streams its messages while the body is polled: its spans nest under
        // the call's.
        attach: bool,
    }
}

impl<B> CallBody<B> {
    pub(crate) fn new(inner: B, call: Option<Box<Call>>, attach: bool) -> Self {
        CallBody {
            inner,
            call,
            attach,
        }
    }
}

impl<B> Body for CallBody<B>
where
    B: Body,
    B::Error: 'static,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        task: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = match this.call {
            Some(call) if *this.attach => {
                let _guard = call.operation().context().clone().attach();
                this.inner.poll_frame(task)
            }
            _ => this.inner.poll_frame(task),
        };
        let Some(call) = this.call else {
            return polled;
        };
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref() {
                    call.on_trailers(trailers);
                    *this.call = None;
                }
            }
            Poll::Ready(Some(Err(error))) => {
                call.on_error(as_error(error).unwrap_or(&Unclassified));
                *this.call = None;
            }
            Poll::Ready(None) => {
                call.on_end_without_status();
                *this.call = None;
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> std::fmt::Debug for CallBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallBody")
            .field("traced", &self.call.is_some())
            .finish_non_exhaustive()
    }
}

/// A response of a traced call: its head read for the status (a trailers-only answer ends the call
/// here), its body wrapped to end the call with the trailers otherwise. `attach` makes the call's
/// context current while the body is polled (the server's handler streams then).
pub(crate) fn traced_response<B>(
    mut call: Box<Call>,
    response: http::Response<B>,
    attach: bool,
) -> http::Response<CallBody<B>> {
    let decided = call.on_head(response.status(), response.headers());
    let call = (!decided).then_some(call);
    response.map(|body| CallBody::new(body, call, attach))
}

/// The error types a gRPC body or service fails with, seen as errors: tonic's `Status`, a boxed error,
/// an I/O error.
pub(crate) fn as_error<E: 'static>(error: &E) -> Option<&(dyn Error + 'static)> {
    let any = error as &dyn Any;
    if let Some(status) = any.downcast_ref::<tonic::Status>() {
        return Some(status);
    }
    if let Some(boxed) = any.downcast_ref::<Box<dyn Error + Send + Sync>>() {
        return Some(&**boxed);
    }
    if let Some(io) = any.downcast_ref::<std::io::Error>() {
        return Some(io);
    }
    None
}

/// An error of a type tracewire cannot look into.
#[derive(Debug)]
pub(crate) struct Unclassified;

impl std::fmt::Display for Unclassified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the call failed")
    }
}

impl Error for Unclassified {}
