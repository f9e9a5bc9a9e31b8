//! Load benchmarks: tracewire against its peers, side by side in one run.
//!
//! - `load-bench http-server [ROUNDS] [SECONDS]`: the server layer. Each variant runs in a fresh server
//!   process pinned to CPU 0 (`taskset`), driven by `wrk` on CPU 1 (32 keep-alive connections, a fixed
//!   `traceparent`), in interleaved rounds; reports req/s, p50/p99 and server CPU µs per request over the
//!   uninstrumented baseline (medians over rounds).
//! - `load-bench reqwest [ROUNDS] [REQUESTS]`: the client middleware. A baseline server on CPU 0; the
//!   client, pinned to CPU 1, sends REQUESTS sequential requests per variant; reports client CPU µs per
//!   request over plain reqwest.
//! - `load-bench grpc [ROUNDS] [CALLS]`: unary gRPC calls, server and client layers (see `grpc.rs`).
//!
//! Every OpenTelemetry variant uses the same SDK pipeline: AlwaysOn, batch span processor, an exporter
//! that discards; metrics (where a variant records them) go to an SDK meter provider with a manual reader.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;

mod grpc;

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

const SERVER_VARIANTS: &[&str] = &[
    "baseline",
    "tracewire-http",
    "tower-http-trace",
    "otel-instrumentation-tower",
    "axum-tracing-opentelemetry",
    "tower-otel",
];

#[derive(Debug)]
struct Discard;

impl opentelemetry_sdk::trace::SpanExporter for Discard {
    async fn export(
        &self,
        batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        std::hint::black_box(batch);
        Ok(())
    }
}

#[derive(Debug)]
struct Discard032;

impl opentelemetry_sdk_032::trace::SpanExporter for Discard032 {
    async fn export(
        &self,
        batch: Vec<opentelemetry_sdk_032::trace::SpanData>,
    ) -> opentelemetry_sdk_032::error::OTelSdkResult {
        std::hint::black_box(batch);
        Ok(())
    }
}

fn sdk_tracer_provider() -> opentelemetry_sdk::trace::SdkTracerProvider {
    opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOn)
        .with_batch_exporter(Discard)
        .build()
}

fn install_global_otel(tracewire_propagator: bool) -> opentelemetry_sdk::trace::SdkTracerProvider {
    let provider = sdk_tracer_provider();
    if tracewire_propagator {
        // What `tracewire::init()` does with its provider.
        tracewire_core::span::install_tracer_provider(provider.clone());
    } else {
        opentelemetry::global::set_tracer_provider(provider.clone());
    }
    let meters = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
        .with_reader(opentelemetry_sdk::metrics::ManualReader::builder().build())
        .build();
    opentelemetry::global::set_meter_provider(meters);
    if tracewire_propagator {
        tracewire_core::propagation::install();
    } else {
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
    }
    provider
}

fn install_tracing_bridge(provider: &opentelemetry_sdk::trace::SdkTracerProvider) {
    use opentelemetry::trace::TracerProvider as _;
    use tracing_subscriber::layer::SubscriberExt;
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench")));
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// What the handler does and which runtime serves it: `"plain"` answers `hello` on a current-thread
/// runtime; `"mt-json"` serializes a small JSON document on tokio's default multi-thread runtime, as
/// a `#[tokio::main]` application serves.
static MODE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn mode() -> &'static str {
    MODE.get().map(String::as_str).unwrap_or("plain")
}

