//! Real tonic servers and clients on 127.0.0.1: every kind of call and every status path, as a user
//! reads them in a trace.

mod common;

use std::time::Duration;

use common::{Setup, UNARY};
use opentelemetry::trace::SpanKind;
use tonic::Code;
use tracewire_grpc::{GrpcClientLayer, GrpcServerLayer};
use tracewire_testing::echo::{EchoReply, EchoRequest, EchoServer, EchoService};

fn ask(message: &str, code: i32) -> EchoRequest {
    EchoRequest {
        message: message.into(),
        code,
        ..Default::default()
    }
}

fn known() -> GrpcServerLayer {
    GrpcServerLayer::new().with_service::<EchoServer<EchoService>>()
}

#[tokio::test]
async fn a_unary_call_is_one_trace_of_a_client_and_a_server_span() {
    let setup = Setup::serve(known(), EchoService::default()).await;
    let reply = setup.client().unary(ask("hi", 0)).await.expect("call");
    assert_eq!(reply.into_inner().message, "hi");

    let spans = setup.spans(2).await;
    let port = i64::from(setup.addr.port());
    let client = spans
        .iter()
        .find(|s| s.kind() == SpanKind::Client)
        .expect("client span");
    let server = spans
        .iter()
        .find(|s| s.kind() == SpanKind::Server)
        .expect("server span");
    for span in [&client, &server] {
        assert_eq!(span.name(), UNARY);
        (*span)
            .assert_attr("rpc.system.name", "grpc")
            .assert_attr("rpc.method", UNARY)
            .assert_attr("rpc.response.status_code", "OK")
            .assert_attr("server.address", "127.0.0.1")
            .assert_attr("server.port", port)
            .assert_no_attr("rpc.method_original")
            .assert_unset();
    }
    server.assert_parent(&client);
    assert!(server.parent_is_remote());
    server.assert_attr("network.peer.address", "127.0.0.1");

    for metric in ["rpc.server.call.duration", "rpc.client.call.duration"] {
        let points = setup.metrics.points(metric);
        assert_eq!(points.len(), 1, "{metric}");
        assert_eq!(points[0].count, 1);
        assert_eq!(points[0].attr("rpc.system.name"), Some("grpc"));
        assert_eq!(points[0].attr("rpc.method"), Some(UNARY));
        assert_eq!(points[0].attr("rpc.response.status_code"), Some("OK"));
        assert_eq!(points[0].attr("error.type"), None);
    }
}

#[tokio::test]
async fn handler_errors_follow_each_sides_status_rules() {
    let setup = Setup::serve(known(), EchoService::default()).await;
    let mut client = setup.client();
    // NOT_FOUND: the caller's fault, an error for the client only.
    let status = client.unary(ask("a", 5)).await.expect_err("not found");
    assert_eq!(status.code(), Code::NotFound);
    let spans = setup.spans(2).await;
    spans
        .iter()
        .find(|s| s.kind() == SpanKind::Server)
        .expect("server")
        .assert_attr("rpc.response.status_code", "NOT_FOUND")
        .assert_no_attr("error.type")
        .assert_unset();
    spans
        .iter()
        .find(|s| s.kind() == SpanKind::Client)
        .expect("client")
        .assert_attr("rpc.response.status_code", "NOT_FOUND")
        .assert_error("NOT_FOUND");
    let client_span = spans
        .iter()
        .find(|s| s.kind() == SpanKind::Client)
        .expect("client");
    assert_eq!(
        *client_span.status(),
        opentelemetry::trace::Status::error("asked for 5"),
        "the status message is the description"
    );

    // INTERNAL: an error on both sides, with error.type on both metrics.
    setup.spans.reset();
    let status = client.unary(ask("b", 13)).await.expect_err("internal");
    assert_eq!(status.code(), Code::Internal);
    let spans = setup.spans(2).await;
    for span in spans.iter() {
        span.assert_attr("rpc.response.status_code", "INTERNAL")
            .assert_error("INTERNAL");
    }
    for metric in ["rpc.server.call.duration", "rpc.client.call.duration"] {
        let points = setup.metrics.points(metric);
        let internal = points
            .iter()
            .find(|p| p.attr("rpc.response.status_code") == Some("INTERNAL"))
            .expect(metric);
        assert_eq!(internal.attr("error.type"), Some("INTERNAL"), "{metric}");
    }
}

/// A raw call to `path` with an `EchoRequest` body, as a client without the generated stub makes it.
async fn raw_call(setup: &Setup, path: &'static str) -> tonic::Status {
    let channel = tonic::transport::Endpoint::from_shared(setup.target())
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    let codec: tonic_prost::ProstCodec<EchoRequest, EchoReply> = Default::default();
    grpc.unary(
        tonic::Request::new(ask("x", 0)),
        http::uri::PathAndQuery::from_static(path),
        codec,
    )
    .await
    .expect_err("unimplemented")
}

