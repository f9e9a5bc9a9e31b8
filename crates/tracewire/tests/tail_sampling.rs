//! The tail sampler over 10,000 traces with a small memory bound: error traces are always kept whole,
//! slow traces kept, the rest by the baseline ratio, and what is held never exceeds the bound.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime};

use opentelemetry::Context;
use opentelemetry::trace::{
    Span as _, SpanKind, Status, TraceContextExt, TraceId, Tracer, TracerProvider as _,
};
use std::sync::{Arc, Mutex};

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanProcessor};

/// What the tail sampler passes on, kept in memory (through shutdown, unlike the SDK's exporter).
#[derive(Clone, Debug, Default)]
struct Recorder(Arc<Mutex<Vec<SpanData>>>);

impl Recorder {
    fn spans(&self) -> Vec<SpanData> {
        self.0.lock().expect("lock").clone()
    }
}

impl SpanProcessor for Recorder {
    fn on_start(&self, _: &mut opentelemetry_sdk::trace::Span, _: &Context) {}
    fn on_end(&self, span: SpanData) {
        self.0.lock().expect("lock").push(span);
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
        Ok(())
    }
}
use tracewire::sampling::TailSampling;

const TRACES: usize = 10_000;
const MAX_TRACES: usize = 64;
const MAX_SPANS: usize = 256;

#[derive(Default)]
struct Truth {
    error: HashSet<TraceId>,
    slow: HashSet<TraceId>,
    plain: HashSet<TraceId>,
}

#[test]
fn ten_thousand_traces_with_a_small_bound() {
    let exporter = Recorder::default();
    let tail = TailSampling::new()
        .keep_slower_than(Duration::from_millis(500))
        .baseline_ratio(0.2)
        .max_traces(MAX_TRACES)
        .max_spans(MAX_SPANS)
        .into_processor(exporter.clone());
    let stats = tail.stats();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(tail)
        .build();
    let tracer = provider.tracer("tail-test");

    let mut truth = Truth::default();
    let t0 = SystemTime::now();
    // Traces run 100 at a time, interleaved: more open traces than the bound, so eviction happens.
    for wave in 0..TRACES / 100 {
        let mut open = Vec::new();
        for i in 0..100 {
            let n = wave * 100 + i;
            let start = t0 + Duration::from_secs(n as u64);
            let root = tracer
                .span_builder("GET /orders/{id}")
                .with_kind(SpanKind::Server)
                .with_start_time(start)
                .start(&tracer);
            let cx = Context::new().with_span(root);
            let trace_id = cx.span().span_context().trace_id();
            let kind = n % 10;
            match kind {
                0 => truth.error.insert(trace_id),
                1 => truth.slow.insert(trace_id),
                _ => truth.plain.insert(trace_id),
            };
            open.push((cx, start, kind));
        }
        // Children end first, across all open traces.
        for child in 0..3 {
            for (cx, start, kind) in &open {
                let mut span = tracer
                    .span_builder(format!("SELECT orders {child}"))
                    .with_kind(SpanKind::Client)
                    .with_start_time(*start)
                    .start_with_context(&tracer, cx);
                if *kind == 0 && child == 1 {
                    span.set_status(Status::error("deadlock detected"));
                }
                span.end_with_timestamp(*start + Duration::from_millis(5));
                assert!(stats.held_spans() <= MAX_SPANS as u64);
                assert!(stats.held_traces() <= MAX_TRACES as u64);
            }
        }
        for (cx, start, kind) in open {
            let took = if kind == 1 { 900 } else { 20 };
            cx.span()
                .end_with_timestamp(start + Duration::from_millis(took));
        }
    }
    assert!(
        stats.evicted_traces() > 0,
        "the bound was reached: {stats:?}"
    );
    assert_eq!(stats.held_spans(), 0);
    // Each trace decided once: early at the bound, or when its last span ended.
    assert_eq!(stats.kept_traces() + stats.dropped_traces(), TRACES as u64);

    let spans = exporter.spans();
    let mut by_trace: HashMap<TraceId, Vec<String>> = HashMap::new();
    for span in &spans {
        by_trace
            .entry(span.span_context.trace_id())
            .or_default()
            .push(span.name.to_string());
    }
    // Every error trace is exported with its error span and its root.
    for id in &truth.error {
        let names = by_trace.get(id).expect("error trace kept");
        assert!(names.iter().any(|n| n == "SELECT orders 1"), "{names:?}");
        assert!(names.iter().any(|n| n == "GET /orders/{id}"), "{names:?}");
    }
    // Slow traces are kept (at least their root: children may have been evicted before the root
    // showed the trace was slow, which is what the bound costs).
    for id in &truth.slow {
        assert!(
            by_trace
                .get(id)
                .is_some_and(|n| n.iter().any(|n| n == "GET /orders/{id}")),
            "slow trace kept"
        );
    }
    // The rest by the baseline ratio: about 20 %.
    let kept_plain = truth
        .plain
        .iter()
        .filter(|id| by_trace.contains_key(id))
        .count();
    let share = kept_plain as f64 / truth.plain.len() as f64;
    assert!((0.15..0.25).contains(&share), "baseline share {share}");
    let _ = provider.shutdown();
}

