//! The boundaries together, against the real services: an axum handler (tracewire-http) publishes to
//! RabbitMQ (tracewire-lapin); a worker consumes, queries PostgreSQL (tracewire-sqlx) and calls another
//! service (tracewire-reqwest + tracewire-http). One connected trace.

mod common;

use common::serve;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use futures_util::StreamExt;
use lapin::BasicProperties;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use opentelemetry::trace::SpanKind;
use reqwest_middleware::ClientBuilder;
use tracewire_http::HttpServerLayer;
use tracewire_reqwest::HttpClientMiddleware;
use tracewire_testing::SpanCapture;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_is_one_trace_across_http_rabbitmq_postgres_and_http() {
    tracewire_core::propagation::install();
    let capture = SpanCapture::new();
    let queue = format!("tw.orders.{}", std::process::id());

    let connection =
        tracewire_lapin::connect("amqp://guest:guest@127.0.0.1:5672/%2f", Default::default())
            .await
            .expect("RabbitMQ")
            .with_instrumentation(capture.instrumentation("tracewire-lapin"));
    let channel = connection.create_channel().await.expect("channel");
    channel
        .queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions {
                auto_delete: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("queue");

    // The email service the worker calls.
    let email = serve(
        Router::new()
            .route("/send", post(|| async { "sent" }))
            .layer(HttpServerLayer::new().with_tracer_provider(capture.provider())),
    )
    .await;

    // The API: POST /orders publishes OrderPlaced.
    let publisher = channel.clone();
    let q = queue.clone();
    let api = serve(
        Router::new()
            .route(
                "/orders",
                post(move || {
                    let publisher = publisher.clone();
                    let q = q.clone();
                    async move {
                        publisher
                            .basic_publish(
                                "".into(),
                                q.as_str().into(),
                                BasicPublishOptions::default(),
                                b"{\"order\":1}",
                                BasicProperties::default(),
                            )
                            .await
                            .expect("publish");
                        "accepted"
                    }
                }),
            )
            .route("/health", get(|| async { "ok" }))
            .layer(HttpServerLayer::new().with_tracer_provider(capture.provider())),
    )
    .await;

    // The worker: consume, query PostgreSQL, call the email service, ack.
    let pool = common::pg_pool(capture.instrumentation("tracewire-sqlx")).await;
    let http = ClientBuilder::new(reqwest::Client::new())
        .with(HttpClientMiddleware::new().with_tracer_provider(capture.provider()))
        .build();
    let mut consumer = channel
        .basic_consume(
            queue.as_str().into(),
            "worker".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("consume");
    let worker = tokio::spawn(async move {
        let delivery = consumer.next().await.expect("open").expect("delivery");
        delivery
            .in_scope(async {
                let stock: i32 = sqlx::query_scalar("SELECT 3")
                    .fetch_one(&pool)
                    .await
                    .expect("query");
                assert_eq!(stock, 3);
                http.post(format!("http://{email}/send"))
                    .send()
                    .await
                    .expect("email");
            })
            .await;
        delivery.ack(BasicAckOptions::default()).await.expect("ack");
    });

    let response = reqwest::Client::new()
        .post(format!("http://{api}/orders"))
        .send()
        .await
        .expect("order");
    assert_eq!(response.text().await.expect("body"), "accepted");
    tokio::time::timeout(Duration::from_secs(10), worker)
        .await
        .expect("worker done")
        .expect("worker");

    let spans = capture.wait_for(6, Duration::from_secs(10)).await;
    assert_eq!(spans.len(), 6, "{}", spans.waterfall());
    let order = spans
        .one("POST /orders")
        .assert_kind(SpanKind::Server)
        .assert_root();
    let publish = spans.one(&format!("publish {queue}")).assert_parent(&order);
    let process = spans
        .one(&format!("process {queue}"))
        .assert_parent(&publish);
    spans.one("SELECT").assert_parent(&process);
    let call = spans
        .one("POST")
        .assert_kind(SpanKind::Client)
        .assert_parent(&process);
    spans.one("POST /send").assert_parent(&call);
    // Settling is an event on the process span by default.
    assert_eq!(process.event_count("ack"), 1);
    assert_eq!(
        spans.trace_ids().len(),
        1,
        "one trace\n{}",
        spans.waterfall()
    );
}
