//! # tracewire-lapin
//!
//! OpenTelemetry spans for RabbitMQ through [lapin](https://docs.rs/lapin), with the trace context
//! carried in AMQP message headers, following the messaging semantic conventions 1.44.
//!
//! ```no_run
//! # async fn demo() -> lapin::Result<()> {
//! use futures_util::StreamExt;
//! use lapin::{BasicProperties, options::*, types::FieldTable};
//!
//! let connection = tracewire_lapin::connect("amqp://guest:guest@127.0.0.1:5672/%2f", Default::default()).await?;
//! let channel = connection.create_channel().await?;
//!
//! // Publish: a PRODUCER span `publish orders:created`, its context in the message headers.
//! channel
//!     .basic_publish("orders".into(), "created".into(), BasicPublishOptions::default(), b"{}", BasicProperties::default())
//!     .await?;
//!
//! // Consume: a CONSUMER span `process orders:created:emails` per delivery, linked to the producer.
//! let mut consumer = channel
//!     .basic_consume("emails".into(), "mailer".into(), BasicConsumeOptions::default(), FieldTable::default())
//!     .await?;
//! while let Some(delivery) = consumer.next().await {
//!     let delivery = delivery?;
//!     delivery.in_scope(async { /* send the email */ }).await;
//!     delivery.ack(BasicAckOptions::default()).await?; // an `ack` event on the process span
//! } // the process span ends when the delivery is dropped
//! # Ok(()) }
//! ```
//!
//! ## Spans
//!
//! | operation | span | kind | notes |
//! |---|---|---|---|
//! | [`TracedChannel::basic_publish`] | `publish {destination}` | PRODUCER | context injected into the headers; with publisher confirms the span ends at the confirm, and a nack or a returned message is an error |
//! | [`TracedConsumer`] delivery | `process {destination}` | CONSUMER | child of the ambient span if any, else of the producer's context; always a link to the producer's context ([`ConsumerParent`]) |
//! | [`TracedDelivery::ack`] / `nack` / `reject` | an `ack`/`nack`/`reject` event on the process span; with [`TracedChannel::with_settle_spans`] a CLIENT span `ack {destination}` … | CLIENT | `messaging.operation.type = settle`, child of the process span |
//! | [`TracedChannel::basic_get`] | `receive {destination}` (`receive {queue}` when the queue is empty) | CLIENT | linked to the message's producer; `messaging.destination.name` is set when the get returns, as the exchange and routing key are known only then |
//!
//! Destinations follow §3.5: `{exchange}:{routing_key}` for publishing (`amq.default` for the default
//! exchange without a routing key), `{exchange}:{routing_key}:{queue}` for consuming, empty parts left
//! out and a routing key equal to the queue named once. Attributes: `messaging.system = rabbitmq`,
//! `messaging.operation.name`/`type`, `messaging.destination.name`,
//! `messaging.rabbitmq.destination.routing_key`, `messaging.rabbitmq.message.delivery_tag`,
//! `messaging.rabbitmq.message.redelivered` (tracewire's own), `messaging.message.id`,
//! `messaging.message.conversation_id` (the correlation id), `messaging.message.body.size`,
//! `server.address`, `server.port`.
//!
//! Metrics: `messaging.client.operation.duration` (publish, receive, settle), `messaging.process.duration`,
//! `messaging.client.sent.messages`, `messaging.client.consumed.messages`.
//!
//! Headers of any AMQP type are left exactly as they were; the payload is never read.

mod carrier;
mod consumer;

use consumer::{delivery_attributes, extract};

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use lapin::message::BasicGetMessage;
use lapin::options::{BasicConsumeOptions, BasicGetOptions, BasicPublishOptions};

use lapin::types::{FieldTable, ShortString};
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, PublisherConfirm,
};
use opentelemetry::trace::{SpanKind, TraceContextExt};
use opentelemetry::{Context, KeyValue, StringValue};
use tracewire_core::attributes::*;
use tracewire_core::intern::{Repeated, repeated, shared};
use tracewire_core::messaging::{
    ClientMetrics, DestinationSets, MetricSwitches, RecentDestinations, operation_type, span_name,
};
use tracewire_core::operation::Operation;
use tracewire_core::span::{Instrumentation, SpanError, VariantCase, error_type_from_variant};