#[tokio::test]
async fn unknown_methods_and_services_are_other_and_unimplemented() {
    let setup = Setup::serve(known(), EchoService::default()).await;
    for (path, original) in [
        (
            "/tracewire.test.Echo/Missing",
            "tracewire.test.Echo/Missing",
        ),
        ("/evil.Service/Anything", "evil.Service/Anything"),
    ] {
        setup.spans.reset();
        let status = raw_call(&setup, path).await;
        assert_eq!(status.code(), Code::Unimplemented);
        let spans = setup.spans(1).await;
        spans
            .one("grpc")
            .assert_kind(SpanKind::Server)
            .assert_attr("rpc.method", "_OTHER")
            .assert_attr("rpc.method_original", original)
            .assert_attr("rpc.response.status_code", "UNIMPLEMENTED")
            .assert_error("UNIMPLEMENTED");
    }
    let points = setup.metrics.points("rpc.server.call.duration");
    assert!(
        points
            .iter()
            .all(|p| p.attr("rpc.method") == Some("_OTHER"))
    );
}

#[tokio::test]
async fn without_recognized_methods_every_call_is_other() {
    let setup = Setup::serve(GrpcServerLayer::new(), EchoService::default()).await;
    setup.client().unary(ask("hi", 0)).await.expect("call");
    let spans = setup.spans(2).await;
    // The generated client recognizes its method; the server was told of none.
    spans.one(UNARY).assert_kind(SpanKind::Client);
    spans
        .one("grpc")
        .assert_kind(SpanKind::Server)
        .assert_attr("rpc.method", "_OTHER")
        .assert_attr("rpc.method_original", UNARY)
        .assert_unset();
}

#[tokio::test]
async fn a_decode_failure_is_recorded_as_tonic_answers_it() {
    #[derive(Clone, PartialEq, prost::Message)]
    struct NotAnEcho {
        // Field 1 of EchoRequest is a string; a varint there cannot be decoded.
        #[prost(uint64, tag = "1")]
        message: u64,
    }
    let setup = Setup::serve(known(), EchoService::default()).await;
    let channel = tonic::transport::Endpoint::from_shared(setup.target())
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    let codec: tonic_prost::ProstCodec<NotAnEcho, EchoReply> = Default::default();
    let status = grpc
        .unary(
            tonic::Request::new(NotAnEcho { message: 7 }),
            http::uri::PathAndQuery::from_static("/tracewire.test.Echo/Unary"),
            codec,
        )
        .await
        .expect_err("decode error");
    let spans = setup.spans(1).await;
    spans.one(UNARY).assert_kind(SpanKind::Server).assert_attr(
        "rpc.response.status_code",
        tracewire_core::rpc::status_name(status.code() as i32),
    );
    assert_ne!(status.code(), Code::Ok);
}

#[tokio::test]
async fn streams_are_one_span_until_the_status() {
    let setup = Setup::serve(known(), EchoService::default()).await;
    let mut client = setup.client();

    // Server streaming: three replies 30 ms apart.
    let request = EchoRequest {
        message: "s".into(),
        count: 3,
        delay_ms: 30,
        ..Default::default()
    };
    let mut stream = client
        .server_stream(request)
        .await
        .expect("call")
        .into_inner();
    let mut replies = 0;
    while stream.message().await.expect("message").is_some() {
        replies += 1;
    }
    assert_eq!(replies, 3);
    let spans = setup.spans(2).await;
    for span in spans.named("tracewire.test.Echo/ServerStream") {
        assert!(
            span.duration() >= Duration::from_millis(90),
            "{:?}",
            span.duration()
        );
        span.assert_attr("rpc.response.status_code", "OK")
            .assert_unset();
        assert_eq!(span.data().events.len(), 0, "no per-message events");
    }

    // Client streaming.
    setup.spans.reset();
    let requests = futures_util::stream::iter(vec![ask("a", 0), ask("b", 0)]);
    let reply = client.client_stream(requests).await.expect("call");
    assert_eq!(reply.into_inner().message, "a b");
    let spans = setup.spans(2).await;
    assert_eq!(spans.named("tracewire.test.Echo/ClientStream").len(), 2);

    // Bidirectional, failing on the second message.
    setup.spans.reset();
    let requests = futures_util::stream::iter(vec![ask("a", 0), ask("b", 10)]);
    let mut stream = client.bidi(requests).await.expect("call").into_inner();
    assert_eq!(
        stream
            .message()
            .await
            .expect("first")
            .expect("reply")
            .message,
        "a"
    );
    let status = stream.message().await.expect_err("aborted");
    assert_eq!(status.code(), Code::Aborted);
    let spans = setup.spans(2).await;
    for span in spans.named("tracewire.test.Echo/Bidi") {
        span.assert_attr("rpc.response.status_code", "ABORTED");
    }
    spans
        .iter()
        .find(|s| s.kind() == SpanKind::Client)
        .expect("client")
        .assert_error("ABORTED");
    spans
        .iter()
        .find(|s| s.kind() == SpanKind::Server)
        .expect("server")
        .assert_unset();
}

