//! The callback-style clients (`BaseProducer`, `ThreadedProducer`, `BaseConsumer`) against librdkafka's
//! mock cluster, and redelivery after a consumer-group rebalance keeping the links right.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry::trace::{SpanKind, Status};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{
    BaseProducer, BaseRecord, DeliveryResult, ProducerContext, ThreadedProducer,
};
use rdkafka::types::RDKafkaErrorCode;
use tracewire_kafka::{
    TracedBaseConsumer, TracedBaseProducer, TracedThreadedProducer, TracingProducerContext,
};
use tracewire_testing::SpanCapture;

const WAIT: Duration = Duration::from_secs(10);

fn topic() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "twcb-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// The application's own producer context: it must still get every report, with its own opaque.
#[derive(Clone, Default)]
struct AppContext {
    reports: Arc<Mutex<Vec<(u32, bool)>>>,
}

impl rdkafka::ClientContext for AppContext {}

impl ProducerContext for AppContext {
    type DeliveryOpaque = Box<u32>;
    fn delivery(&self, result: &DeliveryResult<'_>, opaque: Self::DeliveryOpaque) {
        if let Ok(mut reports) = self.reports.lock() {
            reports.push((*opaque, result.is_ok()));
        }
    }
}

fn config(
    cluster: &MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .set("message.timeout.ms", "5000");
    config
}

#[test]
fn base_producer_spans_end_at_the_delivery_report_and_the_app_context_still_hears_it() {
    tracewire_core::propagation::install();
    let cluster = MockCluster::new(1).expect("mock cluster");
    let capture = SpanCapture::new();
    let t = topic();
    cluster.create_topic(&t, 1, 1).expect("topic");
    let app = AppContext::default();
    let producer: BaseProducer<TracingProducerContext<AppContext>> = config(&cluster)
        .create_with_context(TracingProducerContext::new(app.clone()))
        .expect("producer");
    let producer = TracedBaseProducer::new(producer)
        .with_instrumentation(capture.instrumentation("tracewire-kafka"))
        .with_client_id("billing");

    for n in 0..3u32 {
        producer
            .send(
                BaseRecord::with_opaque_to(&t, Box::new(n))
                    .key("k")
                    .payload("{}"),
            )
            .map_err(|(e, _)| e)
            .expect("enqueued");
    }
    assert!(capture.spans().is_empty(), "nothing ends before its report");
    producer.flush(WAIT).expect("flush");
    let deadline = Instant::now() + WAIT;
    while app.reports.lock().map(|r| r.len()).unwrap_or(0) < 3 && Instant::now() < deadline {
        producer.poll(Duration::from_millis(50));
    }
    let mut reports = app.reports.lock().expect("reports").clone();
    reports.sort();
    assert_eq!(
        reports,
        [(0, true), (1, true), (2, true)],
        "the app's opaque comes back"
    );

    let spans = capture.spans();
    let sends: Vec<_> = spans.named(&format!("send {t}")).collect();
    assert_eq!(sends.len(), 3, "{}", spans.waterfall());
    let mut offsets: Vec<i64> = Vec::new();
    for send in &sends {
        send.assert_kind(SpanKind::Producer)
            .assert_attr("messaging.client.id", "billing")
            .assert_attr("messaging.destination.partition.id", "0")
            .assert_unset();
        if let Some(opentelemetry::Value::I64(offset)) = send.attribute("messaging.kafka.offset") {
            offsets.push(*offset);
        }
    }
    offsets.sort();
    assert_eq!(offsets, [0, 1, 2]);
}

#[test]
fn a_refused_record_comes_back_to_the_app_and_its_span_fails() {
    let cluster = MockCluster::new(1).expect("mock cluster");
    let capture = SpanCapture::new();
    let producer: BaseProducer<TracingProducerContext<AppContext>> = config(&cluster)
        .set("queue.buffering.max.messages", "1")
        .create_with_context(TracingProducerContext::new(AppContext::default()))
        .expect("producer");
    let producer = TracedBaseProducer::new(producer)
        .with_instrumentation(capture.instrumentation("tracewire-kafka"));
    let t = topic();
    cluster.create_topic(&t, 1, 1).expect("topic");
    producer
        .send(BaseRecord::<(), str, _>::with_opaque_to(&t, Box::new(1)).payload("a"))
        .map_err(|(e, _)| e)
        .expect("first fits");
    let (error, record) = producer
        .send(BaseRecord::<(), str, _>::with_opaque_to(&t, Box::new(2)).payload("b"))
        .expect_err("the queue holds one");
    assert_eq!(
        error.rdkafka_error_code(),
        Some(RDKafkaErrorCode::QueueFull)
    );
    assert_eq!(
        *record.delivery_opaque, 2,
        "the app's record comes back whole"
    );
    assert_eq!(record.payload, Some("b"));
    let spans = capture.spans();
    spans
        .one(&format!("send {t}"))
        .assert_attr("error.type", "QUEUE_FULL");
    producer.flush(WAIT).expect("flush");
}

