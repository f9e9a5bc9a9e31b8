//! The user's own `tracing` spans and events inside a handler land under the server span, through
//! `tracing-opentelemetry`. One test per binary: it installs the global `tracing` subscriber.

mod common;

use axum::Router;
use axum::routing::get;
use common::{TestServer, client, traceparent};
use opentelemetry::trace::SpanKind;
use tracewire_http::HttpServerLayer;

#[tracing::instrument]
async fn load_user(id: u32) -> String {
    tracing::info!(user.id = id, "loading user");
    format!("user {id}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracing_spans_and_events_nest_under_the_server_span() {
    let app = Router::new().route(
        "/users/{id}",
        get(|| async {
            tracing::info!("handler started");
            load_user(7).await
        }),
    );
    let server = TestServer::start(app, HttpServerLayer::new()).await;
    tracing::subscriber::set_global_default(server.capture.tracing_subscriber())
        .expect("global subscriber");

    let body = client()
        .get(server.url("/users/7"))
        .header("traceparent", traceparent())
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    assert_eq!(body, "user 7");

    let spans = server.spans(2).await;
    let server_span = spans.one("GET /users/{id}").assert_kind(SpanKind::Server);
    let user_span = spans.one("load_user").assert_parent(&server_span);
    let event = user_span.event("loading user");
    assert!(
        event
            .iter()
            .any(|(k, v)| k.as_str() == "user.id" && v.as_str() == "7"),
        "{event:?}"
    );
    assert_eq!(user_span.trace_id(), server_span.trace_id());
}
