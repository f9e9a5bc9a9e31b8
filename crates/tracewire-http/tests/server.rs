//! The server layer against a real axum server and a real HTTP client: span names, kinds, parents,
//! every attribute, status rules, streaming, HTTP/2, proxies, filters, header capture, trust boundary,
//! hostile input and concurrency.

mod common;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::http::StatusCode;
use axum::routing::get;
use bytes::Bytes;
use common::{PARENT_ID, TRACE_ID, TestServer, client, serve, traceparent};
use opentelemetry::trace::{SpanId, SpanKind, TraceContextExt, TraceId};
use opentelemetry::{Array, Value};
use tracewire_http::{HttpServerLayer, ResponseTraceHeader};

fn trace_id() -> TraceId {
    TraceId::from_hex(TRACE_ID).expect("trace id")
}

fn parent_id() -> SpanId {
    SpanId::from_hex(PARENT_ID).expect("span id")
}

fn app() -> Router {
    Router::new()
        .route("/users/{id}", get(|| async { "user" }))
        .route(
            "/fail",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
        )
        .route(
            "/unavailable",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "later") }),
        )
        .route("/bad", get(|| async { (StatusCode::BAD_REQUEST, "bad") }))
        .route(
            "/panic",
            get(|| async {
                if true {
                    panic!("handler exploded");
                }
                "unreachable"
            }),
        )
        .route(
            "/trace-id",
            get(|| async {
                opentelemetry::Context::current()
                    .span()
                    .span_context()
                    .trace_id()
                    .to_string()
            }),
        )
}

#[tokio::test]
async fn matched_route_with_remote_parent_and_every_attribute() {
    let server = TestServer::start(app(), HttpServerLayer::new()).await;
    let response = client()
        .get(server.url("/users/42?q=shoes&sig=s3cr3t"))
        .header("traceparent", traceparent())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "user");

    let spans = server.spans(1).await;
    spans
        .one("GET /users/{id}")
        .assert_kind(SpanKind::Server)
        .assert_remote_parent(trace_id(), parent_id())
        .assert_unset()
        .assert_attr("http.request.method", "GET")
        .assert_no_attr("http.request.method_original")
        .assert_attr("http.route", "/users/{id}")
        .assert_attr("url.path", "/users/42")
        .assert_attr("url.query", "q=shoes&sig=REDACTED")
        .assert_attr("url.scheme", "http")
        .assert_attr("server.address", "127.0.0.1")
        .assert_attr("server.port", i64::from(server.addr.port()))
        .assert_attr("client.address", "127.0.0.1")
        .assert_attr("network.peer.address", "127.0.0.1")
        .assert_attr("network.protocol.version", "1.1")
        .assert_attr("user_agent.original", "tracewire-test/1.0")
        .assert_attr("http.response.status_code", 200i64)
        .assert_no_attr("error.type");
    assert!(
        spans
            .one("GET /users/{id}")
            .attribute("network.peer.port")
            .is_some()
    );
}