pub use carrier::{HeaderExtractor, HeaderInjector};
pub use consumer::{TracedConsumer, TracedDelivery};
/// Where a consumer's `process` span takes its parent from: the same policy, under the same name, for
/// every messaging boundary.
pub use tracewire_core::messaging::ConsumerParent;
/// A message with its `process` span: the one wrapper every messaging boundary hands out.
pub use tracewire_core::messaging::Processed;

const SYSTEM: &str = "rabbitmq";

#[derive(Debug)]
struct Config {
    instrumentation: Instrumentation,
    address: Option<StringValue>,
    port: Option<u16>,
    parent: ConsumerParent,
    settle_spans: bool,
    metrics: ClientMetrics,
    /// The latest destinations published to, by exchange and routing key, made once each.
    published_to: RecentDestinations<(ShortString, ShortString)>,
}

impl Config {
    fn new(instrumentation: Instrumentation, address: Option<String>, port: Option<u16>) -> Self {
        Config {
            instrumentation,
            address: address.map(shared),
            port,
            parent: ConsumerParent::default(),
            settle_spans: false,
            metrics: ClientMetrics::new(MetricSwitches::default()),
            published_to: RecentDestinations::default(),
        }
    }

    /// Attributes every span and metric of this channel carries.
    fn common_attributes(
        &self,
        operation: &'static str,
        kind: &'static str,
        destination: &StringValue,
    ) -> Vec<KeyValue> {
        let mut attributes = Vec::with_capacity(8);
        attributes.push(KeyValue::new(MESSAGING_SYSTEM, SYSTEM));
        attributes.push(KeyValue::new(MESSAGING_OPERATION_NAME, operation));
        attributes.push(KeyValue::new(MESSAGING_OPERATION_TYPE, kind));
        attributes.push(KeyValue::new(
            MESSAGING_DESTINATION_NAME,
            destination.clone(),
        ));
        if let Some(address) = &self.address {
            attributes.push(KeyValue::new(SERVER_ADDRESS, address.clone()));
            if let Some(port) = self.port {
                attributes.push(KeyValue::new(SERVER_PORT, i64::from(port)));
            }
        }
        attributes
    }
}

/// `messaging.destination.name` of a publish: `{exchange}:{routing_key}`, either alone, or
/// `amq.default`.
///
/// ```
/// use tracewire_lapin::publish_destination;
/// assert_eq!(publish_destination("orders", "created"), "orders:created");
/// assert_eq!(publish_destination("", "emails"), "emails");
/// assert_eq!(publish_destination("", ""), "amq.default");
/// ```
pub fn publish_destination(exchange: &str, routing_key: &str) -> String {
    with_publish_destination(exchange, routing_key, str::to_owned)
}

/// `messaging.destination.name` of a consumed message: `{exchange}:{routing_key}:{queue}`, empty parts
/// left out, a routing key equal to the queue named once.
///
/// ```
/// use tracewire_lapin::consume_destination;
/// assert_eq!(consume_destination("orders", "created", "emails"), "orders:created:emails");
/// assert_eq!(consume_destination("", "emails", "emails"), "emails");
/// assert_eq!(consume_destination("fanout", "", "audit"), "fanout:audit");
/// ```
pub fn consume_destination(exchange: &str, routing_key: &str, queue: &str) -> String {
    let routing_key = if routing_key == queue {
        ""
    } else {
        routing_key
    };
    with_joined(&[exchange, routing_key, queue], str::to_owned)
}

fn with_publish_destination<R>(exchange: &str, routing_key: &str, f: impl FnOnce(&str) -> R) -> R {
    if exchange.is_empty() && routing_key.is_empty() {
        return f("amq.default");
    }
    with_joined(&[exchange, routing_key], f)
}

