//! `http.server.request.duration` and `http.server.active_requests` from a real server, read back from
//! an SDK meter provider.

mod common;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use common::client;
use opentelemetry::metrics::MeterProvider;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use tracewire_core::span::Instrumentation;
use tracewire_http::HttpServerLayer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duration_histogram_has_the_semconv_attributes() {
    let exporter = InMemoryMetricExporter::default();
    let meters = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    let capture = tracewire_testing::SpanCapture::new();
    let instrumentation = Instrumentation::with_provider(capture.provider(), "tracewire-http")
        .with_meter(meters.meter("tracewire-http"));
    let layer = HttpServerLayer::new()
        .with_instrumentation(instrumentation)
        .active_requests_metric(true);
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
    meters.force_flush().expect("flush");

    let metrics = exporter.get_finished_metrics().expect("metrics");
    let mut found_ok = false;
    let mut found_fail = false;
    let mut found_active = false;
    for resource in &metrics {
        for scope in resource.scope_metrics() {
            for metric in scope.metrics() {
                match (metric.name(), metric.data()) {
                    (
                        "http.server.request.duration",
                        AggregatedMetrics::F64(MetricData::Histogram(h)),
                    ) => {
                        assert_eq!(metric.unit(), "s");
                        for point in h.data_points() {
                            let attrs: Vec<(String, String)> = point
                                .attributes()
                                .map(|kv| (kv.key.to_string(), kv.value.to_string()))
                                .collect();
                            let get = |k: &str| {
                                attrs
                                    .iter()
                                    .find(|(key, _)| key == k)
                                    .map(|(_, v)| v.as_str())
                            };
                            assert_eq!(get("url.path"), None, "never on the metric");
                            assert_eq!(
                                point.bounds().collect::<Vec<_>>(),
                                tracewire_core::metrics::HTTP_DURATION_BUCKETS
                            );
                            match get("http.route") {
                                Some("/ok/{id}") => {
                                    found_ok = true;
                                    assert_eq!(point.count(), 2);
                                    assert_eq!(get("http.response.status_code"), Some("200"));
                                    assert_eq!(get("error.type"), None);
                                    assert_eq!(get("http.request.method"), Some("GET"));
                                    assert_eq!(get("url.scheme"), Some("http"));
                                    assert_eq!(get("network.protocol.version"), Some("1.1"));
                                }
                                Some("/fail") => {
                                    found_fail = true;
                                    assert_eq!(get("error.type"), Some("502"));
                                }
                                other => panic!("unexpected route {other:?}"),
                            }
                        }
                    }
                    (
                        "http.server.active_requests",
                        AggregatedMetrics::I64(MetricData::Sum(sum)),
                    ) => {
                        found_active = true;
                        for point in sum.data_points() {
                            assert_eq!(point.value(), 0, "every request finished");
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    assert!(found_ok && found_fail && found_active);
}
