//! The HTTP client's rules, for every client boundary (`tracewire-reqwest`'s middleware,
//! `tracewire-http`'s layer for any Tower client): one CLIENT span per attempt, its attributes, its
//! name, the injected context, the duration metric, and how a response or a failure ends it.
//!
//! ```
//! use opentelemetry::Context;
//! use tracewire_core::http::client::{ClientConfig, ClientRequest};
//!
//! tracewire_core::propagation::install();
//! let spans = tracewire_testing::SpanCapture::new();
//! let config = ClientConfig::new(spans.instrumentation("t"));
//! let mut headers = http::HeaderMap::new();
//! let request = ClientRequest {
//!     method: "GET",
//!     url: "https://user:pw@api.example.com/users/42?sig=abc",
//!     scheme: "https",
//!     host: Some("api.example.com"),
//!     port: Some(443),
//!     template: None,
//!     resends: 0,
//! };
//! let mut attempt = config.start(&request, &mut headers, true, &Context::new());
//! assert!(headers.contains_key("traceparent"));
//! attempt.respond(&config, 404, http::Version::HTTP_11, &http::HeaderMap::new());
//! drop(attempt);
//! spans
//!     .spans()
//!     .one("GET")
//!     .assert_attr("url.full", "https://REDACTED:REDACTED@api.example.com/users/42?sig=REDACTED")
//!     .assert_attr("http.response.status_code", 404)
//!     .assert_error("404");
//! ```

use std::sync::Arc;

use http::{HeaderMap, Version};
use opentelemetry::trace::SpanKind;
use opentelemetry::{Context, KeyValue, StringValue};

use crate::attributes::*;
use crate::http::{HeaderCapture, Side, normalize_method, protocol_version, span_name};
use crate::intern::shared;
use crate::metrics::{HTTP_CLIENT_REQUEST_DURATION, Histogram};
use crate::operation::Operation;
use crate::propagation;
use crate::redact::Redactor;
use crate::span::{Instrumentation, SpanError};

/// What an HTTP client boundary is configured with: the same options, under the same names, on every
/// client crate.
///
/// ```
/// let config = tracewire_core::http::client::ClientConfig::new(
///     tracewire_core::span::Instrumentation::global("my-client"),
/// );
/// assert!(config.duration.is_some());
/// ```
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Spans and metrics through this.
    pub instrumentation: Instrumentation,
    /// How `url.full` is redacted.
    pub redactor: Redactor,
    /// Request headers recorded as `http.request.header.<name>`.
    pub request_headers: HeaderCapture,
    /// Response headers recorded as `http.response.header.<name>`.
    pub response_headers: HeaderCapture,
    /// Record the opt-in `url.scheme`.
    pub record_scheme: bool,
    /// Record the opt-in `user_agent.original`.
    pub record_user_agent: bool,
    /// `http.client.request.duration`, when on.
    pub duration: Option<Arc<Histogram>>,
}

impl ClientConfig {
    /// Default redaction, no opt-in attributes, the duration metric on.
    ///
    /// ```
    /// let config = tracewire_core::http::client::ClientConfig::new(
    ///     tracewire_core::span::Instrumentation::global("my-client"),
    /// );
    /// assert!(!config.record_scheme);
    /// ```
    pub fn new(instrumentation: Instrumentation) -> Self {
        ClientConfig {
            instrumentation,
            redactor: Redactor::default(),
            request_headers: HeaderCapture::default(),
            response_headers: HeaderCapture::default(),
            record_scheme: false,
            record_user_agent: false,
            duration: Some(Arc::new(Histogram::new(HTTP_CLIENT_REQUEST_DURATION))),
        }
    }

    /// Switches `http.client.request.duration` on or off.
    ///
    /// ```
    /// let mut config = tracewire_core::http::client::ClientConfig::new(
    ///     tracewire_core::span::Instrumentation::global("my-client"),
    /// );
    /// config.duration_metric(false);
    /// assert!(config.duration.is_none());
    /// ```
    pub fn duration_metric(&mut self, on: bool) {
        self.duration = on.then(|| Arc::new(Histogram::new(HTTP_CLIENT_REQUEST_DURATION)));
    }

