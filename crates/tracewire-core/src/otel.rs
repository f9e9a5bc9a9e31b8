//! Where tracewire couples to the OpenTelemetry SDK's version: the one module to read on an upgrade.
//!
//! - **The installed provider.** [`install_tracer_provider`] keeps the SDK provider so that boundaries
//!   start spans on the SDK tracer directly, without the global API's type-erasing box.
//! - **The W3C Level 2 random flag.** The SDK (0.33) builds a root span's flags from
//!   `TraceFlags::default()` and a dropped span's flags from nothing, and its spans offer no way to
//!   change their span context afterwards. So the random flag (0x02) — set on every trace id the SDK's
//!   random id generator makes, and kept from a parent that has it — is restored around the SDK, in
//!   three places that together cover every span of a process set up by tracewire:
//!   [`FlaggedSpan`] (the span context the process sees and propagates, for tracewire's own spans,
//!   the global tracer through [`RandomFlagProvider`] and the `tracing` bridge through
//!   [`RandomFlagTracer`]) and [`RandomFlagExport`] (the flags exported for local roots; children
//!   copy their parent's in-process span context, so they are already right).
//!
//! ```
//! use opentelemetry::Context;
//! use opentelemetry::trace::{Span, TraceContextExt, Tracer, TracerProvider};
//! use tracewire_core::otel::RandomFlagProvider;
//! use tracewire_core::propagation::w3c::FLAG_RANDOM;
//!
//! let provider = RandomFlagProvider::new(opentelemetry_sdk::trace::SdkTracerProvider::builder().build());
//! let root = provider.tracer("app").start("job");
//! assert_eq!(root.span_context().trace_flags().to_u8(), 0x01 | FLAG_RANDOM);
//! let cx = Context::new().with_span(root);
//! let child = provider.tracer("app").start_with_context("step", &cx);
//! assert_eq!(child.span_context().trace_flags().to_u8(), 0x01 | FLAG_RANDOM); // inherited
//! ```

use std::borrow::Cow;
use std::sync::RwLock;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{
    Span, SpanBuilder, SpanContext, SpanId, Status, TraceContextExt, TraceFlags, Tracer,
    TracerProvider,
};
use opentelemetry::{Context, InstrumentationScope, KeyValue, global};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider, SpanData, SpanProcessor};

use crate::propagation::w3c::FLAG_RANDOM;

/// The SDK provider [`install_tracer_provider`] installed.
static INSTALLED_PROVIDER: RwLock<Option<SdkTracerProvider>> = RwLock::new(None);

/// Installs `provider` as the global tracer provider (wrapped in [`RandomFlagProvider`], so that roots
/// started through `opentelemetry::global::tracer` carry the random flag too) and lets every
/// [`Instrumentation::global`](crate::span::Instrumentation::global) start its spans on it directly,
/// without the type-erasing box the global API puts around each span. `tracewire::init()` calls this.
/// Install a provider this way (not with `opentelemetry::global::set_tracer_provider` alone) before the
/// first span is started, and do not replace it afterwards through the OpenTelemetry API: boundaries
/// that have started spans keep the provider installed here.
///
/// ```
/// use opentelemetry::{Context, trace::SpanKind};
/// use tracewire_core::span::{Instrumentation, Outcome, install_tracer_provider};
///
/// let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
/// install_tracer_provider(provider.clone());
/// let span = Instrumentation::global("doc").start(SpanKind::Internal, "work", vec![], &Context::new());
/// assert!(span.is_recording());
/// span.end(Outcome::Success);
/// ```
pub fn install_tracer_provider(provider: SdkTracerProvider) {
    global::set_tracer_provider(RandomFlagProvider::new(provider.clone()));
    if let Ok(mut installed) = INSTALLED_PROVIDER.write() {
        *installed = Some(provider);
    }
}

/// A tracer of the provider [`install_tracer_provider`] installed, if there is one.
pub(crate) fn installed_tracer(scope: InstrumentationScope) -> Option<SdkTracer> {
    let installed = INSTALLED_PROVIDER.read().ok()?;
    Some(installed.as_ref()?.tracer_with_scope(scope))
}

