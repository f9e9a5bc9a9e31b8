//! The client side: a CLIENT span per call, its context injected into the request metadata with the
//! installed propagator; `server.address` and `server.port` from the target the channel was made for.
//!
//! Put the layer outermost, around any retry or timeout layers: a call's span then covers its retries,
//! as the conventions ask, and a deadline that a timeout layer inside enforces is recorded as
//! `DEADLINE_EXCEEDED`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, ready};
use std::time::Instant;

use http::{Request, Response};
use opentelemetry::trace::SpanKind;
use opentelemetry::{Context, KeyValue, StringValue};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;
use tracewire_core::attributes::{RPC_SYSTEM_NAME, SERVER_ADDRESS, SERVER_PORT};
use tracewire_core::http::Side;
use tracewire_core::intern::shared;
use tracewire_core::metrics::RPC_CLIENT_CALL_DURATION;
use tracewire_core::operation::Operation;
use tracewire_core::propagation;
use tracewire_core::rpc::{GRPC, RecognizedMethod, request_timeout, target_address};

use crate::body::{CallBody, Unclassified, as_error, traced_response};
use crate::call::{Call, metric_attributes};
use crate::config::{Config, options};

/// The error of a traced client: the inner service's, boxed (what tonic's generated clients take).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A Tower layer that traces the calls a gRPC client makes: around a tonic `Channel` (or any Tower
/// HTTP/2 client), under a generated client.
///
/// ```
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use tracewire_grpc::GrpcClientLayer;
/// use tracewire_testing::echo::{EchoClient, EchoRequest};
///
/// let target = "http://127.0.0.1:50051";
/// let channel = tonic::transport::Endpoint::from_static(target).connect_lazy();
/// let channel = tower::ServiceBuilder::new()
///     .layer(GrpcClientLayer::new(target))
///     .service(channel);
/// let mut client = EchoClient::new(channel);
/// # let _ = &mut client;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct GrpcClientLayer {
    config: Arc<Config>,
    server: Arc<(StringValue, Option<u16>)>,
}

impl std::fmt::Debug for GrpcClientLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcClientLayer")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl GrpcClientLayer {
    /// Traces calls to `target`, the target the channel was made for (`http://host:port` as a tonic
    /// `Endpoint` takes it, or a gRPC target string: `host:port`, `dns:///host:port`,
    /// `unix:///path`). It gives `server.address` and `server.port`; a channel does not expose it, so
    /// the layer is told.
    ///
    /// ```
    /// let layer = tracewire_grpc::GrpcClientLayer::new("dns:///inventory.internal:50051");
    /// # let _ = layer;
    /// ```
    pub fn new(target: &str) -> Self {
        let (address, port) = target_address(target);
        GrpcClientLayer {
            config: Arc::new(Config::new(RPC_CLIENT_CALL_DURATION)),
            server: Arc::new((shared(address), port)),
        }
    }

    options!();
}

impl<S> Layer<S> for GrpcClientLayer {
    type Service = GrpcClientService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcClientService {
            inner,
            config: self.config.clone(),
            server: self.server.clone(),
        }
    }
}

/// The [`Service`] made by [`GrpcClientLayer`].
///
/// ```
/// # async fn demo() {
/// use tower_layer::Layer;
/// let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:50051").connect_lazy();
/// let traced = tracewire_grpc::GrpcClientLayer::new("http://127.0.0.1:50051").layer(channel);
/// let client = tracewire_testing::echo::EchoClient::new(traced);
/// # let _ = client;
/// # }
/// ```
#[derive(Clone)]
pub struct GrpcClientService<S> {
    inner: S,
    config: Arc<Config>,
    server: Arc<(StringValue, Option<u16>)>,
}

