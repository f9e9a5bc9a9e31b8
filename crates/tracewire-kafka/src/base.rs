//! The callback-style clients: `BaseProducer` and `ThreadedProducer`, whose delivery reports arrive in
//! the producer context, and `BaseConsumer` polling.

use std::sync::Arc;

use opentelemetry::StringValue;
use rdkafka::ClientContext;
use rdkafka::client::OAuthToken;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, ConsumerContext};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::{Message, ToBytes};
use rdkafka::producer::{
    BaseProducer, BaseRecord, DeliveryResult, NoCustomPartitioner, ProducerContext,
    ThreadedProducer,
};
use rdkafka::statistics::Statistics;
use rdkafka::util::Timeout;
use tracewire_core::intern::shared;
use tracewire_core::span::Instrumentation;

use crate::{Config, SendOperation, TracedMessage, finish_send, start_send};

/// The send span of a record in flight, with the application's own delivery opaque.
pub struct InFlight<D> {
    operation: Option<SendOperation>,
    user: D,
}

impl<D> std::fmt::Debug for InFlight<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InFlight").finish_non_exhaustive()
    }
}

/// A producer context that ends each send span at its delivery report, then hands the report to the
/// application's context `C` with the application's own opaque. Create the producer with it:
///
/// ```no_run
/// use rdkafka::ClientConfig;
/// use rdkafka::producer::{BaseProducer, DefaultProducerContext};
/// use tracewire_kafka::{TracedBaseProducer, TracingProducerContext};
/// let producer: BaseProducer<TracingProducerContext<DefaultProducerContext>> = ClientConfig::new()
///     .set("bootstrap.servers", "127.0.0.1:9092")
///     .create_with_context(TracingProducerContext::new(DefaultProducerContext))
///     .expect("producer");
/// let producer = TracedBaseProducer::new(producer);
/// # drop(producer);
/// ```
pub struct TracingProducerContext<C: ProducerContext = rdkafka::producer::DefaultProducerContext> {
    inner: C,
}

impl<C: ProducerContext> std::fmt::Debug for TracingProducerContext<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracingProducerContext")
            .finish_non_exhaustive()
    }
}

impl<C: ProducerContext> TracingProducerContext<C> {
    /// Wraps the application's producer context.
    pub fn new(inner: C) -> Self {
        TracingProducerContext { inner }
    }
}

impl<C: ProducerContext> ClientContext for TracingProducerContext<C> {
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = C::ENABLE_REFRESH_OAUTH_TOKEN;

    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        self.inner.log(level, fac, log_message);
    }

    fn stats(&self, statistics: Statistics) {
        self.inner.stats(statistics);
    }

    fn stats_raw(&self, statistics: &[u8]) {
        self.inner.stats_raw(statistics);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.inner.error(error, reason);
    }

    fn generate_oauth_token(
        &self,
        oauthbearer_config: Option<&str>,
    ) -> Result<OAuthToken, Box<dyn std::error::Error>> {
        self.inner.generate_oauth_token(oauthbearer_config)
    }
}

impl<C: ProducerContext> ProducerContext for TracingProducerContext<C>
where
    C::DeliveryOpaque: Send + Sync,
{
    type DeliveryOpaque = Box<InFlight<C::DeliveryOpaque>>;

    fn delivery(
        &self,
        delivery_result: &DeliveryResult<'_>,
        delivery_opaque: Self::DeliveryOpaque,
    ) {
        let InFlight { operation, user } = *delivery_opaque;
        if let Some(operation) = operation {
            match delivery_result {
                Ok(message) => finish_send(operation, Ok((message.partition(), message.offset()))),
                Err((error, _)) => finish_send(operation, Err(error)),
            }
        }
        self.inner.delivery(delivery_result, user);
    }
}

/// Starts the span of `record`, puts its context into the headers and its span into the opaque.
fn traced_record<'a, K, P, D>(
    config: &Config,
    record: BaseRecord<'a, K, P, D>,
) -> BaseRecord<'a, K, P, Box<InFlight<D>>>
where
    K: ToBytes + ?Sized,
    P: ToBytes + ?Sized,
    D: rdkafka::util::IntoOpaque,
{
    let (operation, headers) = start_send(
        config,
        record.topic,
        record.key.map(ToBytes::to_bytes),
        record.payload.map(ToBytes::to_bytes),
        record.partition,
        record.headers.as_ref(),
    );
    BaseRecord {
        topic: record.topic,
        partition: record.partition,
        payload: record.payload,
        key: record.key,
        timestamp: record.timestamp,
        headers: Some(headers),
        delivery_opaque: Box::new(InFlight {
            operation: Some(operation),
            user: record.delivery_opaque,
        }),
    }
}

