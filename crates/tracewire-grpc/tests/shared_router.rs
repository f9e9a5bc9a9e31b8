//! An axum router that hosts a tonic service beside HTTP routes, with both layers on it: a gRPC call
//! gets exactly one SERVER span (the gRPC layer's), an HTTP request its HTTP span.

mod common;

use axum::routing::get;
use opentelemetry::trace::SpanKind;
use tracewire_grpc::GrpcServerLayer;
use tracewire_http::HttpServerLayer;
use tracewire_testing::SpanCapture;
use tracewire_testing::echo::{EchoClient, EchoRequest, EchoServer, EchoService};

#[tokio::test]
async fn a_grpc_call_on_a_shared_router_has_one_server_span() {
    tracewire_core::propagation::install();
    let spans = SpanCapture::new();
    let router = tonic::service::Routes::new(EchoServer::new(EchoService::default()))
        .into_axum_router()
        .route("/hello", get(|| async { "hello" }))
        .layer(
            GrpcServerLayer::new()
                .with_service::<EchoServer<EchoService>>()
                .with_instrumentation(spans.instrumentation("grpc")),
        )
        .layer(HttpServerLayer::new().with_instrumentation(spans.instrumentation("http")));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await });

    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");
    let reply = EchoClient::new(channel)
        .unary(EchoRequest {
            message: "hi".into(),
            ..Default::default()
        })
        .await
        .expect("call");
    assert_eq!(reply.into_inner().message, "hi");
    let body = http_get(addr).await;
    assert_eq!(body, "hello");

    let mut got = spans.spans();
    for _ in 0..100 {
        if got.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        got = spans.spans();
    }
    assert_eq!(got.len(), 2, "{}", got.waterfall());
    got.one(common::UNARY)
        .assert_kind(SpanKind::Server)
        .assert_attr("rpc.response.status_code", "OK");
    got.one("GET /hello").assert_kind(SpanKind::Server);
}

/// A plain HTTP/1.1 GET, written by hand to keep the test's dependencies few.
async fn http_get(addr: std::net::SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned()
}
