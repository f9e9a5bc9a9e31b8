//! # tracewire-kafka
//!
//! OpenTelemetry spans for Kafka through [rdkafka](https://docs.rs/rdkafka), with the trace context
//! carried in record headers, following the messaging semantic conventions 1.44.
//!
//! ```no_run
//! # async fn demo() -> Result<(), rdkafka::error::KafkaError> {
//! use std::time::Duration;
//! use rdkafka::ClientConfig;
//! use rdkafka::consumer::{Consumer, StreamConsumer};
//! use rdkafka::producer::{FutureProducer, FutureRecord};
//! use tracewire_kafka::{TracedConsumer, TracedProducer};
//!
//! let producer: FutureProducer = ClientConfig::new().set("bootstrap.servers", "127.0.0.1:9092").create()?;
//! let producer = TracedProducer::new(producer);
//! // A PRODUCER span `send orders`, its context in the record headers, ended by the delivery report.
//! producer
//!     .send(FutureRecord::to("orders").key("42").payload("{}"), Duration::from_secs(5))
//!     .await
//!     .map_err(|(e, _)| e)?;
//!
//! let consumer: StreamConsumer = ClientConfig::new()
//!     .set("bootstrap.servers", "127.0.0.1:9092")
//!     .set("group.id", "shipping")
//!     .create()?;
//! consumer.subscribe(&["orders"])?;
//! let consumer = TracedConsumer::new(consumer, "shipping");
//! loop {
//!     // A CONSUMER span `process orders` per message: child of the ambient span if any, else of the
//!     // producer; always a link to the producer.
//!     let message = consumer.recv().await?;
//!     message.in_scope(async { /* ship it */ }).await;
//! }
//! # }
//! ```
//!
//! ## Spans
//!
//! | operation | span | kind |
//! |---|---|---|
//! | [`TracedProducer::send`] | `send {topic}`, ends at the delivery report; a failed delivery is an error with the Kafka error code as `error.type` (`UNKNOWN_PARTITION`, `MSG_TIMED_OUT`, …) | PRODUCER |
//! | [`TracedConsumer::recv`] | `process {topic}` around the application's processing, until the [`TracedMessage`] is dropped | CONSUMER |
//! | [`TracedConsumer::process_batch`] | `process {topic}` over several messages, one link per message (with its partition and offset), `messaging.batch.message_count` | CONSUMER |
//! | [`TracedConsumer::commit_message`] | `commit {topic}`, `messaging.operation.type = settle` | CLIENT |
//! | [`TracedBaseProducer::send`], [`TracedThreadedProducer::send`] | `send {topic}`, ended at the delivery report by [`TracingProducerContext`] (which then calls the application's own context with its own opaque); a record rdkafka refuses (`QUEUE_FULL`) fails its span now and comes back to the caller | PRODUCER |
//! | [`TracedBaseConsumer::poll`] | `process {topic}`, as for `recv` | CONSUMER |
//!
//! Attributes: `messaging.system = kafka`, `messaging.operation.name`/`type`, `messaging.destination.name`,
//! `messaging.destination.partition.id`, `messaging.kafka.offset`, `messaging.kafka.message.key` (when the
//! key is UTF-8), `messaging.kafka.message.tombstone` (only when true), `messaging.message.body.size`,
//! `messaging.consumer.group.name`, `messaging.client.id` and `server.address` when configured.
//!
//! The context goes into the record headers with whatever propagator is installed (`OTEL_PROPAGATORS`:
//! W3C, B3, Jaeger), through the core's one injection rule: the user's headers are kept, and a stale
//! entry the propagator owns (a re-sent record's `traceparent`, `b3`, `uberctx-*`, …) is replaced, never
//! duplicated. Binary or non-UTF-8 header values are never interpreted: a message with odd headers starts
//! no trace and has no link, and reaches the application unchanged.

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;

