//! One boundary operation from its start to its end: an HTTP request served or sent, a database query,
//! a message sent or processed, an RPC. Every boundary crate builds its operations on [`Operation`], so
//! these rules live here once:
//!
//! - **Span and clock.** The span starts before the operation does; the clock starts with the
//!   [`Operation`]. Dropping it ends the span and records the duration, in that order of events: the
//!   metric's value is the span's duration.
//! - **Outcome.** [`Operation::succeed`] or [`Operation::fail`] decides it; a failure recorded later
//!   (a body that breaks after a good response head) overrides an earlier success, never the reverse.
//! - **Error record.** A failure sets the span status to Error with its description, `error.type` on
//!   the span and on the metric, and at most one `exception` event; the description and the exception
//!   message are cut to the instrumentation's [limits](crate::limits) where the span ends
//!   ([`SpanError`] says what each field holds).
//! - **Cancellation.** An operation dropped before its outcome was decided (its future was dropped: the
//!   caller gave up, a timeout fired around it) was cancelled on purpose: the span ends with status
//!   Unset and no `error.type`, its duration is recorded, without `error.type` too. This is what the HTTP
//!   client conventions ask, and the rule tracewire applies wherever the conventions are silent (HTTP
//!   server, database, messaging). A boundary whose conventions name cancellation decides it before the
//!   drop: gRPC records the status `CANCELLED`.
//! - **Metric switch.** A boundary whose duration metric is switched off passes no histogram
//!   ([`Operation::maybe`]): the same type, the span alone.
//!
//! ```
//! use std::sync::Arc;
//! use opentelemetry::{Context, KeyValue, trace::SpanKind};
//! use tracewire_core::metrics::{DB_CLIENT_OPERATION_DURATION, Histogram};
//! use tracewire_core::operation::Operation;
//! use tracewire_core::span::SpanError;
//!
//! let spans = tracewire_testing::SpanCapture::new();
//! let metrics = tracewire_testing::MetricCapture::new();
//! let instrumentation = spans.instrumentation("t").with_meter(metrics.meter("t"));
//! let duration = Arc::new(Histogram::new(DB_CLIENT_OPERATION_DURATION));
//! let attributes = vec![KeyValue::new("db.system.name", "postgresql")];
//!
//! let span = instrumentation.start(SpanKind::Client, "SELECT", attributes.clone(), &Context::new());
//! let mut query = Operation::new(span, instrumentation.clone(), duration.clone(), attributes.clone());
//! query.fail(SpanError::new("42P01"));
//! drop(query);
//!
//! let span = instrumentation.start(SpanKind::Client, "INSERT", attributes.clone(), &Context::new());
//! drop(Operation::new(span, instrumentation.clone(), duration, attributes)); // cancelled
//!
//! let spans = spans.spans();
//! spans.one("SELECT").assert_error("42P01");
//! spans.one("INSERT").assert_unset().assert_no_attr("error.type");
//! let points = metrics.points("db.client.operation.duration");
//! assert_eq!(points.iter().map(|p| p.count).sum::<u64>(), 2);
//! ```

use std::sync::Arc;
use std::time::Instant;

use opentelemetry::{Context, KeyValue};

use crate::metrics::{BoundHistogramSet, Histogram};
use crate::span::{ActiveSpan, Instrumentation, Outcome, SpanError};

/// One boundary operation: a span whose duration also goes into a histogram. When it is dropped, the
/// histogram records the time since it was made (with `error.type` on failure) and the span ends with
/// the same outcome; the [module docs](self) give the rules.
///
/// ```
/// use std::sync::Arc;
/// use opentelemetry::{Context, KeyValue, trace::SpanKind};
/// use tracewire_core::metrics::{Histogram, MESSAGING_PROCESS_DURATION};
/// use tracewire_core::operation::Operation;
/// use tracewire_core::span::Instrumentation;
/// let instrumentation = Instrumentation::global("doc");
/// let histogram = Arc::new(Histogram::new(MESSAGING_PROCESS_DURATION));
/// let attributes = vec![KeyValue::new("messaging.system", "kafka")];
/// let span = instrumentation.start(SpanKind::Consumer, "process orders", attributes.clone(), &Context::new());
/// let measured = Operation::new(span, instrumentation, histogram, attributes);
/// drop(measured); // span ended, duration recorded
/// ```
#[derive(Debug)]
pub struct Operation {
    span: ActiveSpan,
    recorder: Recorder,
    started: Instant,
    outcome: Option<Outcome>,
}