#[tokio::test]
async fn a_deadline_is_deadline_exceeded_on_the_client_and_cancelled_on_the_wire() {
    let setup = Setup::serve(known(), EchoService::default()).await;
    let mut request = tonic::Request::new(EchoRequest {
        message: "slow".into(),
        delay_ms: 500,
        ..Default::default()
    });
    request.set_timeout(Duration::from_millis(50));
    let status = setup.client().unary(request).await.expect_err("deadline");
    assert!(
        matches!(status.code(), Code::Cancelled | Code::DeadlineExceeded),
        "{status:?}"
    );
    let spans = setup.spans(2).await;
    spans
        .iter()
        .find(|s| s.kind() == SpanKind::Client)
        .expect("client")
        .assert_attr("rpc.response.status_code", "DEADLINE_EXCEEDED")
        .assert_error("DEADLINE_EXCEEDED");
    // tonic's server answers a passed grpc-timeout with CANCELLED: the status on the wire.
    spans
        .iter()
        .find(|s| s.kind() == SpanKind::Server)
        .expect("server")
        .assert_attr("rpc.response.status_code", "CANCELLED")
        .assert_unset();
}

#[tokio::test]
async fn an_endpoint_timeout_is_deadline_exceeded() {
    let setup = Setup::serve(known(), EchoService::default()).await;
    let mut client = setup.client_with(GrpcClientLayer::new(&setup.target()), |e| {
        e.timeout(Duration::from_millis(50))
    });
    let request = EchoRequest {
        message: "slow".into(),
        delay_ms: 500,
        ..Default::default()
    };
    client.unary(request).await.expect_err("timeout");
    let spans = setup.spans(1).await;
    spans
        .iter()
        .find(|s| s.kind() == SpanKind::Client)
        .expect("client")
        .assert_error("DEADLINE_EXCEEDED");
}

#[tokio::test]
async fn a_caller_that_gives_up_cancels_both_sides() {
    let setup = Setup::serve(known(), EchoService::default()).await;
    let mut client = setup.client();
    let request = EchoRequest {
        message: "slow".into(),
        delay_ms: 2_000,
        ..Default::default()
    };
    let gave_up = tokio::time::timeout(Duration::from_millis(100), client.unary(request)).await;
    assert!(gave_up.is_err(), "the call was abandoned");
    let spans = setup.spans(2).await;
    spans
        .iter()
        .find(|s| s.kind() == SpanKind::Client)
        .expect("client")
        .assert_attr("rpc.response.status_code", "CANCELLED")
        .assert_error("CANCELLED");
    spans
        .iter()
        .find(|s| s.kind() == SpanKind::Server)
        .expect("server")
        .assert_attr("rpc.response.status_code", "CANCELLED")
        .assert_unset();
    let points = setup.metrics.points("rpc.server.call.duration");
    assert_eq!(
        points[0].attr("rpc.response.status_code"),
        Some("CANCELLED")
    );
}

#[tokio::test]
async fn a_refused_connection_is_unavailable() {
    // A port nothing listens on: bind, note it, close.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let setup = Setup::serve(known(), EchoService::default()).await;
    let target = format!("http://127.0.0.1:{port}");
    let channel = tonic::transport::Endpoint::from_shared(target.clone())
        .expect("endpoint")
        .connect_lazy();
    let layer = GrpcClientLayer::new(&target).with_instrumentation(
        setup
            .metrics
            .instrumentation(setup.spans.instrumentation("t"), "t"),
    );
    let mut client =
        tracewire_testing::echo::EchoClient::new(tower_layer::Layer::layer(&layer, channel));
    let status = client.unary(ask("x", 0)).await.expect_err("refused");
    assert_eq!(status.code(), Code::Unavailable);
    let spans = setup.spans(1).await;
    spans
        .one(UNARY)
        .assert_attr("rpc.response.status_code", "UNAVAILABLE")
        .assert_attr("server.port", i64::from(port))
        .assert_error("UNAVAILABLE");
}

