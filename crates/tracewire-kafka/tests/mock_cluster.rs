//! tracewire-kafka against librdkafka's in-process mock cluster (a real Kafka protocol peer).

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use opentelemetry::trace::SpanKind;
use opentelemetry::{Context, Value};
use rdkafka::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{FutureProducer, FutureRecord};
use tracewire_core::span::Outcome;
use tracewire_kafka::{TracedConsumer, TracedProducer};
use tracewire_testing::SpanCapture;
use tracewire_testing::metrics::{measurements, total};

const WAIT: Duration = Duration::from_secs(10);

fn topic() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "tw-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

struct Kafka {
    cluster: MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
    capture: SpanCapture,
}

impl Kafka {
    fn new() -> Self {
        tracewire_core::propagation::install();
        Kafka {
            cluster: MockCluster::new(1).expect("mock cluster"),
            capture: SpanCapture::new(),
        }
    }

    fn plain_producer(&self) -> FutureProducer {
        ClientConfig::new()
            .set("bootstrap.servers", self.cluster.bootstrap_servers())
            .set("message.timeout.ms", "5000")
            .create()
            .expect("producer")
    }

    fn producer(&self) -> TracedProducer {
        TracedProducer::new(self.plain_producer())
            .with_instrumentation(self.capture.instrumentation("tracewire-kafka"))
            .with_client_id("checkout")
    }

