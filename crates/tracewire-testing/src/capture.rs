use std::fmt;
use std::time::{Duration, Instant};

use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId, TracerProvider as _};
use opentelemetry::{Key, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tracewire_core::span::Instrumentation;
use tracewire_core::waterfall::{self, WaterfallSpan};

/// Captures the spans of one test in memory.
///
/// Each capture owns its tracer provider, so tests running in parallel in one process never see each
/// other's spans: hand [`instrumentation`](Self::instrumentation) (or [`provider`](Self::provider)) to
/// the code under test. Spans are exported synchronously as they end.
///
/// ```
/// use opentelemetry::{Context, KeyValue, trace::SpanKind};
/// use tracewire_core::span::Outcome;
/// use tracewire_testing::SpanCapture;
///
/// let capture = SpanCapture::new();
/// let instrumentation = capture.instrumentation("test");
/// let parent = instrumentation.start(SpanKind::Server, "GET /", vec![], &Context::new());
/// let child = instrumentation.start(SpanKind::Client, "SELECT", vec![KeyValue::new("db.system.name", "postgresql")], parent.context());
/// child.end(Outcome::Success);
/// parent.end(Outcome::Success);
///
/// let spans = capture.spans();
/// let server = spans.one("GET /").assert_kind(SpanKind::Server).assert_root();
/// spans.one("SELECT").assert_parent(&server).assert_attr("db.system.name", "postgresql");
/// ```
#[derive(Debug)]
pub struct SpanCapture {
    provider: SdkTracerProvider,
    exporter: InMemorySpanExporter,
}

impl Default for SpanCapture {
    fn default() -> Self {
        Self::new()
    }
}

impl SpanCapture {
    /// A capture with its own tracer provider (AlwaysOn sampling, synchronous export).
    pub fn new() -> Self {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        SpanCapture { provider, exporter }
    }

    /// The tracer provider spans must be started from to be captured.
    pub fn provider(&self) -> &SdkTracerProvider {
        &self.provider
    }

    /// An [`Instrumentation`] on this capture's provider.
    pub fn instrumentation(&self, name: &'static str) -> Instrumentation {
        Instrumentation::with_provider(&self.provider, name)
    }

    /// A `tracing` subscriber that bridges `tracing` spans and events into this capture through
    /// `tracing-opentelemetry`. Install it with `tracing::subscriber::set_default` (per thread) or as the
    /// global default in a test binary of its own.
    pub fn tracing_subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        use tracing_subscriber::layer::SubscriberExt;
        let tracer = self.provider.tracer("tracing");
        tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer))
    }

    /// Every span that has ended so far, in the order they ended.
    pub fn spans(&self) -> Spans {
        Spans(self.exporter.get_finished_spans().unwrap_or_default())
    }

    /// Waits until at least `count` spans have ended (or `timeout` passes), then returns them all.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Spans {
        let deadline = Instant::now() + timeout;
        loop {
            let spans = self.spans();
            if spans.len() >= count || Instant::now() >= deadline {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Forgets the spans captured so far.
    pub fn reset(&self) {
        self.exporter.reset();
    }
}

/// A snapshot of captured spans, queried as trace trees. Failed assertions print the waterfall.
#[derive(Clone)]
pub struct Spans(Vec<SpanData>);

impl fmt::Debug for Spans {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.waterfall())
    }
}

impl Spans {
    /// Wraps spans from elsewhere (an exporter of your own).
    ///
    /// ```
    /// assert!(tracewire_testing::Spans::from_data(Vec::new()).is_empty());
    /// ```
    pub fn from_data(spans: Vec<SpanData>) -> Self {
        Spans(spans)
    }

    /// How many spans.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The raw span data.
    pub fn data(&self) -> &[SpanData] {
        &self.0
    }

