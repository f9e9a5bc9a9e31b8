//! Work a handler hands to another task stays in its trace with `tracewire::task`: an outgoing call
//! (tracewire-reqwest) and a PostgreSQL query (tracewire-sqlx) made from `tracewire::task::spawn` and
//! from a `tracewire::task::spawn_blocking` closure land under the server span (tracewire-http); a plain
//! `tokio::spawn` starts a trace of its own, which is what the helpers are for.

mod common;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use opentelemetry::trace::SpanKind;
use reqwest_middleware::ClientBuilder;
use tracewire_http::HttpServerLayer;
use tracewire_reqwest::HttpClientMiddleware;
use tracewire_testing::SpanCapture;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_and_blocking_work_lands_under_the_server_span() {
    tracewire_core::propagation::install();
    let capture = SpanCapture::new();
    let pool = common::pg_pool(capture.instrumentation("tracewire-sqlx")).await;
    let http = ClientBuilder::new(reqwest::Client::new())
        .with(HttpClientMiddleware::new().with_tracer_provider(capture.provider()))
        .build();
    let inner = common::serve(
        Router::new()
            .route("/inner", get(|| async { "inner" }))
            .layer(HttpServerLayer::new().with_tracer_provider(capture.provider())),
    )
    .await;

    let app = Router::new()
        .route(
            "/work",
            get(move || {
                let (http, pool) = (http.clone(), pool.clone());
                async move {
                    // An async task.
                    let (h, p) = (http.clone(), pool.clone());
                    tracewire::task::spawn(async move {
                        h.get(format!("http://{inner}/inner?from=task"))
                            .send()
                            .await
                            .expect("call from a task");
                        sqlx::query("SELECT 1 AS from_task")
                            .execute(&p)
                            .await
                            .expect("query from a task");
                    })
                    .await
                    .expect("task");
                    // A blocking closure that drives async calls on the runtime.
                    let (h, p) = (http.clone(), pool.clone());
                    tracewire::task::spawn_blocking(move || {
                        tokio::runtime::Handle::current().block_on(async move {
                            h.get(format!("http://{inner}/inner?from=blocking"))
                                .send()
                                .await
                                .expect("call from a blocking closure");
                            sqlx::query("SELECT 2 AS from_blocking")
                                .execute(&p)
                                .await
                                .expect("query from a blocking closure");
                        })
                    })
                    .await
                    .expect("blocking");
                    // Without the helper the context stays behind.
                    tokio::spawn(async move {
                        sqlx::query("SELECT 3 AS untraced")
                            .execute(&pool)
                            .await
                            .expect("plain spawn")
                    })
                    .await
                    .expect("plain task");
                    "done"
                }
            }),
        )
        .layer(HttpServerLayer::new().with_tracer_provider(capture.provider()));
    let base = common::serve(app).await;
    let body = reqwest::get(format!("http://{base}/work"))
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    assert_eq!(body, "done");

    let spans = capture.wait_for(8, Duration::from_secs(10)).await;
    let server = spans
        .one("GET /work")
        .assert_kind(SpanKind::Server)
        .assert_root();
    let calls = spans.named("GET");
    assert_eq!(calls.len(), 2, "{}", spans.waterfall());
    for call in calls {
        call.assert_kind(SpanKind::Client).assert_parent(&server);
    }
    for inner in spans.named("GET /inner") {
        let caller = inner.parent().expect("the inner server span has a parent");
        assert_eq!(caller.name(), "GET", "{}", spans.waterfall());
    }
    let queries: Vec<_> = spans
        .iter()
        .filter(|s| s.kind() == SpanKind::Client && s.name() != "GET")
        .collect();
    assert_eq!(queries.len(), 3, "{}", spans.waterfall());
    let under_server = queries
        .iter()
        .filter(|q| q.parent_span_id() == server.span_id())
        .count();
    assert_eq!(under_server, 2, "{}", spans.waterfall());
    assert_eq!(
        spans.trace_ids().len(),
        2,
        "one trace for the request, one for the plain tokio::spawn: {}",
        spans.waterfall()
    );
}
