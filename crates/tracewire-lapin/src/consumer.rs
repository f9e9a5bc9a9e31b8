//! The consuming side: a consumer's deliveries come with `process` spans, and their settlement (ack,
//! nack, reject) is an event or a span of its own.

use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use futures_core::Stream;
use lapin::Consumer;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicNackOptions, BasicRejectOptions};
use lapin::types::ShortString;
use opentelemetry::trace::{SpanKind, TraceContextExt};
use opentelemetry::{Context, KeyValue, StringValue};
use tracewire_core::attributes::*;
use tracewire_core::messaging::{
    DestinationSets, Processed, RecentDestinations, operation_type, span_name, start_process,
};
use tracewire_core::operation::Operation;
use tracewire_core::span::SpanError;

use crate::{Config, HeaderExtractor, consume_destination, error_type, routing_key_value};

/// The context a delivery's headers carry, through the installed propagator.
pub(crate) fn extract(delivery: &Delivery) -> Context {
    match delivery.properties.headers() {
        Some(headers) => tracewire_core::opentelemetry::global::get_text_map_propagator(|p| {
            p.extract_with_context(&Context::new(), &HeaderExtractor(headers))
        }),
        None => Context::new(),
    }
}

/// The span attributes of one delivery (tag, routing key, redelivery, ids, size), appended to `attributes`.
pub(crate) fn delivery_attributes(
    config: &Config,
    delivery: &Delivery,
    attributes: &mut Vec<KeyValue>,
) {
    let limits = config.instrumentation.limits();
    attributes.push(KeyValue::new(
        MESSAGING_RABBITMQ_MESSAGE_DELIVERY_TAG,
        delivery.delivery_tag as i64,
    ));
    if !delivery.routing_key.as_str().is_empty() {
        attributes.push(KeyValue::new(
            MESSAGING_RABBITMQ_DESTINATION_ROUTING_KEY,
            routing_key_value(config, delivery.routing_key.as_str()),
        ));
    }
    if delivery.redelivered {
        attributes.push(KeyValue::new(MESSAGING_RABBITMQ_MESSAGE_REDELIVERED, true));
    }
    if let Some(id) = delivery.properties.message_id() {
        attributes.push(KeyValue::new(
            MESSAGING_MESSAGE_ID,
            limits.bound(id.as_str()).to_owned(),
        ));
    }
    if let Some(id) = delivery.properties.correlation_id() {
        attributes.push(KeyValue::new(
            MESSAGING_MESSAGE_CONVERSATION_ID,
            limits.bound(id.as_str()).to_owned(),
        ));
    }
    attributes.push(KeyValue::new(
        MESSAGING_MESSAGE_BODY_SIZE,
        delivery.data.len() as i64,
    ));
}

/// A lapin [`Consumer`] whose deliveries come with `process` spans.
///
/// ```no_run
/// use futures_util::StreamExt;
/// use lapin::options::{BasicAckOptions, BasicConsumeOptions};
/// use lapin::types::FieldTable;
/// # async fn demo(channel: tracewire_lapin::TracedChannel) -> lapin::Result<()> {
/// let mut consumer = channel
///     .basic_consume(
///         "emails".into(),
///         "mailer".into(),
///         BasicConsumeOptions::default(),
///         FieldTable::default(),
///     )
///     .await?;
/// // A `Stream` of `TracedDelivery`s, each with its `process` span started.
/// while let Some(delivery) = consumer.next().await {
///     let delivery = delivery?;
///     delivery.ack(BasicAckOptions::default()).await?;
/// }
/// # Ok(())
/// # }
/// ```
pub struct TracedConsumer {
    pub(crate) consumer: Consumer,
    pub(crate) config: Arc<Config>,
    pub(crate) queue: String,
    /// The destinations seen last, by exchange and routing key: a consumer sees one or a few, so their
    /// span name, destination and bound metric sets are made once, not per delivery.
    pub(crate) recent: RecentDestinations<(ShortString, ShortString)>,
}

/// The parts every delivery from this exchange and routing key shares, made once.
fn destination_sets(config: &Config, queue: &str, delivery: &Delivery) -> DestinationSets {
    let limits = config.instrumentation.limits();
    let destination = consume_destination(
        limits.bound(delivery.exchange.as_str()),
        limits.bound(delivery.routing_key.as_str()),
        limits.bound(queue),
    );
    let named = span_name("process", &destination);
    let metric_attributes =
        config.common_attributes("process", operation_type::PROCESS, &named.text);
    DestinationSets::new(
        &config.instrumentation,
        named,
        metric_attributes,
        &config.metrics.consumed,
        &config.metrics.process_duration,
    )
}

impl std::fmt::Debug for TracedConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracedConsumer")
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

impl Stream for TracedConsumer {
    type Item = lapin::Result<TracedDelivery>;

