//! The `tracing` subscriber `install` sets up: the OpenTelemetry bridge and the events layer behind one
//! filter (`TRACEWIRE_OTEL_FILTER`), and the log formatter behind `RUST_LOG`.

use opentelemetry::trace::TracerProvider as _;
use tracewire_core::otel::RandomFlagTracer;
use tracing_subscriber::filter::FilterExt as _;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::env::LogFormat;
use crate::{Telemetry, events, logs};

/// The instrumentation scope of the spans the `tracing` bridge makes from `tracing` spans.
pub const TRACING_BRIDGE_SCOPE: &str = "tracing-opentelemetry";

impl Telemetry {
    pub(crate) fn install_subscriber(&self) -> Result<(), tracing_subscriber::util::TryInitError> {
        // The SDK's and the exporters' own events must not become spans: they would be exported by
        // the exporter that logged them, forever.
        fn internal(target: &str) -> bool {
            [
                "opentelemetry",
                "tonic",
                "h2",
                "hyper",
                "reqwest",
                "tower",
                "tracewire",
                // sqlx logs statements with their literals (slow ones at WARN); tracewire-sqlx records
                // them sanitized on its spans instead.
                "sqlx::query",
            ]
            .iter()
            .any(|p| target.starts_with(p))
        }
        // One filter governs what reaches OpenTelemetry (`TRACEWIRE_OTEL_FILTER`, INFO by default), so
        // libraries' DEBUG/TRACE internals stay out of the export unless asked for.
        fn otel_filter<S>(directives: &str) -> impl tracing_subscriber::layer::Filter<S> + use<S>
        where
            S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
        {
            tracing_subscriber::filter::filter_fn(|meta| !internal(meta.target()))
                .and(EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new("info")))
        }
        let otel_layer = self.tracer_provider.as_ref().map(|provider| {
            // The bridge's spans say where they come from: their own scope, not tracewire's.
            let scope = opentelemetry::InstrumentationScope::builder(TRACING_BRIDGE_SCOPE).build();
            tracing_opentelemetry::layer()
                .with_tracer(RandomFlagTracer::new(provider.tracer_with_scope(scope)))
                .with_filter(otel_filter(&self.otel_filter))
        });
        // Events written outside any `tracing` span (a `tracing::info!` straight in a handler) go on
        // the current tracewire span; tracing-opentelemetry takes those inside `tracing` spans.
        let events_layer = self.tracer_provider.as_ref().map(|_| {
            events::EventsOnCurrentSpan::new().with_filter(otel_filter(&self.otel_filter))
        });
        let filter =
            || EnvFilter::try_new(&self.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
        let text = (self.log_format == LogFormat::Text).then(|| {
            tracing_subscriber::fmt::layer()
                .event_format(logs::TextWithTraceIds::default())
                .fmt_fields(logs::Fields::default())
                .with_writer(std::io::stderr)
                .with_filter(filter())
        });
        let json = (self.log_format == LogFormat::Json).then(|| {
            tracing_subscriber::fmt::layer()
                .event_format(logs::JsonWithTraceIds)
                .fmt_fields(logs::Fields::default())
                .with_writer(std::io::stderr)
                .with_filter(filter())
        });
        tracing_subscriber::registry()
            .with(otel_layer)
            .with(events_layer)
            .with(text)
            .with(json)
            .try_init()
    }
}
