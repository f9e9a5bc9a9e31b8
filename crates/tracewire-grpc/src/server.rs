//! The server side: a SERVER span per call, its parent extracted from the request metadata, current
//! while the handler runs; its status read from what goes on the wire.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, ready};

use http::{Request, Response};
use opentelemetry::trace::SpanKind;
use opentelemetry::{Context, KeyValue};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;
use tracewire_core::attributes::{
    NETWORK_PEER_ADDRESS, NETWORK_PEER_PORT, RPC_SYSTEM_NAME, SERVER_ADDRESS, SERVER_PORT,
};
use tracewire_core::http::Side;
use tracewire_core::metrics::RPC_SERVER_CALL_DURATION;
use tracewire_core::operation::Operation;
use tracewire_core::propagation;
use tracewire_core::rpc::{self, GRPC};

use crate::body::{CallBody, Unclassified, as_error, traced_response};
use crate::call::{Call, metric_attributes};
use crate::config::{Config, options};

/// A Tower layer that traces the gRPC calls a server answers: `tonic`'s
/// `Server::builder().layer(..)`, or an axum router that hosts tonic services.
///
/// ```
/// use tracewire_grpc::GrpcServerLayer;
/// use tracewire_testing::echo::{EchoServer, EchoService};
///
/// let layer = GrpcServerLayer::new().with_service::<EchoServer<EchoService>>();
/// let router = tonic::transport::Server::builder()
///     .layer(layer)
///     .add_service(EchoServer::new(EchoService::default()));
/// # let _ = router;
/// ```
#[derive(Clone)]
pub struct GrpcServerLayer {
    config: Arc<Config>,
}

impl std::fmt::Debug for GrpcServerLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcServerLayer")
            .field("methods", &self.config.methods)
            .finish_non_exhaustive()
    }
}

impl Default for GrpcServerLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl GrpcServerLayer {
    /// Traces through the global providers, recognizing no method until told
    /// ([`with_service`](Self::with_service) and the other options).
    ///
    /// ```
    /// let layer = tracewire_grpc::GrpcServerLayer::new().with_service_name("shop.Inventory");
    /// # let _ = layer;
    /// ```
    pub fn new() -> Self {
        GrpcServerLayer {
            config: Arc::new(Config::new(RPC_SERVER_CALL_DURATION)),
        }
    }

    options!();
}

impl<S> Layer<S> for GrpcServerLayer {
    type Service = GrpcServerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcServerService {
            inner,
            config: self.config.clone(),
        }
    }
}

/// The [`Service`] made by [`GrpcServerLayer`].
///
/// ```
/// use tower_layer::Layer;
/// use tracewire_testing::echo::{EchoServer, EchoService};
/// let service = tracewire_grpc::GrpcServerLayer::new().layer(EchoServer::new(EchoService::default()));
/// # let _ = service;
/// ```
#[derive(Clone)]
pub struct GrpcServerService<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> std::fmt::Debug for GrpcServerService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcServerService").finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for GrpcServerService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: 'static,
    ResBody: http_body::Body,
    ResBody::Error: 'static,
{
    type Response = Response<CallBody<ResBody>>;
    type Error = S::Error;
    type Future = ServerFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let config = &self.config;
        if !rpc::is_grpc(request.headers()) {
            // Plain HTTP beside the gRPC services (an axum router hosting both): tracewire-http's.
            return ServerFuture {
                inner: self.inner.call(request),
                cx: Context::current(),
                call: None,
            };
        }
        let parent = propagation::extract(request.headers());
        let path = request.uri().path();
        if config.skips(path.strip_prefix('/').unwrap_or(path)) {
            let inner = {
                let _guard = parent.clone().attach();
                self.inner.call(request)
            };
            return ServerFuture {
                inner,
                cx: parent,
                call: None,
            };
        }
        let call = start(config, &request, &parent);
        let cx = call.operation().context().clone();
        let inner = {
            let _guard = cx.clone().attach();
            self.inner.call(request)
        };
        ServerFuture {
            inner,
            cx,
            call: Some(call),
        }
    }
}

