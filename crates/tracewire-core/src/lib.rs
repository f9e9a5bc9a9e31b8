//! # tracewire-core
//!
//! The shared core of the tracewire crate family. Boundary crates (`tracewire-http`,
//! `tracewire-reqwest`, …) map their library's types onto what is defined here, once:
//!
//! - [`attributes`]: every attribute key, following OpenTelemetry semantic conventions 1.44;
//! - [`span`]: starting a span of any kind from the global or a given tracer provider, running work with
//!   its context current, and recording the end state (status, `error.type`, one `exception` event);
//! - [`propagation`]: W3C trace context and baggage, validated at Level 2, over `http::HeaderMap`;
//! - [`http`]: HTTP method, span-name, status and header-capture rules;
//! - [`messaging`]: where a consumer's span hangs (parent and links), operation types;
//! - [`rpc`]: gRPC status names and which are errors, recognized methods, client targets, deadlines;
//! - [`redact`] and [`limits`]: nothing secret and nothing unbounded is recorded;
//! - [`intern`]: span names and repeated values shared instead of copied per operation;
//! - [`operation`]: one boundary operation from start to end (span end, duration metric, outcome,
//!   error record, cancellation), the type every boundary crate builds on;
//! - [`metrics`]: duration histograms with the semantic-convention buckets;
//! - [`otel`]: everything that couples to the OpenTelemetry SDK's version (the installed provider, the
//!   W3C random flag the SDK leaves out);
//! - [`waterfall`]: traces drawn as text waterfalls.
//!
//! ```
//! use opentelemetry::{Context, KeyValue, trace::SpanKind};
//! use tracewire_core::{http::Side, span::{Instrumentation, Outcome}};
//!
//! let instrumentation = Instrumentation::global("example");
//! let span = instrumentation.start(SpanKind::Client, "GET", vec![KeyValue::new("http.request.method", "GET")], &Context::current());
//! let status = 503;
//! span.end(Side::Client.status_error(status).map_or(Outcome::Success, Outcome::Failed));
//! ```
#![warn(missing_docs)]

pub mod attributes;
pub mod http;
pub mod intern;
pub mod limits;
pub mod messaging;
pub mod metrics;
pub mod operation;
pub mod otel;
pub mod propagation;
pub mod redact;
pub mod rpc;
pub mod span;
pub mod waterfall;

pub use opentelemetry;