#[derive(serde::Serialize)]
struct User {
    id: u64,
    name: &'static str,
    email: &'static str,
    roles: [&'static str; 2],
    active: bool,
}

fn routes() -> Router {
    if mode() == "mt-json" {
        Router::new().route(
            "/users/{id}",
            get(|axum::extract::Path(id): axum::extract::Path<u64>| async move {
                axum::Json(User {
                    id,
                    name: "Ada Lovelace",
                    email: "ada@example.com",
                    roles: ["admin", "billing"],
                    active: true,
                })
            }),
        )
    } else {
        Router::new().route("/users/{id}", get(|| async { "hello" }))
    }
}

fn server(variant: &str, port: u16) {
    let runtime = if mode() == "mt-json" {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    }
    .enable_all()
    .build()
    .expect("runtime");
    // Keep providers alive for the process lifetime.
    let mut keep = None;
    let app = match variant {
        "baseline" => routes(),
        "tracewire-http" => {
            keep = Some(install_global_otel(true));
            routes().layer(tracewire_http::HttpServerLayer::new())
        }
        "tower-http-trace" => {
            let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry());
            routes().layer(tower_http::trace::TraceLayer::new_for_http())
        }
        "otel-instrumentation-tower" => {
            keep = Some(install_global_otel(false));
            routes().layer(opentelemetry_instrumentation_tower::http::server::Layer::new())
        }
        "axum-tracing-opentelemetry" => {
            let provider = install_global_otel(false);
            install_tracing_bridge(&provider);
            keep = Some(provider);
            routes().layer(axum_tracing_opentelemetry::middleware::OtelAxumLayer::default())
        }
        "tower-otel" => {
            let provider = install_global_otel(false);
            install_tracing_bridge(&provider);
            keep = Some(provider);
            routes().layer(tower_otel::trace::HttpLayer::server(tracing::Level::INFO))
        }
        other => panic!("unknown variant {other}"),
    };
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind");
        axum::serve(listener, app).await.expect("serve");
    });
    drop(keep);
}

/// CPU nanoseconds of every thread of `pid`, from `/proc/<pid>/task/*/schedstat`.
fn cpu_nanos(pid: u32) -> u64 {
    let mut total = 0u64;
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
            total += stat
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    total
}

#[allow(dead_code)]
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may contain spaces): utime is the 14th field, stime the 15th.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0);
    let stime: u64 = fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    utime + stime
}

#[allow(dead_code)]
fn ticks_per_second() -> f64 {
    let out = Command::new("getconf").arg("CLK_TCK").output();
    out.ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

fn wait_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("server on port {port} did not start");
}

fn spawn_server(variant: &str, port: u16) -> Child {
    let exe = std::env::current_exe().expect("exe");
    let child = Command::new("taskset")
        .args(["-c", "0"])
        .arg(exe)
        .args(["server", variant, &port.to_string(), mode()])
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn server");
    wait_port(port);
    child
}

struct WrkResult {
    requests: f64,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn parse_duration_ms(s: &str) -> f64 {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| c.is_alphabetic()).unwrap_or(s.len()));
    let n: f64 = num.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        _ => f64::NAN,
    }
}

fn wrk(port: u16, seconds: u32) -> WrkResult {
    let out = Command::new("taskset")
        .args(["-c", "1", "wrk", "-t1", "-c32", "--latency"])
        .arg(format!("-d{seconds}s"))
        .args(["-H", &format!("traceparent: {TRACEPARENT}")])
        .arg(format!("http://127.0.0.1:{port}/users/42"))
        .output()
        .expect("wrk (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let mut result = WrkResult {
        requests: 0.0,
        rps: 0.0,
        p50_ms: f64::NAN,
        p99_ms: f64::NAN,
    };
    for line in text.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("Requests/sec:") {
            result.rps = rest.trim().parse().unwrap_or(0.0);
        } else if t.contains("requests in") {
            result.requests = t
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0.0);
        } else if let Some(rest) = t.strip_prefix("50%") {
            result.p50_ms = parse_duration_ms(rest);
        } else if let Some(rest) = t.strip_prefix("99%") {
            result.p99_ms = parse_duration_ms(rest);
        }
    }
    result
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    if v.is_empty() {
        return f64::NAN;
    }
    v[v.len() / 2]
}

