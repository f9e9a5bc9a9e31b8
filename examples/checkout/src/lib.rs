//! The checkout demo: every tracewire boundary in one small system, each service with its own
//! `service.name`, one trace per checkout.
//!
//! ```text
//! client ─HTTP─▶ api-gateway ─HTTP─▶ order-service ─gRPC─▶ inventory-service ─SQL─▶ inventory
//!                                         │ ─SQL──▶ orders (SQLite or PostgreSQL)
//!                                         │ ─HTTP─▶ payment-service ─HTTP─▶ payment API (slow, external)
//!                                         │ ─Kafka "orders"──────▶ fulfillment worker ─SQL─▶ shipments
//!                                         └ ─RabbitMQ "emails"───▶ email worker
//! ```
//!
//! [`Demo::start`] brings everything up in this process on 127.0.0.1; [`Demo::checkout`] places one
//! order and returns its trace once the workers are done.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use futures_util::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use opentelemetry::Context;
use opentelemetry::trace::Status;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanProcessor};
use rdkafka::ClientConfig;
use rdkafka::consumer::Consumer;
use rdkafka::message::Message;
use rdkafka::mocking::MockCluster;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tracewire_core::span::Instrumentation;
use tracewire_core::waterfall::{self, WaterfallSpan};

mod database;
mod inventory;
mod services;

use database::{Arg, Database};
pub use services::{DECLINED_CARD, PAYMENT_API_DELAY};
use services::{
    Gateway, OrderPlaced, OrderService, PaymentService, gateway, order_service, payment_api,
    payment_service, serve, server_layer, traced_client,
};

/// Where the demo's parts live. `None` means the embedded default.
#[derive(Clone, Debug, Default)]
pub struct DemoConfig {
    /// `CHECKOUT_DATABASE_URL`: a `postgres://` URL; default an in-memory SQLite database.
    pub database_url: Option<String>,
    /// `CHECKOUT_KAFKA_BROKERS`: bootstrap servers (tansu, Kafka); default librdkafka's mock cluster.
    pub kafka_brokers: Option<String>,
    /// `CHECKOUT_AMQP_URL`: RabbitMQ; default `amqp://guest:guest@127.0.0.1:5672/%2f`.
    pub amqp_url: Option<String>,
    /// Export each service's spans and metrics over OTLP as configured by the `OTEL_*` variables
    /// (through `tracewire::Builder`), in addition to keeping the spans for [`Demo::checkout`]'s result.
    pub otlp: bool,
    /// The OTLP endpoint, over `OTEL_EXPORTER_OTLP_ENDPOINT` (for a receiver started in process).
    pub otlp_endpoint: Option<String>,
}

impl DemoConfig {
    /// From the `CHECKOUT_*` variables; OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` (or the traces one) is set.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        DemoConfig {
            database_url: var("CHECKOUT_DATABASE_URL"),
            kafka_brokers: var("CHECKOUT_KAFKA_BROKERS"),
            amqp_url: var("CHECKOUT_AMQP_URL"),
            otlp: var("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
                || var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some(),
            otlp_endpoint: None,
        }
    }
}

/// A demo that could not start.
#[derive(Debug)]
pub struct DemoError(String);

impl std::fmt::Display for DemoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DemoError {}

fn fail(what: &str) -> impl FnOnce(String) -> DemoError + '_ {
    move |e| DemoError(format!("{what}: {e}"))
}

/// A finished span with the service that made it.
#[derive(Clone, Debug)]
pub struct DemoSpan {
    /// `service.name` of the service that made it.
    pub service: &'static str,
    /// The span.
    pub span: SpanData,
}

impl DemoSpan {
    /// Whether its status is Error.
    pub fn is_error(&self) -> bool {
        matches!(self.span.status, Status::Error { .. })
    }
}

/// Keeps every finished span of every service, for the result of [`Demo::checkout`].
#[derive(Clone, Debug, Default)]
struct Sink(Arc<Mutex<Vec<DemoSpan>>>);

#[derive(Debug)]
struct SinkProcessor {
    service: &'static str,
    sink: Sink,
}