/// A record rdkafka refused to enqueue (queue full, bad topic): its span ends with the error and the
/// application gets its record back as it gave it, but for the context headers.
fn refused<'a, K, P, D>(
    error: KafkaError,
    record: BaseRecord<'a, K, P, Box<InFlight<D>>>,
) -> (KafkaError, BaseRecord<'a, K, P, D>)
where
    K: ToBytes + ?Sized,
    P: ToBytes + ?Sized,
    D: rdkafka::util::IntoOpaque,
{
    let InFlight { operation, user } = *record.delivery_opaque;
    if let Some(operation) = operation {
        finish_send(operation, Err(&error));
    }
    let record = BaseRecord {
        topic: record.topic,
        partition: record.partition,
        payload: record.payload,
        key: record.key,
        timestamp: record.timestamp,
        headers: record.headers,
        delivery_opaque: user,
    };
    (error, record)
}

macro_rules! traced_callback_producer {
    ($name:ident, $inner:ident, $what:literal) => {
        #[doc = concat!("A [`", stringify!($inner), "`] whose sends are traced: a `send {topic}` PRODUCER span per record, its context in the record headers, ended at the delivery report by [`TracingProducerContext`]. ", $what)]
        ///
        /// ```no_run
        /// # use rdkafka::producer::BaseRecord;
        #[doc = concat!("# fn demo(producer: tracewire_kafka::", stringify!($name), ") {")]
        /// producer.send(BaseRecord::to("orders").key("o-1").payload("{}")).map_err(|(e, _)| e).expect("enqueued");
        /// # }
        /// ```
        pub struct $name<C: ProducerContext + 'static = rdkafka::producer::DefaultProducerContext>
        where
            C::DeliveryOpaque: Send + Sync,
        {
            producer: $inner<TracingProducerContext<C>>,
            config: Arc<Config>,
        }

        impl<C: ProducerContext + 'static> std::fmt::Debug for $name<C>
        where
            C::DeliveryOpaque: Send + Sync,
        {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("config", &self.config)
                    .finish_non_exhaustive()
            }
        }

        impl<C: ProducerContext<NoCustomPartitioner> + 'static> $name<C>
        where
            C::DeliveryOpaque: Send + Sync,
        {
            /// Traces `producer` (created with a [`TracingProducerContext`]) through the global providers.
            pub fn new(producer: $inner<TracingProducerContext<C>>) -> Self {
                $name {
                    producer,
                    config: Arc::new(Config::new(Instrumentation::global("tracewire-kafka"))),
                }
            }

            /// Like `from_config`, with the application's producer context (wrapped in a
            /// [`TracingProducerContext`], which ends the spans at the delivery reports).
            pub fn from_config_and_context(
                config: &rdkafka::ClientConfig,
                context: C,
            ) -> KafkaResult<Self> {
                let mut traced = $name::new(config.create_with_context(TracingProducerContext::new(context))?);
                traced.config = Config::edited(&traced.config, |c| c.read(config));
                Ok(traced)
            }

            crate::settings::client_options!();

            /// The plain producer (poll, flush, transactions).
            pub fn inner(&self) -> &$inner<TracingProducerContext<C>> {
                &self.producer
            }

            /// Enqueues `record` like the plain producer's `send`; the span ends at the delivery report,
            /// or now, with the error, when the record is refused.
            #[expect(
                clippy::result_large_err,
                reason = "the record goes back to the caller, as rdkafka's own `send` does"
            )]
            pub fn send<'a, K, P>(
                &self,
                record: BaseRecord<'a, K, P, C::DeliveryOpaque>,
            ) -> Result<(), (KafkaError, BaseRecord<'a, K, P, C::DeliveryOpaque>)>
            where
                K: ToBytes + ?Sized,
                P: ToBytes + ?Sized,
            {
                self.producer
                    .send(traced_record(&self.config, record))
                    .map_err(|(error, record)| refused(error, record))
            }

            /// Serves delivery reports (ends spans) for up to `timeout`.
            pub fn poll<T: Into<Timeout>>(&self, timeout: T) {
                self.producer.poll(timeout);
            }

            /// Waits until every record in flight is delivered or `timeout` passes.
            pub fn flush<T: Into<Timeout>>(&self, timeout: T) -> KafkaResult<()> {
                use rdkafka::producer::Producer;
                self.producer.flush(timeout)
            }
        }

        impl $name {
            /// Creates the producer from `config` (with a [`TracingProducerContext`]) and traces it
            /// through the global providers, recording its `client.id` and first bootstrap server
            /// (see [`bootstrap_server`](crate::bootstrap_server)).
            pub fn from_config(config: &rdkafka::ClientConfig) -> KafkaResult<Self> {
                Self::from_config_and_context(config, rdkafka::producer::DefaultProducerContext)
            }
        }
    };
}

