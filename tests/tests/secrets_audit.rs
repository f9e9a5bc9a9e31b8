//! Secrets audit: every boundary runs with secrets in Authorization headers, cookies, URL userinfo, signed
//! query strings, SQL literals, database error messages and message payloads; everything is exported over
//! real OTLP to the test receiver, and no secret may appear anywhere in what arrives.
//!
//! It runs as an application does: under the subscriber `tracewire::Builder::install` sets up, with the
//! libraries' own logging on — sqlx logs every statement, and every one as slow (at WARN, with its
//! literals) — so nothing may leak through a `tracing` event either. Its own test binary: it installs the
//! global subscriber and providers.

mod common;

use common::serve;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use lapin::BasicProperties;
use lapin::options::BasicPublishOptions;
use prost::Message;
use rdkafka::ClientConfig;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::FutureRecord;
use reqwest_middleware::ClientBuilder;
use sqlx::ConnectOptions;
use tracewire_core::span::Instrumentation;
use tracewire_http::HttpServerLayer;
use tracewire_reqwest::HttpClientMiddleware;
use tracewire_sqlx::TracedPool;
use tracewire_testing::OtlpReceiver;

const SECRETS: &[&str] = &[
    "SECRETbearer1",
    "SECRETcookie2",
    "SECRETsig3",
    "SECRETamz4",
    "SECRETuserinfo5",
    "SECRETclientsig6",
    "SECRETliteral7",
    "SECRETdupkey8",
    "SECRETamqp9",
    "SECRETkafka10",
    "SECRETclientauth11",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_exported_data() {
    let receiver = OtlpReceiver::start().await.expect("receiver");
    let config = tracewire::Config::from_lookup(receiver.variables("audit", "grpc"));
    let guard = tracewire::Builder::from_config(config)
        .console(false)
        .install();
    let instrumentation = Instrumentation::global;
    let audit = tracing::info_span!("audit");

    // HTTP: a downstream service, and a client calling it with credentials in the URL and headers.
    let downstream = serve(
        Router::new()
            .route("/pay", get(|| async { "ok" }))
            .layer(HttpServerLayer::new().with_instrumentation(instrumentation("tracewire-http"))),
    )
    .await;
    let client = ClientBuilder::new(reqwest::Client::new())
        .with(
            HttpClientMiddleware::new().with_instrumentation(instrumentation("tracewire-reqwest")),
        )
        .build();
    let api = serve(
        Router::new()
            .route(
                "/checkout",
                get(move || {
                    let client = client.clone();
                    async move {
                        client
                            .get(format!(
                                "http://user:SECRETuserinfo5@{downstream}/pay?sig=SECRETclientsig6&amount=1"
                            ))
                            .header("authorization", "Bearer SECRETclientauth11")
                            .send()
                            .await
                            .expect("downstream")
                            .text()
                            .await
                            .expect("body")
                    }
                }),
            )
            .layer(
                HttpServerLayer::new()
                    .with_instrumentation(instrumentation("tracewire-http"))
                    .capture_request_headers(["x-request-id"]),
            ),
    )
    .await;
    reqwest::Client::new()
        .get(format!(
            "http://{api}/checkout?sig=SECRETsig3&X-Amz-Signature=SECRETamz4&page=2"
        ))
        .header("authorization", "Bearer SECRETbearer1")
        .header("cookie", "session=SECRETcookie2")
        .header("x-request-id", "r-1")
        .send()
        .await
        .expect("checkout");

    // SQL: a literal in unparameterized text, and an error whose message quotes a row value.
    let options: sqlx::postgres::PgConnectOptions = "postgres://postgres@127.0.0.1:5432/test"
        .parse::<sqlx::postgres::PgConnectOptions>()
        .expect("options")
        .log_statements(log::LevelFilter::Info)
        .log_slow_statements(log::LevelFilter::Warn, Duration::ZERO);
    let pool = TracedPool::builder(
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .expect("PostgreSQL"),
    )
    .with_instrumentation(instrumentation("tracewire-sqlx"))
    .build()
    .await;
    let table = format!("tw_secrets_{}", std::process::id());
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE {table} (v text PRIMARY KEY)"
    )))
    .execute(&pool)
    .await
    .expect("create");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {table} VALUES ('SECRETdupkey8')"
    )))
    .execute(&pool)
    .await
    .expect("insert");
    let duplicate = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {table} VALUES ('SECRETdupkey8')"
    )))
    .execute(&pool)
    .await;
    assert!(duplicate.is_err());
    // Inside a `tracing` span too: its events go through the other bridge.
    let _: String = tracing::Instrument::instrument(
        sqlx::query_scalar("SELECT 'SECRETliteral7'").fetch_one(&pool),
        audit.clone(),
    )
    .await
    .expect("select");
    audit.in_scope(|| tracing::warn!(step = "audit-event", "an application event is exported"));
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE {table}")))
        .execute(&pool)
        .await
        .expect("drop");

    // RabbitMQ and Kafka payloads.
    let rabbit =
        tracewire_lapin::connect("amqp://guest:guest@127.0.0.1:5672/%2f", Default::default())
            .await
            .expect("RabbitMQ")
            .with_instrumentation(instrumentation("tracewire-lapin"));
    let channel = rabbit.create_channel().await.expect("channel");
    let queue = format!("tw.secrets.{}", std::process::id());
    common::exclusive_queue(&channel, &queue).await;
    channel
        .basic_publish(
            "".into(),
            queue.as_str().into(),
            BasicPublishOptions::default(),
            b"SECRETamqp9",
            BasicProperties::default(),
        )
        .await
        .expect("publish");
    let cluster = MockCluster::new(1).expect("mock cluster");
    cluster.create_topic("payments", 1, 1).expect("topic");
    let producer = tracewire_kafka::TracedProducer::new(
        ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .create()
            .expect("producer"),
    )
    .with_instrumentation(instrumentation("tracewire-kafka"));
    producer
        .send(
            FutureRecord::to("payments")
                .key("k")
                .payload("SECRETkafka10"),
            Duration::from_secs(5),
        )
        .await
        .map_err(|(e, _)| e)
        .expect("send");

    drop(audit);
    drop(tokio::task::spawn_blocking(move || drop(guard)).await);
    let spans = receiver.wait_for_spans(11, Duration::from_secs(10)).await;
    // 3 HTTP spans, 5 queries, 1 publish, 1 send, and the application's `audit` span.
    let names: Vec<&str> = spans.iter().map(|s| s.span.name.as_str()).collect();
    assert_eq!(spans.len(), 11, "every boundary exported: {names:?}");
    let mut exported = Vec::new();
    for request in receiver.requests() {
        exported.extend(request.encode_to_vec());
        exported.extend(format!("{request:?}").into_bytes());
    }
    let haystack = String::from_utf8_lossy(&exported);
    for secret in SECRETS {
        assert!(!haystack.contains(secret), "{secret} was exported");
    }
    // The non-secret parts are there, so the audit looked at real data.
    assert!(haystack.contains("page=2"));
    assert!(haystack.contains("sig=REDACTED"));
    assert!(haystack.contains("audit-event"), "events are exported");
}