    fn poll_next(mut self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.consumer).poll_next(task);
        match polled {
            Poll::Ready(Some(Ok(delivery))) => {
                let from = this.recent.get(
                    |(exchange, routing_key)| {
                        exchange.as_str() == delivery.exchange.as_str()
                            && routing_key.as_str() == delivery.routing_key.as_str()
                    },
                    || {
                        let key = (delivery.exchange.clone(), delivery.routing_key.clone());
                        (key, destination_sets(&this.config, &this.queue, &delivery))
                    },
                );
                let traced = TracedDelivery::start(&this.config, &from, delivery);
                Poll::Ready(Some(Ok(traced)))
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(error))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// A delivery handed to the application, with its `process` span (which ends when this is dropped).
/// Derefs to the lapin [`Delivery`].
///
/// ```no_run
/// use lapin::options::{BasicAckOptions, BasicNackOptions};
/// # async fn send_email(_body: &[u8]) -> Result<(), std::io::Error> { Ok(()) }
/// # async fn demo(mut delivery: tracewire_lapin::TracedDelivery) -> lapin::Result<()> {
/// // It derefs to lapin's `Delivery`.
/// println!("{} bytes via {}", delivery.data.len(), delivery.routing_key.as_str());
/// // Work run in `in_scope` (HTTP calls, queries, `tracing` spans) is a child of the `process` span.
/// let sent = delivery.in_scope(send_email(&delivery.data)).await;
/// match sent {
///     Ok(()) => {
///         delivery.ack(BasicAckOptions::default()).await?;
///     }
///     Err(error) => {
///         delivery.record_error(&error);
///         let requeue = BasicNackOptions { requeue: true, ..Default::default() };
///         delivery.nack(requeue).await?;
///     }
/// }
/// drop(delivery); // ends the `process` span
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct TracedDelivery {
    processed: Processed<Delivery>,
    config: Arc<Config>,
    destination: StringValue,
}

/// The processed message (`context`, `in_scope`, `record_error`), which derefs to lapin's [`Delivery`].
impl Deref for TracedDelivery {
    type Target = Processed<Delivery>;
    fn deref(&self) -> &Processed<Delivery> {
        &self.processed
    }
}

impl DerefMut for TracedDelivery {
    fn deref_mut(&mut self) -> &mut Processed<Delivery> {
        &mut self.processed
    }
}

impl TracedDelivery {
    /// Starts the `process` span of `delivery`. The delivery (large) is moved once, into place.
    #[inline]
    fn start(config: &Arc<Config>, from: &DestinationSets, delivery: Delivery) -> Self {
        let operation = Self::process_span(config, from, &delivery);
        TracedDelivery {
            processed: Processed::new(delivery, operation),
            config: config.clone(),
            destination: from.destination.clone(),
        }
    }

    fn process_span(config: &Config, from: &DestinationSets, delivery: &Delivery) -> Operation {
        let metric_attributes = from.duration.attributes();
        let mut attributes = Vec::with_capacity(metric_attributes.len() + 6);
        attributes.extend_from_slice(metric_attributes);
        delivery_attributes(config, delivery, &mut attributes);
        let from_message = extract(delivery);
        let span = start_process(
            &config.instrumentation,
            config.parent,
            from.name.clone(),
            attributes,
            &from_message,
        );
        from.count.add(1);
        Operation::bound(span, from.duration.clone())
    }

    /// The plain delivery, ending the `process` span.
    pub fn into_inner(self) -> Delivery {
        self.processed.into_inner()
    }

    async fn settle<F>(&self, operation_name: &'static str, settle: F) -> lapin::Result<bool>
    where
        F: Future<Output = lapin::Result<bool>>,
    {
        let config = &self.config;
        if !config.settle_spans {
            let result = settle.await;
            let mut attributes = vec![KeyValue::new(
                MESSAGING_OPERATION_TYPE,
                operation_type::SETTLE,
            )];
            if let Err(error) = &result {
                attributes.push(KeyValue::new(ERROR_TYPE, error_type(error)));
            }
            self.context().span().add_event(operation_name, attributes);
            return result;
        }
        let metric_attributes =
            config.common_attributes(operation_name, operation_type::SETTLE, &self.destination);
        let mut attributes = metric_attributes.clone();
        attributes.push(KeyValue::new(
            MESSAGING_RABBITMQ_MESSAGE_DELIVERY_TAG,
            self.processed.delivery_tag as i64,
        ));
        let name = format!("{operation_name} {}", self.destination.as_str());
        let span = config
            .instrumentation
            .start(SpanKind::Client, name, attributes, self.context());
        let mut operation = Operation::new(
            span,
            config.instrumentation.clone(),
            config.metrics.operation_duration.clone(),
            metric_attributes,
        );
        let result = operation.span().in_scope(settle).await;
        match &result {
            Ok(_) => operation.succeed(),
            Err(error) => operation.fail(SpanError::classified(error_type(error), error)),
        }
        result
    }

    /// Acknowledges the delivery: an `ack` event on the process span, or an `ack {destination}` settle
    /// span with [`TracedChannel::with_settle_spans`](crate::TracedChannel::with_settle_spans).
    pub async fn ack(&self, options: BasicAckOptions) -> lapin::Result<bool> {
        self.settle("ack", self.processed.acker.ack(options)).await
    }

    /// Negatively acknowledges the delivery (a `nack` event, or settle span).
    pub async fn nack(&self, options: BasicNackOptions) -> lapin::Result<bool> {
        self.settle("nack", self.processed.acker.nack(options))
            .await
    }

    /// Rejects the delivery (a `reject` event, or settle span).
    pub async fn reject(&self, options: BasicRejectOptions) -> lapin::Result<bool> {
        self.settle("reject", self.processed.acker.reject(options))
            .await
    }
}