traced_callback_producer!(
    TracedBaseProducer,
    BaseProducer,
    "Call [`poll`](Self::poll) regularly, as with the plain `BaseProducer`, to serve delivery reports."
);
traced_callback_producer!(
    TracedThreadedProducer,
    ThreadedProducer,
    "Its own thread polls, so spans end as reports arrive."
);

/// A [`BaseConsumer`] whose polled messages come with `process` spans.
///
/// ```no_run
/// # fn demo(consumer: rdkafka::consumer::BaseConsumer) {
/// let consumer = tracewire_kafka::TracedBaseConsumer::new(consumer, "billing");
/// if let Some(Ok(message)) = consumer.poll(std::time::Duration::from_millis(100)) {
///     // the `process {topic}` span is current in `message.in_scope(..)`, and ends when `message` drops
/// # drop(message);
/// }
/// # }
/// ```
pub struct TracedBaseConsumer<
    C: ConsumerContext + 'static = rdkafka::consumer::DefaultConsumerContext,
> {
    consumer: BaseConsumer<C>,
    group: StringValue,
    config: Arc<Config>,
}

impl<C: ConsumerContext + 'static> std::fmt::Debug for TracedBaseConsumer<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracedBaseConsumer")
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

impl TracedBaseConsumer {
    /// Creates the consumer from `config` and traces it through the global providers, recording its
    /// `group.id`, `client.id` and first bootstrap server (see [`bootstrap_server`](crate::bootstrap_server)).
    pub fn from_config(config: &rdkafka::ClientConfig) -> KafkaResult<Self> {
        Self::from_config_and_context(config, rdkafka::consumer::DefaultConsumerContext)
    }
}

impl<C: ConsumerContext + 'static> TracedBaseConsumer<C> {
    /// Traces `consumer` (of consumer group `group`) through the global providers.
    pub fn new(consumer: BaseConsumer<C>, group: impl Into<String>) -> Self {
        TracedBaseConsumer {
            consumer,
            group: shared(group.into()),
            config: Arc::new(Config::new(Instrumentation::global("tracewire-kafka"))),
        }
    }

    /// Like `from_config`, with the application's consumer context.
    pub fn from_config_and_context(
        config: &rdkafka::ClientConfig,
        context: C,
    ) -> KafkaResult<Self> {
        let traced = TracedBaseConsumer {
            consumer: config.create_with_context(context)?,
            group: crate::settings::group(config),
            config: Arc::new(Config::new(Instrumentation::global("tracewire-kafka"))),
        };
        let config_read = Config::edited(&traced.config, |c| c.read(config));
        Ok(TracedBaseConsumer {
            config: config_read,
            ..traced
        })
    }

    crate::settings::consumer_options!();

    /// The plain consumer (subscribe, assign, commit, …).
    pub fn inner(&self) -> &BaseConsumer<C> {
        &self.consumer
    }

    /// Polls like [`BaseConsumer::poll`]; a message comes with its `process` span started.
    pub fn poll<T: Into<Timeout>>(&self, timeout: T) -> Option<KafkaResult<TracedMessage<'_>>> {
        self.consumer
            .poll(timeout)
            .map(|polled| polled.map(|m| crate::processed(&self.config, &self.group, m)))
    }
}
