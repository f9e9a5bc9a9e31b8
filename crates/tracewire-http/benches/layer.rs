//! The server layer's own cost, in process: one request through an axum `Router` with and without
//! `HttpServerLayer`, as `examples/load-bench` sends it (a `Host` and a `traceparent` header), with the
//! global providers installed as an application would (AlwaysOn, finished spans dropped on the spot so
//! the drop is counted here, an SDK meter provider that is never read during the run). Run with
//! `cargo bench -p tracewire-http`; the load benchmark in `examples/load-bench` measures the whole server.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use criterion::{Criterion, criterion_group};
use http::Request;
use http_body_util::BodyExt;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tower::ServiceExt;
use tracewire_http::HttpServerLayer;
use tracewire_testing::bench::DiscardSpans;

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn routes() -> Router {
    Router::new().route("/users/{id}", get(|| async { "hello" }))
}

fn request() -> Request<Body> {
    Request::get("/users/42")
        .header("host", "127.0.0.1:18080")
        .header("traceparent", TRACEPARENT)
        .body(Body::empty())
        .expect("request")
}

/// Runs a future that completes without waiting (the handler answers at once).
fn now<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the request did not complete in one poll"),
    }
}

fn serve(app: &Router) -> usize {
    now(async {
        let response = app.clone().oneshot(request()).await.expect("response");
        let body = response.into_body().collect().await.expect("body");
        body.to_bytes().len()
    })
}

/// The variants, by name.
fn apps() -> Vec<(&'static str, Router)> {
    vec![
        // `with_state` turns handlers into services once, as `axum::serve` does per connection.
        ("axum_no_layer", routes().with_state(())),
        (
            "tracewire_http",
            routes().layer(HttpServerLayer::new()).with_state(()),
        ),
        (
            "tracewire_http_no_metric",
            routes()
                .layer(HttpServerLayer::new().duration_metric(false))
                .with_state(()),
        ),
    ]
}

fn install() -> (SdkTracerProvider, SdkMeterProvider) {
    let tracer_provider = SdkTracerProvider::builder()
        .with_span_processor(DiscardSpans)
        .build();
    // What `tracewire::init()` does with its provider.
    tracewire_core::span::install_tracer_provider(tracer_provider.clone());
    let meter_provider = tracewire_testing::bench::install_meter_provider();
    tracewire_core::propagation::install();
    (tracer_provider, meter_provider)
}

fn layer(c: &mut Criterion) {
    let (tracer_provider, meter_provider) = install();
    let mut group = c.benchmark_group("server_request");
    for (name, app) in apps() {
        group.bench_function(name, |b| b.iter(|| serve(&app)));
    }
    group.finish();
    let _ = tracer_provider.shutdown();
    let _ = meter_provider.shutdown();
}

criterion_group!(benches, layer);

/// `TW_COUNT=variant:requests` serves that many requests through one variant and exits, for counting
/// instructions where timings are too noisy (virtual machines without hardware counters):
/// `valgrind --tool=cachegrind --cache-sim=no` at two counts, the difference divided by the difference.
fn main() {
    if let Ok(spec) = std::env::var("TW_COUNT") {
        let (variant, requests) = spec.split_once(':').expect("TW_COUNT=variant:requests");
        let requests: usize = requests.parse().expect("a request count");
        let _providers = install();
        let (_, app) = apps()
            .into_iter()
            .find(|(name, _)| *name == variant)
            .expect("a variant name");
        for _ in 0..requests {
            std::hint::black_box(serve(&app));
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
