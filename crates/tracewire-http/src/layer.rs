use std::fmt;
use std::sync::Arc;

use opentelemetry::KeyValue;
use opentelemetry::global::ObjectSafeTracer;
use opentelemetry::trace::TracerProvider;
use tower_layer::Layer;
use tracewire_core::http::HeaderCapture;
use tracewire_core::limits::Limits;
use tracewire_core::metrics::{
    HTTP_SERVER_ACTIVE_REQUESTS, HTTP_SERVER_REQUEST_DURATION, Histogram, UpDownCounter,
};
use tracewire_core::redact::Redactor;
use tracewire_core::span::{ActiveSpan, Instrumentation};

use crate::config::{Config, ResponseInfo, ResponseTraceHeader, SpanEnd};
use crate::request::RequestInfo;
use crate::service::HttpServerService;

/// A Tower [`Layer`] that gives every request a SERVER span, per the OpenTelemetry HTTP semantic
/// conventions, with the caller's W3C trace context as its parent.
///
/// With axum, add it with `Router::layer` so that the route template (`MatchedPath`) is known:
///
/// ```
/// use axum::{Router, routing::get};
/// use tracewire_http::HttpServerLayer;
///
/// let app: Router = Router::new()
///     .route("/users/{id}", get(|| async { "hi" }))
///     .layer(HttpServerLayer::new());
/// ```
///
/// Spans go to the global tracer provider unless [`with_tracer_provider`](Self::with_tracer_provider)
/// or [`with_instrumentation`](Self::with_instrumentation) says otherwise; context is read with the
/// global propagator (`tracewire_core::propagation::install()` sets the W3C one).
#[derive(Clone)]
pub struct HttpServerLayer {
    config: Config,
}

impl fmt::Debug for HttpServerLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpServerLayer")
            .field("instrumentation", &self.config.instrumentation)
            .field(
                "trust_incoming_context",
                &self.config.trust_incoming_context,
            )
            .field("span_end", &self.config.span_end)
            .finish_non_exhaustive()
    }
}

impl Default for HttpServerLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpServerLayer {
    /// The layer with the defaults: global providers, axum routes (feature `axum`), spans ending with the
    /// response body, the duration histogram on (`http.server.active_requests` is opt-in, as in the
    /// conventions), no headers captured, incoming context trusted.
    pub fn new() -> Self {
        HttpServerLayer {
            config: Config {
                instrumentation: Instrumentation::global("tracewire-http"),
                redactor: Redactor::default(),
                route: None,
                axum_routes: cfg!(feature = "axum"),
                filter: None,
                on_request: None,
                on_response: None,
                request_headers: HeaderCapture::default(),
                response_headers: HeaderCapture::default(),
                trust_incoming_context: true,
                span_end: SpanEnd::BodyEnd,
                trace_grpc: false,
                response_trace_header: None,
                duration: Some(Arc::new(Histogram::new(HTTP_SERVER_REQUEST_DURATION))),
                active_requests: None,
                default_scheme: "http",
            },
        }
    }

    /// Spans through this tracer provider instead of the global one.
    ///
    /// ```
    /// let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    /// let layer = tracewire_http::HttpServerLayer::new().with_tracer_provider(&provider);
    /// # let _ = layer;
    /// ```
    pub fn with_tracer_provider<P>(mut self, provider: &P) -> Self
    where
        P: TracerProvider,
        P::Tracer: ObjectSafeTracer + Send + Sync + 'static,
    {
        let limits = *self.config.instrumentation.limits();
        self.config.instrumentation =
            Instrumentation::with_provider(provider, "tracewire-http").with_limits(limits);
        self
    }

    /// Spans and metrics through this [`Instrumentation`] (tracer, meter, baggage attributes, limits).
    pub fn with_instrumentation(mut self, instrumentation: Instrumentation) -> Self {
        self.config.instrumentation = instrumentation;
        self
    }

