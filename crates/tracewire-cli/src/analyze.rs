//! Per-trace analysis: duration, services, errors, slow spans, the critical path, self time per span
//! and per service, and repeated sibling spans (N+1 queries).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use tracewire_core::waterfall::{self, WaterfallSpan};

use crate::model::Span;

/// What to look for and what to show.
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
/// use tracewire_cli::analyze::{self, Options};
/// // `span(id, parent, service, name, start_ms, end_ms)` builds a `tracewire_cli::model::Span`.
/// let trace = vec![span(1, 0, "shop", "GET /cart", 0, 80)];
/// let options = Options {
///     slow_ns: 50_000_000,
///     errors_only: true,
///     ..Options::default()
/// };
/// // No span of the trace failed, so `errors_only` filters it out.
/// assert!(!analyze::selected(&trace, &options));
/// assert!(analyze::selected(&trace, &Options::default()));
/// ```
#[derive(Clone, Debug)]
pub struct Options {
    /// Spans at least this long are listed as slow (ns).
    pub slow_ns: u64,
    /// This many or more siblings with the same name under one parent are an N+1 pattern.
    pub repeat_threshold: usize,
    /// Only traces that include this service.
    pub service: Option<String>,
    /// Only this trace.
    pub trace_id: Option<u128>,
    /// Only traces at least this long (ns).
    pub min_duration_ns: u64,
    /// Only traces with an error.
    pub errors_only: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            slow_ns: 100_000_000,
            repeat_threshold: 3,
            service: None,
            trace_id: None,
            min_duration_ns: 0,
            errors_only: false,
        }
    }
}

/// A span as the report names it.
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
/// use tracewire_cli::analyze::{self, Options};
/// // `span(id, parent, service, name, start_ms, end_ms)` builds a `tracewire_cli::model::Span`.
/// let trace = vec![span(1, 0, "shop", "GET /cart", 0, 250), span(2, 1, "db", "SELECT", 10, 240)];
/// let report = analyze::analyze(&trace, &Options::default());
/// let slowest = &report.slow_spans[0];
/// assert_eq!(slowest.span_id, "0000000000000001");
/// assert_eq!((slowest.service.as_str(), slowest.name.as_str()), ("shop", "GET /cart"));
/// assert_eq!(slowest.duration_ms, 250.0);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpanRef {
    /// Span id, hex.
    pub span_id: String,
    /// `service: name`.
    pub service: String,
    /// Span name.
    pub name: String,
    /// Duration, ms.
    pub duration_ms: f64,
}

/// An error span.
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
/// use tracewire_cli::analyze::{self, Options};
/// // `span(id, parent, service, name, start_ms, end_ms)` builds a `tracewire_cli::model::Span`.
/// let mut failed = span(2, 1, "db", "SELECT", 10, 20);
/// failed.error = true;
/// failed.status_message = "statement timeout".into();
/// failed.exception_type = Some("QueryTimeout".into());
/// let trace = vec![span(1, 0, "shop", "GET /cart", 0, 30), failed];
/// let report = analyze::analyze(&trace, &Options::default());
/// let error = &report.errors[0];
/// assert_eq!(error.span.name, "SELECT");
/// assert_eq!(error.message, "statement timeout");
/// assert_eq!(error.exception_type.as_deref(), Some("QueryTimeout"));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ErrorSpan {
    /// The span.
    pub span: SpanRef,
    /// Its status message.
    pub message: String,
    /// `exception.type`, if recorded.
    pub exception_type: Option<String>,
}