/// The SDK tracer behind `tracer`, when it is one.
pub(crate) fn as_sdk_tracer<T: 'static>(tracer: &T) -> Option<SdkTracer> {
    (tracer as &dyn std::any::Any)
        .downcast_ref::<SdkTracer>()
        .cloned()
}

/// Whether a span started under `parent` should carry the random flag: a child keeps its parent's, a
/// new root has it (its trace id comes from the SDK's random id generator).
fn random_expected(parent: &Context) -> bool {
    let span = parent.span();
    let psc = span.span_context();
    !psc.is_valid() || psc.trace_flags().to_u8() & FLAG_RANDOM != 0
}

/// The span context `sc` with the random flag, when a span started under `parent` lacks it.
fn missing_random(sc: &SpanContext, parent: &Context) -> Option<SpanContext> {
    if !sc.is_valid() || sc.trace_flags().to_u8() & FLAG_RANDOM != 0 || !random_expected(parent) {
        return None;
    }
    Some(SpanContext::new(
        sc.trace_id(),
        sc.span_id(),
        TraceFlags::new(sc.trace_flags().to_u8() | FLAG_RANDOM),
        sc.is_remote(),
        sc.trace_state().clone(),
    ))
}

/// `parent` with `span` as its span, the random flag restored where the SDK left it out.
pub(crate) fn context_with_span<S>(span: S, parent: &Context) -> Context
where
    S: Span + Send + Sync + 'static,
{
    match missing_random(span.span_context(), parent) {
        Some(flagged) => parent.with_span(FlaggedSpan {
            inner: span,
            flagged: Some(flagged),
        }),
        None => parent.with_span(span),
    }
}

/// An SDK span whose span context carries the W3C random flag the SDK left out (a root, or a span
/// dropped by the sampler under a parent with the flag). Everything else goes to the inner span.
///
/// ```
/// use opentelemetry::Context;
/// use opentelemetry::trace::{Span, Tracer, TracerProvider};
/// use tracewire_core::otel::FlaggedSpan;
///
/// let tracer = opentelemetry_sdk::trace::SdkTracerProvider::builder().build().tracer("doc");
/// let span = FlaggedSpan::new(tracer.start("root"), &Context::new());
/// assert_eq!(span.span_context().trace_flags().to_u8(), 0x03);
/// ```
#[derive(Debug)]
pub struct FlaggedSpan<S> {
    inner: S,
    flagged: Option<SpanContext>,
}

impl<S: Span> FlaggedSpan<S> {
    /// `inner`, started under `parent`, with the random flag restored if it should have it.
    pub fn new(inner: S, parent: &Context) -> Self {
        let flagged = missing_random(inner.span_context(), parent);
        FlaggedSpan { inner, flagged }
    }
}

impl<S: Span> Span for FlaggedSpan<S> {
    fn add_event_with_timestamp<T>(
        &mut self,
        name: T,
        timestamp: SystemTime,
        attributes: Vec<KeyValue>,
    ) where
        T: Into<Cow<'static, str>>,
    {
        self.inner
            .add_event_with_timestamp(name, timestamp, attributes);
    }

    fn span_context(&self) -> &SpanContext {
        self.flagged
            .as_ref()
            .unwrap_or_else(|| self.inner.span_context())
    }

    fn is_recording(&self) -> bool {
        self.inner.is_recording()
    }

    fn set_attribute(&mut self, attribute: KeyValue) {
        self.inner.set_attribute(attribute);
    }

    fn set_status(&mut self, status: Status) {
        self.inner.set_status(status);
    }

    fn update_name<T>(&mut self, new_name: T)
    where
        T: Into<Cow<'static, str>>,
    {
        self.inner.update_name(new_name);
    }

    fn add_link(&mut self, span_context: SpanContext, attributes: Vec<KeyValue>) {
        self.inner.add_link(span_context, attributes);
    }

