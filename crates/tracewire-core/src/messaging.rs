//! Rules shared by the messaging boundaries (Kafka, RabbitMQ): where a consumer's span hangs in the
//! trace, span names, the operation types and verbs of the messaging semantic conventions, and the
//! metric sets made once per destination (and, for Kafka, per partition).
//!
//! By default a `process` span is a child of the ambient span when there is one (a worker's own span),
//! else of the producer's context from the message, so one message's journey is one trace; it always
//! links to the producer's context, which the conventions recommend and which keeps the producer
//! reachable when the ambient span wins.
//!
//! ```
//! use opentelemetry::Context;
//! use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState, TraceContextExt};
//! use tracewire_core::messaging::{ConsumerParent, process_parent};
//!
//! let producer = SpanContext::new(TraceId::from(1u128), SpanId::from(2u64), TraceFlags::SAMPLED, true, TraceState::NONE);
//! let from_message = Context::new().with_remote_span_context(producer.clone());
//! let (parent, links) = process_parent(ConsumerParent::default(), &Context::new(), &from_message);
//! assert_eq!(parent.span().span_context().span_id(), SpanId::from(2u64)); // no ambient span: the producer
//! assert_eq!(links.len(), 1);
//! ```

use std::borrow::Cow;
use std::sync::{Arc, OnceLock, RwLock};

use opentelemetry::trace::{Link, TraceContextExt};
use opentelemetry::{Context, KeyValue, StringValue};

use crate::intern::{Named, Names};
use crate::metrics::{BoundCounterSet, BoundHistogramSet, Counter, Histogram};
use crate::span::Instrumentation;

/// Where a consumer's `process` span takes its parent from. Whatever the choice, the span links to the
/// producer's context when the message carries one.
///
/// ```
/// use opentelemetry::Context;
/// use opentelemetry::trace::TraceContextExt;
/// use tracewire_core::messaging::{ConsumerParent, process_parent};
///
/// assert_eq!(ConsumerParent::default(), ConsumerParent::AmbientElseProducer);
/// // `Ambient` with no ambient span and nothing from the message: a new root, no links.
/// let (parent, links) = process_parent(ConsumerParent::Ambient, &Context::new(), &Context::new());
/// assert!(!parent.span().span_context().is_valid());
/// assert!(links.is_empty());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConsumerParent {
    /// The ambient span when there is one, else the producer's context (the default).
    #[default]
    AmbientElseProducer,
    /// Always the producer's context (when the message has one); an ambient span becomes a link.
    Producer,
    /// Always the ambient context (a new root when there is none).
    Ambient,
}

/// The parent context and links of a `process` (or `receive`) span for one message, given the ambient
/// context and the context extracted from the message.
///
/// ```
/// use opentelemetry::Context;
/// use opentelemetry::trace::{
///     SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
/// };
/// use tracewire_core::messaging::{ConsumerParent, process_parent};
///
/// let remote = |trace: u128, span: u64| {
///     let (trace, span) = (TraceId::from(trace), SpanId::from(span));
///     let sc = SpanContext::new(trace, span, TraceFlags::SAMPLED, true, TraceState::NONE);
///     Context::new().with_remote_span_context(sc)
/// };
/// let (ambient, message) = (remote(1, 10), remote(2, 20));
///
/// // The default: the ambient span is the parent, the producer is linked.
/// let (parent, links) = process_parent(ConsumerParent::default(), &ambient, &message);
/// assert_eq!(parent.span().span_context().span_id(), SpanId::from(10u64));
/// assert_eq!(links[0].span_context.span_id(), SpanId::from(20u64));
///
/// // `Producer`: the producer is the parent, and the ambient span becomes a second link.
/// let (parent, links) = process_parent(ConsumerParent::Producer, &ambient, &message);
/// assert_eq!(parent.span().span_context().span_id(), SpanId::from(20u64));
/// assert_eq!(links.len(), 2);
/// ```
pub fn process_parent(
    policy: ConsumerParent,
    ambient: &Context,
    from_message: &Context,
) -> (Context, Vec<Link>) {
    let producer = from_message.span().span_context().clone();
    let ambient_span = ambient.span().span_context().clone();
    let mut links = Vec::with_capacity(2);
    if producer.is_valid() {
        links.push(Link::with_context(producer.clone()));
    }
    let parent = match policy {
        ConsumerParent::AmbientElseProducer if ambient_span.is_valid() => ambient.clone(),
        ConsumerParent::AmbientElseProducer => from_message.clone(),
        ConsumerParent::Producer if producer.is_valid() => {
            if ambient_span.is_valid() {
                links.push(Link::with_context(ambient_span));
            }
            from_message.clone()
        }
        ConsumerParent::Producer => ambient.clone(),
        ConsumerParent::Ambient => ambient.clone(),
    };
    (parent, links)
}

