//! OTLP end to end: tracewire's setup exporting to the test kit's real OTLP receiver over gRPC and
//! HTTP, and the collector-down cases (a closed port, a receiver stopped mid-run).

use std::time::Duration;

use opentelemetry::trace::{
    Link, Span as _, SpanKind, Status, TraceContextExt, Tracer, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use tracewire::{Builder, Config};
use tracewire_testing::OtlpReceiver;
use tracewire_testing::otlp::as_str;

fn config(vars: &[(&str, String)]) -> Config {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    Config::from_lookup(move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
}

/// A server span with a client child that fails and links to another trace.
fn make_trace(provider: &opentelemetry_sdk::trace::SdkTracerProvider) -> (String, String) {
    let tracer = provider.tracer("export-test");
    let mut other = tracer.start("other trace");
    let other_cx = other.span_context().clone();
    other.end();
    let mut root = tracer
        .span_builder("GET /checkout")
        .with_kind(SpanKind::Server)
        .with_attributes([KeyValue::new("http.route", "/checkout")])
        .start(&tracer);
    let root_id = root.span_context().span_id().to_string();
    let cx = Context::new().with_remote_span_context(root.span_context().clone());
    let mut child = tracer
        .span_builder("POST")
        .with_kind(SpanKind::Client)
        .with_links(vec![Link::with_context(other_cx)])
        .start_with_context(&tracer, &cx);
    child.set_status(Status::error("payment declined"));
    child.end();
    root.end();
    (root.span_context().trace_id().to_string(), root_id)
}

async fn export_round_trip(protocol: &str, endpoint: String) {
    let receiver = OtlpReceiver::start().await.expect("receiver");
    let endpoint = match endpoint.as_str() {
        "grpc" => receiver.grpc_endpoint(),
        _ => receiver.http_endpoint(),
    };
    let telemetry = Builder::from_config(config(&[
        ("OTEL_SERVICE_NAME", "checkout".into()),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment.name=test,team=pay%2Cments".into(),
        ),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.into()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=s3cret-key".into()),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip".into()),
        ("OTEL_METRICS_EXPORTER", "none".into()),
        ("OTEL_TRACES_EXPORTER", "otlp".into()),
    ]))
    .build();
    assert!(
        telemetry.report().warnings.is_empty(),
        "{:?}",
        telemetry.report()
    );
    let report = telemetry.report().to_string();
    assert!(report.contains("x-api-key=REDACTED"), "{report}");
    assert!(!report.contains("s3cret-key"), "{report}");

    let provider = telemetry.tracer_provider().expect("SDK on").clone();
    let (trace_id, root_id) = make_trace(&provider);
    provider.force_flush().expect("flush");
    let spans = receiver.wait_for_spans(3, Duration::from_secs(10)).await;
    assert_eq!(spans.len(), 3, "{protocol}: {spans:?}");

    let root = spans
        .iter()
        .find(|s| s.span.name == "GET /checkout")
        .expect("root");
    let child = spans.iter().find(|s| s.span.name == "POST").expect("child");
    let other = spans
        .iter()
        .find(|s| s.span.name == "other trace")
        .expect("other");
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    assert_eq!(hex(&root.span.trace_id), trace_id);
    assert_eq!(hex(&child.span.parent_span_id), root_id);
    assert_eq!(child.span.links.len(), 1);
    assert_eq!(child.span.links[0].span_id, other.span.span_id);
    let status = child.span.status.as_ref().expect("status");
    assert_eq!(status.code, StatusCode::Error as i32);
    assert_eq!(status.message, "payment declined");

    let resource = |key| root.resource_attribute(key).and_then(as_str);
    assert_eq!(resource("service.name"), Some("checkout"));
    assert_eq!(resource("deployment.environment.name"), Some("test"));
    assert_eq!(resource("team"), Some("pay,ments"));
    assert_eq!(resource("telemetry.sdk.language"), Some("rust"));
    assert!(resource("host.name").is_some());
    // The registry's values (`amd64`, `arm64`, …), not Rust's target names.
    let expected_arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    assert_eq!(resource("host.arch"), Some(expected_arch));
    assert!(root.resource_attribute("process.pid").is_some());
    assert!(root.resource_attribute("process.command_args").is_none());

    let headers = receiver.request_headers();
    assert!(!headers.is_empty());
    for h in &headers {
        assert_eq!(
            h.get("x-api-key").and_then(|v| v.to_str().ok()),
            Some("s3cret-key")
        );
        let encoding = if protocol == "grpc" {
            "grpc-encoding"
        } else {
            "content-encoding"
        };
        assert_eq!(
            h.get(encoding).and_then(|v| v.to_str().ok()),
            Some("gzip"),
            "{protocol}: {h:?}"
        );
    }
    let _ = provider.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_export_carries_resource_tree_links_status_headers_and_gzip() {
    export_round_trip("grpc", "grpc".into()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_protobuf_export_carries_the_same() {
    export_round_trip("http/protobuf", "http".into()).await;
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    port
}

/// An instrumented app; spans go to `provider` (never the global one: tests run side by side).
async fn serve_app(
    provider: &opentelemetry_sdk::trace::SdkTracerProvider,
) -> (String, tokio::task::JoinHandle<()>) {
    let app = axum::Router::new()
        .route("/work", axum::routing::get(|| async { "done" }))
        .layer(tracewire_http::HttpServerLayer::new().with_tracer_provider(provider));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/work"), task)
}

async fn get(url: &str) -> u16 {
    // A raw HTTP/1.1 request, so the test needs no HTTP client of its own.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
        return 0;
    };
    let request = "GET /work HTTP/1.1\r\nhost: app\r\nconnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).await.is_err() {
        return 0;
    }
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response);
    text.split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_that_is_down_costs_requests_nothing_and_shutdown_is_bounded() {
    for protocol in ["grpc", "http/protobuf"] {
        let endpoint = format!("http://127.0.0.1:{}", closed_port());
        let telemetry = Builder::from_config(config(&[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.into()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "300".into()),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "64".into()),
            ("OTEL_BSP_SCHEDULE_DELAY", "20".into()),
            ("OTEL_METRICS_EXPORTER", "none".into()),
            ("OTEL_TRACES_EXPORTER", "otlp".into()),
        ]))
        .shutdown_timeout(Duration::from_secs(3))
        .without_subscriber()
        .build();
        let stats = telemetry.export_stats();
        let provider = telemetry.tracer_provider().expect("SDK on").clone();
        let tracer = provider.tracer("down");

        // Spans far beyond the queue: the application side never blocks, the queue stays bounded.
        for i in 0..5_000 {
            tracer.in_span(format!("work {}", i % 7), |_| {});
        }
        assert_eq!(stats.ended(), 5_000, "{protocol}");
        assert_eq!(stats.exported(), 0, "{protocol}");

        // An instrumented server keeps answering while nothing can be exported.
        let (url, server) = serve_app(&provider).await;
        for _ in 0..50 {
            assert_eq!(get(&url).await, 200, "{protocol}");
        }
        server.abort();

        let stats = telemetry.export_stats();
        assert!(
            telemetry.shutdown(),
            "{protocol}: shutdown exceeded its bound"
        );
        assert_eq!(stats.exported(), 0);
        assert_eq!(stats.ended(), 5_050, "{protocol}");
        // Every span is accounted for: failed exports plus what the bounded queue dropped.
        assert_eq!(
            stats.failed() + stats.dropped_or_queued(),
            stats.ended(),
            "{protocol}: {stats}"
        );
        assert!(stats.dropped_or_queued() > 0, "{protocol}: {stats}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_stopped_mid_run_stops_exports_not_the_app() {
    let receiver = OtlpReceiver::start().await.expect("receiver");
    let telemetry = Builder::from_config(config(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.grpc_endpoint()),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "300".into()),
        ("OTEL_BSP_SCHEDULE_DELAY", "20".into()),
        ("OTEL_METRICS_EXPORTER", "none".into()),
        ("OTEL_TRACES_EXPORTER", "otlp".into()),
    ]))
    .shutdown_timeout(Duration::from_secs(3))
    .without_subscriber()
    .build();
    let stats = telemetry.export_stats();
    let provider = telemetry.tracer_provider().expect("SDK on").clone();
    let tracer = provider.tracer("mid-run");

    for _ in 0..100 {
        tracer.in_span("before", |_| {});
    }
    provider.force_flush().expect("flush");
    assert_eq!(
        receiver
            .wait_for_spans(100, Duration::from_secs(10))
            .await
            .len(),
        100
    );
    assert_eq!(stats.exported(), 100);

    receiver.stop();
    for _ in 0..100 {
        tracer.in_span("after", |_| {});
    }
    let _ = provider.force_flush();
    assert_eq!(
        receiver.spans().len(),
        100,
        "nothing arrives after the stop"
    );
    assert_eq!(stats.exported(), 100);
    assert_eq!(stats.ended(), 200);
    assert_eq!(stats.failed() + stats.dropped_or_queued(), 100);
    assert!(telemetry.shutdown(), "shutdown exceeded its bound");
}