/// Where a [`Operation`]'s duration goes.
#[derive(Debug)]
enum Recorder {
    Histogram {
        instrumentation: Instrumentation,
        histogram: Arc<Histogram>,
        attributes: Vec<KeyValue>,
    },
    Bound(BoundHistogramSet),
    /// A bound set with attributes added: recorded unbound, with this copy of them.
    Extended {
        set: BoundHistogramSet,
        attributes: Vec<KeyValue>,
    },
    /// The boundary's duration metric is switched off: the span alone. The attributes stay readable
    /// for the boundary's other instruments (an active-requests gauge).
    Off {
        attributes: Vec<KeyValue>,
    },
}

impl Operation {
    /// Measures `span` into `histogram` with `metric_attributes`, from now.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use opentelemetry::{Context, KeyValue, trace::SpanKind};
    /// use tracewire_core::metrics::{Histogram, MESSAGING_PROCESS_DURATION};
    /// use tracewire_core::operation::Operation;
    ///
    /// let spans = tracewire_testing::SpanCapture::new();
    /// let metrics = tracewire_testing::MetricCapture::new();
    /// let instrumentation = spans.instrumentation("t").with_meter(metrics.meter("t"));
    /// let histogram = Arc::new(Histogram::new(MESSAGING_PROCESS_DURATION));
    /// let span = instrumentation.start(SpanKind::Consumer, "process", vec![], &Context::new());
    /// let attributes = vec![KeyValue::new("messaging.system", "kafka")];
    /// let measured = Operation::new(span, instrumentation.clone(), histogram, attributes);
    /// drop(measured); // ends the span and records the duration
    ///
    /// spans.spans().one("process").assert_unset();
    /// assert_eq!(metrics.points("messaging.process.duration")[0].count, 1);
    /// ```
    pub fn new(
        span: ActiveSpan,
        instrumentation: Instrumentation,
        histogram: Arc<Histogram>,
        metric_attributes: Vec<KeyValue>,
    ) -> Self {
        Operation {
            span,
            recorder: Recorder::Histogram {
                instrumentation,
                histogram,
                attributes: metric_attributes,
            },
            started: Instant::now(),
            outcome: None,
        }
    }

    /// `histogram` when the boundary's duration metric is on, else the span alone (its outcome and error
    /// are recorded the same way): one operation type whatever the switch says.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use opentelemetry::{Context, trace::SpanKind};
    /// use tracewire_core::operation::Operation;
    /// use tracewire_core::span::SpanError;
    ///
    /// let spans = tracewire_testing::SpanCapture::new();
    /// let instrumentation = spans.instrumentation("t");
    /// let span = instrumentation.start(SpanKind::Client, "SELECT", vec![], &Context::new());
    /// let mut operation = Operation::maybe(span, instrumentation, None, vec![]);
    /// operation.fail(SpanError::new("42P01"));
    /// drop(operation);
    /// spans.spans().one("SELECT").assert_error("42P01");
    /// ```
    pub fn maybe(
        span: ActiveSpan,
        instrumentation: Instrumentation,
        histogram: Option<Arc<Histogram>>,
        metric_attributes: Vec<KeyValue>,
    ) -> Self {
        match histogram {
            Some(histogram) => Self::new(span, instrumentation, histogram, metric_attributes),
            None => Operation {
                span,
                recorder: Recorder::Off {
                    attributes: metric_attributes,
                },
                started: Instant::now(),
                outcome: None,
            },
        }
    }

