//! The OTLP test receiver: real OTLP/gRPC and OTLP/HTTP endpoints that keep what they receive.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A span as it arrived over OTLP, with the resource and scope it was sent under.
///
/// ```no_run
/// # async fn demo(receiver: tracewire_testing::OtlpReceiver) {
/// for received in receiver.spans() {
///     println!("{} from {:?}", received.span.name, received.resource_attribute("service.name"));
/// }
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ReceivedSpan {
    /// The resource (service name and so on).
    pub resource: Option<Resource>,
    /// The instrumentation scope name.
    pub scope: String,
    /// The span.
    pub span: Span,
}

impl ReceivedSpan {
    /// A span attribute, as a string when it is one.
    ///
    /// ```
    /// use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
    /// use opentelemetry_proto::tonic::trace::v1::Span;
    /// use tracewire_testing::{ReceivedSpan, otlp::as_str};
    ///
    /// let route = KeyValue {
    ///     key: "http.route".into(),
    ///     value: Some(AnyValue { value: Some(Value::StringValue("/orders/{id}".into())) }),
    ///     ..Default::default()
    /// };
    /// let span = Span {
    ///     name: "GET /orders/{id}".into(),
    ///     attributes: vec![route],
    ///     ..Default::default()
    /// };
    /// let received = ReceivedSpan { resource: None, scope: "t".into(), span };
    /// assert_eq!(received.attribute("http.route").and_then(as_str), Some("/orders/{id}"));
    /// assert!(received.attribute("http.request.method").is_none());
    /// ```
    pub fn attribute(&self, key: &str) -> Option<&AnyValue> {
        find(&self.span.attributes, key)
    }

    /// A resource attribute.
    ///
    /// ```
    /// use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
    /// use opentelemetry_proto::tonic::resource::v1::Resource;
    /// use tracewire_testing::{ReceivedSpan, otlp::as_str};
    ///
    /// let service = KeyValue {
    ///     key: "service.name".into(),
    ///     value: Some(AnyValue { value: Some(Value::StringValue("checkout".into())) }),
    ///     ..Default::default()
    /// };
    /// let resource = Resource { attributes: vec![service], ..Default::default() };
    /// let received = ReceivedSpan {
    ///     resource: Some(resource),
    ///     scope: "t".into(),
    ///     span: Default::default(),
    /// };
    /// assert_eq!(received.resource_attribute("service.name").and_then(as_str), Some("checkout"));
    /// ```
    pub fn resource_attribute(&self, key: &str) -> Option<&AnyValue> {
        self.resource
            .as_ref()
            .and_then(|r| find(&r.attributes, key))
    }
}

fn find<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
}

/// The string inside an OTLP value, if it is a string.
///
/// ```
/// use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value::Value};
/// let v = AnyValue { value: Some(Value::StringValue("x".into())) };
/// assert_eq!(tracewire_testing::otlp::as_str(&v), Some("x"));
/// ```
pub fn as_str(value: &AnyValue) -> Option<&str> {
    match &value.value {
        Some(any_value::Value::StringValue(s)) => Some(s),
        _ => None,
    }
}

#[derive(Clone, Default)]
struct Store {
    requests: Arc<Mutex<Vec<(ExportTraceServiceRequest, HeaderMap)>>>,
    metrics: Arc<Mutex<Vec<ExportMetricsServiceRequest>>>,
    stopped: Arc<std::sync::atomic::AtomicBool>,
    delay_ms: Arc<std::sync::atomic::AtomicU64>,
}

