//! The service dependency map: caller → callee edges across all traces, with call counts, error
//! rates and latency percentiles, as text, Graphviz DOT or Mermaid.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::model::Span;

/// One caller → callee edge.
///
/// ```
/// # use tracewire_cli::model::Span;
/// # fn span(id: u64, parent: u64, service: &str, name: &str, start_ms: u64, end_ms: u64) -> Span {
/// #     Span {
/// #         trace_id: 1, span_id: id, parent_id: parent, name: name.into(), service: service.into(),
/// #         kind: "internal", start: start_ms * 1_000_000, end: end_ms * 1_000_000, error: false,
/// #         status_message: String::new(), exception_type: None, attributes: Default::default(),
/// #     }
/// # }
/// use tracewire_cli::deps;
/// // `span(id, parent, service, name, start_ms, end_ms)` builds a `tracewire_cli::model::Span`.
/// let spans = vec![span(1, 0, "shop", "GET /cart", 0, 100), span(2, 1, "db", "SELECT", 10, 30)];
/// let edges = deps::edges(&spans);
/// assert_eq!(edges.len(), 1);
/// let edge = &edges[0];
/// assert_eq!((edge.caller.as_str(), edge.callee.as_str()), ("shop", "db"));
/// assert_eq!(edge.calls, 1);
/// assert_eq!(edge.error_rate, 0.0);
/// assert_eq!(edge.p50_ms, 20.0);
/// assert!(deps::text(&edges).starts_with("shop -> db  1 calls"));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Edge {
    /// Calling service.
    pub caller: String,
    /// Called service.
    pub callee: String,
    /// Calls: spans of the callee whose parent is in the caller.
    pub calls: usize,
    /// Share of those calls with Error status, 0–1.
    pub error_rate: f64,
    /// Median callee span duration, ms.
    pub p50_ms: f64,
    /// 99th percentile callee span duration, ms.
    pub p99_ms: f64,
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The edges between services in `spans` (any number of traces), sorted by caller then callee.
pub fn edges(spans: &[Span]) -> Vec<Edge> {
    let by_id: HashMap<(u128, u64), &Span> =
        spans.iter().map(|s| ((s.trace_id, s.span_id), s)).collect();
    let mut calls: BTreeMap<(&str, &str), (Vec<u64>, usize)> = BTreeMap::new();
    for span in spans {
        let Some(parent) = by_id.get(&(span.trace_id, span.parent_id)) else {
            continue;
        };
        if parent.service == span.service {
            continue;
        }
        let entry = calls
            .entry((parent.service.as_str(), span.service.as_str()))
            .or_default();
        entry.0.push(span.duration());
        if span.error {
            entry.1 += 1;
        }
    }
    calls
        .into_iter()
        .map(|((caller, callee), (mut durations, errors))| {
            durations.sort_unstable();
            Edge {
                caller: caller.to_owned(),
                callee: callee.to_owned(),
                calls: durations.len(),
                error_rate: errors as f64 / durations.len().max(1) as f64,
                p50_ms: percentile(&durations, 50.0) as f64 / 1e6,
                p99_ms: percentile(&durations, 99.0) as f64 / 1e6,
            }
        })
        .collect()
}

fn label(edge: &Edge) -> String {
    format!(
        "{} calls, {:.1}% errors, p50 {:.3} ms, p99 {:.3} ms",
        edge.calls,
        edge.error_rate * 100.0,
        edge.p50_ms,
        edge.p99_ms
    )
}

/// One line per edge.
pub fn text(edges: &[Edge]) -> String {
    edges
        .iter()
        .map(|e| format!("{} -> {}  {}\n", e.caller, e.callee, label(e)))
        .collect()
}

fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Graphviz DOT.
pub fn dot(edges: &[Edge]) -> String {
    let mut out = String::from("digraph services {\n  rankdir=LR;\n  node [shape=box];\n");
    for e in edges {
        out.push_str(&format!(
            "  {} -> {} [label={}{}];\n",
            quoted(&e.caller),
            quoted(&e.callee),
            quoted(&label(e)),
            if e.error_rate > 0.0 {
                ", color=red"
            } else {
                ""
            }
        ));
    }
    out.push_str("}\n");
    out
}

/// A Mermaid flowchart. Node ids are `s0`, `s1`, … (service names become labels), so names that
/// differ only in punctuation, or are empty, stay distinct and valid.
pub fn mermaid(edges: &[Edge]) -> String {
    let mut ids: Vec<String> = Vec::new();
    let mut id = |service: &str| -> String {
        let index = ids.iter().position(|s| s == service).unwrap_or_else(|| {
            ids.push(service.to_owned());
            ids.len() - 1
        });
        format!("s{index}")
    };
    let label = |service: &str| service.replace('"', "'");
    let mut out = String::from("flowchart LR\n");
    for e in edges {
        let (caller, callee) = (id(&e.caller), id(&e.callee));
        out.push_str(&format!(
            "  {caller}[\"{}\"] -->|\"{}\"| {callee}[\"{}\"]\n",
            label(&e.caller),
            self::label(e),
            label(&e.callee)
        ));
    }
    out
}
