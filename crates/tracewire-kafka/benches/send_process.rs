//! Send and consume against librdkafka's mock cluster: plain rdkafka against tracewire-kafka,
//! interleaved in one run, this process's CPU per message (the mock broker runs inside this process too,
//! and is the same for both).
//!
//! Spans are dropped as they end; metrics go to an SDK meter provider.
//!
//! `cargo bench -p tracewire-kafka` (`TW_ROUNDS`, `TW_MESSAGES` from the environment).

use std::time::Duration;

use opentelemetry_sdk::trace::SdkTracerProvider;
use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{FutureProducer, FutureRecord};
use tracewire_core::span::Instrumentation;
use tracewire_kafka::{TracedConsumer, TracedProducer};
use tracewire_testing::bench::{DiscardSpans, env_count, median, process_cpu};

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rounds = env_count("TW_ROUNDS", 5);
    let messages = env_count("TW_MESSAGES", 3000);
    // Sends in flight at once: librdkafka batches them, so the per-message wake-ups that made a
    // one-at-a-time run noisy (±15 µs) are shared, and what is left is the cost of each message.
    // `TW_WINDOW=1` sends one at a time.
    let window = env_count("TW_WINDOW", 256).max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let _runtime_context = runtime.enter();
    tracewire_core::propagation::install();
    let _meters = tracewire_testing::bench::install_meter_provider();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(DiscardSpans)
        .build();
    let cluster = MockCluster::new(1).expect("mock cluster");
    let plain: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .set("linger.ms", "0")
        .create()
        .expect("producer");
    let traced = TracedProducer::new(plain.clone())
        .with_instrumentation(Instrumentation::with_provider(&provider, "bench"));
    // The context tracewire carries, as a plain producer would have to send it by hand: separates what
    // carrying a header costs librdkafka from what tracewire itself costs.
    let context_header = move || {
        rdkafka::message::OwnedHeaders::new().insert(rdkafka::message::Header {
            key: "traceparent",
            value: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03"),
        })
    };
    let mut send: [Vec<f64>; 3] = Default::default();
    let mut consume: [Vec<f64>; 3] = Default::default();
    for round in 0..rounds {
        for k in 0..3 {
            let variant = (k + round) % 3;
            let topic = format!("bench-{round}-{variant}");
            cluster.create_topic(&topic, 1, 1).expect("topic");
            let before = process_cpu();
            runtime.block_on(async {
                let (plain, traced, topic) = (&plain, &traced, topic.as_str());
                let record = move || FutureRecord::to(topic).key("k").payload("payload");
                match variant {
                    0 => {
                        send_all(messages, window, move || async move {
                            plain.send(record(), Duration::from_secs(5)).await.is_ok()
                        })
                        .await
                    }
                    1 => {
                        send_all(messages, window, move || async move {
                            traced.send(record(), Duration::from_secs(5)).await.is_ok()
                        })
                        .await
                    }
                    _ => {
                        send_all(messages, window, move || async move {
                            let record = record().headers(context_header());
                            plain.send(record, Duration::from_secs(5)).await.is_ok()
                        })
                        .await
                    }
                }
            });
            send[variant].push((process_cpu() - before).as_secs_f64() * 1e6 / messages as f64);

            let consumer: StreamConsumer = ClientConfig::new()
                .set("bootstrap.servers", cluster.bootstrap_servers())
                .set("group.id", format!("g-{round}-{variant}"))
                .set("auto.offset.reset", "earliest")
                .create()
                .expect("consumer");
            consumer.subscribe(&[&topic]).expect("subscribe");
            let traced_consumer = TracedConsumer::new(consumer, "g")
                .with_instrumentation(Instrumentation::with_provider(&provider, "bench"));
            // Warm up: the first message waits for the group join.
            runtime.block_on(async {
                let _ = traced_consumer.inner().recv().await.expect("first");
            });
            let before = process_cpu();
            runtime.block_on(async {
                for _ in 1..messages {
                    if variant != 1 {
                        let m = traced_consumer.inner().recv().await.expect("message");
                        std::hint::black_box(&m);
                    } else {
                        let m = traced_consumer.recv().await.expect("message");
                        std::hint::black_box(&m);
                    }
                }
            });
            consume[variant]
                .push((process_cpu() - before).as_secs_f64() * 1e6 / (messages - 1) as f64);
        }
    }
    println!("| per message | rdkafka CPU µs | tracewire-kafka CPU µs | overhead |");
    println!("|---|---|---|---|");
    for (label, data) in [
        ("send (to delivery report), {window} in flight", &send),
        ("consume", &consume),
    ] {
        let label = label.replace("{window}", &window.to_string());
        let (a, b) = (median(data[0].clone()), median(data[1].clone()));
        println!("| {label} | {a:.2} | {b:.2} | {:+.2} |", b - a);
        let by_hand = median(data[2].clone());
        println!(
            "| {label}, against rdkafka carrying the same `traceparent` header by hand | {by_hand:.2} | {b:.2} | {:+.2} |",
            b - by_hand
        );
    }
}

/// Sends `messages` with `send_one`, `window` at a time; panics if any send fails.
async fn send_all<F, Fut>(messages: usize, window: usize, send_one: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let mut sent = 0;
    while sent < messages {
        let batch = (messages - sent).min(window);
        let results = futures_util::future::join_all((0..batch).map(|_| send_one())).await;
        assert!(results.into_iter().all(|ok| ok), "a send failed");
        sent += batch;
    }
}