fn http_server(rounds: usize, seconds: u32) {
    let mut rows: Vec<(Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>)> =
        vec![(vec![], vec![], vec![], vec![]); SERVER_VARIANTS.len()];
    for round in 0..rounds {
        for (i, variant) in SERVER_VARIANTS.iter().enumerate() {
            // A port the kernel hands out now (a fixed range collided with wrk's ephemeral ports).
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .expect("a free port");
            let mut child = spawn_server(variant, port);
            let _ = wrk(port, 2); // warm up
            let before = cpu_nanos(child.id());
            let r = wrk(port, seconds);
            let after = cpu_nanos(child.id());
            let _ = child.kill();
            let _ = child.wait();
            let cpu_us = (after - before) as f64 / 1e3 / r.requests.max(1.0);
            eprintln!(
                "round {} {variant:<28} {:>9.0} req/s  p50 {:.3} ms  p99 {:.3} ms  {:.2} µs CPU/req",
                round + 1,
                r.rps,
                r.p50_ms,
                r.p99_ms,
                cpu_us
            );
            rows[i].0.push(r.rps);
            rows[i].1.push(r.p50_ms);
            rows[i].2.push(r.p99_ms);
            rows[i].3.push(cpu_us);
        }
    }
    let base_cpu = median(rows[0].3.clone());
    println!(
        "| variant | req/s | × baseline | p50 ms | p99 ms | server CPU µs/req | over baseline |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (i, variant) in SERVER_VARIANTS.iter().enumerate() {
        let rps = median(rows[i].0.clone());
        let cpu = median(rows[i].3.clone());
        // Throughput relative to the baseline of the same round, then the median over rounds: rounds
        // swing together, so this is steadier than a ratio of medians.
        let ratio = median(
            rows[i]
                .0
                .iter()
                .zip(&rows[0].0)
                .map(|(v, b)| v / b)
                .collect(),
        );
        println!(
            "| {variant} | {rps:.0} | {:.2} | {:.3} | {:.3} | {cpu:.2} | {:+.2} |",
            ratio,
            median(rows[i].1.clone()),
            median(rows[i].2.clone()),
            cpu - base_cpu
        );
    }
}

fn pin_self_to(cpu: &str) {
    let pid = std::process::id().to_string();
    let _ = Command::new("taskset")
        .args(["-a", "-p", "-c", cpu, &pid])
        .stdout(Stdio::null())
        .status();
}

/// The client of one variant: plain reqwest, or reqwest behind the middleware stack under test.
enum BenchClient {
    Plain(reqwest::Client),
    Middleware(reqwest_middleware::ClientWithMiddleware),
}

impl BenchClient {
    fn new(variant: &str) -> Self {
        let plain = reqwest::Client::new();
        let with = reqwest_middleware::ClientBuilder::new(plain.clone());
        let client = match variant {
            "reqwest" => return BenchClient::Plain(plain),
            "reqwest-middleware" => with.build(),
            "tracewire-reqwest" => with
                .with(tracewire_reqwest::HttpClientMiddleware::default())
                .build(),
            "tracewire-reqwest-no-metric" => with
                .with(tracewire_reqwest::HttpClientMiddleware::default().duration_metric(false))
                .build(),
            "reqwest-tracing" => with
                .with(reqwest_tracing::TracingMiddleware::default())
                .build(),
            other => panic!("unknown client variant {other}"),
        };
        BenchClient::Middleware(client)
    }

    async fn get(&self, url: &str) {
        let response = match self {
            BenchClient::Plain(c) => c.get(url).send().await.expect("send"),
            BenchClient::Middleware(c) => c.get(url).send().await.expect("send"),
        };
        let _ = response.bytes().await;
    }
}

async fn client_round(variant: &str, url: &str, requests: usize) -> f64 {
    let pid = std::process::id();
    let client = BenchClient::new(variant);
    for _ in 0..200 {
        client.get(url).await;
    }
    let before = cpu_nanos(pid);
    for _ in 0..requests {
        client.get(url).await;
    }
    let after = cpu_nanos(pid);
    (after - before) as f64 / 1e3 / requests as f64
}

