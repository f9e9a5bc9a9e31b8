//! Starting and ending boundary spans.
//!
//! Every tracewire boundary creates its spans through an [`Instrumentation`]: the OpenTelemetry API
//! directly (about a third of the cost of going through the `tracing` bridge), with the span's
//! [`Context`] made current while the wrapped work is polled, so the user's own `tracing` spans nest
//! under ours through `tracing-opentelemetry`.
//!
//! ```
//! use opentelemetry::{Context, KeyValue, trace::SpanKind};
//! use tracewire_core::span::{Instrumentation, Outcome, SpanError};
//!
//! # async fn demo() {
//! let instrumentation = Instrumentation::global("my-boundary");
//! let span = instrumentation.start(
//!     SpanKind::Client,
//!     "GET",
//!     vec![KeyValue::new("http.request.method", "GET")],
//!     &Context::current(),
//! );
//! let answer = span.in_scope(async { 42 }).await; // the span is current while this runs
//! span.end(if answer == 42 { Outcome::Success } else { Outcome::Failed(SpanError::new("wrong")) });
//! # }
//! ```

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, OnceLock};

use opentelemetry::baggage::BaggageExt;
use opentelemetry::context::{FutureExt, WithContext};
use opentelemetry::global::{self, BoxedTracer, ObjectSafeTracer};
use opentelemetry::metrics::Meter;
use opentelemetry::trace::{
    Link, SpanBuilder, SpanContext, SpanKind, Status, TraceContextExt, Tracer, TracerProvider,
};
use opentelemetry::{Context, InstrumentationScope, Key, KeyValue, Value};

use crate::attributes::{ERROR_TYPE, EXCEPTION_EVENT, EXCEPTION_MESSAGE, EXCEPTION_TYPE};
use crate::limits::Limits;
use crate::otel;

/// Where a boundary's spans and metrics go: the global providers (read when the first span or
/// measurement is made) or providers the user passes. Cheap to clone.
///
/// ```
/// use opentelemetry::{Context, trace::SpanKind};
/// use tracewire_core::span::{Instrumentation, Outcome};
/// let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
/// let instrumentation = Instrumentation::with_provider(&provider, "my-boundary");
/// instrumentation.start(SpanKind::Producer, "send orders", vec![], &Context::new()).end(Outcome::Success);
/// ```
#[derive(Clone)]
pub struct Instrumentation {
    inner: Arc<Inner>,
}

struct Inner {
    scope: InstrumentationScope,
    /// The SDK's own tracer when the provider given (or installed with [`install_tracer_provider`]) is
    /// the SDK's: its spans then live in the context without the API's type-erasing box around them
    /// (one allocation less per span). Read with the tracer, when the first span starts.
    sdk: OnceLock<Option<opentelemetry_sdk::trace::SdkTracer>>,
    tracer: OnceLock<Arc<BoxedTracer>>,
    meter: OnceLock<Meter>,
    baggage_keys: Box<[Key]>,
    limits: Limits,
}

impl fmt::Debug for Instrumentation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Instrumentation")
            .field("scope", &self.inner.scope.name())
            .field("baggage_keys", &self.inner.baggage_keys)
            .field("limits", &self.inner.limits)
            .finish()
    }
}

impl Instrumentation {
    /// Spans and metrics through the global tracer and meter providers, under the instrumentation
    /// scope `name`. The providers are looked up when the first span starts, so install them
    /// (`tracewire::init()`, or `opentelemetry::global::set_tracer_provider`) before serving traffic.
    ///
    /// ```
    /// let instrumentation = tracewire_core::span::Instrumentation::global("tracewire-http");
    /// assert_eq!(instrumentation.scope_name(), "tracewire-http");
    /// ```
    pub fn global(name: &'static str) -> Self {
        Self::from_parts(
            scope(name),
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
        )
    }

