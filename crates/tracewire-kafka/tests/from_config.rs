//! Every traced client made from its `ClientConfig` records what the configuration says — `client.id`,
//! `group.id` and the first bootstrap server — on its spans and its metric points (with the partition), with no option
//! repeated by hand; on librdkafka's mock cluster.

use std::time::{Duration, Instant};

use opentelemetry::Value;
use rdkafka::ClientConfig;
use rdkafka::consumer::Consumer;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseRecord, FutureRecord};
use tracewire_kafka::{
    TracedBaseConsumer, TracedBaseProducer, TracedConsumer, TracedProducer, TracedThreadedProducer,
    bootstrap_server,
};
use tracewire_testing::{MetricCapture, SpanCapture};

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_made_from_its_config_records_client_id_group_and_server() {
    tracewire_core::propagation::install();
    let cluster = MockCluster::new(1).expect("mock cluster");
    let servers = cluster.bootstrap_servers();
    let (host, port) = bootstrap_server(&servers).expect("a server");
    let topic = format!("from-config-{}", std::process::id());
    cluster.create_topic(&topic, 1, 1).expect("topic");
    let capture = SpanCapture::new();
    let metrics = MetricCapture::new();
    let instrumentation = capture
        .instrumentation("tracewire-kafka")
        .with_meter(metrics.meter("tracewire-kafka"));
    let config = |client_id: &str| {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &servers)
            .set("client.id", client_id)
            .set("message.timeout.ms", "5000");
        config
    };

    let future = TracedProducer::from_config(&config("future"))
        .expect("future producer")
        .with_instrumentation(instrumentation.clone());
    future
        .send(FutureRecord::to(&topic).key("1").payload("{}"), WAIT)
        .await
        .map_err(|(e, _)| e)
        .expect("send");
    let base = TracedBaseProducer::from_config(&config("base"))
        .expect("base producer")
        .with_instrumentation(instrumentation.clone());
    base.send(BaseRecord::to(&topic).key("2").payload("{}"))
        .map_err(|(e, _)| e)
        .expect("enqueue");
    base.flush(WAIT).expect("flush");
    let threaded = TracedThreadedProducer::from_config(&config("threaded"))
        .expect("threaded producer")
        .with_instrumentation(instrumentation.clone());
    threaded
        .send(BaseRecord::to(&topic).key("3").payload("{}"))
        .map_err(|(e, _)| e)
        .expect("enqueue");
    threaded.flush(WAIT).expect("flush");

    let mut consumer_config = config("stream");
    consumer_config
        .set("group.id", "from-config-stream")
        .set("auto.offset.reset", "earliest");
    let stream = TracedConsumer::from_config(&consumer_config)
        .expect("stream consumer")
        .with_instrumentation(instrumentation.clone());
    stream
        .inner()
        .subscribe(&[topic.as_str()])
        .expect("subscribe");
    drop(
        tokio::time::timeout(WAIT, stream.recv())
            .await
            .expect("a message")
            .expect("message"),
    );

    let mut consumer_config = config("polled");
    consumer_config
        .set("group.id", "from-config-base")
        .set("auto.offset.reset", "earliest");
    let polled = TracedBaseConsumer::from_config(&consumer_config)
        .expect("base consumer")
        .with_instrumentation(instrumentation.clone());
    polled
        .inner()
        .subscribe(&[topic.as_str()])
        .expect("subscribe");
    let deadline = Instant::now() + WAIT;
    let message = loop {
        assert!(
            Instant::now() < deadline,
            "no message for the base consumer"
        );
        if let Some(message) = polled.poll(Duration::from_millis(100)) {
            break message.expect("message");
        }
    };
    drop(message);

    let spans = capture.wait_for(5, WAIT).await;
    let mut clients = Vec::new();
    for span in spans.iter() {
        span.assert_attr("server.address", host.clone())
            .assert_attr("server.port", i64::from(port));
        if let Some(Value::String(id)) = span.attribute("messaging.client.id") {
            clients.push((
                span.name().split(' ').next().unwrap_or_default().to_owned(),
                id.to_string(),
            ));
        }
    }
    clients.sort();
    let expected: Vec<(String, String)> = [
        ("process", "polled"),
        ("process", "stream"),
        ("send", "base"),
        ("send", "future"),
        ("send", "threaded"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(clients, expected, "{}", spans.waterfall());
    let groups: Vec<String> = spans
        .named(&format!("process {topic}"))
        .filter_map(|s| {
            s.attribute("messaging.consumer.group.name")
                .map(|v| v.to_string())
        })
        .collect();
    assert_eq!(groups.len(), 2);
    assert!(
        groups.contains(&"from-config-stream".to_owned()),
        "{groups:?}"
    );
    assert!(
        groups.contains(&"from-config-base".to_owned()),
        "{groups:?}"
    );

    // The metric points carry the server and the partition as the spans do.
    let sent = metrics.points("messaging.client.sent.messages");
    let port = port.to_string();
    assert!(!sent.is_empty());
    for name in [
        "messaging.client.sent.messages",
        "messaging.client.operation.duration",
        "messaging.client.consumed.messages",
        "messaging.process.duration",
    ] {
        let points = metrics.points(name);
        assert!(!points.is_empty(), "{name}");
        for point in &points {
            assert_eq!(
                point.attr("server.port"),
                Some(port.as_str()),
                "{name}: {point:?}"
            );
            assert_eq!(
                point.attr("messaging.destination.partition.id"),
                Some("0"),
                "{name}: {point:?}"
            );
        }
    }
    assert_eq!(
        tracewire_testing::metrics::total(&sent, "server.address", &host),
        3.0
    );
}