impl Store {
    async fn slow_down(&self) {
        let ms = self.delay_ms.load(std::sync::atomic::Ordering::SeqCst);
        if ms > 0 {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }

    fn is_stopped(&self) -> bool {
        self.stopped.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn push(&self, request: ExportTraceServiceRequest, headers: HeaderMap) {
        if let Ok(mut requests) = self.requests.lock() {
            requests.push((request, headers));
        }
    }
}

#[tonic::async_trait]
impl MetricsService for Store {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        self.slow_down().await;
        if self.is_stopped() {
            return Err(tonic::Status::unavailable("receiver stopped"));
        }
        if let Ok(mut metrics) = self.metrics.lock() {
            metrics.push(request.into_inner());
        }
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl TraceService for Store {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.slow_down().await;
        if self.is_stopped() {
            return Err(tonic::Status::unavailable("receiver stopped"));
        }
        let headers = request.metadata().clone().into_headers();
        self.push(request.into_inner(), headers);
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// An OTLP receiver for tests: traces over OTLP/gRPC and OTLP/HTTP (protobuf, `POST /v1/traces`), and
/// metrics over both (`POST /v1/metrics`), on ephemeral 127.0.0.1 ports. It stops when dropped.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// let receiver = tracewire_testing::OtlpReceiver::start().await?;
/// println!("gRPC: {}  HTTP: {}", receiver.grpc_endpoint(), receiver.http_traces_endpoint());
/// let spans = receiver.wait_for_spans(1, std::time::Duration::from_secs(5)).await;
/// # let _ = spans; Ok(()) }
/// ```
pub struct OtlpReceiver {
    store: Store,
    grpc_addr: SocketAddr,
    http_addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for OtlpReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpReceiver")
            .field("grpc_addr", &self.grpc_addr)
            .field("http_addr", &self.http_addr)
            .finish()
    }
}

impl OtlpReceiver {
    /// Starts both listeners on the current Tokio runtime.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// let receiver = tracewire_testing::OtlpReceiver::start().await?; // inside a Tokio runtime
    /// assert!(receiver.spans().is_empty());
    /// # Ok(()) }
    /// ```
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(None).await
    }

    /// Like [`start`](Self::start), with TLS on both listeners: the server presents `cert_pem` (with
    /// `key_pem`), and when `client_ca_pem` is given it requires a client certificate signed by it
    /// (mTLS). Connect with `https://` to [`grpc_endpoint_tls`](Self::grpc_endpoint_tls) or
    /// [`http_endpoint_tls`](Self::http_endpoint_tls).
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// let cert = std::fs::read("server.pem")?;
    /// let key = std::fs::read("server.key")?;
    /// let receiver = tracewire_testing::OtlpReceiver::start_tls(&cert, &key, None).await?;
    /// println!("{} {}", receiver.grpc_endpoint_tls(), receiver.http_endpoint_tls());
    /// # Ok(()) }
    /// ```
    pub async fn start_tls(
        cert_pem: &[u8],
        key_pem: &[u8],
        client_ca_pem: Option<&[u8]>,
    ) -> std::io::Result<Self> {
        Self::start_with(Some(TlsMaterial {
            cert_pem,
            key_pem,
            client_ca_pem,
        }))
        .await
    }

    async fn start_with(tls: Option<TlsMaterial<'_>>) -> std::io::Result<Self> {
        let store = Store::default();

        let grpc_incoming = tonic::transport::server::TcpIncoming::bind(([127, 0, 0, 1], 0).into())
            .map_err(std::io::Error::other)?;
        let grpc_addr = grpc_incoming.local_addr()?;
        let grpc_service = TraceServiceServer::new(store.clone())
            .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
        let metrics_service = MetricsServiceServer::new(store.clone())
            .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
        let mut server = tonic::transport::Server::builder();
        let mut http_tls = None;
        if let Some(tls) = &tls {
            server = server
                .tls_config(tls.tonic())
                .map_err(std::io::Error::other)?;
            http_tls = Some(tls.rustls()?);
        }
        let grpc = tokio::spawn(async move {
            let _ = server
                .add_service(grpc_service)
                .add_service(metrics_service)
                .serve_with_incoming(grpc_incoming)
                .await;
        });

        let http_listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let http_addr = http_listener.local_addr()?;
        let app = http_app(store.clone());
        let http = tokio::spawn(async move {
            match http_tls {
                Some(tls) => serve_tls(http_listener, app, tls).await,
                None => {
                    let _ = axum::serve(http_listener, app).await;
                }
            }
        });

        Ok(OtlpReceiver {
            store,
            grpc_addr,
            http_addr,
            tasks: vec![grpc, http],
        })
    }

    /// The OTLP/gRPC endpoint, `http://127.0.0.1:<port>`.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// use opentelemetry_otlp::{SpanExporter, WithExportConfig};
    /// use opentelemetry_sdk::trace::SdkTracerProvider;
    ///
    /// let receiver = tracewire_testing::OtlpReceiver::start().await?;
    /// let exporter = SpanExporter::builder()
    ///     .with_tonic()
    ///     .with_endpoint(receiver.grpc_endpoint())
    ///     .build()
    ///     .expect("exporter");
    /// let provider = SdkTracerProvider::builder().with_batch_exporter(exporter).build();
    /// # let _ = provider; Ok(()) }
    /// ```
    pub fn grpc_endpoint(&self) -> String {
        format!("http://{}", self.grpc_addr)
    }

    /// The OTLP/gRPC endpoint of a TLS receiver, `https://127.0.0.1:<port>`.
    ///
    /// ```no_run
    /// # async fn demo(cert: &[u8], key: &[u8]) -> std::io::Result<()> {
    /// let receiver = tracewire_testing::OtlpReceiver::start_tls(cert, key, None).await?;
    /// assert!(receiver.grpc_endpoint_tls().starts_with("https://127.0.0.1:"));
    /// # Ok(()) }
    /// ```
    pub fn grpc_endpoint_tls(&self) -> String {
        format!("https://{}", self.grpc_addr)
    }

    /// The `OTEL_*` variables of an application under test that exports its traces here as `service`
    /// over `protocol` (`grpc` or `http/protobuf`): no metrics, batches every 50 ms, no log lines. A
    /// lookup for `tracewire::Config::from_lookup`.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// let receiver = tracewire_testing::OtlpReceiver::start().await?;
    /// let variables = receiver.variables("checkout", "grpc");
    /// assert_eq!(variables("OTEL_SERVICE_NAME").as_deref(), Some("checkout"));
    /// assert_eq!(variables("OTEL_EXPORTER_OTLP_ENDPOINT"), Some(receiver.grpc_endpoint()));
    /// # Ok(()) }
    /// ```
    pub fn variables(
        &self,
        service: &str,
        protocol: &str,
    ) -> impl Fn(&str) -> Option<String> + Send + Sync + 'static {
        let endpoint = if protocol == "grpc" {
            self.grpc_endpoint()
        } else {
            self.http_endpoint()
        };
        let (service, protocol) = (service.to_owned(), protocol.to_owned());
        move |name| {
            match name {
                "OTEL_SERVICE_NAME" => Some(service.as_str()),
                "OTEL_EXPORTER_OTLP_PROTOCOL" => Some(protocol.as_str()),
                "OTEL_EXPORTER_OTLP_ENDPOINT" => Some(endpoint.as_str()),
                "OTEL_TRACES_EXPORTER" => Some("otlp"),
                "OTEL_METRICS_EXPORTER" => Some("none"),
                "OTEL_BSP_SCHEDULE_DELAY" => Some("50"),
                "TRACEWIRE_LOG_FORMAT" => Some("off"),
                _ => None,
            }
            .map(str::to_owned)
        }
    }

    /// The OTLP/HTTP base endpoint, `http://127.0.0.1:<port>` (what `OTEL_EXPORTER_OTLP_ENDPOINT` takes).
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// let receiver = tracewire_testing::OtlpReceiver::start().await?;
    /// let base = receiver.http_endpoint(); // OTEL_EXPORTER_OTLP_ENDPOINT
    /// assert_eq!(receiver.http_traces_endpoint(), format!("{base}/v1/traces"));
    /// # Ok(()) }
    /// ```
    pub fn http_endpoint(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// The OTLP/HTTP base endpoint of a TLS receiver, `https://127.0.0.1:<port>`.
    ///
    /// ```no_run
    /// # async fn demo(cert: &[u8], key: &[u8]) -> std::io::Result<()> {
    /// let receiver = tracewire_testing::OtlpReceiver::start_tls(cert, key, None).await?;
    /// assert!(receiver.http_endpoint_tls().starts_with("https://127.0.0.1:"));
    /// # Ok(()) }
    /// ```
    pub fn http_endpoint_tls(&self) -> String {
        format!("https://{}", self.http_addr)
    }

    /// The OTLP/HTTP traces endpoint, `http://127.0.0.1:<port>/v1/traces`.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// use opentelemetry_otlp::{SpanExporter, WithExportConfig};
    ///
    /// let receiver = tracewire_testing::OtlpReceiver::start().await?;
    /// let exporter = SpanExporter::builder()
    ///     .with_http()
    ///     .with_endpoint(receiver.http_traces_endpoint())
    ///     .build()
    ///     .expect("exporter");
    /// # let _ = exporter; Ok(()) }
    /// ```
    pub fn http_traces_endpoint(&self) -> String {
        format!("http://{}/v1/traces", self.http_addr)
    }

    /// The export requests received so far.
    ///
    /// ```no_run
    /// # fn demo(receiver: &tracewire_testing::OtlpReceiver) {
    /// // A batch exporter sends many spans per request.
    /// let requests = receiver.requests();
    /// let spans: usize = requests
    ///     .iter()
    ///     .flat_map(|request| &request.resource_spans)
    ///     .flat_map(|resource| &resource.scope_spans)
    ///     .map(|scope| scope.spans.len())
    ///     .sum();
    /// assert_eq!(spans, receiver.spans().len());
    /// # }
    /// ```
    pub fn requests(&self) -> Vec<ExportTraceServiceRequest> {
        self.store
            .requests
            .lock()
            .map(|r| r.iter().map(|(request, _)| request.clone()).collect())
            .unwrap_or_default()
    }

    /// The headers (gRPC metadata) of each export request received so far, in order: what a
    /// collector sees of `OTEL_EXPORTER_OTLP_HEADERS` and of compression (`content-encoding` for
    /// HTTP, `grpc-encoding` for gRPC). Gzip bodies are accepted and decoded on both transports.
    ///
    /// ```no_run
    /// # fn demo(receiver: &tracewire_testing::OtlpReceiver) {
    /// // The exporter was configured with OTEL_EXPORTER_OTLP_HEADERS=x-tenant=acme.
    /// for headers in receiver.request_headers() {
    ///     assert_eq!(headers.get("x-tenant").unwrap(), "acme");
    /// }
    /// # }
    /// ```
    pub fn request_headers(&self) -> Vec<HeaderMap> {
        self.store
            .requests
            .lock()
            .map(|r| r.iter().map(|(_, headers)| headers.clone()).collect())
            .unwrap_or_default()
    }

    /// The metric export requests received so far (OTLP/gRPC).
    ///
    /// ```no_run
    /// # fn demo(receiver: &tracewire_testing::OtlpReceiver) {
    /// let metrics: usize = receiver
    ///     .metric_requests()
    ///     .iter()
    ///     .flat_map(|request| &request.resource_metrics)
    ///     .flat_map(|resource| &resource.scope_metrics)
    ///     .map(|scope| scope.metrics.len())
    ///     .sum();
    /// println!("{metrics} metrics received");
    /// # }
    /// ```
    pub fn metric_requests(&self) -> Vec<ExportMetricsServiceRequest> {
        self.store
            .metrics
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default()
    }

    /// Names of the metrics received so far, with the `service.name` they came under, deduplicated.
    ///
    /// ```no_run
    /// # fn demo(receiver: &tracewire_testing::OtlpReceiver) {
    /// let expected = ("checkout".to_owned(), "http.server.request.duration".to_owned());
    /// assert!(receiver.metric_names().contains(&expected));
    /// # }
    /// ```
    pub fn metric_names(&self) -> Vec<(String, String)> {
        let mut names = Vec::new();
        for request in self.metric_requests() {
            for resource in request.resource_metrics {
                let service = resource
                    .resource
                    .as_ref()
                    .and_then(|r| find(&r.attributes, "service.name"))
                    .and_then(as_str)
                    .unwrap_or_default()
                    .to_owned();
                for scope in resource.scope_metrics {
                    for metric in scope.metrics {
                        let entry = (service.clone(), metric.name);
                        if !names.contains(&entry) {
                            names.push(entry);
                        }
                    }
                }
            }
        }
        names
    }

    /// Every span received so far.
    ///
    /// ```no_run
    /// # fn demo(receiver: &tracewire_testing::OtlpReceiver) {
    /// for received in receiver.spans() {
    ///     println!("{} (scope {})", received.span.name, received.scope);
    /// }
    /// # }
    /// ```
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        let mut spans = Vec::new();
        for request in self.requests() {
            for resource_spans in request.resource_spans {
                for scope_spans in resource_spans.scope_spans {
                    let scope = scope_spans.scope.map(|s| s.name).unwrap_or_default();
                    for span in scope_spans.spans {
                        spans.push(ReceivedSpan {
                            resource: resource_spans.resource.clone(),
                            scope: scope.clone(),
                            span,
                        });
                    }
                }
            }
        }
        spans
    }

    /// Waits until at least `count` spans arrived (or `timeout` passed) and returns them all.
    ///
    /// ```no_run
    /// # async fn demo(receiver: tracewire_testing::OtlpReceiver) {
    /// use std::time::Duration;
    /// let spans = receiver.wait_for_spans(2, Duration::from_secs(10)).await;
    /// assert_eq!(spans.len(), 2, "{spans:#?}");
    /// # }
    /// ```
    pub async fn wait_for_spans(&self, count: usize, timeout: Duration) -> Vec<ReceivedSpan> {
        let deadline = Instant::now() + timeout;
        loop {
            let spans = self.spans();
            if spans.len() >= count || Instant::now() >= deadline {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl OtlpReceiver {
    /// Makes every export request wait `delay` before it is answered, as an overloaded collector does.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// let receiver = tracewire_testing::OtlpReceiver::start().await?;
    /// receiver.set_delay(Duration::from_secs(3)); // longer than the exporter's timeout
    /// # Ok(()) }
    /// ```
    pub fn set_delay(&self, delay: Duration) {
        self.store.delay_ms.store(
            u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            std::sync::atomic::Ordering::SeqCst,
        );
    }

    /// Stops receiving, as a collector going down would: both listeners close, and connections still
    /// open are answered with errors (gRPC `UNAVAILABLE`, HTTP 503) and nothing more is stored.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// let receiver = tracewire_testing::OtlpReceiver::start().await?;
    /// receiver.stop(); // exports now fail, as against a collector that went down
    /// assert!(receiver.requests().is_empty());
    /// # Ok(()) }
    /// ```
    pub fn stop(&self) {
        self.store
            .stopped
            .store(true, std::sync::atomic::Ordering::SeqCst);
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The OTLP/HTTP side: `POST /v1/traces` and `POST /v1/metrics` with a protobuf body, gzip or plain.
fn http_app(store: Store) -> axum::Router {
    fn keep_traces(
        store: &Store,
        request: ExportTraceServiceRequest,
        headers: &HeaderMap,
    ) -> Vec<u8> {
        store.push(request, headers.clone());
        ExportTraceServiceResponse::default().encode_to_vec()
    }
    fn keep_metrics(store: &Store, request: ExportMetricsServiceRequest, _: &HeaderMap) -> Vec<u8> {
        if let Ok(mut metrics) = store.metrics.lock() {
            metrics.push(request);
        }
        ExportMetricsServiceResponse::default().encode_to_vec()
    }
    axum::Router::new()
        .route("/v1/traces", export_route(store.clone(), keep_traces))
        .route("/v1/metrics", export_route(store, keep_metrics))
}

/// `POST` of one OTLP signal: each export decoded by [`receive`] and handed to `keep`.
fn export_route<R: Message + Default + 'static>(
    store: Store,
    keep: fn(&Store, R, &HeaderMap) -> Vec<u8>,
) -> axum::routing::MethodRouter {
    axum::routing::post(move |headers: HeaderMap, body: Bytes| {
        let store = store.clone();
        async move {
            receive(&store, &headers, &body, |request| {
                keep(&store, request, &headers)
            })
            .await
        }
    })
}

/// One OTLP/HTTP export: decoded (gzip or plain) and kept by `keep`, which returns the response body.
async fn receive<R: Message + Default>(
    store: &Store,
    headers: &HeaderMap,
    body: &[u8],
    keep: impl FnOnce(R) -> Vec<u8>,
) -> (StatusCode, [(&'static str, &'static str); 1], Vec<u8>) {
    store.slow_down().await;
    if store.is_stopped() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [("content-type", "text/plain")],
            b"receiver stopped".to_vec(),
        );
    }
    let gzip = headers
        .get("content-encoding")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    let decoded = if gzip {
        let mut plain = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(body), &mut plain)
            .ok()
            .and_then(|_| R::decode(&plain[..]).ok())
    } else {
        R::decode(body).ok()
    };
    match decoded {
        Some(request) => (
            StatusCode::OK,
            [("content-type", "application/x-protobuf")],
            keep(request),
        ),
        None => (
            StatusCode::BAD_REQUEST,
            [("content-type", "text/plain")],
            b"bad protobuf".to_vec(),
        ),
    }
}

/// Certificates and keys for a TLS receiver, in PEM.
struct TlsMaterial<'a> {
    cert_pem: &'a [u8],
    key_pem: &'a [u8],
    client_ca_pem: Option<&'a [u8]>,
}

impl TlsMaterial<'_> {
    fn tonic(&self) -> tonic::transport::ServerTlsConfig {
        use tonic::transport::{Certificate, Identity, ServerTlsConfig};
        let mut tls =
            ServerTlsConfig::new().identity(Identity::from_pem(self.cert_pem, self.key_pem));
        if let Some(ca) = self.client_ca_pem {
            tls = tls.client_ca_root(Certificate::from_pem(ca));
        }
        tls
    }

    fn rustls(&self) -> std::io::Result<Arc<rustls::ServerConfig>> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let certs = CertificateDer::pem_slice_iter(self.cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(std::io::Error::other)?;
        let key = PrivateKeyDer::from_pem_slice(self.key_pem).map_err(std::io::Error::other)?;
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?;
        let builder = match self.client_ca_pem {
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in CertificateDer::pem_slice_iter(ca) {
                    roots
                        .add(cert.map_err(std::io::Error::other)?)
                        .map_err(std::io::Error::other)?;
                }
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                )
                .build()
                .map_err(std::io::Error::other)?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let mut config = builder
            .with_single_cert(certs, key)
            .map_err(std::io::Error::other)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// Serves `app` over HTTP/1.1 in TLS; a failed handshake (an untrusted or a missing client
/// certificate) closes that connection only.
async fn serve_tls(listener: TcpListener, app: axum::Router, tls: Arc<rustls::ServerConfig>) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let Ok(stream) = acceptor.accept(tcp).await else {
                return;
            };
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(
                    hyper_util::rt::TokioIo::new(stream),
                    hyper_util::service::TowerToHyperService::new(app),
                )
                .await;
        });
    }
}
