//! Duration histograms and counters with the semantic-convention names and bucket boundaries, created
//! lazily from an [`Instrumentation`]'s meter.
//!
//! ```
//! use opentelemetry::KeyValue;
//! use tracewire_core::metrics::{Histogram, HTTP_SERVER_REQUEST_DURATION};
//! use tracewire_core::span::Instrumentation;
//! let instrumentation = Instrumentation::global("doc");
//! let duration = Histogram::new(HTTP_SERVER_REQUEST_DURATION); // keep it: the instrument is made once
//! duration.record(&instrumentation, 0.012, &[KeyValue::new("http.request.method", "GET")]);
//! ```

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use opentelemetry::metrics::{
    BoundCounter, BoundHistogram, BoundUpDownCounter, Counter as OtelCounter,
    Histogram as OtelHistogram, UpDownCounter as OtelUpDownCounter,
};

use opentelemetry::{KeyValue, Value};

use crate::span::Instrumentation;

/// Buckets of `http.server.request.duration` and `http.client.request.duration`, in seconds.
///
/// ```
/// use tracewire_core::metrics::{HTTP_DURATION_BUCKETS, HTTP_SERVER_REQUEST_DURATION};
/// assert_eq!(HTTP_SERVER_REQUEST_DURATION.buckets, HTTP_DURATION_BUCKETS);
/// assert_eq!(HTTP_DURATION_BUCKETS.first(), Some(&0.005)); // 5 ms
/// assert_eq!(HTTP_DURATION_BUCKETS.last(), Some(&10.0));
/// ```
pub const HTTP_DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Buckets of `db.client.operation.duration`, in seconds.
///
/// ```
/// use tracewire_core::metrics::{DB_CLIENT_OPERATION_DURATION, DB_DURATION_BUCKETS};
/// assert_eq!(DB_CLIENT_OPERATION_DURATION.buckets, DB_DURATION_BUCKETS);
/// assert_eq!(DB_DURATION_BUCKETS.first(), Some(&0.001)); // 1 ms
/// ```
pub const DB_DURATION_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0];

/// `http.server.request.duration`.
///
/// ```
/// use tracewire_core::metrics::{HTTP_SERVER_REQUEST_DURATION, Histogram};
/// let metrics = tracewire_testing::MetricCapture::new();
/// let instrumentation =
///     tracewire_core::span::Instrumentation::global("doc").with_meter(metrics.meter("doc"));
/// Histogram::new(HTTP_SERVER_REQUEST_DURATION).record(&instrumentation, 0.2, &[]);
/// let points = metrics.points("http.server.request.duration");
/// assert_eq!((points[0].count, points[0].unit.as_str()), (1, "s"));
/// assert_eq!(points[0].bounds, HTTP_SERVER_REQUEST_DURATION.buckets);
/// ```
pub const HTTP_SERVER_REQUEST_DURATION: InstrumentSpec = InstrumentSpec {
    name: "http.server.request.duration",
    description: "Duration of HTTP server requests.",
    unit: "s",
    buckets: HTTP_DURATION_BUCKETS,
};

/// `http.client.request.duration`.
///
/// ```
/// use tracewire_core::metrics::HTTP_CLIENT_REQUEST_DURATION;
/// assert_eq!(HTTP_CLIENT_REQUEST_DURATION.name, "http.client.request.duration");
/// assert_eq!(HTTP_CLIENT_REQUEST_DURATION.unit, "s");
/// ```
pub const HTTP_CLIENT_REQUEST_DURATION: InstrumentSpec = InstrumentSpec {
    name: "http.client.request.duration",
    description: "Duration of HTTP client requests.",
    unit: "s",
    buckets: HTTP_DURATION_BUCKETS,
};

/// `rpc.server.call.duration` (semantic conventions 1.44, release candidate).
///
/// ```
/// use tracewire_core::metrics::{HTTP_DURATION_BUCKETS, RPC_SERVER_CALL_DURATION};
/// assert_eq!(RPC_SERVER_CALL_DURATION.name, "rpc.server.call.duration");
/// assert_eq!(RPC_SERVER_CALL_DURATION.buckets, HTTP_DURATION_BUCKETS);
/// ```
pub const RPC_SERVER_CALL_DURATION: InstrumentSpec = InstrumentSpec {
    name: "rpc.server.call.duration",
    description: "Duration of RPCs received.",
    unit: "s",
    buckets: HTTP_DURATION_BUCKETS,
};

