use super::*;
use crate::operation::Operation;
use crate::span::SpanError;

#[test]
fn repeated_attribute_sets_are_measured_through_one_bound_handle() {
    let sets: BoundSets<u32> = BoundSets::new();
    let attributes = [
        KeyValue::new("messaging.system", "kafka"),
        KeyValue::new("messaging.destination.name", String::from("orders")),
        KeyValue::new("server.port", 9092),
    ];
    let mut binds = 0;
    for _ in 0..3 {
        let same: Vec<KeyValue> = attributes.to_vec();
        assert!(sets.measure(
            &same,
            || {
                binds += 1;
                7
            },
            |h| assert_eq!(*h, 7)
        ));
    }
    assert_eq!(binds, 1);
}

#[test]
fn a_bound_set_exports_nothing_until_measured() {
    let metrics = tracewire_testing::MetricCapture::new();
    let instrumentation = Instrumentation::global("t").with_meter(metrics.meter("t"));
    let histogram = Histogram::new(MESSAGING_PROCESS_DURATION);
    let set = histogram.bind(&instrumentation, vec![KeyValue::new("q", "orders")]);
    // Only failures so far: their points carry `error.type`, and the bound set has none.
    set.record_with(1.0, &[KeyValue::new("error.type", "timeout")]);
    let points = metrics.points("messaging.process.duration");
    assert_eq!(points.len(), 1, "{points:?}");
    assert_eq!(points[0].attr("error.type"), Some("timeout"));
    set.clone().record(2.0);
    set.record(3.0);
    // Measured unbound with the same attributes: the same point.
    histogram.record(&instrumentation, 4.0, &[KeyValue::new("q", "orders")]);
    let points = metrics.points("messaging.process.duration");
    let ok = points.iter().find(|p| p.attr("error.type").is_none());
    assert_eq!(ok.map(|p| (p.count, p.value)), Some((3, 9.0)), "{points:?}");

    let counter = Counter::new(MESSAGING_CLIENT_CONSUMED_MESSAGES);
    let consumed = counter.bind(&instrumentation, &[KeyValue::new("q", "orders")]);
    assert!(
        metrics
            .points("messaging.client.consumed.messages")
            .is_empty()
    );
    consumed.add(5);
    assert_eq!(
        metrics.points("messaging.client.consumed.messages")[0].value,
        5.0
    );
}

#[test]
fn a_bound_measured_span_takes_added_attributes_and_errors() {
    use opentelemetry::Context;
    use opentelemetry::trace::SpanKind;
    let spans = tracewire_testing::SpanCapture::new();
    let metrics = tracewire_testing::MetricCapture::new();
    // This crate's own `Instrumentation` (the test kit links another build of tracewire-core).
    let instrumentation =
        Instrumentation::with_provider(spans.provider(), "t").with_meter(metrics.meter("t"));
    let histogram = Histogram::new(MESSAGING_PROCESS_DURATION);
    let set = histogram.bind(&instrumentation, vec![KeyValue::new("q", "orders")]);
    let start = || instrumentation.start(SpanKind::Consumer, "p", vec![], &Context::new());
    drop(Operation::bound(start(), set.clone()));
    let mut extended = Operation::bound(start(), set.clone());
    extended.push_metric_attribute(KeyValue::new("partition", "3"));
    assert_eq!(extended.metric_attributes().len(), 2);
    extended.fail(SpanError::new("poison"));
    drop(extended);

    let points = metrics.points("messaging.process.duration");
    assert_eq!(points.len(), 2, "{points:?}");
    let plain = points.iter().find(|p| p.attr("partition").is_none());
    assert_eq!(plain.map(|p| p.count), Some(1));
    let extended = points.iter().find(|p| p.attr("partition") == Some("3"));
    assert_eq!(extended.and_then(|p| p.attr("q")), Some("orders"));
    assert_eq!(extended.and_then(|p| p.attr("error.type")), Some("poison"));
    assert_eq!(spans.spans().len(), 2);
}

#[test]
fn past_the_limit_nothing_more_is_bound() {
    let sets: BoundSets<usize> = BoundSets::new();
    for i in 0..MAX_BOUND_SETS + 10 {
        let attributes = [KeyValue::new("id", i as i64)];
        let bound = sets.measure(&attributes, || i, |h| assert_eq!(*h, i));
        assert_eq!(bound, i < MAX_BOUND_SETS);
    }
}
