//! `http.server.request.duration` and `http.server.active_requests` from a real server, read back from
//! an SDK meter provider of the test's own.

mod common;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use common::client;
use tracewire_http::HttpServerLayer;
use tracewire_testing::{MetricCapture, SpanCapture};

/// Serves `/ok/{id}` and `/fail` (502) behind `layer` and calls `/ok/1`, `/ok/2`, `/fail`.
async fn three_requests(layer: HttpServerLayer, capture: &SpanCapture) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = Router::new()
        .route("/ok/{id}", get(|| async { "ok" }))
        .route("/fail", get(|| async { StatusCode::BAD_GATEWAY }))
        .layer(layer);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    for path in ["/ok/1", "/ok/2", "/fail"] {
        client()
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .expect("request");
    }
    capture.wait_for(3, std::time::Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duration_histogram_has_the_semconv_attributes() {
    let capture = SpanCapture::new();
    let metrics = MetricCapture::new();
    let layer = HttpServerLayer::new()
        .with_instrumentation(
            metrics.instrumentation(capture.instrumentation("tracewire-http"), "tracewire-http"),
        )
        .active_requests_metric(true);
    three_requests(layer, &capture).await;

    let durations = metrics.points("http.server.request.duration");
    assert_eq!(durations.len(), 2, "{durations:?}");
    for point in &durations {
        assert_eq!(point.unit, "s");
        assert_eq!(point.bounds, tracewire_core::metrics::HTTP_DURATION_BUCKETS);
        assert_eq!(point.attr("url.path"), None, "never on the metric");
    }
    let ok = durations
        .iter()
        .find(|p| p.attr("http.route") == Some("/ok/{id}"))
        .expect("the /ok/{id} point");
    assert_eq!(ok.count, 2);
    assert_eq!(ok.attr("http.response.status_code"), Some("200"));
    assert_eq!(ok.attr("error.type"), None);
    assert_eq!(ok.attr("http.request.method"), Some("GET"));
    assert_eq!(ok.attr("url.scheme"), Some("http"));
    assert_eq!(ok.attr("network.protocol.version"), Some("1.1"));
    let fail = durations
        .iter()
        .find(|p| p.attr("http.route") == Some("/fail"))
        .expect("the /fail point");
    assert_eq!(fail.count, 1);
    assert_eq!(fail.attr("error.type"), Some("502"));

    let active = metrics.points("http.server.active_requests");
    assert!(!active.is_empty());
    for point in &active {
        assert_eq!(point.value, 0.0, "every request finished");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_metric_can_be_turned_off_without_losing_spans() {
    let capture = SpanCapture::new();
    let metrics = MetricCapture::new();
    let layer = HttpServerLayer::new()
        .with_instrumentation(
            metrics.instrumentation(capture.instrumentation("tracewire-http"), "tracewire-http"),
        )
        .duration_metric(false)
        .active_requests_metric(false);
    three_requests(layer, &capture).await;
    assert_eq!(capture.spans().len(), 3);
    assert!(metrics.points("http.server.request.duration").is_empty());
    assert!(metrics.points("http.server.active_requests").is_empty());
}
