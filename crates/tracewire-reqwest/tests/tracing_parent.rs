//! A call made inside the user's own `tracing` span becomes its child (through `tracing-opentelemetry`).
//! One test per binary: it installs the global `tracing` subscriber.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use opentelemetry::trace::SpanKind;
use reqwest_middleware::ClientBuilder;
use tracewire_reqwest::HttpClientMiddleware;
use tracewire_testing::SpanCapture;
use tracing::Instrument;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_inside_a_tracing_span_is_its_child() {
    tracewire_core::propagation::install();
    let capture = SpanCapture::new();
    tracing::subscriber::set_global_default(capture.tracing_subscriber()).expect("subscriber");

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, Router::new().route("/", get(|| async { "ok" }))).await;
    });
    let http = ClientBuilder::new(reqwest::Client::new())
        .with(HttpClientMiddleware::new().with_tracer_provider(capture.provider()))
        .build();

    async {
        http.get(format!("http://{addr}/"))
            .send()
            .await
            .expect("request");
    }
    .instrument(tracing::info_span!("nightly_job"))
    .await;

    let spans = capture.wait_for(2, Duration::from_secs(5)).await;
    let job = spans.one("nightly_job");
    spans
        .one("GET")
        .assert_kind(SpanKind::Client)
        .assert_parent(&job);
}
