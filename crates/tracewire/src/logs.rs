//! Log lines that carry the trace: every event formatted with the `trace_id` and `span_id` of the
//! OpenTelemetry context current when it was emitted (a tracewire boundary span, or the user's own
//! `tracing` span through tracing-opentelemetry).

use std::fmt;

use opentelemetry::Context;
use opentelemetry::trace::TraceContextExt;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{DefaultFields, Format, Full, Writer};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The ids of the current span, if it is a valid one.
fn current_ids() -> Option<(String, String)> {
    let cx = Context::current();
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid()
        .then(|| (sc.trace_id().to_string(), sc.span_id().to_string()))
}

/// tracing-subscriber's usual text line, followed by `trace_id=… span_id=…` inside a trace.
///
/// ```
/// use tracewire::logs::TextWithTraceIds;
/// let subscriber = tracing_subscriber::fmt().event_format(TextWithTraceIds::default()).finish();
/// # drop(subscriber);
/// ```
#[derive(Debug, Default)]
pub struct TextWithTraceIds {
    inner: Format<Full, SystemTime>,
}

impl<S, N> FormatEvent<S, N> for TextWithTraceIds
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        writer.write_str(line.trim_end_matches('\n'))?;
        if let Some((trace_id, span_id)) = current_ids() {
            write!(writer, " trace_id={trace_id} span_id={span_id}")?;
        }
        writeln!(writer)
    }
}

/// One JSON object per line: `timestamp`, `level`, `target`, `message`, the event's fields, the names
/// of the enclosing `tracing` spans, and `trace_id`/`span_id` inside a trace.
///
/// ```
/// use tracewire::logs::JsonWithTraceIds;
/// let subscriber = tracing_subscriber::fmt().event_format(JsonWithTraceIds).finish();
/// # drop(subscriber);
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct JsonWithTraceIds;

struct JsonFields(serde_json::Map<String, serde_json::Value>);

impl Visit for JsonFields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(
            field.name().to_owned(),
            serde_json::Value::String(format!("{value:?}")),
        );
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), value.into());
    }
}

impl<S, N> FormatEvent<S, N> for JsonWithTraceIds
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = JsonFields(serde_json::Map::new());
        event.record(&mut fields);
        let mut object = serde_json::Map::new();
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        object.insert("timestamp".into(), timestamp.into());
        object.insert("level".into(), event.metadata().level().as_str().into());
        object.insert("target".into(), event.metadata().target().into());
        if let Some(message) = fields.0.remove("message") {
            object.insert("message".into(), message);
        }
        if !fields.0.is_empty() {
            object.insert("fields".into(), fields.0.into());
        }
        if let Some(scope) = ctx.event_scope() {
            let spans: Vec<serde_json::Value> =
                scope.from_root().map(|span| span.name().into()).collect();
            object.insert("spans".into(), spans.into());
        }
        if let Some((trace_id, span_id)) = current_ids() {
            object.insert("trace_id".into(), trace_id.into());
            object.insert("span_id".into(), span_id.into());
        }
        let line = serde_json::Value::Object(object).to_string();
        writeln!(writer, "{line}")
    }
}

/// The field formatter both formats use.
pub(crate) type Fields = DefaultFields;