#[tokio::test]
async fn filtered_calls_have_no_span_and_keep_the_callers_context() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
    let seen_in_handler = seen.clone();
    let service = EchoService::default().with_work(move || {
        use opentelemetry::trace::TraceContextExt;
        let trace = opentelemetry::Context::current()
            .span()
            .span_context()
            .trace_id();
        *seen_in_handler.lock().expect("lock") = Some(trace);
        Box::pin(async {})
    });
    let layer = known().with_filter(|method| method.ends_with("/Unary"));
    let setup = Setup::serve(layer, service).await;
    setup.client().unary(ask("hi", 0)).await.expect("call");
    let spans = setup.spans(1).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(setup.spans.spans().len(), 1, "only the client's span");
    let client = spans.one(UNARY).assert_kind(SpanKind::Client);
    assert_eq!(
        *seen.lock().expect("lock"),
        Some(client.trace_id()),
        "the handler runs in the caller's trace"
    );
    assert!(tracewire_grpc::is_health_or_reflection(
        "grpc.health.v1.Health/Check"
    ));
}

#[tokio::test]
async fn metadata_is_captured_by_allow_list_only() {
    let layer = known().capture_request_metadata(["X-Tenant"]);
    let setup = Setup::serve(layer, EchoService::default()).await;
    let mut request = tonic::Request::new(ask("hi", 0));
    request
        .metadata_mut()
        .insert("x-tenant", "acme".parse().expect("ascii"));
    request
        .metadata_mut()
        .insert("authorization", "Bearer secret".parse().expect("ascii"));
    setup.client().unary(request).await.expect("call");
    let spans = setup.spans(2).await;
    let server = spans
        .iter()
        .find(|s| s.kind() == SpanKind::Server)
        .expect("server");
    let tenant = server
        .attribute("rpc.request.metadata.x-tenant")
        .expect("captured");
    match tenant {
        opentelemetry::Value::Array(opentelemetry::Array::String(values)) => {
            assert_eq!(
                values.iter().map(|v| v.as_str()).collect::<Vec<_>>(),
                ["acme"]
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    server.assert_no_attr("rpc.request.metadata.authorization");
}

#[tokio::test]
async fn hostile_metadata_never_fails_a_call() {
    let setup = Setup::serve(known(), EchoService::default()).await;
    let mut client = setup.client();
    let cases: Vec<Vec<(&str, Vec<u8>)>> = vec![
        vec![("traceparent", vec![b'f'; 8_000])],
        vec![("tracestate", "k=v,".repeat(2_000).into_bytes())],
        vec![("baggage", "k=%ZZ%,=,;;".into())],
        vec![("x-data-bin", vec![0, 1, 2, 255])],
        vec![
            ("b3", b"not-a-b3".to_vec()),
            ("uber-trace-id", b"::::".to_vec()),
        ],
    ];
    for headers in cases {
        let mut request = tonic::Request::new(ask("ok", 0));
        for (key, value) in &headers {
            if key.ends_with("-bin") {
                request.metadata_mut().insert_bin(
                    tonic::metadata::BinaryMetadataKey::from_static("x-data-bin"),
                    tonic::metadata::BinaryMetadataValue::from_bytes(value),
                );
            } else {
                request.metadata_mut().insert(
                    tonic::metadata::AsciiMetadataKey::from_bytes(key.as_bytes()).expect("key"),
                    tonic::metadata::AsciiMetadataValue::try_from(value.as_slice()).expect("ascii"),
                );
            }
        }
        let reply = client
            .unary(request)
            .await
            .expect("hostile metadata never fails a call");
        assert_eq!(reply.into_inner().message, "ok");
    }
}

#[tokio::test]
async fn non_ascii_metadata_bytes_never_fail_a_call() {
    // Bytes a tonic client cannot send as ASCII metadata, straight into the traced server service.
    use tower::ServiceExt;
    tracewire_core::propagation::install();
    let spans = tracewire_testing::SpanCapture::new();
    let service = tower_layer::Layer::layer(
        &known()
            .with_instrumentation(spans.instrumentation("t"))
            .capture_request_metadata(["x-name"]),
        EchoServer::new(EchoService::default()),
    );
    let request = http::Request::post("http://127.0.0.1/tracewire.test.Echo/Unary")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header(
            "traceparent",
            http::HeaderValue::from_bytes(&[0x80, 0xff, b'-', 0xfe]).expect("obs-text"),
        )
        .header(
            "x-name",
            http::HeaderValue::from_bytes("Zoë".as_bytes()).expect("obs-text"),
        )
        // One empty EchoRequest: not compressed, length 0.
        .body(tonic::body::Body::new(http_body_util::Full::new(
            bytes::Bytes::from_static(&[0, 0, 0, 0, 0]),
        )))
        .expect("request");
    let response = service.oneshot(request).await.expect("served");
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("body");
    let trailers = body.trailers().cloned().unwrap_or_default();
    assert_eq!(
        trailers.get("grpc-status").map(|v| v.as_bytes()),
        Some(&b"0"[..])
    );
    let spans = spans.spans();
    let server = spans
        .one(UNARY)
        .assert_root()
        .assert_attr("rpc.response.status_code", "OK");
    assert!(server.attribute("rpc.request.metadata.x-name").is_some());
}
