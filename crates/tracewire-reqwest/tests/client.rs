//! The client middleware with real reqwest against real axum servers on 127.0.0.1.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Redirect;
use axum::routing::get;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::context::FutureExt;
use opentelemetry::trace::SpanKind;
use opentelemetry::{Context, KeyValue};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use reqwest_retry::RetryTransientMiddleware;
use reqwest_retry::policies::ExponentialBackoff;
use tokio::net::TcpListener;
use tracewire_core::span::Outcome;
use tracewire_http::HttpServerLayer;
use tracewire_reqwest::{DisablePropagation, HttpClientMiddleware, UrlTemplate};
use tracewire_testing::SpanCapture;

async fn serve(app: Router) -> SocketAddr {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

fn client(capture: &SpanCapture) -> ClientWithMiddleware {
    tracewire_core::propagation::install();
    ClientBuilder::new(reqwest::Client::new())
        .with(HttpClientMiddleware::new().with_tracer_provider(capture.provider()))
        .build()
}

/// Echoes what arrived: the number of traceparent lines, the traceparent, and baggage `user`.
fn echo_app() -> Router {
    Router::new()
        .route(
            "/echo",
            get(|headers: HeaderMap| async move {
                let tps: Vec<_> = headers
                    .get_all("traceparent")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .collect();
                format!("{}|{}", tps.len(), tps.join(","))
            }),
        )
        .route("/users/{id}", get(|| async { "user" }))
        .route("/missing", get(|| async { StatusCode::NOT_FOUND }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                "late"
            }),
        )
        .route("/old", get(|| async { Redirect::temporary("/users/1") }))
}

#[tokio::test]
async fn two_services_make_one_trace_and_carry_baggage() {
    let capture = SpanCapture::new();
    tracewire_core::propagation::install();
    let b = Router::new()
        .route(
            "/b",
            get(|| async {
                Context::current()
                    .baggage()
                    .get("user")
                    .map(|v| v.to_string())
                    .unwrap_or_default()
            }),
        )
        .layer(HttpServerLayer::new().with_tracer_provider(capture.provider()));
    let b_addr = serve(b).await;
    let http = client(&capture);
    let a = Router::new()
        .route(
            "/a",
            get(move || {
                let http = http.clone();
                async move {
                    let cx = Context::current().with_baggage([KeyValue::new("user", "alice")]);
                    http.get(format!("http://{b_addr}/b"))
                        .send()
                        .with_context(cx)
                        .await
                        .expect("call b")
                        .text()
                        .await
                        .expect("body")
                }
            }),
        )
        .layer(HttpServerLayer::new().with_tracer_provider(capture.provider()));
    let a_addr = serve(a).await;

    let body = reqwest::get(format!("http://{a_addr}/a"))
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    assert_eq!(body, "alice", "baggage set in A arrives in B");

    let spans = capture.wait_for(3, Duration::from_secs(5)).await;
    let a_server = spans
        .one("GET /a")
        .assert_kind(SpanKind::Server)
        .assert_root();
    let a_client = spans
        .one("GET")
        .assert_kind(SpanKind::Client)
        .assert_parent(&a_server)
        .assert_attr("http.response.status_code", 200i64);
    spans
        .one("GET /b")
        .assert_kind(SpanKind::Server)
        .assert_parent(&a_client)
        .assert_remote_parent(a_client.trace_id(), a_client.span_id());
    assert_eq!(spans.trace_ids().len(), 1);
}

#[tokio::test]
async fn attributes_of_a_successful_call() {
    let capture = SpanCapture::new();
    let addr = serve(echo_app()).await;
    let http = client(&capture);
    http.get(format!("http://{addr}/users/42?sig=abc&page=2"))
        .with_extension(UrlTemplate::new("/users/{id}"))
        .send()
        .await
        .expect("request");
    let spans = capture.spans();
    spans
        .one("GET /users/{id}")
        .assert_kind(SpanKind::Client)
        .assert_root()
        .assert_unset()
        .assert_attr("http.request.method", "GET")
        .assert_attr("server.address", "127.0.0.1")
        .assert_attr("server.port", i64::from(addr.port()))
        .assert_attr(
            "url.full",
            format!("http://{addr}/users/42?sig=REDACTED&page=2"),
        )
        .assert_attr("url.template", "/users/{id}")
        .assert_attr("network.protocol.version", "1.1")
        .assert_attr("http.response.status_code", 200i64)
        .assert_no_attr("http.request.resend_count")
        .assert_no_attr("url.scheme")
        .assert_no_attr("error.type");
}