    /// Spans through the given tracer provider (metrics still go to the global meter provider unless
    /// [`with_meter`](Self::with_meter) is used).
    ///
    /// ```
    /// use opentelemetry_sdk::trace::SdkTracerProvider;
    /// let provider = SdkTracerProvider::builder().build();
    /// let instrumentation = tracewire_core::span::Instrumentation::with_provider(&provider, "my-boundary");
    /// # let _ = instrumentation;
    /// ```
    pub fn with_provider<P>(provider: &P, name: &'static str) -> Self
    where
        P: TracerProvider,
        P::Tracer: ObjectSafeTracer + Send + Sync + 'static,
    {
        let concrete = provider.tracer_with_scope(scope(name));
        let sdk = OnceLock::new();
        let _ = sdk.set(otel::as_sdk_tracer(&concrete));
        let tracer = OnceLock::new();
        let _ = tracer.set(Arc::new(BoxedTracer::new(Box::new(concrete))));
        Self::from_parts(scope(name), sdk, tracer, OnceLock::new())
    }

    fn from_parts(
        scope: InstrumentationScope,
        sdk: OnceLock<Option<opentelemetry_sdk::trace::SdkTracer>>,
        tracer: OnceLock<Arc<BoxedTracer>>,
        meter: OnceLock<Meter>,
    ) -> Self {
        Instrumentation {
            inner: Arc::new(Inner {
                scope,
                sdk,
                tracer,
                meter,
                baggage_keys: Box::new([]),
                limits: Limits::default(),
            }),
        }
    }

    fn rebuild(&self, f: impl FnOnce(&mut Inner)) -> Self {
        let tracer = OnceLock::new();
        if let Some(t) = self.inner.tracer.get() {
            // A given provider is kept; a lazily-read global one is read again later.
            let _ = tracer.set(t.clone());
        }
        let meter = OnceLock::new();
        if let Some(m) = self.inner.meter.get() {
            let _ = meter.set(m.clone());
        }
        let sdk = OnceLock::new();
        if let Some(t) = self.inner.sdk.get() {
            let _ = sdk.set(t.clone());
        }
        let mut inner = Inner {
            scope: self.inner.scope.clone(),
            sdk,
            tracer,
            meter,
            baggage_keys: self.inner.baggage_keys.clone(),
            limits: self.inner.limits,
        };
        f(&mut inner);
        Instrumentation {
            inner: Arc::new(inner),
        }
    }

    /// Metrics through `provider` instead of the global meter provider, under this instrumentation's
    /// scope: with [`with_provider`](Self::with_provider), spans and metrics go to the providers an
    /// application set up together.
    ///
    /// ```
    /// use opentelemetry_sdk::metrics::SdkMeterProvider;
    /// use opentelemetry_sdk::trace::SdkTracerProvider;
    /// use tracewire_core::span::Instrumentation;
    /// let (traces, metrics) = (SdkTracerProvider::builder().build(), SdkMeterProvider::builder().build());
    /// let instrumentation = Instrumentation::with_provider(&traces, "my-boundary").with_meter_provider(&metrics);
    /// # let _ = instrumentation;
    /// ```
    pub fn with_meter_provider<M: opentelemetry::metrics::MeterProvider + ?Sized>(
        &self,
        provider: &M,
    ) -> Self {
        self.with_meter(provider.meter_with_scope(self.inner.scope.clone()))
    }

    /// Metrics through the given meter instead of the global meter provider.
    ///
    /// ```
    /// use opentelemetry::metrics::MeterProvider;
    /// use opentelemetry_sdk::metrics::SdkMeterProvider;
    /// let meter = SdkMeterProvider::builder().build().meter("test");
    /// let instrumentation = tracewire_core::span::Instrumentation::global("x").with_meter(meter);
    /// # let _ = instrumentation;
    /// ```
    pub fn with_meter(&self, meter: Meter) -> Self {
        self.rebuild(|inner| {
            let cell = OnceLock::new();
            let _ = cell.set(meter);
            inner.meter = cell;
        })
    }

    /// Copies these baggage entries, when present in the parent context, onto every span as
    /// attributes of the same name. Nothing is copied by default.
    ///
    /// ```
    /// let i = tracewire_core::span::Instrumentation::global("x").with_baggage_attributes(["tenant.id"]);
    /// # let _ = i;
    /// ```
    pub fn with_baggage_attributes<I, S>(&self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let keys: Box<[Key]> = keys.into_iter().map(|k| Key::new(k.into())).collect();
        self.rebuild(move |inner| inner.baggage_keys = keys)
    }

    /// Sets the length limits for values recorded from the wire.
    ///
    /// ```
    /// use tracewire_core::{limits::Limits, span::Instrumentation};
    /// let i = Instrumentation::global("x").with_limits(Limits::default().with_max_value_len(256));
    /// assert_eq!(i.limits().max_value_len(), 256);
    /// ```
    pub fn with_limits(&self, limits: Limits) -> Self {
        self.rebuild(|inner| inner.limits = limits)
    }

    /// The limits for values recorded from the wire.
    ///
    /// ```
    /// use tracewire_core::{limits::Limits, span::Instrumentation};
    /// let instrumentation = Instrumentation::global("doc");
    /// assert_eq!(instrumentation.limits(), &Limits::default());
    /// ```
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// The instrumentation scope name.
    ///
    /// ```
    /// let capture = tracewire_testing::SpanCapture::new();
    /// assert_eq!(capture.instrumentation("tracewire-sqlx").scope_name(), "tracewire-sqlx");
    /// ```
    pub fn scope_name(&self) -> &str {
        self.inner.scope.name()
    }

    /// The tracer spans are started with.
    ///
    /// ```
    /// use opentelemetry::trace::{Span as _, Tracer as _};
    /// let capture = tracewire_testing::SpanCapture::new();
    /// let instrumentation = capture.instrumentation("my-boundary");
    /// let mut span = instrumentation.tracer().start("raw"); // the plain OpenTelemetry API
    /// span.end();
    /// let spans = capture.spans();
    /// assert_eq!(spans.one("raw").data().instrumentation_scope.name(), "my-boundary");
    /// ```
    pub fn tracer(&self) -> &BoxedTracer {
        self.inner.tracer.get_or_init(|| {
            Arc::new(global::tracer_provider().tracer_with_scope(self.inner.scope.clone()))
        })
    }

    /// The SDK tracer behind [`tracer`](Self::tracer), when there is one to reach without the box.
    fn sdk_tracer(&self) -> Option<&opentelemetry_sdk::trace::SdkTracer> {
        self.inner
            .sdk
            .get_or_init(|| otel::installed_tracer(self.inner.scope.clone()))
            .as_ref()
    }

    /// The meter metrics are recorded with.
    ///
    /// ```
    /// let metrics = tracewire_testing::MetricCapture::new();
    /// let instrumentation =
    ///     tracewire_core::span::Instrumentation::global("doc").with_meter(metrics.meter("doc"));
    /// instrumentation.meter().u64_counter("jobs.done").build().add(1, &[]);
    /// assert_eq!(metrics.points("jobs.done")[0].value, 1.0);
    /// ```
    pub fn meter(&self) -> &Meter {
        self.inner
            .meter
            .get_or_init(|| global::meter_with_scope(self.inner.scope.clone()))
    }

    /// Starts a span of `kind` named `name` (low-cardinality) with the attributes known at start,
    /// as a child of the span in `parent` (or a new root when it has none).
    ///
    /// ```
    /// use opentelemetry::{Context, KeyValue, trace::SpanKind};
    /// use tracewire_core::span::Outcome;
    ///
    /// let capture = tracewire_testing::SpanCapture::new();
    /// let instrumentation = capture.instrumentation("t");
    /// let server = instrumentation.start(SpanKind::Server, "GET /", vec![], &Context::new());
    /// let attributes = vec![KeyValue::new("db.system.name", "postgresql")];
    /// let query = instrumentation.start(SpanKind::Client, "SELECT", attributes, server.context());
    /// query.end(Outcome::Success);
    /// server.end(Outcome::Success);
    ///
    /// let spans = capture.spans();
    /// let server = spans.one("GET /").assert_root();
    /// spans.one("SELECT").assert_parent(&server).assert_attr("db.system.name", "postgresql");
    /// ```
    pub fn start(
        &self,
        kind: SpanKind,
        name: impl Into<Cow<'static, str>>,
        attributes: Vec<KeyValue>,
        parent: &Context,
    ) -> ActiveSpan {
        self.start_with_links(kind, name, attributes, Vec::new(), parent)
    }

    /// Like [`start`](Self::start), with links to other spans (messaging batches, trust boundaries).
    ///
    /// ```
    /// use opentelemetry::{Context, trace::{Link, SpanKind}};
    /// use tracewire_core::span::Outcome;
    ///
    /// let capture = tracewire_testing::SpanCapture::new();
    /// let instrumentation = capture.instrumentation("t");
    /// let send = instrumentation.start(SpanKind::Producer, "send", vec![], &Context::new());
    /// let link = Link::with_context(send.span_context());
    /// send.end(Outcome::Success);
    /// instrumentation
    ///     .start_with_links(SpanKind::Consumer, "process", vec![], vec![link], &Context::new())
    ///     .end(Outcome::Success);
    ///
    /// let spans = capture.spans();
    /// let send = spans.one("send");
    /// spans.one("process").assert_root().assert_linked_to(&send);
    /// ```
    pub fn start_with_links(
        &self,
        kind: SpanKind,
        name: impl Into<Cow<'static, str>>,
        mut attributes: Vec<KeyValue>,
        links: Vec<Link>,
        parent: &Context,
    ) -> ActiveSpan {
        if !self.inner.baggage_keys.is_empty() {
            let baggage = parent.baggage();
            for key in self.inner.baggage_keys.iter() {
                if let Some(value) = baggage.get(key.as_str()) {
                    let value = self.inner.limits.bound(value.as_str()).to_owned();
                    attributes.push(KeyValue::new(key.clone(), value));
                }
            }
        }
        let mut builder = SpanBuilder::from_name(name).with_kind(kind);
        builder.attributes = Some(attributes);
        if !links.is_empty() {
            builder.links = Some(links);
        }
        let cx = match self.sdk_tracer() {
            Some(sdk) => otel::context_with_span(sdk.build_with_context(builder, parent), parent),
            None => {
                otel::context_with_span(self.tracer().build_with_context(builder, parent), parent)
            }
        };
        ActiveSpan {
            cx,
            ended: false,
            max_value_len: self.inner.limits.max_value_len(),
        }
    }
}

pub use crate::otel::install_tracer_provider;

fn scope(name: &'static str) -> InstrumentationScope {
    InstrumentationScope::builder(name)
        .with_version(env!("CARGO_PKG_VERSION"))
        .with_schema_url(crate::attributes::SCHEMA_URL)
        .build()
}

/// A started span, with the [`Context`] that holds it. End it with [`end`](Self::end); dropping it
/// without ending ends it with no status (the work was cancelled).
///
/// ```
/// use opentelemetry::{Context, KeyValue, trace::SpanKind};
/// use tracewire_core::span::{Instrumentation, Outcome};
/// let span = Instrumentation::global("doc").start(SpanKind::Internal, "work", vec![], &Context::new());
/// span.set_attribute(KeyValue::new("items", 3));
/// span.end(Outcome::Success);
/// ```
pub struct ActiveSpan {
    cx: Context,
    ended: bool,
    /// The longest an error's description and exception message may be (the instrumentation's
    /// [`Limits`]): every boundary's errors are cut here, once.
    max_value_len: usize,
}

impl fmt::Debug for ActiveSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActiveSpan")
            .field("span_context", self.cx.span().span_context())
            .field("ended", &self.ended)
            .finish()
    }
}