use opentelemetry::trace::{Link, SpanKind, TraceContextExt};
use opentelemetry::{Context, KeyValue, StringValue};
use rdkafka::consumer::{CommitMode, Consumer, ConsumerContext, StreamConsumer};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::{BorrowedMessage, Message, OwnedMessage, ToBytes};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use tracewire_core::attributes::*;
use tracewire_core::intern::{partition_id, shared};
use tracewire_core::messaging::{
    ClientMetrics, DestinationSets, MetricSwitches, RecentDestinations, operation_type, span_name,
    start_process,
};
use tracewire_core::operation::Operation;
use tracewire_core::span::{Instrumentation, SpanError, VariantCase, error_type_from_variant};

mod base;
mod carrier;
mod settings;

pub use base::{
    TracedBaseConsumer, TracedBaseProducer, TracedThreadedProducer, TracingProducerContext,
};
pub use carrier::HeaderExtractor;
pub use settings::bootstrap_server;
/// Where a consumer's `process` span takes its parent from: the same policy, under the same name, for
/// every messaging boundary.
pub use tracewire_core::messaging::ConsumerParent;
/// A message with its `process` span: the one wrapper every messaging boundary hands out.
pub use tracewire_core::messaging::Processed;

const SYSTEM: &str = "kafka";

#[derive(Debug)]
struct Config {
    instrumentation: Instrumentation,
    client_id: Option<StringValue>,
    address: Option<StringValue>,
    port: Option<u16>,
    parent: ConsumerParent,
    metrics: ClientMetrics,
    /// The latest topics sent to or consumed from, made once each, by operation, consumer group and topic.
    recent_topics: RecentDestinations<(Direction, Option<StringValue>, StringValue)>,
}

/// Which way records go, for the per-topic parts kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    Send,
    Process,
}

/// The span name and bound metric sets every record of `topic` shares for `operation`, made once.
fn topic_sets(
    config: &Config,
    direction: Direction,
    group: Option<&StringValue>,
    topic: &str,
) -> Arc<DestinationSets> {
    let topic = config.instrumentation.limits().bound(topic);
    config.recent_topics.get(
        |(d, g, t)| *d == direction && t.as_str() == topic && g.as_ref() == group,
        || {
            let (verb, kind, count, duration) = match direction {
                Direction::Send => (
                    "send",
                    operation_type::SEND,
                    &config.metrics.sent,
                    &config.metrics.operation_duration,
                ),
                Direction::Process => (
                    "process",
                    operation_type::PROCESS,
                    &config.metrics.consumed,
                    &config.metrics.process_duration,
                ),
            };
            let named = span_name(verb, topic);
            let mut metric_attributes = config.common_attributes(verb, kind, &named.text);
            if let Some(group) = group {
                metric_attributes.push(KeyValue::new(MESSAGING_CONSUMER_GROUP_NAME, group.clone()));
            }
            let key = (direction, group.cloned(), named.text.clone());
            let sets = DestinationSets::new(
                &config.instrumentation,
                named,
                metric_attributes,
                count,
                duration,
            );
            (key, sets)
        },
    )
}

impl Config {
    fn new(instrumentation: Instrumentation) -> Self {
        Config {
            instrumentation,
            client_id: None,
            address: None,
            port: None,
            parent: ConsumerParent::default(),
            metrics: ClientMetrics::new(MetricSwitches::default()),
            recent_topics: RecentDestinations::default(),
        }
    }

    /// A copy of `config` changed by `f`: builders share one `Arc` until something is set.
    fn edited(config: &Arc<Config>, f: impl FnOnce(&mut Config)) -> Arc<Config> {
        let mut copy = config.copy();
        f(&mut copy);
        Arc::new(copy)
    }

    fn copy(&self) -> Self {
        let mut config = Config::new(self.instrumentation.clone());
        config.client_id = self.client_id.clone();
        config.address = self.address.clone();
        config.port = self.port;
        config.parent = self.parent;
        config.metrics = ClientMetrics::new(self.metrics.switches);
        config
    }

