//! OTLP over TLS: a CA and certificates made here with the `openssl` command, a TLS (and mTLS) test
//! receiver, and `OTEL_EXPORTER_OTLP_CERTIFICATE` / `_CLIENT_CERTIFICATE` / `_CLIENT_KEY`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use opentelemetry::trace::{Tracer, TracerProvider as _};
use tracewire::{Builder, Config};
use tracewire_testing::OtlpReceiver;

struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).expect("PEM")
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command (Debian: openssl)");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, both signed by the CA.
fn pki(name: &str) -> Pki {
    let dir = std::env::temp_dir().join(format!("tracewire-tls-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=tracewire test CA",
        ],
    );
    for (who, usage) in [("server", "serverAuth"), ("client", "clientAuth")] {
        openssl(
            &dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &format!("{who}.key"),
                "-out",
                &format!("{who}.csr"),
                "-subj",
                &format!("/CN=tracewire test {who}"),
            ],
        );
        std::fs::write(
            dir.join(format!("{who}.ext")),
            format!(
                "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
                 keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage={usage}\n"
            ),
        )
        .expect("ext");
        openssl(
            &dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{who}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &format!("{who}.pem"),
                "-days",
                "2",
                "-extfile",
                &format!("{who}.ext"),
            ],
        );
    }
    Pki { dir }
}

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
