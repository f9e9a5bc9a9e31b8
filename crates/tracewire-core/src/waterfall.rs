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
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use tracewire_core::waterfall::{WaterfallSpan, render};
/// let start = UNIX_EPOCH + Duration::from_secs(1);
/// let span = WaterfallSpan {
///     trace_id: 0x4bf9,
///     span_id: 1,
///     parent_span_id: 0, // a root
///     name: "GET /".into(),
///     kind: "server",
///     start,
///     end: start + Duration::from_millis(20),
///     error: false,
/// };
/// assert!(render(&[span], 10).contains("GET / [server]"));
/// ```
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

/// One trace's spans as a tree: children by parent, and the roots (spans whose parent is not present).
struct Tree<'a> {
    roots: Vec<&'a WaterfallSpan>,
    children: HashMap<u64, Vec<&'a WaterfallSpan>>,
}

impl<'a> Tree<'a> {
    fn new(spans: &[&'a WaterfallSpan]) -> Self {
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
        for kids in children.values_mut() {
            kids.sort_by_key(|s| s.start);
        }
        Tree { roots, children }
    }

    fn children(&self, span_id: u64) -> &[&'a WaterfallSpan] {
        self.children.get(&span_id).map_or(&[], Vec::as_slice)
    }
}

/// The spans of one trace on its critical path: the chain that determines end-to-end latency.
///
/// Walking back from a span's end, the child that finishes last is on the path; before that child
/// started, the child that finished last before that moment is, and so on; each chosen child is walked
/// the same way. Children that overlap a chosen one but end earlier did not hold the parent up and are
/// not on the path. `spans` should hold one trace; spans of other traces are treated as separate roots.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use tracewire_core::waterfall::{critical_path, WaterfallSpan};
/// let t = |ms| UNIX_EPOCH + Duration::from_millis(ms);
/// let span = |id, parent, start, end| WaterfallSpan {
///     trace_id: 1, span_id: id, parent_span_id: parent, name: format!("s{id}"), kind: "internal",
///     start: t(start), end: t(end), error: false,
/// };
/// // root 0..100 with two parallel children: 10..40 and 10..90. Only the longer one holds the root up.
/// let spans = [span(1, 0, 0, 100), span(2, 1, 10, 40), span(3, 1, 10, 90)];
/// let path = critical_path(&spans);
/// assert!(path.contains(&1) && path.contains(&3) && !path.contains(&2));
/// ```
pub fn critical_path(spans: &[WaterfallSpan]) -> HashSet<u64> {
    let refs: Vec<&WaterfallSpan> = spans.iter().collect();
    let tree = Tree::new(&refs);
    let mut path = HashSet::new();
    for root in &tree.roots {
        mark_critical(&tree, root, &mut path);
    }
    path
}

fn mark_critical(tree: &Tree<'_>, span: &WaterfallSpan, path: &mut HashSet<u64>) {
    // An explicit stack: traces from files can be deep enough to overflow a recursive walk.
    let mut pending = vec![span];
    while let Some(span) = pending.pop() {
        if !path.insert(span.span_id) {
            continue;
        }
        // Children are sorted by start. Walking back from the span's end, the candidates are the
        // children that started before the cutoff; the one that ends last (capped at the cutoff) is
        // next. A max-heap on end over the candidates makes this O(k log k) for k children, where a
        // parent of 100,000 sequential queries must not cost k².
        let kids = tree.children(span.span_id);
        let mut cutoff = span.end;
        let mut candidates = kids.partition_point(|c| c.start < cutoff);
        let mut heap: std::collections::BinaryHeap<(SystemTime, std::cmp::Reverse<usize>)> = kids
            [..candidates]
            .iter()
            .enumerate()
            .map(|(i, c)| (c.end, std::cmp::Reverse(i)))
            .collect();
        while let Some((_, std::cmp::Reverse(i))) = heap.pop() {
            if i >= candidates || path.contains(&kids[i].span_id) {
                continue;
            }
            let child = kids[i];
            pending.push(child);
            cutoff = child.start;
            candidates = kids.partition_point(|c| c.start < cutoff);
        }
    }
}

/// Self time of each span of one trace: its duration minus the time covered by its children
/// (overlapping children counted once, time outside the span ignored).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use tracewire_core::waterfall::{self_times, WaterfallSpan};
/// let t = |ms| UNIX_EPOCH + Duration::from_millis(ms);
/// let span = |id, parent, start, end| WaterfallSpan {
///     trace_id: 1, span_id: id, parent_span_id: parent, name: format!("s{id}"), kind: "internal",
///     start: t(start), end: t(end), error: false,
/// };
/// let spans = [span(1, 0, 0, 100), span(2, 1, 10, 40), span(3, 1, 30, 60)];
/// assert_eq!(self_times(&spans)[&1], Duration::from_millis(50));
/// ```
pub fn self_times(spans: &[WaterfallSpan]) -> HashMap<u64, Duration> {
    let refs: Vec<&WaterfallSpan> = spans.iter().collect();
    let tree = Tree::new(&refs);
    spans
        .iter()
        .map(|span| {
            let total = since(span.end, span.start);
            let mut covered = Duration::ZERO;
            let mut reach = span.start;
            for child in tree.children(span.span_id) {
                let from = child.start.max(reach);
                let to = child.end.min(span.end);
                if to > from {
                    covered += since(to, from);
                    reach = to;
                }
            }
            (span.span_id, total.saturating_sub(covered))
        })
        .collect()
}

/// The spans in drawing order (depth first, children by start) with their depth. Spans caught in a
/// parent cycle, which no root reaches, are drawn after the rest, as roots.
fn drawing_order<'a>(
    tree: &Tree<'a>,
    spans: &'a [WaterfallSpan],
) -> Vec<(&'a WaterfallSpan, usize)> {
    let mut order = Vec::with_capacity(spans.len());
    let mut seen = HashSet::new();
    let mut walk = |starts: Vec<&'a WaterfallSpan>, order: &mut Vec<(&'a WaterfallSpan, usize)>| {
        let mut stack: Vec<(&WaterfallSpan, usize)> =
            starts.into_iter().rev().map(|s| (s, 0)).collect();
        while let Some((span, depth)) = stack.pop() {
            if !seen.insert(span.span_id) {
                continue;
            }
            order.push((span, depth));
            for kid in tree.children(span.span_id).iter().rev() {
                stack.push((kid, depth + 1));
            }
        }
    };
    walk(tree.roots.clone(), &mut order);
    let drawn: HashSet<u64> = order.iter().map(|(s, _)| s.span_id).collect();
    let rest: Vec<&WaterfallSpan> = spans
        .iter()
        .filter(|s| !drawn.contains(&s.span_id))
        .collect();
    walk(rest, &mut order);
    order
}

