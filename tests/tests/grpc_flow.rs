//! A gRPC call whose handler calls another service over HTTP (tracewire-reqwest → tracewire-http)
//! and queries PostgreSQL (tracewire-sqlx): one trace, every hop under the gRPC server span.

mod common;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use opentelemetry::trace::SpanKind;
use reqwest_middleware::ClientBuilder;
use tracewire_grpc::{GrpcClientLayer, GrpcServerLayer};
use tracewire_http::HttpServerLayer;
use tracewire_reqwest::HttpClientMiddleware;
use tracewire_testing::SpanCapture;
use tracewire_testing::echo::{EchoClient, EchoRequest, EchoServer, EchoService};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpc_handler_calling_http_and_postgres_is_one_trace() {
    tracewire_core::propagation::install();
    let capture = SpanCapture::new();
    let prices = common::serve(
        Router::new()
            .route("/prices/{sku}", get(|| async { "9.99" }))
            .layer(HttpServerLayer::new().with_instrumentation(capture.instrumentation("http"))),
    )
    .await;
    let http = ClientBuilder::new(reqwest::Client::new())
        .with(HttpClientMiddleware::new().with_instrumentation(capture.instrumentation("reqwest")))
        .build();
    let pool = common::pg_pool(capture.instrumentation("sqlx")).await;
    let service = EchoService::default().with_work(move || {
        let http = http.clone();
        let pool = pool.clone();
        Box::pin(async move {
            let price = http
                .get(format!("http://{prices}/prices/sku-1"))
                .send()
                .await
                .expect("price call");
            assert!(price.status().is_success());
            let one: i32 = sqlx::query_scalar("SELECT 1")
                .fetch_one(&pool)
                .await
                .expect("query");
            assert_eq!(one, 1);
        })
    });

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(
                GrpcServerLayer::new()
                    .with_service::<EchoServer<EchoService>>()
                    .with_instrumentation(capture.instrumentation("grpc")),
            )
            .add_service(EchoServer::new(service))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    let target = format!("http://{addr}");
    let channel = tonic::transport::Endpoint::from_shared(target.clone())
        .expect("endpoint")
        .connect_lazy();
    let layer = GrpcClientLayer::new(&target).with_instrumentation(capture.instrumentation("grpc"));
    EchoClient::new(tower::Layer::layer(&layer, channel))
        .unary(EchoRequest {
            message: "reserve".into(),
            ..Default::default()
        })
        .await
        .expect("call");

    let spans = capture.wait_for(5, Duration::from_secs(10)).await;
    let unary = "tracewire.test.Echo/Unary";
    let client = spans
        .named(unary)
        .find(|s| s.kind() == SpanKind::Client)
        .expect("client span")
        .assert_root();
    let server = spans
        .named(unary)
        .find(|s| s.kind() == SpanKind::Server)
        .expect("server span")
        .assert_parent(&client);
    let price = spans.one("GET").assert_parent(&server);
    spans.one("GET /prices/{sku}").assert_parent(&price);
    spans
        .iter()
        .find(|s| s.kind() == SpanKind::Client && s.data().instrumentation_scope.name() == "sqlx")
        .expect("query span")
        .assert_parent(&server);
    assert_eq!(spans.trace_ids().len(), 1, "{}", spans.waterfall());
}
