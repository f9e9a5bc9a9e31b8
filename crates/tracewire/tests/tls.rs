//! OTLP over TLS: a CA and certificates made here with the `openssl` command, a TLS (and mTLS) test
//! receiver, and `OTEL_EXPORTER_OTLP_CERTIFICATE` / `_CLIENT_CERTIFICATE` / `_CLIENT_KEY`.

use std::time::Duration;

use opentelemetry::trace::{Tracer, TracerProvider as _};
use tracewire::{Builder, Config};
use tracewire_testing::OtlpReceiver;
use tracewire_testing::pki::pki;

fn config(vars: Vec<(&'static str, String)>) -> Config {
    Config::from_lookup(move |name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    })
}

/// Exports 10 spans and returns (exported, failed) as counted by tracewire.
fn export(config: Config) -> (u64, u64) {
    let telemetry = Builder::from_config(config)
        .otlp(true)
        .console(false)
        .without_subscriber()
        .shutdown_timeout(Duration::from_secs(5))
        .build();
    assert!(
        telemetry.report().warnings.is_empty(),
        "{:?}",
        telemetry.report().warnings
    );
    let stats = telemetry.export_stats();
    let tracer = telemetry.tracer_provider().expect("SDK on").tracer("tls");
    for _ in 0..10 {
        tracer.in_span("over tls", |_| {});
    }
    assert!(telemetry.shutdown(), "shutdown within its bound");
    (stats.exported(), stats.failed())
}

/// The exporter settings for `protocol` (`grpc` or `http/protobuf`) against a TLS receiver.
fn base(receiver: &OtlpReceiver, protocol: &str) -> Vec<(&'static str, String)> {
    let endpoint = match protocol {
        "grpc" => receiver.grpc_endpoint_tls(),
        _ => receiver.http_endpoint_tls(),
    };
    vec![
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.to_owned()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000".into()),
        ("OTEL_METRICS_EXPORTER", "none".into()),
    ]
}

async fn tls_trusting_the_configured_ca(protocol: &str) {
    let pki = pki(&format!("ca-{}", protocol.replace('/', "-")));
    let receiver = OtlpReceiver::start_tls(&pki.read("server.pem"), &pki.read("server.key"), None)
        .await
        .expect("TLS receiver");
    let mut vars = base(&receiver, protocol);
    vars.push((
        "OTEL_EXPORTER_OTLP_CERTIFICATE",
        pki.path("ca.pem").display().to_string(),
    ));
    let (exported, failed) = tokio::task::spawn_blocking(move || export(config(vars)))
        .await
        .expect("join");
    assert_eq!((exported, failed), (10, 0));
    assert_eq!(receiver.spans().len(), 10);
}

async fn an_untrusted_server_certificate_fails_the_export_not_the_app(protocol: &str) {
    let pki = pki(&format!("untrusted-{}", protocol.replace('/', "-")));
    let receiver = OtlpReceiver::start_tls(&pki.read("server.pem"), &pki.read("server.key"), None)
        .await
        .expect("TLS receiver");
    // No OTEL_EXPORTER_OTLP_CERTIFICATE: our test CA is not among the public roots.
    let vars = base(&receiver, protocol);
    let (exported, failed) = tokio::task::spawn_blocking(move || export(config(vars)))
        .await
        .expect("join");
    assert_eq!(exported, 0);
    assert_eq!(failed, 10);
    assert!(receiver.spans().is_empty());
}

async fn mutual_tls_with_the_configured_client_certificate(protocol: &str) {
    let pki = pki(&format!("mtls-{}", protocol.replace('/', "-")));
    let receiver = OtlpReceiver::start_tls(
        &pki.read("server.pem"),
        &pki.read("server.key"),
        Some(&pki.read("ca.pem")),
    )
    .await
    .expect("mTLS receiver");
    let mut vars = base(&receiver, protocol);
    vars.push((
        "OTEL_EXPORTER_OTLP_CERTIFICATE",
        pki.path("ca.pem").display().to_string(),
    ));
    let without_client_cert = vars.clone();
    vars.push((
        "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
        pki.path("client.pem").display().to_string(),
    ));
    vars.push((
        "OTEL_EXPORTER_OTLP_CLIENT_KEY",
        pki.path("client.key").display().to_string(),
    ));
    let (exported, failed) = tokio::task::spawn_blocking(move || export(config(vars)))
        .await
        .expect("join");
    assert_eq!((exported, failed), (10, 0));
    assert_eq!(receiver.spans().len(), 10);

    // The server requires a client certificate: without one, nothing gets through.
    let (exported, _) = tokio::task::spawn_blocking(move || export(config(without_client_cert)))
        .await
        .expect("join");
    assert_eq!(exported, 0);
    assert_eq!(receiver.spans().len(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_over_tls_trusting_the_configured_ca() {
    tls_trusting_the_configured_ca("grpc").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_protobuf_over_tls_trusting_the_configured_ca() {
    tls_trusting_the_configured_ca("http/protobuf").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_with_an_untrusted_server_certificate_fails_the_export_not_the_app() {
    an_untrusted_server_certificate_fails_the_export_not_the_app("grpc").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_protobuf_with_an_untrusted_server_certificate_fails_the_export_not_the_app() {
    an_untrusted_server_certificate_fails_the_export_not_the_app("http/protobuf").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_mutual_tls_with_the_configured_client_certificate() {
    mutual_tls_with_the_configured_client_certificate("grpc").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_protobuf_mutual_tls_with_the_configured_client_certificate() {
    mutual_tls_with_the_configured_client_certificate("http/protobuf").await;
}

#[test]
fn a_missing_certificate_file_is_a_clear_warning() {
    let telemetry = Builder::from_config(config(vec![
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".into()),
        (
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
            "/nonexistent/ca.pem".into(),
        ),
        ("OTEL_METRICS_EXPORTER", "none".into()),
    ]))
    .otlp(true)
    .console(false)
    .without_subscriber()
    .build();
    let warnings: Vec<String> = telemetry
        .report()
        .warnings
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("OTEL_EXPORTER_OTLP_CERTIFICATE /nonexistent/ca.pem")),
        "{warnings:?}"
    );
    assert!(telemetry.report().exporters.is_empty());
}