/// Hands `f` the non-empty `parts` joined by `:`. AMQP names are short strings (at most 255 bytes), so
/// a destination is joined on the stack: a publish allocates nothing to find its interned name.
fn with_joined<R>(parts: &[&str], f: impl FnOnce(&str) -> R) -> R {
    let mut buffer = [0u8; 768];
    let mut len = 0;
    for part in parts.iter().filter(|p| !p.is_empty()) {
        let separator = usize::from(len > 0);
        if len + separator + part.len() > buffer.len() {
            let parts: Vec<&str> = parts.iter().filter(|p| !p.is_empty()).copied().collect();
            return f(&parts.join(":"));
        }
        if separator == 1 {
            buffer[len] = b':';
        }
        len += separator;
        buffer[len..len + part.len()].copy_from_slice(part.as_bytes());
        len += part.len();
    }
    // Whole `str`s and an ASCII separator: always UTF-8.
    f(std::str::from_utf8(&buffer[..len]).unwrap_or_default())
}

fn routing_key_value(config: &Config, routing_key: &str) -> StringValue {
    let routing_key = config.instrumentation.limits().bound(routing_key);
    repeated(Repeated::RoutingKey, routing_key)
}

/// Connects like [`Connection::connect`], remembering the broker's address for `server.address` and
/// `server.port` on every span of the channels it creates.
pub async fn connect(
    uri: &str,
    properties: ConnectionProperties,
) -> lapin::Result<TracedConnection> {
    let endpoint = uri
        .parse::<lapin::uri::AMQPUri>()
        .ok()
        .map(|u| (u.authority.host, u.authority.port));
    let connection = Connection::connect(uri, properties).await?;
    Ok(TracedConnection {
        connection,
        address: endpoint.as_ref().map(|(h, _)| h.clone()),
        port: endpoint.map(|(_, p)| p),
        instrumentation: Instrumentation::global("tracewire-lapin"),
    })
}

/// A connection whose channels are traced. Derefs to the lapin [`Connection`].
///
/// ```no_run
/// # async fn demo() -> lapin::Result<()> {
/// let connection = tracewire_lapin::connect("amqp://127.0.0.1:5672", Default::default()).await?;
/// let channel = connection.create_channel().await?;
/// # let _ = channel; Ok(()) }
/// ```
#[derive(Debug)]
pub struct TracedConnection {
    connection: Connection,
    address: Option<String>,
    port: Option<u16>,
    instrumentation: Instrumentation,
}

impl Deref for TracedConnection {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.connection
    }
}

impl TracedConnection {
    /// Spans and metrics through this [`Instrumentation`] for the channels created afterwards.
    pub fn with_instrumentation(mut self, instrumentation: Instrumentation) -> Self {
        self.instrumentation = instrumentation;
        self
    }

    /// A traced channel.
    pub async fn create_channel(&self) -> lapin::Result<TracedChannel> {
        let channel = self.connection.create_channel().await?;
        Ok(TracedChannel {
            channel,
            config: Arc::new(Config::new(
                self.instrumentation.clone(),
                self.address.clone(),
                self.port,
            )),
        })
    }
}

/// A lapin [`Channel`] whose publishes, consumers and gets are traced. Derefs to the channel for
/// everything else (declaring queues and exchanges, qos, confirms, …).
///
/// ```no_run
/// # async fn demo(channel: lapin::Channel) {
/// let channel = tracewire_lapin::TracedChannel::new(channel).with_server("127.0.0.1", 5672);
/// # let _ = channel; }
/// ```
#[derive(Clone, Debug)]
pub struct TracedChannel {
    channel: Channel,
    config: Arc<Config>,
}

impl Deref for TracedChannel {
    type Target = Channel;
    fn deref(&self) -> &Channel {
        &self.channel
    }
}

