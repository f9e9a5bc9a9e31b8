//! The span API against a real SDK pipeline: kinds, parents, status, `error.type`, exception events,
//! baggage attributes, and the context being current while a future runs.

use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt};
use opentelemetry::{Context, KeyValue};
use tracewire_core::propagation;
use tracewire_core::span::{Outcome, SpanError};
use tracewire_testing::SpanCapture;

#[test]
fn each_kind_and_parenting() {
    let capture = SpanCapture::new();
    let i = capture.instrumentation("t");
    let root = i.start(SpanKind::Server, "GET /a", vec![], &Context::new());
    for (kind, name) in [
        (SpanKind::Client, "client"),
        (SpanKind::Producer, "producer"),
        (SpanKind::Consumer, "consumer"),
        (SpanKind::Internal, "internal"),
    ] {
        i.start(kind, name, vec![KeyValue::new("k", name)], root.context())
            .end(Outcome::Success);
    }
    root.end(Outcome::Success);
    let spans = capture.spans();
    let root = spans
        .one("GET /a")
        .assert_kind(SpanKind::Server)
        .assert_root()
        .assert_unset();
    spans
        .one("client")
        .assert_kind(SpanKind::Client)
        .assert_parent(&root)
        .assert_attr("k", "client");
    spans
        .one("producer")
        .assert_kind(SpanKind::Producer)
        .assert_parent(&root);
    spans
        .one("consumer")
        .assert_kind(SpanKind::Consumer)
        .assert_parent(&root);
    spans
        .one("internal")
        .assert_kind(SpanKind::Internal)
        .assert_parent(&root);
    assert_eq!(spans.trace_ids().len(), 1);
}

#[test]
fn a_status_code_error_has_no_description_and_no_exception() {
    let capture = SpanCapture::new();
    let i = capture.instrumentation("t");
    i.start(SpanKind::Client, "GET", vec![], &Context::new())
        .end(Outcome::Failed(SpanError::status_code(503)));
    let spans = capture.spans();
    let span = spans.one("GET").assert_error("503");
    assert_eq!(span.status(), &Status::error(""));
    assert_eq!(span.event_count("exception"), 0);
}

#[test]
fn an_error_value_records_one_exception_event_and_its_message() {
    let capture = SpanCapture::new();
    let i = capture.instrumentation("t");
    let error = std::io::Error::new(std::io::ErrorKind::TimedOut, "took too long");
    i.start(SpanKind::Internal, "work", vec![], &Context::new())
        .end(Outcome::Failed(SpanError::from_error(&error)));
    let spans = capture.spans();
    let span = spans.one("work").assert_error("std::io::error::Error");
    assert_eq!(span.status(), &Status::error("took too long"));
    assert_eq!(span.event_count("exception"), 1);
    let event = span.event("exception");
    assert!(
        event
            .iter()
            .any(|(k, v)| k.as_str() == "exception.type" && v.as_str() == "std::io::error::Error")
    );
    assert!(
        event
            .iter()
            .any(|(k, v)| k.as_str() == "exception.message" && v.as_str() == "took too long")
    );
}

#[test]
fn dropping_an_unended_span_ends_it_without_error() {
    let capture = SpanCapture::new();
    let i = capture.instrumentation("t");
    drop(i.start(SpanKind::Client, "abandoned", vec![], &Context::new()));
    let spans = capture.spans();
    spans
        .one("abandoned")
        .assert_unset()
        .assert_no_attr("error.type");
}

#[test]
fn allow_listed_baggage_becomes_attributes() {
    let capture = SpanCapture::new();
    let i = capture
        .instrumentation("t")
        .with_baggage_attributes(["tenant.id"]);
    let parent = Context::new().with_baggage([
        KeyValue::new("tenant.id", "acme"),
        KeyValue::new("secret", "s3cr3t"),
    ]);
    i.start(SpanKind::Server, "s", vec![], &parent)
        .end(Outcome::Success);
    let spans = capture.spans();
    spans
        .one("s")
        .assert_attr("tenant.id", "acme")
        .assert_no_attr("secret");
}

#[test]
fn no_baggage_is_copied_by_default() {
    let capture = SpanCapture::new();
    let i = capture.instrumentation("t");
    let parent = Context::new().with_baggage([KeyValue::new("tenant.id", "acme")]);
    i.start(SpanKind::Server, "s", vec![], &parent)
        .end(Outcome::Success);
    capture.spans().one("s").assert_no_attr("tenant.id");
}