fn start<B>(config: &Arc<Config>, request: &Request<B>, parent: &Context) -> Box<Call> {
    let instrumentation = &config.instrumentation;
    let limits = instrumentation.limits();
    let method = config.methods.method(request.uri().path(), limits);
    let mut attributes = Vec::with_capacity(8);
    attributes.push(KeyValue::new(RPC_SYSTEM_NAME, GRPC));
    if !method.by_service {
        // Known by its service only, the method is recorded with the status (it may be `_OTHER`).
        method.push_attributes(&mut attributes);
    }
    let authority = request.uri().authority().cloned().or_else(|| {
        let host = request.headers().get(http::header::HOST)?;
        http::uri::Authority::try_from(host.as_bytes()).ok()
    });
    if let Some(authority) = authority {
        let host = authority.host();
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        attributes.push(KeyValue::new(SERVER_ADDRESS, limits.bound(host).to_owned()));
        if let Some(port) = authority.port_u16() {
            attributes.push(KeyValue::new(SERVER_PORT, i64::from(port)));
        }
    }
    if let Some(peer) = peer_address(request) {
        attributes.push(KeyValue::new(NETWORK_PEER_ADDRESS, peer.ip().to_string()));
        attributes.push(KeyValue::new(NETWORK_PEER_PORT, i64::from(peer.port())));
    }
    config
        .request_metadata
        .record(request.headers(), limits, &mut attributes);
    let span = instrumentation.start(SpanKind::Server, method.name.clone(), attributes, parent);
    let operation = Operation::maybe(
        span,
        instrumentation.clone(),
        config.duration.clone(),
        metric_attributes(),
    );
    // Boxed: the future and the body move through every layer above, a pointer moves cheaper.
    Box::new(Call::new(
        operation,
        Side::Server,
        method,
        config.clone(),
        None,
    ))
}

#[cfg(feature = "server")]
fn peer_address<B>(request: &Request<B>) -> Option<std::net::SocketAddr> {
    request
        .extensions()
        .get::<tonic::transport::server::TcpConnectInfo>()
        .and_then(|info| info.remote_addr())
        .or_else(|| request.extensions().get::<std::net::SocketAddr>().copied())
}

#[cfg(not(feature = "server"))]
fn peer_address<B>(request: &Request<B>) -> Option<std::net::SocketAddr> {
    request.extensions().get::<std::net::SocketAddr>().copied()
}

pin_project! {
    /// The response future of [`GrpcServerService`]: the inner future, run with the call's span
    /// current.
    ///
    /// ```
    /// # async fn demo() {
    /// use tower::ServiceExt;
    /// use tower_layer::Layer;
    /// use tracewire_testing::echo::{EchoServer, EchoService};
    /// let service = tracewire_grpc::GrpcServerLayer::new().layer(EchoServer::new(EchoService::default()));
    /// let request = http::Request::post("/tracewire.test.Echo/Nothing")
    ///     .header("content-type", "application/grpc")
    ///     .body(tonic::body::Body::empty())
    ///     .unwrap();
    /// let response = service.oneshot(request).await.unwrap();
    /// assert_eq!(response.headers()["grpc-status"], "12"); // UNIMPLEMENTED
    /// # }
    /// ```
    pub struct ServerFuture<F> {
        #[pin]
        inner: F,
        cx: Context,
        call: Option<Box<Call>>,
    }
}

impl<F, ResBody, E> Future for ServerFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    E: 'static,
    ResBody: http_body::Body,
{
    type Output = Result<Response<CallBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = {
            let _guard = this.cx.clone().attach();
            ready!(this.inner.poll(task))
        };
        let Some(mut call) = this.call.take() else {
            return Poll::Ready(result.map(|r| r.map(|b| CallBody::new(b, None, false))));
        };
        match result {
            Ok(response) => Poll::Ready(Ok(traced_response(call, response, true))),
            Err(error) => {
                call.on_error(as_error(&error).unwrap_or(&Unclassified));
                Poll::Ready(Err(error))
            }
        }
    }
}

impl<F> std::fmt::Debug for ServerFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerFuture")
            .field("traced", &self.call.is_some())
            .finish_non_exhaustive()
    }
}