/// `messaging.operation.type` values.
///
/// ```
/// use opentelemetry::KeyValue;
/// use tracewire_core::{attributes::MESSAGING_OPERATION_TYPE, messaging::operation_type};
/// let attribute = KeyValue::new(MESSAGING_OPERATION_TYPE, operation_type::PROCESS);
/// assert_eq!(attribute.value.as_str(), "process");
/// ```
pub mod operation_type {
    /// A message is created.
    ///
    /// ```
    /// assert_eq!(tracewire_core::messaging::operation_type::CREATE, "create");
    /// ```
    pub const CREATE: &str = "create";
    /// Messages are sent to the broker.
    ///
    /// ```
    /// assert_eq!(tracewire_core::messaging::operation_type::SEND, "send");
    /// ```
    pub const SEND: &str = "send";
    /// The application pulls messages.
    ///
    /// ```
    /// assert_eq!(tracewire_core::messaging::operation_type::RECEIVE, "receive");
    /// ```
    pub const RECEIVE: &str = "receive";
    /// A pushed message is processed.
    ///
    /// ```
    /// assert_eq!(tracewire_core::messaging::operation_type::PROCESS, "process");
    /// ```
    pub const PROCESS: &str = "process";
    /// Messages are acknowledged (or not).
    ///
    /// ```
    /// assert_eq!(tracewire_core::messaging::operation_type::SETTLE, "settle");
    /// ```
    pub const SETTLE: &str = "settle";
}

/// Span names per operation and destination: made once per pair, as destinations (topics, exchanges and
/// routing keys) repeat. Past 4096 pairs (destinations made per tenant or per day) each operation builds
/// its own name.
static SPAN_NAMES: Names = Names::new(4096);

/// The span name `{operation} {destination}` (semantic conventions §3.2), shared between operations on the
/// same destination, and the destination as an attribute value.
///
/// ```
/// let named = tracewire_core::messaging::span_name("process", "orders");
/// assert_eq!(named.name, "process orders");
/// assert_eq!(named.text.as_str(), "orders");
/// ```
pub fn span_name(operation: &'static str, destination: &str) -> Named {
    SPAN_NAMES.get(operation, destination, |operation, destination| {
        format!("{operation} {destination}")
    })
}

/// What every message to or from one destination shares for one operation: the span name, the
/// destination as an attribute value, and the operation's counter and duration histogram bound to its
/// metric attributes. Made once per destination and kept in [`RecentDestinations`].
///
/// ```
/// use opentelemetry::KeyValue;
/// use tracewire_core::messaging::{DestinationSets, span_name};
/// use tracewire_core::metrics::{Counter, Histogram, MESSAGING_CLIENT_CONSUMED_MESSAGES, MESSAGING_PROCESS_DURATION};
/// let instrumentation = tracewire_core::span::Instrumentation::global("doc");
/// let (consumed, duration) = (Counter::new(MESSAGING_CLIENT_CONSUMED_MESSAGES), Histogram::new(MESSAGING_PROCESS_DURATION));
/// let named = span_name("process", "orders");
/// let metric_attributes = vec![KeyValue::new("messaging.destination.name", named.text.clone())];
/// let sets = DestinationSets::new(&instrumentation, named, metric_attributes, &consumed, &duration);
/// assert_eq!(sets.name, "process orders");
/// sets.count.add(1);
/// ```
#[derive(Debug)]
pub struct DestinationSets {
    /// The span name, `{operation} {destination}`.
    pub name: Cow<'static, str>,
    /// `messaging.destination.name`.
    pub destination: StringValue,
    /// The operation's message counter (sent or consumed), bound to the metric attributes.
    pub count: BoundCounterSet,
    /// The operation's duration histogram, bound to the metric attributes.
    pub duration: BoundHistogramSet,
    /// The same sets with `messaging.destination.partition.id`, for the first [`PARTITION_SETS`]
    /// partitions, made on first use.
    partitions: OnceLock<Box<[OnceLock<PartitionSets>]>>,
}

