//! What a handler logs lands in the exported trace: with `tracewire::Builder::install`, a
//! `#[tracing::instrument]` function inside an axum handler is a child of the tracewire-http server
//! span, and `tracing::info!` events — straight in the handler, or inside the instrumented function —
//! are events on the right span, over real OTLP. Its own test binary: it installs the global
//! subscriber and providers.

mod common;

use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use tracewire::{Builder, Config};
use tracewire_testing::OtlpReceiver;
use tracewire_testing::otlp::ReceivedSpan;

#[tracing::instrument]
async fn reserve_stock(order: u32) -> u32 {
    tracing::info!(reserved = 3, "stock reserved");
    order
}

async fn handler() -> String {
    tracing::info!(order = 42, "checkout started");
    let order = reserve_stock(42).await;
    tracing::warn!("payment slow");
    format!("order {order}")
}

fn event_names(span: &ReceivedSpan) -> Vec<&str> {
    span.span.events.iter().map(|e| e.name.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_events_and_instrumented_functions_land_under_the_server_span() {
    let receiver = OtlpReceiver::start().await.expect("receiver");
    let config = Config::from_lookup(receiver.variables("checkout", "http/protobuf"));
    let guard = Builder::from_config(config).console(false).install();

    let base = common::serve(
        axum::Router::new()
            .route("/checkout", axum::routing::post(handler))
            .layer(tracewire_http::HttpServerLayer::new()),
    )
    .await;
    let body = reqwest::Client::new()
        .post(format!("{base}/checkout"))
        .send()
        .await
        .expect("response")
        .text()
        .await
        .expect("body");
    assert_eq!(body, "order 42");

    let spans = receiver.wait_for_spans(2, Duration::from_secs(10)).await;
    let server = spans
        .iter()
        .find(|s| s.span.name == "POST /checkout")
        .expect("the server span");
    let function = spans
        .iter()
        .find(|s| s.span.name == "reserve_stock")
        .expect("the instrumented function's span");
    assert_eq!(function.span.trace_id, server.span.trace_id);
    assert_eq!(
        function.span.parent_span_id, server.span.span_id,
        "the function's span is a child of the server span"
    );
    assert_eq!(event_names(server), ["checkout started", "payment slow"]);
    assert_eq!(event_names(function), ["stock reserved"]);

    let started = &server.span.events[0];
    let attr = |key: &str| {
        started
            .attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref())
            .and_then(|v| v.value.clone())
    };
    assert_eq!(attr("order"), Some(Value::IntValue(42)));
    assert_eq!(attr("level"), Some(Value::StringValue("INFO".into())));
    drop(tokio::task::spawn_blocking(move || drop(guard)).await);
}