    /// Starts the span of one attempt under `parent`, and (when `propagate`) writes its context into
    /// `headers` with the installed propagator, replacing stale entries.
    ///
    /// ```
    /// use opentelemetry::Context;
    /// use tracewire_core::http::client::{ClientConfig, ClientRequest};
    /// let config = ClientConfig::new(tracewire_core::span::Instrumentation::global("doc"));
    /// let request = ClientRequest {
    ///     method: "POST",
    ///     url: "http://orders/orders",
    ///     scheme: "http",
    ///     host: Some("orders"),
    ///     port: Some(80),
    ///     template: None,
    ///     resends: 0,
    /// };
    /// let attempt = config.start(&request, &mut http::HeaderMap::new(), false, &Context::new());
    /// # drop(attempt);
    /// ```
    pub fn start(
        &self,
        request: &ClientRequest<'_>,
        headers: &mut HeaderMap,
        propagate: bool,
        parent: &Context,
    ) -> ClientAttempt {
        let limits = self.instrumentation.limits();
        let method = normalize_method(request.method);
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
        if let Some(host) = request.host {
            let host = shared(
                limits
                    .bound(host.trim_start_matches('[').trim_end_matches(']'))
                    .to_owned(),
            );
            attributes.push(KeyValue::new(SERVER_ADDRESS, host.clone()));
            metric_attributes.push(KeyValue::new(SERVER_ADDRESS, host));
        }
        if let Some(port) = request.port {
            attributes.push(KeyValue::new(SERVER_PORT, i64::from(port)));
            metric_attributes.push(KeyValue::new(SERVER_PORT, i64::from(port)));
        }
        let full = self.redactor.url_full(request.url);
        attributes.push(KeyValue::new(URL_FULL, limits.bound(&full).to_owned()));
        if self.record_scheme {
            attributes.push(KeyValue::new(URL_SCHEME, request.scheme.to_owned()));
        }
        if let Some(template) = request.template {
            attributes.push(KeyValue::new(URL_TEMPLATE, template.clone()));
        }
        if request.resends > 0 {
            attributes.push(KeyValue::new(
                HTTP_REQUEST_RESEND_COUNT,
                i64::from(request.resends),
            ));
        }
        if self.record_user_agent
            && let Some(agent) = headers.get(http::header::USER_AGENT)
        {
            let agent = String::from_utf8_lossy(agent.as_bytes());
            attributes.push(KeyValue::new(
                USER_AGENT_ORIGINAL,
                limits.bound(&agent).to_owned(),
            ));
        }
        self.request_headers
            .record(headers, limits, &mut attributes);

        let name = span_name(method.name, request.template.map(StringValue::as_str));
        let span = self
            .instrumentation
            .start(SpanKind::Client, name, attributes, parent);
        if propagate {
            propagation::inject(span.context(), headers);
        }
        ClientAttempt(Operation::maybe(
            span,
            self.instrumentation.clone(),
            self.duration.clone(),
            metric_attributes,
        ))
    }
}

/// The parts of a request the client rules read, whatever the client library's request type.
///
/// ```
/// let request = tracewire_core::http::client::ClientRequest {
///     method: "GET",
///     url: "http://127.0.0.1:8080/",
///     scheme: "http",
///     host: Some("127.0.0.1"),
///     port: Some(8080),
///     template: None,
///     resends: 0,
/// };
/// assert_eq!(request.port, Some(8080));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ClientRequest<'a> {
    /// The method as sent.
    pub method: &'a str,
    /// The absolute URL (redacted before it is recorded).
    pub url: &'a str,
    /// `http` or `https`.
    pub scheme: &'a str,
    /// The host, IPv6 addresses with or without brackets.
    pub host: Option<&'a str>,
    /// The port, the scheme's default when the URL has none.
    pub port: Option<u16>,
    /// A low-cardinality URL template (`/users/{id}`), when the caller gave one.
    pub template: Option<&'a StringValue>,
    /// How many times this request was sent before (retries).
    pub resends: u32,
}

/// One attempt: the core's [`Operation`], so an attempt whose future is dropped (the caller gave up)
/// still ends its span and records its duration, Unset, as the HTTP client conventions ask.
///
/// ```
/// use opentelemetry::Context;
/// use tracewire_core::http::client::{ClientConfig, ClientRequest};
/// use tracewire_core::span::SpanError;
/// let spans = tracewire_testing::SpanCapture::new();
/// let config = ClientConfig::new(spans.instrumentation("t"));
/// let request = ClientRequest {
///     method: "GET",
///     url: "http://127.0.0.1:1/",
///     scheme: "http",
///     host: Some("127.0.0.1"),
///     port: Some(1),
///     template: None,
///     resends: 0,
/// };
/// let mut attempt = config.start(&request, &mut http::HeaderMap::new(), true, &Context::new());
/// let error = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
/// attempt.fail(SpanError::classified("connect", &error));
/// drop(attempt);
/// spans.spans().one("GET").assert_error("connect");
/// ```
#[derive(Debug)]
pub struct ClientAttempt(Operation);