/// How many partitions of a destination get metric sets of their own; a record of a higher partition is
/// measured with its partition too, unbound (the SDK finds its point by hashing the attributes).
pub const PARTITION_SETS: usize = 64;

/// A destination's metric sets for one partition ([`DestinationSets::partition`]).
#[derive(Debug)]
pub struct PartitionSets {
    /// The message counter, bound to the destination's attributes and the partition.
    pub count: BoundCounterSet,
    /// The duration histogram, bound to the destination's attributes and the partition.
    pub duration: BoundHistogramSet,
}

impl DestinationSets {
    /// The parts of `named` (from [`span_name`]) with `count` and `duration` bound to
    /// `metric_attributes`.
    ///
    /// ```
    /// use tracewire_core::messaging::{DestinationSets, span_name};
    /// use tracewire_core::metrics::{Counter, Histogram, MESSAGING_CLIENT_SENT_MESSAGES, MESSAGING_CLIENT_OPERATION_DURATION};
    /// let instrumentation = tracewire_core::span::Instrumentation::global("doc");
    /// let (sent, duration) = (Counter::new(MESSAGING_CLIENT_SENT_MESSAGES), Histogram::new(MESSAGING_CLIENT_OPERATION_DURATION));
    /// let sets = DestinationSets::new(&instrumentation, span_name("send", "orders"), vec![], &sent, &duration);
    /// assert_eq!(sets.destination.as_str(), "orders");
    /// ```
    pub fn new(
        instrumentation: &Instrumentation,
        named: Named,
        metric_attributes: Vec<KeyValue>,
        count: &Counter,
        duration: &Histogram,
    ) -> Self {
        DestinationSets {
            name: named.name,
            destination: named.text,
            count: count.bind(instrumentation, &metric_attributes),
            duration: duration.bind(instrumentation, metric_attributes),
            partitions: OnceLock::new(),
        }
    }

    /// The sets of partition `id` (with `messaging.destination.partition.id` = `value()`), made once;
    /// `None` past the first [`PARTITION_SETS`] partitions.
    ///
    /// ```
    /// use tracewire_core::messaging::{DestinationSets, span_name};
    /// use tracewire_core::metrics::{Counter, Histogram, MESSAGING_CLIENT_CONSUMED_MESSAGES, MESSAGING_PROCESS_DURATION};
    /// let metrics = tracewire_testing::MetricCapture::new();
    /// let instrumentation = tracewire_core::span::Instrumentation::global("doc").with_meter(metrics.meter("doc"));
    /// let (consumed, duration) = (Counter::new(MESSAGING_CLIENT_CONSUMED_MESSAGES), Histogram::new(MESSAGING_PROCESS_DURATION));
    /// let sets = DestinationSets::new(&instrumentation, span_name("process", "orders"), vec![], &consumed, &duration);
    /// sets.partition(3, || "3".into()).unwrap().count.add(1);
    /// assert!(std::ptr::eq(sets.partition(3, || unreachable!()).unwrap(), sets.partition(3, || "3".into()).unwrap()));
    /// assert!(sets.partition(64, || "64".into()).is_none());
    /// let points = metrics.points("messaging.client.consumed.messages");
    /// assert_eq!(points[0].attr("messaging.destination.partition.id"), Some("3"));
    /// ```
    pub fn partition(
        &self,
        id: i32,
        value: impl FnOnce() -> StringValue,
    ) -> Option<&PartitionSets> {
        let slot = usize::try_from(id).ok().filter(|&i| i < PARTITION_SETS)?;
        let slots = self
            .partitions
            .get_or_init(|| (0..PARTITION_SETS).map(|_| OnceLock::new()).collect());
        Some(slots[slot].get_or_init(|| {
            let attribute = KeyValue::new(
                crate::attributes::MESSAGING_DESTINATION_PARTITION_ID,
                value(),
            );
            PartitionSets {
                count: self.count.extended(attribute.clone()),
                duration: self.duration.extended(attribute),
            }
        }))
    }
}

