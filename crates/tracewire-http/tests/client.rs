//! The client layer around a real Tower HTTP client (hyper-util's legacy client) calling a real axum
//! server with the server layer: one trace, the HTTP client conventions, failures.

mod common;

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use common::TestServer;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use opentelemetry::trace::SpanKind;
use tower::ServiceExt;
use tracewire_http::{DisablePropagation, HttpClientLayer, HttpServerLayer, UrlTemplate};
use tracewire_testing::MetricCapture;

fn app() -> Router {
    Router::new()
        .route("/users/{id}", get(|| async { "user" }))
        .route("/missing", get(|| async { StatusCode::NOT_FOUND }))
        .route(
            "/traced",
            get(|headers: axum::http::HeaderMap| async move {
                headers.contains_key("traceparent").to_string()
            }),
        )
}

type Body = Full<bytes::Bytes>;

fn get_request(url: &str) -> http::Request<Body> {
    http::Request::get(url)
        .body(Body::default())
        .expect("request")
}

#[tokio::test]
async fn a_tower_client_call_is_the_server_spans_parent() {
    let server = TestServer::start(app(), HttpServerLayer::new()).await;
    let metrics = MetricCapture::new();
    let layer = HttpClientLayer::new().with_instrumentation(
        metrics.instrumentation(server.capture.instrumentation("client"), "client"),
    );
    let client = Client::builder(TokioExecutor::new()).build_http::<Body>();
    let traced = tower_layer::Layer::layer(&layer, client);

    let mut request = get_request(&server.url("/users/7?sig=secret"));
    request
        .extensions_mut()
        .insert(UrlTemplate::new("/users/{id}"));
    let response = traced.clone().oneshot(request).await.expect("response");
    assert_eq!(response.status(), 200);
    let missing = traced
        .clone()
        .oneshot(get_request(&server.url("/missing")))
        .await
        .expect("response");
    assert_eq!(missing.status(), 404);

    let spans = server.spans(4).await;
    let client_span = spans
        .named("GET /users/{id}")
        .find(|s| s.kind() == SpanKind::Client)
        .expect("client span")
        .assert_attr("url.template", "/users/{id}")
        .assert_attr(
            "url.full",
            format!("http://{}/users/7?sig=REDACTED", server.addr),
        )
        .assert_attr("server.address", "127.0.0.1")
        .assert_attr("server.port", i64::from(server.addr.port()))
        .assert_attr("http.response.status_code", 200)
        .assert_attr("network.protocol.version", "1.1")
        .assert_unset();
    spans
        .iter()
        .find(|s| s.kind() == SpanKind::Server && s.name() == "GET /users/{id}")
        .expect("server span")
        .assert_parent(&client_span);
    // A client's 404 is an error; the server's is not.
    spans
        .iter()
        .find(|s| s.kind() == SpanKind::Client && s.name() == "GET")
        .expect("client 404")
        .assert_error("404");
    let points = metrics.points("http.client.request.duration");
    assert_eq!(points.iter().map(|p| p.count).sum::<u64>(), 2);
    assert!(points.iter().any(|p| p.attr("error.type") == Some("404")));
}

#[tokio::test]
async fn disable_propagation_keeps_the_headers_clean() {
    let server = TestServer::start(app(), HttpServerLayer::new()).await;
    let layer =
        HttpClientLayer::new().with_instrumentation(server.capture.instrumentation("client"));
    let traced = tower_layer::Layer::layer(
        &layer,
        Client::builder(TokioExecutor::new()).build_http::<Body>(),
    );
    let mut request = get_request(&server.url("/traced"));
    request.extensions_mut().insert(DisablePropagation);
    let response = traced.oneshot(request).await.expect("response");
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(body, "false");
}

#[tokio::test]
async fn a_refused_connection_is_an_error_with_the_clients_error_type() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let spans = tracewire_testing::SpanCapture::new();
    let layer = HttpClientLayer::new().with_instrumentation(spans.instrumentation("client"));
    let traced = tower_layer::Layer::layer(
        &layer,
        Client::builder(TokioExecutor::new()).build_http::<Body>(),
    );
    let result = traced
        .oneshot(get_request(&format!("http://127.0.0.1:{port}/")))
        .await;
    assert!(result.is_err());
    let spans = spans.wait_for(1, Duration::from_secs(5)).await;
    spans
        .one("GET")
        .assert_error("hyper_util::client::legacy::client::Error")
        .assert_attr("server.port", i64::from(port));
}
