//! # tracewire-http
//!
//! OpenTelemetry SERVER spans for axum and any Tower `Service<http::Request<B>>`, following the HTTP
//! semantic conventions 1.44, with one line of setup:
//!
//! ```
//! use axum::{Router, routing::get};
//!
//! let app: Router = Router::new()
//!     .route("/orders/{id}", get(|| async { "order" }))
//!     .layer(tracewire_http::HttpServerLayer::new());
//! ```
//!
//! Per request you get:
//!
//! - one SERVER span named `{method} {route}` (`GET /orders/{id}`; `GET` when no route is known; `HTTP` for
//!   unknown methods; never the raw path), whose parent is the W3C context in the request headers, or a new
//!   root;
//! - the attributes `http.request.method` (+`_OTHER` and `http.request.method_original`), `url.scheme`,
//!   `url.path`, `url.query` (sensitive values redacted), `http.route`, `server.address`/`server.port`
//!   (`Forwarded`, `X-Forwarded-Host`, `:authority`, `Host`), `client.address` (`Forwarded`,
//!   `X-Forwarded-For`, else the socket peer), `network.peer.*`, `network.protocol.version`,
//!   `user_agent.original`, `http.response.status_code`, and allow-listed headers;
//! - status Error with `error.type` for 5xx (the code), an inner service error (its type), a panicking
//!   handler (`panic`, then the panic continues as it would without us) or a failing body (its type);
//!   4xx stays Unset; a request whose caller went away ends Unset without a status code;
//! - the span current while the handler runs, so `tracing` spans and events inside it (through
//!   `tracing-opentelemetry`) and outgoing calls nest under it;
//! - the `http.server.request.duration` histogram, and the opt-in `http.server.active_requests` counter.
//!
//! The span ends when the response body has been sent (or dropped), so streaming responses are timed
//! truly; [`HttpServerLayer::with_span_end`] ends it with the head instead, for
//! every route or, through the response's extensions, for one route ([`SpanEnd`]).
//!
//! ## Clients
//!
//! [`HttpClientLayer`] gives any Tower HTTP client (hyper-util's legacy client, a tonic channel used
//! for plain HTTP) one CLIENT span per request under the HTTP client conventions, with the context
//! injected by the installed propagator and `http.client.request.duration` — the core's client rules,
//! the ones `tracewire-reqwest` follows ([`UrlTemplate`] and [`DisablePropagation`] per request).
//!
//! ```
//! use tower_layer::Layer;
//! let client = tower::service_fn(|_request: http::Request<String>| async {
//!     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
//! });
//! let traced = tracewire_http::HttpClientLayer::new().layer(client);
//! # let _ = traced;
//! ```
//!
//! Values read from the request are cut to the [`Limits`](tracewire_core::limits::Limits) of the
//! instrumentation, and malformed or hostile headers never fail a request: they are ignored.

mod body;
mod client;
mod config;
mod layer;
pub mod request;
mod service;
mod span;

pub use body::ResponseBody;
pub use client::{ClientResponseFuture, HttpClientLayer, HttpClientService};
pub use config::{ResponseInfo, ResponseTraceHeader, SpanEnd};
pub use layer::HttpServerLayer;
pub use request::RequestInfo;
pub use service::{HttpServerService, ResponseFuture};
pub use tracewire_core::http::client::{DisablePropagation, UrlTemplate};