#[test]
fn threaded_producer_and_base_consumer_join_one_trace() {
    tracewire_core::propagation::install();
    let cluster = MockCluster::new(1).expect("mock cluster");
    let capture = SpanCapture::new();
    let t = topic();
    cluster.create_topic(&t, 1, 1).expect("topic");
    let producer: ThreadedProducer<TracingProducerContext> = config(&cluster)
        .create_with_context(TracingProducerContext::new(
            rdkafka::producer::DefaultProducerContext,
        ))
        .expect("producer");
    let producer = TracedThreadedProducer::new(producer)
        .with_instrumentation(capture.instrumentation("tracewire-kafka"));
    producer
        .send(BaseRecord::to(&t).key("order-7").payload("{}"))
        .map_err(|(e, _)| e)
        .expect("enqueued");
    producer.flush(WAIT).expect("flush");
    let send_spans = {
        let deadline = Instant::now() + WAIT;
        loop {
            let spans = capture.spans();
            if spans.len() == 1 || Instant::now() > deadline {
                break spans;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    assert_eq!(
        send_spans.len(),
        1,
        "the producer's own thread ended the span"
    );

    let consumer: BaseConsumer = config(&cluster)
        .set("group.id", "billing")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    consumer.subscribe(&[&t]).expect("subscribe");
    let consumer = TracedBaseConsumer::new(consumer, "billing")
        .with_instrumentation(capture.instrumentation("tracewire-kafka"));
    let deadline = Instant::now() + WAIT;
    let message = loop {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => break message,
            Some(Err(e)) => panic!("poll: {e}"),
            None => assert!(Instant::now() < deadline, "a message in time"),
        }
    };
    assert_eq!(message.key(), Some(&b"order-7"[..]));
    drop(message);

    let spans = capture.spans();
    let send = spans.one(&format!("send {t}")).assert_root();
    let process = spans
        .one(&format!("process {t}"))
        .assert_kind(SpanKind::Consumer)
        .assert_parent(&send)
        .assert_attr("messaging.consumer.group.name", "billing");
    assert_eq!(process.links()[0].span_id(), send.span_id());
}

#[test]
fn a_message_redelivered_after_a_rebalance_links_to_the_same_send() {
    tracewire_core::propagation::install();
    let cluster = MockCluster::new(1).expect("mock cluster");
    let capture = SpanCapture::new();
    let t = topic();
    cluster.create_topic(&t, 1, 1).expect("topic");
    let producer: BaseProducer<TracingProducerContext> = config(&cluster)
        .create_with_context(TracingProducerContext::new(
            rdkafka::producer::DefaultProducerContext,
        ))
        .expect("producer");
    let producer = TracedBaseProducer::new(producer)
        .with_instrumentation(capture.instrumentation("tracewire-kafka"));
    producer
        .send(BaseRecord::<(), str>::to(&t).payload("{}"))
        .map_err(|(e, _)| e)
        .expect("enqueued");
    producer.flush(WAIT).expect("flush");

    let member = || {
        let consumer: BaseConsumer = config(&cluster)
            .set("group.id", "redelivery")
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .set("session.timeout.ms", "6000")
            .create()
            .expect("consumer");
        consumer.subscribe(&[&t]).expect("subscribe");
        TracedBaseConsumer::new(consumer, "redelivery")
            .with_instrumentation(capture.instrumentation("tracewire-kafka"))
    };
    let first_poll = |consumer: &TracedBaseConsumer| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match consumer.poll(Duration::from_millis(100)) {
                Some(Ok(message)) => break message.offset(),
                Some(Err(e)) => panic!("poll: {e}"),
                None => assert!(Instant::now() < deadline, "a message in time"),
            }
        }
    };
    // The first member takes the message, fails to commit, and leaves the group.
    let first = member();
    let offset = first_poll(&first);
    first.inner().unsubscribe();
    drop(first);
    // After the rebalance the next member gets the same message again.
    let second = member();
    assert_eq!(first_poll(&second), offset, "redelivered");

    let spans = capture.spans();
    let send = spans.one(&format!("send {t}"));
    let processes: Vec<_> = spans.named(&format!("process {t}")).collect();
    assert_eq!(processes.len(), 2, "{}", spans.waterfall());
    for process in &processes {
        process.assert_parent(&send).assert_linked_to(&send);
        assert_eq!(process.links().len(), 1);
        assert_eq!(process.status(), &Status::Unset);
    }
    assert_ne!(processes[0].span_id(), processes[1].span_id());
}