    /// Measures `span` through a histogram bound to the operation's attributes ([`Histogram::bind`]),
    /// from now: for operations that repeat one attribute set, such as a consumer's deliveries.
    ///
    /// ```
    /// use opentelemetry::{Context, KeyValue, trace::SpanKind};
    /// use tracewire_core::metrics::{Histogram, MESSAGING_PROCESS_DURATION};
    /// use tracewire_core::operation::Operation;
    ///
    /// let spans = tracewire_testing::SpanCapture::new();
    /// let metrics = tracewire_testing::MetricCapture::new();
    /// let instrumentation = spans.instrumentation("t").with_meter(metrics.meter("t"));
    /// let duration = Histogram::new(MESSAGING_PROCESS_DURATION);
    /// let orders = duration.bind(&instrumentation, vec![KeyValue::new("messaging.destination.name", "orders")]);
    /// for _ in 0..2 {
    ///     let span = instrumentation.start(SpanKind::Consumer, "process orders", vec![], &Context::new());
    ///     drop(Operation::bound(span, orders.clone()));
    /// }
    /// assert_eq!(spans.spans().len(), 2);
    /// let points = metrics.points("messaging.process.duration");
    /// assert_eq!(points[0].count, 2);
    /// assert_eq!(points[0].attr("messaging.destination.name"), Some("orders"));
    /// ```
    pub fn bound(span: ActiveSpan, set: BoundHistogramSet) -> Self {
        Operation {
            span,
            recorder: Recorder::Bound(set),
            started: Instant::now(),
            outcome: None,
        }
    }

    /// The span.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use opentelemetry::{Context, KeyValue, trace::SpanKind};
    /// use tracewire_core::metrics::{Histogram, MESSAGING_PROCESS_DURATION};
    /// use tracewire_core::operation::Operation;
    ///
    /// let spans = tracewire_testing::SpanCapture::new();
    /// let instrumentation = spans.instrumentation("t");
    /// let histogram = Arc::new(Histogram::new(MESSAGING_PROCESS_DURATION));
    /// let span = instrumentation.start(SpanKind::Consumer, "process", vec![], &Context::new());
    /// let measured = Operation::new(span, instrumentation.clone(), histogram, vec![]);
    /// measured.span().set_attribute(KeyValue::new("messaging.message.id", "42"));
    /// drop(measured);
    /// spans.spans().one("process").assert_attr("messaging.message.id", "42");
    /// ```
    pub fn span(&self) -> &ActiveSpan {
        &self.span
    }

    /// The metric's attributes.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use opentelemetry::{Context, KeyValue, trace::SpanKind};
    /// use tracewire_core::metrics::{Histogram, MESSAGING_PROCESS_DURATION};
    /// use tracewire_core::operation::Operation;
    /// use tracewire_core::span::Instrumentation;
    ///
    /// let instrumentation = Instrumentation::global("doc");
    /// let histogram = Arc::new(Histogram::new(MESSAGING_PROCESS_DURATION));
    /// let span = instrumentation.start(SpanKind::Consumer, "process", vec![], &Context::new());
    /// let attributes = vec![KeyValue::new("messaging.system", "rabbitmq")];
    /// let measured =
    ///     Operation::new(span, instrumentation.clone(), histogram, attributes.clone());
    /// assert_eq!(measured.metric_attributes(), attributes.as_slice());
    /// ```
    pub fn metric_attributes(&self) -> &[KeyValue] {
        match &self.recorder {
            Recorder::Histogram { attributes, .. }
            | Recorder::Extended { attributes, .. }
            | Recorder::Off { attributes } => attributes,
            Recorder::Bound(set) => set.attributes(),
        }
    }