impl ActiveSpan {
    /// The context holding this span: make it current, or parent child spans on it.
    ///
    /// ```
    /// use opentelemetry::{Context, trace::{SpanKind, TraceContextExt}};
    /// use tracewire_core::span::Outcome;
    ///
    /// let capture = tracewire_testing::SpanCapture::new();
    /// let instrumentation = capture.instrumentation("t");
    /// let span = instrumentation.start(SpanKind::Internal, "work", vec![], &Context::new());
    /// {
    ///     let _guard = span.context().clone().attach(); // current on this thread until dropped
    ///     let current = Context::current().span().span_context().span_id();
    ///     assert_eq!(current, span.span_context().span_id());
    /// }
    /// span.end(Outcome::Success);
    /// ```
    pub fn context(&self) -> &Context {
        &self.cx
    }

    /// The span's identity.
    ///
    /// ```
    /// use opentelemetry::{Context, trace::SpanKind};
    /// use tracewire_core::span::Outcome;
    ///
    /// let capture = tracewire_testing::SpanCapture::new();
    /// let instrumentation = capture.instrumentation("t");
    /// let span = instrumentation.start(SpanKind::Internal, "work", vec![], &Context::new());
    /// let span_context = span.span_context();
    /// assert!(span_context.is_valid() && span_context.is_sampled());
    /// span.end(Outcome::Success);
    /// assert_eq!(capture.spans().one("work").span_id(), span_context.span_id());
    /// ```
    pub fn span_context(&self) -> SpanContext {
        self.cx.span().span_context().clone()
    }

