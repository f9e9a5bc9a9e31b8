//! `http.client.request.duration` from real calls, read back from an SDK meter provider of the test's
//! own.

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use reqwest_middleware::ClientBuilder;
use tracewire_reqwest::HttpClientMiddleware;
use tracewire_testing::{MetricCapture, SpanCapture};

/// Calls `/ok` twice and `/gone` (410) once through `middleware`; returns the server's port.
async fn three_calls(middleware: HttpClientMiddleware, capture: &SpanCapture) -> u16 {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = Router::new()
        .route("/ok", get(|| async { "ok" }))
        .route("/gone", get(|| async { StatusCode::GONE }));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let http = ClientBuilder::new(reqwest::Client::new())
        .with(middleware)
        .build();
    for path in ["/ok", "/ok", "/gone"] {
        http.get(format!("http://{addr}{path}"))
            .send()
            .await
            .expect("response");
    }
    capture.wait_for(3, Duration::from_secs(5)).await;
    addr.port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duration_histogram_has_the_semconv_attributes() {
    let capture = SpanCapture::new();
    let metrics = MetricCapture::new();
    let middleware = HttpClientMiddleware::new().with_instrumentation(metrics.instrumentation(
        capture.instrumentation("tracewire-reqwest"),
        "tracewire-reqwest",
    ));
    let port = three_calls(middleware, &capture).await;

    let points = metrics.points("http.client.request.duration");
    let mut seen = Vec::new();
    for point in &points {
        assert_eq!(point.unit, "s");
        assert_eq!(point.bounds, tracewire_core::metrics::HTTP_DURATION_BUCKETS);
        assert_eq!(point.attr("http.request.method"), Some("GET"));
        assert_eq!(point.attr("server.address"), Some("127.0.0.1"));
        assert_eq!(point.attr("server.port"), Some(port.to_string().as_str()));
        assert_eq!(point.attr("url.full"), None, "never on the metric");
        seen.push((
            point.attr("http.response.status_code"),
            point.attr("error.type"),
            point.count,
        ));
    }
    seen.sort();
    assert_eq!(
        seen,
        vec![(Some("200"), None, 2), (Some("410"), Some("410"), 1)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metric_can_be_turned_off_without_losing_spans() {
    let capture = SpanCapture::new();
    let metrics = MetricCapture::new();
    let middleware = HttpClientMiddleware::new()
        .with_instrumentation(metrics.instrumentation(
            capture.instrumentation("tracewire-reqwest"),
            "tracewire-reqwest",
        ))
        .duration_metric(false);
    three_calls(middleware, &capture).await;
    assert_eq!(capture.spans().len(), 3);
    assert!(metrics.points("http.client.request.duration").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_the_caller_gives_up_on_still_records_its_duration() {
    let capture = SpanCapture::new();
    let metrics = MetricCapture::new();
    let middleware = HttpClientMiddleware::new().with_instrumentation(metrics.instrumentation(
        capture.instrumentation("tracewire-reqwest"),
        "tracewire-reqwest",
    ));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "late"
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let http = ClientBuilder::new(reqwest::Client::new())
        .with(middleware)
        .build();
    // The caller stops waiting: the attempt's future is dropped mid-flight.
    let gave_up = tokio::time::timeout(
        Duration::from_millis(200),
        http.get(format!("http://{addr}/slow")).send(),
    )
    .await;
    assert!(gave_up.is_err(), "the call should still be running");

    let spans = capture.wait_for(1, Duration::from_secs(5)).await;
    // Deliberate cancellation: the span ends with its status Unset and no `error.type`.
    spans.one("GET").assert_unset().assert_no_attr("error.type");
    let points = metrics.points("http.client.request.duration");
    assert_eq!(points.len(), 1, "{points:?}");
    assert_eq!(points[0].count, 1);
    assert_eq!(points[0].attr("error.type"), None);
    assert_eq!(points[0].attr("http.response.status_code"), None);
}