#[test]
fn sdk_disabled_keeps_propagation_and_records_nothing() {
    let telemetry = Builder::from_config(config(&[
        ("OTEL_SDK_DISABLED", "true".into()),
        ("OTEL_PROPAGATORS", "tracecontext,b3multi".into()),
    ]))
    .build();
    assert!(telemetry.tracer_provider().is_none());
    assert!(telemetry.meter_provider().is_none());
    use opentelemetry::propagation::TextMapPropagator;
    let propagator = telemetry.propagator();
    let mut fields: Vec<&str> = propagator.fields().collect();
    fields.sort();
    assert!(
        fields.contains(&"traceparent") && fields.contains(&"x-b3-traceid"),
        "{fields:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_collector_costs_spans_not_requests() {
    let receiver = OtlpReceiver::start().await.expect("receiver");
    receiver.set_delay(Duration::from_secs(2));
    let telemetry = Builder::from_config(config(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.grpc_endpoint()),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "200".into()),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "128".into()),
        ("OTEL_BSP_SCHEDULE_DELAY", "20".into()),
        ("OTEL_METRICS_EXPORTER", "none".into()),
        ("OTEL_TRACES_EXPORTER", "otlp".into()),
    ]))
    .shutdown_timeout(Duration::from_secs(3))
    .without_subscriber()
    .build();
    let stats = telemetry.export_stats();
    let provider = telemetry.tracer_provider().expect("SDK on").clone();
    let tracer = provider.tracer("slow");
    // The application goes on making spans while every export waits for the slow collector.
    for round in 0..20 {
        for _ in 0..250 {
            tracer.in_span("work", |_| {});
        }
        if round % 5 == 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert_eq!(stats.ended(), 5_000);
    assert!(telemetry.shutdown(), "shutdown exceeded its bound");
    assert_eq!(stats.exported(), 0, "every export timed out: {stats}");
    assert_eq!(stats.failed() + stats.dropped_or_queued(), 5_000, "{stats}");
    assert!(
        stats.dropped_or_queued() >= 5_000 / 2,
        "a queue of 128 cannot hold what a timed-out collector does not take: most spans dropped: {stats}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_exported_over_otlp_under_the_service_name() {
    let receiver = OtlpReceiver::start().await.expect("receiver");
    let telemetry = Builder::from_config(config(&[
        ("OTEL_SERVICE_NAME", "metered".into()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.grpc_endpoint()),
        ("OTEL_TRACES_EXPORTER", "none".into()),
        ("OTEL_METRICS_EXPORTER", "otlp".into()),
        ("OTEL_METRIC_EXPORT_INTERVAL", "100".into()),
    ]))
    .without_subscriber()
    .build();
    assert!(telemetry.report().metrics, "{}", telemetry.report());
    let meter_provider = telemetry.meter_provider().expect("metrics on").clone();
    // The HTTP server layer records `http.server.request.duration` through this meter provider.
    opentelemetry::global::set_meter_provider(meter_provider.clone());
    let tracer_provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let (url, server) = serve_app(&tracer_provider).await;
    for _ in 0..3 {
        assert_eq!(get(&url).await, 200);
    }
    server.abort();
    meter_provider.force_flush().expect("flush");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let wanted = (
        "metered".to_owned(),
        "http.server.request.duration".to_owned(),
    );
    while !receiver.metric_names().contains(&wanted) && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        receiver.metric_names().contains(&wanted),
        "{:?}",
        receiver.metric_names()
    );
    let _ = meter_provider.shutdown();
}
