//! Text waterfalls of traces: one line per span, indented under its parent, with a duration bar on the
//! trace's time axis. Used by the test kit on failed assertions, and meant for the console exporter and
//! the CLI, so there is one renderer.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use tracewire_core::waterfall::{render, WaterfallSpan};
//! let t0 = UNIX_EPOCH + Duration::from_secs(1);
//! let spans = [
//!     WaterfallSpan { trace_id: 1, span_id: 1, parent_span_id: 0, name: "GET /checkout".into(), kind: "server", start: t0, end: t0 + Duration::from_millis(100), error: false },
//!     WaterfallSpan { trace_id: 1, span_id: 2, parent_span_id: 1, name: "POST".into(), kind: "client", start: t0 + Duration::from_millis(50), end: t0 + Duration::from_millis(100), error: true },
//! ];
//! let text = render(&spans, 20);
//! assert!(text.contains("GET /checkout"));
//! assert!(text.contains("  POST"));
//! assert!(text.contains("ERROR"));
//! ```

use std::collections::{HashMap, HashSet};
use std::fmt::Write;
use std::time::{Duration, SystemTime};

/// What the renderer needs of a span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaterfallSpan {
    /// Trace id.
    pub trace_id: u128,
    /// Span id.
    pub span_id: u64,
    /// Parent span id, 0 for none.
    pub parent_span_id: u64,
    /// Span name.
    pub name: String,
    /// Kind, lowercase (`server`, `client`, `producer`, `consumer`, `internal`).
    pub kind: &'static str,
    /// Start time.
    pub start: SystemTime,
    /// End time.
    pub end: SystemTime,
    /// Whether the status is Error.
    pub error: bool,
}

fn since(t: SystemTime, t0: SystemTime) -> Duration {
    t.duration_since(t0).unwrap_or_default()
}

/// Renders every trace in `spans`, in order of first start, with bars `width` characters wide.
/// A span whose parent is not among `spans` is drawn as a root of its trace.
pub fn render(spans: &[WaterfallSpan], width: usize) -> String {
    let width = width.max(1);
    let mut out = String::new();
    let mut traces: Vec<u128> = Vec::new();
    let mut by_trace: HashMap<u128, Vec<&WaterfallSpan>> = HashMap::new();
    let mut sorted: Vec<&WaterfallSpan> = spans.iter().collect();
    sorted.sort_by_key(|s| s.start);
    for span in sorted {
        by_trace
            .entry(span.trace_id)
            .or_insert_with(|| {
                traces.push(span.trace_id);
                Vec::new()
            })
            .push(span);
    }
    for trace_id in traces {
        let spans = &by_trace[&trace_id];
        let t0 = spans
            .iter()
            .map(|s| s.start)
            .min()
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let t1 = spans.iter().map(|s| s.end).max().unwrap_or(t0);
        let total = since(t1, t0).as_secs_f64().max(1e-9);
        let ids: HashSet<u64> = spans.iter().map(|s| s.span_id).collect();
        let mut children: HashMap<u64, Vec<&WaterfallSpan>> = HashMap::new();
        let mut roots = Vec::new();
        for span in spans {
            if span.parent_span_id != 0
                && ids.contains(&span.parent_span_id)
                && span.parent_span_id != span.span_id
            {
                children.entry(span.parent_span_id).or_default().push(span);
            } else {
                roots.push(*span);
            }
        }
        let _ = writeln!(
            out,
            "trace {trace_id:032x}  {:.3} ms, {} spans",
            total * 1e3,
            spans.len()
        );
        let name_width = 44;
        let mut stack: Vec<(&WaterfallSpan, usize)> =
            roots.into_iter().rev().map(|s| (s, 0)).collect();
        let mut seen = HashSet::new();
        while let Some((span, depth)) = stack.pop() {
            if !seen.insert(span.span_id) {
                continue;
            }
            let label = format!("{}{} [{}]", "  ".repeat(depth), span.name, span.kind);
            let from = since(span.start, t0).as_secs_f64() / total;
            let to = since(span.end, t0).as_secs_f64() / total;
            let a = ((from * width as f64).floor() as usize).min(width - 1);
            let b = ((to * width as f64).ceil() as usize).clamp(a + 1, width);
            let bar: String = (0..width)
                .map(|i| if i >= a && i < b { '█' } else { ' ' })
                .collect();
            let ms = since(span.end, span.start).as_secs_f64() * 1e3;
            let _ = writeln!(
                out,
                "{label:<name_width$} |{bar}| {ms:>9.3} ms{}",
                if span.error { "  ERROR" } else { "" }
            );
            if let Some(kids) = children.get(&span.span_id) {
                for kid in kids.iter().rev() {
                    stack.push((kid, depth + 1));
                }
            }
        }
    }
    out
}
