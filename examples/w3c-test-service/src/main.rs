//! `cargo run -p w3c-test-service -- PORT`: serves the W3C trace-context validation contract on
//! 127.0.0.1:PORT (default 7777).

use opentelemetry_sdk::trace::SdkTracerProvider;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(7777);
    tracewire_core::propagation::install();
    // Spans must exist (and be sampled per the caller's flag) to propagate; nothing is exported.
    opentelemetry::global::set_tracer_provider(SdkTracerProvider::builder().build());

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!(
        "W3C validation service on http://{}/test",
        listener.local_addr()?
    );
    axum::serve(listener, w3c_test_service::app(w3c_test_service::client()))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