    /// All spans.
    pub fn iter(&self) -> impl Iterator<Item = CapturedSpan<'_>> {
        self.0
            .iter()
            .map(move |data| CapturedSpan { data, all: self })
    }

    /// The spans named `name`.
    pub fn named(&self, name: &str) -> std::vec::IntoIter<CapturedSpan<'_>> {
        self.iter()
            .filter(|s| s.name() == name)
            .collect::<Vec<_>>()
            .into_iter()
    }

    /// The one span named `name`; panics, printing the waterfall, when there is none or several.
    #[track_caller]
    pub fn one(&self, name: &str) -> CapturedSpan<'_> {
        let mut found = self.iter().filter(|s| s.name() == name);
        match (found.next(), found.next()) {
            (Some(span), None) => span,
            (None, _) => self.fail(&format!("no span named {name:?}")),
            (Some(_), Some(_)) => self.fail(&format!("more than one span named {name:?}")),
        }
    }

    /// The span with this id, if captured.
    pub fn by_id(&self, span_id: SpanId) -> Option<CapturedSpan<'_>> {
        self.iter().find(|s| s.span_id() == span_id)
    }

    /// The distinct trace ids, in order of first appearance.
    pub fn trace_ids(&self) -> Vec<TraceId> {
        let mut ids = Vec::new();
        for s in &self.0 {
            if !ids.contains(&s.span_context.trace_id()) {
                ids.push(s.span_context.trace_id());
            }
        }
        ids
    }

    /// The trace as a text waterfall.
    pub fn waterfall(&self) -> String {
        let spans: Vec<WaterfallSpan> = self.0.iter().map(to_waterfall).collect();
        waterfall::render(&spans, 40)
    }

    #[track_caller]
    fn fail(&self, message: &str) -> ! {
        panic!("{message}\ncaptured spans:\n{}", self.waterfall())
    }
}

fn kind_name(kind: &SpanKind) -> &'static str {
    match kind {
        SpanKind::Server => "server",
        SpanKind::Client => "client",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
        SpanKind::Internal => "internal",
    }
}

fn to_waterfall(s: &SpanData) -> WaterfallSpan {
    WaterfallSpan {
        trace_id: u128::from_be_bytes(s.span_context.trace_id().to_bytes()),
        span_id: u64::from_be_bytes(s.span_context.span_id().to_bytes()),
        parent_span_id: u64::from_be_bytes(s.parent_span_id.to_bytes()),
        name: s.name.to_string(),
        kind: kind_name(&s.span_kind),
        start: s.start_time,
        end: s.end_time,
        error: matches!(s.status, Status::Error { .. }),
    }
}

/// One captured span, with assertion helpers that chain.
///
/// ```
/// use opentelemetry::{Context, trace::SpanKind};
/// use tracewire_core::span::Outcome;
/// let capture = tracewire_testing::SpanCapture::new();
/// capture.instrumentation("t").start(SpanKind::Internal, "job", vec![], &Context::new()).end(Outcome::Success);
/// let spans = capture.spans();
/// let job = spans.one("job");
/// assert_eq!(job.kind(), SpanKind::Internal);
/// assert!(job.parent().is_none());
/// ```
#[derive(Clone, Copy)]
pub struct CapturedSpan<'a> {
    data: &'a SpanData,
    all: &'a Spans,
}

impl fmt::Debug for CapturedSpan<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CapturedSpan")
            .field("name", &self.data.name)
            .field("kind", &self.data.span_kind)
            .field("attributes", &self.data.attributes)
            .field("status", &self.data.status)
            .finish()
    }
}

