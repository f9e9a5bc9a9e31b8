//! `http.client.request.duration` from real calls, read back from an SDK meter provider.

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use opentelemetry::metrics::MeterProvider;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use reqwest_middleware::ClientBuilder;
use tracewire_core::span::Instrumentation;
use tracewire_reqwest::HttpClientMiddleware;
use tracewire_testing::SpanCapture;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duration_histogram_has_the_semconv_attributes() {
    let exporter = InMemoryMetricExporter::default();
    let meters = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    let capture = SpanCapture::new();
    let instrumentation = Instrumentation::with_provider(capture.provider(), "tracewire-reqwest")
        .with_meter(meters.meter("tracewire-reqwest"));
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
        .with(HttpClientMiddleware::new().with_instrumentation(instrumentation))
        .build();
    for path in ["/ok", "/ok", "/gone"] {
        http.get(format!("http://{addr}{path}"))
            .send()
            .await
            .expect("response");
    }
    capture.wait_for(3, Duration::from_secs(5)).await;
    meters.force_flush().expect("flush");

    let mut seen = Vec::new();
    for resource in exporter.get_finished_metrics().expect("metrics") {
        for scope in resource.scope_metrics() {
            for metric in scope.metrics() {
                if let (
                    "http.client.request.duration",
                    AggregatedMetrics::F64(MetricData::Histogram(h)),
                ) = (metric.name(), metric.data())
                {
                    for point in h.data_points() {
                        let attrs: Vec<(String, String)> = point
                            .attributes()
                            .map(|kv| (kv.key.to_string(), kv.value.to_string()))
                            .collect();
                        let get = |k: &str| {
                            attrs
                                .iter()
                                .find(|(key, _)| key == k)
                                .map(|(_, v)| v.clone())
                        };
                        assert_eq!(get("http.request.method").as_deref(), Some("GET"));
                        assert_eq!(get("server.address").as_deref(), Some("127.0.0.1"));
                        assert_eq!(get("server.port"), Some(addr.port().to_string()));
                        assert_eq!(get("url.full"), None, "never on the metric");
                        seen.push((
                            get("http.response.status_code"),
                            get("error.type"),
                            point.count(),
                        ));
                    }
                }
            }
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        vec![
            (Some("200".to_owned()), None, 2),
            (Some("410".to_owned()), Some("410".to_owned()), 1),
        ]
    );
}
