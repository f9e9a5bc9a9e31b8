//! What the layer was told, shared by every request it serves: the settings behind
//! [`HttpServerLayer`](crate::HttpServerLayer)'s builder methods, and the types they take.

use std::sync::Arc;

use http::HeaderMap;
use opentelemetry::KeyValue;
use tracewire_core::http::HeaderCapture;
use tracewire_core::metrics::{Histogram, UpDownCounter};
use tracewire_core::redact::Redactor;
use tracewire_core::span::{ActiveSpan, Instrumentation};

use crate::request::RequestInfo;

pub(crate) type Predicate = Arc<dyn Fn(&RequestInfo<'_>) -> bool + Send + Sync>;
pub(crate) type RouteFn = Arc<dyn Fn(&RequestInfo<'_>) -> Option<String> + Send + Sync>;
pub(crate) type OnRequest = Arc<dyn Fn(&RequestInfo<'_>, &mut Vec<KeyValue>) + Send + Sync>;
pub(crate) type OnResponse = Arc<dyn Fn(&ResponseInfo<'_>, &ActiveSpan) + Send + Sync>;

/// What an `on_response` hook may look at.
///
/// ```
/// let headers = http::HeaderMap::new();
/// let info = tracewire_http::ResponseInfo { status: http::StatusCode::OK, headers: &headers };
/// assert!(info.status.is_success());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ResponseInfo<'a> {
    /// The status sent.
    pub status: http::StatusCode,
    /// The response headers.
    pub headers: &'a HeaderMap,
}

/// Where a request's span and its `http.server.request.duration` end: the policy for every route
/// ([`HttpServerLayer::with_span_end`](crate::HttpServerLayer::with_span_end)), and for one route when
/// its response carries a `SpanEnd` in its extensions (the layer reads it from the response head).
///
/// ```
/// use axum::{Router, routing::get, response::Response};
/// use tracewire_http::{HttpServerLayer, SpanEnd};
///
/// // A long-lived stream: its span and duration end with the head, so the latency metric shows
/// // how fast the stream started, not how long a client stayed.
/// async fn end_at_head(mut response: Response) -> Response {
///     response.extensions_mut().insert(SpanEnd::ResponseHead);
///     response
/// }
/// let app: Router = Router::new()
///     .route("/events", get(|| async { "stream" }))
///     .layer(axum::middleware::map_response(end_at_head))
///     .route("/orders", get(|| async { "[]" }))
///     .layer(HttpServerLayer::new());
/// assert_eq!(SpanEnd::default(), SpanEnd::BodyEnd);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SpanEnd {
    /// When the response body has been sent in full, failed, or been dropped (the default): streaming
    /// responses are timed truly.
    #[default]
    BodyEnd,
    /// As soon as the response head is ready.
    ResponseHead,
}

/// Returning the trace context to the caller in a response header (off by default).
///
/// ```
/// use tracewire_http::{HttpServerLayer, ResponseTraceHeader};
/// let layer = HttpServerLayer::new().with_response_trace_header(ResponseTraceHeader::ServerTiming);
/// # let _ = layer;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseTraceHeader {
    /// W3C Trace Context Level 2: `traceresponse: 00-{trace-id}-{span-id}-{flags}`.
    TraceResponse,
    /// W3C Trace Context Level 3 draft: `server-timing: trace;desc=00-{trace-id}-{span-id}-{flags}`.
    ServerTiming,
}

#[derive(Clone)]
pub(crate) struct Config {
    pub instrumentation: Instrumentation,
    pub redactor: Redactor,
    pub route: Option<RouteFn>,
    pub axum_routes: bool,
    pub filter: Option<Predicate>,
    pub on_request: Option<OnRequest>,
    pub on_response: Option<OnResponse>,
    pub request_headers: HeaderCapture,
    pub response_headers: HeaderCapture,
    pub trust_incoming_context: bool,
    pub trace_grpc: bool,
    pub span_end: SpanEnd,
    pub response_trace_header: Option<ResponseTraceHeader>,
    pub duration: Option<Arc<Histogram>>,
    pub active_requests: Option<Arc<UpDownCounter>>,
    pub default_scheme: &'static str,
}