impl<'a> CapturedSpan<'a> {
    /// The raw span data.
    pub fn data(&self) -> &'a SpanData {
        self.data
    }

    /// Name.
    pub fn name(&self) -> &'a str {
        &self.data.name
    }

    /// Kind.
    pub fn kind(&self) -> SpanKind {
        self.data.span_kind.clone()
    }

    /// Trace id.
    pub fn trace_id(&self) -> TraceId {
        self.data.span_context.trace_id()
    }

    /// Span id.
    pub fn span_id(&self) -> SpanId {
        self.data.span_context.span_id()
    }

    /// Parent span id (`SpanId::INVALID` for a root).
    pub fn parent_span_id(&self) -> SpanId {
        self.data.parent_span_id
    }

    /// Whether the parent came from the wire.
    pub fn parent_is_remote(&self) -> bool {
        self.data.parent_span_is_remote
    }

    /// The parent span, if captured.
    pub fn parent(&self) -> Option<CapturedSpan<'a>> {
        self.all.by_id(self.data.parent_span_id)
    }

    /// The spans whose parent is this one.
    pub fn children(&self) -> Vec<CapturedSpan<'a>> {
        let id = self.span_id();
        self.all
            .iter()
            .filter(|s| s.parent_span_id() == id)
            .collect()
    }

    /// An attribute's value.
    pub fn attribute(&self, key: &str) -> Option<&'a Value> {
        self.data
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| &kv.value)
    }

    /// Status.
    pub fn status(&self) -> &'a Status {
        &self.data.status
    }

    /// Duration.
    pub fn duration(&self) -> Duration {
        self.data
            .end_time
            .duration_since(self.data.start_time)
            .unwrap_or_default()
    }

    #[track_caller]
    fn fail(&self, message: String) -> ! {
        self.all
            .fail(&format!("span {:?}: {message}\n{self:?}", self.data.name))
    }

    /// Asserts the kind.
    #[track_caller]
    pub fn assert_kind(self, kind: SpanKind) -> Self {
        if self.data.span_kind != kind {
            self.fail(format!(
                "kind is {:?}, expected {kind:?}",
                self.data.span_kind
            ));
        }
        self
    }

    /// Asserts an attribute's value.
    #[track_caller]
    pub fn assert_attr(self, key: &str, expected: impl Into<Value>) -> Self {
        let expected = expected.into();
        match self.attribute(key) {
            Some(v) if *v == expected => self,
            other => self.fail(format!(
                "attribute {key} is {other:?}, expected {expected:?}"
            )),
        }
    }

    /// Asserts an attribute is absent.
    #[track_caller]
    pub fn assert_no_attr(self, key: &str) -> Self {
        if let Some(v) = self.attribute(key) {
            self.fail(format!("attribute {key} is {v:?}, expected none"));
        }
        self
    }

    /// Asserts the parent is `parent` (same trace, parent id).
    #[track_caller]
    pub fn assert_parent(self, parent: &CapturedSpan<'_>) -> Self {
        if self.trace_id() != parent.trace_id() || self.parent_span_id() != parent.span_id() {
            self.fail(format!("parent is not {:?}", parent.name()));
        }
        self
    }

    /// Asserts the span has no parent.
    #[track_caller]
    pub fn assert_root(self) -> Self {
        if self.parent_span_id() != SpanId::INVALID {
            self.fail("expected a root span".to_owned());
        }
        self
    }

    /// Asserts the span's parent is this remote trace and span.
    #[track_caller]
    pub fn assert_remote_parent(self, trace_id: TraceId, span_id: SpanId) -> Self {
        if self.trace_id() != trace_id
            || self.parent_span_id() != span_id
            || !self.parent_is_remote()
        {
            self.fail(format!("expected remote parent {trace_id}-{span_id}"));
        }
        self
    }

    /// Asserts status Unset.
    #[track_caller]
    pub fn assert_unset(self) -> Self {
        if self.data.status != Status::Unset {
            self.fail(format!("status is {:?}, expected Unset", self.data.status));
        }
        self
    }

    /// Asserts status Error, and `error.type` equal to `error_type`.
    #[track_caller]
    pub fn assert_error(self, error_type: &str) -> Self {
        if !matches!(self.data.status, Status::Error { .. }) {
            self.fail(format!("status is {:?}, expected Error", self.data.status));
        }
        self.assert_attr("error.type", error_type.to_owned())
    }

    /// Asserts an event with this name exists, and returns its attributes.
    #[track_caller]
    pub fn event(&self, name: &str) -> Vec<(Key, Value)> {
        match self.data.events.iter().find(|e| e.name == name) {
            Some(e) => e
                .attributes
                .iter()
                .map(|kv| (kv.key.clone(), kv.value.clone()))
                .collect(),
            None => self.fail(format!("no event named {name:?}")),
        }
    }

    /// The number of events with this name.
    pub fn event_count(&self, name: &str) -> usize {
        self.data.events.iter().filter(|e| e.name == name).count()
    }

    /// The span contexts this span links to.
    pub fn links(&self) -> Vec<opentelemetry::trace::SpanContext> {
        self.data
            .links
            .iter()
            .map(|l| l.span_context.clone())
            .collect()
    }

    /// Asserts the span links to `other` (same trace and span id); prints the waterfall if not.
    ///
    /// ```no_run
    /// # fn demo(spans: tracewire_testing::Spans) {
    /// let send = spans.one("send orders");
    /// spans.one("process orders").assert_parent(&send).assert_linked_to(&send);
    /// # }
    /// ```
    #[track_caller]
    pub fn assert_linked_to(self, other: &CapturedSpan<'_>) -> Self {
        let linked = self.data.links.iter().any(|l| {
            l.span_context.trace_id() == other.trace_id()
                && l.span_context.span_id() == other.span_id()
        });
        if !linked {
            self.fail(format!("no link to {:?}", other.name()));
        }
        self
    }

    /// Asserts the span has an event `name` whose attribute `key` equals `expected`.
    ///
    /// ```no_run
    /// # fn demo(spans: tracewire_testing::Spans) {
    /// spans
    ///     .one("GET /fail")
    ///     .assert_event_attr("exception", "exception.type", "PaymentDeclined");
    /// # }
    /// ```
    #[track_caller]
    pub fn assert_event_attr(self, name: &str, key: &str, expected: impl Into<Value>) -> Self {
        let expected = expected.into();
        let found = self.data.events.iter().any(|e| {
            e.name == name
                && e.attributes
                    .iter()
                    .any(|kv| kv.key.as_str() == key && kv.value == expected)
        });
        if !found {
            self.fail(format!("no event {name:?} with {key} = {expected:?}"));
        }
        self
    }
}