impl TracedChannel {
    /// Traces `channel` through the global providers.
    pub fn new(channel: Channel) -> Self {
        TracedChannel {
            channel,
            config: Arc::new(Config::new(
                Instrumentation::global("tracewire-lapin"),
                None,
                None,
            )),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Config)) -> Self {
        let old = &self.config;
        let mut config = Config::new(old.instrumentation.clone(), None, old.port);
        config.address = old.address.clone();
        config.parent = old.parent;
        config.settle_spans = old.settle_spans;
        config.metrics = ClientMetrics::new(old.metrics.switches);
        f(&mut config);
        self.config = Arc::new(config);
        self
    }

    /// Records this broker as `server.address` / `server.port`.
    pub fn with_server(self, address: impl Into<String>, port: u16) -> Self {
        let address = address.into();
        self.edit(|c| {
            c.address = Some(shared(address));
            c.port = Some(port);
        })
    }

    /// Spans and metrics through this [`Instrumentation`].
    pub fn with_instrumentation(self, instrumentation: Instrumentation) -> Self {
        self.edit(|c| c.instrumentation = instrumentation)
    }

    /// Where `process` spans take their parent from (default: the ambient span, else the producer).
    pub fn with_consumer_parent(self, parent: ConsumerParent) -> Self {
        self.edit(|c| c.parent = parent)
    }

    /// Records ack/nack/reject as CLIENT `settle` spans (children of the process span, with the
    /// `messaging.client.operation.duration` metric) instead of the default: an event on the process span.
    pub fn with_settle_spans(self, on: bool) -> Self {
        self.edit(|c| c.settle_spans = on)
    }

    /// Switches `messaging.client.operation.duration` and `messaging.process.duration` on (the
    /// default) or off.
    ///
    /// ```no_run
    /// # async fn demo(channel: lapin::Channel) {
    /// let channel = tracewire_lapin::TracedChannel::new(channel).duration_metric(false);
    /// # let _ = channel; }
    /// ```
    pub fn duration_metric(self, on: bool) -> Self {
        self.edit(|c| {
            let switches = MetricSwitches {
                duration: on,
                ..c.metrics.switches
            };
            c.metrics = ClientMetrics::new(switches);
        })
    }

    /// Switches `messaging.client.sent.messages` and `messaging.client.consumed.messages` on (the
    /// default) or off.
    pub fn count_metric(self, on: bool) -> Self {
        self.edit(|c| {
            let switches = MetricSwitches {
                count: on,
                ..c.metrics.switches
            };
            c.metrics = ClientMetrics::new(switches);
        })
    }

    /// The plain channel.
    pub fn inner(&self) -> &Channel {
        &self.channel
    }

