//! The OTLP path end to end: the real opentelemetry-otlp exporter, over gRPC and over HTTP/protobuf,
//! into the test receiver.

use std::time::Duration;

use opentelemetry::trace::{SpanKind, TraceContextExt};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracewire_core::span::{Instrumentation, Outcome, SpanError};
use tracewire_testing::OtlpReceiver;
use tracewire_testing::otlp::as_str;

async fn export_through(exporter: SpanExporter, receiver: &OtlpReceiver) {
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name("checkout").build())
        .build();
    let instrumentation = Instrumentation::with_provider(&provider, "otlp-test");
    let server = instrumentation.start(
        SpanKind::Server,
        "GET /orders/{id}",
        vec![KeyValue::new("http.route", "/orders/{id}")],
        &Context::new(),
    );
    let client = instrumentation.start(SpanKind::Client, "SELECT orders", vec![], server.context());
    client.end(Outcome::Failed(SpanError::new("08P01")));
    let trace_id = server.context().span().span_context().trace_id();
    server.end(Outcome::Success);
    provider.force_flush().expect("flush");

    let spans = receiver.wait_for_spans(2, Duration::from_secs(10)).await;
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let server = spans
        .iter()
        .find(|s| s.span.name == "GET /orders/{id}")
        .expect("server span");
    let client = spans
        .iter()
        .find(|s| s.span.name == "SELECT orders")
        .expect("client span");
    assert_eq!(server.span.trace_id, trace_id.to_bytes().to_vec());
    assert_eq!(client.span.parent_span_id, server.span.span_id);
    assert_eq!(server.span.kind, 2, "SERVER");
    assert_eq!(client.span.kind, 3, "CLIENT");
    assert_eq!(
        as_str(client.attribute("error.type").expect("error.type")),
        Some("08P01")
    );
    assert_eq!(
        client.span.status.as_ref().map(|s| s.code),
        Some(2),
        "ERROR"
    );
    assert_eq!(
        as_str(
            server
                .resource_attribute("service.name")
                .expect("service.name")
        ),
        Some("checkout")
    );
    assert_eq!(server.scope, "otlp-test");
    let _ = provider.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_arrive_over_otlp_grpc() {
    let receiver = OtlpReceiver::start().await.expect("receiver");
    let exporter = SpanExporter::builder()
        .with_tonic()
        .with_endpoint(receiver.grpc_endpoint())
        .with_timeout(Duration::from_secs(5))
        .build()
        .expect("exporter");
    export_through(exporter, &receiver).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_arrive_over_otlp_http_protobuf() {
    let receiver = OtlpReceiver::start().await.expect("receiver");
    let exporter = SpanExporter::builder()
        .with_http()
        .with_endpoint(receiver.http_traces_endpoint())
        .with_timeout(Duration::from_secs(5))
        .build()
        .expect("exporter");
    export_through(exporter, &receiver).await;
}