    /// Whether the span records (false when sampled out: skip computing attributes).
    ///
    /// ```
    /// use opentelemetry::{Context, trace::SpanKind};
    /// use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
    /// use tracewire_core::span::{Instrumentation, Outcome};
    ///
    /// let sampled_out = SdkTracerProvider::builder().with_sampler(Sampler::AlwaysOff).build();
    /// let instrumentation = Instrumentation::with_provider(&sampled_out, "t");
    /// let span = instrumentation.start(SpanKind::Internal, "work", vec![], &Context::new());
    /// assert!(!span.is_recording()); // skip computing expensive attributes
    /// span.end(Outcome::Success);
    /// ```
    pub fn is_recording(&self) -> bool {
        self.cx.span().is_recording()
    }

    /// Sets one attribute.
    ///
    /// ```
    /// use opentelemetry::{Context, KeyValue, trace::SpanKind};
    /// use tracewire_core::span::Outcome;
    ///
    /// let capture = tracewire_testing::SpanCapture::new();
    /// let instrumentation = capture.instrumentation("t");
    /// let span = instrumentation.start(SpanKind::Server, "GET", vec![], &Context::new());
    /// span.set_attribute(KeyValue::new("http.response.status_code", 200));
    /// span.end(Outcome::Success);
    /// capture.spans().one("GET").assert_attr("http.response.status_code", 200);
    /// ```
    pub fn set_attribute(&self, attribute: KeyValue) {
        self.cx.span().set_attribute(attribute);
    }

