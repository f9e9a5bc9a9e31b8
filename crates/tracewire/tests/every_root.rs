//! What a process set up by `tracewire::Builder::install` sends and exports, whoever starts the span:
//! tracewire's own boundaries, the OpenTelemetry API (`global::tracer`) or a `tracing` span through the
//! bridge. Every root carries the W3C random flag in its `traceparent` and in its export, children agree,
//! an unsampled parent's random flag survives, the bridge's spans have their own scope, and only what
//! passes the OpenTelemetry filter (INFO by default) is exported. Its own test binary: it installs the
//! global subscriber and providers.

use std::time::Duration;

use http::HeaderMap;
use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer};
use opentelemetry::{Context, global};
use tracewire::{Builder, Config};
use tracewire_core::propagation;
use tracewire_core::span::{Instrumentation, Outcome};
use tracewire_testing::OtlpReceiver;
use tracewire_testing::otlp::ReceivedSpan;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The `traceparent` the installed propagator sends for `cx`.
fn traceparent(cx: &Context) -> String {
    let mut headers = HeaderMap::new();
    propagation::inject(cx, &mut headers);
    headers["traceparent"].to_str().expect("ascii").to_owned()
}

fn flags(header: &str) -> &str {
    &header[header.len() - 2..]
}

/// The W3C trace flags of an exported span (OTLP keeps them in the low byte of `flags`).
fn exported_flags(span: &ReceivedSpan) -> u32 {
    span.span.flags & 0xff
}

fn find<'a>(spans: &'a [ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    spans
        .iter()
        .find(|s| s.span.name == name)
        .unwrap_or_else(|| panic!("no exported span {name}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_root_carries_the_random_flag_and_only_filtered_spans_are_exported() {
    let receiver = OtlpReceiver::start().await.expect("receiver");
    let config = Config::from_lookup(receiver.variables("roots", "http/protobuf"));
    let guard = Builder::from_config(config).console(false).install();

    // 1. A tracewire root and its child.
    let instrumentation = Instrumentation::global("roots-test");
    let root = instrumentation.start(SpanKind::Server, "tracewire root", vec![], &Context::new());
    assert_eq!(flags(&traceparent(root.context())), "03");
    let child = instrumentation.start(SpanKind::Client, "tracewire child", vec![], root.context());
    assert_eq!(flags(&traceparent(child.context())), "03");
    child.end(Outcome::Success);
    root.end(Outcome::Success);

    // 2. A root through the OpenTelemetry API, and its child.
    let tracer = global::tracer("api-user");
    let api_root = Context::new().with_span(tracer.start_with_context("api root", &Context::new()));
    assert_eq!(flags(&traceparent(&api_root)), "03");
    let api_child = api_root.with_span(tracer.start_with_context("api child", &api_root));
    assert_eq!(flags(&traceparent(&api_child)), "03");
    api_child.span().end();
    api_root.span().end();

    // 3. A root through the `tracing` bridge, and an INFO child; DEBUG spans and events stay out.
    {
        let job = tracing::info_span!("tracing root");
        assert_eq!(flags(&traceparent(&job.context())), "03");
        let _job = job.enter();
        let step = tracing::info_span!("tracing child");
        let _step = step.enter();
        tracing::info!("kept event");
        tracing::debug!("dropped event");
        tracing::trace!(target: "lapin::io_loop", "library internals");
        let quiet = tracing::debug_span!("debug span");
        let _quiet = quiet.enter();
    }
    tracing::trace_span!(target: "lapin::io_loop", "io loop").in_scope(|| {
        tracing::trace!(target: "lapin::io_loop", "poll");
    });

    // 4. An unsampled parent with the random flag: the flag goes out again, on every kind of child.
    let mut incoming = HeaderMap::new();
    incoming.insert(
        "traceparent",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02"
            .parse()
            .expect("header"),
    );
    let parent = propagation::extract(&incoming);
    let dropped = instrumentation.start(SpanKind::Server, "dropped", vec![], &parent);
    assert!(!dropped.is_recording());
    let sent = traceparent(dropped.context());
    assert!(
        sent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
        "{sent}"
    );
    assert_eq!(flags(&sent), "02");
    dropped.end(Outcome::Success);
    let api_dropped = parent.with_span(tracer.start_with_context("api dropped", &parent));
    assert_eq!(flags(&traceparent(&api_dropped)), "02");
    // And one without it stays without it.
    incoming.insert(
        "traceparent",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            .parse()
            .expect("header"),
    );
    let plain = propagation::extract(&incoming);
    let sampled = instrumentation.start(SpanKind::Server, "plain parent", vec![], &plain);
    assert_eq!(flags(&traceparent(sampled.context())), "01");
    sampled.end(Outcome::Success);

    let spans = receiver.wait_for_spans(7, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let spans = if spans.len() < receiver.spans().len() {
        receiver.spans()
    } else {
        spans
    };
    for name in [
        "tracewire root",
        "tracewire child",
        "api root",
        "api child",
        "tracing root",
        "tracing child",
    ] {
        assert_eq!(exported_flags(find(&spans, name)), 0x03, "{name}");
    }
    assert_eq!(exported_flags(find(&spans, "plain parent")), 0x01);

    let bridge = find(&spans, "tracing root");
    assert_eq!(bridge.scope, tracewire::TRACING_BRIDGE_SCOPE);
    assert_eq!(find(&spans, "tracewire root").scope, "roots-test");
    let events: Vec<&str> = find(&spans, "tracing child")
        .span
        .events
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(events, ["kept event"]);
    let names: Vec<&str> = spans.iter().map(|s| s.span.name.as_str()).collect();
    assert!(!names.contains(&"debug span"), "{names:?}");
    assert!(!names.contains(&"io loop"), "{names:?}");
    assert!(!names.contains(&"dropped"), "{names:?}");

    drop(tokio::task::spawn_blocking(move || drop(guard)).await);
}