impl SpanProcessor for SinkProcessor {
    fn on_start(&self, _span: &mut opentelemetry_sdk::trace::Span, _cx: &Context) {}
    fn on_end(&self, span: SpanData) {
        if let Ok(mut spans) = self.sink.0.lock() {
            spans.push(DemoSpan {
                service: self.service,
                span,
            });
        }
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// One service's telemetry, set up by tracewire from the `OTEL_*` variables under the service's own
/// name: OTLP export when asked for, and always the demo's sink.
struct ServiceTelemetry {
    telemetry: tracewire::Telemetry,
}

impl ServiceTelemetry {
    fn new(service: &'static str, sink: &Sink, config: &DemoConfig) -> Self {
        let endpoint = config.otlp_endpoint.clone();
        let variables = tracewire::Config::from_lookup(move |name| match (name, &endpoint) {
            ("OTEL_EXPORTER_OTLP_ENDPOINT", Some(endpoint)) => Some(endpoint.clone()),
            _ => std::env::var(name).ok(),
        });
        let telemetry = tracewire::Builder::from_config(variables)
            .service_name(service)
            .otlp(config.otlp)
            .console(false)
            .without_subscriber()
            .with_span_processor(SinkProcessor {
                service,
                sink: sink.clone(),
            })
            .build();
        ServiceTelemetry { telemetry }
    }

    /// Spans and metrics of this service, through its own providers (each with its resource).
    fn instrumentation(&self, library: &'static str) -> Instrumentation {
        self.telemetry.instrumentation(library)
    }

    fn shutdown(&self) {
        if let Some(provider) = self.telemetry.tracer_provider() {
            let _ = provider.shutdown_with_timeout(Duration::from_secs(5));
        }
        if let Some(provider) = self.telemetry.meter_provider() {
            let _ = provider.shutdown_with_timeout(Duration::from_secs(5));
        }
    }
}

/// What a client sends to the gateway.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckoutRequest {
    /// Item to buy.
    pub item: String,
    /// How many.
    pub quantity: i32,
    /// Card number; `4000-0000-0000-0002` is declined by the payment API.
    pub card: String,
}

async fn connect_rabbit(url: &str) -> Option<tracewire_lapin::TracedConnection> {
    match tokio::time::timeout(
        Duration::from_secs(3),
        tracewire_lapin::connect(url, Default::default()),
    )
    .await
    {
        Ok(Ok(connection)) => Some(connection),
        Ok(Err(e)) => {
            eprintln!(
                "checkout demo: RabbitMQ not reachable at {url} ({e}); running without the email worker"
            );
            None
        }
        Err(_) => {
            eprintln!(
                "checkout demo: RabbitMQ at {url} did not answer in 3 s; running without the email worker"
            );
            None
        }
    }
}

/// A worker finished its part of an order.
#[derive(Debug)]
struct Done {
    order_id: String,
    worker: &'static str,
}

/// The outcome of one checkout, with its whole trace.
#[derive(Debug)]
pub struct Checkout {
    /// The gateway's HTTP status (201 placed, 402 declined).
    pub status: u16,
    /// The order id, or the error text.
    pub body: String,
    /// The trace id the client started.
    pub trace_id: opentelemetry::trace::TraceId,
    /// Every span of the trace, from every service, in end order.
    pub spans: Vec<DemoSpan>,
}

impl Checkout {
    /// The spans named `name`.
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a DemoSpan> + 'a {
        self.spans.iter().filter(move |s| s.span.name == name)
    }

    /// The trace as a text waterfall, spans named `service: span`.
    pub fn waterfall(&self) -> String {
        let spans: Vec<WaterfallSpan> = self
            .spans
            .iter()
            .map(|s| {
                let mut w = tracewire::waterfall_span(&s.span);
                w.name = format!("{}: {}", s.service, s.span.name);
                w
            })
            .collect();
        waterfall::render(&spans, 40)
    }
}

/// The running demo.
pub struct Demo {
    gateway: SocketAddr,
    sink: Sink,
    done: tokio::sync::Mutex<mpsc::UnboundedReceiver<Done>>,
    services: Vec<ServiceTelemetry>,
    rabbit: bool,
    _connections: Vec<tracewire_lapin::TracedConnection>,
    database: &'static str,
    kafka: String,
    _cluster: Option<MockCluster<'static, rdkafka::producer::DefaultProducerContext>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Demo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Demo")
            .field("gateway", &self.gateway)
            .field("database", &self.database)
            .field("kafka", &self.kafka)
            .field("rabbit", &self.rabbit)
            .finish_non_exhaustive()
    }
}

