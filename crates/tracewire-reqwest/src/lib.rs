//! # tracewire-reqwest
//!
//! OpenTelemetry CLIENT spans for [`reqwest`] through [`reqwest_middleware`], following the HTTP semantic
//! conventions 1.44, with the W3C context (`traceparent`, `tracestate`, `baggage`) injected into every
//! attempt:
//!
//! ```
//! use reqwest_middleware::ClientBuilder;
//! use tracewire_reqwest::HttpClientMiddleware;
//!
//! let client = ClientBuilder::new(reqwest::Client::new())
//!     .with(HttpClientMiddleware::default())
//!     .build();
//! # let _ = client;
//! ```
//!
//! ## Spans
//!
//! - One CLIENT span per attempt, a child of the current context: a `tracewire-http` server span, the
//!   user's `tracing` span (through `tracing-opentelemetry`) or any OpenTelemetry context. Add the
//!   middleware *after* a retry middleware (`.with(retry).with(HttpClientMiddleware::default())`) and each
//!   attempt gets its own sibling span with `http.request.resend_count`.
//! - The span starts before the request is sent and ends when the response head has arrived or the attempt
//!   failed; reading the body is not part of it. Redirects that reqwest follows by itself happen inside
//!   one attempt: the span keeps the original `url.full` and records the final status.
//! - Named `{method}`, or `{method} {url.template}` when the request carries a [`UrlTemplate`]; never the
//!   raw URL. `_OTHER` methods are named `HTTP`.
//! - Attributes: `http.request.method` (+ `http.request.method_original`), `server.address`, `server.port`
//!   (the scheme's default when absent), `url.full` (userinfo and sensitive query values `REDACTED`),
//!   `network.protocol.version`, `http.response.status_code`, `error.type`,
//!   `http.request.resend_count`, and opt-in `url.scheme`, `url.template`, `user_agent.original` and
//!   allow-listed headers.
//! - Status: 4xx and 5xx are errors with `error.type` = the code. A failure before a response is an error
//!   whose `error.type` is one of `timeout`, `connect`, `redirect`, `body`, `decode`, `request`,
//!   `builder`, `middleware` or `reqwest::Error`, with the message (URL redacted) as description and one
//!   `exception` event. A future dropped by the caller ends the span with no status and no `error.type`.
//! - The `http.client.request.duration` histogram, with the same `error.type`.
//!
//! To send a request without trace headers, give it the [`DisablePropagation`] extension.

use std::sync::Arc;

use http::Extensions;
use opentelemetry::global::ObjectSafeTracer;
use opentelemetry::trace::{SpanKind, TracerProvider};
use opentelemetry::{Context, KeyValue, StringValue};
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next, Result};
use tracewire_core::attributes::*;
use tracewire_core::http::{HeaderCapture, Side, normalize_method, protocol_version, span_name};
use tracewire_core::intern::shared;
use tracewire_core::metrics::{HTTP_CLIENT_REQUEST_DURATION, Histogram};
use tracewire_core::operation::Operation;
use tracewire_core::propagation;
use tracewire_core::redact::Redactor;
use tracewire_core::span::{Instrumentation, Outcome, SpanError};

/// A low-cardinality URL template for a request (`/users/{id}`): it names the span
/// `{method} {template}` and is recorded as `url.template`.
///
/// ```
/// # async fn demo(client: reqwest_middleware::ClientWithMiddleware) -> reqwest_middleware::Result<()> {
/// use tracewire_reqwest::UrlTemplate;
/// client.get("http://users.internal/users/42").with_extension(UrlTemplate::new("/users/{id}")).send().await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlTemplate(StringValue);

impl UrlTemplate {
    /// A template.
    pub fn new(template: impl Into<String>) -> Self {
        UrlTemplate(shared(template.into()))
    }
}

/// Put on a request (`.with_extension(DisablePropagation)`) to send it without trace headers; the span is
/// still recorded.
///
/// ```
/// # async fn demo(client: reqwest_middleware::ClientWithMiddleware) -> reqwest_middleware::Result<()> {
/// client.get("https://partner.example/").with_extension(tracewire_reqwest::DisablePropagation).send().await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DisablePropagation;

/// Counts the attempts of one logical request across retries (kept in the shared extensions).
#[derive(Clone, Copy, Debug)]
struct Attempts(u32);

#[derive(Clone, Debug)]
struct Config {
    instrumentation: Instrumentation,
    redactor: Redactor,
    request_headers: HeaderCapture,
    response_headers: HeaderCapture,
    record_scheme: bool,
    record_user_agent: bool,
    duration: Option<Arc<Histogram>>,
}

