//! The console waterfall exporter, and log lines that carry trace and span ids.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use opentelemetry::Context;
use opentelemetry::trace::{
    Span as _, SpanKind, Status, TraceContextExt, Tracer, TracerProvider as _,
};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracewire::ConsoleWaterfall;
use tracewire::logs::{JsonWithTraceIds, TextWithTraceIds};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
    }
}

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[test]
fn each_finished_trace_is_printed_as_a_waterfall() {
    let out = Buffer::default();
    let provider = SdkTracerProvider::builder()
        .with_resource(
            Resource::builder_empty()
                .with_service_name("checkout")
                .build(),
        )
        .with_span_processor(ConsoleWaterfall::to_writer(out.clone()).with_width(30))
        .build();
    let tracer = provider.tracer("console-test");
    let t0 = SystemTime::now();
    let at = |ms| t0 + Duration::from_millis(ms);

    let root = tracer
        .span_builder("POST /checkout")
        .with_kind(SpanKind::Server)
        .with_start_time(at(0))
        .start(&tracer);
    let cx = Context::new().with_span(root);
    let mut inventory = tracer
        .span_builder("SELECT inventory")
        .with_kind(SpanKind::Client)
        .with_start_time(at(25))
        .start_with_context(&tracer, &cx);
    inventory.end_with_timestamp(at(60));
    let mut payment = tracer
        .span_builder("POST")
        .with_kind(SpanKind::Client)
        .with_start_time(at(20))
        .start_with_context(&tracer, &cx);
    payment.set_status(Status::error("card declined"));
    payment.end_with_timestamp(at(180));
    assert_eq!(out.text(), "", "nothing printed before the root ends");
    cx.span().end_with_timestamp(at(200));

    let text = out.text();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("checkout"), "{text}");
    assert!(
        lines[1].contains("200.000 ms, 3 spans, 1 with errors"),
        "{text}"
    );
    let line = |name: &str| {
        *lines
            .iter()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} in {text}"))
    };
    // The tree: children indented under the root; the payment call is on the critical path, slow and
    // failed; the inventory query ran in parallel with it and did not hold the request up.
    assert!(
        line("POST /checkout").starts_with("*POST /checkout [server]"),
        "{text}"
    );
    assert!(
        line("SELECT inventory").starts_with("   SELECT inventory [client]"),
        "{text}"
    );
    let payment = line("POST [client]");
    assert!(payment.starts_with("*  POST [client]"), "{text}");
    assert!(
        payment.contains("ERROR") && payment.contains("<- slowest"),
        "{text}"
    );
    assert!(
        payment.contains('█') && line("SELECT inventory").contains('░'),
        "{text}"
    );
    assert!(text.contains("! POST: card declined"), "{text}");
    let _ = provider.shutdown();
}

#[test]
fn log_lines_carry_the_current_trace_and_span_ids() {
    let provider = SdkTracerProvider::builder().build();
    let tracer = provider.tracer("logs-test");
    let span = tracer.start("handler");
    let trace_id = span.span_context().trace_id().to_string();
    let span_id = span.span_context().span_id().to_string();
    let cx = Context::new().with_span(span);

    let text = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .event_format(TextWithTraceIds::default())
        .with_writer(text.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!("outside any trace");
        let _attached = cx.clone().attach();
        tracing::info!(order_id = 42, "order placed");
    });
    let output = text.text();
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines.len(), 2, "{output}");
    assert!(!lines[0].contains("trace_id="), "{output}");
    assert!(lines[1].contains("order placed"), "{output}");
    assert!(lines[1].contains("order_id=42"), "{output}");
    assert!(
        lines[1].ends_with(&format!("trace_id={trace_id} span_id={span_id}")),
        "{output}"
    );

    let json = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .event_format(JsonWithTraceIds)
        .with_writer(json.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let _attached = cx.clone().attach();
        let _span = tracing::info_span!("load_order").entered();
        tracing::warn!(order_id = 42, retry = true, "slow \"query\"");
    });
    let output = json.text();
    let value: serde_json::Value = serde_json::from_str(output.trim()).expect("one JSON line");
    assert_eq!(value["level"], "WARN");
    assert_eq!(value["message"], "slow \"query\"");
    assert_eq!(value["fields"]["order_id"], 42);
    assert_eq!(value["fields"]["retry"], true);
    assert_eq!(value["spans"][0], "load_order");
    assert_eq!(value["trace_id"], trace_id.as_str());
    assert_eq!(value["span_id"], span_id.as_str());
    cx.span().end();
    let _ = provider.shutdown();
}
