//! OTLP exporters from [`OtlpConfig`], and the counts that show whether export keeps up.

#[cfg(feature = "otlp-http")]
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use opentelemetry::Context;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
use opentelemetry_sdk::metrics::PeriodicReader;
use opentelemetry_sdk::metrics::SdkMeterProvider;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
use opentelemetry_sdk::trace::BatchConfigBuilder;
use opentelemetry_sdk::trace::BatchSpanProcessor;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
use opentelemetry_sdk::trace::SpanExporter;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
use crate::env::Protocol;
use crate::env::{BatchSettings, OtlpConfig};

/// Why an exporter could not be built (the application goes on without exporting).
///
/// ```
/// use tracewire::{Builder, Config};
/// // A client certificate without its key: the OTLP exporter cannot be built.
/// let config = Config::from_lookup(|name| match name {
///     "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE" => Some("/etc/otel/client.pem".to_owned()),
///     "OTEL_METRICS_EXPORTER" => Some("none".to_owned()),
///     _ => None,
/// });
/// let telemetry = Builder::from_config(config).otlp(true).console(false).build();
/// // The application goes on without exporting; the error's message becomes a warning.
/// let report = telemetry.report();
/// assert!(report.exporters.is_empty());
/// let warning = report.warnings.iter().find(|w| w.variable == "OTEL_EXPORTER_OTLP_*");
/// assert_eq!(warning.map(|w| w.used.as_str()), Some("no export"));
///
/// // It is an ordinary error type.
/// fn is_error<E: std::error::Error + Send + Sync + 'static>() {}
/// is_error::<tracewire::ExportSetupError>();
/// ```
#[derive(Debug)]
pub struct ExportSetupError(pub(crate) String);

impl fmt::Display for ExportSetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ExportSetupError {}

/// Without the `tls` feature, certificate files cannot be used: say so rather than export in clear.
#[cfg(all(
    not(feature = "tls"),
    any(feature = "otlp-grpc", feature = "otlp-http")
))]
fn tls_note(config: &OtlpConfig) -> Option<ExportSetupError> {
    let configured = config.certificate.is_some()
        || config.client_certificate.is_some()
        || config.client_key.is_some();
    configured.then(|| {
        ExportSetupError(
            "OTEL_EXPORTER_OTLP_*CERTIFICATE/CLIENT_KEY need tracewire's `tls` feature".to_owned(),
        )
    })
}

#[cfg(feature = "tls")]
fn tls_note(_config: &OtlpConfig) -> Option<ExportSetupError> {
    None
}

/// The PEM files of `config`: trusted roots, and the client certificate with its key (mTLS).
#[cfg(feature = "tls")]
#[expect(
    clippy::type_complexity,
    reason = "three optional PEM byte vectors, named at the one call site"
)]
fn tls_files(
    config: &OtlpConfig,
) -> Result<(Option<Vec<u8>>, Option<(Vec<u8>, Vec<u8>)>), ExportSetupError> {
    let read = |path: &std::path::Path, what: &str| {
        std::fs::read(path).map_err(|e| ExportSetupError(format!("{what} {}: {e}", path.display())))
    };
    let roots = config
        .certificate
        .as_deref()
        .map(|p| read(p, "OTEL_EXPORTER_OTLP_CERTIFICATE"))
        .transpose()?;
    let identity = match (&config.client_certificate, &config.client_key) {
        (Some(cert), Some(key)) => Some((
            read(cert, "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE")?,
            read(key, "OTEL_EXPORTER_OTLP_CLIENT_KEY")?,
        )),
        (None, None) => None,
        _ => {
            return Err(ExportSetupError(
                "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and _CLIENT_KEY go together".to_owned(),
            ));
        }
    };
    Ok((roots, identity))
}

/// gRPC TLS for `https://` endpoints and configured certificates: the public web roots, plus the
/// configured roots and client identity.
#[cfg(all(feature = "tls", feature = "otlp-grpc"))]
fn grpc_tls(
    config: &OtlpConfig,
) -> Result<Option<opentelemetry_otlp::tonic_types::transport::ClientTlsConfig>, ExportSetupError> {
    use opentelemetry_otlp::tonic_types::transport::{Certificate, ClientTlsConfig, Identity};
    let (roots, identity) = tls_files(config)?;
    if !config.endpoint.starts_with("https://") && roots.is_none() && identity.is_none() {
        return Ok(None);
    }
    let mut tls = ClientTlsConfig::new().with_enabled_roots();
    if let Some(roots) = roots {
        tls = tls.ca_certificate(Certificate::from_pem(roots));
    }
    if let Some((cert, key)) = identity {
        tls = tls.identity(Identity::from_pem(cert, key));
    }
    Ok(Some(tls))
}

