//! One-call setup in a small service: `tracewire::init()`-style setup with a rule sampler and tail
//! sampling, an axum server with tracewire-http, and a reqwest client with tracewire-reqwest calling it.
//!
//! ```sh
//! cargo run -p tracewire --example setup                      # waterfalls on stderr (debug build, no endpoint)
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 cargo run -p tracewire --example setup   # to a collector
//! TRACEWIRE_LOG_FORMAT=json cargo run -p tracewire --example setup                           # JSON log lines
//! ```

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use tracewire::sampling::{RuleSampler, TailSampling};

async fn checkout() -> &'static str {
    let _span = tracing::info_span!("price basket").entered();
    tracing::info!(items = 3, "basket priced");
    "ok"
}

async fn fail() -> StatusCode {
    tracing::warn!("payment provider unavailable");
    StatusCode::BAD_GATEWAY
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let telemetry = tracewire::Builder::from_env()
        .service_name("setup-example")
        .service_version(env!("CARGO_PKG_VERSION"))
        .sampler(
            RuleSampler::builder()
                .debug_header("x-debug-trace")
                .never_route("/health")
                .build(),
        )
        // Keep errors and anything slower than 250 ms; 50 % of the rest.
        .tail_sampling(
            TailSampling::new()
                .keep_slower_than(Duration::from_millis(250))
                .baseline_ratio(0.5),
        )
        .install();

    let app = Router::new()
        .route("/checkout", get(checkout))
        .route("/fail", get(fail))
        .route("/health", get(|| async { "up" }))
        .layer(tracewire_http::HttpServerLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });

    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(tracewire_reqwest::HttpClientMiddleware::default())
        .build();
    for path in ["/checkout", "/health", "/fail", "/checkout"] {
        let response = client.get(format!("{base}{path}")).send().await?;
        tracing::info!(path, status = response.status().as_u16(), "called");
    }

    tokio::time::sleep(Duration::from_millis(100)).await;
    println!("{}", telemetry.export_stats());
    if let Some(tail) = telemetry.tail_stats() {
        println!("tail sampling: {tail:?}");
    }
    Ok(())
}