    fn end_with_timestamp(&mut self, timestamp: SystemTime) {
        self.inner.end_with_timestamp(timestamp);
    }
}

/// A tracer whose spans carry the W3C random flag ([`FlaggedSpan`]): what `tracewire::init()` gives the
/// `tracing` bridge, so `tracing` roots go out as `…-03` like every other root.
///
/// ```
/// use opentelemetry::trace::{Span, Tracer, TracerProvider};
/// let sdk = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
/// let tracer = tracewire_core::otel::RandomFlagTracer::new(sdk.tracer("doc"));
/// assert_eq!(tracer.start("root").span_context().trace_flags().to_u8(), 0x03);
/// ```
#[derive(Clone, Debug)]
pub struct RandomFlagTracer<T>(T);

impl<T> RandomFlagTracer<T> {
    /// Wraps `tracer`.
    pub fn new(tracer: T) -> Self {
        RandomFlagTracer(tracer)
    }
}

impl<T: Tracer> Tracer for RandomFlagTracer<T> {
    type Span = FlaggedSpan<T::Span>;

    fn build_with_context(&self, builder: SpanBuilder, parent_cx: &Context) -> Self::Span {
        FlaggedSpan::new(self.0.build_with_context(builder, parent_cx), parent_cx)
    }
}

/// The SDK's tracer provider with [`RandomFlagTracer`]s: what [`install_tracer_provider`] installs
/// globally, so `opentelemetry::global::tracer(..)` roots carry the random flag.
///
/// ```
/// use opentelemetry::trace::{Span, Tracer, TracerProvider};
/// let sdk = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
/// let provider = tracewire_core::otel::RandomFlagProvider::new(sdk);
/// assert_eq!(provider.tracer("doc").start("root").span_context().trace_flags().to_u8(), 0x03);
/// ```
#[derive(Clone, Debug)]
pub struct RandomFlagProvider(SdkTracerProvider);

impl RandomFlagProvider {
    /// Wraps `provider`.
    pub fn new(provider: SdkTracerProvider) -> Self {
        RandomFlagProvider(provider)
    }
}

impl TracerProvider for RandomFlagProvider {
    type Tracer = RandomFlagTracer<SdkTracer>;

    fn tracer_with_scope(&self, scope: InstrumentationScope) -> Self::Tracer {
        RandomFlagTracer(self.0.tracer_with_scope(scope))
    }
}

/// A span processor that exports local roots with the random flag their in-process span context has
/// ([`FlaggedSpan`]), so the exported flags agree with the `traceparent`s sent and with the children.
/// `tracewire::init()` puts it in front of every processor it installs.
///
/// ```
/// use opentelemetry::trace::{Tracer, TracerProvider};
/// use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SimpleSpanProcessor};
/// use tracewire_core::otel::RandomFlagExport;
///
/// let exporter = InMemorySpanExporter::default();
/// let provider = SdkTracerProvider::builder()
///     .with_span_processor(RandomFlagExport::new(SimpleSpanProcessor::new(exporter.clone())))
///     .build();
/// provider.tracer("doc").in_span("root", |_| {});
/// let spans = exporter.get_finished_spans().unwrap();
/// assert_eq!(spans[0].span_context.trace_flags().to_u8(), 0x03);
/// ```
#[derive(Debug)]
pub struct RandomFlagExport<P>(P);

impl<P> RandomFlagExport<P> {
    /// Wraps `processor`.
    pub fn new(processor: P) -> Self {
        RandomFlagExport(processor)
    }
}

impl<P: SpanProcessor> SpanProcessor for RandomFlagExport<P> {
    fn on_start(&self, span: &mut opentelemetry_sdk::trace::Span, cx: &Context) {
        self.0.on_start(span, cx);
    }

    fn on_end(&self, mut span: SpanData) {
        if span.parent_span_id == SpanId::INVALID {
            let root = Context::new();
            if let Some(flagged) = missing_random(&span.span_context, &root) {
                span.span_context = flagged;
            }
        }
        self.0.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}
