//! Faults at the boundaries: PostgreSQL dropping our connections, RabbitMQ closing the connection, the
//! Kafka broker stopped and restarted. Each case runs a traced client and a plain one side by side:
//! the application sees exactly the same results with tracewire as without it, the failure is recorded
//! on the span, and tracing resumes once the service is back.

mod common;

use std::time::Duration;

use lapin::BasicProperties;
use lapin::options::BasicPublishOptions;
use opentelemetry::trace::Status;
use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use sqlx::ConnectOptions;
use tracewire_kafka::TracedProducer;
use tracewire_sqlx::TracedPool;
use tracewire_testing::SpanCapture;
use tracewire_testing::tansu::TansuBroker;

const PG: &str = "postgres://postgres@127.0.0.1:5432/test";

async fn pg_pool(application: &str) -> sqlx::PgPool {
    let options: sqlx::postgres::PgConnectOptions = PG.parse().expect("url");
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect_with(
            options
                .application_name(application)
                .disable_statement_logging(),
        )
        .await
        .expect("PostgreSQL")
}

/// Drops every server connection of `application`, as a PostgreSQL restart does to its clients.
async fn terminate(application: &str) -> usize {
    let mut admin = sqlx::postgres::PgConnectOptions::new()
        .host("127.0.0.1")
        .username("postgres")
        .database("test")
        .connect()
        .await
        .expect("admin connection");
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
    )
    .bind(application)
    .fetch_all(&mut admin)
    .await
    .expect("terminate");
    killed.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_dropping_connections_behaves_the_same_traced_and_untraced() {
    let capture = SpanCapture::new();
    let id = std::process::id();
    let (traced_name, plain_name) = (
        format!("tw-fault-traced-{id}"),
        format!("tw-fault-plain-{id}"),
    );
    let traced = TracedPool::builder(pg_pool(&traced_name).await)
        .with_instrumentation(capture.instrumentation("tracewire-sqlx"))
        .build()
        .await;
    let plain = pg_pool(&plain_name).await;

    let select = "SELECT 41 + 1";
    let one: i32 = sqlx::query_scalar(select)
        .fetch_one(&traced)
        .await
        .expect("before");
    assert_eq!(one, 42);
    // Mid-run, the server drops every connection (pg_terminate_backend, as a restart would).
    assert!(terminate(&traced_name).await > 0);
    assert!(terminate(&plain_name).await > 0);

    // The same sequence of results, step by step, with and without tracewire.
    for step in 0..3 {
        let t: Result<i32, String> = sqlx::query_scalar(select)
            .fetch_one(&traced)
            .await
            .map_err(|e| kind(&e));
        let p: Result<i32, String> = sqlx::query_scalar(select)
            .fetch_one(&plain)
            .await
            .map_err(|e| kind(&e));
        assert_eq!(t, p, "step {step}");
    }
    // And afterwards everything works and is traced.
    let after: i32 = sqlx::query_scalar(select)
        .fetch_one(&traced)
        .await
        .expect("after");
    assert_eq!(after, 42);
    let spans = capture.wait_for(5, Duration::from_secs(5)).await;
    assert!(spans.len() >= 5, "{}", spans.waterfall());
    let last = spans.iter().last().expect("a span");
    assert_eq!(last.status(), &Status::Unset);
}

