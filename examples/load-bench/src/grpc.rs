//! `load-bench grpc [ROUNDS] [CALLS]`: unary gRPC calls over one HTTP/2 connection, server and client
//! side. Each round starts, per variant, a server process pinned to CPU 0 and a client process (a tonic
//! client keeping 32 calls in flight) pinned to CPU 1. Server variants run under a plain client; client
//! variants call a plain server. Reports each side's CPU µs per call over plain tonic (medians).

use std::future::Future;
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context as TaskContext, Poll, ready};
use std::time::{Duration, Instant};

use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer as _};
use opentelemetry::{Context, KeyValue, global};
use tonic::transport::{Endpoint, Server};
use tracewire_testing::echo::{EchoClient, EchoRequest, EchoServer, EchoService};

pub const VARIANTS: &[&str] = &[
    "baseline",
    "tracewire-grpc",
    "tonic-tracing-opentelemetry",
    "minimal-otel",
];

fn install(variant: &str) -> Option<opentelemetry_sdk::trace::SdkTracerProvider> {
    match variant {
        "baseline" => None,
        "tracewire-grpc" | "minimal-otel" => Some(crate::install_global_otel(variant == "tracewire-grpc")),
        "tonic-tracing-opentelemetry" => {
            // As its documentation sets it up: its own spans (target `otel::tracing`, TRACE) and
            // everything else at INFO, so that hyper's and h2's own DEBUG/TRACE spans stay out.
            use opentelemetry::trace::TracerProvider as _;
            use tracing_subscriber::layer::SubscriberExt;
            let provider = crate::install_global_otel(false);
            let subscriber = tracing_subscriber::registry()
                .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench")))
                .with(
                    tracing_subscriber::filter::Targets::new()
                        .with_target("otel::tracing", tracing::Level::TRACE)
                        .with_default(tracing::Level::INFO),
                );
            let _ = tracing::subscriber::set_global_default(subscriber);
            Some(provider)
        }
        other => panic!("unknown variant {other}"),
    }
}

/// `grpc-server VARIANT PORT`: the echo service behind the variant's server layer.
pub fn server(variant: &str, port: u16) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let keep = install(variant);
    runtime.block_on(async move {
        let addr = ([127, 0, 0, 1], port).into();
        let service = EchoServer::new(EchoService::default());
        let mut builder = Server::builder();
        let served = match variant {
            "baseline" => builder.add_service(service).serve(addr).await,
            "tracewire-grpc" => {
                builder
                    .layer(
                        tracewire_grpc::GrpcServerLayer::new()
                            .with_service::<EchoServer<EchoService>>(),
                    )
                    .add_service(service)
                    .serve(addr)
                    .await
            }
            "tonic-tracing-opentelemetry" => {
                builder
                    .layer(tonic_tracing_opentelemetry::middleware::server::OtelGrpcLayer::default())
                    .add_service(service)
                    .serve(addr)
                    .await
            }
            "minimal-otel" => {
                builder
                    .layer(tower::layer::layer_fn(|inner| Minimal {
                        inner,
                        kind: SpanKind::Server,
                    }))
                    .add_service(service)
                    .serve(addr)
                    .await
            }
            other => panic!("unknown variant {other}"),
        };
        served.expect("serve");
    });
    drop(keep);
}

/// `grpc-client VARIANT PORT CALLS`: prints this process's CPU µs per call.
pub fn client(variant: &str, port: u16, calls: u64) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let keep = install(variant);
    let per_call = runtime.block_on(async move {
        let target = format!("http://127.0.0.1:{port}");
        let channel = Endpoint::from_shared(target.clone())
            .expect("endpoint")
            .connect()
            .await
            .expect("connect");
        match variant {
            "baseline" => drive(EchoClient::new(channel), calls).await,
            "tracewire-grpc" => {
                let layer = tracewire_grpc::GrpcClientLayer::new(&target);
                drive(EchoClient::new(tower::Layer::layer(&layer, channel)), calls).await
            }
            "tonic-tracing-opentelemetry" => {
                let layer = tonic_tracing_opentelemetry::middleware::client::OtelGrpcLayer;
                drive(EchoClient::new(tower::Layer::layer(&layer, channel)), calls).await
            }
            "minimal-otel" => {
                let traced = Minimal {
                    inner: channel,
                    kind: SpanKind::Client,
                };
                drive(EchoClient::new(traced), calls).await
            }
            other => panic!("unknown variant {other}"),
        }
    });
    println!("{per_call:.3}");
    drop(keep);
}

/// Sends `calls` unary calls, 32 in flight, after a warm-up; CPU µs of this process per call.
async fn drive<T>(client: EchoClient<T>, calls: u64) -> f64
where
    T: tonic::client::GrpcService<tonic::body::Body> + Clone + Send + 'static,
    T::Future: Send,
    T::ResponseBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    <T::ResponseBody as http_body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send,
    T::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let run = |n: u64| {
        let left = Arc::new(AtomicU64::new(n));
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let mut client = client.clone();
                let left = left.clone();
                tokio::spawn(async move {
                    while left
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| v.checked_sub(1))
                        .is_ok()
                    {
                        let request = EchoRequest {
                            message: "order-42".into(),
                            ..Default::default()
                        };
                        client.unary(request).await.expect("call");
                    }
                })
            })
            .collect();
        async move {
            for task in tasks {
                task.await.expect("task");
            }
        }
    };
    run(calls / 10).await;
    let before = tracewire_testing::bench::process_cpu();
    run(calls).await;
    let spent = tracewire_testing::bench::process_cpu().saturating_sub(before);
    spent.as_secs_f64() * 1e6 / calls as f64
}

