//! Gathers a trace's local spans until its local root ends: the tail sampler decides on what it gathers,
//! the console exporter draws it. Memory is bounded by a number of traces and a number of spans; past
//! either bound the oldest trace is handed out early, as [`Evicted`].

use std::collections::{HashMap, VecDeque};

use opentelemetry::trace::TraceId;
use opentelemetry_sdk::trace::SpanData;

/// A trace handed out before its local root ended, because a bound was reached.
pub(crate) struct Evicted(pub(crate) Vec<SpanData>);

pub(crate) struct Assembler {
    traces: HashMap<TraceId, Vec<SpanData>>,
    /// Trace ids in arrival order; may hold ids already handed out (compacted when it grows).
    order: VecDeque<TraceId>,
    held_spans: usize,
    max_traces: usize,
    max_spans: usize,
}

/// Whether `span` is the root of its trace's local part: no parent, or a parent in another process.
pub(crate) fn is_local_root(span: &SpanData) -> bool {
    span.parent_span_id == opentelemetry::trace::SpanId::INVALID || span.parent_span_is_remote
}

impl Assembler {
    pub(crate) fn new(max_traces: usize, max_spans: usize) -> Self {
        Assembler {
            traces: HashMap::new(),
            order: VecDeque::new(),
            held_spans: 0,
            max_traces: max_traces.max(1),
            max_spans: max_spans.max(1),
        }
    }

    pub(crate) fn held_traces(&self) -> usize {
        self.traces.len()
    }

    pub(crate) fn held_spans(&self) -> usize {
        self.held_spans
    }

    /// Adds a span. Returns the whole local trace when `span` is its local root; pushes traces
    /// evicted to stay within the bounds onto `evicted`.
    pub(crate) fn push(
        &mut self,
        span: SpanData,
        evicted: &mut Vec<Evicted>,
    ) -> Option<Vec<SpanData>> {
        let trace_id = span.span_context.trace_id();
        if is_local_root(&span) {
            let mut spans = self.remove(trace_id).unwrap_or_default();
            spans.push(span);
            return Some(spans);
        }
        self.hold(span, evicted);
        None
    }

    /// Every span held for `trace_id`, removed.
    pub(crate) fn take(&mut self, trace_id: TraceId) -> Option<Vec<SpanData>> {
        self.remove(trace_id)
    }

    /// Adds a span to its trace (whatever it is); pushes traces evicted to stay within the bounds
    /// onto `evicted`.
    pub(crate) fn hold(&mut self, span: SpanData, evicted: &mut Vec<Evicted>) {
        let trace_id = span.span_context.trace_id();
        if !self.traces.contains_key(&trace_id) {
            while self.traces.len() >= self.max_traces {
                match self.evict_oldest() {
                    Some(e) => evicted.push(e),
                    None => break,
                }
            }
            self.order.push_back(trace_id);
            if self.order.len() > 2 * self.max_traces + 16 {
                let traces = &self.traces;
                self.order
                    .retain(|id| traces.contains_key(id) || *id == trace_id);
            }
        }
        self.traces.entry(trace_id).or_default().push(span);
        self.held_spans += 1;
        while self.held_spans > self.max_spans {
            match self.evict_oldest() {
                Some(e) => evicted.push(e),
                None => break,
            }
        }
    }

    fn remove(&mut self, trace_id: TraceId) -> Option<Vec<SpanData>> {
        let spans = self.traces.remove(&trace_id)?;
        self.held_spans -= spans.len();
        Some(spans)
    }

    fn evict_oldest(&mut self) -> Option<Evicted> {
        while let Some(id) = self.order.pop_front() {
            if let Some(spans) = self.remove(id) {
                return Some(Evicted(spans));
            }
        }
        None
    }

    /// Everything held, oldest first (at shutdown).
    pub(crate) fn drain(&mut self) -> Vec<Vec<SpanData>> {
        let mut out = Vec::new();
        while let Some(Evicted(spans)) = self.evict_oldest() {
            out.push(spans);
        }
        out
    }
}
