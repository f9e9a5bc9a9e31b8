//! # tracewire-testing
//!
//! The test kit of the tracewire family, for our own tests and for users testing their instrumentation:
//!
//! - [`SpanCapture`]: finished spans in memory, one provider per test (no leakage between tests
//!   running in parallel), queried as trace trees with assertions that print the trace as a text
//!   waterfall when they fail;
//! - [`MetricCapture`]: metrics in memory from a meter provider of the test's own, read back as data
//!   points;
//! - [`OtlpReceiver`]: a real OTLP/gRPC and OTLP/HTTP receiver on ephemeral 127.0.0.1 ports, for testing
//!   the export path end to end;
//! - [`tansu::TansuBroker`]: a real Kafka-compatible broker for end-to-end Kafka tests.
//!
//! ```
//! use opentelemetry::{Context, trace::SpanKind};
//! use tracewire_core::span::{Outcome, SpanError};
//! use tracewire_testing::SpanCapture;
//!
//! let capture = SpanCapture::new();
//! let span = capture.instrumentation("t").start(SpanKind::Internal, "work", vec![], &Context::new());
//! span.end(Outcome::Failed(SpanError::new("timeout")));
//! capture.spans().one("work").assert_error("timeout");
//! ```

pub mod bench;
mod capture;
pub mod echo;
pub mod metrics;
pub mod otlp;
pub mod pki;
pub mod tansu;

pub use capture::{CapturedSpan, SpanCapture, Spans};
pub use metrics::{MetricCapture, MetricPoint};
pub use otlp::{OtlpReceiver, ReceivedSpan};