    /// Adds an attribute to the metric (and not to the span).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use opentelemetry::{Context, KeyValue, trace::SpanKind};
    /// use tracewire_core::metrics::{Histogram, MESSAGING_PROCESS_DURATION};
    /// use tracewire_core::operation::Operation;
    ///
    /// let spans = tracewire_testing::SpanCapture::new();
    /// let metrics = tracewire_testing::MetricCapture::new();
    /// let instrumentation = spans.instrumentation("t").with_meter(metrics.meter("t"));
    /// let histogram = Arc::new(Histogram::new(MESSAGING_PROCESS_DURATION));
    /// let span = instrumentation.start(SpanKind::Consumer, "process", vec![], &Context::new());
    /// let mut measured = Operation::new(span, instrumentation.clone(), histogram, vec![]);
    /// measured.push_metric_attribute(KeyValue::new("messaging.destination.name", "orders"));
    /// drop(measured);
    ///
    /// let points = metrics.points("messaging.process.duration");
    /// assert_eq!(points[0].attr("messaging.destination.name"), Some("orders"));
    /// spans.spans().one("process").assert_no_attr("messaging.destination.name");
    /// ```
    pub fn push_metric_attribute(&mut self, attribute: KeyValue) {
        match &mut self.recorder {
            Recorder::Histogram { attributes, .. }
            | Recorder::Extended { attributes, .. }
            | Recorder::Off { attributes } => attributes.push(attribute),
            Recorder::Bound(set) => {
                let mut attributes = set.attributes().to_vec();
                attributes.push(attribute);
                self.recorder = Recorder::Extended {
                    set: set.clone(),
                    attributes,
                };
            }
        }
    }

    /// Measures into `set` instead of the set given at the start, for an operation whose metric
    /// attributes are complete only at its end (the partition a Kafka record was delivered to).
    /// Attributes pushed with [`push_metric_attribute`](Self::push_metric_attribute) are kept; a span
    /// measured without a bound set keeps its histogram.
    ///
    /// ```
    /// use opentelemetry::{Context, KeyValue, trace::SpanKind};
    /// use tracewire_core::metrics::{Histogram, MESSAGING_CLIENT_OPERATION_DURATION};
    /// use tracewire_core::operation::Operation;
    ///
    /// let spans = tracewire_testing::SpanCapture::new();
    /// let metrics = tracewire_testing::MetricCapture::new();
    /// let instrumentation = spans.instrumentation("t").with_meter(metrics.meter("t"));
    /// let topic = Histogram::new(MESSAGING_CLIENT_OPERATION_DURATION)
    ///     .bind(&instrumentation, vec![KeyValue::new("messaging.destination.name", "orders")]);
    /// let partition = topic.extended(KeyValue::new("messaging.destination.partition.id", "3"));
    /// let span = instrumentation.start(SpanKind::Producer, "send orders", vec![], &Context::new());
    /// let mut measured = Operation::bound(span, topic);
    /// measured.rebind(partition);
    /// drop(measured);
    /// let points = metrics.points("messaging.client.operation.duration");
    /// assert_eq!(points.len(), 1);
    /// assert_eq!(points[0].attr("messaging.destination.partition.id"), Some("3"));
    /// ```
    pub fn rebind(&mut self, set: BoundHistogramSet) {
        match &mut self.recorder {
            Recorder::Bound(bound) => *bound = set,
            Recorder::Extended {
                set: old,
                attributes,
            } => {
                // What was pushed beyond the old set's attributes goes on top of the new set's.
                let pushed = attributes.split_off(old.attributes().len().min(attributes.len()));
                *attributes = set.attributes().to_vec();
                attributes.extend(pushed);
                *old = set;
            }
            Recorder::Histogram { .. } | Recorder::Off { .. } => {}
        }
    }

    /// Marks the operation failed: the span ends with this error, the metric gets its `error.type`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use opentelemetry::{Context, trace::SpanKind};
    /// use tracewire_core::metrics::{Histogram, MESSAGING_PROCESS_DURATION};
    /// use tracewire_core::operation::Operation;
    /// use tracewire_core::span::SpanError;
    ///
    /// let spans = tracewire_testing::SpanCapture::new();
    /// let metrics = tracewire_testing::MetricCapture::new();
    /// let instrumentation = spans.instrumentation("t").with_meter(metrics.meter("t"));
    /// let histogram = Arc::new(Histogram::new(MESSAGING_PROCESS_DURATION));
    /// let span = instrumentation.start(SpanKind::Consumer, "process", vec![], &Context::new());
    /// let mut measured = Operation::new(span, instrumentation.clone(), histogram, vec![]);
    /// measured.fail(SpanError::new("handler_panicked"));
    /// drop(measured);
    ///
    /// spans.spans().one("process").assert_error("handler_panicked");
    /// let points = metrics.points("messaging.process.duration");
    /// assert_eq!(points[0].attr("error.type"), Some("handler_panicked"));
    /// ```
    pub fn fail(&mut self, error: SpanError) {
        self.outcome = Some(Outcome::Failed(error));
    }

