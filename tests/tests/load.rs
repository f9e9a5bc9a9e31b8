//! Load: an app with a server, a client call, a PostgreSQL query and a RabbitMQ publish per request,
//! 10,000 requests at 100 concurrent, exported over real OTLP through tracewire's setup with the tail
//! sampler. Every kept span arrives, every created span ended, every error trace is kept, and memory
//! stays flat. The RSS figures are printed (`cargo test --test load -- --nocapture`).

mod common;

use common::serve;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use lapin::BasicProperties;
use lapin::options::BasicPublishOptions;
use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use tracewire::sampling::TailSampling;
use tracewire::{Builder, Config};
use tracewire_core::span::Instrumentation;
use tracewire_http::HttpServerLayer;
use tracewire_reqwest::HttpClientMiddleware;
use tracewire_sqlx::TracedPool;
use tracewire_testing::OtlpReceiver;

const REQUESTS: usize = 10_000;
const CONCURRENCY: usize = 100;
const WARM_UP: usize = 1_000;

/// Counts spans started and ended, before any sampling decision of the tail sampler.
#[derive(Debug, Clone, Default)]
struct Census {
    started: Arc<AtomicU64>,
    ended: Arc<AtomicU64>,
}

impl SpanProcessor for Census {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {
        self.started.fetch_add(1, Ordering::Relaxed);
    }
    fn on_end(&self, _span: SpanData) {
        self.ended.fetch_add(1, Ordering::Relaxed);
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse().ok())
        })
        .unwrap_or(0)
}

#[derive(Clone)]
struct App {
    pool: TracedPool<sqlx::Postgres>,
    channel: tracewire_lapin::TracedChannel,
    queue: String,
    client: ClientWithMiddleware,
    downstream: std::net::SocketAddr,
}