/// Self time of a span or service.
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
/// use tracewire_cli::analyze::{self, Options};
/// // `span(id, parent, service, name, start_ms, end_ms)` builds a `tracewire_cli::model::Span`.
/// // The request takes 100 ms, 60 of them waiting on the database.
/// let trace = vec![span(1, 0, "shop", "GET /cart", 0, 100), span(2, 1, "db", "SELECT", 0, 60)];
/// let report = analyze::analyze(&trace, &Options::default());
/// let top = &report.self_time_by_service[0];
/// assert_eq!(top.what, "db");
/// assert_eq!(top.self_ms, 60.0);
/// assert_eq!(top.share, 0.6);
/// assert_eq!(report.self_time_by_span[1].what, "shop: GET /cart");
/// assert_eq!(report.self_time_by_span[1].self_ms, 40.0);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SelfTime {
    /// Span (`service: name`) or service.
    pub what: String,
    /// Self time, ms.
    pub self_ms: f64,
    /// Share of the trace's duration, 0–1.
    pub share: f64,
}

/// Siblings with the same name under one parent.
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
/// use tracewire_cli::analyze::{self, Options};
/// // `span(id, parent, service, name, start_ms, end_ms)` builds a `tracewire_cli::model::Span`.
/// // One query per cart item: an N+1 pattern.
/// let trace = vec![
///     span(1, 0, "shop", "GET /cart", 0, 40),
///     span(2, 1, "db", "SELECT item", 0, 10),
///     span(3, 1, "db", "SELECT item", 10, 20),
///     span(4, 1, "db", "SELECT item", 20, 30),
/// ];
/// let report = analyze::analyze(&trace, &Options::default());
/// let repeated = &report.repeated[0];
/// assert_eq!(repeated.parent.name, "GET /cart");
/// assert_eq!((repeated.service.as_str(), repeated.name.as_str()), ("db", "SELECT item"));
/// assert_eq!(repeated.count, 3);
/// assert_eq!(repeated.total_ms, 30.0);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Repeated {
    /// The parent span.
    pub parent: SpanRef,
    /// The repeated name.
    pub name: String,
    /// Service of the repeated spans.
    pub service: String,
    /// How many.
    pub count: usize,
    /// Their total duration, ms.
    pub total_ms: f64,
}

/// The analysis of one trace.
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
/// use tracewire_cli::analyze::{self, Options, TraceReport};
/// // `span(id, parent, service, name, start_ms, end_ms)` builds a `tracewire_cli::model::Span`.
/// let spans = vec![span(1, 0, "shop", "GET /cart", 0, 100), span(2, 1, "db", "SELECT", 10, 60)];
/// let options = Options::default();
/// let reports: Vec<TraceReport> = analyze::by_trace(spans)
///     .iter()
///     .filter(|trace| analyze::selected(trace, &options))
///     .map(|trace| analyze::analyze(trace, &options))
///     .collect();
/// let report = &reports[0];
/// assert_eq!(report.trace_id, format!("{:032x}", 1));
/// assert_eq!(report.span_count, 2);
/// assert_eq!(report.services, ["db", "shop"]);
/// assert_eq!(report.duration_ms, 100.0);
/// assert_eq!(report.critical_path[0].name, "GET /cart");
/// assert!(analyze::render_text(report).contains("critical path:"));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TraceReport {
    /// Trace id, hex.
    pub trace_id: String,
    /// First start to last end, ms.
    pub duration_ms: f64,
    /// Number of spans.
    pub span_count: usize,
    /// Services, sorted.
    pub services: Vec<String>,
    /// Error spans.
    pub errors: Vec<ErrorSpan>,
    /// Spans at least the slow threshold long, slowest first.
    pub slow_spans: Vec<SpanRef>,
    /// The critical path, root first.
    pub critical_path: Vec<SpanRef>,
    /// Self time per span, largest first (top 10).
    pub self_time_by_span: Vec<SelfTime>,
    /// Self time per service, largest first.
    pub self_time_by_service: Vec<SelfTime>,
    /// N+1 patterns.
    pub repeated: Vec<Repeated>,
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

fn span_ref(span: &Span) -> SpanRef {
    SpanRef {
        span_id: format!("{:016x}", span.span_id),
        service: span.service.clone(),
        name: span.name.clone(),
        duration_ms: ms(span.duration()),
    }
}