/// A hand-written minimal OpenTelemetry-API layer: a span named after the path, the context extracted
/// (server) or injected (client) with the global propagator, ended when the response head arrives.
#[derive(Clone)]
struct Minimal<S> {
    inner: S,
    kind: SpanKind,
}

impl<S, B, R> tower::Service<http::Request<B>> for Minimal<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = MinimalFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let tracer = global::tracer("minimal");
        let parent = match self.kind {
            SpanKind::Server => global::get_text_map_propagator(|p| {
                p.extract(&opentelemetry_http::HeaderExtractor(request.headers()))
            }),
            _ => Context::current(),
        };
        let path = request.uri().path().trim_start_matches('/').to_owned();
        let span = tracer
            .span_builder(path)
            .with_kind(self.kind.clone())
            .with_attributes([KeyValue::new("rpc.system.name", "grpc")])
            .start_with_context(&tracer, &parent);
        let cx = parent.with_span(span);
        if self.kind == SpanKind::Client {
            global::get_text_map_propagator(|p| {
                p.inject_context(
                    &cx,
                    &mut opentelemetry_http::HeaderInjector(request.headers_mut()),
                )
            });
        }
        let inner = {
            let _guard = cx.clone().attach();
            self.inner.call(request)
        };
        MinimalFuture { inner, cx }
    }
}

pin_project_lite::pin_project! {
    struct MinimalFuture<F> {
        #[pin]
        inner: F,
        cx: Context,
    }
}

impl<F: Future<Output = Result<http::Response<R>, E>>, R, E> Future for MinimalFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(task));
        if let Ok(response) = &result
            && let Some(status) = response.headers().get("grpc-status")
        {
            this.cx.span().set_attribute(KeyValue::new(
                "rpc.response.status_code",
                String::from_utf8_lossy(status.as_bytes()).into_owned(),
            ));
        }
        this.cx.span().end();
        Poll::Ready(result)
    }
}

fn pinned(cpu: &str, args: &[&str]) -> Command {
    let exe = std::env::current_exe().expect("exe");
    let mut command = Command::new("taskset");
    command.args(["-c", cpu]).arg(exe).args(args);
    command
}

/// One measurement: (server CPU µs per call, client CPU µs per call).
fn measure(server_variant: &str, client_variant: &str, port: u16, calls: u64) -> (f64, f64) {
    let mut server = pinned("0", &["grpc-server", server_variant, &port.to_string()])
        .stdout(Stdio::null())
        .spawn()
        .expect("server");
    crate::wait_port(port);
    let pid = server.id();
    let before = crate::cpu_nanos(pid);
    let output = pinned(
        "1",
        &["grpc-client", client_variant, &port.to_string(), &calls.to_string()],
    )
    .output()
    .expect("client");
    let server_nanos = crate::cpu_nanos(pid).saturating_sub(before);
    let _ = server.kill();
    let _ = server.wait();
    let client: f64 = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap_or(f64::NAN);
    // The server's count includes the client's warm-up (a tenth more calls).
    let server = server_nanos as f64 / 1e3 / (calls as f64 * 1.1);
    (server, client)
}

/// `load-bench grpc ROUNDS CALLS`.
pub fn run(rounds: usize, calls: u64) {
    let mut server: Vec<Vec<f64>> = vec![Vec::new(); VARIANTS.len()];
    let mut client: Vec<Vec<f64>> = vec![Vec::new(); VARIANTS.len()];
    let mut port = 19_300;
    for round in 0..rounds {
        for (i, variant) in VARIANTS.iter().enumerate() {
            port += 1;
            server[i].push(measure(variant, "baseline", port, calls).0);
            port += 1;
            client[i].push(measure("baseline", variant, port, calls).1);
            eprintln!(
                "round {}: {variant}: server {:.2} µs, client {:.2} µs",
                round + 1,
                server[i].last().copied().unwrap_or_default(),
                client[i].last().copied().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let median = |v: &[f64]| tracewire_testing::bench::median(v.to_vec());
    let base = (median(&server[0]), median(&client[0]));
    println!(
        "\nunary gRPC calls, {rounds} rounds × {calls} calls, 32 in flight on one connection (medians)\n"
    );
    println!("| variant | server CPU µs/call | over plain tonic | client CPU µs/call | over plain tonic |");
    println!("|---|---|---|---|---|");
    for (i, variant) in VARIANTS.iter().enumerate() {
        let (s, c) = (median(&server[i]), median(&client[i]));
        println!(
            "| {variant} | {s:.2} | {:+.2} | {c:.2} | {:+.2} |",
            s - base.0,
            c - base.1
        );
    }
    let _ = Instant::now();
}