    fn consumer(&self, topic: &str, group: &str) -> TracedConsumer {
        let consumer: StreamConsumer = ClientConfig::new()
            .set("bootstrap.servers", self.cluster.bootstrap_servers())
            .set("group.id", group)
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .create()
            .expect("consumer");
        consumer.subscribe(&[topic]).expect("subscribe");
        TracedConsumer::new(consumer, group)
            .with_instrumentation(self.capture.instrumentation("tracewire-kafka"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_and_process_join_one_trace() {
    let kafka = Kafka::new();
    let t = topic();
    kafka.cluster.create_topic(&t, 1, 1).expect("topic");
    let (partition, offset) = kafka
        .producer()
        .send(
            FutureRecord::to(&t)
                .key("order-42")
                .payload("{\"total\":10}"),
            WAIT,
        )
        .await
        .map_err(|(e, _)| e)
        .expect("send");
    let consumer = kafka.consumer(&t, "shipping");
    let message = tokio::time::timeout(WAIT, consumer.recv())
        .await
        .expect("in time")
        .expect("message");
    assert_eq!(message.payload(), Some(&b"{\"total\":10}"[..]));
    message.in_scope(async {}).await;
    consumer
        .commit_message(&message, CommitMode::Sync)
        .expect("commit");
    drop(message);

    let spans = kafka.capture.wait_for(3, WAIT).await;
    let send = spans
        .one(&format!("send {t}"))
        .assert_kind(SpanKind::Producer)
        .assert_root()
        .assert_attr("messaging.system", "kafka")
        .assert_attr("messaging.operation.name", "send")
        .assert_attr("messaging.operation.type", "send")
        .assert_attr("messaging.destination.name", t.clone())
        .assert_attr("messaging.kafka.message.key", "order-42")
        .assert_attr("messaging.message.body.size", 12i64)
        .assert_attr("messaging.client.id", "checkout")
        .assert_attr("messaging.destination.partition.id", partition.to_string())
        .assert_attr("messaging.kafka.offset", offset)
        .assert_unset();
    let process = spans
        .one(&format!("process {t}"))
        .assert_kind(SpanKind::Consumer)
        .assert_parent(&send)
        .assert_attr("messaging.operation.type", "process")
        .assert_attr("messaging.consumer.group.name", "shipping")
        .assert_attr("messaging.destination.partition.id", "0")
        .assert_attr("messaging.kafka.offset", offset)
        .assert_attr("messaging.kafka.message.key", "order-42")
        .assert_no_attr("messaging.kafka.message.tombstone");
    assert_eq!(process.links()[0].span_id(), send.span_id());
    spans
        .one(&format!("commit {t}"))
        .assert_kind(SpanKind::Client)
        .assert_parent(&process)
        .assert_attr("messaging.operation.type", "settle");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_headers_are_kept_and_stale_context_replaced() {
    let kafka = Kafka::new();
    let t = topic();
    kafka.cluster.create_topic(&t, 1, 1).expect("topic");
    let headers = OwnedHeaders::new()
        .insert(Header {
            key: "x-tenant",
            value: Some("acme"),
        })
        .insert(Header {
            key: "traceparent",
            value: Some("00-11111111111111111111111111111111-2222222222222222-01"),
        })
        .insert(Header {
            key: "blob",
            value: Some(&[0u8, 159, 146, 150][..]),
        });
    kafka
        .producer()
        .send(
            FutureRecord::to(&t).payload("x").key("k").headers(headers),
            WAIT,
        )
        .await
        .map_err(|(e, _)| e)
        .expect("send");
    let consumer = kafka.consumer(&t, "g");
    let message = tokio::time::timeout(WAIT, consumer.recv())
        .await
        .expect("in time")
        .expect("message");
    let received: Vec<(String, Option<Vec<u8>>)> = message
        .headers()
        .map(|h| {
            (0..h.count())
                .map(|i| {
                    let header = h.get(i);
                    (header.key.to_owned(), header.value.map(<[u8]>::to_vec))
                })
                .collect()
        })
        .unwrap_or_default();
    drop(message);
    let spans = kafka.capture.wait_for(2, WAIT).await;
    let send = spans.one(&format!("send {t}"));
    let keys: Vec<&str> = received.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        ["x-tenant", "blob", "traceparent"],
        "user headers first, one traceparent"
    );
    assert_eq!(received[1].1.as_deref(), Some(&[0u8, 159, 146, 150][..]));
    let tp = String::from_utf8(received[2].1.clone().expect("value")).expect("ascii");
    assert_eq!(tp, format!("00-{}-{}-03", send.trace_id(), send.span_id()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_headers_start_no_trace_and_reach_the_app_unchanged() {
    let kafka = Kafka::new();
    let t = topic();
    kafka.cluster.create_topic(&t, 1, 1).expect("topic");
    let headers = OwnedHeaders::new()
        .insert(Header {
            key: "traceparent",
            value: Some(&[0xffu8, 0xfe][..]),
        })
        .insert(Header {
            key: "traceparent",
            value: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        })
        .insert(Header::<&str> {
            key: "baggage",
            value: None,
        });
    kafka
        .plain_producer()
        .send(FutureRecord::<str, str>::to(&t).headers(headers), WAIT)
        .await
        .map_err(|(e, _)| e)
        .expect("send");
    let consumer = kafka.consumer(&t, "g");
    let message = tokio::time::timeout(WAIT, consumer.recv())
        .await
        .expect("in time")
        .expect("message");
    assert_eq!(message.payload(), None);
    assert_eq!(message.headers().map(|h| h.count()), Some(3));
    drop(message);
    let spans = kafka.capture.wait_for(1, WAIT).await;
    // Two traceparent headers: invalid, so the trace restarts and nothing is linked.
    let process = spans
        .one(&format!("process {t}"))
        .assert_root()
        .assert_attr("messaging.kafka.message.tombstone", true);
    assert!(process.links().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_delivery_is_an_error_with_the_kafka_code() {
    let kafka = Kafka::new();
    let metrics = tracewire_testing::MetricCapture::new();
    let t = topic();
    kafka.cluster.create_topic(&t, 1, 1).expect("topic");
    let producer = TracedProducer::new(
        ClientConfig::new()
            .set("bootstrap.servers", kafka.cluster.bootstrap_servers())
            .set("message.timeout.ms", "500")
            .create()
            .expect("producer"),
    )
    .with_instrumentation(metrics.instrumentation(
        kafka.capture.instrumentation("tracewire-kafka"),
        "tracewire-kafka",
    ));
    let result = producer
        .send(
            FutureRecord::to(&t).partition(7).payload("x").key("k"),
            WAIT,
        )
        .await;
    let (error, _) = result.expect_err("partition 7 does not exist");
    let expected = tracewire_kafka::error_type(&error);
    let spans = kafka.capture.spans();
    spans.one(&format!("send {t}")).assert_error(&expected);
    // The send's duration carries the same `error.type`.
    let durations = metrics.points("messaging.client.operation.duration");
    assert_eq!(durations.len(), 1, "{durations:?}");
    assert_eq!(durations[0].attr("error.type"), Some(expected.as_str()));
    assert_eq!(
        durations[0].attr("messaging.destination.name"),
        Some(t.as_str())
    );
    // The message is counted after its outcome, with the same `error.type`.
    let sent = metrics.points("messaging.client.sent.messages");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].attr("error.type"), Some(expected.as_str()));
    assert!(
        expected.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
        "{expected}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_span_links_every_message_and_a_worker_span_is_the_parent() {
    let kafka = Kafka::new();
    let t = topic();
    kafka.cluster.create_topic(&t, 1, 1).expect("topic");
    let producer = kafka.producer();
    for i in 0..3 {
        producer
            .send(
                FutureRecord::to(&t).key(&format!("k{i}")).payload("x"),
                WAIT,
            )
            .await
            .map_err(|(e, _)| e)
            .expect("send");
    }
    let consumer = kafka.consumer(&t, "batch");
    let mut batch = Vec::new();
    while batch.len() < 3 {
        let message = tokio::time::timeout(WAIT, consumer.inner().recv())
            .await
            .expect("in time")
            .expect("message");
        batch.push(message.detach());
    }
    let worker = kafka.capture.instrumentation("worker").start(
        SpanKind::Internal,
        "nightly",
        vec![],
        &Context::new(),
    );
    let span = worker
        .in_scope(async { consumer.process_batch(&batch) })
        .await;
    drop(span);
    worker.end(Outcome::Success);

    let spans = kafka.capture.wait_for(5, WAIT).await;
    let worker = spans.one("nightly");
    let process = spans
        .one(&format!("process {t}"))
        .assert_parent(&worker)
        .assert_attr("messaging.batch.message_count", 3i64);
    let sends: Vec<_> = spans.named(&format!("send {t}")).collect();
    let links = process.data().links.iter().collect::<Vec<_>>();
    assert_eq!(links.len(), 3);
    for link in links {
        assert!(
            sends
                .iter()
                .any(|s| s.span_id() == link.span_context.span_id())
        );
        assert!(
            link.attributes
                .iter()
                .any(|kv| kv.key.as_str() == "messaging.kafka.offset"
                    && matches!(kv.value, Value::I64(_)))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_of_two_topics_names_and_counts_each_message_by_its_own() {
    let kafka = Kafka::new();
    let metrics = tracewire_testing::MetricCapture::new();
    let (orders, refunds) = (topic(), topic());
    for t in [&orders, &refunds] {
        kafka.cluster.create_topic(t, 1, 1).expect("topic");
    }
    let instrumentation = || {
        metrics.instrumentation(
            kafka.capture.instrumentation("tracewire-kafka"),
            "tracewire-kafka",
        )
    };
    let producer =
        TracedProducer::new(kafka.plain_producer()).with_instrumentation(instrumentation());
    for t in [&orders, &refunds, &orders] {
        producer
            .send(FutureRecord::<str, str>::to(t).payload("x"), WAIT)
            .await
            .map_err(|(e, _)| e)
            .expect("send");
    }
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka.cluster.bootstrap_servers())
        .set("group.id", "ledger")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    consumer
        .subscribe(&[orders.as_str(), refunds.as_str()])
        .expect("subscribe");
    let consumer = TracedConsumer::new(consumer, "ledger").with_instrumentation(instrumentation());
    let mut seen = Vec::new();
    for _ in 0..3 {
        let mut message = tokio::time::timeout(WAIT, consumer.recv())
            .await
            .expect("in time")
            .expect("message");
        if message.topic() == refunds {
            message.record_error(&std::io::Error::other("refund rejected"));
        }
        seen.push(message.topic().to_owned());
    }
    seen.sort();
    let mut expected = vec![orders.clone(), orders.clone(), refunds.clone()];
    expected.sort();
    assert_eq!(seen, expected);

    let spans = kafka.capture.wait_for(6, WAIT).await;
    assert_eq!(spans.named(&format!("process {orders}")).len(), 2);
    spans
        .one(&format!("process {refunds}"))
        .assert_attr("messaging.destination.name", refunds.clone())
        .assert_attr("messaging.consumer.group.name", "ledger")
        .assert_error("std::io::error::Error");
    let consumed = metrics.points("messaging.client.consumed.messages");
    let count = |t: &str| total(&consumed, "messaging.destination.name", t);
    assert_eq!(
        (count(&orders), count(&refunds)),
        (2.0, 1.0),
        "{consumed:?}"
    );
    assert!(
        consumed
            .iter()
            .all(|p| p.attr("messaging.consumer.group.name") == Some("ledger"))
    );
    let sent = metrics.points("messaging.client.sent.messages");
    let sent_to = |t: &str| total(&sent, "messaging.destination.name", t);
    assert_eq!(
        (sent_to(&orders), sent_to(&refunds)),
        (2.0, 1.0),
        "{sent:?}"
    );
    let durations = metrics.points("messaging.client.operation.duration");
    let sends = measurements(&durations, "messaging.operation.name", "send");
    assert_eq!(sends, 3);
    let process = metrics.points("messaging.process.duration");
    assert_eq!(
        process.iter().map(|p| p.count).sum::<u64>(),
        3,
        "{process:?}"
    );
    let failed: Vec<_> = process
        .iter()
        .filter(|p| p.attr("error.type").is_some())
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        failed[0].attr("messaging.destination.name"),
        Some(refunds.as_str())
    );
}

#[tokio::test]
async fn each_metric_switch_turns_off_its_own_metrics_only() {
    for (duration, count) in [(false, true), (true, false)] {
        let kafka = Kafka::new();
        let metrics = tracewire_testing::MetricCapture::new();
        let t = topic();
        kafka.cluster.create_topic(&t, 1, 1).expect("topic");
        let producer = TracedProducer::new(kafka.plain_producer())
            .with_instrumentation(metrics.instrumentation(
                kafka.capture.instrumentation("tracewire-kafka"),
                "tracewire-kafka",
            ))
            .duration_metric(duration)
            .count_metric(count);
        producer
            .send(FutureRecord::<str, str>::to(&t).payload("x"), WAIT)
            .await
            .map_err(|(e, _)| e)
            .expect("send");
        let durations = metrics.points("messaging.client.operation.duration").len();
        let counts = metrics.points("messaging.client.sent.messages").len();
        assert_eq!(durations > 0, duration, "durations {durations}");
        assert_eq!(counts > 0, count, "counts {counts}");
        kafka
            .capture
            .wait_for(1, WAIT)
            .await
            .one(&format!("send {t}"));
    }
}
