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
    /// A capture with its own tracer provider (AlwaysOn sampling, synchronous export). Roots are
    /// captured with the W3C random flag they propagate, as `tracewire::init()` exports them.
    ///
    /// ```
    /// use opentelemetry::{Context, trace::SpanKind};
    /// let capture = tracewire_testing::SpanCapture::new();
    /// assert!(capture.spans().is_empty());
    /// let root = capture.instrumentation("t").start(SpanKind::Server, "GET /", vec![], &Context::new());
    /// root.end(tracewire_core::span::Outcome::Success);
    /// let flags = capture.spans().one("GET /").data().span_context.trace_flags().to_u8();
    /// assert_eq!(flags, 0x03);
    /// ```
    pub fn new() -> Self {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(tracewire_core::otel::RandomFlagExport::new(
                opentelemetry_sdk::trace::SimpleSpanProcessor::new(exporter.clone()),
            ))
            .build();
        SpanCapture { provider, exporter }
    }

    /// The tracer provider spans must be started from to be captured.
    ///
    /// ```
    /// use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
    /// let capture = tracewire_testing::SpanCapture::new();
    /// // The plain OpenTelemetry API, on the capture's provider:
    /// let mut span = capture.provider().tracer("my-lib").start("raw");
    /// span.end();
    /// assert_eq!(capture.spans().one("raw").data().instrumentation_scope.name(), "my-lib");
    /// ```
    pub fn provider(&self) -> &SdkTracerProvider {
        &self.provider
    }

    /// An [`Instrumentation`] on this capture's provider.
    ///
    /// ```
    /// use opentelemetry::{Context, trace::SpanKind};
    /// use tracewire_core::span::Outcome;
    /// let capture = tracewire_testing::SpanCapture::new();
    /// let instrumentation = capture.instrumentation("my-boundary");
    /// instrumentation
    ///     .start(SpanKind::Internal, "work", vec![], &Context::new())
    ///     .end(Outcome::Success);
    /// assert_eq!(capture.spans().one("work").data().instrumentation_scope.name(), "my-boundary");
    /// ```
    pub fn instrumentation(&self, name: &'static str) -> Instrumentation {
        Instrumentation::with_provider(&self.provider, name)
    }

    /// A `tracing` subscriber that bridges `tracing` spans and events into this capture through
    /// `tracing-opentelemetry`. Install it with `tracing::subscriber::set_default` (per thread) or as the
    /// global default in a test binary of its own.
    ///
    /// ```
    /// let capture = tracewire_testing::SpanCapture::new();
    /// tracing::subscriber::with_default(capture.tracing_subscriber(), || {
    ///     tracing::info_span!("load config").in_scope(|| tracing::info!("loaded"));
    /// });
    /// assert_eq!(capture.spans().one("load config").name(), "load config");
    /// ```
    pub fn tracing_subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        use tracing_subscriber::layer::SubscriberExt;
        let tracer = self.provider.tracer("tracing");
        tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer))
    }

    /// Every span that has ended so far, in the order they ended.
    ///
    /// ```
    /// use opentelemetry::{Context, trace::SpanKind};
    /// use tracewire_core::span::Outcome;
    /// let capture = tracewire_testing::SpanCapture::new();
    /// let instrumentation = capture.instrumentation("t");
    /// let outer = instrumentation.start(SpanKind::Internal, "outer", vec![], &Context::new());
    /// instrumentation
    ///     .start(SpanKind::Internal, "inner", vec![], outer.context())
    ///     .end(Outcome::Success);
    /// outer.end(Outcome::Success);
    ///
    /// let spans = capture.spans();
    /// let names: Vec<&str> = spans.iter().map(|s| s.name()).collect();
    /// assert_eq!(names, ["inner", "outer"]); // in the order they ended
    /// ```
    pub fn spans(&self) -> Spans {
        Spans(self.exporter.get_finished_spans().unwrap_or_default())
    }

    /// Waits until at least `count` spans have ended (or `timeout` passes), then returns them all.
    ///
    /// ```
    /// use std::time::Duration;
    /// use opentelemetry::{Context, trace::SpanKind};
    /// use tracewire_core::span::Outcome;
    ///
    /// # let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    /// # rt.block_on(async {
    /// let capture = tracewire_testing::SpanCapture::new();
    /// let instrumentation = capture.instrumentation("t");
    /// tokio::spawn(async move {
    ///     let span = instrumentation.start(SpanKind::Consumer, "job", vec![], &Context::new());
    ///     span.end(Outcome::Success);
    /// });
    /// let spans = capture.wait_for(1, Duration::from_secs(5)).await;
    /// assert_eq!(spans.one("job").kind(), SpanKind::Consumer);
    /// # });
    /// ```
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
    ///
    /// ```
    /// use opentelemetry::{Context, trace::SpanKind};
    /// use tracewire_core::span::Outcome;
    /// let capture = tracewire_testing::SpanCapture::new();
    /// let instrumentation = capture.instrumentation("t");
    /// instrumentation
    ///     .start(SpanKind::Internal, "setup", vec![], &Context::new())
    ///     .end(Outcome::Success);
    /// capture.reset();
    /// assert!(capture.spans().is_empty());
    /// ```
    pub fn reset(&self) {
        self.exporter.reset();
    }
}