    /// Publishes like [`Channel::basic_publish`], in a PRODUCER span whose context goes into the message
    /// headers (merged with yours; a stale entry of the installed propagator — `traceparent`, `b3`, `uberctx-*`, … — is replaced).
    ///
    /// With publisher confirms on the channel the span stays open until the returned confirm is awaited
    /// (or dropped): a nack, or a mandatory message returned unroutable, is an error.
    pub async fn basic_publish(
        &self,
        exchange: ShortString,
        routing_key: ShortString,
        options: BasicPublishOptions,
        payload: &[u8],
        properties: BasicProperties,
    ) -> lapin::Result<TracedConfirm> {
        let config = &self.config;
        let limits = config.instrumentation.limits();
        let sets = config.published_to.get(
            |(e, r)| e.as_str() == exchange.as_str() && r.as_str() == routing_key.as_str(),
            || {
                let named = with_publish_destination(
                    limits.bound(exchange.as_str()),
                    limits.bound(routing_key.as_str()),
                    |destination| span_name("publish", destination),
                );
                let metric_attributes =
                    config.common_attributes("publish", operation_type::SEND, &named.text);
                let sets = DestinationSets::new(
                    &config.instrumentation,
                    named,
                    metric_attributes,
                    &config.metrics.sent,
                    &config.metrics.operation_duration,
                );
                ((exchange.clone(), routing_key.clone()), sets)
            },
        );
        let metric_attributes = sets.duration.attributes();
        let mut attributes = Vec::with_capacity(metric_attributes.len() + 4);
        attributes.extend_from_slice(metric_attributes);
        if !routing_key.as_str().is_empty() {
            attributes.push(KeyValue::new(
                MESSAGING_RABBITMQ_DESTINATION_ROUTING_KEY,
                routing_key_value(config, routing_key.as_str()),
            ));
        }
        if let Some(id) = properties.message_id() {
            attributes.push(KeyValue::new(
                MESSAGING_MESSAGE_ID,
                limits.bound(id.as_str()).to_owned(),
            ));
        }
        if let Some(id) = properties.correlation_id() {
            attributes.push(KeyValue::new(
                MESSAGING_MESSAGE_CONVERSATION_ID,
                limits.bound(id.as_str()).to_owned(),
            ));
        }
        attributes.push(KeyValue::new(
            MESSAGING_MESSAGE_BODY_SIZE,
            payload.len() as i64,
        ));
        let span = Context::map_current(|cx| {
            config
                .instrumentation
                .start(SpanKind::Producer, sets.name.clone(), attributes, cx)
        });
        let headers = carrier::inject(span.context(), properties.headers().as_ref());
        let properties = properties.with_headers(headers);
        let operation = Operation::bound(span, sets.duration.clone());
        let result = operation
            .span()
            .in_scope(self.channel.basic_publish(
                exchange,
                routing_key,
                options,
                payload,
                properties,
            ))
            .await;
        // Counted once the outcome is known, so a failed publish carries its `error.type` (§3.6).
        match &result {
            Ok(_) => sets.count.add(1),
            Err(error) => {
                let mut attributes = operation.metric_attributes().to_vec();
                attributes.push(KeyValue::new(ERROR_TYPE, error_type(error)));
                config
                    .metrics
                    .sent
                    .add(&config.instrumentation, 1, &attributes);
            }
        }
        match result {
            Ok(confirm) if self.channel.status().confirm() => Ok(TracedConfirm {
                confirm,
                operation: Some(operation),
            }),
            Ok(confirm) => Ok(TracedConfirm {
                confirm,
                operation: None,
            }),
            Err(error) => {
                let mut operation = operation;
                operation.fail(SpanError::classified(error_type(&error), &error));
                Err(error)
            }
        }
    }

    /// Consumes like [`Channel::basic_consume`]; each delivery comes with a `process` span.
    pub async fn basic_consume(
        &self,
        queue: ShortString,
        consumer_tag: ShortString,
        options: BasicConsumeOptions,
        arguments: FieldTable,
    ) -> lapin::Result<TracedConsumer> {
        let queue_name = queue.as_str().to_owned();
        let consumer = self
            .channel
            .basic_consume(queue, consumer_tag, options, arguments)
            .await?;
        Ok(TracedConsumer {
            consumer,
            config: self.config.clone(),
            queue: queue_name,
            recent: RecentDestinations::default(),
        })
    }

    /// Gets one message like [`Channel::basic_get`], in a `receive {destination}` CLIENT span linked to
    /// the message's producer (`receive {queue}` when there was no message).
    pub async fn basic_get(
        &self,
        queue: ShortString,
        options: BasicGetOptions,
    ) -> lapin::Result<Option<BasicGetMessage>> {
        let config = &self.config;
        let queue_name = StringValue::from(
            config
                .instrumentation
                .limits()
                .bound(queue.as_str())
                .to_owned(),
        );
        let metric_attributes =
            config.common_attributes("receive", operation_type::RECEIVE, &queue_name);
        // The destination's exchange and routing key are known only once a message arrives, so the
        // span gets `messaging.destination.name` then (the metric keeps the queue: low cardinality).
        let start_attributes = metric_attributes
            .iter()
            .filter(|kv| kv.key.as_str() != MESSAGING_DESTINATION_NAME)
            .cloned()
            .collect();
        let name = format!("receive {}", queue_name.as_str());
        let span = Context::map_current(|cx| {
            config
                .instrumentation
                .start(SpanKind::Client, name, start_attributes, cx)
        });
        let mut operation = Operation::new(
            span,
            config.instrumentation.clone(),
            config.metrics.operation_duration.clone(),
            metric_attributes,
        );
        let result = operation
            .span()
            .in_scope(self.channel.basic_get(queue, options))
            .await;
        let destination = match &result {
            Ok(Some(message)) => {
                let delivery = &message.delivery;
                let limits = config.instrumentation.limits();
                let destination = StringValue::from(consume_destination(
                    limits.bound(delivery.exchange.as_str()),
                    limits.bound(delivery.routing_key.as_str()),
                    queue_name.as_str(),
                ));
                if destination != queue_name {
                    operation
                        .span()
                        .update_name(format!("receive {}", destination.as_str()));
                }
                let producer = extract(delivery).span().span_context().clone();
                if producer.is_valid() {
                    operation.span().add_link(producer, Vec::new());
                }
                let mut attributes = Vec::with_capacity(6);
                delivery_attributes(config, delivery, &mut attributes);
                operation.span().set_attributes(attributes);
                config.metrics.consumed.add(
                    &config.instrumentation,
                    1,
                    operation.metric_attributes(),
                );
                destination
            }
            Ok(None) => queue_name,
            Err(error) => {
                operation.fail(SpanError::classified(error_type(error), error));
                queue_name
            }
        };
        operation
            .span()
            .set_attribute(KeyValue::new(MESSAGING_DESTINATION_NAME, destination));
        result
    }
}

