//! The development exporter: each finished trace printed as a waterfall in the terminal.

use std::fmt;
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use tracewire_core::waterfall::{self, WaterfallSpan};

use crate::assembler::{Assembler, Evicted};

/// A span processor that prints each finished local trace as a waterfall: the indented span tree, a
/// bar per span on the trace's time axis, errors marked, the critical path drawn solid and the span
/// with the most self time marked slowest.
///
/// A trace is printed when its local root ends. At most 1,024 unfinished traces (16,384 spans) are held;
/// past that the oldest is printed as it is, marked incomplete.
///
/// ```
/// use opentelemetry_sdk::trace::SdkTracerProvider;
/// use tracewire::ConsoleWaterfall;
/// let provider = SdkTracerProvider::builder()
///     .with_span_processor(ConsoleWaterfall::stderr())
///     .build();
/// # drop(provider);
/// ```
pub struct ConsoleWaterfall {
    state: Mutex<Assembler>,
    out: Mutex<Box<dyn Write + Send>>,
    service: Option<String>,
    width: usize,
}

impl fmt::Debug for ConsoleWaterfall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleWaterfall")
            .field("service", &self.service)
            .field("width", &self.width)
            .finish_non_exhaustive()
    }
}

impl ConsoleWaterfall {
    /// Prints to standard error.
    pub fn stderr() -> Self {
        ConsoleWaterfall::to_writer(std::io::stderr())
    }

    /// Prints to `out` (a file, a buffer in tests).
    pub fn to_writer(out: impl Write + Send + 'static) -> Self {
        ConsoleWaterfall {
            state: Mutex::new(Assembler::new(1024, 16_384)),
            out: Mutex::new(Box::new(out)),
            service: None,
            width: 40,
        }
    }

    /// Bar width in characters (default 40).
    pub fn with_width(mut self, width: usize) -> Self {
        self.width = width.max(8);
        self
    }

    fn print(&self, spans: &[SpanData], complete: bool) {
        let converted: Vec<WaterfallSpan> = spans.iter().map(waterfall_span).collect();
        let mut text = String::new();
        if let Some(service) = &self.service {
            text.push_str(&format!("── {service} "));
        }
        if !complete {
            text.push_str("(incomplete: held too long, printed early) ");
        }
        text.push('\n');
        text.push_str(&waterfall::render(&converted, self.width));
        for span in spans {
            if let Status::Error { description } = &span.status
                && !description.is_empty()
            {
                text.push_str(&format!("   ! {}: {description}\n", span.name));
            }
        }
        if let Ok(mut out) = self.out.lock() {
            // A closed terminal must not take the application down: write errors are ignored.
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
    }
}

/// The waterfall renderer's view of an SDK span (for drawing spans you collected yourself with
/// [`tracewire_core::waterfall::render`]).
///
/// ```
/// use opentelemetry::trace::{Tracer, TracerProvider};
/// use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
/// let exporter = InMemorySpanExporter::default();
/// let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
/// provider.tracer("docs").in_span("work", |_| {});
/// let spans = exporter.get_finished_spans().unwrap_or_default();
/// let drawn: Vec<_> = spans.iter().map(tracewire::waterfall_span).collect();
/// assert!(tracewire_core::waterfall::render(&drawn, 20).contains("work [internal]"));
/// ```
pub fn waterfall_span(span: &SpanData) -> WaterfallSpan {
    WaterfallSpan {
        trace_id: u128::from_be_bytes(span.span_context.trace_id().to_bytes()),
        span_id: u64::from_be_bytes(span.span_context.span_id().to_bytes()),
        parent_span_id: u64::from_be_bytes(span.parent_span_id.to_bytes()),
        name: span.name.to_string(),
        kind: match span.span_kind {
            SpanKind::Server => "server",
            SpanKind::Client => "client",
            SpanKind::Producer => "producer",
            SpanKind::Consumer => "consumer",
            SpanKind::Internal => "internal",
        },
        start: span.start_time,
        end: span.end_time,
        error: matches!(span.status, Status::Error { .. }),
    }
}

impl SpanProcessor for ConsoleWaterfall {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        let mut evicted = Vec::new();
        let complete = match self.state.lock() {
            Ok(mut state) => state.push(span, &mut evicted),
            Err(_) => return,
        };
        for Evicted(spans) in evicted {
            self.print(&spans, false);
        }
        if let Some(spans) = complete {
            self.print(&spans, true);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        let pending = match self.state.lock() {
            Ok(mut state) => state.drain(),
            Err(_) => Vec::new(),
        };
        for spans in pending {
            self.print(&spans, false);
        }
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.service = resource
            .get(&opentelemetry::Key::from_static_str("service.name"))
            .map(|v| v.to_string());
    }
}