#[tokio::test]
async fn the_default_port_of_the_scheme_is_recorded() {
    let capture = SpanCapture::new();
    let http = ClientBuilder::new(
        reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(200))
            .build()
            .expect("client"),
    )
    .with(
        HttpClientMiddleware::new()
            .with_tracer_provider(capture.provider())
            .record_url_scheme(true),
    )
    .build();
    // Nothing listens on 127.0.0.1:80 here; the attempt fails, but the attributes are set at start.
    let _ = http.get("http://user:pw@127.0.0.1/x").send().await;
    let spans = capture.spans();
    let span = spans
        .one("GET")
        .assert_attr("server.port", 80i64)
        .assert_attr("url.scheme", "http")
        // reqwest moves URL userinfo into an Authorization header before we see the request; either way
        // no credential reaches the span.
        .assert_attr("url.full", "http://127.0.0.1/x");
    assert!(matches!(
        span.status(),
        opentelemetry::trace::Status::Error { .. }
    ));
    for kv in span
        .data()
        .events
        .iter()
        .flat_map(|e| e.attributes.iter())
        .chain(span.data().attributes.iter())
    {
        assert!(!kv.value.as_str().contains("pw"), "{kv:?}");
    }
}

#[tokio::test]
async fn connection_refused_is_a_connect_error() {
    let capture = SpanCapture::new();
    let closed = {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
        listener.local_addr().expect("addr")
    };
    let http = client(&capture);
    let result = http
        .get(format!(
            "http://bob:hunter2@{closed}/x?X-Amz-Signature=s3cr3t"
        ))
        .send()
        .await;
    assert!(result.is_err());
    let spans = capture.spans();
    let span = spans
        .one("GET")
        .assert_error("connect")
        .assert_no_attr("http.response.status_code");
    assert_eq!(span.event_count("exception"), 1);
    let description = match span.status() {
        opentelemetry::trace::Status::Error { description } => description.to_string(),
        other => panic!("{other:?}"),
    };
    assert!(!description.contains("hunter2"), "{description}");
    assert!(!description.contains("s3cr3t"), "{description}");
}

#[tokio::test]
async fn a_timeout_is_a_timeout_error() {
    let capture = SpanCapture::new();
    let addr = serve(echo_app()).await;
    let http = client(&capture);
    let result = http
        .get(format!("http://{addr}/slow"))
        .timeout(Duration::from_millis(100))
        .send()
        .await;
    assert!(result.is_err());
    capture.spans().one("GET").assert_error("timeout");
}

#[tokio::test]
async fn client_errors_are_errors() {
    let capture = SpanCapture::new();
    let addr = serve(echo_app()).await;
    let http = client(&capture);
    let response = http
        .get(format!("http://{addr}/missing"))
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), 404);
    capture
        .spans()
        .one("GET")
        .assert_error("404")
        .assert_attr("http.response.status_code", 404i64);
}

#[tokio::test]
async fn retries_are_sibling_spans_with_resend_counts() {
    let capture = SpanCapture::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let app = Router::new().route(
        "/flaky",
        get(move || {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 2 {
                    (StatusCode::SERVICE_UNAVAILABLE, "later")
                } else {
                    (StatusCode::OK, "ok")
                }
            }
        }),
    );
    let addr = serve(app).await;
    tracewire_core::propagation::install();
    let policy = ExponentialBackoff::builder()
        .retry_bounds(Duration::from_millis(1), Duration::from_millis(5))
        .build_with_max_retries(3);
    let http = ClientBuilder::new(reqwest::Client::new())
        .with(RetryTransientMiddleware::new_with_policy(policy))
        .with(HttpClientMiddleware::new().with_tracer_provider(capture.provider()))
        .build();
    let parent = capture.instrumentation("test").start(
        SpanKind::Internal,
        "checkout",
        vec![],
        &Context::new(),
    );
    let response = http
        .get(format!("http://{addr}/flaky"))
        .send()
        .with_context(parent.context().clone())
        .await
        .expect("response");
    assert_eq!(response.status(), 200);
    parent.end(Outcome::Success);
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    let spans = capture.spans();
    let parent = spans.one("checkout");
    let attempts: Vec<_> = spans.named("GET").collect();
    assert_eq!(attempts.len(), 3);
    for attempt in &attempts {
        attempt.assert_parent(&parent);
    }
    let by_count = |n: Option<i64>| {
        attempts
            .iter()
            .find(|s| {
                s.attribute("http.request.resend_count")
                    .map(|v| v.as_str().parse::<i64>().unwrap_or(-1))
                    == n
            })
            .copied()
            .unwrap_or_else(|| panic!("no attempt with resend count {n:?}\n{spans:?}"))
    };
    by_count(None).assert_error("503");
    by_count(Some(1)).assert_error("503");
    by_count(Some(2))
        .assert_unset()
        .assert_attr("http.response.status_code", 200i64);
}