/// How many destinations a client keeps made; past that the oldest is made again when it comes back.
const RECENT_DESTINATIONS: usize = 32;

/// A client's latest destinations (at most 32) with their [`DestinationSets`], found by a key of the
/// boundary's choosing (a topic, an exchange and routing key). Read-locked per message: clients are
/// shared across tasks and threads.
///
/// ```
/// use tracewire_core::messaging::{DestinationSets, RecentDestinations, span_name};
/// use tracewire_core::metrics::{Counter, Histogram, MESSAGING_CLIENT_CONSUMED_MESSAGES, MESSAGING_PROCESS_DURATION};
/// let instrumentation = tracewire_core::span::Instrumentation::global("doc");
/// let (consumed, duration) = (Counter::new(MESSAGING_CLIENT_CONSUMED_MESSAGES), Histogram::new(MESSAGING_PROCESS_DURATION));
/// let recent: RecentDestinations<String> = RecentDestinations::default();
/// let topic = "orders";
/// let made = || {
///     let sets = DestinationSets::new(&instrumentation, span_name("process", topic), vec![], &consumed, &duration);
///     (topic.to_owned(), sets)
/// };
/// let first = recent.get(|key| key == topic, made);
/// let again = recent.get(|key| key == topic, || unreachable!("made once"));
/// assert!(std::sync::Arc::ptr_eq(&first, &again));
/// ```
#[derive(Debug)]
pub struct RecentDestinations<K> {
    entries: RwLock<Vec<(K, Arc<DestinationSets>)>>,
}

impl<K> Default for RecentDestinations<K> {
    fn default() -> Self {
        RecentDestinations {
            entries: RwLock::new(Vec::new()),
        }
    }
}

impl<K> RecentDestinations<K> {
    /// The sets of the destination whose key `matches`, made with `make` (which returns the key too)
    /// when it is not kept.
    ///
    /// ```
    /// use tracewire_core::messaging::{DestinationSets, RecentDestinations, span_name};
    /// use tracewire_core::metrics::{Counter, Histogram, MESSAGING_CLIENT_SENT_MESSAGES, MESSAGING_CLIENT_OPERATION_DURATION};
    /// let instrumentation = tracewire_core::span::Instrumentation::global("doc");
    /// let (sent, duration) = (Counter::new(MESSAGING_CLIENT_SENT_MESSAGES), Histogram::new(MESSAGING_CLIENT_OPERATION_DURATION));
    /// let recent = RecentDestinations::default();
    /// let sets = recent.get(|key: &&str| *key == "audit", || {
    ///     ("audit", DestinationSets::new(&instrumentation, span_name("send", "audit"), vec![], &sent, &duration))
    /// });
    /// assert_eq!(sets.name, "send audit");
    /// ```
    pub fn get(
        &self,
        matches: impl Fn(&K) -> bool,
        make: impl FnOnce() -> (K, DestinationSets),
    ) -> Arc<DestinationSets> {
        let find = |entries: &[(K, Arc<DestinationSets>)]| {
            entries
                .iter()
                .rev()
                .find(|(key, _)| matches(key))
                .map(|(_, sets)| sets.clone())
        };
        if let Ok(entries) = self.entries.read()
            && let Some(found) = find(&entries)
        {
            return found;
        }
        let Ok(mut entries) = self.entries.write() else {
            return Arc::new(make().1);
        };
        if let Some(found) = find(&entries) {
            return found;
        }
        if entries.len() == RECENT_DESTINATIONS {
            entries.remove(0);
        }
        let (key, sets) = make();
        let sets = Arc::new(sets);
        entries.push((key, sets.clone()));
        sets
    }
}

/// Starts the CONSUMER `process` span of one message, whose carrier held `from_message`: its parent is
/// the one `policy` picks between the current context and the producer's ([`process_parent`]), and it
/// links to the producer.
///
/// ```
/// use opentelemetry::Context;
/// use tracewire_core::messaging::{ConsumerParent, start_process};
/// let spans = tracewire_testing::SpanCapture::new();
/// let span = start_process(&spans.instrumentation("t"), ConsumerParent::default(), "process orders".into(), vec![], &Context::new());
/// span.end(tracewire_core::span::Outcome::Success);
/// spans.spans().one("process orders").assert_kind(opentelemetry::trace::SpanKind::Consumer).assert_root();
/// ```
pub fn start_process(
    instrumentation: &Instrumentation,
    policy: ConsumerParent,
    name: Cow<'static, str>,
    attributes: Vec<KeyValue>,
    from_message: &Context,
) -> crate::span::ActiveSpan {
    let (parent, links) =
        Context::map_current(|ambient| process_parent(policy, ambient, from_message));
    instrumentation.start_with_links(
        opentelemetry::trace::SpanKind::Consumer,
        name,
        attributes,
        links,
        &parent,
    )
}

