use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, ready};

use http::{HeaderValue, Request, Response};
use opentelemetry::trace::{Link, SpanKind, TraceContextExt};
use opentelemetry::{Context, KeyValue, StringValue};
use pin_project_lite::pin_project;
use tower_service::Service;
use tracewire_core::attributes::*;
use tracewire_core::http::{Side, normalize_method, protocol_version, span_name};
use tracewire_core::intern::{ROUTE_NAMES, Repeated, ip_address, repeated};
use tracewire_core::propagation;
use tracewire_core::propagation::w3c::format_traceparent;
use tracewire_core::span::{Outcome, SpanError};

use crate::body::ResponseBody;
use crate::config::{Config, ResponseInfo, ResponseTraceHeader, SpanEnd};
use crate::request::{KnownHeaders, RequestInfo, ScannedExtractor, origin};
use crate::span::RequestSpan;

/// The [`Service`] made by [`HttpServerLayer`](crate::HttpServerLayer).
///
/// ```
/// use tower_layer::Layer;
/// let service = tracewire_http::HttpServerLayer::new().layer(tower_service_fn());
/// # fn tower_service_fn() -> axum::Router { axum::Router::new() }
/// # let _ = service;
/// ```
#[derive(Clone)]
pub struct HttpServerService<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> std::fmt::Debug for HttpServerService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpServerService").finish_non_exhaustive()
    }
}

impl<S> HttpServerService<S> {
    pub(crate) fn new(inner: S, config: Arc<Config>) -> Self {
        HttpServerService { inner, config }
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for HttpServerService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: std::fmt::Display,
    ResBody: http_body::Body,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let config = &self.config;
        // Every gRPC call is a POST: other requests skip the header lookup.
        if !config.trace_grpc
            && request.method() == http::Method::POST
            && tracewire_core::rpc::is_grpc(request.headers())
        {
            // A gRPC call gets its one span from tracewire-grpc's layer, with the gRPC status.
            return ResponseFuture {
                inner: self.inner.call(request),
                cx: Context::current(),
                span: None,
            };
        }
        let info = RequestInfo::from_request(&request);
        if config.filter.as_ref().is_some_and(|skip| skip(&info)) {
            let cx = propagation::extract(request.headers());
            let future = {
                let _guard = cx.clone().attach();
                self.inner.call(request)
            };
            return ResponseFuture {
                inner: future,
                cx,
                span: None,
            };
        }
        let span = start_span(config, &info);
        let future = {
            let _guard = span.context().clone().attach();
            self.inner.call(request)
        };
        ResponseFuture {
            inner: future,
            cx: span.context().clone(),
            span: Some(span),
        }
    }
}

