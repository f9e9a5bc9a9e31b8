//! tracewire-lapin against a real RabbitMQ at 127.0.0.1:5672 (guest/guest).

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use lapin::options::*;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, ExchangeKind};
use opentelemetry::trace::{SpanKind, TraceContextExt};
use opentelemetry::{Context, Value};
use tracewire_core::span::Outcome;
use tracewire_lapin::{TracedChannel, TracedConsumer};
use tracewire_testing::SpanCapture;
use tracewire_testing::metrics::{measurements, total};

const URI: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

fn name(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "tw.{prefix}.{}.{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

async fn channel(capture: &SpanCapture) -> TracedChannel {
    tracewire_core::propagation::install();
    let connection = tracewire_lapin::connect(URI, Default::default())
        .await
        .expect("RabbitMQ at 127.0.0.1:5672")
        .with_instrumentation(capture.instrumentation("tracewire-lapin"));
    let channel = connection
        .create_channel()
        .await
        .expect("channel")
        .with_settle_spans(true);
    // The connection must outlive the test's channel.
    std::mem::forget(connection);
    channel
}

/// A channel whose spans and metrics are captured (no settle spans).
async fn metered_channel() -> (SpanCapture, tracewire_testing::MetricCapture, TracedChannel) {
    let capture = SpanCapture::new();
    let metrics = tracewire_testing::MetricCapture::new();
    tracewire_core::propagation::install();
    let connection = tracewire_lapin::connect(URI, Default::default())
        .await
        .expect("RabbitMQ at 127.0.0.1:5672")
        .with_instrumentation(metrics.instrumentation(
            capture.instrumentation("tracewire-lapin"),
            "tracewire-lapin",
        ));
    let channel = connection.create_channel().await.expect("channel");
    // The connection must outlive the test's channel.
    std::mem::forget(connection);
    (capture, metrics, channel)
}

/// Publishes `x` through `channel` with default options and properties (not waiting for a confirm).
async fn publish(channel: &TracedChannel, exchange: &str, routing_key: &str) {
    channel
        .basic_publish(
            exchange.into(),
            routing_key.into(),
            BasicPublishOptions::default(),
            b"x",
            BasicProperties::default(),
        )
        .await
        .expect("publish");
}

/// The names of the CONSUMER spans, in the order they started.
fn consumer_span_names(spans: &tracewire_testing::Spans) -> Vec<String> {
    let mut process: Vec<_> = spans
        .data()
        .iter()
        .filter(|s| s.span_kind == SpanKind::Consumer)
        .map(|s| (s.start_time, s.name.to_string()))
        .collect();
    process.sort();
    process.into_iter().map(|(_, name)| name).collect()
}

/// A queue removed once its consumers are gone.
async fn queue(channel: &TracedChannel, name: &str) {
    declare(
        channel,
        name,
        QueueDeclareOptions {
            auto_delete: true,
            ..Default::default()
        },
    )
    .await;
}

/// A queue that goes away with the connection (for queues nothing else consumes).
async fn exclusive_queue(channel: &TracedChannel, name: &str) {
    declare(
        channel,
        name,
        QueueDeclareOptions {
            exclusive: true,
            ..Default::default()
        },
    )
    .await;
}

async fn declare(channel: &TracedChannel, name: &str, options: QueueDeclareOptions) {
    channel
        .queue_declare(name.into(), options, FieldTable::default())
        .await
        .expect("queue");
}

async fn consume(channel: &TracedChannel, queue: &str) -> TracedConsumer {
    channel
        .basic_consume(
            queue.into(),
            name("tag").into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("consume")
}

async fn next(consumer: &mut TracedConsumer) -> tracewire_lapin::TracedDelivery {
    tokio::time::timeout(Duration::from_secs(10), consumer.next())
        .await
        .expect("a delivery in time")
        .expect("stream open")
        .expect("delivery")
}

#[tokio::test]
async fn publish_and_consume_join_one_trace_on_every_exchange_kind() {
    let capture = SpanCapture::new();
    let channel = channel(&capture).await;
    for kind in [
        None,
        Some(ExchangeKind::Direct),
        Some(ExchangeKind::Topic),
        Some(ExchangeKind::Fanout),
    ] {
        capture.reset();
        let q = name("q");
        queue(&channel, &q).await;
        let (exchange, routing_key) = match &kind {
            None => (String::new(), q.clone()),
            Some(kind) => {
                let ex = name("ex");
                let (binding, key) = match kind {
                    ExchangeKind::Topic => ("orders.*", "orders.created"),
                    ExchangeKind::Fanout => ("", "ignored"),
                    _ => ("created", "created"),
                };
                bind_new_exchange(&channel, &q, &ex, kind.clone(), binding).await;
                (ex, key.to_owned())
            }
        };
        let mut consumer = consume(&channel, &q).await;
        let properties = BasicProperties::default()
            .with_message_id("m-1".into())
            .with_correlation_id("order-42".into());
        channel
            .basic_publish(
                exchange.as_str().into(),
                routing_key.as_str().into(),
                BasicPublishOptions::default(),
                b"hello",
                properties,
            )
            .await
            .expect("publish")
            .await
            .expect("confirm");
        let delivery = next(&mut consumer).await;
        assert_eq!(delivery.data, b"hello");
        delivery.ack(BasicAckOptions::default()).await.expect("ack");
        drop(delivery);

        let publish_name = tracewire_lapin::publish_destination(&exchange, &routing_key);
        let consume_name = tracewire_lapin::consume_destination(&exchange, &routing_key, &q);
        let spans = capture.wait_for(3, Duration::from_secs(5)).await;
        let producer = spans
            .one(&format!("publish {publish_name}"))
            .assert_kind(SpanKind::Producer)
            .assert_root()
            .assert_attr("messaging.system", "rabbitmq")
            .assert_attr("messaging.operation.name", "publish")
            .assert_attr("messaging.operation.type", "send")
            .assert_attr("messaging.destination.name", publish_name.clone())
            .assert_attr("messaging.message.id", "m-1")
            .assert_attr("messaging.message.conversation_id", "order-42")
            .assert_attr("messaging.message.body.size", 5i64)
            .assert_attr("server.address", "127.0.0.1")
            .assert_attr("server.port", 5672i64);
        let process = spans
            .one(&format!("process {consume_name}"))
            .assert_kind(SpanKind::Consumer)
            .assert_parent(&producer)
            .assert_attr("messaging.operation.type", "process")
            .assert_attr("messaging.destination.name", consume_name.clone())
            .assert_attr("messaging.message.id", "m-1")
            .assert_no_attr("messaging.rabbitmq.message.redelivered");
        assert!(
            process
                .attribute("messaging.rabbitmq.message.delivery_tag")
                .is_some()
        );
        let links = process.links();
        assert_eq!(links.len(), 1);
        assert_eq!(links[0].span_id(), producer.span_id());
        spans
            .one(&format!("ack {consume_name}"))
            .assert_kind(SpanKind::Client)
            .assert_parent(&process)
            .assert_attr("messaging.operation.type", "settle");
    }
}

#[tokio::test]
async fn a_redelivery_after_a_nack_keeps_the_link_to_the_producer() {
    let capture = SpanCapture::new();
    let channel = channel(&capture).await;
    let q = name("redeliver");
    queue(&channel, &q).await;
    let mut consumer = consume(&channel, &q).await;
    publish(&channel, "", q.as_str()).await;
    let first = next(&mut consumer).await;
    first
        .nack(BasicNackOptions {
            requeue: true,
            ..Default::default()
        })
        .await
        .expect("nack");
    drop(first);
    let second = next(&mut consumer).await;
    assert!(second.redelivered);
    second.ack(BasicAckOptions::default()).await.expect("ack");
    drop(second);

    let spans = capture.wait_for(5, Duration::from_secs(5)).await;
    let producer = spans.one(&format!("publish {q}"));
    let processes: Vec<_> = spans.named(&format!("process {q}")).collect();
    assert_eq!(processes.len(), 2);
    for process in &processes {
        process.assert_parent(&producer);
        assert_eq!(process.links()[0].span_id(), producer.span_id());
    }
    assert_eq!(
        processes
            .iter()
            .filter(|p| p.attribute("messaging.rabbitmq.message.redelivered")
                == Some(&Value::Bool(true)))
            .count(),
        1
    );
    spans
        .one(&format!("nack {q}"))
        .assert_attr("messaging.operation.name", "nack");
}

#[tokio::test]
async fn odd_headers_reach_the_application_untouched_and_start_no_trace() {
    let capture = SpanCapture::new();
    let channel = channel(&capture).await;
    let q = name("odd");
    queue(&channel, &q).await;
    let mut consumer = consume(&channel, &q).await;

    let mut headers = FieldTable::default();
    headers.insert("x-count".into(), AMQPValue::LongInt(7));
    headers.insert(
        "x-bytes".into(),
        AMQPValue::ByteArray(vec![0, 159, 146, 150].into()),
    );
    let mut nested = FieldTable::default();
    nested.insert("inner".into(), AMQPValue::LongString("v".into()));
    headers.insert("x-table".into(), AMQPValue::FieldTable(nested));
    headers.insert(
        "baggage".into(),
        AMQPValue::LongString(LongString::from(vec![0xffu8, 0xfe])),
    );
    // Sent through the plain channel, so the malformed traceparent arrives as it is.
    headers.insert(
        "traceparent".into(),
        AMQPValue::LongString("00-garbage".into()),
    );
    headers.insert("tracestate".into(), AMQPValue::LongInt(1));
    channel
        .inner()
        .basic_publish(
            "".into(),
            q.as_str().into(),
            BasicPublishOptions::default(),
            b"payload",
            BasicProperties::default().with_headers(headers.clone()),
        )
        .await
        .expect("publish");
    let delivery = next(&mut consumer).await;
    assert_eq!(delivery.data, b"payload");
    assert_eq!(delivery.properties.headers().as_ref(), Some(&headers));
    drop(delivery);
    let spans = capture.wait_for(1, Duration::from_secs(5)).await;
    let process = spans.one(&format!("process {q}")).assert_root();
    assert!(process.links().is_empty());
}

#[tokio::test]
async fn user_headers_are_kept_and_a_stale_traceparent_is_replaced() {
    let capture = SpanCapture::new();
    let channel = channel(&capture).await;
    let q = name("stale");
    queue(&channel, &q).await;
    let mut consumer = consume(&channel, &q).await;
    let mut headers = FieldTable::default();
    headers.insert("x-tenant".into(), AMQPValue::LongString("acme".into()));
    headers.insert(
        "traceparent".into(),
        AMQPValue::LongString("00-11111111111111111111111111111111-2222222222222222-01".into()),
    );
    headers.insert("tracestate".into(), AMQPValue::LongString("stale=1".into()));
    headers.insert("baggage".into(), AMQPValue::LongString("stale=1".into()));
    channel
        .basic_publish(
            "".into(),
            q.as_str().into(),
            BasicPublishOptions::default(),
            b"x",
            BasicProperties::default().with_headers(headers),
        )
        .await
        .expect("publish");
    let delivery = next(&mut consumer).await;
    let received = delivery.properties.headers().clone().expect("headers");
    drop(delivery);
    let spans = capture.wait_for(2, Duration::from_secs(5)).await;
    let producer = spans.one(&format!("publish {q}"));
    assert_eq!(
        received.inner().get("x-tenant"),
        Some(&AMQPValue::LongString("acme".into()))
    );
    let expected = format!("00-{}-{}-03", producer.trace_id(), producer.span_id());
    assert_eq!(
        received.inner().get("traceparent"),
        Some(&AMQPValue::LongString(expected.as_str().into()))
    );
    // Our context has no tracestate or baggage: the stale ones are gone, not forwarded.
    assert!(received.inner().get("tracestate").is_none());
    assert!(received.inner().get("baggage").is_none());
}

#[tokio::test]
async fn a_nacked_publish_is_an_error_with_confirms_on() {
    let capture = SpanCapture::new();
    let channel = channel(&capture).await;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirms");
    // A queue that holds one message and rejects publishes beyond it: the broker nacks the second.
    let q = name("full");
    let mut arguments = FieldTable::default();
    arguments.insert("x-max-length".into(), AMQPValue::LongInt(1));
    arguments.insert(
        "x-overflow".into(),
        AMQPValue::LongString("reject-publish".into()),
    );
    channel
        .queue_declare(
            q.as_str().into(),
            QueueDeclareOptions {
                exclusive: true,
                ..Default::default()
            },
            arguments,
        )
        .await
        .expect("queue");
    let mut outcomes = Vec::new();
    for _ in 0..2 {
        let confirmation = channel
            .basic_publish(
                "".into(),
                q.as_str().into(),
                BasicPublishOptions::default(),
                b"x",
                BasicProperties::default(),
            )
            .await
            .expect("publish")
            .await
            .expect("confirm");
        outcomes.push(confirmation.is_ack());
    }
    assert_eq!(
        outcomes,
        [true, false],
        "the broker acks the first and nacks the second"
    );
    let spans = capture.wait_for(2, Duration::from_secs(5)).await;
    let publishes: Vec<_> = spans.named(&format!("publish {q}")).collect();
    assert_eq!(publishes.len(), 2);
    publishes[0].assert_unset();
    publishes[1].assert_error("nack");
}

#[tokio::test]
async fn a_returned_message_fails_the_publish_span_with_confirms_on() {
    let capture = SpanCapture::new();
    let channel = channel(&capture).await;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirms");
    let unroutable = name("nowhere");
    let confirmation = channel
        .basic_publish(
            "".into(),
            unroutable.as_str().into(),
            BasicPublishOptions {
                mandatory: true,
                ..Default::default()
            },
            b"x",
            BasicProperties::default(),
        )
        .await
        .expect("publish")
        .await
        .expect("confirm");
    assert!(confirmation.is_ack());
    let q = name("routable");
    // Exclusive: nothing consumes it, and it goes away with the connection.
    exclusive_queue(&channel, &q).await;
    channel
        .basic_publish(
            "".into(),
            q.as_str().into(),
            BasicPublishOptions {
                mandatory: true,
                ..Default::default()
            },
            b"x",
            BasicProperties::default(),
        )
        .await
        .expect("publish")
        .await
        .expect("confirm");
    let spans = capture.wait_for(2, Duration::from_secs(5)).await;
    spans
        .one(&format!("publish {unroutable}"))
        .assert_error("returned");
    spans.one(&format!("publish {q}")).assert_unset();
}

/// An exclusive queue bound to a new direct exchange with routing key `created`; returns the exchange.
/// A queue bound to a new direct exchange with the routing key `created`; the exchange's name.
async fn bound_queue(channel: &TracedChannel, q: &str) -> String {
    exclusive_queue(channel, q).await;
    let ex = name("get-ex");
    bind_new_exchange(channel, q, &ex, ExchangeKind::Direct, "created").await;
    ex
}

/// Declares exchange `ex` (gone with its last binding) and binds queue `q` to it with `routing_key`.
async fn bind_new_exchange(
    channel: &TracedChannel,
    q: &str,
    ex: &str,
    kind: ExchangeKind,
    routing_key: &str,
) {
    channel
        .exchange_declare(
            ex.into(),
            kind,
            ExchangeDeclareOptions {
                auto_delete: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("exchange");
    channel
        .queue_bind(
            q.into(),
            ex.into(),
            routing_key.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("bind");
}

/// `basic_get` until a message comes (the publish is asynchronous on the broker's side).
async fn get_one(channel: &TracedChannel, q: &str) -> lapin::message::BasicGetMessage {
    for _ in 0..100 {
        let message = channel
            .basic_get(q.into(), BasicGetOptions { no_ack: true })
            .await
            .expect("get");
        if let Some(message) = message {
            return message;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no message in {q}");
}

#[tokio::test]
async fn basic_get_has_a_receive_span_named_by_the_consume_destination() {
    let capture = SpanCapture::new();
    let channel = channel(&capture).await;
    let q = name("get");
    let ex = bound_queue(&channel, &q).await;

    // An empty queue: named by the queue, no link.
    let empty = channel
        .basic_get(q.as_str().into(), BasicGetOptions { no_ack: true })
        .await
        .expect("get");
    assert!(empty.is_none());
    let spans = capture.wait_for(1, Duration::from_secs(5)).await;
    let receive = spans
        .one(&format!("receive {q}"))
        .assert_kind(SpanKind::Client)
        .assert_attr("messaging.destination.name", q.clone())
        .assert_no_attr("messaging.rabbitmq.message.delivery_tag");
    assert!(receive.links().is_empty());
    capture.reset();

    channel
        .basic_publish(
            ex.as_str().into(),
            "created".into(),
            BasicPublishOptions::default(),
            b"x",
            BasicProperties::default().with_message_id("m-7".into()),
        )
        .await
        .expect("publish")
        .await
        .expect("confirm");
    get_one(&channel, &q).await;
    let spans = capture.spans();
    let producer = spans.one(&format!("publish {ex}:created"));
    let destination = format!("{ex}:created:{q}");
    let receives: Vec<_> = spans.named(&format!("receive {destination}")).collect();
    let receive = receives
        .last()
        .copied()
        .expect("a receive span named by the consume destination")
        .assert_kind(SpanKind::Client)
        .assert_attr("messaging.operation.type", "receive")
        .assert_attr("messaging.operation.name", "receive")
        .assert_attr("messaging.destination.name", destination.clone())
        .assert_attr("messaging.rabbitmq.destination.routing_key", "created")
        .assert_attr("messaging.message.id", "m-7")
        .assert_unset();
    assert_eq!(receive.links()[0].span_id(), producer.span_id());
    let names = receive
        .data()
        .attributes
        .iter()
        .filter(|kv| kv.key.as_str() == "messaging.destination.name")
        .count();
    assert_eq!(names, 1, "the destination is recorded once");
}

#[tokio::test]
async fn messaging_metrics_count_and_time_every_operation() {
    let (_capture, metrics, channel) = metered_channel().await;
    let q = name("metrics");
    let ex = bound_queue(&channel, &q).await;
    let mut consumer = consume(&channel, &q).await;
    for _ in 0..2 {
        channel
            .basic_publish(
                ex.as_str().into(),
                "created".into(),
                BasicPublishOptions::default(),
                b"x",
                BasicProperties::default(),
            )
            .await
            .expect("publish")
            .await
            .expect("confirm");
    }
    for _ in 0..2 {
        let delivery = next(&mut consumer).await;
        delivery.ack(BasicAckOptions::default()).await.expect("ack");
    }
    // Nothing left: an empty get is timed too, and consumes nothing.
    drop(consumer);
    let empty = channel
        .basic_get(q.as_str().into(), BasicGetOptions { no_ack: true })
        .await
        .expect("get");
    assert!(empty.is_none());

    let publish_destination = format!("{ex}:created");
    let process_destination = format!("{ex}:created:{q}");
    let sent = metrics.points("messaging.client.sent.messages");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].value, 2.0);
    assert_eq!(sent[0].attr("messaging.system"), Some("rabbitmq"));
    assert_eq!(
        sent[0].attr("messaging.destination.name"),
        Some(publish_destination.as_str())
    );
    assert_eq!(sent[0].attr("error.type"), None);

    let consumed = metrics.points("messaging.client.consumed.messages");
    assert_eq!(consumed.len(), 1, "{consumed:?}");
    assert_eq!(consumed[0].value, 2.0);
    assert_eq!(
        consumed[0].attr("messaging.operation.name"),
        Some("process")
    );

    let process = metrics.points("messaging.process.duration");
    assert_eq!(process.len(), 1, "{process:?}");
    assert_eq!(process[0].count, 2);
    assert_eq!(process[0].unit, "s");
    assert_eq!(
        process[0].attr("messaging.destination.name"),
        Some(process_destination.as_str())
    );

    let operations = metrics.points("messaging.client.operation.duration");
    let count_of =
        |operation: &str| measurements(&operations, "messaging.operation.name", operation);
    assert_eq!(count_of("publish"), 2, "{operations:?}");
    assert_eq!(count_of("receive"), 1, "{operations:?}");
    assert_eq!(count_of("process"), 0, "processing has its own histogram");
    let receive = operations
        .iter()
        .find(|p| p.attr("messaging.operation.name") == Some("receive"))
        .expect("receive point");
    assert_eq!(receive.attr("messaging.destination.name"), Some(q.as_str()));
    assert_eq!(receive.attr("server.address"), Some("127.0.0.1"));
    assert_eq!(receive.attr("server.port"), Some("5672"));
    assert_eq!(
        receive.bounds,
        tracewire_core::metrics::MESSAGING_CLIENT_OPERATION_DURATION.buckets
    );
}

#[tokio::test]
async fn a_worker_span_is_the_parent_and_the_producer_a_link() {
    let capture = SpanCapture::new();
    let channel = channel(&capture).await;
    let q = name("ambient");
    queue(&channel, &q).await;
    let mut consumer = consume(&channel, &q).await;
    publish(&channel, "", q.as_str()).await;
    let worker = capture.instrumentation("worker").start(
        SpanKind::Internal,
        "worker batch",
        vec![],
        &Context::new(),
    );
    let delivery = worker.in_scope(async { next(&mut consumer).await }).await;
    drop(delivery);
    worker.end(Outcome::Success);
    let spans = capture.wait_for(3, Duration::from_secs(5)).await;
    let producer = spans.one(&format!("publish {q}"));
    let worker = spans.one("worker batch");
    let process = spans.one(&format!("process {q}")).assert_parent(&worker);
    assert_eq!(process.links()[0].span_id(), producer.span_id());
    let _ = Context::current().span();
    let _: ShortString = "unused".into();
}

#[tokio::test]
async fn by_default_settling_is_an_event_on_the_process_span() {
    let capture = SpanCapture::new();
    let channel = channel(&capture).await.with_settle_spans(false);
    let q = name("events");
    queue(&channel, &q).await;
    let mut consumer = consume(&channel, &q).await;
    publish(&channel, "", q.as_str()).await;
    let delivery = next(&mut consumer).await;
    delivery.ack(BasicAckOptions::default()).await.expect("ack");
    drop(delivery);
    let spans = capture.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(spans.len(), 2, "{}", spans.waterfall());
    let process = spans.one(&format!("process {q}"));
    let event = process.event("ack");
    assert!(
        event
            .iter()
            .any(|(k, v)| k.as_str() == "messaging.operation.type" && v.as_str() == "settle")
    );
}

#[tokio::test]
async fn one_consumer_fed_by_two_exchanges_names_each_delivery_by_its_own() {
    let (capture, metrics, channel) = metered_channel().await;
    let q = name("two-sources");
    let orders = bound_queue(&channel, &q).await; // routing key `created`
    let refunds = name("refunds-ex");
    bind_new_exchange(&channel, &q, &refunds, ExchangeKind::Fanout, "").await;
    let mut consumer = consume(&channel, &q).await;
    // orders, refunds, orders: the consumer's remembered destination must follow each change.
    for (exchange, routing_key) in [
        (&orders, "created"),
        (&refunds, "refund"),
        (&orders, "created"),
    ] {
        publish(&channel, exchange.as_str(), routing_key).await;
        let mut delivery = next(&mut consumer).await;
        if exchange == &refunds {
            delivery.record_error(&std::io::Error::other("refund rejected"));
        }
        delivery.ack(BasicAckOptions::default()).await.expect("ack");
    }
    drop(consumer);

    let from_orders = format!("{orders}:created:{q}");
    let from_refunds = format!("{refunds}:refund:{q}");
    let spans = capture.spans();
    assert_eq!(
        consumer_span_names(&spans),
        [
            format!("process {from_orders}"),
            format!("process {from_refunds}"),
            format!("process {from_orders}"),
        ]
    );
    spans
        .one(&format!("process {from_refunds}"))
        .assert_attr("messaging.destination.name", from_refunds.clone())
        .assert_attr("messaging.rabbitmq.destination.routing_key", "refund")
        .assert_error("std::io::error::Error");

    let consumed = metrics.points("messaging.client.consumed.messages");
    let count = |destination: &str| total(&consumed, "messaging.destination.name", destination);
    assert_eq!(
        (count(&from_orders), count(&from_refunds)),
        (2.0, 1.0),
        "{consumed:?}"
    );
    // The failed delivery's duration carries its `error.type`; the others are under the bound set.
    let process = metrics.points("messaging.process.duration");
    let failed: Vec<_> = process
        .iter()
        .filter(|p| p.attr("error.type").is_some())
        .collect();
    assert_eq!(failed.len(), 1, "{process:?}");
    assert_eq!(failed[0].attr("error.type"), Some("std::io::error::Error"));
    assert_eq!(
        failed[0].attr("messaging.destination.name"),
        Some(from_refunds.as_str())
    );
    assert_eq!(process.iter().map(|p| p.count).sum::<u64>(), 3);
}

#[tokio::test]
async fn a_consumer_names_more_destinations_than_it_keeps_made() {
    let capture = SpanCapture::new();
    let channel = channel(&capture).await;
    let q = name("many-keys");
    exclusive_queue(&channel, &q).await;
    let ex = name("many-keys-ex");
    bind_new_exchange(&channel, &q, &ex, ExchangeKind::Fanout, "").await;
    let mut consumer = consume(&channel, &q).await;
    // 36 routing keys (more than a consumer keeps), then the first again after it was let go.
    let keys: Vec<String> = (0..36).chain([0]).map(|i| format!("k{i}")).collect();
    for key in &keys {
        publish(&channel, ex.as_str(), key.as_str()).await;
        let delivery = next(&mut consumer).await;
        assert_eq!(delivery.routing_key.as_str(), key);
        delivery.ack(BasicAckOptions::default()).await.expect("ack");
    }
    drop(consumer);

    let names = consumer_span_names(&capture.spans());
    let expected: Vec<String> = keys
        .iter()
        .map(|key| format!("process {ex}:{key}:{q}"))
        .collect();
    assert_eq!(names, expected);
}

#[tokio::test]
async fn each_metric_switch_turns_off_its_own_metrics_only() {
    for (duration, count) in [(false, true), (true, false)] {
        let (capture, metrics, channel) = metered_channel().await;
        let channel = channel.duration_metric(duration).count_metric(count);
        let q = name("switches");
        let ex = bound_queue(&channel, &q).await;
        let mut consumer = consume(&channel, &q).await;
        publish(&channel, &ex, "created").await;
        let delivery = next(&mut consumer).await;
        delivery.ack(BasicAckOptions::default()).await.expect("ack");
        drop(delivery);
        let durations = metrics.points("messaging.process.duration").len()
            + metrics.points("messaging.client.operation.duration").len();
        let counts = metrics.points("messaging.client.sent.messages").len()
            + metrics.points("messaging.client.consumed.messages").len();
        assert_eq!(durations > 0, duration, "durations {durations}");
        assert_eq!(counts > 0, count, "counts {counts}");
        // The spans do not depend on the metrics.
        assert!(capture.spans().len() >= 2);
    }
}