/// `rpc.client.call.duration` (semantic conventions 1.44, release candidate).
///
/// ```
/// use tracewire_core::metrics::RPC_CLIENT_CALL_DURATION;
/// assert_eq!(RPC_CLIENT_CALL_DURATION.name, "rpc.client.call.duration");
/// assert_eq!(RPC_CLIENT_CALL_DURATION.unit, "s");
/// ```
pub const RPC_CLIENT_CALL_DURATION: InstrumentSpec = InstrumentSpec {
    name: "rpc.client.call.duration",
    description: "Duration of RPCs sent.",
    unit: "s",
    buckets: HTTP_DURATION_BUCKETS,
};

/// `db.client.operation.duration`.
///
/// ```
/// use tracewire_core::metrics::DB_CLIENT_OPERATION_DURATION;
/// assert_eq!(DB_CLIENT_OPERATION_DURATION.name, "db.client.operation.duration");
/// assert_eq!(DB_CLIENT_OPERATION_DURATION.unit, "s");
/// ```
pub const DB_CLIENT_OPERATION_DURATION: InstrumentSpec = InstrumentSpec {
    name: "db.client.operation.duration",
    description: "Duration of database client operations.",
    unit: "s",
    buckets: DB_DURATION_BUCKETS,
};

/// `messaging.client.operation.duration` (publish, receive, settle; not processing).
///
/// ```
/// use tracewire_core::metrics::MESSAGING_CLIENT_OPERATION_DURATION;
/// assert_eq!(MESSAGING_CLIENT_OPERATION_DURATION.name, "messaging.client.operation.duration");
/// assert_eq!(MESSAGING_CLIENT_OPERATION_DURATION.unit, "s");
/// ```
pub const MESSAGING_CLIENT_OPERATION_DURATION: InstrumentSpec = InstrumentSpec {
    name: "messaging.client.operation.duration",
    description: "Duration of messaging operations initiated by a producer or consumer client.",
    unit: "s",
    buckets: HTTP_DURATION_BUCKETS,
};

/// `messaging.process.duration`.
///
/// ```
/// use tracewire_core::metrics::MESSAGING_PROCESS_DURATION;
/// assert_eq!(MESSAGING_PROCESS_DURATION.name, "messaging.process.duration");
/// assert_eq!(MESSAGING_PROCESS_DURATION.unit, "s");
/// ```
pub const MESSAGING_PROCESS_DURATION: InstrumentSpec = InstrumentSpec {
    name: "messaging.process.duration",
    description: "Duration of processing operations.",
    unit: "s",
    buckets: HTTP_DURATION_BUCKETS,
};

/// `messaging.client.sent.messages`.
///
/// ```
/// use tracewire_core::metrics::MESSAGING_CLIENT_SENT_MESSAGES;
/// assert_eq!(MESSAGING_CLIENT_SENT_MESSAGES.unit, "{message}");
/// assert!(MESSAGING_CLIENT_SENT_MESSAGES.buckets.is_empty()); // a counter
/// ```
pub const MESSAGING_CLIENT_SENT_MESSAGES: InstrumentSpec = InstrumentSpec {
    name: "messaging.client.sent.messages",
    description: "Number of messages producer attempted to send to the broker.",
    unit: "{message}",
    buckets: &[],
};

/// `messaging.client.consumed.messages`.
///
/// ```
/// use tracewire_core::metrics::MESSAGING_CLIENT_CONSUMED_MESSAGES;
/// assert_eq!(MESSAGING_CLIENT_CONSUMED_MESSAGES.name, "messaging.client.consumed.messages");
/// assert_eq!(MESSAGING_CLIENT_CONSUMED_MESSAGES.unit, "{message}");
/// ```
pub const MESSAGING_CLIENT_CONSUMED_MESSAGES: InstrumentSpec = InstrumentSpec {
    name: "messaging.client.consumed.messages",
    description: "Number of messages that were delivered to the application.",
    unit: "{message}",
    buckets: &[],
};

/// `http.server.active_requests`.
///
/// ```
/// use tracewire_core::metrics::HTTP_SERVER_ACTIVE_REQUESTS;
/// assert_eq!(HTTP_SERVER_ACTIVE_REQUESTS.name, "http.server.active_requests");
/// assert_eq!(HTTP_SERVER_ACTIVE_REQUESTS.unit, "{request}");
/// ```
pub const HTTP_SERVER_ACTIVE_REQUESTS: InstrumentSpec = InstrumentSpec {
    name: "http.server.active_requests",
    description: "Number of active HTTP server requests.",
    unit: "{request}",
    buckets: &[],
};

/// The definition of an instrument: name, description, unit and (for histograms) bucket boundaries.
///
/// ```
/// let spec = tracewire_core::metrics::HTTP_SERVER_REQUEST_DURATION;
/// assert_eq!((spec.name, spec.unit), ("http.server.request.duration", "s"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InstrumentSpec {
    /// The metric name.
    pub name: &'static str,
    /// The description.
    pub description: &'static str,
    /// The UCUM unit.
    pub unit: &'static str,
    /// Explicit bucket boundaries (histograms only).
    pub buckets: &'static [f64],
}