    /// Sets several attributes.
    ///
    /// ```
    /// use opentelemetry::{Context, KeyValue, trace::SpanKind};
    /// use tracewire_core::span::Outcome;
    ///
    /// let capture = tracewire_testing::SpanCapture::new();
    /// let instrumentation = capture.instrumentation("t");
    /// let span = instrumentation.start(SpanKind::Client, "SELECT", vec![], &Context::new());
    /// span.set_attributes([
    ///     KeyValue::new("db.response.returned_rows", 3),
    ///     KeyValue::new("db.namespace", "shop"),
    /// ]);
    /// span.end(Outcome::Success);
    /// let spans = capture.spans();
    /// spans
    ///     .one("SELECT")
    ///     .assert_attr("db.response.returned_rows", 3)
    ///     .assert_attr("db.namespace", "shop");
    /// ```
    pub fn set_attributes(&self, attributes: impl IntoIterator<Item = KeyValue>) {
        self.cx.span().set_attributes(attributes);
    }

    /// Renames the span (for example once the route is known).
    ///
    /// ```
    /// use opentelemetry::{Context, trace::SpanKind};
    /// use tracewire_core::span::Outcome;
    ///
    /// let capture = tracewire_testing::SpanCapture::new();
    /// let instrumentation = capture.instrumentation("t");
    /// let span = instrumentation.start(SpanKind::Server, "GET", vec![], &Context::new());
    /// span.update_name("GET /users/{id}"); // the router matched
    /// span.end(Outcome::Success);
    /// assert_eq!(capture.spans().one("GET /users/{id}").name(), "GET /users/{id}");
    /// ```
    pub fn update_name(&self, name: impl Into<Cow<'static, str>>) {
        self.cx.span().update_name(name);
    }

    /// Adds a link to another span.
    ///
    /// ```
    /// use opentelemetry::{Context, trace::SpanKind};
    /// use tracewire_core::span::Outcome;
    ///
    /// let capture = tracewire_testing::SpanCapture::new();
    /// let instrumentation = capture.instrumentation("t");
    /// let other = instrumentation.start(SpanKind::Internal, "other", vec![], &Context::new());
    /// let span = instrumentation.start(SpanKind::Internal, "work", vec![], &Context::new());
    /// span.add_link(other.span_context(), vec![]);
    /// other.end(Outcome::Success);
    /// span.end(Outcome::Success);
    ///
    /// let spans = capture.spans();
    /// let other = spans.one("other");
    /// spans.one("work").assert_linked_to(&other);
    /// ```
    pub fn add_link(&self, span_context: SpanContext, attributes: Vec<KeyValue>) {
        self.cx.span().add_link(span_context, attributes);
    }

    /// Runs `future` with this span's context current whenever it is polled.
    ///
    /// ```
    /// use opentelemetry::{Context, trace::{SpanKind, TraceContextExt}};
    /// use tracewire_core::span::Outcome;
    ///
    /// # let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// # runtime.block_on(async {
    /// let capture = tracewire_testing::SpanCapture::new();
    /// let instrumentation = capture.instrumentation("t");
    /// let span = instrumentation.start(SpanKind::Internal, "work", vec![], &Context::new());
    /// let seen = span
    ///     .in_scope(async { Context::current().span().span_context().span_id() })
    ///     .await;
    /// assert_eq!(seen, span.span_context().span_id());
    /// span.end(Outcome::Success);
    /// # });
    /// ```
    pub fn in_scope<F>(&self, future: F) -> WithContext<F> {
        future.with_context(self.cx.clone())
    }

    /// Records the outcome per the semantic conventions and ends the span.
    ///
    /// ```
    /// use opentelemetry::{Context, trace::SpanKind};
    /// use tracewire_core::span::{Outcome, SpanError};
    ///
    /// let capture = tracewire_testing::SpanCapture::new();
    /// let instrumentation = capture.instrumentation("t");
    /// let ok = instrumentation.start(SpanKind::Client, "ok", vec![], &Context::new());
    /// ok.end(Outcome::Success);
    /// let failed = instrumentation.start(SpanKind::Client, "failed", vec![], &Context::new());
    /// failed.end(Outcome::Failed(SpanError::new("timeout")));
    ///
    /// let spans = capture.spans();
    /// spans.one("ok").assert_unset().assert_no_attr("error.type");
    /// spans.one("failed").assert_error("timeout");
    /// ```
    pub fn end(mut self, outcome: Outcome) {
        self.finish(outcome);
    }