pub(crate) fn to_waterfall(span: &Span) -> WaterfallSpan {
    let at = |ns: u64| std::time::UNIX_EPOCH + std::time::Duration::from_nanos(ns);
    WaterfallSpan {
        trace_id: span.trace_id,
        span_id: span.span_id,
        parent_span_id: span.parent_id,
        name: format!("{}: {}", span.service, span.name),
        kind: span.kind,
        start: at(span.start),
        end: at(span.end),
        error: span.error,
    }
}

/// Groups spans by trace, in order of each trace's first start.
pub fn by_trace(spans: Vec<Span>) -> Vec<Vec<Span>> {
    let mut traces: HashMap<u128, Vec<Span>> = HashMap::new();
    for span in spans {
        traces.entry(span.trace_id).or_default().push(span);
    }
    let mut out: Vec<Vec<Span>> = traces.into_values().collect();
    for trace in &mut out {
        trace.sort_by_key(|s| (s.start, s.span_id));
    }
    out.sort_by_key(|t| t.first().map(|s| s.start).unwrap_or(0));
    out
}

/// Whether `trace` passes the filters in `options`.
pub fn selected(trace: &[Span], options: &Options) -> bool {
    let Some(first) = trace.first() else {
        return false;
    };
    if options.trace_id.is_some_and(|id| id != first.trace_id) {
        return false;
    }
    if let Some(service) = &options.service
        && !trace.iter().any(|s| &s.service == service)
    {
        return false;
    }
    if options.errors_only && !trace.iter().any(|s| s.error) {
        return false;
    }
    trace_duration(trace) >= options.min_duration_ns
}

fn trace_duration(trace: &[Span]) -> u64 {
    let start = trace.iter().map(|s| s.start).min().unwrap_or(0);
    let end = trace.iter().map(|s| s.end).max().unwrap_or(start);
    end.saturating_sub(start)
}

/// Analyzes one trace (all spans share a trace id).
pub fn analyze(trace: &[Span], options: &Options) -> TraceReport {
    let duration = trace_duration(trace);
    let by_id: HashMap<u64, &Span> = trace.iter().map(|s| (s.span_id, s)).collect();
    let drawn: Vec<WaterfallSpan> = trace.iter().map(to_waterfall).collect();

    let mut services: Vec<String> = trace.iter().map(|s| s.service.clone()).collect();
    services.sort();
    services.dedup();

    let errors = trace
        .iter()
        .filter(|s| s.error)
        .map(|s| ErrorSpan {
            span: span_ref(s),
            message: s.status_message.clone(),
            exception_type: s.exception_type.clone(),
        })
        .collect();

    let mut slow: Vec<&Span> = trace
        .iter()
        .filter(|s| s.duration() >= options.slow_ns)
        .collect();
    slow.sort_by_key(|s| std::cmp::Reverse(s.duration()));

    // The critical path, walked from the root through the chosen children in start order.
    let on_path = waterfall::critical_path(&drawn);
    let mut critical: Vec<&Span> = trace
        .iter()
        .filter(|s| on_path.contains(&s.span_id))
        .collect();
    critical.sort_by_key(|s| (s.start, s.span_id));

    let self_times = waterfall::self_times(&drawn);
    let share = |ns: u64| {
        if duration == 0 {
            0.0
        } else {
            ns as f64 / duration as f64
        }
    };
    let mut by_span: Vec<SelfTime> = trace
        .iter()
        .map(|s| {
            let own = self_times
                .get(&s.span_id)
                .map_or(0, |d| d.as_nanos() as u64);
            SelfTime {
                what: format!("{}: {}", s.service, s.name),
                self_ms: ms(own),
                share: share(own),
            }
        })
        .collect();
    by_span.sort_by(|a, b| b.self_ms.total_cmp(&a.self_ms));
    by_span.truncate(10);
    let mut per_service: BTreeMap<&str, u64> = BTreeMap::new();
    for s in trace {
        let own = self_times
            .get(&s.span_id)
            .map_or(0, |d| d.as_nanos() as u64);
        let total = per_service.entry(&s.service).or_default();
        *total = total.saturating_add(own);
    }
    let mut by_service: Vec<SelfTime> = per_service
        .into_iter()
        .map(|(service, ns)| SelfTime {
            what: service.to_owned(),
            self_ms: ms(ns),
            share: share(ns),
        })
        .collect();
    by_service.sort_by(|a, b| b.self_ms.total_cmp(&a.self_ms));

    let mut siblings: BTreeMap<(u64, &str, &str), (usize, u64)> = BTreeMap::new();
    for s in trace.iter().filter(|s| s.parent_id != 0) {
        let entry = siblings
            .entry((s.parent_id, s.service.as_str(), s.name.as_str()))
            .or_default();
        entry.0 += 1;
        entry.1 = entry.1.saturating_add(s.duration());
    }
    let mut repeated: Vec<Repeated> = siblings
        .into_iter()
        .filter(|(_, (count, _))| *count >= options.repeat_threshold.max(2))
        .filter_map(|((parent, service, name), (count, total))| {
            Some(Repeated {
                parent: span_ref(by_id.get(&parent)?),
                name: name.to_owned(),
                service: service.to_owned(),
                count,
                total_ms: ms(total),
            })
        })
        .collect();
    repeated.sort_by_key(|r| std::cmp::Reverse(r.count));

    TraceReport {
        trace_id: format!("{:032x}", trace.first().map_or(0, |s| s.trace_id)),
        duration_ms: ms(duration),
        span_count: trace.len(),
        services,
        errors,
        slow_spans: slow.into_iter().map(span_ref).collect(),
        critical_path: critical.into_iter().map(span_ref).collect(),
        self_time_by_span: by_span,
        self_time_by_service: by_service,
        repeated,
    }
}