/// The low-cardinality `error.type` of a lapin error: its kind (`invalid_channel_state`,
/// `io_error`, `protocol_error`, …), else `lapin::Error`.
pub(crate) fn error_type(error: &lapin::Error) -> String {
    error_type_from_variant(
        &format!("{:?}", error.kind()),
        VariantCase::LowerSnake,
        "lapin::Error",
    )
}

/// The publisher confirm of a traced publish. Await it for the broker's answer; with confirms on, the
/// publish span ends here (a nack or a returned message is an error).
///
/// ```no_run
/// use lapin::BasicProperties;
/// use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
/// # async fn demo(channel: tracewire_lapin::TracedChannel) -> lapin::Result<()> {
/// // With publisher confirms on, the publish span stays open until the confirm is awaited.
/// channel.confirm_select(ConfirmSelectOptions::default()).await?;
/// let confirm = channel
///     .basic_publish(
///         "orders".into(),
///         "created".into(),
///         BasicPublishOptions::default(),
///         b"{}",
///         BasicProperties::default(),
///     )
///     .await?;
/// let confirmation = confirm.await?; // the span ends here; a nack is an error on it
/// assert!(confirmation.is_ack());
/// # Ok(())
/// # }
/// ```
pub struct TracedConfirm {
    confirm: PublisherConfirm,
    operation: Option<Operation>,
}

impl std::fmt::Debug for TracedConfirm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracedConfirm")
            .field("traced", &self.operation.is_some())
            .finish_non_exhaustive()
    }
}

impl Future for TracedConfirm {
    type Output = lapin::Result<Confirmation>;

    fn poll(mut self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let polled = Pin::new(&mut self.confirm).poll(task);
        if let Poll::Ready(result) = &polled
            && let Some(mut operation) = self.operation.take()
        {
            match result {
                Ok(Confirmation::Nack(_)) => operation.fail(SpanError::new("nack")),
                Ok(Confirmation::Ack(Some(_))) => operation.fail(SpanError::new("returned")),
                Ok(_) => {}
                Err(error) => operation.fail(SpanError::classified(error_type(error), error)),
            }
        }
        polled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations() {
        assert_eq!(publish_destination("ex", ""), "ex");
        assert_eq!(consume_destination("", "", "q"), "q");
        assert_eq!(consume_destination("ex", "rk", "rk"), "ex:rk");
    }

    #[test]
    fn names_longer_than_amqp_allows_are_still_joined() {
        // The public functions take any text; past what the stack buffer holds they allocate.
        let long = "x".repeat(500);
        let joined = consume_destination(&long, "rk", &long);
        assert_eq!(joined, format!("{long}:rk:{long}"));
        assert_eq!(publish_destination(&long, &long), format!("{long}:{long}"));
    }
}