#[test]
fn stragglers_follow_their_trace_and_late_errors_are_never_lost() {
    let exporter = Recorder::default();
    let tail = TailSampling::new()
        .ignore_latency()
        .baseline_ratio(0.0)
        .into_processor(exporter.clone());
    let provider = SdkTracerProvider::builder()
        .with_span_processor(tail)
        .build();
    let tracer = provider.tracer("stragglers");

    // Trace A: an error, then a straggler ending after the root: kept whole.
    let root = tracer.start("A");
    let cx = Context::new().with_span(root);
    let mut failing = tracer.start_with_context("A failing", &cx);
    failing.set_status(Status::error("boom"));
    failing.end();
    let late = tracer.start_with_context("A late", &cx);
    cx.span().end();
    drop(late);

    // Trace B: the root ends while a child still runs; the trace is decided when the child ends, and
    // the child's error keeps the whole trace, root included.
    let root = tracer.start("B");
    let cx = Context::new().with_span(root);
    let mut late = tracer.start_with_context("B late", &cx);
    cx.span().end();
    late.set_status(Status::error("late failure"));
    late.end();

    // Trace C: fast and fine, decided (dropped) when its root ends; spans that start afterwards follow
    // the decision, except an error, which is kept.
    let root = tracer.start("C");
    let cx = Context::new().with_span(root);
    cx.span().end();
    tracer.start_with_context("C after, fine", &cx).end();
    let mut failing = tracer.start_with_context("C after, failed", &cx);
    failing.set_status(Status::error("boom"));
    failing.end();

    let names: HashSet<String> = exporter
        .spans()
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    let expected: HashSet<String> = ["A", "A failing", "A late", "B", "B late", "C after, failed"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(names, expected);
    let _ = provider.shutdown();
}

#[test]
fn shutdown_decides_what_is_still_held() {
    let exporter = Recorder::default();
    let tail = TailSampling::new()
        .baseline_ratio(0.0)
        .into_processor(exporter.clone());
    let stats = tail.stats();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(tail)
        .build();
    let tracer = provider.tracer("shutdown");
    let root = tracer.start("never ends in time");
    let cx = Context::new().with_span(root);
    let mut child = tracer.start_with_context("failed", &cx);
    child.set_status(Status::error("x"));
    child.end();
    assert_eq!(stats.held_spans(), 1);
    let _ = provider.shutdown();
    let names: Vec<String> = exporter
        .spans()
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(names, ["failed"]);
}

#[test]
fn a_slow_root_counts_even_when_a_background_child_ends_last() {
    let exporter = Recorder::default();
    let tail = TailSampling::new()
        .keep_slower_than(Duration::from_millis(500))
        .baseline_ratio(0.0)
        .into_processor(exporter.clone());
    let provider = SdkTracerProvider::builder()
        .with_span_processor(tail)
        .build();
    let tracer = provider.tracer("slow-root");
    let t0 = SystemTime::now();
    let root = tracer
        .span_builder("GET /report")
        .with_start_time(t0)
        .start(&tracer);
    let cx = Context::new().with_span(root);
    let background = tracer
        .span_builder("refresh cache")
        .with_start_time(t0 + Duration::from_millis(1900))
        .start_with_context(&tracer, &cx);
    cx.span().end_with_timestamp(t0 + Duration::from_secs(2));
    let mut background = background;
    background.end_with_timestamp(t0 + Duration::from_millis(1950));
    let names: HashSet<String> = exporter
        .spans()
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    assert!(
        names.contains("GET /report") && names.contains("refresh cache"),
        "{names:?}"
    );
    let _ = provider.shutdown();
}

#[test]
fn the_same_trace_entering_again_later_gets_its_own_decision() {
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceState};
    let exporter = Recorder::default();
    let tail = TailSampling::new()
        .ignore_latency()
        .baseline_ratio(0.0)
        .into_processor(exporter.clone());
    let provider = SdkTracerProvider::builder()
        .with_span_processor(tail)
        .build();
    let tracer = provider.tracer("reentry");
    let caller = |span: u64| {
        Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from(0xabcd_u128),
            SpanId::from(span),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        ))
    };
    // First call from the gateway: fine, dropped by the 0 % baseline.
    let first = tracer.start_with_context("GET /items (1)", &caller(1));
    let cx = Context::new().with_span(first);
    tracer.start_with_context("SELECT (1)", &cx).end();
    cx.span().end();
    // Second call in the same trace: it fails, and its whole local trace is kept.
    let second = tracer.start_with_context("GET /items (2)", &caller(2));
    let cx = Context::new().with_span(second);
    tracer.start_with_context("SELECT (2)", &cx).end();
    cx.span().set_status(Status::error("boom"));
    cx.span().end();
    let names: HashSet<String> = exporter
        .spans()
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    let expected: HashSet<String> = ["GET /items (2)", "SELECT (2)"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(names, expected);
    let _ = provider.shutdown();
}
