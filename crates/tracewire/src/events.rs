//! `tracing` events that happen under a tracewire span but outside any `tracing` span.
//!
//! tracing-opentelemetry records an event on the OpenTelemetry span of the enclosing *`tracing`* span
//! and drops it when there is none. tracewire's boundary spans are OpenTelemetry spans made current in
//! the OpenTelemetry context, not `tracing` spans, so a `tracing::info!` written straight in an axum
//! handler would be lost. [`EventsOnCurrentSpan`] records such events on the current OpenTelemetry
//! span instead; events inside a `tracing` span are left to tracing-opentelemetry, so none is recorded
//! twice. [`Builder::install`](crate::Builder::install) adds it to the subscriber it installs.

use std::fmt;

use opentelemetry::trace::TraceContextExt;
use opentelemetry::{Context, KeyValue, StringValue};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context as LayerContext;
use tracing_subscriber::registry::LookupSpan;

/// A `tracing_subscriber` layer that records events outside any `tracing` span on the current
/// OpenTelemetry span (when one is recording), named by the event's message, with `level`, `target`
/// and the event's fields as attributes — the same shape tracing-opentelemetry gives events inside
/// `tracing` spans.
///
/// For an application that installs its own subscriber next to `tracing_opentelemetry::layer()`:
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
/// let subscriber = tracing_subscriber::registry()
///     .with(tracing_opentelemetry::layer())
///     .with(tracewire::events::EventsOnCurrentSpan::new());
/// # drop(subscriber);
/// ```
#[derive(Clone, Debug, Default)]
pub struct EventsOnCurrentSpan {
    _private: (),
}

impl EventsOnCurrentSpan {
    /// The layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> tracing_subscriber::Layer<S> for EventsOnCurrentSpan
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_event(&self, event: &Event<'_>, ctx: LayerContext<'_, S>) {
        // Inside a `tracing` span, tracing-opentelemetry records the event; an explicit root event
        // asked for no parent.
        if event.parent().is_some() || event.is_root() || ctx.lookup_current().is_some() {
            return;
        }
        let cx = Context::current();
        let span = cx.span();
        if !span.is_recording() {
            return;
        }
        let meta = event.metadata();
        let mut visitor = EventFields {
            name: None,
            attributes: vec![
                KeyValue::new("level", meta.level().as_str()),
                KeyValue::new("target", meta.target().to_owned()),
            ],
        };
        event.record(&mut visitor);
        let name = visitor.name.unwrap_or_else(|| meta.name().to_owned());
        span.add_event(name, visitor.attributes);
    }
}

struct EventFields {
    name: Option<String>,
    attributes: Vec<KeyValue>,
}

impl EventFields {
    fn push(&mut self, field: &Field, value: impl Into<opentelemetry::Value>) {
        self.attributes
            .push(KeyValue::new(field.name(), value.into()));
    }
}

impl Visit for EventFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.name = Some(value.to_owned());
        } else {
            self.push(field, StringValue::from(value.to_owned()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.name = Some(text);
        } else {
            self.push(field, text);
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match i64::try_from(value) {
            Ok(value) => self.push(field, value),
            Err(_) => self.push(field, value.to_string()),
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, value);
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.push(field, value.to_string());
    }
}