    /// Like [`end`](Self::end), through a mutable reference (for owners that end spans in `Drop`);
    /// calls after the first do nothing.
    ///
    /// ```
    /// use opentelemetry::{Context, trace::SpanKind};
    /// use tracewire_core::span::{Outcome, SpanError};
    ///
    /// let capture = tracewire_testing::SpanCapture::new();
    /// let instrumentation = capture.instrumentation("t");
    /// let mut span = instrumentation.start(SpanKind::Internal, "work", vec![], &Context::new());
    /// span.finish(Outcome::Failed(SpanError::new("timeout")));
    /// span.finish(Outcome::Success); // ignored: the span has ended
    /// drop(span); // does not end it again
    ///
    /// let spans = capture.spans();
    /// assert_eq!(spans.len(), 1);
    /// spans.one("work").assert_error("timeout");
    /// ```
    pub fn finish(&mut self, outcome: Outcome) {
        if self.ended {
            return;
        }
        self.ended = true;
        let span = self.cx.span();
        if let Outcome::Failed(error) = outcome {
            record_error(&span, error, self.max_value_len);
        }
        span.end();
    }
}

impl Drop for ActiveSpan {
    fn drop(&mut self) {
        self.finish(Outcome::Cancelled);
    }
}

/// Cuts `text` to at most `max` bytes, on a character boundary.
fn bound_in_place(text: &mut String, max: usize) {
    let kept = crate::limits::truncate(text, max).len();
    text.truncate(kept);
}

fn record_error(span: &opentelemetry::trace::SpanRef<'_>, mut error: SpanError, max_len: usize) {
    if let Some(description) = &mut error.description {
        bound_in_place(description, max_len);
    }
    if let Some(exception) = &mut error.exception {
        bound_in_place(&mut exception.message, max_len);
    }
    if let Some(exception) = error.exception {
        let mut attributes = Vec::with_capacity(2);
        attributes.push(KeyValue::new(EXCEPTION_TYPE, exception.type_name));
        if !exception.message.is_empty() {
            attributes.push(KeyValue::new(EXCEPTION_MESSAGE, exception.message));
        }
        span.add_event(EXCEPTION_EVENT, attributes);
    }
    span.set_attribute(KeyValue::new(
        ERROR_TYPE,
        Value::String(error.error_type.into()),
    ));
    span.set_status(Status::Error {
        description: error.description.map(Cow::Owned).unwrap_or_default(),
    });
}

/// How a span's operation ended.
///
/// ```
/// use tracewire_core::span::{Outcome, SpanError};
/// let outcome = Outcome::Failed(SpanError::new("timeout"));
/// assert!(matches!(outcome, Outcome::Failed(_)));
/// ```
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Completed; the status stays Unset (instrumentation never sets Ok).
    Success,
    /// The caller gave up on purpose (a dropped future): no status and no `error.type`.
    Cancelled,
    /// Failed: status Error, `error.type`, an optional description and one `exception` event.
    Failed(SpanError),
}

/// A failure as recorded on a span: `error.type`, the status description, and the `exception` event.
///
/// ```
/// use tracewire_core::span::SpanError;
/// let e = SpanError::status_code(503);
/// assert_eq!(e.error_type(), "503");
/// assert_eq!(e.description(), None); // the status code says it all
///
/// let io = std::io::Error::other("disk full");
/// let e = SpanError::from_error(&io);
/// assert_eq!(e.error_type(), "std::io::error::Error");
/// assert_eq!(e.description(), Some("disk full"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpanError {
    error_type: Cow<'static, str>,
    description: Option<String>,
    exception: Option<Exception>,
}

/// The `exception` event of a [`SpanError`].
#[derive(Clone, Debug, PartialEq, Eq)]
struct Exception {
    type_name: Cow<'static, str>,
    message: String,
}

impl SpanError {
    /// An error of low-cardinality type `error_type`, without description or exception event.
    ///
    /// ```
    /// use tracewire_core::span::SpanError;
    /// let error = SpanError::new("timeout");
    /// assert_eq!(error.error_type(), "timeout");
    /// assert_eq!(error.description(), None);
    /// ```
    pub fn new(error_type: impl Into<Cow<'static, str>>) -> Self {
        SpanError {
            error_type: error_type.into(),
            description: None,
            exception: None,
        }
    }

    /// An error status code (client 4xx/5xx, server 5xx): `error.type` is the code, no description.
    ///
    /// ```
    /// use tracewire_core::span::SpanError;
    /// let error = SpanError::status_code(429);
    /// assert_eq!(error.error_type(), "429");
    /// assert_eq!(error.description(), None);
    /// ```
    pub fn status_code(code: u16) -> Self {
        SpanError::new(status_code_str(code))
    }

