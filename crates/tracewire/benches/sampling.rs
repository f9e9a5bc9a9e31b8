//! Sampling costs: a head decision by each sampler, and the tail sampler's per-span work for a
//! four-span trace (buffer, decide, pass on). Run with `cargo bench -p tracewire --bench sampling`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry::trace::{SpanKind, TraceContextExt, TraceId, Tracer, TracerProvider};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, ShouldSample};
use tracewire::sampling::{RateLimitingSampler, RuleSampler, TailSampling};
use tracewire_testing::bench::DiscardSpans;

fn head(c: &mut Criterion) {
    let attributes = [
        KeyValue::new("http.request.method", "GET"),
        KeyValue::new("http.route", "/orders/{id}"),
        KeyValue::new("url.path", "/orders/42"),
    ];
    let rules = RuleSampler::builder()
        .debug_baggage("tracewire.debug")
        .debug_header("x-debug-trace")
        .never_route("/health")
        .ratio_for_route("/checkout", 0.5)
        .build();
    let parent_based = Sampler::ParentBased(Box::new(Sampler::AlwaysOn));
    let rate = RateLimitingSampler::per_second(1e12);
    let cx = Context::new();
    let mut group = c.benchmark_group("head_decision");
    let mut id = 1u128;
    let mut decide = |name: &str, sampler: &dyn ShouldSample| {
        group.bench_function(name, |b| {
            b.iter(|| {
                id = id.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835);
                black_box(sampler.should_sample(
                    Some(&cx),
                    TraceId::from(id),
                    "GET /orders/{id}",
                    &SpanKind::Server,
                    &attributes,
                    &[],
                ))
            })
        });
    };
    decide("sdk_parent_based_always_on", &parent_based);
    decide("rule_sampler_no_rule_matches", &rules);
    decide("rate_limiting", &rate);
    group.finish();
}

fn tail(c: &mut Criterion) {
    let mut group = c.benchmark_group("four_span_trace");
    for (name, tail) in [("without_tail_sampler", false), ("with_tail_sampler", true)] {
        let builder = SdkTracerProvider::builder();
        let provider = if tail {
            builder
                .with_span_processor(TailSampling::new().into_processor(DiscardSpans))
                .build()
        } else {
            builder.with_span_processor(DiscardSpans).build()
        };
        let tracer = provider.tracer("bench");
        group.bench_function(name, |b| {
            b.iter(|| {
                let root = tracer.start("GET /orders/{id}");
                let cx = Context::new().with_span(root);
                for _ in 0..3 {
                    drop(tracer.start_with_context("SELECT orders", &cx));
                }
                cx.span().end();
            })
        });
    }
    group.finish();
}

criterion_group!(benches, head, tail);
criterion_main!(benches);