/// A histogram, created from its [`InstrumentSpec`] on first use.
///
/// ```
/// use tracewire_core::metrics::{Histogram, DB_CLIENT_OPERATION_DURATION};
/// let h = Histogram::new(DB_CLIENT_OPERATION_DURATION);
/// h.record(&tracewire_core::span::Instrumentation::global("doc"), 0.002, &[]);
/// ```
#[derive(Debug)]
pub struct Histogram {
    spec: InstrumentSpec,
    on: bool,
    instrument: LazyInstrument<OtelHistogram<f64>, BoundHistogram<f64>>,
}

impl Histogram {
    /// A histogram of this definition.
    ///
    /// ```
    /// use tracewire_core::metrics::{DB_CLIENT_OPERATION_DURATION, Histogram};
    /// // `const`, so it can live in a static: the instrument is then made once per process.
    /// static DURATION: Histogram = Histogram::new(DB_CLIENT_OPERATION_DURATION);
    /// assert_eq!(DURATION.spec().name, "db.client.operation.duration");
    /// ```
    pub const fn new(spec: InstrumentSpec) -> Self {
        Histogram {
            spec,
            on: true,
            instrument: LazyInstrument::new(),
        }
    }

    /// A histogram of this definition that records nothing (a boundary's metric switched off): the
    /// same type for the code that records into it, an instrument of the no-op meter behind it.
    ///
    /// ```
    /// use tracewire_core::metrics::{Histogram, MESSAGING_PROCESS_DURATION};
    /// let metrics = tracewire_testing::MetricCapture::new();
    /// let instrumentation =
    ///     tracewire_core::span::Instrumentation::global("doc").with_meter(metrics.meter("doc"));
    /// Histogram::off(MESSAGING_PROCESS_DURATION).record(&instrumentation, 0.5, &[]);
    /// assert!(metrics.points("messaging.process.duration").is_empty());
    /// ```
    pub const fn off(spec: InstrumentSpec) -> Self {
        Histogram {
            spec,
            on: false,
            instrument: LazyInstrument::new(),
        }
    }

    /// The definition.
    ///
    /// ```
    /// use tracewire_core::metrics::{HTTP_CLIENT_REQUEST_DURATION, Histogram};
    /// let histogram = Histogram::new(HTTP_CLIENT_REQUEST_DURATION);
    /// assert_eq!(histogram.spec(), &HTTP_CLIENT_REQUEST_DURATION);
    /// ```
    pub fn spec(&self) -> &InstrumentSpec {
        &self.spec
    }

    /// Records one value.
    ///
    /// ```
    /// use opentelemetry::KeyValue;
    /// use tracewire_core::metrics::{DB_CLIENT_OPERATION_DURATION, Histogram};
    /// let metrics = tracewire_testing::MetricCapture::new();
    /// let instrumentation =
    ///     tracewire_core::span::Instrumentation::global("doc").with_meter(metrics.meter("doc"));
    /// let histogram = Histogram::new(DB_CLIENT_OPERATION_DURATION);
    /// let attributes = [KeyValue::new("db.system.name", "postgresql")];
    /// histogram.record(&instrumentation, 0.25, &attributes);
    /// histogram.record(&instrumentation, 0.5, &attributes);
    /// let points = metrics.points("db.client.operation.duration");
    /// assert_eq!((points[0].count, points[0].value), (2, 0.75));
    /// assert_eq!(points[0].attr("db.system.name"), Some("postgresql"));
    /// ```
    pub fn record(&self, instrumentation: &Instrumentation, value: f64, attributes: &[KeyValue]) {
        self.instrument.measure(
            attributes,
            || self.make(instrumentation),
            OtelHistogram::bind,
            |bound| bound.record(value),
            |unbound| unbound.record(value, attributes),
        );
    }

    /// This histogram bound to `attributes`, for an operation that records the same set again and again
    /// (a consumer's destination): recording through it skips finding the set among the bound ones.
    ///
    /// ```
    /// use opentelemetry::KeyValue;
    /// use tracewire_core::metrics::{Histogram, MESSAGING_PROCESS_DURATION};
    /// let metrics = tracewire_testing::MetricCapture::new();
    /// let instrumentation =
    ///     tracewire_core::span::Instrumentation::global("doc").with_meter(metrics.meter("doc"));
    /// let duration = Histogram::new(MESSAGING_PROCESS_DURATION);
    /// let orders = duration.bind(&instrumentation, vec![KeyValue::new("messaging.destination.name", "orders")]);
    /// orders.record(0.25);
    /// orders.record(0.5);
    /// let points = metrics.points("messaging.process.duration");
    /// assert_eq!((points[0].count, points[0].value), (2, 0.75));
    /// assert_eq!(points[0].attr("messaging.destination.name"), Some("orders"));
    /// ```
    pub fn bind(
        &self,
        instrumentation: &Instrumentation,
        attributes: Vec<KeyValue>,
    ) -> BoundHistogramSet {
        let instrument = self.instrument.get(|| self.make(instrumentation)).clone();
        BoundHistogramSet(LazyBound::new(attributes.into(), instrument))
    }