    /// An error value: `error.type` is its Rust type name, the description and the `exception` event
    /// carry its message (cut to 2,048 bytes).
    ///
    /// ```
    /// use opentelemetry::{Context, trace::SpanKind};
    /// use tracewire_core::span::{Outcome, SpanError};
    ///
    /// let parse_error = "x".parse::<u8>().unwrap_err();
    /// let error = SpanError::from_error(&parse_error);
    /// assert!(error.error_type().ends_with("ParseIntError"));
    /// assert_eq!(error.description(), Some("invalid digit found in string"));
    ///
    /// let capture = tracewire_testing::SpanCapture::new();
    /// let instrumentation = capture.instrumentation("t");
    /// let span = instrumentation.start(SpanKind::Internal, "parse", vec![], &Context::new());
    /// span.end(Outcome::Failed(error));
    /// let spans = capture.spans();
    /// let span = spans.one("parse");
    /// assert_eq!(span.event_count("exception"), 1);
    /// span.assert_event_attr("exception", "exception.message", "invalid digit found in string");
    /// ```
    pub fn from_error<E: std::fmt::Display + ?Sized>(error: &E) -> Self {
        Self::classified(std::any::type_name::<E>(), error)
    }

    /// The record of a library's error, the one rule every boundary follows: `error.type` is the
    /// boundary's low-cardinality classification (`timeout`, an SQLSTATE, a broker's error code), the
    /// status description and `exception.message` are the error's text (cut to the instrumentation's
    /// limits when the span ends), and `exception.type` is the Rust type of the error
    /// (`sqlx_core::error::Error`, `lapin::error::Error`), the fully qualified name the conventions ask.
    ///
    /// ```
    /// use opentelemetry::{Context, trace::SpanKind};
    /// use tracewire_core::span::{Outcome, SpanError};
    ///
    /// let error = std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer");
    /// let record = SpanError::classified("timeout", &error);
    /// assert_eq!(record.error_type(), "timeout");
    /// assert_eq!(record.description(), Some("no answer"));
    ///
    /// let capture = tracewire_testing::SpanCapture::new();
    /// let instrumentation = capture.instrumentation("t");
    /// let span = instrumentation.start(SpanKind::Client, "GET", vec![], &Context::new());
    /// span.end(Outcome::Failed(record));
    /// capture
    ///     .spans()
    ///     .one("GET")
    ///     .assert_error("timeout")
    ///     .assert_event_attr("exception", "exception.type", "std::io::error::Error");
    /// ```
    pub fn classified<E: std::fmt::Display + ?Sized>(
        error_type: impl Into<Cow<'static, str>>,
        error: &E,
    ) -> Self {
        let type_name = std::any::type_name::<E>();
        let message = error.to_string();
        SpanError {
            error_type: error_type.into(),
            description: Some(message.clone()),
            exception: Some(Exception {
                type_name: Cow::Borrowed(type_name),
                message,
            }),
        }
    }

