//! Every carrier carries every propagator a user can configure (`OTEL_PROPAGATORS`): for
//! `tracecontext,baggage`, `b3`, `b3multi` and `jaeger`, an HTTP call (tracewire-reqwest →
//! tracewire-http), a gRPC call (tracewire-grpc on both sides), a Kafka record (mock cluster), a
//! RabbitMQ message and a sqlcommenter comment carry
//! the context, the receiving span is the sender's child, stale propagation entries a re-sent message
//! brings along are replaced, and baggage travels where the propagator carries it (never into SQL).

mod common;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use futures_util::StreamExt;
use lapin::BasicProperties;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicPublishOptions};
use lapin::types::{AMQPValue, FieldTable};
use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::SpanKind;
use opentelemetry::{Context, KeyValue};
use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::FutureRecord;
use reqwest_middleware::ClientBuilder;
use tracewire::env::PropagatorKind;
use tracewire_core::span::Outcome;
use tracewire_http::HttpServerLayer;
use tracewire_kafka::{TracedConsumer, TracedProducer};
use tracewire_reqwest::HttpClientMiddleware;
use tracewire_sqlx::TracedPool;
use tracewire_testing::SpanCapture;
use tracewire_testing::echo::{EchoClient, EchoRequest, EchoServer, EchoService};

/// A propagator configuration and what it writes.
struct Setup {
    name: &'static str,
    kinds: &'static [PropagatorKind],
    /// A field it writes (what a carrier must hold).
    field: &'static str,
    /// Whether it carries baggage, and under which key.
    baggage: Option<&'static str>,
}

const SETUPS: [Setup; 4] = [
    Setup {
        name: "tracecontext,baggage",
        kinds: &[PropagatorKind::TraceContext, PropagatorKind::Baggage],
        field: "traceparent",
        baggage: Some("baggage"),
    },
    Setup {
        name: "b3",
        kinds: &[PropagatorKind::B3],
        field: "b3",
        baggage: None,
    },
    Setup {
        name: "b3multi",
        kinds: &[PropagatorKind::B3Multi],
        field: "x-b3-traceid",
        baggage: None,
    },
    Setup {
        name: "jaeger",
        kinds: &[PropagatorKind::Jaeger],
        field: "uber-trace-id",
        baggage: Some("uberctx-tenant"),
    },
];

/// Entries a message re-sent from another trace might still carry, for every propagator.
const STALE: [(&str, &str); 5] = [
    (
        "traceparent",
        "00-11111111111111111111111111111111-2222222222222222-01",
    ),
    ("b3", "11111111111111111111111111111111-2222222222222222-1"),
    ("x-b3-traceid", "11111111111111111111111111111111"),
    (
        "uber-trace-id",
        "11111111111111111111111111111111:2222222222222222:0:1",
    ),
    ("uberctx-stale", "old"),
];

/// The stale entries a carrier still holds after injection with `setup` (it owns those of its own kind).
fn leftover(setup: &Setup, keys: &[String]) -> Vec<String> {
    let owned = |key: &str| match setup.name {
        "tracecontext,baggage" => key == "traceparent",
        // B3 reads both encodings, so either encoding's entries are its own.
        "b3" | "b3multi" => key == "b3" || key == "x-b3-traceid",
        _ => key == "uber-trace-id" || key.starts_with("uberctx-"),
    };
    STALE
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| owned(k) && keys.iter().any(|have| have == k) && !fresh_only(setup, k))
        .map(str::to_owned)
        .collect()
}

/// A carrier's keys after injection with `setup` hold its field and none of the stale entries it owns.
fn assert_carried(setup: &Setup, carrier: &str, keys: &[String]) {
    assert!(
        keys.iter().any(|k| k == setup.field),
        "{} on {carrier}: no {} in {keys:?}",
        setup.name,
        setup.field
    );
    assert_eq!(
        leftover(setup, keys),
        Vec::<String>::new(),
        "{} on {carrier}: stale entries left",
        setup.name
    );
}

