//! HTTP/2 over TLS: a traced tonic server and client with certificates made by `openssl`.

use opentelemetry::trace::SpanKind;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity, Server, ServerTlsConfig};
use tracewire_grpc::{GrpcClientLayer, GrpcServerLayer};
use tracewire_testing::SpanCapture;
use tracewire_testing::echo::{EchoClient, EchoRequest, EchoServer, EchoService};

#[tokio::test]
async fn a_call_over_tls_is_traced_on_both_sides() {
    tracewire_core::propagation::install();
    let pki = tracewire_testing::pki::pki("grpc");
    let spans = SpanCapture::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let identity = Identity::from_pem(pki.read("server.pem"), pki.read("server.key"));
    tokio::spawn(
        Server::builder()
            .tls_config(ServerTlsConfig::new().identity(identity))
            .expect("server TLS")
            .layer(
                GrpcServerLayer::new()
                    .with_service::<EchoServer<EchoService>>()
                    .with_instrumentation(spans.instrumentation("grpc")),
            )
            .add_service(EchoServer::new(EchoService::default()))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    let target = format!("https://localhost:{}", addr.port());
    let channel = Endpoint::from_shared(target.clone())
        .expect("endpoint")
        .tls_config(
            ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(pki.read("ca.pem")))
                .domain_name("localhost"),
        )
        .expect("client TLS")
        .connect()
        .await
        .expect("connect over TLS");
    let layer = GrpcClientLayer::new(&target).with_instrumentation(spans.instrumentation("grpc"));
    let reply = EchoClient::new(tower_layer::Layer::layer(&layer, channel))
        .unary(EchoRequest {
            message: "secure".into(),
            ..Default::default()
        })
        .await
        .expect("call");
    assert_eq!(reply.into_inner().message, "secure");

    let captured = spans.wait_for(2, std::time::Duration::from_secs(5)).await;
    let unary = "tracewire.test.Echo/Unary";
    let client = captured
        .named(unary)
        .find(|s| s.kind() == SpanKind::Client)
        .expect("client")
        .assert_attr("server.address", "localhost")
        .assert_attr("server.port", i64::from(addr.port()))
        .assert_attr("rpc.response.status_code", "OK");
    captured
        .named(unary)
        .find(|s| s.kind() == SpanKind::Server)
        .expect("server")
        .assert_parent(&client)
        .assert_attr("rpc.response.status_code", "OK");
}