/// Renders every trace in `spans`, in order of first start, with bars `width` characters wide.
/// A span whose parent is not among `spans` is drawn as a root of its trace.
///
/// Spans on the critical path ([`critical_path`]) get a solid bar `█` and a `*` before the name,
/// others a light bar `░`; errors are marked `ERROR`, and the span with the largest self time
/// ([`self_times`]) is marked `<- slowest`.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use tracewire_core::waterfall::{WaterfallSpan, render};
/// let t = |ms| UNIX_EPOCH + Duration::from_millis(ms);
/// let span = |id, parent, name: &str, start, end| WaterfallSpan {
///     trace_id: 7, span_id: id, parent_span_id: parent, name: name.into(), kind: "internal",
///     start: t(start), end: t(end), error: false,
/// };
/// let spans = [span(1, 0, "job", 0, 100), span(2, 1, "fetch", 10, 90), span(3, 1, "log", 10, 40)];
/// let text = render(&spans, 20);
/// let line = |name: &str| text.lines().find(|l| l.contains(name)).unwrap();
/// assert!(line("job").starts_with("*job [internal]")); // on the critical path
/// assert!(line("fetch").starts_with("*  fetch") && line("fetch").ends_with("<- slowest"));
/// assert!(line("log").starts_with("   log") && line("log").contains('░')); // not critical
/// ```
pub fn render(spans: &[WaterfallSpan], width: usize) -> String {
    let width = width.max(1);
    let mut out = String::new();
    let mut traces: Vec<u128> = Vec::new();
    let mut by_trace: HashMap<u128, Vec<WaterfallSpan>> = HashMap::new();
    let mut sorted: Vec<&WaterfallSpan> = spans.iter().collect();
    sorted.sort_by_key(|s| s.start);
    for span in sorted {
        by_trace
            .entry(span.trace_id)
            .or_insert_with(|| {
                traces.push(span.trace_id);
                Vec::new()
            })
            .push(span.clone());
    }
    for trace_id in traces {
        let spans = &by_trace[&trace_id];
        render_trace(&mut out, trace_id, spans, width);
    }
    out
}