/// An HTTP client for configured certificates (`None`: the exporter's default client, which already
/// trusts the public roots for `https://`).
#[cfg(all(feature = "tls", feature = "otlp-http"))]
fn http_client(config: &OtlpConfig) -> Result<Option<reqwest::blocking::Client>, ExportSetupError> {
    let (roots, identity) = tls_files(config)?;
    if roots.is_none() && identity.is_none() {
        return Ok(None);
    }
    let fail = |e: reqwest::Error| ExportSetupError(format!("OTLP HTTP client TLS: {e}"));
    let mut builder = reqwest::blocking::Client::builder().timeout(config.timeout);
    if let Some(roots) = roots {
        builder =
            builder.add_root_certificate(reqwest::Certificate::from_pem(&roots).map_err(fail)?);
    }
    if let Some((mut cert, key)) = identity {
        cert.extend_from_slice(&key);
        builder = builder.identity(reqwest::Identity::from_pem(&cert).map_err(fail)?);
    }
    // Built on a thread of its own: a blocking client must not be created (or dropped) on an async
    // runtime's thread.
    std::thread::spawn(move || builder.build().map_err(fail))
        .join()
        .map_err(|_| ExportSetupError("OTLP HTTP client: build panicked".to_owned()))?
        .map(Some)
}

/// Builds an OTLP exporter of type `$exporter` (span or metric: their builders have the same methods
/// but no common trait) from `$config`.
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
macro_rules! otlp_exporter {
    ($exporter:ty, $config:expr, $what:literal) => {{
        let config: &OtlpConfig = $config;
        if let Some(e) = tls_note(config) {
            return Err(e);
        }
        let built = match config.protocol {
            #[cfg(feature = "otlp-grpc")]
            Protocol::Grpc => {
                use opentelemetry_otlp::WithTonicConfig;
                let mut builder = <$exporter>::builder()
                    .with_tonic()
                    .with_endpoint(config.endpoint.clone())
                    .with_timeout(config.timeout)
                    .with_metadata(tonic_metadata(&config.headers));
                #[cfg(feature = "tls")]
                if let Some(tls) = grpc_tls(config)? {
                    builder = builder.with_tls_config(tls);
                }
                if config.gzip {
                    builder = builder.with_compression(opentelemetry_otlp::Compression::Gzip);
                }
                builder.build()
            }
            #[cfg(feature = "otlp-http")]
            Protocol::HttpProtobuf => {
                use opentelemetry_otlp::WithHttpConfig;
                let mut builder = <$exporter>::builder()
                    .with_http()
                    .with_endpoint(config.endpoint.clone())
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                    .with_timeout(config.timeout)
                    .with_headers(config.headers.iter().cloned().collect::<HashMap<_, _>>());
                #[cfg(feature = "tls")]
                if let Some(client) = http_client(config)? {
                    builder = builder.with_http_client(client);
                }
                if config.gzip {
                    builder = builder.with_compression(opentelemetry_otlp::Compression::Gzip);
                }
                builder.build()
            }
            #[allow(
                unreachable_patterns,
                reason = "reachable only when a transport feature is off"
            )]
            other => {
                return Err(ExportSetupError(format!(
                    "OTLP over {} needs tracewire's `{}` feature",
                    other.name(),
                    match other {
                        Protocol::Grpc => "otlp-grpc",
                        Protocol::HttpProtobuf => "otlp-http",
                    }
                )));
            }
        };
        built.map_err(|e| ExportSetupError(format!(concat!("OTLP ", $what, " exporter: {}"), e)))
    }};
}

/// The batch processor exporting spans over OTLP as `config` says, counting into `stats`.
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub(crate) fn batch_processor(
    config: &OtlpConfig,
    batch: BatchSettings,
    stats: &ExportStats,
) -> Result<BatchSpanProcessor, ExportSetupError> {
    // One export may take no longer than either timeout says (the SDK's thread-based batch processor
    // has no export timeout of its own).
    let config = &OtlpConfig {
        timeout: config.timeout.min(batch.export_timeout),
        ..config.clone()
    };
    let exporter: Result<opentelemetry_otlp::SpanExporter, _> =
        (|| otlp_exporter!(opentelemetry_otlp::SpanExporter, config, "span"))();
    let exporter = CountExported {
        inner: exporter?,
        stats: stats.clone(),
    };
    Ok(BatchSpanProcessor::builder(exporter)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_max_queue_size(batch.max_queue_size)
                .with_max_export_batch_size(batch.max_export_batch_size)
                .with_scheduled_delay(batch.schedule_delay)
                .build(),
        )
        .build())
}