    fn make(&self, instrumentation: &Instrumentation) -> OtelHistogram<f64> {
        meter(self.on, instrumentation)
            .f64_histogram(self.spec.name)
            .with_description(self.spec.description)
            .with_unit(self.spec.unit)
            .with_boundaries(self.spec.buckets.to_vec())
            .build()
    }
}

/// The meter an instrument is made from: the instrumentation's, or the no-op meter when switched off.
fn meter(
    on: bool,
    instrumentation: &Instrumentation,
) -> std::borrow::Cow<'_, opentelemetry::metrics::Meter> {
    use opentelemetry::metrics::MeterProvider as _;
    if on {
        std::borrow::Cow::Borrowed(instrumentation.meter())
    } else {
        std::borrow::Cow::Owned(
            opentelemetry::metrics::NoopMeterProvider::new().meter("tracewire-off"),
        )
    }
}

/// A [`Histogram`] bound to one attribute set ([`Histogram::bind`]). Clones share the set.
///
/// ```
/// use opentelemetry::KeyValue;
/// use tracewire_core::metrics::{Histogram, MESSAGING_PROCESS_DURATION};
/// let instrumentation = tracewire_core::span::Instrumentation::global("doc");
/// let duration = Histogram::new(MESSAGING_PROCESS_DURATION);
/// let bound = duration.bind(&instrumentation, vec![KeyValue::new("messaging.system", "rabbitmq")]);
/// assert_eq!(bound.attributes().len(), 1);
/// bound.record(0.001);
/// ```
#[derive(Clone, Debug)]
pub struct BoundHistogramSet(LazyBound<OtelHistogram<f64>, BoundHistogram<f64>>);

impl BoundHistogramSet {
    /// Records one value with the bound attributes.
    ///
    /// ```
    /// use tracewire_core::metrics::{Histogram, MESSAGING_PROCESS_DURATION};
    /// let instrumentation = tracewire_core::span::Instrumentation::global("doc");
    /// Histogram::new(MESSAGING_PROCESS_DURATION).bind(&instrumentation, vec![]).record(0.5);
    /// ```
    pub fn record(&self, value: f64) {
        self.0.handle(OtelHistogram::bind).record(value);
    }

    /// This set with one attribute more (a Kafka partition), as a set of its own.
    ///
    /// ```
    /// use opentelemetry::KeyValue;
    /// use tracewire_core::metrics::{Histogram, MESSAGING_PROCESS_DURATION};
    /// let instrumentation = tracewire_core::span::Instrumentation::global("doc");
    /// let topic = Histogram::new(MESSAGING_PROCESS_DURATION)
    ///     .bind(&instrumentation, vec![KeyValue::new("messaging.destination.name", "orders")]);
    /// let partition = topic.extended(KeyValue::new("messaging.destination.partition.id", "3"));
    /// assert_eq!(partition.attributes().len(), 2);
    /// ```
    pub fn extended(&self, attribute: KeyValue) -> Self {
        BoundHistogramSet(self.0.extended(attribute))
    }

    /// Records one value with the bound attributes and `extra` ones (an `error.type`), unbound.
    pub(crate) fn record_with(&self, value: f64, extra: &[KeyValue]) {
        let mut attributes = Vec::with_capacity(self.0.attributes.len() + extra.len());
        attributes.extend_from_slice(&self.0.attributes);
        attributes.extend_from_slice(extra);
        self.0.instrument.record(value, &attributes);
    }

    /// The bound attributes.
    ///
    /// ```
    /// use opentelemetry::KeyValue;
    /// use tracewire_core::metrics::{Histogram, MESSAGING_PROCESS_DURATION};
    /// let instrumentation = tracewire_core::span::Instrumentation::global("doc");
    /// let set = vec![KeyValue::new("messaging.system", "rabbitmq")];
    /// let bound = Histogram::new(MESSAGING_PROCESS_DURATION).bind(&instrumentation, set.clone());
    /// assert_eq!(bound.attributes(), set.as_slice());
    /// ```
    pub fn attributes(&self) -> &[KeyValue] {
        &self.0.attributes
    }