fn render_trace(out: &mut String, trace_id: u128, spans: &[WaterfallSpan], width: usize) {
    let t0 = spans
        .iter()
        .map(|s| s.start)
        .min()
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let t1 = spans.iter().map(|s| s.end).max().unwrap_or(t0);
    let total = since(t1, t0).as_secs_f64().max(1e-9);
    let refs: Vec<&WaterfallSpan> = spans.iter().collect();
    let tree = Tree::new(&refs);
    let path = critical_path(spans);
    let self_time = self_times(spans);
    let slowest = self_time
        .iter()
        .max_by_key(|(id, time)| (**time, std::cmp::Reverse(**id)))
        .map(|(id, _)| *id);
    let errors = spans.iter().filter(|s| s.error).count();
    let _ = writeln!(
        out,
        "trace {trace_id:032x}  {:.3} ms, {} spans{}",
        total * 1e3,
        spans.len(),
        match errors {
            0 => String::new(),
            n => format!(", {n} with errors"),
        }
    );
    let order = drawing_order(&tree, spans);
    // Names share one column, as wide as the longest label (within reason), so bars line up.
    let name_width = order
        .iter()
        .map(|(s, depth)| s.name.chars().count() + 2 * depth + s.kind.len() + 4)
        .max()
        .unwrap_or(0)
        .clamp(30, 100);
    for (span, depth) in order {
        let critical = path.contains(&span.span_id);
        let label = format!(
            "{}{}{} [{}]",
            if critical { '*' } else { ' ' },
            "  ".repeat(depth),
            span.name,
            span.kind
        );
        let from = since(span.start, t0).as_secs_f64() / total;
        let to = since(span.end, t0).as_secs_f64() / total;
        let a = ((from * width as f64).floor() as usize).min(width - 1);
        let b = ((to * width as f64).ceil() as usize).clamp(a + 1, width);
        let fill = if critical { '█' } else { '░' };
        let bar: String = (0..width)
            .map(|i| if i >= a && i < b { fill } else { ' ' })
            .collect();
        let ms = since(span.end, span.start).as_secs_f64() * 1e3;
        let _ = writeln!(
            out,
            "{label:<name_width$} |{bar}| {ms:>9.3} ms{}{}",
            if span.error { "  ERROR" } else { "" },
            if slowest == Some(span.span_id) && spans.len() > 1 {
                "  <- slowest"
            } else {
                ""
            }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn span(id: u64, parent: u64, start: u64, end: u64) -> WaterfallSpan {
        WaterfallSpan {
            trace_id: 1,
            span_id: id,
            parent_span_id: parent,
            name: format!("s{id}"),
            kind: "internal",
            start: UNIX_EPOCH + Duration::from_millis(start),
            end: UNIX_EPOCH + Duration::from_millis(end),
            error: false,
        }
    }

    #[test]
    fn spans_in_a_parent_cycle_are_still_drawn() {
        let spans = [span(1, 0, 0, 10), span(2, 3, 1, 2), span(3, 2, 2, 3)];
        let text = render(&spans, 10);
        assert!(
            text.contains("s2 [internal]") && text.contains("s3 [internal]"),
            "{text}"
        );
    }

    #[test]
    fn sequential_children_are_all_on_the_critical_path_overlapped_ones_are_not() {
        // 0..100 root; 1..10, 10..20, 20..30 sequential; 5..8 overlaps the first.
        let spans = [
            span(1, 0, 0, 100),
            span(2, 1, 1, 10),
            span(3, 1, 10, 20),
            span(4, 1, 20, 30),
            span(5, 1, 5, 8),
        ];
        let path = critical_path(&spans);
        assert_eq!(
            [1, 2, 3, 4].iter().filter(|id| path.contains(id)).count(),
            4
        );
        assert!(!path.contains(&5));
    }

    #[test]
    fn a_hundred_thousand_sequential_siblings_are_all_on_the_path() {
        let mut spans = vec![span(1, 0, 0, 200_001)];
        spans.extend((0..100_000u64).map(|i| span(i + 2, 1, 2 * i, 2 * i + 2)));
        let path = critical_path(&spans);
        assert_eq!(path.len(), 100_001);
    }
}