/// A snapshot of captured spans, queried as trace trees. Failed assertions print the waterfall.
///
/// ```
/// use opentelemetry::{Context, trace::SpanKind};
/// use tracewire_core::span::Outcome;
/// let capture = tracewire_testing::SpanCapture::new();
/// let instrumentation = capture.instrumentation("t");
/// instrumentation.start(SpanKind::Server, "GET /", vec![], &Context::new()).end(Outcome::Success);
///
/// let spans = capture.spans();
/// assert_eq!(spans.len(), 1);
/// assert!(format!("{spans:?}").contains("GET / [server]")); // `Debug` prints the waterfall
/// ```
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
    ///
    /// ```
    /// # use opentelemetry::{Context, trace::SpanKind};
    /// # use tracewire_core::span::Outcome;
    /// let capture = tracewire_testing::SpanCapture::new();
    /// let instrumentation = capture.instrumentation("t");
    /// for _ in 0..3 {
    ///     instrumentation
    ///         .start(SpanKind::Client, "poll", vec![], &Context::new())
    ///         .end(Outcome::Success);
    /// }
    /// assert_eq!(capture.spans().len(), 3);
    /// ```
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    ///
    /// ```
    /// let capture = tracewire_testing::SpanCapture::new();
    /// assert!(capture.spans().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The raw span data.
    ///
    /// ```
    /// # use opentelemetry::{Context, trace::SpanKind};
    /// # use tracewire_core::span::Outcome;
    /// let capture = tracewire_testing::SpanCapture::new();
    /// let instrumentation = capture.instrumentation("t");
    /// instrumentation
    ///     .start(SpanKind::Internal, "work", vec![], &Context::new())
    ///     .end(Outcome::Success);
    /// let spans = capture.spans();
    /// let data: &[opentelemetry_sdk::trace::SpanData] = spans.data();
    /// assert_eq!(data[0].name, "work");
    /// ```
    pub fn data(&self) -> &[SpanData] {
        &self.0
    }

    /// All spans.
    ///
    /// ```
    /// # use opentelemetry::{Context, trace::SpanKind};
    /// # use tracewire_core::span::Outcome;
    /// let capture = tracewire_testing::SpanCapture::new();
    /// let instrumentation = capture.instrumentation("t");
    /// instrumentation
    ///     .start(SpanKind::Client, "GET", vec![], &Context::new())
    ///     .end(Outcome::Success);
    /// instrumentation
    ///     .start(SpanKind::Client, "POST", vec![], &Context::new())
    ///     .end(Outcome::Success);
    /// let spans = capture.spans();
    /// assert!(spans.iter().all(|s| s.kind() == SpanKind::Client));
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = CapturedSpan<'_>> {
        self.0
            .iter()
            .map(move |data| CapturedSpan { data, all: self })
    }

    /// The spans named `name`.
    ///
    /// ```
    /// # use opentelemetry::{Context, trace::SpanKind};
    /// # use tracewire_core::span::Outcome;
    /// let capture = tracewire_testing::SpanCapture::new();
    /// let instrumentation = capture.instrumentation("t");
    /// for _ in 0..2 {
    ///     instrumentation
    ///         .start(SpanKind::Client, "poll", vec![], &Context::new())
    ///         .end(Outcome::Success);
    /// }
    /// instrumentation
    ///     .start(SpanKind::Client, "commit", vec![], &Context::new())
    ///     .end(Outcome::Success);
    /// let spans = capture.spans();
    /// assert_eq!(spans.named("poll").len(), 2);
    /// assert_eq!(spans.named("missing").len(), 0);
    /// ```
    pub fn named(&self, name: &str) -> std::vec::IntoIter<CapturedSpan<'_>> {
        self.iter()
            .filter(|s| s.name() == name)
            .collect::<Vec<_>>()
            .into_iter()
    }

    /// The one span named `name`; panics, printing the waterfall, when there is none or several.
    ///
    /// ```
    /// # use opentelemetry::{Context, trace::SpanKind};
    /// # use tracewire_core::span::Outcome;
    /// let capture = tracewire_testing::SpanCapture::new();
    /// let instrumentation = capture.instrumentation("t");
    /// instrumentation
    ///     .start(SpanKind::Server, "GET /", vec![], &Context::new())
    ///     .end(Outcome::Success);
    /// let spans = capture.spans();
    /// spans.one("GET /").assert_kind(SpanKind::Server).assert_root();
    /// ```
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
    ///
    /// ```
    /// # use opentelemetry::{Context, trace::SpanKind};
    /// # use tracewire_core::span::Outcome;
    /// let capture = tracewire_testing::SpanCapture::new();
    /// let instrumentation = capture.instrumentation("t");
    /// let span = instrumentation.start(SpanKind::Internal, "work", vec![], &Context::new());
    /// let id = span.span_context().span_id();
    /// span.end(Outcome::Success);
    /// let spans = capture.spans();
    /// assert_eq!(spans.by_id(id).map(|s| s.name()), Some("work"));
    /// assert!(spans.by_id(opentelemetry::trace::SpanId::INVALID).is_none());
    /// ```
    pub fn by_id(&self, span_id: SpanId) -> Option<CapturedSpan<'_>> {
        self.iter().find(|s| s.span_id() == span_id)
    }

    /// The distinct trace ids, in order of first appearance.
    ///
    /// ```
    /// # use opentelemetry::{Context, trace::SpanKind};
    /// # use tracewire_core::span::Outcome;
    /// let capture = tracewire_testing::SpanCapture::new();
    /// let instrumentation = capture.instrumentation("t");
    /// let first = instrumentation.start(SpanKind::Server, "first", vec![], &Context::new());
    /// instrumentation
    ///     .start(SpanKind::Client, "child", vec![], first.context())
    ///     .end(Outcome::Success);
    /// first.end(Outcome::Success);
    /// instrumentation
    ///     .start(SpanKind::Server, "second", vec![], &Context::new())
    ///     .end(Outcome::Success);
    /// let spans = capture.spans();
    /// assert_eq!(spans.trace_ids().len(), 2); // two roots, two traces
    /// assert_eq!(spans.trace_ids()[0], spans.one("first").trace_id());
    /// ```
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
    ///
    /// ```
    /// # use opentelemetry::{Context, trace::SpanKind};
    /// # use tracewire_core::span::Outcome;
    /// let capture = tracewire_testing::SpanCapture::new();
    /// let instrumentation = capture.instrumentation("t");
    /// let server = instrumentation.start(SpanKind::Server, "GET /", vec![], &Context::new());
    /// instrumentation
    ///     .start(SpanKind::Client, "SELECT", vec![], server.context())
    ///     .end(Outcome::Success);
    /// server.end(Outcome::Success);
    /// let text = capture.spans().waterfall();
    /// assert!(text.contains("GET / [server]") && text.contains("  SELECT [client]"));
    /// ```
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
    ///
    /// ```
    /// # use opentelemetry::{Context, trace::SpanKind};
    /// # use tracewire_core::span::Outcome;
    /// let capture = tracewire_testing::SpanCapture::new();
    /// let instrumentation = capture.instrumentation("my-boundary");
    /// instrumentation
    ///     .start(SpanKind::Internal, "work", vec![], &Context::new())
    ///     .end(Outcome::Success);
    /// let spans = capture.spans();
    /// let data = spans.one("work").data();
    /// assert_eq!(data.instrumentation_scope.name(), "my-boundary");
    /// assert!(data.end_time >= data.start_time);
    /// ```
    pub fn data(&self) -> &'a SpanData {
        self.data
    }

    /// Name.
    ///
    /// ```
    /// # use opentelemetry::{Context, trace::SpanKind};
    /// # use tracewire_core::span::Outcome;
    /// # let capture = tracewire_testing::SpanCapture::new();
    /// # let instrumentation = capture.instrumentation("t");
    /// instrumentation
    ///     .start(SpanKind::Client, "GET", vec![], &Context::new())
    ///     .end(Outcome::Success);
    /// assert_eq!(capture.spans().iter().next().unwrap().name(), "GET");
    /// ```
    pub fn name(&self) -> &'a str {
        &self.data.name
    }

    /// Kind.
    ///
    /// ```
    /// # use opentelemetry::{Context, trace::SpanKind};
    /// # use tracewire_core::span::Outcome;
    /// # let capture = tracewire_testing::SpanCapture::new();
    /// # let instrumentation = capture.instrumentation("t");
    /// instrumentation
    ///     .start(SpanKind::Producer, "send", vec![], &Context::new())
    ///     .end(Outcome::Success);
    /// assert_eq!(capture.spans().one("send").kind(), SpanKind::Producer);
    /// ```
    pub fn kind(&self) -> SpanKind {
        self.data.span_kind.clone()
    }

    /// Trace id.
    ///
    /// ```
    /// # use opentelemetry::{Context, trace::SpanKind};
    /// # use tracewire_core::span::Outcome;
    /// # let capture = tracewire_testing::SpanCapture::new();
    /// # let instrumentation = capture.instrumentation("t");
    /// let parent = instrumentation.start(SpanKind::Server, "parent", vec![], &Context::new());
    /// instrumentation
    ///     .start(SpanKind::Client, "child", vec![], parent.context())
    ///     .end(Outcome::Success);
    /// parent.end(Outcome::Success);
    /// let spans = capture.spans();
    /// assert_eq!(spans.one("child").trace_id(), spans.one("parent").trace_id());
    /// ```
    pub fn trace_id(&self) -> TraceId {
        self.data.span_context.trace_id()
    }

    /// Span id.
    ///
    /// ```
    /// # use opentelemetry::{Context, trace::SpanKind};
    /// # use tracewire_core::span::Outcome;
    /// # let capture = tracewire_testing::SpanCapture::new();
    /// # let instrumentation = capture.instrumentation("t");
    /// let span = instrumentation.start(SpanKind::Internal, "work", vec![], &Context::new());
    /// let id = span.span_context().span_id();
    /// span.end(Outcome::Success);
    /// assert_eq!(capture.spans().one("work").span_id(), id);
    /// ```
    pub fn span_id(&self) -> SpanId {
        self.data.span_context.span_id()
    }

    /// Parent span id (`SpanId::INVALID` for a root).
    ///
    /// ```
    /// use opentelemetry::trace::SpanId;
    /// # use opentelemetry::{Context, trace::SpanKind};
    /// # use tracewire_core::span::Outcome;
    /// # let capture = tracewire_testing::SpanCapture::new();
    /// # let instrumentation = capture.instrumentation("t");
    /// let parent = instrumentation.start(SpanKind::Server, "parent", vec![], &Context::new());
    /// instrumentation
    ///     .start(SpanKind::Client, "child", vec![], parent.context())
    ///     .end(Outcome::Success);
    /// parent.end(Outcome::Success);
    /// let spans = capture.spans();
    /// assert_eq!(spans.one("child").parent_span_id(), spans.one("parent").span_id());
    /// assert_eq!(spans.one("parent").parent_span_id(), SpanId::INVALID);
    /// ```
    pub fn parent_span_id(&self) -> SpanId {
        self.data.parent_span_id
    }

    /// Whether the parent came from the wire.
    ///
    /// ```
    /// use opentelemetry::trace::{
    ///     SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    /// };
    /// # use opentelemetry::{Context, trace::SpanKind};
    /// # use tracewire_core::span::Outcome;
    /// # let capture = tracewire_testing::SpanCapture::new();
    /// # let instrumentation = capture.instrumentation("t");
    /// let (trace_id, span_id) = (TraceId::from(1u128), SpanId::from(2u64));
    /// let flags = TraceFlags::SAMPLED;
    /// let remote = SpanContext::new(trace_id, span_id, flags, true, TraceState::NONE);
    /// let from_wire = Context::new().with_remote_span_context(remote);
    /// instrumentation.start(SpanKind::Server, "GET /", vec![], &from_wire).end(Outcome::Success);
    /// let spans = capture.spans();
    /// let server = spans.one("GET /");
    /// assert!(server.parent_is_remote());
    /// assert!(server.parent().is_none()); // the parent is in another process
    /// ```
    pub fn parent_is_remote(&self) -> bool {
        self.data.parent_span_is_remote
    }

    /// The parent span, if captured.
    ///
    /// ```
    /// # use opentelemetry::{Context, trace::SpanKind};
    /// # use tracewire_core::span::Outcome;
    /// # let capture = tracewire_testing::SpanCapture::new();
    /// # let instrumentation = capture.instrumentation("t");
    /// let parent = instrumentation.start(SpanKind::Server, "GET /", vec![], &Context::new());
    /// instrumentation
    ///     .start(SpanKind::Client, "SELECT", vec![], parent.context())
    ///     .end(Outcome::Success);
    /// parent.end(Outcome::Success);
    /// let spans = capture.spans();
    /// assert_eq!(spans.one("SELECT").parent().map(|p| p.name()), Some("GET /"));
    /// assert!(spans.one("GET /").parent().is_none());
    /// ```
    pub fn parent(&self) -> Option<CapturedSpan<'a>> {
        self.all.by_id(self.data.parent_span_id)
    }

    /// The spans whose parent is this one.
    ///
    /// ```
    /// # use opentelemetry::{Context, trace::SpanKind};
    /// # use tracewire_core::span::Outcome;
    /// # let capture = tracewire_testing::SpanCapture::new();
    /// # let instrumentation = capture.instrumentation("t");
    /// let parent = instrumentation.start(SpanKind::Server, "GET /", vec![], &Context::new());
    /// for name in ["SELECT", "UPDATE"] {
    ///     instrumentation
    ///         .start(SpanKind::Client, name, vec![], parent.context())
    ///         .end(Outcome::Success);
    /// }
    /// parent.end(Outcome::Success);
    /// let spans = capture.spans();
    /// let children: Vec<&str> = spans.one("GET /").children().iter().map(|c| c.name()).collect();
    /// assert_eq!(children, ["SELECT", "UPDATE"]);
    /// ```
    pub fn children(&self) -> Vec<CapturedSpan<'a>> {
        let id = self.span_id();
        self.all
            .iter()
            .filter(|s| s.parent_span_id() == id)
            .collect()
    }

    /// An attribute's value.
    ///
    /// ```
    /// use opentelemetry::{KeyValue, Value};
    /// # use opentelemetry::{Context, trace::SpanKind};
    /// # use tracewire_core::span::Outcome;
    /// # let capture = tracewire_testing::SpanCapture::new();
    /// # let instrumentation = capture.instrumentation("t");
    /// let attributes = vec![KeyValue::new("items", 3)];
    /// instrumentation
    ///     .start(SpanKind::Internal, "work", attributes, &Context::new())
    ///     .end(Outcome::Success);
    /// let spans = capture.spans();
    /// assert_eq!(spans.one("work").attribute("items"), Some(&Value::I64(3)));
    /// assert_eq!(spans.one("work").attribute("missing"), None);
    /// ```
    pub fn attribute(&self, key: &str) -> Option<&'a Value> {
        self.data
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| &kv.value)
    }

    /// Status.
    ///
    /// ```
    /// use opentelemetry::trace::Status;
    /// use tracewire_core::span::SpanError;
    /// # use opentelemetry::{Context, trace::SpanKind};
    /// # use tracewire_core::span::Outcome;
    /// # let capture = tracewire_testing::SpanCapture::new();
    /// # let instrumentation = capture.instrumentation("t");
    /// let span = instrumentation.start(SpanKind::Client, "GET", vec![], &Context::new());
    /// span.end(Outcome::Failed(SpanError::status_code(503).with_description("overloaded")));
    /// assert_eq!(capture.spans().one("GET").status(), &Status::error("overloaded"));
    /// ```
    pub fn status(&self) -> &'a Status {
        &self.data.status
    }

    /// Duration.
    ///
    /// ```
    /// use std::time::Duration;
    /// # use opentelemetry::{Context, trace::SpanKind};
    /// # use tracewire_core::span::Outcome;
    /// # let capture = tracewire_testing::SpanCapture::new();
    /// # let instrumentation = capture.instrumentation("t");
    /// let span = instrumentation.start(SpanKind::Internal, "sleep", vec![], &Context::new());
    /// std::thread::sleep(Duration::from_millis(10));
    /// span.end(Outcome::Success);
    /// assert!(capture.spans().one("sleep").duration() >= Duration::from_millis(10));
    /// ```
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
    ///
    /// ```
    /// # use opentelemetry::{Context, trace::SpanKind};
    /// # use tracewire_core::span::Outcome;
    /// # let capture = tracewire_testing::SpanCapture::new();
    /// # let instrumentation = capture.instrumentation("t");
    /// instrumentation
    ///     .start(SpanKind::Consumer, "process", vec![], &Context::new())
    ///     .end(Outcome::Success);
    /// capture.spans().one("process").assert_kind(SpanKind::Consumer);
    /// ```
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
    ///
    /// ```
    /// use opentelemetry::KeyValue;
    /// # use opentelemetry::{Context, trace::SpanKind};
    /// # use tracewire_core::span::Outcome;
    /// # let capture = tracewire_testing::SpanCapture::new();
    /// # let instrumentation = capture.instrumentation("t");
    /// let attributes = vec![
    ///     KeyValue::new("http.request.method", "GET"),
    ///     KeyValue::new("server.port", 8080),
    /// ];
    /// instrumentation
    ///     .start(SpanKind::Client, "GET", attributes, &Context::new())
    ///     .end(Outcome::Success);
    /// capture
    ///     .spans()
    ///     .one("GET")
    ///     .assert_attr("http.request.method", "GET")
    ///     .assert_attr("server.port", 8080);
    /// ```
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
    ///
    /// ```
    /// # use opentelemetry::{Context, trace::SpanKind};
    /// # use tracewire_core::span::Outcome;
    /// # let capture = tracewire_testing::SpanCapture::new();
    /// # let instrumentation = capture.instrumentation("t");
    /// instrumentation
    ///     .start(SpanKind::Client, "GET", vec![], &Context::new())
    ///     .end(Outcome::Success);
    /// capture.spans().one("GET").assert_no_attr("error.type");
    /// ```
    #[track_caller]
    pub fn assert_no_attr(self, key: &str) -> Self {
        if let Some(v) = self.attribute(key) {
            self.fail(format!("attribute {key} is {v:?}, expected none"));
        }
        self
    }

    /// Asserts the parent is `parent` (same trace, parent id).
    ///
    /// ```
    /// # use opentelemetry::{Context, trace::SpanKind};
    /// # use tracewire_core::span::Outcome;
    /// # let capture = tracewire_testing::SpanCapture::new();
    /// # let instrumentation = capture.instrumentation("t");
    /// let parent = instrumentation.start(SpanKind::Server, "GET /", vec![], &Context::new());
    /// instrumentation
    ///     .start(SpanKind::Client, "SELECT", vec![], parent.context())
    ///     .end(Outcome::Success);
    /// parent.end(Outcome::Success);
    /// let spans = capture.spans();
    /// let server = spans.one("GET /");
    /// spans.one("SELECT").assert_parent(&server);
    /// ```
    #[track_caller]
    pub fn assert_parent(self, parent: &CapturedSpan<'_>) -> Self {
        if self.trace_id() != parent.trace_id() || self.parent_span_id() != parent.span_id() {
            self.fail(format!("parent is not {:?}", parent.name()));
        }
        self
    }

    /// Asserts the span has no parent.
    ///
    /// ```
    /// # use opentelemetry::{Context, trace::SpanKind};
    /// # use tracewire_core::span::Outcome;
    /// # let capture = tracewire_testing::SpanCapture::new();
    /// # let instrumentation = capture.instrumentation("t");
    /// instrumentation
    ///     .start(SpanKind::Server, "GET /", vec![], &Context::new())
    ///     .end(Outcome::Success);
    /// capture.spans().one("GET /").assert_root();
    /// ```
    #[track_caller]
    pub fn assert_root(self) -> Self {
        if self.parent_span_id() != SpanId::INVALID {
            self.fail("expected a root span".to_owned());
        }
        self
    }

    /// Asserts the span's parent is this remote trace and span.
    ///
    /// ```
    /// use opentelemetry::trace::{
    ///     SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    /// };
    /// # use opentelemetry::{Context, trace::SpanKind};
    /// # use tracewire_core::span::Outcome;
    /// # let capture = tracewire_testing::SpanCapture::new();
    /// # let instrumentation = capture.instrumentation("t");
    /// let (trace_id, span_id) = (TraceId::from(7u128), SpanId::from(9u64));
    /// let flags = TraceFlags::SAMPLED;
    /// let remote = SpanContext::new(trace_id, span_id, flags, true, TraceState::NONE);
    /// let from_wire = Context::new().with_remote_span_context(remote);
    /// instrumentation.start(SpanKind::Server, "GET /", vec![], &from_wire).end(Outcome::Success);
    /// capture.spans().one("GET /").assert_remote_parent(trace_id, span_id);
    /// ```
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
    ///
    /// ```
    /// # use opentelemetry::{Context, trace::SpanKind};
    /// # use tracewire_core::span::Outcome;
    /// # let capture = tracewire_testing::SpanCapture::new();
    /// # let instrumentation = capture.instrumentation("t");
    /// instrumentation
    ///     .start(SpanKind::Server, "GET /", vec![], &Context::new())
    ///     .end(Outcome::Success);
    /// capture.spans().one("GET /").assert_unset(); // success never sets Ok
    /// ```
    #[track_caller]
    pub fn assert_unset(self) -> Self {
        if self.data.status != Status::Unset {
            self.fail(format!("status is {:?}, expected Unset", self.data.status));
        }
        self
    }

    /// Asserts status Error, and `error.type` equal to `error_type`.
    ///
    /// ```
    /// use tracewire_core::span::SpanError;
    /// # use opentelemetry::{Context, trace::SpanKind};
    /// # use tracewire_core::span::Outcome;
    /// # let capture = tracewire_testing::SpanCapture::new();
    /// # let instrumentation = capture.instrumentation("t");
    /// let span = instrumentation.start(SpanKind::Client, "GET", vec![], &Context::new());
    /// span.end(Outcome::Failed(SpanError::status_code(404)));
    /// capture.spans().one("GET").assert_error("404");
    /// ```
    #[track_caller]
    pub fn assert_error(self, error_type: &str) -> Self {
        if !matches!(self.data.status, Status::Error { .. }) {
            self.fail(format!("status is {:?}, expected Error", self.data.status));
        }
        self.assert_attr("error.type", error_type.to_owned())
    }

    /// Asserts an event with this name exists, and returns its attributes.
    ///
    /// ```
    /// use tracewire_core::span::SpanError;
    /// # use opentelemetry::{Context, trace::SpanKind};
    /// # use tracewire_core::span::Outcome;
    /// # let capture = tracewire_testing::SpanCapture::new();
    /// # let instrumentation = capture.instrumentation("t");
    /// let error =
    ///     SpanError::new("PaymentDeclined").with_exception("PaymentDeclined", "card expired");
    /// let span = instrumentation.start(SpanKind::Server, "POST /pay", vec![], &Context::new());
    /// span.end(Outcome::Failed(error));
    /// let event = capture.spans().one("POST /pay").event("exception");
    /// let (key, value) = &event[1];
    /// assert_eq!(key.as_str(), "exception.message");
    /// assert_eq!(value.as_str(), "card expired");
    /// ```
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
    ///
    /// ```
    /// use tracewire_core::span::SpanError;
    /// # use opentelemetry::{Context, trace::SpanKind};
    /// # use tracewire_core::span::Outcome;
    /// # let capture = tracewire_testing::SpanCapture::new();
    /// # let instrumentation = capture.instrumentation("t");
    /// let span = instrumentation.start(SpanKind::Client, "GET", vec![], &Context::new());
    /// span.end(Outcome::Failed(SpanError::status_code(503))); // a status code: no exception event
    /// let spans = capture.spans();
    /// assert_eq!(spans.one("GET").event_count("exception"), 0);
    /// ```
    pub fn event_count(&self, name: &str) -> usize {
        self.data.events.iter().filter(|e| e.name == name).count()
    }

    /// The span contexts this span links to.
    ///
    /// ```
    /// use opentelemetry::trace::Link;
    /// # use opentelemetry::{Context, trace::SpanKind};
    /// # use tracewire_core::span::Outcome;
    /// # let capture = tracewire_testing::SpanCapture::new();
    /// # let instrumentation = capture.instrumentation("t");
    /// let send = instrumentation.start(SpanKind::Producer, "send", vec![], &Context::new());
    /// let producer = send.span_context();
    /// send.end(Outcome::Success);
    /// let links = vec![Link::with_context(producer.clone())];
    /// instrumentation
    ///     .start_with_links(SpanKind::Consumer, "process", vec![], links, &Context::new())
    ///     .end(Outcome::Success);
    /// assert_eq!(capture.spans().one("process").links(), [producer]);
    /// ```
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
