//! The client layer for any Tower HTTP client (`Service<http::Request<B>>`): hyper-util's legacy
//! client, a tonic channel used for plain HTTP, a client of your own. The rules — span, attributes,
//! injection, metric, status — are the core's HTTP client rules, the ones `tracewire-reqwest` follows.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, ready};

use http::{Request, Response};
use opentelemetry::Context;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;
use tracewire_core::http::client::{
    ClientAttempt, ClientConfig, ClientRequest, DisablePropagation, UrlTemplate,
};
use tracewire_core::span::{Instrumentation, SpanError};

/// A Tower layer that gives each request a client sends one CLIENT span, its context injected into
/// the request headers with the installed propagator, and `http.client.request.duration`.
///
/// The span ends when the response head arrives or the request fails; a request whose future is
/// dropped ends Unset. A failure's `error.type` is the client's error type (a Tower client's errors
/// have no common classification; `tracewire-reqwest` names reqwest's). Per request, a
/// [`UrlTemplate`] extension names the span `{method} {template}` and a [`DisablePropagation`]
/// extension sends it without trace headers.
///
/// ```
/// use tower_layer::Layer;
/// use tracewire_http::HttpClientLayer;
///
/// let client = tower::service_fn(|_request: http::Request<String>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
/// });
/// let traced = HttpClientLayer::new().layer(client);
/// # let _ = traced;
/// ```
#[derive(Clone, Debug)]
pub struct HttpClientLayer {
    config: Arc<ClientConfig>,
}

impl Default for HttpClientLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpClientLayer {
    /// Global providers, default redaction, the duration metric on, no opt-in attributes.
    ///
    /// ```
    /// let layer = tracewire_http::HttpClientLayer::new().record_url_scheme(true);
    /// # let _ = layer;
    /// ```
    pub fn new() -> Self {
        HttpClientLayer {
            config: Arc::new(ClientConfig::new(Instrumentation::global(
                "tracewire-http-client",
            ))),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut ClientConfig)) -> Self {
        f(Arc::make_mut(&mut self.config));
        self
    }

    tracewire_core::http_client_options!();
}

impl<S> Layer<S> for HttpClientLayer {
    type Service = HttpClientService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpClientService {
            inner,
            config: self.config.clone(),
        }
    }
}

/// The [`Service`] made by [`HttpClientLayer`].
///
/// ```
/// use tower_layer::Layer;
/// let client = tower::service_fn(|_request: http::Request<String>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
/// });
/// let traced: tracewire_http::HttpClientService<_> = tracewire_http::HttpClientLayer::new().layer(client);
/// # let _ = traced;
/// ```
#[derive(Clone, Debug)]
pub struct HttpClientService<S> {
    inner: S,
    config: Arc<ClientConfig>,
}

impl<S, B, R> Service<Request<B>> for HttpClientService<S>
where
    S: Service<Request<B>, Response = Response<R>>,
    S::Error: std::fmt::Display,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = ClientResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // Taken apart so that the URI is read while the headers are written.
        let (mut head, body) = request.into_parts();
        let uri = &head.uri;
        let scheme = uri.scheme_str().unwrap_or("http");
        let url = uri.to_string();
        let port = uri.port_u16().or(match scheme {
            "https" => Some(443),
            "http" => Some(80),
            _ => None,
        });
        let template = head.extensions.get::<UrlTemplate>();
        let propagate = head.extensions.get::<DisablePropagation>().is_none();
        let parts = ClientRequest {
            method: head.method.as_str(),
            url: &url,
            scheme,
            host: uri.host(),
            port,
            template: template.map(UrlTemplate::value),
            resends: 0,
        };
        let attempt = Context::map_current(|parent| {
            self.config
                .start(&parts, &mut head.headers, propagate, parent)
        });
        let request = Request::from_parts(head, body);
        let inner = {
            let _guard = attempt.context().clone().attach();
            self.inner.call(request)
        };
        ClientResponseFuture {
            inner,
            attempt: Some(attempt),
            config: self.config.clone(),
        }
    }
}

pin_project! {
    /// The response future of [`HttpClientService`]: ends the attempt's span with the response head
    /// or the error.
    ///
    /// ```
    /// # async fn demo() {
    /// use tower::ServiceExt;
    /// use tower_layer::Layer;
    /// let client = tower::service_fn(|_request: http::Request<String>| async {
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// });
    /// let traced = tracewire_http::HttpClientLayer::new().layer(client);
    /// let response = traced.oneshot(http::Request::get("http://127.0.0.1/").body(String::new()).unwrap()).await;
    /// assert!(response.is_ok());
    /// # }
    /// ```
    pub struct ClientResponseFuture<F> {
        #[pin]
        inner: F,
        attempt: Option<ClientAttempt>,
        config: Arc<ClientConfig>,
    }
}

impl<F, R, E> Future for ClientResponseFuture<F>
where
    F: Future<Output = Result<Response<R>, E>>,
    E: std::fmt::Display,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(task));
        if let Some(mut attempt) = this.attempt.take() {
            match &result {
                Ok(response) => attempt.respond(
                    this.config,
                    response.status().as_u16(),
                    response.version(),
                    response.headers(),
                ),
                Err(error) => attempt.fail(SpanError::from_error(error)),
            }
        }
        Poll::Ready(result)
    }
}

impl<F> std::fmt::Debug for ClientResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientResponseFuture")
            .field("traced", &self.attempt.is_some())
            .finish_non_exhaustive()
    }
}