    /// Records one value with `attributes` (this set's and more), unbound.
    pub(crate) fn record_unbound(&self, value: f64, attributes: &[KeyValue]) {
        self.0.instrument.record(value, attributes);
    }
}

/// An up-down counter, created from its [`InstrumentSpec`] on first use.
///
/// ```
/// use tracewire_core::metrics::{UpDownCounter, HTTP_SERVER_ACTIVE_REQUESTS};
/// let active = UpDownCounter::new(HTTP_SERVER_ACTIVE_REQUESTS);
/// let i = tracewire_core::span::Instrumentation::global("doc");
/// active.add(&i, 1, &[]);
/// active.add(&i, -1, &[]);
/// ```
#[derive(Debug)]
pub struct UpDownCounter {
    spec: InstrumentSpec,
    instrument: LazyInstrument<OtelUpDownCounter<i64>, BoundUpDownCounter<i64>>,
}

impl UpDownCounter {
    /// A counter of this definition.
    ///
    /// ```
    /// use tracewire_core::metrics::{HTTP_SERVER_ACTIVE_REQUESTS, UpDownCounter};
    /// static ACTIVE: UpDownCounter = UpDownCounter::new(HTTP_SERVER_ACTIVE_REQUESTS);
    /// assert_eq!(ACTIVE.spec().name, "http.server.active_requests");
    /// ```
    pub const fn new(spec: InstrumentSpec) -> Self {
        UpDownCounter {
            spec,
            instrument: LazyInstrument::new(),
        }
    }

    /// The definition.
    ///
    /// ```
    /// use tracewire_core::metrics::{HTTP_SERVER_ACTIVE_REQUESTS, UpDownCounter};
    /// let active = UpDownCounter::new(HTTP_SERVER_ACTIVE_REQUESTS);
    /// assert_eq!(active.spec().unit, "{request}");
    /// ```
    pub fn spec(&self) -> &InstrumentSpec {
        &self.spec
    }

    /// Adds `delta`.
    ///
    /// ```
    /// use tracewire_core::metrics::{HTTP_SERVER_ACTIVE_REQUESTS, UpDownCounter};
    /// let metrics = tracewire_testing::MetricCapture::new();
    /// let instrumentation =
    ///     tracewire_core::span::Instrumentation::global("doc").with_meter(metrics.meter("doc"));
    /// let active = UpDownCounter::new(HTTP_SERVER_ACTIVE_REQUESTS);
    /// active.add(&instrumentation, 1, &[]); // two requests start
    /// active.add(&instrumentation, 1, &[]);
    /// active.add(&instrumentation, -1, &[]); // one ends
    /// assert_eq!(metrics.points("http.server.active_requests")[0].value, 1.0);
    /// ```
    pub fn add(&self, instrumentation: &Instrumentation, delta: i64, attributes: &[KeyValue]) {
        self.instrument.measure(
            attributes,
            || self.make(instrumentation),
            OtelUpDownCounter::bind,
            |bound| bound.add(delta),
            |unbound| unbound.add(delta, attributes),
        );
    }

    fn make(&self, instrumentation: &Instrumentation) -> OtelUpDownCounter<i64> {
        instrumentation
            .meter()
            .i64_up_down_counter(self.spec.name)
            .with_description(self.spec.description)
            .with_unit(self.spec.unit)
            .build()
    }
}

/// A monotonic counter, created from its [`InstrumentSpec`] on first use.
///
/// ```
/// use tracewire_core::metrics::{Counter, MESSAGING_CLIENT_SENT_MESSAGES};
/// let sent = Counter::new(MESSAGING_CLIENT_SENT_MESSAGES);
/// sent.add(&tracewire_core::span::Instrumentation::global("doc"), 1, &[]);
/// ```
#[derive(Debug)]
pub struct Counter {
    spec: InstrumentSpec,
    on: bool,
    instrument: LazyInstrument<OtelCounter<u64>, BoundCounter<u64>>,
}

impl Counter {
    /// A counter of this definition.
    ///
    /// ```
    /// use tracewire_core::metrics::{Counter, MESSAGING_CLIENT_SENT_MESSAGES};
    /// use tracewire_core::span::Instrumentation;
    /// static SENT: Counter = Counter::new(MESSAGING_CLIENT_SENT_MESSAGES);
    /// fn on_sent(instrumentation: &Instrumentation, count: u64) {
    ///     SENT.add(instrumentation, count, &[]);
    /// }
    /// on_sent(&Instrumentation::global("doc"), 2);
    /// ```
    pub const fn new(spec: InstrumentSpec) -> Self {
        Counter {
            spec,
            on: true,
            instrument: LazyInstrument::new(),
        }
    }