/// A message handed to the application with its `process` span, which ends (and records its duration)
/// when this is dropped: what Kafka's `TracedMessage` and RabbitMQ's `TracedDelivery` are. It derefs to
/// the library's message.
///
/// ```
/// use opentelemetry::{Context, trace::SpanKind};
/// use tracewire_core::messaging::Processed;
/// use tracewire_core::metrics::{Histogram, MESSAGING_PROCESS_DURATION};
/// use tracewire_core::operation::Operation;
///
/// let spans = tracewire_testing::SpanCapture::new();
/// let instrumentation = spans.instrumentation("t");
/// let duration = Histogram::new(MESSAGING_PROCESS_DURATION).bind(&instrumentation, vec![]);
/// let span = instrumentation.start(SpanKind::Consumer, "process orders", vec![], &Context::new());
/// let mut message = Processed::new("{\"order\":1}", Operation::bound(span, duration));
/// assert!(message.starts_with('{')); // the library's message
/// message.record_error(&std::io::Error::other("no stock"));
/// let payload: &str = message.into_inner(); // ends the span
/// spans.spans().one("process orders").assert_error("std::io::error::Error");
/// # let _ = payload;
/// ```
#[derive(Debug)]
pub struct Processed<M> {
    message: M,
    operation: crate::operation::Operation,
}

impl<M> std::ops::Deref for Processed<M> {
    type Target = M;
    fn deref(&self) -> &M {
        &self.message
    }
}

impl<M> Processed<M> {
    /// `message` with its started, measured `process` span.
    pub fn new(message: M, operation: crate::operation::Operation) -> Self {
        Processed { message, operation }
    }

    /// The `process` span's context (for spans of your own).
    pub fn context(&self) -> &Context {
        self.operation.span().context()
    }

    /// Runs `future` with the `process` span current: HTTP calls, queries and `tracing` spans inside it
    /// become its children.
    pub fn in_scope<F: std::future::Future>(
        &self,
        future: F,
    ) -> impl std::future::Future<Output = F::Output> {
        self.operation.span().in_scope(future)
    }

    /// Marks the processing failed (status Error, `error.type` = the error's type, on the span and on
    /// the duration).
    pub fn record_error<E: std::error::Error + ?Sized>(&mut self, error: &E) {
        self.operation
            .fail(crate::span::SpanError::from_error(error));
    }

    /// The plain message, ending the `process` span.
    pub fn into_inner(self) -> M {
        let Processed { message, operation } = self;
        drop(operation);
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

    fn cx(trace: u128, span: u64) -> Context {
        Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from(trace),
            SpanId::from(span),
            TraceFlags::SAMPLED,
            true,
            TraceState::NONE,
        ))
    }

    #[test]
    fn past_the_latest_destinations_the_oldest_is_made_again() {
        let instrumentation = Instrumentation::global("t");
        let counter = Counter::new(crate::metrics::MESSAGING_CLIENT_SENT_MESSAGES);
        let histogram = Histogram::new(crate::metrics::MESSAGING_CLIENT_OPERATION_DURATION);
        let recent = RecentDestinations::default();
        let made = std::cell::Cell::new(0);
        let get = |topic: usize| {
            recent.get(
                |key| *key == topic,
                || {
                    made.set(made.get() + 1);
                    let named = span_name("send", &format!("t{topic}"));
                    let sets =
                        DestinationSets::new(&instrumentation, named, vec![], &counter, &histogram);
                    (topic, sets)
                },
            )
        };
        for topic in 0..RECENT_DESTINATIONS {
            assert_eq!(get(topic).name, format!("send t{topic}"));
        }
        assert_eq!(get(0).name, "send t0");
        assert_eq!(
            get(RECENT_DESTINATIONS).name,
            format!("send t{RECENT_DESTINATIONS}")
        );
        assert_eq!(get(0).name, "send t0", "the oldest, let go, is made again");
        assert_eq!(made.get(), RECENT_DESTINATIONS + 2);
    }

    #[test]
    fn policies() {
        let ambient = cx(1, 10);
        let message = cx(2, 20);
        let id = |c: &Context| c.span().span_context().span_id();

        let (p, l) = process_parent(ConsumerParent::AmbientElseProducer, &ambient, &message);
        assert_eq!((id(&p), l.len()), (SpanId::from(10u64), 1));
        let (p, l) = process_parent(
            ConsumerParent::AmbientElseProducer,
            &Context::new(),
            &message,
        );
        assert_eq!((id(&p), l.len()), (SpanId::from(20u64), 1));
        let (p, l) = process_parent(ConsumerParent::Producer, &ambient, &message);
        assert_eq!((id(&p), l.len()), (SpanId::from(20u64), 2));
        let (p, l) = process_parent(ConsumerParent::Ambient, &Context::new(), &message);
        assert_eq!((id(&p), l.len()), (SpanId::INVALID, 1));
        let (p, l) = process_parent(ConsumerParent::default(), &Context::new(), &Context::new());
        assert_eq!((id(&p), l.len()), (SpanId::INVALID, 0));
    }
}