    /// Attributes every span and metric point of this client carries for `operation` on `topic`.
    fn common_attributes(
        &self,
        operation: &'static str,
        kind: &'static str,
        topic: &StringValue,
    ) -> Vec<KeyValue> {
        let mut attributes = Vec::with_capacity(12);
        attributes.push(KeyValue::new(MESSAGING_SYSTEM, SYSTEM));
        attributes.push(KeyValue::new(MESSAGING_OPERATION_NAME, operation));
        attributes.push(KeyValue::new(MESSAGING_OPERATION_TYPE, kind));
        attributes.push(KeyValue::new(MESSAGING_DESTINATION_NAME, topic.clone()));
        if let Some(id) = &self.client_id {
            attributes.push(KeyValue::new(MESSAGING_CLIENT_ID, id.clone()));
        }
        if let Some(address) = &self.address {
            attributes.push(KeyValue::new(SERVER_ADDRESS, address.clone()));
            if let Some(port) = self.port {
                attributes.push(KeyValue::new(SERVER_PORT, i64::from(port)));
            }
        }
        attributes
    }
}

/// `error.type` of a Kafka error: the error code in Kafka's own upper snake case
/// (`UNKNOWN_TOPIC_OR_PARTITION`), else the error's variant.
///
/// ```
/// use rdkafka::error::KafkaError;
/// use rdkafka::types::RDKafkaErrorCode;
/// let e = KafkaError::MessageProduction(RDKafkaErrorCode::UnknownTopicOrPartition);
/// assert_eq!(tracewire_kafka::error_type(&e), "UNKNOWN_TOPIC_OR_PARTITION");
/// ```
pub fn error_type(error: &KafkaError) -> String {
    let name = match error.rdkafka_error_code() {
        Some(code) => format!("{code:?}"),
        None => format!("{error:?}"),
    };
    error_type_from_variant(&name, VariantCase::UpperSnake, "KafkaError")
}

/// A [`FutureProducer`] whose sends are traced.
///
/// ```no_run
/// # fn demo(producer: rdkafka::producer::FutureProducer) {
/// let producer = tracewire_kafka::TracedProducer::new(producer).with_client_id("checkout").with_server("127.0.0.1", 9092);
/// # let _ = producer; }
/// ```
#[derive(Clone)]
pub struct TracedProducer {
    producer: FutureProducer,
    config: Arc<Config>,
}

impl std::fmt::Debug for TracedProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracedProducer")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl TracedProducer {
    /// Traces `producer` through the global providers.
    pub fn new(producer: FutureProducer) -> Self {
        TracedProducer {
            producer,
            config: Arc::new(Config::new(Instrumentation::global("tracewire-kafka"))),
        }
    }

    /// Creates the producer from `config` and traces it through the global providers, recording its
    /// `client.id` and first bootstrap server (see [`bootstrap_server`]).
    ///
    /// ```no_run
    /// let producer = tracewire_kafka::TracedProducer::from_config(
    ///     rdkafka::ClientConfig::new().set("bootstrap.servers", "kafka:9092").set("client.id", "checkout"),
    /// )?;
    /// # Ok::<(), rdkafka::error::KafkaError>(())
    /// ```
    pub fn from_config(config: &rdkafka::ClientConfig) -> KafkaResult<Self> {
        let mut traced = TracedProducer::new(config.create()?);
        traced.config = Config::edited(&traced.config, |c| c.read(config));
        Ok(traced)
    }

    settings::client_options!();

    /// The plain producer.
    pub fn inner(&self) -> &FutureProducer {
        &self.producer
    }

    /// Sends like [`FutureProducer::send`], in a `send {topic}` PRODUCER span whose context goes into the
    /// record headers. The span ends with the delivery report: partition and offset on success, the
    /// Kafka error code as `error.type` on failure.
    pub async fn send<K, P, T>(
        &self,
        record: FutureRecord<'_, K, P>,
        queue_timeout: T,
    ) -> Result<(i32, i64), (KafkaError, OwnedMessage)>
    where
        K: ToBytes + ?Sized,
        P: ToBytes + ?Sized,
        T: Into<Timeout>,
    {
        let (operation, headers) = start_send(
            &self.config,
            record.topic,
            record.key.map(ToBytes::to_bytes),
            record.payload.map(ToBytes::to_bytes),
            record.partition,
            record.headers.as_ref(),
        );
        let record = FutureRecord {
            headers: Some(headers),
            ..record
        };
        let result = operation
            .span()
            .in_scope(self.producer.send(record, queue_timeout))
            .await;
        match result {
            Ok(delivery) => {
                finish_send(operation, Ok((delivery.partition, delivery.offset)));
                Ok((delivery.partition, delivery.offset))
            }
            Err((error, message)) => {
                finish_send(operation, Err(&error));
                Err((error, message))
            }
        }
    }
}

