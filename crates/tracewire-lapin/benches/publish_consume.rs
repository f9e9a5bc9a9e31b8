//! Publish and consume against the local RabbitMQ (127.0.0.1:5672): plain lapin against tracewire-lapin,
//! interleaved in one run, this process's CPU per message (the broker is another process).
//!
//! Spans are dropped as they end; metrics go to an SDK meter provider.
//!
//! `cargo bench -p tracewire-lapin` (`TW_ROUNDS`, `TW_MESSAGES` from the environment).

use futures_util::StreamExt;
use lapin::options::*;
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Connection};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracewire_core::span::Instrumentation;
use tracewire_lapin::TracedChannel;
use tracewire_testing::bench::{DiscardSpans, env_count, median, process_cpu};

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rounds = env_count("TW_ROUNDS", 5);
    let messages = env_count("TW_MESSAGES", 5000);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    tracewire_core::propagation::install();
    let _meters = tracewire_testing::bench::install_meter_provider();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(DiscardSpans)
        .build();
    let connection = runtime
        .block_on(Connection::connect(
            "amqp://guest:guest@127.0.0.1:5672/%2f",
            Default::default(),
        ))
        .expect("RabbitMQ at 127.0.0.1:5672");
    let plain = runtime
        .block_on(connection.create_channel())
        .expect("channel");
    let traced = TracedChannel::new(
        runtime
            .block_on(connection.create_channel())
            .expect("channel"),
    )
    .with_instrumentation(Instrumentation::with_provider(&provider, "bench"))
    .with_server("127.0.0.1", 5672);
    let queue = format!("tw.bench.{}", std::process::id());
    runtime
        .block_on(plain.queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions::default(),
            FieldTable::default(),
        ))
        .expect("queue");

    // Variant 2: plain lapin publishing and consuming the `traceparent` header tracewire carries, by
    // hand — separates what carrying a header costs lapin and the broker from what tracewire costs.
    let with_header = || {
        let mut headers = FieldTable::default();
        headers.insert(
            "traceparent".into(),
            AMQPValue::LongString("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03".into()),
        );
        BasicProperties::default().with_headers(headers)
    };
    let mut publish: [Vec<f64>; 3] = Default::default();
    let mut consume: [Vec<f64>; 3] = Default::default();
    for round in 0..rounds {
        for k in 0..3 {
            let variant = (k + round) % 3;
            // Publish.
            let before = process_cpu();
            runtime.block_on(async {
                for _ in 0..messages {
                    if variant != 1 {
                        let properties = if variant == 2 {
                            with_header()
                        } else {
                            BasicProperties::default()
                        };
                        plain
                            .basic_publish(
                                "".into(),
                                queue.as_str().into(),
                                BasicPublishOptions::default(),
                                b"payload",
                                properties,
                            )
                            .await
                            .expect("publish");
                    } else {
                        traced
                            .basic_publish(
                                "".into(),
                                queue.as_str().into(),
                                BasicPublishOptions::default(),
                                b"payload",
                                BasicProperties::default(),
                            )
                            .await
                            .expect("publish");
                    }
                }
            });
            publish[variant].push((process_cpu() - before).as_secs_f64() * 1e6 / messages as f64);
            // Consume the same messages back, acking each.
            let tag = format!("c{round}{k}");
            let before = process_cpu();
            runtime.block_on(async {
                if variant != 1 {
                    let mut consumer = plain
                        .basic_consume(
                            queue.as_str().into(),
                            tag.as_str().into(),
                            BasicConsumeOptions::default(),
                            FieldTable::default(),
                        )
                        .await
                        .expect("consume");
                    for _ in 0..messages {
                        let d = consumer.next().await.expect("open").expect("delivery");
                        d.ack(BasicAckOptions::default()).await.expect("ack");
                    }
                    plain
                        .basic_cancel(tag.as_str().into(), BasicCancelOptions::default())
                        .await
                        .expect("cancel");
                } else {
                    let mut consumer = traced
                        .basic_consume(
                            queue.as_str().into(),
                            tag.as_str().into(),
                            BasicConsumeOptions::default(),
                            FieldTable::default(),
                        )
                        .await
                        .expect("consume");
                    for _ in 0..messages {
                        let d = consumer.next().await.expect("open").expect("delivery");
                        d.ack(BasicAckOptions::default()).await.expect("ack");
                    }
                    traced
                        .basic_cancel(tag.as_str().into(), BasicCancelOptions::default())
                        .await
                        .expect("cancel");
                }
            });
            consume[variant].push((process_cpu() - before).as_secs_f64() * 1e6 / messages as f64);
        }
    }
    let _ =
        runtime.block_on(plain.queue_delete(queue.as_str().into(), QueueDeleteOptions::default()));
    println!("| per message | lapin CPU µs | tracewire-lapin CPU µs | overhead |");
    println!("|---|---|---|---|");
    for (label, data) in [("publish", &publish), ("consume + ack", &consume)] {
        let (a, b) = (median(data[0].clone()), median(data[1].clone()));
        println!("| {label} | {a:.2} | {b:.2} | {:+.2} |", b - a);
        let by_hand = median(data[2].clone());
        println!(
            "| {label}, against lapin carrying the same `traceparent` by hand | {by_hand:.2} | {b:.2} | {:+.2} |",
            b - by_hand
        );
    }
}