    /// Marks the operation completed, unless a failure was recorded already (which stays).
    ///
    /// ```
    /// use opentelemetry::{Context, trace::SpanKind};
    /// use tracewire_core::operation::Operation;
    /// use tracewire_core::span::SpanError;
    ///
    /// let spans = tracewire_testing::SpanCapture::new();
    /// let instrumentation = spans.instrumentation("t");
    /// let span = instrumentation.start(SpanKind::Server, "GET /", vec![], &Context::new());
    /// let mut request = Operation::maybe(span, instrumentation, None, vec![]);
    /// request.fail(SpanError::new("body_error"));
    /// request.succeed(); // too late: the failure stays
    /// assert!(request.is_decided());
    /// drop(request);
    /// spans.spans().one("GET /").assert_error("body_error");
    /// ```
    pub fn succeed(&mut self) {
        if self.outcome.is_none() {
            self.outcome = Some(Outcome::Success);
        }
    }

    /// Whether [`succeed`](Self::succeed) or [`fail`](Self::fail) decided the outcome; dropped
    /// undecided, the operation counts as cancelled.
    ///
    /// ```
    /// use opentelemetry::{Context, trace::SpanKind};
    /// use tracewire_core::operation::Operation;
    ///
    /// let instrumentation = tracewire_core::span::Instrumentation::global("doc");
    /// let span = instrumentation.start(SpanKind::Client, "GET", vec![], &Context::new());
    /// let mut call = Operation::maybe(span, instrumentation, None, vec![]);
    /// assert!(!call.is_decided());
    /// call.succeed();
    /// assert!(call.is_decided());
    /// ```
    pub fn is_decided(&self) -> bool {
        self.outcome.is_some()
    }

    /// The context of the operation's span, to make current around the work it covers.
    ///
    /// ```
    /// use opentelemetry::{Context, trace::{SpanKind, TraceContextExt}};
    /// use tracewire_core::operation::Operation;
    ///
    /// let instrumentation = tracewire_core::span::Instrumentation::global("doc");
    /// let span = instrumentation.start(SpanKind::Client, "GET", vec![], &Context::new());
    /// let id = span.span_context().span_id();
    /// let call = Operation::maybe(span, instrumentation, None, vec![]);
    /// assert_eq!(call.context().span().span_context().span_id(), id);
    /// ```
    pub fn context(&self) -> &Context {
        self.span.context()
    }
}

impl Drop for Operation {
    fn drop(&mut self) {
        let seconds = self.started.elapsed().as_secs_f64();
        // Undecided means cancelled: Unset, no `error.type` (module docs).
        let outcome = self.outcome.take().unwrap_or(Outcome::Cancelled);
        let error_type = match &outcome {
            Outcome::Failed(error) => Some(error.attribute()),
            Outcome::Success | Outcome::Cancelled => None,
        };
        match &mut self.recorder {
            Recorder::Histogram {
                instrumentation,
                histogram,
                attributes,
            } => {
                attributes.extend(error_type);
                histogram.record(instrumentation, seconds, attributes);
            }
            Recorder::Bound(set) => match error_type {
                None => set.record(seconds),
                Some(error_type) => set.record_with(seconds, &[error_type]),
            },
            Recorder::Extended { set, attributes } => {
                attributes.extend(error_type);
                set.record_unbound(seconds, attributes);
            }
            Recorder::Off { .. } => {}
        }
        self.span.finish(outcome);
    }
}
