//! tracewire-kafka end to end against tansu, a Kafka-compatible broker, on 127.0.0.1. `.ci/run` installs
//! tansu into `$HOME/.cache/tansu` when it is missing; `TANSU_BIN` points elsewhere.

use std::time::Duration;

use opentelemetry::trace::SpanKind;
use rdkafka::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::FutureRecord;
use tracewire_kafka::{TracedConsumer, TracedProducer};
use tracewire_testing::SpanCapture;
use tracewire_testing::tansu::TansuBroker;

const WAIT: Duration = Duration::from_secs(30);

struct Tansu(TansuBroker);

impl Tansu {
    fn start() -> Self {
        Tansu(TansuBroker::start())
    }

    fn create_topic(&self, name: &str) {
        self.0.create_topic(name, 1);
    }

    fn consumer(&self, topic: &str, group: &str, capture: &SpanCapture) -> TracedConsumer {
        let consumer: StreamConsumer = ClientConfig::new()
            .set("bootstrap.servers", self.0.bootstrap_servers())
            .set("group.id", group)
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .create()
            .expect("consumer");
        consumer.subscribe(&[topic]).expect("subscribe");
        TracedConsumer::new(consumer, group)
            .with_instrumentation(capture.instrumentation("tracewire-kafka"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_sent_through_tansu_joins_the_consumers_trace_and_a_redelivery_keeps_the_link() {
    tracewire_core::propagation::install();
    let tansu = Tansu::start();
    let capture = SpanCapture::new();
    tansu.create_topic("orders");
    let producer = TracedProducer::new(
        ClientConfig::new()
            .set("bootstrap.servers", tansu.0.bootstrap_servers())
            .create()
            .expect("producer"),
    )
    .with_instrumentation(capture.instrumentation("tracewire-kafka"));
    producer
        .send(FutureRecord::to("orders").key("o-7").payload("{}"), WAIT)
        .await
        .map_err(|(e, _)| e)
        .expect("send");

    // First consumer reads without committing, then leaves: the record is delivered again.
    {
        let consumer = tansu.consumer("orders", "shipping", &capture);
        let message = tokio::time::timeout(WAIT, consumer.recv())
            .await
            .expect("in time")
            .expect("message");
        assert_eq!(message.key(), Some(&b"o-7"[..]));
    }
    let consumer = tansu.consumer("orders", "shipping", &capture);
    let message = tokio::time::timeout(WAIT, consumer.recv())
        .await
        .expect("in time")
        .expect("message");
    consumer
        .commit_message(&message, CommitMode::Sync)
        .expect("commit");
    drop(message);

    let spans = capture.wait_for(4, WAIT).await;
    let send = spans.one("send orders").assert_kind(SpanKind::Producer);
    let processes: Vec<_> = spans.named("process orders").collect();
    assert_eq!(processes.len(), 2, "{}", spans.waterfall());
    for process in &processes {
        process
            .assert_kind(SpanKind::Consumer)
            .assert_parent(&send)
            .assert_attr("messaging.consumer.group.name", "shipping");
        assert_eq!(process.links()[0].span_id(), send.span_id());
    }
    spans
        .one("commit orders")
        .assert_attr("messaging.operation.type", "settle");
}