fn start_span(config: &Arc<Config>, info: &RequestInfo<'_>) -> Box<RequestSpan> {
    let instrumentation = &config.instrumentation;
    let limits = instrumentation.limits();
    let headers = KnownHeaders::scan(info.headers);
    let carrier = ScannedExtractor {
        headers: propagation::HeaderExtractor(info.headers),
        known: &headers,
    };
    let (parent, links) = if config.trust_incoming_context {
        (propagation::extract_from(&carrier), Vec::new())
    } else {
        let remote = propagation::extract_from_with_context(&Context::new(), &carrier);
        let remote = remote.span().span_context().clone();
        let links = if remote.is_valid() {
            vec![Link::with_context(remote)]
        } else {
            Vec::new()
        };
        (Context::new(), links)
    };

    let method = normalize_method(info.method.as_str());
    let custom_route;
    let route_template = match &config.route {
        Some(route) => {
            custom_route = route(info);
            custom_route.as_deref()
        }
        None => axum_route(config, info),
    };
    let named = route_template.map(|template| {
        ROUTE_NAMES.get(method.name, limits.bound(template), |_, template| {
            span_name(method.name, Some(template)).into_owned()
        })
    });
    let route: Option<StringValue> = named.as_ref().map(|n| n.text.clone());
    let origin = origin(info.uri, &headers);
    let scheme: StringValue = match origin.scheme {
        Some("https") => "https".into(),
        Some("http") => "http".into(),
        Some(other) => limits.bound(other).to_owned().into(),
        None => config.default_scheme.into(),
    };
    let version = protocol_version(info.version);

    let mut attributes = Vec::with_capacity(16);
    attributes.push(KeyValue::new(HTTP_REQUEST_METHOD, method.name));
    if let Some(original) = method.original {
        attributes.push(KeyValue::new(
            HTTP_REQUEST_METHOD_ORIGINAL,
            limits.bound(original).to_owned(),
        ));
    }
    attributes.push(KeyValue::new(URL_SCHEME, scheme.clone()));
    attributes.push(KeyValue::new(
        URL_PATH,
        limits.bound(info.uri.path()).to_owned(),
    ));
    if let Some(query) = info.uri.query() {
        let query = config.redactor.query(limits.bound(query));
        attributes.push(KeyValue::new(URL_QUERY, query.into_owned()));
    }
    if let Some(route) = &route {
        attributes.push(KeyValue::new(HTTP_ROUTE, route.clone()));
    }
    if let Some((host, port)) = origin.server {
        let host = repeated(Repeated::Host, limits.bound(host));
        attributes.push(KeyValue::new(SERVER_ADDRESS, host));
        let port = port.or(match scheme.as_str() {
            "https" => Some(443),
            "http" => Some(80),
            _ => None,
        });
        if let Some(port) = port {
            attributes.push(KeyValue::new(SERVER_PORT, i64::from(port)));
        }
    }
    let peer = peer_address(info);
    let peer_ip: Option<StringValue> = peer.map(|p| ip_address(p.ip()));
    if let Some(client) = origin.client {
        attributes.push(KeyValue::new(
            CLIENT_ADDRESS,
            limits.bound(client).to_owned(),
        ));
    } else if let Some(ip) = &peer_ip {
        attributes.push(KeyValue::new(CLIENT_ADDRESS, ip.clone()));
    }
    if let (Some(peer), Some(ip)) = (peer, peer_ip) {
        attributes.push(KeyValue::new(NETWORK_PEER_ADDRESS, ip));
        attributes.push(KeyValue::new(NETWORK_PEER_PORT, i64::from(peer.port())));
    }
    if let Some(version) = version {
        attributes.push(KeyValue::new(NETWORK_PROTOCOL_VERSION, version));
    }
    if let Some(agent) = headers.user_agent {
        let agent = String::from_utf8_lossy(agent.as_bytes());
        let agent = repeated(Repeated::UserAgent, limits.bound(&agent));
        attributes.push(KeyValue::new(USER_AGENT_ORIGINAL, agent));
    }
    config
        .request_headers
        .record(info.headers, limits, &mut attributes);
    if let Some(hook) = &config.on_request {
        hook(info, &mut attributes);
    }

    let mut metric_attributes = Vec::with_capacity(6);
    metric_attributes.push(KeyValue::new(HTTP_REQUEST_METHOD, method.name));
    metric_attributes.push(KeyValue::new(URL_SCHEME, scheme));
    if let Some(route) = &route {
        metric_attributes.push(KeyValue::new(HTTP_ROUTE, route.clone()));
    }
    if let Some(version) = version {
        metric_attributes.push(KeyValue::new(NETWORK_PROTOCOL_VERSION, version));
    }
    if let Some(active) = &config.active_requests {
        active.add(instrumentation, 1, &metric_attributes[..2]);
    }

    let name = match named {
        Some(named) => named.name,
        None => span_name(method.name, None),
    };
    let span = instrumentation.start_with_links(SpanKind::Server, name, attributes, links, &parent);
    // Boxed: the response future and body that carry it are moved through every map combinator of the
    // service stack, and a pointer moves cheaper than the span's state.
    Box::new(RequestSpan::new(span, config.clone(), metric_attributes))
}

#[cfg(feature = "axum")]
fn axum_route<'a>(config: &Config, info: &RequestInfo<'a>) -> Option<&'a str> {
    if !config.axum_routes {
        return None;
    }
    info.extensions
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str())
}

#[cfg(not(feature = "axum"))]
fn axum_route<'a>(_config: &Config, _info: &RequestInfo<'a>) -> Option<&'a str> {
    None
}