#[tokio::test]
async fn unmatched_path_is_named_by_method_only() {
    let server = TestServer::start(app(), HttpServerLayer::new()).await;
    let response = client()
        .get(server.url("/nope/123"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 404);
    let spans = server.spans(1).await;
    spans
        .one("GET")
        .assert_root()
        .assert_no_attr("http.route")
        .assert_attr("url.path", "/nope/123")
        .assert_attr("http.response.status_code", 404i64)
        .assert_unset();
}

#[tokio::test]
async fn server_errors_are_errors_and_client_errors_are_not() {
    let server = TestServer::start(app(), HttpServerLayer::new()).await;
    for path in ["/fail", "/unavailable", "/bad"] {
        client()
            .get(server.url(path))
            .send()
            .await
            .expect("request");
    }
    let spans = server.spans(3).await;
    spans.one("GET /fail").assert_error("500");
    spans.one("GET /unavailable").assert_error("503");
    spans
        .one("GET /bad")
        .assert_unset()
        .assert_no_attr("error.type")
        .assert_attr("http.response.status_code", 400i64);
}

#[tokio::test]
async fn unknown_methods_are_other() {
    let server = TestServer::start(app(), HttpServerLayer::new()).await;
    let method = reqwest::Method::from_bytes(b"PURGE").expect("method");
    client()
        .request(method, server.url("/users/1"))
        .send()
        .await
        .expect("request");
    let spans = server.spans(1).await;
    // The route matched (axum answers 405), so the name keeps it, with `HTTP` for the method.
    spans
        .one("HTTP /users/{id}")
        .assert_attr("http.request.method", "_OTHER")
        .assert_attr("http.request.method_original", "PURGE");
}

#[tokio::test]
async fn a_panicking_handler_is_an_error_and_still_panics() {
    let server = TestServer::start(app(), HttpServerLayer::new()).await;
    let result = client().get(server.url("/panic")).send().await;
    assert!(
        result.is_err(),
        "axum without CatchPanic drops the connection"
    );
    let spans = server.spans(1).await;
    let span = spans.one("GET /panic").assert_error("panic");
    let event = span.event("exception");
    assert!(
        event
            .iter()
            .any(|(k, v)| k.as_str() == "exception.message" && v.as_str() == "handler exploded")
    );
}

#[tokio::test]
async fn an_inner_service_error_is_recorded_with_its_type() {
    use tower::{ServiceExt, service_fn};
    tracewire_core::propagation::install();
    let capture = tracewire_testing::SpanCapture::new();
    let layer = HttpServerLayer::new().with_tracer_provider(capture.provider());
    let service = tower::Layer::layer(
        &layer,
        service_fn(|_req: http::Request<Body>| async {
            Err::<http::Response<Body>, _>(std::io::Error::other("connection reset"))
        }),
    );
    let request = http::Request::get("/x")
        .body(Body::empty())
        .expect("request");
    let error = service.oneshot(request).await.expect_err("inner error");
    assert_eq!(error.to_string(), "connection reset");
    let spans = capture.spans();
    let span = spans.one("GET").assert_error("std::io::error::Error");
    assert_eq!(span.event_count("exception"), 1);
}

fn streaming_app(last_chunk_at: Arc<Mutex<Option<SystemTime>>>) -> Router {
    Router::new().route(
        "/stream",
        get(move || {
            let last = last_chunk_at.clone();
            async move {
                let chunks = futures_util::stream::unfold(0u8, move |n| {
                    let last = last.clone();
                    async move {
                        if n == 3 {
                            return None;
                        }
                        tokio::time::sleep(Duration::from_millis(30)).await;
                        if n == 2 {
                            *last.lock().expect("lock") = Some(SystemTime::now());
                        }
                        Some((Ok::<_, Infallible>(Bytes::from(vec![b'x'; 10])), n + 1))
                    }
                });
                Body::from_stream(chunks)
            }
        }),
    )
}

#[tokio::test]
async fn streaming_bodies_are_timed_to_their_end() {
    let last = Arc::new(Mutex::new(None));
    let server = TestServer::start(streaming_app(last.clone()), HttpServerLayer::new()).await;
    let body = client()
        .get(server.url("/stream"))
        .send()
        .await
        .expect("request")
        .bytes()
        .await
        .expect("body");
    assert_eq!(body.len(), 30);
    let spans = server.spans(1).await;
    let span = spans.one("GET /stream");
    let last = last.lock().expect("lock").expect("last chunk time");
    assert!(
        span.data().end_time >= last,
        "span must end after the last chunk"
    );
}

#[tokio::test]
async fn the_head_option_ends_the_span_before_the_body() {
    let last = Arc::new(Mutex::new(None));
    let server = TestServer::start(
        streaming_app(last.clone()),
        HttpServerLayer::new().with_span_end(tracewire_http::SpanEnd::ResponseHead),
    )
    .await;
    let body = client()
        .get(server.url("/stream"))
        .send()
        .await
        .expect("request")
        .bytes()
        .await
        .expect("body");
    assert_eq!(body.len(), 30);
    let spans = server.spans(1).await;
    let span = spans.one("GET /stream");
    let last = last.lock().expect("lock").expect("last chunk time");
    assert!(span.data().end_time < last, "span must end with the head");
}

#[tokio::test]
async fn a_route_chooses_its_span_end_through_the_response_extensions() {
    // The stream ends at its head (set by a route layer on /stream only); /users/{id} keeps the default.
    let last = Arc::new(Mutex::new(None));
    let stream_route = streaming_app(last.clone()).layer(axum::middleware::map_response(
        |mut response: axum::response::Response| async move {
            response
                .extensions_mut()
                .insert(tracewire_http::SpanEnd::ResponseHead);
            response
        },
    ));
    let server = TestServer::start(stream_route.merge(app()), HttpServerLayer::new()).await;
    let body = client()
        .get(server.url("/stream"))
        .send()
        .await
        .expect("request")
        .bytes()
        .await
        .expect("body");
    assert_eq!(body.len(), 30);
    client()
        .get(server.url("/users/7"))
        .send()
        .await
        .expect("request");
    let spans = server.spans(2).await;
    let last = last.lock().expect("lock").expect("last chunk time");
    assert!(
        spans.one("GET /stream").data().end_time < last,
        "the stream's span must end with the head"
    );
    spans.one("GET /users/{id}").assert_unset();
}

#[tokio::test]
async fn http2_prior_knowledge() {
    let server = TestServer::start(app(), HttpServerLayer::new()).await;
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .expect("client");
    let response = h2
        .get(server.url("/users/7"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    let spans = server.spans(1).await;
    spans
        .one("GET /users/{id}")
        .assert_attr("network.protocol.version", "2")
        .assert_attr("server.address", "127.0.0.1")
        .assert_attr("server.port", i64::from(server.addr.port()));
}

#[tokio::test]
async fn proxy_headers_give_the_original_scheme_host_and_client() {
    let server = TestServer::start(app(), HttpServerLayer::new()).await;
    client()
        .get(server.url("/users/1"))
        .header(
            "forwarded",
            "for=\"[2001:db8::17]:4711\";proto=https;host=shop.example",
        )
        .send()
        .await
        .expect("request");
    client()
        .get(server.url("/users/2"))
        .header("x-forwarded-for", "198.51.100.7, 10.0.0.1")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "api.example:8443")
        .send()
        .await
        .expect("request");
    let spans = server.spans(2).await;
    let mut seen = spans.named("GET /users/{id}").collect::<Vec<_>>();
    seen.sort_by_key(|s| s.attribute("url.path").map(|v| v.as_str().into_owned()));
    seen[0]
        .assert_attr("url.scheme", "https")
        .assert_attr("server.address", "shop.example")
        .assert_attr("server.port", 443i64)
        .assert_attr("client.address", "2001:db8::17")
        .assert_attr("network.peer.address", "127.0.0.1");
    seen[1]
        .assert_attr("url.scheme", "https")
        .assert_attr("server.address", "api.example")
        .assert_attr("server.port", 8443i64)
        .assert_attr("client.address", "198.51.100.7");
}

#[tokio::test]
async fn filtered_requests_have_no_span_but_keep_the_callers_context() {
    let server = TestServer::start(
        app(),
        HttpServerLayer::new().with_filter(|req| req.uri.path() == "/trace-id"),
    )
    .await;
    let body = client()
        .get(server.url("/trace-id"))
        .header("traceparent", traceparent())
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    assert_eq!(body, TRACE_ID);
    client()
        .get(server.url("/users/1"))
        .send()
        .await
        .expect("request");
    let spans = server.spans(1).await;
    spans.one("GET /users/{id}");
    assert_eq!(spans.named("GET /trace-id").count(), 0);
}

#[tokio::test]
async fn allow_listed_headers_are_captured_and_secrets_are_not() {
    let app = Router::new().route(
        "/h",
        get(|| async { ([("x-cache", "hit"), ("set-cookie", "session=abc")], "ok") }),
    );
    let server = TestServer::start(
        app,
        HttpServerLayer::new()
            .capture_request_headers(["X-Request-Id", "x-absent"])
            .capture_response_headers(["x-cache"]),
    )
    .await;
    client()
        .get(server.url("/h"))
        .header("x-request-id", "r-1")
        .header("authorization", "Bearer secret")
        .header("cookie", "session=abc")
        .send()
        .await
        .expect("request");
    let spans = server.spans(1).await;
    let span = spans
        .one("GET /h")
        .assert_attr(
            "http.request.header.x-request-id",
            Value::Array(Array::String(vec!["r-1".into()])),
        )
        .assert_attr(
            "http.response.header.x-cache",
            Value::Array(Array::String(vec!["hit".into()])),
        )
        .assert_no_attr("http.request.header.x-absent")
        .assert_no_attr("http.request.header.authorization")
        .assert_no_attr("http.request.header.cookie")
        .assert_no_attr("http.response.header.set-cookie");
    for kv in &span.data().attributes {
        assert!(!kv.value.as_str().contains("secret"), "{kv:?}");
    }
}

#[tokio::test]
async fn an_untrusted_caller_is_linked_not_parented() {
    let server =
        TestServer::start(app(), HttpServerLayer::new().trust_incoming_context(false)).await;
    client()
        .get(server.url("/users/1"))
        .header("traceparent", traceparent())
        .header("baggage", "user=mallory")
        .send()
        .await
        .expect("request");
    let spans = server.spans(1).await;
    let span = spans.one("GET /users/{id}").assert_root();
    assert_ne!(span.trace_id(), trace_id());
    let links = span.links();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].trace_id(), trace_id());
    assert_eq!(links[0].span_id(), parent_id());
}