#[tokio::test]
async fn redirects_followed_by_reqwest_stay_in_one_span() {
    let capture = SpanCapture::new();
    let addr = serve(echo_app()).await;
    let http = client(&capture);
    let response = http
        .get(format!("http://{addr}/old"))
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), 200);
    capture
        .spans()
        .one("GET")
        .assert_attr("url.full", format!("http://{addr}/old"))
        .assert_attr("http.response.status_code", 200i64)
        .assert_unset();
}

#[tokio::test]
async fn a_stale_traceparent_is_replaced_not_duplicated() {
    let capture = SpanCapture::new();
    let addr = serve(echo_app()).await;
    let http = client(&capture);
    let body = http
        .get(format!("http://{addr}/echo"))
        .header(
            "traceparent",
            "00-11111111111111111111111111111111-2222222222222222-01",
        )
        .send()
        .await
        .expect("response")
        .text()
        .await
        .expect("body");
    let spans = capture.spans();
    let span = spans.one("GET");
    let expected = format!("1|00-{}-{}-03", span.trace_id(), span.span_id());
    assert_eq!(body, expected);
}

#[tokio::test]
async fn a_stale_tracestate_and_baggage_do_not_travel_with_our_traceparent() {
    let capture = SpanCapture::new();
    let app = Router::new().route(
        "/headers",
        get(|headers: HeaderMap| async move {
            let all = |name: &str| {
                headers
                    .get_all(name)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            format!(
                "{}|{}|{}",
                all("traceparent"),
                all("tracestate"),
                all("baggage")
            )
        }),
    );
    let addr = serve(app).await;
    let http = client(&capture);
    let body = http
        .get(format!("http://{addr}/headers"))
        .header("tracestate", "stale=1")
        .header("baggage", "stale=1")
        .send()
        .await
        .expect("response")
        .text()
        .await
        .expect("body");
    let spans = capture.spans();
    let span = spans.one("GET");
    // Our context has no tracestate and no baggage: nothing of the stale ones is sent.
    assert_eq!(
        body,
        format!("00-{}-{}-03||", span.trace_id(), span.span_id())
    );
}

#[tokio::test]
async fn propagation_can_be_disabled_per_request() {
    let capture = SpanCapture::new();
    let addr = serve(echo_app()).await;
    let http = client(&capture);
    let body = http
        .get(format!("http://{addr}/echo"))
        .with_extension(DisablePropagation)
        .send()
        .await
        .expect("response")
        .text()
        .await
        .expect("body");
    assert_eq!(body, "0|");
    capture.spans().one("GET");
}

#[tokio::test]
async fn a_cancelled_call_ends_without_error() {
    let capture = SpanCapture::new();
    let addr = serve(echo_app()).await;
    let http = client(&capture);
    let call = http.get(format!("http://{addr}/slow")).send();
    let timed_out = tokio::time::timeout(Duration::from_millis(100), call).await;
    assert!(timed_out.is_err(), "the caller gave up");
    capture
        .spans()
        .one("GET")
        .assert_unset()
        .assert_no_attr("error.type")
        .assert_no_attr("http.response.status_code");
}

#[tokio::test]
async fn opt_in_attributes_and_header_capture() {
    let capture = SpanCapture::new();
    let addr = serve(echo_app()).await;
    tracewire_core::propagation::install();
    let http = ClientBuilder::new(reqwest::Client::new())
        .with(
            HttpClientMiddleware::new()
                .with_tracer_provider(capture.provider())
                .record_url_scheme(true)
                .record_user_agent(true)
                .capture_request_headers(["x-request-id"])
                .capture_response_headers(["content-type"]),
        )
        .build();
    http.get(format!("http://{addr}/users/1"))
        .header("user-agent", "checkout/2.1")
        .header("x-request-id", "req-7")
        .header("authorization", "Bearer top-secret")
        .send()
        .await
        .expect("response");
    let spans = capture.spans();
    let span = spans
        .one("GET")
        .assert_attr("url.scheme", "http")
        .assert_attr("user_agent.original", "checkout/2.1")
        .assert_attr(
            "http.request.header.x-request-id",
            opentelemetry::Value::Array(opentelemetry::Array::String(vec!["req-7".into()])),
        )
        .assert_attr(
            "http.response.header.content-type",
            opentelemetry::Value::Array(opentelemetry::Array::String(vec![
                "text/plain; charset=utf-8".into(),
            ])),
        )
        .assert_no_attr("http.request.header.authorization");
    for kv in &span.data().attributes {
        assert!(!kv.value.as_str().contains("top-secret"));
    }
}