/// Starts the `send {topic}` PRODUCER span of one record and returns it with the record's headers
/// plus the span's context (user headers kept, stale context headers replaced).
fn start_send(
    config: &Config,
    topic: &str,
    key: Option<&[u8]>,
    payload: Option<&[u8]>,
    partition: Option<i32>,
    headers: Option<&rdkafka::message::OwnedHeaders>,
) -> (SendOperation, rdkafka::message::OwnedHeaders) {
    let limits = config.instrumentation.limits();
    let sets = topic_sets(config, Direction::Send, None, topic);
    let metric_attributes = sets.duration.attributes();
    let mut attributes = Vec::with_capacity(metric_attributes.len() + 4);
    attributes.extend_from_slice(metric_attributes);
    if let Some(key) = key
        && let Ok(key) = std::str::from_utf8(key)
    {
        attributes.push(KeyValue::new(
            MESSAGING_KAFKA_MESSAGE_KEY,
            limits.bound(key).to_owned(),
        ));
    }
    match payload {
        Some(payload) => {
            attributes.push(KeyValue::new(
                MESSAGING_MESSAGE_BODY_SIZE,
                payload.len() as i64,
            ));
        }
        None => attributes.push(KeyValue::new(MESSAGING_KAFKA_MESSAGE_TOMBSTONE, true)),
    }
    if let Some(partition) = partition {
        attributes.push(KeyValue::new(
            MESSAGING_DESTINATION_PARTITION_ID,
            partition_id(partition),
        ));
    }
    let span = Context::map_current(|cx| {
        config
            .instrumentation
            .start(SpanKind::Producer, sets.name.clone(), attributes, cx)
    });
    let headers = carrier::inject(span.context(), headers);
    let operation = Operation::bound(span, sets.duration.clone());
    (SendOperation { operation, sets }, headers)
}

/// A send in flight: its span, measured, and its topic's metric sets, whose partition the delivery
/// report names.
pub(crate) struct SendOperation {
    operation: Operation,
    sets: Arc<DestinationSets>,
}

impl SendOperation {
    /// The send span.
    fn span(&self) -> &tracewire_core::span::ActiveSpan {
        self.operation.span()
    }
}

/// Ends a send span with its delivery report: partition and offset, or the error. The message is
/// counted now, with its outcome: by the partition it went to, or with the `error.type` that kept it.
fn finish_send(send: SendOperation, delivery: Result<(i32, i64), &KafkaError>) {
    let SendOperation {
        mut operation,
        sets,
    } = send;
    match delivery {
        Ok((partition, offset)) => {
            let partition_value = partition_id(partition);
            operation.span().set_attributes([
                KeyValue::new(MESSAGING_DESTINATION_PARTITION_ID, partition_value.clone()),
                KeyValue::new(MESSAGING_KAFKA_OFFSET, offset),
            ]);
            match sets.partition(partition, || partition_value.clone()) {
                Some(by_partition) => {
                    operation.rebind(by_partition.duration.clone());
                    by_partition.count.add(1);
                }
                None => {
                    let attribute =
                        KeyValue::new(MESSAGING_DESTINATION_PARTITION_ID, partition_value);
                    sets.count.add_with(1, std::slice::from_ref(&attribute));
                    operation.push_metric_attribute(attribute);
                }
            }
        }
        Err(error) => {
            let error = SpanError::classified(error_type(error), error);
            sets.count.add_with(1, &[error.attribute()]);
            operation.fail(error);
        }
    }
}