    /// Limits on values recorded from the request.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.config.instrumentation = self.config.instrumentation.with_limits(limits);
        self
    }

    /// Replaces the sensitive query keys whose values are recorded as `REDACTED` in `url.query`.
    pub fn with_sensitive_query_keys<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.config.redactor = Redactor::with_query_keys(keys);
        self
    }

    /// Takes `http.route` (and the span name's target) from this function instead of axum's
    /// `MatchedPath`. It must return a low-cardinality template, never the raw path.
    ///
    /// ```
    /// let layer = tracewire_http::HttpServerLayer::new()
    ///     .with_route(|req| req.uri.path().starts_with("/users/").then(|| "/users/:id".to_owned()));
    /// # let _ = layer;
    /// ```
    pub fn with_route<F>(mut self, route: F) -> Self
    where
        F: Fn(&RequestInfo<'_>) -> Option<String> + Send + Sync + 'static,
    {
        self.config.route = Some(Arc::new(route));
        self
    }

    /// Requests for which `skip` returns true get no span and no metrics (health checks, scrapes);
    /// their incoming context is still made current, so calls they make stay in the caller's trace.
    ///
    /// ```
    /// let layer = tracewire_http::HttpServerLayer::new().with_filter(|req| req.uri.path() == "/health");
    /// # let _ = layer;
    /// ```
    pub fn with_filter<F>(mut self, skip: F) -> Self
    where
        F: Fn(&RequestInfo<'_>) -> bool + Send + Sync + 'static,
    {
        self.config.filter = Some(Arc::new(skip));
        self
    }

    /// Adds attributes of your own when the span starts (they are visible to samplers).
    ///
    /// ```
    /// use opentelemetry::KeyValue;
    /// let layer = tracewire_http::HttpServerLayer::new().on_request(|req, attributes| {
    ///     if let Some(tenant) = req.headers.get("x-tenant").and_then(|v| v.to_str().ok()) {
    ///         attributes.push(KeyValue::new("tenant.id", tenant.to_owned()));
    ///     }
    /// });
    /// # let _ = layer;
    /// ```
    pub fn on_request<F>(mut self, hook: F) -> Self
    where
        F: Fn(&RequestInfo<'_>, &mut Vec<KeyValue>) + Send + Sync + 'static,
    {
        self.config.on_request = Some(Arc::new(hook));
        self
    }

    /// Runs when the response head is ready, with the span still open.
    ///
    /// ```
    /// use opentelemetry::KeyValue;
    /// let layer = tracewire_http::HttpServerLayer::new().on_response(|res, span| {
    ///     if res.headers.contains_key("x-cache-hit") {
    ///         span.set_attribute(KeyValue::new("cache.hit", true));
    ///     }
    /// });
    /// # let _ = layer;
    /// ```
    pub fn on_response<F>(mut self, hook: F) -> Self
    where
        F: Fn(&ResponseInfo<'_>, &ActiveSpan) + Send + Sync + 'static,
    {
        self.config.on_response = Some(Arc::new(hook));
        self
    }

    /// Records these request headers as `http.request.header.<name>`. `Authorization`, `Cookie` and
    /// the like are captured only when named here.
    pub fn capture_request_headers<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.config.request_headers = HeaderCapture::request(names);
        self
    }

    /// Records these response headers as `http.response.header.<name>`.
    pub fn capture_response_headers<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.config.response_headers = HeaderCapture::response(names);
        self
    }

    /// For public-facing services: `false` starts a new trace for every request, with a *link* to the
    /// caller's context instead of a parent, and ignores incoming baggage, so an outside caller cannot
    /// choose our trace id or sampling decision. Default `true`.
    pub fn trust_incoming_context(mut self, trust: bool) -> Self {
        self.config.trust_incoming_context = trust;
        self
    }

    /// Whether gRPC calls (`content-type: application/grpc…`) get an HTTP span. Off by default: on a
    /// router that hosts tonic services beside HTTP routes, `tracewire-grpc`'s layer gives each call
    /// its one span, with the gRPC status the HTTP layer cannot see. Turn it on where no gRPC layer
    /// runs.
    ///
    /// ```
    /// let layer = tracewire_http::HttpServerLayer::new().trace_grpc(true);
    /// # let _ = layer;
    /// ```
    pub fn trace_grpc(mut self, on: bool) -> Self {
        self.config.trace_grpc = on;
        self
    }

    /// Where the span (and the duration metric) ends for every route: [`SpanEnd::BodyEnd`] (the
    /// default) or [`SpanEnd::ResponseHead`]. A route chooses for itself by putting a [`SpanEnd`] in its
    /// response's extensions ([`SpanEnd`] shows how).
    ///
    /// ```
    /// use tracewire_http::{HttpServerLayer, SpanEnd};
    /// let layer = HttpServerLayer::new().with_span_end(SpanEnd::ResponseHead);
    /// # let _ = layer;
    /// ```
    pub fn with_span_end(mut self, end: SpanEnd) -> Self {
        self.config.span_end = end;
        self
    }

    /// Sends the server span's context back to the caller in a response header.
    pub fn with_response_trace_header(mut self, header: ResponseTraceHeader) -> Self {
        self.config.response_trace_header = Some(header);
        self
    }

    /// Turns the `http.server.request.duration` histogram on or off (on by default).
    pub fn duration_metric(mut self, on: bool) -> Self {
        self.config.duration = on.then(|| Arc::new(Histogram::new(HTTP_SERVER_REQUEST_DURATION)));
        self
    }

    /// Turns the `http.server.active_requests` counter on or off (off by default: opt-in in the conventions).
    pub fn active_requests_metric(mut self, on: bool) -> Self {
        self.config.active_requests =
            on.then(|| Arc::new(UpDownCounter::new(HTTP_SERVER_ACTIVE_REQUESTS)));
        self
    }

    /// The scheme recorded when neither the request target nor a proxy header names one (`http`
    /// unless the server terminates TLS itself).
    pub fn with_default_scheme(mut self, scheme: &'static str) -> Self {
        self.config.default_scheme = scheme;
        self
    }
}

impl<S> Layer<S> for HttpServerLayer {
    type Service = HttpServerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpServerService::new(inner, Arc::new(self.config.clone()))
    }
}