/// Keys the propagator writes afresh (present after injection, but with our value, checked apart).
fn fresh_only(setup: &Setup, key: &str) -> bool {
    key == setup.field || Some(key) == setup.baggage
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_propagator_on_every_carrier() {
    let cluster = MockCluster::new(1).expect("mock cluster");
    let pg = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect("postgres://postgres@127.0.0.1:5432/test")
        .await
        .expect("PostgreSQL");

    // One configuration at a time: the propagator is process-wide.
    for (n, setup) in SETUPS.iter().enumerate() {
        opentelemetry::global::set_text_map_propagator(tracewire::propagator(setup.kinds));
        let capture = SpanCapture::new();
        let job = capture.instrumentation("test").start(
            SpanKind::Internal,
            "job",
            vec![],
            &Context::new().with_baggage(vec![KeyValue::new("tenant", "acme")]),
        );

        // HTTP: the server sees our fields, no stale ones, and the baggage the propagator carries.
        let server = common::serve(
            Router::new()
                .route(
                    "/hop",
                    get(|headers: axum::http::HeaderMap| async move {
                        let tenant = Context::current()
                            .baggage()
                            .get("tenant")
                            .map(|v| v.to_string())
                            .unwrap_or_default();
                        let mut names: Vec<String> =
                            headers.keys().map(|k| k.as_str().to_owned()).collect();
                        names.sort();
                        format!("{tenant};{}", names.join(","))
                    }),
                )
                .layer(HttpServerLayer::new().with_tracer_provider(capture.provider())),
        )
        .await;
        let client = ClientBuilder::new(reqwest::Client::new())
            .with(HttpClientMiddleware::new().with_tracer_provider(capture.provider()))
            .build();
        let mut request = client.get(format!("http://{server}/hop"));
        for (key, value) in STALE {
            request = request.header(key, value);
        }
        let answer = job
            .in_scope(async { request.send().await.expect("hop").text().await })
            .await
            .expect("body");
        let (tenant, names) = answer.split_once(';').expect("answer");
        let names: Vec<String> = names.split(',').map(str::to_owned).collect();
        assert_carried(setup, "HTTP", &names);
        let carried = if setup.baggage.is_some() { "acme" } else { "" };
        assert_eq!(tenant, carried, "{}: baggage over HTTP", setup.name);

        // gRPC: the same through request metadata, between a traced tonic client and server.
        let (grpc, seen) = grpc_server(&capture).await;
        let target = format!("http://{grpc}");
        let channel = tonic::transport::Endpoint::from_shared(target.clone())
            .expect("endpoint")
            .connect_lazy();
        let layer = tracewire_grpc::GrpcClientLayer::new(&target)
            .with_instrumentation(capture.instrumentation("tracewire-grpc"));
        let mut client = EchoClient::new(tower::Layer::layer(&layer, channel));
        let mut call = tonic::Request::new(EchoRequest::default());
        for (key, value) in STALE {
            call.metadata_mut().insert(
                tonic::metadata::AsciiMetadataKey::from_static(key),
                tonic::metadata::AsciiMetadataValue::from_static(value),
            );
        }
        job.in_scope(client.unary(call)).await.expect("gRPC call");
        let (tenant, keys) = seen.lock().expect("lock").clone();
        assert_carried(setup, "gRPC", &keys);
        assert_eq!(tenant, carried, "{}: baggage over gRPC", setup.name);

        // Kafka: a record with stale headers; the process span is the send span's child.
        let topic = format!("propagators-{n}");
        cluster.create_topic(&topic, 1, 1).expect("topic");
        let producer = TracedProducer::new(
            ClientConfig::new()
                .set("bootstrap.servers", cluster.bootstrap_servers())
                .create()
                .expect("producer"),
        )
        .with_instrumentation(capture.instrumentation("tracewire-kafka"));
        let mut stale = OwnedHeaders::new();
        for (key, value) in STALE {
            stale = stale.insert(Header {
                key,
                value: Some(value),
            });
        }
        job.in_scope(
            producer.send(
                FutureRecord::to(&topic)
                    .key("k")
                    .payload("{}")
                    .headers(stale),
                Duration::from_secs(5),
            ),
        )
        .await
        .map_err(|(e, _)| e)
        .expect("send");
        let consumer: StreamConsumer = ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("group.id", format!("propagators-{n}"))
            .set("auto.offset.reset", "earliest")
            .create()
            .expect("consumer");
        consumer.subscribe(&[topic.as_str()]).expect("subscribe");
        let consumer = TracedConsumer::new(consumer, "propagators")
            .with_instrumentation(capture.instrumentation("tracewire-kafka"));
        let message = tokio::time::timeout(Duration::from_secs(15), consumer.recv())
            .await
            .expect("a record in time")
            .expect("record");
        let keys: Vec<String> = message
            .headers()
            .map(|h| h.iter().map(|h| h.key.to_owned()).collect())
            .unwrap_or_default();
        assert_carried(setup, "Kafka", &keys);
        if let Some(key) = setup.baggage {
            assert!(keys.iter().any(|k| k == key), "{}: {keys:?}", setup.name);
        }
        drop(message);

        // RabbitMQ: the same with an AMQP header table.
        let rabbit =
            tracewire_lapin::connect("amqp://guest:guest@127.0.0.1:5672/%2f", Default::default())
                .await
                .expect("RabbitMQ")
                .with_instrumentation(capture.instrumentation("tracewire-lapin"));
        let channel = rabbit.create_channel().await.expect("channel");
        let queue = format!("tw.propagators.{}.{n}", std::process::id());
        common::exclusive_queue(&channel, &queue).await;
        let mut headers = FieldTable::default();
        for (key, value) in STALE {
            headers.insert(key.into(), AMQPValue::LongString(value.into()));
        }
        job.in_scope(channel.basic_publish(
            "".into(),
            queue.as_str().into(),
            BasicPublishOptions::default(),
            b"{}",
            BasicProperties::default().with_headers(headers),
        ))
        .await
        .expect("publish");
        let mut deliveries = channel
            .basic_consume(
                queue.as_str().into(),
                "propagators".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("consume");
        let delivery = tokio::time::timeout(Duration::from_secs(10), deliveries.next())
            .await
            .expect("a delivery in time")
            .expect("open")
            .expect("delivery");
        let keys: Vec<String> = delivery
            .properties
            .headers()
            .as_ref()
            .map(|h| h.inner().keys().map(|k| k.as_str().to_owned()).collect())
            .unwrap_or_default();
        assert_carried(setup, "AMQP", &keys);
        delivery.ack(BasicAckOptions::default()).await.expect("ack");
        drop(delivery);

        // sqlcommenter: the propagator's fields, never baggage.
        let pool = TracedPool::builder(pg.clone())
            .with_instrumentation(capture.instrumentation("tracewire-sqlx"))
            .sqlcommenter(true)
            .build()
            .await;
        let seen: String = job
            .in_scope(
                sqlx::query_scalar(
                    "SELECT query FROM pg_stat_activity WHERE pid = pg_backend_pid()",
                )
                .fetch_one(&pool),
            )
            .await
            .expect("query");
        assert!(
            seen.contains(&format!("{}='", setup.field)),
            "{}: {seen}",
            setup.name
        );
        assert!(
            !seen.contains("baggage") && !seen.contains("uberctx"),
            "{}: {seen}",
            setup.name
        );
        assert!(!seen.contains("acme"), "{}: {seen}", setup.name);

        job.end(Outcome::Success);
        let spans = capture.wait_for(10, Duration::from_secs(10)).await;
        let job = spans.one("job").assert_root();
        let call = spans.one("GET").assert_parent(&job);
        spans.one("GET /hop").assert_parent(&call);
        let unary = "tracewire.test.Echo/Unary";
        let grpc_client = spans
            .named(unary)
            .find(|s| s.kind() == SpanKind::Client)
            .expect("gRPC client span")
            .assert_parent(&job);
        spans
            .named(unary)
            .find(|s| s.kind() == SpanKind::Server)
            .expect("gRPC server span")
            .assert_parent(&grpc_client);
        let send = spans.one(&format!("send {topic}")).assert_parent(&job);
        spans
            .one(&format!("process {topic}"))
            .assert_kind(SpanKind::Consumer)
            .assert_parent(&send);
        let lapin = |kind: SpanKind| {
            spans
                .iter()
                .find(|s| {
                    s.kind() == kind && s.data().instrumentation_scope.name() == "tracewire-lapin"
                })
                .unwrap_or_else(|| panic!("{}: no {kind:?} span from RabbitMQ", setup.name))
        };
        let publish = lapin(SpanKind::Producer).assert_parent(&job);
        lapin(SpanKind::Consumer).assert_parent(&publish);
        assert_eq!(
            spans.trace_ids().len(),
            1,
            "{}: {}",
            setup.name,
            spans.waterfall()
        );
    }
}

/// What a gRPC server saw: the baggage `tenant` in its handler, and the request's metadata keys.
type Seen = std::sync::Arc<std::sync::Mutex<(String, Vec<String>)>>;

/// A traced echo server that records what each call carried.
async fn grpc_server(capture: &SpanCapture) -> (std::net::SocketAddr, Seen) {
    let seen = Seen::default();
    let in_handler = seen.clone();
    let service = EchoService::default().with_work(move || {
        let tenant = Context::current()
            .baggage()
            .get("tenant")
            .map(|v| v.to_string())
            .unwrap_or_default();
        in_handler.lock().expect("lock").0 = tenant;
        Box::pin(async {})
    });
    let in_layer = seen.clone();
    let keys =
        tower::util::MapRequestLayer::new(move |request: http::Request<tonic::body::Body>| {
            in_layer.lock().expect("lock").1 = request
                .headers()
                .keys()
                .map(|k| k.as_str().to_owned())
                .collect();
            request
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = tonic::transport::Server::builder()
        .layer(
            tower::ServiceBuilder::new()
                .layer(
                    tracewire_grpc::GrpcServerLayer::new()
                        .with_service::<EchoServer<EchoService>>()
                        .with_instrumentation(capture.instrumentation("tracewire-grpc")),
                )
                .layer(keys),
        )
        .add_service(EchoServer::new(service));
    tokio::spawn(router.serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)));
    (addr, seen)
}