#[tokio::test]
async fn the_trace_context_can_be_returned_to_the_caller() {
    let server = TestServer::start(
        app(),
        HttpServerLayer::new().with_response_trace_header(ResponseTraceHeader::TraceResponse),
    )
    .await;
    let response = client()
        .get(server.url("/users/1"))
        .header("traceparent", traceparent())
        .send()
        .await
        .expect("request");
    let header = response.headers()["traceresponse"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let spans = server.spans(1).await;
    let span = spans.one("GET /users/{id}");
    assert_eq!(header, format!("00-{TRACE_ID}-{}-01", span.span_id()));
}

#[tokio::test]
async fn the_returned_context_keeps_the_random_flag_sampled_or_not() {
    // A parent-based sampler, as applications run: an unsampled parent leaves the server span unsampled.
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_sampler(opentelemetry_sdk::trace::Sampler::ParentBased(Box::new(
            opentelemetry_sdk::trace::Sampler::AlwaysOn,
        )))
        .build();
    tracewire_core::propagation::install();
    let app = app().layer(
        HttpServerLayer::new()
            .with_response_trace_header(ResponseTraceHeader::TraceResponse)
            .with_tracer_provider(&provider),
    );
    let addr = serve(app).await;
    let flags = |caller: Option<String>| {
        let mut request = client().get(format!("http://{addr}/users/1"));
        if let Some(traceparent) = caller {
            request = request.header("traceparent", traceparent);
        }
        async move {
            let response = request.send().await.expect("request");
            let header = response.headers()["traceresponse"]
                .to_str()
                .expect("ascii")
                .to_owned();
            header[header.len() - 2..].to_owned()
        }
    };
    // Unsampled with the random flag: `02` comes back, not `00`.
    assert_eq!(
        flags(Some(format!("00-{TRACE_ID}-{PARENT_ID}-02"))).await,
        "02"
    );
    assert_eq!(
        flags(Some(format!("00-{TRACE_ID}-{PARENT_ID}-00"))).await,
        "00"
    );
    assert_eq!(
        flags(Some(format!("00-{TRACE_ID}-{PARENT_ID}-03"))).await,
        "03"
    );
    // A new trace: its id is random.
    assert_eq!(flags(None).await, "03");
}

#[tokio::test]
async fn hostile_headers_never_break_a_request() {
    let server = TestServer::start(app(), HttpServerLayer::new()).await;
    let long_state = (0..700)
        .map(|i| format!("k{i}=value{i}"))
        .collect::<Vec<_>>()
        .join(",");
    assert!(long_state.len() > 8 * 1024);
    let cases: Vec<Vec<(&str, Vec<u8>)>> = vec![
        vec![("traceparent", b"00-not-a-trace".to_vec())],
        vec![
            ("traceparent", traceparent().into_bytes()),
            ("traceparent", traceparent().into_bytes()),
        ],
        vec![
            ("traceparent", traceparent().into_bytes()),
            ("tracestate", long_state.into_bytes()),
        ],
        vec![
            ("user-agent", b"caf\xe9 \xff bot".to_vec()),
            ("baggage", b"k=\xff\xfe".to_vec()),
        ],
        (0..200)
            .map(|i| ("x-filler", format!("v{i}").into_bytes()))
            .collect(),
        (0..90)
            .map(|i| ("x-filler", format!("v{i}").into_bytes()))
            .collect(),
    ];
    // The same requests against the same app without tracewire: every answer must be identical
    // (hyper itself refuses more than 100 header lines, with or without us).
    let plain = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind");
    let plain_addr = plain.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(plain, app()).await;
    });
    let mut served = 0;
    for headers in &cases {
        let mut answers = Vec::new();
        for base in [server.url(""), format!("http://{plain_addr}")] {
            let mut request = client().get(format!("{base}/users/9"));
            for (name, value) in headers {
                request = request.header(
                    *name,
                    reqwest::header::HeaderValue::from_bytes(value).expect("value"),
                );
            }
            let response = request.send().await.expect("request");
            answers.push((response.status(), response.text().await.expect("body")));
        }
        assert_eq!(answers[0], answers[1]);
        if answers[0].0 == 200 {
            served += 1;
        }
    }
    assert!(served >= 4, "the first four cases reach the handler");
    let spans = server.spans(served).await;
    let all: Vec<_> = spans.named("GET /users/{id}").collect();
    assert_eq!(all.len(), served);
    // Malformed and duplicated traceparents restart the trace.
    assert_eq!(all.iter().filter(|s| s.trace_id() == trace_id()).count(), 1);
    let lossy = all
        .iter()
        .filter_map(|s| s.attribute("user_agent.original"))
        .find(|v| v.as_str().contains('\u{fffd}'));
    assert!(lossy.is_some(), "non-UTF-8 user agent recorded lossily");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_requests_each_get_their_own_parent() {
    let server = TestServer::start(app(), HttpServerLayer::new()).await;
    let client = client();
    let mut tasks = Vec::new();
    for i in 0..1000u64 {
        let client = client.clone();
        let url = server.url(&format!("/users/{i}"));
        tasks.push(tokio::spawn(async move {
            let trace = format!("{:032x}", 0xabc000 + u128::from(i));
            let parent = format!("{:016x}", 0x1000 + i);
            let response = client
                .get(url)
                .header("traceparent", format!("00-{trace}-{parent}-01"))
                .send()
                .await
                .expect("request");
            assert_eq!(response.status(), 200);
            response.bytes().await.expect("body");
            (trace, parent, i)
        }));
    }
    let mut expected = Vec::new();
    for task in tasks {
        expected.push(task.await.expect("task"));
    }
    let spans = server.spans(1000).await;
    for (trace, parent, i) in expected {
        let path = format!("/users/{i}");
        let matching: Vec<_> = spans
            .named("GET /users/{id}")
            .filter(|s| s.attribute("url.path").map(|v| v.as_str()) == Some(path.as_str().into()))
            .collect();
        assert_eq!(matching.len(), 1, "{path}");
        matching[0].assert_remote_parent(
            TraceId::from_hex(&trace).expect("trace"),
            SpanId::from_hex(&parent).expect("parent"),
        );
    }
}

#[tokio::test]
async fn a_caller_that_goes_away_still_ends_the_span() {
    let app = Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            "late"
        }),
    );
    let server = TestServer::start(app, HttpServerLayer::new()).await;
    let result = client()
        .get(server.url("/slow"))
        .timeout(Duration::from_millis(100))
        .send()
        .await;
    assert!(result.is_err(), "the client gave up");
    let spans = server.spans(1).await;
    // Nothing was sent and the server did not fail: no status code, no error.
    spans
        .one("GET /slow")
        .assert_unset()
        .assert_no_attr("http.response.status_code")
        .assert_no_attr("error.type");
}