    /// Replaces the error's text (description and `exception.message`), for a boundary that must
    /// redact it (a URL's credentials) first.
    ///
    /// ```
    /// use tracewire_core::span::SpanError;
    /// let error = std::io::Error::other("GET https://user:secret@example.com failed");
    /// let record = SpanError::classified("connect", &error).with_message("GET https://REDACTED@example.com failed");
    /// assert_eq!(record.description(), Some("GET https://REDACTED@example.com failed"));
    /// ```
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        let message = message.into();
        if let Some(exception) = &mut self.exception {
            exception.message.clone_from(&message);
        }
        self.description = Some(message);
        self
    }

    /// Drops the error's text and keeps its type, for a boundary told not to record messages (a
    /// database error quoting a statement's literals).
    ///
    /// ```
    /// use tracewire_core::span::SpanError;
    /// let error = std::io::Error::other("duplicate key value (email)=(ann@example.com)");
    /// let record = SpanError::classified("23505", &error).without_message();
    /// assert_eq!(record.error_type(), "23505");
    /// assert_eq!(record.description(), None);
    /// ```
    pub fn without_message(mut self) -> Self {
        if let Some(exception) = &mut self.exception {
            exception.message.clear();
        }
        self.description = None;
        self
    }

    /// Sets the status description.
    ///
    /// ```
    /// use tracewire_core::span::SpanError;
    /// let error = SpanError::status_code(503).with_description("upstream overloaded");
    /// assert_eq!(error.error_type(), "503");
    /// assert_eq!(error.description(), Some("upstream overloaded"));
    /// ```
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Adds the `exception` event with this type and message.
    ///
    /// ```
    /// use opentelemetry::{Context, trace::SpanKind};
    /// use tracewire_core::span::{Outcome, SpanError};
    ///
    /// let error =
    ///     SpanError::new("PaymentDeclined").with_exception("PaymentDeclined", "card expired");
    /// let capture = tracewire_testing::SpanCapture::new();
    /// let instrumentation = capture.instrumentation("t");
    /// let span = instrumentation.start(SpanKind::Server, "POST /pay", vec![], &Context::new());
    /// span.end(Outcome::Failed(error));
    /// capture
    ///     .spans()
    ///     .one("POST /pay")
    ///     .assert_error("PaymentDeclined")
    ///     .assert_event_attr("exception", "exception.message", "card expired");
    /// ```
    pub fn with_exception(
        mut self,
        type_name: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        self.exception = Some(Exception {
            type_name: type_name.into(),
            message: message.into(),
        });
        self
    }

    /// The `error.type` value.
    ///
    /// ```
    /// use tracewire_core::span::SpanError;
    /// assert_eq!(SpanError::new("08P01").error_type(), "08P01");
    /// ```
    pub fn error_type(&self) -> &str {
        &self.error_type
    }

    /// The status description, if any.
    ///
    /// ```
    /// use tracewire_core::span::SpanError;
    /// assert_eq!(SpanError::new("timeout").description(), None);
    /// let error = SpanError::new("timeout").with_description("no answer in 30 s");
    /// assert_eq!(error.description(), Some("no answer in 30 s"));
    /// ```
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The `error.type` attribute, for duration metrics.
    ///
    /// ```
    /// use tracewire_core::span::SpanError;
    /// let attribute = SpanError::status_code(500).attribute();
    /// assert_eq!(attribute.key.as_str(), "error.type");
    /// assert_eq!(attribute.value.as_str(), "500");
    /// ```
    pub fn attribute(&self) -> KeyValue {
        KeyValue::new(ERROR_TYPE, Value::String(self.error_type.clone().into()))
    }
}

/// How [`error_type_from_variant`] spells a variant name: the way the library's own errors are known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VariantCase {
    /// `UNKNOWN_TOPIC_OR_PARTITION`, as Kafka names its error codes.
    UpperSnake,
    /// `io_error`, as most Rust error kinds read in logs.
    LowerSnake,
}

/// A low-cardinality `error.type` from the `Debug` form of an error-kind enum: the variant name (what
/// comes before any `(` or `{`) in snake case, spelled as `case` says. `fallback` when there is none.
///
/// ```
/// use tracewire_core::span::{VariantCase, error_type_from_variant};
/// assert_eq!(error_type_from_variant("UnknownTopicOrPartition", VariantCase::UpperSnake, "x"), "UNKNOWN_TOPIC_OR_PARTITION");
/// assert_eq!(error_type_from_variant("IOError(Os { code: 32 })", VariantCase::LowerSnake, "x"), "i_o_error");
/// assert_eq!(error_type_from_variant("", VariantCase::LowerSnake, "lapin::Error"), "lapin::Error");
/// ```
pub fn error_type_from_variant(debug: &str, case: VariantCase, fallback: &str) -> String {
    let name = debug
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("");
    let mut out = String::with_capacity(name.len() + 8);
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        match case {
            VariantCase::UpperSnake => out.extend(c.to_uppercase()),
            VariantCase::LowerSnake => out.extend(c.to_lowercase()),
        }
    }
    if out.is_empty() {
        fallback.to_owned()
    } else {
        out
    }
}

/// The decimal string of an HTTP status code, without allocating for the common ones.
///
/// ```
/// use std::borrow::Cow;
/// use tracewire_core::span::status_code_str;
/// assert!(matches!(status_code_str(404), Cow::Borrowed("404"))); // no allocation
/// assert_eq!(status_code_str(418), "418");
/// ```
pub fn status_code_str(code: u16) -> Cow<'static, str> {
    const COMMON: [(u16, &str); 18] = [
        (400, "400"),
        (401, "401"),
        (403, "403"),
        (404, "404"),
        (405, "405"),
        (408, "408"),
        (409, "409"),
        (410, "410"),
        (413, "413"),
        (422, "422"),
        (429, "429"),
        (500, "500"),
        (501, "501"),
        (502, "502"),
        (503, "503"),
        (504, "504"),
        (200, "200"),
        (499, "499"),
    ];
    match COMMON.iter().find(|(c, _)| *c == code) {
        Some((_, s)) => Cow::Borrowed(s),
        None => Cow::Owned(code.to_string()),
    }
}
