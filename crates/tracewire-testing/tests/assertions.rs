//! The test kit's link and event assertions pass on what is there and fail (with the waterfall) on what
//! is not.

use opentelemetry::trace::{Link, Span as _, TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use tracewire_testing::SpanCapture;

fn two_linked_spans(capture: &SpanCapture) {
    let tracer = capture.provider().tracer("assertions");
    let mut first = tracer.start("first");
    let first_cx = first.span_context().clone();
    first.add_event(
        "exception",
        vec![KeyValue::new("exception.type", "PaymentDeclined")],
    );
    first.end();
    let second = tracer
        .span_builder("second")
        .with_links(vec![Link::with_context(first_cx)])
        .start(&tracer);
    Context::new().with_span(second).span().end();
}

#[test]
fn links_and_event_attributes_are_asserted() {
    let capture = SpanCapture::new();
    two_linked_spans(&capture);
    let spans = capture.spans();
    let first =
        spans
            .one("first")
            .assert_event_attr("exception", "exception.type", "PaymentDeclined");
    spans.one("second").assert_linked_to(&first);
}

#[test]
#[should_panic(expected = "no link to \"second\"")]
fn a_missing_link_fails() {
    let capture = SpanCapture::new();
    two_linked_spans(&capture);
    let spans = capture.spans();
    let second = spans.one("second");
    spans.one("first").assert_linked_to(&second);
}

#[test]
#[should_panic(expected = "no event \"exception\" with exception.type")]
fn a_wrong_event_attribute_fails() {
    let capture = SpanCapture::new();
    two_linked_spans(&capture);
    capture
        .spans()
        .one("first")
        .assert_event_attr("exception", "exception.type", "Timeout");
}