impl<S> std::fmt::Debug for GrpcClientService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcClientService")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for GrpcClientService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: Into<BoxError>,
    ResBody: http_body::Body,
    ResBody::Error: 'static,
{
    type Response = Response<CallBody<ResBody>>;
    type Error = BoxError;
    type Future = ClientFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let config = &self.config;
        let path = request.uri().path();
        if config.skips(path.strip_prefix('/').unwrap_or(path)) {
            propagation::inject(&Context::current(), request.headers_mut());
            return ClientFuture {
                inner: self.inner.call(request),
                call: None,
            };
        }
        let call = start(config, &self.server, &mut request);
        let inner = {
            let _guard = call.operation().context().clone().attach();
            self.inner.call(request)
        };
        ClientFuture {
            inner,
            call: Some(call),
        }
    }
}

fn start<B>(
    config: &Arc<Config>,
    server: &(StringValue, Option<u16>),
    request: &mut Request<B>,
) -> Box<Call> {
    let instrumentation = &config.instrumentation;
    let limits = instrumentation.limits();
    let path = request.uri().path();
    // A generated client marks its requests with the method it calls: recognized, as the conventions
    // mean it.
    let generated = request.extensions().get::<tonic::GrpcMethod>().filter(|m| {
        path.strip_prefix('/')
            .and_then(|p| p.strip_prefix(m.service()))
            .and_then(|p| p.strip_prefix('/'))
            == Some(m.method())
    });
    let method = match generated {
        Some(_) => RecognizedMethod::known(path.strip_prefix('/').unwrap_or(path)),
        None => config.methods.method(path, limits),
    };
    let mut attributes = Vec::with_capacity(8);
    attributes.push(KeyValue::new(RPC_SYSTEM_NAME, GRPC));
    method.push_attributes(&mut attributes);
    attributes.push(KeyValue::new(SERVER_ADDRESS, server.0.clone()));
    if let Some(port) = server.1 {
        attributes.push(KeyValue::new(SERVER_PORT, i64::from(port)));
    }
    config
        .request_metadata
        .record(request.headers(), limits, &mut attributes);
    let deadline =
        request_timeout(request.headers()).and_then(|timeout| Instant::now().checked_add(timeout));
    let span = Context::map_current(|parent| {
        instrumentation.start(SpanKind::Client, method.name.clone(), attributes, parent)
    });
    propagation::inject(span.context(), request.headers_mut());
    let operation = Operation::maybe(
        span,
        instrumentation.clone(),
        config.duration.clone(),
        metric_attributes(),
    );
    Box::new(Call::new(
        operation,
        Side::Client,
        method,
        config.clone(),
        deadline,
    ))
}

pin_project! {
    /// The response future of [`GrpcClientService`].
    ///
    /// ```
    /// # async fn demo() {
    /// use tower::ServiceExt;
    /// use tower_layer::Layer;
    /// let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:1").connect_lazy();
    /// let traced = tracewire_grpc::GrpcClientLayer::new("http://127.0.0.1:1").layer(channel);
    /// let request = http::Request::post("http://127.0.0.1:1/a.B/C").body(tonic::body::Body::empty()).unwrap();
    /// assert!(traced.oneshot(request).await.is_err()); // nothing listens: UNAVAILABLE
    /// # }
    /// ```
    pub struct ClientFuture<F> {
        #[pin]
        inner: F,
        call: Option<Box<Call>>,
    }
}

impl<F, ResBody, E> Future for ClientFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    E: Into<BoxError>,
    ResBody: http_body::Body,
{
    type Output = Result<Response<CallBody<ResBody>>, BoxError>;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(task));
        let Some(mut call) = this.call.take() else {
            return Poll::Ready(
                result
                    .map(|r| r.map(|b| CallBody::new(b, None, false)))
                    .map_err(Into::into),
            );
        };
        match result {
            Ok(response) => Poll::Ready(Ok(traced_response(call, response, false))),
            Err(error) => {
                let error: BoxError = error.into();
                call.on_error(as_error(&error).unwrap_or(&Unclassified));
                Poll::Ready(Err(error))
            }
        }
    }
}

impl<F> std::fmt::Debug for ClientFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientFuture")
            .field("traced", &self.call.is_some())
            .finish_non_exhaustive()
    }
}