    /// A counter of this definition that counts nothing (a boundary's metric switched off).
    ///
    /// ```
    /// use tracewire_core::metrics::{Counter, MESSAGING_CLIENT_SENT_MESSAGES};
    /// let metrics = tracewire_testing::MetricCapture::new();
    /// let instrumentation =
    ///     tracewire_core::span::Instrumentation::global("doc").with_meter(metrics.meter("doc"));
    /// Counter::off(MESSAGING_CLIENT_SENT_MESSAGES).add(&instrumentation, 1, &[]);
    /// assert!(metrics.points("messaging.client.sent.messages").is_empty());
    /// ```
    pub const fn off(spec: InstrumentSpec) -> Self {
        Counter {
            spec,
            on: false,
            instrument: LazyInstrument::new(),
        }
    }

    /// Adds `value`.
    ///
    /// ```
    /// use opentelemetry::KeyValue;
    /// use tracewire_core::metrics::{Counter, MESSAGING_CLIENT_SENT_MESSAGES};
    /// let metrics = tracewire_testing::MetricCapture::new();
    /// let instrumentation =
    ///     tracewire_core::span::Instrumentation::global("doc").with_meter(metrics.meter("doc"));
    /// let sent = Counter::new(MESSAGING_CLIENT_SENT_MESSAGES);
    /// sent.add(&instrumentation, 3, &[KeyValue::new("messaging.system", "kafka")]);
    /// let points = metrics.points("messaging.client.sent.messages");
    /// assert_eq!(points[0].value, 3.0);
    /// assert_eq!(points[0].attr("messaging.system"), Some("kafka"));
    /// ```
    pub fn add(&self, instrumentation: &Instrumentation, value: u64, attributes: &[KeyValue]) {
        self.instrument.measure(
            attributes,
            || self.make(instrumentation),
            OtelCounter::bind,
            |bound| bound.add(value),
            |unbound| unbound.add(value, attributes),
        );
    }

    /// This counter bound to `attributes`, for an operation that counts the same set again and again (a
    /// consumer's destination): adding through it skips finding the set among the bound ones.
    ///
    /// ```
    /// use opentelemetry::KeyValue;
    /// use tracewire_core::metrics::{Counter, MESSAGING_CLIENT_CONSUMED_MESSAGES};
    /// let metrics = tracewire_testing::MetricCapture::new();
    /// let instrumentation =
    ///     tracewire_core::span::Instrumentation::global("doc").with_meter(metrics.meter("doc"));
    /// let consumed = Counter::new(MESSAGING_CLIENT_CONSUMED_MESSAGES);
    /// let orders = consumed.bind(&instrumentation, &[KeyValue::new("messaging.destination.name", "orders")]);
    /// orders.add(1);
    /// orders.add(2);
    /// assert_eq!(metrics.points("messaging.client.consumed.messages")[0].value, 3.0);
    /// ```
    pub fn bind(
        &self,
        instrumentation: &Instrumentation,
        attributes: &[KeyValue],
    ) -> BoundCounterSet {
        let instrument = self.instrument.get(|| self.make(instrumentation)).clone();
        BoundCounterSet(LazyBound::new(attributes.into(), instrument))
    }

    fn make(&self, instrumentation: &Instrumentation) -> OtelCounter<u64> {
        meter(self.on, instrumentation)
            .u64_counter(self.spec.name)
            .with_description(self.spec.description)
            .with_unit(self.spec.unit)
            .build()
    }
}

/// A [`Counter`] bound to one attribute set ([`Counter::bind`]). Clones share the set.
///
/// ```
/// use tracewire_core::metrics::{Counter, MESSAGING_CLIENT_SENT_MESSAGES};
/// let instrumentation = tracewire_core::span::Instrumentation::global("doc");
/// let sent = Counter::new(MESSAGING_CLIENT_SENT_MESSAGES).bind(&instrumentation, &[]);
/// sent.add(1);
/// ```
#[derive(Clone, Debug)]
pub struct BoundCounterSet(LazyBound<OtelCounter<u64>, BoundCounter<u64>>);

impl BoundCounterSet {
    /// Adds `value` with the bound attributes.
    ///
    /// ```
    /// use tracewire_core::metrics::{Counter, MESSAGING_CLIENT_SENT_MESSAGES};
    /// let instrumentation = tracewire_core::span::Instrumentation::global("doc");
    /// Counter::new(MESSAGING_CLIENT_SENT_MESSAGES).bind(&instrumentation, &[]).add(2);
    /// ```
    pub fn add(&self, value: u64) {
        self.0.handle(OtelCounter::bind).add(value);
    }