/// A [`StreamConsumer`] whose messages come with `process` spans.
///
/// ```no_run
/// # fn demo(consumer: rdkafka::consumer::StreamConsumer) {
/// let consumer = tracewire_kafka::TracedConsumer::new(consumer, "shipping");
/// # let _ = consumer; }
/// ```
pub struct TracedConsumer<C: ConsumerContext + 'static = rdkafka::consumer::DefaultConsumerContext>
{
    consumer: StreamConsumer<C>,
    group: StringValue,
    config: Arc<Config>,
}

impl<C: ConsumerContext + 'static> std::fmt::Debug for TracedConsumer<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracedConsumer")
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

impl TracedConsumer {
    /// Creates the consumer from `config` and traces it through the global providers, recording its
    /// `group.id`, `client.id` and first bootstrap server (see [`bootstrap_server`]).
    ///
    /// ```no_run
    /// let consumer = tracewire_kafka::TracedConsumer::from_config(
    ///     rdkafka::ClientConfig::new().set("bootstrap.servers", "kafka:9092").set("group.id", "shipping"),
    /// )?;
    /// # Ok::<(), rdkafka::error::KafkaError>(())
    /// ```
    pub fn from_config(config: &rdkafka::ClientConfig) -> KafkaResult<Self> {
        Self::from_config_and_context(config, rdkafka::consumer::DefaultConsumerContext)
    }
}