impl ClientAttempt {
    /// The attempt's span context.
    pub fn context(&self) -> &Context {
        self.0.context()
    }

    /// Records the response head: status, protocol version, captured headers; 4xx and 5xx fail it.
    pub fn respond(
        &mut self,
        config: &ClientConfig,
        status: u16,
        version: Version,
        headers: &HeaderMap,
    ) {
        let status_attribute = KeyValue::new(HTTP_RESPONSE_STATUS_CODE, i64::from(status));
        self.0.push_metric_attribute(status_attribute.clone());
        let version = protocol_version(version).map(|v| KeyValue::new(NETWORK_PROTOCOL_VERSION, v));
        if let Some(version) = &version {
            self.0.push_metric_attribute(version.clone());
        }
        if self.0.span().is_recording() {
            let mut attributes: Vec<KeyValue> =
                std::iter::once(status_attribute).chain(version).collect();
            config.response_headers.record(
                headers,
                config.instrumentation.limits(),
                &mut attributes,
            );
            self.0.span().set_attributes(attributes);
        }
        match Side::Client.status_error(status) {
            Some(error) => self.0.fail(error),
            None => self.0.succeed(),
        }
    }

    /// Records a failure before a response (connect, timeout, …).
    pub fn fail(&mut self, error: SpanError) {
        self.0.fail(error);
    }
}

/// A low-cardinality URL template for a request (`/users/{id}`), put in its extensions: it names the
/// span `{method} {template}` and is recorded as `url.template`. The same type for every client crate.
///
/// ```
/// let mut request = http::Request::get("http://users.internal/users/42").body(()).unwrap();
/// request
///     .extensions_mut()
///     .insert(tracewire_core::http::client::UrlTemplate::new("/users/{id}"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlTemplate(StringValue);

impl UrlTemplate {
    /// A template.
    ///
    /// ```
    /// let template = tracewire_core::http::client::UrlTemplate::new("/users/{id}");
    /// assert_eq!(template.value().as_str(), "/users/{id}");
    /// ```
    pub fn new(template: impl Into<String>) -> Self {
        UrlTemplate(shared(template.into()))
    }

    /// The template.
    ///
    /// ```
    /// let template = tracewire_core::http::client::UrlTemplate::new("/orders/{id}");
    /// assert_eq!(template.value().as_str(), "/orders/{id}");
    /// ```
    pub fn value(&self) -> &StringValue {
        &self.0
    }
}

/// Put in a request's extensions to send it without trace headers; the span is still recorded.
///
/// ```
/// let mut request = http::Request::get("https://partner.example/").body(()).unwrap();
/// request
///     .extensions_mut()
///     .insert(tracewire_core::http::client::DisablePropagation);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DisablePropagation;

/// The options every HTTP client boundary offers, under the same names, documented once: expands to
/// builder methods on a type with `fn edit(self, f: impl FnOnce(&mut ClientConfig)) -> Self`.
#[doc(hidden)]
#[macro_export]
macro_rules! http_client_options {
    () => {
        /// Spans and metrics through this [`Instrumentation`](tracewire_core::span::Instrumentation).
        pub fn with_instrumentation(self, instrumentation: $crate::span::Instrumentation) -> Self {
            self.edit(|c| c.instrumentation = instrumentation)
        }

        /// Replaces the sensitive query keys whose values `url.full` records as `REDACTED`.
        pub fn with_sensitive_query_keys<I, S>(self, keys: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: AsRef<str>,
        {
            let redactor = $crate::redact::Redactor::with_query_keys(keys);
            self.edit(|c| c.redactor = redactor)
        }

        /// Records these request headers as `http.request.header.<name>`.
        pub fn capture_request_headers<I, S>(self, names: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: AsRef<str>,
        {
            let capture = $crate::http::HeaderCapture::request(names);
            self.edit(|c| c.request_headers = capture)
        }

        /// Records these response headers as `http.response.header.<name>`.
        pub fn capture_response_headers<I, S>(self, names: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: AsRef<str>,
        {
            let capture = $crate::http::HeaderCapture::response(names);
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

        /// Turns the `http.client.request.duration` histogram on (the default) or off.
        pub fn duration_metric(self, on: bool) -> Self {
            self.edit(|c| c.duration_metric(on))
        }
    };
}
