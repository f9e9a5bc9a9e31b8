use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tracewire_core::span::SpanError;

use crate::span::RequestSpan;

pin_project! {
    /// ```
    /// # async fn demo() {
    /// use http_body_util::BodyExt;
    /// use tower::ServiceExt;
    /// let app = axum::Router::new().route("/", axum::routing::get(|| async { "hi" }));
    /// let service = tower_layer::Layer::layer(&tracewire_http::HttpServerLayer::new(), app);
    /// let response = service.oneshot(http::Request::get("/").body(axum::body::Body::empty()).unwrap()).await.unwrap();
    /// let body = response.into_body().collect().await.unwrap().to_bytes(); // the span ends here
    /// assert_eq!(body, "hi");
    /// # }
    /// ```
    ///
    /// The response body of [`HttpServerService`](crate::HttpServerService). It ends the server span
    /// when the body has been sent in full, fails, or is dropped, and makes the span's context current
    /// while the body is produced.
    pub struct ResponseBody<B> {
        #[pin]
        inner: B,
        span: Option<Box<RequestSpan>>,
    }
}

impl<B> ResponseBody<B> {
    pub(crate) fn new(inner: B, span: Option<Box<RequestSpan>>) -> Self {
        ResponseBody { inner, span }
    }
}

impl<B: Body> Body for ResponseBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        task: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = match this.span {
            Some(span) => {
                let _guard = span.context().clone().attach();
                this.inner.poll_frame(task)
            }
            None => this.inner.poll_frame(task),
        };
        match &polled {
            Poll::Ready(None) => {
                if let Some(span) = this.span.take() {
                    span.finish();
                }
            }
            Poll::Ready(Some(Err(_))) => {
                if let Some(mut span) = this.span.take() {
                    span.fail(SpanError::new(std::any::type_name::<B::Error>()));
                    span.finish();
                }
            }
            _ => {}
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

impl<B> std::fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody")
            .field("traced", &self.span.is_some())
            .finish_non_exhaustive()
    }
}