impl<C: ConsumerContext + 'static> TracedConsumer<C> {
    /// Traces `consumer` (of consumer group `group`) through the global providers.
    pub fn new(consumer: StreamConsumer<C>, group: impl Into<String>) -> Self {
        TracedConsumer {
            consumer,
            group: shared(group.into()),
            config: Arc::new(Config::new(Instrumentation::global("tracewire-kafka"))),
        }
    }

    /// Like [`from_config`](TracedConsumer::from_config), with the application's consumer context.
    pub fn from_config_and_context(
        config: &rdkafka::ClientConfig,
        context: C,
    ) -> KafkaResult<Self> {
        let mut traced = TracedConsumer {
            consumer: config.create_with_context(context)?,
            group: settings::group(config),
            config: Arc::new(Config::new(Instrumentation::global("tracewire-kafka"))),
        };
        traced.config = Config::edited(&traced.config, |c| c.read(config));
        Ok(traced)
    }

    settings::consumer_options!();

    /// The plain consumer (subscribe, assign, seek, …).
    pub fn inner(&self) -> &StreamConsumer<C> {
        &self.consumer
    }

    /// The next message, with its `process` span started (it ends when the message is dropped).
    pub async fn recv(&self) -> KafkaResult<TracedMessage<'_>> {
        let message = self.consumer.recv().await?;
        Ok(processed(&self.config, &self.group, message))
    }

    /// One `process` span over `messages` (a batch the application polled), with one link per message to
    /// its producer carrying the message's partition and offset, and `messaging.batch.message_count`.
    /// Run the batch's processing in [`BatchSpan::in_scope`]; the span ends when the guard is dropped.
    pub fn process_batch<M: Message>(&self, messages: &[M]) -> BatchSpan {
        let config = &self.config;
        let limits = config.instrumentation.limits();
        let first_topic = messages.first().map(|m| m.topic()).unwrap_or("");
        let same_topic = messages.iter().all(|m| m.topic() == first_topic);
        let topic = StringValue::from(
            limits
                .bound(if same_topic { first_topic } else { "" })
                .to_owned(),
        );
        let mut metric_attributes =
            config.common_attributes("process", operation_type::PROCESS, &topic);
        if !same_topic || messages.is_empty() {
            metric_attributes.retain(|kv| kv.key.as_str() != MESSAGING_DESTINATION_NAME);
        }
        metric_attributes.push(KeyValue::new(
            MESSAGING_CONSUMER_GROUP_NAME,
            self.group.clone(),
        ));
        let mut attributes = metric_attributes.clone();
        attributes.push(KeyValue::new(
            MESSAGING_BATCH_MESSAGE_COUNT,
            messages.len() as i64,
        ));
        let links: Vec<Link> = messages
            .iter()
            .filter_map(|m| {
                let producer = carrier::extract(m.headers()).span().span_context().clone();
                producer.is_valid().then(|| {
                    Link::new(
                        producer,
                        vec![
                            KeyValue::new(
                                MESSAGING_DESTINATION_PARTITION_ID,
                                partition_id(m.partition()),
                            ),
                            KeyValue::new(MESSAGING_KAFKA_OFFSET, m.offset()),
                        ],
                        0,
                    )
                })
            })
            .collect();
        let name = if same_topic && !messages.is_empty() {
            span_name("process", topic.as_str()).name
        } else {
            Cow::Borrowed("process")
        };
        let span = Context::map_current(|cx| {
            config
                .instrumentation
                .start_with_links(SpanKind::Consumer, name, attributes, links, cx)
        });
        config.metrics.consumed.add(
            &config.instrumentation,
            messages.len() as u64,
            &metric_attributes,
        );
        BatchSpan(Operation::new(
            span,
            config.instrumentation.clone(),
            config.metrics.process_duration.clone(),
            metric_attributes,
        ))
    }

    /// Commits `message`'s offset like [`Consumer::commit_message`], in a `commit {topic}` settle span.
    pub fn commit_message(&self, message: &TracedMessage<'_>, mode: CommitMode) -> KafkaResult<()> {
        let config = &self.config;
        let named = span_name(
            "commit",
            config.instrumentation.limits().bound(message.topic()),
        );
        let topic = named.text;
        let mut metric_attributes =
            config.common_attributes("commit", operation_type::SETTLE, &topic);
        metric_attributes.push(KeyValue::new(
            MESSAGING_CONSUMER_GROUP_NAME,
            self.group.clone(),
        ));
        let mut attributes = metric_attributes.clone();
        attributes.push(KeyValue::new(
            MESSAGING_DESTINATION_PARTITION_ID,
            partition_id(message.partition()),
        ));
        attributes.push(KeyValue::new(MESSAGING_KAFKA_OFFSET, message.offset()));
        let span = config.instrumentation.start(
            SpanKind::Client,
            named.name,
            attributes,
            message.context(),
        );
        let mut operation = Operation::new(
            span,
            config.instrumentation.clone(),
            config.metrics.operation_duration.clone(),
            metric_attributes,
        );
        let result = self.consumer.commit_message(message, mode);
        if let Err(error) = &result {
            operation.fail(SpanError::classified(error_type(error), error));
        }
        result
    }
}

/// The span of a batch from [`TracedConsumer::process_batch`]; ends when dropped.
///
/// ```no_run
/// use rdkafka::Message;
/// # async fn demo(consumer: tracewire_kafka::TracedConsumer) -> Result<(), Box<dyn std::error::Error>> {
/// // A batch polled with the plain consumer…
/// let mut batch = Vec::new();
/// while batch.len() < 100 {
///     batch.push(consumer.inner().recv().await?.detach());
/// }
/// // …processed under one `process` span linked to each message's producer.
/// let mut span = consumer.process_batch(&batch);
/// let stored = span
///     .in_scope(async {
///         let bytes: usize = batch.iter().filter_map(|m| m.payload()).map(<[u8]>::len).sum();
///         std::fs::write("/tmp/batch.len", bytes.to_string())
///     })
///     .await;
/// if let Err(error) = &stored {
///     span.record_error(error);
/// }
/// drop(span); // ends the span
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct BatchSpan(Operation);

