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
use opentelemetry::Context;
use opentelemetry::context::FutureExt;
use opentelemetry::global::ObjectSafeTracer;
use opentelemetry::trace::TracerProvider;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next, Result};
use tracewire_core::http::client::{ClientAttempt, ClientConfig, ClientRequest};
use tracewire_core::span::{Instrumentation, SpanError};

pub use tracewire_core::http::client::{DisablePropagation, UrlTemplate};

/// Counts the attempts of one logical request across retries (kept in the shared extensions).
#[derive(Clone, Copy, Debug)]
struct Attempts(u32);

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
    config: Arc<ClientConfig>,
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
            config: Arc::new(ClientConfig::new(Instrumentation::global(
                "tracewire-reqwest",
            ))),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut ClientConfig)) -> Self {
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

    tracewire_core::http_client_options!();
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

/// Starts the span of one attempt of `request`: the core's client rules over reqwest's request.
fn start(
    config: &ClientConfig,
    request: &mut Request,
    extensions: &mut Extensions,
) -> ClientAttempt {
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
    let url = request.url().clone();
    let method = request.method().clone();
    let template = extensions.get::<UrlTemplate>();
    let parts = ClientRequest {
        method: method.as_str(),
        url: url.as_str(),
        scheme: url.scheme(),
        host: url.host_str(),
        port: url.port_or_known_default(),
        template: template.map(UrlTemplate::value),
        resends,
    };
    let propagate = extensions.get::<DisablePropagation>().is_none();
    Context::map_current(|parent| config.start(&parts, request.headers_mut(), propagate, parent))
}

/// Ends an attempt with reqwest's result: the response head, or the failure classified and its
/// message with the URL redacted.
fn finish(mut attempt: ClientAttempt, config: &ClientConfig, result: &Result<Response>) {
    match result {
        Ok(response) => attempt.respond(
            config,
            response.status().as_u16(),
            response.version(),
            response.headers(),
        ),
        Err(error) => {
            let mut record = SpanError::classified(error_type(error), error);
            if let reqwest_middleware::Error::Reqwest(e) = error
                && let Some(url) = e.url()
            {
                let redacted = config.redactor.url_full(url.as_str());
                record = record.with_message(error.to_string().replace(url.as_str(), &redacted));
            }
            attempt.fail(record);
        }
    }
    // Dropping ends the span and records the duration, with `error.type` on failure.
}

#[async_trait::async_trait]
impl Middleware for HttpClientMiddleware {
    async fn handle(
        &self,
        mut request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> Result<Response> {
        let attempt = start(&self.config, &mut request, extensions);
        let result = next
            .run(request, extensions)
            .with_context(attempt.context().clone())
            .await;
        finish(attempt, &self.config, &result);
        result
    }
}