/// The readable report.
pub fn render_text(report: &TraceReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "trace {}  {:.3} ms  {} spans  services: {}",
        report.trace_id,
        report.duration_ms,
        report.span_count,
        report.services.join(", ")
    );
    if report.errors.is_empty() {
        let _ = writeln!(out, "  errors: none");
    } else {
        let _ = writeln!(out, "  errors:");
        for e in &report.errors {
            let _ = writeln!(
                out,
                "    {}: {}  {}{}",
                e.span.service,
                e.span.name,
                e.message,
                e.exception_type
                    .as_ref()
                    .map(|t| format!(" ({t})"))
                    .unwrap_or_default()
            );
        }
    }
    if !report.slow_spans.is_empty() {
        let _ = writeln!(out, "  slow spans:");
        for s in &report.slow_spans {
            let _ = writeln!(
                out,
                "    {:>10.3} ms  {}: {}",
                s.duration_ms, s.service, s.name
            );
        }
    }
    let _ = writeln!(out, "  critical path:");
    for s in &report.critical_path {
        let _ = writeln!(
            out,
            "    {:>10.3} ms  {}: {}",
            s.duration_ms, s.service, s.name
        );
    }
    let self_times = |out: &mut String, title: String, rows: &[SelfTime]| {
        let _ = writeln!(out, "  {title}:");
        for s in rows {
            let _ = writeln!(
                out,
                "    {:>10.3} ms  {:>5.1}%  {}",
                s.self_ms,
                s.share * 100.0,
                s.what
            );
        }
    };
    self_times(
        &mut out,
        "self time by service".into(),
        &report.self_time_by_service,
    );
    self_times(
        &mut out,
        format!("self time by span (top {})", report.self_time_by_span.len()),
        &report.self_time_by_span,
    );
    for r in &report.repeated {
        let _ = writeln!(
            out,
            "  N+1: {} × {}: {} under {}: {} ({:.3} ms in all)",
            r.count, r.service, r.name, r.parent.service, r.parent.name, r.total_ms
        );
    }
    out
}
