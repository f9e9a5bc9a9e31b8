//! Core benchmarks: span start+end with 8 attributes against a bare SDK span, and traceparent
//! extract/inject. Run with `cargo bench -p tracewire-core`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use http::HeaderMap;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{Span, SpanKind, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracewire_core::propagation::{HeaderExtractor, HeaderInjector, W3cTraceContextPropagator};
use tracewire_core::span::{Instrumentation, Outcome};
use tracewire_testing::bench::DiscardSpans;

// Finished spans are dropped (DiscardSpans): this measures making and ending spans, not an export
// pipeline (a batch processor's queue fills up under a tight loop and then drops spans, skewing results).

fn attributes() -> Vec<KeyValue> {
    vec![
        KeyValue::new("http.request.method", "GET"),
        KeyValue::new("url.path", "/users/42"),
        KeyValue::new("url.scheme", "http"),
        KeyValue::new("server.address", "localhost"),
        KeyValue::new("server.port", 8080),
        KeyValue::new("network.protocol.version", "1.1"),
        KeyValue::new("user_agent.original", "bench/1.0"),
        KeyValue::new("http.route", "/users/{id}"),
    ]
}

fn spans(c: &mut Criterion) {
    let provider = SdkTracerProvider::builder()
        .with_span_processor(DiscardSpans)
        .build();
    let mut group = c.benchmark_group("span_start_end_8_attributes");
    let tracer = provider.tracer("bench");
    group.bench_function("bare_sdk_span", |b| {
        b.iter(|| {
            let mut span = tracer
                .span_builder("GET /users/{id}")
                .with_kind(SpanKind::Server)
                .with_attributes(attributes())
                .start_with_context(&tracer, &Context::new());
            span.end();
        })
    });
    group.bench_function("sdk_span_in_context", |b| {
        b.iter(|| {
            let span = tracer
                .span_builder("GET /users/{id}")
                .with_kind(SpanKind::Server)
                .with_attributes(attributes())
                .start_with_context(&tracer, &Context::new());
            let cx = Context::new().with_span(span);
            cx.span().end();
        })
    });
    let instrumentation = Instrumentation::with_provider(&provider, "bench");
    group.bench_function("tracewire_core", |b| {
        b.iter(|| {
            let span = instrumentation.start(
                SpanKind::Server,
                "GET /users/{id}",
                attributes(),
                &Context::new(),
            );
            span.end(Outcome::Success);
        })
    });
    // The common server case: a child of a remote parent extracted from `traceparent`.
    let remote = opentelemetry::trace::SpanContext::new(
        opentelemetry::trace::TraceId::from(0x0af7651916cd43dd8448eb211c80319c_u128),
        opentelemetry::trace::SpanId::from(0xb7ad6b7169203331_u64),
        opentelemetry::trace::TraceFlags::SAMPLED,
        true,
        Default::default(),
    );
    let remote_parent = Context::new().with_remote_span_context(remote);
    group.bench_function("sdk_span_in_context_remote_parent", |b| {
        b.iter(|| {
            let span = tracer
                .span_builder("GET /users/{id}")
                .with_kind(SpanKind::Server)
                .with_attributes(attributes())
                .start_with_context(&tracer, &remote_parent);
            let cx = remote_parent.with_span(span);
            cx.span().end();
        })
    });
    group.bench_function("tracewire_core_remote_parent", |b| {
        b.iter(|| {
            let span = instrumentation.start(
                SpanKind::Server,
                "GET /users/{id}",
                attributes(),
                &remote_parent,
            );
            span.end(Outcome::Success);
        })
    });
    group.finish();
    let _ = provider.shutdown();
}

fn traceparent(c: &mut Criterion) {
    let propagator = W3cTraceContextPropagator::new();
    let mut headers = HeaderMap::new();
    headers.insert(
        "traceparent",
        http::HeaderValue::from_static("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
    );
    headers.insert("user-agent", http::HeaderValue::from_static("bench"));
    c.bench_function("traceparent_extract", |b| {
        b.iter(|| {
            black_box(
                propagator
                    .extract_with_context(&Context::new(), &HeaderExtractor(black_box(&headers))),
            )
        })
    });
    let cx = propagator.extract_with_context(&Context::new(), &HeaderExtractor(&headers));
    c.bench_function("traceparent_inject", |b| {
        b.iter(|| {
            let mut out = HeaderMap::new();
            propagator.inject_context(black_box(&cx), &mut HeaderInjector(&mut out));
            black_box(out)
        })
    });
    let sdk = opentelemetry_sdk::propagation::TraceContextPropagator::new();
    c.bench_function("sdk_traceparent_extract", |b| {
        b.iter(|| {
            black_box(
                sdk.extract_with_context(&Context::new(), &HeaderExtractor(black_box(&headers))),
            )
        })
    });
}

criterion_group!(benches, spans, traceparent);
criterion_main!(benches);