/// The `reqwest_middleware::Middleware` that traces each attempt. Cheap to clone.
///
/// ```
/// use reqwest_middleware::ClientBuilder;
/// use tracewire_reqwest::HttpClientMiddleware;
/// let middleware = HttpClientMiddleware::new()
///     .record_url_scheme(true)
///     .capture_response_headers(["x-cache"]);
/// let client = ClientBuilder::new(reqwest::Client::new()).with(middleware).build();
/// # let _ = client;
/// ```
#[derive(Clone, Debug)]
pub struct HttpClientMiddleware {
    config: Arc<Config>,
}

impl Default for HttpClientMiddleware {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpClientMiddleware {
    /// Global providers, default redaction, duration metric on, no opt-in attributes.
    pub fn new() -> Self {
        HttpClientMiddleware {
            config: Arc::new(Config {
                instrumentation: Instrumentation::global("tracewire-reqwest"),
                redactor: Redactor::default(),
                request_headers: HeaderCapture::default(),
                response_headers: HeaderCapture::default(),
                record_scheme: false,
                record_user_agent: false,
                duration: Some(Arc::new(Histogram::new(HTTP_CLIENT_REQUEST_DURATION))),
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(Arc::make_mut(&mut self.config));
        self
    }

    /// Spans through this tracer provider instead of the global one.
    ///
    /// ```
    /// let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    /// let middleware = tracewire_reqwest::HttpClientMiddleware::new().with_tracer_provider(&provider);
    /// # let _ = middleware;
    /// ```
    pub fn with_tracer_provider<P>(self, provider: &P) -> Self
    where
        P: TracerProvider,
        P::Tracer: ObjectSafeTracer + Send + Sync + 'static,
    {
        self.edit(|c| {
            let limits = *c.instrumentation.limits();
            c.instrumentation =
                Instrumentation::with_provider(provider, "tracewire-reqwest").with_limits(limits);
        })
    }

    /// Spans and metrics through this [`Instrumentation`].
    pub fn with_instrumentation(self, instrumentation: Instrumentation) -> Self {
        self.edit(|c| c.instrumentation = instrumentation)
    }

    /// Replaces the sensitive query keys whose values `url.full` records as `REDACTED`.
    ///
    /// ```
    /// let m = tracewire_reqwest::HttpClientMiddleware::new().with_sensitive_query_keys(["token", "sig"]);
    /// # let _ = m;
    /// ```
    pub fn with_sensitive_query_keys<I, S>(self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let redactor = Redactor::with_query_keys(keys);
        self.edit(|c| c.redactor = redactor)
    }

    /// Records these request headers as `http.request.header.<name>`.
    pub fn capture_request_headers<I, S>(self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let capture = HeaderCapture::request(names);
        self.edit(|c| c.request_headers = capture)
    }

    /// Records these response headers as `http.response.header.<name>`.
    pub fn capture_response_headers<I, S>(self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let capture = HeaderCapture::response(names);
        self.edit(|c| c.response_headers = capture)
    }

    /// Records the opt-in `url.scheme`.
    pub fn record_url_scheme(self, on: bool) -> Self {
        self.edit(|c| c.record_scheme = on)
    }

    /// Records the opt-in `user_agent.original` (when the request carries a `User-Agent` header).
    pub fn record_user_agent(self, on: bool) -> Self {
        self.edit(|c| c.record_user_agent = on)
    }

    /// Turns the `http.client.request.duration` histogram on or off (on by default).
    pub fn duration_metric(self, on: bool) -> Self {
        self.edit(|c| {
            c.duration = on.then(|| Arc::new(Histogram::new(HTTP_CLIENT_REQUEST_DURATION)));
        })
    }
}

/// The low-cardinality `error.type` of a failed attempt.
///
/// ```
/// use tracewire_reqwest::error_type;
/// let e = reqwest_middleware::Error::middleware(std::io::Error::other("x"));
/// assert_eq!(error_type(&e), "middleware");
/// ```
pub fn error_type(error: &reqwest_middleware::Error) -> &'static str {
    match error {
        reqwest_middleware::Error::Middleware(_) => "middleware",
        reqwest_middleware::Error::Reqwest(e) if e.is_timeout() => "timeout",
        reqwest_middleware::Error::Reqwest(e) if e.is_connect() => "connect",
        reqwest_middleware::Error::Reqwest(e) if e.is_redirect() => "redirect",
        reqwest_middleware::Error::Reqwest(e) if e.is_body() => "body",
        reqwest_middleware::Error::Reqwest(e) if e.is_decode() => "decode",
        reqwest_middleware::Error::Reqwest(e) if e.is_builder() => "builder",
        reqwest_middleware::Error::Reqwest(e) if e.is_request() => "request",
        reqwest_middleware::Error::Reqwest(_) => "reqwest::Error",
    }
}

impl Config {
    fn start(&self, request: &mut Request, extensions: &mut Extensions) -> Attempt {
        let limits = self.instrumentation.limits();
        let resends = match extensions.get_mut::<Attempts>() {
            Some(attempts) => {
                attempts.0 += 1;
                attempts.0
            }
            None => {
                extensions.insert(Attempts(0));
                0
            }
        };
        let method = normalize_method(request.method().as_str());
        let url = request.url();
        let host = url.host_str().map(|h| {
            limits
                .bound(h.trim_start_matches('[').trim_end_matches(']'))
                .to_owned()
        });
        let port = url.port_or_known_default();
        let template = extensions.get::<UrlTemplate>().map(|t| t.0.clone());

        let mut attributes = Vec::with_capacity(10);
        attributes.push(KeyValue::new(HTTP_REQUEST_METHOD, method.name));
        if let Some(original) = method.original {
            attributes.push(KeyValue::new(
                HTTP_REQUEST_METHOD_ORIGINAL,
                limits.bound(original).to_owned(),
            ));
        }
        let mut metric_attributes = Vec::with_capacity(6);
        metric_attributes.push(KeyValue::new(HTTP_REQUEST_METHOD, method.name));
        if let Some(host) = host {
            let host = shared(host);
            attributes.push(KeyValue::new(SERVER_ADDRESS, host.clone()));
            metric_attributes.push(KeyValue::new(SERVER_ADDRESS, host));
        }
        if let Some(port) = port {
            attributes.push(KeyValue::new(SERVER_PORT, i64::from(port)));
            metric_attributes.push(KeyValue::new(SERVER_PORT, i64::from(port)));
        }
        let full = self.redactor.url_full(url.as_str());
        attributes.push(KeyValue::new(URL_FULL, limits.bound(&full).to_owned()));
        if self.record_scheme {
            attributes.push(KeyValue::new(URL_SCHEME, url.scheme().to_owned()));
        }
        if let Some(template) = &template {
            attributes.push(KeyValue::new(URL_TEMPLATE, template.clone()));
        }
        if resends > 0 {
            attributes.push(KeyValue::new(HTTP_REQUEST_RESEND_COUNT, i64::from(resends)));
        }
        if self.record_user_agent
            && let Some(agent) = request.headers().get(http::header::USER_AGENT)
        {
            let agent = String::from_utf8_lossy(agent.as_bytes());
            attributes.push(KeyValue::new(
                USER_AGENT_ORIGINAL,
                limits.bound(&agent).to_owned(),
            ));
        }
        self.request_headers
            .record(request.headers(), limits, &mut attributes);

        let name = span_name(method.name, template.as_ref().map(StringValue::as_str));
        let span = Context::map_current(|cx| {
            self.instrumentation
                .start(SpanKind::Client, name, attributes, cx)
        });
        if extensions.get::<DisablePropagation>().is_none() {
            propagation::inject(span.context(), request.headers_mut());
        }
        Attempt(Operation::maybe(
            span,
            self.instrumentation.clone(),
            self.duration.clone(),
            metric_attributes,
        ))
    }
}

/// One attempt: the core's measured span, so an attempt whose future is dropped (the caller gave up)
/// still ends its span and records its duration, as the HTTP client conventions ask.
struct Attempt(Operation);

impl Attempt {
    fn finish(mut self, config: &Config, result: &Result<Response>) {
        let limits = config.instrumentation.limits();
        let outcome = match result {
            Ok(response) => {
                let status = response.status().as_u16();
                let status_attribute = KeyValue::new(HTTP_RESPONSE_STATUS_CODE, i64::from(status));
                self.0.push_metric_attribute(status_attribute.clone());
                let version = protocol_version(response.version())
                    .map(|v| KeyValue::new(NETWORK_PROTOCOL_VERSION, v));
                if let Some(version) = &version {
                    self.0.push_metric_attribute(version.clone());
                }
                if self.0.span().is_recording() {
                    let mut attributes: Vec<KeyValue> =
                        std::iter::once(status_attribute).chain(version).collect();
                    config
                        .response_headers
                        .record(response.headers(), limits, &mut attributes);
                    self.0.span().set_attributes(attributes);
                }
                match Side::Client.status_error(status) {
                    Some(error) => Outcome::Failed(error),
                    None => Outcome::Success,
                }
            }
            Err(error) => {
                let mut record = SpanError::classified(error_type(error), error);
                if let reqwest_middleware::Error::Reqwest(e) = error
                    && let Some(url) = e.url()
                {
                    let redacted = config.redactor.url_full(url.as_str());
                    record =
                        record.with_message(error.to_string().replace(url.as_str(), &redacted));
                }
                Outcome::Failed(record)
            }
        };
        if let Outcome::Failed(error) = outcome {
            self.0.fail(error);
        }
        // Dropping ends the span and records the duration, with `error.type` on failure.
    }
}

#[async_trait::async_trait]
impl Middleware for HttpClientMiddleware {
    async fn handle(
        &self,
        mut request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> Result<Response> {
        let attempt = self.config.start(&mut request, extensions);
        let result = attempt
            .0
            .span()
            .in_scope(next.run(request, extensions))
            .await;
        attempt.finish(&self.config, &result);
        result
    }
}