#[cfg(feature = "axum")]
fn peer_address(info: &RequestInfo<'_>) -> Option<std::net::SocketAddr> {
    info.extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0)
        .or_else(|| info.extensions.get::<std::net::SocketAddr>().copied())
}

#[cfg(not(feature = "axum"))]
fn peer_address(info: &RequestInfo<'_>) -> Option<std::net::SocketAddr> {
    info.extensions.get::<std::net::SocketAddr>().copied()
}

pin_project! {
    /// ```
    /// # async fn demo() {
    /// use tower::ServiceExt;
    /// let service = tower_layer::Layer::layer(&tracewire_http::HttpServerLayer::new(), axum::Router::new());
    /// let future = service.oneshot(http::Request::get("/").body(axum::body::Body::empty()).unwrap());
    /// let response = future.await.unwrap();
    /// assert_eq!(response.status(), 404);
    /// # }
    /// ```
    ///
    /// The response future of [`HttpServerService`]: the inner future, run with the server span's
    /// context current.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        cx: Context,
        span: Option<Box<RequestSpan>>,
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    E: std::fmt::Display,
    ResBody: http_body::Body,
{
    type Output = Result<Response<ResponseBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let polled = {
            let _guard = this.cx.clone().attach();
            let inner = this.inner;
            catch_unwind(AssertUnwindSafe(|| inner.poll(task)))
        };
        let result = match polled {
            Ok(poll) => ready!(poll),
            Err(panic) => {
                if let Some(mut span) = this.span.take() {
                    span.fail(
                        SpanError::new("panic").with_exception("panic", panic_message(&*panic)),
                    );
                    span.finish();
                }
                // The application sees the panic exactly as it would without us.
                resume_unwind(panic);
            }
        };
        let Some(mut span) = this.span.take() else {
            return Poll::Ready(result.map(|r| r.map(|b| ResponseBody::new(b, None))));
        };
        match result {
            Ok(mut response) => {
                on_response_head(&mut span, &mut response);
                let end = response
                    .extensions()
                    .get::<SpanEnd>()
                    .copied()
                    .unwrap_or(span.config.span_end);
                let span = match end {
                    SpanEnd::ResponseHead => {
                        span.finish();
                        None
                    }
                    SpanEnd::BodyEnd => Some(span),
                };
                Poll::Ready(Ok(response.map(|b| ResponseBody::new(b, span))))
            }
            Err(error) => {
                span.fail(SpanError::from_error(&error));
                span.finish();
                Poll::Ready(Err(error))
            }
        }
    }
}

fn on_response_head<B>(span: &mut RequestSpan, response: &mut Response<B>) {
    let status = response.status().as_u16();
    let config = span.config.clone();
    let limits = config.instrumentation.limits();
    if span.span().is_recording() {
        let status = KeyValue::new(HTTP_RESPONSE_STATUS_CODE, i64::from(status));
        if config.response_headers.is_empty() {
            span.span().set_attribute(status);
        } else {
            let mut attributes = vec![status];
            config
                .response_headers
                .record(response.headers(), limits, &mut attributes);
            span.span().set_attributes(attributes);
        }
    }
    if let Some(hook) = &config.on_response {
        let info = ResponseInfo {
            status: response.status(),
            headers: response.headers(),
        };
        hook(&info, span.span());
    }
    let outcome = match Side::Server.status_error(status) {
        Some(error) => Outcome::Failed(error),
        None => Outcome::Success,
    };
    span.respond(status, outcome);
    if let Some(header) = config.response_trace_header {
        let sc = span.span().span_context();
        let value = format_traceparent(
            sc.trace_id().to_bytes(),
            sc.span_id().to_bytes(),
            sc.trace_flags().to_u8(),
        );
        let (name, value) = match header {
            ResponseTraceHeader::TraceResponse => ("traceresponse", value),
            ResponseTraceHeader::ServerTiming => ("server-timing", format!("trace;desc={value}")),
        };
        if let Ok(value) = HeaderValue::try_from(value) {
            response.headers_mut().append(name, value);
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        String::new()
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("traced", &self.span.is_some())
            .finish_non_exhaustive()
    }
}