/// The meter provider exporting over OTLP as `config` says, every `interval`.
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub(crate) fn meter_provider(
    config: &OtlpConfig,
    interval: Duration,
    resource: Resource,
) -> Result<SdkMeterProvider, ExportSetupError> {
    let exporter: Result<opentelemetry_otlp::MetricExporter, _> =
        (|| otlp_exporter!(opentelemetry_otlp::MetricExporter, config, "metric"))();
    let reader = PeriodicReader::builder(exporter?)
        .with_interval(interval)
        .build();
    Ok(SdkMeterProvider::builder()
        .with_resource(resource)
        .with_reader(reader)
        .build())
}

#[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
const NO_TRANSPORT: &str =
    "tracewire was built without an OTLP transport (features `otlp-grpc`, `otlp-http`)";

/// Without a transport compiled in, OTLP export is reported as unavailable (the console still works).
#[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
pub(crate) fn batch_processor(
    _config: &OtlpConfig,
    _batch: BatchSettings,
    _stats: &ExportStats,
) -> Result<BatchSpanProcessor, ExportSetupError> {
    Err(ExportSetupError(NO_TRANSPORT.to_owned()))
}

/// Without a transport compiled in, OTLP export is reported as unavailable.
#[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
pub(crate) fn meter_provider(
    _config: &OtlpConfig,
    _interval: Duration,
    _resource: Resource,
) -> Result<SdkMeterProvider, ExportSetupError> {
    Err(ExportSetupError(NO_TRANSPORT.to_owned()))
}

#[cfg(feature = "otlp-grpc")]
fn tonic_metadata(
    headers: &[(String, String)],
) -> opentelemetry_otlp::tonic_types::metadata::MetadataMap {
    let mut map = http::HeaderMap::new();
    for (key, value) in headers {
        // Invalid names or values are skipped: a typo in a header must not stop export.
        if let (Ok(key), Ok(value)) = (
            http::HeaderName::from_bytes(key.to_ascii_lowercase().as_bytes()),
            http::HeaderValue::from_str(value),
        ) {
            map.insert(key, value);
        }
    }
    opentelemetry_otlp::tonic_types::metadata::MetadataMap::from_headers(map)
}

/// How many sampled spans ended, how many were exported, how many failed; the rest were dropped
/// (the batch queue was full) or are still queued. Cheap to clone; read it while the app runs.
///
/// ```
/// let stats = tracewire::ExportStats::default();
/// assert_eq!(stats.dropped_or_queued(), 0);
/// ```
#[derive(Clone, Default)]
pub struct ExportStats(Arc<Counts>);

#[derive(Default)]
struct Counts {
    ended: AtomicU64,
    exported: AtomicU64,
    failed: AtomicU64,
}

impl fmt::Debug for ExportStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExportStats")
            .field("ended", &self.ended())
            .field("exported", &self.exported())
            .field("failed", &self.failed())
            .finish()
    }
}

impl fmt::Display for ExportStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} spans ended, {} exported, {} failed to export, {} dropped or still queued",
            self.ended(),
            self.exported(),
            self.failed(),
            self.dropped_or_queued()
        )
    }
}

impl ExportStats {
    /// Sampled spans handed to the export pipeline.
    pub fn ended(&self) -> u64 {
        self.0.ended.load(Ordering::Relaxed)
    }
    /// Spans the collector accepted.
    pub fn exported(&self) -> u64 {
        self.0.exported.load(Ordering::Relaxed)
    }
    /// Spans in exports that failed (collector down, timeout, rejected).
    pub fn failed(&self) -> u64 {
        self.0.failed.load(Ordering::Relaxed)
    }
    /// Spans neither exported nor failed: dropped because the queue was full, or still queued.
    /// After shutdown, all of them were dropped.
    pub fn dropped_or_queued(&self) -> u64 {
        self.ended()
            .saturating_sub(self.exported())
            .saturating_sub(self.failed())
    }
}

/// Counts sampled spans on their way into the exporting processor.
#[derive(Debug)]
pub(crate) struct CountEnded<P> {
    pub(crate) inner: P,
    pub(crate) stats: ExportStats,
}

impl<P: SpanProcessor> SpanProcessor for CountEnded<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        if span.span_context.is_sampled() {
            self.stats.0.ended.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// Counts what the exporter it wraps delivers.
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
#[derive(Debug)]
pub(crate) struct CountExported<E> {
    pub(crate) inner: E,
    pub(crate) stats: ExportStats,
}

#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
impl<E: SpanExporter> SpanExporter for CountExported<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let n = batch.len() as u64;
        let result = self.inner.export(batch).await;
        let counter = if result.is_ok() {
            &self.stats.0.exported
        } else {
            &self.stats.0.failed
        };
        counter.fetch_add(n, Ordering::Relaxed);
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