impl BatchSpan {
    /// The span's context.
    pub fn context(&self) -> &Context {
        self.0.span().context()
    }

    /// Runs `future` with the batch span current.
    pub fn in_scope<F: Future>(&self, future: F) -> impl Future<Output = F::Output> {
        self.0.span().in_scope(future)
    }

    /// Marks the batch's processing failed.
    pub fn record_error<E: std::error::Error + ?Sized>(&mut self, error: &E) {
        self.0.fail(SpanError::from_error(error));
    }
}

/// A message handed to the application, with its `process` span (ended when this is dropped). Derefs to
/// the rdkafka [`BorrowedMessage`].
///
/// ```no_run
/// use rdkafka::Message;
/// use rdkafka::consumer::CommitMode;
/// # async fn ship(_order: Option<&[u8]>) -> Result<(), std::io::Error> { Ok(()) }
/// # async fn demo(consumer: tracewire_kafka::TracedConsumer) -> Result<(), rdkafka::error::KafkaError> {
/// let mut message = consumer.recv().await?;
/// // It derefs to rdkafka's `BorrowedMessage`.
/// println!("{} partition {} offset {}", message.topic(), message.partition(), message.offset());
/// // Work run in `in_scope` (HTTP calls, queries, `tracing` spans) is a child of the `process` span.
/// let shipped = message.in_scope(ship(message.payload())).await;
/// if let Err(error) = shipped {
///     message.record_error(&error);
/// }
/// consumer.commit_message(&message, CommitMode::Async)?;
/// drop(message); // ends the `process` span
/// # Ok(())
/// # }
/// ```
pub type TracedMessage<'a> = Processed<BorrowedMessage<'a>>;

/// Starts the `process` span of `message` and hands it over with it.
pub(crate) fn processed<'a>(
    config: &Config,
    group: &StringValue,
    message: BorrowedMessage<'a>,
) -> TracedMessage<'a> {
    let limits = config.instrumentation.limits();
    let from = topic_sets(config, Direction::Process, Some(group), message.topic());
    let metric_attributes = from.duration.attributes();
    let mut attributes = Vec::with_capacity(metric_attributes.len() + 4);
    attributes.extend_from_slice(metric_attributes);
    attributes.push(KeyValue::new(
        MESSAGING_DESTINATION_PARTITION_ID,
        partition_id(message.partition()),
    ));
    attributes.push(KeyValue::new(MESSAGING_KAFKA_OFFSET, message.offset()));
    if let Some(key) = message.key()
        && let Ok(key) = std::str::from_utf8(key)
    {
        attributes.push(KeyValue::new(
            MESSAGING_KAFKA_MESSAGE_KEY,
            limits.bound(key).to_owned(),
        ));
    }
    match message.payload() {
        Some(payload) => attributes.push(KeyValue::new(
            MESSAGING_MESSAGE_BODY_SIZE,
            payload.len() as i64,
        )),
        None => attributes.push(KeyValue::new(MESSAGING_KAFKA_MESSAGE_TOMBSTONE, true)),
    }
    let from_message = carrier::extract(message.headers());
    let span = start_process(
        &config.instrumentation,
        config.parent,
        from.name.clone(),
        attributes,
        &from_message,
    );
    // Counted when received, by partition, as the conventions say.
    let partition = message.partition();
    let operation = match from.partition(partition, || partition_id(partition)) {
        Some(by_partition) => {
            by_partition.count.add(1);
            Operation::bound(span, by_partition.duration.clone())
        }
        None => {
            let attribute =
                KeyValue::new(MESSAGING_DESTINATION_PARTITION_ID, partition_id(partition));
            from.count.add_with(1, std::slice::from_ref(&attribute));
            let mut operation = Operation::bound(span, from.duration.clone());
            operation.push_metric_attribute(attribute);
            operation
        }
    };
    Processed::new(message, operation)
}