impl Demo {
    /// Starts every service and worker on 127.0.0.1. Fails if the database or Kafka cannot be reached;
    /// runs without the email worker (and says so on stderr) if RabbitMQ cannot.
    pub async fn start(config: DemoConfig) -> Result<Demo, DemoError> {
        tracewire_core::propagation::install();
        let sink = Sink::default();
        let telemetry = |name| ServiceTelemetry::new(name, &sink, &config);
        let (gateway_t, orders_t, inventory_t, payments_t, api_t, fulfillment_t, email_t) = (
            telemetry("api-gateway"),
            telemetry("order-service"),
            telemetry("inventory-service"),
            telemetry("payment-service"),
            telemetry("payment-api"),
            telemetry("fulfillment-worker"),
            telemetry("email-worker"),
        );
        let run = format!(
            "{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or_default()
        );

        // Kafka: the given brokers, or librdkafka's mock cluster in this process.
        let mut cluster = None;
        let brokers = match &config.kafka_brokers {
            Some(brokers) => brokers.clone(),
            None => {
                let mock =
                    MockCluster::new(1).map_err(|e| DemoError(format!("mock cluster: {e}")))?;
                mock.create_topic("orders", 1, 1)
                    .map_err(|e| DemoError(format!("mock topic: {e}")))?;
                let brokers = mock.bootstrap_servers();
                cluster = Some(mock);
                brokers
            }
        };
        // Made from its configuration: client id and broker address recorded without repeating them.
        let producer = tracewire_kafka::TracedProducer::from_config(
            ClientConfig::new()
                .set("bootstrap.servers", &brokers)
                .set("client.id", "order-service")
                .set("message.timeout.ms", "5000"),
        )
        .map_err(|e| DemoError(format!("Kafka producer: {e}")))?
        .with_instrumentation(orders_t.instrumentation("tracewire-kafka"));

        // RabbitMQ, if reachable.
        let amqp_url = config
            .amqp_url
            .clone()
            .unwrap_or_else(|| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned());
        let email_queue = format!("checkout.emails.{run}");
        let rabbit = connect_rabbit(&amqp_url).await;
        let db = Database::connect(config.database_url.as_deref(), &orders_t).await?;
        let fulfillment_db = db.for_service(&fulfillment_t).await;
        let inventory_db = db.for_service(&inventory_t).await;
        let database = db.system();
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let mut tasks = Vec::new();

        // Fulfillment: consumes OrderPlaced, records the shipment.
        let consumer = tracewire_kafka::TracedConsumer::from_config(
            ClientConfig::new()
                .set("bootstrap.servers", &brokers)
                .set("client.id", "fulfillment-worker")
                .set("group.id", format!("fulfillment-{run}"))
                .set("auto.offset.reset", "earliest"),
        )
        .map_err(|e| DemoError(format!("Kafka consumer: {e}")))?
        .with_instrumentation(fulfillment_t.instrumentation("tracewire-kafka"));
        consumer
            .inner()
            .subscribe(&["orders"])
            .map_err(|e| DemoError(format!("subscribe: {e}")))?;
        let done = done_tx.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let Ok(message) = consumer.recv().await else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                let Some(event) = message
                    .payload()
                    .and_then(|p| serde_json::from_slice::<OrderPlaced>(p).ok())
                else {
                    continue;
                };
                let stored = message
                    .in_scope(fulfillment_db.execute(
                        "INSERT INTO shipments (order_id) VALUES ($1)",
                        &[Arg::Text(&event.order_id)],
                    ))
                    .await;
                if let Err(e) = stored {
                    tracing::warn!(order_id = event.order_id, "shipment not stored: {e}");
                }
                drop(message);
                let _ = done.send(Done {
                    order_id: event.order_id,
                    worker: "fulfillment",
                });
            }
        }));

        // Email: consumes notifications from RabbitMQ.
        let mut publish_channel = None;
        let mut connections = Vec::new();
        if let Some(connection) = rabbit {
            let connection =
                connection.with_instrumentation(orders_t.instrumentation("tracewire-lapin"));
            let channel = connection
                .create_channel()
                .await
                .map_err(|e| DemoError(format!("RabbitMQ channel: {e}")))?;
            channel
                .queue_declare(
                    email_queue.as_str().into(),
                    QueueDeclareOptions {
                        auto_delete: true,
                        ..Default::default()
                    },
                    FieldTable::default(),
                )
                .await
                .map_err(|e| DemoError(format!("RabbitMQ queue: {e}")))?;
            // The email worker is another service: its own connection, its own service name.
            let worker_connection = connect_rabbit(&amqp_url)
                .await
                .ok_or_else(|| DemoError("RabbitMQ went away during start-up".into()))?
                .with_instrumentation(email_t.instrumentation("tracewire-lapin"));
            let worker_channel = worker_connection
                .create_channel()
                .await
                .map_err(|e| DemoError(format!("RabbitMQ channel: {e}")))?;
            let mut deliveries = worker_channel
                .basic_consume(
                    email_queue.as_str().into(),
                    "email-worker".into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map_err(|e| DemoError(format!("RabbitMQ consume: {e}")))?;
            let done = done_tx.clone();
            tasks.push(tokio::spawn(async move {
                while let Some(Ok(delivery)) = deliveries.next().await {
                    let event = serde_json::from_slice::<OrderPlaced>(&delivery.data).ok();
                    delivery
                        .in_scope(async {
                            tracing::info!("confirmation email sent");
                        })
                        .await;
                    let _ = delivery.ack(BasicAckOptions::default()).await;
                    drop(delivery);
                    if let Some(event) = event {
                        let _ = done.send(Done {
                            order_id: event.order_id,
                            worker: "email",
                        });
                    }
                }
            }));
            publish_channel = Some((channel, email_queue.clone()));
            connections.push(connection);
            connections.push(worker_connection);
        }

        let api = serve(
            Router::new()
                .route("/v1/charges", post(payment_api))
                .layer(server_layer(&api_t)),
        )
        .await?;
        let payments = serve(
            Router::new()
                .route("/payments", post(payment_service))
                .with_state(PaymentService {
                    client: traced_client(&payments_t),
                    api,
                })
                .layer(server_layer(&payments_t)),
        )
        .await?;
        let inventory_addr = inventory::serve(inventory_db, &inventory_t).await?;
        let orders = serve(
            Router::new()
                .route("/orders", post(order_service))
                .with_state(OrderService {
                    db,
                    inventory: inventory::client(inventory_addr, &orders_t)?,
                    client: traced_client(&orders_t),
                    payments,
                    kafka: producer,
                    rabbit: publish_channel.clone(),
                    run: Arc::from(run.as_str()),
                    next_id: Arc::new(std::sync::atomic::AtomicU64::new(1)),
                })
                .layer(server_layer(&orders_t)),
        )
        .await?;
        let gateway = serve(
            Router::new()
                .route("/checkout", post(gateway))
                .with_state(Gateway {
                    client: traced_client(&gateway_t),
                    orders,
                })
                .layer(server_layer(&gateway_t)),
        )
        .await?;

        Ok(Demo {
            gateway,
            sink,
            done: tokio::sync::Mutex::new(done_rx),
            services: vec![
                gateway_t,
                orders_t,
                inventory_t,
                payments_t,
                api_t,
                fulfillment_t,
                email_t,
            ],
            rabbit: !connections.is_empty(),
            _connections: connections,
            database,
            kafka: if cluster.is_some() {
                "librdkafka mock cluster".to_owned()
            } else {
                brokers
            },
            _cluster: cluster,
            tasks,
        })
    }

    /// What the demo runs on, one line.
    pub fn describe(&self) -> String {
        format!(
            "api-gateway on http://{}; database {}; Kafka {}; RabbitMQ {}",
            self.gateway,
            self.database,
            self.kafka,
            if self.rabbit {
                "connected"
            } else {
                "not reachable (email worker off)"
            }
        )
    }

    /// The gateway's address.
    pub fn gateway(&self) -> SocketAddr {
        self.gateway
    }

    /// Places one order through the gateway, as a client that starts the trace, and returns once every
    /// worker is done with it (or 15 s passed), with the trace.
    pub async fn checkout(&self, request: &CheckoutRequest) -> Checkout {
        use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};
        let ids = RandomIdGenerator::default();
        let trace_id = ids.new_trace_id();
        let traceparent = format!("00-{trace_id}-{}-01", ids.new_span_id());
        let response = reqwest::Client::new()
            .post(format!("http://{}/checkout", self.gateway))
            .header("traceparent", traceparent)
            .json(request)
            .send()
            .await;
        let (status, body) = match response {
            Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
            Err(e) => (0, e.to_string()),
        };
        if status == 201 {
            let mut waiting: Vec<&str> = vec!["fulfillment"];
            if self.rabbit {
                waiting.push("email");
            }
            let mut done = self.done.lock().await;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
            while !waiting.is_empty() {
                match tokio::time::timeout_at(deadline, done.recv()).await {
                    Ok(Some(d)) if d.order_id == body => waiting.retain(|w| *w != d.worker),
                    Ok(Some(_)) => {}
                    _ => break,
                }
            }
        }
        // Spans end as their futures and messages are dropped: wait until the trace stops growing.
        let mut last = usize::MAX;
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let now = self.spans_of(trace_id).len();
            if now == last {
                break;
            }
            last = now;
        }
        Checkout {
            status,
            body,
            trace_id,
            spans: self.spans_of(trace_id),
        }
    }

    fn spans_of(&self, trace_id: opentelemetry::trace::TraceId) -> Vec<DemoSpan> {
        self.sink
            .0
            .lock()
            .map(|spans| {
                spans
                    .iter()
                    .filter(|s| s.span.span_context.trace_id() == trace_id)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Stops the workers and flushes every service's exporter. The workers' Kafka consumers leave
    /// their group before the (mock) cluster goes away, or closing them would wait for it forever.
    pub async fn shutdown(mut self) {
        for task in std::mem::take(&mut self.tasks) {
            task.abort();
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
        for service in &self.services {
            service.shutdown();
        }
    }
}