/// Which of a messaging client's metrics are on: the same switches, under the same names, on Kafka's
/// and RabbitMQ's clients (`duration_metric`, `count_metric`). Both on by default.
///
/// ```
/// let switches = tracewire_core::messaging::MetricSwitches::default();
/// assert!(switches.duration && switches.count);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricSwitches {
    /// `messaging.client.operation.duration` and `messaging.process.duration`.
    pub duration: bool,
    /// `messaging.client.sent.messages` and `messaging.client.consumed.messages`.
    pub count: bool,
}

impl Default for MetricSwitches {
    fn default() -> Self {
        MetricSwitches {
            duration: true,
            count: true,
        }
    }
}

/// A messaging client's four instruments, each on or off as its [`MetricSwitches`] say (an instrument
/// switched off records into the no-op meter: the code that records stays the same).
///
/// ```
/// use tracewire_core::messaging::{ClientMetrics, MetricSwitches};
/// let metrics = ClientMetrics::new(MetricSwitches { duration: true, count: false });
/// # let _ = metrics;
/// ```
#[derive(Debug)]
pub struct ClientMetrics {
    /// `messaging.client.operation.duration` (send, settle, commit).
    pub operation_duration: std::sync::Arc<crate::metrics::Histogram>,
    /// `messaging.process.duration`.
    pub process_duration: std::sync::Arc<crate::metrics::Histogram>,
    /// `messaging.client.sent.messages`, counted after the outcome, with `error.type` on failure.
    pub sent: crate::metrics::Counter,
    /// `messaging.client.consumed.messages`, counted when a message is received.
    pub consumed: crate::metrics::Counter,
    /// The switches these were made with.
    pub switches: MetricSwitches,
}

impl ClientMetrics {
    /// The instruments `switches` ask for.
    ///
    /// ```
    /// let metrics = tracewire_core::messaging::ClientMetrics::new(Default::default());
    /// assert!(metrics.switches.count);
    /// ```
    pub fn new(switches: MetricSwitches) -> Self {
        use crate::metrics::{
            Counter, Histogram, MESSAGING_CLIENT_CONSUMED_MESSAGES,
            MESSAGING_CLIENT_OPERATION_DURATION, MESSAGING_CLIENT_SENT_MESSAGES,
            MESSAGING_PROCESS_DURATION,
        };
        let histogram = |spec| {
            std::sync::Arc::new(if switches.duration {
                Histogram::new(spec)
            } else {
                Histogram::off(spec)
            })
        };
        let counter = |spec| {
            if switches.count {
                Counter::new(spec)
            } else {
                Counter::off(spec)
            }
        };
        ClientMetrics {
            operation_duration: histogram(MESSAGING_CLIENT_OPERATION_DURATION),
            process_duration: histogram(MESSAGING_PROCESS_DURATION),
            sent: counter(MESSAGING_CLIENT_SENT_MESSAGES),
            consumed: counter(MESSAGING_CLIENT_CONSUMED_MESSAGES),
            switches,
        }
    }
}
