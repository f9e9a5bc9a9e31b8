//! One messaging conformance suite, run by every messaging boundary (Kafka on librdkafka's mock
//! cluster, RabbitMQ on the local broker): the same flow — two messages sent, one processed well, one
//! whose processing fails with a long error — and the same assertions on what a user reads. A boundary
//! whose copy of the messaging rules drifts fails here.

mod common;

use std::time::Duration;

use futures_util::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicPublishOptions};
use opentelemetry::trace::SpanKind;
use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::FutureRecord;
use tracewire_core::limits::Limits;
use tracewire_core::span::Instrumentation;
use tracewire_testing::{MetricCapture, SpanCapture, Spans};

/// The longest description a span may carry in this suite.
const MAX_VALUE: usize = 24;

/// What a boundary's flow left behind.
struct Flow {
    system: &'static str,
    /// The send span's name and the process spans' name.
    send_name: String,
    process_name: String,
    spans: Spans,
    metrics: MetricCapture,
}

fn instrumentation(spans: &SpanCapture, metrics: &MetricCapture) -> Instrumentation {
    metrics
        .instrumentation(spans.instrumentation("conformance"), "conformance")
        .with_limits(Limits::default().with_max_value_len(MAX_VALUE))
}

fn long_error() -> std::io::Error {
    std::io::Error::other("the ledger refused the refund because ".repeat(20))
}

/// The rules every messaging boundary follows.
fn assert_conforms(flow: &Flow) {
    let spans = &flow.spans;
    let system = flow.system;
    let w = spans.waterfall();
    let sends: Vec<_> = spans.named(&flow.send_name).collect();
    assert_eq!(sends.len(), 2, "{system}: two send spans\n{w}");
    for send in &sends {
        send.assert_kind(SpanKind::Producer)
            .assert_attr("messaging.system", system)
            .assert_attr("messaging.operation.type", "send")
            .assert_unset();
    }
    let processes: Vec<_> = spans.named(&flow.process_name).collect();
    assert_eq!(processes.len(), 2, "{system}: two process spans\n{w}");
    let mut failed = 0;
    for process in &processes {
        process
            .assert_kind(SpanKind::Consumer)
            .assert_attr("messaging.system", system)
            .assert_attr("messaging.operation.type", "process");
        // Its parent is the send span of its message (no ambient span here).
        let parent = process
            .parent()
            .unwrap_or_else(|| panic!("{system}: process without parent\n{w}"));
        assert_eq!(parent.kind(), SpanKind::Producer, "{system}\n{w}");
        if let opentelemetry::trace::Status::Error { description } = process.status() {
            failed += 1;
            assert!(
                description.len() <= MAX_VALUE,
                "{system}: description {} bytes over the limit",
                description.len()
            );
            assert_eq!(
                process.event_count("exception"),
                1,
                "{system}: one exception event"
            );
            let message = process
                .event("exception")
                .into_iter()
                .find(|(k, _)| k.as_str() == "exception.message")
                .map(|(_, v)| v.as_str().len())
                .unwrap_or_default();
            assert!(
                message <= MAX_VALUE,
                "{system}: exception.message {message} bytes"
            );
            process.assert_event_attr("exception", "exception.type", "std::io::error::Error");
        }
    }
    assert_eq!(failed, 1, "{system}: one failed processing\n{w}");

    let metrics = &flow.metrics;
    let sent = metrics.points("messaging.client.sent.messages");
    assert_eq!(
        sent.iter().map(|p| p.value).sum::<f64>(),
        2.0,
        "{system}: {sent:?}"
    );
    assert!(
        sent.iter().all(|p| p.attr("error.type").is_none()),
        "{system}"
    );
    let consumed = metrics.points("messaging.client.consumed.messages");
    assert_eq!(
        consumed.iter().map(|p| p.value).sum::<f64>(),
        2.0,
        "{system}: {consumed:?}"
    );
    let process = metrics.points("messaging.process.duration");
    assert_eq!(
        process.iter().map(|p| p.count).sum::<u64>(),
        2,
        "{system}: {process:?}"
    );
    assert_eq!(
        process
            .iter()
            .filter(|p| p.attr("error.type").is_some())
            .map(|p| p.count)
            .sum::<u64>(),
        1,
        "{system}: the failed processing's duration carries error.type"
    );
    let operations = metrics.points("messaging.client.operation.duration");
    assert!(
        operations
            .iter()
            .filter(|p| p.attr("messaging.operation.type") == Some("send"))
            .map(|p| p.count)
            .sum::<u64>()
            == 2,
        "{system}: {operations:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_conforms() {
    tracewire_core::propagation::install();
    let (spans, metrics) = (SpanCapture::new(), MetricCapture::new());
    let cluster = MockCluster::new(1).expect("mock cluster");
    let topic = "conformance";
    cluster.create_topic(topic, 1, 1).expect("topic");
    let producer = tracewire_kafka::TracedProducer::new(
        ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .create()
            .expect("producer"),
    )
    .with_instrumentation(instrumentation(&spans, &metrics));
    for _ in 0..2 {
        producer
            .send(
                FutureRecord::<str, str>::to(topic).payload("{}"),
                Duration::from_secs(5),
            )
            .await
            .map_err(|(e, _)| e)
            .expect("send");
    }
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .set("group.id", "conformance")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let consumer = tracewire_kafka::TracedConsumer::new(consumer, "conformance")
        .with_instrumentation(instrumentation(&spans, &metrics));
    for i in 0..2 {
        let mut message = tokio::time::timeout(Duration::from_secs(15), consumer.recv())
            .await
            .expect("in time")
            .expect("message");
        if i == 1 {
            message.record_error(&long_error());
        }
    }
    let flow = Flow {
        system: "kafka",
        send_name: format!("send {topic}"),
        process_name: format!("process {topic}"),
        spans: spans.wait_for(4, Duration::from_secs(10)).await,
        metrics,
    };
    assert_conforms(&flow);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rabbitmq_conforms() {
    tracewire_core::propagation::install();
    let (spans, metrics) = (SpanCapture::new(), MetricCapture::new());
    let connection =
        tracewire_lapin::connect("amqp://guest:guest@127.0.0.1:5672/%2f", Default::default())
            .await
            .expect("RabbitMQ")
            .with_instrumentation(instrumentation(&spans, &metrics));
    let channel = connection.create_channel().await.expect("channel");
    let queue = format!("tw.conformance.{}", std::process::id());
    common::exclusive_queue(&channel, &queue).await;
    for _ in 0..2 {
        channel
            .basic_publish(
                "".into(),
                queue.as_str().into(),
                BasicPublishOptions::default(),
                b"{}",
                Default::default(),
            )
            .await
            .expect("publish");
    }
    let mut deliveries = channel
        .basic_consume(
            queue.as_str().into(),
            "conformance".into(),
            BasicConsumeOptions::default(),
            Default::default(),
        )
        .await
        .expect("consume");
    for i in 0..2 {
        let mut delivery = tokio::time::timeout(Duration::from_secs(10), deliveries.next())
            .await
            .expect("in time")
            .expect("open")
            .expect("delivery");
        if i == 1 {
            delivery.record_error(&long_error());
        }
        delivery.ack(BasicAckOptions::default()).await.expect("ack");
    }
    let flow = Flow {
        system: "rabbitmq",
        send_name: format!("publish {queue}"),
        process_name: format!("process {queue}"),
        spans: spans.wait_for(4, Duration::from_secs(10)).await,
        metrics,
    };
    assert_conforms(&flow);
    drop(connection);
}