#[tokio::test]
async fn the_span_is_current_while_the_future_runs() {
    let capture = SpanCapture::new();
    let i = capture.instrumentation("t");
    let span = i.start(SpanKind::Server, "outer", vec![], &Context::new());
    let expected = span.span_context().span_id();
    let inner = i.clone();
    let seen = span
        .in_scope(async move {
            tokio::task::yield_now().await;
            let child = inner.start(SpanKind::Internal, "inner", vec![], &Context::current());
            child.end(Outcome::Success);
            Context::current().span().span_context().span_id()
        })
        .await;
    span.end(Outcome::Success);
    assert_eq!(seen, expected);
    let spans = capture.spans();
    let outer = spans.one("outer");
    spans.one("inner").assert_parent(&outer);
}

#[test]
fn roots_carry_the_random_flag_outgoing() {
    propagation::install();
    let capture = SpanCapture::new();
    let i = capture.instrumentation("t");
    let root = i.start(SpanKind::Server, "root", vec![], &Context::new());
    assert_eq!(root.span_context().trace_flags().to_u8() & 0x02, 0x02);
    let mut headers = http::HeaderMap::new();
    propagation::inject(root.context(), &mut headers);
    let tp = headers["traceparent"].to_str().expect("ascii");
    assert!(tp.ends_with("-03"), "{tp}");

    // A child of a remote parent without the flag must not set it.
    let mut incoming = http::HeaderMap::new();
    incoming.insert(
        "traceparent",
        http::HeaderValue::from_static("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
    );
    let remote = propagation::extract_with_context(&Context::new(), &incoming);
    let child = i.start(SpanKind::Server, "child", vec![], &remote);
    let mut out = http::HeaderMap::new();
    propagation::inject(child.context(), &mut out);
    let tp = out["traceparent"].to_str().expect("ascii");
    assert!(tp.ends_with("-01"), "{tp}");
    // Children of a local root inherit the flag, through the SDK copying the parent's flags.
    let child_of_root = i.start(SpanKind::Client, "call", vec![], root.context());
    let mut out = http::HeaderMap::new();
    propagation::inject(child_of_root.context(), &mut out);
    assert!(out["traceparent"].to_str().expect("ascii").ends_with("-03"));
    // An unsampled root still says its trace id is random.
    let unsampled = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOff)
        .build();
    let off = tracewire_core::span::Instrumentation::with_provider(&unsampled, "off");
    let dropped = off.start(SpanKind::Server, "root", vec![], &Context::new());
    let mut out = http::HeaderMap::new();
    propagation::inject(dropped.context(), &mut out);
    assert!(out["traceparent"].to_str().expect("ascii").ends_with("-02"));
    assert!(tp.starts_with("00-0af7651916cd43dd8448eb211c80319c-"));
    assert!(
        !tp.contains("b7ad6b7169203331"),
        "parent id must change: {tp}"
    );
}

#[test]
fn error_descriptions_and_exception_messages_are_cut_to_the_limits() {
    let capture = SpanCapture::new();
    let limits = tracewire_core::limits::Limits::default().with_max_value_len(16);
    let instrumentation = capture.instrumentation("t").with_limits(limits);
    // What a library's `to_string()` gives, unbounded (a broker's reply, a row value in a message).
    let long = "é".repeat(100);
    let error = SpanError::new("io_error")
        .with_description(long.clone())
        .with_exception("io_error", long.clone());
    instrumentation
        .start(SpanKind::Client, "raw", vec![], &Context::new())
        .end(Outcome::Failed(error));
    let from_error = std::io::Error::other(long);
    instrumentation
        .start(SpanKind::Client, "from_error", vec![], &Context::new())
        .end(Outcome::Failed(SpanError::from_error(&from_error)));

    let spans = capture.spans();
    for name in ["raw", "from_error"] {
        let span = spans.one(name);
        let Status::Error { description } = span.status() else {
            panic!("{name}: not an error");
        };
        assert_eq!(
            description.as_ref(),
            "é".repeat(8),
            "{name}: cut on a char boundary"
        );
        let event = span.event("exception");
        let message = event
            .iter()
            .find(|(k, _)| k.as_str() == "exception.message")
            .map(|(_, v)| v.to_string());
        assert_eq!(message, Some("é".repeat(8)), "{name}");
    }
}
