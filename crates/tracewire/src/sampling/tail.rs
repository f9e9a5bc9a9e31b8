use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry::trace::{Status, TraceId};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

use super::within_ratio;
use crate::assembler::{Assembler, Evicted};

/// What the tail sampler keeps, and how much it may hold. Build one, then wrap the processor that
/// exports with [`into_processor`](Self::into_processor) (or give it to [`crate::Builder::tail_sampling`]).
///
/// ```
/// use std::time::Duration;
/// use tracewire::sampling::TailSampling;
/// let policy = TailSampling::new()
///     .keep_slower_than(Duration::from_millis(500))
///     .baseline_ratio(0.05)
///     .max_traces(10_000)
///     .max_spans(200_000);
/// # drop(policy);
/// ```
#[derive(Clone, Debug)]
pub struct TailSampling {
    slow: Option<Duration>,
    ratio: f64,
    max_traces: usize,
    max_spans: usize,
    remembered: usize,
}

impl Default for TailSampling {
    fn default() -> Self {
        TailSampling::new()
    }
}

impl TailSampling {
    /// Keeps error traces, traces slower than 1 s, and 10 % of the rest; holds at most 4,096 traces
    /// and 65,536 spans; remembers the last 4,096 decisions for spans that end after their root.
    pub fn new() -> Self {
        TailSampling {
            slow: Some(Duration::from_secs(1)),
            ratio: 0.1,
            max_traces: 4096,
            max_spans: 65_536,
            remembered: 4096,
        }
    }

    /// Keep every trace whose local root lasted at least `threshold`.
    pub fn keep_slower_than(mut self, threshold: Duration) -> Self {
        self.slow = Some(threshold);
        self
    }

    /// Do not keep traces for being slow.
    pub fn ignore_latency(mut self) -> Self {
        self.slow = None;
        self
    }

    /// Share of the remaining (fast, error-free) traces kept, chosen by trace id (0 to 1).
    pub fn baseline_ratio(mut self, ratio: f64) -> Self {
        self.ratio = ratio;
        self
    }

    /// Traces held at once, waiting for their root (at least 1).
    pub fn max_traces(mut self, max: usize) -> Self {
        self.max_traces = max;
        self
    }

    /// Spans held at once, across all traces (at least 1).
    pub fn max_spans(mut self, max: usize) -> Self {
        self.max_spans = max;
        self
    }

    /// Decisions remembered for spans that end after their local root (at least 1).
    pub fn remember_decisions(mut self, count: usize) -> Self {
        self.remembered = count;
        self
    }

    /// The tail sampler in front of `inner`, which receives the kept spans (usually a batch processor
    /// with an exporter).
    pub fn into_processor<P: SpanProcessor + 'static>(self, inner: P) -> TailSampler {
        TailSampler {
            state: Mutex::new(State {
                assembler: Assembler::new(self.max_traces, self.max_spans),
                decided: Decisions::new(self.remembered.max(1)),
                open: HashMap::new(),
            }),
            policy: self,
            stats: Arc::new(Counters::default()),
            inner: Box::new(inner),
        }
    }
}

/// A span processor that decides per local trace, once the last of its spans in this process has ended
/// (normally the local root): keep it if any span has Error status, if a local root took at least the
/// latency threshold, or if the trace id falls in the baseline ratio; otherwise drop every span of it.
///
/// - **Local trace**: the spans of one trace made in this process. The local root is the span with no
///   parent or a remote parent (the server or consumer span of a request). Several local roots of one
///   trace (a service calling another in the same process) are decided together, once all have ended. Cross-service tail sampling
///   needs every service's spans in one place: that is the OpenTelemetry Collector's `tail_sampling`
///   processor (see `crates/tracewire/collector/tail-sampling.yaml`).
/// - **Stragglers**: spans that end after their trace was decided (a task spawned and left running, or
///   after an early decision at a bound) follow the remembered decision; a straggler with Error status,
///   or a local root slower than the threshold, is kept even if its trace was dropped, and turns the
///   decision to "keep" for the spans still to come, so an error is never lost.
/// - **Bounds**: at most `max_traces` traces and `max_spans` spans are held. Past a bound the oldest
///   trace is decided early on what it has so far (errors kept, the rest by the baseline ratio; the
///   latency rule cannot apply without the root) and counted in [`TailStats::evicted_traces`].
/// - **Head sampling**: the tail sampler sees only recorded spans; with it, the head sampler should
///   sample everything it may want to keep (tracewire's builder uses `ParentBased(AlwaysOn)` unless told
///   otherwise). Downstream services have already seen a sampled `traceparent` when this process drops
///   its part; their spans are exported by their own rules.
///
/// ```
/// use opentelemetry_sdk::trace::{BatchSpanProcessor, InMemorySpanExporter, SdkTracerProvider};
/// use tracewire::sampling::TailSampling;
/// let exporter = InMemorySpanExporter::default();
/// let tail = TailSampling::new().into_processor(BatchSpanProcessor::builder(exporter).build());
/// let stats = tail.stats();
/// let provider = SdkTracerProvider::builder().with_span_processor(tail).build();
/// # drop(provider);
/// println!("kept {} traces", stats.kept_traces());
/// ```
pub struct TailSampler {
    policy: TailSampling,
    state: Mutex<State>,
    stats: Arc<Counters>,
    inner: Box<dyn SpanProcessor>,
}