/// One request: a query, a call downstream, a publish; every 100th fails with a 500.
async fn order(State(app): State<App>, Path(n): Path<u64>) -> StatusCode {
    let Ok(one) = sqlx::query_scalar::<_, i32>("SELECT 1")
        .fetch_one(&app.pool)
        .await
    else {
        return StatusCode::INTERNAL_SERVER_ERROR;
    };
    let called = app
        .client
        .get(format!("http://{}/stock/{n}", app.downstream))
        .send()
        .await;
    if called.is_err() {
        return StatusCode::BAD_GATEWAY;
    }
    let _ = app
        .channel
        .basic_publish(
            "".into(),
            app.queue.as_str().into(),
            BasicPublishOptions::default(),
            b"{}",
            BasicProperties::default(),
        )
        .await;
    if n % 100 == 0 || one != 1 {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

async fn drive(base: &str, from: usize, count: usize) -> (usize, usize) {
    let client = reqwest::Client::new();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let mut tasks = Vec::with_capacity(count);
    for n in from..from + count {
        let permit = semaphore.clone().acquire_owned().await.expect("semaphore");
        let client = client.clone();
        let url = format!("{base}/orders/{n}");
        tasks.push(tokio::spawn(async move {
            let status = client.get(url).send().await.map(|r| r.status().as_u16());
            drop(permit);
            status
        }));
    }
    let (mut ok, mut failed) = (0, 0);
    for task in tasks {
        match task.await.expect("join") {
            Ok(200) => ok += 1,
            Ok(_) => failed += 1,
            Err(e) => panic!("a request was lost: {e}"),
        }
    }
    (ok, failed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_requests_every_kept_span_exported_errors_kept_memory_flat() {
    tracewire_core::propagation::install();
    let receiver = OtlpReceiver::start().await.expect("receiver");
    let endpoint = receiver.grpc_endpoint();
    let vars = [
        ("OTEL_SERVICE_NAME", "load-test".to_owned()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".to_owned()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_TRACES_EXPORTER", "otlp".to_owned()),
        ("OTEL_METRICS_EXPORTER", "none".to_owned()),
        // A queue big enough for the load: this test is about losing nothing, the collector-down
        // tests are about dropping safely.
        ("OTEL_BSP_MAX_QUEUE_SIZE", "65536".to_owned()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()),
    ];
    let census = Census::default();
    let telemetry = Builder::from_config(Config::from_lookup(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    }))
    .tail_sampling(
        TailSampling::new()
            .ignore_latency()
            .baseline_ratio(0.1)
            .max_traces(2_048)
            .max_spans(32_768),
    )
    .with_span_processor(census.clone())
    .without_subscriber()
    .build();
    let provider = telemetry.tracer_provider().expect("SDK on").clone();
    let instrumentation = |name| Instrumentation::with_provider(&provider, name);

    let downstream = serve(
        Router::new()
            .route("/stock/{n}", get(|| async { "12" }))
            .layer(HttpServerLayer::new().with_instrumentation(instrumentation("tracewire-http"))),
    )
    .await;
    let pool = TracedPool::builder(
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(10)
            .connect("postgres://postgres@127.0.0.1:5432/test")
            .await
            .expect("PostgreSQL"),
    )
    .with_instrumentation(instrumentation("tracewire-sqlx"))
    .build()
    .await;
    let connection =
        tracewire_lapin::connect("amqp://guest:guest@127.0.0.1:5672/%2f", Default::default())
            .await
            .expect("RabbitMQ")
            .with_instrumentation(instrumentation("tracewire-lapin"));
    let channel = connection.create_channel().await.expect("channel");
    let queue = format!("tw.load.{}", std::process::id());
    common::exclusive_queue(&channel, &queue).await;
    let app = App {
        pool,
        channel: channel.clone(),
        queue: queue.clone(),
        client: ClientBuilder::new(reqwest::Client::new())
            .with(
                HttpClientMiddleware::new()
                    .with_instrumentation(instrumentation("tracewire-reqwest")),
            )
            .build(),
        downstream,
    };
    let server = serve(
        Router::new()
            .route("/orders/{n}", get(order))
            .with_state(app)
            .layer(HttpServerLayer::new().with_instrumentation(instrumentation("tracewire-http"))),
    )
    .await;
    let base = format!("http://{server}");

    let (ok, failed) = drive(&base, 1, WARM_UP).await;
    assert_eq!(ok + failed, WARM_UP);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = rss_kib();
    let (ok, failed) = drive(&base, WARM_UP + 1, REQUESTS).await;
    assert_eq!(ok + failed, REQUESTS, "every request answered");
    assert_eq!(failed, REQUESTS / 100, "the planned errors, no others");
    let rss_after = rss_kib();

    provider.force_flush().expect("flush");
    let tail = telemetry.tail_stats().expect("tail sampling on");
    let stats = telemetry.export_stats();
    let kept = tail.kept_spans();
    let spans = receiver
        .wait_for_spans(kept as usize, Duration::from_secs(30))
        .await;

    let started = census.started.load(Ordering::Relaxed);
    let ended = census.ended.load(Ordering::Relaxed);
    let total = (WARM_UP + REQUESTS) as u64;
    // Per request: server, query, client, downstream server, publish.
    assert_eq!(started, 5 * total, "five spans per request");
    assert_eq!(ended, started, "no span left open");
    assert_eq!(tail.held_spans(), 0, "nothing held once every root ended");
    assert_eq!(
        tail.kept_spans() + tail.dropped_spans(),
        ended,
        "the tail sampler decided every span"
    );
    assert_eq!(stats.ended(), kept, "every kept span went to export");
    assert_eq!(stats.exported(), kept, "and was exported: {stats}");
    assert_eq!(spans.len() as u64, kept, "and arrived");

    // Every failed request's trace arrived, whole.
    let error_traces: std::collections::HashSet<Vec<u8>> = spans
        .iter()
        .filter(|s| s.span.name == "GET /orders/{n}")
        .filter(|s| {
            s.attribute("http.response.status_code")
                .and_then(|v| match &v.value {
                    Some(opentelemetry_proto::tonic::common::v1::any_value::Value::IntValue(
                        code,
                    )) => Some(*code),
                    _ => None,
                })
                == Some(500)
        })
        .map(|s| s.span.trace_id.clone())
        .collect();
    assert_eq!(
        error_traces.len(),
        (WARM_UP + REQUESTS) / 100,
        "every error trace kept"
    );
    for trace in &error_traces {
        let whole = spans.iter().filter(|s| &s.span.trace_id == trace).count();
        assert_eq!(whole, 5, "error traces are kept whole");
    }
    // The baseline keeps about 10 % of the rest.
    let kept_traces = tail.kept_traces() as f64;
    assert!(kept_traces > 0.1 * total as f64 * 0.6, "{tail:?}");

    let growth = rss_after.saturating_sub(rss_before);
    println!(
        "load: {REQUESTS} requests at {CONCURRENCY} concurrent; RSS {rss_before} KiB before, {rss_after} KiB after (+{growth} KiB); \
         {started} spans created, {kept} kept and exported, {} error traces kept; {stats}",
        error_traces.len()
    );
    // Flat: bounded by the tail sampler's and batch queue's bounds, not by the number of requests.
    assert!(growth < 64 * 1024, "RSS grew by {growth} KiB");
    drop(channel);
    let _ = provider.shutdown();
}
