//! Kafka across the boundaries, on librdkafka's mock cluster and on tansu: an axum handler (tracewire-http) produces
//! (tracewire-kafka); a worker consumes and calls another service (tracewire-reqwest → tracewire-http).
//! One connected trace, with the process span linked to the send span.

mod common;

use common::serve;
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use opentelemetry::trace::SpanKind;
use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::FutureRecord;
use reqwest_middleware::ClientBuilder;
use tracewire_http::HttpServerLayer;
use tracewire_kafka::{TracedConsumer, TracedProducer};
use tracewire_reqwest::HttpClientMiddleware;
use tracewire_testing::SpanCapture;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_event_is_one_trace_on_the_mock_cluster() {
    let cluster = MockCluster::new(1).expect("mock cluster");
    cluster.create_topic("orders", 1, 1).expect("topic");
    order_event_is_one_trace(&cluster.bootstrap_servers()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_event_is_one_trace_on_tansu() {
    let broker = tracewire_testing::tansu::TansuBroker::start();
    broker.create_topic("orders", 1);
    order_event_is_one_trace(broker.bootstrap_servers()).await;
}

/// HTTP → produce → consume → HTTP through a broker at `bootstrap`, which has the topic `orders`.
async fn order_event_is_one_trace(bootstrap: &str) {
    tracewire_core::propagation::install();
    let capture = SpanCapture::new();

    let shipping = serve(
        Router::new()
            .route("/ship", post(|| async { "ok" }))
            .layer(HttpServerLayer::new().with_tracer_provider(capture.provider())),
    )
    .await;

    let producer = TracedProducer::new(
        ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .create()
            .expect("producer"),
    )
    .with_instrumentation(capture.instrumentation("tracewire-kafka"));
    let api = serve(
        Router::new()
            .route(
                "/orders",
                post(move || {
                    let producer = producer.clone();
                    async move {
                        producer
                            .send(
                                FutureRecord::to("orders").key("o-1").payload("{}"),
                                Duration::from_secs(5),
                            )
                            .await
                            .map_err(|(e, _)| e)
                            .expect("send");
                        "accepted"
                    }
                }),
            )
            .layer(HttpServerLayer::new().with_tracer_provider(capture.provider())),
    )
    .await;

    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "shipping")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    consumer.subscribe(&["orders"]).expect("subscribe");
    let consumer = TracedConsumer::new(consumer, "shipping")
        .with_instrumentation(capture.instrumentation("tracewire-kafka"));
    let http = ClientBuilder::new(reqwest::Client::new())
        .with(HttpClientMiddleware::new().with_tracer_provider(capture.provider()))
        .build();
    let worker = tokio::spawn(async move {
        let message = consumer.recv().await.expect("message");
        message
            .in_scope(async {
                http.post(format!("http://{shipping}/ship"))
                    .send()
                    .await
                    .expect("ship");
            })
            .await;
    });

    let body = reqwest::Client::new()
        .post(format!("http://{api}/orders"))
        .send()
        .await
        .expect("order")
        .text()
        .await
        .expect("body");
    assert_eq!(body, "accepted");
    tokio::time::timeout(Duration::from_secs(15), worker)
        .await
        .expect("worker done")
        .expect("worker");

    let spans = capture.wait_for(5, Duration::from_secs(10)).await;
    assert_eq!(spans.len(), 5, "{}", spans.waterfall());
    let order = spans
        .one("POST /orders")
        .assert_kind(SpanKind::Server)
        .assert_root();
    let send = spans
        .one("send orders")
        .assert_kind(SpanKind::Producer)
        .assert_parent(&order);
    let process = spans
        .one("process orders")
        .assert_kind(SpanKind::Consumer)
        .assert_parent(&send);
    assert_eq!(process.links()[0].span_id(), send.span_id());
    let call = spans.one("POST").assert_parent(&process);
    spans.one("POST /ship").assert_parent(&call);
    assert_eq!(spans.trace_ids().len(), 1);
}