    /// Adds `value` with the bound attributes and `extra` ones (an `error.type`), unbound: for the rare
    /// outcomes no set is bound for.
    ///
    /// ```
    /// use opentelemetry::KeyValue;
    /// use tracewire_core::metrics::{Counter, MESSAGING_CLIENT_SENT_MESSAGES};
    /// let metrics = tracewire_testing::MetricCapture::new();
    /// let instrumentation =
    ///     tracewire_core::span::Instrumentation::global("doc").with_meter(metrics.meter("doc"));
    /// let sent = Counter::new(MESSAGING_CLIENT_SENT_MESSAGES).bind(&instrumentation, &[]);
    /// sent.add_with(1, &[KeyValue::new("error.type", "MSG_TIMED_OUT")]);
    /// let points = metrics.points("messaging.client.sent.messages");
    /// assert_eq!(points[0].attr("error.type"), Some("MSG_TIMED_OUT"));
    /// ```
    pub fn add_with(&self, value: u64, extra: &[KeyValue]) {
        let mut attributes = Vec::with_capacity(self.0.attributes.len() + extra.len());
        attributes.extend_from_slice(&self.0.attributes);
        attributes.extend_from_slice(extra);
        self.0.instrument.add(value, &attributes);
    }

    /// This set with one attribute more (a Kafka partition), as a set of its own.
    pub fn extended(&self, attribute: KeyValue) -> Self {
        BoundCounterSet(self.0.extended(attribute))
    }
}

/// An attribute set and the instrument it is measured by, bound at the first measurement: a set bound
/// and never measured would be exported as an empty point. (The SDK keeps one tracker per attribute set,
/// shared by every handle bound to it.) Clones share the handle.
#[derive(Clone)]
struct LazyBound<I, B> {
    attributes: Arc<[KeyValue]>,
    instrument: I,
    handle: Arc<OnceLock<B>>,
}

impl<I, B> LazyBound<I, B> {
    fn new(attributes: Arc<[KeyValue]>, instrument: I) -> Self {
        LazyBound {
            attributes,
            instrument,
            handle: Arc::default(),
        }
    }

    /// The same instrument with one attribute more, bound on its own first measurement.
    fn extended(&self, attribute: KeyValue) -> Self
    where
        I: Clone,
    {
        let mut attributes = Vec::with_capacity(self.attributes.len() + 1);
        attributes.extend_from_slice(&self.attributes);
        attributes.push(attribute);
        LazyBound::new(attributes.into(), self.instrument.clone())
    }

    fn handle(&self, bind: impl FnOnce(&I, &[KeyValue]) -> B) -> &B {
        self.handle
            .get_or_init(|| bind(&self.instrument, &self.attributes))
    }
}

impl<I, B> std::fmt::Debug for LazyBound<I, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyBound")
            .field("attributes", &self.attributes)
            .field("bound", &self.handle.get().is_some())
            .finish()
    }
}

/// An instrument made on first use, with the handles bound to the attribute sets it has measured.
#[derive(Debug)]
struct LazyInstrument<I, B> {
    instrument: OnceLock<I>,
    bound: BoundSets<B>,
}

impl<I, B> LazyInstrument<I, B> {
    const fn new() -> Self {
        LazyInstrument {
            instrument: OnceLock::new(),
            bound: BoundSets::new(),
        }
    }

    fn get(&self, make: impl FnOnce() -> I) -> &I {
        self.instrument.get_or_init(make)
    }

    /// Measures through the handle bound to `attributes`, or through the instrument itself when the set
    /// cannot be bound.
    fn measure(
        &self,
        attributes: &[KeyValue],
        make: impl FnOnce() -> I,
        bind: impl FnOnce(&I, &[KeyValue]) -> B,
        bound: impl FnOnce(&B),
        unbound: impl FnOnce(&I),
    ) {
        let instrument = self.get(make);
        if !self
            .bound
            .measure(attributes, || bind(instrument, attributes), bound)
        {
            unbound(instrument);
        }
    }
}

/// How many attribute sets each instrument keeps bound. A boundary records a handful (method × route ×
/// status, operation × topic); past this (attribute values that never repeat) measurements are made
/// unbound, as without the cache.
const MAX_BOUND_SETS: usize = 512;

/// Instrument handles bound to the attribute sets seen so far (OpenTelemetry's bound instruments).
///
/// The SDK looks each unbound measurement's attributes up by hashing every key and value with SipHash,
/// a tenth of an instrumented request's cost. Here a repeated set is found by a cheap hash of its text
/// and an equality check that short-cuts on shared strings (attribute keys are constants, and values
/// such as routes and topics are interned), and measured through its bound handle. The cheap hash is
/// not resistant to chosen collisions, which only matters inside the bounded set.
#[derive(Debug)]
struct BoundSets<H> {
    sets: RwLock<Option<BoundMap<H>>>,
    /// Set once the map holds `MAX_BOUND_SETS` sets: new sets are then measured unbound without taking
    /// the write lock.
    full: AtomicBool,
}

