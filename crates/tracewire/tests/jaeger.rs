//! `OTEL_PROPAGATORS=jaeger,tracecontext` end to end: a caller instrumented with a Jaeger client sends
//! `uber-trace-id` and `uberctx-*` to service A (tracewire-http), which calls service B through
//! tracewire-reqwest; B sees both the Jaeger and the W3C headers of A's client span, and one trace joins
//! the Jaeger caller, A and B. Its own test binary: it installs the global propagator.

mod common;

use axum::http::HeaderMap;
use common::serve;
use opentelemetry::trace::{SpanKind, TraceId};
use tracewire::{Builder, Config};
use tracewire_testing::SpanCapture;

const JAEGER_TRACE: &str = "a3ce929d0e0e4736";
const JAEGER_SPAN: &str = "00f067aa0ba902b7";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jaeger_caller_and_w3c_services_share_one_trace() {
    let config = Config::from_lookup(|name| {
        (name == "OTEL_PROPAGATORS").then(|| "jaeger,tracecontext,baggage".to_owned())
    });
    let telemetry = Builder::from_config(config)
        .console(false)
        .without_subscriber()
        .build();
    opentelemetry::global::set_text_map_propagator(telemetry.propagator());

    let capture = SpanCapture::new();
    // B answers with the propagation headers it received.
    let service_b = serve(
        axum::Router::new()
            .route(
                "/b",
                axum::routing::get(|headers: HeaderMap| async move {
                    let pick = |name: &str| {
                        headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("-")
                            .to_owned()
                    };
                    format!(
                        "{}\n{}\n{}\n{}",
                        pick("uber-trace-id"),
                        pick("uberctx-tenant"),
                        pick("traceparent"),
                        pick("baggage")
                    )
                }),
            )
            .layer(tracewire_http::HttpServerLayer::new().with_tracer_provider(capture.provider())),
    )
    .await;
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(
            tracewire_reqwest::HttpClientMiddleware::new().with_tracer_provider(capture.provider()),
        )
        .build();
    let b_url = format!("{service_b}/b");
    let service_a = serve(
        axum::Router::new()
            .route(
                "/a",
                axum::routing::get(move || async move {
                    let response = client.get(&b_url).send().await.expect("call B");
                    response.text().await.expect("B's body")
                }),
            )
            .layer(tracewire_http::HttpServerLayer::new().with_tracer_provider(capture.provider())),
    )
    .await;

    let body = reqwest::Client::new()
        .get(format!("{service_a}/a"))
        .header("uber-trace-id", format!("{JAEGER_TRACE}:{JAEGER_SPAN}:0:1"))
        .header("uberctx-tenant", "acme%20corp")
        .send()
        .await
        .expect("call A")
        .text()
        .await
        .expect("A's body");
    let spans = capture.wait_for(3, std::time::Duration::from_secs(5)).await;
    let trace_id = TraceId::from_hex(JAEGER_TRACE).expect("trace id");
    let a_server = spans
        .one("GET /a")
        .assert_kind(SpanKind::Server)
        .assert_remote_parent(
            trace_id,
            opentelemetry::trace::SpanId::from_hex(JAEGER_SPAN).expect("span id"),
        );
    let a_client = spans
        .one("GET")
        .assert_kind(SpanKind::Client)
        .assert_parent(&a_server);
    let b_server = spans.one("GET /b").assert_kind(SpanKind::Server);
    assert_eq!(b_server.trace_id(), trace_id);
    assert_eq!(b_server.parent_span_id(), a_client.span_id());

    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(
        lines,
        [
            format!("{trace_id}:{}:0:1", a_client.span_id()).as_str(),
            "acme%20corp",
            format!("00-{trace_id}-{}-01", a_client.span_id()).as_str(),
            "tenant=acme%20corp",
        ],
        "headers B received"
    );
}