fn reqwest_bench(rounds: usize, requests: usize) {
    let port = 38900;
    let mut server = spawn_server("baseline", port);
    pin_self_to("1");
    // Both OpenTelemetry pipelines exist for the whole run, so each variant pays only for its own work.
    let provider = install_global_otel(true);
    let provider_032 = opentelemetry_sdk_032::trace::SdkTracerProvider::builder()
        .with_batch_exporter(Discard032)
        .build();
    {
        use opentelemetry_032::trace::TracerProvider as _;
        use tracing_subscriber::layer::SubscriberExt;
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry_033::layer().with_tracer(provider_032.tracer("bench")));
        let _ = tracing::subscriber::set_global_default(subscriber);
        opentelemetry_032::global::set_text_map_propagator(
            opentelemetry_sdk_032::propagation::TraceContextPropagator::new(),
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let url = format!("http://127.0.0.1:{port}/users/42");
    let variants = [
        "reqwest",
        "reqwest-middleware",
        "tracewire-reqwest",
        "tracewire-reqwest-no-metric",
        "reqwest-tracing",
    ];
    let mut results: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    for round in 0..rounds {
        // Rotate the order each round, so drift does not favour one variant.
        for k in 0..variants.len() {
            let i = (k + round) % variants.len();
            let v = &variants[i];
            let us = runtime.block_on(client_round(v, &url, requests));
            eprintln!("round {} {v:<20} {us:.2} µs CPU/request", round + 1);
            results[i].push(us);
        }
    }
    let _ = server.kill();
    let _ = server.wait();
    let base = median(results[0].clone());
    let framework = median(results[1].clone());
    println!("| client | CPU µs/request | over plain reqwest | over reqwest-middleware alone |");
    println!("|---|---|---|---|");
    for (i, v) in variants.iter().enumerate() {
        let m = median(results[i].clone());
        println!(
            "| {v} | {m:.2} | {:+.2} | {:+.2} |",
            m - base,
            m - framework
        );
    }
    drop(provider);
    drop(provider_032);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize| args.get(i).map(String::as_str);
    match arg(1) {
        Some("server") => {
            let _ = MODE.set(arg(4).unwrap_or("plain").to_owned());
            server(
                arg(2).expect("variant"),
                arg(3).and_then(|p| p.parse().ok()).expect("port"),
            )
        }
        Some("http-server-mt") => {
            let _ = MODE.set("mt-json".to_owned());
            http_server(
                arg(2).and_then(|v| v.parse().ok()).unwrap_or(3),
                arg(3).and_then(|v| v.parse().ok()).unwrap_or(10),
            )
        }
        Some("http-server") => http_server(
            arg(2).and_then(|v| v.parse().ok()).unwrap_or(3),
            arg(3).and_then(|v| v.parse().ok()).unwrap_or(10),
        ),
        Some("grpc-server") => grpc::server(
            arg(2).expect("variant"),
            arg(3).and_then(|p| p.parse().ok()).expect("port"),
        ),
        Some("grpc-client") => grpc::client(
            arg(2).expect("variant"),
            arg(3).and_then(|p| p.parse().ok()).expect("port"),
            arg(4).and_then(|v| v.parse().ok()).expect("calls"),
        ),
        Some("grpc") => grpc::run(
            arg(2).and_then(|v| v.parse().ok()).unwrap_or(7),
            arg(3).and_then(|v| v.parse().ok()).unwrap_or(20_000),
        ),
        Some("reqwest") => reqwest_bench(
            arg(2).and_then(|v| v.parse().ok()).unwrap_or(5),
            arg(3).and_then(|v| v.parse().ok()).unwrap_or(5000),
        ),
        _ => eprintln!(
            "usage: load-bench http-server [ROUNDS] [SECONDS] | http-server-mt [ROUNDS] [SECONDS] | reqwest [ROUNDS] [REQUESTS] | grpc [ROUNDS] [CALLS]"
        ),
    }
}