/// Bound handles by the hash of their attributes (already a hash: the map only mixes it once more).
type BoundMap<H> = HashMap<u64, Vec<(Box<[KeyValue]>, H)>, BuildHasherDefault<FxHasher>>;

impl<H> BoundSets<H> {
    const fn new() -> Self {
        BoundSets {
            sets: RwLock::new(None),
            full: AtomicBool::new(false),
        }
    }

    /// Measures through the handle bound to `attributes`, binding one with `bind` while there is room.
    /// `false` when the set is not bound (the caller measures unbound).
    fn measure(
        &self,
        attributes: &[KeyValue],
        bind: impl FnOnce() -> H,
        measure: impl FnOnce(&H),
    ) -> bool {
        let hash = hash_attributes(attributes);
        if let Ok(sets) = self.sets.read()
            && let Some(handle) = sets.as_ref().and_then(|sets| find(sets, hash, attributes))
        {
            measure(handle);
            return true;
        }
        if self.full.load(Ordering::Relaxed) {
            return false;
        }
        let Ok(mut sets) = self.sets.write() else {
            return false;
        };
        let sets = sets.get_or_insert_with(HashMap::default);
        if find(sets, hash, attributes).is_none() {
            let count: usize = sets.values().map(Vec::len).sum();
            if count >= MAX_BOUND_SETS {
                self.full.store(true, Ordering::Relaxed);
                return false;
            }
            sets.entry(hash)
                .or_default()
                .push((attributes.into(), bind()));
        }
        match find(sets, hash, attributes) {
            Some(handle) => {
                measure(handle);
                true
            }
            None => false,
        }
    }
}

fn find<'a, H>(sets: &'a BoundMap<H>, hash: u64, attributes: &[KeyValue]) -> Option<&'a H> {
    sets.get(&hash)?
        .iter()
        .find(|(bound, _)| same_attributes(bound, attributes))
        .map(|(_, handle)| handle)
}

/// A hash of the attribute values: of each text, its length and its first and last eight bytes
/// (equality settles the rest), and of numbers their value.
fn hash_attributes(attributes: &[KeyValue]) -> u64 {
    fn text(hasher: &mut FxHasher, text: &str) {
        let bytes = text.as_bytes();
        let (head, tail) = match (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
            (Some(head), Some(tail)) => (u64::from_le_bytes(*head), u64::from_le_bytes(*tail)),
            _ => {
                let short = bytes
                    .iter()
                    .fold(0u64, |word, byte| (word << 8) | u64::from(*byte));
                (short, 0)
            }
        };
        hasher.add(head ^ (bytes.len() as u64).rotate_right(8));
        hasher.add(tail);
    }
    // Keys are left out: a boundary's sets share their keys and differ in values, and equality checks
    // the keys anyway.
    let mut hasher = FxHasher::default();
    hasher.add(attributes.len() as u64);
    for attribute in attributes {
        match &attribute.value {
            Value::String(value) => text(&mut hasher, value.as_str()),
            Value::I64(number) => hasher.write_u64(*number as u64),
            Value::F64(number) => hasher.write_u64(number.to_bits()),
            Value::Bool(flag) => hasher.write_u8(u8::from(*flag)),
            // Rare in metric attributes: equality tells them apart.
            _ => hasher.write_u8(0xff),
        }
    }
    hasher.finish()
}

/// Equal keys and values, in order; strings that share their memory are equal without a comparison.
fn same_attributes(bound: &[KeyValue], attributes: &[KeyValue]) -> bool {
    fn same_text(a: &str, b: &str) -> bool {
        (a.as_ptr() == b.as_ptr() && a.len() == b.len()) || a == b
    }
    bound.len() == attributes.len()
        && bound.iter().zip(attributes).all(|(a, b)| {
            same_text(a.key.as_str(), b.key.as_str())
                && match (&a.value, &b.value) {
                    (Value::String(x), Value::String(y)) => same_text(x.as_str(), y.as_str()),
                    (Value::I64(x), Value::I64(y)) => x == y,
                    (Value::Bool(x), Value::Bool(y)) => x == y,
                    (x, y) => x == y,
                }
        })
}

/// The multiply-rotate hash of rustc's `FxHasher`: a few instructions per word.
#[derive(Default)]
struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 56));
        }
    }

    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    fn write_u32(&mut self, value: u32) {
        self.add(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.add(value);
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod bound_tests;