impl fmt::Debug for TailSampler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TailSampler")
            .field("policy", &self.policy)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

struct State {
    assembler: Assembler,
    decided: Decisions,
    /// Spans started and not yet ended, per trace: a local trace is decided when the last one ends.
    open: HashMap<TraceId, u32>,
}

/// The last N decisions, for stragglers.
struct Decisions {
    kept: HashMap<TraceId, bool>,
    order: VecDeque<TraceId>,
    max: usize,
}

impl Decisions {
    fn new(max: usize) -> Self {
        Decisions {
            kept: HashMap::new(),
            order: VecDeque::new(),
            max,
        }
    }

    fn get(&self, trace_id: TraceId) -> Option<bool> {
        self.kept.get(&trace_id).copied()
    }

    /// Drops the remembered decision of `trace_id` (its order entry goes when it reaches the front).
    fn forget(&mut self, trace_id: TraceId) {
        self.kept.remove(&trace_id);
    }

    /// Records a decision; a later "keep" overrides an earlier "drop" (an error showed up late).
    fn remember(&mut self, trace_id: TraceId, keep: bool) {
        if self.kept.insert(trace_id, keep).is_none() {
            self.order.push_back(trace_id);
            while self.order.len() > self.max {
                if let Some(old) = self.order.pop_front() {
                    self.kept.remove(&old);
                }
            }
        }
    }
}

#[derive(Default, Debug)]
struct Counters {
    kept_traces: AtomicU64,
    dropped_traces: AtomicU64,
    evicted_traces: AtomicU64,
    kept_spans: AtomicU64,
    dropped_spans: AtomicU64,
    held_traces: AtomicU64,
    held_spans: AtomicU64,
}

/// Counts of the tail sampler's work, readable while it runs. Cheap to clone.
///
/// ```
/// # use tracewire::sampling::TailSampling;
/// # let tail = TailSampling::new().into_processor(opentelemetry_sdk::trace::SimpleSpanProcessor::new(
/// #     opentelemetry_sdk::trace::InMemorySpanExporter::default()));
/// let stats = tail.stats();
/// assert_eq!(stats.kept_traces() + stats.dropped_traces(), 0);
/// ```
#[derive(Clone)]
pub struct TailStats(Arc<Counters>);

impl fmt::Debug for TailStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TailStats")
            .field("kept_traces", &self.kept_traces())
            .field("dropped_traces", &self.dropped_traces())
            .field("evicted_traces", &self.evicted_traces())
            .field("kept_spans", &self.kept_spans())
            .field("dropped_spans", &self.dropped_spans())
            .field("held_traces", &self.held_traces())
            .field("held_spans", &self.held_spans())
            .finish()
    }
}

impl TailStats {
    /// Traces kept (passed on to the exporting processor).
    pub fn kept_traces(&self) -> u64 {
        self.0.kept_traces.load(Ordering::Relaxed)
    }
    /// Traces dropped by the policy.
    pub fn dropped_traces(&self) -> u64 {
        self.0.dropped_traces.load(Ordering::Relaxed)
    }
    /// Traces decided before their root ended because a memory bound was reached (also counted as kept
    /// or dropped).
    pub fn evicted_traces(&self) -> u64 {
        self.0.evicted_traces.load(Ordering::Relaxed)
    }
    /// Spans passed on.
    pub fn kept_spans(&self) -> u64 {
        self.0.kept_spans.load(Ordering::Relaxed)
    }
    /// Spans dropped.
    pub fn dropped_spans(&self) -> u64 {
        self.0.dropped_spans.load(Ordering::Relaxed)
    }
    /// Traces held now, waiting for their root.
    pub fn held_traces(&self) -> u64 {
        self.0.held_traces.load(Ordering::Relaxed)
    }
    /// Spans held now.
    pub fn held_spans(&self) -> u64 {
        self.0.held_spans.load(Ordering::Relaxed)
    }
}

enum Why {
    RootEnded,
    Evicted,
    Shutdown,
}

impl TailSampler {
    /// A handle on the counters.
    pub fn stats(&self) -> TailStats {
        TailStats(self.stats.clone())
    }