fn kind(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Io(_) => "io".into(),
        sqlx::Error::Database(db) => format!("database {:?}", db.code()),
        sqlx::Error::PoolTimedOut => "pool timed out".into(),
        other => format!("{other:?}")
            .split(['(', ' '])
            .next()
            .unwrap_or("other")
            .to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rabbitmq_connection_closed_by_the_server_behaves_the_same_traced_and_untraced() {
    tracewire_core::propagation::install();
    let capture = SpanCapture::new();
    let url = "amqp://guest:guest@127.0.0.1:5672/%2f";
    let connect_traced = || async {
        tracewire_lapin::connect(url, Default::default())
            .await
            .expect("RabbitMQ")
            .with_instrumentation(capture.instrumentation("tracewire-lapin"))
    };
    let traced = connect_traced().await;
    let plain = lapin::Connection::connect(url, Default::default())
        .await
        .expect("RabbitMQ");
    let queue = format!("tw.fault.{}", std::process::id());
    let traced_channel = traced.create_channel().await.expect("channel");
    let plain_channel = plain.create_channel().await.expect("channel");
    common::exclusive_queue(&traced_channel, &queue).await;
    let publish_traced = |channel: &tracewire_lapin::TracedChannel| {
        let channel = channel.clone();
        let queue = queue.clone();
        async move {
            channel
                .basic_publish(
                    "".into(),
                    queue.as_str().into(),
                    BasicPublishOptions::default(),
                    b"x",
                    BasicProperties::default(),
                )
                .await
                .map(drop)
                .map_err(|e| {
                    format!("{e:?}")
                        .split(['(', ' '])
                        .next()
                        .unwrap_or("")
                        .to_owned()
                })
        }
    };
    let publish_plain = |channel: &lapin::Channel| {
        let channel = channel.clone();
        let queue = queue.clone();
        async move {
            channel
                .basic_publish(
                    "".into(),
                    queue.as_str().into(),
                    BasicPublishOptions::default(),
                    b"x",
                    BasicProperties::default(),
                )
                .await
                .map(drop)
                .map_err(|e| {
                    format!("{e:?}")
                        .split(['(', ' '])
                        .next()
                        .unwrap_or("")
                        .to_owned()
                })
        }
    };
    assert_eq!(publish_traced(&traced_channel).await, Ok(()));
    assert_eq!(publish_plain(&plain_channel).await, Ok(()));

    // The broker closes every client connection (as a node restart or an operator would).
    let status = std::process::Command::new("rabbitmqctl")
        .args(["close_all_connections", "tracewire fault test"])
        .output()
        .expect("rabbitmqctl");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    tokio::time::sleep(Duration::from_millis(500)).await;

    let t = publish_traced(&traced_channel).await;
    let p = publish_plain(&plain_channel).await;
    assert!(t.is_err(), "publishing on a closed connection fails");
    assert_eq!(t, p, "the same error with and without tracewire");

    // The application reconnects; publishing and tracing resume.
    let again = connect_traced().await;
    let channel = again.create_channel().await.expect("channel");
    let queue2 = format!("{queue}.again");
    common::exclusive_queue(&channel, &queue2).await;
    channel
        .basic_publish(
            "".into(),
            queue2.as_str().into(),
            BasicPublishOptions::default(),
            b"x",
            BasicProperties::default(),
        )
        .await
        .expect("publish after reconnect");
    let spans = capture.wait_for(3, Duration::from_secs(5)).await;
    let publishes: Vec<_> = spans
        .iter()
        .filter(|s| s.name().starts_with("publish"))
        .collect();
    assert_eq!(publishes.len(), 3, "{}", spans.waterfall());
    assert!(
        matches!(publishes[1].status(), Status::Error { .. }),
        "{}",
        spans.waterfall()
    );
    assert_eq!(publishes[2].status(), &Status::Unset);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kafka_broker_stopped_and_restarted_behaves_the_same_traced_and_untraced() {
    let capture = SpanCapture::new();
    let mut broker = TansuBroker::start();
    broker.create_topic("faults", 1);
    let producer = |bootstrap: &str| -> FutureProducer {
        ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("message.timeout.ms", "3000")
            .set("reconnect.backoff.max.ms", "200")
            .create()
            .expect("producer")
    };
    let traced = TracedProducer::new(producer(broker.bootstrap_servers()))
        .with_instrumentation(capture.instrumentation("tracewire-kafka"));
    let plain = producer(broker.bootstrap_servers());
    let send_traced = || async {
        traced
            .send(
                FutureRecord::to("faults").key("k").payload("v"),
                Duration::from_secs(5),
            )
            .await
            .map(drop)
            .map_err(|(e, _)| format!("{:?}", e.rdkafka_error_code()))
    };
    let send_plain = || async {
        plain
            .send(
                FutureRecord::to("faults").key("k").payload("v"),
                Duration::from_secs(5),
            )
            .await
            .map(drop)
            .map_err(|(e, _)| format!("{:?}", e.rdkafka_error_code()))
    };
    assert_eq!(send_traced().await, Ok(()));
    assert_eq!(send_plain().await, Ok(()));

    broker.stop();
    let (t, p) = tokio::join!(send_traced(), send_plain());
    assert!(t.is_err(), "no broker, no delivery");
    assert_eq!(t, p, "the same error with and without tracewire");

    broker.restart();
    broker.create_topic("faults", 1);
    // librdkafka reconnects by itself; the first sends may still race the restart, as they would untraced.
    let mut resumed = false;
    for _ in 0..20 {
        let (t, p) = tokio::join!(send_traced(), send_plain());
        if t.is_ok() && p.is_ok() {
            resumed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(resumed, "sending resumed after the restart");
    let spans = capture.wait_for(3, Duration::from_secs(5)).await;
    let sends: Vec<_> = spans.iter().filter(|s| s.name() == "send faults").collect();
    assert!(sends.len() >= 3, "{}", spans.waterfall());
    assert_eq!(sends[0].status(), &Status::Unset);
    assert!(
        matches!(sends[1].status(), Status::Error { .. }),
        "{}",
        spans.waterfall()
    );
    assert_eq!(sends.last().map(|s| s.status()), Some(&Status::Unset));
}
