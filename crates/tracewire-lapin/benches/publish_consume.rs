//! Publish and consume against the local RabbitMQ (127.0.0.1:5672): plain lapin, plain lapin carrying a
//! `traceparent` header by hand, and tracewire-lapin, interleaved in one run; this process's CPU per
//! message, all of it and user mode alone (the broker is another process).
//!
//! Spans are dropped as they end; metrics go to an SDK meter provider.
//!
//! `cargo bench -p tracewire-lapin` (`TW_ROUNDS`, `TW_MESSAGES` from the environment; `TW_COUNT` runs one
//! variant for counting instructions, see [`count`]).

use futures_util::StreamExt;
use lapin::options::*;
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Connection};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracewire_core::span::Instrumentation;
use tracewire_lapin::TracedChannel;
use tracewire_testing::bench::{
    DiscardSpans, env_count, median, process_cpu, process_user_cpu, thread_cpu,
};

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

    let bench = Bench {
        plain,
        traced,
        queue,
    };
    if let Ok(spec) = std::env::var("TW_COUNT") {
        count(&runtime, &bench, &spec);
        return;
    }
    // Per variant: [publish, consume] samples of all CPU, of user-mode CPU and of the application
    // thread's CPU (where tracewire's code runs; lapin encodes and parses frames on its own thread), µs per
    // message.
    let mut cpu: [[Vec<f64>; 2]; 3] = Default::default();
    let mut user: [[Vec<f64>; 2]; 3] = Default::default();
    let mut app: [[Vec<f64>; 2]; 3] = Default::default();
    let per_message = |d: std::time::Duration| d.as_secs_f64() * 1e6 / messages as f64;
    for round in 0..rounds {
        for k in 0..3 {
            let variant = VARIANTS[(k + round) % 3];
            let v = variant as usize;
            let tag = format!("c{round}{k}");
            for phase in 0..2 {
                let before = (process_cpu(), process_user_cpu(), thread_cpu());
                if phase == 0 {
                    runtime.block_on(bench.publish(variant, messages));
                } else {
                    // Consume the same messages back, acking each.
                    runtime.block_on(bench.consume(variant, messages, &tag));
                }
                cpu[v][phase].push(per_message(process_cpu() - before.0));
                user[v][phase].push(per_message(process_user_cpu() - before.1));
                app[v][phase].push(per_message(thread_cpu() - before.2));
            }
        }
    }
    let Bench {
        plain,
        traced: _,
        queue,
    } = bench;
    let _ =
        runtime.block_on(plain.queue_delete(queue.as_str().into(), QueueDeleteOptions::default()));
    println!(
        "| per message (median of {rounds} rounds × {messages}) | lapin | lapin + `traceparent` by hand | tracewire-lapin | over lapin | over by hand |"
    );
    println!("|---|---|---|---|---|---|");
    for (phase, label) in [(0, "publish"), (1, "consume + ack")] {
        for (samples, what) in [
            (&cpu, "CPU µs"),
            (&user, "user CPU µs"),
            (&app, "application thread CPU µs"),
        ] {
            let m = |v: Variant| median(samples[v as usize][phase].clone());
            let (plain, by_hand, traced) =
                (m(Variant::Plain), m(Variant::ByHand), m(Variant::Traced));
            println!(
                "| {label}, {what} | {plain:.2} | {by_hand:.2} | {traced:.2} | {:+.2} | {:+.2} |",
                traced - plain,
                traced - by_hand
            );
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Variant {
    /// Plain lapin, no headers.
    Plain = 0,
    /// tracewire-lapin.
    Traced = 1,
    /// Plain lapin publishing and consuming the `traceparent` header tracewire carries, by hand:
    /// separates what carrying a header costs lapin and the broker from what tracewire costs.
    ByHand = 2,
}

const VARIANTS: [Variant; 3] = [Variant::Plain, Variant::Traced, Variant::ByHand];

struct Bench {
    plain: lapin::Channel,
    traced: TracedChannel,
    queue: String,
}

impl Bench {
    async fn publish(&self, variant: Variant, messages: usize) {
        let with_header = || {
            let mut headers = FieldTable::default();
            headers.insert(
                "traceparent".into(),
                AMQPValue::LongString(
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03".into(),
                ),
            );
            BasicProperties::default().with_headers(headers)
        };
        let queue = self.queue.as_str();
        for _ in 0..messages {
            match variant {
                Variant::Traced => {
                    self.traced
                        .basic_publish(
                            "".into(),
                            queue.into(),
                            BasicPublishOptions::default(),
                            b"payload",
                            BasicProperties::default(),
                        )
                        .await
                        .expect("publish");
                }
                Variant::Plain | Variant::ByHand => {
                    let properties = if variant == Variant::ByHand {
                        with_header()
                    } else {
                        BasicProperties::default()
                    };
                    self.plain
                        .basic_publish(
                            "".into(),
                            queue.into(),
                            BasicPublishOptions::default(),
                            b"payload",
                            properties,
                        )
                        .await
                        .expect("publish");
                }
            }
        }
    }

    async fn consume(&self, variant: Variant, messages: usize, tag: &str) {
        let queue = self.queue.as_str();
        let options = || BasicConsumeOptions::default();
        if variant == Variant::Traced {
            let consumer = self
                .traced
                .basic_consume(queue.into(), tag.into(), options(), FieldTable::default())
                .await
                .expect("consume");
            drain(consumer, messages, |d| async move {
                d.ack(BasicAckOptions::default()).await
            })
            .await;
        } else {
            let consumer = self
                .plain
                .basic_consume(queue.into(), tag.into(), options(), FieldTable::default())
                .await
                .expect("consume");
            drain(consumer, messages, |d| async move {
                d.ack(BasicAckOptions::default()).await
            })
            .await;
        }
        let channel: &lapin::Channel = match variant {
            Variant::Traced => &self.traced,
            Variant::Plain | Variant::ByHand => &self.plain,
        };
        channel
            .basic_cancel(tag.into(), BasicCancelOptions::default())
            .await
            .expect("cancel");
    }
}

/// Takes `messages` deliveries off `consumer`, acking each.
async fn drain<S, D, A>(mut consumer: S, messages: usize, ack: impl Fn(D) -> A)
where
    S: futures_util::Stream<Item = lapin::Result<D>> + Unpin,
    A: std::future::Future<Output = lapin::Result<bool>>,
{
    for _ in 0..messages {
        let delivery = consumer.next().await.expect("open").expect("delivery");
        ack(delivery).await.expect("ack");
    }
}

/// `TW_COUNT=variant:phase:messages` (variant `plain`, `traced` or `by_hand`; phase `publish` or
/// `both`) runs one variant and exits, for counting instructions where timings are too noisy:
/// `valgrind --tool=callgrind` at two message counts, the difference divided by the difference;
/// consuming is `both` less `publish`.
fn count(runtime: &tokio::runtime::Runtime, bench: &Bench, spec: &str) {
    let mut parts = spec.split(':');
    let (Some(variant), Some(phase), Some(messages)) = (parts.next(), parts.next(), parts.next())
    else {
        panic!("TW_COUNT=variant:phase:messages");
    };
    let variant = match variant {
        "plain" => Variant::Plain,
        "traced" => Variant::Traced,
        "by_hand" => Variant::ByHand,
        other => panic!("unknown variant {other}"),
    };
    let messages: usize = messages.parse().expect("a message count");
    runtime.block_on(async {
        bench.publish(variant, messages).await;
        if phase == "both" {
            bench.consume(variant, messages, "count").await;
        }
        let _ = bench
            .plain
            .queue_delete(bench.queue.as_str().into(), QueueDeleteOptions::default())
            .await;
    });
}