    fn keep(&self, spans: &[SpanData], why: &Why) -> bool {
        let error = spans
            .iter()
            .any(|s| matches!(s.status, Status::Error { .. }));
        if error {
            return true;
        }
        // Every local root counts: the last span to end may be a background child, not the root.
        if let (Why::RootEnded, Some(threshold)) = (why, self.policy.slow) {
            let slow = spans
                .iter()
                .filter(|s| crate::assembler::is_local_root(s))
                .filter_map(|s| s.end_time.duration_since(s.start_time).ok())
                .any(|took| took >= threshold);
            if slow {
                return true;
            }
        }
        spans
            .first()
            .is_some_and(|s| within_ratio(s.span_context.trace_id(), self.policy.ratio))
    }

    fn settle(&self, state: &mut State, spans: Vec<SpanData>, why: Why, out: &mut Vec<SpanData>) {
        let Some(trace_id) = spans.first().map(|s| s.span_context.trace_id()) else {
            return;
        };
        // A trace already marked "keep" (an error arrived after part of it was decided) stays kept.
        let keep = state.decided.get(trace_id) == Some(true) || self.keep(&spans, &why);
        state.decided.remember(trace_id, keep);
        let n = spans.len() as u64;
        if matches!(why, Why::Evicted) {
            self.stats.evicted_traces.fetch_add(1, Ordering::Relaxed);
        }
        if keep {
            self.stats.kept_traces.fetch_add(1, Ordering::Relaxed);
            self.stats.kept_spans.fetch_add(n, Ordering::Relaxed);
            out.extend(spans);
        } else {
            self.stats.dropped_traces.fetch_add(1, Ordering::Relaxed);
            self.stats.dropped_spans.fetch_add(n, Ordering::Relaxed);
        }
    }

    fn publish_held(&self, state: &State) {
        self.stats
            .held_traces
            .store(state.assembler.held_traces() as u64, Ordering::Relaxed);
        self.stats
            .held_spans
            .store(state.assembler.held_spans() as u64, Ordering::Relaxed);
    }
}

impl SpanProcessor for TailSampler {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        use opentelemetry::trace::{Span as _, TraceContextExt as _};
        if let Ok(mut state) = self.state.lock() {
            let trace_id = span.span_context().trace_id();
            let parent = cx.span().span_context().clone();
            let local_root = !parent.is_valid() || parent.is_remote();
            // The same trace coming back into this process later (a second call from the gateway) is a
            // new local trace: it gets its own decision, not the one remembered for the first.
            if local_root && !state.open.contains_key(&trace_id) {
                state.decided.forget(trace_id);
            }
            // Bounded like the buffer: a trace whose spans never end is forgotten with the oldest.
            if state.open.len() < 4 * self.policy.max_traces.max(1)
                || state.open.contains_key(&trace_id)
            {
                *state.open.entry(trace_id).or_default() += 1;
            }
        }
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        let mut out = Vec::new();
        {
            let Ok(mut state) = self.state.lock() else {
                return;
            };
            let trace_id = span.span_context.trace_id();
            let last_open = match state.open.get_mut(&trace_id) {
                Some(open) if *open > 1 => {
                    *open -= 1;
                    false
                }
                Some(_) => {
                    state.open.remove(&trace_id);
                    true
                }
                // Never seen starting (the open table was full): decide at its local root.
                None => crate::assembler::is_local_root(&span),
            };
            match state.decided.get(trace_id) {
                // A straggler: its trace was decided already.
                Some(keep) => {
                    let error = matches!(span.status, Status::Error { .. });
                    // A root that shows the trace slow after an early decision keeps it too.
                    let slow_root = crate::assembler::is_local_root(&span)
                        && self.policy.slow.is_some_and(|threshold| {
                            span.end_time
                                .duration_since(span.start_time)
                                .is_ok_and(|took| took >= threshold)
                        });
                    let error = error || slow_root;
                    if error && !keep {
                        // From here on the trace is kept: its root and later spans come with the error.
                        state.decided.remember(trace_id, true);
                    }
                    if keep || error {
                        self.stats.kept_spans.fetch_add(1, Ordering::Relaxed);
                        out.push(span);
                    } else {
                        self.stats.dropped_spans.fetch_add(1, Ordering::Relaxed);
                    }
                }
                None => {
                    let mut evicted = Vec::new();
                    state.assembler.hold(span, &mut evicted);
                    for Evicted(spans) in evicted {
                        if let Some(first) = spans.first() {
                            let id = first.span_context.trace_id();
                            state.open.remove(&id);
                        }
                        self.settle(&mut state, spans, Why::Evicted, &mut out);
                    }
                    if last_open && let Some(spans) = state.assembler.take(trace_id) {
                        self.settle(&mut state, spans, Why::RootEnded, &mut out);
                    }
                }
            }
            self.publish_held(&state);
        }
        // Outside the lock: the inner processor may block briefly on its queue.
        for span in out {
            self.inner.on_end(span);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let mut out = Vec::new();
        if let Ok(mut state) = self.state.lock() {
            for spans in state.assembler.drain() {
                self.settle(&mut state, spans, Why::Shutdown, &mut out);
            }
            self.publish_held(&state);
        }
        for span in out {
            self.inner.on_end(span);
        }
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
